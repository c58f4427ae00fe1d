//! The list machinery every record list shares: a parsed [`ListQuery`] (rivet_domain::query)
//! turned into a sea-query condition and `ORDER BY`, and keyset pagination on the sort values
//! plus the id — an opaque cursor naming the last row, so a deep page costs what the first costs.
//!
//! A record type plugs in by implementing [`ListField`] for its field enum: which column each
//! field is and how it sorts. Nothing here knows about leads.
//!
//! Custom fields (`cf.<key>`, [`rivet_domain::query::CustomQuery`]) are read from the record
//! table's `custom_fields` JSON column: `json_extract` on SQLite, `->`/`->>` on PostgreSQL, each
//! value taken only when its JSON type fits the field's kind (so a stray value of another type
//! reads as missing instead of failing a cast). A record lists them with [`custom_condition`],
//! [`order_and_seek_list`], [`page_of_list`] and [`decode_list_cursor`], which also cover its own
//! fields.

use crate::tables::Memberships;
use crate::{Backend, Page, Result, StoreError, fetch_optional};
use base64::Engine as _;
use rivet_domain::custom_fields::CustomFieldKind;
use rivet_domain::ids::{TeamId, UserId};
use rivet_domain::query::{
    Condition, CustomFilter, FieldKind, FieldSpec, Filter, FilterValue, ListQuery, OrderKey,
    SortKey,
};
use rivet_domain::{Action, Actor, Resource, Scope};
use sea_orm::sea_query::{
    Alias, Cond, DynIden, Expr, ExprTrait, Func, IntoIden, Order, Query, SelectStatement, Value,
};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde_json::json;
use uuid::Uuid;

/// A record type's list fields, as columns of its table.
pub trait ListField: Copy + PartialEq + 'static {
    /// The fields' API names, kinds and operators.
    fn specs() -> &'static [FieldSpec<Self>];
    fn table() -> DynIden;
    fn id_column() -> DynIden;
    fn column(self) -> DynIden;
    /// What the list orders by for this field; a nullable text column sorts as `''` so NULLs
    /// order the same on both databases and the keyset comparison never meets a NULL.
    fn sort_expr(self) -> Expr {
        Expr::col((Self::table(), self.column()))
    }

    fn spec(self) -> Option<&'static FieldSpec<Self>> {
        Self::specs().iter().find(|s| s.field == self)
    }

    fn name(self) -> &'static str {
        self.spec().map_or("", |s| s.name)
    }

    fn kind(self) -> FieldKind {
        self.spec().map_or(FieldKind::Text, |s| s.kind)
    }
}

/// A nullable text column as it sorts: NULL as `''`, the value its cursor records. The
/// fallback is a literal, not a parameter, so that an index on `COALESCE(col, '')` (migration
/// m0011) serves the order on both engines.
pub fn text_or_empty(col: Expr) -> Expr {
    Func::coalesce([col, Expr::cust("''")]).into()
}

/// A nullable count or amount as it sorts: NULL as -1, before every value (none is negative);
/// a literal for the same reason as [`text_or_empty`].
pub fn number_or_minus_one(col: Expr) -> Expr {
    Func::coalesce([col, Expr::cust("-1")]).into()
}

/// A nullable id as it sorts: NULL as the nil id, before every other id.
pub fn id_or_nil(col: Expr) -> Expr {
    Func::coalesce([col, Expr::val(Uuid::nil())]).into()
}

/// A boolean as it sorts: the text `'false'` or `'true'`, the value of its choice filter
/// (so false first, and the cursor compares text on both engines).
pub fn flag_text(col: Expr) -> Expr {
    Expr::case(col, "true").finally("false").into()
}

fn sql_value(value: &FilterValue) -> Value {
    match value {
        FilterValue::Text(t) => t.clone().into(),
        FilterValue::Id(id) => (*id).into(),
        FilterValue::Time(t) => (*t).into(),
        FilterValue::Int(n) => (*n).into(),
        FilterValue::Number(n) => (*n).into(),
    }
}

