//! Migration `m0011_list_sorts`: every filterable field of a record list is sortable (issue 11),
//! so the orders a user is likely to pick on a large list get an index that serves them, and the
//! lead scores a client typed out of range are brought back to 0–100.
//!
//! Nullable columns sort as `COALESCE(col, '')` or `COALESCE(col, -1)` (`store::query`), so
//! their indexes are on that expression; the SQL is the same on both engines. Each index leads
//! with `company_id` and ends with `id`, the keyset's tie-breaker.

use sea_orm::ConnectionTrait;
use sea_orm_migration::prelude::*;

pub(crate) struct M0011ListSorts;

impl MigrationName for M0011ListSorts {
    fn name(&self) -> &str {
        "m0011_list_sorts"
    }
}

/// `(name, table, sort expression)`: the lists' likely orders beyond the newest first.
const INDEXES: &[(&str, &str, &str)] = &[
    ("leads_updated_idx", "leads", "updated_at"),
    ("leads_total_score_idx", "leads", "total_score"),
    ("leads_last_name_idx", "leads", "(COALESCE(last_name, ''))"),
    (
        "leads_company_name_idx",
        "leads",
        "(COALESCE(company_name, ''))",
    ),
    ("leads_industry_idx", "leads", "(COALESCE(industry, ''))"),
    ("leads_country_idx", "leads", "(COALESCE(country, ''))"),
    ("leads_source_idx", "leads", "(COALESCE(source, ''))"),
    ("accounts_updated_idx", "accounts", "updated_at"),
    (
        "accounts_health_idx",
        "accounts",
        "(COALESCE(health_score, -1))",
    ),
    (
        "accounts_industry_idx",
        "accounts",
        "(COALESCE(industry, ''))",
    ),
    ("contacts_updated_idx", "contacts", "updated_at"),
    ("deals_updated_idx", "deals", "updated_at"),
    ("deals_amount_idx", "deals", "(COALESCE(amount_micros, -1))"),
];

/// Scores were 0–100 only by convention: clamp them, and make each total the mean of its fit
/// and engagement scores (`rivet_domain::leads::total_score`). Only rows that need it are
/// written.
const CLAMP_SCORES: &str = "UPDATE leads SET \
     fit_score = CASE WHEN fit_score < 0 THEN 0 WHEN fit_score > 100 THEN 100 ELSE fit_score END, \
     engagement_score = CASE WHEN engagement_score < 0 THEN 0 \
         WHEN engagement_score > 100 THEN 100 ELSE engagement_score END \
     WHERE fit_score NOT BETWEEN 0 AND 100 OR engagement_score NOT BETWEEN 0 AND 100";
const TOTAL_SCORES: &str = "UPDATE leads SET total_score = (fit_score + engagement_score + 1) / 2 \
     WHERE total_score <> (fit_score + engagement_score + 1) / 2";

#[async_trait::async_trait]
impl MigrationTrait for M0011ListSorts {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for (name, table, expr) in INDEXES {
            db.execute_unprepared(&format!(
                "CREATE INDEX {name} ON {table} (company_id, {expr}, id)"
            ))
            .await?;
        }
        db.execute_unprepared(CLAMP_SCORES).await?;
        db.execute_unprepared(TOTAL_SCORES).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for (name, _, _) in INDEXES {
            db.execute_unprepared(&format!("DROP INDEX IF EXISTS {name}"))
                .await?;
        }
        Ok(())
    }
}
