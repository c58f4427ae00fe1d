//! The accounts pages: the list (filter bar, sortable columns, keyset pages, bulk owner /
//! lifecycle stage / delete with a confirmation step), the create and edit form, an account's
//! page with its parent, child accounts and contacts, and the delete page that asks what to do
//! with the contacts and child accounts. The list reads the same query string as
//! `GET /api/v1/accounts`, and every change goes through `crate::api::accounts::{create_account,
//! update_account}` or the store's functions, as the API's routes do.

use super::custom_fields::{self as cf, CustomFields, CustomValue};
use super::detail::{Section, items};
use super::form::text;
use super::list::{
    BulkChange, Col, Owners, PAGE_SIZE, Selection, bulk_change, bulk_done, choice_options,
    first_names, plain_page, value_of,
};
use super::names::AccountNames;
use super::record_list::{Badge, Cell, Filter, ListDecl, RecordList, Row, take_select_all};
use super::record_pages::{FieldDecl, FormDecl, FormRecord, SectionDecl};
use super::timeline::{self, Timeline, TimelineQuery};
use super::view::{
    Ctx, FormErrors, Layout, Opt, OrPage, WebError, WebForm, WebQuery, date, datetime,
};
use super::views_bar::ListSpec;
use crate::http::error::AppError;
use crate::http::extract::parse_id;
use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use rivet_domain::accounts::{ACCOUNT_DEFAULT_SORT, ACCOUNT_FIELDS, LifecycleStage};
use rivet_domain::activities::RecordType;
use rivet_domain::contacts::{CONTACT_DEFAULT_SORT, CONTACT_FIELDS, ContactField};
use rivet_domain::deals::{DEAL_DEFAULT_SORT, DEAL_FIELDS, DealField};
use rivet_domain::ids::AccountId;
use rivet_domain::query::ListQuery;
use rivet_domain::{Action, Resource};
use rivet_store::accounts::{self, Account, DeleteOptions};
use rivet_store::record;
use rivet_store::{contacts::Contact, deals::Deal};
use serde::Deserialize;
use uuid::Uuid;

const STAGES: &[LifecycleStage] = &[
    LifecycleStage::Prospect,
    LifecycleStage::Onboarding,
    LifecycleStage::Customer,
    LifecycleStage::AtRisk,
    LifecycleStage::Churned,
];

fn stage_label(stage: LifecycleStage) -> &'static str {
    match stage {
        LifecycleStage::Prospect => "Prospect",
        LifecycleStage::Onboarding => "Onboarding",
        LifecycleStage::Customer => "Customer",
        LifecycleStage::AtRisk => "At risk",
        LifecycleStage::Churned => "Churned",
    }
}

fn stage_options(first: Option<&str>, selected: &str) -> Vec<Opt> {
    choice_options(first, STAGES, LifecycleStage::as_str, stage_label, selected)
}

// ---------------------------------------------------------------------------------------------
// The list

/// The list page, as its views bar and saved views see it.
pub(super) const PAGE: ListSpec = ListSpec::plain(Resource::Accounts, "/accounts");

const LIST: ListDecl = ListDecl {
    page: &PAGE,
    key: "accounts",
    title: "Accounts",
    blurb: "The companies you sell to, with their contacts and their place in a group.",
    heading: "All accounts you can see",
    noun: "account",
    nouns: "accounts",
    new_label: Some("New account"),
    empty: "There are no accounts yet.",
    add_first: "Add the first one",
    columns: &[
        Col::sorts("Name", "name"),
        Col::plain("Industry"),
        Col::plain("Owner"),
        Col::sorts("Lifecycle stage", "lifecycle_stage"),
        Col::sorts_down("Created", "created_at"),
    ],
};