/// The `WHERE` part of the filters (all must hold).
pub fn filter_condition<F: ListField>(filters: &[Filter<F>], backend: Backend) -> Cond {
    let mut cond = Cond::all();
    for filter in filters {
        let col = || Expr::col((F::table(), filter.field.column()));
        let expr = match &filter.condition {
            Condition::Eq(v) => col().eq(sql_value(v)),
            Condition::In(vs) => col().is_in(vs.iter().map(sql_value)),
            Condition::Gte(v) => col().gte(sql_value(v)),
            Condition::Lte(v) => col().lte(sql_value(v)),
            Condition::Empty(true) => col().is_null(),
            Condition::Empty(false) => col().is_not_null(),
            Condition::Contains(tag) => match backend {
                Backend::Postgres => Expr::cust_with_exprs(
                    "$1 @> CAST($2 AS jsonb)",
                    [col(), Expr::val(json!([tag]).to_string())],
                ),
                Backend::Sqlite => Expr::cust_with_exprs(
                    "EXISTS (SELECT 1 FROM json_each(?) WHERE json_each.value = ?)",
                    [col(), Expr::val(tag.clone())],
                ),
            },
        };
        cond = cond.add(expr);
    }
    cond
}

/// Where the previous page ended: the last row's sort values and id.
#[derive(Debug, Clone, PartialEq)]
pub struct Seek {
    pub values: Vec<FilterValue>,
    pub id: Uuid,
}

fn sort_signature<F: ListField>(sort: &[SortKey<F>]) -> String {
    sort.iter()
        .map(|k| format!("{}{}", if k.descending { "-" } else { "" }, k.field.name()))
        .collect::<Vec<_>>()
        .join(",")
}

fn json_value(value: &FilterValue) -> serde_json::Value {
    match value {
        FilterValue::Text(t) => json!(t),
        FilterValue::Id(id) => json!(id),
        FilterValue::Time(t) => json!(t),
        FilterValue::Int(n) => json!(n),
        FilterValue::Number(n) => json!(n),
    }
}

/// The opaque cursor of a row under `sort`.
pub fn encode_cursor<F: ListField>(sort: &[SortKey<F>], seek: &Seek) -> String {
    encode_signed(&sort_signature(sort), seek)
}

fn encode_signed(signature: &str, seek: &Seek) -> String {
    let body = json!({
        "s": signature,
        "v": seek.values.iter().map(json_value).collect::<Vec<_>>(),
        "id": seek.id,
    });
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(body.to_string())
}

/// The kinds of a sort's values, in order, for reading a cursor back.
#[derive(Clone, Copy)]
enum ValueKind {
    Field(FieldKind),
    Custom(CustomFieldKind),
}

fn decode_signed(signature: &str, kinds: &[ValueKind], text: &str) -> Option<Seek> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()?;
    let body: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    if body.get("s")?.as_str()? != signature {
        return None;
    }
    let raw = body.get("v")?.as_array()?;
    if raw.len() != kinds.len() {
        return None;
    }
    let mut values = Vec::with_capacity(raw.len());
    for (kind, value) in kinds.iter().zip(raw) {
        let value = match kind {
            ValueKind::Field(FieldKind::Int | FieldKind::Money) => {
                FilterValue::Int(value.as_i64()?)
            }
            ValueKind::Field(FieldKind::Time) => {
                FilterValue::Time(serde_json::from_value(value.clone()).ok()?)
            }
            ValueKind::Field(FieldKind::Id) => {
                FilterValue::Id(serde_json::from_value(value.clone()).ok()?)
            }
            ValueKind::Field(FieldKind::Text | FieldKind::Choice(_) | FieldKind::Tags) => {
                FilterValue::Text(value.as_str()?.to_owned())
            }
            ValueKind::Custom(kind) => match custom_read(*kind) {
                CustomRead::Number => FilterValue::Number(value.as_f64()?),
                CustomRead::Boolean => FilterValue::Int(value.as_i64()?),
                CustomRead::Text => FilterValue::Text(value.as_str()?.to_owned()),
            },
        };
        values.push(value);
    }
    let id = serde_json::from_value(body.get("id")?.clone()).ok()?;
    Some(Seek { values, id })
}

