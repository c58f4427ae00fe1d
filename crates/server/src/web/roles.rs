//! The roles pages: the list with a form for a new custom role (optionally starting from another
//! role's grants), and one role's permission matrix — rows are resources, columns are actions,
//! each cell a choice of the scopes that resource allows. Saving replaces every grant at once
//! through `crate::api::roles::replace_permissions`, the function behind `PUT /roles/{id}/permissions`.

use super::view::{
    Ctx, FormErrors, Layout, Opt, OrPage, WebError, WebForm, options, resource_label, with_query,
};
use crate::api::roles::{GrantInput, check_role_name, replace_permissions};
use crate::http::error::AppError;
use crate::http::extract::parse_id;
use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use rivet_domain::ids::RoleId;
use rivet_domain::{Action, FieldErrors, PermissionSet, Resource, Scope};
use rivet_store::StoreError;
use rivet_store::roles::{self, Role};
use serde::Deserialize;
use std::collections::HashMap;
use uuid::Uuid;

pub struct RoleRow {
    pub id: Uuid,
    pub name: String,
    pub description: String,
    pub builtin: bool,
    pub grants: usize,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct NewRoleForm {
    name: String,
    description: String,
    copy_from: String,
}

#[derive(Template)]
#[template(path = "web/roles.html")]
struct RolesPage {
    layout: Layout,
    roles: Vec<RoleRow>,
    can_create: bool,
    form: NewRoleForm,
    copy_options: Vec<Opt>,
    errors: FormErrors,
}

async fn roles_page(
    ctx: &Ctx,
    form: NewRoleForm,
    errors: FormErrors,
) -> Result<RolesPage, WebError> {
    let list = roles::list(&ctx.app.store, &ctx.actor).await.or_page(ctx)?;
    let mut copy = vec![(String::new(), "No permissions".to_owned())];
    copy.extend(
        list.iter()
            .map(|r| (r.id.to_string(), format!("Same as {}", r.name))),
    );
    Ok(RolesPage {
        layout: ctx.layout("Roles"),
        roles: list
            .iter()
            .map(|r| RoleRow {
                id: r.id.uuid(),
                name: r.name.clone(),
                description: r.description.clone(),
                builtin: r.builtin,
                grants: r.permissions.len(),
            })
            .collect(),
        can_create: ctx.can(Resource::Roles, Action::Create),
        copy_options: options(copy, &form.copy_from),
        form,
        errors,
    })
}

pub async fn index(ctx: Ctx) -> Result<Response, WebError> {
    let page = roles_page(&ctx, NewRoleForm::default(), FormErrors::new()).await?;
    Ok(ctx.render(&page))
}

fn permission_set(role: &Role) -> PermissionSet {
    let mut set = PermissionSet::new();
    for g in &role.permissions {
        set.set(g.resource, g.action, g.scope);
    }
    set
}

pub async fn create(ctx: Ctx, WebForm(form): WebForm<NewRoleForm>) -> Result<Response, WebError> {
    let mut field_errors = FieldErrors::new();
    let name = check_role_name(&form.name, &mut field_errors);
    if form.description.chars().count() > 1000 {
        field_errors.add("description", "is too long (at most 1000 characters)");
    }
    let mut errors = FormErrors::new();
    errors
        .absorb(AppError::Validation(field_errors), &["name", "description"])
        .or_page(&ctx)?;
    let set = match form.copy_from.as_str() {
        "" => Some(PermissionSet::new()),
        text => match text.parse::<RoleId>() {
            Ok(id) => match roles::get(&ctx.app.store, &ctx.actor, id).await {
                Ok(role) => Some(permission_set(&role)),
                Err(StoreError::NotFound) => None,
                Err(e) => return Err(ctx.fail(e)),
            },
            Err(_) => None,
        },
    };
    if set.is_none() {
        errors.add("copy_from", "does not exist");
    }
    if errors.is_empty()
        && let (Some(name), Some(set)) = (name, set)
    {
        match roles::create(
            &ctx.app.store,
            &ctx.actor,
            &name,
            form.description.trim(),
            &set,
        )
        .await
        {
            Ok(role) => {
                return Ok(ctx.done(
                    &format!("/admin/roles/{}", role.id),
                    format!(
                        "Created the role {}. Choose its permissions below.",
                        role.name
                    ),
                ));
            }
            Err(err) => errors
                .absorb(err.into(), &["name", "description"])
                .or_page(&ctx)?,
        }
    }
    let page = roles_page(&ctx, form, errors).await?;
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

pub struct Cell {
    /// `resource.action`, the form field of this cell.
    pub name: String,
    pub label: String,
    pub exists: bool,
    pub scope: String,
    pub options: Vec<Opt>,
    pub invalid: bool,
}

pub struct MatrixRow {
    pub resource: &'static str,
    pub cells: Vec<Cell>,
}

pub struct MatrixGroup {
    pub title: &'static str,
    pub rows: Vec<MatrixRow>,
}

#[derive(Template)]
#[template(path = "web/role.html")]
struct RolePage {
    layout: Layout,
    role: RoleRow,
    actions: Vec<&'static str>,
    groups: Vec<MatrixGroup>,
    editable: bool,
    can_delete: bool,
    members_href: String,
    history_href: Option<String>,
    errors: FormErrors,
}

fn scope_label(scope: Scope) -> &'static str {
    match scope {
        Scope::All => "all",
        Scope::Team => "team",
        Scope::Own => "own",
        Scope::None => "none",
    }
}

/// The matrix with `chosen` scopes (the role's grants, or what was just submitted).
fn matrix(chosen: &HashMap<String, String>, invalid: &[String]) -> Vec<MatrixGroup> {
    let row = |resource: Resource| MatrixRow {
        resource: resource_label(resource),
        cells: Action::ALL
            .iter()
            .map(|action| {
                let name = format!("{resource}.{action}");
                let scope = chosen.get(&name).cloned().unwrap_or_else(|| "none".into());
                Cell {
                    label: format!("{}: {}", resource_label(resource), action),
                    exists: resource.actions().contains(action),
                    options: options(
                        resource
                            .scopes()
                            .iter()
                            .map(|s| (s.as_str(), scope_label(*s))),
                        &scope,
                    ),
                    invalid: invalid.contains(&name),
                    scope,
                    name,
                }
            })
            .collect(),
    };
    vec![
        MatrixGroup {
            title: "Records",
            rows: Resource::ALL
                .iter()
                .filter(|r| r.is_record())
                .map(|r| row(*r))
                .collect(),
        },
        MatrixGroup {
            title: "Administration",
            rows: Resource::ALL
                .iter()
                .filter(|r| !r.is_record())
                .map(|r| row(*r))
                .collect(),
        },
    ]
}

fn role_page(
    ctx: &Ctx,
    role: &Role,
    chosen: &HashMap<String, String>,
    invalid: &[String],
    errors: FormErrors,
) -> RolePage {
    RolePage {
        layout: ctx.layout(format!("Role {}", role.name)),
        role: RoleRow {
            id: role.id.uuid(),
            name: role.name.clone(),
            description: role.description.clone(),
            builtin: role.builtin,
            grants: role.permissions.len(),
        },
        actions: Action::ALL.iter().map(|a| a.as_str()).collect(),
        groups: matrix(chosen, invalid),
        editable: ctx.can(Resource::Roles, Action::Update),
        can_delete: !role.builtin && ctx.can(Resource::Roles, Action::Delete),
        members_href: with_query("/admin/users", &[("role", &role.id.to_string())]),
        history_href: ctx.can(Resource::Audit, Action::Read).then(|| {
            with_query(
                "/admin/audit",
                &[("resource", "roles"), ("resource_id", &role.id.to_string())],
            )
        }),
        errors,
    }
}

async fn load_role(ctx: &Ctx, id: &str) -> Result<Role, WebError> {
    let id = parse_id(id).or_page(ctx)?;
    roles::get(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(ctx)
}

pub async fn show(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let role = load_role(&ctx, &id).await?;
    let chosen: HashMap<String, String> = role
        .permissions
        .iter()
        .map(|g| {
            (
                format!("{}.{}", g.resource, g.action),
                g.scope.as_str().to_owned(),
            )
        })
        .collect();
    let page = role_page(&ctx, &role, &chosen, &[], FormErrors::new());
    Ok(ctx.render(&page))
}

/// Save the whole matrix: one grant per cell that exists, `none` for cells not sent.
pub async fn save(
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(fields): WebForm<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let role = load_role(&ctx, &id).await?;
    let chosen: HashMap<String, String> = fields.into_iter().collect();
    let mut grants = Vec::new();
    let mut invalid = Vec::new();
    for (resource, action) in rivet_domain::permissions::catalog() {
        let name = format!("{resource}.{action}");
        let scope = match chosen.get(&name) {
            None => Scope::None,
            Some(text) => match text.parse::<Scope>() {
                Ok(scope) if resource.scopes().contains(&scope) => scope,
                _ => {
                    invalid.push(name);
                    continue;
                }
            },
        };
        grants.push(GrantInput {
            resource,
            action,
            scope,
        });
    }
    let mut errors = FormErrors::new();
    if invalid.is_empty() {
        match replace_permissions(&ctx.app, &ctx.actor, role.id, &grants).await {
            Ok(saved) => {
                return Ok(ctx.done(
                    &format!("/admin/roles/{}", role.id),
                    format!("Saved the permissions of {}.", saved.name),
                ));
            }
            Err(err) => errors.absorb(err, &[]).or_page(&ctx)?,
        }
    } else {
        errors.add_general(format!(
            "{} permission(s) have a scope their resource does not allow.",
            invalid.len()
        ));
    }
    let page = role_page(&ctx, &role, &chosen, &invalid, errors);
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

pub async fn delete(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let role = load_role(&ctx, &id).await?;
    match roles::delete(&ctx.app.store, &ctx.actor, role.id).await {
        Ok(()) => Ok(ctx.done("/admin/roles", format!("Deleted the role {}.", role.name))),
        Err(StoreError::Conflict { message, .. }) => Ok(ctx.refused(
            &format!("/admin/roles/{}", role.id),
            super::view::capitalise(&message),
        )),
        Err(StoreError::Invalid(errors)) => Ok(ctx.refused(
            &format!("/admin/roles/{}", role.id),
            errors
                .0
                .iter()
                .map(|e| super::view::capitalise(&e.message))
                .collect::<Vec<_>>()
                .join(" "),
        )),
        Err(e) => Err(ctx.fail(e)),
    }
}
