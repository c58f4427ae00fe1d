//! Migration `m0042_task_recurrence`: recurring tasks (issue 15 §5). On `tasks`, the
//! recurrence a task carries (`repeat`: daily, weekly or monthly; `repeat_every`; `repeat_until`,
//! a `YYYY-MM-DD` day) and its place in its series (`series_id`, the first occurrence's id, and
//! `occurrence`, its number). A unique index on `(company_id, series_id, occurrence)` makes
//! completing an occurrence create the next one once, however often it is completed, reopened
//! and completed again (tasks that do not repeat have no series: nulls are not compared).

use super::text_null;
use crate::tables::Tasks;
use sea_orm_migration::prelude::*;

pub(crate) struct M0042TaskRecurrence;

impl MigrationName for M0042TaskRecurrence {
    fn name(&self) -> &str {
        "m0042_task_recurrence"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0042TaskRecurrence {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        for column in [
            text_null(Tasks::Repeat),
            ColumnDef::new(Tasks::RepeatEvery)
                .integer()
                .null()
                .to_owned(),
            text_null(Tasks::RepeatUntil),
            ColumnDef::new(Tasks::SeriesId).uuid().null().to_owned(),
            ColumnDef::new(Tasks::Occurrence)
                .integer()
                .null()
                .to_owned(),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Tasks::Table)
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
        }
        m.create_index(
            Index::create()
                .name("tasks_series_occurrence_idx")
                .table(Tasks::Table)
                .col(Tasks::CompanyId)
                .col(Tasks::SeriesId)
                .col(Tasks::Occurrence)
                .unique()
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
