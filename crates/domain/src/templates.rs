//! E-mail templates (issue 15 §2): a subject, an HTML body and a plain-text body written in
//! minijinja's template language, for one record type, and the sandbox they are checked and
//! rendered in. Storing them is the definitions layer's; building a record's variables is the
//! store's (`rivet_store::templates`); this is the checked shape and the pure rendering.
//!
//! What a template can reach is only its context: the record (`lead`, `contact` or `deal`, its
//! fields as the API shows them, its custom fields under `<record>.custom.<key>`), its owner
//! (`owner.name`, `owner.email`), the company (`company.name`), the sender — the user the
//! message goes out as — (`sender.name`, `sender.email`) and, for a deal, its account
//! (`account.<field>`) and primary contact (`contact.<field>`). The environment has no loader
//! and no globals (no `range`, `namespace`, `debug`), and a template may use only `if` and `for`
//! blocks — no `set`, `macro`, `include`, `import`, `extends` — so nothing outside the record
//! is named and no value can be rebound into a larger one. Filters are a short list of text and
//! number ones, without `safe` (a record's value is never trusted as HTML). The `*` operator is
//! refused (string repetition is the one way to make a large value out of a small template),
//! every render runs on a fuel budget (a loop cannot run away) and its output is capped.
//!
//! Validation parses the three parts, refuses the constructs above, checks every variable
//! against the record type's (naming the field, the line and the variable) and renders each
//! part once against an empty record, which catches what does not depend on the data (a
//! recursive loop that runs out of fuel). Custom-field keys are checked by the store against
//! the company's fields ([`EmailTemplate::custom_keys`]).
//!
//! `default` gives an empty value a fallback: `{{ lead.first_name | default("there") }}` prints
//! "there" when the first name is missing, `null` or only white space (minijinja's own
//! `default` only replaces an undefined value). `none` prints as nothing.

use crate::choices::choice_enum;
use crate::custom_fields;
use crate::validate::{FieldErrors, parse_name};
use minijinja::value::{Rest, Value};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, State};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::io;
use std::sync::OnceLock;

choice_enum!(
    /// The record type a template is written for.
    #[schema(as = TemplateRecordType)]
    RecordType {
        Lead => "lead",
        Contact => "contact",
        Deal => "deal",
    }
);

impl RecordType {
    /// The record's custom-field type.
    pub fn custom_fields(self) -> custom_fields::RecordType {
        match self {
            Self::Lead => custom_fields::RecordType::Lead,
            Self::Contact => custom_fields::RecordType::Contact,
            Self::Deal => custom_fields::RecordType::Deal,
        }
    }

    /// The record's fields a template may use, as the API shows them (its custom fields are
    /// `custom.<key>` instead of `custom_fields`).
    pub fn fields(self) -> Vec<&'static str> {
        match self {
            Self::Lead => [LEAD_FIELDS, CHECKLIST_FIELDS].concat(),
            Self::Contact => CONTACT_FIELDS.to_vec(),
            Self::Deal => [DEAL_FIELDS, CHECKLIST_FIELDS].concat(),
        }
    }

    /// The other objects of the context beside the record, each with its fields.
    fn related(self) -> Vec<(&'static str, Vec<&'static str>)> {
        let mut related = vec![
            ("owner", PERSON_FIELDS.to_vec()),
            ("company", vec!["name"]),
            ("sender", PERSON_FIELDS.to_vec()),
        ];
        if self == Self::Deal {
            related.push(("account", ACCOUNT_FIELDS.to_vec()));
            related.push(("contact", CONTACT_FIELDS.to_vec()));
        }
        related
    }
}

/// A lead's fields as the API shows them (without `custom_fields` and the checklist's).
pub const LEAD_FIELDS: &[&str] = &[
    "id",
    "first_name",
    "last_name",
    "title",
    "email",
    "phone",
    "mobile",
    "company_name",
    "website",
    "industry",
    "employee_count",
    "annual_revenue",
    "annual_revenue_currency",
    "street",
    "city",
    "region",
    "postal_code",
    "country",
    "source",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "status",
    "owner_id",
    "tags",
    "fit_score",
    "engagement_score",
    "total_score",
    "created_by",
    "created_at",
    "updated_at",
    "converted_at",
    "converted_account_id",
    "converted_contact_id",
    "converted_deal_id",
    "status_reason",
    "status_changed_at",
    "whatsapp_consent",
    "whatsapp_consent_source",
    "whatsapp_consent_at",
];

