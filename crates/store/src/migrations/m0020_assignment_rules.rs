//! Assignment rules (migration `m0020_assignment_rules`, issue 13 §3): a company's ordered rules
//! per entity (`assignment_rules`), each round-robin rule's next turn in a row of its own
//! (`assignment_cursors`, so the turn survives restarts and one atomic `UPDATE … RETURNING`
//! takes a batch's turns under concurrent creates), and the fallback owner per entity
//! (`assignment_settings`).
//!
//! The users and team a rule names live in its `action` JSON and the fallback owner has no
//! foreign key: both are checked when written and again when used (an inactive or departed
//! member is skipped), so removing a member never fails on a rule.

use super::{flag, int, json, text, text_null, time, uuid};
use crate::tables::*;
use sea_orm_migration::prelude::*;

pub(crate) struct M0020AssignmentRules;

impl MigrationName for M0020AssignmentRules {
    fn name(&self) -> &str {
        "m0020_assignment_rules"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0020AssignmentRules {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(AssignmentRules::Table)
                .col(uuid(AssignmentRules::CompanyId))
                .col(uuid(AssignmentRules::Id))
                .col(text(AssignmentRules::Entity))
                .col(int(AssignmentRules::Position))
                .col(text(AssignmentRules::Name))
                .col(flag(AssignmentRules::Active))
                .col(json(AssignmentRules::Conditions))
                .col(json(AssignmentRules::Action))
                .col(text_null(AssignmentRules::TaskTitle))
                .col(time(AssignmentRules::CreatedAt))
                .col(time(AssignmentRules::UpdatedAt))
                .primary_key(
                    Index::create()
                        .col(AssignmentRules::CompanyId)
                        .col(AssignmentRules::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(AssignmentRules::Table, AssignmentRules::CompanyId)
                        .to(Companies::Table, Companies::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("assignment_rules_order")
                .table(AssignmentRules::Table)
                .col(AssignmentRules::CompanyId)
                .col(AssignmentRules::Entity)
                .col(AssignmentRules::Position)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(AssignmentCursors::Table)
                .col(uuid(AssignmentCursors::CompanyId))
                .col(uuid(AssignmentCursors::RuleId))
                .col(
                    ColumnDef::new(AssignmentCursors::NextTurn)
                        .big_integer()
                        .not_null()
                        .default(0),
                )
                .primary_key(
                    Index::create()
                        .col(AssignmentCursors::CompanyId)
                        .col(AssignmentCursors::RuleId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(
                            AssignmentCursors::Table,
                            (AssignmentCursors::CompanyId, AssignmentCursors::RuleId),
                        )
                        .to(
                            AssignmentRules::Table,
                            (AssignmentRules::CompanyId, AssignmentRules::Id),
                        )
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(AssignmentSettings::Table)
                .col(uuid(AssignmentSettings::CompanyId))
                .col(text(AssignmentSettings::Entity))
                .col(
                    ColumnDef::new(AssignmentSettings::FallbackOwnerId)
                        .uuid()
                        .null(),
                )
                .col(time(AssignmentSettings::UpdatedAt))
                .primary_key(
                    Index::create()
                        .col(AssignmentSettings::CompanyId)
                        .col(AssignmentSettings::Entity),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(AssignmentSettings::Table, AssignmentSettings::CompanyId)
                        .to(Companies::Table, Companies::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        for table in [
            "assignment_rules",
            "assignment_cursors",
            "assignment_settings",
        ] {
            super::m0013_row_level_security::enable_tenant_policies(m, table).await?;
        }
        Ok(())
    }
}
