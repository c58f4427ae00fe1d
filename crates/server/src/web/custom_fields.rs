//! Custom fields on the record forms and pages (leads, accounts, contacts, deals): the company's
//! definitions as form inputs, the posted `cf.<key>` fields as the `custom_fields` object the
//! API takes, the API's messages (`custom_fields.<key>`) next to their inputs, and the stored
//! values on a record's page; and the list pages' query with `cf.<key>` filters and sorts
//! ([`list_query`]). Checking the values is the API's job
//! ([`crate::api::custom_fields::check_new`] and `check_patch`, called by the shared create and update
//! functions); nothing here validates them a second time.
//!
//! Each input posts its name even when left empty (a checkbox comes with a hidden `false`, a
//! group of checkboxes with a hidden empty value), so a handler knows which fields the form
//! showed: an edit clears exactly those that were emptied, and a field defined after the page
//! was opened is left alone.

use super::view::{Ctx, FormErrors, Opt, OrPage, WebError, WebForm, capitalise, options};
use crate::api::record::{ApiRecord, create_record, update_record};
use crate::http::error::AppError;
use axum::extract::{FromRequest, Request};
use rivet_domain::custom_fields::{CustomFieldKind, FieldDef, error_field};
use rivet_domain::query::{FieldSpec, ListQuery, SortKey};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

pub(super) use rivet_domain::custom_fields::RecordType;

/// The name prefix of a custom field's input.
const PREFIX: &str = "cf.";

/// A posted form: the record's own fields as `T`, and the `cf.<key>` fields beside it (repeated
/// for a multi-select), which `T` does not know.
pub struct WithCustom<T>(pub T, pub Posted);

/// The posted `cf.<key>` values, in order, keyed without the prefix.
#[derive(Debug, Default)]
pub struct Posted(Vec<(String, String)>);

impl Posted {
    fn values<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.trim())
    }

    /// Whether the form showed the field (its input posted something, if only empty).
    fn sent(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    /// The last non-empty value, or empty.
    fn text(&self, key: &str) -> String {
        self.values(key)
            .filter(|v| !v.is_empty())
            .last()
            .unwrap_or_default()
            .to_owned()
    }

    fn all(&self, key: &str) -> Vec<String> {
        self.values(key)
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for WithCustom<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &S) -> Result<Self, WebError> {
        let WebForm(pairs) = WebForm::<Vec<(String, String)>>::from_request(req, state).await?;
        let (custom, own): (Vec<_>, Vec<_>) =
            pairs.into_iter().partition(|(k, _)| k.starts_with(PREFIX));
        let invalid =
            |e: &dyn std::fmt::Display| AppError::BadRequest(format!("the form is not valid: {e}"));
        let encoded = serde_urlencoded::to_string(&own).map_err(|e| invalid(&e))?;
        let form = serde_urlencoded::from_str(&encoded).map_err(|e| invalid(&e))?;
        let custom = custom
            .into_iter()
            .filter_map(|(k, v)| k.strip_prefix(PREFIX).map(|k| (k.to_owned(), v)))
            .collect();
        Ok(Self(form, Posted(custom)))
    }
}

/// One custom field as a form input: what `custom_fields_macros.html` renders.
pub struct CustomInput {
    /// The input's name, `cf.<key>`.
    pub name: String,
    /// The input's id after the form's prefix, `cf-<key>`.
    pub id: String,
    pub label: String,
    /// `text`, `number`, `date`, `url` or `email` for plain inputs; `boolean`, `select` or
    /// `multi_select` for the others.
    pub kind: &'static str,
    pub required: bool,
    /// The value of a plain input.
    pub value: String,
    /// A checkbox's state.
    pub checked: bool,
    /// A select's options (after an empty one) or a multi-select's checkboxes.
    pub options: Vec<Opt>,
    /// The API's message about the value.
    pub error: Option<String>,
}

/// One custom field's value on a record's page.
pub struct CustomValue {
    pub label: String,
    /// Empty when the record has no value.
    pub value: String,
    /// A link for web addresses and e-mail addresses.
    pub href: Option<String>,
}

/// A custom field's select in a list's filter bar.
pub struct CustomFilter {
    /// The query parameter, `cf.<key>`.
    pub name: String,
    pub label: String,
    /// "Any", then the values.
    pub options: Vec<Opt>,
}

/// The company's custom fields of one record type, for one form or page.
pub struct CustomFields {
    defs: Vec<FieldDef>,
}

impl CustomFields {
    pub async fn load(ctx: &Ctx, record_type: RecordType) -> Result<Self, WebError> {
        let defs = crate::api::custom_fields::definitions(&ctx.app, &ctx.actor, record_type)
            .await
            .or_page(ctx)?;
        Ok(Self { defs })
    }

