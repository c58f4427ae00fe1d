//! The import use case (issue 13 §4): open an uploaded file and keep it as an import with a
//! suggested mapping; check a mapping; validate every row without saving (dry run); run an
//! import (each row mapped to the record's input, validated as a create is, checked for
//! duplicates, then created, updated or skipped — a batch of rows per transaction with the
//! import's progress, so a run that stops resumes after the last row saved and nothing is
//! imported twice); undo what an import created. The API, the job, the CLI and the wizard call
//! these same functions.
//!
//! A row is turned into the JSON body the record's `POST` takes, so an imported record goes
//! through the same validation, custom-field checks, audit rows and `*.created` events as one
//! created by hand; a batch of rows is then taken in together (`ApiRecord::take_in_tx`, for
//! leads and contacts the intake's `take_in`: duplicate rules, assignment rules, the record
//! layer's batched create). A row that names no owner is owned by the assignment rules' choice,
//! or with assignment off by the import's default owner, else the importing user
//! ([`owner_of_row`]).

use crate::api::custom_fields;
use crate::api::record::{ApiRecord, Input};
use crate::http::error::AppError;
use crate::state::AppState;
use rivet_domain::custom_fields::{CustomFieldKind, FieldDef};
use rivet_domain::imports::{
    self as domain, DuplicatePolicy, FileError, ImportEntity, ImportOptions, ImportStatus, Row,
    Sheet, ValueKind,
};
use rivet_domain::{Action, Actor, FieldErrors, Resource};
use rivet_store::accounts::Account;
use rivet_store::contacts::Contact;
use rivet_store::deals::Deal;
use rivet_store::duplicates::Duplicate;
use rivet_store::imports::{self as store, Counts, Import, NewImport, RowError};
use rivet_store::intake::Taken;
use rivet_store::leads::Lead;
use rivet_store::record::{self, Record};
use rivet_store::{StoreError, jobs};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The job that runs an import.
pub const RUN_JOB: &str = "import.run";
/// The job that undoes an import.
pub const UNDO_JOB: &str = "import.undo";

/// Rows saved per transaction.
pub const BATCH: usize = 500;

/// Rows shown in an import's preview.
pub const PREVIEW_ROWS: usize = 10;

/// The most row errors a dry run answers with (the count says how many there are).
pub const MAX_REPORTED_ERRORS: usize = 1000;

/// The resource whose permissions an import of `entity` needs.
pub fn resource_of(entity: ImportEntity) -> rivet_domain::Resource {
    match entity {
        ImportEntity::Leads => Lead::RESOURCE,
        ImportEntity::Contacts => Contact::RESOURCE,
        ImportEntity::Accounts => Account::RESOURCE,
        ImportEntity::Deals => Deal::RESOURCE,
    }
}

/// Who may reach the import routes and pages at all: a caller who may create one of the
/// record types an import fills. Each route then checks the import's own entity ([`check`]).
pub const ACCESS: crate::http::router::Access = crate::http::router::Access::AnyOf(&[
    (Resource::Leads, Action::Create),
    (Resource::Contacts, Action::Create),
    (Resource::Accounts, Action::Create),
    (Resource::Deals, Action::Create),
]);

/// `actor` may do `action` on the records of `entity` (403 otherwise).
pub fn check(actor: &Actor, entity: ImportEntity, action: Action) -> Result<(), AppError> {
    crate::http::router::Access::Allow(resource_of(entity), action).check(Some(actor))
}

/// What an import needs of the caller: create on its records, update for the `update` policy.
pub fn check_run(actor: &Actor, import: &Import) -> Result<(), AppError> {
    check(actor, import.entity, Action::Create)?;
    if import.options.duplicate_policy == DuplicatePolicy::Update {
        check(actor, import.entity, Action::Update)?;
    }
    Ok(())
}

/// An import of the caller's company that the caller may import into (else not found).
pub async fn visible(app: &AppState, actor: &Actor, id: Uuid) -> Result<Import, AppError> {
    let import = store::get(&app.store, actor, id).await?;
    if check(actor, import.entity, Action::Create).is_err() {
        return Err(AppError::NotFound);
    }
    Ok(import)
}

/// A file the domain cannot read, as the client is told.
fn file_error(e: FileError) -> AppError {
    AppError::field("file", e.to_string())
}

