//! The leads pages: the list (filter bar, sortable columns, keyset pages, bulk owner / status /
//! delete with a confirmation step), the create and edit form, and a lead's page with its audit
//! history. The list reads the same query string as `GET /api/v1/leads` (one parser), and every
//! change goes through `crate::api::record::{create_record, update_record}` or the store's bulk functions.

use super::audit::{AuditRow, Names, row as audit_row};
use super::custom_fields::{
    self as cf, CustomFields, CustomFilter, CustomInput, CustomValue, WithCustom,
};
use super::detail::{Section, items};
use super::form::{number_json, owner_json, tags_json, text};
use super::list::{
    ConfirmDeletePage, ListLinks, Owners, PAGE_SIZE, Selection, SortHeader, api_pairs, bulk_done,
    choice_options, value_of,
};
use super::timeline::{self, Timeline, TimelineQuery};
use super::view::{
    Ctx, FormErrors, FormKind, Layout, Opt, OrPage, WebError, WebForm, WebQuery, date, datetime,
};
use super::views_bar::ListSpec;
use crate::api::record::{create_record, update_record};
use crate::http::error::AppError;
use crate::http::extract::parse_id;
use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use rivet_domain::activities::RecordType;
use rivet_domain::ids::UserId;
use rivet_domain::leads::{LEAD_DEFAULT_SORT, LEAD_FIELDS, LeadInput, LeadStatus};
use rivet_domain::{Action, Resource};
use rivet_store::audit::AuditFilter;
use rivet_store::leads::{self, BulkSet, Lead};
use rivet_store::page::PageRequest;
use rivet_store::record;
use serde::Deserialize;
use serde_json::{Map, Value};
use uuid::Uuid;

/// The form fields a validation message can sit next to.
const FORM_FIELDS: &[&str] = &[
    "first_name",
    "last_name",
    "title",
    "email",
    "phone",
    "company_name",
    "website",
    "industry",
    "employee_count",
    "annual_revenue",
    "annual_revenue_currency",
    "status",
    "owner_id",
    "source",
    "tags",
    "budget",
    "authority",
    "need",
    "timeline",
    "metrics",
    "economic_buyer",
    "decision_criteria",
    "decision_process",
    "identified_pain",
    "champion",
    "competition",
];

pub(super) fn status_label(status: LeadStatus) -> &'static str {
    match status {
        LeadStatus::New => "New",
        LeadStatus::Contacted => "Contacted",
        LeadStatus::Nurturing => "Nurturing",
        LeadStatus::Qualified => "Qualified",
        LeadStatus::Unqualified => "Unqualified",
        LeadStatus::Converted => "Converted",
    }
}

const STATUSES: &[LeadStatus] = &[
    LeadStatus::New,
    LeadStatus::Contacted,
    LeadStatus::Nurturing,
    LeadStatus::Qualified,
    LeadStatus::Unqualified,
    LeadStatus::Converted,
];

fn status_options(first: Option<&str>, selected: &str) -> Vec<Opt> {
    choice_options(first, STATUSES, LeadStatus::as_str, status_label, selected)
}

/// A lead's display name: the person, else the company, else the e-mail.
pub(super) fn display_name(lead: &Lead) -> String {
    let person = [lead.first_name.as_deref(), lead.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if !person.is_empty() {
        return person;
    }
    lead.company_name
        .clone()
        .or_else(|| lead.email.clone())
        .unwrap_or_else(|| "Unnamed lead".into())
}

// ---------------------------------------------------------------------------------------------
// The list

pub struct LeadRow {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub company: String,
    pub status: &'static str,
    pub status_label: &'static str,
    pub score: i32,
    pub owner: String,
    pub created: String,
}

/// The sortable columns: label, API field, and the direction a first click sorts in.
const SORT_COLUMNS: &[(&str, &str, bool)] = &[
    ("Name", "last_name", false),
    ("Company", "company_name", false),
    ("Status", "status", false),
    ("Score", "total_score", true),
    ("Created", "created_at", true),
];

#[derive(Template)]
#[template(path = "web/leads.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<LeadRow>,
    headers: Vec<SortHeader>,
    q: String,
    source: String,
    created_from: String,
    created_to: String,
    status_filter: Vec<Opt>,
    owner_filter: Vec<Opt>,
    custom_filters: Vec<CustomFilter>,
    filtered: bool,
    errors: FormErrors,
    first_href: Option<String>,
    next_href: Option<String>,
    back: String,
    can_create: bool,
    can_update: bool,
    can_delete: bool,
    bulk_owner: Vec<Opt>,
    bulk_status: Vec<Opt>,
    views: super::views_bar::ViewsBar,
}

