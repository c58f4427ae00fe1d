//! Typed ids: one generic newtype over a UUID, [`Id<K>`], whose kind `K` is an uninhabited
//! marker from [`kind`], so a lead's id and an account's are different types and a swapped
//! argument does not compile:
//!
//! ```compile_fail
//! use rivet_domain::ids::{AccountId, LeadId};
//!
//! fn lead(id: LeadId) -> LeadId {
//!     id
//! }
//! let account = AccountId::new();
//! lead(account); // expected `Id<Lead>`, found `Id<Account>`
//! ```
//!
//! while the same call with a lead's id does:
//!
//! ```
//! use rivet_domain::ids::LeadId;
//!
//! fn lead(id: LeadId) -> LeadId {
//!     id
//! }
//! let id = LeadId::new();
//! assert_eq!(lead(id), id);
//! ```
//!
//! An id is the UUID everywhere outside Rust: JSON and text (`Display`, `FromStr`, serde) are
//! the UUID's, the OpenAPI schema is `string` with format `uuid`, and both databases store and
//! read it exactly as they store a `Uuid` (sqlx, sea-query and sea-orm delegate to the UUID's
//! own implementations; they live here because the orphan rule puts them next to the type).
//!
//! Ids that may name records of several kinds (an activity's linked record, an audit row's
//! resource id, an event's record id) stay plain `Uuid`s: their kind is a value, not a type.

use sea_orm::sea_query::{self, ArrayType, ColumnType, Nullable, ValueType, ValueTypeErr};
use sea_orm::{ColIdx, QueryResult, TryGetError, TryGetable};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sqlx_core::database::Database;
use sqlx_core::decode::Decode;
use sqlx_core::encode::{Encode, IsNull};
use sqlx_core::error::BoxDynError;
use sqlx_core::types::Type;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;
use std::str::FromStr;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type as OaType};
use uuid::Uuid;

/// The id of a `K` (a marker of [`kind`]): a UUID that knows what it names.
///
/// `PhantomData<fn() -> K>` keeps the id `Send`, `Sync` and covariant whatever `K` is, and the
/// traits are written by hand so that none of them asks anything of `K`.
pub struct Id<K>(Uuid, PhantomData<fn() -> K>);

