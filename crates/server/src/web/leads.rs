//! The leads pages: the list (filter bar, sortable columns, keyset pages, bulk owner / status /
//! delete with a confirmation step), the create and edit form, and a lead's page with its audit
//! history. The list reads the same query string as `GET /api/v1/leads` (one parser), and every
//! change goes through `crate::api::record::{create_record, update_record}` or the store's bulk functions.

use super::audit::{AuditRow, Names, row as audit_row};
use super::custom_fields::{self as cf, CustomFields, CustomValue};
use super::detail::{Section, items};
use super::form::text;
use super::list::{
    BulkChange, Col, Owners, PAGE_SIZE, bulk_action, choice_options, delete_one, plain_page,
    value_of,
};
use super::record_list::{Badge, Cell, Filter, ListDecl, RecordList, Row, take_select_all};
use super::record_pages::{FieldDecl, FormDecl, FormRecord, SectionDecl};
use super::timeline::{self, Timeline, TimelineQuery};
use super::view::{
    Ctx, FormErrors, Layout, Opt, OrPage, WebError, WebForm, WebQuery, date, datetime,
};
use super::views_bar::ListSpec;
use crate::http::extract::parse_id;
use askama::Template;
use axum::extract::Path;
use axum::response::Response;
use rivet_domain::activities::RecordType;
use rivet_domain::ids::UserId;
use rivet_domain::leads::{LEAD_DEFAULT_SORT, LEAD_FIELDS, LeadStatus};
use rivet_domain::{Action, Resource};
use rivet_store::audit::AuditFilter;
use rivet_store::leads::Lead;
use rivet_store::page::PageRequest;
use rivet_store::record;
use uuid::Uuid;

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
    lead.display_name()
}

// ---------------------------------------------------------------------------------------------
// The list

/// The list page, as its views bar and saved views see it.
pub(super) const PAGE: ListSpec = ListSpec::plain(Resource::Leads, "/leads");

const LIST: ListDecl = ListDecl {
    page: &PAGE,
    key: "leads",
    title: "Leads",
    blurb: "People and companies who may buy, before they are qualified into deals.",
    heading: "All leads you can see",
    noun: "lead",
    nouns: "leads",
    new_label: Some("New lead"),
    empty: "There are no leads yet.",
    add_first: "Add the first one",
    columns: &[
        Col::sorts("Name", "last_name"),
        Col::sorts("Company", "company_name"),
        Col::plain("Owner"),
        Col::sorts("Status", "status"),
        Col::sorts_down("Score", "total_score"),
        Col::sorts_down("Created", "created_at"),
    ],
};

/// A lead's status as a badge, on the list and on its page.
pub(super) fn status_badge(status: LeadStatus) -> Badge {
    Badge::new(
        format!("lead-status lead-status-{}", status.as_str()),
        status_label(status),
    )
}

pub async fn index(
    ctx: Ctx,
    WebQuery(mut raw): WebQuery<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let select_all = take_select_all(&mut raw);
    let views = super::views_bar::bar(&ctx, &PAGE, &mut raw).await?;
    let mut errors = FormErrors::new();
    let owners = Owners::load(&ctx).await?;
    let custom = CustomFields::load(&ctx, cf::RecordType::Lead).await?;
    let page = plain_page::<Lead>(
        &ctx,
        cf::RecordType::Lead,
        &raw,
        LEAD_FIELDS,
        LEAD_DEFAULT_SORT,
        &mut errors,
    )
    .await?;
    let rows = page
        .data
        .iter()
        .map(|lead| Row {
            id: lead.id.uuid(),
            name: display_name(lead),
            class: "",
            cells: vec![
                Cell::title(
                    display_name(lead),
                    Some(format!("/leads/{}", lead.id)),
                    text(&lead.email),
                ),
                Cell::text(text(&lead.company_name)),
                Cell::text(owners.name(lead.owner_id)),
                Cell::badge(status_badge(lead.status)),
                Cell::score(lead.total_score, format!("/leads/{}/score", lead.id)),
                Cell::date(date(&lead.created_at)),
            ],
        })
        .collect();
    let mut list = RecordList::new(
        &ctx,
        &LIST,
        views,
        (&raw, page.next_cursor),
        errors,
        select_all,
    );
    list.filters = vec![
        Filter::search("Name, e-mail or company", &raw),
        Filter::select(
            "status",
            "Status",
            status_options(Some("Any status"), value_of(&raw, "status")),
        ),
        Filter::member(&owners, ("owner_id", "Owner"), &raw),
    ];
    list.filters
        .extend(custom.filters(&raw).into_iter().map(Filter::from));
    list.filters.extend([
        Filter::text("source", "Source", "e.g. webinar", &raw),
        Filter::date("created_from", "Created from", &raw),
        Filter::date("created_to", "Created to", &raw),
    ]);
    list.bulk_owner(&owners);
    list.bulk_select(
        ("status", "New status"),
        status_options(Some("Choose a status"), ""),
        ("status", "Change status"),
    );
    let api = super::list::api_pairs(&raw, &mut FormErrors::new());
    super::sequences::offer_enroll(
        &ctx,
        &mut list,
        rivet_domain::sequences::Enrolls::Lead,
        &api,
    )
    .await?;
    list.rows = rows;
    Ok(list.render(&ctx))
}