/// The list page, as its views bar and saved views see it.
pub(super) const PAGE: ListSpec = ListSpec::plain(Resource::Leads, "/leads");

pub async fn index(
    ctx: Ctx,
    WebQuery(mut raw): WebQuery<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let views = super::views_bar::bar(&ctx, &PAGE, &mut raw).await?;
    let mut errors = FormErrors::new();
    let pairs = api_pairs(&raw, &mut errors);
    let owners = Owners::load(&ctx).await?;
    let parsed = cf::list_query(
        &ctx,
        cf::RecordType::Lead,
        &pairs,
        LEAD_FIELDS,
        LEAD_DEFAULT_SORT,
        &mut errors,
    )
    .await?;
    let cursor = value_of(&raw, "cursor");
    let mut rows = Vec::new();
    let mut next_cursor = None;
    if let (Some(query), true) = (&parsed, errors.is_empty()) {
        let after = match cursor {
            "" => None,
            text => Some(
                rivet_store::query::decode_cursor(&query.sort, text).ok_or_else(|| {
                    ctx.fail(AppError::BadRequest("the page link is not valid".into()))
                })?,
            ),
        };
        let page =
            record::list::<Lead>(&ctx.app.store, &ctx.actor, query, PAGE_SIZE, after.as_ref())
                .await
                .or_page(&ctx)?;
        rows = page
            .data
            .iter()
            .map(|lead| LeadRow {
                id: lead.id.uuid(),
                name: display_name(lead),
                email: lead.email.clone().unwrap_or_default(),
                company: lead.company_name.clone().unwrap_or_default(),
                status: lead.status.as_str(),
                status_label: status_label(lead.status),
                score: lead.total_score,
                owner: owners.name(lead.owner_id),
                created: date(&lead.created_at),
            })
            .collect();
        next_cursor = page.next_cursor;
    }
    let links = ListLinks::new("/leads", &raw, SORT_COLUMNS, next_cursor);
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let page = ListPage {
        layout: ctx.layout("Leads"),
        rows,
        headers: links.headers,
        q: value_of(&raw, "q").to_owned(),
        source: value_of(&raw, "source").to_owned(),
        created_from: value_of(&raw, "created_from").to_owned(),
        created_to: value_of(&raw, "created_to").to_owned(),
        status_filter: status_options(Some("Any status"), value_of(&raw, "status")),
        owner_filter: owners.options(Some("Anyone"), value_of(&raw, "owner_id")),
        custom_filters: CustomFields::load(&ctx, cf::RecordType::Lead)
            .await?
            .filters(&raw),
        filtered: links.filtered,
        errors,
        first_href: links.first_href,
        next_href: links.next_href,
        back: links.back,
        can_create: ctx.can(Resource::Leads, Action::Create),
        can_update: ctx.can(Resource::Leads, Action::Update),
        can_delete: ctx.can(Resource::Leads, Action::Delete),
        bulk_owner: owners.options(Some("Choose an owner"), ""),
        bulk_status: status_options(Some("Choose a status"), ""),
        views,
    };
    Ok(ctx.render_status(status, &page))
}

// ---------------------------------------------------------------------------------------------
// Bulk actions

