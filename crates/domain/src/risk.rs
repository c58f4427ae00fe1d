//! Deal risk (issue 14 §4) and the buying committee's coverage (§5): a company's risk settings
//! and the pure arithmetic of a deal's risk score.
//!
//! A deal's risk (0–100) is the sum of the points of the factors that hold for it, each worth at
//! most its weight, clamped to 100, with a level (low, medium, high) from the settings' bounds
//! and a reason per factor that counted, so a user can see why a deal is at risk:
//!
//! - `stage_age`: days in the current stage against the pipeline's median for that stage (half
//!   the weight over the median, all of it over twice the median);
//! - `stale`: no activity for `stale_days` (14 by default);
//! - `close_date_passed`: the expected close date is behind us;
//! - `close_date_pushed`: the close date was moved later more than `max_close_date_pushes`
//!   times (2 by default);
//! - `amount_lowered`: the amount is below the highest it has had;
//! - `meddicc_missing`: the share of the seven MEDDICC elements not yet identified;
//! - `single_threaded`: one contact (or none) on the deal;
//! - `no_champion`: nobody on the deal has the champion role.
//!
//! The store gathers a deal's [`DealFacts`] and stores the result (`rivet_store::risk`); this
//! module only says what the number is and why.

use crate::choices::choice_enum;
use crate::deals::ContactRole;
use crate::validate::FieldErrors;
use crate::values::Money;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

choice_enum!(
    /// One reason a deal can be at risk.
    RiskFactor {
        StageAge => "stage_age",
        Stale => "stale",
        CloseDatePassed => "close_date_passed",
        CloseDatePushed => "close_date_pushed",
        AmountLowered => "amount_lowered",
        MeddiccMissing => "meddicc_missing",
        SingleThreaded => "single_threaded",
        NoChampion => "no_champion",
    }
);

choice_enum!(
    /// How much risk a score means.
    RiskLevel {
        Low => "low",
        Medium => "medium",
        High => "high",
    }
);

impl RiskFactor {
    /// What a user reads for the factor in the settings.
    pub fn label(self) -> &'static str {
        match self {
            Self::StageAge => "Long in the current stage",
            Self::Stale => "No recent activity",
            Self::CloseDatePassed => "Close date passed",
            Self::CloseDatePushed => "Close date pushed repeatedly",
            Self::AmountLowered => "Amount lowered",
            Self::MeddiccMissing => "MEDDICC elements missing",
            Self::SingleThreaded => "Single-threaded (one contact)",
            Self::NoChampion => "No champion",
        }
    }

    /// The weight a new company starts with (the defaults add up to 100).
    pub fn default_weight(self) -> i32 {
        match self {
            Self::StageAge => 15,
            Self::Stale => 20,
            Self::CloseDatePassed => 15,
            Self::CloseDatePushed => 10,
            Self::AmountLowered => 10,
            Self::MeddiccMissing => 10,
            Self::SingleThreaded => 10,
            Self::NoChampion => 10,
        }
    }
}

/// The roles a full buying committee has (`other` is no seat of its own).
pub const COMMITTEE: &[ContactRole] = &[
    ContactRole::DecisionMaker,
    ContactRole::EconomicBuyer,
    ContactRole::Champion,
    ContactRole::Influencer,
    ContactRole::TechnicalBuyer,
    ContactRole::User,
];

/// The committee roles nobody on the deal has, in [`COMMITTEE`] order.
pub fn missing_roles(present: &[ContactRole]) -> Vec<ContactRole> {
    COMMITTEE
        .iter()
        .copied()
        .filter(|r| !present.contains(r))
        .collect()
}

/// The MEDDICC elements of the checklist ([`crate::checklist::ELEMENTS`]).
fn meddicc() -> impl Iterator<Item = &'static crate::checklist::Element> {
    crate::checklist::ELEMENTS
        .iter()
        .filter(|e| e.framework == crate::checklist::Framework::Meddicc)
}

/// How many MEDDICC elements a deal (its API JSON) has not identified: an element whose
/// status (`metrics_status`, …) is absent, null or `unknown`. `None` when the deal carries no
/// MEDDICC status at all: the factor then says nothing.
pub fn meddicc_missing(deal: &Value) -> Option<u8> {
    let statuses: Vec<Option<&str>> = meddicc()
        .map(|e| deal.get(e.status_field).map(|v| v.as_str().unwrap_or("")))
        .collect();
    if statuses.iter().all(Option::is_none) {
        return None;
    }
    let missing = statuses
        .iter()
        .filter(|s| matches!(s, None | Some("" | "unknown")))
        .count();
    u8::try_from(missing).ok()
}