/// A contact's fields as the API shows them (without `custom_fields`).
pub const CONTACT_FIELDS: &[&str] = &[
    "id",
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
    "email_consent_at",
    "whatsapp_consent",
    "whatsapp_consent_source",
    "whatsapp_consent_at",
    "street",
    "city",
    "region",
    "postal_code",
    "country",
    "tags",
    "created_by",
    "created_at",
    "updated_at",
];

/// A deal's fields as the API shows them (without `custom_fields` and the checklist's).
pub const DEAL_FIELDS: &[&str] = &[
    "id",
    "name",
    "account_id",
    "contact_id",
    "amount",
    "currency",
    "close_date",
    "owner_id",
    "pipeline_id",
    "stage_id",
    "probability",
    "forecast_category",
    "next_step",
    "description",
    "close_reason",
    "closed_at",
    "tags",
    "created_by",
    "created_at",
    "updated_at",
    "stage_changed_at",
    "risk_score",
    "risk_level",
];

/// An account's fields as the API shows them (without `custom_fields`): a deal's `account`.
pub const ACCOUNT_FIELDS: &[&str] = &[
    "id",
    "name",
    "domain",
    "industry",
    "employee_count",
    "annual_revenue",
    "annual_revenue_currency",
    "billing_street",
    "billing_city",
    "billing_region",
    "billing_postal_code",
    "billing_country",
    "shipping_street",
    "shipping_city",
    "shipping_region",
    "shipping_postal_code",
    "shipping_country",
    "owner_id",
    "parent_id",
    "lifecycle_stage",
    "lifecycle_reason",
    "health_score",
    "tags",
    "created_by",
    "created_at",
    "updated_at",
];

/// The BANT and MEDDICC fields a lead and a deal show.
pub const CHECKLIST_FIELDS: &[&str] = &[
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
    "budget_status",
    "authority_status",
    "need_status",
    "timeline_status",
    "metrics_status",
    "economic_buyer_status",
    "decision_criteria_status",
    "decision_process_status",
    "identified_pain_status",
    "champion_status",
    "competition_status",
    "budget_amount",
    "budget_currency",
    "timeline_date",
    "economic_buyer_contact_id",
    "champion_contact_id",
    "bant_score",
    "meddicc_completeness",
    "meddicc_strength",
];

/// What a template knows of a person (the owner, the sender).
pub const PERSON_FIELDS: &[&str] = &["name", "email"];

/// Where a record's custom fields are, under the record: `lead.custom.<key>`.
pub const CUSTOM: &str = "custom";

pub const NAME_MAX: usize = 100;
pub const DESCRIPTION_MAX: usize = 1_000;
pub const SUBJECT_MAX: usize = 1_000;
pub const BODY_MAX: usize = 100_000;
/// The most a rendered part may hold, in bytes.
pub const OUTPUT_MAX: usize = 1_000_000;
/// Instructions one render may run.
pub const FUEL: u64 = 100_000;

/// An e-mail template as an admin writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = EmailTemplateInput)]
pub struct EmailTemplateInput {
    #[schema(schema_with = crate::validate::names::name_100)]
    pub name: String,
    #[serde(default)]
    #[schema(max_length = 1000)]
    pub description: Option<String>,
    /// The record type it is rendered for; its variables are `lead.…`, `contact.…` or `deal.…`.
    pub record_type: RecordType,
    /// The subject line (one line: line breaks become spaces).
    #[schema(min_length = 1, max_length = 1000)]
    pub subject: String,
    /// The HTML body (values are HTML-escaped); this or `text` must be given.
    #[serde(default)]
    #[schema(max_length = 100000)]
    pub html: String,
    /// The plain-text body (values as they are); this or `html` must be given.
    #[serde(default)]
    #[schema(max_length = 100000)]
    pub text: String,
    /// Whether it is offered for sending (default true).
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// A checked template: every part parses, stays inside the sandbox and uses only its record
/// type's variables (custom-field keys still to be checked against the company's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailTemplate {
    pub name: String,
    pub description: Option<String>,
    pub record_type: RecordType,
    pub subject: String,
    pub html: String,
    pub text: String,
    pub active: bool,
}

/// The three parts of a template, by the field that holds them.
const PARTS: [&str; 3] = ["subject", "html", "text"];

