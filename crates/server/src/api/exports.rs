//! `GET /api/v1/exports?entity=…`: a record list's export by the list's name, for clients that
//! pick the list at run time, and for `rivet export`. The file is `api::export`'s, read through
//! the record type's own export (`api::record::export_records`).

use super::record::{ApiRecord, export_records};
use crate::http::error::AppError;
use crate::http::extract::{Auth, Query};
use crate::http::router::{Access, ApiRouter, get};
use crate::state::AppState;
use axum::extract::State;
use axum::response::Response;
use rivet_domain::{Action, Actor};
use rivet_store::accounts::Account;
use rivet_store::activities::Activity;
use rivet_store::contacts::Contact;
use rivet_store::deals::Deal;
use rivet_store::leads::Lead;
use rivet_store::tasks::Task;

/// `GET /exports?entity=leads&…`: the export of the list `entity` names, which the caller must
/// be allowed to read.
async fn export_entity(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Query(mut pairs): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let entity = pairs
        .iter()
        .position(|(k, _)| k == "entity")
        .map(|i| pairs.remove(i).1)
        .unwrap_or_default();
    export_named(app, actor, &entity, pairs).await
}

/// The export of the list `entity` (`leads`, …) for `actor`, who must be allowed to read it.
pub async fn export_named(
    app: AppState,
    actor: Actor,
    entity: &str,
    pairs: Vec<(String, String)>,
) -> Result<Response, AppError> {
    async fn of<R: ApiRecord>(
        app: AppState,
        actor: Actor,
        pairs: Vec<(String, String)>,
    ) -> Result<Response, AppError> {
        Access::Allow(R::RESOURCE, Action::Read).check(Some(&actor))?;
        export_records::<R>(app, actor, pairs).await
    }
    match entity {
        "leads" => of::<Lead>(app, actor, pairs).await,
        "accounts" => of::<Account>(app, actor, pairs).await,
        "contacts" => of::<Contact>(app, actor, pairs).await,
        "deals" => of::<Deal>(app, actor, pairs).await,
        "tasks" => of::<Task>(app, actor, pairs).await,
        "activities" => of::<Activity>(app, actor, pairs).await,
        _ => Err(AppError::BadRequest(
            "entity must be one of leads, accounts, contacts, deals, tasks, activities".into(),
        )),
    }
}

/// The lists an export can name.
#[derive(Debug, Clone, Copy, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportEntity {
    Leads,
    Accounts,
    Contacts,
    Deals,
    Tasks,
    Activities,
}

/// What `GET /exports` reads besides the list's filters and sort.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EntityParams {
    /// The list to export.
    #[param(inline)]
    pub entity: ExportEntity,
}

pub fn routes() -> ApiRouter {
    ApiRouter::new().add(
        get("/exports", Access::Authenticated)
            .doc(
                "exports",
                "Export a record list as CSV or XLSX: `entity` names the list (the caller needs \
                 read on it), the other parameters are that list's filters and sort, `view` a \
                 saved view of it; the same as `GET /{entity}/export`",
            )
            .query::<EntityParams>()
            .query::<super::export::ExportParams>()
            .returns_file(super::export::MEDIA_TYPES),
        export_entity,
    )
}
