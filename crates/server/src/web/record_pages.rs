//! A record type's form, declared once ([`FormDecl`]): which fields it shows in which sections,
//! how each is typed ([`Widget`]), and from that alone what the form shows for a stored record
//! ([`Values::of`]), what it sends to the API ([`Values::body`]), which fields a message can sit
//! next to, and the four pages every record form has: new, create, edit and update
//! ([`new`], [`create`], [`edit`], [`update`], registered for a type as `new::<Lead>`).
//!
//! The markup is `record_form`'s; the rules are the API's (`create_record`, `update_record`),
//! so a form refuses exactly what the API refuses, with the message next to the field.

use super::custom_fields::{CustomFields, CustomInput, WithCustom};
use super::form::{number_json, owner_json, tags_json};
use super::list::Owners;
use super::names::AccountNames;
use super::record_form::{Field, FormSection, RecordForm};
use super::view::{Ctx, FormErrors, FormKind, Opt, OrPage, WebError, WebQuery};
use crate::api::record::ApiRecord;
use crate::http::extract::parse_id;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use rivet_domain::ids::AccountId;
use rivet_store::record;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::collections::HashMap;
use uuid::Uuid;

/// How a field is typed into the form and what it sends.
#[derive(Clone, Copy)]
pub enum Widget {
    /// An `<input>` of this type (`text`, `email`, `tel`, `url`), sent as its trimmed text.
    Input(&'static str),
    /// A whole number (thousands separators allowed); empty is `null`.
    Number,
    Area,
    /// A checkbox: `true` when ticked.
    Check,
    /// Comma-separated tags, sent as a list.
    Tags,
    /// The company's active members; empty keeps the current owner, and a new record starts
    /// with the caller.
    Owner,
    /// The caller's accounts, with `none` first (the record's own account left out of its own
    /// parent select when `not_self`).
    Account {
        none: &'static str,
        not_self: bool,
    },
    /// A fixed list: `options(first, selected)`, selecting `default` when empty.
    Choice {
        options: fn(Option<&str>, &str) -> Vec<Opt>,
        default: &'static str,
    },
}

/// One field of a form.
#[derive(Clone, Copy)]
pub struct FieldDecl {
    /// The API's field, the posted name and the input's id after the form's prefix.
    pub name: &'static str,
    pub label: &'static str,
    pub widget: Widget,
    pub hint: &'static str,
    pub required: bool,
}

impl FieldDecl {
    pub const fn new(name: &'static str, label: &'static str, widget: Widget) -> Self {
        Self {
            name,
            label,
            widget,
            hint: "",
            required: false,
        }
    }

    pub const fn text(name: &'static str, label: &'static str) -> Self {
        Self::new(name, label, Widget::Input("text"))
    }

    pub const fn input(kind: &'static str, name: &'static str, label: &'static str) -> Self {
        Self::new(name, label, Widget::Input(kind))
    }

    pub const fn area(name: &'static str, label: &'static str) -> Self {
        Self::new(name, label, Widget::Area)
    }

    pub const fn number(name: &'static str, label: &'static str) -> Self {
        Self::new(name, label, Widget::Number)
    }

    pub const fn check(name: &'static str, label: &'static str) -> Self {
        Self::new(name, label, Widget::Check)
    }

    /// An amount of money, typed as a decimal number.
    pub const fn money(name: &'static str, label: &'static str) -> Self {
        Self::text(name, label).hint("A decimal number, e.g. 1250000.00.")
    }

    /// The ISO code of a money field's currency.
    pub const fn currency(name: &'static str) -> Self {
        Self::text(name, "Currency").hint("ISO code, e.g. EUR.")
    }

    /// The record's owner (`owner_id`).
    pub const OWNER: Self = Self::new("owner_id", "Owner", Widget::Owner);

    /// The record's tags (`tags`).
    pub const TAGS: Self = Self::new("tags", "Tags", Widget::Tags).hint("Separated by commas.");

    pub const fn account(
        name: &'static str,
        label: &'static str,
        none: &'static str,
        not_self: bool,
    ) -> Self {
        Self::new(name, label, Widget::Account { none, not_self })
    }

