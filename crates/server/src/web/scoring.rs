//! Lead scoring on the web (issue 14 §1): Administration › Lead scoring (fit rules with their
//! conditions and points, engagement weights and half-life, the blend, thresholds with their
//! task, status and owner's notification, and a "rescore now" button), and a lead's score
//! breakdown — on its page, and as a fragment the list's score badges open in a popover
//! (`GET /leads/{id}/score`). Saving goes through the API's function, as every settings page
//! does (`super::settings_doc`), so the page refuses what the API does.

use super::conditions::{self, CondRow, Fields, get};
use super::settings_doc::SettingsForm;
use super::view::{Ctx, FormErrors, Layout, Opt, OrPage, WebError, options};
use crate::http::error::AppError;
use crate::http::extract::parse_id;
use askama::Template;
use axum::extract::Path;
use axum::response::{Html, IntoResponse, Response};
use rivet_domain::FieldError;
use rivet_domain::ids::LeadId;
use rivet_domain::scoring::{FitRuleInput, SIGNALS, ScoringConfig, ScoringInput, ThresholdInput};
use rivet_store::scoring::{self as store, Breakdown};
use std::collections::BTreeMap;

const PAGE: &str = "/admin/scoring";
/// Blank rules and thresholds the page offers beyond the company's.
const SPARE_RULES: usize = 2;
const SPARE_THRESHOLDS: usize = 1;
/// The statuses a threshold may set.
const STATUSES: &[&str] = &["contacted", "nurturing", "qualified", "unqualified"];

#[derive(Template)]
#[template(path = "web/lead_score.html")]
struct ScoreFragment {
    score: Breakdown,
}

/// `GET /leads/{id}/score`: the breakdown alone, for the list's popover.
pub async fn fragment(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let id: LeadId = parse_id(&id).or_page(&ctx)?;
    let score = store::breakdown(&ctx.app.store, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    let html = ScoreFragment { score }
        .render()
        .map_err(|e| ctx.fail(AppError::Internal(anyhow::anyhow!(e))))?;
    Ok(Html(html).into_response())
}

struct RuleRow {
    fid: String,
    name_field: String,
    points_field: String,
    name: String,
    points: String,
    conditions: Vec<CondRow>,
}

struct WeightRow {
    field: String,
    label: String,
    value: String,
}

struct ThresholdRow {
    fid: String,
    name_field: String,
    score_field: String,
    task_field: String,
    status_field: String,
    notify_field: String,
    name: String,
    score: String,
    task: String,
    status_options: Vec<Opt>,
    notify: bool,
}

#[derive(Template)]
#[template(path = "web/scoring_settings.html")]
struct SettingsPage {
    layout: Layout,
    can_update: bool,
    rules: Vec<RuleRow>,
    weights: Vec<WeightRow>,
    half_life: String,
    fit_weight: String,
    thresholds: Vec<ThresholdRow>,
    model_min_labelled: String,
    errors: FormErrors,
}

/// The settings in the form's names: rule `i` is `r{i}_name`, `r{i}_points` and condition rows
/// `r{i}c{j}`; signal weights `w_{signal}`; threshold `i` is `t{i}_…`.
fn fields_of(input: &ScoringInput) -> Fields {
    let mut f = Fields::new();
    for (i, rule) in input.fit_rules.iter().flatten().enumerate() {
        f.insert(format!("r{i}_name"), rule.name.clone().unwrap_or_default());
        f.insert(
            format!("r{i}_points"),
            rule.points.map(|p| p.to_string()).unwrap_or_default(),
        );
        for (j, c) in rule.conditions.iter().flatten().enumerate() {
            conditions::write(&mut f, &format!("r{i}c{j}"), c);
        }
    }
    for (name, weight) in input.engagement_weights.iter().flatten() {
        f.insert(format!("w_{name}"), weight.to_string());
    }
    let number = |n: Option<i64>| n.map(|n| n.to_string()).unwrap_or_default();
    f.insert("half_life_days".into(), number(input.half_life_days));
    f.insert("fit_weight".into(), number(input.fit_weight));
    f.insert(
        "model_min_labelled".into(),
        number(input.model_min_labelled),
    );
    for (i, t) in input.thresholds.iter().flatten().enumerate() {
        f.insert(format!("t{i}_name"), t.name.clone().unwrap_or_default());
        f.insert(format!("t{i}_score"), number(t.score));
        f.insert(
            format!("t{i}_task"),
            t.create_task.clone().unwrap_or_default(),
        );
        f.insert(
            format!("t{i}_status"),
            t.set_status.clone().unwrap_or_default(),
        );
        if t.notify_owner == Some(true) {
            f.insert(format!("t{i}_notify"), "true".into());
        }
    }
    f
}

/// How many of `prefix{i}_{part}` the form holds.
fn count(form: &Fields, prefix: &str, part: &str) -> usize {
    (0..1000)
        .take_while(|i| form.contains_key(&format!("{prefix}{i}_{part}")))
        .count()
}

/// A whole number as typed; anything else is kept for the validator to name (as an
/// impossible value).
pub(super) fn number(text: &str, field: &str, errors: &mut FormErrors) -> Option<i64> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match text.parse() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.add(field, "must be a whole number");
            None
        }
    }
}

