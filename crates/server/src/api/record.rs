//! The API of a record type, written once: list (filters, sort, cursor, custom fields), create,
//! read, partial update, delete, history, bulk update and bulk delete, with their permissions
//! and OpenAPI description, for any type declared with [`ApiRecord`] on top of the store's
//! generic record layer (`rivet_store::record`). A type registers them in one call, [`routes`],
//! and adds what is its own (a deal's summary, a task's completion) beside. What differs
//! between types is a hook of the declaration, not a copy of a handler.

use crate::api::audit::{HistoryQuery, history};
use crate::api::bulk::{BulkDelete, BulkResult, BulkUpdate, MAX_BULK, bulk_tags, check_ids, typed};
use crate::api::custom_fields;
use crate::http::error::AppError;
use crate::http::extract::{Auth, Json, Query, check_partial, list_window, parse_id, read_merged};
use crate::http::router::{Access, ApiRouter, delete, get, patch, post};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use rivet_domain::custom_fields::RecordType;
use rivet_domain::ids::Id;
use rivet_domain::query::{FieldKind, FieldSpec, ListQuery, SortKey};
use rivet_domain::{Action, Actor, FieldErrors};
use rivet_store::Page;
use rivet_store::StoreError;
use rivet_store::audit::AuditEntry;
use rivet_store::duplicates::Duplicate;
use rivet_store::intake::{self, Intake, Screened, Taken};
use rivet_store::query::decode_list_cursor;
use rivet_store::record::{self, Record, Write};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::borrow::Cow;
use utoipa::PartialSchema;
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AllOfBuilder, ArrayBuilder, ObjectBuilder, Ref, Schema};

/// A record type's body, as the API reads it and the domain checks it.
pub trait Input: DeserializeOwned + ToSchema + Send + 'static {
    /// What validation gives the store.
    type Data;
    /// The body's custom fields, for the company's definitions to check first.
    fn take_custom_fields(&mut self) -> Option<Map<String, Value>> {
        None
    }
    fn validate(self) -> Result<Self::Data, FieldErrors>;
}

/// What a bulk update may set on a record type (`set` of `POST PATH/bulk-update`): a struct of
/// optional fields, each checked as a patch of that field would be.
pub trait BulkFields: DeserializeOwned + Serialize + ToSchema + Send + 'static {
    /// The fields, in the order a body that sets none is told to set one of them.
    const NAMES: &'static [&'static str];
}

