//! The generic record layer: a record type (leads, accounts, contacts, deals, tasks,
//! activities, and every one to come) is declared once — its row, list fields, owner column and
//! the columns its data writes — and gets list, get, create, update, delete and the bulk
//! actions from the functions here, on both databases: every read filtered by the caller's
//! company and scope, every write audited (and so evented) in its transaction.
//!
//! What is special about a record is a hook on that one path ([`Write::write_columns`] checks
//! references and works out derived columns, [`Write::after_write`] writes what goes with the
//! row), never a copy of it.

use crate::query::{self, ListField, Seek, check_owner, scope_condition, unique_ids};
use crate::row::TableColumns;
use crate::{Page, Result, Store, StoreError, Tx, exec, fetch_all, now};
use chrono::{DateTime, Utc};
use rivet_domain::ids::{CompanyId, Id, UserId};
use rivet_domain::query::{Filter, FilterValue, ListQuery};
use rivet_domain::{Action, Actor, FieldErrors, Resource};
use sea_orm::sea_query::{
    Alias, Cond, DynIden, Expr, ExprTrait, Func, LikeExpr, Query, SelectStatement, Value,
};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use serde_json::Map;
use std::future::Future;

/// Fields of every record that a client cannot write.
pub const READ_ONLY_FIELDS: &[&str] = &["id", "created_by", "created_at", "updated_at"];

/// A record type as the store reads it.
pub trait Record: Sized + Clone + Serialize + Send + Sync + 'static {
    /// The row as the table holds it (its columns selected in order).
    type Row: FromQueryResult + TableColumns + Into<Self> + Send + Sync;
    /// The fields a list filters and sorts by.
    type Field: ListField + Send + Sync;
    /// What its ids name (`kind::Lead` for a lead): `Id<Self::Kind>` is its id type, so a
    /// lead's functions take a `LeadId` and nothing else.
    type Kind: Send + Sync + 'static;
    /// The permission resource whose scope filters the rows and whose name the audit uses.
    const RESOURCE: Resource;
    /// Fields a client cannot write.
    const READ_ONLY: &'static [&'static str] = READ_ONLY_FIELDS;

    /// The column the caller's scope (own / team) compares with the user.
    fn owner_column() -> DynIden {
        query::iden(Alias::new("owner_id"))
    }
    /// The tenant column every record table leads with.
    fn company_column() -> DynIden {
        query::iden(Alias::new("company_id"))
    }
    fn id(&self) -> Id<Self::Kind>;

    /// The row's fields in order: the API's fields of a record that is its own row.
    fn field_names() -> &'static [&'static str] {
        <Self::Row as crate::row::TableColumns>::FIELD_NAMES
    }
    /// The user the scope checks a change against (owner, assignee).
    fn owner(&self) -> UserId;
    fn custom_fields(&self) -> &serde_json::Value;
    /// This record's value of a sort field, as its cursor records it (matching `sort_expr`).
    fn sort_value(&self, field: Self::Field) -> FilterValue;

    /// The text columns the list's `q=` looks in (a case-insensitive substring).
    fn text_columns() -> Vec<DynIden> {
        Vec::new()
    }

    /// A filter the type treats itself: the condition that replaces the generic one, or
    /// `None` after adjusting the filter to how the table stores its values (e-mails
    /// lower-cased).
    fn own_filter(_filter: &mut Filter<Self::Field>) -> Option<Cond> {
        None
    }

    /// Reads that complete rows read from the record's table (e.g. an activity's links).
    fn complete<C: ConnectionTrait>(
        _conn: &C,
        _actor: &Actor,
        records: Vec<Self>,
    ) -> impl Future<Output = Result<Vec<Self>>> + Send {
        async move { Ok(records) }
    }

    /// What must happen before records are deleted, in the transaction (references from other
    /// records that the schema does not clear by itself).
    fn before_delete(
        _tx: &Tx,
        _actor: &Actor,
        _records: &[Self],
    ) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// The record as a client would write it (for merging a patch).
    fn as_input(&self) -> Map<String, serde_json::Value> {
        let mut map = match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => Map::new(),
        };
        for field in Self::READ_ONLY {
            map.remove(*field);
        }
        map
    }

    /// What the audit trail keeps of the record.
    fn audit_json(&self) -> serde_json::Value {
        let mut map = self.as_input();
        map.insert("id".into(), serde_json::json!(self.id()));
        serde_json::Value::Object(map)
    }
}

