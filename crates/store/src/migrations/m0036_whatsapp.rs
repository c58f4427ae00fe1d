//! Migration `m0036_whatsapp`: WhatsApp Business (issue 15 §4). `whatsapp_settings`, one row
//! per company: the phone number id (unique across companies, because the webhook finds the
//! company by it), the business account id, the access token and app secret sealed under the
//! installation's key, the verify token, the Graph API's base URL, whether it is enabled and who
//! last saved it. `whatsapp_messages`: each message sent or received, with WhatsApp's id
//! (`wamid`, unique in the company, so a replayed webhook finds what it already wrote), the
//! record and the timeline activity it belongs to, and its status with the time of each. And the
//! WhatsApp consent on leads, as contacts have it (`whatsapp_consent`, its source and time).

use super::{flag, text, text_null, time, time_null, uuid};
use crate::tables::*;
use sea_orm_migration::prelude::*;

pub(crate) struct M0036Whatsapp;

impl MigrationName for M0036Whatsapp {
    fn name(&self) -> &str {
        "m0036_whatsapp"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0036Whatsapp {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use WhatsappMessages as M;
        use WhatsappSettings as S;
        // SQLite adds one column per statement.
        for column in [
            flag(Leads::WhatsappConsent),
            text_null(Leads::WhatsappConsentSource),
            time_null(Leads::WhatsappConsentAt),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Leads::Table)
                    .add_column(column)
                    .to_owned(),
            )
            .await?;
        }
        m.create_table(
            Table::create()
                .table(S::Table)
                .col(uuid(S::CompanyId).primary_key())
                .col(text_null(S::PhoneNumberId))
                .col(text_null(S::BusinessAccountId))
                .col(text_null(S::AccessToken))
                .col(text_null(S::AppSecret))
                .col(text_null(S::VerifyToken))
                .col(text(S::ApiBaseUrl))
                .col(flag(S::Enabled))
                .col(ColumnDef::new(S::UpdatedBy).uuid().null())
                .col(time(S::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(S::Table, S::CompanyId)
                        .to(Companies::Table, Companies::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // The one index without `company_id` first: a phone number belongs to one company, and
        // the webhook, which knows no company yet, finds it by this.
        m.create_index(
            Index::create()
                .name("whatsapp_settings_phone_number_id_key")
                .table(S::Table)
                .col(S::PhoneNumberId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(M::Table)
                .col(uuid(M::CompanyId))
                .col(uuid(M::Id))
                .col(text(M::Direction))
                .col(text(M::Wamid))
                .col(text(M::RecordType))
                .col(uuid(M::RecordId))
                .col(ColumnDef::new(M::ActivityId).uuid().null())
                .col(text(M::Phone))
                .col(text_null(M::TemplateName))
                .col(text_null(M::TemplateLanguage))
                .col(ColumnDef::new(M::TemplateParameters).json_binary().null())
                .col(text_null(M::Body))
                .col(text(M::Status))
                .col(text_null(M::Error))
                .col(time_null(M::SentAt))
                .col(time_null(M::DeliveredAt))
                .col(time_null(M::ReadAt))
                .col(time_null(M::FailedAt))
                .col(ColumnDef::new(M::CreatedBy).uuid().null())
                .col(time(M::CreatedAt))
                .col(time(M::UpdatedAt))
                .primary_key(Index::create().col(M::CompanyId).col(M::Id))
                .foreign_key(
                    ForeignKey::create()
                        .from(M::Table, M::CompanyId)
                        .to(Companies::Table, Companies::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("whatsapp_messages_wamid_key")
                .table(M::Table)
                .col(M::CompanyId)
                .col(M::Wamid)
                .unique()
                .to_owned(),
        )
        .await?;
        // A record's conversation, oldest first (ids are time-ordered).
        m.create_index(
            Index::create()
                .name("whatsapp_messages_record_idx")
                .table(M::Table)
                .col(M::CompanyId)
                .col(M::RecordType)
                .col(M::RecordId)
                .col(M::Id)
                .to_owned(),
        )
        .await?;
        // The service window: a number's last inbound message.
        m.create_index(
            Index::create()
                .name("whatsapp_messages_phone_idx")
                .table(M::Table)
                .col(M::CompanyId)
                .col(M::Phone)
                .col(M::Direction)
                .col(M::CreatedAt)
                .to_owned(),
        )
        .await?;
        for table in ["whatsapp_settings", "whatsapp_messages"] {
            super::m0013_row_level_security::enable_tenant_policies(m, table).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(WhatsappMessages::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(WhatsappSettings::Table).to_owned())
            .await?;
        Ok(())
    }
}
