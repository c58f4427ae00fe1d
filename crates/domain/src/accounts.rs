//! Accounts (customers): the lifecycle stage, the list fields (what may be filtered and sorted),
//! and the input a client sends, validated once into [`AccountData`]. The shared cleaning of
//! text and tags used by contacts too lives here; storage and HTTP are elsewhere.

use crate::choices::{choice_enum, spec};
use crate::ids::{AccountId, UserId};
use crate::query::{FieldKind, FieldSpec, Op, SortKey};
use crate::validate::FieldErrors;
use crate::values::{Money, parse_currency};
use serde::Deserialize;
use serde_json::{Map, Value};

choice_enum!(
    /// Where a customer relationship stands.
    LifecycleStage {
        Prospect => "prospect",
        Onboarding => "onboarding",
        Customer => "customer",
        AtRisk => "at_risk",
        Churned => "churned",
    }
);

/// The fields of an account a list can filter or sort on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountField {
    Name,
    Domain,
    Industry,
    LifecycleStage,
    OwnerId,
    ParentId,
    HealthScore,
    EmployeeCount,
    Tags,
    CreatedAt,
    UpdatedAt,
}

/// Every list field of accounts, in the order error messages list them.
pub const ACCOUNT_FIELDS: &[FieldSpec<AccountField>] = &[
    spec("name", AccountField::Name, FieldKind::Text, &[Op::Eq], true),
    spec(
        "domain",
        AccountField::Domain,
        FieldKind::Text,
        &[Op::Eq, Op::Empty],
        true,
    ),
    spec(
        "industry",
        AccountField::Industry,
        FieldKind::Text,
        &[Op::Eq, Op::In, Op::Empty],
        true,
    ),
    spec(
        "lifecycle_stage",
        AccountField::LifecycleStage,
        FieldKind::Choice(LifecycleStage::NAMES),
        &[Op::Eq, Op::In],
        true,
    ),
    spec(
        "owner_id",
        AccountField::OwnerId,
        FieldKind::Id,
        &[Op::Eq, Op::In],
        true,
    ),
    spec(
        "parent_id",
        AccountField::ParentId,
        FieldKind::Id,
        &[Op::Eq, Op::In, Op::Empty],
        true,
    ),
    spec(
        "health_score",
        AccountField::HealthScore,
        FieldKind::Int,
        &[Op::Gte, Op::Lte, Op::Empty],
        true,
    ),
    spec(
        "employee_count",
        AccountField::EmployeeCount,
        FieldKind::Int,
        &[Op::Gte, Op::Lte],
        true,
    ),
    spec(
        "tags",
        AccountField::Tags,
        FieldKind::Tags,
        &[Op::Contains],
        false,
    ),
    spec(
        "created_at",
        AccountField::CreatedAt,
        FieldKind::Time,
        &[Op::Gte, Op::Lte],
        true,
    ),
    spec(
        "updated_at",
        AccountField::UpdatedAt,
        FieldKind::Time,
        &[Op::Gte, Op::Lte],
        true,
    ),
];

/// Newest first.
pub const ACCOUNT_DEFAULT_SORT: &[SortKey<AccountField>] = &[SortKey {
    field: AccountField::CreatedAt,
    descending: true,
}];

/// An account as a client writes it (create, or the merged result of a patch). `owner_id` left
/// out means the caller.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountInput {
    pub name: Option<String>,
    /// A bare host name, e.g. `acme.com`; a pasted `https://acme.com/` is reduced to it.
    pub domain: Option<String>,
    pub industry: Option<String>,
    /// Number of employees.
    pub employee_count: Option<i64>,
    /// A decimal string, e.g. `"12500.10"`; needs `annual_revenue_currency`.
    pub annual_revenue: Option<String>,
    pub annual_revenue_currency: Option<String>,
    pub billing_street: Option<String>,
    pub billing_city: Option<String>,
    pub billing_region: Option<String>,
    pub billing_postal_code: Option<String>,
    pub billing_country: Option<String>,
    pub shipping_street: Option<String>,
    pub shipping_city: Option<String>,
    pub shipping_region: Option<String>,
    pub shipping_postal_code: Option<String>,
    pub shipping_country: Option<String>,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub owner_id: Option<UserId>,
    /// The parent account; a cycle is rejected.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub parent_id: Option<AccountId>,
    /// prospect (default), onboarding, customer, at_risk or churned.
    pub lifecycle_stage: Option<String>,
    /// Computed by account health (read-only: a value given is refused; `GET
    /// /api/v1/accounts/{id}/health` explains it).
    #[schema(minimum = 0, maximum = 100)]
    pub health_score: Option<i32>,
    pub tags: Option<Vec<String>>,
    /// Stored as given for now; checked against custom field definitions once they exist.
    #[schema(value_type = Option<Object>)]
    pub custom_fields: Option<Map<String, Value>>,
}

