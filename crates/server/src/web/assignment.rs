//! Administration › Assignment rules (issue 13 §3): the company's lead rules in order with
//! move up / down and delete, the fallback owner, a "test this rule" box (field values in, the
//! rule that matches and who would get the lead out — nothing saved, no turn taken), and one
//! form to create or edit a rule (condition rows, the action, the follow-up task). Every change
//! goes through the API's functions (`crate::api::assignment`), so the page and the API check
//! the same rules.

use super::view::{Ctx, FormErrors, Layout, Opt, OrPage, WebError, WebForm, options};
use crate::api::assignment::{create_rule, test_record, update_rule};
use crate::http::error::AppError;
use crate::http::extract::parse_id;
use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use rivet_domain::assignment::{ActionInput, AssignmentEntity, CreateTaskInput, RuleInput};
use rivet_domain::ids::{AssignmentRuleId, TeamId, UserId};
use rivet_domain::{Action, FieldError, FieldErrors, Resource};
use rivet_store::assignment::{self as store, Assignment, AssignmentRule};
use rivet_store::page::{MAX_LIMIT, PageRequest};
use rivet_store::teams;
use rivet_store::users::{self, MemberFilter};
use serde_json::{Map, Value};
use std::collections::HashMap;
use uuid::Uuid;

const ENTITY: AssignmentEntity = AssignmentEntity::Leads;
const LIST: &str = "/admin/assignment-rules";
/// Blank condition rows a form offers beyond the rule's own.
const SPARE_ROWS: usize = 2;
/// The fields the test box asks for.
const TEST_FIELDS: &[(&str, &str)] = &[
    ("country", "Country"),
    ("region", "Region"),
    ("source", "Source"),
    ("industry", "Industry"),
    ("company_name", "Company"),
    ("employee_count", "Employees"),
    ("annual_revenue", "Annual revenue"),
    ("total_score", "Total score"),
    ("status", "Status"),
];

/// Names of the company's active members and teams, for showing and choosing them (the
/// assignment rules' pages, the workflow builder's task assignee).
pub(super) struct People {
    pub(super) members: Vec<(UserId, String)>,
    pub(super) teams: Vec<(TeamId, String)>,
}

impl People {
    pub(super) async fn load(ctx: &Ctx) -> Result<Self, WebError> {
        let members = if ctx.can(Resource::Users, Action::Read) {
            let page = PageRequest {
                limit: MAX_LIMIT,
                after: None,
            };
            let filter = MemberFilter {
                active: Some(true),
                ..MemberFilter::default()
            };
            let mut list: Vec<(UserId, String)> =
                users::list(&ctx.app.store, &ctx.actor, &filter, page)
                    .await
                    .or_page(ctx)?
                    .data
                    .into_iter()
                    .map(|m| (m.id, format!("{} ({})", m.name, m.email)))
                    .collect();
            list.sort_by_key(|(_, name)| name.to_lowercase());
            list
        } else {
            Vec::new()
        };
        let teams = if ctx.can(Resource::Teams, Action::Read) {
            teams::list(&ctx.app.store, &ctx.actor)
                .await
                .or_page(ctx)?
                .into_iter()
                .map(|t| (t.id, t.name))
                .collect()
        } else {
            Vec::new()
        };
        Ok(Self { members, teams })
    }

    /// The members as a select's items (value: the id), after a first, empty one saying `none`.
    pub(super) fn member_items(&self, none: &str) -> Vec<(String, String)> {
        let mut items = vec![(String::new(), none.to_owned())];
        items.extend(
            self.members
                .iter()
                .map(|(id, name)| (id.to_string(), name.clone())),
        );
        items
    }

    fn user(&self, id: UserId) -> String {
        self.members
            .iter()
            .find(|(m, _)| *m == id)
            .map(|(_, name)| name.clone())
            .unwrap_or_else(|| id.to_string())
    }

    fn team(&self, id: TeamId) -> String {
        self.teams
            .iter()
            .find(|(t, _)| *t == id)
            .map(|(_, name)| format!("the team {name}"))
            .unwrap_or_else(|| format!("the team {id}"))
    }
}