/// How each field of the record's input is written in JSON, from its schema.
fn value_kinds<R: ApiRecord>() -> BTreeMap<String, ValueKind> {
    use utoipa::PartialSchema;
    let schema = serde_json::to_value(<R::Input as PartialSchema>::schema()).unwrap_or_default();
    let mut kinds = BTreeMap::new();
    if let Some(props) = schema["properties"].as_object() {
        for (name, prop) in props {
            if name == "custom_fields" {
                continue;
            }
            let types: Vec<&str> = match &prop["type"] {
                Value::String(t) => vec![t.as_str()],
                Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                _ => Vec::new(),
            };
            let kind = if types.contains(&"integer") {
                ValueKind::Integer
            } else if types.contains(&"number") {
                ValueKind::Number
            } else if types.contains(&"boolean") {
                ValueKind::Boolean
            } else if types.contains(&"array") {
                ValueKind::List
            } else {
                ValueKind::Text
            };
            kinds.insert(name.clone(), kind);
        }
    }
    kinds
}

fn custom_kind(kind: CustomFieldKind) -> ValueKind {
    match kind {
        CustomFieldKind::Number => ValueKind::Number,
        CustomFieldKind::Boolean => ValueKind::Boolean,
        CustomFieldKind::MultiSelect => ValueKind::List,
        _ => ValueKind::Text,
    }
}

/// What an import of one record type reads rows with: the fields it may map to and how each
/// is written.
struct Target {
    kinds: BTreeMap<String, ValueKind>,
    custom: Vec<FieldDef>,
}

impl Target {
    async fn of<R: ApiRecord>(app: &AppState, actor: &Actor) -> Result<Self, AppError> {
        let custom = match R::CUSTOM {
            Some(kind) => custom_fields::definitions(app, actor, kind).await?,
            None => Vec::new(),
        };
        Ok(Self {
            kinds: value_kinds::<R>(),
            custom,
        })
    }

    fn kind_of(&self, target: &str) -> Option<ValueKind> {
        match target.strip_prefix("cf.") {
            Some(key) => self
                .custom
                .iter()
                .find(|d| d.key == key)
                .map(|d| custom_kind(d.kind)),
            None => self.kinds.get(target).copied(),
        }
    }

    fn fields(&self) -> Vec<&str> {
        self.kinds.keys().map(String::as_str).collect()
    }
}

async fn target_of(
    app: &AppState,
    actor: &Actor,
    entity: ImportEntity,
) -> Result<Target, AppError> {
    match entity {
        ImportEntity::Leads => Target::of::<Lead>(app, actor).await,
        ImportEntity::Contacts => Target::of::<Contact>(app, actor).await,
        ImportEntity::Accounts => Target::of::<Account>(app, actor).await,
        ImportEntity::Deals => Target::of::<Deal>(app, actor).await,
    }
}

/// The fields an import of `entity` may map a column to, custom fields as `cf.<key>`.
pub async fn mapping_targets(
    app: &AppState,
    actor: &Actor,
    entity: ImportEntity,
) -> Result<Vec<String>, AppError> {
    let target = target_of(app, actor, entity).await?;
    let mut all: Vec<String> = target.fields().into_iter().map(str::to_owned).collect();
    all.extend(target.custom.iter().map(|d| format!("cf.{}", d.key)));
    Ok(all)
}

/// An uploaded file opened: the import kept, with its preview.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Uploaded {
    #[serde(flatten)]
    pub import: Import,
    /// The first rows as read, cell by cell in the header's order.
    pub preview: Vec<Vec<String>>,
}

/// The first rows of a sheet.
fn preview(sheet: &Sheet<'_>) -> Vec<Vec<String>> {
    sheet.rows(0).take(PREVIEW_ROWS).map(|r| r.cells).collect()
}

/// Open `bytes` (named `file_name`) as a file of `entity` rows and keep it as a new import with
/// the suggested mapping. Bad files are a 422 on `file` saying what is wrong.
pub async fn upload(
    app: &AppState,
    actor: &Actor,
    entity: ImportEntity,
    file_name: &str,
    bytes: Vec<u8>,
) -> Result<Uploaded, AppError> {
    check(actor, entity, Action::Create)?;
    let format = domain::format_of(file_name, &bytes);
    let (header, detected, total, preview) = {
        let sheet = domain::open(&bytes, format).map_err(file_error)?;
        (
            sheet.header.clone(),
            (sheet.encoding, sheet.delimiter),
            sheet.total_rows,
            preview(&sheet),
        )
    };
    let target = target_of(app, actor, entity).await?;
    let custom: Vec<(String, String)> = target
        .custom
        .iter()
        .map(|d| (d.key.clone(), d.label.clone()))
        .collect();
    let mapping = domain::suggest_mapping(&header, &target.fields(), &custom);
    let import = store::create(
        &app.store,
        actor,
        NewImport {
            entity,
            file_name: file_name.chars().take(255).collect(),
            format,
            content: bytes,
            encoding: detected.0.map(str::to_owned),
            delimiter: detected.1.map(String::from),
            header,
            mapping,
            total_rows: i64::try_from(total).unwrap_or(i64::MAX),
        },
    )
    .await?;
    Ok(Uploaded { import, preview })
}

