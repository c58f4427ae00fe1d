//! What a company's admins define — e-mail templates, workflow rules, sequences — declared once
//! (`impl Definition`) and stored, listed, read, replaced and deleted here for every kind: one
//! table (`definitions`) of the company, the kind, a name unique per company and kind, whether
//! it is active, and the checked definition as the JSON the API takes. Writes are audited
//! under the kind's own permission resource, in the write's transaction. What runs from a
//! definition (a rule's execution log, a sequence's enrollments) keeps tables of its own that
//! refer to the definition's id.
//!
//! A kind adds what needs the database to check (`Definition::check`: custom field keys, users
//! of the company) and what refuses a delete (`Definition::before_delete`: a template still used
//! by a sequence); `crate::api::definitions` (server) serves every kind's routes from the same
//! declaration.

use crate::tables::Definitions as T;
use crate::{Result, Store, StoreError, Tx, exec, fetch_all, fetch_optional, now};
use chrono::{DateTime, Utc};
use rivet_domain::ids::{CompanyId, Id, UserId};
use rivet_domain::{Action, Actor, FieldErrors, Resource};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query, SelectStatement};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::de::DeserializeOwned;
use serde::{Serialize, Serializer};
use serde_json::Value;
use std::borrow::Cow;
use std::future::Future;
use utoipa::openapi::schema::{AllOfBuilder, KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{Ref, RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

/// A kind of definition: its checked value, the input it is stored and shown as, and where it
/// lives.
pub trait Definition: Sized + Clone + Send + Sync + 'static {
    /// What the API takes and shows (the name and the active switch inside), checked by
    /// [`Definition::validate`].
    type Input: Serialize + DeserializeOwned + Clone + Send + Sync + ToSchema + 'static;
    /// The kind of its ids (`kind::EmailTemplate`).
    type Kind: Send + Sync + 'static;
    /// Its value of the `kind` column (`email_template`).
    const KIND: &'static str;
    /// The permission resource its routes need (read, create, update, delete), and the
    /// resource its audit rows name.
    const RESOURCE: Resource;
    /// Its OpenAPI schema name as stored (`EmailTemplate`).
    const SCHEMA: &'static str;

    fn validate(input: Self::Input) -> std::result::Result<Self, FieldErrors>;
    fn to_input(&self) -> Self::Input;
    fn name(&self) -> &str;
    fn active(&self) -> bool {
        true
    }

    /// What needs the database to check (a custom field's key, a user of the company), in the
    /// write's transaction; `StoreError::Invalid` is a 422 naming the field.
    fn check(&self, _tx: &Tx, _company: CompanyId) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }

    /// Refuse a delete (still in use), or clean up what refers to it, in the delete's
    /// transaction.
    fn before_delete(
        _tx: &Tx,
        _company: CompanyId,
        _id: Id<Self::Kind>,
    ) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }
}

/// A stored definition: its id and times beside the definition. Its JSON is the input's
/// fields with `id`, `created_at` and `updated_at`.
#[derive(Debug, Clone)]
pub struct Stored<D: Definition> {
    pub id: Id<D::Kind>,
    pub definition: D,
    pub created_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(FromQueryResult)]
