//! The teams pages: the list with member counts and a form for a new team, and one team's page
//! (rename, change manager, members, delete). Creating goes through `crate::api::teams::create_team`.

use super::view::{Ctx, FormErrors, Layout, Opt, OrPage, WebError, WebForm, options, with_query};
use crate::api::teams::{CreateTeam, create_team};
use crate::http::error::AppError;
use crate::http::extract::parse_id;
use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use rivet_domain::ids::UserId;
use rivet_domain::validate::parse_name;
use rivet_domain::{Action, FieldErrors, Resource};
use rivet_store::page::{MAX_LIMIT, PageRequest};
use rivet_store::teams::{self, Team};
use rivet_store::users::{self, Member, MemberFilter};
use serde::Deserialize;
use uuid::Uuid;

pub struct TeamRow {
    pub id: Uuid,
    pub name: String,
    pub manager: String,
    pub members: usize,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct TeamForm {
    name: String,
    manager_id: String,
}

/// The company's active members, when the caller may see them (for names and the manager list).
async fn members(ctx: &Ctx) -> Result<Option<Vec<Member>>, WebError> {
    if !ctx.can(Resource::Users, Action::Read) {
        return Ok(None);
    }
    let page = PageRequest {
        limit: MAX_LIMIT,
        after: None,
    };
    let list = users::list(&ctx.app.store, &ctx.actor, &MemberFilter::default(), page)
        .await
        .or_page(ctx)?;
    Ok(Some(list.data))
}

fn manager_options(members: Option<&[Member]>, selected: &str) -> Vec<Opt> {
    let mut items = vec![(String::new(), "No manager".to_owned())];
    if let Some(members) = members {
        let mut active: Vec<&Member> = members.iter().filter(|m| m.active).collect();
        active.sort_by_key(|m| m.name.to_lowercase());
        items.extend(
            active
                .iter()
                .map(|m| (m.id.to_string(), format!("{} ({})", m.name, m.email))),
        );
    }
    options(items, selected)
}

fn manager_name(team: &Team, members: Option<&[Member]>) -> String {
    match (team.manager_id, members) {
        (None, _) => String::new(),
        (Some(id), Some(members)) => members
            .iter()
            .find(|m| m.id == id)
            .map(|m| m.name.clone())
            .unwrap_or_else(|| id.to_string()),
        (Some(id), None) => id.to_string(),
    }
}

#[derive(Template)]
#[template(path = "web/teams.html")]
struct TeamsPage {
    layout: Layout,
    teams: Vec<TeamRow>,
    show_counts: bool,
    can_create: bool,
    form: TeamForm,
    manager_options: Vec<Opt>,
    errors: FormErrors,
}

async fn teams_page(ctx: &Ctx, form: TeamForm, errors: FormErrors) -> Result<TeamsPage, WebError> {
    let list = teams::list(&ctx.app.store, &ctx.actor).await.or_page(ctx)?;
    let members = members(ctx).await?;
    let members = members.as_deref();
    Ok(TeamsPage {
        layout: ctx.layout("Teams"),
        teams: list
            .iter()
            .map(|t| TeamRow {
                id: t.id.uuid(),
                name: t.name.clone(),
                manager: manager_name(t, members),
                members: members
                    .map(|ms| {
                        ms.iter()
                            .filter(|m| m.active && m.team_id == Some(t.id))
                            .count()
                    })
                    .unwrap_or(0),
            })
            .collect(),
        show_counts: members.is_some(),
        can_create: ctx.can(Resource::Teams, Action::Create),
        manager_options: manager_options(members, &form.manager_id),
        form,
        errors,
    })
}

pub async fn index(ctx: Ctx) -> Result<Response, WebError> {
    let page = teams_page(&ctx, TeamForm::default(), FormErrors::new()).await?;
    Ok(ctx.render(&page))
}

fn manager_choice(text: &str, errors: &mut FormErrors) -> Option<UserId> {
    if text.is_empty() {
        return None;
    }
    let id = text.parse().ok();
    if id.is_none() {
        errors.add("manager_id", "is not a member");
    }
    id
}

pub async fn create(ctx: Ctx, WebForm(form): WebForm<TeamForm>) -> Result<Response, WebError> {
    let mut errors = FormErrors::new();
    let manager_id = manager_choice(&form.manager_id, &mut errors);
    if errors.is_empty() {
        let body = CreateTeam {
            name: form.name.clone(),
            manager_id,
        };
        match create_team(&ctx.app, &ctx.actor, body).await {
            Ok(team) => {
                return Ok(ctx.done("/admin/teams", format!("Created the team {}.", team.name)));
            }
            Err(err) => errors.absorb(err, &["name", "manager_id"]).or_page(&ctx)?,
        }
    }
    let page = teams_page(&ctx, form, errors).await?;
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

pub struct MemberRow {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub role: String,
}

#[derive(Template)]
#[template(path = "web/team_edit.html")]
struct TeamPage {
    layout: Layout,
    team_id: Uuid,
    team_name: String,
    manager: String,
    members: Option<Vec<MemberRow>>,
    members_href: String,
    can_update: bool,
    can_delete: bool,
    form: TeamForm,
    manager_options: Vec<Opt>,
    history_href: Option<String>,
    errors: FormErrors,
}

async fn team_page(
    ctx: &Ctx,
    team: &Team,
    form: TeamForm,
    errors: FormErrors,
) -> Result<TeamPage, WebError> {
    let all = members(ctx).await?;
    let all = all.as_deref();
    Ok(TeamPage {
        layout: ctx.layout(format!("Team {}", team.name)),
        team_id: team.id.uuid(),
        team_name: team.name.clone(),
        manager: manager_name(team, all),
        members: all.map(|ms| {
            ms.iter()
                .filter(|m| m.active && m.team_id == Some(team.id))
                .map(|m| MemberRow {
                    id: m.id.uuid(),
                    name: m.name.clone(),
                    email: m.email.clone(),
                    role: m.role_name.clone(),
                })
                .collect()
        }),
        members_href: with_query("/admin/users", &[("team", &team.id.to_string())]),
        can_update: ctx.can(Resource::Teams, Action::Update),
        can_delete: ctx.can(Resource::Teams, Action::Delete),
        manager_options: manager_options(all, &form.manager_id),
        form,
        history_href: ctx.can(Resource::Audit, Action::Read).then(|| {
            with_query(
                "/admin/audit",
                &[("resource", "teams"), ("resource_id", &team.id.to_string())],
            )
        }),
        errors,
    })
}

async fn load_team(ctx: &Ctx, id: &str) -> Result<Team, WebError> {
    let id = parse_id(id).or_page(ctx)?;
    teams::get(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(ctx)
}

pub async fn edit(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let team = load_team(&ctx, &id).await?;
    let form = TeamForm {
        name: team.name.clone(),
        manager_id: team.manager_id.map(|m| m.to_string()).unwrap_or_default(),
    };
    let page = team_page(&ctx, &team, form, FormErrors::new()).await?;
    Ok(ctx.render(&page))
}

pub async fn update(
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(form): WebForm<TeamForm>,
) -> Result<Response, WebError> {
    let team = load_team(&ctx, &id).await?;
    let mut errors = FormErrors::new();
    let manager_id = manager_choice(&form.manager_id, &mut errors);
    let mut field_errors = FieldErrors::new();
    // The same rule as `PATCH /teams/{id}`.
    let name = field_errors.check("name", parse_name(&form.name, 100));
    errors
        .absorb(AppError::Validation(field_errors), &["name"])
        .or_page(&ctx)?;
    if errors.is_empty() {
        match teams::update(
            &ctx.app.store,
            &ctx.actor,
            team.id,
            name.as_deref(),
            Some(manager_id),
        )
        .await
        {
            Ok(saved) => {
                return Ok(ctx.done(
                    &format!("/admin/teams/{}", team.id),
                    format!("Saved the team {}.", saved.name),
                ));
            }
            Err(err) => errors
                .absorb(err.into(), &["name", "manager_id"])
                .or_page(&ctx)?,
        }
    }
    let page = team_page(&ctx, &team, form, errors).await?;
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

pub async fn delete(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let team = load_team(&ctx, &id).await?;
    teams::delete(&ctx.app.store, &ctx.actor, team.id)
        .await
        .or_page(&ctx)?;
    Ok(ctx.done(
        "/admin/teams",
        format!(
            "Deleted the team {}; its members now have no team.",
            team.name
        ),
    ))
}
