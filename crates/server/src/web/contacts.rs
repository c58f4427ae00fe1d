//! The contacts pages: the list (filter bar, sortable columns, keyset pages, bulk owner / delete
//! with a confirmation step), the create and edit form (`/contacts/new?account_id=` starts at an
//! account, from its page), and a contact's page with its account and consent. The list reads
//! the same query string as `GET /api/v1/contacts`, and every change goes through
//! `crate::api::contacts::{create_contact, update_contact}` or the store's functions.

use super::custom_fields::{self as cf, CustomFields, CustomInput, CustomValue, WithCustom};
use super::detail::{Section, items};
use super::form::{owner_json, tags_json, text};
use super::list::{BulkChange, Col, Owners, bulk_action, delete_one, plain_page, value_of};
use super::names::{AccountNames, display_name};
use super::record_form::{Field, FormSection, RecordForm};
use super::record_list::{
    Badge, Cell, Filter, LinkView, ListDecl, RecordList, Row, take_select_all,
};
use super::timeline::{self, Timeline, TimelineQuery};
use super::view::{
    Ctx, FormErrors, FormKind, Layout, OrPage, WebError, WebForm, WebQuery, date, datetime,
};
use super::views_bar::ListSpec;
use crate::http::extract::parse_id;
use askama::Template;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use rivet_domain::activities::RecordType;
use rivet_domain::contacts::{CONTACT_DEFAULT_SORT, CONTACT_FIELDS};
use rivet_domain::ids::AccountId;
use rivet_domain::{Action, Resource};
use rivet_store::contacts::Contact;
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
    "mobile",
    "account_id",
    "is_primary",
    "owner_id",
    "email_consent",
    "email_consent_source",
    "whatsapp_consent",
    "whatsapp_consent_source",
    "street",
    "city",
    "region",
    "postal_code",
    "country",
    "tags",
];

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
    bulk_action::<Contact>(&ctx, &LIST, &form, display_name, BULK).await
}

// ---------------------------------------------------------------------------------------------
// The form

/// The form as typed: plain strings (a checkbox sends `true` when ticked, nothing otherwise).
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct ContactForm {
    first_name: String,
    last_name: String,
    title: String,
    email: String,
    phone: String,
    mobile: String,
    account_id: String,
    is_primary: String,
    owner_id: String,
    email_consent: String,
    email_consent_source: String,
    whatsapp_consent: String,
    whatsapp_consent_source: String,
    street: String,
    city: String,
    region: String,
    postal_code: String,
    country: String,
    tags: String,
}

fn flag(value: bool) -> String {
    if value { "true".into() } else { String::new() }
}

impl ContactForm {
    fn of(contact: &Contact) -> Self {
        Self {
            first_name: text(&contact.first_name),
            last_name: text(&contact.last_name),
            title: text(&contact.title),
            email: text(&contact.email),
            phone: text(&contact.phone),
            mobile: text(&contact.mobile),
            account_id: contact
                .account_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            is_primary: flag(contact.is_primary),
            owner_id: contact.owner_id.to_string(),
            email_consent: flag(contact.email_consent),
            email_consent_source: text(&contact.email_consent_source),
            whatsapp_consent: flag(contact.whatsapp_consent),
            whatsapp_consent_source: text(&contact.whatsapp_consent_source),
            street: text(&contact.street),
            city: text(&contact.city),
            region: text(&contact.region),
            postal_code: text(&contact.postal_code),
            country: text(&contact.country),
            tags: contact.tags.join(", "),
        }
    }

    fn texts(&self) -> Vec<(&'static str, &str)> {
        vec![
            ("first_name", &self.first_name),
            ("last_name", &self.last_name),
            ("title", &self.title),
            ("email", &self.email),
            ("phone", &self.phone),
            ("mobile", &self.mobile),
            ("email_consent_source", &self.email_consent_source),
            ("whatsapp_consent_source", &self.whatsapp_consent_source),
            ("street", &self.street),
            ("city", &self.city),
            ("region", &self.region),
            ("postal_code", &self.postal_code),
            ("country", &self.country),
        ]
    }

    /// The form as the API's JSON body (a full set of the form's fields).
    fn as_json(&self, errors: &mut FormErrors) -> Map<String, Value> {
        let mut map = Map::new();
        for (field, value) in self.texts() {
            map.insert(field.into(), Value::String(value.trim().to_owned()));
        }
        for (field, value) in [
            ("is_primary", &self.is_primary),
            ("email_consent", &self.email_consent),
            ("whatsapp_consent", &self.whatsapp_consent),
        ] {
            map.insert(field.into(), Value::Bool(value == "true"));
        }
        let account = self.account_id.trim();
        let account = match Uuid::parse_str(account) {
            Ok(id) => Value::String(id.to_string()),
            Err(_) if account.is_empty() => Value::Null,
            Err(_) => {
                errors.add("account_id", "must be an account id");
                Value::Null
            }
        };
        map.insert("account_id".into(), account);
        owner_json(&mut map, &self.owner_id, errors);
        map.insert("tags".into(), tags_json(&self.tags));
        map
    }
}