/// One post for the three bulk actions (which button was pressed is `action`); deleting first
/// shows a page that asks, and deletes only when that page's button sends `confirm=yes`.
pub async fn bulk(
    ctx: Ctx,
    WebForm(form): WebForm<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let field = |key: &str| value_of(&form, key).to_owned();
    let Selection { back, action, ids } =
        match Selection::read(&ctx, &form, "/leads", Resource::Leads, ("lead", "leads"))? {
            Ok(selection) => selection,
            Err(refused) => return Ok(refused),
        };
    let (store, actor) = (&ctx.app.store, &ctx.actor);
    let count = ids.len();
    let plural = |n: usize| format!("{n} lead{}", if n == 1 { "" } else { "s" });
    let result = match action.as_str() {
        "delete" if field("confirm") == "yes" => record::bulk_delete::<Lead>(store, actor, &ids)
            .await
            .map(|n| format!("Deleted {}.", plural(usize::try_from(n).unwrap_or(count)))),
        "delete" => {
            let mut names = Vec::new();
            for id in ids.iter().take(20) {
                names.push(
                    record::get::<Lead>(store, actor, *id)
                        .await
                        .map(|lead| display_name(&lead))
                        .or_page(&ctx)?,
                );
            }
            let page = ConfirmDeletePage {
                layout: ctx.layout("Delete leads"),
                path: "/leads",
                title: "Leads",
                noun: "lead",
                nouns: "leads",
                ids,
                names,
                back,
            };
            return Ok(ctx.render(&page));
        }
        "owner" => {
            let Ok(owner) = field("owner_id").parse::<UserId>() else {
                return Ok(ctx.refused(&back, "Choose the new owner first."));
            };
            let set = BulkSet {
                owner_id: Some(owner),
                ..BulkSet::default()
            };
            leads::bulk_update(store, actor, &ids, &set)
                .await
                .map(|done| format!("Changed the owner of {}.", plural(done.len())))
        }
        "status" => {
            let Ok(status) = field("status").parse::<LeadStatus>() else {
                return Ok(ctx.refused(&back, "Choose the new status first."));
            };
            let set = BulkSet {
                status: Some(status),
                ..BulkSet::default()
            };
            leads::bulk_update(store, actor, &ids, &set)
                .await
                .map(|done| {
                    format!(
                        "Set {} to {}.",
                        plural(done.len()),
                        status_label(status).to_lowercase()
                    )
                })
        }
        _ => return Err(ctx.fail(AppError::BadRequest("unknown bulk action".into()))),
    };
    bulk_done(&ctx, &back, result)
}

// ---------------------------------------------------------------------------------------------
// The form

/// The form as typed: plain strings, so a bad value comes back next to its field.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct LeadForm {
    first_name: String,
    last_name: String,
    title: String,
    email: String,
    phone: String,
    company_name: String,
    website: String,
    industry: String,
    employee_count: String,
    annual_revenue: String,
    annual_revenue_currency: String,
    status: String,
    owner_id: String,
    source: String,
    tags: String,
    budget: String,
    authority: String,
    need: String,
    timeline: String,
    metrics: String,
    economic_buyer: String,
    decision_criteria: String,
    decision_process: String,
    identified_pain: String,
    champion: String,
    competition: String,
}

impl LeadForm {
    fn of(lead: &Lead) -> Self {
        Self {
            first_name: text(&lead.first_name),
            last_name: text(&lead.last_name),
            title: text(&lead.title),
            email: text(&lead.email),
            phone: text(&lead.phone),
            company_name: text(&lead.company_name),
            website: text(&lead.website),
            industry: text(&lead.industry),
            employee_count: lead
                .employee_count
                .map(|n| n.to_string())
                .unwrap_or_default(),
            annual_revenue: text(&lead.annual_revenue),
            annual_revenue_currency: text(&lead.annual_revenue_currency),
            status: lead.status.as_str().to_owned(),
            owner_id: lead.owner_id.to_string(),
            source: text(&lead.source),
            tags: lead.tags.join(", "),
            budget: text(&lead.budget),
            authority: text(&lead.authority),
            need: text(&lead.need),
            timeline: text(&lead.timeline),
            metrics: text(&lead.metrics),
            economic_buyer: text(&lead.economic_buyer),
            decision_criteria: text(&lead.decision_criteria),
            decision_process: text(&lead.decision_process),
            identified_pain: text(&lead.identified_pain),
            champion: text(&lead.champion),
            competition: text(&lead.competition),
        }
    }

