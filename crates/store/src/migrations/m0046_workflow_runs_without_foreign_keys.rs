//! Migration `m0046_workflow_runs_without_foreign_keys`: the execution log of workflow rules
//! (`m0038_workflows`) loses its two foreign keys, to the company and to the rule.
//!
//! Why: a rule set of a hundred rules on one event type logs a hundred runs per event, and on
//! PostgreSQL each row's two foreign-key checks (a row-level trigger each, a `SELECT … FOR KEY
//! SHARE` of the company and of the rule) cost as much as the rest of its insert: measured,
//! 22.7 ms of the checks for 2,000 rows against ≈ 25 ms for the insert with its three indexes.
//! The rows are only ever written by the rule's own consumer, for a rule it has just read, so
//! the check guarded nothing the code does not; what the `ON DELETE CASCADE` did is now code:
//! deleting a rule deletes its runs in the same transaction
//! (`crate::workflows`, `Definition::before_delete`).
//!
//! PostgreSQL drops the constraints; SQLite cannot drop a constraint, so the table is rebuilt
//! (new table, rows copied, old one dropped, renamed, its indexes made again).

use super::{int, json, text, text_null, time, uuid};
use crate::tables::WorkflowRuns as R;
use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

pub(crate) struct M0046WorkflowRunsWithoutForeignKeys;

impl MigrationName for M0046WorkflowRunsWithoutForeignKeys {
    fn name(&self) -> &str {
        "m0046_workflow_runs_without_foreign_keys"
    }
}

/// The table's new self while SQLite rebuilds it.
const REBUILT: &str = "workflow_runs_m0046";

#[async_trait::async_trait]
impl MigrationTrait for M0046WorkflowRunsWithoutForeignKeys {
    /// In one transaction on SQLite too (the library's default there is none): all or nothing,
    /// and every statement on one connection. Run one by one through the pool, the index made
    /// after the rename was refused as already there (the dropped table's, as another pooled
    /// connection still saw the schema).
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        if m.get_database_backend() == DbBackend::Postgres {
            // The names PostgreSQL gave the unnamed constraints of `m0038_workflows`.
            db.execute_unprepared(
                "ALTER TABLE workflow_runs \
                 DROP CONSTRAINT IF EXISTS workflow_runs_company_id_fkey, \
                 DROP CONSTRAINT IF EXISTS workflow_runs_company_id_rule_id_fkey",
            )
            .await?;
            return Ok(());
        }
        // One batch on the migration's one connection (see `use_transaction`).
        let table = Table::create()
            .table(Alias::new(REBUILT))
            .col(uuid(R::CompanyId))
            .col(uuid(R::Id))
            .col(uuid(R::RuleId))
            .col(text(R::TriggerKey))
            .col(text(R::Trigger))
            .col(ColumnDef::new(R::EventId).uuid().null())
            .col(text(R::RecordType))
            .col(ColumnDef::new(R::RecordId).uuid().null())
            .col(int(R::Depth))
            .col(ColumnDef::new(R::Matched).boolean().not_null())
            .col(text(R::Status))
            .col(json(R::Conditions))
            .col(json(R::Actions))
            .col(text_null(R::Error))
            .col(time(R::CreatedAt))
            .primary_key(Index::create().col(R::CompanyId).col(R::Id))
            .to_string(SqliteQueryBuilder);
        // The indexes `m0038_workflows` and `m0044_workflow_runs_by_trigger` made.
        let by_trigger = Index::create()
            .name("workflow_runs_trigger_rule")
            .table(R::Table)
            .col(R::CompanyId)
            .col(R::TriggerKey)
            .col(R::RuleId)
            .unique()
            .to_string(SqliteQueryBuilder);
        let by_rule = Index::create()
            .name("workflow_runs_rule_idx")
            .table(R::Table)
            .col(R::CompanyId)
            .col(R::RuleId)
            .col(R::Id)
            .to_string(SqliteQueryBuilder);
        db.execute_unprepared(&format!(
            "{table}; \
             INSERT INTO {REBUILT} (company_id, id, rule_id, trigger_key, trigger, event_id, \
             record_type, record_id, depth, matched, status, conditions, actions, error, \
             created_at) \
             SELECT company_id, id, rule_id, trigger_key, trigger, event_id, record_type, \
             record_id, depth, matched, status, conditions, actions, error, created_at \
             FROM workflow_runs; \
             DROP TABLE workflow_runs; \
             ALTER TABLE {REBUILT} RENAME TO workflow_runs; \
             {by_trigger}; \
             {by_rule};"
        ))
        .await?;
        Ok(())
    }
}