/// A record type as the store writes it.
pub trait Write: Record {
    /// Validated data: what a create writes and an update writes over the record.
    type Data: Send + Sync;
    /// The name a client knows the owner by (`owner_id`, a task's `assignee_id`).
    const OWNER_FIELD: &'static str = "owner_id";

    /// The owner `data` names; `None` means the caller on create and is refused on update.
    fn data_owner(data: &Self::Data) -> Option<UserId>;

    /// Check what `data` refers to and return the columns it writes (`owner_id` already
    /// checked): the hook where a record's own rules live. `before` is `None` on create.
    fn write_columns(
        tx: &Tx,
        actor: &Actor,
        id: Id<Self::Kind>,
        data: &Self::Data,
        owner: UserId,
        before: Option<&Self>,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<(DynIden, Value)>>> + Send;

    /// What goes with the row, written in its transaction after it (`after` is the row as
    /// written, and may be completed here).
    fn after_write(
        _tx: &Tx,
        _actor: &Actor,
        _data: &Self::Data,
        _before: Option<&Self>,
        _after: &mut Self,
        _at: DateTime<Utc>,
    ) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// What goes with a batch of new records, after each one's [`Write::after_write`] and
    /// before their audit rows (a statement for the batch, not one per record).
    fn after_create(
        _tx: &Tx,
        _actor: &Actor,
        _created: &mut [&mut Self],
    ) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// What goes with a batch of changed records, `(before, after)` each, after each one's
    /// [`Write::after_write`] and audit row (a statement for the batch, not one per record: a
    /// bulk update's records come here together).
    fn after_update(
        _tx: &Tx,
        _actor: &Actor,
        _changed: &[(&Self, &Self)],
    ) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }
}

/// The type's rows of the caller's company.
pub fn select<R: Record>(company_id: CompanyId) -> SelectStatement {
    Query::select()
        .columns(R::Row::table_columns())
        .from(R::Field::table())
        .and_where(Expr::col((R::Field::table(), R::company_column())).eq(company_id))
        .to_owned()
}

/// The caller's scope on the type for `action` as a `WHERE`.
pub fn scope<R: Record>(actor: &Actor, action: Action) -> Result<Cond> {
    scope_condition(actor, R::RESOURCE, action, || {
        Expr::col((R::Field::table(), R::owner_column()))
    })
}

fn by_id<R: Record>(id: Id<R::Kind>) -> Expr {
    Expr::col((R::Field::table(), R::Field::id_column())).eq(id)
}

pub(crate) async fn rows<R: Record, C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    q: &SelectStatement,
) -> Result<Vec<R>> {
    let rows: Vec<R::Row> = fetch_all(conn, q).await?;
    R::complete(conn, actor, rows.into_iter().map(Into::into).collect()).await
}

/// The next `size` of `company`'s records after `after` (by id), read by `reader` in `tx`: a
/// page of a recomputation over every record (scores, health). On PostgreSQL the rows stay
/// locked until `tx` commits, so an edit meanwhile waits rather than being overwritten with
/// what was computed from the data it replaced.
pub(crate) async fn locked_batch<R: Record>(
    tx: &crate::Tx,
    reader: &Actor,
    company: rivet_domain::ids::CompanyId,
    after: Option<Id<R::Kind>>,
    size: u64,
) -> Result<Vec<R>> {
    let id = || Expr::col((R::Field::table(), R::Field::id_column()));
    let mut q = select::<R>(company);
    if let Some(after) = after {
        q.and_where(id().gt(after));
    }
    q.order_by_expr(id(), sea_orm::sea_query::Order::Asc)
        .limit(size);
    if tx.conn().get_database_backend() == sea_orm::DbBackend::Postgres {
        q.lock(sea_orm::sea_query::LockType::Update);
    }
    rows::<R, _>(tx.conn(), reader, &q).await
}

