//! Deals (opportunities): the contact roles on a deal, the list fields (what may be filtered and
//! sorted), and the input a client sends, validated once into [`DealData`]. Where a deal sits in a
//! pipeline, and what a stage sets on it, is checked by the store against the company's stages.

use crate::accounts::{MAX_TEXT, clean, clean_tags};
use crate::checklist::{Checklist, ELEMENTS, checklist_score};
use crate::choices::{choice_enum, spec};
use crate::ids::{AccountId, ContactId, PipelineId, StageId, UserId};
use crate::pipelines::{ForecastCategory, Probability};
use crate::query::{FieldKind, FieldSpec, Op, QueryError, SortKey};
use crate::validate::FieldErrors;
use crate::values::{Money, parse_currency};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{Map, Value};

choice_enum!(
    /// What a contact is to a deal.
    ContactRole {
        DecisionMaker => "decision_maker",
        EconomicBuyer => "economic_buyer",
        Champion => "champion",
        Influencer => "influencer",
        TechnicalBuyer => "technical_buyer",
        User => "user",
        Other => "other",
    }
);

/// The fields of a deal a list can filter or sort on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DealField {
    Name,
    OwnerId,
    AccountId,
    ContactId,
    PipelineId,
    StageId,
    ForecastCategory,
    /// Compared in micros; the query string gives a decimal amount ([`FieldKind::Money`]).
    Amount,
    /// `YYYY-MM-DD`, compared as text (which orders like the dates).
    CloseDate,
    Probability,
    Tags,
    CreatedAt,
    UpdatedAt,
    /// One of the figures the checklist computes ([`crate::checklist::COMPUTED_FIELDS`]).
    Checklist(&'static str),
    /// Computed by deal risk (`crate::risk`); empty for a closed deal.
    RiskScore,
}

/// Every list field of deals, in the order error messages list them.
pub const DEAL_FIELDS: &[FieldSpec<DealField>] = &[
    spec("name", DealField::Name, FieldKind::Text, &[Op::Eq], true),
    spec(
        "owner_id",
        DealField::OwnerId,
        FieldKind::Id,
        &[Op::Eq, Op::In],
        true,
    ),
    spec(
        "account_id",
        DealField::AccountId,
        FieldKind::Id,
        &[Op::Eq, Op::In, Op::Empty],
        true,
    ),
    spec(
        "contact_id",
        DealField::ContactId,
        FieldKind::Id,
        &[Op::Eq, Op::Empty],
        true,
    ),
    spec(
        "pipeline_id",
        DealField::PipelineId,
        FieldKind::Id,
        &[Op::Eq, Op::In],
        true,
    ),
    spec(
        "stage_id",
        DealField::StageId,
        FieldKind::Id,
        &[Op::Eq, Op::In],
        true,
    ),
    spec(
        "forecast_category",
        DealField::ForecastCategory,
        FieldKind::Choice(ForecastCategory::NAMES),
        &[Op::Eq, Op::In],
        true,
    ),
    spec(
        "amount",
        DealField::Amount,
        FieldKind::Money,
        &[Op::Gte, Op::Lte, Op::Empty],
        true,
    ),
    spec(
        "close_date",
        DealField::CloseDate,
        FieldKind::Text,
        &[Op::Gte, Op::Lte, Op::Empty],
        true,
    ),
    spec(
        "probability",
        DealField::Probability,
        FieldKind::Int,
        &[Op::Gte, Op::Lte],
        true,
    ),
    spec(
        "tags",
        DealField::Tags,
        FieldKind::Tags,
        &[Op::Contains],
        false,
    ),
    spec(
        "created_at",
        DealField::CreatedAt,
        FieldKind::Time,
        &[Op::Gte, Op::Lte],
        true,
    ),
    spec(
        "updated_at",
        DealField::UpdatedAt,
        FieldKind::Time,
        &[Op::Gte, Op::Lte],
        true,
    ),
    checklist_score("bant_score", DealField::Checklist("bant_score")),
    checklist_score(
        "meddicc_completeness",
        DealField::Checklist("meddicc_completeness"),
    ),
    checklist_score("meddicc_strength", DealField::Checklist("meddicc_strength")),
    spec(
        "risk_score",
        DealField::RiskScore,
        FieldKind::Int,
        &[Op::Gte, Op::Lte, Op::Empty],
        true,
    ),
];

/// Newest first.
pub const DEAL_DEFAULT_SORT: &[SortKey<DealField>] = &[SortKey {
    field: DealField::CreatedAt,
    descending: true,
}];

