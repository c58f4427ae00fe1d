//! Migration `m0038_workflows`: the execution log of workflow rules (`workflow_runs`) and the
//! SLA tasks rules created (`workflow_sla_tasks`, escalated once when overdue). The rules
//! themselves are definitions (`m0037_definitions`, kind `workflow_rule`); a run names its rule
//! and goes with it; an SLA task's row goes with its task.
//!
//! One row per (rule, trigger): the trigger key is the event's id, or for a schedule
//! `<kind>:<record>:<occurrence>`. The unique index on it is what makes a redelivered event, or
//! a schedule checked twice, run a rule once. Runs are read per rule newest first (ids are
//! time-ordered).

use super::{int, json, text, text_null, time, time_null, uuid};
use crate::tables::*;
use sea_orm_migration::prelude::*;

pub(crate) struct M0038Workflows;

impl MigrationName for M0038Workflows {
    fn name(&self) -> &str {
        "m0038_workflows"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0038Workflows {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use WorkflowRuns as R;
        m.create_table(
            Table::create()
                .table(R::Table)
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
                .foreign_key(
                    ForeignKey::create()
                        .from(R::Table, R::CompanyId)
                        .to(Companies::Table, Companies::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(R::Table, (R::CompanyId, R::RuleId))
                        .to(
                            Definitions::Table,
                            (Definitions::CompanyId, Definitions::Id),
                        )
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // Once per (rule, event or schedule occurrence).
        m.create_index(
            Index::create()
                .name("workflow_runs_trigger_key")
                .table(R::Table)
                .col(R::CompanyId)
                .col(R::RuleId)
                .col(R::TriggerKey)
                .unique()
                .to_owned(),
        )
        .await?;
        // A rule's log, newest first.
        m.create_index(
            Index::create()
                .name("workflow_runs_rule_idx")
                .table(R::Table)
                .col(R::CompanyId)
                .col(R::RuleId)
                .col(R::Id)
                .to_owned(),
        )
        .await?;
        super::m0013_row_level_security::enable_tenant_policies(m, "workflow_runs").await?;

        use WorkflowSlaTasks as S;
        m.create_table(
            Table::create()
                .table(S::Table)
                .col(uuid(S::CompanyId))
                .col(uuid(S::TaskId))
                .col(uuid(S::RuleId))
                .col(time_null(S::EscalatedAt))
                .col(ColumnDef::new(S::EscalatedTo).uuid().null())
                .col(time(S::CreatedAt))
                .primary_key(Index::create().col(S::CompanyId).col(S::TaskId))
                .foreign_key(
                    ForeignKey::create()
                        .from(S::Table, (S::CompanyId, S::TaskId))
                        .to(Tasks::Table, (Tasks::CompanyId, Tasks::Id))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // The hourly check looks for the ones not yet escalated.
        m.create_index(
            Index::create()
                .name("workflow_sla_tasks_open_idx")
                .table(S::Table)
                .col(S::CompanyId)
                .col(S::EscalatedAt)
                .to_owned(),
        )
        .await?;
        super::m0013_row_level_security::enable_tenant_policies(m, "workflow_sla_tasks").await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(WorkflowSlaTasks::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(WorkflowRuns::Table).to_owned())
            .await?;
        Ok(())
    }
}