    fn texts(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("first_name", &self.first_name),
            ("last_name", &self.last_name),
            ("title", &self.title),
            ("email", &self.email),
            ("phone", &self.phone),
            ("company_name", &self.company_name),
            ("website", &self.website),
            ("industry", &self.industry),
            ("annual_revenue", &self.annual_revenue),
            ("annual_revenue_currency", &self.annual_revenue_currency),
            ("status", &self.status),
            ("source", &self.source),
            ("budget", &self.budget),
            ("authority", &self.authority),
            ("need", &self.need),
            ("timeline", &self.timeline),
            ("metrics", &self.metrics),
            ("economic_buyer", &self.economic_buyer),
            ("decision_criteria", &self.decision_criteria),
            ("decision_process", &self.decision_process),
            ("identified_pain", &self.identified_pain),
            ("champion", &self.champion),
            ("competition", &self.competition),
        ]
    }

    /// The form as the API's JSON body (a full set of the form's fields): what the shared
    /// create and update functions take. Values the form itself must parse (numbers, ids) are
    /// checked here, next to their fields.
    fn as_json(&self, errors: &mut FormErrors) -> Map<String, Value> {
        let mut map = Map::new();
        for (field, value) in self.texts() {
            map.insert(field.into(), Value::String(value.trim().to_owned()));
        }
        let count = number_json(&self.employee_count, "employee_count", errors);
        map.insert("employee_count".into(), count);
        owner_json(&mut map, &self.owner_id, errors);
        map.insert("tags".into(), tags_json(&self.tags));
        map
    }
}

#[derive(Template)]
#[template(path = "web/leads_form.html")]
struct FormPage {
    layout: Layout,
    heading: String,
    action: String,
    cancel: String,
    submit: &'static str,
    form: LeadForm,
    status_options: Vec<Opt>,
    owner_options: Vec<Opt>,
    /// Open the BANT / MEDDICC sections when they hold a value or an error.
    bant_open: bool,
    meddicc_open: bool,
    errors: FormErrors,
    custom: Vec<CustomInput>,
}

async fn form_page(
    ctx: &Ctx,
    kind: FormKind,
    form: LeadForm,
    custom: Vec<CustomInput>,
    errors: FormErrors,
) -> Result<FormPage, WebError> {
    let owners = Owners::load(ctx).await?;
    let owner = if form.owner_id.is_empty() {
        ctx.actor.user_id.to_string()
    } else {
        form.owner_id.clone()
    };
    let status = if form.status.is_empty() {
        "new"
    } else {
        form.status.as_str()
    };
    let any = |fields: &[(&str, &String)]| {
        fields
            .iter()
            .any(|(f, v)| !v.trim().is_empty() || errors.has(f))
    };
    Ok(FormPage {
        layout: ctx.layout(kind.heading.clone()),
        heading: kind.heading,
        action: kind.action,
        cancel: kind.cancel,
        submit: kind.submit,
        status_options: status_options(None, status),
        owner_options: owners.options(None, &owner),
        bant_open: any(&[
            ("budget", &form.budget),
            ("authority", &form.authority),
            ("need", &form.need),
            ("timeline", &form.timeline),
        ]),
        meddicc_open: any(&[
            ("metrics", &form.metrics),
            ("economic_buyer", &form.economic_buyer),
            ("decision_criteria", &form.decision_criteria),
            ("decision_process", &form.decision_process),
            ("identified_pain", &form.identified_pain),
            ("champion", &form.champion),
            ("competition", &form.competition),
        ]),
        form,
        errors,
        custom,
    })
}

pub async fn new(ctx: Ctx) -> Result<Response, WebError> {
    let custom = CustomFields::load(&ctx, cf::RecordType::Lead).await?;
    let page = form_page(
        &ctx,
        FormKind::create("/leads", ("New lead", "Create lead"), None),
        LeadForm::default(),
        custom.blank(),
        FormErrors::new(),
    )
    .await?;
    Ok(ctx.render(&page))
}

