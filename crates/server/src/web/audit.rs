//! The audit log page (filters by resource, record, actor, action and dates; keyset pages), and
//! the rows it shows, which the home page reuses: ids turned into names the caller may see,
//! changed fields flattened into `field: before → after`.

use super::view::{
    Ctx, FormErrors, Opt, OrPage, WebError, WebQuery, ago, datetime, iso, options, resource_label,
    with_query,
};
use askama::Template;
use axum::response::Response;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rivet_domain::{Action, Resource};
use rivet_store::audit::{AuditEntry, AuditFilter};
use rivet_store::page::PageRequest;
use rivet_store::users::MemberFilter;
use rivet_store::{Cursor, api_keys, roles, teams, users};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use uuid::Uuid;

const PAGE_SIZE: u64 = 50;

pub struct ChangeRow {
    pub field: String,
    pub before: String,
    pub after: String,
}

pub struct AuditRow {
    pub iso: String,
    pub when: String,
    pub ago: String,
    pub actor: String,
    /// The actor's e-mail address, shown under the name.
    pub actor_detail: String,
    pub action: String,
    pub action_class: &'static str,
    pub resource: String,
    pub target: String,
    pub target_href: Option<String>,
    pub changes: Vec<ChangeRow>,
}

/// Names of the company's members, roles, teams and keys, as far as the caller may read them.
#[derive(Default)]
pub struct Names {
    members: HashMap<Uuid, (String, String)>,
    roles: HashMap<Uuid, String>,
    teams: HashMap<Uuid, String>,
    keys: HashMap<Uuid, String>,
}

impl Names {
    pub async fn load(ctx: &Ctx) -> Result<Self, WebError> {
        let (store, actor) = (&ctx.app.store, &ctx.actor);
        let mut names = Self::default();
        if ctx.can(Resource::Users, Action::Read) {
            let page = PageRequest {
                limit: rivet_store::page::MAX_LIMIT,
                after: None,
            };
            let members = users::list(store, actor, &MemberFilter::default(), page)
                .await
                .or_page(ctx)?;
            names.members = members
                .data
                .into_iter()
                .map(|m| (m.id.uuid(), (m.name, m.email)))
                .collect();
        }
        if ctx.can(Resource::Roles, Action::Read) {
            names.roles = roles::list(store, actor)
                .await
                .or_page(ctx)?
                .into_iter()
                .map(|r| (r.id.uuid(), r.name))
                .collect();
        }
        if ctx.can(Resource::Teams, Action::Read) {
            names.teams = teams::list(store, actor)
                .await
                .or_page(ctx)?
                .into_iter()
                .map(|t| (t.id.uuid(), t.name))
                .collect();
        }
        if ctx.can(Resource::ApiKeys, Action::Read) {
            names.keys = api_keys::list(store, actor)
                .await
                .or_page(ctx)?
                .into_iter()
                .map(|k| (k.id.uuid(), format!("{} ({}…)", k.name, k.prefix)))
                .collect();
        }
        Ok(names)
    }

    /// A name for an id found anywhere (a change's `role_id`, a target), if it is known.
    fn any(&self, id: Uuid) -> Option<String> {
        self.members
            .get(&id)
            .map(|(name, _)| name.clone())
            .or_else(|| self.roles.get(&id).cloned())
            .or_else(|| self.teams.get(&id).cloned())
            .or_else(|| self.keys.get(&id).cloned())
    }

    /// The people who appear in the log, for the actor filter.
    fn member_options(&self, selected: &str) -> Vec<Opt> {
        let mut members: Vec<(String, String)> = self
            .members
            .iter()
            .map(|(id, (name, email))| (id.to_string(), format!("{name} ({email})")))
            .collect();
        members.sort_by_key(|m| m.1.to_lowercase());
        let mut all = vec![(String::new(), "Anyone".to_owned())];
        all.extend(members);
        options(all, selected)
    }
}

fn display(value: &Value, names: &Names) -> String {
    let text = match value {
        Value::Null => "—".to_owned(),
        Value::Bool(true) => "yes".to_owned(),
        Value::Bool(false) => "no".to_owned(),
        Value::String(s) => match Uuid::parse_str(s).ok().and_then(|id| names.any(id)) {
            Some(name) => name,
            None => s.clone(),
        },
        Value::Number(n) => n.to_string(),
        Value::Array(items) => items
            .iter()
            .map(|v| display(v, names))
            .collect::<Vec<_>>()
            .join(", "),
        Value::Object(_) => value.to_string(),
    };
    if text.chars().count() > 200 {
        let mut cut: String = text.chars().take(199).collect();
        cut.push('…');
        cut
    } else {
        text
    }
}

