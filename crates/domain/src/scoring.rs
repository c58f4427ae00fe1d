//! Lead scoring (issue 14 §1): a company's scoring settings and the pure arithmetic of a score.
//!
//! - **Fit** (0–100) is the sum of the points of the fit rules a lead's fields match, clamped:
//!   a rule is conditions (the assignment rules' conditions, all must hold) and points (−100 to
//!   100), e.g. "industry in (software, fintech) +15", "work e-mail +25", "free mail −10".
//! - **Engagement** (0–100) is the sum of the lead's engagement signals (a meeting held, a call
//!   connected, an e-mail replied, a form submitted, …), each worth its configured weight halved
//!   for every `half_life_days` since it happened, rounded and clamped.
//! - **Total** is the two blended by `fit_weight` (the share of fit, in percent; 50 by default,
//!   the plain mean), rounded half up, and the **grade** follows from it (A ≥ 75, B ≥ 50,
//!   C ≥ 25, else D).
//! - **Thresholds** (MQL at 50, SQL at 75 by default) fire once per upward crossing of the
//!   total: a task for the owner, a status change and an in-app notification for the owner
//!   where the threshold says so, and always a `lead.score_threshold_crossed` event (webhooks
//!   notify from it).
//!
//! The store computes fit when a lead is written and engagement when its events are consumed
//! (`rivet_store::scoring`); this module only says what the numbers are and why.

use crate::assignment::{AssignmentEntity, Condition, ConditionInput, parse_conditions};
use crate::leads::LeadStatus;
use crate::validate::{FieldErrors, parse_name};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One kind of engagement a lead can show, its label and its default weight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signal {
    pub name: &'static str,
    pub label: &'static str,
    pub weight: i32,
}

const fn signal(name: &'static str, label: &'static str, weight: i32) -> Signal {
    Signal {
        name,
        label,
        weight,
    }
}

/// Every engagement signal, with the weight a new company starts with.
pub const SIGNALS: &[Signal] = &[
    signal("meeting_held", "Meeting held", 20),
    signal("call_connected", "Call connected", 10),
    signal("email_replied", "E-mail replied", 15),
    signal("form_submitted", "Form submitted", 10),
    signal("whatsapp_replied", "WhatsApp or SMS reply", 10),
    signal("link_clicked", "Link clicked", 5),
    signal("email_opened", "E-mail opened", 2),
    signal("website_visit", "Website visit", 2),
];

/// The signal named `name`.
pub fn signal_named(name: &str) -> Option<&'static Signal> {
    SIGNALS.iter().find(|s| s.name == name)
}

/// The event types that are not a record's: a signal reported for a lead (by the ingestion
/// API or a web form) and a threshold crossed.
pub const ENGAGED_EVENT: &str = "lead.engaged";
pub const THRESHOLD_EVENT: &str = "lead.score_threshold_crossed";

/// Call outcomes that mean nobody answered (compared folded, `_` and `-` as blanks).
const NOT_CONNECTED: &[&str] = &[
    "no answer",
    "noanswer",
    "voicemail",
    "left voicemail",
    "busy",
    "failed",
    "missed",
    "not connected",
    "wrong number",
    "unreachable",
];

/// The engagement signal an activity is, if any: a meeting (not cancelled) is a meeting held, a
/// call whose outcome does not say nobody answered is a call connected, an inbound e-mail is a
/// reply, an inbound WhatsApp message or SMS a reply there. Notes and outbound messages say
/// nothing of the lead's interest.
pub fn signal_of_activity(
    kind: &str,
    direction: Option<&str>,
    outcome: Option<&str>,
) -> Option<&'static str> {
    let outcome = outcome
        .map(|o| o.trim().to_lowercase().replace(['_', '-'], " "))
        .unwrap_or_default();
    let inbound = direction == Some("inbound");
    match kind {
        "meeting" if !outcome.contains("cancel") && !outcome.contains("no show") => {
            Some("meeting_held")
        }
        "call" if !NOT_CONNECTED.contains(&outcome.as_str()) => Some("call_connected"),
        "email" if inbound => Some("email_replied"),
        "whatsapp" | "sms" if inbound => Some("whatsapp_replied"),
        _ => None,
    }
}