/// `text` as a case-insensitive substring of any of the type's text columns.
pub fn text_match<R: Record>(text: &str) -> Cond {
    let pattern = format!("%{}%", query::escape_like(&text.to_lowercase()));
    R::text_columns().into_iter().fold(Cond::any(), |any, col| {
        any.add(
            Expr::expr(Func::lower(Expr::col((R::Field::table(), col))))
                .like(LikeExpr::new(pattern.clone()).escape('\\')),
        )
    })
}

/// One page of the records the caller may read; `narrow` adds a type's own conditions (a
/// list's shortcuts).
pub async fn list_where<R: Record>(
    store: &Store,
    actor: &Actor,
    list: &ListQuery<R::Field>,
    limit: u64,
    after: Option<&Seek>,
    narrow: Cond,
) -> Result<Page<R>> {
    let mut q = select::<R>(actor.company_id);
    q.cond_where(scope::<R>(actor, Action::Read)?);
    let mut filters = Vec::with_capacity(list.filters.len());
    for mut filter in list.filters.iter().cloned() {
        match R::own_filter(&mut filter) {
            Some(condition) => drop(q.cond_where(condition)),
            None => filters.push(filter),
        }
    }
    q.cond_where(query::filter_condition(&filters, store.backend()));
    q.cond_where(query::custom_condition(list, store.backend()));
    if let Some(text) = list.q.as_deref() {
        q.cond_where(text_match::<R>(text));
    }
    q.cond_where(narrow);
    query::order_and_seek_list(&mut q, list, store.backend(), after, limit);
    let records = rows::<R, _>(store.read(actor).await?.conn(), actor, &q).await?;
    Ok(query::page_of_list(
        records,
        limit,
        list,
        R::sort_value,
        R::custom_fields,
        |record| record.id().uuid(),
    ))
}

/// One page of the records the caller may read.
pub async fn list<R: Record>(
    store: &Store,
    actor: &Actor,
    list: &ListQuery<R::Field>,
    limit: u64,
    after: Option<&Seek>,
) -> Result<Page<R>> {
    list_where(store, actor, list, limit, after, Cond::all()).await
}

/// One record in the caller's scope for `action`; another company's, or one outside the
/// scope, is not found.
pub async fn get_in<R: Record, C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    action: Action,
    id: Id<R::Kind>,
) -> Result<R> {
    let mut q = select::<R>(actor.company_id);
    q.cond_where(scope::<R>(actor, action)?)
        .and_where(by_id::<R>(id));
    rows::<R, _>(conn, actor, &q)
        .await?
        .pop()
        .ok_or(StoreError::NotFound)
}

/// One record the caller may read.
pub async fn get<R: Record>(store: &Store, actor: &Actor, id: Id<R::Kind>) -> Result<R> {
    get_in(store.read(actor).await?.conn(), actor, Action::Read, id).await
}

/// A record of the caller's company regardless of scope: after a change that moved it out of
/// the caller's scope (a rep giving a record away), the answer still shows what was written.
pub async fn get_unscoped<R: Record, C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    id: Id<R::Kind>,
) -> Result<R> {
    let mut q = select::<R>(actor.company_id);
    q.and_where(by_id::<R>(id));
    rows::<R, _>(conn, actor, &q)
        .await?
        .pop()
        .ok_or(StoreError::NotFound)
}

/// The records `ids` names (distinct), all in the caller's scope for `action`, or not found as
/// a whole.
pub async fn all_in_scope<R: Record, C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    action: Action,
    ids: &[Id<R::Kind>],
) -> Result<Vec<R>> {
    let mut q = select::<R>(actor.company_id);
    q.cond_where(scope::<R>(actor, action)?).and_where(
        Expr::col((R::Field::table(), R::Field::id_column())).is_in(ids.iter().copied()),
    );
    let records = rows::<R, _>(conn, actor, &q).await?;
    if records.len() != ids.len() {
        return Err(StoreError::NotFound);
    }
    Ok(records)
}