// ---------------------------------------------------------------------------------------------
// Bulk actions

/// One post for the three bulk actions (which button was pressed is `action`); deleting first
/// shows a page that asks, and deletes only when that page's button sends `confirm=yes`.
/// The bulk bar's changes (its delete is the shared one).
const BULK: &[BulkChange] = &[
    BulkChange::OWNER,
    BulkChange {
        action: "status",
        field: "status",
        what: "status",
        done: "Set {count} to {value}.",
    },
];

pub async fn bulk(
    ctx: Ctx,
    WebForm(form): WebForm<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    if value_of(&form, "action") == "enroll" {
        return super::sequences::bulk_enroll::<rivet_domain::ids::kind::Lead>(&ctx, &LIST, &form)
            .await;
    }
    bulk_action::<Lead>(&ctx, &LIST, &form, display_name, BULK).await
}

// ---------------------------------------------------------------------------------------------
// The form

impl FormRecord for Lead {
    const FORM: FormDecl = FormDecl {
        noun: "lead",
        list: ("/leads", "Leads"),
        new: ("New lead", "Create lead"),
        blurb: "A lead needs a name, a company name or an e-mail address; everything else can wait.",
        duplicate_check: true,
        sections: &[
            SectionDecl::card(
                "person",
                "Person",
                &[
                    FieldDecl::text("first_name", "First name"),
                    FieldDecl::text("last_name", "Last name"),
                    FieldDecl::text("title", "Job title"),
                    FieldDecl::input("email", "email", "E-mail"),
                    FieldDecl::input("tel", "phone", "Phone")
                        .hint("With the country code, e.g. +44 20 7946 0958."),
                    FieldDecl::check("whatsapp_consent", "Agreed to WhatsApp"),
                    FieldDecl::text(
                        "whatsapp_consent_source",
                        "Where the WhatsApp consent came from",
                    ),
                ],
            ),
            SectionDecl::card(
                "company",
                "Company",
                &[
                    FieldDecl::text("company_name", "Company name"),
                    FieldDecl::input("url", "website", "Website").hint("e.g. https://example.com"),
                    FieldDecl::text("industry", "Industry"),
                    FieldDecl::number("employee_count", "Employees"),
                    FieldDecl::money("annual_revenue", "Annual revenue"),
                    FieldDecl::currency("annual_revenue_currency"),
                ],
            ),
            SectionDecl::card(
                "pipeline",
                "Status and ownership",
                &[
                    FieldDecl::choice("status", "Status", status_options, "new"),
                    FieldDecl::text("status_reason", "Status reason")
                        .hint("Why: unqualified needs one (the company's qualification gates)."),
                    FieldDecl::OWNER,
                    FieldDecl::text("source", "Source")
                        .hint("Where the lead came from, e.g. webinar."),
                    FieldDecl::TAGS,
                ],
            ),
            SectionDecl::folded(
                "bant",
                ("BANT qualification", "budget, authority, need, timeline"),
                &[
                    FieldDecl::area("budget", "Budget"),
                    FieldDecl::area("authority", "Authority"),
                    FieldDecl::area("need", "Need"),
                    FieldDecl::area("timeline", "Timeline"),
                ],
            ),
            SectionDecl::folded(
                "meddicc",
                (
                    "MEDDICC qualification",
                    "metrics, economic buyer, decision criteria and process, pain, champion, \
                     competition",
                ),
                &[
                    FieldDecl::area("metrics", "Metrics"),
                    FieldDecl::area("economic_buyer", "Economic buyer"),
                    FieldDecl::area("decision_criteria", "Decision criteria"),
                    FieldDecl::area("decision_process", "Decision process"),
                    FieldDecl::area("identified_pain", "Identified pain"),
                    FieldDecl::area("champion", "Champion"),
                    FieldDecl::area("competition", "Competition"),
                ],
            ),
        ],
    };

    fn title(&self) -> String {
        display_name(self)
    }
}