/// Most fit rules and thresholds a company keeps.
pub const MAX_FIT_RULES: usize = 100;
pub const MAX_THRESHOLDS: usize = 20;
/// The longest rule or threshold name and task title.
pub const MAX_NAME: usize = 200;
/// Points of a rule and weights of a signal lie within ±this.
pub const MAX_POINTS: i64 = 100;
pub const MAX_HALF_LIFE_DAYS: i64 = 3650;
/// Longest `detail` an engagement signal carries (a page address, a campaign name).
pub const MAX_DETAIL: usize = 500;
/// Fields a fit rule cannot test: the scores it makes.
const SCORE_FIELDS: &[&str] = &["fit_score", "engagement_score", "total_score"];

/// A fit rule as a client writes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FitRuleInput {
    pub name: Option<String>,
    /// All must hold (the assignment rules' conditions: equals, in, contains, range,
    /// territory, source, filled, free_email, work_email). None: every lead.
    pub conditions: Option<Vec<ConditionInput>>,
    /// −100 to 100.
    pub points: Option<i64>,
}

/// A threshold as a client writes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ThresholdInput {
    /// E.g. `MQL`.
    pub name: Option<String>,
    /// The total score (1–100) whose upward crossing fires the threshold.
    pub score: Option<i64>,
    /// A task with this title for the lead's owner, due the next day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_task: Option<String>,
    /// The lead's new status (contacted, nurturing, qualified or unqualified; `converted` is
    /// set only by conversion). A lead already further along keeps its status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set_status: Option<String>,
    /// Notify the lead's owner in the app ("Lead X reached MQL (score 52)", linking to the
    /// lead). Left out: false; the default MQL and SQL thresholds of a new company notify.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify_owner: Option<bool>,
}

/// A company's scoring settings as a client writes them (`PUT /api/v1/scoring/settings`). A
/// part left out takes its default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScoringInput {
    pub fit_rules: Option<Vec<FitRuleInput>>,
    /// Points per signal at full strength (−100 to 100); a signal left out keeps its default.
    /// Signals: meeting_held, call_connected, email_replied, form_submitted, whatsapp_replied,
    /// link_clicked, email_opened, website_visit.
    #[schema(value_type = Option<Object>)]
    pub engagement_weights: Option<BTreeMap<String, i64>>,
    /// After this many days a signal counts half (1 to 3650; 30 by default).
    pub half_life_days: Option<i64>,
    /// The share of fit in the total, in percent (0 to 100; 50 by default, the mean).
    pub fit_weight: Option<i64>,
    pub thresholds: Option<Vec<ThresholdInput>>,
    /// Fewest labelled leads (converted or unqualified) the conversion model trains on; below
    /// it the rule score stands alone (20 to 100,000; 200 by default).
    pub model_min_labelled: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FitRule {
    pub name: String,
    pub conditions: Vec<Condition>,
    pub points: i32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    pub name: String,
    pub score: i32,
    pub create_task: Option<String>,
    pub set_status: Option<LeadStatus>,
    /// The lead's owner gets an in-app notification.
    pub notify_owner: bool,
}

/// Valid scoring settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoringConfig {
    pub fit_rules: Vec<FitRule>,
    /// Every signal's weight.
    pub weights: BTreeMap<&'static str, i32>,
    pub half_life_days: i32,
    pub fit_weight: i32,
    /// Lowest score first.
    pub thresholds: Vec<Threshold>,
    pub model_min_labelled: i32,
}

/// The fewest and most labelled leads a company may require before its model trains.
pub const MODEL_MIN_LABELLED: (i64, i64) = (20, 100_000);
const DEFAULT_MODEL_MIN_LABELLED: i64 = 200;

fn default_fit_rules() -> Vec<FitRuleInput> {
    let rule = |name: &str, condition: ConditionInput, points: i64| FitRuleInput {
        name: Some(name.to_owned()),
        conditions: Some(vec![condition]),
        points: Some(points),
    };
    let op = |op: &str| ConditionInput {
        op: op.to_owned(),
        ..ConditionInput::default()
    };
    let filled = |field: &str| ConditionInput {
        field: Some(field.to_owned()),
        ..op("filled")
    };
    vec![
        rule("Work e-mail", op("work_email"), 25),
        rule("Free mail address", op("free_email"), -10),
        rule("Job title known", filled("title"), 15),
        rule("Company known", filled("company_name"), 15),
        rule("Industry known", filled("industry"), 10),
        rule(
            "50 or more employees",
            ConditionInput {
                field: Some("employee_count".into()),
                gte: Some(Value::from(50)),
                ..op("range")
            },
            20,
        ),
        rule("Annual revenue known", filled("annual_revenue"), 15),
    ]
}

