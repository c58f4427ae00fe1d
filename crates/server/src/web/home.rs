//! The home page: the company, a few counts the caller may see, shortcuts, and recent activity.

use super::audit::{AuditRow, Names, row};
use super::view::{Ctx, Layout, OrPage, WebError};
use askama::Template;
use axum::response::Response;
use rivet_domain::{Action, Resource};
use rivet_store::audit::AuditFilter;
use rivet_store::page::{MAX_LIMIT, PageRequest};
use rivet_store::users::MemberFilter;
use rivet_store::{api_keys, roles, teams, users};

pub struct Card {
    pub label: &'static str,
    pub value: String,
    pub href: &'static str,
    pub hint: String,
}

pub struct Shortcut {
    pub label: &'static str,
    pub href: &'static str,
}

#[derive(Template)]
#[template(path = "web/home.html")]
struct HomePage {
    layout: Layout,
    first_name: String,
    cards: Vec<Card>,
    shortcuts: Vec<Shortcut>,
    can_audit: bool,
    recent: Vec<AuditRow>,
}

fn count(n: usize, more: bool) -> String {
    if more { format!("{n}+") } else { n.to_string() }
}

pub async fn show(ctx: Ctx) -> Result<Response, WebError> {
    let (store, actor) = (&ctx.app.store, &ctx.actor);
    let mut cards = Vec::new();
    if ctx.can(Resource::Users, Action::Read) {
        let filter = MemberFilter {
            active: Some(true),
            ..MemberFilter::default()
        };
        let page = PageRequest {
            limit: MAX_LIMIT,
            after: None,
        };
        let members = users::list(store, actor, &filter, page)
            .await
            .or_page(&ctx)?;
        let invited = members.data.iter().filter(|m| !m.has_password).count();
        cards.push(Card {
            label: "Active members",
            value: count(members.data.len(), members.next_cursor.is_some()),
            href: "/admin/users",
            hint: if invited > 0 {
                format!("{invited} invited, not yet signed in")
            } else {
                "Everyone has signed in".into()
            },
        });
    }
    if ctx.can(Resource::Teams, Action::Read) {
        let list = teams::list(store, actor).await.or_page(&ctx)?;
        cards.push(Card {
            label: "Teams",
            value: list.len().to_string(),
            href: "/admin/teams",
            hint: "Groups for team-scoped access".into(),
        });
    }
    if ctx.can(Resource::Roles, Action::Read) {
        let list = roles::list(store, actor).await.or_page(&ctx)?;
        let custom = list.iter().filter(|r| !r.builtin).count();
        cards.push(Card {
            label: "Roles",
            value: list.len().to_string(),
            href: "/admin/roles",
            hint: format!("{custom} custom"),
        });
    }
    if ctx.can(Resource::ApiKeys, Action::Read) {
        let list = api_keys::list(store, actor).await.or_page(&ctx)?;
        let active = list.iter().filter(|k| k.revoked_at.is_none()).count();
        cards.push(Card {
            label: "Active API keys",
            value: active.to_string(),
            href: "/admin/api-keys",
            hint: format!("{} revoked", list.len() - active),
        });
    }
    let mut shortcuts = Vec::new();
    for (resource, action, label, href) in [
        (
            Resource::Users,
            Action::Create,
            "Invite a user",
            "/admin/users#invite",
        ),
        (
            Resource::Teams,
            Action::Create,
            "Create a team",
            "/admin/teams#new-team",
        ),
        (
            Resource::Roles,
            Action::Update,
            "Edit role permissions",
            "/admin/roles",
        ),
        (
            Resource::ApiKeys,
            Action::Create,
            "Create an API key",
            "/admin/api-keys#new-key",
        ),
        (
            Resource::Settings,
            Action::Update,
            "Company settings",
            "/settings",
        ),
    ] {
        if ctx.can(resource, action) {
            shortcuts.push(Shortcut { label, href });
        }
    }
    let can_audit = ctx.can(Resource::Audit, Action::Read);
    let recent = if can_audit {
        let names = Names::load(&ctx).await?;
        let page = rivet_store::audit::list(
            store,
            actor,
            &AuditFilter::default(),
            PageRequest {
                limit: 8,
                after: None,
            },
        )
        .await
        .or_page(&ctx)?;
        page.data.iter().map(|e| row(e, &names)).collect()
    } else {
        Vec::new()
    };
    let page = HomePage {
        layout: ctx.layout("Home"),
        first_name: ctx
            .user_name
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_owned(),
        cards,
        shortcuts,
        can_audit,
        recent,
    };
    Ok(ctx.render(&page))
}
