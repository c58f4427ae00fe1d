//! `/roles` and `/permissions`: custom roles per company, and the grants of every role.

use crate::api::audit::{HistoryQuery, history};
use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, Query, parse_id};
use crate::http::router::{Access, ApiRouter, delete, get, patch, post, put};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use rivet_domain::ids::RoleId;
use rivet_domain::permissions::catalog;
use rivet_domain::validate::parse_name;
use rivet_domain::{Action, Actor, FieldErrors, PermissionSet, Resource, Scope};
use rivet_store::audit::AuditEntry;
use rivet_store::roles::{self, Role};
use rivet_store::{Page, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

const READ: Access = Access::Allow(Resource::Roles, Action::Read);

pub fn routes() -> ApiRouter {
    ApiRouter::new()
        .add(
            get("/permissions", READ)
                .doc(
                    "roles",
                    "The permission catalog: every resource, its actions and allowed scopes",
                )
                .returns_all::<CatalogEntry>(),
            permissions,
        )
        .add(
            get("/roles", READ)
                .doc("roles", "List roles with their grants")
                .returns_all::<Role>(),
            list,
        )
        .add(
            post("/roles", Access::Allow(Resource::Roles, Action::Create))
                .doc("roles", "Create a custom role")
                .body::<CreateRole>()
                .returns::<Role>()
                .status(201),
            create,
        )
        .add(
            get("/roles/{id}", READ)
                .doc("roles", "One role")
                .returns::<Role>(),
            show,
        )
        .add(
            patch(
                "/roles/{id}",
                Access::Allow(Resource::Roles, Action::Update),
            )
            .doc("roles", "Rename or describe a role")
            .body::<UpdateRole>()
            .returns::<Role>(),
            update,
        )
        .add(
            put(
                "/roles/{id}/permissions",
                Access::Allow(Resource::Roles, Action::Update),
            )
            .doc("roles", "Replace every grant of a role")
            .body::<SetPermissions>()
            .returns::<Role>(),
            set_permissions,
        )
        .add(
            delete(
                "/roles/{id}",
                Access::Allow(Resource::Roles, Action::Delete),
            )
            .doc("roles", "Delete a custom role nobody uses")
            .status(204),
            remove,
        )
        .add(
            get("/roles/{id}/history", READ)
                .doc("roles", "Audit history of a role")
                .returns_page::<AuditEntry>(),
            show_history,
        )
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogEntry {
    pub resource: Resource,
    pub action: Action,
    pub scopes: Vec<Scope>,
}

async fn permissions() -> Json<Page<CatalogEntry>> {
    Json(Page {
        data: catalog()
            .map(|(resource, action)| CatalogEntry {
                resource,
                action,
                scopes: resource.scopes().to_vec(),
            })
            .collect(),
        next_cursor: None,
    })
}

async fn list(
    State(app): State<AppState>,
    Auth(actor): Auth,
) -> Result<Json<Page<Role>>, AppError> {
    Ok(Json(Page {
        data: roles::list(&app.store, &actor).await?,
        next_cursor: None,
    }))
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantInput {
    pub resource: Resource,
    pub action: Action,
    pub scope: Scope,
}

/// Turn a list of grants into a set, naming each invalid or repeated entry.
pub fn parse_grants(grants: &[GrantInput], field: &str) -> Result<PermissionSet, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut set = PermissionSet::new();
    let mut seen = std::collections::HashSet::new();
    for (i, g) in grants.iter().enumerate() {
        let name = format!("{field}[{i}]");
        if let Err(message) = PermissionSet::validate_grant(g.resource, g.action, g.scope) {
            errors.add(&name, message);
        } else if !seen.insert((g.resource, g.action)) {
            errors.add(
                &name,
                format!("{}.{} is listed twice", g.resource, g.action),
            );
        } else {
            set.set(g.resource, g.action, g.scope);
        }
    }
    errors.into_result().map(|()| set)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRole {
    #[schema(schema_with = rivet_domain::validate::names::name_100)]
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub permissions: Vec<GrantInput>,
}

pub(crate) fn check_role_name(name: &str, errors: &mut FieldErrors) -> Option<String> {
    let name = errors.check("name", parse_name(name, 100))?;
    if rivet_domain::BuiltinRole::ALL
        .iter()
        .any(|r| r.as_str() == name.to_lowercase())
    {
        errors.add("name", "is the name of a built-in role");
    }
    Some(name)
}

async fn create(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<CreateRole>,
) -> Result<(StatusCode, Json<Role>), AppError> {
    let mut errors = FieldErrors::new();
    let name = check_role_name(&body.name, &mut errors);
    if body.description.chars().count() > 1000 {
        errors.add("description", "is too long (at most 1000 characters)");
    }
    let set = match parse_grants(&body.permissions, "permissions") {
        Ok(set) => Some(set),
        Err(e) => {
            errors.0.extend(e.0);
            None
        }
    };
    errors.into_result()?;
    let (Some(name), Some(set)) = (name, set) else {
        return Err(AppError::BadRequest("invalid role".into()));
    };
    let role = roles::create(&app.store, &actor, &name, body.description.trim(), &set).await?;
    Ok((StatusCode::CREATED, Json(role)))
}

async fn show(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<Role>, AppError> {
    Ok(Json(roles::get(&app.store, &actor, parse_id(&id)?).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRole {
    #[serde(default)]
    #[schema(schema_with = rivet_domain::validate::names::optional_name_100)]
    pub name: Option<String>,
    pub description: Option<String>,
}

async fn update(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Json(body): Json<UpdateRole>,
) -> Result<Json<Role>, AppError> {
    let id = parse_id(&id)?;
    let current = roles::get(&app.store, &actor, id).await?;
    let mut errors = FieldErrors::new();
    let name = match &body.name {
        Some(name) if current.builtin && *name == current.name => None,
        Some(name) => check_role_name(name, &mut errors),
        None => None,
    };
    if body
        .description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 1000)
    {
        errors.add("description", "is too long (at most 1000 characters)");
    }
    errors.into_result()?;
    Ok(Json(
        roles::update(
            &app.store,
            &actor,
            id,
            name.as_deref(),
            body.description.as_deref().map(str::trim),
        )
        .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPermissions {
    pub permissions: Vec<GrantInput>,
}

/// Replace a role's grants (API and the web permission matrix).
pub async fn replace_permissions(
    app: &AppState,
    actor: &Actor,
    id: RoleId,
    grants: &[GrantInput],
) -> Result<Role, AppError> {
    let set = parse_grants(grants, "permissions")?;
    if id == actor.role_id && !set.allows(Resource::Roles, Action::Update) {
        return Err(AppError::field(
            "permissions",
            "you cannot remove your own role's permission to change roles",
        ));
    }
    Ok(roles::set_permissions(&app.store, actor, id, &set).await?)
}

async fn set_permissions(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Json(body): Json<SetPermissions>,
) -> Result<Json<Role>, AppError> {
    Ok(Json(
        replace_permissions(&app, &actor, parse_id(&id)?, &body.permissions).await?,
    ))
}

async fn remove(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    roles::delete(&app.store, &actor, parse_id(&id)?)
        .await
        .map_err(|e| match e {
            StoreError::Invalid(errors) => AppError::Conflict {
                field: "id".into(),
                message: errors.to_string(),
            },
            other => other.into(),
        })?;
    Ok(StatusCode::NO_CONTENT)
}

async fn show_history(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Result<Json<Page<AuditEntry>>, AppError> {
    let id = parse_id(&id)?;
    roles::get(&app.store, &actor, id).await?;
    history(&app, &actor, Resource::Roles, id.uuid(), query).await
}
