//! The import wizard (issue 13 §4): the imports page (the company's imports and an upload
//! form), then one page per import that walks its steps — the mapping (a drop-down per column,
//! preset with the suggestion) with the options and a preview of the first rows; a dry run's row
//! errors; the run with a live progress bar (`rivet.js` polls `GET /api/v1/imports/{id}`; without
//! the script the page refreshes itself); the summary with the error file and an undo. Every
//! step calls `crate::imports`, as the API does.
//!
//! The upload itself is posted by `rivet.js` to `POST /api/v1/imports` (a multipart body, whose
//! CSRF token travels in the header): without the script the page says to use `rivet import`.

use super::view::{Ctx, Layout, Opt, OrPage, WebError, WebForm, WebQuery, ago, options};
use crate::imports::{self, Validation};
use askama::Template;
use axum::extract::Path;
use axum::response::Response;
use rivet_domain::Action;
use rivet_domain::imports::{DuplicatePolicy, ImportEntity, ImportOptions, ImportStatus};
use rivet_store::imports::{self as store, Import};
use serde::Deserialize;
use std::collections::BTreeMap;
use uuid::Uuid;

pub struct ImportRow {
    pub id: Uuid,
    pub file_name: String,
    pub entity: &'static str,
    pub status: &'static str,
    pub rows: String,
    pub created: i64,
    pub when: String,
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub struct IndexQuery {
    entity: String,
}

#[derive(Template)]
#[template(path = "web/imports.html")]
struct IndexPage {
    layout: Layout,
    imports: Vec<ImportRow>,
    entity_options: Vec<Opt>,
    max_mb: usize,
}

fn creatable(ctx: &Ctx) -> Vec<ImportEntity> {
    ImportEntity::ALL
        .iter()
        .copied()
        .filter(|e| imports::check(&ctx.actor, *e, Action::Create).is_ok())
        .collect()
}

/// `GET /imports`: the company's imports into what the caller may create, and the upload form
/// (`?entity=` preselects the records, as the lists' "Import" link does), for the records the
/// caller may create.
pub async fn index(ctx: Ctx, WebQuery(query): WebQuery<IndexQuery>) -> Result<Response, WebError> {
    // A role that may create none of them sees the page without the upload form.
    let entities = creatable(&ctx);
    let list = store::list(&ctx.app.store, &ctx.actor, &entities, 100)
        .await
        .or_page(&ctx)?;
    let page = IndexPage {
        layout: ctx.layout("Imports"),
        imports: list
            .iter()
            .map(|i| ImportRow {
                id: i.id,
                file_name: i.file_name.clone(),
                entity: i.entity.as_str(),
                status: i.status.as_str(),
                rows: format!("{} of {}", i.rows_done, i.total_rows),
                created: i.created,
                when: ago(&i.created_at),
            })
            .collect(),
        entity_options: options(
            entities.iter().map(|e| (e.as_str(), capital(e.as_str()))),
            &query.entity,
        ),
        max_mb: ctx.app.config.import_max_bytes / (1024 * 1024),
    };
    Ok(ctx.render(&page))
}

fn capital(word: &str) -> String {
    super::view::capitalise(word)
}

/// One column of the mapping step.
pub struct ColumnRow {
    pub index: usize,
    pub header: String,
    pub sample: String,
    pub targets: Vec<Opt>,
}

#[derive(Template)]
#[template(path = "web/import.html")]
struct ImportPage {
    layout: Layout,
    import: Import,
    entity: &'static str,
    status: &'static str,
    /// The CSV delimiter as shown (`tab` for a tab).
    delimiter: String,
    busy: bool,
    finished: bool,
    can_configure: bool,
    can_undo: bool,
    columns: Vec<ColumnRow>,
    header: Vec<String>,
    preview: Vec<Vec<String>>,
    policy_options: Vec<Opt>,
    tags: String,
    validation: Option<Validation>,
    percent: i64,
    errors: Vec<String>,
}

async fn import_page(
    ctx: &Ctx,
    import: Import,
    validation: Option<Validation>,
    errors: Vec<String>,
) -> Result<ImportPage, WebError> {
    let preview = imports::preview_of(&ctx.app, &ctx.actor, &import)
        .await
        .or_page(ctx)?;
    let targets = imports::mapping_targets(&ctx.app, &ctx.actor, import.entity)
        .await
        .or_page(ctx)?;
    let columns = import
        .header
        .iter()
        .enumerate()
        .map(|(index, header)| {
            let selected = import
                .mapping
                .get(index)
                .cloned()
                .flatten()
                .unwrap_or_default();
            let mut items = vec![(String::new(), "— not imported —".to_owned())];
            items.extend(targets.iter().map(|t| (t.clone(), t.clone())));
            ColumnRow {
                index,
                header: header.clone(),
                sample: preview
                    .first()
                    .and_then(|r| r.get(index))
                    .cloned()
                    .unwrap_or_default(),
                targets: options(items, &selected),
            }
        })
        .collect();
    let status = import.status;
    let percent = if import.total_rows > 0 {
        import.rows_done * 100 / import.total_rows
    } else {
        0
    };
    Ok(ImportPage {
        layout: ctx.layout(format!("Import {}", import.file_name)),
        entity: import.entity.as_str(),
        status: status.as_str(),
        delimiter: match import.delimiter.as_deref() {
            Some("\t") => "tab".to_owned(),
            Some(d) => d.to_owned(),
            None => String::new(),
        },
        busy: status.is_busy(),
        finished: matches!(
            status,
            ImportStatus::Completed | ImportStatus::Cancelled | ImportStatus::Failed
        ),
        can_configure: !status.is_busy() && status != ImportStatus::Undone,
        can_undo: imports::check(&ctx.actor, import.entity, Action::Delete).is_ok()
            && matches!(
                status,
                ImportStatus::Completed | ImportStatus::Cancelled | ImportStatus::Failed
            )
            && import.created > 0,
        columns,
        header: import.header.clone(),
        preview,
        policy_options: options(
            DuplicatePolicy::ALL
                .iter()
                .map(|p| (p.as_str(), policy_label(*p))),
            import.options.duplicate_policy.as_str(),
        ),
        tags: import.options.tags.join(", "),
        validation,
        percent,
        errors,
        import,
    })
}

fn policy_label(policy: DuplicatePolicy) -> &'static str {
    match policy {
        DuplicatePolicy::Skip => "Skip rows that duplicate a record",
        DuplicatePolicy::Update => "Update the record a row duplicates",
        DuplicatePolicy::Create => "Create every row, duplicates too",
    }
}

