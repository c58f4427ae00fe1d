//! The BANT and MEDDICC checklist as leads and deals store it
//! ([`rivet_domain::checklist`]): the columns a record's checklist writes — statuses, typed
//! values and the three figures computed from them, named as the fields are —, the check
//! that the contacts it names are the company's, and what becomes of those names when the
//! contact is merged away or deleted ([`replace_contacts`]).

use crate::query::{ListField, iden};
use crate::record::Record;
use crate::{Result, StoreError, Tx, record};
use chrono::{DateTime, Utc};
use rivet_domain::checklist::{Checklist, ChecklistItem, ChecklistScores, ELEMENTS};
use rivet_domain::ids::ContactId;
use rivet_domain::{Actor, FieldErrors};
use sea_orm::sea_query::{Alias, Cond, DynIden, Expr, ExprTrait, Value};

/// Declares a record's row (`table_row!`, `$body`: its own fields, each ending in a comma) with
/// the checklist's columns after its own: the notes, the statuses, the typed values and the
/// computed figures. Leads and deals declare theirs with it; [`columns`] writes them.
macro_rules! checklist_row {
    ($(#[$meta:meta])* $vis:vis struct $name:ident in $table:path { $($body:tt)* }) => {
        $crate::row::table_row! {
            $(#[$meta])*
            $vis struct $name in $table {
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
                /// unknown, identified or confirmed: one per BANT and MEDDICC element.
                pub budget_status: rivet_domain::checklist::ElementStatus => $crate::record::choice_or(rivet_domain::checklist::ElementStatus::Unknown),
                pub authority_status: rivet_domain::checklist::ElementStatus => $crate::record::choice_or(rivet_domain::checklist::ElementStatus::Unknown),
                pub need_status: rivet_domain::checklist::ElementStatus => $crate::record::choice_or(rivet_domain::checklist::ElementStatus::Unknown),
                pub timeline_status: rivet_domain::checklist::ElementStatus => $crate::record::choice_or(rivet_domain::checklist::ElementStatus::Unknown),
                pub metrics_status: rivet_domain::checklist::ElementStatus => $crate::record::choice_or(rivet_domain::checklist::ElementStatus::Unknown),
                pub economic_buyer_status: rivet_domain::checklist::ElementStatus => $crate::record::choice_or(rivet_domain::checklist::ElementStatus::Unknown),
                pub decision_criteria_status: rivet_domain::checklist::ElementStatus => $crate::record::choice_or(rivet_domain::checklist::ElementStatus::Unknown),
                pub decision_process_status: rivet_domain::checklist::ElementStatus => $crate::record::choice_or(rivet_domain::checklist::ElementStatus::Unknown),
                pub identified_pain_status: rivet_domain::checklist::ElementStatus => $crate::record::choice_or(rivet_domain::checklist::ElementStatus::Unknown),
                pub champion_status: rivet_domain::checklist::ElementStatus => $crate::record::choice_or(rivet_domain::checklist::ElementStatus::Unknown),
                pub competition_status: rivet_domain::checklist::ElementStatus => $crate::record::choice_or(rivet_domain::checklist::ElementStatus::Unknown),
                /// Decimal string.
                pub budget_amount: Option<String> = budget_amount_micros => $crate::record::amount_of,
                pub budget_currency: Option<String>,
                /// `YYYY-MM-DD`.
                pub timeline_date: Option<String>,
                #[schema(value_type = Option<uuid::Uuid>)]
                pub economic_buyer_contact_id: Option<rivet_domain::ids::ContactId>,
                #[schema(value_type = Option<uuid::Uuid>)]
                pub champion_contact_id: Option<rivet_domain::ids::ContactId>,
                /// 0–100, each BANT element 0–25 (computed; `GET …/checklist` explains it).
                pub bant_score: i32,
                /// 0–100, the share of MEDDICC elements known (computed).
                pub meddicc_completeness: i32,
                /// 0–100, the share of MEDDICC's points earned (computed).
                pub meddicc_strength: i32,
            }
        }
    };
}

pub(crate) use checklist_row;

/// A lead's or a deal's checklist, read back from its row (whose fields carry the checklist's
/// names) — the inverse of [`columns`].
macro_rules! checklist_of {
    ($row:expr) => {
        rivet_domain::checklist::Checklist {
            statuses: vec![
                $row.budget_status,
                $row.authority_status,
                $row.need_status,
                $row.timeline_status,
                $row.metrics_status,
                $row.economic_buyer_status,
                $row.decision_criteria_status,
                $row.decision_process_status,
                $row.identified_pain_status,
                $row.champion_status,
                $row.competition_status,
            ],
            budget: $row
                .budget_amount
                .as_deref()
                .zip($row.budget_currency.clone())
                .and_then(|(a, c)| rivet_domain::values::Money::parse(a, c).ok()),
            timeline_date: $row.timeline_date.clone(),
            economic_buyer: $row.economic_buyer_contact_id,
            champion: $row.champion_contact_id,
        }
    };
}

/// The note of the BANT or MEDDICC element `$name` on a lead's or a deal's row.
macro_rules! note_of {
    ($row:expr, $name:expr) => {
        match $name {
            "budget" => $row.budget.clone(),
            "authority" => $row.authority.clone(),
            "need" => $row.need.clone(),
            "timeline" => $row.timeline.clone(),
            "metrics" => $row.metrics.clone(),
            "economic_buyer" => $row.economic_buyer.clone(),
            "decision_criteria" => $row.decision_criteria.clone(),
            "decision_process" => $row.decision_process.clone(),
            "identified_pain" => $row.identified_pain.clone(),
            "champion" => $row.champion.clone(),
            "competition" => $row.competition.clone(),
            _ => None,
        }
    };
}

/// A record that carries the checklist: a lead or a deal.
pub trait Checked {
    fn checklist(&self) -> Checklist;
    /// The note of the element `name`.
    fn note(&self, name: &str) -> Option<String>;
    /// Name `economic_buyer` and `champion` as the checklist's contacts, with the figures that
    /// follow (the record as [`replace_contacts`] writes it, for its audit row).
    fn set_contacts(
        &mut self,
        economic_buyer: Option<ContactId>,
        champion: Option<ContactId>,
        scores: ChecklistScores,
        at: DateTime<Utc>,
    );

    /// The checklist as a page shows it: each element's line with what it lacks, and the
    /// figures.
    fn checklist_view(&self) -> ChecklistView {
        let checklist = self.checklist();
        let items = checklist.items(&|name| self.note(name));
        let scores = checklist.scores(&|name| self.note(name).is_some());
        let missing = items
            .iter()
            .filter(|i| i.missing.is_some())
            .map(|i| i.element)
            .collect();
        ChecklistView {
            scores,
            items,
            missing,
        }
    }
}

/// [`Checked`] for the records whose rows [`checklist_row!`] declares.
macro_rules! checked {
    ($($record:ty),+ $(,)?) => {$(
        impl Checked for $record {
            fn checklist(&self) -> Checklist {
                checklist_of!(self)
            }
            fn note(&self, name: &str) -> Option<String> {
                note_of!(self, name)
            }
            fn set_contacts(
                &mut self,
                economic_buyer: Option<ContactId>,
                champion: Option<ContactId>,
                scores: ChecklistScores,
                at: DateTime<Utc>,
            ) {
                self.economic_buyer_contact_id = economic_buyer;
                self.champion_contact_id = champion;
                self.bant_score = scores.bant_score;
                self.meddicc_completeness = scores.meddicc_completeness;
                self.meddicc_strength = scores.meddicc_strength;
                self.updated_at = at;
            }
        }
    )+};
}

checked!(crate::leads::Lead, crate::deals::Deal);

/// A record's checklist: `GET /api/v1/{leads|deals}/{id}/checklist`.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ChecklistView {
    #[serde(flatten)]
    pub scores: ChecklistScores,
    /// BANT's four elements, then MEDDICC's seven.
    pub items: Vec<ChecklistItem>,
    /// The elements that still lack something.
    pub missing: Vec<&'static str>,
}

/// The checklist's columns with their values; `has_note(name)` says whether the element's note
/// is filled (the record writes the notes with its other text).
pub(crate) fn columns(
    checklist: &Checklist,
    has_note: &dyn Fn(&str) -> bool,
) -> Vec<(DynIden, Value)> {
    let column = |name: &str| iden(Alias::new(name));
    let mut cols: Vec<(DynIden, Value)> = ELEMENTS
        .iter()
        .zip(&checklist.statuses)
        .map(|(e, s)| (column(e.status_field), s.as_str().into()))
        .collect();
    let budget = checklist.budget.as_ref();
    let scores = checklist.scores(has_note);
    cols.extend([
        (
            column("budget_amount_micros"),
            budget.map(|m| m.micros).into(),
        ),
        (
            column("budget_currency"),
            budget.map(|m| m.currency.clone()).into(),
        ),
        (
            column("timeline_date"),
            checklist.timeline_date.clone().into(),
        ),
        (
            column("economic_buyer_contact_id"),
            checklist.economic_buyer.into(),
        ),
        (column("champion_contact_id"), checklist.champion.into()),
        (column("bant_score"), scores.bant_score.into()),
        (
            column("meddicc_completeness"),
            scores.meddicc_completeness.into(),
        ),
        (column("meddicc_strength"), scores.meddicc_strength.into()),
    ]);
    cols
}

/// The economic buyer and the champion must be contacts of the caller's company (422 naming
/// the field otherwise). Only what changed since `before` is looked up.
pub(crate) async fn check_contacts(
    tx: &Tx,
    actor: &Actor,
    checklist: &Checklist,
    before: Option<&Checklist>,
) -> Result<()> {
    let mut errors = FieldErrors::new();
    for (field, id, was) in [
        (
            "economic_buyer_contact_id",
            checklist.economic_buyer,
            before.and_then(|b| b.economic_buyer),
        ),
        (
            "champion_contact_id",
            checklist.champion,
            before.and_then(|b| b.champion),
        ),
    ] {
        if let Some(id) = id.filter(|id| Some(*id) != was)
            && record::get_unscoped::<crate::contacts::Contact, _>(tx.conn(), actor, id)
                .await
                .is_err()
        {
            errors.add(field, "is not a contact of this company");
        }
    }
    errors.into_result().map_err(StoreError::Invalid)
}

/// The columns of the contacts a checklist names.
const CONTACT_COLUMNS: [&str; 2] = ["economic_buyer_contact_id", "champion_contact_id"];

/// The contacts `gone` leave the checklists: every lead and deal of the caller's company that
/// names one of them as its economic buyer or champion (whoever owns it) names `to` instead —
/// the survivor of a merge, or nobody for a deleted contact. Each changes through the record
/// layer's update (its audit row and `lead.updated` or `deal.updated` event), its figures
/// recomputed as a patch of the field would; the element's status and note stay. Returns how
/// many leads and deals changed.
pub(crate) async fn replace_contacts(
    tx: &Tx,
    actor: &Actor,
    gone: &[ContactId],
    to: Option<ContactId>,
) -> Result<u64> {
    if gone.is_empty() {
        return Ok(0);
    }
    Ok(replace_in::<crate::leads::Lead>(tx, actor, gone, to).await?
        + replace_in::<crate::deals::Deal>(tx, actor, gone, to).await?)
}

/// What a checklist names after [`replace_contacts`]: its economic buyer, its champion and the
/// figures that follow.
type Named = (Option<ContactId>, Option<ContactId>, ChecklistScores);

/// [`replace_contacts`] on one record type: a statement for each set of records that end up
/// alike (the same contacts and figures), not one per record.
async fn replace_in<R: Record + Checked>(
    tx: &Tx,
    actor: &Actor,
    gone: &[ContactId],
    to: Option<ContactId>,
) -> Result<u64> {
    let column = |name: &str| iden(Alias::new(name));
    let naming = CONTACT_COLUMNS.iter().fold(Cond::any(), |any, name| {
        any.add(Expr::col((R::Field::table(), column(name))).is_in(gone.iter().copied()))
    });
    let records: Vec<R> = record::all_where(tx.conn(), actor, naming).await?;
    let mut alike: Vec<(Named, Vec<R>)> = Vec::new();
    for r in records {
        let mut checklist = r.checklist();
        for named in [&mut checklist.economic_buyer, &mut checklist.champion] {
            if named.is_some_and(|id| gone.contains(&id)) {
                *named = to;
            }
        }
        let scores = checklist.scores(&|name| r.note(name).is_some());
        let key = (checklist.economic_buyer, checklist.champion, scores);
        match alike.iter_mut().find(|(k, _)| *k == key) {
            Some((_, records)) => records.push(r),
            None => alike.push((key, vec![r])),
        }
    }
    let mut changed = 0;
    for ((economic_buyer, champion, scores), records) in alike {
        let values = vec![
            (column(CONTACT_COLUMNS[0]), economic_buyer.into()),
            (column(CONTACT_COLUMNS[1]), champion.into()),
            (column("bant_score"), scores.bant_score.into()),
            (
                column("meddicc_completeness"),
                scores.meddicc_completeness.into(),
            ),
            (column("meddicc_strength"), scores.meddicc_strength.into()),
        ];
        record::update_rows(tx, actor, &records, values, |r: &mut R, at| {
            r.set_contacts(economic_buyer, champion, scores, at);
        })
        .await?;
        changed += records.len() as u64;
    }
    Ok(changed)
}

/// The figure of `name` among `[bant_score, meddicc_completeness, meddicc_strength]`.
pub(crate) fn checklist_score(name: &str, scores: [i32; 3]) -> i32 {
    rivet_domain::checklist::COMPUTED_FIELDS
        .iter()
        .position(|f| *f == name)
        .map_or(0, |i| scores[i])
}