/// The preview of a kept import (the caller has seen it: [`visible`]): its first rows, read as
/// a run reads them (a CSV's first pieces only), then kept by the process — the wizard asks for
/// it every second while a run goes on, and a workbook can only be read whole.
pub async fn preview_of(
    app: &AppState,
    actor: &Actor,
    import: &Import,
) -> Result<Vec<Vec<String>>, AppError> {
    if let Some(preview) = app.cache.import_preview(import.id) {
        return Ok(preview);
    }
    let mut rows = Rows::open(app, actor, (import, 0), |row: Row| row.cells).await?;
    let mut preview = rows.next().await?.unwrap_or_default();
    preview.truncate(PREVIEW_ROWS);
    app.cache.keep_import_preview(import.id, preview.clone());
    Ok(preview)
}

/// Set an import's mapping (`column header → field`, a `null` or missing column not imported)
/// and options. A target that is no field of the record is a 422 naming it.
pub async fn configure(
    app: &AppState,
    actor: &Actor,
    id: Uuid,
    mapping: Option<BTreeMap<String, Option<String>>>,
    options: Option<ImportOptions>,
) -> Result<Import, AppError> {
    let import = visible(app, actor, id).await?;
    let target = target_of(app, actor, import.entity).await?;
    let mut errors = FieldErrors::new();
    let columns = match mapping {
        None => import.mapping.clone(),
        Some(mapping) => {
            for column in mapping.keys() {
                if !import.header.contains(column) {
                    errors.add(&format!("mapping.{column}"), "is not a column of the file");
                }
            }
            let columns: Vec<Option<String>> = import
                .header
                .iter()
                .map(|h| mapping.get(h).cloned().flatten().filter(|f| !f.is_empty()))
                .collect();
            let mut seen: Vec<&str> = Vec::new();
            for (header, field) in import.header.iter().zip(&columns) {
                let Some(field) = field else { continue };
                if target.kind_of(field).is_none() {
                    errors.add(
                        &format!("mapping.{header}"),
                        format!("{field:?} is not a field of {}", import.entity),
                    );
                } else if seen.contains(&field.as_str()) {
                    errors.add(
                        &format!("mapping.{header}"),
                        format!("{field:?} is mapped from another column too"),
                    );
                }
                seen.push(field);
            }
            columns
        }
    };
    let options = match options {
        None => import.options.clone(),
        Some(options) => match options.validate() {
            Ok(o) => o,
            Err(e) => {
                errors.0.extend(e.0);
                ImportOptions::default()
            }
        },
    };
    errors.into_result()?;
    let changed = Import {
        options: options.clone(),
        ..import.clone()
    };
    check_run(actor, &changed)?;
    if let Some(owner) = options.default_owner {
        let tx = app.store.write(actor).await?;
        rivet_store::query::check_owner(
            tx.conn(),
            actor,
            resource_of(import.entity),
            Action::Create,
            owner,
        )
        .await
        .map_err(|_| {
            AppError::field(
                "options.default_owner",
                "is not an active member of this company",
            )
        })?;
        drop(tx);
    }
    Ok(store::configure(&app.store, actor, id, columns, options).await?)
}

