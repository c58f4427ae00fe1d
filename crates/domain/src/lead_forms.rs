//! Web-to-lead forms (issue 13 §1): what a company's public form asks a visitor, what it adds
//! on its own (hidden fields such as the source), the consent line, where a visitor goes after
//! sending it and which web sites may post it — and how one post becomes a lead's fields.
//! The public endpoint and the form builder live in the server; this is the checked shape.

use crate::ids::UserId;
use crate::validate::{FieldErrors, parse_name};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The lead fields a visitor may fill in.
pub const VISITOR_FIELDS: &[&str] = &[
    "first_name",
    "last_name",
    "email",
    "phone",
    "mobile",
    "title",
    "company_name",
    "website",
    "industry",
    "employee_count",
    "street",
    "city",
    "region",
    "postal_code",
    "country",
];

/// The lead fields a form may set on its own (hidden from the visitor), besides `tags`.
pub const HIDDEN_FIELDS: &[&str] = &[
    "source",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "industry",
    "country",
];

/// The tracking parameters a post (or the page it came from) may carry.
pub const UTM_FIELDS: &[&str] = &[
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
];

/// The name of the honeypot input: hidden from people, filled in by bots.
pub const HONEYPOT: &str = "url";
/// The name of the consent checkbox.
pub const CONSENT: &str = "consent";

pub const NAME_MAX: usize = 100;
pub const LABEL_MAX: usize = 100;
pub const CONSENT_MAX: usize = 1_000;
pub const HIDDEN_VALUE_MAX: usize = 200;
pub const MAX_ORIGINS: usize = 20;
pub const URL_MAX: usize = 2_000;

/// One field of a form, in the order the visitor sees them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormField {
    /// A lead field: first_name, last_name, email, phone, mobile, title, company_name,
    /// website, industry, employee_count, street, city, region, postal_code or country.
    pub field: String,
    /// What the visitor reads; the field's own name when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default)]
    pub required: bool,
}

impl FormField {
    /// The label shown: the given one, else the field's name in words (`company_name` →
    /// `Company name`).
    pub fn label(&self) -> String {
        match &self.label {
            Some(label) => label.clone(),
            None => {
                let words = self.field.replace('_', " ");
                let mut chars = words.chars();
                match chars.next() {
                    Some(first) => first.to_uppercase().chain(chars).collect(),
                    None => words,
                }
            }
        }
    }

    /// The input's type.
    pub fn input_type(&self) -> &'static str {
        match self.field.as_str() {
            "email" => "email",
            "phone" | "mobile" => "tel",
            "website" => "url",
            "employee_count" => "number",
            _ => "text",
        }
    }
}

/// A form as an admin writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadFormInput {
    pub name: String,
    /// The visitor's fields, in order; at least one of them e-mail, phone or last name.
    pub fields: Vec<FormField>,
    /// Values the form sets itself: source, utm_*, industry, country (text) and tags (a
    /// comma-separated list).
    #[serde(default)]
    pub hidden: BTreeMap<String, String>,
    /// The consent checkbox's text; none: no checkbox. When given, the box must be ticked.
    #[serde(default)]
    pub consent_text: Option<String>,
    /// Where the visitor's browser goes after a successful post (http or https); none: a
    /// thank-you page.
    #[serde(default)]
    pub success_url: Option<String>,
    /// The web sites (`https://www.example.com`) whose pages may post the form; empty: any.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Whether the form takes posts (default true).
    #[serde(default = "yes")]
    pub active: bool,
    /// The user the form's leads are created as, and their owner unless an assignment rule
    /// names another: an active member who may create leads. Left out: whoever creates the
    /// form.
    #[serde(default)]
    #[schema(value_type = Option<uuid::Uuid>)]
    pub owner_id: Option<UserId>,
}

fn yes() -> bool {
    true
}

