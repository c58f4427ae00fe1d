//! What the OpenAPI document says about request bodies beyond their Rust types: the choices,
//! patterns, lengths, ranges and "one of these fields" rules the validators enforce, each read
//! from the constant or parser-side pattern the validator itself uses (`LeadStatus::NAMES`,
//! `values::phone_pattern`, `accounts::MAX_TAGS`, …), so the document cannot drift from the
//! server. `router::openapi` applies [`rules`] to the generated schemas; a test fails when a
//! rule names a schema or property the document does not have.
//!
//! What no schema can say stays out: whether an id names an existing row, whether a record
//! after a patch is still valid, the company's custom fields. Those answer 404, 409 or 422,
//! and every route with a body lists 422.

use rivet_domain::accounts::{self, LifecycleStage, MAX_TAG, MAX_TAGS, MAX_TEXT};
use rivet_domain::activities::{ActivityKind, Direction, MAX_LINKS, RecordType};
use rivet_domain::checklist;
use rivet_domain::custom_fields::{self as custom, CustomFieldKind};
use rivet_domain::email;
use rivet_domain::imap;
use rivet_domain::leads::{LeadStatus, SCORE_MAX};
use rivet_domain::pipelines::{ForecastCategory, MAX_STAGES, StageOutcome};
use rivet_domain::settings;
use rivet_domain::tasks::{TaskPriority, TaskRepeat, TaskStatus};
use rivet_domain::validate::{blank_pattern, non_blank_pattern};
use rivet_domain::values;
use serde_json::{Map, Value, json};

/// What one property accepts.
#[derive(Debug, Clone)]
pub enum Rule {
    /// One of `names`; with `blank`, also white space only (the field's default).
    Choice { names: Vec<String>, blank: bool },
    /// Text of at most `max` characters; with `required`, not blank either.
    Text { max: usize, required: bool },
    /// Text matching `pattern`, at most `max` characters.
    Pattern { pattern: String, max: usize },
    /// Text matching every one of `patterns`, or blank (none).
    Patterns(Vec<String>),
    /// A whole number from `min` to `max`.
    Int { min: i64, max: i64 },
    /// A number the server computes from `min` to `max`: a client leaves it out (`readOnly`);
    /// one given is refused (422 naming it).
    Computed { min: i64, max: i64 },
    /// An e-mail address; with `blank`, also white space only (none).
    Email { blank: bool },
    /// An id.
    Uuid,
    /// A new password under the default policy: `min` to `max` characters.
    Password { min: usize, max: usize },
    /// An RFC 3339 time; blank means none.
    DateTime,
    /// A `YYYY-MM-DD` date; blank means none.
    Date,
    /// A list of tags: at most [`MAX_TAGS`], each 1 to [`MAX_TAG`] characters once trimmed.
    Tags,
    /// A list of `min` to `max` items.
    Items { min: usize, max: usize },
}

/// A rule for one property of some schemas (each also applies to its `<name>Patch`).
#[derive(Debug, Clone)]
pub struct FieldRule {
    pub schemas: &'static [&'static str],
    pub property: &'static str,
    pub rule: Rule,
}