/// Read a cursor made under the same sort; `None` when it is not one (garbage, or another sort).
pub fn decode_cursor<F: ListField>(sort: &[SortKey<F>], text: &str) -> Option<Seek> {
    let kinds: Vec<ValueKind> = sort
        .iter()
        .map(|k| ValueKind::Field(k.field.kind()))
        .collect();
    decode_signed(&sort_signature(sort), &kinds, text)
}

/// Order by `sort` then the id (in the direction of the last key), start after `after`, and
/// fetch one row more than `limit` to learn whether another page exists.
pub fn order_and_seek<F: ListField>(
    q: &mut SelectStatement,
    sort: &[SortKey<F>],
    after: Option<&Seek>,
    limit: u64,
) {
    let keys: Vec<(Expr, bool)> = sort
        .iter()
        .map(|k| (k.field.sort_expr(), k.descending))
        .collect();
    order_and_seek_exprs(
        q,
        &keys,
        Expr::col((F::table(), F::id_column())),
        after,
        limit,
    );
}

/// [`order_and_seek`] on sort expressions and their directions.
fn order_and_seek_exprs(
    q: &mut SelectStatement,
    sort: &[(Expr, bool)],
    id_col: Expr,
    after: Option<&Seek>,
    limit: u64,
) {
    let id_desc = sort.last().is_some_and(|k| k.1);
    let id_col = || id_col.clone();
    if let Some(seek) = after {
        // (k1 > v1) OR (k1 = v1 AND k2 > v2) OR … OR (k1 = v1 AND … AND id > last id),
        // each comparison in its key's direction.
        let mut any = Cond::any();
        let mut equal_so_far = Cond::all();
        for ((expr, descending), value) in sort.iter().zip(&seek.values) {
            let expr = expr.clone();
            let v = sql_value(value);
            let step = if *descending {
                expr.clone().lt(v.clone())
            } else {
                expr.clone().gt(v.clone())
            };
            any = any.add(equal_so_far.clone().add(step));
            equal_so_far = equal_so_far.add(expr.eq(v));
        }
        let last = if id_desc {
            id_col().lt(seek.id)
        } else {
            id_col().gt(seek.id)
        };
        any = any.add(equal_so_far.add(last));
        q.cond_where(any);
        // Redundant, but it lets both engines seek the index to the first key's value instead
        // of filtering every earlier row through the OR above.
        if let (Some((expr, descending)), Some(value)) = (sort.first(), seek.values.first()) {
            let expr = expr.clone();
            q.and_where(if *descending {
                expr.lte(sql_value(value))
            } else {
                expr.gte(sql_value(value))
            });
        }
    }
    for (expr, descending) in sort {
        let order = if *descending { Order::Desc } else { Order::Asc };
        q.order_by_expr(expr.clone(), order);
    }
    q.order_by_expr(id_col(), if id_desc { Order::Desc } else { Order::Asc });
    q.limit(limit + 1);
}

/// Build a page from up to `limit + 1` rows; the cursor names the last row kept.
pub fn page_of<T, F: ListField>(
    mut rows: Vec<T>,
    limit: u64,
    sort: &[SortKey<F>],
    seek_of: impl Fn(&T) -> Seek,
) -> Page<T> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let next_cursor = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|row| encode_cursor(sort, &seek_of(row)))
    } else {
        None
    };
    Page {
        data: rows,
        next_cursor,
    }
}

/// The JSON column every record table keeps its custom fields in.
pub const CUSTOM_FIELDS_COLUMN: &str = "custom_fields";

/// How SQL reads a custom field of a kind: as text, a number, or a boolean (1 or 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CustomRead {
    Text,
    Number,
    Boolean,
}

fn custom_read(kind: CustomFieldKind) -> CustomRead {
    match kind {
        CustomFieldKind::Number => CustomRead::Number,
        CustomFieldKind::Boolean => CustomRead::Boolean,
        CustomFieldKind::Text
        | CustomFieldKind::Date
        | CustomFieldKind::Select
        | CustomFieldKind::MultiSelect
        | CustomFieldKind::Url
        | CustomFieldKind::Email => CustomRead::Text,
    }
}

fn custom_column(table: &DynIden) -> Expr {
    Expr::col((table.clone(), Alias::new(CUSTOM_FIELDS_COLUMN)))
}