impl EmailTemplateInput {
    /// Checks every part, naming the field, and for a template error its line.
    pub fn validate(self) -> Result<EmailTemplate, FieldErrors> {
        let mut errors = FieldErrors::new();
        let name = errors
            .check("name", parse_name(&self.name, NAME_MAX))
            .unwrap_or_default();
        let description = self
            .description
            .map(|d| d.trim().to_owned())
            .filter(|d| !d.is_empty());
        if description
            .as_ref()
            .is_some_and(|d| d.chars().count() > DESCRIPTION_MAX)
        {
            errors.add(
                "description",
                format!("must be at most {DESCRIPTION_MAX} characters"),
            );
        }
        let template = EmailTemplate {
            name,
            description,
            record_type: self.record_type,
            subject: self.subject,
            html: self.html,
            text: self.text,
            active: self.active,
        };
        if template.subject.trim().is_empty() {
            errors.add("subject", "must not be empty");
        }
        if template.html.trim().is_empty() && template.text.trim().is_empty() {
            errors.add("text", "html or text must be given");
        }
        for part in PARTS {
            let source = template.part(part);
            let max = if part == "subject" {
                SUBJECT_MAX
            } else {
                BODY_MAX
            };
            if source.chars().count() > max {
                errors.add(part, format!("must be at most {max} characters"));
                continue;
            }
            if let Err(message) = check_source(template.record_type, source) {
                errors.add(part, message);
            }
        }
        errors.into_result().map(|()| template)
    }
}

impl EmailTemplate {
    pub fn to_input(&self) -> EmailTemplateInput {
        EmailTemplateInput {
            name: self.name.clone(),
            description: self.description.clone(),
            record_type: self.record_type,
            subject: self.subject.clone(),
            html: self.html.clone(),
            text: self.text.clone(),
            active: self.active,
        }
    }

    fn part(&self, part: &str) -> &str {
        match part {
            "subject" => &self.subject,
            "html" => &self.html,
            _ => &self.text,
        }
    }

    /// The custom-field keys the template uses, each with the field (`subject`, `html`,
    /// `text`) and the variable that names it, for the store to check against the company's
    /// fields.
    pub fn custom_keys(&self) -> Vec<CustomKey> {
        let prefix = format!("{}.{CUSTOM}.", self.record_type);
        let mut keys = Vec::new();
        for part in PARTS {
            let source = self.part(part);
            for variable in variables_of(source) {
                if let Some(key) = variable.strip_prefix(&prefix) {
                    let key = key.split('.').next().unwrap_or(key).to_owned();
                    keys.push(CustomKey {
                        field: part,
                        line: line_of(source, &variable),
                        variable: format!("{prefix}{key}"),
                        key,
                    });
                }
            }
        }
        keys
    }

    /// The template rendered with `context` (see [`Context`]): the subject on one line, the
    /// HTML body escaped, the text body as is. An error names the part and its line.
    pub fn render(&self, context: &Context) -> Result<Rendered, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut out = [String::new(), String::new(), String::new()];
        for (i, part) in PARTS.into_iter().enumerate() {
            match render_part(part, self.part(part), context) {
                Ok(text) => out[i] = text,
                Err(e) => errors.add(part, describe(&e)),
            }
        }
        errors.into_result()?;
        let [subject, html, text] = out;
        Ok(Rendered {
            subject: one_line(&subject),
            html,
            text,
        })
    }
}

/// A custom-field variable a template uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomKey {
    /// The part it is in: `subject`, `html` or `text`.
    pub field: &'static str,
    /// Its first line there, when it is written plainly.
    pub line: Option<usize>,
    /// As written: `lead.custom.<key>`.
    pub variable: String,
    pub key: String,
}

impl CustomKey {
    /// The message for a key the company has not defined.
    pub fn unknown(&self) -> String {
        with_line(
            self.line,
            &format!("unknown variable {} (no such custom field)", self.variable),
        )
    }
}

/// A template rendered for one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Rendered {
    pub subject: String,
    pub html: String,
    pub text: String,
}

/// What a template is rendered with: the record under its type's name, `owner`, `company`,
/// `sender` and, for a deal, `account` and `contact` — each a JSON object (an absent one is
/// an object of nulls). Built by the store from the records the caller may read.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Context(pub serde_json::Map<String, serde_json::Value>);

