//! The qualification workflow (issue 14 §2): a company's gates on lead status changes. A gate
//! names the status it guards and what a lead needs to enter it — fields filled in, a least
//! total score, a reason. A new company starts with two: `qualified` needs budget and authority
//! and a total of at least 60; `unqualified` needs a reason. `converted` is not a status a
//! change can set at all: only converting the lead does.
//!
//! Pure: [`Gate::unmet`] says what a lead lacks, from its fields as a client writes them; the
//! store applies it on every door (create, patch, bulk update, import, a threshold's status).

use crate::leads::{LEAD_FIELDS, LeadStatus};
use crate::validate::FieldErrors;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Most gates a company keeps (one per status at most).
pub const MAX_GATES: usize = 6;
/// The longest reason a status change keeps.
pub const MAX_REASON: usize = 1_000;

/// A gate as a client writes it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GateInput {
    /// The status it guards: contacted, nurturing, qualified or unqualified.
    pub to: Option<String>,
    /// Lead fields that must be filled in (e.g. budget, authority).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires: Option<Vec<String>>,
    /// The least total score (0 to 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_total_score: Option<i64>,
    /// A reason must be given (`status_reason`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_required: Option<bool>,
}

/// A company's qualification settings as a client writes them
/// (`PUT /api/v1/qualification/settings`); `gates` left out takes the defaults, `[]` none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QualificationInput {
    pub gates: Option<Vec<GateInput>>,
    /// Automatic conversion: a lead that matches every one of these conditions (as assignment
    /// rules write them, e.g. status equals qualified and total_score range gte 75) is
    /// converted by a background job, as `POST /leads/{id}/convert` with no choices would.
    /// Left out or `[]`: off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_convert: Option<Vec<crate::assignment::ConditionInput>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Gate {
    pub to: LeadStatus,
    pub requires: Vec<String>,
    pub min_total_score: Option<i32>,
    pub reason_required: bool,
}

/// Valid qualification settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Qualification {
    pub gates: Vec<Gate>,
    /// Empty: no automatic conversion.
    pub auto_convert: Vec<crate::assignment::Condition>,
}

/// One thing a lead lacks to enter a status: the field it concerns and what is wrong.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Unmet {
    pub field: String,
    pub message: String,
}

fn default_gates() -> Vec<GateInput> {
    vec![
        GateInput {
            to: Some("qualified".into()),
            requires: Some(vec!["budget".into(), "authority".into()]),
            min_total_score: Some(60),
            reason_required: None,
        },
        GateInput {
            to: Some("unqualified".into()),
            reason_required: Some(true),
            ..GateInput::default()
        },
    ]
}

impl Default for Qualification {
    fn default() -> Self {
        QualificationInput::default()
            .validate()
            .unwrap_or(Qualification {
                gates: Vec::new(),
                auto_convert: Vec::new(),
            })
    }
}

/// Whether `field` is a lead field a gate may require.
fn requirable(field: &str) -> bool {
    let listed = LEAD_FIELDS.iter().any(|s| s.name == field);
    let computed = matches!(
        field,
        "status"
            | "owner_id"
            | "created_at"
            | "updated_at"
            | "fit_score"
            | "engagement_score"
            | "total_score"
    );
    (listed && !computed) || matches!(field, "phone" | "mobile" | "website")
}

impl QualificationInput {
    pub fn validate(self) -> Result<Qualification, FieldErrors> {
        let mut errors = FieldErrors::new();
        let inputs = self.gates.unwrap_or_else(default_gates);
        if inputs.len() > MAX_GATES {
            errors.add("gates", format!("at most {MAX_GATES} gates"));
        }
        let mut gates: Vec<Gate> = Vec::new();
        for (i, g) in inputs.into_iter().enumerate() {
            let at = format!("gates[{i}]");
            let to = match g.to.as_deref().map(str::trim) {
                None | Some("") => {
                    errors.add(&format!("{at}.to"), "is required");
                    None
                }
                Some(s) => match s.parse::<LeadStatus>() {
                    Ok(LeadStatus::New | LeadStatus::Converted) => {
                        errors.add(
                            &format!("{at}.to"),
                            "must be contacted, nurturing, qualified or unqualified",
                        );
                        None
                    }
                    Ok(status) => Some(status),
                    Err(e) => {
                        errors.add(&format!("{at}.to"), e);
                        None
                    }
                },
            };
            if let Some(to) = to
                && gates.iter().any(|o| o.to == to)
            {
                errors.add(&format!("{at}.to"), "has a gate already");
            }
            let mut requires = Vec::new();
            for (j, field) in g.requires.unwrap_or_default().into_iter().enumerate() {
                let field = field.trim().to_owned();
                if !requirable(&field) {
                    errors.add(
                        &format!("{at}.requires[{j}]"),
                        format!("{field:?} is not a lead field a gate can require"),
                    );
                } else if !requires.contains(&field) {
                    requires.push(field);
                }
            }
            let min_total_score = match g.min_total_score {
                Some(n) if (0..=100).contains(&n) => i32::try_from(n).ok(),
                Some(_) => {
                    errors.add(
                        &format!("{at}.min_total_score"),
                        "must be between 0 and 100",
                    );
                    None
                }
                None => None,
            };
            if let Some(to) = to {
                gates.push(Gate {
                    to,
                    requires,
                    min_total_score,
                    reason_required: g.reason_required.unwrap_or(false),
                });
            }
        }
        let auto_convert = crate::assignment::parse_conditions(
            crate::assignment::AssignmentEntity::Leads,
            self.auto_convert,
            "auto_convert",
            &mut errors,
        );
        errors.into_result()?;
        Ok(Qualification {
            gates,
            auto_convert,
        })
    }
}

