//! Account health and lifecycle (issue 14 §5): the pure arithmetic of an account's health
//! score and the rules that move an account between lifecycle stages.
//!
//! - **Components**: each is a [`Component`] — a name, a label, a default weight and a pure
//!   function from the account's [`AccountFacts`] to 0–100 points with a one-line explanation.
//!   Recent activity, open and overdue tasks, won and lost deals, and engagement are here;
//!   tickets, invoices and renewals join [`COMPONENTS`] the same way (a fact or two more on
//!   [`AccountFacts`], one more entry), and their weight becomes configurable with them.
//! - **Health** is the components' weighted mean, 0–100, rounded half up.
//! - **Lifecycle rules** ([`lifecycle_move`]): a prospect becomes a customer once it has a won
//!   deal; a customer becomes at risk when health falls below `at_risk_below`, and an account at
//!   risk becomes a customer again when health reaches `recovered_at` (higher, so an account
//!   near the line does not flap). Each rule can be turned off; each move carries its reason.
//!
//! Gathering the facts, storing scores and history and applying the moves is
//! `rivet_store::health`; this module only says what the numbers are and why.

use crate::accounts::LifecycleStage;
use crate::validate::FieldErrors;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What the components read of an account, its contacts and its deals, as of `as_of`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountFacts {
    pub as_of: DateTime<Utc>,
    /// The newest activity logged on the account, one of its contacts or one of its deals.
    pub last_activity_at: Option<DateTime<Utc>>,
    /// Activities of the last [`ENGAGEMENT_DAYS`] days (each counted once)…
    pub recent_activities: u32,
    /// …and how many of them were inbound (the customer reaching out).
    pub recent_inbound: u32,
    /// Tasks still to be done (open or in progress) on the account, its contacts or deals…
    pub open_tasks: u32,
    /// …and how many of those are past their due time.
    pub overdue_tasks: u32,
    pub won_deals: u32,
    pub lost_deals: u32,
    pub open_deals: u32,
    /// When the newest won deal was closed.
    pub last_won_at: Option<DateTime<Utc>>,
}

impl AccountFacts {
    /// Nothing known yet (a new account).
    pub fn none(as_of: DateTime<Utc>) -> Self {
        Self {
            as_of,
            last_activity_at: None,
            recent_activities: 0,
            recent_inbound: 0,
            open_tasks: 0,
            overdue_tasks: 0,
            won_deals: 0,
            lost_deals: 0,
            open_deals: 0,
            last_won_at: None,
        }
    }
}

/// The window engagement counts activities in.
pub const ENGAGEMENT_DAYS: i64 = 90;
/// After this many days without activity, recent activity is worth nothing.
pub const SILENT_DAYS: i64 = 90;
/// A won deal closed within this many days is a recent win.
pub const RECENT_WIN_DAYS: i64 = 180;
/// Points an overdue task takes from the tasks component.
pub const OVERDUE_PENALTY: i32 = 25;
/// Activities in the engagement window at which volume is worth its most.
pub const FULL_ENGAGEMENT: u32 = 10;

/// What one component gives an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scored {
    /// 0 to 100.
    pub points: i32,
    /// One line a user reads: why these points.
    pub explanation: String,
}

fn scored(points: i64, explanation: String) -> Scored {
    Scored {
        points: points.clamp(0, 100) as i32,
        explanation,
    }
}

/// One part of an account's health.
pub trait Component: Sync {
    /// Its key in the settings' weights and in the API (`recent_activity`).
    fn name(&self) -> &'static str;
    fn label(&self) -> &'static str;
    /// The weight a company starts with.
    fn default_weight(&self) -> i32;
    fn score(&self, facts: &AccountFacts) -> Scored;
}

/// Days since the last activity: 100 today, falling evenly to 0 at [`SILENT_DAYS`].
pub struct RecentActivity;