/// A rule for a whole schema.
#[derive(Debug, Clone)]
pub enum SchemaRule {
    /// Create bodies: the property must be sent and may not be null.
    Required(&'static str, &'static str),
    /// At least one of the properties is sent with a value (not null; with `text`, not blank).
    AtLeastOne {
        schema: &'static str,
        properties: &'static [&'static str],
        text: bool,
    },
    /// When `when` is sent as non-blank text, `then` must be sent too (not null nor blank).
    Needs {
        schema: &'static str,
        when: &'static str,
        then: &'static str,
    },
    /// When `when` is `true`, `then` must be sent with a value.
    NeedsWhenTrue {
        schema: &'static str,
        when: &'static str,
        then: &'static str,
    },
    /// Both of the two properties are sent with a value, or neither.
    Together(&'static str, &'static str, &'static str),
    /// Create bodies: a clause of their own (`allOf`), built from the domain's constants.
    Clause(&'static str, fn() -> Value),
    /// A tagged choice (`oneOf`) whose every variant refuses properties it does not name,
    /// as serde's `deny_unknown_fields` on the enum does.
    ClosedVariants(&'static str),
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn choice(list: &[&str], blank: bool) -> Rule {
    Rule::Choice {
        names: names(list),
        blank,
    }
}

/// A whole number within `(min, max)`.
const fn range((min, max): (i64, i64)) -> Rule {
    Rule::Int { min, max }
}

const fn text(max: usize) -> Rule {
    Rule::Text {
        max,
        required: false,
    }
}

const fn required_text(max: usize) -> Rule {
    Rule::Text {
        max,
        required: true,
    }
}

fn field(schemas: &'static [&'static str], property: &'static str, rule: Rule) -> FieldRule {
    FieldRule {
        schemas,
        property,
        rule,
    }
}

/// The text properties of the record inputs, each at most [`MAX_TEXT`] characters.
const LEAD_TEXT: &[&str] = rivet_domain::leads::TEXT_FIELDS;
const ACCOUNT_TEXT: &[&str] = rivet_domain::accounts::TEXT_FIELDS;
const CONTACT_TEXT: &[&str] = rivet_domain::contacts::TEXT_FIELDS;
const DEAL_TEXT: &[&str] = &["next_step", "description", "close_reason"];

/// Every property rule of the document.
pub fn rules() -> Vec<FieldRule> {
    let currency = || Rule::Choice {
        names: values::currency_codes()
            .into_iter()
            .map(str::to_owned)
            .collect(),
        blank: true,
    };
    // Optional text: blank means none.
    let or_blank = |pattern: String| format!("{pattern}|{}", blank_pattern());
    let phone = || Rule::Patterns(values::phone_patterns().to_vec());
    let url = || Rule::Patterns(values::url_patterns().to_vec());
    let money = |signed| Rule::Pattern {
        pattern: format!("{}|{}", values::money_pattern(signed), blank_pattern()),
        max: MAX_TEXT,
    };
    let computed_score = || Rule::Computed {
        min: 0,
        max: i64::from(SCORE_MAX),
    };
    let probability = || Rule::Int {
        min: 0,
        max: i64::from(rivet_domain::pipelines::PROBABILITY_MAX),
    };
    let mut rules = Vec::new();
    let text_fields: [(&'static [&'static str], &[&'static str]); 4] = [
        (&["LeadInput"], LEAD_TEXT),
        (&["AccountInput"], ACCOUNT_TEXT),
        (&["ContactInput"], CONTACT_TEXT),
        (&["DealInput"], DEAL_TEXT),
    ];
    for (schemas, list) in text_fields {
        for property in list {
            let rule = match *property {
                "phone" | "mobile" => phone(),
                "website" => url(),
                "domain" => Rule::Pattern {
                    pattern: or_blank(accounts::domain_pattern()),
                    max: MAX_TEXT,
                },
                _ => text(MAX_TEXT),
            };
            rules.push(field(schemas, property, rule));
        }
    }
    rules.extend([
        field(
            &["LeadInput", "ContactInput"],
            "email",
            Rule::Email { blank: true },
        ),
        field(&["CreateUser"], "email", Rule::Email { blank: false }),
        field(
            &["ContactRoleBody"],
            "role",
            choice(rivet_domain::deals::ContactRole::NAMES, false),
        ),
        field(
            &["CreateUser", "AcceptInvitationRequest"],
            "password",
            password(),
        ),
        field(&["AccountBulkDelete"], "reassign_to", Rule::Uuid),
        field(
            &["AccountBulkDelete"],
            "cascade",
            choice(&[accounts::CASCADE_CONTACTS], false),
        ),
        field(&["AccountInput"], "name", required_text(MAX_TEXT)),
        field(&["LeadInput"], "status", choice(LeadStatus::NAMES, true)),
        field(
            &["ReportedSignal"],
            "signal",
            Rule::Choice {
                names: rivet_domain::scoring::SIGNALS
                    .iter()
                    .map(|s| s.name.to_owned())
                    .collect(),
                blank: false,
            },
        ),
        field(&["ReportedSignal"], "lead_id", Rule::Uuid),
        field(
            &["ReportedSignal"],
            "detail",
            text(rivet_domain::scoring::MAX_DETAIL),
        ),
    ]);
    // The BANT and MEDDICC checklist, the same on leads and deals (a deal's notes too).
    let checked: &'static [&'static str] = &["LeadInput", "DealInput"];
    for element in checklist::ELEMENTS {
        rules.push(field(
            checked,
            element.status_field,
            choice(checklist::ElementStatus::NAMES, true),
        ));
        rules.push(field(&["DealInput"], element.name, text(MAX_TEXT)));
    }
    for property in checklist::COMPUTED_FIELDS {
        rules.push(field(checked, property, computed_score()));
    }
    rules.extend([
        field(checked, "budget_amount", money(false)),
        field(checked, "budget_currency", currency()),
        field(checked, "timeline_date", Rule::Date),
        field(checked, "economic_buyer_contact_id", Rule::Uuid),
        field(checked, "champion_contact_id", Rule::Uuid),
        field(&["LeadInput"], "fit_score", computed_score()),
        field(&["LeadInput"], "engagement_score", computed_score()),
        field(&["LeadInput"], "total_score", computed_score()),
        field(&["DealInput"], "risk_score", computed_score()),
        field(
            &["LeadInput", "AccountInput"],
            "annual_revenue",
            money(true),
        ),
        field(
            &["LeadInput", "AccountInput"],
            "annual_revenue_currency",
            currency(),
        ),
        field(
            &["LeadInput", "AccountInput"],
            "employee_count",
            Rule::Int {
                min: 0,
                max: i64::MAX,
            },
        ),
        field(
            &["AccountInput"],
            "lifecycle_stage",
            choice(LifecycleStage::NAMES, true),
        ),
        field(&["AccountInput"], "health_score", computed_score()),
        field(
            &["HealthInput"],
            "at_risk_below",
            Rule::Int { min: 1, max: 100 },
        ),
        field(
            &["HealthInput"],
            "recovered_at",
            Rule::Int { min: 0, max: 100 },
        ),
        field(
            &["RiskInput"],
            "stale_days",
            range(rivet_domain::risk::STALE_DAYS),
        ),
        field(
            &["RiskInput"],
            "max_close_date_pushes",
            range(rivet_domain::risk::MAX_PUSHES),
        ),
        field(
            &["RiskInput"],
            "default_stage_days",
            range(rivet_domain::risk::STAGE_DAYS),
        ),
        field(
            &["RiskInput"],
            "medium_from",
            Rule::Int { min: 1, max: 100 },
        ),
        field(&["RiskInput"], "high_from", Rule::Int { min: 1, max: 100 }),
        field(&["DealInput"], "name", required_text(MAX_TEXT)),
        field(&["ConvertDeal"], "name", text(MAX_TEXT)),
        field(&["DealInput", "ConvertDeal"], "amount", money(false)),
        field(&["DealInput", "ConvertDeal"], "currency", currency()),
        field(&["DealInput", "ConvertDeal"], "close_date", Rule::Date),
        field(&["ConvertLead"], "account_name", text(MAX_TEXT)),
        field(&["DealInput"], "probability", probability()),
        field(
            &["DealInput"],
            "forecast_category",
            choice(ForecastCategory::NAMES, true),
        ),
        field(
            &[
                "LeadInput",
                "AccountInput",
                "ContactInput",
                "DealInput",
                "LeadBulkFields",
                "AccountBulkFields",
                "ContactBulkFields",
                "DealBulkFields",
            ],
            "tags",
            Rule::Tags,
        ),
        field(&["TaskInput"], "subject", required_text(MAX_TEXT)),
        field(
            &["TaskInput"],
            "description",
            text(rivet_domain::tasks::MAX_DESCRIPTION),
        ),
        field(&["TaskInput"], "due_at", Rule::DateTime),
        field(&["TaskInput"], "reminder_at", Rule::DateTime),
        field(
            &["TaskInput"],
            "priority",
            choice(TaskPriority::NAMES, true),
        ),
        field(&["TaskInput"], "status", choice(TaskStatus::NAMES, true)),
        field(
            &["TaskInput"],
            "related_type",
            choice(RecordType::NAMES, true),
        ),
        field(&["TaskInput"], "repeat", choice(TaskRepeat::NAMES, true)),
        field(
            &["TaskInput"],
            "repeat_every",
            range((1, rivet_domain::tasks::MAX_REPEAT_EVERY)),
        ),
        field(&["TaskInput"], "repeat_until", Rule::Date),
        field(
            &["ActivityInput"],
            "kind",
            choice(ActivityKind::NAMES, false),
        ),
        field(
            &["ActivityInput"],
            "direction",
            choice(Direction::NAMES, true),
        ),
        field(&["ActivityInput"], "subject", text(MAX_TEXT)),
        field(&["ActivityInput"], "outcome", text(MAX_TEXT)),
        field(
            &["ActivityInput"],
            "body",
            text(rivet_domain::activities::MAX_BODY),
        ),
        field(&["ActivityInput"], "occurred_at", Rule::DateTime),
        field(
            &["ActivityInput"],
            "duration_seconds",
            Rule::Int {
                min: 0,
                max: rivet_domain::activities::MAX_DURATION,
            },
        ),
        field(
            &["ActivityInput"],
            "links",
            Rule::Items {
                min: 1,
                max: MAX_LINKS,
            },
        ),
        field(
            &["LinkInput"],
            "record_type",
            choice(RecordType::NAMES, false),
        ),
        field(
            &["LeadBulkFields"],
            "status",
            choice(LeadStatus::NAMES, false),
        ),
        field(
            &["AccountBulkFields"],
            "lifecycle_stage",
            choice(LifecycleStage::NAMES, false),
        ),
        field(
            &["TaskBulkFields"],
            "status",
            choice(TaskStatus::NAMES, false),
        ),
        field(
            &["TaskBulkFields"],
            "priority",
            choice(TaskPriority::NAMES, false),
        ),
        field(
            &["StageInput", "AddStage", "UpdateStage"],
            "probability",
            probability(),
        ),
        field(
            &["StageInput", "AddStage", "UpdateStage"],
            "forecast_category",
            choice(ForecastCategory::NAMES, false),
        ),
        field(
            &["StageInput", "AddStage", "UpdateStage"],
            "outcome",
            choice(StageOutcome::NAMES, false),
        ),
        field(
            &["AddStage", "UpdateStage"],
            "position",
            Rule::Int {
                min: 1,
                max: i64::try_from(MAX_STAGES).unwrap_or(i64::MAX),
            },
        ),
        field(
            &["CreatePipeline"],
            "stages",
            Rule::Items {
                min: 3,
                max: MAX_STAGES,
            },
        ),
        field(
            &["CreateField"],
            "options",
            Rule::Items {
                min: 0,
                max: custom::MAX_OPTIONS,
            },
        ),
        field(
            &["CreateField", "UpdateField"],
            "record_type",
            choice(&custom_record_types(), false),
        ),
        field(
            &["CreateField", "UpdateField"],
            "kind",
            choice(&custom_kinds(), false),
        ),
        field(
            &["CreateField", "UpdateField"],
            "key",
            Rule::Pattern {
                pattern: custom::key_pattern(),
                max: custom::KEY_MAX,
            },
        ),
        field(
            &["CreateField", "UpdateField"],
            "label",
            required_text(custom::LABEL_MAX),
        ),
        field(
            &["CreateField", "UpdateField"],
            "position",
            Rule::Int {
                min: 1,
                max: i64::from(custom::MAX_POSITION),
            },
        ),
        field(
            &["CreateView"],
            "resource",
            choice(&view_resources(), false),
        ),
        field(&["UpdateSettings"], "name", settings_name()),
        field(
            &["UpdateSettings"],
            "timezone",
            Rule::Choice {
                names: settings::timezones(),
                blank: false,
            },
        ),
        field(
            &["UpdateSettings"],
            "currency",
            Rule::Choice {
                names: values::currency_codes()
                    .into_iter()
                    .map(str::to_owned)
                    .collect(),
                blank: false,
            },
        ),
        field(
            &["UpdateSettings"],
            "locale",
            Rule::Pattern {
                pattern: settings::LOCALE_PATTERN.to_owned(),
                max: settings::LOCALE_MAX,
            },
        ),
    ]);
    rules.extend(email_rules());
    rules
}

/// E-mail settings, test messages and one-off e-mails (`rivet_domain::email`,
/// `api::email`), and the IMAP mailbox (`rivet_domain::imap`, `api::imap`).
fn email_rules() -> Vec<FieldRule> {
    let one_line = |max: usize| Rule::Pattern {
        pattern: ONE_LINE.to_owned(),
        max,
    };
    let dns = |max: usize| Rule::Pattern {
        pattern: format!(
            r"^\s*{}\s*$",
            email::dns_pattern()
                .trim_start_matches('^')
                .trim_end_matches('$')
        ),
        max,
    };
    let settings = &["EmailSettingsInput"];
    let imap = &["ImapSettingsInput"];
    vec![
        field(settings, "host", dns(email::MAX_HOST)),
        field(settings, "port", Rule::Int { min: 1, max: 65535 }),
        field(settings, "tls", choice(email::TlsMode::NAMES, false)),
        field(settings, "username", one_line(email::MAX_NAME)),
        field(settings, "password", text(email::MAX_PASSWORD)),
        field(settings, "from_name", one_line(email::MAX_NAME)),
        field(settings, "from_address", Rule::Email { blank: true }),
        field(settings, "reply_to", Rule::Email { blank: true }),
        field(settings, "daily_limit", range(email::DAILY_LIMIT)),
        field(settings, "dkim_selector", dns(email::MAX_NAME)),
        field(settings, "dkim_domain", dns(email::MAX_NAME)),
        field(settings, "dkim_private_key", text(email::MAX_KEY)),
        field(&["TestEmail"], "to", Rule::Email { blank: false }),
        field(&["SendEmail"], "to", Rule::Email { blank: true }),
        field(
            &["SendEmail"],
            "cc",
            Rule::Items {
                min: 0,
                max: email::MAX_CC,
            },
        ),
        field(
            &["SendEmail"],
            "subject",
            Rule::Pattern {
                pattern: format!(
                    "^(?=.*{}){}",
                    non_blank_pattern(),
                    ONE_LINE.trim_start_matches('^')
                ),
                max: email::MAX_SUBJECT,
            },
        ),
        field(&["SendEmail"], "text", required_text(email::MAX_BODY)),
        field(&["SendEmail"], "html", text(email::MAX_BODY)),
        field(
            &["SendEmail"],
            "idempotency_key",
            text(email::MAX_IDEMPOTENCY_KEY),
        ),
        field(&["PasswordResetConfirm"], "password", password()),
        // The IMAP mailbox (`rivet_domain::imap`): the SMTP server's rules, and its own.
        field(imap, "host", dns(email::MAX_HOST)),
        field(imap, "port", Rule::Int { min: 1, max: 65535 }),
        field(imap, "tls", choice(email::TlsMode::NAMES, false)),
        field(imap, "username", one_line(email::MAX_NAME)),
        field(imap, "password", text(email::MAX_PASSWORD)),
        field(imap, "folder", one_line(email::MAX_NAME)),
        field(imap, "poll_minutes", range(imap::POLL_MINUTES)),
    ]
}

/// Text without control characters (a header line).
const ONE_LINE: &str = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$";

/// `tls: none` only with `allow_plaintext: true` (`EmailSettingsInput::apply`,
/// `ImapSettingsInput::apply`).
fn plaintext_allowed() -> Value {
    json!({"anyOf": [
        {"not": {"required": ["tls"], "properties": {"tls": {"const": "none"}}}},
        {"required": ["allow_plaintext"], "properties": {"allow_plaintext": {"const": true}}},
    ]})
}

/// What the default password policy takes (a system administrator may change the minimum).
fn password() -> Rule {
    let policy = settings::SystemSettings::default();
    Rule::Password {
        min: usize::try_from(policy.password_min_length).unwrap_or(usize::MAX),
        max: settings::PASSWORD_MAX,
    }
}

/// A grant names a resource, one of its actions and one of its scopes (`PermissionSet::check`).
fn grant_clause() -> Value {
    let per_resource: Vec<Value> = rivet_domain::Resource::ALL
        .iter()
        .map(|resource| {
            let actions: Vec<&str> = resource.actions().iter().map(|a| a.as_str()).collect();
            let scopes: Vec<&str> = resource.scopes().iter().map(|s| s.as_str()).collect();
            json!({"properties": {
                "resource": {"const": resource.as_str()},
                "action": {"enum": actions},
                "scope": {"enum": scopes},
            }})
        })
        .collect();
    json!({"anyOf": per_resource})
}

/// A custom role may not take a built-in role's name, in any case (`roles::check_role_name`).
fn not_a_builtin_role() -> Value {
    let any_case = |name: &str| -> String {
        name.chars()
            .map(|c| {
                let (lower, upper) = (c.to_ascii_lowercase(), c.to_ascii_uppercase());
                if lower == upper {
                    c.to_string()
                } else {
                    format!("[{upper}{lower}]")
                }
            })
            .collect()
    };
    let names: Vec<String> = rivet_domain::BuiltinRole::ALL
        .iter()
        .map(|r| any_case(r.as_str()))
        .collect();
    let ws = rivet_domain::validate::WS;
    let pattern = format!("^[{ws}]*({})[{ws}]*$", names.join("|"));
    json!({"properties": {"name": {"not": {"type": "string", "pattern": pattern}}}})
}

fn settings_name() -> Rule {
    Rule::Pattern {
        pattern: rivet_domain::validate::NAME_PATTERN.to_owned(),
        max: settings::COMPANY_NAME_MAX,
    }
}

fn custom_record_types() -> Vec<&'static str> {
    custom::RecordType::ALL.iter().map(|t| t.as_str()).collect()
}

fn custom_kinds() -> Vec<&'static str> {
    CustomFieldKind::ALL.iter().map(|k| k.as_str()).collect()
}

