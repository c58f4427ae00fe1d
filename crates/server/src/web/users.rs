//! The users pages: the member list with filters, the invite form (with a password, or an
//! invitation link shown once), a member's edit page (name, role, team), and deactivate /
//! reactivate buttons. Every change goes through `crate::api::users::{create_user, update_user}`.

use super::view::{
    Ctx, FormErrors, Layout, Opt, OrPage, WebError, WebForm, WebQuery, date, options,
    password_hint, with_query,
};
use crate::api::users::{CreateUser, UpdateUser, create_user, update_user};
use crate::http::extract::parse_id;
use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use rivet_domain::ids::{Id, UserId};
use rivet_domain::{Action, Resource};
use rivet_store::page::PageRequest;
use rivet_store::roles::Role;
use rivet_store::teams::Team;
use rivet_store::users::{Member, MemberFilter};
use rivet_store::{Cursor, roles, teams, users};
use serde::Deserialize;
use uuid::Uuid;

const PAGE_SIZE: u64 = 50;

pub struct UserRow {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub role: String,
    pub team: String,
    pub status: &'static str,
    pub status_class: &'static str,
    pub joined: String,
    pub active: bool,
    pub is_self: bool,
}

fn status(m: &Member) -> (&'static str, &'static str) {
    match (m.active, m.has_password) {
        (false, _) => ("Deactivated", "muted"),
        (true, false) => ("Invited", "warn"),
        (true, true) => ("Active", "ok"),
    }
}

fn user_row(m: &Member, teams: &[Team], me: UserId) -> UserRow {
    let (status, status_class) = status(m);
    UserRow {
        id: m.id.uuid(),
        name: m.name.clone(),
        email: m.email.clone(),
        role: m.role_name.clone(),
        team: m
            .team_id
            .and_then(|t| teams.iter().find(|team| team.id == t))
            .map(|t| t.name.clone())
            .unwrap_or_default(),
        status,
        status_class,
        joined: date(&m.created_at),
        active: m.active,
        is_self: m.id == me,
    }
}

fn role_options(roles: &[Role], selected: &str) -> Vec<Opt> {
    options(
        roles.iter().map(|r| (r.id.to_string(), r.name.clone())),
        selected,
    )
}

fn team_options(teams: &[Team], selected: &str, none: &str) -> Vec<Opt> {
    let mut items = vec![(String::new(), none.to_owned())];
    items.extend(teams.iter().map(|t| (t.id.to_string(), t.name.clone())));
    options(items, selected)
}