impl Component for RecentActivity {
    fn name(&self) -> &'static str {
        "recent_activity"
    }
    fn label(&self) -> &'static str {
        "Recent activity"
    }
    fn default_weight(&self) -> i32 {
        30
    }
    fn score(&self, facts: &AccountFacts) -> Scored {
        let Some(last) = facts.last_activity_at else {
            return scored(0, "no activity logged yet".into());
        };
        let days = (facts.as_of - last).num_days().max(0);
        let points = 100 - (days * 100 + SILENT_DAYS / 2) / SILENT_DAYS;
        let when = match days {
            0 => "today".to_owned(),
            1 => "1 day ago".to_owned(),
            n => format!("{n} days ago"),
        };
        scored(points, format!("last activity {when}"))
    }
}

/// Open and overdue tasks: 100 with nothing overdue, [`OVERDUE_PENALTY`] less per overdue task.
pub struct Tasks;

impl Component for Tasks {
    fn name(&self) -> &'static str {
        "tasks"
    }
    fn label(&self) -> &'static str {
        "Open and overdue tasks"
    }
    fn default_weight(&self) -> i32 {
        20
    }
    fn score(&self, facts: &AccountFacts) -> Scored {
        let (open, overdue) = (facts.open_tasks, facts.overdue_tasks);
        let explanation = match (open, overdue) {
            (0, _) => "no open tasks".to_owned(),
            (n, 0) => format!("{n} open task(s), none overdue"),
            (n, o) => format!("{o} of {n} open task(s) overdue"),
        };
        scored(
            100 - i64::from(overdue) * i64::from(OVERDUE_PENALTY),
            explanation,
        )
    }
}

/// Won and lost deals: the win rate worth up to 80, a win in the last [`RECENT_WIN_DAYS`]
/// days 20 more; 50 while no deal is closed.
pub struct Deals;

impl Component for Deals {
    fn name(&self) -> &'static str {
        "deals"
    }
    fn label(&self) -> &'static str {
        "Won and lost deals"
    }
    fn default_weight(&self) -> i32 {
        25
    }
    fn score(&self, facts: &AccountFacts) -> Scored {
        let (won, lost) = (i64::from(facts.won_deals), i64::from(facts.lost_deals));
        let closed = won + lost;
        if closed == 0 {
            let explanation = match facts.open_deals {
                0 => "no deals yet".to_owned(),
                n => format!("{n} open deal(s), none closed yet"),
            };
            return scored(50, explanation);
        }
        let recent = facts
            .last_won_at
            .is_some_and(|at| (facts.as_of - at).num_days() <= RECENT_WIN_DAYS);
        let rate = (won * 80 * 2 + closed) / (closed * 2);
        let mut explanation = format!(
            "{won} won, {lost} lost ({}% win rate)",
            (won * 100 * 2 + closed) / (closed * 2)
        );
        if recent {
            explanation.push_str(&format!("; a win in the last {RECENT_WIN_DAYS} days"));
        }
        scored(rate + if recent { 20 } else { 0 }, explanation)
    }
}

/// Engagement over the last [`ENGAGEMENT_DAYS`] days: volume worth up to 70 (7 an activity, up
/// to [`FULL_ENGAGEMENT`]), the inbound share up to 30.
pub struct Engagement;

impl Component for Engagement {
    fn name(&self) -> &'static str {
        "engagement"
    }
    fn label(&self) -> &'static str {
        "Engagement"
    }
    fn default_weight(&self) -> i32 {
        25
    }
    fn score(&self, facts: &AccountFacts) -> Scored {
        let count = i64::from(facts.recent_activities);
        if count == 0 {
            return scored(0, format!("no activity in {ENGAGEMENT_DAYS} days"));
        }
        let inbound = i64::from(facts.recent_inbound.min(facts.recent_activities));
        let volume = count.min(i64::from(FULL_ENGAGEMENT)) * 70 / i64::from(FULL_ENGAGEMENT);
        let share = (inbound * 30 * 2 + count) / (count * 2);
        let percent = (inbound * 100 * 2 + count) / (count * 2);
        scored(
            volume + share,
            format!(
                "{count} activit{} in {ENGAGEMENT_DAYS} days, {percent}% inbound",
                if count == 1 { "y" } else { "ies" }
            ),
        )
    }
}

/// Every health component, in display order.
pub const COMPONENTS: &[&dyn Component] = &[&RecentActivity, &Tasks, &Deals, &Engagement];

