//! Migration `m0030_checklist` (issue 14 §2): BANT and MEDDICC become a checklist on leads and
//! deals. Each element gets a status (unknown / identified / confirmed) beside its note, the
//! elements that fit one a typed value (the budget's amount and currency, the timeline's date,
//! the economic buyer and the champion as contacts), and each record the three figures the
//! checklist gives (`bant_score`, `meddicc_completeness`, `meddicc_strength`). Deals get the
//! notes leads already have. A lead's note written before this is an element identified: the
//! migration says so and computes the figures that follow, in SQL both databases run.
//!
//! The column names are the fields' names, declared once in
//! [`rivet_domain::checklist::ELEMENTS`] and [`rivet_domain::checklist::VALUE_FIELDS`].

use rivet_domain::checklist::{
    BANT_DETAIL, BANT_IDENTIFIED, COMPUTED_FIELDS, ELEMENTS, Framework, ValueKind,
};
use sea_orm::ConnectionTrait;
use sea_orm_migration::prelude::*;

pub(crate) struct M0030Checklist;

impl MigrationName for M0030Checklist {
    fn name(&self) -> &str {
        "m0030_checklist"
    }
}

/// The checklist's columns (and, for deals, the notes), one per statement: SQLite alters one
/// thing at a time.
fn columns(with_notes: bool) -> Vec<ColumnDef> {
    let mut cols = Vec::new();
    for element in ELEMENTS {
        if with_notes {
            cols.push(
                ColumnDef::new(Alias::new(element.name))
                    .text()
                    .null()
                    .to_owned(),
            );
        }
        cols.push(
            ColumnDef::new(Alias::new(element.status_field))
                .text()
                .not_null()
                .default("unknown")
                .to_owned(),
        );
        let name = element.name;
        match element.value {
            Some(ValueKind::Money) => {
                cols.push(
                    ColumnDef::new(Alias::new(format!("{name}_amount_micros")))
                        .big_integer()
                        .null()
                        .to_owned(),
                );
                cols.push(
                    ColumnDef::new(Alias::new(format!("{name}_currency")))
                        .text()
                        .null()
                        .to_owned(),
                );
            }
            Some(ValueKind::Date) => cols.push(
                ColumnDef::new(Alias::new(format!("{name}_date")))
                    .text()
                    .null()
                    .to_owned(),
            ),
            Some(ValueKind::Contact) => cols.push(
                ColumnDef::new(Alias::new(format!("{name}_contact_id")))
                    .uuid()
                    .null()
                    .to_owned(),
            ),
            None => {}
        }
    }
    for field in COMPUTED_FIELDS {
        cols.push(
            ColumnDef::new(Alias::new(*field))
                .integer()
                .not_null()
                .default(0)
                .to_owned(),
        );
    }
    cols
}

/// `(CASE WHEN <note> IS NOT NULL THEN n ELSE 0 END + …)` over the elements of `framework`.
fn sum_of_notes(framework: Framework, points: i32) -> String {
    let terms: Vec<String> = ELEMENTS
        .iter()
        .filter(|e| e.framework == framework)
        .map(|e| format!("CASE WHEN {} IS NOT NULL THEN {points} ELSE 0 END", e.name))
        .collect();
    format!("({})", terms.join(" + "))
}

#[async_trait::async_trait]
impl MigrationTrait for M0030Checklist {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (table, with_notes) in [("leads", false), ("deals", true)] {
            for col in columns(with_notes) {
                m.alter_table(
                    Table::alter()
                        .table(Alias::new(table))
                        .add_column(col)
                        .to_owned(),
                )
                .await?;
            }
        }
        // A note written before is an element identified, with its detail: 15 points of BANT,
        // one known MEDDICC element worth 2 of its 3 points of strength.
        let db = m.get_connection();
        let statuses: Vec<String> = ELEMENTS
            .iter()
            .map(|e| {
                format!(
                    "{} = CASE WHEN {} IS NOT NULL THEN 'identified' ELSE 'unknown' END",
                    e.status_field, e.name
                )
            })
            .collect();
        let meddicc = ELEMENTS
            .iter()
            .filter(|e| e.framework == Framework::Meddicc)
            .count();
        let known = sum_of_notes(Framework::Meddicc, 1);
        let sql = format!(
            "UPDATE leads SET {}, bant_score = {}, \
             meddicc_completeness = (200 * {known} + {meddicc}) / {}, \
             meddicc_strength = (400 * {known} + {}) / {}",
            statuses.join(", "),
            sum_of_notes(Framework::Bant, BANT_IDENTIFIED + BANT_DETAIL),
            2 * meddicc,
            3 * meddicc,
            6 * meddicc,
        );
        db.execute_unprepared(&sql).await?;
        Ok(())
    }
}