/// [`check_owner`] for the record type, naming its owner field.
pub async fn check_owner_of<R: Write>(
    tx: &Tx,
    actor: &Actor,
    action: Action,
    owner: UserId,
    field: &str,
) -> Result<()> {
    match check_owner(tx.conn(), actor, R::RESOURCE, action, owner).await {
        Err(StoreError::Invalid(_)) => Err(StoreError::invalid(
            field,
            "is not an active member of this company",
        )),
        other => other,
    }
}

/// Create a record in an open transaction; without an owner the caller owns it.
pub async fn create_in<R: Write>(tx: &Tx, actor: &Actor, data: &R::Data) -> Result<R> {
    create_many_in::<R>(tx, actor, &[data])
        .await?
        .pop()
        .unwrap_or(Err(StoreError::NotFound))
}

use crate::MAX_BOUND_VALUES;

/// From this many records on, a batch of creates is indexed for search as a batch
/// ([`crate::search::SearchBatch`]); fewer go through the search triggers row by row.
const SEARCH_BATCH_FROM: usize = 16;

/// Create records in an open transaction, as [`create_in`] creates one, with a statement per
/// batch rather than per record (an import's rows, an ingestion's leads): one insert of the
/// rows, one read of them back, one insert of their audit rows and one of their events. Each
/// record's own checks ([`Write::write_columns`]) still run one by one: a record they refuse is
/// that record's `Err` (nothing of it written), the others are saved. The outer `Err` is the
/// database's, which leaves the transaction to be rolled back.
pub async fn create_many_in<R: Write>(
    tx: &Tx,
    actor: &Actor,
    data: &[&R::Data],
) -> Result<Vec<Result<R>>> {
    let at = now();
    let import = tx.import().filter(|_| {
        crate::tables::IMPORTED_TABLES.contains(&R::Field::table().to_string().as_str())
    });
    // Owners already checked: a batch has few, and each is checked once.
    let mut owners: Vec<UserId> = Vec::new();
    let mut outcomes: Vec<Result<Id<R::Kind>>> = Vec::with_capacity(data.len());
    // Rows by their column names: a type writes the same columns for every record, but a
    // hook may not, and one statement needs one column list.
    let mut inserts: Vec<(Vec<DynIden>, Vec<Vec<Value>>)> = Vec::new();
    for data in data {
        let owner = R::data_owner(data).unwrap_or(actor.user_id);
        if !owners.contains(&owner) {
            match check_owner_of::<R>(tx, actor, Action::Create, owner, R::OWNER_FIELD).await {
                Ok(()) => owners.push(owner),
                Err(e @ StoreError::Db(_)) => return Err(e),
                Err(e) => {
                    outcomes.push(Err(e));
                    continue;
                }
            }
        }
        let id = Id::<R::Kind>::new();
        let mut cols: Vec<(DynIden, Value)> = vec![
            (R::company_column(), actor.company_id.into()),
            (R::Field::id_column(), id.into()),
            (query::iden(Alias::new("created_by")), actor.user_id.into()),
            (query::iden(Alias::new("created_at")), at.into()),
            (query::iden(Alias::new("updated_at")), at.into()),
        ];
        if let Some(import) = import {
            cols.push((query::iden(Alias::new("import_id")), import.into()));
        }
        match R::write_columns(tx, actor, id, data, owner, None, at).await {
            Ok(more) => cols.extend(more),
            Err(StoreError::Db(e)) => return Err(StoreError::Db(e)),
            Err(e) => {
                outcomes.push(Err(e));
                continue;
            }
        }
        let (names, values): (Vec<DynIden>, Vec<Value>) = cols.into_iter().unzip();
        match inserts.iter_mut().find(|(n, _)| *n == names) {
            Some((_, rows)) => rows.push(values),
            None => inserts.push((names, vec![values])),
        }
        outcomes.push(Ok(id));
    }
    let search = if ids_len(&outcomes) >= SEARCH_BATCH_FROM {
        crate::bulk_write_cache(tx.conn()).await?;
        Some(crate::search::SearchBatch::start(tx.conn()).await?)
    } else {
        None
    };
    for (names, rows) in inserts {
        for chunk in rows.chunks((MAX_BOUND_VALUES / names.len().max(1)).max(1)) {
            let mut insert = Query::insert();
            insert.into_table(R::Field::table()).columns(names.clone());
            for values in chunk {
                insert
                    .values(values.iter().cloned().map(Expr::val))
                    .map_err(|e| StoreError::Db(sea_orm::DbErr::Custom(e.to_string())))?;
            }
            exec(tx.conn(), &insert).await?;
        }
    }
    if let Some(search) = search {
        search.finish(tx.conn()).await?;
    }
    let ids: Vec<Id<R::Kind>> = outcomes
        .iter()
        .filter_map(|o| o.as_ref().ok())
        .copied()
        .collect();
    let mut written: std::collections::HashMap<Id<R::Kind>, R> = std::collections::HashMap::new();
    for chunk in ids.chunks(MAX_BOUND_VALUES / 10) {
        let mut q = select::<R>(actor.company_id);
        q.and_where(
            Expr::col((R::Field::table(), R::Field::id_column())).is_in(chunk.iter().copied()),
        );
        written.extend(
            rows::<R, _>(tx.conn(), actor, &q)
                .await?
                .into_iter()
                .map(|r| (r.id(), r)),
        );
    }
    let mut created = Vec::with_capacity(outcomes.len());
    for (outcome, data) in outcomes.into_iter().zip(data) {
        let record = match outcome {
            Ok(id) => {
                let mut record = written.remove(&id).ok_or(StoreError::NotFound)?;
                R::after_write(tx, actor, data, None, &mut record, at).await?;
                Ok(record)
            }
            Err(e) => Err(e),
        };
        created.push(record);
    }
    let mut new: Vec<&mut R> = created.iter_mut().filter_map(|r| r.as_mut().ok()).collect();
    R::after_create(tx, actor, &mut new).await?;
    let audited: Vec<(String, serde_json::Value)> = created
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|r| (r.id().to_string(), r.audit_json()))
        .collect();
    let changes: Vec<crate::audit::Audited<'_>> = audited
        .iter()
        .map(|(id, after)| crate::audit::Audited {
            resource_id: id,
            before: None,
            after: Some(after),
        })
        .collect();
    tx.audit_all_in(
        actor.company_id,
        R::RESOURCE.as_str(),
        Action::Create.as_str(),
        &changes,
    )
    .await?;
    Ok(created)
}