/// Rewrite the deal-specific filter values of a list query string into what the shared list
/// machinery compares: `close_date[gte|lte]` checked to be a `YYYY-MM-DD` date.
pub fn normalize_list_pairs(
    pairs: Vec<(String, String)>,
) -> Result<Vec<(String, String)>, QueryError> {
    pairs
        .into_iter()
        .map(|(key, value)| match key.as_str() {
            "close_date[gte]" | "close_date[lte]" => parse_date(&value)
                .map(|d| (key.clone(), d))
                .map_err(|e| QueryError(format!("{key}: {e}"))),
            _ => Ok((key, value)),
        })
        .collect()
}

/// A calendar date as `YYYY-MM-DD`.
pub fn parse_date(text: &str) -> Result<String, String> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d")
        .map(|d| d.format("%Y-%m-%d").to_string())
        .map_err(|_| "must be a date as YYYY-MM-DD".to_owned())
}

crate::checklist::with_checklist_fields! {
/// A deal as a client writes it (create, or the merged result of a patch). Left out:
/// `owner_id` means the caller, `pipeline_id` the company's default pipeline (or the pipeline of
/// `stage_id`), `stage_id` the pipeline's first stage, `probability` and `forecast_category`
/// the stage's, `currency` the company's.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DealInput {
    pub name: Option<String>,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub account_id: Option<AccountId>,
    /// The primary contact; must belong to `account_id` when both are given.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub contact_id: Option<ContactId>,
    /// A decimal string, e.g. `"12500.10"`; not negative.
    pub amount: Option<String>,
    /// ISO 4217 code; the company's currency when left out.
    pub currency: Option<String>,
    /// Expected close date, `YYYY-MM-DD`.
    pub close_date: Option<String>,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub owner_id: Option<UserId>,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub pipeline_id: Option<PipelineId>,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub stage_id: Option<StageId>,
    /// 0 to 100; set from the stage whenever the deal changes stage, unless sent with it.
    pub probability: Option<i64>,
    /// pipeline, best_case, commit, closed or omitted; set from the stage like `probability`.
    pub forecast_category: Option<String>,
    pub next_step: Option<String>,
    pub description: Option<String>,
    /// Why the deal was won or lost; the company may require it to close a deal.
    pub close_reason: Option<String>,
    pub tags: Option<Vec<String>>,
    /// Stored as given for now; checked against custom field definitions once they exist.
    #[schema(value_type = Option<Object>)]
    pub custom_fields: Option<Map<String, Value>>,
    /// Computed by deal risk (read-only: a value given is refused; `GET
    /// /api/v1/deals/{id}/risk` explains it).
    #[schema(minimum = 0, maximum = 100)]
    pub risk_score: Option<i32>,
}
}

/// A valid deal: every value checked, blanks turned into `None`. `None` for `pipeline_id`,
/// `stage_id`, `probability`, `forecast_category` and `currency` means "the default" (see
/// [`DealInput`]).
#[derive(Debug, Clone, PartialEq)]
pub struct DealData {
    pub name: String,
    pub account_id: Option<AccountId>,
    pub contact_id: Option<ContactId>,
    pub amount_micros: Option<i64>,
    pub currency: Option<String>,
    pub close_date: Option<String>,
    pub owner_id: Option<UserId>,
    pub pipeline_id: Option<PipelineId>,
    pub stage_id: Option<StageId>,
    pub probability: Option<i32>,
    pub forecast_category: Option<ForecastCategory>,
    pub next_step: Option<String>,
    pub description: Option<String>,
    pub close_reason: Option<String>,
    pub tags: Vec<String>,
    /// `(element, note)` for each BANT and MEDDICC element, in [`ELEMENTS`]' order.
    pub notes: Vec<(&'static str, Option<String>)>,
    /// The statuses and typed values.
    pub checklist: Checklist,
    pub custom_fields: Map<String, Value>,
}

fn long_text(field: &str, value: Option<String>, errors: &mut FieldErrors) -> Option<String> {
    let value = clean(value);
    if value.as_ref().is_some_and(|v| v.chars().count() > MAX_TEXT) {
        errors.add(
            field,
            format!("is too long (at most {MAX_TEXT} characters)"),
        );
    }
    value
}

impl DealInput {
    /// The note of the BANT or MEDDICC element `name`.
    fn note(&self, name: &str) -> Option<String> {
        match name {
            "budget" => self.budget.clone(),
            "authority" => self.authority.clone(),
            "need" => self.need.clone(),
            "timeline" => self.timeline.clone(),
            "metrics" => self.metrics.clone(),
            "economic_buyer" => self.economic_buyer.clone(),
            "decision_criteria" => self.decision_criteria.clone(),
            "decision_process" => self.decision_process.clone(),
            "identified_pain" => self.identified_pain.clone(),
            "champion" => self.champion.clone(),
            "competition" => self.competition.clone(),
            _ => None,
        }
    }

