//! Migration `m0041_whatsapp_claims`: a WhatsApp message sent by automation (a workflow rule's
//! `send_whatsapp_template`, a sequence's `whatsapp` step) is claimed before the Graph API is
//! called, under the idempotency key of what sends it (`workflow:{rule}:{trigger}:{action}`,
//! `seq:{enrollment}:{step}`). `whatsapp_messages.idempotency_key` holds it, unique in the
//! company, so a job or step that runs again after a crash finds its claim and sends nothing
//! twice. Messages a person sends from a record have none.

use super::text_null;
use crate::tables::*;
use sea_orm_migration::prelude::*;

pub(crate) struct M0041WhatsappClaims;

impl MigrationName for M0041WhatsappClaims {
    fn name(&self) -> &str {
        "m0041_whatsapp_claims"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0041WhatsappClaims {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use WhatsappMessages as M;
        m.alter_table(
            Table::alter()
                .table(M::Table)
                .add_column(text_null(M::IdempotencyKey))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("whatsapp_messages_idempotency_key")
                .table(M::Table)
                .col(M::CompanyId)
                .col(M::IdempotencyKey)
                .unique()
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