/// Bounds of the settings.
pub const MAX_WEIGHT_SUM: i64 = 100;
pub const STALE_DAYS: (i64, i64) = (1, 365);
pub const MAX_PUSHES: (i64, i64) = (0, 50);
pub const STAGE_DAYS: (i64, i64) = (1, 3650);
/// Fewest deals that must have left a stage before its median counts; below it the settings'
/// `default_stage_days` stands in.
pub const MIN_STAGE_SAMPLES: usize = 3;

/// One factor as a client writes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FactorInput {
    /// Whether the factor counts (true by default).
    pub enabled: Option<bool>,
    /// The most points it adds (0 to 100).
    pub weight: Option<i64>,
}

/// A company's risk settings as a client writes them (`PUT /api/v1/risk/settings`). A part left
/// out takes its default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RiskInput {
    /// Per factor (stage_age, stale, close_date_passed, close_date_pushed, amount_lowered,
    /// meddicc_missing, single_threaded, no_champion): `{enabled, weight}`; a factor left out
    /// keeps its default. The weights of the enabled factors add up to 100 at most.
    #[schema(value_type = Option<Object>)]
    pub factors: Option<BTreeMap<String, FactorInput>>,
    /// Days without activity after which a deal is stale (1 to 365; 14 by default).
    pub stale_days: Option<i64>,
    /// Pushes of the close date a deal may take before it counts (0 to 50; 2 by default).
    pub max_close_date_pushes: Option<i64>,
    /// The days a stage is expected to take while too few deals have left it to know its
    /// median (1 to 3650; 30 by default).
    pub default_stage_days: Option<i64>,
    /// Scores from this one on are medium (1 to 100; 30 by default)…
    pub medium_from: Option<i64>,
    /// …and from this one on high (above medium_from; 60 by default).
    pub high_from: Option<i64>,
}

/// One factor's setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FactorSetting {
    pub factor: RiskFactor,
    pub enabled: bool,
    pub weight: i32,
}

/// Valid risk settings.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskConfig {
    /// Every factor, in [`RiskFactor::ALL`] order.
    pub factors: Vec<FactorSetting>,
    pub stale_days: i32,
    pub max_close_date_pushes: i32,
    pub default_stage_days: i32,
    pub medium_from: i32,
    pub high_from: i32,
}

impl Default for RiskConfig {
    fn default() -> Self {
        Self {
            factors: RiskFactor::ALL
                .iter()
                .map(|&factor| FactorSetting {
                    factor,
                    enabled: true,
                    weight: factor.default_weight(),
                })
                .collect(),
            stale_days: 14,
            max_close_date_pushes: 2,
            default_stage_days: 30,
            medium_from: 30,
            high_from: 60,
        }
    }
}

fn bounded(
    value: Option<i64>,
    (low, high): (i64, i64),
    default: i32,
    at: &str,
    errors: &mut FieldErrors,
) -> i32 {
    match value {
        None => default,
        Some(v) if (low..=high).contains(&v) => i32::try_from(v).unwrap_or(default),
        Some(_) => {
            errors.add(at, format!("must be between {low} and {high}"));
            default
        }
    }
}