/// A custom field's value in `table`'s rows when its JSON type fits `kind` (a string, a
/// number, or a boolean as 1 or 0), else NULL.
pub fn custom_value(table: &DynIden, key: &str, kind: CustomFieldKind, backend: Backend) -> Expr {
    let col = || custom_column(table);
    match backend {
        Backend::Sqlite => {
            let path = || Expr::val(format!("$.{key}"));
            match custom_read(kind) {
                CustomRead::Text => Expr::cust_with_exprs(
                    "(CASE WHEN json_type(?, ?) = 'text' THEN json_extract(?, ?) END)",
                    [col(), path(), col(), path()],
                ),
                CustomRead::Number => Expr::cust_with_exprs(
                    "(CASE WHEN json_type(?, ?) IN ('integer', 'real') \
                     THEN CAST(json_extract(?, ?) AS REAL) END)",
                    [col(), path(), col(), path()],
                ),
                CustomRead::Boolean => Expr::cust_with_exprs(
                    "(CASE json_type(?, ?) WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)",
                    [col(), path()],
                ),
            }
        }
        Backend::Postgres => {
            let exprs = [col(), Expr::val(key.to_owned())];
            match custom_read(kind) {
                CustomRead::Text => Expr::cust_with_exprs(
                    "(CASE WHEN jsonb_typeof($1 -> $2) = 'string' THEN $1 ->> $2 END)",
                    exprs,
                ),
                CustomRead::Number => Expr::cust_with_exprs(
                    "(CASE WHEN jsonb_typeof($1 -> $2) = 'number' \
                     THEN CAST($1 ->> $2 AS double precision) END)",
                    exprs,
                ),
                CustomRead::Boolean => Expr::cust_with_exprs(
                    "(CASE WHEN jsonb_typeof($1 -> $2) = 'boolean' \
                     THEN (CASE WHEN $1 ->> $2 = 'true' THEN 1 ELSE 0 END) END)",
                    exprs,
                ),
            }
        }
    }
}

/// Whether a row of `table` has any value for the custom field `key`.
pub fn custom_present(table: &DynIden, key: &str, backend: Backend) -> Expr {
    match backend {
        Backend::Sqlite => Expr::cust_with_exprs(
            "(json_extract(?, ?) IS NOT NULL)",
            [custom_column(table), Expr::val(format!("$.{key}"))],
        ),
        Backend::Postgres => Expr::cust_with_exprs(
            "(($1 ->> $2) IS NOT NULL)",
            [custom_column(table), Expr::val(key.to_owned())],
        ),
    }
}

/// Whether a multi-select field of `table` holds `option`.
fn custom_holds(table: &DynIden, key: &str, option: &str, backend: Backend) -> Expr {
    match backend {
        Backend::Sqlite => Expr::cust_with_exprs(
            "EXISTS (SELECT 1 FROM json_each(?, ?) WHERE json_each.value = ?)",
            [
                custom_column(table),
                Expr::val(format!("$.{key}")),
                Expr::val(option.to_owned()),
            ],
        ),
        Backend::Postgres => Expr::cust_with_exprs(
            "(($1 -> $2) @> CAST($3 AS jsonb))",
            [
                custom_column(table),
                Expr::val(key.to_owned()),
                Expr::val(json!([option]).to_string()),
            ],
        ),
    }
}

/// What a custom field sorts by: its value, with a missing one as `''`, the lowest number, or
/// -1 for a boolean, so that both databases order it alike and the keyset never meets a NULL.
pub fn custom_sort_expr(
    table: &DynIden,
    key: &str,
    kind: CustomFieldKind,
    backend: Backend,
) -> Expr {
    let missing: Value = match custom_read(kind) {
        CustomRead::Text => "".into(),
        CustomRead::Number => f64::MIN.into(),
        CustomRead::Boolean => (-1_i64).into(),
    };
    Func::coalesce([custom_value(table, key, kind, backend), Expr::val(missing)]).into()
}

