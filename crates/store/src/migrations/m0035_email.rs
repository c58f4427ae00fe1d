//! Migration `m0035_email` (issue 15 §1): a company's e-mail settings (`email_settings`, one
//! JSON document with its secrets sealed; none means not configured), every e-mail sent to a
//! person from a record (`email_messages`, claimed under an idempotency key unique per company
//! before it is sent, so a retry or a crash never sends or records it twice), the daily count
//! the sending limit reads (`email_daily_counts`, per company and day of its time zone), the id
//! of the message an activity records (`activities.message_id`), and password reset links
//! (`password_resets`, a user's, not a company's: the token stored hashed).

use super::{int, text, text_null, time, time_null, uuid};
use crate::tables::*;
use sea_orm_migration::prelude::*;

pub(crate) struct M0035Email;

impl MigrationName for M0035Email {
    fn name(&self) -> &str {
        "m0035_email"
    }
}

fn to_company(table: impl IntoIden, col: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(table, col)
        .to(Companies::Table, Companies::Id)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for M0035Email {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(EmailSettings::Table)
                .col(uuid(EmailSettings::CompanyId).primary_key())
                .col(super::json(EmailSettings::Settings))
                .col(time(EmailSettings::UpdatedAt))
                .foreign_key(&mut to_company(
                    EmailSettings::Table,
                    EmailSettings::CompanyId,
                ))
                .to_owned(),
        )
        .await?;

        use EmailMessages as E;
        m.create_table(
            Table::create()
                .table(E::Table)
                .col(uuid(E::CompanyId))
                .col(uuid(E::Id))
                .col(text(E::RecordType))
                .col(uuid(E::RecordId))
                .col(text(E::ToAddrs))
                .col(text(E::CcAddrs))
                .col(text(E::Subject))
                .col(text(E::BodyText))
                .col(text_null(E::BodyHtml))
                .col(text(E::MessageId))
                .col(text(E::Status))
                .col(text_null(E::Error))
                .col(text_null(E::Reply))
                .col(int(E::Attempts))
                .col(text(E::IdempotencyKey))
                .col(ColumnDef::new(E::ActivityId).uuid().null())
                .col(uuid(E::CreatedBy))
                .col(time(E::CreatedAt))
                .col(time_null(E::SentAt))
                .primary_key(Index::create().col(E::CompanyId).col(E::Id))
                .foreign_key(&mut to_company(E::Table, E::CompanyId))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("email_messages_key_idx")
                .table(E::Table)
                .col(E::CompanyId)
                .col(E::IdempotencyKey)
                .unique()
                .to_owned(),
        )
        .await?;
        // A record's messages, newest first (ids are time-ordered).
        m.create_index(
            Index::create()
                .name("email_messages_record_idx")
                .table(E::Table)
                .col(E::CompanyId)
                .col(E::RecordId)
                .col(E::Id)
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(EmailDailyCounts::Table)
                .col(uuid(EmailDailyCounts::CompanyId))
                .col(text(EmailDailyCounts::Day))
                .col(int(EmailDailyCounts::Sent))
                .primary_key(
                    Index::create()
                        .col(EmailDailyCounts::CompanyId)
                        .col(EmailDailyCounts::Day),
                )
                .foreign_key(&mut to_company(
                    EmailDailyCounts::Table,
                    EmailDailyCounts::CompanyId,
                ))
                .to_owned(),
        )
        .await?;

        m.alter_table(
            Table::alter()
                .table(Activities::Table)
                .add_column(text_null(Activities::MessageId))
                .to_owned(),
        )
        .await?;

        use PasswordResets as P;
        m.create_table(
            Table::create()
                .table(P::Table)
                .col(uuid(P::Id).primary_key())
                .col(uuid(P::UserId))
                .col(text(P::TokenHash))
                .col(time(P::ExpiresAt))
                .col(time_null(P::UsedAt))
                .col(time(P::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(P::Table, P::UserId)
                        .to(Users::Table, Users::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("password_resets_token_idx")
                .table(P::Table)
                .col(P::TokenHash)
                .unique()
                .to_owned(),
        )
        .await?;

        for table in ["email_settings", "email_messages", "email_daily_counts"] {
            super::m0013_row_level_security::enable_tenant_policies(m, table).await?;
        }
        Ok(())
    }
}