fn default_thresholds() -> Vec<ThresholdInput> {
    [("MQL", 50), ("SQL", 75)]
        .into_iter()
        .map(|(name, score)| ThresholdInput {
            name: Some(name.into()),
            score: Some(score),
            notify_owner: Some(true),
            ..ThresholdInput::default()
        })
        .collect()
}

impl Default for ScoringConfig {
    /// What a new company scores with: fit rules on what a lead tells of its company, the
    /// default signal weights, a 30-day half-life, fit and engagement counted alike, MQL at 50
    /// and SQL at 75.
    fn default() -> Self {
        let input = ScoringInput::default();
        match input.validate() {
            Ok(config) => config,
            // The defaults are valid (a test checks it); this arm is never taken.
            Err(_) => Self {
                fit_rules: Vec::new(),
                weights: SIGNALS.iter().map(|s| (s.name, s.weight)).collect(),
                half_life_days: 30,
                fit_weight: 50,
                thresholds: Vec::new(),
                model_min_labelled: DEFAULT_MODEL_MIN_LABELLED as i32,
            },
        }
    }
}

fn bounded(value: i64, low: i64, high: i64, at: &str, errors: &mut FieldErrors) -> Option<i32> {
    if (low..=high).contains(&value) {
        i32::try_from(value).ok()
    } else {
        errors.add(at, format!("must be between {low} and {high}"));
        None
    }
}

