//! Administration › Duplicate rules: a company's duplicate rules and default country
//! (`rivet_store::duplicates::{settings, put_settings}`, checked by
//! `DuplicateSettings::validate` as `PUT /api/v1/duplicates/settings` checks them). One row per
//! kind of rule: on or off, its action, its threshold (similarity rules), what it compares
//! with, and its place in the order.

use super::view::{Ctx, FormErrors, Layout, WebError, WebForm};
use askama::Template;
use axum::http::StatusCode;
use axum::response::Response;
use rivet_domain::duplicates::{
    DEFAULT_THRESHOLD, DuplicateSettings, MatchAction, MatchEntity, MatchRule, MatchRuleKind,
};
use rivet_domain::{Action, Resource};
use rivet_store::duplicates;
use std::collections::HashMap;

/// One kind of rule as the page shows it.
pub struct RuleRow {
    pub kind: &'static str,
    pub label: &'static str,
    pub on: bool,
    pub action: &'static str,
    pub threshold: String,
    pub exact: bool,
    pub leads: bool,
    pub contacts: bool,
    pub position: usize,
}

fn label(kind: MatchRuleKind) -> &'static str {
    match kind {
        MatchRuleKind::ExactEmail => "Same e-mail address (case, Gmail dots and +tags ignored)",
        MatchRuleKind::ExactPhone => "Same phone number (E.164)",
        MatchRuleKind::DomainAndName => "Same company domain and a similar name",
        MatchRuleKind::FuzzyNameAndCompany => "Similar name and similar company name",
    }
}

fn rows(settings: &DuplicateSettings) -> Vec<RuleRow> {
    let mut rows: Vec<RuleRow> = MatchRuleKind::ALL
        .iter()
        .map(|kind| {
            let at = settings.rules.iter().position(|r| r.kind == *kind);
            let rule = at.map(|i| &settings.rules[i]);
            RuleRow {
                kind: kind.as_str(),
                label: label(*kind),
                on: rule.is_some(),
                action: rule.map_or(MatchAction::Warn, |r| r.action).as_str(),
                threshold: match rule.and_then(|r| r.threshold) {
                    Some(t) => t.to_string(),
                    None if kind.is_exact() => String::new(),
                    None => DEFAULT_THRESHOLD.to_string(),
                },
                exact: kind.is_exact(),
                leads: rule.is_none_or(|r| r.against.contains(&MatchEntity::Leads)),
                contacts: rule.is_none_or(|r| r.against.contains(&MatchEntity::Contacts)),
                position: at.map_or(settings.rules.len() + 1, |i| i + 1),
            }
        })
        .collect();
    rows.sort_by_key(|r| (!r.on, r.position));
    rows
}

#[derive(Template)]
#[template(path = "web/duplicate_rules.html")]
struct RulesPage {
    layout: Layout,
    rules: Vec<RuleRow>,
    actions: &'static [&'static str],
    default_country: String,
    can_update: bool,
    errors: FormErrors,
}

fn page(ctx: &Ctx, settings: &DuplicateSettings, errors: FormErrors) -> RulesPage {
    RulesPage {
        layout: ctx.layout("Duplicate rules"),
        rules: rows(settings),
        actions: MatchAction::NAMES,
        default_country: settings.default_country.clone().unwrap_or_default(),
        can_update: ctx.can(Resource::Settings, Action::Update),
        errors,
    }
}

/// `GET /admin/duplicate-rules`.
pub async fn show(ctx: Ctx) -> Result<Response, WebError> {
    let settings = duplicates::settings(&ctx.app.store, &ctx.actor).await?;
    Ok(ctx.render(&page(&ctx, &settings, FormErrors::new())))
}

/// The settings the posted page describes: the rules that are on, by their position.
fn posted(values: &HashMap<String, String>) -> Result<DuplicateSettings, FormErrors> {
    let mut errors = FormErrors::new();
    let on = |key: String| values.get(&key).is_some_and(|v| !v.is_empty());
    let mut rules: Vec<(usize, MatchRule)> = Vec::new();
    for kind in MatchRuleKind::ALL {
        let k = kind.as_str();
        if !on(format!("on_{k}")) {
            continue;
        }
        let action = values
            .get(&format!("action_{k}"))
            .and_then(|a| a.parse().ok())
            .unwrap_or(MatchAction::Warn);
        let threshold = match values.get(&format!("threshold_{k}")).map(|t| t.trim()) {
            _ if kind.is_exact() => None,
            None | Some("") => None,
            Some(t) => match t.parse::<f64>() {
                Ok(t) => Some(t),
                Err(_) => {
                    errors.add(&format!("threshold_{k}"), "must be a number from 0 to 1");
                    None
                }
            },
        };
        let against = [
            (MatchEntity::Leads, on(format!("leads_{k}"))),
            (MatchEntity::Contacts, on(format!("contacts_{k}"))),
        ]
        .into_iter()
        .filter_map(|(e, on)| on.then_some(e))
        .collect();
        let position = values
            .get(&format!("position_{k}"))
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or(usize::MAX);
        rules.push((
            position,
            MatchRule {
                kind: *kind,
                action,
                threshold,
                against,
            },
        ));
    }
    rules.sort_by_key(|(position, _)| *position);
    let country = values
        .get("default_country")
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(DuplicateSettings {
        default_country: country,
        rules: rules.into_iter().map(|(_, r)| r).collect(),
    })
}

/// `POST /admin/duplicate-rules`.
pub async fn save(
    ctx: Ctx,
    WebForm(values): WebForm<HashMap<String, String>>,
) -> Result<Response, WebError> {
    let before = duplicates::settings(&ctx.app.store, &ctx.actor).await?;
    let checked = posted(&values).and_then(|s| {
        s.validate().map_err(|e| {
            let mut errors = FormErrors::new();
            for error in e.0 {
                // `rules[1].threshold` names a place in the saved order; the page names the kind.
                errors.add_general(format!("{}: {}", error.field, error.message));
            }
            errors
        })
    });
    match checked {
        Ok(settings) => {
            duplicates::put_settings(&ctx.app.store, &ctx.actor, &settings).await?;
            Ok(ctx.done("/admin/duplicate-rules", "Saved the duplicate rules."))
        }
        Err(errors) => Ok(ctx.render_status(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page(&ctx, &before, errors),
        )),
    }
}