    /// A record type without custom fields.
    pub fn none() -> Self {
        Self { defs: Vec::new() }
    }

    /// The posted value of `def` as JSON; `None` when it is empty.
    fn posted_value(def: &FieldDef, posted: &Posted) -> Option<Value> {
        match def.kind {
            CustomFieldKind::Boolean => {
                let mut values = posted.values(&def.key);
                Some(Value::Bool(values.any(|v| v == "true")))
            }
            CustomFieldKind::MultiSelect => {
                let picked = posted.all(&def.key);
                (!picked.is_empty())
                    .then(|| Value::Array(picked.into_iter().map(Value::String).collect()))
            }
            _ => {
                let text = posted.text(&def.key);
                (!text.is_empty()).then_some(Value::String(text))
            }
        }
    }

    /// Put the posted custom fields into a new record's body: the fields filled in (an empty
    /// one is absent, so the API reports a required one as missing). Nothing when the company
    /// has defined none.
    pub fn add_new(&self, posted: &Posted, body: &mut Map<String, Value>) {
        if self.defs.is_empty() {
            return;
        }
        let values: Map<String, Value> = self
            .defs
            .iter()
            .filter(|def| posted.sent(&def.key))
            .filter_map(|def| Some((def.key.clone(), Self::posted_value(def, posted)?)))
            .collect();
        body.insert("custom_fields".into(), Value::Object(values));
    }

    /// Put the posted custom fields into a patch: every field the form showed, an emptied one
    /// as `null` (removed). Nothing when the form showed none.
    pub fn add_patch(&self, posted: &Posted, patch: &mut Map<String, Value>) {
        let changes: Map<String, Value> = self
            .defs
            .iter()
            .filter(|def| posted.sent(&def.key))
            .map(|def| {
                let value = Self::posted_value(def, posted).unwrap_or(Value::Null);
                (def.key.clone(), value)
            })
            .collect();
        if !changes.is_empty() {
            patch.insert("custom_fields".into(), Value::Object(changes));
        }
    }

    /// As [`FormErrors::absorb`], with the custom fields' messages next to their inputs.
    pub fn absorb(
        &self,
        errors: &mut FormErrors,
        err: AppError,
        fields: &[&str],
    ) -> Result<(), AppError> {
        let custom: Vec<String> = self.defs.iter().map(|d| error_field(&d.key)).collect();
        let mut all: Vec<&str> = fields.to_vec();
        all.extend(custom.iter().map(String::as_str));
        errors.absorb(err, &all)
    }

    /// The form's body (its custom fields added) through the API's create: the record, or
    /// `None` with the API's messages next to their fields (the form's `fields` and the custom
    /// ones) in `errors`.
    pub async fn create<R: ApiRecord>(
        &self,
        ctx: &Ctx,
        body: Map<String, Value>,
        errors: &mut FormErrors,
        fields: &[&str],
    ) -> Result<Option<R>, WebError> {
        let result = match serde_json::from_value::<R::Input>(Value::Object(body)) {
            Ok(input) => create_record::<R>(&ctx.app, &ctx.actor, input).await,
            Err(e) => Err(AppError::BadRequest(e.to_string())),
        };
        self.saved(ctx, result, errors, fields)
    }

    /// The form's patch (its custom fields added) through the API's update, as [`Self::create`].
    pub async fn update<R: ApiRecord>(
        &self,
        ctx: &Ctx,
        id: rivet_domain::ids::Id<R::Kind>,
        patch: Map<String, Value>,
        errors: &mut FormErrors,
        fields: &[&str],
    ) -> Result<Option<R>, WebError> {
        let result = update_record::<R>(&ctx.app, &ctx.actor, id, patch).await;
        self.saved(ctx, result, errors, fields)
    }

    fn saved<R>(
        &self,
        ctx: &Ctx,
        result: Result<R, AppError>,
        errors: &mut FormErrors,
        fields: &[&str],
    ) -> Result<Option<R>, WebError> {
        match result {
            Ok(record) => Ok(Some(record)),
            Err(err) => {
                self.absorb(errors, err, fields).or_page(ctx)?;
                Ok(None)
            }
        }
    }

    /// The inputs of a new, empty form.
    pub fn blank(&self) -> Vec<CustomInput> {
        self.of(&Value::Null)
    }

    /// The inputs holding a record's stored `custom_fields`.
    pub fn of(&self, stored: &Value) -> Vec<CustomInput> {
        self.defs
            .iter()
            .map(|def| {
                let value = stored.get(&def.key).unwrap_or(&Value::Null);
                let picked: Vec<String> = match value {
                    Value::Array(items) => items.iter().map(display).collect(),
                    Value::Null => Vec::new(),
                    other => vec![display(other)],
                };
                input(def, &picked, &FormErrors::new())
            })
            .collect()
    }