struct Row {
    id: uuid::Uuid,
    body: Value,
    created_by: Option<UserId>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl Row {
    /// The stored definition; one that no longer validates (a later version checks more)
    /// is an error naming it rather than a value that breaks what runs from it.
    fn stored<D: Definition>(self) -> Result<Stored<D>> {
        let input: D::Input = serde_json::from_value(crate::query::json_column(self.body))
            .map_err(|e| StoreError::invalid(D::KIND, format!("stored definition: {e}")))?;
        let definition = D::validate(input).map_err(StoreError::Invalid)?;
        Ok(Stored {
            id: Id::from_uuid(self.id),
            definition,
            created_by: self.created_by,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

fn select<D: Definition>(company: CompanyId) -> SelectStatement {
    Query::select()
        .columns([T::Id, T::Body, T::CreatedBy, T::CreatedAt, T::UpdatedAt])
        .from(T::Table)
        .and_where(Expr::col(T::CompanyId).eq(company))
        .and_where(Expr::col(T::Kind).eq(D::KIND))
        .to_owned()
}

/// `company`'s definitions of kind `D`, by name; `active_only` leaves out the switched off.
pub async fn list_in<D: Definition, C: ConnectionTrait>(
    conn: &C,
    company: CompanyId,
    active_only: bool,
) -> Result<Vec<Stored<D>>> {
    let mut query = select::<D>(company);
    if active_only {
        query.and_where(Expr::col(T::Active).eq(true));
    }
    let rows: Vec<Row> = fetch_all(conn, query.order_by(T::Name, Order::Asc)).await?;
    rows.into_iter().map(Row::stored).collect()
}

/// The company's active definitions of kind `D` (for consumers and jobs).
pub async fn active_in<D: Definition, C: ConnectionTrait>(
    conn: &C,
    company: CompanyId,
) -> Result<Vec<Stored<D>>> {
    list_in(conn, company, true).await
}

/// One of `company`'s definitions; another company's is not found.
pub async fn get_in<D: Definition, C: ConnectionTrait>(
    conn: &C,
    company: CompanyId,
    id: Id<D::Kind>,
) -> Result<Stored<D>> {
    let row: Option<Row> = fetch_optional(
        conn,
        select::<D>(company).and_where(Expr::col(T::Id).eq(id.uuid())),
    )
    .await?;
    row.ok_or(StoreError::NotFound)?.stored()
}

/// The caller's company's definitions of kind `D`, by name.
pub async fn list<D: Definition>(store: &Store, actor: &Actor) -> Result<Vec<Stored<D>>> {
    list_in(store.read(actor).await?.conn(), actor.company_id, false).await
}

pub async fn get<D: Definition>(
    store: &Store,
    actor: &Actor,
    id: Id<D::Kind>,
) -> Result<Stored<D>> {
    get_in(store.read(actor).await?.conn(), actor.company_id, id).await
}

fn body<D: Definition>(definition: &D) -> Result<Value> {
    serde_json::to_value(definition.to_input())
        .map_err(|e| StoreError::invalid(D::KIND, e.to_string()))
}

/// Store a new definition (validated by the caller), audited; its name must be new for the
/// kind (409 naming `name`).
pub async fn create<D: Definition>(
    store: &Store,
    actor: &Actor,
    definition: &D,
) -> Result<Stored<D>> {
    let tx = store.write(actor).await?;
    let stored = create_in(&tx, actor, definition).await?;
    tx.commit().await?;
    Ok(stored)
}

/// [`create`] in `tx`.
pub async fn create_in<D: Definition>(tx: &Tx, actor: &Actor, definition: &D) -> Result<Stored<D>> {
    definition.check(tx, actor.company_id).await?;
    let id: Id<D::Kind> = Id::new();
    let at = now();
    let body = body(definition)?;
    exec(
        tx.conn(),
        Query::insert()
            .into_table(T::Table)
            .columns([
                T::CompanyId,
                T::Id,
                T::Kind,
                T::Name,
                T::Active,
                T::Body,
                T::CreatedBy,
                T::CreatedAt,
                T::UpdatedAt,
            ])
            .values_panic([
                actor.company_id.into(),
                id.uuid().into(),
                D::KIND.into(),
                definition.name().into(),
                definition.active().into(),
                body.clone().into(),
                actor.user_id.into(),
                at.into(),
                at.into(),
            ]),
    )
    .await?;
    tx.audit(D::RESOURCE, id.uuid(), Action::Create, None, Some(&body))
        .await?;
    get_in(tx.conn(), actor.company_id, id).await
}

/// Replace a definition (validated by the caller), audited with before and after.
pub async fn update<D: Definition>(
    store: &Store,
    actor: &Actor,
    id: Id<D::Kind>,
    definition: &D,
) -> Result<Stored<D>> {
    let tx = store.write(actor).await?;
    let before = get_in::<D, _>(tx.conn(), actor.company_id, id).await?;
    definition.check(&tx, actor.company_id).await?;
    let body = body(definition)?;
    exec(
        tx.conn(),
        Query::update()
            .table(T::Table)
            .value(T::Name, definition.name())
            .value(T::Active, definition.active())
            .value(T::Body, body.clone())
            .value(T::UpdatedAt, now())
            .and_where(Expr::col(T::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(T::Kind).eq(D::KIND))
            .and_where(Expr::col(T::Id).eq(id.uuid())),
    )
    .await?;
    let before = crate::definitions::body(&before.definition)?;
    tx.audit(
        D::RESOURCE,
        id.uuid(),
        Action::Update,
        Some(&before),
        Some(&body),
    )
    .await?;
    let after = get_in(tx.conn(), actor.company_id, id).await?;
    tx.commit().await?;
    Ok(after)
}

/// Delete a definition, after its kind's [`Definition::before_delete`], audited.
pub async fn delete<D: Definition>(store: &Store, actor: &Actor, id: Id<D::Kind>) -> Result<()> {
    let tx = store.write(actor).await?;
    let before = get_in::<D, _>(tx.conn(), actor.company_id, id).await?;
    D::before_delete(&tx, actor.company_id, id).await?;
    exec(
        tx.conn(),
        Query::delete()
            .from_table(T::Table)
            .and_where(Expr::col(T::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(T::Kind).eq(D::KIND))
            .and_where(Expr::col(T::Id).eq(id.uuid())),
    )
    .await?;
    let before = body(&before.definition)?;
    tx.audit(D::RESOURCE, id.uuid(), Action::Delete, Some(&before), None)
        .await?;
    tx.commit().await?;
    Ok(())
}

impl<D: Definition> Serialize for Stored<D> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut object = match serde_json::to_value(self.definition.to_input()) {
            Ok(Value::Object(map)) => map,
            Ok(_) => serde_json::Map::new(),
            Err(e) => return Err(serde::ser::Error::custom(e)),
        };
        let mut out = serde_json::Map::with_capacity(object.len() + 3);
        out.insert("id".to_owned(), Value::String(self.id.to_string()));
        out.append(&mut object);
        out.insert("created_at".to_owned(), serde_json::json!(self.created_at));
        out.insert("updated_at".to_owned(), serde_json::json!(self.updated_at));
        out.serialize(serializer)
    }
}

impl<D: Definition> PartialSchema for Stored<D> {
    /// The input's object with `id`, `created_at` and `updated_at` added: one object, not an
    /// `allOf` with the input, whose `additionalProperties: false` would refuse the three.
    fn schema() -> RefOr<Schema> {
        let time = || {
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
                .build()
        };
        let id = ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
            .build();
        let RefOr::T(Schema::Object(mut object)) = D::Input::schema() else {
            return AllOfBuilder::new()
                .item(RefOr::Ref(Ref::from_schema_name(D::Input::name())))
                .item(
                    ObjectBuilder::new()
                        .property("id", id)
                        .property("created_at", time())
                        .property("updated_at", time())
                        .required("id")
                        .required("created_at")
                        .required("updated_at"),
                )
                .into();
        };
        for (name, schema) in [("id", id), ("created_at", time()), ("updated_at", time())] {
            object.properties.insert(name.to_owned(), schema.into());
            object.required.push(name.to_owned());
        }
        RefOr::T(Schema::Object(object))
    }
}

impl<D: Definition> ToSchema for Stored<D> {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed(D::SCHEMA)
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((D::Input::name().into_owned(), D::Input::schema()));
        D::Input::schemas(schemas);
    }
}
