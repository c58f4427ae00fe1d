//! Leads: the status enum, the list fields (what may be filtered and sorted), and the input a
//! client sends, validated once into [`LeadData`]. The shared value parsers (money, currency,
//! URL, phone) live in [`crate::values`]; storage and HTTP are elsewhere.

use crate::accounts::MAX_TEXT;
use crate::checklist::{Checklist, checklist_score};
use crate::choices::{choice_enum, spec};
use crate::ids::{ContactId, UserId};
use crate::query::{FieldKind, FieldSpec, Op, SortKey};
use crate::validate::{Email, FieldErrors};
use crate::values::{Money, parse_currency, parse_phone, parse_url};
use serde::Deserialize;
use serde_json::{Map, Value};

choice_enum!(
    /// Where a lead stands.
    LeadStatus {
        New => "new",
        Contacted => "contacted",
        Nurturing => "nurturing",
        Qualified => "qualified",
        Unqualified => "unqualified",
        Converted => "converted",
    }
);

/// The fields of a lead a list can filter or sort on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeadField {
    Status,
    OwnerId,
    CreatedAt,
    UpdatedAt,
    Email,
    FirstName,
    LastName,
    Title,
    CompanyName,
    Industry,
    EmployeeCount,
    /// Compared in micros; the query string gives a decimal amount.
    AnnualRevenue,
    City,
    Region,
    Country,
    Source,
    UtmSource,
    UtmMedium,
    UtmCampaign,
    UtmTerm,
    UtmContent,
    Tags,
    FitScore,
    EngagementScore,
    TotalScore,
    /// One of the BANT or MEDDICC notes (a [`TEXT_FIELDS`] name), filtered by presence.
    Qualification(&'static str),
    /// One of the figures the checklist computes ([`crate::checklist::COMPUTED_FIELDS`]).
    Checklist(&'static str),
}

/// A text field: equal to, one of, or empty; sortable.
const fn text(name: &'static str, field: LeadField) -> FieldSpec<LeadField> {
    spec(
        name,
        field,
        FieldKind::Text,
        &[Op::Eq, Op::In, Op::Empty],
        true,
    )
}

/// A number: at least, at most; sortable.
const fn number(name: &'static str, field: LeadField, kind: FieldKind) -> FieldSpec<LeadField> {
    spec(name, field, kind, &[Op::Gte, Op::Lte, Op::Empty], true)
}

/// A BANT or MEDDICC note: filtered by whether it is filled in (`budget[empty]=false`).
const fn qualification(name: &'static str) -> FieldSpec<LeadField> {
    spec(
        name,
        LeadField::Qualification(name),
        FieldKind::Text,
        &[Op::Empty],
        true,
    )
}

/// Every list field of leads, in the order error messages list them. Every field but the tags
/// sorts.
pub const LEAD_FIELDS: &[FieldSpec<LeadField>] = &[
    spec(
        "status",
        LeadField::Status,
        FieldKind::Choice(LeadStatus::NAMES),
        &[Op::Eq, Op::In],
        true,
    ),
    spec(
        "owner_id",
        LeadField::OwnerId,
        FieldKind::Id,
        &[Op::Eq, Op::In],
        true,
    ),
    spec(
        "created_at",
        LeadField::CreatedAt,
        FieldKind::Time,
        &[Op::Gte, Op::Lte],
        true,
    ),
    spec(
        "updated_at",
        LeadField::UpdatedAt,
        FieldKind::Time,
        &[Op::Gte, Op::Lte],
        true,
    ),
    spec(
        "email",
        LeadField::Email,
        FieldKind::Text,
        &[Op::Eq, Op::Empty],
        true,
    ),
    text("first_name", LeadField::FirstName),
    text("last_name", LeadField::LastName),
    text("title", LeadField::Title),
    text("company_name", LeadField::CompanyName),
    text("industry", LeadField::Industry),
    number("employee_count", LeadField::EmployeeCount, FieldKind::Int),
    number("annual_revenue", LeadField::AnnualRevenue, FieldKind::Money),
    text("city", LeadField::City),
    text("region", LeadField::Region),
    text("country", LeadField::Country),
    text("source", LeadField::Source),
    text("utm_source", LeadField::UtmSource),
    text("utm_medium", LeadField::UtmMedium),
    text("utm_campaign", LeadField::UtmCampaign),
    text("utm_term", LeadField::UtmTerm),
    text("utm_content", LeadField::UtmContent),
    spec(
        "tags",
        LeadField::Tags,
        FieldKind::Tags,
        &[Op::Contains],
        false,
    ),
    spec(
        "fit_score",
        LeadField::FitScore,
        FieldKind::Int,
        &[Op::Gte, Op::Lte],
        true,
    ),
    spec(
        "engagement_score",
        LeadField::EngagementScore,
        FieldKind::Int,
        &[Op::Gte, Op::Lte],
        true,
    ),
    spec(
        "total_score",
        LeadField::TotalScore,
        FieldKind::Int,
        &[Op::Gte, Op::Lte],
        true,
    ),
    qualification("budget"),
    qualification("authority"),
    qualification("need"),
    qualification("timeline"),
    qualification("metrics"),
    qualification("economic_buyer"),
    qualification("decision_criteria"),
    qualification("decision_process"),
    qualification("identified_pain"),
    qualification("champion"),
    qualification("competition"),
    checklist_score("bant_score", LeadField::Checklist("bant_score")),
    checklist_score(
        "meddicc_completeness",
        LeadField::Checklist("meddicc_completeness"),
    ),
    checklist_score("meddicc_strength", LeadField::Checklist("meddicc_strength")),
];

/// Newest first.
pub const LEAD_DEFAULT_SORT: &[SortKey<LeadField>] = &[SortKey {
    field: LeadField::CreatedAt,
    descending: true,
}];

crate::checklist::with_checklist_fields! {
/// A lead as a client writes it (create, or the merged result of a patch). Everything is
/// optional; `owner_id` left out means the caller.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LeadInput {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub title: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub mobile: Option<String>,
    pub company_name: Option<String>,
    pub website: Option<String>,
    pub industry: Option<String>,
    pub employee_count: Option<i64>,
    /// A decimal string, e.g. `"12500.10"`; needs `annual_revenue_currency`.
    pub annual_revenue: Option<String>,
    /// ISO 4217, e.g. `"EUR"`.
    pub annual_revenue_currency: Option<String>,
    pub street: Option<String>,
    pub city: Option<String>,
    pub region: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub source: Option<String>,
    pub utm_source: Option<String>,
    pub utm_medium: Option<String>,
    pub utm_campaign: Option<String>,
    pub utm_term: Option<String>,
    pub utm_content: Option<String>,
    /// new (default), contacted, nurturing, qualified or unqualified; the company's
    /// qualification gates decide what a lead needs to enter each (422 listing what is
    /// missing), and `converted` is set only by converting the lead.
    pub status: Option<String>,
    /// Why the lead is in its status (required by a gate such as unqualified's); cleared when
    /// the status changes without one.
    pub status_reason: Option<String>,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub owner_id: Option<UserId>,
    /// Agreed to be messaged on WhatsApp (nothing is sent to a lead without it).
    pub whatsapp_consent: Option<bool>,
    /// Where the WhatsApp consent came from (a form, a call, an inbound message …).
    pub whatsapp_consent_source: Option<String>,
    pub tags: Option<Vec<String>>,
    /// Computed by lead scoring from the fit rules (read-only: a value given is refused).
    #[schema(minimum = 0, maximum = 100)]
    pub fit_score: Option<i32>,
    /// Computed by lead scoring from engagement (read-only: a value given is refused).
    #[schema(minimum = 0, maximum = 100)]
    pub engagement_score: Option<i32>,
    /// Computed by lead scoring, fit and engagement blended (read-only: a value given is
    /// refused).
    #[schema(minimum = 0, maximum = 100)]
    pub total_score: Option<i32>,
    /// Stored as given for now; checked against custom field definitions once they exist.
    #[schema(value_type = Option<Object>)]
    pub custom_fields: Option<Map<String, Value>>,
}
}