/// A role or team chosen in a select: empty is none, anything else must be an id.
fn chosen<K>(text: &str, field: &str, errors: &mut FormErrors) -> Option<Id<K>> {
    if text.is_empty() {
        return None;
    }
    let id = text.parse().ok();
    if id.is_none() {
        errors.add(field, "does not exist");
    }
    id
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ListQuery {
    q: String,
    status: String,
    role: String,
    team: String,
    cursor: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct InviteForm {
    name: String,
    email: String,
    role_id: String,
    team_id: String,
    password: String,
}

#[derive(Template)]
#[template(path = "web/users.html")]
struct UsersPage {
    layout: Layout,
    rows: Vec<UserRow>,
    query: ListQuery,
    filtered: bool,
    status_options: Vec<Opt>,
    role_filter_options: Vec<Opt>,
    team_filter_options: Vec<Opt>,
    first_href: Option<String>,
    next_href: Option<String>,
    can_create: bool,
    can_update: bool,
    form: InviteForm,
    role_options: Vec<Opt>,
    team_options: Vec<Opt>,
    password_hint: String,
    errors: FormErrors,
}

async fn users_page(
    ctx: &Ctx,
    query: ListQuery,
    form: InviteForm,
    errors: FormErrors,
) -> Result<UsersPage, WebError> {
    let (store, actor) = (&ctx.app.store, &ctx.actor);
    let role_list = roles::list(store, actor).await.or_page(ctx)?;
    let team_list = teams::list(store, actor).await.or_page(ctx)?;
    let filter = MemberFilter {
        active: match query.status.as_str() {
            "active" => Some(true),
            "inactive" => Some(false),
            _ => None,
        },
        role_id: query.role.parse().ok(),
        team_id: query.team.parse().ok(),
        q: Some(query.q.trim().to_owned()).filter(|q| !q.is_empty()),
    };
    let after = Cursor::decode(&query.cursor).map(|c| c.0);
    let page = users::list(
        store,
        actor,
        &filter,
        PageRequest {
            limit: PAGE_SIZE,
            after,
        },
    )
    .await
    .or_page(ctx)?;
    let filters = [
        ("q", query.q.as_str()),
        ("status", query.status.as_str()),
        ("role", query.role.as_str()),
        ("team", query.team.as_str()),
    ];
    let next_href = page.next_cursor.map(|cursor| {
        let mut pairs = filters.to_vec();
        pairs.push(("cursor", cursor.as_str()));
        with_query("/admin/users", &pairs)
    });
    let first_href = after.map(|_| with_query("/admin/users", &filters));
    let policy = rivet_store::settings::get_system(store)
        .await
        .or_page(ctx)?;
    // Most people invited are sales reps; preselect that role on an untouched form.
    let default_role = role_list
        .iter()
        .find(|r| r.builtin && r.name == "sales")
        .or_else(|| role_list.first())
        .map(|r| r.id.to_string())
        .unwrap_or_default();
    let selected_role = if form.role_id.is_empty() {
        default_role
    } else {
        form.role_id.clone()
    };
    let mut role_filter = vec![(String::new(), "Any role".to_owned())];
    role_filter.extend(role_list.iter().map(|r| (r.id.to_string(), r.name.clone())));
    Ok(UsersPage {
        layout: ctx.layout("Users"),
        rows: page
            .data
            .iter()
            .map(|m| user_row(m, &team_list, actor.user_id))
            .collect(),
        filtered: filters.iter().any(|(_, v)| !v.is_empty()),
        status_options: options(
            [
                ("", "Any status"),
                ("active", "Active"),
                ("inactive", "Deactivated"),
            ],
            &query.status,
        ),
        role_filter_options: options(role_filter, &query.role),
        team_filter_options: team_options(&team_list, &query.team, "Any team"),
        query,
        first_href,
        next_href,
        can_create: ctx.can(Resource::Users, Action::Create),
        can_update: ctx.can(Resource::Users, Action::Update),
        role_options: role_options(&role_list, &selected_role),
        team_options: team_options(&team_list, &form.team_id, "No team"),
        form,
        password_hint: format!(
            "Leave empty to create an invitation link instead. {}",
            password_hint(&policy)
        ),
        errors,
    })
}

pub async fn index(ctx: Ctx, WebQuery(query): WebQuery<ListQuery>) -> Result<Response, WebError> {
    let page = users_page(&ctx, query, InviteForm::default(), FormErrors::new()).await?;
    Ok(ctx.render(&page))
}

#[derive(Template)]
#[template(path = "web/user_created.html")]
struct CreatedPage {
    layout: Layout,
    name: String,
    email: String,
    invitation_url: String,
}

pub async fn create(ctx: Ctx, WebForm(form): WebForm<InviteForm>) -> Result<Response, WebError> {
    let mut errors = FormErrors::new();
    let role_id = chosen(&form.role_id, "role_id", &mut errors);
    if form.role_id.is_empty() {
        errors.add("role_id", "must be chosen");
    }
    let team_id = chosen(&form.team_id, "team_id", &mut errors);
    if errors.is_empty()
        && let Some(role_id) = role_id
    {
        let body = CreateUser {
            email: form.email.clone(),
            name: form.name.clone(),
            role_id,
            team_id,
            password: Some(form.password.clone()).filter(|p| !p.is_empty()),
        };
        match create_user(&ctx.app, &ctx.actor, body).await {
            Ok(created) => {
                return Ok(match created.invitation_url {
                    Some(url) => ctx.render(&CreatedPage {
                        layout: ctx.layout("Invitation created"),
                        name: created.user.name,
                        email: created.user.email,
                        invitation_url: url,
                    }),
                    None => ctx.done(
                        "/admin/users",
                        format!("Added {} ({}).", created.user.name, created.user.email),
                    ),
                });
            }
            Err(err) => errors
                .absorb(err, &["name", "email", "role_id", "team_id", "password"])
                .or_page(&ctx)?,
        }
    }
    let page = users_page(&ctx, ListQuery::default(), form, errors).await?;
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct EditForm {
    name: String,
    role_id: String,
    team_id: String,
}

#[derive(Template)]
#[template(path = "web/user_edit.html")]
struct EditPage {
    layout: Layout,
    user: UserRow,
    form: EditForm,
    role_options: Vec<Opt>,
    team_options: Vec<Opt>,
    can_update: bool,
    history_href: Option<String>,
    errors: FormErrors,
}

async fn edit_page(
    ctx: &Ctx,
    member: &Member,
    form: EditForm,
    errors: FormErrors,
) -> Result<EditPage, WebError> {
    let role_list = roles::list(&ctx.app.store, &ctx.actor).await.or_page(ctx)?;
    let team_list = teams::list(&ctx.app.store, &ctx.actor).await.or_page(ctx)?;
    Ok(EditPage {
        layout: ctx.layout(member.name.clone()),
        user: user_row(member, &team_list, ctx.actor.user_id),
        role_options: role_options(&role_list, &form.role_id),
        team_options: team_options(&team_list, &form.team_id, "No team"),
        form,
        can_update: ctx.can(Resource::Users, Action::Update),
        history_href: ctx.can(Resource::Audit, Action::Read).then(|| {
            with_query(
                "/admin/audit",
                &[
                    ("resource", "users"),
                    ("resource_id", &member.id.to_string()),
                ],
            )
        }),
        errors,
    })
}

pub async fn edit(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let id = parse_id(&id).or_page(&ctx)?;
    let member = users::get(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    let form = EditForm {
        name: member.name.clone(),
        role_id: member.role_id.to_string(),
        team_id: member.team_id.map(|t| t.to_string()).unwrap_or_default(),
    };
    let page = edit_page(&ctx, &member, form, FormErrors::new()).await?;
    Ok(ctx.render(&page))
}

pub async fn update(
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(form): WebForm<EditForm>,
) -> Result<Response, WebError> {
    let id = parse_id(&id).or_page(&ctx)?;
    let member = users::get(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    let mut errors = FormErrors::new();
    let role_id = chosen(&form.role_id, "role_id", &mut errors);
    let team_id = chosen(&form.team_id, "team_id", &mut errors);
    if errors.is_empty() {
        let body = UpdateUser {
            name: Some(form.name.clone()),
            role_id,
            team_id: Some(team_id),
            active: None,
        };
        match update_user(&ctx.app, &ctx.actor, id, body).await {
            Ok(member) => {
                return Ok(ctx.done(
                    &format!("/admin/users/{id}"),
                    format!("Saved {}.", member.name),
                ));
            }
            Err(err) => errors
                .absorb(err, &["name", "role_id", "team_id"])
                .or_page(&ctx)?,
        }
    }
    let page = edit_page(&ctx, &member, form, errors).await?;
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ActiveForm {
    active: String,
    back: String,
}

/// Deactivate (ending the member's sessions at once) or reactivate.
pub async fn set_active(
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(form): WebForm<ActiveForm>,
) -> Result<Response, WebError> {
    let id = parse_id(&id).or_page(&ctx)?;
    let back = if form.back == "edit" {
        format!("/admin/users/{id}")
    } else {
        "/admin/users".to_owned()
    };
    let active = form.active == "true";
    let body = UpdateUser {
        active: Some(active),
        ..UpdateUser::default()
    };
    match update_user(&ctx.app, &ctx.actor, id, body).await {
        Ok(member) if active => Ok(ctx.done(&back, format!("Reactivated {}.", member.name))),
        Ok(member) => Ok(ctx.done(
            &back,
            format!("Deactivated {}; their sessions have ended.", member.name),
        )),
        Err(err) => {
            let mut errors = FormErrors::new();
            errors.absorb(err, &[]).or_page(&ctx)?;
            Ok(ctx.refused(&back, errors.general.join(" ")))
        }
    }
}
