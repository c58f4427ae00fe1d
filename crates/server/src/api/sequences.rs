//! `/sequences`: a company's e-mail sequences (issue 15 §3). Listing, reading, creating,
//! replacing and deleting them are the definitions layer's routes (`super::definitions`,
//! declared by [`DefinitionApi`]); what is special here is enrollments: enrolling leads or
//! contacts, listing a sequence's enrollments, and pausing, resuming or stopping one. Running
//! the steps is `crate::sequences` (the workers).
//!
//! Who may enroll: a member who reads sequences (every built-in role but read-only) and may
//! log activities (each e-mail a step sends is an activity on the record's timeline), for
//! records they may read — a record outside their scope is skipped as not found, as another
//! company's is. Pausing, resuming and stopping need the same.

use super::definitions::{self, DefinitionApi, DefinitionDecl};
use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, Query, page_request, parse_id};
use crate::http::router::{Access, ApiRouter, get, post};
use crate::state::AppState;
use axum::extract::{Path, State};
use rivet_domain::sequences::{EnrollmentStatus, MAX_ENROLL, Sequence};
use rivet_domain::{Action, Actor, FieldErrors, Resource};
use rivet_store::Page;
use rivet_store::sequences::{self as store, Change, EnrollResult, Enrollment};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

const READ: Access = Access::Allow(Resource::Sequences, Action::Read);

impl DefinitionApi for Sequence {
    const API: DefinitionDecl = DefinitionDecl {
        path: "/sequences",
        tag: "sequences",
        noun: "sequence",
        doc: "An e-mail sequence: name, description, active, enrolls (lead or contact), \
              steps (1 to 30, at least one e-mail) each {type: email, template_id} (an \
              active template of the company for the record type enrolled), {type: wait, \
              business_days: 1..365} or {type: task, subject, due_in_business_days} (a task \
              for the record's owner), the send window (days mon..sun, start and end HH:MM in \
              the company's time zone; default Monday to Friday 09:00 to 17:00), daily_limit \
              (most e-mails it sends a day; the mailbox's own limit applies too) and the stop \
              rules (on_reply, on_bounce, on_meeting, on_status: the record statuses that end \
              an enrollment; an unsubscribe always does)",
    };
}

/// The records to enroll.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrollInput {
    /// Ids of leads or contacts (the type the sequence enrolls), 1 to 1,000.
    #[schema(min_items = 1, max_items = 1000)]
    pub record_ids: Vec<Uuid>,
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
            post("/sequences/{id}/enrollments", READ)
                .doc(
                    "sequences",
                    "Enroll leads or contacts (record_ids, 1 to 1,000, of the type the sequence \
                     enrolls) in an active sequence; needs activities create besides. Each is \
                     enrolled, its first step due at once (an e-mail at the send window's next \
                     opening), or skipped with its reason: not_found (not one the caller may \
                     read), no_email, consent_withdrawn (the person opted out of e-mail), \
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
                READ,
            )
            .doc(
                "sequences",
                format!(
                    "{text}; needs activities create besides. 409 when the enrollment is \
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

/// Enrolling and changing enrollments also needs activities create (see the module's comment).
fn may_enroll(actor: &Actor) -> Result<(), AppError> {
    if actor.can(Resource::Activities, Action::Create) {
        Ok(())
    } else {
        Err(AppError::forbidden())
    }
}

/// Check and enroll (the page and the API alike).
pub async fn enroll_records(
    app: &AppState,
    actor: &Actor,
    id: rivet_domain::ids::SequenceId,
    record_ids: &[Uuid],
) -> Result<EnrollOutcome, AppError> {
    may_enroll(actor)?;
    let mut errors = FieldErrors::new();
    if record_ids.is_empty() || record_ids.len() > MAX_ENROLL {
        errors.add("record_ids", format!("must hold 1 to {MAX_ENROLL} ids"));
    }
    errors.into_result()?;
    let tz = crate::sequences::company_tz(app, actor.company_id).await;
    let results = store::enroll(&app.store, actor, id, record_ids, tz).await?;
    let enrolled = results.iter().filter(|r| r.outcome == "enrolled").count();
    Ok(EnrollOutcome {
        enrolled,
        skipped: results.len() - enrolled,
        results,
    })
}

async fn enroll(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Json(body): Json<EnrollInput>,
) -> Result<Json<EnrollOutcome>, AppError> {
    let id = parse_id(&id)?;
    Ok(Json(
        enroll_records(&app, &actor, id, &body.record_ids).await?,
    ))
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