impl Context {
    /// A context where every variable of `record_type` is null (custom fields: `keys`).
    pub fn empty(record_type: RecordType, keys: &[String]) -> Self {
        let nulls = |fields: &[&str]| {
            fields
                .iter()
                .map(|f| ((*f).to_owned(), serde_json::Value::Null))
                .collect::<serde_json::Map<_, _>>()
        };
        let mut record = nulls(&record_type.fields());
        record.insert(
            CUSTOM.into(),
            serde_json::Value::Object(
                keys.iter()
                    .map(|k| (k.clone(), serde_json::Value::Null))
                    .collect(),
            ),
        );
        let mut context = serde_json::Map::new();
        context.insert(record_type.to_string(), record.into());
        for (name, fields) in record_type.related() {
            context.insert(name.to_owned(), nulls(&fields).into());
        }
        Self(context)
    }

    /// Sets `object.field`, adding the object if it is not there.
    pub fn set(&mut self, object: &str, field: &str, value: serde_json::Value) {
        let entry = self
            .0
            .entry(object.to_owned())
            .or_insert_with(|| serde_json::Value::Object(serde_json::Map::new()));
        if let serde_json::Value::Object(map) = entry {
            map.insert(field.to_owned(), value);
        }
    }
}

/// One variable a template of a record type may use, for the editor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Variable {
    /// As written in a template, without braces: `lead.first_name`.
    pub name: String,
    /// What it holds.
    pub description: String,
}

/// Every variable a template of `record_type` may use, custom fields (`keys`, with their
/// labels) included, in the order the editor lists them.
pub fn variables(record_type: RecordType, custom: &[(String, String)]) -> Vec<Variable> {
    let record = record_type.as_str();
    let mut list: Vec<Variable> = record_type
        .fields()
        .into_iter()
        .map(|f| Variable {
            name: format!("{record}.{f}"),
            description: format!("the {record}'s {}", f.replace('_', " ")),
        })
        .collect();
    list.extend(custom.iter().map(|(key, label)| Variable {
        name: format!("{record}.{CUSTOM}.{key}"),
        description: format!("custom field: {label}"),
    }));
    for (object, fields) in record_type.related() {
        let whose = match object {
            "owner" => format!("the {record}'s owner"),
            "company" => "your company".to_owned(),
            "sender" => "the user the e-mail is sent as".to_owned(),
            "account" => "the deal's account".to_owned(),
            _ => "the deal's primary contact".to_owned(),
        };
        list.extend(fields.into_iter().map(|f| Variable {
            name: format!("{object}.{f}"),
            description: format!("{whose}: {}", f.replace('_', " ")),
        }));
    }
    list
}

/// Whether `variable` (a dotted path as minijinja reports it) is one `record_type` knows: a
/// known object, one of its fields, or a custom field of the record (its key checked later).
fn known(record_type: RecordType, variable: &str) -> bool {
    let mut parts = variable.split('.');
    let (Some(object), field, rest) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let fields = if object == record_type.as_str() {
        if field == Some(CUSTOM) {
            return rest.is_none_or(|key| custom_fields::parse_key(key).is_ok_and(|k| k == key));
        }
        record_type.fields()
    } else if let Some((_, fields)) = record_type
        .related()
        .into_iter()
        .find(|(o, _)| *o == object)
    {
        fields
    } else {
        return false;
    };
    match field {
        None => true,
        Some(field) => rest.is_none() && fields.contains(&field),
    }
}