impl LeadFormInput {
    /// Checks every part, naming each bad one (`fields[2].field`, `hidden.source`, …); trims
    /// texts and turns origins into their canonical `scheme://host[:port]`.
    pub fn validate(mut self) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        if let Some(name) = errors.check("name", parse_name(&self.name, NAME_MAX)) {
            self.name = name;
        }
        if self.fields.is_empty() {
            errors.add("fields", "must list at least one field");
        }
        let mut seen: Vec<&str> = Vec::new();
        for (i, f) in self.fields.iter_mut().enumerate() {
            if !VISITOR_FIELDS.contains(&f.field.as_str()) {
                errors.add(
                    &format!("fields[{i}].field"),
                    format!("must be one of: {}", VISITOR_FIELDS.join(", ")),
                );
            } else if seen.contains(&f.field.as_str()) {
                errors.add(&format!("fields[{i}].field"), "is listed twice");
            }
            seen.push(f.field.as_str());
            if let Some(label) = f.label.take() {
                let label = label.trim().to_owned();
                if label.chars().count() > LABEL_MAX {
                    errors.add(
                        &format!("fields[{i}].label"),
                        format!("must be at most {LABEL_MAX} characters"),
                    );
                }
                f.label = (!label.is_empty()).then_some(label);
            }
        }
        if !self.fields.is_empty()
            && !self
                .fields
                .iter()
                .any(|f| matches!(f.field.as_str(), "email" | "phone" | "last_name"))
        {
            errors.add(
                "fields",
                "must include email, phone or last_name: a lead needs one",
            );
        }
        for (field, value) in &self.hidden {
            if field != "tags" && !HIDDEN_FIELDS.contains(&field.as_str()) {
                errors.add(
                    &format!("hidden.{field}"),
                    format!("must be one of: {}, tags", HIDDEN_FIELDS.join(", ")),
                );
            } else if value.chars().count() > HIDDEN_VALUE_MAX {
                errors.add(
                    &format!("hidden.{field}"),
                    format!("must be at most {HIDDEN_VALUE_MAX} characters"),
                );
            }
        }
        self.consent_text = self
            .consent_text
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty());
        if self
            .consent_text
            .as_ref()
            .is_some_and(|t| t.chars().count() > CONSENT_MAX)
        {
            errors.add(
                "consent_text",
                format!("must be at most {CONSENT_MAX} characters"),
            );
        }
        self.success_url = self
            .success_url
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty());
        if let Some(url) = &self.success_url
            && let Err(message) = check_url(url)
        {
            errors.add("success_url", message);
        }
        if self.allowed_origins.len() > MAX_ORIGINS {
            errors.add(
                "allowed_origins",
                format!("must list at most {MAX_ORIGINS} origins"),
            );
        }
        let mut origins = Vec::new();
        for (i, origin) in self.allowed_origins.iter().enumerate() {
            match origin_of(origin) {
                Some(o) => origins.push(o),
                None => errors.add(
                    &format!("allowed_origins[{i}]"),
                    "must be an origin such as https://www.example.com",
                ),
            }
        }
        self.allowed_origins = origins;
        errors.into_result().map(|()| self)
    }
}