pub async fn index(
    ctx: Ctx,
    WebQuery(mut raw): WebQuery<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let select_all = take_select_all(&mut raw);
    let views = super::views_bar::bar(&ctx, &PAGE, &mut raw).await?;
    let mut errors = FormErrors::new();
    let owners = Owners::load(&ctx).await?;
    let custom = CustomFields::load(&ctx, cf::RecordType::Account).await?;
    let page = plain_page::<Account>(
        &ctx,
        cf::RecordType::Account,
        &raw,
        ACCOUNT_FIELDS,
        ACCOUNT_DEFAULT_SORT,
        &mut errors,
    )
    .await?;
    let rows = page
        .data
        .iter()
        .map(|a| Row {
            id: a.id.uuid(),
            name: a.name.clone(),
            class: "",
            cells: vec![
                Cell::title(
                    a.name.clone(),
                    Some(format!("/accounts/{}", a.id)),
                    text(&a.domain),
                ),
                Cell::text(text(&a.industry)),
                Cell::text(owners.name(a.owner_id)),
                Cell::badge(Badge::new(
                    format!("account-stage account-stage-{}", a.lifecycle_stage.as_str()),
                    stage_label(a.lifecycle_stage),
                )),
                Cell::date(date(&a.created_at)),
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
        Filter::search("Name or domain", &raw),
        Filter::select(
            "lifecycle_stage",
            "Lifecycle stage",
            stage_options(Some("Any stage"), value_of(&raw, "lifecycle_stage")),
        ),
        Filter::member(&owners, ("owner_id", "Owner"), &raw),
    ];
    list.filters
        .extend(custom.filters(&raw).into_iter().map(Filter::from));
    list.filters
        .push(Filter::text("industry", "Industry", "e.g. Software", &raw));
    list.bulk_owner(&owners);
    list.bulk_select(
        ("lifecycle_stage", "New lifecycle stage"),
        stage_options(Some("Choose a stage"), ""),
        ("stage", "Change stage"),
    );
    list.rows = rows;
    Ok(list.render(&ctx))
}

// ---------------------------------------------------------------------------------------------
// Bulk actions

/// The bulk delete confirmation, with the choice for the accounts' contacts and children.
#[derive(Template)]
#[template(path = "web/accounts_bulk_delete.html")]
struct ConfirmDeletePageWithChoices {
    layout: Layout,
    decl: &'static ListDecl,
    ids: Vec<Uuid>,
    names: Vec<String>,
    back: String,
    reassign_options: Vec<Opt>,
}

/// One post for the three bulk actions (which button was pressed is `action`); deleting first
/// shows a page that asks what to do with the contacts and child accounts, and deletes only
/// when that page's button sends `confirm=yes`.
/// The bulk bar's changes (its delete asks what becomes of the accounts' contacts).
const BULK: &[BulkChange] = &[
    BulkChange::OWNER,
    BulkChange {
        action: "stage",
        field: "lifecycle_stage",
        what: "lifecycle stage",
        done: "Set {count} to {value}.",
    },
];

pub async fn bulk(
    ctx: Ctx,
    WebForm(form): WebForm<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let field = |key: &str| value_of(&form, key).to_owned();
    let Selection { back, action, ids } = match Selection::read(&ctx, &form, &LIST)? {
        Ok(selection) => selection,
        Err(refused) => return Ok(refused),
    };
    let (store, actor) = (&ctx.app.store, &ctx.actor);
    let count = ids.len();
    let result = match action.as_str() {
        "delete" if field("confirm") == "yes" => {
            let choice = DeleteChoice {
                contacts: field("contacts"),
                reassign_to: field("reassign_to"),
                detach_children: field("detach_children"),
            };
            let mut errors = FormErrors::new();
            let options = choice.options(&mut errors);
            if !errors.is_empty() {
                return Ok(ctx.refused(&back, errors.general.join(" ")));
            }
            accounts::bulk_delete(store, actor, &ids, options)
                .await
                .map(|n| {
                    format!(
                        "Deleted {}.",
                        LIST.count(usize::try_from(n).unwrap_or(count))
                    )
                })
        }
        "delete" => {
            let names = first_names(&ctx, &ids, |a: &Account| a.name.clone()).await?;
            let reassign_options = AccountNames::load(&ctx)
                .await?
                .options(&ctx, Some("Choose an account"), "", None)
                .await
                .into_iter()
                .filter(|o| !ids.iter().any(|id| id.to_string() == o.value))
                .collect();
            let page = ConfirmDeletePageWithChoices {
                layout: ctx.layout("Delete accounts"),
                decl: &LIST,
                ids: ids.iter().map(|id| id.uuid()).collect(),
                names,
                back,
                reassign_options,
            };
            return Ok(ctx.render(&page));
        }
        _ => {
            let selection = Selection { back, action, ids };
            return bulk_change::<Account>(&ctx, &LIST, &form, selection, BULK).await;
        }
    };
    bulk_done(&ctx, &back, result)
}

// ---------------------------------------------------------------------------------------------
// The form

impl FormRecord for Account {
    const FORM: FormDecl = FormDecl {
        noun: "account",
        list: ("/accounts", "Accounts"),
        new: ("New account", "Create account"),
        blurb: "An account needs a name; everything else can wait.",
        duplicate_check: false,
        sections: &[
            SectionDecl::card(
                "company",
                "Company",
                &[
                    FieldDecl::text("name", "Name").required(),
                    FieldDecl::text("domain", "Domain").hint("e.g. example.com"),
                    FieldDecl::text("industry", "Industry"),
                    FieldDecl::number("employee_count", "Employees"),
                    FieldDecl::money("annual_revenue", "Annual revenue"),
                    FieldDecl::currency("annual_revenue_currency"),
                ],
            ),
            SectionDecl::card(
                "relationship",
                "Relationship and ownership",
                &[
                    FieldDecl::choice(
                        "lifecycle_stage",
                        "Lifecycle stage",
                        stage_options,
                        "prospect",
                    ),
                    FieldDecl::OWNER,
                    FieldDecl::account("parent_id", "Parent account", "No parent account", true)
                        .hint("The group this account belongs to."),
                    FieldDecl::TAGS,
                ],
            ),
            SectionDecl::folded(
                "addresses",
                ("Addresses", "billing and shipping"),
                &[
                    FieldDecl::text("billing_street", "Billing street"),
                    FieldDecl::text("billing_city", "Billing city"),
                    FieldDecl::text("billing_region", "Billing region"),
                    FieldDecl::text("billing_postal_code", "Billing postal code"),
                    FieldDecl::text("billing_country", "Billing country"),
                    FieldDecl::text("shipping_street", "Shipping street"),
                    FieldDecl::text("shipping_city", "Shipping city"),
                    FieldDecl::text("shipping_region", "Shipping region"),
                    FieldDecl::text("shipping_postal_code", "Shipping postal code"),
                    FieldDecl::text("shipping_country", "Shipping country"),
                ],
            ),
        ],
    };

    fn title(&self) -> String {
        self.name.clone()
    }
}

// ---------------------------------------------------------------------------------------------
// Deleting one account

/// What to do with the account's contacts (`contacts`: `delete` or `reassign`, with
/// `reassign_to`) and child accounts (`detach_children`): the API's `?cascade=contacts`,
/// `?reassign_to=` and `?detach_children=true`.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct DeleteChoice {
    contacts: String,
    reassign_to: String,
    detach_children: String,
}

/// The fields of the delete page a message can sit next to (the store names the contacts and
/// children it refuses to leave behind).
const DELETE_FIELDS: &[&str] = &["contacts", "reassign_to", "children"];

impl DeleteChoice {
    fn options(&self, errors: &mut FormErrors) -> DeleteOptions {
        let mut options = DeleteOptions {
            detach_children: self.detach_children == "true",
            ..DeleteOptions::default()
        };
        match self.contacts.as_str() {
            "delete" => options.cascade_contacts = true,
            "reassign" => match self.reassign_to.trim().parse::<AccountId>() {
                Ok(id) => options.reassign_to = Some(id),
                Err(_) => errors.add("reassign_to", "choose the account to move them to"),
            },
            _ => {}
        }
        options
    }
}

#[derive(Template)]
#[template(path = "web/accounts_delete.html")]
struct DeletePage {
    layout: Layout,
    id: Uuid,
    name: String,
    contact_count: usize,
    more_contacts: bool,
    child_count: usize,
    choice: DeleteChoice,
    reassign_options: Vec<Opt>,
    errors: FormErrors,
}

async fn delete_page(
    ctx: &Ctx,
    account: &Account,
    choice: DeleteChoice,
    errors: FormErrors,
) -> Result<DeletePage, WebError> {
    let related = Related::load(ctx, account.id).await?;
    let reassign_options = AccountNames::load(ctx)
        .await?
        .options(
            ctx,
            Some("Choose an account"),
            &choice.reassign_to,
            Some(account.id),
        )
        .await;
    Ok(DeletePage {
        layout: ctx.layout(format!("Delete {}", account.name)),
        id: account.id.uuid(),
        name: account.name.clone(),
        // Contacts the caller cannot see still count: the store refuses, and says so here.
        contact_count: related
            .contacts
            .len()
            .max(usize::from(errors.has("contacts"))),
        more_contacts: related.more_contacts,
        child_count: related
            .children
            .len()
            .max(usize::from(errors.has("children"))),
        choice,
        reassign_options,
        errors,
    })
}

pub async fn confirm_delete(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let id = parse_id(&id).or_page(&ctx)?;
    let account = record::get::<Account>(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    let page = delete_page(&ctx, &account, DeleteChoice::default(), FormErrors::new()).await?;
    Ok(ctx.render(&page))
}

pub async fn delete(
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(choice): WebForm<DeleteChoice>,
) -> Result<Response, WebError> {
    let id = parse_id(&id).or_page(&ctx)?;
    let account = record::get::<Account>(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    let mut errors = FormErrors::new();
    let options = choice.options(&mut errors);
    if errors.is_empty() {
        match accounts::delete(&ctx.app.store, &ctx.actor, id, options).await {
            Ok(()) => {
                return Ok(ctx.done(
                    "/accounts",
                    format!("Deleted the account {}.", account.name),
                ));
            }
            Err(err) => errors.absorb(err.into(), DELETE_FIELDS).or_page(&ctx)?,
        }
    }
    let page = delete_page(&ctx, &account, choice, errors).await?;
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

// ---------------------------------------------------------------------------------------------
// An account's page

pub struct Link {
    pub id: Uuid,
    pub name: String,
    pub detail: String,
    pub primary: bool,
}

/// The records around an account: its child accounts, its contacts and its deals (as far as
/// the caller may read them).
struct Related {
    children: Vec<Link>,
    contacts: Vec<Link>,
    deals: Vec<Link>,
    more_children: bool,
    more_contacts: bool,
    more_deals: bool,
}

impl Related {
    async fn load(ctx: &Ctx, id: AccountId) -> Result<Self, WebError> {
        let (store, actor) = (&ctx.app.store, &ctx.actor);
        let by = |field: &str| vec![(field.to_owned(), id.to_string())];
        let query = ListQuery::parse(&by("parent_id"), ACCOUNT_FIELDS, ACCOUNT_DEFAULT_SORT)
            .map_err(|e| ctx.fail(AppError::BadRequest(e.0)))?;
        let page = record::list::<Account>(store, actor, &query, PAGE_SIZE, None)
            .await
            .or_page(ctx)?;
        let children = page
            .data
            .into_iter()
            .map(|a| Link {
                id: a.id.uuid(),
                name: a.name,
                detail: stage_label(a.lifecycle_stage).to_owned(),
                primary: false,
            })
            .collect();
        let more_children = page.next_cursor.is_some();
        let mut contacts = Vec::new();
        let mut more_contacts = false;
        if ctx.can(Resource::Contacts, Action::Read) {
            let query = ListQuery::<ContactField>::parse(
                &by("account_id"),
                CONTACT_FIELDS,
                CONTACT_DEFAULT_SORT,
            )
            .map_err(|e| ctx.fail(AppError::BadRequest(e.0)))?;
            let page = record::list::<Contact>(store, actor, &query, PAGE_SIZE, None)
                .await
                .or_page(ctx)?;
            more_contacts = page.next_cursor.is_some();
            contacts = page
                .data
                .iter()
                .map(|c| Link {
                    id: c.id.uuid(),
                    name: super::names::display_name(c),
                    detail: [c.title.as_deref(), c.email.as_deref()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" · "),
                    primary: c.is_primary,
                })
                .collect();
            // The primary contact first.
            contacts.sort_by_key(|c: &Link| !c.primary);
        }
        let mut deals = Vec::new();
        let mut more_deals = false;
        if ctx.can(Resource::Deals, Action::Read) {
            let query =
                ListQuery::<DealField>::parse(&by("account_id"), DEAL_FIELDS, DEAL_DEFAULT_SORT)
                    .map_err(|e| ctx.fail(AppError::BadRequest(e.0)))?;
            let page = record::list::<Deal>(store, actor, &query, PAGE_SIZE, None)
                .await
                .or_page(ctx)?;
            more_deals = page.next_cursor.is_some();
            deals = page
                .data
                .into_iter()
                .map(|d| {
                    let amount = d.amount.map(|a| super::money::money(&a, &d.currency));
                    let closes = d.close_date.map(|day| format!("closes {day}"));
                    Link {
                        id: d.id.uuid(),
                        name: d.name,
                        detail: [amount, closes]
                            .into_iter()
                            .flatten()
                            .collect::<Vec<_>>()
                            .join(" · "),
                        primary: false,
                    }
                })
                .collect();
        }
        Ok(Self {
            children,
            contacts,
            deals,
            more_children,
            more_contacts,
            more_deals,
        })
    }
}

#[derive(Template)]
#[template(path = "web/accounts_show.html")]
struct DetailPage {
    layout: Layout,
    id: Uuid,
    name: String,
    subtitle: String,
    stage: &'static str,
    stage_label: &'static str,
    owner: String,
    tags: Vec<String>,
    health: super::health::HealthPanel,
    parent: Option<(AccountId, String)>,
    sections: Vec<Section>,
    custom: Vec<CustomValue>,
    related: Related,
    show_contacts: bool,
    show_deals: bool,
    can_add_contact: bool,
    can_add_deal: bool,
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
    let account = record::get::<Account>(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    let owners = Owners::load(&ctx).await?;
    let timeline = timeline::load(&ctx, &owners, RecordType::Account, id, &query.before).await?;
    let related = Related::load(&ctx, id).await?;
    let parent = match account.parent_id {
        Some(parent) => Some((
            parent,
            AccountNames::load(&ctx).await?.name(&ctx, parent).await,
        )),
        None => None,
    };
    let revenue = account.annual_revenue.as_ref().map(|amount| {
        super::money::money(
            amount,
            account
                .annual_revenue_currency
                .as_deref()
                .unwrap_or_default(),
        )
    });
    let employees = account.employee_count.map(|n| n.to_string());
    let created = Some(datetime(&account.created_at));
    let updated = Some(datetime(&account.updated_at));
    let subtitle = [account.domain.as_deref(), account.industry.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · ");
    let custom = CustomFields::load(&ctx, cf::RecordType::Account)
        .await?
        .values(&account.custom_fields);
    let page = DetailPage {
        custom,
        layout: ctx.layout(account.name.clone()),
        timeline,
        here: format!("/accounts/{id}"),
        id: id.uuid(),
        name: account.name.clone(),
        subtitle,
        stage: account.lifecycle_stage.as_str(),
        stage_label: stage_label(account.lifecycle_stage),
        owner: owners.name(account.owner_id),
        tags: account.tags.clone(),
        health: super::health::panel(&ctx, id).await?,
        parent,
        sections: vec![
            Section {
                title: "Company",
                items: items(&[
                    ("Domain", &account.domain),
                    ("Industry", &account.industry),
                    ("Employees", &employees),
                    ("Annual revenue", &revenue),
                    ("Created", &created),
                    ("Last changed", &updated),
                ]),
            },
            Section {
                title: "Billing address",
                items: items(&[
                    ("Street", &account.billing_street),
                    ("City", &account.billing_city),
                    ("Region", &account.billing_region),
                    ("Postal code", &account.billing_postal_code),
                    ("Country", &account.billing_country),
                ]),
            },
            Section {
                title: "Shipping address",
                items: items(&[
                    ("Street", &account.shipping_street),
                    ("City", &account.shipping_city),
                    ("Region", &account.shipping_region),
                    ("Postal code", &account.shipping_postal_code),
                    ("Country", &account.shipping_country),
                ]),
            },
        ],
        related,
        show_contacts: ctx.can(Resource::Contacts, Action::Read),
        show_deals: ctx.can(Resource::Deals, Action::Read),
        can_add_contact: ctx.can(Resource::Contacts, Action::Create),
        can_add_deal: ctx.can(Resource::Deals, Action::Create),
        can_update: ctx.can(Resource::Accounts, Action::Update),
        can_delete: ctx.can(Resource::Accounts, Action::Delete),
    };
    Ok(ctx.render(&page))
}