/// Parses one part and checks it stays in the sandbox and uses known variables; the message
/// names the line.
fn check_source(record_type: RecordType, source: &str) -> Result<(), String> {
    if source.is_empty() {
        return Ok(());
    }
    check_constructs(source)?;
    let env = environment();
    let template = env
        .template_from_named_str("check", source)
        .map_err(|e| describe(&e))?;
    let mut unknown: Vec<String> = template
        .undeclared_variables(true)
        .into_iter()
        .filter(|v| !known(record_type, v))
        .collect();
    unknown.sort();
    if let Some(variable) = unknown.first() {
        let top = variable.split('.').next().unwrap_or(variable);
        let hint = if top == record_type.as_str()
            || record_type.related().iter().any(|(o, _)| *o == top)
        {
            String::new()
        } else {
            format!(
                " (a {record_type} template knows {record_type}, {})",
                record_type
                    .related()
                    .iter()
                    .map(|(o, _)| *o)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        return Err(with_line(
            line_of(source, variable),
            &format!("unknown variable {variable}{hint}"),
        ));
    }
    // What does not depend on the data: a recursive loop, a filter that does not exist.
    let keys: Vec<String> = variables_of(source)
        .iter()
        .filter_map(|v| {
            v.strip_prefix(&format!("{record_type}.{CUSTOM}."))
                .map(str::to_owned)
        })
        .collect();
    match render_part("check", source, &Context::empty(record_type, &keys)) {
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::OutOfFuel
                    | ErrorKind::TemplateNotFound
                    | ErrorKind::UnknownFilter
                    | ErrorKind::UnknownTest
                    | ErrorKind::UnknownFunction
                    | ErrorKind::UnknownMethod
                    | ErrorKind::WriteFailure
            ) || e.to_string().contains("recursion limit") =>
        {
            Err(describe(&e))
        }
        _ => Ok(()),
    }
}

/// The variables a part uses, as dotted paths (none when it does not parse).
fn variables_of(source: &str) -> BTreeSet<String> {
    environment()
        .template_from_named_str("check", source)
        .map(|t| t.undeclared_variables(true).into_iter().collect())
        .unwrap_or_default()
}

/// The blocks a template may use: conditions and loops (and `raw` to write braces).
const ALLOWED_BLOCKS: &[&str] = &["if", "elif", "else", "endif", "for", "endfor", "raw"];

/// Refuses the blocks outside [`ALLOWED_BLOCKS`] and the `*` operator, naming the line. A scan
/// of the source rather than the syntax tree (which minijinja does not expose): it reads each
/// `{% … %}` tag's first word and each tag's code outside its string literals, and skips
/// comments and what is between `raw` and `endraw`.
fn check_constructs(source: &str) -> Result<(), String> {
    let mut rest = source;
    let mut offset = 0;
    while let Some(start) = ["{%", "{{", "{#"]
        .iter()
        .filter_map(|open| rest.find(open))
        .min()
    {
        if rest[start..].starts_with("{#") {
            // A comment: nothing in it runs.
            let Some(end) = rest[start..].find("#}") else {
                return Ok(());
            };
            offset += start + end + 2;
            rest = &rest[start + end + 2..];
            continue;
        }
        let is_block = rest[start..].starts_with("{%");
        let close = if is_block { "%}" } else { "}}" };
        let inner_start = start + 2;
        let Some(len) = code_len(&rest[inner_start..], close) else {
            return Ok(()); // unclosed: the parser names it
        };
        let code = &rest[inner_start..inner_start + len];
        let line = source[..offset + start].matches('\n').count() + 1;
        let mut next = inner_start + len + close.len();
        if is_block {
            let word: String = code
                .trim_start_matches(['-', '+'])
                .trim_start()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !ALLOWED_BLOCKS.contains(&word.as_str()) {
                return Err(format!(
                    "line {line}: {{% {word} %}} is not allowed: a template may use only if and for blocks"
                ));
            }
            if word == "raw" {
                match rest[next..].find("endraw") {
                    Some(end) => {
                        next += end + "endraw".len();
                        next += rest[next..].find("%}").map_or(0, |i| i + 2);
                    }
                    None => return Ok(()),
                }
            }
        }
        if outside_strings(code).contains('*') {
            return Err(format!(
                "line {line}: the * operator is not allowed in a template"
            ));
        }
        offset += next;
        rest = &rest[next..];
    }
    Ok(())
}

/// The characters of a tag's code outside its string literals (quotes included), with their
/// offsets.
fn code_chars(code: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    code.char_indices().filter(move |&(_, c)| match quote {
        Some(q) => {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            false
        }
        None if c == '"' || c == '\'' => {
            quote = Some(c);
            false
        }
        None => true,
    })
}

/// The length of a tag's code up to `close`, not counting a `close` inside a string literal.
fn code_len(code: &str, close: &str) -> Option<usize> {
    code_chars(code)
        .find(|&(i, _)| code[i..].starts_with(close))
        .map(|(i, _)| i)
}

/// A tag's code with its string literals left out.
fn outside_strings(code: &str) -> String {
    code_chars(code).map(|(_, c)| c).collect()
}

/// The first line `variable` is written on (as `a.b.c`, spaces around the dots allowed), if
/// it is written plainly.
fn line_of(source: &str, variable: &str) -> Option<usize> {
    let parts: Vec<&str> = variable.split('.').collect();
    let first = parts.first()?;
    let mut from = 0;
    while let Some(found) = source[from..].find(first) {
        let start = from + found;
        from = start + first.len();
        let before_ok = source[..start]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_' || c == '.'));
        if !before_ok {
            continue;
        }
        let mut rest = &source[start + first.len()..];
        let mut matched = true;
        for part in &parts[1..] {
            let trimmed = rest.trim_start();
            let Some(after_dot) = trimmed.strip_prefix('.') else {
                matched = false;
                break;
            };
            let after = after_dot.trim_start();
            match after.strip_prefix(part) {
                Some(r) => rest = r,
                None => {
                    matched = false;
                    break;
                }
            }
        }
        let end_ok = rest
            .chars()
            .next()
            .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
        if matched && end_ok {
            return Some(source[..start].matches('\n').count() + 1);
        }
    }
    None
}

fn with_line(line: Option<usize>, message: &str) -> String {
    match line {
        Some(line) => format!("line {line}: {message}"),
        None => message.to_owned(),
    }
}

/// A template error in plain words with its line: `line 3: syntax error: unexpected …`.
fn describe(error: &Error) -> String {
    let what = match (error.kind(), error.detail()) {
        (ErrorKind::OutOfFuel, _) => {
            "the template does too much work (a loop that runs too long?)".to_owned()
        }
        (ErrorKind::WriteFailure, _) => {
            format!("the output is too large (more than {OUTPUT_MAX} bytes)")
        }
        (ErrorKind::TemplateNotFound, _) => {
            "a template may not include, import or extend another".to_owned()
        }
        (kind, Some(detail)) => format!("{kind}: {detail}"),
        (kind, None) => kind.to_string(),
    };
    with_line(error.line(), &what)
}

/// The sandbox every template is parsed and rendered in (one per process).
fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for global in [
            "range",
            "dict",
            "namespace",
            "debug",
            "lipsum",
            "cycler",
            "joiner",
        ] {
            env.remove_global(global);
        }
        // What may make a large value out of a small one, reach by name, or trust a value as
        // HTML; the rest are text and number filters.
        for filter in [
            "safe",
            "attr",
            "pprint",
            "replace",
            "indent",
            "list",
            "sort",
            "unique",
            "batch",
            "slice",
            "groupby",
            "dictsort",
            "items",
            "map",
            "select",
            "reject",
            "selectattr",
            "rejectattr",
            "chain",
            "zip",
            "format",
            "sum",
            "min",
            "max",
            "tojson",
            "urlencode",
        ] {
            env.remove_filter(filter);
        }
        env.add_filter("default", fallback);
        env.add_filter("d", fallback);
        env.set_auto_escape_callback(|name| {
            if name == "html" {
                AutoEscape::Html
            } else {
                AutoEscape::None
            }
        });
        env.set_formatter(|out, state, value| {
            if value.is_none() || value.is_undefined() {
                Ok(())
            } else {
                minijinja::escape_formatter(out, state, value)
            }
        });
        env.set_fuel(Some(FUEL));
        env.set_recursion_limit(50);
        env.set_debug(false);
        env
    })
}

