//! BANT and MEDDICC as a checklist (issue 14 §2), the same on leads and deals: eleven elements,
//! each with a status (unknown / identified / confirmed), a note (the record's text field of the
//! element's name, e.g. `budget`) and, where it fits, a typed value — the budget's amount and
//! currency, the timeline's date, the economic buyer and the champion as contacts.
//!
//! A record's input carries these as flat fields (`budget`, `budget_status`, `budget_amount`,
//! `budget_currency`, …), declared here once ([`ELEMENTS`], [`VALUE_FIELDS`]); the record turns
//! them into a [`ChecklistInput`] and gets back a valid [`Checklist`]. From it follow the BANT
//! score (each element 0–25), the MEDDICC completeness (elements known, in percent) and strength
//! (points earned, in percent), and the items a page shows with what each one still lacks.
//! Pure: storage and HTTP are elsewhere.

use crate::choices::choice_enum;
use crate::ids::ContactId;
use crate::validate::FieldErrors;
use crate::values::{Money, parse_currency};
use serde::Serialize;

choice_enum!(
    /// How much is known of one element.
    ElementStatus {
        Unknown => "unknown",
        Identified => "identified",
        Confirmed => "confirmed",
    }
);

choice_enum!(
    /// The qualification framework an element belongs to.
    Framework {
        Bant => "bant",
        Meddicc => "meddicc",
    }
);

/// The typed value an element may carry besides its note.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueKind {
    /// `<name>_amount` and `<name>_currency`.
    Money,
    /// `<name>_date`, `YYYY-MM-DD`.
    Date,
    /// `<name>_contact_id`: a contact of the company.
    Contact,
}

/// One element of BANT or MEDDICC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Element {
    /// The element's name: also its note's field.
    pub name: &'static str,
    /// The field of its status.
    pub status_field: &'static str,
    pub label: &'static str,
    pub framework: Framework,
    /// What a seller should find out, in a line.
    pub question: &'static str,
    pub value: Option<ValueKind>,
}

const fn element(
    name: &'static str,
    status_field: &'static str,
    label: &'static str,
    framework: Framework,
    question: &'static str,
    value: Option<ValueKind>,
) -> Element {
    Element {
        name,
        status_field,
        label,
        framework,
        question,
        value,
    }
}

/// Every element, BANT's four then MEDDICC's seven, in the order pages show them.
pub const ELEMENTS: &[Element] = &[
    element(
        "budget",
        "budget_status",
        "Budget",
        Framework::Bant,
        "Is money set aside, and how much?",
        Some(ValueKind::Money),
    ),
    element(
        "authority",
        "authority_status",
        "Authority",
        Framework::Bant,
        "Who signs, and are they involved?",
        None,
    ),
    element(
        "need",
        "need_status",
        "Need",
        Framework::Bant,
        "What problem must this solve?",
        None,
    ),
    element(
        "timeline",
        "timeline_status",
        "Timeline",
        Framework::Bant,
        "By when must it be in place?",
        Some(ValueKind::Date),
    ),
    element(
        "metrics",
        "metrics_status",
        "Metrics",
        Framework::Meddicc,
        "Which measurable gain does the buyer expect?",
        None,
    ),
    element(
        "economic_buyer",
        "economic_buyer_status",
        "Economic buyer",
        Framework::Meddicc,
        "Who controls the money?",
        Some(ValueKind::Contact),
    ),
    element(
        "decision_criteria",
        "decision_criteria_status",
        "Decision criteria",
        Framework::Meddicc,
        "What will the choice be judged on?",
        None,
    ),
    element(
        "decision_process",
        "decision_process_status",
        "Decision process",
        Framework::Meddicc,
        "Which steps and people lead to a signature?",
        None,
    ),
    element(
        "identified_pain",
        "identified_pain_status",
        "Identified pain",
        Framework::Meddicc,
        "What hurts enough to act on?",
        None,
    ),
    element(
        "champion",
        "champion_status",
        "Champion",
        Framework::Meddicc,
        "Who sells for us inside?",
        Some(ValueKind::Contact),
    ),
    element(
        "competition",
        "competition_status",
        "Competition",
        Framework::Meddicc,
        "Who else is being considered?",
        None,
    ),
];