    /// Check every field, naming each invalid one.
    pub fn validate(self) -> Result<DealData, FieldErrors> {
        let mut errors = FieldErrors::new();
        let checklist = crate::checklist::checklist_input!(self);
        let notes: Vec<(&'static str, Option<String>)> = ELEMENTS
            .iter()
            .map(|e| (e.name, long_text(e.name, self.note(e.name), &mut errors)))
            .collect();
        let name = long_text("name", self.name, &mut errors);
        if name.is_none() {
            errors.add("name", "must not be empty");
        }
        let currency = match clean(self.currency) {
            Some(c) => errors.check("currency", parse_currency(&c)),
            None => None,
        };
        let amount_micros = match clean(self.amount) {
            Some(a) => match Money::parse(&a, String::new()) {
                Ok(m) if m.micros < 0 => {
                    errors.add("amount", "must not be negative");
                    None
                }
                Ok(m) => Some(m.micros),
                Err(e) => {
                    errors.add("amount", e);
                    None
                }
            },
            None => None,
        };
        let close_date = match clean(self.close_date) {
            Some(d) => errors.check("close_date", parse_date(&d)),
            None => None,
        };
        let probability = match self.probability {
            Some(p) => errors
                .check("probability", Probability::parse(p))
                .map(|p| i32::from(p.value())),
            None => None,
        };
        let forecast_category = match clean(self.forecast_category) {
            Some(c) => errors.check("forecast_category", c.parse::<ForecastCategory>()),
            None => None,
        };
        let next_step = long_text("next_step", self.next_step, &mut errors);
        let description = long_text("description", self.description, &mut errors);
        let close_reason = long_text("close_reason", self.close_reason, &mut errors);
        let tags = clean_tags(self.tags, &mut errors);
        // A budget without a currency is in the deal's: the one given, or (left empty here)
        // the company's, which the store fills in.
        let checklist = checklist.validate(
            &|name| crate::leads::has_text(&notes, name),
            Some(currency.as_deref().unwrap_or_default()),
            &mut errors,
        );
        if self.risk_score.is_some() {
            errors.add(
                "risk_score",
                "is computed by deal risk and cannot be written \
                 (GET /api/v1/deals/{id}/risk explains it)",
            );
        }
        errors.into_result()?;
        Ok(DealData {
            name: name.unwrap_or_default(),
            account_id: self.account_id,
            contact_id: self.contact_id,
            amount_micros,
            currency,
            close_date,
            owner_id: self.owner_id,
            pipeline_id: self.pipeline_id,
            stage_id: self.stage_id,
            probability,
            forecast_category,
            next_step,
            description,
            close_reason,
            tags,
            notes,
            checklist,
            custom_fields: self.custom_fields.unwrap_or_default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_are_named() {
        let input = DealInput {
            amount: Some("12.3.4".into()),
            currency: Some("EURO".into()),
            close_date: Some("2026-02-30".into()),
            probability: Some(101),
            forecast_category: Some("maybe".into()),
            ..DealInput::default()
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
                "currency",
                "amount",
                "close_date",
                "probability",
                "forecast_category"
            ]
        );
    }

    #[test]
    fn amount_filters_become_micros_and_dates_are_checked() {
        use crate::query::{Condition, FilterValue, ListQuery};
        let pairs = vec![("amount[gte]".to_owned(), "10.5".to_owned())];
        let query = ListQuery::parse(&pairs, DEAL_FIELDS, DEAL_DEFAULT_SORT).map_err(|e| e.0);
        assert_eq!(
            query.map(|q| q
                .filters
                .into_iter()
                .map(|f| f.condition)
                .collect::<Vec<_>>()),
            Ok(vec![Condition::Gte(FilterValue::Int(10_500_000))])
        );
        let lots = vec![("amount[lte]".to_owned(), "lots".to_owned())];
        assert!(ListQuery::parse(&lots, DEAL_FIELDS, DEAL_DEFAULT_SORT).is_err());
        let pairs = vec![("close_date[lte]".to_owned(), "2026-01-31".to_owned())];
        assert_eq!(
            normalize_list_pairs(pairs.clone()).map_err(|e| e.0),
            Ok(pairs)
        );
        assert!(normalize_list_pairs(vec![("close_date[gte]".into(), "soon".into())]).is_err());
    }

    #[test]
    fn roles_round_trip() {
        for role in ContactRole::NAMES {
            assert_eq!(role.parse::<ContactRole>().map(|r| r.as_str()), Ok(*role));
        }
        assert!("boss".parse::<ContactRole>().is_err());
    }
}
