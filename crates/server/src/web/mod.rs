//! The server-rendered web UI: sign-in, the application shell and the administration pages.
//!
//! Pages are askama templates (`templates/web/`) over one layout; forms post back and redirect
//! after success (POST-redirect-GET) with a flash message. Every action calls the same function
//! as its API route, so rules and audit rows are identical. The global middleware has already
//! resolved the session cookie and checked the CSRF token of every state-changing request; pages
//! are not in the API route registry, so each handler checks its permission with
//! [`view::Ctx::require`] before touching the store (which applies the caller's scope again).

mod api_keys;
mod assets;
mod audit;
mod chart;
mod home;
mod leads;
mod roles;
mod session;
mod settings;
mod system;
mod teams;
mod users;
mod view;

use crate::state::AppState;
use axum::Router;
use axum::routing::{get, post};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home::show))
        .route("/login", get(session::login_page).post(session::login))
        .route("/logout", post(session::logout))
        .route(
            "/invite/{token}",
            get(session::invite_page).post(session::accept_invite),
        )
        .route("/leads", get(leads::index))
        .route("/leads/new", get(leads::new).post(leads::create))
        .route("/leads/bulk", post(leads::bulk))
        .route("/leads/{id}", get(leads::show))
        .route("/leads/{id}/edit", get(leads::edit).post(leads::update))
        .route("/leads/{id}/delete", post(leads::delete))
        .route("/admin/users", get(users::index).post(users::create))
        .route("/admin/users/{id}", get(users::edit).post(users::update))
        .route("/admin/users/{id}/active", post(users::set_active))
        .route("/admin/teams", get(teams::index).post(teams::create))
        .route("/admin/teams/{id}", get(teams::edit).post(teams::update))
        .route("/admin/teams/{id}/delete", post(teams::delete))
        .route("/admin/roles", get(roles::index).post(roles::create))
        .route("/admin/roles/{id}", get(roles::show).post(roles::save))
        .route("/admin/roles/{id}/delete", post(roles::delete))
        .route(
            "/admin/api-keys",
            get(api_keys::index).post(api_keys::create),
        )
        .route("/admin/api-keys/{id}/revoke", post(api_keys::revoke))
        .route("/admin/audit", get(audit::index))
        .route("/settings", get(settings::show).post(settings::save))
        .route("/admin/jobs", get(system::jobs))
        .route("/admin/jobs/{id}/retry", post(system::retry_job))
        .route("/admin/jobs/{id}/cancel", post(system::cancel_job))
        .route("/admin/logs", get(system::logs))
        .route(
            "/admin/system",
            get(system::settings).post(system::save_settings),
        )
        .route("/assets/web/{file}", get(assets::serve))
        .fallback(view::not_found)
}

/// The HTML answer to a form post whose CSRF token is missing or stale (the check itself is in
/// the authentication middleware, for every route).
pub fn csrf_refused() -> axum::response::Response {
    use axum::response::IntoResponse;
    view::WebError::from(crate::error::AppError::Forbidden(
        "this form has expired or did not come from Rivet; reload the page and try again".into(),
    ))
    .into_response()
}