pub async fn delete(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let id = parse_id(&id).or_page(&ctx)?;
    delete_one::<Lead>(&ctx, &LIST, id, display_name).await
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
    status: Badge,
    owner: String,
    tags: Vec<String>,
    fit_score: i32,
    engagement_score: i32,
    total_score: i32,
    grade: &'static str,
    /// Why the lead scores what it does (`web::scoring`).
    score: rivet_store::scoring::Breakdown,
    status_since: String,
    status_reason: Option<String>,
    /// (status, time spent in it), most first.
    time_in_status: Vec<(String, String)>,
    /// Where the lead can be moved and what it lacks for each (`web::qualification`).
    transitions: Vec<rivet_store::qualification::StatusOption>,
    /// BANT and MEDDICC (`web::checklist`).
    checklist: super::checklist::Card,
    /// The WhatsApp conversation (`web::whatsapp`).
    whatsapp: super::whatsapp::Card,
    sections: Vec<Section>,
    custom: Vec<CustomValue>,
    history: Vec<AuditRow>,
    more_history: bool,
    can_update: bool,
    can_delete: bool,
    timeline: Timeline,
    here: String,
    /// Possible duplicates: link, name and what matched.
    duplicates: Vec<(String, String, &'static str)>,
    /// The merge page of the lead and its lead duplicates (`web::duplicates`).
    review_href: Option<String>,
    converted: bool,
    converted_at: Option<String>,
    /// What the lead was converted into: link, what, name (those the caller can see).
    became: Vec<(String, &'static str, String)>,
}

/// What a converted lead became, as links to the records the caller can still see.
async fn became(ctx: &Ctx, lead: &Lead) -> Vec<(String, &'static str, String)> {
    use rivet_store::{accounts::Account, contacts::Contact, deals::Deal};
    let (store, actor) = (&ctx.app.store, &ctx.actor);
    let mut out = Vec::new();
    if let Some(id) = lead.converted_account_id
        && let Ok(a) = record::get::<Account>(store, actor, id).await
    {
        out.push((format!("/accounts/{id}"), "account", a.name));
    }
    if let Some(id) = lead.converted_contact_id
        && let Ok(c) = record::get::<Contact>(store, actor, id).await
    {
        let name = [c.first_name.as_deref(), c.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        out.push((format!("/contacts/{id}"), "contact", name));
    }
    if let Some(id) = lead.converted_deal_id
        && let Ok(d) = record::get::<Deal>(store, actor, id).await
    {
        out.push((format!("/deals/{id}"), "deal", d.name));
    }
    out
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
    let duplicates: Vec<(String, String, &'static str)> =
        rivet_store::duplicates::of_lead(&ctx.app.store, &ctx.actor, id)
            .await
            .or_page(&ctx)?
            .into_iter()
            .map(|d| {
                let (path, what) = match (d.record_type, d.rule.as_str()) {
                    ("contact", "exact_email") => ("/contacts", "contact with the same e-mail"),
                    ("contact", _) => ("/contacts", "contact with the same phone"),
                    (_, "exact_email") => ("/leads", "lead with the same e-mail"),
                    _ => ("/leads", "lead with the same phone"),
                };
                (format!("{path}/{}", d.id), d.name, what)
            })
            .collect();
    let lead_duplicates: Vec<uuid::Uuid> = duplicates
        .iter()
        .filter_map(|(href, _, _)| href.strip_prefix("/leads/")?.parse().ok())
        .collect();
    let workflow = rivet_store::qualification::workflow(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    let page = DetailPage {
        converted: lead.status == LeadStatus::Converted,
        converted_at: lead.converted_at.as_ref().map(datetime),
        became: became(&ctx, &lead).await,
        review_href: super::duplicates::review_href(id.uuid(), &lead_duplicates),
        duplicates,
        layout: ctx.layout(display_name(&lead)),
        custom,
        timeline,
        here: format!("/leads/{id}"),
        id: id.uuid(),
        name: display_name(&lead),
        subtitle,
        status: status_badge(lead.status),
        owner: owners.name(lead.owner_id),
        tags: lead.tags.clone(),
        fit_score: lead.fit_score,
        engagement_score: lead.engagement_score,
        total_score: lead.total_score,
        grade: rivet_domain::scoring::grade(lead.total_score),
        score: rivet_store::scoring::breakdown(&ctx.app.store, &ctx.actor, id)
            .await
            .or_page(&ctx)?,
        status_since: datetime(&workflow.since),
        status_reason: workflow.status_reason.clone(),
        time_in_status: workflow
            .time_in_status
            .iter()
            .map(|t| (t.status.clone(), super::qualification::duration(t.seconds)))
            .collect(),
        transitions: workflow.options,
        whatsapp: super::whatsapp::card(
            &ctx,
            rivet_domain::activities::RecordType::Lead,
            id.uuid(),
            &format!("/leads/{id}"),
        )
        .await?,
        checklist: super::checklist::card(
            &lead,
            &format!("/leads/{id}"),
            ctx.can(Resource::Leads, Action::Update) && lead.status != LeadStatus::Converted,
            Vec::new(),
        ),
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
    use super::super::list::api_pairs;
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
