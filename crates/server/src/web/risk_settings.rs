//! The deal risk settings page under Administration (issue 14 §4): per factor whether it counts
//! and its weight, the days without activity that make a deal stale, the close-date pushes
//! allowed, the days a stage is expected to take, and the scores from which a risk is medium
//! and high. Saved as the API saves them (`super::settings_doc`), so the same checks answer
//! next to their fields and every open deal is recomputed.

use super::conditions::Fields;
use super::health::NumberField;
use super::settings_doc::SettingsForm;
use super::view::{Ctx, FormErrors, Layout};
use askama::Template;
use rivet_domain::risk::{FactorInput, RiskConfig, RiskFactor, RiskInput};
use rivet_domain::{Action, Resource};
use std::collections::BTreeMap;

/// One factor's row: whether it counts, and its weight.
pub struct FactorRow {
    pub label: &'static str,
    pub enabled_field: String,
    pub enabled: bool,
    pub weight: NumberField,
}

#[derive(Template)]
#[template(path = "web/risk_settings.html")]
struct SettingsPage {
    layout: Layout,
    factors: Vec<FactorRow>,
    numbers: Vec<(NumberField, &'static str)>,
    can_update: bool,
    errors: FormErrors,
}

/// The settings' plain numbers: field, label, hint.
const NUMBERS: &[(&str, &str, &str)] = &[
    (
        "stale_days",
        "Stale after (days)",
        "Days without an activity after which a deal is stale (1 to 365).",
    ),
    (
        "max_close_date_pushes",
        "Close-date pushes allowed",
        "Times the close date may move later before it counts (0 to 50).",
    ),
    (
        "default_stage_days",
        "Expected days in a stage",
        "Stands in for a stage's median while fewer than three deals have left it (1 to 3650).",
    ),
    (
        "medium_from",
        "Medium risk from",
        "The score from which a risk is medium (1 to 100).",
    ),
    (
        "high_from",
        "High risk from",
        "The score from which a risk is high (above medium).",
    ),
];

fn weight_field(factor: RiskFactor) -> String {
    format!("factors.{}.weight", factor.as_str())
}

fn enabled_field(factor: RiskFactor) -> String {
    format!("factors.{}.enabled", factor.as_str())
}

impl SettingsForm for RiskConfig {
    const PAGE: &'static str = "/admin/risk";
    const SAVED: &'static str =
        "Saved the risk settings; every open deal's risk is being recomputed.";
    type Places = ();

    fn form_of(input: &RiskInput) -> Fields {
        let mut form = Fields::new();
        for (name, factor) in input.factors.iter().flatten() {
            if let Some(w) = factor.weight {
                form.insert(format!("factors.{name}.weight"), w.to_string());
            }
            if factor.enabled.unwrap_or(true) {
                form.insert(format!("factors.{name}.enabled"), "true".to_owned());
            }
        }
        for (field, value) in [
            ("stale_days", input.stale_days),
            ("max_close_date_pushes", input.max_close_date_pushes),
            ("default_stage_days", input.default_stage_days),
            ("medium_from", input.medium_from),
            ("high_from", input.high_from),
        ] {
            form.insert(field.to_owned(), value.unwrap_or_default().to_string());
        }
        form
    }

    fn input_of(form: &Fields, errors: &mut FormErrors) -> (RiskInput, ()) {
        let mut number = |field: &str| super::view::form_number(form, field, errors);
        let factors: BTreeMap<String, FactorInput> = RiskFactor::ALL
            .iter()
            .map(|&f| {
                (
                    f.as_str().to_owned(),
                    FactorInput {
                        enabled: Some(form.contains_key(&enabled_field(f))),
                        weight: number(&weight_field(f)),
                    },
                )
            })
            .collect();
        let input = RiskInput {
            factors: Some(factors),
            stale_days: number("stale_days"),
            max_close_date_pushes: number("max_close_date_pushes"),
            default_stage_days: number("default_stage_days"),
            medium_from: number("medium_from"),
            high_from: number("high_from"),
        };
        (input, ())
    }

    fn page(ctx: &Ctx, form: &Fields, errors: FormErrors) -> impl Template {
        let value = |field: &str| form.get(field).cloned().unwrap_or_default();
        SettingsPage {
            layout: ctx.layout("Deal risk"),
            factors: RiskFactor::ALL
                .iter()
                .map(|&f| FactorRow {
                    label: f.label(),
                    enabled: form.contains_key(&enabled_field(f)),
                    enabled_field: enabled_field(f),
                    weight: NumberField {
                        value: value(&weight_field(f)),
                        field: weight_field(f),
                        label: format!("{} (weight)", f.label()),
                    },
                })
                .collect(),
            numbers: NUMBERS
                .iter()
                .map(|(field, label, hint)| {
                    (
                        NumberField {
                            field: (*field).to_owned(),
                            label: (*label).to_owned(),
                            value: value(field),
                        },
                        *hint,
                    )
                })
                .collect(),
            can_update: ctx.can(Resource::Settings, Action::Update),
            errors,
        }
    }

    fn fields(_: &Fields) -> Vec<String> {
        let mut fields: Vec<String> = RiskFactor::ALL
            .iter()
            .flat_map(|&f| [weight_field(f), format!("factors.{}", f.as_str())])
            .collect();
        fields.push("factors".to_owned());
        fields.extend(NUMBERS.iter().map(|(f, _, _)| (*f).to_owned()));
        fields
    }
}
