//! `/{leads,contacts,accounts,deals}/{id}/timeline`: one record's activities, tasks, stage
//! changes and notable changes, newest first, keyset-paged (`limit`, `cursor`). The record must
//! be readable by the caller (else 404); each kind of entry is filtered by the caller's scope on
//! that kind (see `rivet_store::timeline`).

use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, Query, list_window, parse_id};
use crate::http::router::{Access, ApiRouter, get};
use crate::state::AppState;
use axum::extract::{Path, State};
use rivet_domain::activities::RecordType;
use rivet_domain::ids::Id;
use rivet_domain::{Action, Resource};
use rivet_store::record;
use rivet_store::timeline::{self, Before, TimelinePage};
use rivet_store::{accounts::Account, contacts::Contact, deals::Deal, leads::Lead};

const DOC: &str = "Newest first: activities linked to the record, tasks about it, deal stage \
                   changes and notable changes (created, owner, status, stage, amount, …); an \
                   account's also gathers its contacts' and deals'. limit (1–500, default 50) \
                   and cursor as for lists.";

pub fn routes() -> ApiRouter {
    let route = |path: &'static str, resource: Resource, tag: &'static str| {
        get(path, Access::Allow(resource, Action::Read))
            .doc(tag, DOC)
            .returns::<TimelinePage>()
            .query::<crate::http::extract::PageParams>()
    };
    ApiRouter::new()
        .add(
            route("/leads/{id}/timeline", Resource::Leads, "leads"),
            lead,
        )
        .add(
            route("/contacts/{id}/timeline", Resource::Contacts, "contacts"),
            contact,
        )
        .add(
            route("/accounts/{id}/timeline", Resource::Accounts, "accounts"),
            account,
        )
        .add(
            route("/deals/{id}/timeline", Resource::Deals, "deals"),
            deal,
        )
}

/// A record's timeline page (API and web pages).
pub async fn record_timeline(
    app: &AppState,
    actor: &rivet_domain::Actor,
    record_type: RecordType,
    id: uuid::Uuid,
    limit: u64,
    before: Option<Before>,
) -> Result<TimelinePage, AppError> {
    // One read for the record and the whole page (on PostgreSQL one bound transaction).
    let read = app.store.read(actor).await?;
    let conn = read.conn();
    // Reading the record first makes one outside the caller's scope (or company) a 404.
    let action = Action::Read;
    match record_type {
        RecordType::Lead => {
            drop(record::get_in::<Lead, _>(conn, actor, action, Id::from_uuid(id)).await?)
        }
        RecordType::Contact => {
            drop(record::get_in::<Contact, _>(conn, actor, action, Id::from_uuid(id)).await?)
        }
        RecordType::Account => {
            drop(record::get_in::<Account, _>(conn, actor, action, Id::from_uuid(id)).await?)
        }
        RecordType::Deal => {
            drop(record::get_in::<Deal, _>(conn, actor, action, Id::from_uuid(id)).await?)
        }
    }
    Ok(timeline::page(&read, actor, (record_type, id), before, limit).await?)
}

type Answer = Result<Json<TimelinePage>, AppError>;
type Params = Query<Vec<(String, String)>>;

async fn lead(State(app): State<AppState>, auth: Auth, id: Path<String>, q: Params) -> Answer {
    show(&app, auth, id, q, RecordType::Lead).await
}

async fn contact(State(app): State<AppState>, auth: Auth, id: Path<String>, q: Params) -> Answer {
    show(&app, auth, id, q, RecordType::Contact).await
}

async fn account(State(app): State<AppState>, auth: Auth, id: Path<String>, q: Params) -> Answer {
    show(&app, auth, id, q, RecordType::Account).await
}

async fn deal(State(app): State<AppState>, auth: Auth, id: Path<String>, q: Params) -> Answer {
    show(&app, auth, id, q, RecordType::Deal).await
}

async fn show(
    app: &AppState,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Query(pairs): Params,
    record_type: RecordType,
) -> Answer {
    let id = parse_id(&id)?;
    let (limit, before) = list_window(&pairs, Before::decode)?;
    Ok(Json(
        record_timeline(app, &actor, record_type, id, limit, before).await?,
    ))
}