/// The plain text fields of an account.
pub const TEXT_FIELDS: &[&str] = &[
    "name",
    "domain",
    "industry",
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
];

/// A valid account: every value checked, blanks turned into `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountData {
    /// `(field, value)` for each of [`TEXT_FIELDS`], in that order.
    pub text: Vec<(&'static str, Option<String>)>,
    pub employee_count: Option<i64>,
    pub annual_revenue: Option<Money>,
    pub owner_id: Option<UserId>,
    pub parent_id: Option<AccountId>,
    pub lifecycle_stage: LifecycleStage,
    pub tags: Vec<String>,
    pub custom_fields: Map<String, Value>,
}

/// `cascade` of an account delete: delete its contacts too (the only value).
pub const CASCADE_CONTACTS: &str = "contacts";

/// The longest plain text field of a record (names, addresses, notes), once trimmed.
pub const MAX_TEXT: usize = 2000;
/// Most tags on one record, counted as sent (repeats are dropped, but count).
pub const MAX_TAGS: usize = 50;
/// The longest tag, once trimmed.
pub const MAX_TAG: usize = 100;

/// Trimmed, and `None` when blank.
pub(crate) fn clean(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Trimmed, de-duplicated tags; an error under `tags` when one is blank or too long, or when
/// more than [`MAX_TAGS`] are sent.
pub(crate) fn clean_tags(input: Option<Vec<String>>, errors: &mut FieldErrors) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    let input = input.unwrap_or_default();
    if input.len() > MAX_TAGS {
        errors.add("tags", format!("at most {MAX_TAGS} tags"));
        return tags;
    }
    for tag in input {
        let tag = tag.trim().to_owned();
        if tag.is_empty() || tag.chars().count() > MAX_TAG {
            errors.add("tags", format!("each tag has 1 to {MAX_TAG} characters"));
            return tags;
        }
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    tags
}

/// An amount with its currency, each named on error.
pub(crate) fn money(
    amount: Option<String>,
    currency: Option<String>,
    errors: &mut FieldErrors,
) -> Option<Money> {
    let currency = match clean(currency) {
        Some(c) => match parse_currency(&c) {
            Ok(c) => Some(c),
            Err(e) => {
                errors.add("annual_revenue_currency", e);
                return None;
            }
        },
        None => None,
    };
    let amount = clean(amount)?;
    match currency {
        Some(currency) => errors.check("annual_revenue", Money::parse(&amount, currency)),
        None => {
            errors.add("annual_revenue_currency", "is required with annual_revenue");
            None
        }
    }
}

/// What [`parse_domain`] accepts, as a JSON Schema pattern: white space around it, an optional
/// `http://` or `https://`, a host name of ASCII letters, digits, `-` and `.` with at least one
/// dot (not first or last, never two in a row; not starting or ending with `-`), then anything
/// after a `/`, `?` or `#`.
pub fn domain_pattern() -> String {
    let ws = crate::validate::WS;
    format!(
        "^[{ws}]*([Hh][Tt][Tt][Pp][Ss]?://)?[A-Za-z0-9][A-Za-z0-9-]*(\\.[A-Za-z0-9-]+)*\
         \\.[A-Za-z0-9-]*[A-Za-z0-9]([/?#][\\s\\S]*)?[{ws}]*$"
    )
}

/// A host name as people paste it: scheme, path and `www.` dropped, lower-cased; ASCII only (an
/// international name in its `xn--` form).
pub fn parse_domain(input: &str) -> Result<String, String> {
    let lower = input.trim().to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .unwrap_or(&lower);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = host.strip_prefix("www.").unwrap_or(host);
    let ok = host.contains('.')
        && !host.starts_with(['.', '-'])
        && !host.ends_with(['.', '-'])
        && !host.contains("..")
        && host.len() <= 253
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    if ok {
        Ok(host.to_owned())
    } else {
        Err("must be a domain name (e.g. acme.com)".into())
    }
}

impl AccountInput {
    fn text(&self, field: &str) -> Option<&String> {
        match field {
            "name" => self.name.as_ref(),
            "domain" => self.domain.as_ref(),
            "industry" => self.industry.as_ref(),
            "billing_street" => self.billing_street.as_ref(),
            "billing_city" => self.billing_city.as_ref(),
            "billing_region" => self.billing_region.as_ref(),
            "billing_postal_code" => self.billing_postal_code.as_ref(),
            "billing_country" => self.billing_country.as_ref(),
            "shipping_street" => self.shipping_street.as_ref(),
            "shipping_city" => self.shipping_city.as_ref(),
            "shipping_region" => self.shipping_region.as_ref(),
            "shipping_postal_code" => self.shipping_postal_code.as_ref(),
            "shipping_country" => self.shipping_country.as_ref(),
            _ => None,
        }
    }

    /// Check every field, naming each invalid one.
    pub fn validate(self) -> Result<AccountData, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut text = Vec::with_capacity(TEXT_FIELDS.len());
        for field in TEXT_FIELDS {
            let mut value = clean(self.text(field).cloned());
            if let Some(v) = &value {
                if v.chars().count() > MAX_TEXT {
                    errors.add(
                        field,
                        format!("is too long (at most {MAX_TEXT} characters)"),
                    );
                } else if *field == "domain" {
                    value = errors.check(field, parse_domain(v));
                }
            } else if *field == "name" {
                errors.add("name", "must not be empty");
            }
            text.push((*field, value));
        }
        if self.employee_count.is_some_and(|n| n < 0) {
            errors.add("employee_count", "must not be negative");
        }
        let annual_revenue = money(
            self.annual_revenue,
            self.annual_revenue_currency,
            &mut errors,
        );
        let stage = match self.lifecycle_stage.as_deref().map(str::trim) {
            None | Some("") => Some(LifecycleStage::Prospect),
            Some(s) => errors.check("lifecycle_stage", s.parse::<LifecycleStage>()),
        };
        if self.health_score.is_some() {
            errors.add(
                "health_score",
                "is computed by account health and cannot be written \
                 (GET /api/v1/accounts/{id}/health explains it)",
            );
        }
        let tags = clean_tags(self.tags, &mut errors);
        errors.into_result()?;
        Ok(AccountData {
            text,
            employee_count: self.employee_count,
            annual_revenue,
            owner_id: self.owner_id,
            parent_id: self.parent_id,
            lifecycle_stage: stage.unwrap_or(LifecycleStage::Prospect),
            tags,
            custom_fields: self.custom_fields.unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_are_named() {
        let input = AccountInput {
            domain: Some("not a domain".into()),
            lifecycle_stage: Some("won".into()),
            health_score: Some(50),
            annual_revenue: Some("1.5".into()),
            ..AccountInput::default()
        };
        let fields: Vec<String> = input
            .validate()
            .err()
            .map(|e| e.0.into_iter().map(|f| f.field).collect())
            .unwrap_or_default();
        assert_eq!(
            fields,
            [
                "name",
                "domain",
                "annual_revenue_currency",
                "lifecycle_stage",
                "health_score"
            ]
        );
    }

    #[test]
    fn domains_are_reduced_to_the_host() {
        assert_eq!(
            parse_domain("https://www.Acme.com/about"),
            Ok("acme.com".into())
        );
        assert!(parse_domain("acme").is_err());
    }
}