/// Where each API place went in the form: `fit_rules[k]` is rule row `rules[k]`, its
/// conditions `conditions[k][j]`; `thresholds[k]` is threshold row `thresholds[k]`.
pub struct Places {
    rules: Vec<usize>,
    conditions: Vec<Vec<usize>>,
    thresholds: Vec<usize>,
}

/// The settings the form describes (blank rows left out).
fn input_of(form: &Fields, errors: &mut FormErrors) -> (ScoringInput, Places) {
    let mut places = Places {
        rules: Vec::new(),
        conditions: Vec::new(),
        thresholds: Vec::new(),
    };
    let mut rules = Vec::new();
    for i in 0..count(form, "r", "name") {
        let prefix = format!("r{i}");
        let mut conds = Vec::new();
        let mut rows = Vec::new();
        for j in 0..count(form, &format!("{prefix}c"), "op") {
            if let Some(c) = conditions::read(form, &format!("{prefix}c{j}")) {
                conds.push(c);
                rows.push(j);
            }
        }
        let name = get(form, &format!("{prefix}_name")).trim();
        let points = get(form, &format!("{prefix}_points"));
        if name.is_empty() && points.trim().is_empty() && conds.is_empty() {
            continue;
        }
        rules.push(FitRuleInput {
            name: Some(name.to_owned()),
            conditions: Some(conds),
            points: number(points, &format!("{prefix}_points"), errors).or(Some(0)),
        });
        places.rules.push(i);
        places.conditions.push(rows);
    }
    let mut weights = BTreeMap::new();
    for s in SIGNALS {
        let field = format!("w_{}", s.name);
        if let Some(w) = number(get(form, &field), &field, errors) {
            weights.insert(s.name.to_owned(), w);
        }
    }
    let mut thresholds = Vec::new();
    for i in 0..count(form, "t", "name") {
        let name = get(form, &format!("t{i}_name")).trim();
        let score = get(form, &format!("t{i}_score"));
        if name.is_empty() && score.trim().is_empty() {
            continue;
        }
        let text = |part: &str| {
            Some(get(form, &format!("t{i}_{part}")).trim().to_owned()).filter(|t| !t.is_empty())
        };
        thresholds.push(ThresholdInput {
            name: Some(name.to_owned()),
            score: number(score, &format!("t{i}_score"), errors).or(Some(0)),
            create_task: text("task"),
            set_status: text("status"),
            notify_owner: Some(get(form, &format!("t{i}_notify")) == "true"),
        });
        places.thresholds.push(i);
    }
    let input = ScoringInput {
        fit_rules: Some(rules),
        engagement_weights: Some(weights),
        half_life_days: number(get(form, "half_life_days"), "half_life_days", errors),
        fit_weight: number(get(form, "fit_weight"), "fit_weight", errors),
        thresholds: Some(thresholds),
        model_min_labelled: number(
            get(form, "model_min_labelled"),
            "model_min_labelled",
            errors,
        ),
    };
    (input, places)
}

/// `fit_rules[2].conditions[0].gte` → `r3c1_gte`, as the form placed them.
fn form_field(api: &str, places: &Places) -> Option<String> {
    let indexed = |rest: &str| -> Option<(usize, String)> {
        let (index, part) = rest.split_once("].")?;
        Some((index.parse().ok()?, part.to_owned()))
    };
    if let Some(rest) = api.strip_prefix("fit_rules[") {
        let (k, part) = indexed(rest)?;
        let row = *places.rules.get(k)?;
        if let Some(rest) = part.strip_prefix("conditions[") {
            let (j, part) = indexed(rest)?;
            let j = *places.conditions.get(k)?.get(j)?;
            return Some(conditions::field_name(&format!("r{row}c{j}"), &part));
        }
        return Some(format!("r{row}_{part}"));
    }
    if let Some(rest) = api.strip_prefix("thresholds[") {
        let (k, part) = indexed(rest)?;
        let row = *places.thresholds.get(k)?;
        let part = match part.as_str() {
            "create_task" => "task",
            "set_status" => "status",
            "notify_owner" => "notify",
            other => other,
        };
        return Some(format!("t{row}_{part}"));
    }
    if let Some(signal) = api.strip_prefix("engagement_weights.") {
        return Some(format!("w_{signal}"));
    }
    None
}