impl ScoringInput {
    /// Check every part, naming each mistake by its place (`fit_rules[2].points`).
    pub fn validate(self) -> Result<ScoringConfig, FieldErrors> {
        let mut errors = FieldErrors::new();
        let rules = self.fit_rules.unwrap_or_else(default_fit_rules);
        if rules.len() > MAX_FIT_RULES {
            errors.add("fit_rules", format!("at most {MAX_FIT_RULES} rules"));
        }
        let mut fit_rules = Vec::with_capacity(rules.len());
        for (i, rule) in rules.into_iter().enumerate() {
            let at = format!("fit_rules[{i}]");
            let name = match rule.name {
                Some(n) => errors.check(&format!("{at}.name"), parse_name(&n, MAX_NAME)),
                None => {
                    errors.add(&format!("{at}.name"), "is required");
                    None
                }
            };
            for (j, c) in rule.conditions.iter().flatten().enumerate() {
                if c.field
                    .as_deref()
                    .is_some_and(|f| SCORE_FIELDS.contains(&f))
                {
                    errors.add(
                        &format!("{at}.conditions[{j}].field"),
                        "a fit rule cannot test a score (scores are what the rules make)",
                    );
                }
            }
            let conditions = parse_conditions(
                AssignmentEntity::Leads,
                rule.conditions,
                &format!("{at}.conditions"),
                &mut errors,
            );
            let points = match rule.points {
                Some(p) => bounded(
                    p,
                    -MAX_POINTS,
                    MAX_POINTS,
                    &format!("{at}.points"),
                    &mut errors,
                ),
                None => {
                    errors.add(&format!("{at}.points"), "is required");
                    None
                }
            };
            if let (Some(name), Some(points)) = (name, points) {
                fit_rules.push(FitRule {
                    name,
                    conditions,
                    points,
                });
            }
        }
        let mut weights: BTreeMap<&'static str, i32> =
            SIGNALS.iter().map(|s| (s.name, s.weight)).collect();
        for (name, weight) in self.engagement_weights.unwrap_or_default() {
            let at = format!("engagement_weights.{name}");
            match signal_named(&name) {
                Some(s) => {
                    if let Some(w) = bounded(weight, -MAX_POINTS, MAX_POINTS, &at, &mut errors) {
                        weights.insert(s.name, w);
                    }
                }
                None => errors.add(
                    &at,
                    format!(
                        "unknown signal; signals are: {}",
                        SIGNALS
                            .iter()
                            .map(|s| s.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ),
            }
        }
        let half_life_days = bounded(
            self.half_life_days.unwrap_or(30),
            1,
            MAX_HALF_LIFE_DAYS,
            "half_life_days",
            &mut errors,
        );
        let fit_weight = bounded(
            self.fit_weight.unwrap_or(50),
            0,
            100,
            "fit_weight",
            &mut errors,
        );
        let inputs = self.thresholds.unwrap_or_else(default_thresholds);
        if inputs.len() > MAX_THRESHOLDS {
            errors.add("thresholds", format!("at most {MAX_THRESHOLDS} thresholds"));
        }
        let mut thresholds: Vec<Threshold> = Vec::with_capacity(inputs.len());
        for (i, t) in inputs.into_iter().enumerate() {
            let at = format!("thresholds[{i}]");
            let name = match t.name {
                Some(n) => errors.check(&format!("{at}.name"), parse_name(&n, MAX_NAME)),
                None => {
                    errors.add(&format!("{at}.name"), "is required");
                    None
                }
            };
            if let Some(n) = &name
                && thresholds.iter().any(|o| o.name.eq_ignore_ascii_case(n))
            {
                errors.add(&format!("{at}.name"), "is used by another threshold");
            }
            let score = match t.score {
                Some(s) => bounded(s, 1, 100, &format!("{at}.score"), &mut errors),
                None => {
                    errors.add(&format!("{at}.score"), "is required");
                    None
                }
            };
            let create_task = match t.create_task.map(|s| s.trim().to_owned()) {
                Some(title) if title.is_empty() => None,
                Some(title) => {
                    errors.check(&format!("{at}.create_task"), parse_name(&title, MAX_NAME))
                }
                None => None,
            };
            let set_status = match t.set_status.as_deref().map(str::trim) {
                None | Some("") => None,
                Some(s) => match s.parse::<LeadStatus>() {
                    Ok(LeadStatus::Converted | LeadStatus::New) => {
                        errors.add(
                            &format!("{at}.set_status"),
                            "must be contacted, nurturing, qualified or unqualified \
                             (converted is set only by converting the lead)",
                        );
                        None
                    }
                    Ok(status) => Some(status),
                    Err(e) => {
                        errors.add(&format!("{at}.set_status"), e);
                        None
                    }
                },
            };
            if let (Some(name), Some(score)) = (name, score) {
                thresholds.push(Threshold {
                    name,
                    score,
                    create_task,
                    set_status,
                    notify_owner: t.notify_owner.unwrap_or(false),
                });
            }
        }
        let model_min_labelled = bounded(
            self.model_min_labelled
                .unwrap_or(DEFAULT_MODEL_MIN_LABELLED),
            MODEL_MIN_LABELLED.0,
            MODEL_MIN_LABELLED.1,
            "model_min_labelled",
            &mut errors,
        );
        errors.into_result()?;
        thresholds.sort_by_key(|t| t.score);
        Ok(ScoringConfig {
            fit_rules,
            weights,
            half_life_days: half_life_days.unwrap_or(30),
            fit_weight: fit_weight.unwrap_or(50),
            thresholds,
            model_min_labelled: model_min_labelled.unwrap_or(DEFAULT_MODEL_MIN_LABELLED as i32),
        })
    }
}

/// One fit rule as a lead's breakdown shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct FitHit {
    pub rule: String,
    pub points: i32,
    /// Whether the lead matches it (only matched rules count).
    pub matched: bool,
}

/// A lead's grade by its total score.
pub fn grade(total: i32) -> &'static str {
    match total {
        75.. => "A",
        50..=74 => "B",
        25..=49 => "C",
        _ => "D",
    }
}