fn view_resources() -> Vec<&'static str> {
    rivet_store::views::RESOURCES
        .iter()
        .map(|r| r.as_str())
        .collect()
}

/// Every whole-schema rule of the document.
pub fn schema_rules() -> Vec<SchemaRule> {
    vec![
        SchemaRule::AtLeastOne {
            schema: "LeadInput",
            properties: &["first_name", "last_name", "company_name", "email"],
            text: true,
        },
        SchemaRule::Needs {
            schema: "LeadInput",
            when: "annual_revenue",
            then: "annual_revenue_currency",
        },
        SchemaRule::Required("AccountInput", "name"),
        SchemaRule::Required("ContactRoleBody", "role"),
        SchemaRule::Needs {
            schema: "AccountInput",
            when: "annual_revenue",
            then: "annual_revenue_currency",
        },
        SchemaRule::AtLeastOne {
            schema: "ContactInput",
            properties: &["first_name", "last_name", "email"],
            text: true,
        },
        SchemaRule::NeedsWhenTrue {
            schema: "ContactInput",
            when: "is_primary",
            then: "account_id",
        },
        SchemaRule::Required("DealInput", "name"),
        SchemaRule::Required("TaskInput", "subject"),
        SchemaRule::Together("TaskInput", "related_type", "related_id"),
        SchemaRule::Required("ActivityInput", "kind"),
        SchemaRule::Required("ActivityInput", "links"),
        SchemaRule::Clause("CreatePipeline", stages_clause),
        SchemaRule::Clause("CreateField", options_clause),
        SchemaRule::Clause("GrantInput", grant_clause),
        SchemaRule::Clause("CreateRole", not_a_builtin_role),
        SchemaRule::Clause("ApplyBody", ids_or_filter),
        SchemaRule::Clause("ConvertLeads", ids_or_filter),
        SchemaRule::Clause("EnrollInput", ids_view_or_filter),
        SchemaRule::Clause("ConvertLead", chosen_or_named_account),
        SchemaRule::Clause("ReportedSignal", lead_or_email),
        SchemaRule::Clause("UpdateRole", not_a_builtin_role),
        SchemaRule::Clause("EmailSettingsInput", plaintext_allowed),
        SchemaRule::NeedsWhenTrue {
            schema: "EmailSettingsInput",
            when: "enabled",
            then: "host",
        },
        SchemaRule::NeedsWhenTrue {
            schema: "EmailSettingsInput",
            when: "enabled",
            then: "from_address",
        },
        SchemaRule::Clause("ImapSettingsInput", plaintext_allowed),
        SchemaRule::NeedsWhenTrue {
            schema: "ImapSettingsInput",
            when: "enabled",
            then: "host",
        },
        SchemaRule::NeedsWhenTrue {
            schema: "ImapSettingsInput",
            when: "enabled",
            then: "username",
        },
        SchemaRule::ClosedVariants("StepInput"),
        SchemaRule::Required("SendEmail", "subject"),
        SchemaRule::Required("SendEmail", "text"),
        SchemaRule::AtLeastOne {
            schema: "LeadBulkFields",
            properties: &["owner_id", "status", "tags"],
            text: false,
        },
        SchemaRule::AtLeastOne {
            schema: "AccountBulkFields",
            properties: &["owner_id", "lifecycle_stage", "tags"],
            text: false,
        },
        SchemaRule::AtLeastOne {
            schema: "ContactBulkFields",
            properties: &["owner_id", "tags"],
            text: false,
        },
        SchemaRule::AtLeastOne {
            schema: "DealBulkFields",
            properties: &["owner_id", "stage_id", "tags"],
            text: false,
        },
        SchemaRule::AtLeastOne {
            schema: "TaskBulkFields",
            properties: &["assignee_id", "status", "priority"],
            text: false,
        },
        SchemaRule::AtLeastOne {
            schema: "ActivityBulkFields",
            properties: &["owner_id"],
            text: false,
        },
    ]
}