/// A record type served by the generic API.
pub trait ApiRecord: Record + Write + Serialize + ToSchema + Send + Sync + 'static {
    type Input: Input<Data = Self::Data>;
    /// What `POST PATH/bulk-update` may set.
    type Bulk: BulkFields;
    /// The collection's path: `/leads`.
    const PATH: &'static str;
    /// The OpenAPI tag.
    const TAG: &'static str;
    /// One record, in the documentation's sentences: `lead`.
    const NOUN: &'static str;
    /// The kind of custom fields the type carries, if any.
    const CUSTOM: Option<RecordType>;
    const FIELDS: &'static [FieldSpec<Self::Field>];
    const DEFAULT_SORT: &'static [SortKey<Self::Field>];
    /// Fields a patch may not clear with `null`.
    const REQUIRED_ON_PATCH: &'static [&'static str];
    /// What `GET PATH` filters, sorts and searches by, for the documentation.
    const LIST_DOC: &'static str;
    /// Sentences of the documentation where the type says more than the generic one (empty:
    /// the generic sentence).
    const CREATE_DOC: &'static str = "";
    const SHOW_DOC: &'static str = "";
    const PATCH_DOC: &'static str = "";
    const DELETE_DOC: &'static str = "";
    const BULK_DELETE_DOC: &'static str = "";
    const BULK_UPDATE_DOC: &'static str = "";
    /// The type serves `GET PATH` itself (its list takes shortcuts the generic one does not).
    const OWN_LIST: bool = false;
    /// New records are screened for duplicates (`create_new` runs the intake pipeline):
    /// `POST PATH` answers `{Type}Created`, the record with the `duplicates` it warns of.
    const SCREENED: bool = false;

    /// Save a new, validated record: the record layer's create, or for a screened type the
    /// intake pipeline (`rivet_store::intake`), whose blocking duplicates refuse it (409).
    fn create_new(
        app: &AppState,
        actor: &Actor,
        data: Self::Data,
    ) -> impl Future<Output = Result<Created<Self>, AppError>> + Send {
        async move {
            Ok(Created {
                record: record::create::<Self>(&app.store, actor, &data).await?,
                duplicates: None,
            })
        }
    }

    /// Store the checked custom fields in the validated data.
    fn set_custom_fields(_data: &mut Self::Data, _values: Map<String, Value>) {}

    /// One page of `GET PATH` for its query string (`limit` and `cursor` included): what the
    /// list answers, and what an export reads page after page. A type whose list takes
    /// shortcuts of its own (a task's `mine`, an activity's record) answers it itself.
    fn list_page(
        app: &AppState,
        actor: &Actor,
        pairs: Vec<(String, String)>,
    ) -> impl Future<Output = Result<Page<Self>, AppError>> + Send {
        async move {
            let (pairs, narrow) = imported_filter(pairs)?;
            let query = list_query::<Self>(app, actor, pairs.clone()).await?;
            let (limit, after) = list_window(&pairs, |c| decode_list_cursor(&query, c))?;
            Ok(
                record::list_where::<Self>(
                    &app.store,
                    actor,
                    &query,
                    limit,
                    after.as_ref(),
                    narrow,
                )
                .await?,
            )
        }
    }

    /// Save a batch of new, validated records in an open transaction (an import's batch): the
    /// record layer's create, or for a screened type the intake pipeline, whose matches are
    /// first offered to `hold` (`rivet_store::intake::take_in`).
    fn take_in_tx(
        tx: &rivet_store::Tx,
        actor: &Actor,
        data: Vec<Self::Data>,
        _hold: impl Fn(&[Duplicate]) -> bool + Send,
    ) -> impl Future<Output = Result<Vec<Taken<Self>>, StoreError>> + Send {
        async move {
            let data: Vec<&Self::Data> = data.iter().collect();
            Ok(record::create_many_in::<Self>(tx, actor, &data)
                .await?
                .into_iter()
                .map(|created| match created {
                    Ok(record) => Taken::Created(Intake {
                        record,
                        duplicates: Vec::new(),
                    }),
                    Err(e) => Taken::Refused(e),
                })
                .collect())
        }
    }

    /// The list's query pairs as the store's filters read them (e.g. a deal's `outcome`).
    fn list_pairs(pairs: Vec<(String, String)>) -> Result<Vec<(String, String)>, AppError> {
        Ok(pairs)
    }

    /// Before a patch is laid over the record's fields: what else it implies (a lead's new
    /// status drops the old one's reason, a deal that moves takes its new stage's probability,
    /// a contact that leaves its account stops being its primary contact).
    fn before_merge(_patch: &Map<String, Value>, _merged: &mut Map<String, Value>) {}

    /// The same for a bulk update's `set` (by default what a patch of those fields implies).
    fn before_bulk_merge(set: &Map<String, Value>, merged: &mut Map<String, Value>) {
        Self::before_merge(set, merged);
    }
}

/// `import_id=<id>` taken out of a list's query as the condition for the rows that import
/// created (the lists of the record types an import writes: leads, contacts, accounts, deals),
/// for the API's lists and the web's alike.
pub fn imported_filter(
    pairs: Vec<(String, String)>,
) -> Result<(Vec<(String, String)>, rivet_store::sea_orm::sea_query::Cond), AppError> {
    let mut narrow = rivet_store::sea_orm::sea_query::Cond::all();
    let mut rest = Vec::with_capacity(pairs.len());
    for (key, value) in pairs {
        if key == "import_id" {
            let id = value.parse().map_err(|_| {
                AppError::BadRequest("import_id must be the id of an import".into())
            })?;
            narrow = narrow.add(rivet_store::imports::imported_by(id));
        } else {
            rest.push((key, value));
        }
    }
    Ok((rest, narrow))
}

/// What `POST PATH` answers: for a screened type, [`Created`] (the record with the duplicates
/// it warns of).
trait ReturnsCreated {
    fn returns_created<R: ApiRecord>(self) -> Self;
}

