//! Migration `m0039_sequences`: a record's enrollments in a company's sequences
//! (`sequence_enrollments`: the sequence — a row of `definitions`, its enrollments going with
//! it —, the lead or contact, its status and stop reason, the step it runs next and when, the
//! last failure and how many in a row, the lease a runner holds while running a step, who
//! enrolled it) and the e-mails the steps sent (`sequence_sends`, one per enrollment and step:
//! a sequence's daily limit and its per-step counts).
//!
//! A record is in a sequence at most once at a time: a partial unique index holds one active or
//! paused enrollment per sequence and record (a finished or stopped one may be enrolled again).
//! The runner's index holds only the active ones, by when they are due.

use super::{int, text, text_null, time, time_null, uuid};
use crate::tables::*;
use sea_orm_migration::prelude::*;

pub(crate) struct M0039Sequences;

impl MigrationName for M0039Sequences {
    fn name(&self) -> &str {
        "m0039_sequences"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0039Sequences {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use SequenceEnrollments as E;
        m.create_table(
            Table::create()
                .table(E::Table)
                .col(uuid(E::CompanyId))
                .col(uuid(E::Id))
                .col(uuid(E::SequenceId))
                .col(text(E::RecordType))
                .col(uuid(E::RecordId))
                .col(text(E::Status))
                .col(text_null(E::StopReason))
                .col(int(E::Step))
                .col(time(E::NextStepAt))
                .col(text_null(E::LastError))
                .col(int(E::Attempts))
                .col(text_null(E::LockedBy))
                .col(time_null(E::LockedUntil))
                .col(ColumnDef::new(E::EnrolledBy).uuid().null())
                .col(time(E::CreatedAt))
                .col(time(E::UpdatedAt))
                .primary_key(Index::create().col(E::CompanyId).col(E::Id))
                .foreign_key(
                    ForeignKey::create()
                        .from(E::Table, E::CompanyId)
                        .to(Companies::Table, Companies::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(E::Table, E::SequenceId)
                        .to(Definitions::Table, Definitions::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // One live enrollment per sequence and record.
        m.create_index(
            Index::create()
                .name("sequence_enrollments_live_idx")
                .table(E::Table)
                .col(E::CompanyId)
                .col(E::SequenceId)
                .col(E::RecordId)
                .unique()
                .and_where(Expr::col(E::Status).is_in(["active", "paused"]))
                .to_owned(),
        )
        .await?;
        // A sequence's enrollments, newest first.
        m.create_index(
            Index::create()
                .name("sequence_enrollments_sequence_idx")
                .table(E::Table)
                .col(E::CompanyId)
                .col(E::SequenceId)
                .col(E::Id)
                .to_owned(),
        )
        .await?;
        // A record's enrollments (stopping them on a reply or a status).
        m.create_index(
            Index::create()
                .name("sequence_enrollments_record_idx")
                .table(E::Table)
                .col(E::CompanyId)
                .col(E::RecordId)
                .to_owned(),
        )
        .await?;
        // The runner's: the active ones by when they are due, across companies.
        m.create_index(
            Index::create()
                .name("sequence_enrollments_due_idx")
                .table(E::Table)
                .col(E::NextStepAt)
                .and_where(Expr::col(E::Status).eq("active"))
                .to_owned(),
        )
        .await?;
        super::m0013_row_level_security::enable_tenant_policies(m, "sequence_enrollments").await?;

        use SequenceSends as S;
        m.create_table(
            Table::create()
                .table(S::Table)
                .col(uuid(S::CompanyId))
                .col(uuid(S::EnrollmentId))
                .col(int(S::Step))
                .col(uuid(S::SequenceId))
                .col(uuid(S::MessageId))
                .col(time(S::SentAt))
                .primary_key(
                    Index::create()
                        .col(S::CompanyId)
                        .col(S::EnrollmentId)
                        .col(S::Step),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(S::Table, (S::CompanyId, S::EnrollmentId))
                        .to(E::Table, (E::CompanyId, E::Id))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("sequence_sends_sequence_idx")
                .table(S::Table)
                .col(S::CompanyId)
                .col(S::SequenceId)
                .col(S::SentAt)
                .to_owned(),
        )
        .await?;
        super::m0013_row_level_security::enable_tenant_policies(m, "sequence_sends").await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(SequenceSends::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(SequenceEnrollments::Table).to_owned())
            .await?;
        Ok(())
    }
}