/// A row as the body the record's `POST` takes, or the row's errors.
fn row_body(
    import: &Import,
    target: &Target,
    row: &Row,
) -> Result<Map<String, Value>, Vec<RowError>> {
    let mut body = Map::new();
    let mut custom = Map::new();
    let mut errors = Vec::new();
    for (i, field) in import.mapping.iter().enumerate() {
        let Some(field) = field else { continue };
        let Some(kind) = target.kind_of(field) else {
            continue;
        };
        let cell = row.cells.get(i).map_or("", String::as_str);
        match domain::cell_value(cell, kind) {
            Ok(Some(value)) => match field.strip_prefix("cf.") {
                Some(key) => drop(custom.insert(key.to_owned(), value)),
                None => drop(body.insert(field.clone(), value)),
            },
            Ok(None) => {}
            Err(message) => errors.push(RowError {
                line: row.line as i64,
                field: field.clone(),
                message: message.to_owned(),
            }),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    if !import.options.tags.is_empty() && target.kinds.contains_key("tags") {
        let mut tags: Vec<Value> = match body.remove("tags") {
            Some(Value::Array(tags)) => tags,
            _ => Vec::new(),
        };
        for tag in &import.options.tags {
            if !tags.iter().any(|t| t.as_str() == Some(tag)) {
                tags.push(Value::from(tag.as_str()));
            }
        }
        body.insert("tags".into(), Value::Array(tags));
    }
    if !custom.is_empty() {
        body.insert("custom_fields".into(), Value::Object(custom));
    }
    Ok(body)
}

/// The owner a new record of a row gets when the row names none: with assignment on, none here
/// (the intake's assignment rules choose, `rivet_store::intake`); else the import's default
/// owner, else the importing user.
fn owner_of_row(import: &Import, body: &mut Map<String, Value>, owner_field: &str) {
    if body.contains_key(owner_field) || import.options.assignment {
        return;
    }
    if let Some(owner) = import.options.default_owner {
        body.insert(owner_field.to_owned(), json!(owner));
    }
}

fn row_errors(line: u64, errors: FieldErrors) -> Vec<RowError> {
    errors
        .0
        .into_iter()
        .map(|e| RowError {
            line: line as i64,
            field: e.field,
            message: e.message,
        })
        .collect()
}

/// A row's body as the record's validated data, or the row's errors: the checks of the
/// record's `POST`, custom fields against the definitions the import read once.
fn row_data<R: ApiRecord>(
    target: &Target,
    line: u64,
    body: Map<String, Value>,
) -> Result<R::Data, Vec<RowError>> {
    let mut input: R::Input = match serde_json::from_value(Value::Object(body)) {
        Ok(input) => input,
        Err(e) => {
            return Err(vec![RowError {
                line: line as i64,
                field: "row".into(),
                message: e.to_string(),
            }]);
        }
    };
    let values = input.take_custom_fields();
    if R::CUSTOM.is_none() {
        return input.validate().map_err(|e| row_errors(line, e));
    }
    let custom = rivet_domain::custom_fields::validate_custom_fields(
        &target.custom,
        &values.unwrap_or_default(),
        false,
    );
    match input.validate() {
        Ok(mut data) => match custom {
            Ok(custom) => {
                R::set_custom_fields(&mut data, custom);
                Ok(data)
            }
            Err(e) => Err(row_errors(line, e)),
        },
        Err(e) => Err(row_errors(line, custom_fields::with_errors(e, &custom))),
    }
}

/// The rows of an import's file, a batch at a time, each read by a function of the caller's
/// (into a record's checked input). A CSV file is read from the store a few pieces at a time
/// (a task) and parsed and read on a blocking thread while the batches before are saved, so
/// neither the file nor its rows are ever held whole; an XLSX workbook is read whole (a zip
/// archive cannot be read in order). Dropping it stops both.
struct Rows<T> {
    batches: tokio::sync::mpsc::Receiver<Vec<T>>,
    parser: Option<tokio::task::JoinHandle<Result<(), FileError>>>,
    feeder: Option<tokio::task::JoinHandle<Result<(), StoreError>>>,
}

impl<T: Send + 'static> Rows<T> {
    /// The data rows of `import`'s file from the `skip`-th on, each through `read`.
    async fn open(
        app: &AppState,
        actor: &Actor,
        (import, skip): (&Import, usize),
        read: impl Fn(Row) -> T + Send + 'static,
    ) -> Result<Rows<T>, AppError> {
        let (send, batches) = tokio::sync::mpsc::channel::<Vec<T>>(2);
        let send_all = move |rows: &mut dyn Iterator<Item = Row>| loop {
            let batch: Vec<T> = (&mut *rows).take(BATCH).map(&read).collect();
            if batch.is_empty() || send.blocking_send(batch).is_err() {
                break;
            }
        };
        if import.format == domain::FileFormat::Xlsx {
            let bytes = store::content(&app.store, actor, import.id).await?;
            let parser = tokio::task::spawn_blocking(move || {
                let sheet = domain::open(&bytes, domain::FileFormat::Xlsx)?;
                send_all(&mut sheet.rows(skip));
                Ok(())
            });
            return Ok(Rows {
                batches,
                parser: Some(parser),
                feeder: None,
            });
        }
        let (pieces_in, mut pieces) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(4);
        let (store_, actor_, id) = (app.store.clone(), actor.clone(), import.id);
        let feeder = tokio::spawn(async move {
            let mut next = 0;
            loop {
                let read = store::pieces(&store_, &actor_, id, next).await;
                let read = match read {
                    Ok(read) if read.is_empty() => return Ok(()),
                    Ok(read) => read,
                    Err(e) => {
                        // The parser reads an error, not the end of the file: no row is cut
                        // short.
                        let _ = pieces_in
                            .send(Err(std::io::Error::other(e.to_string())))
                            .await;
                        return Err(e);
                    }
                };
                next += i32::try_from(read.len()).unwrap_or(i32::MAX);
                for piece in read {
                    if pieces_in.send(Ok(piece)).await.is_err() {
                        // The parser has stopped.
                        return Ok(());
                    }
                }
            }
        });
        let encoding = import.encoding.clone().unwrap_or_else(|| "utf-8".into());
        let delimiter = import
            .delimiter
            .as_deref()
            .and_then(|d| d.bytes().next())
            .unwrap_or(b',');
        let parser = tokio::task::spawn_blocking(move || {
            let text =
                domain::Decoded::new(&encoding, std::iter::from_fn(|| pieces.blocking_recv()));
            send_all(&mut domain::csv_rows(text, delimiter, skip));
            Ok(())
        });
        Ok(Rows {
            batches,
            parser: Some(parser),
            feeder: Some(feeder),
        })
    }

    /// The next batch; `None` once every row has been read.
    async fn next(&mut self) -> Result<Option<Vec<T>>, AppError> {
        if let Some(batch) = self.batches.recv().await {
            return Ok(Some(batch));
        }
        let stopped = |e: tokio::task::JoinError| AppError::Internal(e.into());
        if let Some(parser) = self.parser.take() {
            parser.await.map_err(stopped)?.map_err(file_error)?;
        }
        if let Some(feeder) = self.feeder.take() {
            feeder.await.map_err(stopped)??;
        }
        Ok(None)
    }
}

/// What a dry run found.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Validation {
    pub total_rows: i64,
    /// Rows that would be saved.
    pub valid_rows: i64,
    pub invalid_rows: i64,
    /// The rows' errors, in the file's order (at most 1,000).
    pub errors: Vec<RowError>,
}

