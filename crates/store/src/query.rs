//! The list machinery every record list shares: a parsed [`ListQuery`] (rivet_domain::query)
//! turned into a sea-query condition and `ORDER BY`, and keyset pagination on the sort values
//! plus the id — an opaque cursor naming the last row, so a deep page costs what the first costs.
//!
//! A record type plugs in by implementing [`ListField`] for its field enum: which column each
//! field is and how it sorts. Nothing here knows about leads.

use crate::schema::Memberships;
use crate::{Backend, Page, Result, StoreError, fetch_optional};
use base64::Engine as _;
use rivet_domain::query::{Condition, FieldKind, FieldSpec, Filter, FilterValue, SortKey};
use rivet_domain::{Action, Actor, Resource, Scope};
use sea_orm::sea_query::{
    Cond, DynIden, Expr, ExprTrait, IntoIden, Order, Query, SelectStatement, Value,
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

fn sql_value(value: &FilterValue) -> Value {
    match value {
        FilterValue::Text(t) => t.clone().into(),
        FilterValue::Id(id) => (*id).into(),
        FilterValue::Time(t) => (*t).into(),
        FilterValue::Int(n) => (*n).into(),
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
    }
}

/// The opaque cursor of a row under `sort`.
pub fn encode_cursor<F: ListField>(sort: &[SortKey<F>], seek: &Seek) -> String {
    let body = json!({
        "s": sort_signature(sort),
        "v": seek.values.iter().map(json_value).collect::<Vec<_>>(),
        "id": seek.id,
    });
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(body.to_string())
}

/// Read a cursor made under the same sort; `None` when it is not one (garbage, or another sort).
pub fn decode_cursor<F: ListField>(sort: &[SortKey<F>], text: &str) -> Option<Seek> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .ok()?;
    let body: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    if body.get("s")?.as_str()? != sort_signature(sort) {
        return None;
    }
    let raw = body.get("v")?.as_array()?;
    if raw.len() != sort.len() {
        return None;
    }
    let mut values = Vec::with_capacity(raw.len());
    for (key, value) in sort.iter().zip(raw) {
        let value = match key.field.kind() {
            FieldKind::Int => FilterValue::Int(value.as_i64()?),
            FieldKind::Time => FilterValue::Time(serde_json::from_value(value.clone()).ok()?),
            FieldKind::Id => FilterValue::Id(serde_json::from_value(value.clone()).ok()?),
            FieldKind::Text | FieldKind::Choice(_) | FieldKind::Tags => {
                FilterValue::Text(value.as_str()?.to_owned())
            }
        };
        values.push(value);
    }
    let id = serde_json::from_value(body.get("id")?.clone()).ok()?;
    Some(Seek { values, id })
}

/// Order by `sort` then the id (in the direction of the last key), start after `after`, and
/// fetch one row more than `limit` to learn whether another page exists.
pub fn order_and_seek<F: ListField>(
    q: &mut SelectStatement,
    sort: &[SortKey<F>],
    after: Option<&Seek>,
    limit: u64,
) {
    let id_desc = sort.last().is_some_and(|k| k.descending);
    let id_col = || Expr::col((F::table(), F::id_column()));
    if let Some(seek) = after {
        // (k1 > v1) OR (k1 = v1 AND k2 > v2) OR … OR (k1 = v1 AND … AND id > last id),
        // each comparison in its key's direction.
        let mut any = Cond::any();
        let mut equal_so_far = Cond::all();
        for (key, value) in sort.iter().zip(&seek.values) {
            let expr = key.field.sort_expr();
            let v = sql_value(value);
            let step = if key.descending {
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
        if let (Some(key), Some(value)) = (sort.first(), seek.values.first()) {
            let expr = key.field.sort_expr();
            q.and_where(if key.descending {
                expr.lte(sql_value(value))
            } else {
                expr.gte(sql_value(value))
            });
        }
    }
    for key in sort {
        let order = if key.descending {
            Order::Desc
        } else {
            Order::Asc
        };
        q.order_by_expr(key.field.sort_expr(), order);
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
    team_id: Option<Uuid>,
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
    owner_id: Uuid,
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
pub fn unique_ids(ids: &[Uuid]) -> Vec<Uuid> {
    let mut out: Vec<Uuid> = Vec::with_capacity(ids.len());
    for id in ids {
        if !out.contains(id) {
            out.push(*id);
        }
    }
    out
}
