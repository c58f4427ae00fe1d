//! The server-rendered web UI: sign-in, the application shell and the administration pages.
//!
//! Pages are askama templates (`templates/web/`) over one layout; forms post back and redirect
//! after success (POST-redirect-GET) with a flash message. Every action calls the same function
//! as its API route, so rules and audit rows are identical. The global middleware has already
//! resolved the session cookie and checked the CSRF token of every state-changing request; pages
//! are not in the API route registry, so each handler checks its permission with
//! [`view::Ctx::require`] before touching the store (which applies the caller's scope again).

mod accounts;
mod activities;
mod api_keys;
mod assets;
mod audit;
mod chart;
mod contacts;
mod custom_fields;
mod deals;
mod home;
mod leads;
mod roles;
mod search;
mod session;
mod settings;
mod system;
mod tasks;
mod teams;
mod timeline;
mod users;
mod view;
mod views;

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
        .route("/search", get(search::show))
        .route("/deals", get(deals::index))
        .route("/deals/new", get(deals::new).post(deals::create))
        .route("/deals/bulk", post(deals::bulk))
        .route("/deals/board", get(deals::board))
        .route("/deals/{id}", get(deals::show))
        .route("/deals/{id}/edit", get(deals::edit).post(deals::update))
        .route("/deals/{id}/delete", post(deals::delete))
        .route("/deals/{id}/move", post(deals::move_deal))
        .route("/quick-add/{record}/{id}", post(timeline::quick_add))
        .route("/tasks", get(tasks::index))
        .route("/tasks/new", get(tasks::new).post(tasks::create))
        .route("/tasks/bulk", post(tasks::bulk))
        .route("/tasks/{id}/edit", get(tasks::edit).post(tasks::update))
        .route("/tasks/{id}/complete", post(tasks::complete))
        .route("/tasks/{id}/delete", post(tasks::delete))
        .route("/activities", get(activities::index))
        .route("/activities/bulk", post(activities::bulk))
        .route(
            "/activities/{id}/edit",
            get(activities::edit).post(activities::update),
        )
        .route("/activities/{id}/delete", post(activities::delete))
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
        .route("/accounts", get(accounts::index))
        .route("/accounts/new", get(accounts::new).post(accounts::create))
        .route("/accounts/bulk", post(accounts::bulk))
        .route("/accounts/{id}", get(accounts::show))
        .route(
            "/accounts/{id}/edit",
            get(accounts::edit).post(accounts::update),
        )
        .route(
            "/accounts/{id}/delete",
            get(accounts::confirm_delete).post(accounts::delete),
        )
        .route("/contacts", get(contacts::index))
        .route("/contacts/new", get(contacts::new).post(contacts::create))
        .route("/contacts/bulk", post(contacts::bulk))
        .route("/contacts/{id}", get(contacts::show))
        .route(
            "/contacts/{id}/edit",
            get(contacts::edit).post(contacts::update),
        )
        .route("/contacts/{id}/delete", post(contacts::delete))
        .route("/views", post(views::save))
        .route("/views/{id}/delete", post(views::delete))
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
