//! The caller's notifications page (`/notifications`, opened by the bell in every page's top
//! bar): newest first, the unread in bold, all or only the unread, paged; "Mark all read".
//! Opening one is a form (`POST /notifications/{id}/open`) that marks it read and goes to its
//! link. Every action calls `rivet_store::notifications`, as the API does; any signed-in member
//! has the page, and sees only their own.

use super::view::{Ctx, Layout, OrPage, WebError, WebQuery, ago, datetime, iso, safe_next};
use crate::http::error::AppError;
use crate::http::extract::parse_id;
use askama::Template;
use axum::extract::Path;
use axum::response::{IntoResponse, Redirect, Response};
use rivet_store::Cursor;
use rivet_store::notifications::{self as store, Notification};
use rivet_store::page::PageRequest;
use serde::Deserialize;

const PAGE: &str = "/notifications";
const PAGE_SIZE: u64 = 50;

pub struct NotificationRow {
    pub id: String,
    pub title: String,
    pub body: Option<String>,
    pub unread: bool,
    pub ago: String,
    pub when: String,
    pub iso: String,
}

fn row(n: Notification) -> NotificationRow {
    NotificationRow {
        id: n.id.to_string(),
        unread: n.read_at.is_none(),
        ago: ago(&n.created_at),
        when: datetime(&n.created_at),
        iso: iso(&n.created_at),
        title: n.title,
        body: n.body,
    }
}

#[derive(Template)]
#[template(path = "web/notifications.html")]
struct IndexPage {
    layout: Layout,
    rows: Vec<NotificationRow>,
    /// Only the unread are listed.
    unread_only: bool,
    /// The tabs: address, label, current.
    tabs: Vec<(String, &'static str, bool)>,
    first_href: Option<String>,
    next_href: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct IndexQuery {
    /// `true`: only the unread.
    unread: String,
    cursor: String,
}

/// `GET /notifications`.
pub async fn index(ctx: Ctx, WebQuery(query): WebQuery<IndexQuery>) -> Result<Response, WebError> {
    let unread_only = query.unread == "true";
    let after = match query.cursor.as_str() {
        "" => None,
        text => Some(
            Cursor::decode(text)
                .ok_or_else(|| ctx.fail(AppError::BadRequest("the page link is not valid".into())))?
                .0,
        ),
    };
    let page = store::list(
        &ctx.app.store,
        &ctx.actor,
        unread_only,
        PageRequest {
            limit: PAGE_SIZE,
            after,
        },
    )
    .await
    .or_page(&ctx)?;
    let here = if unread_only {
        format!("{PAGE}?unread=true")
    } else {
        PAGE.to_owned()
    };
    let next_href = page.next_cursor.map(|cursor| {
        let sep = if unread_only { '&' } else { '?' };
        format!("{here}{sep}cursor={cursor}")
    });
    let first_href = after.is_some().then(|| here.clone());
    let page = IndexPage {
        layout: ctx.layout("Notifications"),
        rows: page.data.into_iter().map(row).collect(),
        unread_only,
        tabs: vec![
            (PAGE.to_owned(), "All", !unread_only),
            (format!("{PAGE}?unread=true"), "Unread", unread_only),
        ],
        first_href,
        next_href,
    };
    Ok(ctx.render(&page))
}

/// `POST /notifications/{id}/open`: mark it read and go where it leads (back to the page when
/// it leads nowhere).
pub async fn open(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let id = parse_id(&id).or_page(&ctx)?;
    let read = store::mark_read(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    let to = read
        .link
        .as_deref()
        .map_or_else(|| PAGE.to_owned(), safe_next);
    Ok(Redirect::to(&to).into_response())
}

/// `POST /notifications/read-all`.
pub async fn read_all(ctx: Ctx) -> Result<Response, WebError> {
    let marked = store::mark_all_read(&ctx.app.store, &ctx.actor)
        .await
        .or_page(&ctx)?;
    let message = match marked {
        0 => "Nothing was unread.".to_owned(),
        1 => "Marked 1 notification read.".to_owned(),
        n => format!("Marked {n} notifications read."),
    };
    Ok(ctx.done(PAGE, message))
}
