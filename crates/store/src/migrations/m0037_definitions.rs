//! Migration `m0037_definitions`: what a company's admins define — e-mail templates, workflow
//! rules, sequences — in one table (`definitions`), one row per definition: its kind, its name
//! (unique per company and kind, for lists and pickers), whether it is active, and the checked
//! definition as JSON (`rivet_store::definitions`); and the permission resources `templates`,
//! `workflows` and `sequences`, granted to existing companies' built-in roles. What runs from a definition (a rule's
//! execution log, a sequence's enrollments) has tables of its own that refer to the row's id.

use super::{flag, json, text, time, uuid};
use crate::tables::*;
use rivet_domain::{BuiltinRole, Resource};
use sea_orm_migration::prelude::*;

/// The resources this migration adds to the permission catalog.
const NEW_RESOURCES: [Resource; 3] = [
    Resource::Templates,
    Resource::Workflows,
    Resource::Sequences,
];

pub(crate) struct M0037Definitions;

impl MigrationName for M0037Definitions {
    fn name(&self) -> &str {
        "m0037_definitions"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0037Definitions {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        use Definitions as D;
        m.create_table(
            Table::create()
                .table(D::Table)
                .col(uuid(D::CompanyId))
                .col(uuid(D::Id))
                .col(text(D::Kind))
                .col(text(D::Name))
                .col(flag(D::Active))
                .col(json(D::Body))
                .col(ColumnDef::new(D::CreatedBy).uuid().null())
                .col(time(D::CreatedAt))
                .col(time(D::UpdatedAt))
                .primary_key(Index::create().col(D::CompanyId).col(D::Id))
                .foreign_key(
                    ForeignKey::create()
                        .from(D::Table, D::CompanyId)
                        .to(Companies::Table, Companies::Id)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // The id alone is unique too, so tables of what runs from a definition can refer to it.
        m.create_index(
            Index::create()
                .name("definitions_id_idx")
                .table(D::Table)
                .col(D::Id)
                .unique()
                .to_owned(),
        )
        .await?;
        // A company's definitions of a kind by name: lists, pickers, and the name's uniqueness.
        m.create_index(
            Index::create()
                .name("definitions_name_idx")
                .table(D::Table)
                .col(D::CompanyId)
                .col(D::Kind)
                .col(D::Name)
                .unique()
                .to_owned(),
        )
        .await?;
        super::m0013_row_level_security::enable_tenant_policies(m, "definitions").await?;
        // The built-in roles of existing companies get what new companies' roles get on the
        // new resources.
        let db = m.get_connection();
        for role in BuiltinRole::ALL {
            for (resource, action, scope) in role.default_permissions().grants() {
                if !NEW_RESOURCES.contains(&resource) {
                    continue;
                }
                db.execute_unprepared(&format!(
                    "INSERT INTO role_permissions (company_id, role_id, resource, action, scope) \
                     SELECT company_id, id, '{resource}', '{action}', '{scope}' FROM roles \
                     WHERE builtin = TRUE AND name = '{role}'"
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.get_connection()
            .execute_unprepared(
                "DELETE FROM role_permissions WHERE resource IN ('templates', 'workflows', 'sequences')",
            )
            .await?;
        m.drop_table(Table::drop().table(Definitions::Table).to_owned())
            .await?;
        Ok(())
    }
}
