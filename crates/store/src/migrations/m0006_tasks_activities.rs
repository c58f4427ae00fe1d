//! The tasks, activities and activity_links tables (migration `m0006_tasks_activities`).
//!
//! A task may be about one record and an activity links to up to twenty; those references are
//! polymorphic (`record_type` + `record_id`), so no foreign key can guard them. Instead, triggers
//! on the record tables (leads, contacts, accounts and deals) remove an activity's links to a
//! deleted record and detach tasks from it, in the same statement as the delete — on SQLite as
//! plain triggers, on PostgreSQL as one PL/pgSQL function with the record type as argument.
//! Links go with their activity through a `(company_id, activity_id)` foreign key.

use super::{index, text, text_null, time, time_null, uuid};
use crate::tables::*;
use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

pub(crate) struct M0006TasksActivities;

impl MigrationName for M0006TasksActivities {
    fn name(&self) -> &str {
        "m0006_tasks_activities"
    }
}

/// The record tables whose deletes clean up links and task references, with the `record_type`
/// their rows go by. Deals are handled apart (see [`DEALS`]).
const RECORD_TABLES: &[(&str, &str)] = &[
    ("leads", "lead"),
    ("contacts", "contact"),
    ("accounts", "account"),
];

/// --- deals-specific --- The deals table (migration m0005_deals, which runs before this one).
/// Its trigger is only created when the table exists, so this migration also runs on a tree
/// without deals.
const DEALS: (&str, &str) = ("deals", "deal");