    pub const fn choice(
        name: &'static str,
        label: &'static str,
        options: fn(Option<&str>, &str) -> Vec<Opt>,
        default: &'static str,
    ) -> Self {
        Self::new(name, label, Widget::Choice { options, default })
    }

    pub const fn hint(self, hint: &'static str) -> Self {
        Self { hint, ..self }
    }

    pub const fn required(self) -> Self {
        Self {
            required: true,
            ..self
        }
    }

    /// The field as the stored record shows it in the form.
    fn shown(&self, value: Option<&Value>) -> String {
        match (self.widget, value) {
            (_, None | Some(Value::Null)) => String::new(),
            (_, Some(Value::String(text))) => text.clone(),
            (Widget::Check, Some(Value::Bool(ticked))) => {
                if *ticked {
                    "true".into()
                } else {
                    String::new()
                }
            }
            (_, Some(Value::Array(items))) => items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", "),
            (_, Some(other)) => other.to_string(),
        }
    }

    /// The typed text as the API's JSON; what the form itself must parse is checked here.
    fn sent(&self, text: &str, body: &mut Map<String, Value>, errors: &mut FormErrors) {
        let value = match self.widget {
            Widget::Input(_) | Widget::Area | Widget::Choice { .. } => {
                Value::String(text.trim().to_owned())
            }
            Widget::Number => number_json(text, self.name, errors),
            Widget::Check => Value::Bool(text == "true"),
            Widget::Tags => tags_json(text),
            Widget::Owner => return owner_json(body, text, errors),
            Widget::Account { .. } => match Uuid::parse_str(text.trim()) {
                Ok(id) => Value::String(id.to_string()),
                Err(_) if text.trim().is_empty() => Value::Null,
                Err(_) => {
                    errors.add(self.name, "must be an account id");
                    Value::Null
                }
            },
        };
        body.insert(self.name.into(), value);
    }
}

/// A card of fields, or a folded one (`fold`: the summary after its title) that opens when a
/// field holds a value or an error.
pub struct SectionDecl {
    /// The heading's id before `-title`.
    pub id: &'static str,
    pub title: &'static str,
    pub fold: Option<&'static str>,
    pub fields: &'static [FieldDecl],
}

impl SectionDecl {
    pub const fn card(id: &'static str, title: &'static str, fields: &'static [FieldDecl]) -> Self {
        Self {
            id,
            title,
            fold: None,
            fields,
        }
    }

    pub const fn folded(
        id: &'static str,
        (title, summary): (&'static str, &'static str),
        fields: &'static [FieldDecl],
    ) -> Self {
        Self {
            id,
            title,
            fold: Some(summary),
            fields,
        }
    }
}

/// A record type's form.
pub struct FormDecl {
    /// The record in a sentence (`contact`), also the prefix of the fields' ids.
    pub noun: &'static str,
    /// The list the breadcrumbs lead back to: its address and title.
    pub list: (&'static str, &'static str),
    /// The new form's heading and button.
    pub new: (&'static str, &'static str),
    /// The sentence under the heading.
    pub blurb: &'static str,
    pub sections: &'static [SectionDecl],
    /// The form warns of possible duplicates as a person's e-mail and phone are typed.
    pub duplicate_check: bool,
}

impl FormDecl {
    fn fields(&self) -> impl Iterator<Item = &FieldDecl> {
        self.sections.iter().flat_map(|s| s.fields)
    }

    /// The fields a message of the API can sit next to.
    fn names(&self) -> Vec<&'static str> {
        self.fields().map(|f| f.name).collect()
    }
}

/// A record type with a form: the generic pages below serve it.
pub(super) trait FormRecord: ApiRecord {
    const FORM: FormDecl;

    /// What the record is called on its pages and in messages.
    fn title(&self) -> String;
}

/// The generic form pages of `R`, for the router ([`super::Pages::records`]): under the
/// list's path.
pub(super) struct FormPages<R> {
    pub path: &'static str,
    record: std::marker::PhantomData<R>,
}

impl<R: FormRecord> FormPages<R> {
    pub(super) fn new() -> Self {
        Self {
            path: R::FORM.list.0,
            record: std::marker::PhantomData,
        }
    }
}