/// Exactly one of `properties`: it is sent and not null, every other one left out or null.
fn exactly_one(properties: &[&str]) -> Value {
    let only = |given: &str| {
        let mut shapes = Map::new();
        for p in properties {
            let shape = if *p == given {
                json!({"not": {"type": "null"}})
            } else {
                json!({"type": "null"})
            };
            shapes.insert((*p).to_owned(), shape);
        }
        json!({"required": [given], "properties": shapes})
    };
    json!({"oneOf": properties.iter().map(|p| only(p)).collect::<Vec<_>>()})
}

/// A selection of leads (`assignment::apply_ids`): its ids or a filter, exactly one of them.
fn ids_or_filter() -> Value {
    exactly_one(&["ids", "filter"])
}

/// The records a sequence enrollment names (`api::sequences::enroll_selection`): ids, a saved
/// view or a filter, exactly one of them.
fn ids_view_or_filter() -> Value {
    exactly_one(&["record_ids", "view_id", "filter"])
}

/// A reported signal names its lead by id or by e-mail (`api::scoring::report`).
fn lead_or_email() -> Value {
    exactly_one(&["lead_id", "email"])
}

/// A conversion into a chosen account names no new one (`conversion::convert_lead`).
fn chosen_or_named_account() -> Value {
    json!({"anyOf": [
        {"properties": {"account_id": {"type": "null"}}},
        {"properties": {"account_name": absent_schema()}},
    ]})
}

