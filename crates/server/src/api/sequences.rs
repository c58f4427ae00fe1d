//! `/sequences`: a company's e-mail sequences (issue 15 §3). Listing, reading, creating,
//! replacing and deleting them are the definitions layer's routes (`super::definitions`,
//! declared by [`DefinitionApi`]); what is special here is enrollments: enrolling leads or
//! contacts (by id, or those a saved view or a list filter selects, read through the generic
//! record list as the caller), listing a sequence's enrollments, pausing, resuming or stopping
//! one, and the sequence's figures (`/stats`). Running the steps is `crate::sequences` (the
//! workers).
//!
//! Who may enroll: a member who may log activities (each e-mail a step sends is an activity on
//! the record's timeline; the routes declare it) and reads sequences (admins, managers and
//! sales reps of the built-in roles), for records they may read — a record outside their scope is skipped as not found, as another
//! company's is. Pausing, resuming and stopping need the same.

use super::definitions::{self, DefinitionApi, DefinitionDecl};
use crate::api::record::selected_ids;
use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, Query, page_request, parse_id};
use crate::http::router::{Access, ApiRouter, get, post};
use crate::state::AppState;
use axum::extract::{Path, State};
use rivet_domain::ids::{SequenceId, ViewId};
use rivet_domain::sequences::{EnrollmentStatus, Enrolls, MAX_ENROLL, Sequence};
use rivet_domain::{Action, Actor, FieldErrors, Resource};
use rivet_store::Page;
use rivet_store::contacts::Contact;
use rivet_store::definitions::{self as definitions_store, Stored};
use rivet_store::leads::Lead;
use rivet_store::sequences::{self as store, Change, EnrollResult, Enrollment, SequenceStats};
use rivet_store::views;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

const READ: Access = Access::Allow(Resource::Sequences, Action::Read);
/// Enrolling and changing an enrollment: logging activities, besides reading sequences.
const ENROLL: Access = Access::Allow(Resource::Activities, Action::Create);
/// At most this many records one enrollment by a view or a filter takes.
pub const MAX_SELECTED: usize = 10_000;

impl DefinitionApi for Sequence {
    const API: DefinitionDecl = DefinitionDecl {
        path: "/sequences",
        tag: "sequences",
        noun: "sequence",
        doc: "An e-mail sequence: name, description, active, enrolls (lead or contact), \
              steps (1 to 30, at least one e-mail or WhatsApp message) each {type: email, \
              template_id} (an active template of the company for the record type \
              enrolled), {type: wait, business_days: 1..365}, {type: task, subject, \
              due_in_business_days} (a task for the record's owner) or {type: whatsapp, \
              template, language, parameters} (an approved WhatsApp template), the send window (days mon..sun, start and end HH:MM in \
              the company's time zone; default Monday to Friday 09:00 to 17:00), daily_limit \
              (most e-mails it sends a day; the mailbox's own limit applies too) and the stop \
              rules (on_reply, on_bounce, on_meeting, on_status: the record statuses that end \
              an enrollment; an unsubscribe always does)",
    };
}

/// The records to enroll: exactly one of `record_ids`, `view_id` and `filter`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollInput {
    /// Ids of leads or contacts (the type the sequence enrolls), 1 to 1,000…
    #[schema(value_type = Option<Vec<uuid::Uuid>>, min_items = 1, max_items = 1000)]
    pub record_ids: Option<Vec<Uuid>>,
    /// …or one of the caller's saved views of leads or contacts: the records it lists…
    #[schema(value_type = Option<uuid::Uuid>)]
    pub view_id: Option<ViewId>,
    /// …or the records a `GET /leads` (or `/contacts`) query string lists, e.g.
    /// `status=new&country=DE` (no cursor nor limit).
    pub filter: Option<String>,
}

/// What enrolling each record came to.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnrollOutcome {
    /// How many were enrolled.
    pub enrolled: usize,
    /// How many were skipped.
    pub skipped: usize,
    /// Each record, in the order given (a repeated id once).
    pub results: Vec<EnrollResult>,
}

