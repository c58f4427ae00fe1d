//! Migration `m0015_search_serial` (PostgreSQL only): search reads its tables without parallel
//! workers.
//!
//! A search reads at most `crate::search::CANDIDATES` postings newest first and their
//! documents: about a millisecond of work. At a million records the planner's estimate of a
//! common word's postings is large enough that it planned a parallel read (`Gather Merge`),
//! and starting the worker cost 6–15 ms a query, more than the read itself, plus a second
//! process per search under load (`bench/explain.sh`, BENCHMARKS.md). `parallel_workers = 0`
//! on the two tables takes the parallel plans away for these tables only; other queries keep
//! the server's setting.

use sea_orm::{ConnectionTrait, DbBackend};
use sea_orm_migration::prelude::*;

pub struct M0015SearchSerial;

impl MigrationName for M0015SearchSerial {
    fn name(&self) -> &str {
        "m0015_search_serial"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0015SearchSerial {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = m.get_connection();
        for table in ["search_terms", "search_docs"] {
            db.execute_unprepared(&format!("ALTER TABLE {table} SET (parallel_workers = 0)"))
                .await?;
        }
        Ok(())
    }
}