/// The typed value fields, as a client writes them.
pub const VALUE_FIELDS: &[&str] = &[
    "budget_amount",
    "budget_currency",
    "timeline_date",
    "economic_buyer_contact_id",
    "champion_contact_id",
];

/// What the checklist computes; a client cannot write them.
pub const COMPUTED_FIELDS: &[&str] = &["bant_score", "meddicc_completeness", "meddicc_strength"];

/// Points of a BANT element: identified 10, confirmed 20, and 5 more for its detail (a note or
/// its typed value), so each is worth 0 to 25 and the four together 0 to 100.
pub const BANT_IDENTIFIED: i32 = 10;
pub const BANT_CONFIRMED: i32 = 20;
pub const BANT_DETAIL: i32 = 5;
/// Points of a MEDDICC element toward its strength: identified 1, confirmed 2, detail 1.
const MEDDICC_MAX: i32 = 3;

/// A list field of one of the figures: at least, at most; sortable.
pub const fn checklist_score<F>(name: &'static str, field: F) -> crate::query::FieldSpec<F> {
    use crate::query::{FieldKind, Op};
    crate::choices::spec(name, field, FieldKind::Int, &[Op::Gte, Op::Lte], true)
}

/// The element of `name`.
pub fn element_named(name: &str) -> Option<&'static Element> {
    ELEMENTS.iter().find(|e| e.name == name)
}

/// The checklist's fields as a client writes them: statuses by element (in [`ELEMENTS`]' order)
/// and the typed values.
#[derive(Debug, Clone, Default)]
pub struct ChecklistInput {
    /// One per element, in [`ELEMENTS`]' order (missing ones are unknown).
    pub statuses: Vec<Option<String>>,
    pub budget_amount: Option<String>,
    pub budget_currency: Option<String>,
    pub timeline_date: Option<String>,
    pub economic_buyer_contact_id: Option<ContactId>,
    pub champion_contact_id: Option<ContactId>,
    /// The computed fields the client sent (each is refused).
    pub computed_given: Vec<&'static str>,
}