impl RiskInput {
    /// Check every part, naming each mistake by its place (`factors.stale.weight`).
    pub fn validate(self) -> Result<RiskConfig, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut config = RiskConfig::default();
        for (name, input) in self.factors.unwrap_or_default() {
            let Ok(factor) = name.parse::<RiskFactor>() else {
                errors.add(
                    &format!("factors.{name}"),
                    format!(
                        "is no risk factor (one of: {})",
                        RiskFactor::NAMES.join(", ")
                    ),
                );
                continue;
            };
            if let Some(setting) = config.factors.iter_mut().find(|s| s.factor == factor) {
                setting.weight = bounded(
                    input.weight,
                    (0, 100),
                    setting.weight,
                    &format!("factors.{name}.weight"),
                    &mut errors,
                );
                setting.enabled = input.enabled.unwrap_or(true);
            }
        }
        let sum: i64 = config
            .factors
            .iter()
            .filter(|s| s.enabled)
            .map(|s| i64::from(s.weight))
            .sum();
        if sum > MAX_WEIGHT_SUM {
            errors.add(
                "factors",
                format!("the enabled factors' weights add up to {sum}; at most {MAX_WEIGHT_SUM}"),
            );
        }
        config.stale_days = bounded(
            self.stale_days,
            STALE_DAYS,
            config.stale_days,
            "stale_days",
            &mut errors,
        );
        config.max_close_date_pushes = bounded(
            self.max_close_date_pushes,
            MAX_PUSHES,
            config.max_close_date_pushes,
            "max_close_date_pushes",
            &mut errors,
        );
        config.default_stage_days = bounded(
            self.default_stage_days,
            STAGE_DAYS,
            config.default_stage_days,
            "default_stage_days",
            &mut errors,
        );
        config.medium_from = bounded(
            self.medium_from,
            (1, 100),
            config.medium_from,
            "medium_from",
            &mut errors,
        );
        config.high_from = bounded(
            self.high_from,
            (1, 100),
            config.high_from,
            "high_from",
            &mut errors,
        );
        if config.high_from <= config.medium_from {
            errors.add("high_from", "must be above medium_from");
        }
        errors.into_result()?;
        Ok(config)
    }
}

/// What a deal is now, as far as its risk goes.
#[derive(Debug, Clone, PartialEq)]
pub struct DealFacts {
    pub now: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    /// The current stage's name and when the deal entered it.
    pub stage_name: String,
    pub stage_entered_at: DateTime<Utc>,
    /// The median days deals of the pipeline spent in this stage, and how many deals it is
    /// of; `None` while fewer than [`MIN_STAGE_SAMPLES`] have left it.
    pub stage_median_days: Option<(f64, usize)>,
    /// The newest activity logged on the deal that has happened.
    pub last_activity_at: Option<DateTime<Utc>>,
    pub close_date: Option<NaiveDate>,
    /// How often the close date was moved later.
    pub close_date_pushes: i32,
    /// Micros, with the deal's currency.
    pub amount_micros: Option<i64>,
    pub highest_amount_micros: Option<i64>,
    pub currency: String,
    /// MEDDICC elements not identified (of 7); `None`: not known.
    pub meddicc_missing: Option<u8>,
    /// Distinct contacts on the deal (the primary contact and those with a role).
    pub contacts: usize,
    /// The roles contacts have on the deal.
    pub roles: Vec<ContactRole>,
}

/// One factor that counted, with its points and why.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RiskReason {
    pub factor: RiskFactor,
    pub points: i32,
    pub message: String,
}

/// A deal's risk.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Risk {
    /// 0 to 100.
    pub score: i32,
    pub level: RiskLevel,
    /// The factors that counted, most points first.
    pub reasons: Vec<RiskReason>,
}

fn days(from: DateTime<Utc>, to: DateTime<Utc>) -> i64 {
    (to - from).num_days().max(0)
}

fn plural(n: i64, one: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {one}s")
    }
}

fn money(micros: i64, currency: &str) -> String {
    let amount = Money {
        micros,
        currency: String::new(),
    }
    .amount();
    if currency.is_empty() {
        amount
    } else {
        format!("{amount} {currency}")
    }
}

/// Half of `weight`, rounded up (a factor half met is worth something).
fn half(weight: i32) -> i32 {
    (weight + 1) / 2
}

impl RiskConfig {
    /// The level of a score.
    pub fn level(&self, score: i32) -> RiskLevel {
        if score >= self.high_from {
            RiskLevel::High
        } else if score >= self.medium_from {
            RiskLevel::Medium
        } else {
            RiskLevel::Low
        }
    }

