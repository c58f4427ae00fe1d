//! Account health on the web (issue 14 §5): the panel of an account's page — a gauge of the
//! score, each component with its points and why, and a sparkline of the trend, SVG drawn on
//! the server with no script and no external asset; the numbers are
//! `rivet_store::health::breakdown`'s, as the API shows them — and the settings page under
//! Administration (its form; the flow, saving through the API's function, is
//! `super::settings_doc`'s).

use super::conditions::Fields;
use super::settings_doc::SettingsForm;
use super::view::{Ctx, FormErrors, Layout};
use crate::web::view::WebError;
use askama::Template;
use rivet_domain::health::{COMPONENTS, HealthConfig, HealthInput, LifecycleRulesInput};
use rivet_domain::ids::AccountId;
use rivet_domain::{Action, Resource};
use rivet_store::health::{AccountHealth, TrendPoint};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One component's row.
pub struct ComponentRow {
    pub label: String,
    pub points: i32,
    pub weight: i32,
    pub explanation: String,
}

/// What the panel shows.
pub struct HealthPanel {
    pub score: i32,
    /// `good`, `fair` or `poor`: the gauge's colour class.
    pub band: &'static str,
    pub gauge_svg: String,
    pub trend_svg: String,
    pub trend_len: usize,
    pub components: Vec<ComponentRow>,
    pub reason: Option<String>,
    pub at_risk_below: i32,
    pub recovered_at: i32,
}

/// The panel for an account the caller may read.
pub async fn panel(ctx: &Ctx, id: AccountId) -> Result<HealthPanel, WebError> {
    let health = rivet_store::health::breakdown(&ctx.app.store, &ctx.actor, id).await?;
    Ok(panel_of(&health))
}

fn band(score: i32, health: &AccountHealth) -> &'static str {
    if score < health.at_risk_below {
        "poor"
    } else if score < health.recovered_at {
        "fair"
    } else {
        "good"
    }
}

fn panel_of(health: &AccountHealth) -> HealthPanel {
    let band = band(health.score, health);
    HealthPanel {
        score: health.score,
        band,
        gauge_svg: gauge(health.score, band),
        trend_svg: sparkline(&health.trend),
        trend_len: health.trend.len(),
        components: health
            .components
            .iter()
            .map(|c| ComponentRow {
                label: c.label.clone(),
                points: c.points,
                weight: c.weight,
                explanation: c.explanation.clone(),
            })
            .collect(),
        reason: health.lifecycle_reason.clone(),
        at_risk_below: health.at_risk_below,
        recovered_at: health.recovered_at,
    }
}

/// A half-circle gauge: the track, the score's arc and the number.
fn gauge(score: i32, band: &str) -> String {
    let (cx, cy, r) = (60.0_f64, 60.0_f64, 48.0_f64);
    let share = f64::from(score.clamp(0, 100)) / 100.0;
    // From the left end (180°) clockwise over the top to the right end (0°).
    let angle = std::f64::consts::PI * (1.0 - share);
    let (x, y) = (cx + r * angle.cos(), cy - r * angle.sin());
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="health-gauge health-{band}" viewBox="0 0 120 70" width="160" height="94" role="img" aria-labelledby="health-gauge-title"><title id="health-gauge-title">Health {score} of 100</title>"#
    );
    let _ = write!(
        svg,
        r#"<path class="health-gauge-track" d="M {:.1} {cy:.1} A {r:.1} {r:.1} 0 0 1 {:.1} {cy:.1}" fill="none" stroke-width="10"/>"#,
        cx - r,
        cx + r
    );
    if score > 0 {
        let _ = write!(
            svg,
            r#"<path class="health-gauge-value" d="M {:.1} {cy:.1} A {r:.1} {r:.1} 0 0 1 {x:.1} {y:.1}" fill="none" stroke-width="10"/>"#,
            cx - r
        );
    }
    let _ = write!(
        svg,
        r#"<text class="health-gauge-score" x="{cx:.0}" y="{:.0}" text-anchor="middle">{score}</text></svg>"#,
        cy - 4.0
    );
    svg
}

/// The trend as a small line, oldest on the left, 0 at the bottom and 100 at the top.
fn sparkline(points: &[TrendPoint]) -> String {
    let (w, h) = (160.0_f64, 40.0_f64);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="health-trend" viewBox="0 0 {w:.0} {h:.0}" width="{w:.0}" height="{h:.0}" role="img" aria-label="Health over time: {}">"#,
        points
            .iter()
            .map(|p| p.score.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if points.len() >= 2 {
        let step = w / (points.len() - 1) as f64;
        let coords: Vec<String> = points
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let y = h - 2.0 - (h - 4.0) * f64::from(p.score.clamp(0, 100)) / 100.0;
                format!("{:.1},{y:.1}", i as f64 * step)
            })
            .collect();
        let _ = write!(
            svg,
            r#"<polyline class="health-trend-line" fill="none" stroke-width="2" points="{}"/>"#,
            coords.join(" ")
        );
    }
    svg.push_str("</svg>");
    svg
}