pub async fn create(
    ctx: Ctx,
    WithCustom(form, posted): WithCustom<LeadForm>,
) -> Result<Response, WebError> {
    let custom = CustomFields::load(&ctx, cf::RecordType::Lead).await?;
    let mut errors = FormErrors::new();
    let mut body = form.as_json(&mut errors);
    custom.add_new(&posted, &mut body);
    if errors.is_empty() {
        let input: Result<LeadInput, AppError> = serde_json::from_value(Value::Object(body))
            .map_err(|e| AppError::BadRequest(e.to_string()));
        let result = match input {
            Ok(input) => create_record::<Lead>(&ctx.app, &ctx.actor, input).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(lead) => {
                return Ok(ctx.done(
                    &format!("/leads/{}", lead.id),
                    format!("Created the lead {}.", display_name(&lead)),
                ));
            }
            Err(err) => custom.absorb(&mut errors, err, FORM_FIELDS).or_page(&ctx)?,
        }
    }
    let page = form_page(
        &ctx,
        FormKind::create("/leads", ("New lead", "Create lead"), None),
        form,
        custom.as_posted(&posted, &errors),
        errors,
    )
    .await?;
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

pub async fn edit(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let id = parse_id(&id).or_page(&ctx)?;
    let lead = record::get::<Lead>(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    let custom = CustomFields::load(&ctx, cf::RecordType::Lead).await?;
    let page = form_page(
        &ctx,
        FormKind::edit("/leads", lead.id, &display_name(&lead)),
        LeadForm::of(&lead),
        custom.of(&lead.custom_fields),
        FormErrors::new(),
    )
    .await?;
    Ok(ctx.render(&page))
}

pub async fn update(
    ctx: Ctx,
    Path(id): Path<String>,
    WithCustom(form, posted): WithCustom<LeadForm>,
) -> Result<Response, WebError> {
    let id = parse_id(&id).or_page(&ctx)?;
    let lead = record::get::<Lead>(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    let custom = CustomFields::load(&ctx, cf::RecordType::Lead).await?;
    let mut errors = FormErrors::new();
    let mut patch = form.as_json(&mut errors);
    custom.add_patch(&posted, &mut patch);
    if errors.is_empty() {
        match update_record::<Lead>(&ctx.app, &ctx.actor, id, patch).await {
            Ok(lead) => {
                return Ok(ctx.done(
                    &format!("/leads/{id}"),
                    format!("Saved {}.", display_name(&lead)),
                ));
            }
            Err(err) => custom.absorb(&mut errors, err, FORM_FIELDS).or_page(&ctx)?,
        }
    }
    let page = form_page(
        &ctx,
        FormKind::edit("/leads", lead.id, &display_name(&lead)),
        form,
        custom.as_posted(&posted, &errors),
        errors,
    )
    .await?;
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

pub async fn delete(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let id = parse_id(&id).or_page(&ctx)?;
    let lead = record::get::<Lead>(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    record::delete::<Lead>(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    Ok(ctx.done(
        "/leads",
        format!("Deleted the lead {}.", display_name(&lead)),
    ))
}

// ---------------------------------------------------------------------------------------------
// A lead's page

#[derive(Template)]
#[template(path = "web/leads_show.html")]
struct DetailPage {
    layout: Layout,
    id: Uuid,
    name: String,
    subtitle: String,
    status: &'static str,
    status_label: &'static str,
    owner: String,
    tags: Vec<String>,
    fit_score: i32,
    engagement_score: i32,
    total_score: i32,
    sections: Vec<Section>,
    custom: Vec<CustomValue>,
    history: Vec<AuditRow>,
    more_history: bool,
    can_update: bool,
    can_delete: bool,
    timeline: Timeline,
    here: String,
}

pub async fn show(
    ctx: Ctx,
    Path(id): Path<String>,
    WebQuery(query): WebQuery<TimelineQuery>,
) -> Result<Response, WebError> {
    let id = parse_id(&id).or_page(&ctx)?;
    let (store, actor) = (&ctx.app.store, &ctx.actor);
    let lead = record::get::<Lead>(store, actor, id).await.or_page(&ctx)?;
    let owners = Owners::load(&ctx).await?;
    let timeline = timeline::load(&ctx, &owners, RecordType::Lead, id, &query.before).await?;
    let names = Names::load(&ctx).await?;
    let filter = AuditFilter {
        resource: Some(Resource::Leads.as_str().to_owned()),
        resource_id: Some(id.to_string()),
        ..AuditFilter::default()
    };
    let entries = rivet_store::audit::list(
        store,
        actor,
        &filter,
        PageRequest {
            limit: PAGE_SIZE,
            after: None,
        },
    )
    .await
    .or_page(&ctx)?;
    // Without users read the audit rows know no names; the caller at least knows their own.
    let me = actor.user_id.to_string();
    let history = entries
        .data
        .iter()
        .map(|e| {
            let mut row = audit_row(e, &names);
            if row.actor == me {
                row.actor = ctx.user_name.clone();
            }
            row.target = String::new();
            for change in &mut row.changes {
                for value in [&mut change.before, &mut change.after] {
                    if let Ok(uid) = value.parse::<UserId>()
                        && owners.names.contains_key(&uid)
                    {
                        *value = owners.name(uid);
                    }
                }
            }
            row
        })
        .collect();
    let revenue = lead.annual_revenue.as_ref().map(|amount| {
        super::money::money(
            amount,
            lead.annual_revenue_currency.as_deref().unwrap_or_default(),
        )
    });
    let employees = lead.employee_count.map(|n| n.to_string());
    let created = Some(datetime(&lead.created_at));
    let updated = Some(datetime(&lead.updated_at));
    let subtitle = [lead.title.as_deref(), lead.company_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ");
    let custom = CustomFields::load(&ctx, cf::RecordType::Lead)
        .await?
        .values(&lead.custom_fields);
    let page = DetailPage {
        layout: ctx.layout(display_name(&lead)),
        custom,
        timeline,
        here: format!("/leads/{id}"),
        id: id.uuid(),
        name: display_name(&lead),
        subtitle,
        status: lead.status.as_str(),
        status_label: status_label(lead.status),
        owner: owners.name(lead.owner_id),
        tags: lead.tags.clone(),
        fit_score: lead.fit_score,
        engagement_score: lead.engagement_score,
        total_score: lead.total_score,
        sections: vec![
            Section {
                title: "Contact",
                items: items(&[
                    ("First name", &lead.first_name),
                    ("Last name", &lead.last_name),
                    ("Title", &lead.title),
                    ("E-mail", &lead.email),
                    ("Phone", &lead.phone),
                    ("Mobile", &lead.mobile),
                ]),
            },
            Section {
                title: "Company",
                items: items(&[
                    ("Company", &lead.company_name),
                    ("Website", &lead.website),
                    ("Industry", &lead.industry),
                    ("Employees", &employees),
                    ("Annual revenue", &revenue),
                ]),
            },
            Section {
                title: "Origin",
                items: items(&[
                    ("Source", &lead.source),
                    ("UTM source", &lead.utm_source),
                    ("UTM campaign", &lead.utm_campaign),
                    ("Created", &created),
                    ("Last changed", &updated),
                ]),
            },
            Section {
                title: "BANT",
                items: items(&[
                    ("Budget", &lead.budget),
                    ("Authority", &lead.authority),
                    ("Need", &lead.need),
                    ("Timeline", &lead.timeline),
                ]),
            },
            Section {
                title: "MEDDICC",
                items: items(&[
                    ("Metrics", &lead.metrics),
                    ("Economic buyer", &lead.economic_buyer),
                    ("Decision criteria", &lead.decision_criteria),
                    ("Decision process", &lead.decision_process),
                    ("Identified pain", &lead.identified_pain),
                    ("Champion", &lead.champion),
                    ("Competition", &lead.competition),
                ]),
            },
        ],
        history,
        more_history: entries.next_cursor.is_some(),
        can_update: ctx.can(Resource::Leads, Action::Update),
        can_delete: ctx.can(Resource::Leads, Action::Delete),
    };
    Ok(ctx.render(&page))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rivet_domain::query::ListQuery;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn the_filter_bar_becomes_the_apis_query_string() {
        let mut errors = FormErrors::new();
        let out = api_pairs(
            &pairs(&[
                ("status", "qualified"),
                ("owner_id", ""),
                ("created_from", "2026-01-31"),
                ("created_to", "2026-02-01"),
                ("sort", "-total_score"),
            ]),
            &mut errors,
        );
        assert!(errors.is_empty());
        assert_eq!(
            out,
            pairs(&[
                ("status", "qualified"),
                ("created_at[gte]", "2026-01-31T00:00:00Z"),
                ("created_at[lte]", "2026-02-01T23:59:59.999Z"),
                ("sort", "-total_score"),
            ])
        );
        assert!(ListQuery::parse(&out, LEAD_FIELDS, LEAD_DEFAULT_SORT).is_ok());
        api_pairs(&pairs(&[("created_to", "yesterday")]), &mut errors);
        assert!(errors.has("created_to"));
    }
}