fn action_text(action: &ActionInput, people: &People) -> String {
    let pool = || match (&action.user_ids, action.team_id) {
        (_, Some(team)) => people.team(team),
        (Some(users), None) => users
            .iter()
            .map(|u| people.user(*u))
            .collect::<Vec<_>>()
            .join(", "),
        (None, None) => String::new(),
    };
    match action.kind.as_str() {
        "user" => format!(
            "Assign to {}",
            action.user_id.map(|u| people.user(u)).unwrap_or_default()
        ),
        "round_robin" => format!("Round robin over {}", pool()),
        "least_loaded" => format!("Least loaded of {}", pool()),
        other => other.to_owned(),
    }
}

pub struct RuleRow {
    pub id: Uuid,
    pub position: i32,
    pub name: String,
    pub active: bool,
    pub conditions: String,
    pub action: String,
    pub task: String,
    pub first: bool,
    pub last: bool,
}

pub struct TestField {
    pub name: &'static str,
    pub label: &'static str,
    pub value: String,
}

#[derive(Template)]
#[template(path = "web/assignment_rules.html")]
struct RulesPage {
    layout: Layout,
    rules: Vec<RuleRow>,
    can_update: bool,
    fallback_options: Vec<Opt>,
    test_fields: Vec<TestField>,
    test_result: Option<String>,
    errors: FormErrors,
}

async fn rules_page(
    ctx: &Ctx,
    test_values: &HashMap<String, String>,
    test_result: Option<String>,
    errors: FormErrors,
) -> Result<RulesPage, WebError> {
    let rules = store::list(&ctx.app.store, &ctx.actor, ENTITY)
        .await
        .or_page(ctx)?;
    let settings = store::settings(&ctx.app.store, &ctx.actor, ENTITY)
        .await
        .or_page(ctx)?;
    let people = People::load(ctx).await?;
    let count = rules.len();
    let selected = settings
        .fallback_owner_id
        .map(|u| u.to_string())
        .unwrap_or_default();
    let mut fallback = vec![(
        String::new(),
        "Nobody: the creator keeps the lead".to_owned(),
    )];
    fallback.extend(
        people
            .members
            .iter()
            .map(|(id, n)| (id.to_string(), n.clone())),
    );
    Ok(RulesPage {
        layout: ctx.layout("Assignment rules"),
        rules: rules
            .iter()
            .enumerate()
            .map(|(i, r)| RuleRow {
                id: r.id.uuid(),
                position: r.position,
                name: r.name.clone(),
                active: r.active,
                conditions: if r.conditions.is_empty() {
                    "Every lead".to_owned()
                } else {
                    r.conditions
                        .iter()
                        .map(super::conditions::describe)
                        .collect::<Vec<_>>()
                        .join("; and ")
                },
                action: action_text(&r.action, &people),
                task: r
                    .create_task
                    .as_ref()
                    .map(|t| t.title.clone())
                    .unwrap_or_default(),
                first: i == 0,
                last: i + 1 == count,
            })
            .collect(),
        can_update: ctx.can(Resource::Settings, Action::Update),
        fallback_options: options(fallback, &selected),
        test_fields: TEST_FIELDS
            .iter()
            .map(|(name, label)| TestField {
                name,
                label,
                value: test_values
                    .get(&format!("t_{name}"))
                    .cloned()
                    .unwrap_or_default(),
            })
            .collect(),
        test_result,
        errors,
    })
}

pub async fn index(ctx: Ctx) -> Result<Response, WebError> {
    let page = rules_page(&ctx, &HashMap::new(), None, FormErrors::new()).await?;
    Ok(ctx.render(&page))
}

/// The test box: which rule matches the values given and who would get the lead.
pub async fn test(
    ctx: Ctx,
    WebForm(form): WebForm<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let mut record = Map::new();
    for (name, _) in TEST_FIELDS {
        if let Some(value) = form.get(&format!("t_{name}")).map(|v| v.trim())
            && !value.is_empty()
        {
            record.insert((*name).to_owned(), Value::String(value.to_owned()));
        }
    }
    let mut errors = FormErrors::new();
    let result = match test_record(&ctx.app, &ctx.actor, ENTITY, &record).await {
        Ok(assignment) => Some(describe(&ctx, assignment.as_ref()).await?),
        Err(err) => {
            errors.absorb(err, &[]).or_page(&ctx)?;
            None
        }
    };
    let page = rules_page(&ctx, &form, result, errors).await?;
    Ok(ctx.render(&page))
}