/// A pipeline's stages, when given, hold an open, a won and a lost one (`check_outcomes`).
fn stages_clause() -> Value {
    let with = |outcomes: Vec<Value>, may_omit: bool| {
        let mut stage = json!({"properties": {"outcome": {"enum": outcomes}}});
        if !may_omit {
            stage["required"] = json!(["outcome"]);
        }
        json!({"contains": stage})
    };
    let open = StageOutcome::Open.as_str();
    let won = StageOutcome::Won.as_str();
    let lost = StageOutcome::Lost.as_str();
    json!({"properties": {"stages": {"anyOf": [{"type": "null"}, {"allOf": [
        with(vec![json!(open), Value::Null], true),
        with(vec![json!(won)], false),
        with(vec![json!(lost)], false),
    ]}]}}})
}

/// Select kinds need 1 to [`custom::MAX_OPTIONS`] distinct options; other kinds none
/// (`custom_fields::parse_options`).
fn options_clause() -> Value {
    let (select, other): (Vec<CustomFieldKind>, Vec<CustomFieldKind>) = CustomFieldKind::ALL
        .into_iter()
        .partition(|k| k.has_options());
    let kinds = |list: Vec<CustomFieldKind>| -> Vec<&'static str> {
        list.into_iter().map(CustomFieldKind::as_str).collect()
    };
    let option =
        json!({"type": "string", "maxLength": custom::OPTION_MAX, "pattern": non_blank_pattern()});
    json!({"anyOf": [
        {
            "required": ["kind", "options"],
            "properties": {
                "kind": {"enum": kinds(select)},
                "options": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": custom::MAX_OPTIONS,
                    "uniqueItems": true,
                    "items": option,
                },
            },
        },
        {
            "properties": {
                "kind": {"enum": kinds(other)},
                "options": {"anyOf": [{"type": "null"}, {"type": "array", "maxItems": 0}]},
            },
        },
    ]})
}