impl ReturnsCreated for crate::http::router::Route {
    fn returns_created<R: ApiRecord>(self) -> Self {
        if R::SCREENED {
            self.returns::<Created<R>>()
        } else {
            self.returns::<R>()
        }
    }
}

fn access<R: ApiRecord>(action: Action) -> Access {
    Access::Allow(R::RESOURCE, action)
}

/// `a, b and/or c`: `words` listed in a sentence, `last` before the last one.
fn listed<S: AsRef<str>>(words: &[S], last: &str) -> String {
    match words.split_last() {
        Some((end, [])) => end.as_ref().to_owned(),
        Some((end, rest)) => {
            let rest: Vec<&str> = rest.iter().map(AsRef::as_ref).collect();
            format!("{} {last} {}", rest.join(", "), end.as_ref())
        }
        None => String::new(),
    }
}

/// Field names listed as a sentence says them (`owner_id` → owner).
fn spoken(names: &[&str], last: &str) -> String {
    let words: Vec<String> = names
        .iter()
        .map(|n| n.strip_suffix("_id").unwrap_or(n).replace('_', " "))
        .collect();
    listed(&words, last)
}

/// "a" or "an" before `noun`.
fn article(noun: &str) -> &'static str {
    if noun.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    }
}

/// `given`, or the generic sentence when the type gives none.
fn doc(given: &'static str, generic: String) -> Cow<'static, str> {
    if given.is_empty() {
        Cow::Owned(generic)
    } else {
        Cow::Borrowed(given)
    }
}

fn at(path: &str, suffix: &str) -> String {
    format!("{path}{suffix}")
}

/// The generic routes of `R`: list, create, bulk delete, read, patch, delete and history.
pub fn routes<R: ApiRecord>() -> ApiRouter {
    collection::<R>().merge(removal::<R>())
}

/// List, create, read, patch and history: every route but the deletes, for a type whose delete
/// has options of its own.
pub fn collection<R: ApiRecord>() -> ApiRouter {
    let (path, tag, noun) = (R::PATH, R::TAG, R::NOUN);
    let mut router = ApiRouter::new();
    if !R::OWN_LIST {
        router = router.add(
            get(path, access::<R>(Action::Read))
                .doc(tag, R::LIST_DOC)
                .returns_page::<R>(),
            list::<R>,
        );
    }
    router
        .add(
            get(&at(path, "/export"), access::<R>(Action::Read))
                .doc(
                    tag,
                    format!(
                        "Export the {noun} list as CSV or XLSX: the list's filters and sort (and \
                         a saved view's, `view`), in the caller's scope; custom fields as \
                         `cf.<key>` columns; text a spreadsheet would run as a formula starts \
                         with `'`"
                    ),
                )
                .query::<super::export::ExportParams>()
                .returns_file(super::export::MEDIA_TYPES),
            export::<R>,
        )
        .add(
            post(path, access::<R>(Action::Create))
                .doc(
                    tag,
                    doc(
                        R::CREATE_DOC,
                        format!(
                            "Create {} {noun}; without owner_id the caller owns it",
                            article(noun)
                        ),
                    ),
                )
                .body::<R::Input>()
                .status(201)
                .returns_created::<R>(),
            create::<R>,
        )
        .add(
            get(&at(path, "/{id}"), access::<R>(Action::Read))
                .doc(tag, doc(R::SHOW_DOC, format!("One {noun}")))
                .returns::<R>(),
            show::<R>,
        )
        .add(
            patch(&at(path, "/{id}"), access::<R>(Action::Update))
                .doc(
                    tag,
                    doc(
                        R::PATCH_DOC,
                        format!(
                            "Change {} {noun}: only the fields sent; null clears an optional field",
                            article(noun)
                        ),
                    ),
                )
                .patch_body::<R::Input>(R::REQUIRED_ON_PATCH)
                .returns::<R>(),
            update::<R>,
        )
        .add(
            get(&at(path, "/{id}/history"), access::<R>(Action::Read))
                .doc(tag, format!("Audit history of {} {noun}", article(noun)))
                .returns_page::<AuditEntry>(),
            show_history::<R>,
        )
        .add(
            post(&at(path, "/bulk-update"), access::<R>(Action::Update))
                .doc(
                    tag,
                    doc(
                        R::BULK_UPDATE_DOC,
                        format!(
                            "Set {} on up to {MAX_BULK} {tag}, all or nothing",
                            spoken(<R::Bulk as BulkFields>::NAMES, "and/or")
                        ),
                    ),
                )
                .body::<BulkUpdate<R::Bulk>>()
                .returns::<BulkResult>(),
            bulk_update::<R>,
        )
}

/// Delete one and bulk delete.
pub fn removal<R: ApiRecord>() -> ApiRouter {
    let (path, tag, noun) = (R::PATH, R::TAG, R::NOUN);
    ApiRouter::new()
        .add(
            post(&at(path, "/bulk-delete"), access::<R>(Action::Delete))
                .doc(
                    tag,
                    doc(
                        R::BULK_DELETE_DOC,
                        format!("Delete up to 500 {}, all or nothing", R::TAG),
                    ),
                )
                .body::<BulkDelete>()
                .returns::<BulkResult>(),
            bulk_delete::<R>,
        )
        .add(
            delete(&at(path, "/{id}"), access::<R>(Action::Delete))
                .doc(
                    tag,
                    doc(R::DELETE_DOC, format!("Delete {} {noun}", article(noun))),
                )
                .status(204),
            destroy::<R>,
        )
}

/// The list query of `R` from a query string: its fields, and its custom fields by key.
pub async fn list_query<R: ApiRecord>(
    app: &AppState,
    actor: &Actor,
    pairs: Vec<(String, String)>,
) -> Result<ListQuery<R::Field>, AppError>
where
    R::Field: rivet_store::query::ListField,
{
    let pairs = R::list_pairs(pairs)?;
    match R::CUSTOM {
        Some(kind) => {
            custom_fields::list_query(app, actor, kind, &pairs, R::FIELDS, R::DEFAULT_SORT).await
        }
        None => ListQuery::parse(&pairs, R::FIELDS, R::DEFAULT_SORT)
            .map_err(|e| AppError::BadRequest(e.0)),
    }
}

/// The pages of `R`'s list for one query string, as an export reads them.
struct ExportPages<R> {
    app: AppState,
    actor: Actor,
    query: Vec<(String, String)>,
    cursor: Option<String>,
    done: bool,
    record: std::marker::PhantomData<R>,
}

impl<R: ApiRecord> super::export::Pages for ExportPages<R> {
    type Item = R;

    async fn next(&mut self) -> Result<Vec<R>, AppError> {
        if self.done {
            return Ok(Vec::new());
        }
        let mut pairs = self.query.clone();
        pairs.extend(self.cursor.take().map(|c| ("cursor".to_owned(), c)));
        let page = R::list_page(&self.app, &self.actor, pairs).await?;
        self.cursor = page.next_cursor;
        self.done = self.cursor.is_none();
        Ok(page.data)
    }
}

/// The list `R` declares for an export.
fn exported<R: ApiRecord>() -> super::export::Exported {
    super::export::Exported {
        resource: R::RESOURCE,
        path: R::PATH,
        fields: R::field_names(),
        custom: R::CUSTOM,
    }
}

/// The opener of `R`'s list pages for an export's query string.
fn pages<R: ApiRecord>(
    app: &AppState,
    actor: &Actor,
) -> impl FnOnce(Vec<(String, String)>) -> ExportPages<R> {
    let (app, actor) = (app.clone(), actor.clone());
    move |query| ExportPages::<R> {
        app,
        actor,
        query,
        cursor: None,
        done: false,
        record: std::marker::PhantomData,
    }
}

/// `R`'s list as a file ([`super::export::write`]): its fields, custom fields, filters and
/// shortcuts, for a request's answer or an export job.
pub async fn export_file<R: ApiRecord>(
    app: &AppState,
    actor: &Actor,
    pairs: Vec<(String, String)>,
) -> Result<super::export::File, AppError> {
    super::export::write(
        (app, actor),
        &exported::<R>(),
        pairs,
        pages::<R>(app, actor),
    )
    .await
}

/// Check the query string of an export of `R`'s list ([`super::export::check`]).
pub async fn check_export<R: ApiRecord>(
    app: &AppState,
    actor: &Actor,
    pairs: Vec<(String, String)>,
) -> Result<(), AppError> {
    super::export::check(
        (app, actor),
        &exported::<R>(),
        pairs,
        pages::<R>(app, actor),
    )
    .await
}

/// `R`'s list as a file, streamed as the answer.
pub async fn export_records<R: ApiRecord>(
    app: AppState,
    actor: Actor,
    pairs: Vec<(String, String)>,
) -> Result<Response, AppError> {
    Ok(super::export::respond(
        export_file::<R>(&app, &actor, pairs).await?,
    ))
}

/// `GET PATH/export`.
async fn export<R: ApiRecord>(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    export_records::<R>(app, actor, pairs).await
}

/// `GET PATH`: one page of the list ([`ApiRecord::list_page`]).
pub async fn list<R: ApiRecord>(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Query(pairs): Query<Vec<(String, String)>>,
) -> Result<Json<Page<R>>, AppError> {
    Ok(Json(R::list_page(&app, &actor, pairs).await?))
}

/// The ids of the records a list query string selects for the caller (`status=new&country=DE`,
/// as `GET PATH` reads it, in the caller's read scope), page after page: at most `cap` of them,
/// or a 422 naming `field` (also when the query is not one the list takes).
pub async fn selected_ids<R: ApiRecord>(
    app: &AppState,
    actor: &Actor,
    query: &str,
    field: &str,
    cap: usize,
) -> Result<Vec<Id<R::Kind>>, AppError> {
    let query = query.trim().trim_start_matches('?');
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|_| AppError::field(field, "is not a valid query string"))?;
    if pairs.iter().any(|(k, _)| k == "cursor" || k == "limit") {
        return Err(AppError::field(field, "leave cursor and limit out of it"));
    }
    pairs.push(("limit".into(), MAX_BULK.to_string()));
    let mut ids = Vec::new();
    loop {
        let page = R::list_page(app, actor, pairs.clone())
            .await
            .map_err(|err| match err {
                AppError::BadRequest(message) => AppError::field(field, message),
                other => other,
            })?;
        ids.extend(page.data.iter().map(Record::id));
        if ids.len() > cap {
            return Err(AppError::field(
                field,
                format!("selects more than {cap} {}s; narrow it", R::NOUN),
            ));
        }
        let Some(cursor) = page.next_cursor else {
            break;
        };
        pairs.retain(|(k, _)| k != "cursor");
        pairs.push(("cursor".into(), cursor));
    }
    Ok(ids)
}