/// The component named `name`.
pub fn component_named(name: &str) -> Option<&'static dyn Component> {
    COMPONENTS.iter().copied().find(|c| c.name() == name)
}

/// One component's part in an account's health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ComponentScore {
    pub name: String,
    pub label: String,
    /// Its weight in the company's settings (a share of the weights' sum).
    pub weight: i32,
    /// 0 to 100.
    pub points: i32,
    pub explanation: String,
}

/// An account's health: the weighted mean of its components.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// 0 to 100.
    pub score: i32,
    pub components: Vec<ComponentScore>,
}

/// Whether each lifecycle rule runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LifecycleRules {
    pub prospect_to_customer: bool,
    pub customer_to_at_risk: bool,
    pub at_risk_to_customer: bool,
}

/// A company's health settings, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthConfig {
    /// Weight per component name (every component of [`COMPONENTS`]).
    pub weights: BTreeMap<String, i32>,
    /// A customer below this is at risk.
    pub at_risk_below: i32,
    /// An account at risk from this on is a customer again.
    pub recovered_at: i32,
    pub rules: LifecycleRules,
}

pub const DEFAULT_AT_RISK_BELOW: i32 = 40;
pub const DEFAULT_RECOVERED_AT: i32 = 55;
/// The largest weight of one component.
pub const MAX_WEIGHT: i32 = 100;

impl Default for HealthConfig {
    fn default() -> Self {
        Self {
            weights: COMPONENTS
                .iter()
                .map(|c| (c.name().to_owned(), c.default_weight()))
                .collect(),
            at_risk_below: DEFAULT_AT_RISK_BELOW,
            recovered_at: DEFAULT_RECOVERED_AT,
            rules: LifecycleRules {
                prospect_to_customer: true,
                customer_to_at_risk: true,
                at_risk_to_customer: true,
            },
        }
    }
}

/// A company's health settings as a client writes them (`PUT /api/v1/health/settings`). A part
/// left out takes its default.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthInput {
    /// Weight per component (0 to 100; a component left out keeps its default; at least one
    /// above 0): recent_activity, tasks, deals, engagement.
    #[schema(value_type = Option<Object>)]
    pub weights: Option<BTreeMap<String, i64>>,
    /// A customer whose health falls below this becomes at_risk (1 to 100; 40 by default).
    pub at_risk_below: Option<i64>,
    /// An account at_risk whose health reaches this is a customer again (at least
    /// at_risk_below, at most 100; 55 by default).
    pub recovered_at: Option<i64>,
    pub lifecycle_rules: Option<LifecycleRulesInput>,
}

/// Which lifecycle rules run (each on by default).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LifecycleRulesInput {
    /// prospect → customer on the first won deal.
    pub prospect_to_customer: Option<bool>,
    /// customer → at_risk when health falls below at_risk_below.
    pub customer_to_at_risk: Option<bool>,
    /// at_risk → customer when health reaches recovered_at.
    pub at_risk_to_customer: Option<bool>,
}

impl HealthInput {
    /// Check every part, naming each mistake (`weights.tasks`, `recovered_at`).
    pub fn validate(self) -> Result<HealthConfig, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut config = HealthConfig::default();
        for (name, weight) in self.weights.unwrap_or_default() {
            let field = format!("weights.{name}");
            if component_named(&name).is_none() {
                let known: Vec<&str> = COMPONENTS.iter().map(|c| c.name()).collect();
                errors.add(
                    &field,
                    format!("is not a health component ({})", known.join(", ")),
                );
            } else if !(0..=i64::from(MAX_WEIGHT)).contains(&weight) {
                errors.add(&field, format!("must be between 0 and {MAX_WEIGHT}"));
            } else {
                config.weights.insert(name, weight as i32);
            }
        }
        if errors.is_empty() && config.weights.values().all(|w| *w == 0) {
            errors.add("weights", "at least one component needs a weight above 0");
        }
        if let Some(below) = self.at_risk_below {
            if (1..=100).contains(&below) {
                config.at_risk_below = below as i32;
            } else {
                errors.add("at_risk_below", "must be between 1 and 100");
            }
        }
        if let Some(at) = self.recovered_at {
            if (0..=100).contains(&at) {
                config.recovered_at = at as i32;
            } else {
                errors.add("recovered_at", "must be between 0 and 100");
            }
        }
        if config.recovered_at < config.at_risk_below {
            errors.add(
                "recovered_at",
                format!(
                    "must be at least at_risk_below ({}), or an account would flap between \
                     customer and at_risk",
                    config.at_risk_below
                ),
            );
        }
        if let Some(rules) = self.lifecycle_rules {
            let r = &mut config.rules;
            r.prospect_to_customer = rules.prospect_to_customer.unwrap_or(r.prospect_to_customer);
            r.customer_to_at_risk = rules.customer_to_at_risk.unwrap_or(r.customer_to_at_risk);
            r.at_risk_to_customer = rules.at_risk_to_customer.unwrap_or(r.at_risk_to_customer);
        }
        errors.into_result()?;
        Ok(config)
    }
}