/// Declares a record's input struct (`$body`: its own fields, each ending in a comma) with the
/// checklist's fields after its own: the notes, the statuses, the typed values and the computed
/// figures a client may not write. Leads and deals declare theirs with it.
macro_rules! with_checklist_fields {
    ($(#[$meta:meta])* $vis:vis struct $name:ident { $($body:tt)* }) => {
        $(#[$meta])*
        $vis struct $name {
            $($body)*
            /// The BANT and MEDDICC notes, one per element (a lead's carry over to its deal).
            pub budget: Option<String>,
            pub authority: Option<String>,
            pub need: Option<String>,
            pub timeline: Option<String>,
            pub metrics: Option<String>,
            pub economic_buyer: Option<String>,
            pub decision_criteria: Option<String>,
            pub decision_process: Option<String>,
            pub identified_pain: Option<String>,
            pub champion: Option<String>,
            pub competition: Option<String>,
            /// unknown, identified or confirmed; a note or a typed value makes an unknown element
            /// identified. One per BANT and MEDDICC element.
            pub budget_status: Option<String>,
            pub authority_status: Option<String>,
            pub need_status: Option<String>,
            pub timeline_status: Option<String>,
            pub metrics_status: Option<String>,
            pub economic_buyer_status: Option<String>,
            pub decision_criteria_status: Option<String>,
            pub decision_process_status: Option<String>,
            pub identified_pain_status: Option<String>,
            pub champion_status: Option<String>,
            pub competition_status: Option<String>,
            /// The budget as a decimal string; needs `budget_currency` (on a deal: the deal's
            /// currency when left out).
            pub budget_amount: Option<String>,
            /// ISO 4217.
            pub budget_currency: Option<String>,
            /// When the buyer needs it, `YYYY-MM-DD`.
            pub timeline_date: Option<String>,
            /// The economic buyer, a contact of the company.
            #[schema(value_type = Option<uuid::Uuid>)]
            pub economic_buyer_contact_id: Option<$crate::ids::ContactId>,
            /// The champion, a contact of the company.
            #[schema(value_type = Option<uuid::Uuid>)]
            pub champion_contact_id: Option<ContactId>,
            /// Computed from the checklist, 0–100 (read-only: a value given is refused).
            #[schema(minimum = 0, maximum = 100)]
            pub bant_score: Option<i32>,
            /// Computed from the checklist, 0–100 (read-only).
            #[schema(minimum = 0, maximum = 100)]
            pub meddicc_completeness: Option<i32>,
            /// Computed from the checklist, 0–100 (read-only).
            #[schema(minimum = 0, maximum = 100)]
            pub meddicc_strength: Option<i32>,
        }
    };
}

pub(crate) use with_checklist_fields;

/// The [`ChecklistInput`] of a record's input (`$input`), whose fields carry the checklist's
/// names: leads and deals read theirs with it.
macro_rules! checklist_input {
    ($input:expr) => {
        $crate::checklist::ChecklistInput {
            statuses: vec![
                $input.budget_status.clone(),
                $input.authority_status.clone(),
                $input.need_status.clone(),
                $input.timeline_status.clone(),
                $input.metrics_status.clone(),
                $input.economic_buyer_status.clone(),
                $input.decision_criteria_status.clone(),
                $input.decision_process_status.clone(),
                $input.identified_pain_status.clone(),
                $input.champion_status.clone(),
                $input.competition_status.clone(),
            ],
            budget_amount: $input.budget_amount.clone(),
            budget_currency: $input.budget_currency.clone(),
            timeline_date: $input.timeline_date.clone(),
            economic_buyer_contact_id: $input.economic_buyer_contact_id,
            champion_contact_id: $input.champion_contact_id,
            computed_given: $crate::checklist::COMPUTED_FIELDS
                .iter()
                .zip([
                    $input.bant_score.is_some(),
                    $input.meddicc_completeness.is_some(),
                    $input.meddicc_strength.is_some(),
                ])
                .filter_map(|(f, given)| given.then_some(*f))
                .collect(),
        }
    };
}

pub(crate) use checklist_input;

/// A valid checklist. An element with a note or a typed value is at least identified: a status
/// left unknown beside either is read as identified.
#[derive(Debug, Clone, PartialEq)]
pub struct Checklist {
    /// One per element, in [`ELEMENTS`]' order.
    pub statuses: Vec<ElementStatus>,
    pub budget: Option<Money>,
    /// `YYYY-MM-DD`.
    pub timeline_date: Option<String>,
    pub economic_buyer: Option<ContactId>,
    pub champion: Option<ContactId>,
}

impl Default for Checklist {
    fn default() -> Self {
        Self {
            statuses: vec![ElementStatus::Unknown; ELEMENTS.len()],
            budget: None,
            timeline_date: None,
            economic_buyer: None,
            champion: None,
        }
    }
}

fn clean(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

impl ChecklistInput {
    /// Check every value, adding what is wrong to `errors` by field. `has_note(name)` says
    /// whether the element's note is filled; `default_currency` is the budget's currency when
    /// none is given (a deal's; a lead has none, so its budget needs one).
    pub fn validate(
        self,
        has_note: &dyn Fn(&str) -> bool,
        default_currency: Option<&str>,
        errors: &mut FieldErrors,
    ) -> Checklist {
        for field in &self.computed_given {
            errors.add(
                field,
                "is computed from the BANT and MEDDICC checklist and cannot be written",
            );
        }
        let currency = match clean(self.budget_currency) {
            Some(c) => errors.check("budget_currency", parse_currency(&c)),
            None => default_currency.map(str::to_owned),
        };
        let budget = match clean(self.budget_amount) {
            Some(amount) => match currency {
                Some(currency) => match Money::parse(&amount, currency) {
                    Ok(m) if m.micros < 0 => {
                        errors.add("budget_amount", "must not be negative");
                        None
                    }
                    Ok(m) => Some(m),
                    Err(e) => {
                        errors.add("budget_amount", e);
                        None
                    }
                },
                None => {
                    if !errors.0.iter().any(|e| e.field == "budget_currency") {
                        errors.add("budget_currency", "is required with budget_amount");
                    }
                    None
                }
            },
            None => None,
        };
        let timeline_date = match clean(self.timeline_date) {
            Some(d) => errors.check("timeline_date", crate::deals::parse_date(&d)),
            None => None,
        };
        let mut checklist = Checklist {
            statuses: Vec::with_capacity(ELEMENTS.len()),
            budget,
            timeline_date,
            economic_buyer: self.economic_buyer_contact_id,
            champion: self.champion_contact_id,
        };
        for (i, element) in ELEMENTS.iter().enumerate() {
            let given = self.statuses.get(i).cloned().flatten();
            let status = match clean(given) {
                Some(s) => errors
                    .check(element.status_field, s.parse::<ElementStatus>())
                    .unwrap_or(ElementStatus::Unknown),
                None => ElementStatus::Unknown,
            };
            let known = has_note(element.name) || checklist.has_value(element);
            checklist
                .statuses
                .push(if status == ElementStatus::Unknown && known {
                    ElementStatus::Identified
                } else {
                    status
                });
        }
        checklist
    }
}

/// Puts the checklist's statuses and typed values into a record's fields as a client writes
/// them (what rules and gates read of a record).
pub fn insert_fields(checklist: &Checklist, map: &mut serde_json::Map<String, serde_json::Value>) {
    use serde_json::Value;
    for (element, status) in ELEMENTS.iter().zip(&checklist.statuses) {
        map.insert(element.status_field.into(), Value::from(status.as_str()));
    }
    let budget = checklist.budget.as_ref();
    map.insert(
        "budget_amount".into(),
        Value::from(budget.map(Money::amount)),
    );
    map.insert(
        "budget_currency".into(),
        Value::from(budget.map(|m| m.currency.clone())),
    );
    map.insert(
        "timeline_date".into(),
        Value::from(checklist.timeline_date.clone()),
    );
    for (field, id) in [
        ("economic_buyer_contact_id", checklist.economic_buyer),
        ("champion_contact_id", checklist.champion),
    ] {
        map.insert(field.into(), Value::from(id.map(|i| i.to_string())));
    }
}

/// The three figures the checklist gives a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ChecklistScores {
    /// 0–100: each BANT element 0–25.
    pub bant_score: i32,
    /// 0–100: the share of MEDDICC elements that are identified or confirmed.
    pub meddicc_completeness: i32,
    /// 0–100: the share of MEDDICC's points earned (identified 1, confirmed 2, detail 1 each).
    pub meddicc_strength: i32,
}

/// One line of the checklist, as a page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ChecklistItem {
    pub element: &'static str,
    pub framework: Framework,
    pub label: &'static str,
    pub question: &'static str,
    pub status: ElementStatus,
    pub note: Option<String>,
    /// The typed value as text (`50000.00 EUR`, `2027-03-31`, a contact's id); empty if none.
    pub value: Option<String>,
    /// Whether it has its detail: a note or its typed value.
    pub detailed: bool,
    pub points: i32,
    pub max_points: i32,
    /// What it still lacks, in words; empty when it is complete.
    pub missing: Option<String>,
}

/// Rounded percentage of `part` in `whole`.
fn percent(part: i32, whole: i32) -> i32 {
    if whole <= 0 {
        return 0;
    }
    (200 * part + whole) / (2 * whole)
}

impl Checklist {
    /// Whether `element` has its typed value.
    pub fn has_value(&self, element: &Element) -> bool {
        match element.name {
            "budget" => self.budget.is_some(),
            "timeline" => self.timeline_date.is_some(),
            "economic_buyer" => self.economic_buyer.is_some(),
            "champion" => self.champion.is_some(),
            _ => false,
        }
    }

    /// The typed value of `element` as text.
    pub fn value_text(&self, element: &Element) -> Option<String> {
        match element.name {
            "budget" => self
                .budget
                .as_ref()
                .map(|m| format!("{} {}", m.amount(), m.currency)),
            "timeline" => self.timeline_date.clone(),
            "economic_buyer" => self.economic_buyer.map(|c| c.to_string()),
            "champion" => self.champion.map(|c| c.to_string()),
            _ => None,
        }
    }

    /// The status of the element of `name` (unknown for a name that is none).
    pub fn status(&self, name: &str) -> ElementStatus {
        ELEMENTS
            .iter()
            .position(|e| e.name == name)
            .and_then(|i| self.statuses.get(i).copied())
            .unwrap_or(ElementStatus::Unknown)
    }

    /// Each element's line; `note(name)` is the element's note.
    pub fn items(&self, note: &dyn Fn(&str) -> Option<String>) -> Vec<ChecklistItem> {
        ELEMENTS
            .iter()
            .zip(&self.statuses)
            .map(|(element, &status)| {
                let note = note(element.name);
                let detailed = note.is_some() || self.has_value(element);
                let (points, max_points) = points(element.framework, status, detailed);
                ChecklistItem {
                    element: element.name,
                    framework: element.framework,
                    label: element.label,
                    question: element.question,
                    status,
                    value: self.value_text(element),
                    note,
                    detailed,
                    points,
                    max_points,
                    missing: missing(element, status, detailed, self.has_value(element)),
                }
            })
            .collect()
    }

    /// The BANT score and MEDDICC completeness and strength; `has_note(name)` says whether the
    /// element's note is filled.
    pub fn scores(&self, has_note: &dyn Fn(&str) -> bool) -> ChecklistScores {
        let mut bant = 0;
        let (mut known, mut earned, mut count) = (0, 0, 0);
        for (element, &status) in ELEMENTS.iter().zip(&self.statuses) {
            let detailed = has_note(element.name) || self.has_value(element);
            let (points, _) = points(element.framework, status, detailed);
            match element.framework {
                Framework::Bant => bant += points,
                Framework::Meddicc => {
                    count += 1;
                    earned += points;
                    if status != ElementStatus::Unknown {
                        known += 1;
                    }
                }
            }
        }
        ChecklistScores {
            bant_score: bant,
            meddicc_completeness: percent(known, count),
            meddicc_strength: percent(earned, count * MEDDICC_MAX),
        }
    }
}

/// An element's points and the most it can earn.
fn points(framework: Framework, status: ElementStatus, detailed: bool) -> (i32, i32) {
    let detailed = status != ElementStatus::Unknown && detailed;
    match framework {
        Framework::Bant => {
            let base = match status {
                ElementStatus::Unknown => 0,
                ElementStatus::Identified => BANT_IDENTIFIED,
                ElementStatus::Confirmed => BANT_CONFIRMED,
            };
            (
                base + if detailed { BANT_DETAIL } else { 0 },
                BANT_CONFIRMED + BANT_DETAIL,
            )
        }
        Framework::Meddicc => {
            let base = match status {
                ElementStatus::Unknown => 0,
                ElementStatus::Identified => 1,
                ElementStatus::Confirmed => 2,
            };
            (base + i32::from(detailed), MEDDICC_MAX)
        }
    }
}

/// What an element lacks, in words.
fn missing(
    element: &Element,
    status: ElementStatus,
    detailed: bool,
    has_value: bool,
) -> Option<String> {
    let value = match (element.value, has_value) {
        (Some(ValueKind::Money), false) => Some("no amount"),
        (Some(ValueKind::Date), false) => Some("no date"),
        (Some(ValueKind::Contact), false) => Some("no contact named"),
        _ => None,
    };
    let mut lacks = Vec::new();
    match status {
        ElementStatus::Unknown => lacks.push("not identified yet"),
        ElementStatus::Identified => lacks.push("not confirmed"),
        ElementStatus::Confirmed => {}
    }
    if let Some(value) = value {
        lacks.push(value);
    } else if !detailed {
        lacks.push("no note");
    }
    (!lacks.is_empty()).then(|| lacks.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(statuses: &[(&str, &str)]) -> ChecklistInput {
        ChecklistInput {
            statuses: ELEMENTS
                .iter()
                .map(|e| {
                    statuses
                        .iter()
                        .find(|(n, _)| *n == e.name)
                        .map(|(_, s)| (*s).to_owned())
                })
                .collect(),
            ..ChecklistInput::default()
        }
    }

    fn valid(input: ChecklistInput, notes: &[&str]) -> Checklist {
        let mut errors = FieldErrors::new();
        let checklist = input.validate(&|n| notes.contains(&n), None, &mut errors);
        assert!(errors.is_empty(), "{errors:?}");
        checklist
    }

    #[test]
    fn every_element_names_its_status_field_and_the_names_are_unique() {
        for e in ELEMENTS {
            assert_eq!(e.status_field, format!("{}_status", e.name));
        }
        let mut names: Vec<_> = ELEMENTS.iter().map(|e| e.name).collect();
        names.dedup();
        assert_eq!(names.len(), 11);
        assert_eq!(
            ELEMENTS
                .iter()
                .filter(|e| e.framework == Framework::Bant)
                .count(),
            4
        );
    }

    /// Each element's status and note reach its place in the checklist from a lead's and a
    /// deal's input alike (the macros read the fields in [`ELEMENTS`]' order).
    #[test]
    fn each_status_and_note_lands_on_its_element_from_both_inputs() {
        for element in ELEMENTS {
            let body = |pairs: [(&str, &str); 2]| {
                serde_json::Value::Object(
                    pairs
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), serde_json::Value::from(v)))
                        .collect(),
                )
            };
            let lead: Result<crate::leads::LeadInput, _> = serde_json::from_value(body([
                ("last_name", "Doe"),
                (element.status_field, "confirmed"),
            ]));
            let deal: Result<crate::deals::DealInput, _> =
                serde_json::from_value(body([("name", "Fleet"), (element.name, "A note")]));
            let lead = lead
                .map_err(|e| e.to_string())
                .and_then(|i| i.validate().map_err(|e| format!("{e:?}")));
            let deal = deal
                .map_err(|e| e.to_string())
                .and_then(|i| i.validate().map_err(|e| format!("{e:?}")));
            let (Ok(lead), Ok(deal)) = (lead, deal) else {
                panic!("{}: not valid", element.name);
            };
            for other in ELEMENTS {
                let (on_lead, on_deal) = if other.name == element.name {
                    (ElementStatus::Confirmed, ElementStatus::Identified)
                } else {
                    (ElementStatus::Unknown, ElementStatus::Unknown)
                };
                assert_eq!(
                    lead.checklist.status(other.name),
                    on_lead,
                    "{}",
                    element.name
                );
                assert_eq!(
                    deal.checklist.status(other.name),
                    on_deal,
                    "{}",
                    element.name
                );
            }
        }
    }

    #[test]
    fn a_note_or_a_value_makes_an_unknown_element_identified() {
        let mut i = input(&[("need", "confirmed")]);
        i.timeline_date = Some("2027-03-31".into());
        let checklist = valid(i, &["budget"]);
        assert_eq!(checklist.status("budget"), ElementStatus::Identified);
        assert_eq!(checklist.status("timeline"), ElementStatus::Identified);
        assert_eq!(checklist.status("need"), ElementStatus::Confirmed);
        assert_eq!(checklist.status("authority"), ElementStatus::Unknown);
    }

    #[test]
    fn bant_gives_each_element_up_to_25() {
        let mut i = input(&[("budget", "confirmed"), ("authority", "identified")]);
        i.budget_amount = Some("50000".into());
        i.budget_currency = Some("eur".into());
        let checklist = valid(i, &[]);
        let scores = checklist.scores(&|_| false);
        // Budget confirmed with an amount: 25; authority identified without a note: 10.
        assert_eq!(scores.bant_score, 35);
        let all = valid(
            input(&[
                ("budget", "confirmed"),
                ("authority", "confirmed"),
                ("need", "confirmed"),
                ("timeline", "confirmed"),
            ]),
            &["budget", "authority", "need", "timeline"],
        );
        assert_eq!(all.scores(&|_| true).bant_score, 100);
        assert_eq!(Checklist::default().scores(&|_| false).bant_score, 0);
    }

    #[test]
    fn meddicc_completeness_counts_known_elements_and_strength_their_points() {
        let checklist = valid(
            input(&[("metrics", "confirmed"), ("champion", "identified")]),
            &["metrics"],
        );
        let scores = checklist.scores(&|n| n == "metrics");
        // 2 of 7 known; points 3 (confirmed + note) + 1 of 21.
        assert_eq!(scores.meddicc_completeness, 29);
        assert_eq!(scores.meddicc_strength, 19);
    }

    #[test]
    fn bad_values_are_named() {
        let mut i = input(&[("budget", "maybe")]);
        i.budget_amount = Some("12.3.4".into());
        i.budget_currency = Some("EURO".into());
        i.timeline_date = Some("2027-02-30".into());
        i.computed_given = vec!["bant_score"];
        let mut errors = FieldErrors::new();
        i.validate(&|_| false, None, &mut errors);
        let fields: Vec<_> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "bant_score",
                "budget_currency",
                "timeline_date",
                "budget_status"
            ]
        );
        let mut errors = FieldErrors::new();
        ChecklistInput {
            budget_amount: Some("10".into()),
            ..ChecklistInput::default()
        }
        .validate(&|_| false, None, &mut errors);
        assert_eq!(errors.0[0].field, "budget_currency");
        // A deal's currency is the budget's when none is given.
        let mut errors = FieldErrors::new();
        let c = ChecklistInput {
            budget_amount: Some("10".into()),
            ..ChecklistInput::default()
        }
        .validate(&|_| false, Some("GBP"), &mut errors);
        assert!(errors.is_empty());
        assert_eq!(c.budget.map(|m| m.currency), Some("GBP".to_owned()));
    }

    #[test]
    fn each_item_says_what_it_lacks() {
        let mut i = input(&[("budget", "identified"), ("need", "confirmed")]);
        i.champion_contact_id = Some(ContactId::nil());
        let checklist = valid(i, &["need"]);
        let notes = |n: &str| (n == "need").then(|| "Slow month-end close".to_owned());
        let items = checklist.items(&notes);
        let lacks = |name: &str| {
            items
                .iter()
                .find(|i| i.element == name)
                .and_then(|i| i.missing.clone())
        };
        assert_eq!(lacks("budget").as_deref(), Some("not confirmed, no amount"));
        assert_eq!(lacks("need"), None);
        assert_eq!(
            lacks("authority").as_deref(),
            Some("not identified yet, no note")
        );
        assert_eq!(lacks("champion").as_deref(), Some("not confirmed"));
        let need = items.iter().find(|i| i.element == "need");
        assert_eq!(need.map(|i| (i.points, i.max_points)), Some((25, 25)));
    }
}