/// An absolute http(s) URL without credentials.
fn check_url(input: &str) -> Result<(), String> {
    if input.chars().count() > URL_MAX {
        return Err(format!("must be at most {URL_MAX} characters"));
    }
    let url = url::Url::parse(input).map_err(|e| format!("is not a valid URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
        return Err("must be an http or https URL with a host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials".into());
    }
    Ok(())
}

/// The origin (`https://host[:port]`, the port only when not the scheme's) of a URL or origin.
pub fn origin_of(input: &str) -> Option<String> {
    let url = url::Url::parse(input.trim()).ok()?;
    if !matches!(url.scheme(), "http" | "https") {
        return None;
    }
    match url.origin() {
        origin @ url::Origin::Tuple(..) => Some(origin.ascii_serialization()),
        url::Origin::Opaque(_) => None,
    }
}

/// Whether a post whose `Origin` (or, without one, `Referer`) is `origin` may be taken: any
/// when the form lists none, else one of the listed. A post without either header (a server,
/// not a browser on another site) is taken.
pub fn origin_allowed(allowed: &[String], origin: Option<&str>) -> bool {
    match origin {
        _ if allowed.is_empty() => true,
        None => true,
        Some(origin) => origin_of(origin).is_some_and(|o| allowed.contains(&o)),
    }
}

/// What is wrong with one post, by field.
pub type PostErrors = FieldErrors;

/// The lead body (the API's lead input, as JSON) a post makes: the form's fields from what the
/// visitor sent (anything else ignored), UTM parameters from the post or else from the query
/// of the page it came from (`referrer`), then the form's hidden values over both. A required
/// field left empty and an unticked consent box are errors.
pub fn lead_body(
    form: &LeadFormInput,
    posted: &BTreeMap<String, String>,
    referrer: Option<&str>,
) -> Result<Map<String, Value>, PostErrors> {
    let mut errors = FieldErrors::new();
    let mut body = Map::new();
    for f in &form.fields {
        let value = posted.get(&f.field).map(|v| v.trim()).unwrap_or_default();
        if value.is_empty() {
            if f.required {
                errors.add(&f.field, "is required");
            }
            continue;
        }
        let value = if f.field == "employee_count" {
            match value.parse::<i64>() {
                Ok(n) => Value::from(n),
                Err(_) => {
                    errors.add(&f.field, "must be a whole number");
                    continue;
                }
            }
        } else {
            Value::from(value)
        };
        body.insert(f.field.clone(), value);
    }
    if form.consent_text.is_some()
        && !posted
            .get(CONSENT)
            .is_some_and(|v| matches!(v.trim(), "on" | "true" | "yes" | "1"))
    {
        errors.add(CONSENT, "must be ticked");
    }
    let from_page: Vec<(String, String)> = referrer
        .and_then(|r| url::Url::parse(r).ok())
        .map(|u| u.query_pairs().into_owned().collect())
        .unwrap_or_default();
    for utm in UTM_FIELDS {
        let value = posted
            .get(*utm)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
            .or_else(|| {
                from_page
                    .iter()
                    .find(|(k, v)| k == utm && !v.trim().is_empty())
                    .map(|(_, v)| v.trim().to_owned())
            });
        if let Some(value) = value {
            body.insert((*utm).to_owned(), Value::from(value));
        }
    }
    for (field, value) in &form.hidden {
        if field == "tags" {
            let tags: Vec<Value> = value
                .split(',')
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(Value::from)
                .collect();
            body.insert("tags".into(), Value::Array(tags));
        } else if !value.trim().is_empty() {
            body.insert(field.clone(), Value::from(value.trim()));
        }
    }
    if !body.contains_key("source") {
        body.insert("source".into(), Value::from("web form"));
    }
    errors.into_result().map(|()| body)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn form() -> LeadFormInput {
        LeadFormInput {
            name: " Contact us ".into(),
            fields: vec![
                FormField {
                    field: "email".into(),
                    label: Some("Work e-mail".into()),
                    required: true,
                },
                FormField {
                    field: "company_name".into(),
                    label: None,
                    required: false,
                },
                FormField {
                    field: "employee_count".into(),
                    label: None,
                    required: false,
                },
            ],
            hidden: BTreeMap::from([
                ("source".into(), "website".into()),
                ("tags".into(), "inbound, web".into()),
            ]),
            consent_text: Some("I agree to be contacted".into()),
            success_url: Some("https://www.example.com/thanks".into()),
            allowed_origins: vec!["https://www.example.com/contact".into()],
            active: true,
            owner_id: None,
        }
    }

    fn posted(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_valid_form_is_trimmed_and_its_origins_made_canonical() {
        let form = form().validate().unwrap();
        assert_eq!(form.name, "Contact us");
        assert_eq!(form.allowed_origins, ["https://www.example.com"]);
        assert_eq!(form.fields[1].label(), "Company name");
        assert_eq!(form.fields[0].label(), "Work e-mail");
    }

    #[test]
    fn each_bad_part_of_a_form_is_named() {
        let mut bad = form();
        bad.name = " ".into();
        bad.fields.push(FormField {
            field: "owner_id".into(),
            label: None,
            required: false,
        });
        bad.fields.push(FormField {
            field: "email".into(),
            label: None,
            required: false,
        });
        bad.hidden.insert("status".into(), "qualified".into());
        bad.success_url = Some("javascript:alert(1)".into());
        bad.allowed_origins.push("not an origin".into());
        let errors = bad.validate().unwrap_err();
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "name",
                "fields[3].field",
                "fields[4].field",
                "hidden.status",
                "success_url",
                "allowed_origins[1]"
            ]
        );
        let mut nameless = form();
        nameless.fields.remove(0);
        let errors = nameless.validate().unwrap_err();
        assert_eq!(errors.0[0].field, "fields");
    }

    #[test]
    fn a_post_becomes_a_lead_body_with_utm_and_hidden_values() {
        let form = form().validate().unwrap();
        let body = lead_body(
            &form,
            &posted(&[
                ("email", " ada@example.com "),
                ("employee_count", "250"),
                ("consent", "on"),
                ("owner_id", "someone"),
                ("utm_medium", "email"),
                ("source", "spoofed"),
            ]),
            Some("https://www.example.com/p?utm_source=news&utm_medium=ignored"),
        )
        .unwrap();
        assert_eq!(
            Value::Object(body),
            serde_json::json!({
                "email": "ada@example.com",
                "employee_count": 250,
                "utm_source": "news",
                "utm_medium": "email",
                "source": "website",
                "tags": ["inbound", "web"],
            })
        );
    }

    #[test]
    fn a_post_without_a_required_field_or_consent_is_refused() {
        let form = form().validate().unwrap();
        let errors = lead_body(&form, &posted(&[("employee_count", "many")]), None).unwrap_err();
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["email", "employee_count", "consent"]);
    }

    #[test]
    fn origins_are_compared_as_origins() {
        let allowed = vec!["https://www.example.com".to_owned()];
        assert!(origin_allowed(&allowed, Some("https://www.example.com")));
        assert!(origin_allowed(
            &allowed,
            Some("https://www.example.com/page?x=1")
        ));
        assert!(!origin_allowed(&allowed, Some("https://evil.example")));
        assert!(!origin_allowed(&allowed, Some("http://www.example.com")));
        assert!(!origin_allowed(&allowed, Some("null")));
        assert!(origin_allowed(&allowed, None));
        assert!(origin_allowed(&[], Some("https://anywhere.test")));
    }
}