/// Whether a property schema allows `null`.
fn nullable(schema: &Value) -> bool {
    match &schema["type"] {
        Value::Array(types) => types.iter().any(|t| t == "null"),
        _ => schema["oneOf"]
            .as_array()
            .is_some_and(|items| items.iter().any(|i| i["type"] == "null")),
    }
}

fn typed(base: &str, nullable: bool) -> Value {
    if nullable {
        json!([base, "null"])
    } else {
        json!(base)
    }
}

/// The schema of a property under `rule`, keeping its description and whether it is nullable.
pub fn property_schema(rule: &Rule, old: &Value) -> Value {
    let null = nullable(old);
    let mut schema = match rule {
        Rule::Choice { names, blank } => {
            let mut values: Vec<Value> = names.iter().map(|n| json!(n)).collect();
            if null {
                values.push(Value::Null);
            }
            let choice = json!({"type": typed("string", null), "enum": values});
            if *blank {
                json!({"anyOf": [choice, {"type": "string", "pattern": blank_pattern()}]})
            } else {
                choice
            }
        }
        Rule::Text { max, required } => {
            let mut schema = json!({"type": typed("string", null), "maxLength": max});
            if *required {
                schema["pattern"] = json!(non_blank_pattern());
            }
            schema
        }
        Rule::Pattern { pattern, max } => {
            json!({"type": typed("string", null), "maxLength": max, "pattern": pattern})
        }
        Rule::Patterns(patterns) => {
            let all: Vec<Value> = patterns.iter().map(|p| json!({"pattern": p})).collect();
            json!({"anyOf": [
                {"type": typed("string", null), "allOf": all},
                {"type": "string", "pattern": blank_pattern()},
            ]})
        }
        Rule::Int { min, max } => {
            json!({"type": typed("integer", null), "minimum": min, "maximum": max})
        }
        Rule::Computed { min, max } => json!({
            "type": typed("integer", null),
            "minimum": min,
            "maximum": max,
            "readOnly": true,
        }),
        Rule::Email { blank } => {
            let email = json!({"type": typed("string", null), "format": "email", "maxLength": 254});
            if *blank {
                json!({"anyOf": [email, {"type": "string", "pattern": blank_pattern()}]})
            } else {
                email
            }
        }
        Rule::Uuid => json!({"type": typed("string", null), "format": "uuid"}),
        Rule::Password { min, max } => {
            let mut schema =
                json!({"type": typed("string", null), "minLength": min, "maxLength": max});
            let policy = settings::SystemSettings::default();
            // `char::is_alphabetic` and an ASCII digit, as `SystemSettings::check_password`.
            let mut needs = Vec::new();
            if policy.password_require_letter {
                needs.push(json!({"pattern": "[^\\W\\d_]"}));
            }
            if policy.password_require_digit {
                needs.push(json!({"pattern": "[0-9]"}));
            }
            if !needs.is_empty() {
                schema["allOf"] = json!(needs);
            }
            schema
        }
        Rule::DateTime => json!({"anyOf": [
            {"type": typed("string", null), "format": "date-time"},
            {"type": "string", "pattern": blank_pattern()},
        ]}),
        Rule::Date => json!({"anyOf": [
            {"type": typed("string", null), "format": "date"},
            {"type": "string", "pattern": blank_pattern()},
        ]}),
        Rule::Tags => json!({
            "type": typed("array", null),
            "maxItems": MAX_TAGS,
            "items": {"type": "string", "maxLength": MAX_TAG, "pattern": non_blank_pattern()},
        }),
        Rule::Items { min, max } => {
            let mut schema = old.clone();
            schema["minItems"] = json!(min);
            schema["maxItems"] = json!(max);
            schema
        }
    };
    if let Some(description) = old.get("description") {
        schema["description"] = description.clone();
    }
    schema
}