    /// The points and message of one factor for `facts`, if it counts.
    fn factor(&self, factor: RiskFactor, weight: i32, facts: &DealFacts) -> Option<(i32, String)> {
        let today = facts.now.date_naive();
        match factor {
            RiskFactor::StageAge => {
                let in_stage = days(facts.stage_entered_at, facts.now);
                let (median, of) = match facts.stage_median_days {
                    Some((m, n)) => (
                        m,
                        format!("the pipeline's median of {m:.0} days ({n} deals)"),
                    ),
                    None => {
                        let d = f64::from(self.default_stage_days);
                        (
                            d,
                            format!(
                                "the expected {d:.0} days (too few deals have left this stage \
                                 to know its median)"
                            ),
                        )
                    }
                };
                let ratio = in_stage as f64 / median.max(1.0);
                let stage = &facts.stage_name;
                let stayed = plural(in_stage, "day");
                if ratio > 2.0 {
                    Some((weight, format!("{stayed} in {stage}, more than twice {of}")))
                } else if ratio > 1.0 {
                    Some((half(weight), format!("{stayed} in {stage}, over {of}")))
                } else {
                    None
                }
            }
            RiskFactor::Stale => {
                let (since, what) = match facts.last_activity_at {
                    Some(at) => (days(at, facts.now), "no activity for"),
                    None => (
                        days(facts.created_at, facts.now),
                        "no activity logged since the deal was created",
                    ),
                };
                (since >= i64::from(self.stale_days)).then(|| {
                    (
                        weight,
                        match facts.last_activity_at {
                            Some(_) => format!("{what} {}", plural(since, "day")),
                            None => format!("{what}, {} ago", plural(since, "day")),
                        },
                    )
                })
            }
            RiskFactor::CloseDatePassed => {
                let close = facts.close_date?;
                (close < today).then(|| {
                    let ago = (today - close).num_days();
                    (
                        weight,
                        format!("the close date {close} passed {} ago", plural(ago, "day")),
                    )
                })
            }
            RiskFactor::CloseDatePushed => (facts.close_date_pushes > self.max_close_date_pushes)
                .then(|| {
                    (
                        weight,
                        format!(
                            "the close date was pushed back {} (more than {})",
                            plural(i64::from(facts.close_date_pushes), "time"),
                            self.max_close_date_pushes
                        ),
                    )
                }),
            RiskFactor::AmountLowered => {
                let (now, high) = (facts.amount_micros?, facts.highest_amount_micros?);
                (now < high).then(|| {
                    let percent = ((high - now) as f64 * 100.0 / high as f64).round();
                    (
                        weight,
                        format!(
                            "the amount was lowered from {} to {} (−{percent:.0}%)",
                            money(high, &facts.currency),
                            money(now, &facts.currency)
                        ),
                    )
                })
            }
            RiskFactor::MeddiccMissing => {
                let missing = i32::from(facts.meddicc_missing?);
                let total = meddicc().count() as i32;
                (missing > 0).then(|| {
                    let points = (weight * missing + total / 2) / total;
                    (
                        points,
                        format!("{missing} of {total} MEDDICC elements are not identified"),
                    )
                })
            }
            RiskFactor::SingleThreaded => match facts.contacts {
                0 => Some((weight, "no contact on the deal".to_owned())),
                1 => Some((
                    weight,
                    "a single contact: the deal hangs on one person".to_owned(),
                )),
                _ => None,
            },
            RiskFactor::NoChampion => (!facts.roles.contains(&ContactRole::Champion))
                .then(|| (weight, "nobody on the deal is its champion".to_owned())),
        }
    }

    /// The risk of a deal with `facts`.
    pub fn risk(&self, facts: &DealFacts) -> Risk {
        let mut reasons: Vec<RiskReason> = self
            .factors
            .iter()
            .filter(|s| s.enabled && s.weight > 0)
            .filter_map(|s| {
                let (points, message) = self.factor(s.factor, s.weight, facts)?;
                (points > 0).then_some(RiskReason {
                    factor: s.factor,
                    points,
                    message,
                })
            })
            .collect();
        reasons.sort_by_key(|r| std::cmp::Reverse(r.points));
        let score = reasons.iter().map(|r| r.points).sum::<i32>().clamp(0, 100);
        Risk {
            score,
            level: self.level(score),
            reasons,
        }
    }

    /// The settings as a client would write them.
    pub fn to_input(&self) -> RiskInput {
        RiskInput {
            factors: Some(
                self.factors
                    .iter()
                    .map(|s| {
                        (
                            s.factor.as_str().to_owned(),
                            FactorInput {
                                enabled: Some(s.enabled),
                                weight: Some(i64::from(s.weight)),
                            },
                        )
                    })
                    .collect(),
            ),
            stale_days: Some(i64::from(self.stale_days)),
            max_close_date_pushes: Some(i64::from(self.max_close_date_pushes)),
            default_stage_days: Some(i64::from(self.default_stage_days)),
            medium_from: Some(i64::from(self.medium_from)),
            high_from: Some(i64::from(self.high_from)),
        }
    }
}

