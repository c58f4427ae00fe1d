//! The migrations, one file per number, and the column helpers they share — one set of
//! definitions for SQLite and PostgreSQL, written with sea-query. Migrations are numbered and
//! append-only: never edit one that has shipped, add the next. Table and column names are
//! `crate::tables`.
//!
//! Tenant tables follow DESIGN.md §3: `company_id` leads every primary key, unique index and
//! cross-table foreign key, so a row can only ever point at rows of its own company.

use sea_orm_migration::prelude::*;

macro_rules! cols {
    ($($c:expr),+ $(,)?) => { vec![$($c.into_iden()),+] };
}

pub mod m0001_foundation;
pub mod m0002_leads;
pub mod m0003_pipelines;
pub mod m0004_accounts_contacts;
pub mod m0005_deals;
pub mod m0006_tasks_activities;
pub mod m0007_search;
pub mod m0008_custom_fields;
pub mod m0009_saved_views;
pub mod m0010_search_words;
pub mod m0011_list_sorts;
pub mod m0012_events;
pub mod m0013_row_level_security;
pub mod m0014_search_scale;
pub mod m0015_search_serial;
pub mod m0016_search_changes_only;
pub mod m0017_match_keys;
pub mod m0018_intake;
pub mod m0019_duplicate_groups;
pub mod m0020_assignment_rules;
pub mod m0021_imports;
pub mod m0022_exports;
pub mod m0023_import_files;
pub mod m0024_search_batches;
pub mod m0025_import_chunks;
pub mod m0026_lead_conversion;
pub mod m0027_lead_scoring;
pub mod m0028_scoring_models;
pub mod m0029_qualification;
pub mod m0030_checklist;
pub mod m0031_deal_risk;
pub mod m0032_account_health;
pub mod m0033_audit_via;
pub mod m0034_notifications;
pub mod m0035_email;
pub mod m0036_whatsapp;
pub mod m0037_definitions;
pub mod m0038_workflows;
pub mod m0039_sequences;
pub mod m0040_email_tracking;
pub mod m0041_whatsapp_claims;
pub mod m0042_task_recurrence;
pub mod m0043_imap;
pub mod m0044_workflow_runs_by_trigger;
pub mod m0045_email_handed;
pub mod m0046_workflow_runs_without_foreign_keys;

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m0001_foundation::M0001Foundation),
            Box::new(m0002_leads::M0002Leads),
            Box::new(m0003_pipelines::M0003Pipelines),
            Box::new(m0004_accounts_contacts::M0004AccountsContacts),
            Box::new(m0005_deals::M0005Deals),
            Box::new(m0006_tasks_activities::M0006TasksActivities),
            Box::new(m0007_search::M0007Search),
            Box::new(m0008_custom_fields::M0008CustomFields),
            Box::new(m0009_saved_views::M0009SavedViews),
            Box::new(m0010_search_words::M0010SearchWords),
            Box::new(m0011_list_sorts::M0011ListSorts),
            Box::new(m0012_events::M0012Events),
            Box::new(m0014_search_scale::M0014SearchScale),
            Box::new(m0015_search_serial::M0015SearchSerial),
            Box::new(m0016_search_changes_only::M0016SearchChangesOnly),
            Box::new(m0017_match_keys::M0017MatchKeys),
            Box::new(m0018_intake::M0018Intake),
            Box::new(m0019_duplicate_groups::M0019DuplicateGroups),
            Box::new(m0020_assignment_rules::M0020AssignmentRules),
            Box::new(m0021_imports::M0021Imports),
            Box::new(m0022_exports::M0022Exports),
            Box::new(m0023_import_files::M0023ImportFiles),
            Box::new(m0024_search_batches::M0024SearchBatches),
            Box::new(m0025_import_chunks::M0025ImportChunks),
            Box::new(m0026_lead_conversion::M0026LeadConversion),
            Box::new(m0027_lead_scoring::M0027LeadScoring),
            Box::new(m0028_scoring_models::M0028ScoringModels),
            Box::new(m0029_qualification::M0029Qualification),
            Box::new(m0030_checklist::M0030Checklist),
            Box::new(m0031_deal_risk::M0031DealRisk),
            Box::new(m0032_account_health::M0032AccountHealth),
            Box::new(m0033_audit_via::M0033AuditVia),
            Box::new(m0034_notifications::M0034Notifications),
            Box::new(m0035_email::M0035Email),
            Box::new(m0036_whatsapp::M0036Whatsapp),
            Box::new(m0037_definitions::M0037Definitions),
            Box::new(m0038_workflows::M0038Workflows),
            Box::new(m0039_sequences::M0039Sequences),
            Box::new(m0040_email_tracking::M0040EmailTracking),
            Box::new(m0041_whatsapp_claims::M0041WhatsappClaims),
            Box::new(m0042_task_recurrence::M0042TaskRecurrence),
            Box::new(m0043_imap::M0043Imap),
            Box::new(m0044_workflow_runs_by_trigger::M0044WorkflowRunsByTrigger),
            Box::new(m0045_email_handed::M0045EmailHanded),
            Box::new(m0046_workflow_runs_without_foreign_keys::M0046WorkflowRunsWithoutForeignKeys),
            // Keep last: it covers every table with a `company_id` that exists when it runs.
            Box::new(m0013_row_level_security::M0013RowLevelSecurity),
        ]
    }
}