/// The kinds of things an id can name: types with no value, used only as `Id`'s parameter.
pub mod kind {
    macro_rules! kinds {
        ($($(#[$meta:meta])* $name:ident),+ $(,)?) => {
            $($(#[$meta])* #[derive(Debug)] pub enum $name {})+
        };
    }

    kinds! {
        Lead,
        Account,
        Contact,
        Deal,
        Task,
        Activity,
        Company,
        User,
        Team,
        Role,
        Pipeline,
        Stage,
        Webhook,
        /// A saved list view.
        View,
        CustomField,
        ApiKey,
        /// A refresh-token family or a web session.
        Session,
        Job,
        /// A domain event of the outbox.
        Event,
        /// One delivery of an event to a webhook.
        Delivery,
        /// A web-to-lead form.
        LeadForm,
        /// An assignment rule (issue 13 §3).
        AssignmentRule,
        /// A member's in-app notification.
        Notification,
        /// An e-mail template (issue 15 §2).
        EmailTemplate,
        /// A workflow rule (issue 15 §5).
        WorkflowRule,
        /// An e-mail sequence (issue 15 §3).
        Sequence,
        /// A record's enrollment in a sequence.
        SequenceEnrollment,
        /// An e-mail sent (or being sent) to a person.
        EmailMessage,
    }
}

pub type LeadId = Id<kind::Lead>;
pub type AccountId = Id<kind::Account>;
pub type ContactId = Id<kind::Contact>;
pub type DealId = Id<kind::Deal>;
pub type TaskId = Id<kind::Task>;
pub type ActivityId = Id<kind::Activity>;
pub type CompanyId = Id<kind::Company>;
pub type UserId = Id<kind::User>;
pub type TeamId = Id<kind::Team>;
pub type RoleId = Id<kind::Role>;
pub type PipelineId = Id<kind::Pipeline>;
pub type StageId = Id<kind::Stage>;
pub type WebhookId = Id<kind::Webhook>;
pub type ViewId = Id<kind::View>;
pub type CustomFieldId = Id<kind::CustomField>;
pub type ApiKeyId = Id<kind::ApiKey>;
pub type SessionId = Id<kind::Session>;
pub type JobId = Id<kind::Job>;
pub type EventId = Id<kind::Event>;
pub type DeliveryId = Id<kind::Delivery>;
pub type LeadFormId = Id<kind::LeadForm>;
pub type AssignmentRuleId = Id<kind::AssignmentRule>;
pub type NotificationId = Id<kind::Notification>;
pub type EmailTemplateId = Id<kind::EmailTemplate>;
pub type WorkflowRuleId = Id<kind::WorkflowRule>;
pub type SequenceId = Id<kind::Sequence>;
pub type SequenceEnrollmentId = Id<kind::SequenceEnrollment>;
pub type EmailMessageId = Id<kind::EmailMessage>;

impl<K> Id<K> {
    /// A new id, time-ordered (UUIDv7) as every id Rivet makes.
    #[allow(clippy::new_without_default)] // an id made up by `default()` would hide a bug
    pub fn new() -> Self {
        Self::from_uuid(Uuid::now_v7())
    }

    /// The id a UUID read from outside names (a path, a form, a row of a table of several kinds).
    pub const fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid, PhantomData)
    }

    /// The all-zero id (tests and placeholders).
    pub const fn nil() -> Self {
        Self::from_uuid(Uuid::nil())
    }

    pub const fn uuid(self) -> Uuid {
        self.0
    }
}

impl<K> From<Id<K>> for Uuid {
    fn from(id: Id<K>) -> Self {
        id.0
    }
}

impl<K> Clone for Id<K> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K> Copy for Id<K> {}

impl<K> PartialEq for Id<K> {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl<K> Eq for Id<K> {}

impl<K> PartialOrd for Id<K> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<K> Ord for Id<K> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.cmp(&other.0)
    }
}

impl<K> Hash for Id<K> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl<K> PartialEq<Uuid> for Id<K> {
    fn eq(&self, other: &Uuid) -> bool {
        self.0 == *other
    }
}

/// As the UUID, so logs and test failures read as before.
impl<K> fmt::Debug for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl<K> fmt::Display for Id<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl<K> FromStr for Id<K> {
    type Err = uuid::Error;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Uuid::from_str(text).map(Self::from_uuid)
    }
}

impl<K> Serialize for Id<K> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// The UUID's own parsing, so a bad id in a body is refused with the same message as before.
impl<'de, K> Deserialize<'de> for Id<K> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Uuid::deserialize(deserializer).map(Self::from_uuid)
    }
}

/// `string` with format `uuid`, as utoipa documents a `Uuid`. A field of a derived schema still
/// says `#[schema(value_type = Uuid)]`: the derive inlines only the types it knows by name and
/// would make any other a `$ref`.
impl<K> utoipa::PartialSchema for Id<K> {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(OaType::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
            .into()
    }
}

impl<K> utoipa::ToSchema for Id<K> {}

impl<K> From<Id<K>> for sea_query::Value {
    fn from(id: Id<K>) -> Self {
        id.0.into()
    }
}

impl<K> Nullable for Id<K> {
    fn null() -> sea_query::Value {
        Uuid::null()
    }
}

impl<K> ValueType for Id<K> {
    fn try_from(v: sea_query::Value) -> Result<Self, ValueTypeErr> {
        <Uuid as ValueType>::try_from(v).map(Self::from_uuid)
    }

    fn type_name() -> String {
        "Id".to_owned()
    }

    fn array_type() -> ArrayType {
        Uuid::array_type()
    }

    fn column_type() -> ColumnType {
        Uuid::column_type()
    }
}