/// Check every row of an import as its run would, saving nothing.
pub async fn validate(app: &AppState, actor: &Actor, id: Uuid) -> Result<Validation, AppError> {
    let import = visible(app, actor, id).await?;
    match import.entity {
        ImportEntity::Leads => validate_as::<Lead>(app, actor, &import).await,
        ImportEntity::Contacts => validate_as::<Contact>(app, actor, &import).await,
        ImportEntity::Accounts => validate_as::<Account>(app, actor, &import).await,
        ImportEntity::Deals => validate_as::<Deal>(app, actor, &import).await,
    }
}

async fn validate_as<R: ApiRecord>(
    app: &AppState,
    actor: &Actor,
    import: &Import,
) -> Result<Validation, AppError> {
    let target = Target::of::<R>(app, actor).await?;
    let reader = (import.clone(), target);
    let read = move |row: Row| read_row::<R>(&reader.0, &reader.1, &row).read.map(drop);
    let mut rows = Rows::open(app, actor, (import, 0), read).await?;
    let mut result = Validation {
        total_rows: 0,
        valid_rows: 0,
        invalid_rows: 0,
        errors: Vec::new(),
    };
    while let Some(batch) = rows.next().await? {
        for outcome in batch {
            result.total_rows += 1;
            match outcome {
                Ok(()) => result.valid_rows += 1,
                Err(errors) => {
                    result.invalid_rows += 1;
                    let room = MAX_REPORTED_ERRORS.saturating_sub(result.errors.len());
                    result.errors.extend(errors.into_iter().take(room));
                }
            }
        }
    }
    Ok(result)
}

/// Put the import's job `kind` on the queue and move the import to `change`'s status, in one
/// transaction.
async fn queue(
    app: &AppState,
    actor: &Actor,
    (id, kind): (Uuid, &str),
    change: (&[ImportStatus], ImportStatus, &str),
) -> Result<Import, AppError> {
    let tx = app.store.write(actor).await?;
    let job = jobs::enqueue(
        &tx,
        jobs::NewJob::new(kind, json!({"import_id": id, "user_id": actor.user_id}))
            .for_company(actor.company_id)
            .max_attempts(3),
    )
    .await?;
    let import = store::transition_in(&tx, actor, id, change, Some(job), None).await?;
    tx.commit().await?;
    Ok(import)
}

/// Queue a run of an import (its job runs the rows not done yet).
pub async fn start_run(app: &AppState, actor: &Actor, id: Uuid) -> Result<Import, AppError> {
    let import = visible(app, actor, id).await?;
    check_run(actor, &import)?;
    if !import.mapping.iter().any(Option::is_some) {
        // The import's state, not the request, is wrong: a conflict until it is mapped.
        return Err(AppError::Conflict {
            field: "mapping".into(),
            message: "maps no column to a field: map one with PATCH first".into(),
        });
    }
    let from = [
        ImportStatus::Uploaded,
        ImportStatus::Completed,
        ImportStatus::Cancelled,
        ImportStatus::Failed,
    ];
    queue(
        app,
        actor,
        (id, RUN_JOB),
        (&from, ImportStatus::Queued, "run"),
    )
    .await
}