async fn create_unlink_trigger(
    m: &SchemaManager<'_>,
    table: &str,
    record_type: &str,
) -> Result<(), DbErr> {
    let conn = m.get_connection();
    let sql = match m.get_database_backend() {
        DbBackend::Postgres => format!(
            "CREATE TRIGGER {table}_unlink_activities AFTER DELETE ON {table} \
             FOR EACH ROW EXECUTE FUNCTION rivet_unlink_record('{record_type}')"
        ),
        _ => format!(
            "CREATE TRIGGER {table}_unlink_activities AFTER DELETE ON {table} FOR EACH ROW \
             BEGIN \
               DELETE FROM activity_links WHERE company_id = OLD.company_id \
                 AND record_type = '{record_type}' AND record_id = OLD.id; \
               UPDATE tasks SET related_type = NULL, related_id = NULL \
                 WHERE company_id = OLD.company_id AND related_type = '{record_type}' \
                 AND related_id = OLD.id; \
             END"
        ),
    };
    conn.execute_unprepared(&sql).await?;
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for M0006TasksActivities {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Tasks::Table)
                .col(uuid(Tasks::CompanyId))
                .col(uuid(Tasks::Id))
                .col(text(Tasks::Subject))
                .col(text_null(Tasks::Description))
                .col(time_null(Tasks::DueAt))
                .col(time_null(Tasks::ReminderAt))
                .col(text(Tasks::Priority))
                .col(text(Tasks::Status))
                .col(time_null(Tasks::CompletedAt))
                .col(uuid(Tasks::AssigneeId))
                .col(text_null(Tasks::RelatedType))
                .col(ColumnDef::new(Tasks::RelatedId).uuid().null())
                .col(uuid(Tasks::CreatedBy))
                .col(time(Tasks::CreatedAt))
                .col(time(Tasks::UpdatedAt))
                .primary_key(Index::create().col(Tasks::CompanyId).col(Tasks::Id))
                .foreign_key(
                    ForeignKey::create()
                        .from(Tasks::Table, Tasks::CompanyId)
                        .to(Companies::Table, Companies::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Tasks::Table, (Tasks::CompanyId, Tasks::AssigneeId))
                        .to(
                            Memberships::Table,
                            (Memberships::CompanyId, Memberships::UserId),
                        ),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "tasks_assignee_idx",
            Tasks::Table,
            vec![
                Tasks::CompanyId.into_iden(),
                Tasks::AssigneeId.into_iden(),
                Tasks::Status.into_iden(),
                Tasks::DueAt.into_iden(),
            ],
        ))
        .await?;
        m.create_index(index(
            "tasks_related_idx",
            Tasks::Table,
            vec![
                Tasks::CompanyId.into_iden(),
                Tasks::RelatedType.into_iden(),
                Tasks::RelatedId.into_iden(),
            ],
        ))
        .await?;
        m.create_index(index(
            "tasks_due_idx",
            Tasks::Table,
            vec![
                Tasks::CompanyId.into_iden(),
                Tasks::DueAt.into_iden(),
                Tasks::Id.into_iden(),
            ],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(Activities::Table)
                .col(uuid(Activities::CompanyId))
                .col(uuid(Activities::Id))
                .col(text(Activities::Kind))
                .col(text_null(Activities::Direction))
                .col(text_null(Activities::Subject))
                .col(text_null(Activities::Body))
                .col(time(Activities::OccurredAt))
                .col(
                    ColumnDef::new(Activities::DurationSeconds)
                        .big_integer()
                        .null(),
                )
                .col(text_null(Activities::Outcome))
                .col(uuid(Activities::OwnerId))
                .col(uuid(Activities::CreatedBy))
                .col(time(Activities::CreatedAt))
                .col(time(Activities::UpdatedAt))
                .primary_key(
                    Index::create()
                        .col(Activities::CompanyId)
                        .col(Activities::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(Activities::Table, Activities::CompanyId)
                        .to(Companies::Table, Companies::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            Activities::Table,
                            (Activities::CompanyId, Activities::OwnerId),
                        )
                        .to(
                            Memberships::Table,
                            (Memberships::CompanyId, Memberships::UserId),
                        ),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "activities_occurred_idx",
            Activities::Table,
            vec![
                Activities::CompanyId.into_iden(),
                Activities::OccurredAt.into_iden(),
                Activities::Id.into_iden(),
            ],
        ))
        .await?;
        m.create_index(index(
            "activities_owner_idx",
            Activities::Table,
            vec![
                Activities::CompanyId.into_iden(),
                Activities::OwnerId.into_iden(),
                Activities::OccurredAt.into_iden(),
            ],
        ))
        .await?;

        m.create_table(
            Table::create()
                .table(ActivityLinks::Table)
                .col(uuid(ActivityLinks::CompanyId))
                .col(uuid(ActivityLinks::ActivityId))
                .col(text(ActivityLinks::RecordType))
                .col(uuid(ActivityLinks::RecordId))
                .primary_key(
                    Index::create()
                        .col(ActivityLinks::CompanyId)
                        .col(ActivityLinks::ActivityId)
                        .col(ActivityLinks::RecordType)
                        .col(ActivityLinks::RecordId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            ActivityLinks::Table,
                            (ActivityLinks::CompanyId, ActivityLinks::ActivityId),
                        )
                        .to(Activities::Table, (Activities::CompanyId, Activities::Id))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(index(
            "activity_links_record_idx",
            ActivityLinks::Table,
            vec![
                ActivityLinks::CompanyId.into_iden(),
                ActivityLinks::RecordType.into_iden(),
                ActivityLinks::RecordId.into_iden(),
            ],
        ))
        .await?;

        // A deleted record leaves no links or task references behind.
        if m.get_database_backend() == DbBackend::Postgres {
            m.get_connection()
                .execute_unprepared(
                    "CREATE OR REPLACE FUNCTION rivet_unlink_record() RETURNS trigger \
                     LANGUAGE plpgsql AS $$ \
                     BEGIN \
                       DELETE FROM activity_links WHERE company_id = OLD.company_id \
                         AND record_type = TG_ARGV[0] AND record_id = OLD.id; \
                       UPDATE tasks SET related_type = NULL, related_id = NULL \
                         WHERE company_id = OLD.company_id AND related_type = TG_ARGV[0] \
                         AND related_id = OLD.id; \
                       RETURN NULL; \
                     END $$",
                )
                .await?;
        }
        for (table, record_type) in RECORD_TABLES {
            create_unlink_trigger(m, table, record_type).await?;
        }
        // --- deals-specific ---
        let (deals, deal) = DEALS;
        if m.has_table(deals).await? {
            create_unlink_trigger(m, deals, deal).await?;
        }
        Ok(())
    }
}
