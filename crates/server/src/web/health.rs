//! The health panel of an account's page (issue 14 §5): a gauge of the score, each component
//! with its points and why, and a sparkline of the trend — SVG drawn on the server, no script
//! and no external asset; the numbers are `rivet_store::health::breakdown`'s, as the API shows
//! them.

use super::view::Ctx;
use crate::web::view::WebError;
use rivet_domain::ids::AccountId;
use rivet_store::health::{AccountHealth, TrendPoint};
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