impl HealthConfig {
    /// The settings as a client would write them (every part given).
    pub fn to_input(&self) -> HealthInput {
        HealthInput {
            weights: Some(
                self.weights
                    .iter()
                    .map(|(k, v)| (k.clone(), i64::from(*v)))
                    .collect(),
            ),
            at_risk_below: Some(i64::from(self.at_risk_below)),
            recovered_at: Some(i64::from(self.recovered_at)),
            lifecycle_rules: Some(LifecycleRulesInput {
                prospect_to_customer: Some(self.rules.prospect_to_customer),
                customer_to_at_risk: Some(self.rules.customer_to_at_risk),
                at_risk_to_customer: Some(self.rules.at_risk_to_customer),
            }),
        }
    }

    fn weight(&self, component: &dyn Component) -> i32 {
        self.weights
            .get(component.name())
            .copied()
            .unwrap_or_else(|| component.default_weight())
    }

    /// An account's health from its facts: each component and their weighted mean.
    pub fn health(&self, facts: &AccountFacts) -> Health {
        let components: Vec<ComponentScore> = COMPONENTS
            .iter()
            .map(|c| {
                let s = c.score(facts);
                ComponentScore {
                    name: c.name().to_owned(),
                    label: c.label().to_owned(),
                    weight: self.weight(*c),
                    points: s.points,
                    explanation: s.explanation,
                }
            })
            .collect();
        let total: i64 = components.iter().map(|c| i64::from(c.weight)).sum();
        let sum: i64 = components
            .iter()
            .map(|c| i64::from(c.weight) * i64::from(c.points))
            .sum();
        let score = if total == 0 {
            0
        } else {
            ((sum * 2 + total) / (total * 2)).clamp(0, 100) as i32
        };
        Health { score, components }
    }
}

/// A lifecycle stage change a rule makes, with the rule's name and the reason a user reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LifecycleMove {
    pub from: LifecycleStage,
    pub to: LifecycleStage,
    /// `first_won_deal`, `health_below_threshold` or `health_recovered`.
    pub rule: &'static str,
    /// E.g. "moved to at_risk: health 32 < 40".
    pub reason: String,
}