fn id_of(ctx: &Ctx, id: &str) -> Result<Uuid, WebError> {
    id.parse()
        .map_err(|_| ctx.fail(crate::http::error::AppError::NotFound))
}

/// `GET /imports/{id}`: the wizard at the import's step.
pub async fn show(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let import = imports::visible(&ctx.app, &ctx.actor, id_of(&ctx, &id)?)
        .await
        .or_page(&ctx)?;
    let page = import_page(&ctx, import, None, Vec::new()).await?;
    Ok(ctx.render(&page))
}

/// `POST /imports/{id}`: save the mapping (`map.<column index>`) and options, then `do`
/// `validate` (a dry run shown on the page) or `run` (queued; the page follows it).
pub async fn save(
    ctx: Ctx,
    Path(id): Path<String>,
    WebForm(form): WebForm<Vec<(String, String)>>,
) -> Result<Response, WebError> {
    let id = id_of(&ctx, &id)?;
    let import = imports::visible(&ctx.app, &ctx.actor, id)
        .await
        .or_page(&ctx)?;
    let value = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim().to_owned())
            .unwrap_or_default()
    };
    let mut mapping = BTreeMap::new();
    for (index, header) in import.header.iter().enumerate() {
        let field = value(&format!("map.{index}"));
        mapping.insert(header.clone(), (!field.is_empty()).then_some(field));
    }
    let options = ImportOptions {
        duplicate_policy: value("duplicate_policy")
            .parse()
            .unwrap_or(DuplicatePolicy::Skip),
        assignment: import.options.assignment,
        default_owner: import.options.default_owner,
        tags: value("tags")
            .split(',')
            .map(|t| t.trim().to_owned())
            .filter(|t| !t.is_empty())
            .collect(),
    };
    let saved = imports::configure(&ctx.app, &ctx.actor, id, Some(mapping), Some(options)).await;
    let import = match saved {
        Ok(import) => import,
        Err(crate::http::error::AppError::Validation(errors)) => {
            let messages = errors
                .0
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect();
            let page = import_page(&ctx, import, None, messages).await?;
            return Ok(ctx.render(&page));
        }
        Err(e) => return Err(ctx.fail(e)),
    };
    match value("do").as_str() {
        "validate" => {
            let validation = imports::validate(&ctx.app, &ctx.actor, id)
                .await
                .or_page(&ctx)?;
            let page = import_page(&ctx, import, Some(validation), Vec::new()).await?;
            Ok(ctx.render(&page))
        }
        "run" => match imports::start_run(&ctx.app, &ctx.actor, id).await {
            Ok(_) => Ok(ctx.done(&format!("/imports/{id}"), "The import is running.")),
            Err(e) => Ok(ctx.refused(&format!("/imports/{id}"), e.to_string())),
        },
        _ => Ok(ctx.done(&format!("/imports/{id}"), "Mapping saved.")),
    }
}

/// `POST /imports/{id}/cancel`.
pub async fn cancel(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let id = id_of(&ctx, &id)?;
    match imports::cancel(&ctx.app, &ctx.actor, id).await {
        Ok(_) => Ok(ctx.done(&format!("/imports/{id}"), "The import was cancelled.")),
        Err(e) => Ok(ctx.refused(&format!("/imports/{id}"), e.to_string())),
    }
}

/// `POST /imports/{id}/undo`.
pub async fn undo(ctx: Ctx, Path(id): Path<String>) -> Result<Response, WebError> {
    let id = id_of(&ctx, &id)?;
    match imports::start_undo(&ctx.app, &ctx.actor, id).await {
        Ok(_) => Ok(ctx.done(
            &format!("/imports/{id}"),
            "The records this import created are being deleted.",
        )),
        Err(e) => Ok(ctx.refused(&format!("/imports/{id}"), e.to_string())),
    }
}