/// A row's value of a custom sort key, as [`custom_sort_expr`] computes it in SQL.
pub fn custom_sort_value(
    custom_fields: &serde_json::Value,
    key: &str,
    kind: CustomFieldKind,
) -> FilterValue {
    let value = custom_fields.get(key);
    match custom_read(kind) {
        CustomRead::Text => FilterValue::Text(
            value
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_owned(),
        ),
        CustomRead::Number => FilterValue::Number(
            value
                .and_then(serde_json::Value::as_f64)
                .unwrap_or(f64::MIN),
        ),
        CustomRead::Boolean => FilterValue::Int(
            value
                .and_then(serde_json::Value::as_bool)
                .map_or(-1, i64::from),
        ),
    }
}

/// The `WHERE` part of custom-field filters on `table` (all must hold).
pub fn custom_filter_condition(
    table: &DynIden,
    filters: &[CustomFilter],
    backend: Backend,
) -> Cond {
    let mut cond = Cond::all();
    for filter in filters {
        let key = filter.key.as_str();
        if let Condition::Empty(empty) = filter.condition {
            let present = custom_present(table, key, backend);
            cond = cond.add(if empty { present.not() } else { present });
            continue;
        }
        if filter.kind == CustomFieldKind::MultiSelect {
            let options: Vec<&str> = match &filter.condition {
                Condition::Eq(FilterValue::Text(v)) => vec![v.as_str()],
                Condition::In(vs) => vs
                    .iter()
                    .filter_map(|v| match v {
                        FilterValue::Text(t) => Some(t.as_str()),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let mut any = Cond::any();
            for option in options {
                any = any.add(custom_holds(table, key, option, backend));
            }
            cond = cond.add(any);
            continue;
        }
        let value = || {
            let v = custom_value(table, key, filter.kind, backend);
            if filter.kind == CustomFieldKind::Email {
                Expr::expr(Func::lower(v))
            } else {
                v
            }
        };
        let expr = match &filter.condition {
            Condition::Eq(v) => value().eq(sql_value(v)),
            Condition::In(vs) => value().is_in(vs.iter().map(sql_value)),
            Condition::Gte(v) => value().gte(sql_value(v)),
            Condition::Lte(v) => value().lte(sql_value(v)),
            // Handled above; custom fields have no tag filter.
            Condition::Empty(_) | Condition::Contains(_) => continue,
        };
        cond = cond.add(expr);
    }
    cond
}

/// The `WHERE` part of a list's custom-field filters.
pub fn custom_condition<F: ListField>(list: &ListQuery<F>, backend: Backend) -> Cond {
    custom_filter_condition(&F::table(), &list.custom.filters, backend)
}

fn order_signature<F: ListField>(list: &ListQuery<F>) -> String {
    list.order()
        .iter()
        .map(|key| {
            let sign = if key.descending() { "-" } else { "" };
            match key {
                OrderKey::Field(k) => format!("{sign}{}", k.field.name()),
                OrderKey::Custom(k) => format!("{sign}cf.{}", k.key),
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// [`order_and_seek`] for a whole list: its own sort keys and its custom ones, in order.
pub fn order_and_seek_list<F: ListField>(
    q: &mut SelectStatement,
    list: &ListQuery<F>,
    backend: Backend,
    after: Option<&Seek>,
    limit: u64,
) {
    let table = F::table();
    let keys: Vec<(Expr, bool)> = list
        .order()
        .iter()
        .map(|key| match key {
            OrderKey::Field(k) => (k.field.sort_expr(), k.descending),
            OrderKey::Custom(k) => (
                custom_sort_expr(&table, &k.key, k.kind, backend),
                k.descending,
            ),
        })
        .collect();
    order_and_seek_exprs(q, &keys, Expr::col((table, F::id_column())), after, limit);
}

/// Read a cursor made by [`page_of_list`] under the same sort (custom keys included).
pub fn decode_list_cursor<F: ListField>(list: &ListQuery<F>, text: &str) -> Option<Seek> {
    let kinds: Vec<ValueKind> = list
        .order()
        .iter()
        .map(|key| match key {
            OrderKey::Field(k) => ValueKind::Field(k.field.kind()),
            OrderKey::Custom(k) => ValueKind::Custom(k.kind),
        })
        .collect();
    decode_signed(&order_signature(list), &kinds, text)
}

/// [`page_of`] for a whole list: `field_value` gives a row's value of one of its own sort
/// fields, `custom_fields` its custom-field object, `id` its id.
pub fn page_of_list<T, F: ListField>(
    mut rows: Vec<T>,
    limit: u64,
    list: &ListQuery<F>,
    field_value: impl Fn(&T, F) -> FilterValue,
    custom_fields: impl Fn(&T) -> &serde_json::Value,
    id: impl Fn(&T) -> Uuid,
) -> Page<T> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let next_cursor = if rows.len() > limit {
        rows.truncate(limit);
        rows.last().map(|row| {
            let values = list
                .order()
                .iter()
                .map(|key| match key {
                    OrderKey::Field(k) => field_value(row, k.field),
                    OrderKey::Custom(k) => custom_sort_value(custom_fields(row), &k.key, k.kind),
                })
                .collect();
            encode_signed(
                &order_signature(list),
                &Seek {
                    values,
                    id: id(row),
                },
            )
        })
    } else {
        None
    };
    Page {
        data: rows,
        next_cursor,
    }
}

/// An equality filter on text compared in lower case (a normalised e-mail column).
pub fn lowercase_text<F>(filter: &mut Filter<F>) {
    if let Condition::Eq(FilterValue::Text(text)) = &mut filter.condition {
        *text = text.trim().to_lowercase();
    }
}

/// Escape `%`, `_` and `\` for a `LIKE … ESCAPE '\'` pattern.
pub fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// An identifier as a [`DynIden`], for [`ListField`] implementations.
pub fn iden(i: impl IntoIden) -> DynIden {
    i.into_iden()
}

/// The caller's scope on `resource` for `action` as a `WHERE` on the record's owner column:
/// every record, those owned in their teams (or by them), or their own.
pub fn scope_condition(
    actor: &Actor,
    resource: Resource,
    action: Action,
    owner: impl Fn() -> Expr,
) -> Result<Cond> {
    match actor.scope(resource, action) {
        Scope::All => Ok(Cond::all()),
        Scope::Team => Ok(Cond::any()
            .add(owner().eq(actor.user_id))
            .add(owner().in_subquery(team_members(actor)))),
        Scope::Own => Ok(Cond::all().add(owner().eq(actor.user_id))),
        Scope::None => Err(StoreError::Forbidden),
    }
}

/// The users in the caller's teams.
fn team_members(actor: &Actor) -> SelectStatement {
    Query::select()
        .column((Memberships::Table, Memberships::UserId))
        .from(Memberships::Table)
        .and_where(Expr::col((Memberships::Table, Memberships::CompanyId)).eq(actor.company_id))
        .and_where(
            Expr::col((Memberships::Table, Memberships::TeamId))
                .is_in(actor.team_ids.iter().copied()),
        )
        .to_owned()
}

#[derive(Debug, FromQueryResult)]
struct OwnerRow {
    team_id: Option<TeamId>,
    active: bool,
}

/// Check that `owner_id` is an active member of the caller's company (else 422 naming
/// `owner_id`) whom the caller's scope on `resource` for `action` lets them give records to
/// (else forbidden).
pub async fn check_owner<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    resource: Resource,
    action: Action,
    owner_id: UserId,
) -> Result<()> {
    let row: Option<OwnerRow> = fetch_optional(
        conn,
        Query::select()
            .columns([Memberships::TeamId, Memberships::Active])
            .from(Memberships::Table)
            .and_where(Expr::col(Memberships::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(Memberships::UserId).eq(owner_id)),
    )
    .await?;
    let Some(owner) = row.filter(|r| r.active) else {
        return Err(StoreError::invalid(
            "owner_id",
            "is not an active member of this company",
        ));
    };
    let allowed = match actor.scope(resource, action) {
        Scope::All => true,
        Scope::Team => {
            owner_id == actor.user_id || owner.team_id.is_some_and(|t| actor.team_ids.contains(&t))
        }
        Scope::Own => owner_id == actor.user_id,
        Scope::None => false,
    };
    if allowed {
        Ok(())
    } else {
        Err(StoreError::Forbidden)
    }
}

/// SQLite hands JSON columns back as text; PostgreSQL as JSON.
pub fn json_column(value: serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::String(text) => serde_json::from_str(&text).unwrap_or_default(),
        other => other,
    }
}

/// `ids` without repeats, in their order.
pub fn unique_ids<T: Copy + PartialEq>(ids: &[T]) -> Vec<T> {
    let mut out: Vec<T> = Vec::with_capacity(ids.len());
    for id in ids {
        if !out.contains(id) {
            out.push(*id);
        }
    }
    out
}

/// Rows pointing at any of `records` through a type column and an id column (`type_col`,
/// `id_col`): one `type = t AND id IN (…)` per record type, so an account's timeline over its
/// thousand contacts and deals stays a short condition (SQLite refuses an expression more than
/// 1,000 deep, which an `OR` per record becomes). `text_ids` compares the ids as text (the audit
/// trail keeps them so).
pub(crate) fn pointing_at(
    type_col: sea_orm::sea_query::Expr,
    id_col: impl Fn() -> sea_orm::sea_query::Expr,
    records: &[(rivet_domain::activities::RecordType, uuid::Uuid)],
    type_name: impl Fn(rivet_domain::activities::RecordType) -> &'static str,
    text_ids: bool,
) -> Cond {
    let mut by_type: Vec<(&'static str, Vec<uuid::Uuid>)> = Vec::new();
    for (record_type, id) in records {
        let name = type_name(*record_type);
        match by_type.iter_mut().find(|(t, _)| *t == name) {
            Some((_, ids)) => ids.push(*id),
            None => by_type.push((name, vec![*id])),
        }
    }
    let mut any = Cond::any();
    for (name, ids) in by_type {
        let ids: Vec<sea_orm::Value> = if text_ids {
            ids.iter().map(|i| i.to_string().into()).collect()
        } else {
            ids.into_iter().map(Into::into).collect()
        };
        any = any.add(
            Cond::all()
                .add(type_col.clone().eq(name))
                .add(id_col().is_in(ids)),
        );
    }
    any
}

/// Rows in PostgreSQL `COPY`'s text format, for [`crate::Tx::copy_in`]: fields separated by a
/// tab, rows ended by a newline, `\N` for NULL, and a backslash, tab, newline or carriage
/// return inside a value escaped with a backslash.
#[derive(Default)]
pub(crate) struct CopyText {
    data: Vec<u8>,
    /// Whether the row being written has a field yet.
    in_row: bool,
}

impl CopyText {
    pub(crate) fn with_capacity(bytes: usize) -> Self {
        Self {
            data: Vec::with_capacity(bytes),
            in_row: false,
        }
    }

    fn separate(&mut self) {
        if self.in_row {
            self.data.push(b'\t');
        }
        self.in_row = true;
    }

    /// A value as text (a UUID, a number, a time, JSON): escaped as COPY wants.
    pub(crate) fn text(&mut self, value: &str) -> &mut Self {
        self.separate();
        for byte in value.bytes() {
            match byte {
                b'\\' => self.data.extend_from_slice(b"\\\\"),
                b'\t' => self.data.extend_from_slice(b"\\t"),
                b'\n' => self.data.extend_from_slice(b"\\n"),
                b'\r' => self.data.extend_from_slice(b"\\r"),
                other => self.data.push(other),
            }
        }
        self
    }

    /// `value`, or NULL.
    pub(crate) fn opt(&mut self, value: Option<&str>) -> &mut Self {
        match value {
            Some(value) => self.text(value),
            None => {
                self.separate();
                self.data.extend_from_slice(b"\\N");
                self
            }
        }
    }

    /// End the row.
    pub(crate) fn end_row(&mut self) {
        self.data.push(b'\n');
        self.in_row = false;
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.data
    }
}

#[cfg(test)]
mod copy_text_tests {
    use super::CopyText;

    #[test]
    fn escapes_what_copy_reads_as_structure() {
        let mut rows = CopyText::default();
        rows.text("a\tb").opt(None).text("c\\d\ne\r").end_row();
        rows.text("x").end_row();
        assert_eq!(rows.bytes(), b"a\\tb\t\\N\tc\\\\d\\ne\\r\nx\n");
    }
}