/// Nested objects (a role's permissions) become one row per changed key.
fn flatten(field: &str, before: &Value, after: &Value, names: &Names, out: &mut Vec<ChangeRow>) {
    let empty = serde_json::Map::new();
    let as_map = |v: &Value| match v {
        Value::Object(map) => Some(map.clone()),
        Value::Null => Some(empty.clone()),
        _ => None,
    };
    let nested = before.is_object() || after.is_object();
    if let (true, Some(b), Some(a)) = (nested, as_map(before), as_map(after)) {
        let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
        keys.sort();
        keys.dedup();
        for key in keys {
            let old = b.get(key).unwrap_or(&Value::Null);
            let new = a.get(key).unwrap_or(&Value::Null);
            if old != new {
                flatten(&format!("{field} › {key}"), old, new, names, out);
            }
        }
        return;
    }
    out.push(ChangeRow {
        field: field.to_owned(),
        before: display(before, names),
        after: display(after, names),
    });
}

fn change_rows(changes: &Value, names: &Names) -> Vec<ChangeRow> {
    let mut out = Vec::new();
    if let Value::Object(fields) = changes {
        for (field, change) in fields {
            let before = change.get("before").unwrap_or(&Value::Null);
            let after = change.get("after").unwrap_or(&Value::Null);
            flatten(field, before, after, names, &mut out);
        }
    }
    out
}

