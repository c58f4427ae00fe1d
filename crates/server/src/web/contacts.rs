//! The contacts pages: the list (filter bar, sortable columns, keyset pages, bulk owner / delete
//! with a confirmation step), the create and edit form (`/contacts/new?account_id=` starts at an
//! account, from its page), and a contact's page with its account and consent. The list reads
//! the same query string as `GET /api/v1/contacts`, and every change goes through
//! `crate::api::contacts::{create_contact, update_contact}` or the store's functions.

use super::custom_fields::{
    self as cf, CustomFields, CustomFilter, CustomInput, CustomValue, WithCustom,
};
use super::detail::{Section, items};
use super::form::{owner_json, tags_json, text};
use super::list::{
    ConfirmDeletePage, ListLinks, Owners, PAGE_SIZE, Selection, SortHeader, api_pairs, bulk_done,
    value_of,
};
use super::names::{AccountNames, display_name};
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
use rivet_domain::contacts::{CONTACT_DEFAULT_SORT, CONTACT_FIELDS, ContactInput};
use rivet_domain::ids::{AccountId, UserId};
use rivet_domain::{Action, Resource};
use rivet_store::contacts::{self, BulkSet, Contact};
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

pub struct ContactRow {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub account: Option<(AccountId, String)>,
    pub primary: bool,
    pub owner: String,
    pub created: String,
}

/// The sortable columns: label, API field, and the direction a first click sorts in.
const SORT_COLUMNS: &[(&str, &str, bool)] = &[
    ("Name", "last_name", false),
    ("Created", "created_at", true),
];

#[derive(Template)]
#[template(path = "web/contacts.html")]
struct ListPage {
    layout: Layout,
    rows: Vec<ContactRow>,
    headers: Vec<SortHeader>,
    q: String,
    account_filter: Vec<Opt>,
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
    views: super::views_bar::ViewsBar,
}

/// The list page, as its views bar and saved views see it.
pub(super) const PAGE: ListSpec = ListSpec::plain(Resource::Contacts, "/contacts");

pub async fn index(
    ctx: Ctx,
    WebQuery(mut raw): WebQuery<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let views = super::views_bar::bar(&ctx, &PAGE, &mut raw).await?;
    let mut errors = FormErrors::new();
    let pairs = api_pairs(&raw, &mut errors);
    let owners = Owners::load(&ctx).await?;
    let mut accounts = AccountNames::load(&ctx).await?;
    let parsed = cf::list_query(
        &ctx,
        cf::RecordType::Contact,
        &pairs,
        CONTACT_FIELDS,
        CONTACT_DEFAULT_SORT,
        &mut errors,
    )
    .await?;
    let mut rows = Vec::new();
    let mut next_cursor = None;
    if let (Some(query), true) = (&parsed, errors.is_empty()) {
        let after = match value_of(&raw, "cursor") {
            "" => None,
            text => Some(
                rivet_store::query::decode_cursor(&query.sort, text).ok_or_else(|| {
                    ctx.fail(AppError::BadRequest("the page link is not valid".into()))
                })?,
            ),
        };
        let page =
            record::list::<Contact>(&ctx.app.store, &ctx.actor, query, PAGE_SIZE, after.as_ref())
                .await
                .or_page(&ctx)?;
        accounts
            .resolve(&ctx, page.data.iter().filter_map(|c| c.account_id))
            .await?;
        for c in &page.data {
            let account = c.account_id.map(|id| (id, accounts.known(id)));
            rows.push(ContactRow {
                id: c.id.uuid(),
                name: display_name(c),
                email: c.email.clone().unwrap_or_default(),
                account,
                primary: c.is_primary,
                owner: owners.name(c.owner_id),
                created: date(&c.created_at),
            });
        }
        next_cursor = page.next_cursor;
    }
    let links = ListLinks::new("/contacts", &raw, SORT_COLUMNS, next_cursor);
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    let page = ListPage {
        layout: ctx.layout("Contacts"),
        rows,
        headers: links.headers,
        q: value_of(&raw, "q").to_owned(),
        account_filter: accounts
            .options(
                &ctx,
                Some("Any account"),
                value_of(&raw, "account_id"),
                None,
            )
            .await,
        owner_filter: owners.options(Some("Anyone"), value_of(&raw, "owner_id")),
        custom_filters: CustomFields::load(&ctx, cf::RecordType::Contact)
            .await?
            .filters(&raw),
        filtered: links.filtered,
        errors,
        first_href: links.first_href,
        next_href: links.next_href,
        back: links.back,
        can_create: ctx.can(Resource::Contacts, Action::Create),
        can_update: ctx.can(Resource::Contacts, Action::Update),
        can_delete: ctx.can(Resource::Contacts, Action::Delete),
        bulk_owner: owners.options(Some("Choose an owner"), ""),
        views,
    };
    Ok(ctx.render_status(status, &page))
}