/// The median of `values` (unsorted); `None` for none.
pub fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use chrono::{Duration, TimeZone};
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 10, 12, 0, 0).unwrap()
    }

    /// A healthy deal: fresh, active, a future close date, several contacts and a champion.
    fn healthy() -> DealFacts {
        DealFacts {
            now: now(),
            created_at: now() - Duration::days(3),
            stage_name: "Proposal".into(),
            stage_entered_at: now() - Duration::days(2),
            stage_median_days: Some((10.0, 8)),
            last_activity_at: Some(now() - Duration::days(1)),
            close_date: NaiveDate::from_ymd_opt(2026, 4, 30),
            close_date_pushes: 0,
            amount_micros: Some(10_000_000_000),
            highest_amount_micros: Some(10_000_000_000),
            currency: "EUR".into(),
            meddicc_missing: Some(0),
            contacts: 3,
            roles: vec![ContactRole::Champion, ContactRole::DecisionMaker],
        }
    }

    fn only(facts: &DealFacts) -> Vec<(RiskFactor, i32)> {
        RiskConfig::default()
            .risk(facts)
            .reasons
            .into_iter()
            .map(|r| (r.factor, r.points))
            .collect()
    }

    #[test]
    fn defaults_add_up_to_100_and_a_healthy_deal_is_low() {
        let config = RiskConfig::default();
        assert_eq!(config.factors.iter().map(|s| s.weight).sum::<i32>(), 100);
        assert_eq!(RiskInput::default().validate(), Ok(config.clone()));
        assert_eq!(config.to_input().validate(), Ok(config.clone()));
        let risk = config.risk(&healthy());
        assert_eq!((risk.score, risk.level), (0, RiskLevel::Low));
        assert!(risk.reasons.is_empty());
    }

    #[test]
    fn stage_age_counts_half_over_the_median_and_all_over_twice_it() {
        let mut facts = healthy();
        facts.stage_entered_at = now() - Duration::days(15);
        assert_eq!(only(&facts), [(RiskFactor::StageAge, 8)]);
        facts.stage_entered_at = now() - Duration::days(25);
        let risk = RiskConfig::default().risk(&facts);
        assert_eq!(risk.score, 15);
        assert!(
            risk.reasons[0].message.contains("25 days in Proposal"),
            "{:?}",
            risk.reasons
        );
        // Without a median, the expected days stand in.
        facts.stage_median_days = None;
        assert_eq!(only(&facts), []);
        facts.stage_entered_at = now() - Duration::days(61);
        assert_eq!(only(&facts), [(RiskFactor::StageAge, 15)]);
    }

    #[test]
    fn stale_after_the_configured_days_without_activity() {
        let mut facts = healthy();
        facts.last_activity_at = Some(now() - Duration::days(20));
        let risk = RiskConfig::default().risk(&facts);
        assert_eq!(risk.reasons[0].factor, RiskFactor::Stale);
        assert_eq!(risk.reasons[0].message, "no activity for 20 days");
        facts.last_activity_at = Some(now() - Duration::days(13));
        assert_eq!(only(&facts), []);
        // Never any activity: counted from the creation.
        facts.last_activity_at = None;
        facts.created_at = now() - Duration::days(30);
        facts.stage_entered_at = now() - Duration::days(1);
        assert_eq!(only(&facts), [(RiskFactor::Stale, 20)]);
    }

    #[test]
    fn close_date_passed_and_pushed() {
        let mut facts = healthy();
        facts.close_date = NaiveDate::from_ymd_opt(2026, 3, 1);
        assert_eq!(only(&facts), [(RiskFactor::CloseDatePassed, 15)]);
        let mut facts = healthy();
        facts.close_date_pushes = 2;
        assert_eq!(only(&facts), []);
        facts.close_date_pushes = 3;
        let risk = RiskConfig::default().risk(&facts);
        assert_eq!(risk.reasons[0].factor, RiskFactor::CloseDatePushed);
        assert!(risk.reasons[0].message.contains("3 times"));
    }

    #[test]
    fn amount_lowered_from_its_highest() {
        let mut facts = healthy();
        facts.amount_micros = Some(7_500_000_000);
        let risk = RiskConfig::default().risk(&facts);
        assert_eq!(risk.reasons.len(), 1);
        assert_eq!(
            risk.reasons[0].message,
            "the amount was lowered from 10000.00 EUR to 7500.00 EUR (−25%)"
        );
    }

    #[test]
    fn meddicc_counts_the_share_missing() {
        let mut facts = healthy();
        facts.meddicc_missing = Some(7);
        assert_eq!(only(&facts), [(RiskFactor::MeddiccMissing, 10)]);
        facts.meddicc_missing = Some(3);
        assert_eq!(only(&facts), [(RiskFactor::MeddiccMissing, 4)]);
        facts.meddicc_missing = None;
        assert_eq!(only(&facts), []);
        assert_eq!(meddicc_missing(&json!({"name": "x"})), None);
        assert_eq!(
            meddicc_missing(&json!({"metrics_status": "confirmed", "champion_status": "unknown"})),
            Some(6)
        );
    }

    #[test]
    fn single_threaded_and_no_champion() {
        let mut facts = healthy();
        facts.contacts = 1;
        assert_eq!(only(&facts), [(RiskFactor::SingleThreaded, 10)]);
        let mut facts = healthy();
        facts.roles = vec![ContactRole::DecisionMaker];
        assert_eq!(only(&facts), [(RiskFactor::NoChampion, 10)]);
        assert_eq!(
            missing_roles(&facts.roles),
            [
                ContactRole::EconomicBuyer,
                ContactRole::Champion,
                ContactRole::Influencer,
                ContactRole::TechnicalBuyer,
                ContactRole::User
            ]
        );
    }

    #[test]
    fn everything_wrong_is_high_and_clamped() {
        let facts = DealFacts {
            last_activity_at: None,
            created_at: now() - Duration::days(90),
            stage_entered_at: now() - Duration::days(90),
            close_date: NaiveDate::from_ymd_opt(2026, 1, 1),
            close_date_pushes: 5,
            amount_micros: Some(1),
            meddicc_missing: Some(7),
            contacts: 0,
            roles: Vec::new(),
            ..healthy()
        };
        let risk = RiskConfig::default().risk(&facts);
        assert_eq!((risk.score, risk.level), (100, RiskLevel::High));
        assert_eq!(risk.reasons.len(), RiskFactor::ALL.len());
        assert_eq!(
            risk.reasons[0].factor,
            RiskFactor::Stale,
            "most points first"
        );
    }

    #[test]
    fn disabled_factors_and_weights_and_levels() {
        let mut facts = healthy();
        facts.roles.clear();
        let config = RiskInput {
            factors: Some(BTreeMap::from([(
                "no_champion".to_owned(),
                FactorInput {
                    enabled: Some(false),
                    weight: None,
                },
            )])),
            ..RiskInput::default()
        }
        .validate()
        .unwrap();
        assert_eq!(config.risk(&facts).score, 0);
        let config = RiskInput {
            factors: Some(BTreeMap::from([(
                "no_champion".to_owned(),
                FactorInput {
                    enabled: None,
                    weight: Some(0),
                },
            )])),
            medium_from: Some(5),
            high_from: Some(8),
            ..RiskInput::default()
        }
        .validate()
        .unwrap();
        assert_eq!(config.risk(&facts).score, 0);
        assert_eq!(config.level(5), RiskLevel::Medium);
        assert_eq!(config.level(8), RiskLevel::High);
        assert_eq!(config.level(4), RiskLevel::Low);
    }

    #[test]
    fn bad_settings_are_named() {
        let input = RiskInput {
            factors: Some(BTreeMap::from([
                (
                    "stale".to_owned(),
                    FactorInput {
                        enabled: None,
                        weight: Some(101),
                    },
                ),
                ("weather".to_owned(), FactorInput::default()),
                (
                    "stage_age".to_owned(),
                    FactorInput {
                        enabled: None,
                        weight: Some(60),
                    },
                ),
            ])),
            stale_days: Some(0),
            max_close_date_pushes: Some(-1),
            default_stage_days: Some(0),
            medium_from: Some(70),
            high_from: Some(50),
        };
        let fields: Vec<String> = input
            .validate()
            .err()
            .map(|e| e.0.into_iter().map(|f| f.field).collect())
            .unwrap_or_default();
        assert_eq!(
            fields,
            [
                "factors.stale.weight",
                "factors.weather",
                "factors",
                "stale_days",
                "max_close_date_pushes",
                "default_stage_days",
                "high_from"
            ]
        );
    }

    #[test]
    fn medians() {
        assert_eq!(median(&mut []), None);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }
}