/// `schema` with `property` required and not nullable.
fn require(schema: &mut Value, property: &str) {
    if let Some(p) = schema["properties"].get_mut(property) {
        not_null(p);
    }
    let required = schema
        .as_object_mut()
        .map(|o| o.entry("required").or_insert_with(|| json!([])));
    if let Some(Value::Array(list)) = required
        && !list.iter().any(|r| r == property)
    {
        list.push(json!(property));
    }
}

/// Take `null` out of a property's type (and its enum, and each `anyOf` branch).
pub fn not_null(schema: &mut Value) {
    if let Value::Array(types) = &schema["type"] {
        let kept: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        schema["type"] = match kept.as_slice() {
            [one] => one.clone(),
            _ => Value::Array(kept),
        };
    }
    if let Some(Value::Array(values)) = schema.get_mut("enum") {
        values.retain(|v| !v.is_null());
    }
    if let Some(Value::Array(branches)) = schema.get_mut("anyOf") {
        for branch in branches {
            not_null(branch);
        }
    }
}

/// A property that is sent with a value: not null and, for `text`, not blank.
fn present(text: bool) -> Value {
    if text {
        json!({"type": "string", "pattern": non_blank_pattern()})
    } else {
        json!({"not": {"type": "null"}})
    }
}

/// A property that is absent, null or (for text) blank.
fn absent_schema() -> Value {
    json!({"anyOf": [{"type": "null"}, {"type": "string", "pattern": blank_pattern()}]})
}