/// A new record as `POST PATH` answers it: for a screened type, with the possible duplicates
/// its company's rules warn of (documented as `{Type}Created`).
#[derive(Debug, Serialize)]
pub struct Created<R> {
    #[serde(flatten)]
    pub record: R,
    /// Left out when there are none, so that a record created without a warning reads as it
    /// does everywhere else.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicates: Option<Vec<Duplicate>>,
}

impl<R> Created<R> {
    /// A record that went through the intake pipeline.
    pub fn screened(intake: Intake<R>) -> Self {
        Self {
            record: intake.record,
            duplicates: (!intake.duplicates.is_empty()).then_some(intake.duplicates),
        }
    }
}

impl<R: ToSchema> PartialSchema for Created<R> {
    fn schema() -> RefOr<Schema> {
        let duplicates = ObjectBuilder::new()
            .property(
                "duplicates",
                ArrayBuilder::new().items(RefOr::Ref(Ref::from_schema_name(Duplicate::name()))),
            )
            .description(Some(
                "The possible duplicates the company's rules warn of, surest first (left out: \
                 none); a rule that blocks answers 409 instead",
            ));
        AllOfBuilder::new()
            .item(RefOr::Ref(Ref::from_schema_name(R::name())))
            .item(duplicates)
            .into()
    }
}