/// Cancel a queued or running import: its job stops before its next batch; what is saved stays
/// (an undo removes it).
pub async fn cancel(app: &AppState, actor: &Actor, id: Uuid) -> Result<Import, AppError> {
    let import = visible(app, actor, id).await?;
    let cancelled = store::transition(
        &app.store,
        actor,
        id,
        (
            &[ImportStatus::Queued, ImportStatus::Running],
            ImportStatus::Cancelled,
            "cancel",
        ),
        None,
    )
    .await?;
    if let Some(job) = import.job_id {
        // The job may have finished meanwhile; the import's status is what counts.
        let system = rivet_store::jobs::cancel(&app.store, actor, job).await;
        if let Err(e) = system {
            tracing::debug!(%job, error = %e, "import job not cancelled");
        }
    }
    Ok(cancelled)
}

/// Queue the undo of an import: its job deletes the records it created, audited.
pub async fn start_undo(app: &AppState, actor: &Actor, id: Uuid) -> Result<Import, AppError> {
    let import = visible(app, actor, id).await?;
    check(actor, import.entity, Action::Delete)?;
    let from = [
        ImportStatus::Completed,
        ImportStatus::Cancelled,
        ImportStatus::Failed,
    ];
    queue(
        app,
        actor,
        (id, UNDO_JOB),
        (&from, ImportStatus::Undoing, "undo"),
    )
    .await
}

/// The `record_type` a duplicate of `R` has (`lead`, `contact`), if `R` is screened.
fn resource_of_kind<R: ApiRecord>() -> Option<&'static str> {
    match R::RESOURCE {
        r if r == Lead::RESOURCE => Some("lead"),
        r if r == Contact::RESOURCE => Some("contact"),
        _ => None,
    }
}

/// A row that the duplicate rules matched and the `update` policy writes over its match: the
/// match of the record's own kind (a contact matched by a lead's row is not updated), with
/// the row's fields laid over it, as a `PATCH` would; `None` when nothing was changed.
async fn update_row<R: ApiRecord>(
    tx: &rivet_store::Tx,
    actor: &Actor,
    (target, line): (&Target, u64),
    (mut body, found): (Map<String, Value>, &[Duplicate]),
) -> Result<Option<Result<(), Vec<RowError>>>, AppError> {
    let kind = match resource_of_kind::<R>() {
        Some(kind) => kind,
        None => return Ok(None),
    };
    let Some(id) = found.iter().find(|d| d.record_type == kind).map(|d| d.id) else {
        return Ok(None);
    };
    let Ok(before) = record::get_in::<R, _>(
        tx.conn(),
        actor,
        Action::Update,
        rivet_domain::Id::from_uuid(id),
    )
    .await
    else {
        return Ok(None);
    };
    let mut merged = before.as_input();
    let custom = body.remove("custom_fields");
    merged.extend(body);
    if let Some(Value::Object(custom)) = custom {
        let mut all = match merged.remove("custom_fields") {
            Some(Value::Object(map)) => map,
            _ => Map::new(),
        };
        all.extend(custom);
        merged.insert("custom_fields".into(), Value::Object(all));
    }
    let data = match row_data::<R>(target, line, merged) {
        Ok(data) => data,
        Err(errors) => return Ok(Some(Err(errors))),
    };
    match record::update_in::<R>(tx, actor, &before, &data).await {
        Ok(_) => Ok(Some(Ok(()))),
        Err(StoreError::Invalid(e)) => Ok(Some(Err(row_errors(line, e)))),
        Err(e) => Err(e.into()),
    }
}

/// A row of a file read as a record's input: its line, and its checked data with (for the
/// `update` duplicate policy) the fields it gave, or its errors.
struct ReadRow<D> {
    line: u64,
    read: Result<(D, Fields), Vec<RowError>>,
}

/// The fields a row gave, kept for the `update` policy.
type Fields = Option<Map<String, Value>>;