    /// The inputs as posted, with the messages about them.
    pub fn as_posted(&self, posted: &Posted, errors: &FormErrors) -> Vec<CustomInput> {
        self.defs
            .iter()
            .map(|def| {
                let picked = match def.kind {
                    CustomFieldKind::MultiSelect => posted.all(&def.key),
                    CustomFieldKind::Boolean => posted
                        .values(&def.key)
                        .filter(|v| *v == "true")
                        .map(str::to_owned)
                        .collect(),
                    _ => vec![posted.text(&def.key)],
                };
                input(def, &picked, errors)
            })
            .collect()
    }

    /// The filter bar's selects: one for each field with a fixed set of values (select,
    /// multi-select, yes/no), set from the page's query string `raw`. Other kinds filter
    /// through the address (`cf.<key>=…`, `cf.<key>[gte]=…`), as in the API.
    pub fn filters(&self, raw: &[(String, String)]) -> Vec<CustomFilter> {
        self.defs
            .iter()
            .filter_map(|def| {
                let name = format!("{PREFIX}{}", def.key);
                let mut items = vec![(String::new(), "Any".to_owned())];
                match def.kind {
                    CustomFieldKind::Select | CustomFieldKind::MultiSelect => {
                        items.extend(def.options.iter().map(|o| (o.clone(), o.clone())));
                    }
                    CustomFieldKind::Boolean => {
                        items.push(("true".into(), "Yes".into()));
                        items.push(("false".into(), "No".into()));
                    }
                    _ => return None,
                }
                let selected = raw
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.trim())
                    .unwrap_or_default();
                Some(CustomFilter {
                    label: def.label.clone(),
                    options: options(items, selected),
                    name,
                })
            })
            .collect()
    }

    /// A record's values for its page: every defined field in order (empty ones too), then
    /// any stored key without a definition under its key.
    pub fn values(&self, stored: &Value) -> Vec<CustomValue> {
        let mut out: Vec<CustomValue> = self
            .defs
            .iter()
            .map(|def| {
                let value = stored.get(&def.key).unwrap_or(&Value::Null);
                shown(def.kind, def.label.clone(), value)
            })
            .collect();
        if let Value::Object(map) = stored {
            for (key, value) in map {
                if !self.defs.iter().any(|d| &d.key == key) {
                    out.push(shown(CustomFieldKind::Text, key.clone(), value));
                }
            }
        }
        out
    }
}

/// A list page's query string parsed as the API parses it, with the company's custom fields of
/// `record_type` as `cf.<key>` filters and sorts. A query the API would refuse becomes a message
/// for the top of the page (and `None`).
pub async fn list_query<F: Copy>(
    ctx: &Ctx,
    record_type: RecordType,
    pairs: &[(String, String)],
    specs: &[FieldSpec<F>],
    default_sort: &[SortKey<F>],
    errors: &mut FormErrors,
) -> Result<Option<ListQuery<F>>, WebError> {
    let app = &ctx.app;
    match crate::api::custom_fields::list_query(
        app,
        &ctx.actor,
        record_type,
        pairs,
        specs,
        default_sort,
    )
    .await
    {
        Ok(query) => Ok(Some(query)),
        Err(AppError::BadRequest(message)) => {
            errors.add_general(capitalise(&message));
            Ok(None)
        }
        Err(other) => Err(ctx.fail(other)),
    }
}