impl<R: ToSchema> ToSchema for Created<R> {
    fn name() -> Cow<'static, str> {
        Cow::Owned(format!("{}Created", R::name()))
    }

    fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.push((R::name().into_owned(), R::schema()));
        R::schemas(schemas);
        schemas.push((Duplicate::name().into_owned(), Duplicate::schema()));
        Duplicate::schemas(schemas);
    }
}

/// Create a record (API and web form): custom fields checked against the company's
/// definitions, the body validated, then saved with its audit rows and event.
pub async fn create_record<R: ApiRecord>(
    app: &AppState,
    actor: &Actor,
    input: R::Input,
) -> Result<R, AppError> {
    Ok(create_new_record::<R>(app, actor, input).await?.record)
}

/// [`create_record`], with the duplicates a screened type's create warns of.
pub async fn create_new_record<R: ApiRecord>(
    app: &AppState,
    actor: &Actor,
    input: R::Input,
) -> Result<Created<R>, AppError> {
    let data = validate_new::<R>(app, actor, input).await?;
    R::create_new(app, actor, data).await
}

/// A new record's input checked as a create checks it (its custom fields against the company's
/// definitions, then the fields), ready to save.
pub async fn validate_new<R: ApiRecord>(
    app: &AppState,
    actor: &Actor,
    mut input: R::Input,
) -> Result<R::Data, AppError> {
    let values = input.take_custom_fields();
    Ok(match R::CUSTOM {
        Some(kind) => {
            let custom = custom_fields::check_new(app, actor, kind, values).await?;
            let mut data = input
                .validate()
                .map_err(|e| custom_fields::with_errors(e, &custom))?;
            R::set_custom_fields(&mut data, custom?);
            data
        }
        None => input.validate()?,
    })
}