/// Which enrollments to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EnrollmentParams {
    /// active, paused, finished or stopped; left out: all.
    #[param(inline)]
    pub status: Option<EnrollmentStatus>,
    /// Documented with every list's paging (`limit`).
    #[param(ignore)]
    pub limit: Option<u64>,
    /// Opaque, copied from a page's `next_cursor`.
    #[param(ignore)]
    pub cursor: Option<String>,
}

pub fn routes() -> ApiRouter {
    let mut router = definitions::routes::<Sequence>()
        .add(
            post("/sequences/{id}/enrollments", ENROLL)
                .doc(
                    "sequences",
                    "Enroll leads or contacts of the type the sequence enrolls in an active \
                     sequence, named by exactly one of record_ids (1 to 1,000), view_id (one of \
                     the caller's saved views of that list) or filter (a query string of that \
                     list, e.g. status=new); a view or filter takes the records it lists for the \
                     caller (those they may read), at most 10,000 (422 naming the field beyond, \
                     nothing enrolled). Needs activities create and sequences read. Each is \
                     enrolled, its first step due at once (an e-mail at the send window's next \
                     opening), or skipped with its reason: not_found (not one the caller may \
                     read), no_email, no_phone (a sequence whose messages are all WhatsApp \
                     ones needs a phone number, not an address), consent_withdrawn (the \
                     person opted out of e-mail), \
                     already_enrolled (active or paused in it). 409 when the sequence is \
                     switched off",
                )
                .body::<EnrollInput>()
                .returns::<EnrollOutcome>(),
            enroll,
        )
        .add(
            get("/sequences/{id}/enrollments", READ)
                .doc(
                    "sequences",
                    "The sequence's enrollments, newest first (status: only those): each \
                     record's status, the step it runs next and when, the last failure and \
                     how many attempts it took, why it stopped",
                )
                .query::<EnrollmentParams>()
                .returns_page::<Enrollment>(),
            list,
        )
        .add(
            get("/sequences/{id}/stats", READ)
                .doc(
                    "sequences",
                    "The sequence's figures: for each of its steps (index and type) the \
                     e-mails it sent and how many of them were opened, clicked, replied to \
                     and bounced (each message once), and its enrollments by status",
                )
                .returns::<SequenceStats>(),
            stats,
        );
    for (verb, change, text) in [
        (
            "pause",
            Change::Pause,
            "Pause an active enrollment: its step does not run until resumed",
        ),
        (
            "resume",
            Change::Resume,
            "Resume a paused enrollment: its step runs when it was due, or now if that passed",
        ),
        (
            "stop",
            Change::Stop,
            "Stop an active or paused enrollment (stop_reason manual)",
        ),
    ] {
        router = router.add(
            post(
                &format!("/sequences/{{id}}/enrollments/{{eid}}/{verb}"),
                ENROLL,
            )
            .doc(
                "sequences",
                format!(
                    "{text}; needs activities create and sequences read. 409 when the enrollment is \
                         not in a state this applies to"
                ),
            )
            .returns::<Enrollment>(),
            move |state: State<AppState>, auth: Auth, ids: Path<(String, String)>| {
                change_handler(state, auth, ids, change)
            },
        );
    }
    router
}