/// A stored value as text: strings as they are, anything else as JSON.
fn display(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn input(def: &FieldDef, picked: &[String], errors: &FormErrors) -> CustomInput {
    let first = picked.first().cloned().unwrap_or_default();
    let choices = match def.kind {
        CustomFieldKind::Select => {
            let mut items = vec![(String::new(), "Choose…".to_owned())];
            items.extend(def.options.iter().map(|o| (o.clone(), o.clone())));
            options(items, &first)
        }
        CustomFieldKind::MultiSelect => def
            .options
            .iter()
            .map(|o| Opt {
                value: o.clone(),
                label: o.clone(),
                selected: picked.contains(o),
            })
            .collect(),
        _ => Vec::new(),
    };
    CustomInput {
        name: format!("{PREFIX}{}", def.key),
        id: format!("cf-{}", def.key),
        label: def.label.clone(),
        kind: def.kind.as_str(),
        required: def.required,
        checked: def.kind == CustomFieldKind::Boolean && first == "true",
        value: first,
        options: choices,
        error: errors.get(&error_field(&def.key)).map(str::to_owned),
    }
}

fn shown(kind: CustomFieldKind, label: String, value: &Value) -> CustomValue {
    let text = match value {
        Value::Bool(true) => "Yes".to_owned(),
        Value::Bool(false) => "No".to_owned(),
        Value::Array(items) => items.iter().map(display).collect::<Vec<_>>().join(", "),
        other => display(other),
    };
    let href = match kind {
        CustomFieldKind::Url if !text.is_empty() => Some(text.clone()),
        CustomFieldKind::Email if !text.is_empty() => Some(format!("mailto:{text}")),
        _ => None,
    };
    CustomValue {
        label,
        value: text,
        href,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(key: &str, kind: CustomFieldKind, required: bool) -> FieldDef {
        FieldDef {
            key: key.into(),
            label: key.to_uppercase(),
            kind,
            options: if kind.has_options() {
                vec!["a".into(), "b".into()]
            } else {
                Vec::new()
            },
            required,
        }
    }

    fn fields() -> CustomFields {
        CustomFields {
            defs: vec![
                def("name", CustomFieldKind::Text, true),
                def("size", CustomFieldKind::Number, false),
                def("vip", CustomFieldKind::Boolean, false),
                def("tier", CustomFieldKind::Select, false),
                def("tags", CustomFieldKind::MultiSelect, false),
            ],
        }
    }

    fn posted(pairs: &[(&str, &str)]) -> Posted {
        Posted(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn a_new_record_gets_the_fields_filled_in_and_leaves_empty_ones_out() {
        let sent = posted(&[
            ("name", " Ada "),
            ("size", ""),
            ("vip", "false"),
            ("vip", "true"),
            ("tier", ""),
            ("tags", ""),
            ("tags", "a"),
            ("tags", "b"),
        ]);
        let mut body = Map::new();
        fields().add_new(&sent, &mut body);
        assert_eq!(
            body["custom_fields"],
            json!({"name": "Ada", "vip": true, "tags": ["a", "b"]})
        );
    }

    #[test]
    fn a_patch_clears_what_was_emptied_and_leaves_fields_the_form_did_not_show() {
        let sent = posted(&[("name", ""), ("vip", "false"), ("tags", "")]);
        let mut patch = Map::new();
        fields().add_patch(&sent, &mut patch);
        assert_eq!(
            patch["custom_fields"],
            json!({"name": null, "vip": false, "tags": null})
        );
        let mut untouched = Map::new();
        fields().add_patch(&posted(&[]), &mut untouched);
        assert!(!untouched.contains_key("custom_fields"));
    }

    #[test]
    fn without_definitions_the_body_keeps_no_custom_fields() {
        let mut body = Map::new();
        CustomFields { defs: Vec::new() }.add_new(&posted(&[("x", "1")]), &mut body);
        assert!(body.is_empty());
    }

    #[test]
    fn stored_values_fill_the_inputs_and_show_on_the_page() {
        let stored =
            json!({"name": "Ada", "size": 12, "vip": true, "tier": "b", "tags": ["a"], "old": "x"});
        let inputs = fields().of(&stored);
        assert_eq!(inputs[0].value, "Ada");
        assert_eq!(inputs[1].value, "12");
        assert!(inputs[2].checked);
        assert!(
            inputs[3]
                .options
                .iter()
                .any(|o| o.value == "b" && o.selected)
        );
        assert!(inputs[4].options[0].selected && !inputs[4].options[1].selected);
        let shown: Vec<(String, String)> = fields()
            .values(&stored)
            .into_iter()
            .map(|v| (v.label, v.value))
            .collect();
        assert_eq!(
            shown,
            [
                ("NAME", "Ada"),
                ("SIZE", "12"),
                ("VIP", "Yes"),
                ("TIER", "b"),
                ("TAGS", "a"),
                ("old", "x"),
            ]
            .map(|(l, v)| (l.to_owned(), v.to_owned()))
        );
    }

    #[test]
    fn fields_with_a_fixed_set_of_values_get_a_filter_select() {
        let raw = [("cf.tier".to_owned(), "b".to_owned())];
        let filters = fields().filters(&raw);
        let names: Vec<&str> = filters.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["cf.vip", "cf.tier", "cf.tags"]);
        let tier: Vec<(&str, bool)> = filters[1]
            .options
            .iter()
            .map(|o| (o.value.as_str(), o.selected))
            .collect();
        assert_eq!(tier, [("", false), ("a", false), ("b", true)]);
        assert!(filters[0].options[0].selected);
    }

    #[test]
    fn the_apis_messages_sit_next_to_their_inputs() {
        let mut errors = FormErrors::new();
        let err = AppError::Validation(rivet_domain::FieldErrors(vec![rivet_domain::FieldError {
            field: "custom_fields.size".into(),
            message: "must be a number".into(),
        }]));
        assert!(fields().absorb(&mut errors, err, &[]).is_ok());
        let inputs = fields().as_posted(&posted(&[("size", "abc")]), &errors);
        assert_eq!(inputs[1].value, "abc");
        assert_eq!(inputs[1].error.as_deref(), Some("must be a number"));
        assert!(errors.general.is_empty());
    }
}