impl Qualification {
    pub fn to_input(&self) -> QualificationInput {
        QualificationInput {
            gates: Some(
                self.gates
                    .iter()
                    .map(|g| GateInput {
                        to: Some(g.to.as_str().to_owned()),
                        requires: Some(g.requires.clone()),
                        min_total_score: g.min_total_score.map(i64::from),
                        reason_required: Some(g.reason_required),
                    })
                    .collect(),
            ),
            auto_convert: Some(
                self.auto_convert
                    .iter()
                    .map(crate::assignment::Condition::to_input)
                    .collect(),
            ),
        }
    }

    /// Whether a lead with `fields` (as a client writes them, scores included) is to be
    /// converted automatically.
    pub fn converts(&self, fields: &Map<String, Value>) -> bool {
        !self.auto_convert.is_empty()
            && fields.get("status").and_then(Value::as_str) != Some("converted")
            && self.auto_convert.iter().all(|c| c.holds(fields))
    }

    pub fn gate(&self, to: LeadStatus) -> Option<&Gate> {
        self.gates.iter().find(|g| g.to == to)
    }

    /// What a lead with `fields` (as a client writes them, `status_reason` included) and total
    /// score `total` lacks to enter `to`; empty when it may.
    pub fn unmet(&self, to: LeadStatus, fields: &Map<String, Value>, total: i32) -> Vec<Unmet> {
        let mut out = Vec::new();
        if to == LeadStatus::Converted {
            out.push(Unmet {
                field: "status".into(),
                message: "converted is set only by converting the lead \
                          (POST /api/v1/leads/{id}/convert)"
                    .into(),
            });
            return out;
        }
        let Some(gate) = self.gate(to) else {
            return out;
        };
        // A BANT or MEDDICC element is filled in when it is known: identified or confirmed,
        // by its status or by a note.
        let status = |field: &str| {
            crate::checklist::element_named(field)
                .and_then(|e| fields.get(e.status_field))
                .and_then(Value::as_str)
        };
        let filled = |field: &str| match fields.get(field) {
            _ if status(field).is_some_and(|s| s != "unknown") => true,
            None | Some(Value::Null) => false,
            Some(Value::String(s)) => !s.trim().is_empty(),
            Some(Value::Array(a)) => !a.is_empty(),
            Some(_) => true,
        };
        for field in &gate.requires {
            if !filled(field) {
                out.push(Unmet {
                    field: field.clone(),
                    message: format!("must be filled in to move to {to}"),
                });
            }
        }
        if let Some(min) = gate.min_total_score
            && total < min
        {
            out.push(Unmet {
                field: "total_score".into(),
                message: format!("must be at least {min} to move to {to} (it is {total})"),
            });
        }
        if gate.reason_required && !filled("status_reason") {
            out.push(Unmet {
                field: "status_reason".into(),
                message: format!("is required to move to {to}"),
            });
        }
        out
    }
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

    #[test]
    fn the_default_gates_guard_qualified_and_unqualified() {
        let q = Qualification::default();
        let unmet = q.unmet(LeadStatus::Qualified, &fields(json!({"budget": "50k"})), 42);
        let named: Vec<&str> = unmet.iter().map(|u| u.field.as_str()).collect();
        assert_eq!(named, ["authority", "total_score"]);
        assert!(unmet[1].message.contains("at least 60") && unmet[1].message.contains("42"));
        let ready = fields(json!({"budget": "50k", "authority": "CFO signs"}));
        assert!(q.unmet(LeadStatus::Qualified, &ready, 60).is_empty());
        let unmet = q.unmet(
            LeadStatus::Unqualified,
            &fields(json!({"status_reason": "  "})),
            0,
        );
        assert_eq!(unmet[0].field, "status_reason");
        assert!(q.unmet(LeadStatus::Contacted, &Map::new(), 0).is_empty());
        assert_eq!(
            q.unmet(LeadStatus::Converted, &ready, 100)[0].field,
            "status"
        );
        assert_eq!(q.to_input().validate(), Ok(q));
    }

    #[test]
    fn bad_gates_name_each_mistake() {
        let input: QualificationInput = serde_json::from_value(json!({"gates": [
            {"to": "converted"},
            {"to": "qualified", "requires": ["budget", "nope"], "min_total_score": 101},
            {"to": "qualified"}
        ]}))
        .unwrap_or_default();
        let Err(errors) = input.validate() else {
            panic!("accepted")
        };
        let named: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            named,
            [
                "gates[0].to",
                "gates[1].requires[1]",
                "gates[1].min_total_score",
                "gates[2].to"
            ]
        );
        let none = QualificationInput {
            gates: Some(Vec::new()),
            auto_convert: None,
        };
        assert_eq!(none.validate().map(|q| q.gates.len()), Ok(0));
    }
}