/// The stage change the company's rules make for an account in `stage` with health `score`
/// and `won_deals` won deals, if any (at most one per evaluation).
pub fn lifecycle_move(
    config: &HealthConfig,
    stage: LifecycleStage,
    score: i32,
    won_deals: u32,
) -> Option<LifecycleMove> {
    let rules = &config.rules;
    let to = |to: LifecycleStage, rule: &'static str, why: String| LifecycleMove {
        from: stage,
        to,
        rule,
        reason: format!("moved to {}: {why}", to.as_str()),
    };
    match stage {
        LifecycleStage::Prospect if rules.prospect_to_customer && won_deals > 0 => Some(to(
            LifecycleStage::Customer,
            "first_won_deal",
            "first won deal".into(),
        )),
        LifecycleStage::Customer if rules.customer_to_at_risk && score < config.at_risk_below => {
            Some(to(
                LifecycleStage::AtRisk,
                "health_below_threshold",
                format!("health {score} < {}", config.at_risk_below),
            ))
        }
        LifecycleStage::AtRisk if rules.at_risk_to_customer && score >= config.recovered_at => {
            Some(to(
                LifecycleStage::Customer,
                "health_recovered",
                format!("health {score} ≥ {}", config.recovered_at),
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2025-06-01T12:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    fn facts() -> AccountFacts {
        AccountFacts::none(now())
    }

    #[test]
    fn recent_activity_falls_evenly_to_nothing_after_ninety_days() {
        let c = RecentActivity;
        assert_eq!(c.score(&facts()).points, 0);
        assert_eq!(c.score(&facts()).explanation, "no activity logged yet");
        let at = |days| AccountFacts {
            last_activity_at: Some(now() - Duration::days(days)),
            ..facts()
        };
        assert_eq!(c.score(&at(0)).points, 100);
        assert_eq!(c.score(&at(0)).explanation, "last activity today");
        assert_eq!(c.score(&at(45)).points, 50);
        assert_eq!(c.score(&at(12)).explanation, "last activity 12 days ago");
        assert_eq!(c.score(&at(90)).points, 0);
        assert_eq!(c.score(&at(400)).points, 0);
    }

    #[test]
    fn each_overdue_task_takes_a_quarter() {
        let c = Tasks;
        assert_eq!(c.score(&facts()).points, 100);
        let tasks = |open, overdue| AccountFacts {
            open_tasks: open,
            overdue_tasks: overdue,
            ..facts()
        };
        assert_eq!(c.score(&tasks(3, 0)).points, 100);
        assert_eq!(c.score(&tasks(3, 1)).points, 75);
        assert_eq!(
            c.score(&tasks(3, 1)).explanation,
            "1 of 3 open task(s) overdue"
        );
        assert_eq!(c.score(&tasks(9, 6)).points, 0);
    }

    #[test]
    fn deals_score_the_win_rate_and_a_recent_win() {
        let c = Deals;
        assert_eq!(c.score(&facts()).points, 50, "neutral without closed deals");
        let deals = |won, lost, last_won: Option<i64>| AccountFacts {
            won_deals: won,
            lost_deals: lost,
            last_won_at: last_won.map(|d| now() - Duration::days(d)),
            ..facts()
        };
        assert_eq!(c.score(&deals(1, 0, Some(3))).points, 100);
        assert_eq!(c.score(&deals(1, 0, Some(400))).points, 80);
        assert_eq!(c.score(&deals(0, 2, None)).points, 0);
        let half = c.score(&deals(1, 1, Some(10)));
        assert_eq!(half.points, 60);
        assert!(half.explanation.starts_with("1 won, 1 lost (50% win rate)"));
    }

    #[test]
    fn engagement_counts_volume_and_the_inbound_share() {
        let c = Engagement;
        assert_eq!(c.score(&facts()).points, 0);
        let active = |n, inbound| AccountFacts {
            recent_activities: n,
            recent_inbound: inbound,
            ..facts()
        };
        assert_eq!(c.score(&active(1, 0)).points, 7);
        assert_eq!(c.score(&active(10, 0)).points, 70);
        assert_eq!(c.score(&active(20, 20)).points, 100);
        assert_eq!(c.score(&active(4, 2)).points, 28 + 15);
        assert_eq!(
            c.score(&active(4, 2)).explanation,
            "4 activities in 90 days, 50% inbound"
        );
    }

    #[test]
    fn health_is_the_weighted_mean_of_the_components() {
        let config = HealthConfig::default();
        // Nothing known: tasks 100 × 20, deals 50 × 25 → 3250 / 100 = 32.5, rounded up.
        let fresh = config.health(&facts());
        assert_eq!(fresh.score, 33);
        assert_eq!(fresh.components.len(), COMPONENTS.len());
        let active = AccountFacts {
            last_activity_at: Some(now()),
            recent_activities: 1,
            ..facts()
        };
        assert!(config.health(&active).score > fresh.score);
        let overdue = AccountFacts {
            open_tasks: 1,
            overdue_tasks: 1,
            ..facts()
        };
        assert!(config.health(&overdue).score < fresh.score);
        let won = AccountFacts {
            won_deals: 1,
            last_won_at: Some(now()),
            ..facts()
        };
        assert!(config.health(&won).score > fresh.score);
        // One component alone is its points.
        let only_tasks = HealthInput {
            weights: Some(
                [
                    ("recent_activity".to_owned(), 0),
                    ("deals".to_owned(), 0),
                    ("engagement".to_owned(), 0),
                ]
                .into(),
            ),
            ..HealthInput::default()
        }
        .validate()
        .unwrap_or_default();
        assert_eq!(only_tasks.health(&overdue).score, 75);
    }

    #[test]
    fn bad_settings_are_named() {
        let input = HealthInput {
            weights: Some([("tickets".to_owned(), 5), ("tasks".to_owned(), 101)].into()),
            at_risk_below: Some(0),
            recovered_at: Some(20),
            ..HealthInput::default()
        };
        let fields: Vec<String> = input
            .validate()
            .err()
            .map(|e| e.0.into_iter().map(|f| f.field).collect())
            .unwrap_or_default();
        assert_eq!(
            fields,
            [
                "weights.tasks",
                "weights.tickets",
                "at_risk_below",
                "recovered_at"
            ]
        );
        let zero = HealthInput {
            weights: Some(
                COMPONENTS
                    .iter()
                    .map(|c| (c.name().to_owned(), 0))
                    .collect(),
            ),
            ..HealthInput::default()
        };
        let fields: Vec<String> = zero
            .validate()
            .err()
            .map(|e| e.0.into_iter().map(|f| f.field).collect())
            .unwrap_or_default();
        assert_eq!(fields, ["weights"]);
        assert_eq!(
            HealthInput::default().validate(),
            Ok(HealthConfig::default())
        );
        let round = HealthConfig::default().to_input().validate();
        assert_eq!(round, Ok(HealthConfig::default()));
    }

    #[test]
    fn a_prospect_with_a_won_deal_becomes_a_customer() {
        let config = HealthConfig::default();
        assert_eq!(
            lifecycle_move(&config, LifecycleStage::Prospect, 10, 0),
            None
        );
        let moved = lifecycle_move(&config, LifecycleStage::Prospect, 10, 1);
        assert_eq!(
            moved.as_ref().map(|m| (m.to, m.rule, m.reason.as_str())),
            Some((
                LifecycleStage::Customer,
                "first_won_deal",
                "moved to customer: first won deal"
            ))
        );
        let mut off = config.clone();
        off.rules.prospect_to_customer = false;
        assert_eq!(lifecycle_move(&off, LifecycleStage::Prospect, 10, 1), None);
    }

    #[test]
    fn a_customer_below_the_threshold_is_at_risk() {
        let config = HealthConfig::default();
        assert_eq!(
            lifecycle_move(&config, LifecycleStage::Customer, 40, 3),
            None
        );
        let moved = lifecycle_move(&config, LifecycleStage::Customer, 32, 3);
        assert_eq!(
            moved.map(|m| (m.to, m.reason)),
            Some((
                LifecycleStage::AtRisk,
                "moved to at_risk: health 32 < 40".into()
            ))
        );
        let mut off = config.clone();
        off.rules.customer_to_at_risk = false;
        assert_eq!(lifecycle_move(&off, LifecycleStage::Customer, 5, 0), None);
    }

    #[test]
    fn an_account_at_risk_recovers_only_past_the_higher_mark() {
        let config = HealthConfig::default();
        for between in [40, 54] {
            assert_eq!(
                lifecycle_move(&config, LifecycleStage::AtRisk, between, 0),
                None,
                "no flapping at {between}"
            );
        }
        let moved = lifecycle_move(&config, LifecycleStage::AtRisk, 55, 0);
        assert_eq!(
            moved.map(|m| (m.to, m.rule)),
            Some((LifecycleStage::Customer, "health_recovered"))
        );
        let mut off = config.clone();
        off.rules.at_risk_to_customer = false;
        assert_eq!(lifecycle_move(&off, LifecycleStage::AtRisk, 99, 0), None);
    }

    #[test]
    fn other_stages_are_left_alone() {
        let config = HealthConfig::default();
        for stage in [LifecycleStage::Onboarding, LifecycleStage::Churned] {
            assert_eq!(lifecycle_move(&config, stage, 0, 5), None);
            assert_eq!(lifecycle_move(&config, stage, 100, 5), None);
        }
    }
}