async fn describe(ctx: &Ctx, assignment: Option<&Assignment>) -> Result<String, WebError> {
    let people = People::load(ctx).await?;
    Ok(match assignment {
        None => {
            "No rule matches and there is no fallback owner: the creator keeps the lead.".to_owned()
        }
        Some(a) => match &a.rule_name {
            Some(rule) => {
                let mut text = format!("The rule “{rule}” matches: {}", people.user(a.owner_id));
                if let Some(turn) = a.turn {
                    text.push_str(&format!(" (round-robin turn {})", turn + 1));
                }
                if let Some(task) = &a.task_title {
                    text.push_str(&format!(", with the task “{task}”"));
                }
                text.push('.');
                text
            }
            None => format!(
                "No rule matches: the fallback owner {} gets the lead.",
                people.user(a.owner_id)
            ),
        },
    })
}

pub async fn save_settings(
    ctx: Ctx,
    WebForm(form): WebForm<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let text = form
        .get("fallback_owner_id")
        .map(|s| s.trim())
        .unwrap_or("");
    let owner = if text.is_empty() {
        None
    } else {
        Some(
            text.parse::<UserId>()
                .map_err(|_| AppError::field("fallback_owner_id", "is not a member"))
                .or_page(&ctx)?,
        )
    };
    match store::put_settings(&ctx.app.store, &ctx.actor, ENTITY, owner).await {
        Ok(_) => Ok(ctx.done(LIST, "Saved the fallback owner.")),
        Err(err) => {
            let mut errors = FormErrors::new();
            errors
                .absorb(err.into(), &["fallback_owner_id"])
                .or_page(&ctx)?;
            let page = rules_page(&ctx, &HashMap::new(), None, errors).await?;
            Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

/// Move a rule one place up or down (`direction` = `up` or `down`).
pub async fn move_rule(
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(form): WebForm<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let id: AssignmentRuleId = parse_id(&id).or_page(&ctx)?;
    let rules = store::list(&ctx.app.store, &ctx.actor, ENTITY)
        .await
        .or_page(&ctx)?;
    let mut ids: Vec<_> = rules.iter().map(|r| r.id).collect();
    let Some(at) = ids.iter().position(|r| *r == id) else {
        return Err(ctx.fail(AppError::NotFound));
    };
    let to = match form.get("direction").map(String::as_str) {
        Some("up") if at > 0 => at - 1,
        Some("down") if at + 1 < ids.len() => at + 1,
        _ => return Ok(ctx.done(LIST, "The rule stays where it is.")),
    };
    ids.swap(at, to);
    store::reorder(&ctx.app.store, &ctx.actor, ENTITY, &ids)
        .await
        .or_page(&ctx)?;
    Ok(ctx.done(LIST, "Moved the rule."))
}

pub async fn delete(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let id = parse_id(&id).or_page(&ctx)?;
    let rule = store::get(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    store::delete(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    Ok(ctx.done(LIST, format!("Deleted the rule {}.", rule.name)))
}

// The rule form.

pub struct MemberCheck {
    pub id: String,
    pub label: String,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "web/assignment_rule_edit.html")]
struct RuleForm {
    layout: Layout,
    action_url: String,
    is_new: bool,
    name: String,
    active: bool,
    rows: Vec<CondRow>,
    kind_options: Vec<Opt>,
    user_options: Vec<Opt>,
    team_options: Vec<Opt>,
    members: Vec<MemberCheck>,
    task_title: String,
    errors: FormErrors,
}

/// The form as sent (or as the rule is): every value a string.
use super::conditions::{CondRow, Fields, get};

/// A rule's values in the form's names.
fn fields_of(rule: &AssignmentRule) -> Fields {
    let mut f = Fields::new();
    f.insert("name".into(), rule.name.clone());
    f.insert("active".into(), rule.active.to_string());
    for (i, c) in rule.conditions.iter().enumerate() {
        super::conditions::write(&mut f, &format!("c{i}"), c);
    }
    f.insert("action_kind".into(), rule.action.kind.clone());
    if let Some(user) = rule.action.user_id {
        f.insert("action_user".into(), user.to_string());
    }
    if let Some(team) = rule.action.team_id {
        f.insert("action_team".into(), team.to_string());
    }
    for user in rule.action.user_ids.iter().flatten() {
        f.insert(format!("u_{user}"), "true".into());
    }
    if let Some(task) = &rule.create_task {
        f.insert("task_title".into(), task.title.clone());
    }
    f
}

/// How many condition rows the form holds.
fn row_count(form: &Fields) -> usize {
    (0..100)
        .take_while(|i| form.contains_key(&format!("c{i}_op")))
        .count()
}

/// The rule the form describes, and for each condition the row it came from.
fn rule_input(form: &Fields) -> (RuleInput, Vec<usize>) {
    let mut conditions = Vec::new();
    let mut rows = Vec::new();
    for i in 0..row_count(form) {
        if let Some(c) = super::conditions::read(form, &format!("c{i}")) {
            conditions.push(c);
            rows.push(i);
        }
    }
    let kind = get(form, "action_kind").to_owned();
    let mut action = ActionInput {
        kind: kind.clone(),
        ..ActionInput::default()
    };
    if kind == "user" {
        action.user_id = get(form, "action_user").parse().ok();
    } else if let Ok(team) = get(form, "action_team").parse() {
        action.team_id = Some(team);
    } else {
        let users: Vec<UserId> = form
            .iter()
            .filter(|(k, v)| k.starts_with("u_") && v.as_str() == "true")
            .filter_map(|(k, _)| k.trim_start_matches("u_").parse().ok())
            .collect();
        action.user_ids = Some(users);
    }
    let title = get(form, "task_title").trim();
    let input = RuleInput {
        name: Some(get(form, "name").to_owned()),
        active: Some(get(form, "active") == "true"),
        conditions: Some(conditions),
        action: Some(action),
        create_task: Some((!title.is_empty()).then(|| CreateTaskInput {
            title: title.to_owned(),
        })),
    };
    (input, rows)
}

/// The API's error fields in the form's names (`conditions[1].gte` → `c3_gte`).
fn form_errors(err: AppError, rows: &[usize]) -> AppError {
    let AppError::Validation(errors) = err else {
        return err;
    };
    let renamed = errors
        .0
        .into_iter()
        .map(|e| {
            let field = match e.field.as_str() {
                "action.kind" => "action_kind".to_owned(),
                "action.user_id" => "action_user".to_owned(),
                "action.user_ids" => "action_users".to_owned(),
                "action.team_id" => "action_team".to_owned(),
                "create_task.title" => "task_title".to_owned(),
                other => condition_field(other, rows).unwrap_or_else(|| other.to_owned()),
            };
            FieldError {
                field,
                message: e.message,
            }
        })
        .collect();
    AppError::Validation(FieldErrors(renamed))
}

fn condition_field(field: &str, rows: &[usize]) -> Option<String> {
    let rest = field.strip_prefix("conditions[")?;
    let (index, part) = rest.split_once("].")?;
    let row = rows.get(index.parse::<usize>().ok()?)?;
    Some(super::conditions::field_name(&format!("c{row}"), part))
}

fn known_fields(rows: usize) -> Vec<String> {
    let mut names: Vec<String> = [
        "name",
        "action_kind",
        "action_user",
        "action_users",
        "action_team",
        "task_title",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for i in 0..rows {
        names.extend(super::conditions::names(&format!("c{i}")));
    }
    names
}

async fn rule_form(
    ctx: &Ctx,
    id: Option<Uuid>,
    form: &Fields,
    errors: FormErrors,
) -> Result<RuleForm, WebError> {
    let people = People::load(ctx).await?;
    let filled = row_count(form);
    let used = (0..filled)
        .filter(|i| !get(form, &format!("c{i}_op")).is_empty())
        .count();
    let rows = filled.max(used + SPARE_ROWS);
    let user_items = people.member_items("Choose a member");
    let mut team_items = vec![(String::new(), "The members ticked below".to_owned())];
    team_items.extend(
        people
            .teams
            .iter()
            .map(|(id, n)| (id.to_string(), n.clone())),
    );
    let kind = match get(form, "action_kind") {
        "" => "user",
        other => other,
    };
    Ok(RuleForm {
        layout: ctx.layout(if id.is_some() {
            "Edit assignment rule"
        } else {
            "New assignment rule"
        }),
        action_url: id.map_or_else(|| LIST.to_owned(), |id| format!("{LIST}/{id}")),
        is_new: id.is_none(),
        name: get(form, "name").to_owned(),
        active: (id.is_none() && !form.contains_key("name")) || get(form, "active") == "true",
        rows: (0..rows)
            .map(|i| super::conditions::row(form, &format!("c{i}"), i))
            .collect(),
        kind_options: options(
            [
                ("user", "Assign to one member"),
                ("round_robin", "Round robin"),
                ("least_loaded", "Least loaded (fewest open leads)"),
            ],
            kind,
        ),
        user_options: options(user_items, get(form, "action_user")),
        team_options: options(team_items, get(form, "action_team")),
        members: people
            .members
            .iter()
            .map(|(id, name)| MemberCheck {
                id: id.to_string(),
                label: name.clone(),
                checked: get(form, &format!("u_{id}")) == "true",
            })
            .collect(),
        task_title: get(form, "task_title").to_owned(),
        errors,
    })
}

pub async fn new(ctx: Ctx) -> Result<Response, WebError> {
    let page = rule_form(&ctx, None, &Fields::new(), FormErrors::new()).await?;
    Ok(ctx.render(&page))
}

pub async fn edit(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let id = parse_id(&id).or_page(&ctx)?;
    let rule = store::get(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    let page = rule_form(&ctx, Some(id.uuid()), &fields_of(&rule), FormErrors::new()).await?;
    Ok(ctx.render(&page))
}

async fn save(ctx: Ctx, id: Option<String>, form: Fields) -> Result<Response, WebError> {
    let id = match id {
        Some(id) => Some(parse_id(&id).or_page(&ctx)?),
        None => None,
    };
    let (input, rows) = rule_input(&form);
    let saved = match id {
        Some(id) => update_rule(&ctx.app, &ctx.actor, id, input).await,
        None => create_rule(&ctx.app, &ctx.actor, ENTITY, input).await,
    };
    match saved {
        Ok(rule) => Ok(ctx.done(LIST, format!("Saved the rule {}.", rule.name))),
        Err(err) => {
            let mut errors = FormErrors::new();
            let known = known_fields(row_count(&form));
            let known: Vec<&str> = known.iter().map(String::as_str).collect();
            errors
                .absorb(form_errors(err, &rows), &known)
                .or_page(&ctx)?;
            let page = rule_form(&ctx, id.map(|i| i.uuid()), &form, errors).await?;
            Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

pub async fn create(ctx: Ctx, WebForm(form): WebForm<Fields>) -> Result<Response, WebError> {
    save(ctx, None, form).await
}

pub async fn update(
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(form): WebForm<Fields>,
) -> Result<Response, WebError> {
    save(ctx, Some(id), form).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_becomes_the_rule_it_shows_and_errors_find_their_row() {
        let form: Fields = [
            ("name", "DACH"),
            ("active", "true"),
            ("c0_op", ""),
            ("c1_op", "territory"),
            ("c1_value", "DE, AT"),
            ("c1_regions", ""),
            ("c2_op", "range"),
            ("c2_field", "employee_count"),
            ("c2_gte", "10"),
            ("c2_lte", ""),
            ("action_kind", "round_robin"),
            ("action_team", ""),
            ("task_title", "Call"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let (input, rows) = rule_input(&form);
        assert_eq!(rows, [1, 2]);
        let conditions = input.conditions.clone().unwrap_or_default();
        assert_eq!(
            conditions[0].countries,
            Some(vec!["DE".into(), "AT".into()])
        );
        assert_eq!(conditions[0].regions, None);
        assert_eq!(conditions[1].gte, Some(Value::String("10".into())));
        assert_eq!(conditions[1].lte, None);
        assert_eq!(input.active, Some(true));
        let err = input.validate(ENTITY).err().unwrap_or_default();
        let renamed = form_errors(AppError::Validation(err), &rows);
        let AppError::Validation(errors) = renamed else {
            panic!("validation");
        };
        let fields: Vec<String> = errors.0.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["action_users"]);
        assert_eq!(
            condition_field("conditions[1].values[0]", &rows),
            Some("c2_value".into())
        );
    }
}