pub fn row(entry: &AuditEntry, names: &Names) -> AuditRow {
    let (mut actor, actor_detail) = match (entry.actor_api_key_id, entry.actor_user_id) {
        (Some(key), _) => (
            format!(
                "API key {}",
                names
                    .keys
                    .get(&key)
                    .cloned()
                    .unwrap_or_else(|| key.to_string())
            ),
            String::new(),
        ),
        (None, Some(user)) => match names.members.get(&user) {
            Some((name, email)) => (name.clone(), email.clone()),
            None => (user.to_string(), String::new()),
        },
        (None, None) => ("System".into(), String::new()),
    };
    // A change an automated process made for someone says so first.
    if let Some(via) = &entry.actor_via {
        actor = format!("System ({via}) for {actor}");
    }
    let resource = entry.resource.parse::<Resource>().ok();
    let id = Uuid::parse_str(&entry.resource_id).ok();
    let target_href = match (resource, id) {
        (Some(Resource::Users), Some(id)) => Some(format!("/admin/users/{id}")),
        (Some(Resource::Roles), Some(id)) if names.roles.contains_key(&id) => {
            Some(format!("/admin/roles/{id}"))
        }
        (Some(Resource::Teams), Some(id)) if names.teams.contains_key(&id) => {
            Some(format!("/admin/teams/{id}"))
        }
        (Some(Resource::Settings), _) => Some("/settings".into()),
        _ => None,
    };
    let target = match (resource, id) {
        (Some(Resource::Settings), _) => String::new(),
        (_, Some(id)) => names.any(id).unwrap_or_else(|| entry.resource_id.clone()),
        _ => entry.resource_id.clone(),
    };
    AuditRow {
        iso: iso(&entry.created_at),
        when: datetime(&entry.created_at),
        ago: ago(&entry.created_at),
        actor,
        actor_detail,
        action: entry.action.replace('_', " "),
        action_class: match entry.action.as_str() {
            "create" => "create",
            "update" => "update",
            "delete" => "delete",
            _ => "other",
        },
        resource: resource
            .map(resource_label)
            .map(str::to_owned)
            .unwrap_or_else(|| super::view::capitalise(&entry.resource.replace('_', " "))),
        target,
        target_href,
        changes: change_rows(&entry.changes, names),
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct AuditQuery {
    resource: String,
    resource_id: String,
    actor: String,
    action: String,
    from: String,
    to: String,
    cursor: String,
}

#[derive(Template)]
#[template(path = "web/audit.html")]
struct AuditPage {
    layout: super::view::Layout,
    rows: Vec<AuditRow>,
    resource_options: Vec<Opt>,
    action_options: Vec<Opt>,
    actor_options: Vec<Opt>,
    query: AuditQuery,
    filtered: bool,
    errors: FormErrors,
    first_href: Option<String>,
    next_href: Option<String>,
}

const ACTIONS: &[&str] = &[
    "create",
    "update",
    "delete",
    "accept_invitation",
    "cancel",
    "retry",
];

fn parse_day(text: &str, field: &str, errors: &mut FormErrors) -> Option<DateTime<Utc>> {
    if text.is_empty() {
        return None;
    }
    match NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(day) => day.and_hms_opt(0, 0, 0).map(|t| t.and_utc()),
        Err(_) => {
            errors.add(field, "must be a date such as 2025-01-31");
            None
        }
    }
}

pub async fn index(ctx: Ctx, WebQuery(query): WebQuery<AuditQuery>) -> Result<Response, WebError> {
    let mut errors = FormErrors::new();
    let resource = match query.resource.as_str() {
        "" => None,
        text => match text.parse::<Resource>() {
            Ok(r) => Some(r.as_str().to_owned()),
            Err(_) => {
                errors.add("resource", "is not a resource");
                None
            }
        },
    };
    let actor_user_id = match query.actor.as_str() {
        "" => None,
        text => match Uuid::parse_str(text) {
            Ok(id) => Some(id),
            Err(_) => {
                errors.add("actor", "is not a member");
                None
            }
        },
    };
    let action = Some(query.action.clone()).filter(|a| !a.is_empty());
    let from = parse_day(&query.from, "from", &mut errors);
    // The "to" day is included: the filter ends at the start of the next day.
    let to = parse_day(&query.to, "to", &mut errors).map(|t| t + Duration::days(1));
    if let (Some(f), Some(t)) = (from, to)
        && f >= t
    {
        errors.add("to", "must not be before the start date");
    }
    let after = match query.cursor.as_str() {
        "" => None,
        text => Some(
            Cursor::decode(text)
                .ok_or_else(|| {
                    ctx.fail(crate::http::error::AppError::BadRequest(
                        "the page link is not valid".into(),
                    ))
                })?
                .0,
        ),
    };
    let names = Names::load(&ctx).await?;
    let (rows, next_cursor) = if errors.is_empty() {
        let filter = AuditFilter {
            resource,
            resource_id: Some(query.resource_id.trim().to_owned()).filter(|r| !r.is_empty()),
            actor_user_id,
            action,
            from,
            to,
        };
        let page = rivet_store::audit::list(
            &ctx.app.store,
            &ctx.actor,
            &filter,
            PageRequest {
                limit: PAGE_SIZE,
                after,
            },
        )
        .await
        .or_page(&ctx)?;
        (
            page.data.iter().map(|e| row(e, &names)).collect(),
            page.next_cursor,
        )
    } else {
        (Vec::new(), None)
    };
    let filters = [
        ("resource", query.resource.as_str()),
        ("resource_id", query.resource_id.as_str()),
        ("actor", query.actor.as_str()),
        ("action", query.action.as_str()),
        ("from", query.from.as_str()),
        ("to", query.to.as_str()),
    ];
    let next_href = next_cursor.map(|cursor| {
        let mut pairs = filters.to_vec();
        pairs.push(("cursor", cursor.as_str()));
        with_query("/admin/audit", &pairs)
    });
    let first_href = (!query.cursor.is_empty()).then(|| with_query("/admin/audit", &filters));
    let mut resources = vec![(String::new(), "Any resource".to_owned())];
    resources.extend(
        Resource::ALL
            .iter()
            .map(|r| (r.as_str().to_owned(), resource_label(*r).to_owned())),
    );
    let mut actions = vec![(String::new(), "Any action".to_owned())];
    actions.extend(
        ACTIONS
            .iter()
            .map(|a| ((*a).to_owned(), a.replace('_', " "))),
    );
    let page = AuditPage {
        layout: ctx.layout("Audit log"),
        rows,
        resource_options: options(resources, &query.resource),
        action_options: options(actions, &query.action),
        actor_options: names.member_options(&query.actor),
        filtered: filters.iter().any(|(_, v)| !v.is_empty()),
        query,
        errors,
        first_href,
        next_href,
    };
    Ok(ctx.render(&page))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_changes_become_one_row_per_key() {
        let names = Names::default();
        let changes = json!({
            "permissions": {
                "before": {"leads.read": "all", "leads.delete": "own"},
                "after": {"leads.read": "all", "leads.delete": null}
            },
            "name": {"before": null, "after": "Field sales"}
        });
        let rows = change_rows(&changes, &names);
        let text: Vec<String> = rows
            .iter()
            .map(|r| format!("{}: {} → {}", r.field, r.before, r.after))
            .collect();
        assert_eq!(
            text,
            [
                "name: — → Field sales",
                "permissions › leads.delete: own → —"
            ]
        );
    }
}