impl<K> TryGetable for Id<K> {
    fn try_get_by<I: ColIdx>(res: &QueryResult, index: I) -> Result<Self, TryGetError> {
        Uuid::try_get_by(res, index).map(Self::from_uuid)
    }
}

impl<DB: Database, K> Type<DB> for Id<K>
where
    Uuid: Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <Uuid as Type<DB>>::type_info()
    }

    fn compatible(ty: &DB::TypeInfo) -> bool {
        <Uuid as Type<DB>>::compatible(ty)
    }
}

impl<'r, DB: Database, K> Decode<'r, DB> for Id<K>
where
    Uuid: Decode<'r, DB>,
{
    fn decode(value: <DB as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        <Uuid as Decode<'r, DB>>::decode(value).map(Self::from_uuid)
    }
}

impl<'q, DB: Database, K> Encode<'q, DB> for Id<K>
where
    Uuid: Encode<'q, DB>,
{
    fn encode_by_ref(
        &self,
        buf: &mut <DB as Database>::ArgumentBuffer,
    ) -> Result<IsNull, BoxDynError> {
        self.0.encode_by_ref(buf)
    }

    fn produces(&self) -> Option<DB::TypeInfo> {
        self.0.produces()
    }

    fn size_hint(&self) -> usize {
        self.0.size_hint()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn an_id_is_its_uuid_in_json() {
        let id = LeadId::new();
        let json = serde_json::to_value(id).unwrap();
        assert_eq!(json, serde_json::json!(id.uuid().to_string()));
        assert_eq!(serde_json::from_value::<LeadId>(json).unwrap(), id);
    }

    #[test]
    fn a_bad_id_in_json_is_refused_as_a_bad_uuid_is() {
        for text in [r#""nope""#, "12", r#""""#, "null"] {
            let as_id = serde_json::from_str::<LeadId>(text).unwrap_err();
            let as_uuid = serde_json::from_str::<Uuid>(text).unwrap_err();
            assert_eq!(as_id.to_string(), as_uuid.to_string(), "{text}");
        }
    }

    #[test]
    fn an_id_reads_and_writes_as_its_uuid_in_text() {
        let uuid = Uuid::now_v7();
        let id: AccountId = uuid.to_string().parse().unwrap();
        assert_eq!(id.uuid(), uuid);
        assert_eq!(id.to_string(), uuid.to_string());
        assert_eq!(format!("{id:?}"), format!("{uuid:?}"));
        assert_eq!(
            "not-a-uuid".parse::<AccountId>().unwrap_err(),
            "not-a-uuid".parse::<Uuid>().unwrap_err()
        );
    }

    #[test]
    fn ids_compare_order_and_hash_as_their_uuids() {
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        assert!(a < b);
        assert!(UserId::from_uuid(a) < UserId::from_uuid(b));
        assert_eq!(UserId::from_uuid(a), a);
        let set: std::collections::HashSet<UserId> =
            [UserId::from_uuid(a), UserId::from_uuid(a)].into();
        assert_eq!(set.len(), 1);
    }

    #[test]
    fn new_ids_are_time_ordered() {
        assert_eq!(DealId::new().uuid().get_version_num(), 7);
    }

    #[test]
    fn an_id_is_documented_as_a_uuid() {
        let schema = serde_json::to_value(<LeadId as utoipa::PartialSchema>::schema()).unwrap();
        assert_eq!(
            schema,
            serde_json::json!({"type": "string", "format": "uuid"})
        );
    }

    #[test]
    fn an_id_binds_as_its_uuid() {
        let uuid = Uuid::now_v7();
        let value: sea_query::Value = ContactId::from_uuid(uuid).into();
        assert_eq!(value, sea_query::Value::from(uuid));
        let none: sea_query::Value = Option::<ContactId>::None.into();
        assert_eq!(none, sea_query::Value::from(Option::<Uuid>::None));
        assert_eq!(
            <ContactId as ValueType>::try_from(value).unwrap(),
            ContactId::from_uuid(uuid)
        );
    }
}