/// [`ApiRecord::create_new`] of a screened type: the intake pipeline.
pub async fn create_screened<R: ApiRecord + Screened>(
    app: &AppState,
    actor: &Actor,
    data: R::Data,
) -> Result<Created<R>, AppError> {
    Ok(Created::screened(
        intake::create::<R>(&app.store, actor, data).await?,
    ))
}

async fn create<R: ApiRecord>(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(input): Json<R::Input>,
) -> Result<(StatusCode, Json<Created<R>>), AppError> {
    Ok((
        StatusCode::CREATED,
        Json(create_new_record::<R>(&app, &actor, input).await?),
    ))
}

async fn show<R: ApiRecord>(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<Json<R>, AppError> {
    Ok(Json(
        record::get::<R>(&app.store, &actor, parse_id(&id)?).await?,
    ))
}

/// Change a record with a partial body (API and web form): the fields sent replace the
/// record's, `null` clears, and the result is validated as a whole.
pub async fn update_record<R: ApiRecord>(
    app: &AppState,
    actor: &Actor,
    id: Id<R::Kind>,
    mut patch: Map<String, Value>,
) -> Result<R, AppError> {
    check_partial::<R::Input>(&patch, R::REQUIRED_ON_PATCH)?;
    let custom = match R::CUSTOM {
        Some(kind) => Some(custom_fields::check_patch(app, actor, kind, &mut patch).await?),
        None => None,
    };
    let updated = record::update::<R>(&app.store, actor, id, move |before| {
        let mut merged = before.as_input();
        R::before_merge(&patch, &mut merged);
        merged.extend(patch);
        if let Some(custom) = custom {
            custom.apply(&mut merged);
        }
        let input: R::Input = read_merged(merged)?;
        input.validate()
    })
    .await?;
    Ok(updated)
}

async fn update<R: ApiRecord>(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Json(patch): Json<Map<String, Value>>,
) -> Result<Json<R>, AppError> {
    let id = parse_id(&id)?;
    Ok(Json(update_record::<R>(&app, &actor, id, patch).await?))
}

/// A bulk update's `set` as the patch it lays over each record: the fields given (`null` is
/// not given), tags trimmed and de-duplicated; an empty one is an error under `set`.
pub fn bulk_patch<R: ApiRecord>(set: R::Bulk, errors: &mut FieldErrors) -> Map<String, Value> {
    let mut patch = match serde_json::to_value(set) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    patch.retain(|_, value| !value.is_null());
    // A choice is checked here, so that a bad value is named beside bad ids.
    for name in <R::Bulk as BulkFields>::NAMES {
        let choices = R::FIELDS.iter().find_map(|spec| match spec.kind {
            FieldKind::Choice(choices) if spec.name == *name => Some(choices),
            _ => None,
        });
        if let (Some(choices), Some(Value::String(value))) = (choices, patch.get(*name))
            && !choices.contains(&value.as_str())
        {
            errors.add(
                &format!("set.{name}"),
                format!("must be one of: {}", choices.join(", ")),
            );
        }
    }
    if let Some(tags) = patch.remove("tags") {
        let tags = serde_json::from_value(tags).ok();
        if let Some(tags) = bulk_tags(tags, errors) {
            patch.insert("tags".into(), Value::from(tags));
        }
    }
    if patch.is_empty() {
        errors.add(
            "set",
            format!("must set {}", listed(<R::Bulk as BulkFields>::NAMES, "or")),
        );
    }
    patch
}

/// Lay `set` (checked by [`bulk_patch`]) over every record of `ids` as a patch would, all in
/// the caller's update scope or none changed (API and web bulk bar). A value the records refuse
/// is named `set.<field>`.
pub async fn bulk_update_records<R: ApiRecord>(
    app: &AppState,
    actor: &Actor,
    ids: &[Id<R::Kind>],
    set: Map<String, Value>,
) -> Result<Vec<R>, AppError> {
    let new_owner = set
        .get(R::OWNER_FIELD)
        .and_then(|owner| serde_json::from_value(owner.clone()).ok());
    let in_set = |errors: FieldErrors| {
        let named = errors
            .0
            .into_iter()
            .map(|mut e| {
                if set.contains_key(&e.field) {
                    e.field = format!("set.{}", e.field);
                }
                e
            })
            .collect();
        StoreError::Invalid(FieldErrors(named))
    };
    let updated = record::bulk_update::<R>(&app.store, actor, ids, new_owner, |before| {
        let mut merged = before.as_input();
        R::before_bulk_merge(&set, &mut merged);
        merged.extend(set.clone());
        let input: R::Input = read_merged(merged).map_err(in_set)?;
        input.validate().map_err(in_set)
    })
    .await?;
    Ok(updated)
}

async fn bulk_update<R: ApiRecord>(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<BulkUpdate<R::Bulk>>,
) -> Result<Json<BulkResult>, AppError> {
    let mut errors = FieldErrors::new();
    check_ids(&body.ids, &mut errors);
    let set = bulk_patch::<R>(body.set, &mut errors);
    errors.into_result()?;
    let updated = bulk_update_records::<R>(&app, &actor, &typed(&body.ids), set).await?;
    Ok(Json(BulkResult {
        count: updated.len(),
    }))
}

async fn destroy<R: ApiRecord>(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    record::delete::<R>(&app.store, &actor, parse_id(&id)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn show_history<R: ApiRecord>(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Path(id): Path<String>,
    Query(query): Query<HistoryQuery>,
) -> Result<Json<Page<AuditEntry>>, AppError> {
    let id = parse_id(&id)?;
    record::get::<R>(&app.store, &actor, id).await?;
    history(&app, &actor, R::RESOURCE, id.uuid(), query).await
}

async fn bulk_delete<R: ApiRecord>(
    State(app): State<AppState>,
    Auth(actor): Auth,
    Json(body): Json<BulkDelete>,
) -> Result<Json<BulkResult>, AppError> {
    let deleted = record::bulk_delete::<R>(&app.store, &actor, &body.checked()?).await?;
    Ok(Json(deleted.into()))
}

#[cfg(test)]
mod tests {
    use super::{listed, spoken};

    #[test]
    fn field_names_are_said_as_a_sentence_says_them() {
        assert_eq!(spoken(&["owner_id"], "or"), "owner");
        assert_eq!(spoken(&["owner_id", "tags"], "or"), "owner or tags");
        assert_eq!(
            spoken(&["owner_id", "lifecycle_stage", "tags"], "and/or"),
            "owner, lifecycle stage and/or tags"
        );
        assert_eq!(spoken(&[], "or"), "");
        assert_eq!(listed(&["owner_id", "tags"], "or"), "owner_id or tags");
    }
}
