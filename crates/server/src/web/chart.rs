//! Charts as SVG drawn on the server: no script, no library, readable by screen readers through
//! the title, the description and a title on every bar. Colours come from the stylesheet.

use std::fmt::Write as _;

/// One stacked series: its name (in tooltips and the legend) and the CSS class of its colour.
pub struct Series<'a> {
    pub name: &'a str,
    pub class: &'a str,
}

/// One bar: its axis label and one value per series, in the order of the series.
pub struct Bar {
    pub label: String,
    pub values: Vec<u64>,
}

const HEIGHT: f64 = 180.0;
const TOP: f64 = 10.0;
const LEFT: f64 = 40.0;
const BOTTOM: f64 = 24.0;
const SLOT: f64 = 26.0;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The smallest of 1, 2, 5 × 10ⁿ that is at least `max`, so the axis has round numbers.
fn nice_ceiling(max: u64) -> u64 {
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if m * step >= max {
                return m * step;
            }
        }
        step *= 10;
    }
}

/// How many steps divide `ceiling` into whole numbers (1, 2, 5 × 10ⁿ always divide by one).
fn gridlines(ceiling: u64) -> u32 {
    [5, 4, 2]
        .into_iter()
        .find(|s| ceiling >= u64::from(*s) && ceiling.is_multiple_of(u64::from(*s)))
        .unwrap_or(1)
}

/// A stacked bar chart. `title` names it for assistive technology; `description` says what it
/// shows in words.
pub fn stacked_bars(title: &str, description: &str, series: &[Series], bars: &[Bar]) -> String {
    let max = bars
        .iter()
        .map(|b| b.values.iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let ceiling = nice_ceiling(max) as f64;
    let plot = HEIGHT - TOP - BOTTOM;
    let width = LEFT + SLOT * bars.len().max(1) as f64 + 8.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg class="chart" viewBox="0 0 {width} {HEIGHT}" role="img" aria-labelledby="chart-title chart-desc" preserveAspectRatio="xMinYMin meet"><title id="chart-title">{}</title><desc id="chart-desc">{}</desc>"#,
        escape(title),
        escape(description)
    );
    let steps = gridlines(ceiling as u64);
    for i in 0..=steps {
        let value = ceiling * f64::from(i) / f64::from(steps);
        let y = TOP + plot - plot * f64::from(i) / f64::from(steps);
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}"/><text class="axis" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            width - 4.0,
            LEFT - 6.0,
            y + 4.0,
            value.round()
        );
    }
    // Label every bar when there is room, else every third.
    let every = if bars.len() > 16 { 3 } else { 1 };
    for (i, bar) in bars.iter().enumerate() {
        let x = LEFT + SLOT * i as f64 + 4.0;
        let mut base = TOP + plot;
        for (s, value) in series.iter().zip(&bar.values) {
            if *value == 0 {
                continue;
            }
            let h = plot * (*value as f64) / ceiling;
            base -= h;
            let _ = write!(
                svg,
                r#"<rect class="bar {}" x="{x:.1}" y="{base:.1}" width="{:.1}" height="{h:.1}"><title>{}: {} {}</title></rect>"#,
                escape(s.class),
                SLOT - 8.0,
                escape(&bar.label),
                value,
                escape(s.name)
            );
        }
        if i % every == 0 {
            let _ = write!(
                svg,
                r#"<text class="axis" x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
                x + (SLOT - 8.0) / 2.0,
                HEIGHT - 8.0,
                escape(&bar.label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_tops_are_round() {
        assert_eq!(nice_ceiling(1), 1);
        assert_eq!(nice_ceiling(3), 5);
        assert_eq!(nice_ceiling(11), 20);
        assert_eq!(nice_ceiling(480), 500);
    }

    #[test]
    fn gridlines_fall_on_whole_numbers() {
        for (ceiling, steps) in [(1, 1), (2, 2), (5, 5), (10, 5), (20, 5), (200, 5)] {
            assert_eq!(gridlines(ceiling), steps, "{ceiling}");
        }
    }

    #[test]
    fn bars_are_drawn_with_escaped_tooltips() {
        let series = [
            Series {
                name: "error",
                class: "s-error",
            },
            Series {
                name: "warn",
                class: "s-warn",
            },
        ];
        let bars = [Bar {
            label: "<14:00>".into(),
            values: vec![2, 0],
        }];
        let svg = stacked_bars("Logs", "per hour", &series, &bars);
        assert!(svg.starts_with("<svg"));
        assert_eq!(svg.matches("<rect").count(), 1);
        assert!(svg.contains("&lt;14:00&gt;: 2 error"));
    }
}