/// Read `row` as `R`'s input under `import`'s mapping and options: the checks of `R`'s `POST`
/// (the rows of a run are read beside the saving, on the parser's thread).
fn read_row<R: ApiRecord>(import: &Import, target: &Target, row: &Row) -> ReadRow<R::Data> {
    let read = row_body(import, target, row).and_then(|mut body| {
        let update = import.options.duplicate_policy == DuplicatePolicy::Update;
        let fields = update.then(|| body.clone());
        owner_of_row(import, &mut body, R::OWNER_FIELD);
        row_data::<R>(target, row.line, body).map(|d| (d, fields))
    });
    ReadRow {
        line: row.line,
        read,
    }
}

/// Save `rows` in one transaction with the import's progress; `Ok(false)` when the import was
/// cancelled before. The rows, read and checked one by one ([`read_row`]), are taken in together
/// (`ApiRecord::take_in_tx`: one duplicate probe, one assignment plan and one insert for the
/// batch); a row the rules match is skipped, or with the `update` policy written over its
/// match.
async fn save_batch<R: ApiRecord>(
    app: &AppState,
    actor: &Actor,
    (import, target): (&Import, &Target),
    rows: Vec<ReadRow<R::Data>>,
) -> Result<bool, AppError> {
    let tx = app.store.write(actor).await?;
    if store::status_in(&tx, actor, import.id).await? != ImportStatus::Running {
        return Ok(false);
    }
    // The rows it creates carry the import's id.
    tx.for_import(import.id);
    let policy = import.options.duplicate_policy;
    let mut counts = Counts::default();
    let mut errors = Vec::new();
    let fail = |counts: &mut Counts, errors: &mut Vec<RowError>, e: Vec<RowError>| {
        counts.failed += 1;
        errors.extend(e);
    };
    // The rows that read well: their line, and their fields for the update policy.
    let mut read: Vec<(u64, Option<Map<String, Value>>)> = Vec::with_capacity(rows.len());
    let mut data = Vec::with_capacity(rows.len());
    for row in rows {
        match row.read {
            Ok((d, fields)) => {
                read.push((row.line, fields));
                data.push(d);
            }
            Err(e) => fail(&mut counts, &mut errors, e),
        }
    }
    let hold = move |found: &[Duplicate]| policy != DuplicatePolicy::Create && !found.is_empty();
    let taken = R::take_in_tx(&tx, actor, data, hold).await?;
    for ((line, fields), taken) in read.into_iter().zip(taken) {
        match taken {
            Taken::Created(_) => counts.created += 1,
            Taken::Held(found) => {
                let updated = match fields {
                    Some(fields) if policy == DuplicatePolicy::Update => {
                        update_row::<R>(&tx, actor, (target, line), (fields, &found)).await?
                    }
                    _ => None,
                };
                match updated {
                    None => counts.skipped += 1,
                    Some(Ok(())) => counts.updated += 1,
                    Some(Err(e)) => fail(&mut counts, &mut errors, e),
                }
            }
            Taken::Refused(StoreError::Invalid(e)) => {
                fail(&mut counts, &mut errors, row_errors(line, e));
            }
            Taken::Refused(StoreError::Duplicate(matches)) => {
                let message = AppError::Duplicate(matches).problem().detail;
                let e = vec![RowError {
                    line: line as i64,
                    field: "duplicates".into(),
                    message,
                }];
                fail(&mut counts, &mut errors, e);
            }
            Taken::Refused(e) => return Err(e.into()),
        }
    }
    // Errors in the file's order.
    errors.sort_by_key(|e| e.line);
    store::advance_in(&tx, actor, import.id, counts, &errors).await?;
    tx.commit().await?;
    Ok(true)
}

/// Run an import's remaining rows (the job's and the CLI's work): `progress` hears rows done
/// of total after each batch. Ends completed, or as it was cancelled.
pub async fn run(
    app: &AppState,
    actor: &Actor,
    id: Uuid,
    progress: &(dyn Fn(i64, i64) + Send + Sync),
) -> Result<Import, AppError> {
    let import = store::get(&app.store, actor, id).await?;
    check_run(actor, &import)?;
    let import = match import.status {
        ImportStatus::Running => import,
        _ => {
            store::transition(
                &app.store,
                actor,
                id,
                (
                    &[
                        ImportStatus::Queued,
                        ImportStatus::Uploaded,
                        ImportStatus::Completed,
                        ImportStatus::Failed,
                    ],
                    ImportStatus::Running,
                    "start",
                ),
                None,
            )
            .await?
        }
    };
    let outcome = match import.entity {
        ImportEntity::Leads => run_as::<Lead>(app, actor, &import, progress).await,
        ImportEntity::Contacts => run_as::<Contact>(app, actor, &import, progress).await,
        ImportEntity::Accounts => run_as::<Account>(app, actor, &import, progress).await,
        ImportEntity::Deals => run_as::<Deal>(app, actor, &import, progress).await,
    };
    let (change, error): ((&[ImportStatus], ImportStatus, &str), Option<String>) = match outcome {
        Ok(true) => (
            (
                &[ImportStatus::Running],
                ImportStatus::Completed,
                "complete",
            ),
            None,
        ),
        Ok(false) => return Ok(store::get(&app.store, actor, id).await?),
        Err(e) => (
            (&[ImportStatus::Running], ImportStatus::Failed, "fail"),
            Some(e.to_string()),
        ),
    };
    let done = store::transition(&app.store, actor, id, change, error.as_deref()).await;
    match done {
        Ok(import) => Ok(import),
        // Cancelled in the meantime.
        Err(StoreError::Conflict { .. }) => Ok(store::get(&app.store, actor, id).await?),
        Err(e) => Err(e.into()),
    }
}

