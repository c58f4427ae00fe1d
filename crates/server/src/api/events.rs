//! `GET /events`: the company's domain events, newest first, for administrators (what the
//! outbox holds and consumers such as webhooks receive).

use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, Query, page_request};
use crate::http::router::{Access, ApiRouter, get};
use crate::state::AppState;
use axum::extract::State;
use chrono::{DateTime, Utc};
use rivet_domain::{Action, Resource};
use rivet_store::Page;
use rivet_store::events::{self, Event, EventFilter};
use serde::Deserialize;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// `lead.created`, `deal.won`, …
    #[serde(rename = "type")]
    pub event_type: Option<String>,
    /// `lead`, `account`, `contact`, `deal`, `task`, `activity`, `user`.
    pub record_type: Option<String>,
    pub record_id: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub limit: Option<u64>,
    pub cursor: Option<String>,
}

pub fn routes() -> ApiRouter {
    ApiRouter::new().add(
        get("/events", Access::Allow(Resource::Events, Action::Read))
            .doc(
                "events",
                "The company's domain events, newest first (type, record_type, record_id, from, to)",
            )
            .returns_page::<Event>(),
        list,
    )
}

async fn list(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Query(query): Query<EventQuery>,
) -> Result<Json<Page<Event>>, AppError> {
    let page = page_request(query.limit, query.cursor.as_deref())?;
    crate::api::system::check_range(query.from, query.to)?;
    let filter = EventFilter {
        event_type: query.event_type,
        record_type: query.record_type,
        record_id: query.record_id,
        from: query.from,
        to: query.to,
    };
    Ok(Json(events::list(&app.store, &actor, &filter, page).await?))
}