async fn form_page(
    ctx: &Ctx,
    kind: FormKind,
    form: ContactForm,
    custom: Vec<CustomInput>,
    errors: FormErrors,
) -> Result<RecordForm, WebError> {
    let owners = Owners::load(ctx).await?;
    let owner = if form.owner_id.is_empty() {
        ctx.actor.user_id.to_string()
    } else {
        form.owner_id.clone()
    };
    let account_options = AccountNames::load(ctx)
        .await?
        .options(ctx, Some("No account"), &form.account_id, None)
        .await;
    let f = &form;
    let mut page = RecordForm::new(
        ctx,
        ("contact", ("/contacts", "Contacts")),
        kind,
        "A contact needs a name or an e-mail address; everything else can wait.",
        errors,
    );
    page.sections = vec![
        FormSection::card(
            "person",
            "Person",
            vec![
                Field::text("first_name", "First name", &f.first_name),
                Field::text("last_name", "Last name", &f.last_name),
                Field::text("title", "Job title", &f.title),
                Field::input("email", "email", "E-mail", &f.email),
                Field::input("tel", "phone", "Phone", &f.phone)
                    .hint("With the country code, e.g. +44 20 7946 0958."),
                Field::input("tel", "mobile", "Mobile", &f.mobile),
            ],
        ),
        FormSection::card(
            "account",
            "Account and ownership",
            vec![
                Field::select("account_id", "Account", account_options),
                Field::check("is_primary", "The account's primary contact", &f.is_primary)
                    .hint("Replaces the account's current primary contact."),
                Field::select("owner_id", "Owner", owners.options(None, &owner)),
                Field::text("tags", "Tags", &f.tags).hint("Separated by commas."),
            ],
        ),
        FormSection::card(
            "consent",
            "Consent",
            vec![
                Field::check("email_consent", "Agreed to e-mail", &f.email_consent),
                Field::text(
                    "email_consent_source",
                    "Where the e-mail consent came from",
                    &f.email_consent_source,
                )
                .hint("e.g. web form, call."),
                Field::check(
                    "whatsapp_consent",
                    "Agreed to WhatsApp",
                    &f.whatsapp_consent,
                ),
                Field::text(
                    "whatsapp_consent_source",
                    "Where the WhatsApp consent came from",
                    &f.whatsapp_consent_source,
                ),
            ],
        ),
        FormSection::folded(
            "address",
            ("Address", ""),
            vec![
                Field::text("street", "Street", &f.street),
                Field::text("city", "City", &f.city),
                Field::text("region", "Region", &f.region),
                Field::text("postal_code", "Postal code", &f.postal_code),
                Field::text("country", "Country", &f.country),
            ],
        ),
    ];
    page.custom = custom;
    Ok(page)
}

/// `/contacts/new?account_id=…`: the account to start with.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct NewQuery {
    account_id: String,
}

pub async fn new(ctx: Ctx, WebQuery(query): WebQuery<NewQuery>) -> Result<Response, WebError> {
    let custom = CustomFields::load(&ctx, cf::RecordType::Contact).await?;
    let form = ContactForm {
        account_id: query.account_id.trim().to_owned(),
        ..ContactForm::default()
    };
    let page = form_page(
        &ctx,
        FormKind::create(
            "/contacts",
            ("New contact", "Create contact"),
            Some(&form.account_id),
        ),
        form,
        custom.blank(),
        FormErrors::new(),
    )
    .await?;
    Ok(ctx.render(&page))
}

pub async fn create(
    ctx: Ctx,
    WithCustom(form, posted): WithCustom<ContactForm>,
) -> Result<Response, WebError> {
    let custom = CustomFields::load(&ctx, cf::RecordType::Contact).await?;
    let mut errors = FormErrors::new();
    let mut body = form.as_json(&mut errors);
    custom.add_new(&posted, &mut body);
    if errors.is_empty()
        && let Some(contact) = custom
            .create::<Contact>(&ctx, body, &mut errors, FORM_FIELDS)
            .await?
    {
        return Ok(ctx.done(
            &format!("/contacts/{}", contact.id),
            format!("Created the contact {}.", display_name(&contact)),
        ));
    }
    let custom = custom.as_posted(&posted, &errors);
    let page = form_page(
        &ctx,
        FormKind::create(
            "/contacts",
            ("New contact", "Create contact"),
            Some(&form.account_id),
        ),
        form,
        custom,
        errors,
    )
    .await?;
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

pub async fn edit(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let id = parse_id(&id).or_page(&ctx)?;
    let contact = record::get::<Contact>(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    let custom = CustomFields::load(&ctx, cf::RecordType::Contact).await?;
    let page = form_page(
        &ctx,
        FormKind::edit("/contacts", contact.id, &display_name(&contact)),
        ContactForm::of(&contact),
        custom.of(&contact.custom_fields),
        FormErrors::new(),
    )
    .await?;
    Ok(ctx.render(&page))
}

pub async fn update(
    ctx: Ctx,
    Path(id): Path<String>,
    WithCustom(form, posted): WithCustom<ContactForm>,
) -> Result<Response, WebError> {
    let id = parse_id(&id).or_page(&ctx)?;
    let contact = record::get::<Contact>(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    let custom = CustomFields::load(&ctx, cf::RecordType::Contact).await?;
    let mut errors = FormErrors::new();
    let mut patch = form.as_json(&mut errors);
    custom.add_patch(&posted, &mut patch);
    if errors.is_empty()
        && let Some(contact) = custom
            .update::<Contact>(&ctx, id, patch, &mut errors, FORM_FIELDS)
            .await?
    {
        return Ok(ctx.done(
            &format!("/contacts/{id}"),
            format!("Saved {}.", display_name(&contact)),
        ));
    }
    let custom = custom.as_posted(&posted, &errors);
    let page = form_page(
        &ctx,
        FormKind::edit("/contacts", contact.id, &display_name(&contact)),
        form,
        custom,
        errors,
    )
    .await?;
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
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
