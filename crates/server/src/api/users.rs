//! `/users`: the members of the caller's company — invite or create, change role or team,
//! deactivate (which ends their sessions at once).

use crate::api::audit::{HistoryQuery, history};
use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, Query, page_request, parse_id};
use crate::http::router::{Access, ApiRouter, get, patch, post};
use crate::password::hash_password;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rivet_domain::ids::{RoleId, TeamId, UserId};
use rivet_domain::validate::parse_name;
use rivet_domain::{Action, Actor, Email, FieldErrors, Resource};
use rivet_store::audit::AuditEntry;
use rivet_store::users::{self, Member, MemberFilter, MemberPatch, NewMember};
use rivet_store::{Page, roles};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

const READ: Access = Access::Allow(Resource::Users, Action::Read);
const CREATE: Access = Access::Allow(Resource::Users, Action::Create);
const UPDATE: Access = Access::Allow(Resource::Users, Action::Update);

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .add(
            get("/users", READ)
                .doc("users", "List members (active, role_id, team_id, q)")
                .returns_page::<Member>(),
            list,
        )
        .add(
            post("/users", CREATE)
                .doc(
                    "users",
                    "Add a member; without a password the answer has a one-time invitation link",
                )
                .body::<CreateUser>()
                .returns::<CreatedUser>()
                .status(201),
            create,
        )
        .add(
            get("/users/{id}", READ)
                .doc("users", "One member")
                .returns::<Member>(),
            show,
        )
        .add(
            patch("/users/{id}", UPDATE)
                .doc("users", "Change a member's name, role, team or active flag")
                .body::<UpdateUser>()
                .returns::<Member>(),
            update,
        )
        .add(
            post("/users/{id}/deactivate", UPDATE)
                .doc("users", "Deactivate a member and end their sessions")
                .returns::<Member>(),
            deactivate,
        )
        .add(
            get("/users/{id}/history", READ)
                .doc("users", "Audit history of a member")
                .returns_page::<AuditEntry>(),
            show_history,
        )
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    active: Option<bool>,
    role_id: Option<RoleId>,
    team_id: Option<TeamId>,
    q: Option<String>,
    limit: Option<u64>,
    cursor: Option<String>,
}

async fn list(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Query(q): Query<ListQuery>,
) -> Result<Json<Page<Member>>, AppError> {
    let page = page_request(q.limit, q.cursor.as_deref())?;
    let filter = MemberFilter {
        active: q.active,
        role_id: q.role_id,
        team_id: q.team_id,
        q: q.q,
    };
    Ok(Json(users::list(&app.store, &actor, &filter, page).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub email: String,
    #[schema(schema_with = rivet_domain::validate::names::name_200)]
    pub name: String,
    #[schema(value_type = uuid::Uuid)]
    pub role_id: RoleId,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub team_id: Option<TeamId>,
    /// Leave out to send an invitation instead.
    pub password: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedUser {
    #[serde(flatten)]
    pub user: Member,
    /// Shown once: the link where the new member sets a password.
    pub invitation_url: Option<String>,
    /// Whether the link was e-mailed to the new member (when the company has e-mail enabled).
    pub invitation_emailed: bool,
    /// Why e-mailing the link failed, in plain words (the link above still works).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invitation_email_error: Option<String>,
}

/// Check that referenced role and team exist in the caller's company.
async fn check_refs(
    app: &AppState,
    actor: &Actor,
    role_id: Option<RoleId>,
    team_id: Option<TeamId>,
    errors: &mut FieldErrors,
) -> Result<(), AppError> {
    if let Some(role) = role_id
        && !roles::exists(&app.store, actor, role).await?
    {
        errors.add("role_id", "does not exist");
    }
    if let Some(team) = team_id
        && !users::team_exists(&app.store, actor, team).await?
    {
        errors.add("team_id", "does not exist");
    }
    Ok(())
}

/// Create a member (API and web form).
pub async fn create_user(
    app: &AppState,
    actor: &Actor,
    body: CreateUser,
) -> Result<CreatedUser, AppError> {
    let settings = rivet_store::settings::get_system(&app.store).await?;
    let mut errors = FieldErrors::new();
    let email = errors.check("email", Email::parse(&body.email));
    let name = errors.check("name", parse_name(&body.name, 200));
    if let Some(password) = &body.password {
        errors.check("password", settings.check_password(password));
    }
    check_refs(app, actor, Some(body.role_id), body.team_id, &mut errors).await?;
    errors.into_result()?;
    let (Some(email), Some(name)) = (email, name) else {
        return Err(AppError::BadRequest("invalid user".into()));
    };
    let password_hash = match body.password {
        Some(password) => Some(hash_password(password).await?),
        None => None,
    };
    let created = users::create(
        &app.store,
        actor,
        &NewMember {
            email,
            name,
            role_id: body.role_id,
            team_id: body.team_id,
            password_hash,
        },
    )
    .await?;
    let invitation_url = created
        .invitation_token
        .map(|token| format!("{}/invite/{token}", app.config.public_url()));
    let emailed = match &invitation_url {
        Some(url) => {
            crate::api::email::email_invitation(app, actor, &created.member.email, url).await
        }
        None => None,
    };
    Ok(CreatedUser {
        user: created.member,
        invitation_url,
        invitation_emailed: matches!(emailed, Some(Ok(()))),
        invitation_email_error: emailed.and_then(Result::err),
    })
}

async fn create(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<CreateUser>,
) -> Result<(StatusCode, Json<CreatedUser>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(create_user(&app, &actor, body).await?),
    ))
}

async fn show(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<Member>, AppError> {
    Ok(Json(users::get(&app.store, &actor, parse_id(&id)?).await?))
}

#[derive(Debug, Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    #[serde(default)]
    #[schema(schema_with = rivet_domain::validate::names::optional_name_200)]
    pub name: Option<String>,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub role_id: Option<RoleId>,
    #[serde(default, deserialize_with = "crate::http::extract::present")]
    #[schema(value_type = Option<Uuid>)]
    pub team_id: Option<Option<TeamId>>,
    pub active: Option<bool>,
}

/// Change a member (API and web form).
pub async fn update_user(
    app: &AppState,
    actor: &Actor,
    id: UserId,
    body: UpdateUser,
) -> Result<Member, AppError> {
    let mut errors = FieldErrors::new();
    let name = match &body.name {
        Some(name) => errors.check("name", parse_name(name, 200)),
        None => None,
    };
    check_refs(
        app,
        actor,
        body.role_id,
        body.team_id.flatten(),
        &mut errors,
    )
    .await?;
    errors.into_result()?;
    let patch = MemberPatch {
        name,
        role_id: body.role_id,
        team_id: body.team_id,
        active: body.active,
    };
    Ok(users::update(&app.store, actor, id, &patch).await?)
}

async fn update(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Json(body): Json<UpdateUser>,
) -> Result<Json<Member>, AppError> {
    Ok(Json(update_user(&app, &actor, parse_id(&id)?, body).await?))
}

async fn deactivate(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<Member>, AppError> {
    let body = UpdateUser {
        active: Some(false),
        ..UpdateUser::default()
    };
    Ok(Json(update_user(&app, &actor, parse_id(&id)?, body).await?))
}

async fn show_history(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Result<Json<Page<AuditEntry>>, AppError> {
    let id = parse_id(&id)?;
    users::get(&app.store, &actor, id).await?;
    history(&app, &actor, Resource::Users, id.uuid(), query).await
}
