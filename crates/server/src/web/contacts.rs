//! The contacts pages: the list (filter bar, sortable columns, keyset pages, bulk owner / delete
//! with a confirmation step), the create and edit form (`/contacts/new?account_id=` starts at an
//! account, from its page), and a contact's page with its account and consent. The list reads
//! the same query string as `GET /api/v1/contacts`, and every change goes through
//! `crate::api::contacts::{create_contact, update_contact}` or the store's functions.

use super::custom_fields::{self as cf, CustomFields, CustomValue};
use super::detail::{Section, items};
use super::form::text;
use super::list::{BulkChange, Col, Owners, bulk_action, delete_one, plain_page, value_of};
use super::names::{AccountNames, display_name};
use super::record_list::{
    Badge, Cell, Filter, LinkView, ListDecl, RecordList, Row, take_select_all,
};
use super::record_pages::{FieldDecl, FormDecl, FormRecord, SectionDecl};
use super::timeline::{self, Timeline, TimelineQuery};
use super::view::{Ctx, FormErrors, Layout, OrPage, WebError, WebForm, WebQuery, date, datetime};
use super::views_bar::ListSpec;
use crate::http::extract::parse_id;
use askama::Template;
use axum::extract::Path;
use axum::response::Response;
use rivet_domain::activities::RecordType;
use rivet_domain::contacts::{CONTACT_DEFAULT_SORT, CONTACT_FIELDS};
use rivet_domain::ids::AccountId;
use rivet_domain::{Action, Resource};
use rivet_store::contacts::Contact;
use rivet_store::record;
use uuid::Uuid;

// ---------------------------------------------------------------------------------------------
// The list

/// The list page, as its views bar and saved views see it.
pub(super) const PAGE: ListSpec = ListSpec::plain(Resource::Contacts, "/contacts");