/// The plain text fields of a lead: API name and value. One list, so storage and audit cannot
/// forget one.
pub const TEXT_FIELDS: &[&str] = &[
    "first_name",
    "last_name",
    "title",
    "phone",
    "mobile",
    "company_name",
    "website",
    "industry",
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
    "status_reason",
    "whatsapp_consent_source",
];

/// A valid lead: every value checked, blanks turned into `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadData {
    /// `(field, value)` for each of [`TEXT_FIELDS`], in that order.
    pub text: Vec<(&'static str, Option<String>)>,
    pub email: Option<Email>,
    pub employee_count: Option<i64>,
    pub annual_revenue: Option<Money>,
    pub status: LeadStatus,
    pub owner_id: Option<UserId>,
    pub whatsapp_consent: bool,
    pub tags: Vec<String>,
    /// The scores, computed by the store as the lead is written (0 until then).
    pub fit_score: i32,
    pub engagement_score: i32,
    pub total_score: i32,
    /// The BANT and MEDDICC statuses and typed values (the notes are in `text`).
    pub checklist: Checklist,
    pub custom_fields: Map<String, Value>,
}

impl LeadData {
    /// The lead's fields as a client would send them (text, e-mail, numbers, money as a decimal
    /// string, status, tags, scores, custom fields): what assignment rules read of a lead
    /// before it is saved.
    pub fn fields(&self) -> Map<String, Value> {
        let mut map: Map<String, Value> = self
            .text
            .iter()
            .map(|(field, value)| ((*field).to_owned(), Value::from(value.clone())))
            .collect();
        map.insert(
            "email".into(),
            Value::from(self.email.as_ref().map(|e| e.as_str().to_owned())),
        );
        map.insert("employee_count".into(), Value::from(self.employee_count));
        map.insert(
            "annual_revenue".into(),
            Value::from(self.annual_revenue.as_ref().map(Money::amount)),
        );
        map.insert(
            "annual_revenue_currency".into(),
            Value::from(self.annual_revenue.as_ref().map(|m| m.currency.clone())),
        );
        map.insert("status".into(), Value::from(self.status.as_str()));
        map.insert(
            "whatsapp_consent".into(),
            Value::from(self.whatsapp_consent),
        );
        map.insert("tags".into(), Value::from(self.tags.clone()));
        map.insert("fit_score".into(), Value::from(self.fit_score));
        map.insert(
            "engagement_score".into(),
            Value::from(self.engagement_score),
        );
        map.insert("total_score".into(), Value::from(self.total_score));
        crate::checklist::insert_fields(&self.checklist, &mut map);
        map.insert(
            "custom_fields".into(),
            Value::Object(self.custom_fields.clone()),
        );
        map
    }
}

