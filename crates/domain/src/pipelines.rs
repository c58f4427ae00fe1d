//! Pipelines and their stages: the forecast category and outcome of a stage, probability bounds,
//! the default "Sales" pipeline every company starts with, and the ordering rules (positions are
//! 1-based and contiguous; a pipeline always keeps an open, a won and a lost stage).
//!
//! Only rules live here; storage is in `rivet_store::pipelines`, HTTP in the server crate.

use crate::choices::choice_enum;
use crate::ids::StageId;
use crate::validate::{FieldErrors, parse_name};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Longest pipeline or stage name.
pub const NAME_MAX: usize = 100;
/// Most stages one pipeline may have; a board with more columns is no longer readable.
pub const MAX_STAGES: usize = 50;
/// The name of the pipeline a new company gets.
pub const DEFAULT_PIPELINE_NAME: &str = "Sales";

choice_enum!(
    /// Where a deal in this stage counts in the forecast.
    ForecastCategory {
        Pipeline => "pipeline",
        BestCase => "best_case",
        Commit => "commit",
        Closed => "closed",
        Omitted => "omitted",
    }
);

choice_enum!(
    /// Whether a deal in this stage is still open, or closed won or lost.
    StageOutcome {
        Open => "open",
        Won => "won",
        Lost => "lost",
    }
);

/// The highest win probability, in percent.
pub const PROBABILITY_MAX: u8 = 100;

/// A win probability in percent, 0 to [`PROBABILITY_MAX`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Probability(u8);

impl Probability {
    pub fn parse(value: i64) -> Result<Self, String> {
        u8::try_from(value)
            .ok()
            .filter(|p| *p <= PROBABILITY_MAX)
            .map(Self)
            .ok_or_else(|| "must be between 0 and 100".to_owned())
    }

    pub fn value(self) -> u8 {
        self.0
    }
}

/// A valid stage, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageSpec {
    pub name: String,
    pub probability: Probability,
    pub forecast_category: ForecastCategory,
    pub outcome: StageOutcome,
}

/// A stage as a client sends it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StageInput {
    #[schema(schema_with = crate::validate::names::name_100)]
    pub name: String,
    /// Default win probability of deals in this stage, 0 to 100.
    pub probability: i64,
    /// One of pipeline, best_case, commit, closed, omitted.
    pub forecast_category: String,
    /// One of open (the default), won, lost.
    pub outcome: Option<String>,
}

impl StageInput {
    /// Validate into a [`StageSpec`], recording errors under `prefix` (`""` or `"stages[2]."`).
    pub fn parse(&self, prefix: &str, errors: &mut FieldErrors) -> Option<StageSpec> {
        let name = errors.check(&format!("{prefix}name"), parse_name(&self.name, NAME_MAX));
        let probability = errors.check(
            &format!("{prefix}probability"),
            Probability::parse(self.probability),
        );
        let forecast_category = errors.check(
            &format!("{prefix}forecast_category"),
            self.forecast_category.parse::<ForecastCategory>(),
        );
        let outcome = match &self.outcome {
            Some(text) => errors.check(&format!("{prefix}outcome"), text.parse::<StageOutcome>()),
            None => Some(StageOutcome::Open),
        };
        Some(StageSpec {
            name: name?,
            probability: probability?,
            forecast_category: forecast_category?,
            outcome: outcome?,
        })
    }
}

/// Validate the stages of a new pipeline: each stage, unique names, and the outcome rule.
pub fn parse_stages(inputs: &[StageInput]) -> Result<Vec<StageSpec>, FieldErrors> {
    let mut errors = FieldErrors::new();
    if inputs.len() > MAX_STAGES {
        errors.add("stages", format!("must have at most {MAX_STAGES} stages"));
        return Err(errors);
    }
    let mut specs = Vec::with_capacity(inputs.len());
    let mut names = HashSet::new();
    for (i, input) in inputs.iter().enumerate() {
        if let Some(spec) = input.parse(&format!("stages[{i}]."), &mut errors) {
            if !names.insert(spec.name.to_lowercase()) {
                errors.add(&format!("stages[{i}].name"), "is used by another stage");
            }
            specs.push(spec);
        }
    }
    errors.into_result()?;
    if let Err(message) = check_outcomes(specs.iter().map(|s| s.outcome)) {
        return Err(FieldErrors::single("stages", message));
    }
    Ok(specs)
}

/// A pipeline must be able to hold an open deal and close it either way.
pub fn check_outcomes(outcomes: impl IntoIterator<Item = StageOutcome>) -> Result<(), String> {
    let present: HashSet<StageOutcome> = outcomes.into_iter().collect();
    let missing: Vec<&str> = [StageOutcome::Open, StageOutcome::Won, StageOutcome::Lost]
        .into_iter()
        .filter(|o| !present.contains(o))
        .map(StageOutcome::as_str)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "a pipeline needs at least one open, one won and one lost stage (missing: {})",
            missing.join(", ")
        ))
    }
}

/// The stages of the default pipeline, in order.
pub fn default_stages() -> Vec<StageSpec> {
    use ForecastCategory as F;
    use StageOutcome as O;
    [
        ("Qualification", 10, F::Pipeline, O::Open),
        ("Needs analysis", 20, F::Pipeline, O::Open),
        ("Proposal", 50, F::BestCase, O::Open),
        ("Negotiation", 80, F::Commit, O::Open),
        ("Closed won", 100, F::Closed, O::Won),
        ("Closed lost", 0, F::Omitted, O::Lost),
    ]
    .into_iter()
    .map(|(name, p, forecast_category, outcome)| StageSpec {
        name: name.to_owned(),
        probability: Probability(p),
        forecast_category,
        outcome,
    })
    .collect()
}