const LIST: ListDecl = ListDecl {
    page: &PAGE,
    key: "contacts",
    title: "Contacts",
    blurb: "The people you deal with, at their accounts.",
    heading: "All contacts you can see",
    noun: "contact",
    nouns: "contacts",
    new_label: Some("New contact"),
    empty: "There are no contacts yet.",
    add_first: "Add the first one",
    columns: &[
        Col::sorts("Name", "last_name"),
        Col::plain("Account"),
        Col::plain("Owner"),
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
    let mut accounts = AccountNames::load(&ctx).await?;
    let custom = CustomFields::load(&ctx, cf::RecordType::Contact).await?;
    let page = plain_page::<Contact>(
        &ctx,
        cf::RecordType::Contact,
        &raw,
        CONTACT_FIELDS,
        CONTACT_DEFAULT_SORT,
        &mut errors,
    )
    .await?;
    accounts
        .resolve(&ctx, page.data.iter().filter_map(|c| c.account_id))
        .await?;
    let mut rows = Vec::new();
    for c in &page.data {
        let account = c.account_id.map(|id| LinkView {
            label: accounts.known(id),
            href: format!("/accounts/{id}"),
        });
        let primary = c
            .is_primary
            .then(|| Badge::new("badge-primary-contact", "Primary"));
        rows.push(Row {
            id: c.id.uuid(),
            name: display_name(c),
            class: "",
            cells: vec![
                Cell::title(
                    display_name(c),
                    Some(format!("/contacts/{}", c.id)),
                    text(&c.email),
                ),
                Cell::link(account).with_badge(primary),
                Cell::text(owners.name(c.owner_id)),
                Cell::date(date(&c.created_at)),
            ],
        });
    }
    let mut list = RecordList::new(
        &ctx,
        &LIST,
        views,
        (&raw, page.next_cursor),
        errors,
        select_all,
    );
    list.filters = vec![
        Filter::search("Name or e-mail", &raw),
        Filter::select(
            "account_id",
            "Account",
            accounts
                .options(
                    &ctx,
                    Some("Any account"),
                    value_of(&raw, "account_id"),
                    None,
                )
                .await,
        ),
        Filter::member(&owners, ("owner_id", "Owner"), &raw),
    ];
    list.filters
        .extend(custom.filters(&raw).into_iter().map(Filter::from));
    list.bulk_owner(&owners);
    let api = super::list::api_pairs(&raw, &mut FormErrors::new());
    super::sequences::offer_enroll(
        &ctx,
        &mut list,
        rivet_domain::sequences::Enrolls::Contact,
        &api,
    )
    .await?;
    list.rows = rows;
    Ok(list.render(&ctx))
}

// ---------------------------------------------------------------------------------------------
// Bulk actions

/// One post for the bulk actions (which button was pressed is `action`); deleting first shows
/// a page that asks, and deletes only when that page's button sends `confirm=yes`.
/// The bulk bar's changes (its delete is the shared one).
const BULK: &[BulkChange] = &[BulkChange::OWNER];

pub async fn bulk(
    ctx: Ctx,
    WebForm(form): WebForm<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    if value_of(&form, "action") == "enroll" {
        return super::sequences::bulk_enroll::<rivet_domain::ids::kind::Contact>(
            &ctx, &LIST, &form,
        )
        .await;
    }
    bulk_action::<Contact>(&ctx, &LIST, &form, display_name, BULK).await
}

// ---------------------------------------------------------------------------------------------
// The form

impl FormRecord for Contact {
    const FORM: FormDecl = FormDecl {
        noun: "contact",
        list: ("/contacts", "Contacts"),
        new: ("New contact", "Create contact"),
        blurb: "A contact needs a name or an e-mail address; everything else can wait.",
        duplicate_check: false,
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
                    FieldDecl::input("tel", "mobile", "Mobile"),
                ],
            ),
            SectionDecl::card(
                "account",
                "Account and ownership",
                &[
                    FieldDecl::account("account_id", "Account", "No account", false),
                    FieldDecl::check("is_primary", "The account's primary contact")
                        .hint("Replaces the account's current primary contact."),
                    FieldDecl::OWNER,
                    FieldDecl::TAGS,
                ],
            ),
            SectionDecl::card(
                "consent",
                "Consent",
                &[
                    FieldDecl::check("email_consent", "Agreed to e-mail"),
                    FieldDecl::text("email_consent_source", "Where the e-mail consent came from")
                        .hint("e.g. web form, call."),
                    FieldDecl::check("whatsapp_consent", "Agreed to WhatsApp"),
                    FieldDecl::text(
                        "whatsapp_consent_source",
                        "Where the WhatsApp consent came from",
                    ),
                ],
            ),
            SectionDecl::folded(
                "address",
                ("Address", ""),
                &[
                    FieldDecl::text("street", "Street"),
                    FieldDecl::text("city", "City"),
                    FieldDecl::text("region", "Region"),
                    FieldDecl::text("postal_code", "Postal code"),
                    FieldDecl::text("country", "Country"),
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
    delete_one::<Contact>(&ctx, &LIST, id, display_name).await
}

// ---------------------------------------------------------------------------------------------
// A contact's page

#[derive(Template)]
#[template(path = "web/contacts_show.html")]
struct DetailPage {
    layout: Layout,
    id: Uuid,
    name: String,
    title: String,
    account: Option<(AccountId, String)>,
    primary: bool,
    owner: String,
    tags: Vec<String>,
    sections: Vec<Section>,
    custom: Vec<CustomValue>,
    can_update: bool,
    can_delete: bool,
    timeline: Timeline,
    here: String,
    /// The WhatsApp conversation (`web::whatsapp`).
    whatsapp: super::whatsapp::Card,
}

/// "Yes (from …, since …)" or "No".
fn consent(
    given: bool,
    source: &Option<String>,
    at: Option<&chrono::DateTime<chrono::Utc>>,
) -> Option<String> {
    if !given {
        return Some("No".into());
    }
    let mut detail = Vec::new();
    if let Some(source) = source {
        detail.push(format!("from {source}"));
    }
    if let Some(at) = at {
        detail.push(format!("since {}", date(at)));
    }
    Some(if detail.is_empty() {
        "Yes".into()
    } else {
        format!("Yes ({})", detail.join(", "))
    })
}

pub async fn show(
    ctx: Ctx,
    Path(id): Path<String>,
    WebQuery(query): WebQuery<TimelineQuery>,
) -> Result<Response, WebError> {
    let id = parse_id(&id).or_page(&ctx)?;
    let contact = record::get::<Contact>(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    let owners = Owners::load(&ctx).await?;
    let timeline = timeline::load(&ctx, &owners, RecordType::Contact, id, &query.before).await?;
    let account = match contact.account_id {
        Some(account) => Some((
            account,
            AccountNames::load(&ctx).await?.name(&ctx, account).await,
        )),
        None => None,
    };
    let email_consent = consent(
        contact.email_consent,
        &contact.email_consent_source,
        contact.email_consent_at.as_ref(),
    );
    let whatsapp_consent = consent(
        contact.whatsapp_consent,
        &contact.whatsapp_consent_source,
        contact.whatsapp_consent_at.as_ref(),
    );
    let created = Some(datetime(&contact.created_at));
    let updated = Some(datetime(&contact.updated_at));
    let custom = CustomFields::load(&ctx, cf::RecordType::Contact)
        .await?
        .values(&contact.custom_fields);
    let page = DetailPage {
        custom,
        layout: ctx.layout(display_name(&contact)),
        timeline,
        here: format!("/contacts/{id}"),
        whatsapp: super::whatsapp::card(
            &ctx,
            rivet_domain::activities::RecordType::Contact,
            id.uuid(),
            &format!("/contacts/{id}"),
        )
        .await?,
        id: id.uuid(),
        name: display_name(&contact),
        title: text(&contact.title),
        account,
        primary: contact.is_primary,
        owner: owners.name(contact.owner_id),
        tags: contact.tags.clone(),
        sections: vec![
            Section {
                title: "Contact",
                items: items(&[
                    ("First name", &contact.first_name),
                    ("Last name", &contact.last_name),
                    ("Title", &contact.title),
                    ("E-mail", &contact.email),
                    ("Phone", &contact.phone),
                    ("Mobile", &contact.mobile),
                ]),
            },
            Section {
                title: "Consent",
                items: items(&[("E-mail", &email_consent), ("WhatsApp", &whatsapp_consent)]),
            },
            Section {
                title: "Address",
                items: items(&[
                    ("Street", &contact.street),
                    ("City", &contact.city),
                    ("Region", &contact.region),
                    ("Postal code", &contact.postal_code),
                    ("Country", &contact.country),
                    ("Created", &created),
                    ("Last changed", &updated),
                ]),
            },
        ],
        can_update: ctx.can(Resource::Contacts, Action::Update),
        can_delete: ctx.can(Resource::Contacts, Action::Delete),
    };
    Ok(ctx.render(&page))
}