/// The highest fit, engagement or total score.
pub const SCORE_MAX: i32 = 100;

/// The scores lead scoring computes; a client cannot write them.
pub const SCORE_FIELDS: &[&str] = &["fit_score", "engagement_score", "total_score"];

/// Whether the text field `name` is filled in.
pub fn has_text(text: &[(&'static str, Option<String>)], name: &str) -> bool {
    text.iter().any(|(f, v)| *f == name && v.is_some())
}

fn clean(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

impl LeadInput {
    fn text(&self, field: &str) -> Option<&String> {
        match field {
            "first_name" => self.first_name.as_ref(),
            "last_name" => self.last_name.as_ref(),
            "title" => self.title.as_ref(),
            "phone" => self.phone.as_ref(),
            "mobile" => self.mobile.as_ref(),
            "company_name" => self.company_name.as_ref(),
            "website" => self.website.as_ref(),
            "industry" => self.industry.as_ref(),
            "street" => self.street.as_ref(),
            "city" => self.city.as_ref(),
            "region" => self.region.as_ref(),
            "postal_code" => self.postal_code.as_ref(),
            "country" => self.country.as_ref(),
            "source" => self.source.as_ref(),
            "utm_source" => self.utm_source.as_ref(),
            "utm_medium" => self.utm_medium.as_ref(),
            "utm_campaign" => self.utm_campaign.as_ref(),
            "utm_term" => self.utm_term.as_ref(),
            "utm_content" => self.utm_content.as_ref(),
            "budget" => self.budget.as_ref(),
            "authority" => self.authority.as_ref(),
            "need" => self.need.as_ref(),
            "timeline" => self.timeline.as_ref(),
            "metrics" => self.metrics.as_ref(),
            "economic_buyer" => self.economic_buyer.as_ref(),
            "decision_criteria" => self.decision_criteria.as_ref(),
            "decision_process" => self.decision_process.as_ref(),
            "identified_pain" => self.identified_pain.as_ref(),
            "champion" => self.champion.as_ref(),
            "competition" => self.competition.as_ref(),
            "status_reason" => self.status_reason.as_ref(),
            "whatsapp_consent_source" => self.whatsapp_consent_source.as_ref(),
            _ => None,
        }
    }

    /// Check every field, naming each invalid one.
    pub fn validate(self) -> Result<LeadData, FieldErrors> {
        let mut errors = FieldErrors::new();
        let checklist = crate::checklist::checklist_input!(self);
        let mut text = Vec::with_capacity(TEXT_FIELDS.len());
        for field in TEXT_FIELDS {
            let mut value = clean(self.text(field).cloned());
            if let Some(v) = &value {
                if v.chars().count() > MAX_TEXT {
                    errors.add(
                        field,
                        format!("is too long (at most {MAX_TEXT} characters)"),
                    );
                } else if *field == "website" {
                    value = errors.check(field, parse_url(v));
                } else if *field == "phone" || *field == "mobile" {
                    value = errors.check(field, parse_phone(v));
                }
            }
            text.push((*field, value));
        }
        if text
            .iter()
            .all(|(f, v)| !matches!(*f, "first_name" | "last_name" | "company_name") || v.is_none())
            && clean(self.email.clone()).is_none()
        {
            errors.add(
                "last_name",
                "a lead needs a name, a company name or an e-mail",
            );
        }
        let email = match clean(self.email) {
            Some(e) => errors.check("email", Email::parse(&e)),
            None => None,
        };
        let currency = match clean(self.annual_revenue_currency) {
            Some(c) => errors.check("annual_revenue_currency", parse_currency(&c)),
            None => None,
        };
        let annual_revenue = match clean(self.annual_revenue) {
            Some(amount) => match currency {
                Some(currency) => errors.check("annual_revenue", Money::parse(&amount, currency)),
                None => {
                    if !errors
                        .0
                        .iter()
                        .any(|e| e.field == "annual_revenue_currency")
                    {
                        errors.add("annual_revenue_currency", "is required with annual_revenue");
                    }
                    None
                }
            },
            None => None,
        };
        if self.employee_count.is_some_and(|n| n < 0) {
            errors.add("employee_count", "must not be negative");
        }
        for (field, given) in [
            ("fit_score", self.fit_score.is_some()),
            ("engagement_score", self.engagement_score.is_some()),
            ("total_score", self.total_score.is_some()),
        ] {
            if given {
                errors.add(
                    field,
                    "is computed by lead scoring and cannot be written \
                     (GET /api/v1/leads/{id}/score explains it)",
                );
            }
        }
        let status = match self.status.as_deref().map(str::trim) {
            None | Some("") => Some(LeadStatus::New),
            Some(s) => errors.check("status", s.parse::<LeadStatus>()),
        };
        let tags = crate::accounts::clean_tags(self.tags, &mut errors);
        let checklist = checklist.validate(&|name| has_text(&text, name), None, &mut errors);
        errors.into_result()?;
        Ok(LeadData {
            text,
            email,
            employee_count: self.employee_count,
            annual_revenue,
            status: status.unwrap_or(LeadStatus::New),
            owner_id: self.owner_id,
            whatsapp_consent: self.whatsapp_consent.unwrap_or(false),
            tags,
            fit_score: 0,
            engagement_score: 0,
            total_score: 0,
            checklist,
            custom_fields: self.custom_fields.unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_lead_needs_a_name_and_bad_values_are_named() {
        let err = LeadInput::default().validate().err();
        assert!(err.is_some_and(|e| e.0[0].field == "last_name"));
        let input = LeadInput {
            last_name: Some("Doe".into()),
            email: Some("nope".into()),
            website: Some("ftp:/x".into()),
            status: Some("won".into()),
            annual_revenue: Some("1.5".into()),
            annual_revenue_currency: Some("XYZ".into()),
            ..LeadInput::default()
        };
        let fields: Vec<String> = input
            .validate()
            .err()
            .map(|e| e.0.into_iter().map(|f| f.field).collect())
            .unwrap_or_default();
        assert_eq!(
            fields,
            ["website", "email", "annual_revenue_currency", "status"]
        );
    }

    #[test]
    fn every_qualification_field_is_a_stored_text_field() {
        for spec in LEAD_FIELDS {
            if let LeadField::Qualification(name) = spec.field {
                assert_eq!(name, spec.name);
                assert!(TEXT_FIELDS.contains(&name), "{name}");
            }
        }
    }

    #[test]
    fn scores_are_computed_and_a_client_cannot_write_them() {
        let bad = LeadInput {
            last_name: Some("x".into()),
            fit_score: Some(10),
            engagement_score: Some(0),
            ..LeadInput::default()
        };
        let fields: Vec<String> = bad
            .validate()
            .err()
            .map(|e| e.0.into_iter().map(|f| f.field).collect())
            .unwrap_or_default();
        assert_eq!(fields, ["fit_score", "engagement_score"]);
    }

    #[test]
    fn a_valid_lead_is_cleaned() {
        let data = LeadInput {
            first_name: Some("  Ann ".into()),
            title: Some("   ".into()),
            email: Some("Ann@Example.com".into()),
            annual_revenue: Some("12500.10".into()),
            annual_revenue_currency: Some("eur".into()),
            tags: Some(vec!["a".into(), "a".into(), "b".into()]),
            ..LeadInput::default()
        }
        .validate();
        let data = data.ok();
        assert_eq!(
            data.as_ref().map(|d| d.text[0].1.clone()),
            Some(Some("Ann".into()))
        );
        assert_eq!(data.as_ref().map(|d| d.text[2].1.clone()), Some(None));
        assert_eq!(
            data.as_ref()
                .and_then(|d| d.annual_revenue.as_ref())
                .map(|m| (m.micros, m.to_string())),
            Some((12_500_100_000, "12500.10".into()))
        );
        assert_eq!(data.map(|d| d.tags), Some(vec!["a".into(), "b".into()]));
    }
}