// ---------------------------------------------------------------------------------------------
// Bulk actions

/// One post for the bulk actions (which button was pressed is `action`); deleting first shows
/// a page that asks, and deletes only when that page's button sends `confirm=yes`.
pub async fn bulk(
    ctx: Ctx,
    WebForm(form): WebForm<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let field = |key: &str| value_of(&form, key).to_owned();
    let Selection { back, action, ids } = match Selection::read(
        &ctx,
        &form,
        "/contacts",
        Resource::Contacts,
        ("contact", "contacts"),
    )? {
        Ok(selection) => selection,
        Err(refused) => return Ok(refused),
    };
    let (store, actor) = (&ctx.app.store, &ctx.actor);
    let count = ids.len();
    let plural = |n: usize| format!("{n} contact{}", if n == 1 { "" } else { "s" });
    let result = match action.as_str() {
        "delete" if field("confirm") == "yes" => record::bulk_delete::<Contact>(store, actor, &ids)
            .await
            .map(|n| format!("Deleted {}.", plural(usize::try_from(n).unwrap_or(count)))),
        "delete" => {
            let mut names = Vec::new();
            for id in ids.iter().take(20) {
                names.push(
                    record::get::<Contact>(store, actor, *id)
                        .await
                        .map(|c| display_name(&c))
                        .or_page(&ctx)?,
                );
            }
            let page = ConfirmDeletePage {
                layout: ctx.layout("Delete contacts"),
                path: "/contacts",
                title: "Contacts",
                noun: "contact",
                nouns: "contacts",
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
            contacts::bulk_update(store, actor, &ids, &set)
                .await
                .map(|done| format!("Changed the owner of {}.", plural(done.len())))
        }
        _ => return Err(ctx.fail(AppError::BadRequest("unknown bulk action".into()))),
    };
    bulk_done(&ctx, &back, result)
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

#[derive(Template)]
#[template(path = "web/contacts_form.html")]
struct FormPage {
    layout: Layout,
    heading: String,
    action: String,
    cancel: String,
    submit: &'static str,
    form: ContactForm,
    owner_options: Vec<Opt>,
    account_options: Vec<Opt>,
    /// Open the address section when it holds a value or an error.
    address_open: bool,
    errors: FormErrors,
    custom: Vec<CustomInput>,
}

async fn form_page(
    ctx: &Ctx,
    kind: FormKind,
    form: ContactForm,
    custom: Vec<CustomInput>,
    errors: FormErrors,
) -> Result<FormPage, WebError> {
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
    let address_open = [
        ("street", &form.street),
        ("city", &form.city),
        ("region", &form.region),
        ("postal_code", &form.postal_code),
        ("country", &form.country),
    ]
    .iter()
    .any(|(field, value)| !value.trim().is_empty() || errors.has(field));
    Ok(FormPage {
        layout: ctx.layout(kind.heading.clone()),
        heading: kind.heading,
        action: kind.action,
        cancel: kind.cancel,
        submit: kind.submit,
        owner_options: owners.options(None, &owner),
        account_options,
        address_open,
        form,
        errors,
        custom,
    })
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
    if errors.is_empty() {
        let input: Result<ContactInput, AppError> = serde_json::from_value(Value::Object(body))
            .map_err(|e| AppError::BadRequest(e.to_string()));
        let result = match input {
            Ok(input) => create_record::<Contact>(&ctx.app, &ctx.actor, input).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(contact) => {
                return Ok(ctx.done(
                    &format!("/contacts/{}", contact.id),
                    format!("Created the contact {}.", display_name(&contact)),
                ));
            }
            Err(err) => custom.absorb(&mut errors, err, FORM_FIELDS).or_page(&ctx)?,
        }
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
    if errors.is_empty() {
        match update_record::<Contact>(&ctx.app, &ctx.actor, id, patch).await {
            Ok(contact) => {
                return Ok(ctx.done(
                    &format!("/contacts/{id}"),
                    format!("Saved {}.", display_name(&contact)),
                ));
            }
            Err(err) => custom.absorb(&mut errors, err, FORM_FIELDS).or_page(&ctx)?,
        }
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
    let contact = record::get::<Contact>(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    record::delete::<Contact>(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    Ok(ctx.done(
        "/contacts",
        format!("Deleted the contact {}.", display_name(&contact)),
    ))
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