fn ids_len<T>(outcomes: &[Result<T>]) -> usize {
    outcomes.iter().filter(|o| o.is_ok()).count()
}

/// Create a record; without an owner the caller owns it.
pub async fn create<R: Write>(store: &Store, actor: &Actor, data: &R::Data) -> Result<R> {
    let tx = store.write(actor).await?;
    let record = create_in(&tx, actor, data).await?;
    tx.commit().await?;
    Ok(record)
}

/// Write `data` over `before` (already read under the caller's update scope), audited.
pub async fn update_in<R: Write>(tx: &Tx, actor: &Actor, before: &R, data: &R::Data) -> Result<R> {
    let after = update_one_in(tx, actor, before, data).await?;
    R::after_update(tx, actor, &[(before, &after)]).await?;
    Ok(after)
}

/// [`update_in`] but for [`Write::after_update`], which the caller runs (for a batch).
async fn update_one_in<R: Write>(tx: &Tx, actor: &Actor, before: &R, data: &R::Data) -> Result<R> {
    let Some(owner) = R::data_owner(data) else {
        return Err(StoreError::invalid(R::OWNER_FIELD, "must not be empty"));
    };
    if owner != before.owner() {
        check_owner_of::<R>(tx, actor, Action::Update, owner, R::OWNER_FIELD).await?;
    }
    let at = now();
    let id = before.id();
    let mut cols = R::write_columns(tx, actor, id, data, owner, Some(before), at).await?;
    cols.push((query::iden(Alias::new("updated_at")), at.into()));
    exec(
        tx.conn(),
        Query::update()
            .table(R::Field::table())
            .values(cols.into_iter().map(|(c, v)| (c, Expr::val(v))))
            .and_where(Expr::col(R::company_column()).eq(actor.company_id))
            .and_where(Expr::col(R::Field::id_column()).eq(id)),
    )
    .await?;
    let mut after: R = get_unscoped(tx.conn(), actor, id).await?;
    R::after_write(tx, actor, data, Some(before), &mut after, at).await?;
    tx.audit_in(
        actor.company_id,
        R::RESOURCE.as_str(),
        id,
        Action::Update.as_str(),
        Some(&before.audit_json()),
        Some(&after.audit_json()),
    )
    .await?;
    Ok(after)
}