/// The form's fields as typed, by name.
#[derive(Debug, Default, Deserialize)]
#[serde(transparent)]
pub struct Values(HashMap<String, String>);

impl Values {
    fn get(&self, name: &str) -> &str {
        self.0.get(name).map_or("", String::as_str)
    }

    /// What the form shows for `record`.
    fn of<R: FormRecord>(record: &R) -> (Self, Value) {
        let mut stored = match serde_json::to_value(record) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        };
        let values = R::FORM
            .fields()
            .map(|f| (f.name.to_owned(), f.shown(stored.get(f.name))))
            .collect();
        let custom = stored.remove("custom_fields").unwrap_or(Value::Null);
        (Self(values), custom)
    }

    /// The new form's start: the declared fields that the address names
    /// (`/contacts/new?account_id=…`).
    fn given(decl: &FormDecl, query: Vec<(String, String)>) -> Self {
        let names = decl.names();
        Self(
            query
                .into_iter()
                .filter(|(k, _)| names.contains(&k.as_str()))
                .map(|(k, v)| (k, v.trim().to_owned()))
                .collect(),
        )
    }

    /// The form as the API's JSON body: every declared field.
    fn body(&self, decl: &FormDecl, errors: &mut FormErrors) -> Map<String, Value> {
        let mut body = Map::new();
        for field in decl.fields() {
            field.sent(self.get(field.name), &mut body, errors);
        }
        body
    }

    /// The page of `decl` showing these values; `editing` is the record being edited.
    async fn page(
        &self,
        ctx: &Ctx,
        decl: &FormDecl,
        (kind, editing): (FormKind, Option<Uuid>),
        custom: Vec<CustomInput>,
        errors: FormErrors,
    ) -> Result<RecordForm, WebError> {
        let owners = match decl.fields().any(|f| matches!(f.widget, Widget::Owner)) {
            true => Some(Owners::load(ctx).await?),
            false => None,
        };
        let any_account = decl
            .fields()
            .any(|f| matches!(f.widget, Widget::Account { .. }));
        let accounts = match any_account {
            true => Some(AccountNames::load(ctx).await?),
            false => None,
        };
        let mut page = RecordForm::new(ctx, (decl.noun, decl.list), kind, decl.blurb, errors);
        if decl.duplicate_check {
            page.duplicate_check = Some(editing.map(|id| id.to_string()).unwrap_or_default());
        }
        for section in decl.sections {
            let mut fields = Vec::new();
            for f in section.fields {
                let value = self.get(f.name);
                let field = match f.widget {
                    Widget::Input(kind) => Field::input(kind, f.name, f.label, value),
                    Widget::Number => Field::input("number", f.name, f.label, value),
                    Widget::Area => Field::textarea(f.name, f.label, value),
                    Widget::Check => Field::check(f.name, f.label, value),
                    Widget::Tags => Field::text(f.name, f.label, value),
                    Widget::Owner => {
                        let me = ctx.actor.user_id.to_string();
                        let selected = if value.is_empty() { &me } else { value };
                        let options = owners.as_ref().map(|o| o.options(None, selected));
                        Field::select(f.name, f.label, options.unwrap_or_default())
                    }
                    Widget::Account { none, not_self } => {
                        let except = editing.filter(|_| not_self).map(AccountId::from_uuid);
                        let options = match &accounts {
                            Some(accounts) => {
                                accounts.options(ctx, Some(none), value, except).await
                            }
                            None => Vec::new(),
                        };
                        Field::select(f.name, f.label, options)
                    }
                    Widget::Choice { options, default } => {
                        let selected = if value.is_empty() { default } else { value };
                        Field::select(f.name, f.label, options(None, selected))
                    }
                };
                let field = field.hint(f.hint);
                fields.push(if f.required { field.required() } else { field });
            }
            page.sections.push(match section.fold {
                None => FormSection::card(section.id, section.title, fields),
                Some(summary) => FormSection::folded(section.id, (section.title, summary), fields),
            });
        }
        page.custom = custom;
        Ok(page)
    }
}

