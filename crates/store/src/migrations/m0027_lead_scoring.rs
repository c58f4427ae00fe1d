//! Migration `m0027_lead_scoring` (issue 14 §1): a company's scoring settings
//! (`scoring_settings`, one JSON document; none means the defaults), the engagement signals of
//! each lead (`lead_signals`, one per activity or event, so a signal seen twice counts once) and
//! the history of each lead's scores (`lead_score_history`). Signals and history go with their
//! lead. The scores already stored were written by clients; the migration queues the job that
//! recomputes every company's (`scoring.rescore`).

use super::{int, json, text, text_null, time, uuid};
use crate::tables::*;
use sea_orm_migration::prelude::*;

pub(crate) struct M0027LeadScoring;

impl MigrationName for M0027LeadScoring {
    fn name(&self) -> &str {
        "m0027_lead_scoring"
    }
}

fn lead_key<T: IntoIden + 'static>(table: T, company: T, lead: T) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, (company, lead))
        .to(Leads::Table, (Leads::CompanyId, Leads::Id))
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for M0027LeadScoring {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ScoringSettings::Table)
                .col(uuid(ScoringSettings::CompanyId).primary_key())
                .col(json(ScoringSettings::Settings))
                .col(time(ScoringSettings::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(ScoringSettings::Table, ScoringSettings::CompanyId)
                        .to(Companies::Table, Companies::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(LeadSignals::Table)
                .col(uuid(LeadSignals::CompanyId))
                .col(uuid(LeadSignals::Id))
                .col(uuid(LeadSignals::LeadId))
                .col(text(LeadSignals::Signal))
                .col(time(LeadSignals::OccurredAt))
                .col(uuid(LeadSignals::SourceId))
                .col(text_null(LeadSignals::Detail))
                .primary_key(
                    Index::create()
                        .col(LeadSignals::CompanyId)
                        .col(LeadSignals::Id),
                )
                .foreign_key(&mut lead_key(
                    LeadSignals::Table,
                    LeadSignals::CompanyId,
                    LeadSignals::LeadId,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("lead_signals_source")
                .table(LeadSignals::Table)
                .col(LeadSignals::CompanyId)
                .col(LeadSignals::LeadId)
                .col(LeadSignals::SourceId)
                .col(LeadSignals::Signal)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("lead_signals_lead_time")
                .table(LeadSignals::Table)
                .col(LeadSignals::CompanyId)
                .col(LeadSignals::LeadId)
                .col(LeadSignals::OccurredAt)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(LeadScoreHistory::Table)
                .col(uuid(LeadScoreHistory::CompanyId))
                .col(uuid(LeadScoreHistory::Id))
                .col(uuid(LeadScoreHistory::LeadId))
                .col(time(LeadScoreHistory::At))
                .col(int(LeadScoreHistory::Fit))
                .col(int(LeadScoreHistory::Engagement))
                .col(int(LeadScoreHistory::Total))
                .col(text(LeadScoreHistory::Cause))
                .primary_key(
                    Index::create()
                        .col(LeadScoreHistory::CompanyId)
                        .col(LeadScoreHistory::Id),
                )
                .foreign_key(&mut lead_key(
                    LeadScoreHistory::Table,
                    LeadScoreHistory::CompanyId,
                    LeadScoreHistory::LeadId,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("lead_score_history_lead_time")
                .table(LeadScoreHistory::Table)
                .col(LeadScoreHistory::CompanyId)
                .col(LeadScoreHistory::LeadId)
                .col(LeadScoreHistory::At)
                .to_owned(),
        )
        .await?;
        for table in ["scoring_settings", "lead_signals", "lead_score_history"] {
            super::m0013_row_level_security::enable_tenant_policies(m, table).await?;
        }
        // Recompute the scores clients wrote until now, for every company (a database with no
        // lead has none to recompute: a new installation gets no job).
        super::queue_job_if_any(
            m,
            "scoring.rescore",
            serde_json::json!({"cause": "scores are computed from now on", "backfill": true}),
            Leads::Table,
        )
        .await?;
        Ok(())
    }
}