/// Insert `id` at 1-based `position` (the end when `None`); positions 1 to len + 1 are valid.
pub fn insert_at(
    order: &mut Vec<StageId>,
    id: StageId,
    position: Option<i64>,
) -> Result<(), String> {
    let index = match position {
        None => order.len(),
        Some(p) => index_of(p, order.len() + 1)?,
    };
    order.insert(index, id);
    Ok(())
}

/// Move `id` to 1-based `position`, shifting the stages in between.
pub fn move_to(order: &mut Vec<StageId>, id: StageId, position: i64) -> Result<(), String> {
    let index = index_of(position, order.len())?;
    let Some(from) = order.iter().position(|s| *s == id) else {
        return Err("is not a stage of this pipeline".to_owned());
    };
    let moved = order.remove(from);
    order.insert(index, moved);
    Ok(())
}

fn index_of(position: i64, slots: usize) -> Result<usize, String> {
    usize::try_from(position)
        .ok()
        .filter(|p| (1..=slots).contains(p))
        .map(|p| p - 1)
        .ok_or_else(|| format!("must be between 1 and {slots}"))
}

/// A new order must name every current stage exactly once.
pub fn check_reorder(current: &[StageId], proposed: &[StageId]) -> Result<(), String> {
    let wanted: HashSet<&StageId> = current.iter().collect();
    let mut seen = HashSet::new();
    for id in proposed {
        if !wanted.contains(id) {
            return Err(format!("{id} is not a stage of this pipeline"));
        }
        if !seen.insert(id) {
            return Err(format!("{id} is listed twice"));
        }
    }
    if seen.len() != wanted.len() {
        return Err(format!(
            "must list all {} stages of the pipeline exactly once",
            wanted.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn input(name: &str, probability: i64, category: &str, outcome: Option<&str>) -> StageInput {
        StageInput {
            name: name.to_owned(),
            probability,
            forecast_category: category.to_owned(),
            outcome: outcome.map(str::to_owned),
        }
    }

    #[test]
    fn probabilities_are_percentages() {
        assert!(Probability::parse(0).is_ok());
        assert!(Probability::parse(100).is_ok());
        assert!(Probability::parse(-1).is_err());
        assert!(Probability::parse(101).is_err());
        assert!(Probability::parse(i64::MAX).is_err());
    }

    #[test]
    fn categories_and_outcomes_round_trip() {
        for c in ForecastCategory::NAMES {
            assert_eq!(c.parse::<ForecastCategory>().map(|c| c.as_str()), Ok(*c));
        }
        assert!("maybe".parse::<ForecastCategory>().is_err());
        assert_eq!("won".parse::<StageOutcome>(), Ok(StageOutcome::Won));
    }

    #[test]
    fn the_default_pipeline_can_open_win_and_lose() {
        let stages = default_stages();
        assert_eq!(stages.len(), 6);
        assert!(check_outcomes(stages.iter().map(|s| s.outcome)).is_ok());
    }

    #[test]
    fn stage_errors_name_their_field() {
        let err = parse_stages(&[
            input("", 5, "pipeline", None),
            input("Won", 101, "nope", Some("won")),
        ])
        .unwrap_err();
        let fields: Vec<&str> = err.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "stages[0].name",
                "stages[1].probability",
                "stages[1].forecast_category"
            ]
        );
    }

    #[test]
    fn a_pipeline_without_a_lost_stage_is_refused() {
        let err = parse_stages(&[
            input("Open", 10, "pipeline", None),
            input("Won", 100, "closed", Some("won")),
        ])
        .unwrap_err();
        assert_eq!(err.0[0].field, "stages");
        assert!(err.0[0].message.contains("lost"));
    }

    #[test]
    fn duplicate_stage_names_are_refused() {
        let err = parse_stages(&[
            input("A", 10, "pipeline", None),
            input("a", 100, "closed", Some("won")),
            input("L", 0, "omitted", Some("lost")),
        ])
        .unwrap_err();
        assert_eq!(err.0[0].field, "stages[1].name");
    }

    #[test]
    fn stages_move_and_insert_by_one_based_position() {
        let [a, b, c, d] = [
            StageId::new(),
            StageId::new(),
            StageId::new(),
            StageId::new(),
        ];
        let mut order = vec![a, b, c];
        move_to(&mut order, c, 1).unwrap();
        assert_eq!(order, [c, a, b]);
        move_to(&mut order, c, 3).unwrap();
        assert_eq!(order, [a, b, c]);
        assert!(move_to(&mut order, c, 0).is_err());
        assert!(move_to(&mut order, c, 4).is_err());
        insert_at(&mut order, d, Some(2)).unwrap();
        assert_eq!(order, [a, d, b, c]);
        assert!(insert_at(&mut order, d, Some(6)).is_err());
    }

    #[test]
    fn a_new_order_names_every_stage_once() {
        let [a, b] = [StageId::new(), StageId::new()];
        assert!(check_reorder(&[a, b], &[b, a]).is_ok());
        assert!(check_reorder(&[a, b], &[a]).is_err());
        assert!(check_reorder(&[a, b], &[a, a]).is_err());
        assert!(check_reorder(&[a, b], &[a, b, StageId::new()]).is_err());
    }
}