impl ScoringConfig {
    /// The settings as a client would write them (and as they are stored).
    pub fn to_input(&self) -> ScoringInput {
        ScoringInput {
            fit_rules: Some(
                self.fit_rules
                    .iter()
                    .map(|r| FitRuleInput {
                        name: Some(r.name.clone()),
                        conditions: Some(r.conditions.iter().map(Condition::to_input).collect()),
                        points: Some(i64::from(r.points)),
                    })
                    .collect(),
            ),
            engagement_weights: Some(
                self.weights
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), i64::from(*v)))
                    .collect(),
            ),
            half_life_days: Some(i64::from(self.half_life_days)),
            fit_weight: Some(i64::from(self.fit_weight)),
            thresholds: Some(
                self.thresholds
                    .iter()
                    .map(|t| ThresholdInput {
                        name: Some(t.name.clone()),
                        score: Some(i64::from(t.score)),
                        create_task: t.create_task.clone(),
                        set_status: t.set_status.map(|s| s.as_str().to_owned()),
                        notify_owner: Some(t.notify_owner),
                    })
                    .collect(),
            ),
            model_min_labelled: Some(i64::from(self.model_min_labelled)),
        }
    }

    /// The fit score of a lead whose fields (as a client writes them) are `fields`.
    pub fn fit(&self, fields: &Map<String, Value>) -> i32 {
        let sum: i32 = self
            .fit_rules
            .iter()
            .filter(|r| r.conditions.iter().all(|c| c.holds(fields)))
            .map(|r| r.points)
            .sum();
        sum.clamp(0, 100)
    }

    /// Every fit rule and whether `fields` match it.
    pub fn fit_breakdown(&self, fields: &Map<String, Value>) -> Vec<FitHit> {
        self.fit_rules
            .iter()
            .map(|r| FitHit {
                rule: r.name.clone(),
                points: r.points,
                matched: r.conditions.iter().all(|c| c.holds(fields)),
            })
            .collect()
    }

    /// What a signal that happened at `at` is worth at `now`: its weight halved per half-life
    /// elapsed (one from the future counts in full).
    pub fn signal_points(&self, signal: &str, at: DateTime<Utc>, now: DateTime<Utc>) -> f64 {
        let weight = f64::from(self.weights.get(signal).copied().unwrap_or(0));
        let age_days = ((now - at).num_seconds().max(0) as f64) / 86_400.0;
        weight * 0.5_f64.powf(age_days / f64::from(self.half_life_days.max(1)))
    }

    /// Signals older than this no longer move a score by a whole point (ten half-lives: a
    /// weight of at most 100 is worth under 0.1).
    pub fn horizon(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - chrono::Duration::days(i64::from(self.half_life_days.max(1)) * 10)
    }

    /// The engagement score of `signals` (name, when) at `now`.
    pub fn engagement<'a>(
        &self,
        signals: impl IntoIterator<Item = (&'a str, DateTime<Utc>)>,
        now: DateTime<Utc>,
    ) -> i32 {
        let sum: f64 = signals
            .into_iter()
            .map(|(s, at)| self.signal_points(s, at, now))
            .sum();
        clamp_score(sum)
    }

    /// The total of a fit and an engagement score, rounded half up.
    pub fn total(&self, fit: i32, engagement: i32) -> i32 {
        let w = self.fit_weight.clamp(0, 100);
        ((fit * w + engagement * (100 - w) + 50) / 100).clamp(0, 100)
    }

    /// The thresholds a total crossed upwards going from `before` (`None`: a new lead) to
    /// `after`, lowest first.
    pub fn crossed(&self, before: Option<i32>, after: i32) -> Vec<&Threshold> {
        let before = before.unwrap_or(0);
        self.thresholds
            .iter()
            .filter(|t| before < t.score && t.score <= after)
            .collect()
    }
}