/// `default(fallback)`: the fallback for a missing, `none` or blank value.
fn fallback(_state: &State, value: &Value, args: Rest<Value>) -> Result<Value, Error> {
    if args.len() > 1 {
        return Err(Error::new(
            ErrorKind::TooManyArguments,
            "default takes one value: default(\"fallback\")",
        ));
    }
    let empty = value.is_undefined()
        || value.is_none()
        || value.as_str().is_some_and(|s| s.trim().is_empty());
    Ok(if empty {
        args.first().cloned().unwrap_or_else(|| Value::from(""))
    } else {
        value.clone()
    })
}

/// Renders one part (named `part`, which decides its escaping) into a capped buffer.
fn render_part(part: &str, source: &str, context: &Context) -> Result<String, Error> {
    if source.is_empty() {
        return Ok(String::new());
    }
    let template = environment().template_from_named_str(part, source)?;
    let mut out = Capped(Vec::new());
    template.render_captured_to(&context.0, &mut out)?;
    String::from_utf8(out.0)
        .map_err(|_| Error::new(ErrorKind::InvalidOperation, "output is not UTF-8"))
}

/// A buffer that refuses to grow past [`OUTPUT_MAX`].
struct Capped(Vec<u8>);

impl io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.0.len() + buf.len() > OUTPUT_MAX {
            return Err(io::Error::other(format!(
                "output is too large (more than {OUTPUT_MAX} bytes)"
            )));
        }
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A subject on one line: line breaks (which would end an e-mail header) become spaces.
fn one_line(text: &str) -> String {
    text.split(['\r', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn input(subject: &str, html: &str, text: &str) -> EmailTemplateInput {
        EmailTemplateInput {
            name: "Welcome".into(),
            description: None,
            record_type: RecordType::Lead,
            subject: subject.into(),
            html: html.into(),
            text: text.into(),
            active: true,
        }
    }

    fn error_of(input: EmailTemplateInput) -> FieldErrors {
        input.validate().unwrap_err()
    }

    fn lead_context(first_name: serde_json::Value) -> Context {
        let mut c = Context::empty(RecordType::Lead, &["plan".to_owned()]);
        c.set("lead", "first_name", first_name);
        c.set("owner", "name", json!("Olivia Owner"));
        c.set("company", "name", json!("Acme"));
        c
    }

    #[test]
    fn a_plain_template_validates_and_renders() {
        let t = input(
            "Hello {{ lead.first_name }}",
            "<p>Hi {{ lead.first_name }}, {{ owner.name }} of {{ company.name }}</p>",
            "Hi {{ lead.first_name }}",
        )
        .validate()
        .unwrap();
        let r = t.render(&lead_context(json!("Ann"))).unwrap();
        assert_eq!(r.subject, "Hello Ann");
        assert_eq!(r.html, "<p>Hi Ann, Olivia Owner of Acme</p>");
        assert_eq!(r.text, "Hi Ann");
    }

    #[test]
    fn values_are_escaped_in_html_only() {
        let t = input(
            "S {{ lead.first_name }}",
            "{{ lead.first_name }}",
            "{{ lead.first_name }}",
        )
        .validate()
        .unwrap();
        let r = t
            .render(&lead_context(json!("<script>x</script>")))
            .unwrap();
        assert_eq!(r.html, "&lt;script&gt;x&lt;&#x2f;script&gt;");
        assert_eq!(r.text, "<script>x</script>");
        assert_eq!(r.subject, "S <script>x</script>");
    }

    #[test]
    fn default_covers_missing_null_and_blank_values() {
        let t = input(
            "x",
            "",
            "Hi {{ lead.first_name | default(\"there\") }}{{ lead.last_name }}",
        )
        .validate()
        .unwrap();
        for value in [json!(null), json!(""), json!("  ")] {
            assert_eq!(t.render(&lead_context(value)).unwrap().text, "Hi there");
        }
        assert_eq!(
            t.render(&lead_context(json!("Ann"))).unwrap().text,
            "Hi Ann"
        );
        let mut missing = lead_context(json!(null));
        if let Some(serde_json::Value::Object(lead)) = missing.0.get_mut("lead") {
            lead.remove("first_name");
        }
        assert_eq!(t.render(&missing).unwrap().text, "Hi there");
    }

    #[test]
    fn a_syntax_error_names_the_field_and_line() {
        let e = error_of(input("ok", "<p>\n\n{% if lead.first_name %}\nno end", ""));
        assert_eq!(e.0.len(), 1, "{e}");
        assert_eq!(e.0[0].field, "html");
        assert!(e.0[0].message.starts_with("line "), "{e}");
        assert!(e.0[0].message.contains("syntax error"), "{e}");
        let e = error_of(input("ok", "", "a\nb\n{{ lead.first_name }\n"));
        assert_eq!(e.0[0].field, "text");
        assert!(e.0[0].message.starts_with("line 3:"), "{e}");
    }

    #[test]
    fn an_unknown_variable_is_named_with_its_line() {
        let e = error_of(input("ok", "<p>\n{{ lead.nickname }}</p>", ""));
        assert_eq!(e.0[0].field, "html");
        assert_eq!(
            e.0[0].message, "line 2: unknown variable lead.nickname",
            "{e}"
        );
        let e = error_of(input("{{ contact.first_name }}", "x", ""));
        assert_eq!(e.0[0].field, "subject");
        assert!(
            e.0[0]
                .message
                .contains("unknown variable contact.first_name"),
            "{e}"
        );
        // A deal knows its contact.
        let mut deal = input(
            "{{ contact.first_name }} {{ account.name }} {{ deal.name }}",
            "x",
            "",
        );
        deal.record_type = RecordType::Deal;
        deal.validate().unwrap();
    }

    #[test]
    fn nothing_outside_the_sandbox_is_reachable() {
        for (source, expect) in [
            ("{% include \"other\" %}", "is not allowed"),
            ("{% import \"m\" as m %}", "is not allowed"),
            ("{% extends \"base\" %}", "is not allowed"),
            ("{% set x = 1 %}", "is not allowed"),
            (
                "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}",
                "is not allowed",
            ),
            ("{{ range(100000000) }}", "unknown variable range"),
            (
                "{% for i in range(100000000) %}x{% endfor %}",
                "unknown variable range",
            ),
            ("{{ namespace() }}", "unknown variable namespace"),
            ("{{ \"x\" * 100000000 }}", "* operator"),
            ("{{ lead.first_name | safe }}", "unknown filter"),
            ("{{ lead | attr(\"x\") }}", "unknown filter"),
            (
                "{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}",
                "line 1",
            ),
        ] {
            let e = error_of(input("ok", source, ""));
            assert_eq!(e.0[0].field, "html", "{source}: {e}");
            assert!(e.0[0].message.contains(expect), "{source}: {e}");
        }
    }

    #[test]
    fn a_loop_is_bounded_by_fuel() {
        let t = input("x", "", "{% for a in lead.tags %}{% for b in lead.tags %}{% for c in lead.tags %}.{% endfor %}{% endfor %}{% endfor %}")
            .validate()
            .unwrap();
        let mut c = lead_context(json!("Ann"));
        c.set(
            "lead",
            "tags",
            json!((0..100).map(|i| i.to_string()).collect::<Vec<_>>()),
        );
        let e = t.render(&c).unwrap_err();
        assert_eq!(e.0[0].field, "text");
        assert!(e.0[0].message.contains("too much work"), "{e}");
    }

    #[test]
    fn the_output_is_capped() {
        let t = input(
            "x",
            "",
            "{% for a in lead.tags %}{{ lead.first_name }}{% endfor %}",
        )
        .validate()
        .unwrap();
        let mut c = lead_context(json!("y".repeat(100_000)));
        c.set(
            "lead",
            "tags",
            json!((0..20).map(|i| i.to_string()).collect::<Vec<_>>()),
        );
        let e = t.render(&c).unwrap_err();
        assert!(e.0[0].message.contains("output is too large"), "{e}");
    }

    #[test]
    fn braces_inside_strings_and_raw_blocks_are_text() {
        input(
            "ok",
            "{{ lead.first_name | default(\"%} * {{\") }}{% raw %}{% set x = 2 * 3 %}{% endraw %}\
             {# {% include \"x\" %} #}",
            "",
        )
        .validate()
        .unwrap();
    }

    #[test]
    fn custom_field_variables_are_reported_for_checking() {
        let t = input(
            "{{ lead.custom.plan }}",
            "",
            "a\n{{ lead.custom.tier | default(\"-\") }}",
        )
        .validate()
        .unwrap();
        let keys: Vec<(&str, Option<usize>, String)> = t
            .custom_keys()
            .into_iter()
            .map(|k| (k.field, k.line, k.key))
            .collect();
        assert_eq!(
            keys,
            vec![
                ("subject", Some(1), "plan".to_owned()),
                ("text", Some(2), "tier".to_owned())
            ]
        );
        let mut c = lead_context(json!("Ann"));
        c.set("lead", "custom", json!({"plan": "Gold", "tier": null}));
        let r = t.render(&c).unwrap();
        assert_eq!((r.subject.as_str(), r.text.as_str()), ("Gold", "a\n-"));
        assert!(
            error_of(input("{{ lead.custom.Bad }}", "x", ""))
                .to_string()
                .contains("unknown variable lead.custom.Bad")
        );
    }

    #[test]
    fn the_subject_is_one_line_and_parts_are_required() {
        let t = input("a\r\n{{ lead.first_name }}\n", "", "t")
            .validate()
            .unwrap();
        assert_eq!(
            t.render(&lead_context(json!("Ann"))).unwrap().subject,
            "a Ann"
        );
        let e = error_of(input(" ", "", " "));
        let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["subject", "text"]);
    }

    #[test]
    fn variables_list_the_record_custom_fields_and_people() {
        let v = variables(RecordType::Lead, &[("plan".into(), "Plan".into())]);
        let names: Vec<&str> = v.iter().map(|v| v.name.as_str()).collect();
        for name in [
            "lead.first_name",
            "lead.custom.plan",
            "owner.name",
            "sender.email",
            "company.name",
        ] {
            assert!(names.contains(&name), "{name}");
        }
        assert!(!names.contains(&"account.name"));
        let deal = variables(RecordType::Deal, &[]);
        assert!(deal.iter().any(|v| v.name == "account.name"));
        assert!(deal.iter().any(|v| v.name == "contact.first_name"));
    }
}