async fn custom_fields<R: FormRecord>(ctx: &Ctx) -> Result<CustomFields, WebError> {
    match R::CUSTOM {
        Some(kind) => CustomFields::load(ctx, kind).await,
        None => Ok(CustomFields::none()),
    }
}

/// The new form's kind: Cancel goes back to the account it was opened from, if any.
fn create_kind<R: FormRecord>(values: &Values) -> (FormKind, Option<Uuid>) {
    let from_account = Some(values.get("account_id")).filter(|id| !id.is_empty());
    (
        FormKind::create(R::FORM.list.0, R::FORM.new, from_account),
        None,
    )
}

fn edit_kind<R: FormRecord>(record: &R) -> (FormKind, Option<Uuid>) {
    let id = record.id();
    (
        FormKind::edit(R::FORM.list.0, id, &record.title()),
        Some(id.uuid()),
    )
}

/// `GET {list}/new`: the empty form, with what the address names filled in.
pub async fn new<R: FormRecord>(
    ctx: Ctx,
    WebQuery(query): WebQuery<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let custom = custom_fields::<R>(&ctx).await?;
    let values = Values::given(&R::FORM, query);
    let kind = create_kind::<R>(&values);
    let page = values
        .page(&ctx, &R::FORM, kind, custom.blank(), FormErrors::new())
        .await?;
    Ok(ctx.render(&page))
}

/// `POST {list}/new`: create through the API's rules, then the record's page; or the form
/// again with the messages (422).
pub async fn create<R: FormRecord>(
    ctx: Ctx,
    WithCustom(values, posted): WithCustom<Values>,
) -> Result<Response, WebError> {
    let custom = custom_fields::<R>(&ctx).await?;
    let mut errors = FormErrors::new();
    let mut body = values.body(&R::FORM, &mut errors);
    custom.add_new(&posted, &mut body);
    if errors.is_empty()
        && let Some(record) = custom
            .create::<R>(&ctx, body, &mut errors, &R::FORM.names())
            .await?
    {
        return Ok(ctx.done(
            &format!("{}/{}", R::FORM.list.0, record.id()),
            format!("Created the {} {}.", R::FORM.noun, record.title()),
        ));
    }
    let custom = custom.as_posted(&posted, &errors);
    let kind = create_kind::<R>(&values);
    let page = values.page(&ctx, &R::FORM, kind, custom, errors).await?;
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

/// `GET {list}/{id}/edit`.
pub async fn edit<R: FormRecord>(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let id = parse_id(&id).or_page(&ctx)?;
    let record = record::get::<R>(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    let custom = custom_fields::<R>(&ctx).await?;
    let (values, stored) = Values::of(&record);
    let custom = custom.of(&stored);
    let page = values
        .page(
            &ctx,
            &R::FORM,
            edit_kind(&record),
            custom,
            FormErrors::new(),
        )
        .await?;
    Ok(ctx.render(&page))
}

/// `POST {list}/{id}/edit`: the form as a patch through the API's rules, then the record's
/// page; or the form again with the messages (422).
pub async fn update<R: FormRecord>(
    ctx: Ctx,
    Path(id): Path<String>,
    WithCustom(values, posted): WithCustom<Values>,
) -> Result<Response, WebError> {
    let id = parse_id(&id).or_page(&ctx)?;
    let record = record::get::<R>(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    let custom = custom_fields::<R>(&ctx).await?;
    let mut errors = FormErrors::new();
    let mut patch = values.body(&R::FORM, &mut errors);
    custom.add_patch(&posted, &mut patch);
    if errors.is_empty()
        && let Some(saved) = custom
            .update::<R>(&ctx, id, patch, &mut errors, &R::FORM.names())
            .await?
    {
        return Ok(ctx.done(
            &format!("{}/{id}", R::FORM.list.0),
            format!("Saved {}.", saved.title()),
        ));
    }
    let custom = custom.as_posted(&posted, &errors);
    let page = values
        .page(&ctx, &R::FORM, edit_kind(&record), custom, errors)
        .await?;
    Ok(ctx.render_status(StatusCode::UNPROCESSABLE_ENTITY, &page))
}