/// A sum of points as a score: rounded and kept within 0–100.
fn clamp_score(sum: f64) -> i32 {
    if sum.is_nan() {
        return 0;
    }
    // Within i32 once clamped.
    sum.round().clamp(0.0, 100.0) as i32
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    fn at(days_ago: i64) -> DateTime<Utc> {
        now() - chrono::Duration::days(days_ago)
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
    }

    #[test]
    fn the_defaults_are_valid_and_round_trip() {
        let config = ScoringConfig::default();
        assert_eq!(config.fit_rules.len(), 7);
        assert_eq!(config.thresholds.len(), 2);
        assert_eq!(config.to_input().validate(), Ok(config));
    }

    #[test]
    fn fit_adds_the_points_of_matched_rules_within_0_and_100() {
        let config = ScoringConfig::default();
        let rich = fields(json!({
            "email": "ann@acme.io", "title": "CTO", "company_name": "Acme",
            "industry": "Software", "employee_count": 500, "annual_revenue": "1000000.00"
        }));
        assert_eq!(config.fit(&rich), 100);
        let thin = fields(json!({"email": "ann@gmail.com", "last_name": "Doe"}));
        // Only the free-mail rule: −10, clamped to 0.
        assert_eq!(config.fit(&thin), 0);
        let some = fields(json!({"email": "ann@gmail.com", "title": "CTO", "employee_count": 49}));
        assert_eq!(config.fit(&some), 5);
        let hits = config.fit_breakdown(&some);
        assert!(
            hits.iter()
                .any(|h| h.rule == "Free mail address" && h.matched)
        );
        assert!(
            hits.iter()
                .any(|h| h.rule == "50 or more employees" && !h.matched)
        );
    }

    #[test]
    fn engagement_decays_by_half_each_half_life() {
        let config = ScoringConfig::default();
        assert_eq!(config.engagement([("meeting_held", at(0))], now()), 20);
        assert_eq!(config.engagement([("meeting_held", at(30))], now()), 10);
        assert_eq!(config.engagement([("meeting_held", at(60))], now()), 5);
        let many = (0..20).map(|_| ("meeting_held", at(0)));
        assert_eq!(config.engagement(many, now()), 100, "capped");
        assert_eq!(config.engagement([("unknown", at(0))], now()), 0);
        assert!(config.signal_points("meeting_held", at(-3), now()) == 20.0);
    }

    #[test]
    fn the_total_blends_fit_and_engagement_and_grades_it() {
        let mut config = ScoringConfig::default();
        assert_eq!(config.total(40, 61), 51);
        assert_eq!(config.total(100, 100), 100);
        config.fit_weight = 100;
        assert_eq!(config.total(40, 61), 40);
        assert_eq!(grade(75), "A");
        assert_eq!(grade(74), "B");
        assert_eq!(grade(25), "C");
        assert_eq!(grade(0), "D");
    }

    #[test]
    fn a_threshold_fires_once_per_upward_crossing() {
        let config = ScoringConfig::default();
        let names = |v: Vec<&Threshold>| v.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(config.crossed(None, 80)), ["MQL", "SQL"]);
        assert_eq!(names(config.crossed(Some(49), 50)), ["MQL"]);
        assert!(config.crossed(Some(50), 60).is_empty());
        assert!(config.crossed(Some(80), 40).is_empty());
        assert!(config.crossed(None, 0).is_empty());
    }

    #[test]
    fn only_the_default_thresholds_and_those_that_say_so_notify_the_owner() {
        let config = ScoringConfig::default();
        assert!(config.thresholds.iter().all(|t| t.notify_owner));
        // Settings stored before thresholds could notify have no flag: they do not.
        let stored: ScoringInput = serde_json::from_value(json!({
            "thresholds": [{"name": "MQL", "score": 50}, {"name": "SQL", "score": 75, "notify_owner": true}]
        }))
        .unwrap_or_default();
        let Ok(config) = stored.validate() else {
            panic!("refused")
        };
        let flags: Vec<bool> = config.thresholds.iter().map(|t| t.notify_owner).collect();
        assert_eq!(flags, [false, true]);
        assert_eq!(config.to_input().validate(), Ok(config));
    }

    #[test]
    fn bad_settings_name_each_mistake() {
        let input: ScoringInput = serde_json::from_value(json!({
            "fit_rules": [
                {"name": "x", "points": 500},
                {"name": "", "conditions": [{"op": "range", "field": "total_score", "gte": 1}], "points": 1},
                {"name": "y", "conditions": [{"op": "filled", "field": "nope"}], "points": 1}
            ],
            "engagement_weights": {"meeting_held": 101, "dancing": 3},
            "half_life_days": 0,
            "fit_weight": 101,
            "model_min_labelled": 19,
            "thresholds": [{"name": "A", "score": 50, "set_status": "converted"}, {"name": "a", "score": 0}]
        }))
        .unwrap_or_default();
        let Err(errors) = input.validate() else {
            panic!("accepted")
        };
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        for field in [
            "fit_rules[0].points",
            "fit_rules[1].name",
            "fit_rules[1].conditions[0].field",
            "fit_rules[2].conditions[0].field",
            "engagement_weights.meeting_held",
            "engagement_weights.dancing",
            "half_life_days",
            "fit_weight",
            "model_min_labelled",
            "thresholds[0].set_status",
            "thresholds[1].name",
            "thresholds[1].score",
        ] {
            assert!(fields.contains(&field), "{field} not in {fields:?}");
        }
    }

    #[test]
    fn activities_are_signals_by_kind_direction_and_outcome() {
        assert_eq!(
            signal_of_activity("meeting", None, None),
            Some("meeting_held")
        );
        assert_eq!(signal_of_activity("meeting", None, Some("Cancelled")), None);
        assert_eq!(
            signal_of_activity("call", Some("outbound"), Some("Connected")),
            Some("call_connected")
        );
        assert_eq!(
            signal_of_activity("call", Some("outbound"), Some("no_answer")),
            None
        );
        assert_eq!(signal_of_activity("call", None, Some("Voicemail")), None);
        assert_eq!(
            signal_of_activity("email", Some("inbound"), None),
            Some("email_replied")
        );
        assert_eq!(signal_of_activity("email", Some("outbound"), None), None);
        assert_eq!(
            signal_of_activity("whatsapp", Some("inbound"), None),
            Some("whatsapp_replied")
        );
        assert_eq!(signal_of_activity("note", None, None), None);
    }
}
