//! Custom field definitions: per company and record type, what extra fields its records carry
//! in their `custom_fields` JSON column (rules in `rivet_domain::custom_fields`).
//!
//! Every change is audited as resource `"custom_fields"`. Changing the kind of a field that
//! records already hold values for is a conflict, as is removing a select option records use;
//! deleting a definition removes its values from every record of the company in the same
//! transaction (without touching their `updated_at` or auditing each record: the definition's
//! own audit row says what went). Who may call what is decided by the routes (any signed-in
//! member reads, settings.update changes), not here.

use crate::query::{self, CUSTOM_FIELDS_COLUMN, iden};
use crate::tables::CustomFieldDefinitions as Defs;
use crate::{
    Backend, Result, Store, StoreError, Tx, exec, fetch_all, fetch_count, fetch_optional, new_id,
    now,
};
use chrono::{DateTime, Utc};
use rivet_domain::Actor;
use rivet_domain::custom_fields::{self as rules, CustomFieldKind, FieldDef, RecordType};
use rivet_domain::ids::CompanyId;
use rivet_domain::query::{Condition, CustomFilter, FilterValue};
use sea_orm::sea_query::{Alias, DynIden, Expr, ExprTrait, Order, Query, SelectStatement};
use sea_orm::{DbErr, FromQueryResult};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

const RESOURCE: &str = "custom_fields";

/// A custom field definition as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Definition {
    pub id: Uuid,
    /// lead, account, contact or deal.
    pub record_type: RecordType,
    /// The field's name in the record's `custom_fields` and in lists (`cf.<key>`).
    pub key: String,
    pub label: String,
    /// text, number, date, boolean, select, multi_select, url or email.
    pub kind: CustomFieldKind,
    /// The choices of a select or multi_select field; empty for other kinds.
    pub options: Vec<String>,
    /// A new record must have a value, and a change may not clear it.
    pub required: bool,
    /// Display order among the record type's fields (smallest first).
    pub position: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Definition {
    /// The definition as validation and lists need it.
    pub fn def(&self) -> FieldDef {
        FieldDef {
            key: self.key.clone(),
            label: self.label.clone(),
            kind: self.kind,
            options: self.options.clone(),
            required: self.required,
        }
    }

    fn audit_json(&self) -> Value {
        json!({
            "record_type": self.record_type,
            "key": self.key,
            "label": self.label,
            "kind": self.kind,
            "options": self.options,
            "required": self.required,
            "position": self.position,
        })
    }
}

