//! Tenancy enforced a second time, by PostgreSQL (migration `m0013_row_level_security`; a
//! no-op on SQLite, where the store's `WHERE company_id = …` is the only guard).
//!
//! The mechanism is a **non-owner role**, not `FORCE ROW LEVEL SECURITY`:
//!
//! - The migration creates the role [`TENANT_ROLE`] (`NOLOGIN`; roles are cluster-wide, so one
//!   that exists — made by an earlier database or by an administrator beforehand — is reused),
//!   lets the role Rivet connects with switch to it, and grants it the rows' privileges.
//! - Every table with a `company_id` column (found in `information_schema` when the migration
//!   runs, so tables of every earlier migration are covered) gets row-level security and the
//!   policy [`POLICY`]: a row is visible and writable only when its `company_id` equals the
//!   transaction's `rivet.company_id` setting. A table created by a later migration calls
//!   [`enable_tenant_policies`].
//! - The store starts every read and write for an `Actor` with `SET LOCAL ROLE rivet_tenant`
//!   and `set_config('rivet.company_id', …, true)` (`crate::Store::read`, `crate::Store::write`).
//!   The tenant role is neither the tables' owner nor a superuser, so the policies bind it
//!   even when `DATABASE_URL` names `postgres`. Work across companies runs as the connecting
//!   role, which owns the tables and is not bound: that is the named bypass
//!   (`crate::Store::system`, `crate::Store::write_system`). `FORCE` would bind the owner too and
//!   leave no bypass short of a second login, and would still not bind a superuser.
//!
//! Rows whose `company_id` is NULL (system jobs, system log lines) belong to no company: no
//! tenant transaction sees or writes them. A system administrator reads them through the
//! bypass (`crate::Store::read_with_system_rows`), still filtered in code.
//!
//! Search reads (`search_docs`) go through the view `search_docs_tenant`, which filters by the
//! same setting: a policy makes every condition of the query that is not "leakproof" wait until
//! the policy's own has been applied, and `LIKE` is not, so under the policy PostgreSQL cannot
//! use the trigram index and reads all of the company's rows. The view is owned by the tables'
//! owner, so it reads `search_docs` unbound by the policy but only the setting's company.

use crate::tables::*;
use sea_orm::{ConnectionTrait, DbBackend, FromQueryResult, Statement};
use sea_orm_migration::prelude::*;

pub(crate) struct M0013RowLevelSecurity;

impl MigrationName for M0013RowLevelSecurity {
    fn name(&self) -> &str {
        "m0013_row_level_security"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for M0013RowLevelSecurity {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        if m.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let db = m.get_connection();
        db.execute_unprepared(&create_role_sql()).await?;
        db.execute_unprepared(&format!(
            "DO $$ BEGIN \
               EXECUTE format('GRANT USAGE ON SCHEMA %I TO {TENANT_ROLE}', current_schema()); \
               EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I \
                 TO {TENANT_ROLE}', current_schema()); \
               EXECUTE format('GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO {TENANT_ROLE}', \
                 current_schema()); \
               EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, \
                 UPDATE, DELETE ON TABLES TO {TENANT_ROLE}', current_schema()); \
               EXECUTE format('ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT ON \
                 SEQUENCES TO {TENANT_ROLE}', current_schema()); \
             END $$; \
             REVOKE ALL ON seaql_migrations FROM {TENANT_ROLE};"
        ))
        .await?;
        for table in tenant_tables(db).await? {
            enable_tenant_policies(m, &table).await?;
        }
        db.execute_unprepared(&format!(
            "CREATE VIEW {SEARCH_VIEW} AS SELECT * FROM search_docs \
             WHERE company_id = {CURRENT_COMPANY}; \
             GRANT SELECT ON {SEARCH_VIEW} TO {TENANT_ROLE};"
        ))
        .await?;
        Ok(())
    }
}

/// Create the tenant role unless it exists, and let the connecting role switch to it. Two
/// databases of one server may migrate at once (tests do), so a lost race to create it is fine.
fn create_role_sql() -> String {
    format!(
        "DO $$ BEGIN \
           IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{TENANT_ROLE}') THEN \
             BEGIN \
               CREATE ROLE {TENANT_ROLE} NOLOGIN; \
             EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; \
             END; \
           END IF; \
           IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) \
              AND NOT pg_has_role(current_user, '{TENANT_ROLE}', 'MEMBER') THEN \
             BEGIN \
               EXECUTE format('GRANT {TENANT_ROLE} TO %I', current_user); \
             EXCEPTION WHEN unique_violation THEN NULL; \
             END; \
           END IF; \
         END $$;"
    )
}

#[derive(FromQueryResult)]
struct TableName {
    table_name: String,
}

/// Every table of the current schema with a `company_id` column.
pub async fn tenant_tables<C: ConnectionTrait>(db: &C) -> Result<Vec<String>, DbErr> {
    let rows = TableName::find_by_statement(Statement::from_string(
        DbBackend::Postgres,
        "SELECT c.table_name::text AS table_name FROM information_schema.columns c \
         JOIN information_schema.tables t \
           ON t.table_schema = c.table_schema AND t.table_name = c.table_name \
         WHERE c.table_schema = current_schema() AND c.column_name = 'company_id' \
           AND t.table_type = 'BASE TABLE' \
         ORDER BY 1",
    ))
    .all(db)
    .await?;
    Ok(rows.into_iter().map(|r| r.table_name).collect())
}

/// Turn on row-level security for `table` (which has a `company_id` column) with the tenant
/// policy, and grant the tenant role its rows. On PostgreSQL only; a later migration that
/// creates a tenant table calls this after creating it. Idempotent. Before the tenant role
/// exists (a new database whose migrations run in order, this one last) it does nothing: this
/// migration covers the table when it runs.
pub async fn enable_tenant_policies(m: &SchemaManager<'_>, table: &str) -> Result<(), DbErr> {
    if m.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let role = m
        .get_connection()
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT 1 AS one FROM pg_roles WHERE rolname = '{TENANT_ROLE}'"),
        ))
        .await?;
    if role.is_none() {
        return Ok(());
    }
    let table = quote_ident(table);
    m.get_connection()
        .execute_unprepared(&format!(
            "ALTER TABLE {table} ENABLE ROW LEVEL SECURITY; \
             DROP POLICY IF EXISTS {POLICY} ON {table}; \
             CREATE POLICY {POLICY} ON {table} AS PERMISSIVE FOR ALL TO {TENANT_ROLE} \
               USING (company_id = {CURRENT_COMPANY}) \
               WITH CHECK (company_id = {CURRENT_COMPANY}); \
             GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO {TENANT_ROLE};"
        ))
        .await?;
    Ok(())
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
