//! Migration `m0012_events`: typed domain events in the outbox, the dispatcher's stored
//! positions, and outbound webhooks with their delivery queue (issue 12.3).
//!
//! - `outbox` gains who and what an event is about (`record_type`, `record_id`, the actor) and
//!   `seq`, the dispatch order. `seq` is assigned after commit by one sequencer at a time
//!   (`events::sequence`), never at insert, so it follows the order in which events became
//!   visible; `outbox_unsequenced_idx` finds the events still waiting for one.
//! - `event_positions`: one row per named consumer with the last `seq` it has applied, plus the
//!   sequencer's own row (its high-water mark). Not a tenant table: it spans companies.
//! - `webhooks` and `webhook_deliveries`: the first consumer. A delivery row is unique per
//!   webhook and event (`webhook_deliveries_event_key`), which makes applying an event twice
//!   impossible.
//! - The built-in admin role of every existing company is granted the new resources (new
//!   companies get them from `BuiltinRole::default_permissions`).

use super::{flag, int, text, text_null, time, time_null, uuid};
use crate::tables::*;
use sea_orm::ConnectionTrait;
use sea_orm_migration::prelude::*;

pub(crate) struct M0012Events;

impl MigrationName for M0012Events {
    fn name(&self) -> &str {
        "m0012_events"
    }
}

/// The grants the built-in admin role gets on the new resources.
const ADMIN_GRANTS: &[(&str, &str)] = &[
    ("events", "read"),
    ("webhooks", "read"),
    ("webhooks", "create"),
    ("webhooks", "update"),
    ("webhooks", "delete"),
];

#[async_trait::async_trait]
impl MigrationTrait for M0012Events {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for col in [
            ColumnDef::new(Outbox::Seq).big_integer().null().to_owned(),
            text_null(Outbox::RecordType),
            text_null(Outbox::RecordId),
            ColumnDef::new(Outbox::ActorUserId).uuid().null().to_owned(),
            ColumnDef::new(Outbox::ActorApiKeyId)
                .uuid()
                .null()
                .to_owned(),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Outbox::Table)
                    .add_column(col)
                    .to_owned(),
            )
            .await?;
        }
        let db = m.get_connection();
        for sql in [
            "CREATE UNIQUE INDEX outbox_seq_key ON outbox (seq)",
            "CREATE INDEX outbox_unsequenced_idx ON outbox (created_at, id) WHERE seq IS NULL",
            "CREATE INDEX outbox_company_seq_idx ON outbox (company_id, seq)",
            "CREATE INDEX outbox_record_idx ON outbox (company_id, record_type, record_id, seq)",
        ] {
            db.execute_unprepared(sql).await?;
        }

        m.create_table(
            Table::create()
                .table(EventPositions::Table)
                .col(text(EventPositions::Name).primary_key())
                .col(
                    ColumnDef::new(EventPositions::Position)
                        .big_integer()
                        .not_null()
                        .default(0),
                )
                .col(
                    ColumnDef::new(EventPositions::Delivered)
                        .big_integer()
                        .not_null()
                        .default(0),
                )
                .col(time(EventPositions::UpdatedAt))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Webhooks::Table)
                .col(uuid(Webhooks::CompanyId))
                .col(uuid(Webhooks::Id))
                .col(text(Webhooks::Url))
                .col(text(Webhooks::EventTypes))
                .col(text_null(Webhooks::Description))
                .col(flag(Webhooks::Active))
                .col(text(Webhooks::Secret))
                .col(
                    ColumnDef::new(Webhooks::ConsecutiveFailures)
                        .integer()
                        .not_null()
                        .default(0),
                )
                .col(text_null(Webhooks::DisabledReason))
                .col(uuid(Webhooks::CreatedBy))
                .col(time(Webhooks::CreatedAt))
                .col(time(Webhooks::UpdatedAt))
                .primary_key(Index::create().col(Webhooks::CompanyId).col(Webhooks::Id))
                .foreign_key(
                    ForeignKey::create()
                        .from(Webhooks::Table, Webhooks::CompanyId)
                        .to(Companies::Table, Companies::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(WebhookDeliveries::Table)
                .col(uuid(WebhookDeliveries::CompanyId))
                .col(uuid(WebhookDeliveries::Id))
                .col(uuid(WebhookDeliveries::WebhookId))
                .col(uuid(WebhookDeliveries::EventId))
                .col(
                    ColumnDef::new(WebhookDeliveries::EventSeq)
                        .big_integer()
                        .null(),
                )
                .col(text(WebhookDeliveries::EventType))
                .col(text(WebhookDeliveries::RecordKey))
                .col(text(WebhookDeliveries::Body))
                .col(text(WebhookDeliveries::State))
                .col(int(WebhookDeliveries::Attempts).default(0))
                .col(time(WebhookDeliveries::NextAttemptAt))
                .col(text_null(WebhookDeliveries::LeaseOwner))
                .col(time_null(WebhookDeliveries::LeaseExpiresAt))
                .col(
                    ColumnDef::new(WebhookDeliveries::ResponseStatus)
                        .integer()
                        .null(),
                )
                .col(text_null(WebhookDeliveries::LastError))
                .col(time(WebhookDeliveries::CreatedAt))
                .col(time(WebhookDeliveries::UpdatedAt))
                .col(time_null(WebhookDeliveries::DeliveredAt))
                .primary_key(
                    Index::create()
                        .col(WebhookDeliveries::CompanyId)
                        .col(WebhookDeliveries::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            WebhookDeliveries::Table,
                            (WebhookDeliveries::CompanyId, WebhookDeliveries::WebhookId),
                        )
                        .to(Webhooks::Table, (Webhooks::CompanyId, Webhooks::Id))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        for sql in [
            "CREATE UNIQUE INDEX webhook_deliveries_event_key \
             ON webhook_deliveries (company_id, webhook_id, event_id)",
            "CREATE INDEX webhook_deliveries_log_idx \
             ON webhook_deliveries (company_id, webhook_id, id)",
            "CREATE INDEX webhook_deliveries_due_idx \
             ON webhook_deliveries (next_attempt_at) WHERE state = 'pending'",
            "CREATE INDEX webhook_deliveries_order_idx \
             ON webhook_deliveries (webhook_id, record_key, event_seq) WHERE state = 'pending'",
        ] {
            db.execute_unprepared(sql).await?;
        }

        for (resource, action) in ADMIN_GRANTS {
            db.execute_unprepared(&format!(
                "INSERT INTO role_permissions (company_id, role_id, resource, action, scope) \
                 SELECT company_id, id, '{resource}', '{action}', 'all' FROM roles \
                 WHERE builtin = TRUE AND name = 'admin'"
            ))
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared(
            "DELETE FROM role_permissions WHERE resource IN ('events', 'webhooks')",
        )
        .await?;
        m.drop_table(Table::drop().table(WebhookDeliveries::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Webhooks::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(EventPositions::Table).to_owned())
            .await?;
        for name in [
            "outbox_seq_key",
            "outbox_unsequenced_idx",
            "outbox_company_seq_idx",
            "outbox_record_idx",
        ] {
            db.execute_unprepared(&format!("DROP INDEX IF EXISTS {name}"))
                .await?;
        }
        Ok(())
    }
}
