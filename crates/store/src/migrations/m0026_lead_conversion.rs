//! Migration `m0026_lead_conversion`: a converted lead keeps what it became (issue 14 §3) —
//! `converted_at` and the account, contact and deal the conversion made or chose. No foreign
//! keys: a lead outlives what it was converted into (the account may be deleted or merged
//! later), and its links then simply name a record that is gone.

use super::time_null;
use crate::tables::*;
use sea_orm_migration::prelude::*;

pub(crate) struct M0026LeadConversion;

impl MigrationName for M0026LeadConversion {
    fn name(&self) -> &str {
        "m0026_lead_conversion"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0026LeadConversion {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite alters one thing at a time.
        for col in [
            time_null(Leads::ConvertedAt),
            ColumnDef::new(Leads::ConvertedAccountId)
                .uuid()
                .null()
                .to_owned(),
            ColumnDef::new(Leads::ConvertedContactId)
                .uuid()
                .null()
                .to_owned(),
            ColumnDef::new(Leads::ConvertedDealId)
                .uuid()
                .null()
                .to_owned(),
        ] {
            m.alter_table(
                Table::alter()
                    .table(Leads::Table)
                    .add_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
