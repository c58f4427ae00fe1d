//! `/notifications`: the caller's in-app notifications — list them (all or only the unread,
//! newest first, paged), count the unread (the bell), mark one or all read.
//!
//! Every signed-in member has an inbox of their own, so the routes need only a sign-in (as
//! `/me` does); the store filters every query by the caller's company and user, so another
//! member's notification, like another company's, is a 404. Notifications are written by the
//! system in the transaction of what they tell of (`rivet_store::notifications::notify`).

use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, Query, page_request, parse_id};
use crate::http::router::{Access, ApiRouter, get, post};
use crate::state::AppState;
use axum::extract::{Path, State};
use rivet_store::Page;
use rivet_store::notifications::{self as store, Notification};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

const OWN: Access = Access::Authenticated;

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .add(
            get("/notifications", OWN)
                .doc(
                    "notifications",
                    "The caller's notifications, newest first (unread=true: only those not \
                     read yet); each has a title, a body, a link (a path in the app) and the \
                     record it is about",
                )
                .query::<ListParams>()
                .returns_page::<Notification>(),
            list,
        )
        .add(
            get("/notifications/unread-count", OWN)
                .doc(
                    "notifications",
                    "How many of the caller's notifications are unread",
                )
                .returns::<UnreadCount>(),
            unread_count,
        )
        .add(
            post("/notifications/{id}/read", OWN)
                .doc(
                    "notifications",
                    "Mark one of the caller's notifications read (one already read keeps its \
                     read_at); another member's is not found",
                )
                .returns::<Notification>(),
            read,
        )
        .add(
            post("/notifications/read-all", OWN)
                .doc(
                    "notifications",
                    "Mark every unread notification of the caller read",
                )
                .returns::<MarkedRead>(),
            read_all,
        )
}

/// Which notifications to list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// true: only the unread ones; false or left out: all.
    pub unread: Option<bool>,
    /// Documented with every list's paging (`limit`).
    #[param(ignore)]
    pub limit: Option<u64>,
    /// Left out of the document like every list's: opaque, only ever copied from a page's
    /// `next_cursor`, and any other value is a 400.
    #[param(ignore)]
    pub cursor: Option<String>,
}

/// The bell's number.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnreadCount {
    pub unread: i64,
}

/// What `read-all` marked.
#[derive(Debug, Serialize, ToSchema)]
pub struct MarkedRead {
    /// How many notifications were unread and are read now.
    pub marked: u64,
}

async fn list(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Query(query): Query<ListParams>,
) -> Result<Json<Page<Notification>>, AppError> {
    let page = page_request(query.limit, query.cursor.as_deref())?;
    let unread = query.unread.unwrap_or(false);
    Ok(Json(store::list(&app.store, &actor, unread, page).await?))
}

async fn unread_count(
    State(app): State<AppState>,
    Auth(actor): Auth,
) -> Result<Json<UnreadCount>, AppError> {
    Ok(Json(UnreadCount {
        unread: store::unread_count(&app.store, &actor).await?,
    }))
}

async fn read(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<Notification>, AppError> {
    Ok(Json(
        store::mark_read(&app.store, &actor, parse_id(&id)?).await?,
    ))
}

async fn read_all(
    State(app): State<AppState>,
    Auth(actor): Auth,
) -> Result<Json<MarkedRead>, AppError> {
    Ok(Json(MarkedRead {
        marked: store::mark_all_read(&app.store, &actor).await?,
    }))
}