fn one_present(property: &str, text: bool) -> Value {
    json!({"required": [property], "properties": {property: present(text)}})
}

fn add_all_of(schema: &mut Value, clause: Value) {
    if let Some(object) = schema.as_object_mut() {
        let all_of = object.entry("allOf").or_insert_with(|| json!([]));
        if let Value::Array(list) = all_of {
            list.push(clause);
        }
    }
}

/// The whole-schema rule as applied to a create body (`patch` false) or a patch (true: only
/// what holds whatever the record already has).
fn apply_schema_rule(rule: &SchemaRule, schema: &mut Value, patch: bool) {
    match rule {
        SchemaRule::Required(_, property) => {
            if patch {
                if let Some(p) = schema["properties"].get_mut(*property) {
                    not_null(p);
                }
            } else {
                require(schema, property);
            }
        }
        SchemaRule::AtLeastOne {
            properties, text, ..
        } => {
            if !patch {
                let any: Vec<Value> = properties.iter().map(|p| one_present(p, *text)).collect();
                add_all_of(schema, json!({"anyOf": any}));
            }
        }
        SchemaRule::Needs { when, then, .. } => {
            if !patch {
                let not_sent = json!({"properties": {*when: absent_schema()}});
                add_all_of(
                    schema,
                    json!({"anyOf": [not_sent, one_present(then, true)]}),
                );
            }
        }
        SchemaRule::NeedsWhenTrue { when, then, .. } => {
            if !patch {
                let not_true = json!({"properties": {*when: {"not": {"const": true}}}});
                add_all_of(
                    schema,
                    json!({"anyOf": [not_true, one_present(then, false)]}),
                );
            }
        }
        SchemaRule::Clause(_, clause) => {
            if !patch {
                add_all_of(schema, clause());
            }
        }
        SchemaRule::ClosedVariants(_) => {
            if let Some(Value::Array(variants)) = schema.get_mut("oneOf") {
                for variant in variants {
                    if let Some(object) = variant.as_object_mut() {
                        object.insert("additionalProperties".to_owned(), Value::Bool(false));
                    }
                }
            }
        }
        SchemaRule::Together(_, a, b) => {
            if !patch {
                let both = json!({"required": [a, b], "properties": {*a: present(true), *b: present(false)}});
                let neither = json!({"properties": {*a: absent_schema(), *b: {"type": "null"}}});
                add_all_of(schema, json!({"anyOf": [both, neither]}));
            }
        }
    }
}

impl SchemaRule {
    fn schema(&self) -> &'static str {
        match self {
            Self::Required(schema, _) | Self::Together(schema, _, _) => schema,
            Self::AtLeastOne { schema, .. }
            | Self::Needs { schema, .. }
            | Self::NeedsWhenTrue { schema, .. } => schema,
            Self::Clause(schema, _) | Self::ClosedVariants(schema) => schema,
        }
    }
}

/// Apply every rule to the document's component schemas (JSON). Returns what did not apply
/// (`schema.property`), which a test requires to be empty.
pub fn apply(schemas: &mut Map<String, Value>) -> Vec<String> {
    let mut missing = Vec::new();
    for rule in rules() {
        for name in rule.schemas {
            let mut found = false;
            for target in [(*name).to_owned(), format!("{name}Patch")] {
                if let Some(property) = schemas
                    .get_mut(&target)
                    .and_then(|s| s["properties"].get_mut(rule.property))
                {
                    *property = property_schema(&rule.rule, property);
                    found = true;
                }
            }
            if !found {
                missing.push(format!("{name}.{}", rule.property));
            }
        }
    }
    for rule in schema_rules() {
        let name = rule.schema();
        let mut found = false;
        for (target, patch) in [(name.to_owned(), false), (format!("{name}Patch"), true)] {
            if let Some(schema) = schemas.get_mut(&target) {
                apply_schema_rule(&rule, schema, patch);
                found = true;
            }
        }
        if !found {
            missing.push(name.to_owned());
        }
    }
    missing
}