// Column helpers shared by every migration module.

pub(crate) fn uuid(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).uuid().not_null().to_owned()
}

pub(crate) fn int(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).integer().not_null().to_owned()
}

pub(crate) fn flag(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .boolean()
        .not_null()
        .default(false)
        .to_owned()
}

pub(crate) fn json(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).json_binary().not_null().to_owned()
}

pub(crate) fn time(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .not_null()
        .to_owned()
}

pub(crate) fn time_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col)
        .timestamp_with_time_zone()
        .null()
        .to_owned()
}

pub(crate) fn text(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).text().not_null().to_owned()
}

pub(crate) fn text_null(col: impl IntoIden) -> ColumnDef {
    ColumnDef::new(col).text().null().to_owned()
}

pub(crate) fn index(
    name: &str,
    table: impl IntoTableRef,
    cols: Vec<DynIden>,
) -> IndexCreateStatement {
    let mut stmt = Index::create();
    stmt.name(name).table(table);
    for c in cols {
        stmt.col(c);
    }
    stmt.to_owned()
}

/// Queue one job of `kind` for every company (no `company_id`) when `table` has a row at all:
/// the recomputation a migration leaves to the workers (a new installation gets no job).
pub(crate) async fn queue_job_if_any(
    m: &SchemaManager<'_>,
    kind: &str,
    payload: serde_json::Value,
    table: impl IntoTableRef,
) -> Result<(), DbErr> {
    use crate::tables::Jobs;
    let at = chrono::Utc::now();
    let values: Vec<Expr> = vec![
        Expr::val(uuid::Uuid::now_v7()),
        Expr::val(kind),
        Expr::val(payload),
        Expr::val("queued"),
        Expr::val(0),
        Expr::val(at),
        Expr::val(0),
        Expr::val(5),
        Expr::val(0_i64),
        Expr::val(at),
        Expr::val(at),
    ];
    let mut insert = Query::insert();
    insert
        .into_table(Jobs::Table)
        .columns([
            Jobs::Id,
            Jobs::Kind,
            Jobs::Payload,
            Jobs::State,
            Jobs::Priority,
            Jobs::RunAt,
            Jobs::Attempts,
            Jobs::MaxAttempts,
            Jobs::ProgressDone,
            Jobs::CreatedAt,
            Jobs::UpdatedAt,
        ])
        .select_from(
            Query::select()
                .exprs(values)
                .and_where(Expr::exists(
                    Query::select().expr(Expr::val(1)).from(table).to_owned(),
                ))
                .to_owned(),
        )
        .map_err(|e| DbErr::Custom(e.to_string()))?;
    m.exec_stmt(insert).await?;
    Ok(())
}

/// Every migration has a unique, stable name (what `seaql_migrations` records).
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migration_names_are_unique() {
        let names: Vec<String> = Migrator::migrations()
            .iter()
            .map(|m| m.name().to_owned())
            .collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(names.len(), unique.len(), "{names:?}");
    }
}