#[derive(Debug, FromQueryResult)]
struct DefRow {
    id: Uuid,
    record_type: String,
    key: String,
    label: String,
    kind: String,
    options: Value,
    required: bool,
    position: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<DefRow> for Definition {
    type Error = StoreError;

    fn try_from(row: DefRow) -> Result<Self> {
        let corrupt =
            |e: String| StoreError::Db(DbErr::Custom(format!("custom field {}: {e}", row.id)));
        Ok(Self {
            record_type: row.record_type.parse().map_err(corrupt)?,
            kind: row.kind.parse().map_err(corrupt)?,
            options: serde_json::from_value(query::json_column(row.options)).unwrap_or_default(),
            id: row.id,
            key: row.key,
            label: row.label,
            required: row.required,
            position: row.position,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }
}

/// The table holding `record_type`'s records, with their `custom_fields` column.
fn record_table(record_type: RecordType) -> DynIden {
    iden(Alias::new(match record_type {
        RecordType::Lead => "leads",
        RecordType::Account => "accounts",
        RecordType::Contact => "contacts",
        RecordType::Deal => "deals",
    }))
}

fn select_defs(company_id: CompanyId) -> SelectStatement {
    Query::select()
        .columns([
            Defs::Id,
            Defs::RecordType,
            Defs::Key,
            Defs::Label,
            Defs::Kind,
            Defs::Options,
            Defs::Required,
            Defs::Position,
            Defs::CreatedAt,
            Defs::UpdatedAt,
        ])
        .from(Defs::Table)
        .and_where(Expr::col(Defs::CompanyId).eq(company_id))
        .order_by(Defs::RecordType, Order::Asc)
        .order_by(Defs::Position, Order::Asc)
        .order_by(Defs::Key, Order::Asc)
        .to_owned()
}

pub(crate) async fn load_all<C: sea_orm::ConnectionTrait>(
    conn: &C,
    company_id: CompanyId,
    record_type: Option<RecordType>,
) -> Result<Vec<Definition>> {
    let mut q = select_defs(company_id);
    if let Some(t) = record_type {
        q.and_where(Expr::col(Defs::RecordType).eq(t.as_str()));
    }
    let rows: Vec<DefRow> = fetch_all(conn, &q).await?;
    rows.into_iter().map(Definition::try_from).collect()
}

async fn load<C: sea_orm::ConnectionTrait>(
    conn: &C,
    company_id: CompanyId,
    id: Uuid,
) -> Result<Definition> {
    let row: Option<DefRow> = fetch_optional(
        conn,
        select_defs(company_id).and_where(Expr::col(Defs::Id).eq(id)),
    )
    .await?;
    row.ok_or(StoreError::NotFound)
        .and_then(Definition::try_from)
}

/// The caller's company's definitions, of one record type or all, in display order.
pub async fn list(
    store: &Store,
    actor: &Actor,
    record_type: Option<RecordType>,
) -> Result<Vec<Definition>> {
    let r = store.read(actor).await?;
    load_all(r.conn(), actor.company_id, record_type).await
}

/// The caller's company's fields of `record_type`, as validation and lists need them.
pub async fn defs_of(
    store: &Store,
    actor: &Actor,
    record_type: RecordType,
) -> Result<Vec<FieldDef>> {
    Ok(list(store, actor, Some(record_type))
        .await?
        .iter()
        .map(Definition::def)
        .collect())
}

/// One definition of the caller's company; another company's is not found.
pub async fn get(store: &Store, actor: &Actor, id: Uuid) -> Result<Definition> {
    let r = store.read(actor).await?;
    load(r.conn(), actor.company_id, id).await
}

/// A new definition, its values already checked (key, label and options).
#[derive(Debug, Clone)]
pub struct NewDefinition {
    pub record_type: RecordType,
    pub key: String,
    pub label: String,
    pub kind: CustomFieldKind,
    pub options: Vec<String>,
    pub required: bool,
    /// Omitted: after the record type's last field.
    pub position: Option<i32>,
}

/// Define a custom field; its key must be new for the record type (409 naming `key`).
pub async fn create(store: &Store, actor: &Actor, new: &NewDefinition) -> Result<Definition> {
    let tx = store.write(actor).await?;
    let existing = load_all(tx.conn(), actor.company_id, Some(new.record_type)).await?;
    if existing.iter().any(|d| d.key == new.key) {
        return Err(StoreError::Conflict {
            field: "key".into(),
            message: format!("is already a {} custom field", new.record_type),
        });
    }
    if existing.len() >= rules::MAX_DEFINITIONS {
        return Err(StoreError::invalid(
            "record_type",
            format!(
                "has the most custom fields a record type can have ({})",
                rules::MAX_DEFINITIONS
            ),
        ));
    }
    let position = new
        .position
        .unwrap_or_else(|| existing.iter().map(|d| d.position).max().unwrap_or(0) + 1);
    let id = new_id();
    let at = now();
    exec(
        tx.conn(),
        Query::insert()
            .into_table(Defs::Table)
            .columns([
                Defs::CompanyId,
                Defs::Id,
                Defs::RecordType,
                Defs::Key,
                Defs::Label,
                Defs::Kind,
                Defs::Options,
                Defs::Required,
                Defs::Position,
                Defs::CreatedAt,
                Defs::UpdatedAt,
            ])
            .values_panic([
                actor.company_id.into(),
                id.into(),
                new.record_type.as_str().into(),
                new.key.clone().into(),
                new.label.clone().into(),
                new.kind.as_str().into(),
                json!(new.options).into(),
                new.required.into(),
                position.into(),
                at.into(),
                at.into(),
            ]),
    )
    .await?;
    let created = load(tx.conn(), actor.company_id, id).await?;
    // Definitions cached by the server are read again once this commits.
    tx.touches_auth();
    tx.audit_in(
        actor.company_id,
        RESOURCE,
        id,
        "create",
        None,
        Some(&created.audit_json()),
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

/// What a change sets; `None` keeps the current value. The key and record type never change.
#[derive(Debug, Clone, Default)]
pub struct DefinitionChanges {
    pub label: Option<String>,
    pub kind: Option<CustomFieldKind>,
    /// Unchecked: checked here against the resulting kind.
    pub options: Option<Vec<String>>,
    pub required: Option<bool>,
    pub position: Option<i32>,
}

/// How many of the company's records match `filter` (all with a value when `None`).
async fn records_using(
    tx: &Tx,
    backend: Backend,
    company_id: CompanyId,
    def: &Definition,
    filter: Option<&CustomFilter>,
) -> Result<i64> {
    let table = record_table(def.record_type);
    let cond = match filter {
        Some(f) => query::custom_filter_condition(&table, std::slice::from_ref(f), backend),
        None => {
            sea_orm::sea_query::Cond::all().add(query::custom_present(&table, &def.key, backend))
        }
    };
    fetch_count(
        tx.conn(),
        Query::select()
            .expr(Expr::col((table.clone(), Alias::new("id"))).count())
            .from(table.clone())
            .and_where(Expr::col((table, Alias::new("company_id"))).eq(company_id))
            .cond_where(cond),
    )
    .await
}

/// Change a definition. Changing the kind while records hold values, or removing options that
/// records use, is a conflict (409 naming `kind` or `options`).
pub async fn update(
    store: &Store,
    actor: &Actor,
    id: Uuid,
    changes: &DefinitionChanges,
) -> Result<Definition> {
    let tx = store.write(actor).await?;
    let before = load(tx.conn(), actor.company_id, id).await?;
    let kind = changes.kind.unwrap_or(before.kind);
    let options = match (
        &changes.options,
        kind.has_options() && before.kind.has_options(),
    ) {
        (Some(given), _) => Some(given.as_slice()),
        (None, true) => Some(before.options.as_slice()),
        (None, false) => None,
    };
    let options = rules::parse_options(kind, options)
        .map_err(|message| StoreError::invalid("options", message))?;
    if kind != before.kind {
        let used = records_using(&tx, store.backend(), actor.company_id, &before, None).await?;
        if used > 0 {
            return Err(StoreError::Conflict {
                field: "kind".into(),
                message: format!(
                    "cannot change: {used} record(s) hold values of this field; \
                     clear them or define a new field"
                ),
            });
        }
    } else if kind.has_options() {
        let removed: Vec<FilterValue> = before
            .options
            .iter()
            .filter(|o| !options.contains(o))
            .map(|o| FilterValue::Text(o.clone()))
            .collect();
        if !removed.is_empty() {
            let filter = CustomFilter {
                key: before.key.clone(),
                kind,
                condition: Condition::In(removed),
            };
            let used = records_using(
                &tx,
                store.backend(),
                actor.company_id,
                &before,
                Some(&filter),
            )
            .await?;
            if used > 0 {
                return Err(StoreError::Conflict {
                    field: "options".into(),
                    message: format!(
                        "cannot remove options that {used} record(s) use; \
                         change those records first"
                    ),
                });
            }
        }
    }
    exec(
        tx.conn(),
        Query::update()
            .table(Defs::Table)
            .values([
                (
                    Defs::Label,
                    Expr::val(changes.label.clone().unwrap_or(before.label.clone())),
                ),
                (Defs::Kind, Expr::val(kind.as_str())),
                (Defs::Options, Expr::val(json!(options))),
                (
                    Defs::Required,
                    Expr::val(changes.required.unwrap_or(before.required)),
                ),
                (
                    Defs::Position,
                    Expr::val(changes.position.unwrap_or(before.position)),
                ),
                (Defs::UpdatedAt, Expr::val(now())),
            ])
            .and_where(Expr::col(Defs::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(Defs::Id).eq(id)),
    )
    .await?;
    let after = load(tx.conn(), actor.company_id, id).await?;
    // Definitions cached by the server are read again once this commits.
    tx.touches_auth();
    tx.audit_in(
        actor.company_id,
        RESOURCE,
        id,
        "update",
        Some(&before.audit_json()),
        Some(&after.audit_json()),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Delete a definition and remove its values from the company's records.
pub async fn delete(store: &Store, actor: &Actor, id: Uuid) -> Result<()> {
    let tx = store.write(actor).await?;
    let before = load(tx.conn(), actor.company_id, id).await?;
    let table = record_table(before.record_type);
    let column = Alias::new(CUSTOM_FIELDS_COLUMN);
    let stripped = match store.backend() {
        Backend::Sqlite => Expr::cust_with_exprs(
            "json_remove(?, ?)",
            [
                Expr::col((table.clone(), column.clone())),
                Expr::val(format!("$.{}", before.key)),
            ],
        ),
        Backend::Postgres => Expr::cust_with_exprs(
            "($1 - $2)",
            [
                Expr::col((table.clone(), column.clone())),
                Expr::val(before.key.clone()),
            ],
        ),
    };
    let has_key = match store.backend() {
        Backend::Sqlite => Expr::cust_with_exprs(
            "(json_type(?, ?) IS NOT NULL)",
            [
                Expr::col((table.clone(), column.clone())),
                Expr::val(format!("$.{}", before.key)),
            ],
        ),
        Backend::Postgres => Expr::cust_with_exprs(
            "($1 ? $2)",
            [
                Expr::col((table.clone(), column.clone())),
                Expr::val(before.key.clone()),
            ],
        ),
    };
    exec(
        tx.conn(),
        Query::update()
            .table(table.clone())
            .value(column, stripped)
            .and_where(Expr::col((table, Alias::new("company_id"))).eq(actor.company_id))
            .and_where(has_key),
    )
    .await?;
    exec(
        tx.conn(),
        Query::delete()
            .from_table(Defs::Table)
            .and_where(Expr::col(Defs::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(Defs::Id).eq(id)),
    )
    .await?;
    // Definitions cached by the server are read again once this commits.
    tx.touches_auth();
    tx.audit_in(
        actor.company_id,
        RESOURCE,
        id,
        "delete",
        Some(&before.audit_json()),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
