//! What every record type's bulk actions share: the id list and its limit, the update and
//! delete bodies, the answer, and the tags a bulk update sets.

use crate::http::error::AppError;
use rivet_domain::FieldErrors;
use rivet_domain::ids::Id;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{Ref, RefOr};
use utoipa::{PartialSchema, ToSchema};
use uuid::Uuid;

/// At most this many ids in one bulk request.
pub const MAX_BULK: usize = 500;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkDelete {
    /// 1 to 500 ids.
    #[schema(min_items = 1, max_items = 500)]
    pub ids: Vec<Uuid>,
}

impl BulkDelete {
    /// The ids to delete, typed by the record type they name: 1 to [`MAX_BULK`] of them, or
    /// the 422 naming `ids`.
    pub fn checked<K>(&self) -> Result<Vec<Id<K>>, AppError> {
        let mut errors = FieldErrors::new();
        check_ids(&self.ids, &mut errors);
        errors.into_result()?;
        Ok(typed(&self.ids))
    }
}

/// A bulk update's body: 1 to [`MAX_BULK`] ids and what to set on each of them, `S` being the
/// record type's bulk fields (`LeadBulkFields`). Documented as `LeadBulkUpdate`, and so on.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, bound = "S: DeserializeOwned")]
pub struct BulkUpdate<S> {
    pub ids: Vec<Uuid>,
    pub set: S,
}

impl<S: ToSchema> PartialSchema for BulkUpdate<S> {
    /// [`BulkDelete`]'s (the ids) with `set`.
    fn schema() -> RefOr<Schema> {
        let mut schema = BulkDelete::schema();
        if let RefOr::T(Schema::Object(object)) = &mut schema {
            object
                .properties
                .insert("set".into(), Ref::from_schema_name(S::name()).into());
            object.required.push("set".into());
        }
        schema
    }
}

impl<S: ToSchema> ToSchema for BulkUpdate<S> {
    /// `LeadBulkFields` → `LeadBulkUpdate`.
    fn name() -> Cow<'static, str> {
        let fields = S::name();
        let record = fields.strip_suffix("BulkFields").unwrap_or(&fields);
        Cow::Owned(format!("{record}BulkUpdate"))
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((S::name().into_owned(), S::schema()));
        S::schemas(schemas);
    }
}

/// The answer of a bulk update or delete of any kind of record.
#[derive(Debug, Serialize, ToSchema)]
pub struct BulkResult {
    /// How many records were changed or deleted.
    pub count: usize,
}

impl From<u64> for BulkResult {
    fn from(count: u64) -> Self {
        Self {
            count: usize::try_from(count).unwrap_or(usize::MAX),
        }
    }
}

/// A bulk body's ids as the ids of the record type the route serves (the body is shared by
/// every type, so it reads plain UUIDs).
pub fn typed<K>(ids: &[Uuid]) -> Vec<Id<K>> {
    ids.iter().copied().map(Id::from_uuid).collect()
}

/// A bulk request names 1 to [`MAX_BULK`] ids.
pub fn check_ids<T>(ids: &[T], errors: &mut FieldErrors) {
    if ids.is_empty() || ids.len() > MAX_BULK {
        errors.add("ids", format!("must list 1 to {MAX_BULK} ids"));
    }
}

/// Trimmed, de-duplicated tags for a bulk update, or an error under `set.tags`.
pub fn bulk_tags(tags: Option<Vec<String>>, errors: &mut FieldErrors) -> Option<Vec<String>> {
    let tags: Vec<String> = tags?.into_iter().map(|t| t.trim().to_owned()).collect();
    if tags.iter().any(|t| t.is_empty() || t.chars().count() > 100) || tags.len() > 50 {
        errors.add("set.tags", "at most 50 tags of 1 to 100 characters");
    }
    let mut unique: Vec<String> = Vec::new();
    for tag in tags {
        if !unique.contains(&tag) {
            unique.push(tag);
        }
    }
    Some(unique)
}