/// Enrolling and changing enrollments needs sequences read besides activities create (see the
/// module's comment); the routes declare the one, this checks the other.
fn may_enroll(actor: &Actor) -> Result<(), AppError> {
    if actor.can(Resource::Sequences, Action::Read)
        && actor.can(Resource::Activities, Action::Create)
    {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

/// Check and enroll records by id (the page and the API alike).
pub async fn enroll_records(
    app: &AppState,
    actor: &Actor,
    id: SequenceId,
    record_ids: &[Uuid],
) -> Result<EnrollOutcome, AppError> {
    may_enroll(actor)?;
    let mut errors = FieldErrors::new();
    if record_ids.is_empty() || record_ids.len() > MAX_ENROLL {
        errors.add("record_ids", format!("must hold 1 to {MAX_ENROLL} ids"));
    }
    errors.into_result()?;
    enroll_checked(app, actor, id, record_ids).await
}

/// Enroll records already counted.
async fn enroll_checked(
    app: &AppState,
    actor: &Actor,
    id: SequenceId,
    record_ids: &[Uuid],
) -> Result<EnrollOutcome, AppError> {
    let tz = crate::sequences::company_tz(app, actor.company_id).await;
    let results = store::enroll(&app.store, actor, id, record_ids, tz).await?;
    let enrolled = results.iter().filter(|r| r.outcome == "enrolled").count();
    Ok(EnrollOutcome {
        enrolled,
        skipped: results.len() - enrolled,
        results,
    })
}

/// Enroll what `body` names (the API and the list pages): its ids, or the records of the
/// sequence's type its saved view or filter lists for the caller — those they may read, at
/// most [`MAX_SELECTED`] (a 422 naming the field beyond; nothing is enrolled then).
pub async fn enroll_selection(
    app: &AppState,
    actor: &Actor,
    id: SequenceId,
    body: EnrollInput,
) -> Result<EnrollOutcome, AppError> {
    let query = match (body.record_ids, body.view_id, body.filter) {
        (Some(ids), None, None) => return enroll_records(app, actor, id, &ids).await,
        (None, Some(view), None) => Selected::View(view),
        (None, None, Some(filter)) => Selected::Filter(filter),
        _ => {
            return Err(AppError::field(
                "record_ids",
                "give record_ids, view_id or filter, one of them",
            ));
        }
    };
    may_enroll(actor)?;
    let sequence: Stored<Sequence> = definitions_store::get(&app.store, actor, id).await?;
    let enrolls = sequence.definition.input.enrolls;
    let (field, query) = match query {
        Selected::Filter(filter) => ("filter", filter),
        Selected::View(view) => {
            let view = match views::get(&app.store, actor, view).await {
                Ok(view) => view,
                Err(rivet_store::StoreError::NotFound) => {
                    return Err(AppError::field("view_id", "names none of your saved views"));
                }
                Err(e) => return Err(e.into()),
            };
            if view.resource != resource_of(enrolls) {
                return Err(AppError::field(
                    "view_id",
                    format!(
                        "is a view of {}, but the sequence enrolls {}s",
                        view.resource.as_str(),
                        store::record_type_of(enrolls)
                    ),
                ));
            }
            ("view_id", view.query)
        }
    };
    let ids: Vec<Uuid> = match enrolls {
        Enrolls::Lead => selected_ids::<Lead>(app, actor, &query, field, MAX_SELECTED)
            .await?
            .into_iter()
            .map(|id| id.uuid())
            .collect(),
        Enrolls::Contact => selected_ids::<Contact>(app, actor, &query, field, MAX_SELECTED)
            .await?
            .into_iter()
            .map(|id| id.uuid())
            .collect(),
    };
    enroll_checked(app, actor, id, &ids).await
}

/// A view or a filter, before it is read.
enum Selected {
    View(ViewId),
    Filter(String),
}

/// The list a sequence's records are read from.
fn resource_of(enrolls: Enrolls) -> Resource {
    match enrolls {
        Enrolls::Lead => Resource::Leads,
        Enrolls::Contact => Resource::Contacts,
    }
}

async fn enroll(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Json(body): Json<EnrollInput>,
) -> Result<Json<EnrollOutcome>, AppError> {
    let id = parse_id(&id)?;
    Ok(Json(enroll_selection(&app, &actor, id, body).await?))
}

async fn stats(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<SequenceStats>, AppError> {
    let id = parse_id(&id)?;
    Ok(Json(store::stats(&app.store, &actor, id).await?))
}

async fn list(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Query(query): Query<EnrollmentParams>,
) -> Result<Json<Page<Enrollment>>, AppError> {
    let id = parse_id(&id)?;
    let page = page_request(query.limit, query.cursor.as_deref())?;
    Ok(Json(
        store::enrollments(&app.store, &actor, id, query.status, page).await?,
    ))
}

async fn change_handler(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path((id, eid)): Path<(String, String)>,
    change: Change,
) -> Result<Json<Enrollment>, AppError> {
    let (id, eid) = (parse_id(&id)?, parse_id(&eid)?);
    may_enroll(&actor)?;
    Ok(Json(
        store::change(&app.store, &actor, id, eid, change).await?,
    ))
}
