//! Migration `m0019_duplicate_groups` (issue 13 §2, duplicate scan): the match keys of accounts
//! (`name_key`: the normalized company name, `domain_key`: the registrable domain; written with
//! each account, indexed, existing rows filled here in Rust as `m0017_match_keys` does for leads
//! and contacts), and the `duplicate_groups` a scan finds: per company and entity, the members
//! (a JSON array of ids, and `members_key`, the sorted ids joined, so a dismissed group is not
//! found again), the rule that joined them and a score, open or dismissed.

use super::{text, time, time_null, uuid};
use crate::tables::*;
use sea_orm::ConnectionTrait;
use sea_orm_migration::prelude::*;

pub struct M0019DuplicateGroups;

impl MigrationName for M0019DuplicateGroups {
    fn name(&self) -> &str {
        "m0019_duplicate_groups"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0019DuplicateGroups {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in [AccountKeys::NameKey, AccountKeys::DomainKey] {
            m.alter_table(
                Table::alter()
                    .table(AccountKeys::Table)
                    .add_column(ColumnDef::new(column).text().null())
                    .to_owned(),
            )
            .await?;
        }
        let db = m.get_connection();
        crate::duplicate_groups::backfill_accounts(db)
            .await
            .map_err(|e| DbErr::Migration(format!("filling the account keys: {e}")))?;
        for column in ["name_key", "domain_key"] {
            db.execute_unprepared(&format!(
                "CREATE INDEX accounts_{column}_idx ON accounts (company_id, {column}) \
                 WHERE {column} IS NOT NULL"
            ))
            .await?;
        }

        m.create_table(
            Table::create()
                .table(DuplicateGroups::Table)
                .col(uuid(DuplicateGroups::CompanyId))
                .col(uuid(DuplicateGroups::Id))
                .col(text(DuplicateGroups::Entity))
                .col(text(DuplicateGroups::Rule))
                .col(ColumnDef::new(DuplicateGroups::Score).double().not_null())
                .col(text(DuplicateGroups::Status))
                .col(text(DuplicateGroups::MemberIds))
                .col(text(DuplicateGroups::MembersKey))
                .col(ColumnDef::new(DuplicateGroups::Size).integer().not_null())
                .col(ColumnDef::new(DuplicateGroups::ScanJobId).uuid().null())
                .col(ColumnDef::new(DuplicateGroups::DismissedBy).uuid().null())
                .col(time_null(DuplicateGroups::DismissedAt))
                .col(time(DuplicateGroups::CreatedAt))
                .col(time(DuplicateGroups::UpdatedAt))
                .primary_key(
                    Index::create()
                        .col(DuplicateGroups::CompanyId)
                        .col(DuplicateGroups::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(DuplicateGroups::Table, DuplicateGroups::CompanyId)
                        .to(Companies::Table, Companies::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("duplicate_groups_list_idx")
                .table(DuplicateGroups::Table)
                .col(DuplicateGroups::CompanyId)
                .col(DuplicateGroups::Entity)
                .col(DuplicateGroups::Status)
                .col(DuplicateGroups::Id)
                .to_owned(),
        )
        .await?;
        super::m0013_row_level_security::enable_tenant_policies(m, "duplicate_groups").await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(DuplicateGroups::Table).to_owned())
            .await?;
        let db = m.get_connection();
        for column in ["name_key", "domain_key"] {
            db.execute_unprepared(&format!("DROP INDEX IF EXISTS accounts_{column}_idx"))
                .await?;
        }
        for column in [AccountKeys::NameKey, AccountKeys::DomainKey] {
            m.alter_table(
                Table::alter()
                    .table(AccountKeys::Table)
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