/// One number field of the settings form.
pub struct NumberField {
    pub field: String,
    pub label: String,
    pub value: String,
}

/// One lifecycle rule's checkbox.
pub struct RuleField {
    pub field: &'static str,
    pub label: &'static str,
    pub checked: bool,
}

#[derive(Template)]
#[template(path = "web/health_settings.html")]
struct SettingsPage {
    layout: Layout,
    weights: Vec<NumberField>,
    at_risk_below: String,
    recovered_at: String,
    rules: Vec<RuleField>,
    can_update: bool,
    errors: FormErrors,
}

/// The lifecycle rules: form field, label, and its place in the input.
const RULES: &[(&str, &str)] = &[
    (
        "lifecycle_rules.prospect_to_customer",
        "Prospect → customer on the first won deal",
    ),
    (
        "lifecycle_rules.customer_to_at_risk",
        "Customer → at risk when health falls below the threshold",
    ),
    (
        "lifecycle_rules.at_risk_to_customer",
        "At risk → customer when health reaches the recovery mark",
    ),
];

impl SettingsForm for HealthConfig {
    const PAGE: &'static str = "/admin/health";
    const SAVED: &'static str =
        "Saved the health settings; every account's health is being recomputed.";
    type Places = ();

    fn form_of(input: &HealthInput) -> Fields {
        let mut form = Fields::new();
        for (name, weight) in input.weights.iter().flatten() {
            form.insert(format!("weights.{name}"), weight.to_string());
        }
        for (field, value) in [
            ("at_risk_below", input.at_risk_below),
            ("recovered_at", input.recovered_at),
        ] {
            form.insert(field.to_owned(), value.unwrap_or_default().to_string());
        }
        let rules = input.lifecycle_rules.clone().unwrap_or_default();
        for (field, on) in [
            (RULES[0].0, rules.prospect_to_customer),
            (RULES[1].0, rules.customer_to_at_risk),
            (RULES[2].0, rules.at_risk_to_customer),
        ] {
            if on.unwrap_or(true) {
                form.insert(field.to_owned(), "true".to_owned());
            }
        }
        form
    }

    fn input_of(form: &Fields, errors: &mut FormErrors) -> (HealthInput, ()) {
        let mut number = |field: &str| super::view::form_number(form, field, errors);
        let weights: BTreeMap<String, i64> = COMPONENTS
            .iter()
            .filter_map(|c| {
                Some((
                    c.name().to_owned(),
                    number(&format!("weights.{}", c.name()))?,
                ))
            })
            .collect();
        let input = HealthInput {
            weights: Some(weights),
            at_risk_below: number("at_risk_below"),
            recovered_at: number("recovered_at"),
            lifecycle_rules: Some(LifecycleRulesInput {
                prospect_to_customer: Some(form.contains_key(RULES[0].0)),
                customer_to_at_risk: Some(form.contains_key(RULES[1].0)),
                at_risk_to_customer: Some(form.contains_key(RULES[2].0)),
            }),
        };
        (input, ())
    }

    fn page(ctx: &Ctx, form: &Fields, errors: FormErrors) -> impl Template {
        let value = |field: &str| form.get(field).cloned().unwrap_or_default();
        SettingsPage {
            layout: ctx.layout("Account health"),
            weights: COMPONENTS
                .iter()
                .map(|c| {
                    let field = format!("weights.{}", c.name());
                    NumberField {
                        value: value(&field),
                        field,
                        label: c.label().to_owned(),
                    }
                })
                .collect(),
            at_risk_below: value("at_risk_below"),
            recovered_at: value("recovered_at"),
            rules: RULES
                .iter()
                .map(|(field, label)| RuleField {
                    field,
                    label,
                    checked: form.contains_key(*field),
                })
                .collect(),
            can_update: ctx.can(Resource::Settings, Action::Update),
            errors,
        }
    }

    fn fields(_: &Fields) -> Vec<String> {
        let mut fields: Vec<String> = COMPONENTS
            .iter()
            .map(|c| format!("weights.{}", c.name()))
            .collect();
        fields.extend(["weights", "at_risk_below", "recovered_at"].map(String::from));
        fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gauge_draws_its_score_and_an_empty_one_no_arc() {
        let full = gauge(100, "good");
        assert!(full.contains("health-gauge-value") && full.contains(">100</text>"));
        let empty = gauge(0, "poor");
        assert!(!empty.contains("health-gauge-value"));
    }

    #[test]
    fn a_trend_of_one_point_has_no_line() {
        let at = chrono::Utc::now();
        let one = [TrendPoint {
            score: 40,
            computed_at: at,
        }];
        assert!(!sparkline(&one).contains("polyline"));
        let two = [
            TrendPoint {
                score: 40,
                computed_at: at,
            },
            TrendPoint {
                score: 60,
                computed_at: at,
            },
        ];
        assert!(sparkline(&two).contains("polyline"));
    }
}
