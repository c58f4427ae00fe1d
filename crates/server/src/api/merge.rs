//! Merging duplicates (issue 13 §2): `POST /api/v1/{leads|contacts|accounts}/merge` names a
//! survivor, the records merged into it and, per field, the record whose value wins. The body
//! is checked here and the survivor's new values validated as a patch of it would be; the
//! change itself, in one transaction, is `rivet_store::merge`. The web's duplicate review page
//! calls [`merge_records`] too.

use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, read_merged};
use crate::http::router::{Access, ApiRouter, post};
use crate::state::AppState;
use axum::extract::State;
use rivet_domain::ids::Id;
use rivet_domain::{Action, Actor, FieldErrors};
use rivet_store::merge::{self, MAX_LOSERS, Merge};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use utoipa::ToSchema;
use uuid::Uuid;

use super::record::{ApiRecord, Input};

/// The prefix naming one custom field in `fields` (`custom_fields.region`).
pub const CUSTOM_PREFIX: &str = "custom_fields.";

/// A merge: who survives, who is merged into it, and whose value each field keeps.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The record that stays (the caller must be allowed to update it).
    pub survivor_id: Uuid,
    /// 1 to 20 records merged into the survivor and removed (the caller must be allowed to
    /// delete them); not the survivor.
    #[schema(min_items = 1, max_items = 20)]
    pub loser_ids: Vec<Uuid>,
    /// `{field: id}`: for each field named, the survivor takes the value of the record `id`
    /// (the survivor or one of the losers); a custom field is named `custom_fields.<key>`.
    /// Fields not named keep the survivor's value.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub fields: BTreeMap<String, Uuid>,
}

/// A record type that can be merged through the API.
pub trait ApiMerge: ApiRecord + Merge {
    /// What the survivor's merged fields must not keep once the losers are gone (an account's
    /// parent that was merged into it).
    fn settle(_merged: &mut Map<String, Value>, _ids: &[Uuid]) {}
}

impl ApiMerge for rivet_store::leads::Lead {}
impl ApiMerge for rivet_store::contacts::Contact {}
impl ApiMerge for rivet_store::accounts::Account {
    fn settle(merged: &mut Map<String, Value>, ids: &[Uuid]) {
        let parent = merged
            .get("parent_id")
            .and_then(Value::as_str)
            .and_then(|p| p.parse::<Uuid>().ok());
        if parent.is_some_and(|p| ids.contains(&p)) {
            merged.insert("parent_id".into(), Value::Null);
        }
    }
}

pub fn routes() -> ApiRouter {
    use rivet_store::{accounts::Account, contacts::Contact, leads::Lead};
    ApiRouter::new()
        .merge(route::<Lead>())
        .merge(route::<Contact>())
        .merge(route::<Account>())
}

fn route<R: ApiMerge>() -> ApiRouter {
    let noun = R::NOUN;
    ApiRouter::new().add(
        post(
            &format!("{}/merge", R::PATH),
            Access::Allow(R::RESOURCE, Action::Update),
        )
        .doc(
            R::TAG,
            format!(
                "Merge up to {MAX_LOSERS} {tag} into one, in one transaction: the survivor \
                 takes the value each field of `fields` names (custom fields as \
                 `custom_fields.<key>`); activities, tasks{own} move to it; the others are \
                 deleted. Needs update on the survivor and delete on the others (one out of \
                 scope or of another company: 404, nothing changed). Audited (the survivor's \
                 update and a `merge` row listing what moved; each deleted {noun}'s audit row \
                 names it as `merged_into`); events {noun}.updated, {noun}.deleted and \
                 {noun}.merged. Answers the survivor as written",
                tag = R::TAG,
                own = match R::RECORD_TYPE {
                    rivet_domain::activities::RecordType::Contact =>
                        ", deals (as primary contact), deal roles and the economic buyer \
                         or champion of leads' and deals' checklists",
                    rivet_domain::activities::RecordType::Account =>
                        ", deals, contacts and child accounts",
                    _ => "",
                },
            ),
        )
        .body::<MergeBody>()
        .returns::<R>(),
        merge_handler::<R>,
    )
}

async fn merge_handler<R: ApiMerge>(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<MergeBody>,
) -> Result<Json<R>, AppError> {
    Ok(Json(merge_records::<R>(&app, &actor, &body).await?))
}

/// Check a merge's body, then merge (API and web page alike).
pub async fn merge_records<R: ApiMerge>(
    app: &AppState,
    actor: &Actor,
    body: &MergeBody,
) -> Result<R, AppError> {
    let mut errors = match merge::check_ids(body.survivor_id, &body.loser_ids) {
        Ok(()) => FieldErrors::new(),
        Err(errors) => errors,
    };
    let ids: Vec<Uuid> = std::iter::once(body.survivor_id)
        .chain(body.loser_ids.iter().copied())
        .collect();
    let writable: Vec<&str> = R::field_names()
        .iter()
        .copied()
        .filter(|f| !R::READ_ONLY.contains(f) && *f != "custom_fields")
        .collect();
    let custom_keys: Vec<String> = match R::CUSTOM {
        Some(kind) if body.fields.keys().any(|f| f.starts_with(CUSTOM_PREFIX)) => {
            super::custom_fields::definitions(app, actor, kind)
                .await?
                .into_iter()
                .map(|def| def.key)
                .collect()
        }
        _ => Vec::new(),
    };
    for (field, from) in &body.fields {
        let known = writable.contains(&field.as_str())
            || field
                .strip_prefix(CUSTOM_PREFIX)
                .is_some_and(|key| custom_keys.iter().any(|k| k == key));
        if !known {
            errors.add(&format!("fields.{field}"), "is not a field of the record");
        } else if !ids.contains(from) {
            errors.add(
                &format!("fields.{field}"),
                "must name survivor_id or one of loser_ids",
            );
        }
    }
    errors.into_result()?;
    let losers: Vec<Id<R::Kind>> = body.loser_ids.iter().copied().map(Id::from_uuid).collect();
    let merged = merge::merge::<R>(
        &app.store,
        actor,
        Id::from_uuid(body.survivor_id),
        &losers,
        |survivor, gone| {
            let mut merged = survivor.as_input();
            for (field, from) in &body.fields {
                let Some(source) = std::iter::once(survivor)
                    .chain(gone)
                    .find(|r| r.id().uuid() == *from)
                else {
                    continue;
                };
                let values = source.as_input();
                match field.strip_prefix(CUSTOM_PREFIX) {
                    Some(key) => {
                        let value = source.custom_fields().get(key).cloned();
                        if let Some(Value::Object(custom)) = merged.get_mut("custom_fields") {
                            match value {
                                Some(value) => drop(custom.insert(key.to_owned(), value)),
                                None => drop(custom.remove(key)),
                            }
                        }
                    }
                    None => {
                        let value = values.get(field).cloned().unwrap_or(Value::Null);
                        merged.insert(field.clone(), value);
                    }
                }
            }
            R::settle(&mut merged, &ids);
            let input: R::Input = read_merged(merged)?;
            input.validate()
        },
    )
    .await?;
    Ok(merged.record)
}