/// Change a record: `apply` turns the current record into its new data (a patch merged and
/// validated), inside the transaction so concurrent patches do not lose each other's fields.
pub async fn update<R: Write>(
    store: &Store,
    actor: &Actor,
    id: Id<R::Kind>,
    apply: impl FnOnce(&R) -> std::result::Result<R::Data, FieldErrors>,
) -> Result<R> {
    let tx = store.write(actor).await?;
    let before: R = get_in(tx.conn(), actor, Action::Update, id).await?;
    let data = apply(&before).map_err(StoreError::Invalid)?;
    let after = update_in(&tx, actor, &before, &data).await?;
    tx.commit().await?;
    Ok(after)
}

/// Change every record of `ids` (all in the caller's update scope, or none is changed): `set`
/// turns each into its new data, written as one update would be, one audit row each. A new
/// owner the bulk body gives (`new_owner`) is checked once and named `set.<owner field>`.
pub async fn bulk_update<R: Write>(
    store: &Store,
    actor: &Actor,
    ids: &[Id<R::Kind>],
    new_owner: Option<UserId>,
    set: impl Fn(&R) -> Result<R::Data>,
) -> Result<Vec<R>> {
    let ids = unique_ids(ids);
    let tx = store.write(actor).await?;
    let before: Vec<R> = all_in_scope(tx.conn(), actor, Action::Update, &ids).await?;
    if let Some(owner) = new_owner
        && before.iter().any(|r| r.owner() != owner)
    {
        let field = format!("set.{}", R::OWNER_FIELD);
        check_owner_of::<R>(&tx, actor, Action::Update, owner, &field).await?;
    }
    let mut after_all = Vec::with_capacity(before.len());
    for record in &before {
        let data = set(record)?;
        after_all.push(update_one_in(&tx, actor, record, &data).await?);
    }
    let changed: Vec<(&R, &R)> = before.iter().zip(&after_all).collect();
    R::after_update(&tx, actor, &changed).await?;
    tx.commit().await?;
    Ok(after_all)
}

/// Delete records read in the transaction, one audit row each. What hangs off them goes with
/// them by the schema's `ON DELETE` rules.
pub async fn delete_in<R: Record>(tx: &Tx, actor: &Actor, records: &[R]) -> Result<u64> {
    if records.is_empty() {
        return Ok(0);
    }
    R::before_delete(tx, actor, records).await?;
    let deleted = exec(
        tx.conn(),
        Query::delete()
            .from_table(R::Field::table())
            .and_where(Expr::col(R::company_column()).eq(actor.company_id))
            .and_where(Expr::col(R::Field::id_column()).is_in(records.iter().map(R::id))),
    )
    .await?;
    for record in records {
        tx.audit_in(
            actor.company_id,
            R::RESOURCE.as_str(),
            record.id(),
            Action::Delete.as_str(),
            Some(&record.audit_json()),
            None,
        )
        .await?;
    }
    Ok(deleted)
}