fn page(ctx: &Ctx, form: &Fields, errors: FormErrors) -> SettingsPage {
    let rule_rows = count(form, "r", "name") + SPARE_RULES;
    let rules = (0..rule_rows)
        .map(|i| {
            let prefix = format!("r{i}");
            let filled = count(form, &format!("{prefix}c"), "op");
            let used = (0..filled)
                .filter(|j| !get(form, &format!("{prefix}c{j}_op")).is_empty())
                .count();
            RuleRow {
                fid: prefix.clone(),
                name_field: format!("{prefix}_name"),
                points_field: format!("{prefix}_points"),
                name: get(form, &format!("{prefix}_name")).to_owned(),
                points: get(form, &format!("{prefix}_points")).to_owned(),
                conditions: (0..filled.max(used + 1))
                    .map(|j| conditions::row(form, &format!("{prefix}c{j}"), j))
                    .collect(),
            }
        })
        .collect();
    let mut status_items = vec![(String::new(), "Leave it".to_owned())];
    status_items.extend(STATUSES.iter().map(|s| ((*s).to_owned(), (*s).to_owned())));
    let thresholds = (0..count(form, "t", "name") + SPARE_THRESHOLDS)
        .map(|i| ThresholdRow {
            fid: format!("t{i}"),
            name_field: format!("t{i}_name"),
            score_field: format!("t{i}_score"),
            task_field: format!("t{i}_task"),
            status_field: format!("t{i}_status"),
            notify_field: format!("t{i}_notify"),
            name: get(form, &format!("t{i}_name")).to_owned(),
            score: get(form, &format!("t{i}_score")).to_owned(),
            task: get(form, &format!("t{i}_task")).to_owned(),
            status_options: options(status_items.clone(), get(form, &format!("t{i}_status"))),
            notify: get(form, &format!("t{i}_notify")) == "true",
        })
        .collect();
    SettingsPage {
        layout: ctx.layout("Lead scoring"),
        can_update: ctx.can(
            rivet_domain::Resource::Settings,
            rivet_domain::Action::Update,
        ),
        rules,
        weights: SIGNALS
            .iter()
            .map(|s| WeightRow {
                field: format!("w_{}", s.name),
                label: s.label.to_owned(),
                value: get(form, &format!("w_{}", s.name)).to_owned(),
            })
            .collect(),
        half_life: get(form, "half_life_days").to_owned(),
        fit_weight: get(form, "fit_weight").to_owned(),
        thresholds,
        model_min_labelled: get(form, "model_min_labelled").to_owned(),
        errors,
    }
}

impl SettingsForm for ScoringConfig {
    const PAGE: &'static str = PAGE;
    const SAVED: &'static str = "Scoring saved. Every lead is being rescored in the background.";
    type Places = Places;

    fn form_of(input: &ScoringInput) -> Fields {
        fields_of(input)
    }

    fn input_of(form: &Fields, errors: &mut FormErrors) -> (ScoringInput, Places) {
        input_of(form, errors)
    }

    fn page(ctx: &Ctx, form: &Fields, errors: FormErrors) -> impl Template {
        page(ctx, form, errors)
    }

    /// Every field of the form (the API's places are renamed by [`form_field`]).
    fn fields(form: &Fields) -> Vec<String> {
        form.keys().cloned().collect()
    }

    /// A place the form has is named as the form names it; another keeps the API's name and
    /// says it in the message (which goes to the top).
    fn to_form(e: FieldError, places: &Places) -> FieldError {
        match form_field(&e.field, places) {
            Some(field) => FieldError {
                field,
                message: e.message,
            },
            None => FieldError {
                message: format!("{}: {}", e.field, e.message),
                field: e.field,
            },
        }
    }
}

/// `POST /admin/scoring/rescore`.
pub async fn rescore(ctx: Ctx) -> Result<Response, WebError> {
    let job = rivet_store::jobs::NewJob::new(
        store::RESCORE_JOB,
        serde_json::json!({"cause": "asked for"}),
    )
    .for_company(ctx.actor.company_id);
    rivet_store::jobs::enqueue_now(&ctx.app.store, job)
        .await
        .or_page(&ctx)?;
    Ok(ctx.done(PAGE, "Every lead is being rescored in the background."))
}
