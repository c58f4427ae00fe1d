//! Migration `m0044_workflow_runs_by_trigger`: the unique index that runs a rule once per
//! trigger (`m0038_workflows`) now leads with the trigger key, `(company_id, trigger_key,
//! rule_id)` instead of `(company_id, rule_id, trigger_key)`: still one run per (rule,
//! trigger), and the workflow consumer finds which rules already ran for a whole batch of
//! events in one query by their keys (one index range per event, instead of one probe per rule
//! per event).

use crate::tables::WorkflowRuns as R;
use sea_orm::ConnectionTrait;
use sea_orm_migration::prelude::*;

pub(crate) struct M0044WorkflowRunsByTrigger;

impl MigrationName for M0044WorkflowRunsByTrigger {
    fn name(&self) -> &str {
        "m0044_workflow_runs_by_trigger"
    }
}

/// The index `m0038_workflows` made.
const OLD: &str = "workflow_runs_trigger_key";
/// Its replacement.
const NEW: &str = "workflow_runs_trigger_rule";

#[async_trait::async_trait]
impl MigrationTrait for M0044WorkflowRunsByTrigger {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_index(
            Index::create()
                .name(NEW)
                .table(R::Table)
                .col(R::CompanyId)
                .col(R::TriggerKey)
                .col(R::RuleId)
                .unique()
                .to_owned(),
        )
        .await?;
        // A plain statement: the same on both engines (no table qualifier).
        m.get_connection()
            .execute_unprepared(&format!("DROP INDEX IF EXISTS {OLD}"))
            .await?;
        Ok(())
    }
}