/// Set `values` on records read in the transaction (a side effect of another change: a
/// contact losing its primary flag, a child account its parent), `apply` making the same
/// change to each record for its audit row.
pub async fn update_rows<R: Record>(
    tx: &Tx,
    actor: &Actor,
    records: &[R],
    values: Vec<(DynIden, Value)>,
    apply: impl Fn(&mut R, DateTime<Utc>),
) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let at = now();
    exec(
        tx.conn(),
        Query::update()
            .table(R::Field::table())
            .values(
                values
                    .into_iter()
                    .chain([(query::iden(Alias::new("updated_at")), at.into())])
                    .map(|(c, v)| (c, Expr::val(v))),
            )
            .and_where(Expr::col(R::company_column()).eq(actor.company_id))
            .and_where(Expr::col(R::Field::id_column()).is_in(records.iter().map(R::id))),
    )
    .await?;
    for before in records {
        let mut after = before.clone();
        apply(&mut after, at);
        tx.audit_in(
            actor.company_id,
            R::RESOURCE.as_str(),
            before.id(),
            Action::Update.as_str(),
            Some(&before.audit_json()),
            Some(&after.audit_json()),
        )
        .await?;
    }
    Ok(())
}

/// The records of the caller's company that `narrow` selects, regardless of scope.
pub async fn all_where<R: Record, C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    narrow: Cond,
) -> Result<Vec<R>> {
    let mut q = select::<R>(actor.company_id);
    q.cond_where(narrow);
    rows::<R, _>(conn, actor, &q).await
}

/// Delete one record the caller may delete.
pub async fn delete<R: Record>(store: &Store, actor: &Actor, id: Id<R::Kind>) -> Result<()> {
    let tx = store.write(actor).await?;
    let before: R = get_in(tx.conn(), actor, Action::Delete, id).await?;
    delete_in(&tx, actor, std::slice::from_ref(&before)).await?;
    tx.commit().await?;
    Ok(())
}

/// Delete every record of `ids`, all or nothing; one audit row each. Returns how many.
pub async fn bulk_delete<R: Record>(
    store: &Store,
    actor: &Actor,
    ids: &[Id<R::Kind>],
) -> Result<u64> {
    let ids = unique_ids(ids);
    let tx = store.write(actor).await?;
    let before: Vec<R> = all_in_scope(tx.conn(), actor, Action::Delete, &ids).await?;
    let deleted = delete_in(&tx, actor, &before).await?;
    tx.commit().await?;
    Ok(deleted)
}

/// A bulk update's merge: the record as a client would write it, changed by `edit`, parsed
/// and validated as a patch would be.
pub fn merged<I: serde::de::DeserializeOwned, D>(
    record: &impl Record,
    edit: impl FnOnce(&mut Map<String, serde_json::Value>),
    validate: impl FnOnce(I) -> std::result::Result<D, FieldErrors>,
) -> Result<D> {
    let mut map = record.as_input();
    edit(&mut map);
    let input: I = serde_json::from_value(serde_json::Value::Object(map))
        .map_err(|e| StoreError::invalid("body", e.to_string()))?;
    validate(input).map_err(StoreError::Invalid)
}

/// A JSON column's list of tags.
pub fn tags_of(value: serde_json::Value) -> Vec<String> {
    serde_json::from_value(query::json_column(value)).unwrap_or_default()
}

/// Money's micros as the API's decimal string (`"12500.10"`).
pub fn amount_text(micros: i64) -> String {
    rivet_domain::values::Money {
        micros,
        currency: String::new(),
    }
    .amount()
}

/// A money column's micros as the API's decimal string, if any.
pub fn amount_of(micros: Option<i64>) -> Option<String> {
    micros.map(amount_text)
}

/// A choice column's text as its enum: `default` for a text the enum does not know.
pub fn choice_or<T: std::str::FromStr>(default: T) -> impl FnOnce(String) -> T {
    move |text| text.parse().unwrap_or(default)
}

/// A JSON column's custom-field object (an empty object when it is anything else).
pub fn custom_fields_of(value: serde_json::Value) -> serde_json::Value {
    match query::json_column(value) {
        v @ serde_json::Value::Object(_) => v,
        _ => serde_json::Value::Object(Map::new()),
    }
}