async fn run_as<R: ApiRecord>(
    app: &AppState,
    actor: &Actor,
    import: &Import,
    progress: &(dyn Fn(i64, i64) + Send + Sync),
) -> Result<bool, AppError> {
    let target = Target::of::<R>(app, actor).await?;
    let total = import.total_rows;
    let mut done = import.rows_done;
    progress(done, total);
    let skip = usize::try_from(done).unwrap_or(usize::MAX);
    let target = std::sync::Arc::new(target);
    let reader = (import.clone(), target.clone());
    let read = move |row: Row| read_row::<R>(&reader.0, &reader.1, &row);
    let mut rows = Rows::open(app, actor, (import, skip), read).await?;
    // The planner's statistics are refreshed as the run's rows double (from 5,000): a table
    // planned from numbers taken before a bulk load looks its keys up the slow way.
    let table = <R::Field as rivet_store::query::ListField>::table().to_string();
    let mut analyze_at = done.max(5_000);
    while let Some(batch) = rows.next().await? {
        let size = batch.len() as i64;
        if !save_batch::<R>(app, actor, (import, &target), batch).await? {
            return Ok(false);
        }
        done += size;
        progress(done, total);
        if done >= analyze_at {
            // Only the next batches' speed depends on it: a refresh that fails (the writer
            // busy past its timeout) is logged, and the run goes on.
            if let Err(e) = app.store.refresh_statistics_of(&table).await {
                tracing::warn!(error = %e, "could not refresh the planner's statistics");
            }
            analyze_at = done * 2;
        }
    }
    Ok(true)
}

/// Undo an import (the undo job's work): delete, audited, the records it created that the
/// caller may delete, a batch at a time; ends undone.
pub async fn undo(app: &AppState, actor: &Actor, id: Uuid) -> Result<Import, AppError> {
    let import = store::get(&app.store, actor, id).await?;
    check(actor, import.entity, Action::Delete)?;
    let deleted = match import.entity {
        ImportEntity::Leads => undo_as::<Lead>(app, actor, id).await,
        ImportEntity::Contacts => undo_as::<Contact>(app, actor, id).await,
        ImportEntity::Accounts => undo_as::<Account>(app, actor, id).await,
        ImportEntity::Deals => undo_as::<Deal>(app, actor, id).await,
    };
    let (change, error): ((&[ImportStatus], ImportStatus, &str), Option<String>) = match deleted {
        Ok(()) => (
            (&[ImportStatus::Undoing], ImportStatus::Undone, "undone"),
            None,
        ),
        Err(e) => (
            (&[ImportStatus::Undoing], ImportStatus::Failed, "fail"),
            Some(e.to_string()),
        ),
    };
    Ok(store::transition(&app.store, actor, id, change, error.as_deref()).await?)
}

async fn undo_as<R: ApiRecord>(app: &AppState, actor: &Actor, id: Uuid) -> Result<(), AppError> {
    loop {
        let tx = app.store.write(actor).await?;
        let scope = record::scope::<R>(actor, Action::Delete)?;
        let mut records: Vec<R> =
            record::all_where(tx.conn(), actor, store::imported_by(id).add(scope)).await?;
        if records.is_empty() {
            return Ok(());
        }
        records.truncate(BATCH);
        record::delete_in(&tx, actor, &records).await?;
        tx.commit().await?;
    }
}

/// A job's import and the member it runs for.
pub async fn job_actor(
    app: &AppState,
    job: &rivet_store::jobs::Job,
) -> Result<(Actor, Uuid), String> {
    let import_id = job.payload_id("import_id")?;
    let actor = rivet_store::jobs::member(&app.store, job)
        .await
        .map_err(|e| e.to_string())?
        .ok_or("the member who started the import is no longer active")?;
    Ok((actor, import_id))
}
