//! Workflow rules (issue 15 §5): stored as definitions (kind `workflow_rule`, the generic
//! [`crate::definitions`] layer serves their list, get, create, update and delete), run by the
//! event dispatcher ([`WorkflowConsumer`]) and by the hourly schedule check ([`run_schedules`]),
//! with their execution log (`workflow_runs`, [`runs`]) and a dry run ([`dry_run`]).
//!
//! # How a rule runs
//! In the consumer's transaction, for each event the company's active rules for its type (read
//! once per company per batch) are evaluated against the record as it is now (read once per
//! event, and again after a rule's actions changed it). One run row per (rule, event) — the
//! unique key makes a redelivered event run nothing twice. Which rules already ran is one query
//! per company for the whole batch of events, and the batch's run rows are logged together just
//! before the commit (a few inserts on SQLite, `COPY`s on PostgreSQL; their `created_at` is that
//! moment), so a hundred rules on one event type cost a few statements per batch, not per event
//! or per rule. (A rule that assigns by round-robin first logs the waiting runs: its turn counts
//! its logged matches.) Each action runs in a savepoint as the system acting for the record's
//! owner with the grants the action needs (the company's rule asked for it): a refused action
//! (a value the record's validation refuses, a member who left) is rolled back alone, logged
//! with its reason, and the actions after it do not run. Updates go through the record layer's
//! own update (`record::update_in`) with the record's validation, so a bad value is an error in
//! the log and never bad data.
//!
//! # Loops
//! The events a rule's actions write carry the chain of rules that caused them
//! ([`rivet_domain::workflows::Chain`], via [`Tx::tag_events`]); a rule on an event of a chain
//! it already took `max_depth` turns in logs "stopped: loop" instead of running.
//!
//! # Webhooks and messages
//! `call_webhook` does not send from the transaction: it queues a job ([`WEBHOOK_JOB`]) that the
//! workers send with the webhook deliveries' address-checked HTTP client, retried with backoff.
//! `send_email_template` and `send_whatsapp_template` do the same ([`EMAIL_JOB`],
//! [`WHATSAPP_JOB`]), after a first look at the recipient in the transaction: a record without
//! an address or phone, or whose person opted out, gets no job and the log says why. The job
//! looks again when it sends, and claims the message under the job's idempotency key
//! (`workflow:{rule}:{trigger}:{action}`) in `email_messages` or `whatsapp_messages`, so a job
//! run twice sends once. `enroll_in_sequence` and `remove_from_sequence` change enrollments in
//! the rule's transaction (`crate::sequences::enroll_in`, `change_in`).

use crate::definitions::{self, Definition, Stored};
use crate::page::{Page, PageRequest};
use crate::record::{self, Record, Write};
use crate::tables::WorkflowRuns as R;
use crate::{
    Result, Store, StoreError, Tx, exec, fetch_all, fetch_count, fetch_optional, new_id, now,
};
use chrono::{DateTime, Utc};
use rivet_domain::activities::RecordType;
use rivet_domain::assignment::Pool;
use rivet_domain::events::MESSAGE_TYPES;
use rivet_domain::ids::{
    CompanyId, EmailTemplateId, Id, SequenceId, TeamId, UserId, WebhookId, WorkflowRuleId,
};
use rivet_domain::tasks::{TaskData, TaskPriority, TaskStatus};
use rivet_domain::workflows::{
    Assignee, CHAIN_KEY, Chain, Evaluation, RuleAction, WebhookTarget, WorkflowRecord, WorkflowRule,
};
use rivet_domain::{Action, Actor, FieldErrors, Resource};
use sea_orm::sea_query::{Expr, ExprTrait, Order, Query};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use std::collections::hash_map::Entry;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// The consumer's name (its stored position).
pub const CONSUMER: &str = "workflows";
/// The job that posts a `call_webhook` action's payload.
pub const WEBHOOK_JOB: &str = "workflow.webhook";
/// The job that sends a `send_email_template` action's e-mail.
pub const EMAIL_JOB: &str = "workflow.email";
/// The job that sends a `send_whatsapp_template` action's message.
pub const WHATSAPP_JOB: &str = "workflow.whatsapp";
/// Who the audit trail names beside the owner for a rule's changes.
pub const VIA: &str = "workflow rule";

impl Definition for WorkflowRule {
    type Input = rivet_domain::workflows::WorkflowRuleInput;
    type Kind = rivet_domain::kind::WorkflowRule;
    const KIND: &'static str = "workflow_rule";
    const RESOURCE: Resource = Resource::Workflows;
    const SCHEMA: &'static str = "WorkflowRule";

    fn validate(input: Self::Input) -> std::result::Result<Self, FieldErrors> {
        WorkflowRule::validate(input)
    }

    fn to_input(&self) -> Self::Input {
        WorkflowRule::to_input(self)
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn active(&self) -> bool {
        self.active
    }

    /// Every user the rule names is an active member of the company, every team one of its
    /// teams.
    async fn check(&self, tx: &Tx, company: CompanyId) -> Result<()> {
        let conn = tx.conn();
        let actor = Actor::system(company, UserId::nil());
        let users = self.users();
        let active: HashSet<UserId> = crate::assignment::active_members(conn, &actor, &users, &[])
            .await?
            .into_iter()
            .map(|(user, _)| user)
            .collect();
        for (i, action) in self.actions.iter().enumerate() {
            let (field, named): (String, Vec<UserId>) = match action {
                RuleAction::AssignOwner { user_id } => {
                    (format!("actions[{i}].user_id"), vec![*user_id])
                }
                RuleAction::CreateTask {
                    assignee: Assignee::User(user),
                    ..
                } => (format!("actions[{i}].assignee.user_id"), vec![*user]),
                RuleAction::CreateTask {
                    assignee: Assignee::RoundRobin(Pool::Users(users)),
                    ..
                } => (format!("actions[{i}].assignee.user_ids"), users.clone()),
                RuleAction::CreateTask {
                    assignee: Assignee::RoundRobin(Pool::Team(team)),
                    ..
                } => {
                    let field = format!("actions[{i}].assignee.team_id");
                    check_named(conn, company, Named::Team(*team), &field).await?;
                    continue;
                }
                RuleAction::CallWebhook {
                    target: WebhookTarget::Webhook(webhook),
                } => {
                    let field = format!("actions[{i}].webhook_id");
                    check_named(conn, company, Named::Webhook(*webhook), &field).await?;
                    continue;
                }
                RuleAction::SendEmailTemplate { template_id } => {
                    let field = format!("actions[{i}].template_id");
                    check_template(conn, company, self.record_type, *template_id, &field).await?;
                    continue;
                }
                RuleAction::EnrollInSequence { sequence_id }
                | RuleAction::RemoveFromSequence { sequence_id } => {
                    let field = format!("actions[{i}].sequence_id");
                    check_sequence(conn, company, self.record_type, *sequence_id, &field).await?;
                    continue;
                }
                _ => continue,
            };
            if let Some(missing) = named.iter().find(|u| !active.contains(u)) {
                return Err(StoreError::invalid(
                    &field,
                    format!("{missing} is not an active member of this company"),
                ));
            }
        }
        Ok(())
    }

    /// The rule's execution log goes with it (the log has no foreign key to the rule since
    /// `m0046_workflow_runs_without_foreign_keys`: the check cost as much as the run's insert).
    async fn before_delete(tx: &Tx, company: CompanyId, id: WorkflowRuleId) -> Result<()> {
        exec(
            tx.conn(),
            Query::delete()
                .from_table(R::Table)
                .and_where(Expr::col(R::CompanyId).eq(company))
                .and_where(Expr::col(R::RuleId).eq(id.uuid())),
        )
        .await?;
        Ok(())
    }
}

/// `id` is one of the company's e-mail templates, switched on, written for `record`.
async fn check_template<C: ConnectionTrait>(
    conn: &C,
    company: CompanyId,
    record: WorkflowRecord,
    id: EmailTemplateId,
    field: &str,
) -> Result<()> {
    use rivet_domain::templates::EmailTemplate;
    match definitions::get_in::<EmailTemplate, _>(conn, company, id).await {
        Ok(t) if !t.definition.active => Err(StoreError::invalid(
            field,
            "names an e-mail template that is switched off",
        )),
        Ok(t) if t.definition.record_type.as_str() != record.as_str() => Err(StoreError::invalid(
            field,
            format!(
                "names a template for a {}, but the rule is about a {record}",
                t.definition.record_type
            ),
        )),
        Ok(_) => Ok(()),
        Err(StoreError::NotFound | StoreError::Invalid(_)) => Err(StoreError::invalid(
            field,
            "names no e-mail template of this company",
        )),
        Err(e) => Err(e),
    }
}

/// `id` is one of the company's sequences, enrolling `record`s.
async fn check_sequence<C: ConnectionTrait>(
    conn: &C,
    company: CompanyId,
    record: WorkflowRecord,
    id: SequenceId,
    field: &str,
) -> Result<()> {
    use rivet_domain::sequences::Sequence;
    match definitions::get_in::<Sequence, _>(conn, company, id).await {
        Ok(s)
            if crate::sequences::record_type_of(s.definition.input.enrolls) != record.as_str() =>
        {
            Err(StoreError::invalid(
                field,
                format!(
                    "names a sequence that enrolls {}s, but the rule is about a {record}",
                    crate::sequences::record_type_of(s.definition.input.enrolls)
                ),
            ))
        }
        Ok(_) => Ok(()),
        Err(StoreError::NotFound | StoreError::Invalid(_)) => Err(StoreError::invalid(
            field,
            "names no sequence of this company",
        )),
        Err(e) => Err(e),
    }
}

/// One of the company's rows a rule names: a team or a webhook.
#[derive(Clone, Copy)]
enum Named {
    Team(TeamId),
    Webhook(WebhookId),
}

/// `named` is a row of `company`, else the rule's `field` is invalid.
async fn check_named<C: ConnectionTrait>(
    conn: &C,
    company: CompanyId,
    named: Named,
    field: &str,
) -> Result<()> {
    use crate::query::iden;
    use crate::tables::{Teams, Webhooks};
    let (table, company_col, id_col, id, what) = match named {
        Named::Team(team) => (
            iden(Teams::Table),
            iden(Teams::CompanyId),
            iden(Teams::Id),
            team.uuid(),
            "a team",
        ),
        Named::Webhook(webhook) => (
            iden(Webhooks::Table),
            iden(Webhooks::CompanyId),
            iden(Webhooks::Id),
            webhook.uuid(),
            "a webhook",
        ),
    };
    let found = fetch_count(
        conn,
        Query::select()
            .expr(Expr::col(id_col.clone()).count())
            .from(table)
            .and_where(Expr::col(company_col).eq(company))
            .and_where(Expr::col(id_col).eq(id)),
    )
    .await?;
    if found == 0 {
        return Err(StoreError::invalid(
            field,
            format!("is not {what} of this company"),
        ));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The execution log

/// One run of a rule: what started it, what the conditions came to, what each action did.
#[derive(Debug, Clone, Serialize, FromQueryResult, utoipa::ToSchema)]
pub struct WorkflowRun {
    pub id: Uuid,
    #[serde(skip)]
    #[schema(ignore)]
    pub company_id: CompanyId,
    pub rule_id: Uuid,
    /// The event type, or the schedule (`no_activity`, `before_close_date`, `task_overdue`).
    pub trigger: String,
    /// The event, for an event's run.
    pub event_id: Option<Uuid>,
    pub record_type: String,
    pub record_id: Option<Uuid>,
    /// How many rules' turns came before this one in its chain (0: a person's change).
    pub depth: i32,
    /// Whether every condition held.
    pub matched: bool,
    /// ok (every action done), failed (an action was refused; the ones after it did not run)
    /// or skipped (conditions not met, stopped: loop, the record is gone).
    pub status: String,
    /// Each condition and whether it held.
    #[schema(value_type = Vec<Object>)]
    pub conditions: Value,
    /// Each action in order: `kind`, `description`, `status` (ok, failed, not_run) and its
    /// `result` or `error`.
    #[schema(value_type = Vec<Object>)]
    pub actions: Value,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
}

fn select_runs(company: CompanyId) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .columns(RUN_COLUMNS)
        .from(R::Table)
        .and_where(Expr::col(R::CompanyId).eq(company))
        .to_owned()
}

fn complete(mut run: WorkflowRun) -> WorkflowRun {
    run.conditions = crate::query::json_column(run.conditions);
    run.actions = crate::query::json_column(run.actions);
    run
}

/// A rule's runs, newest first (the rule must be one the caller may read).
pub async fn runs(
    store: &Store,
    actor: &Actor,
    rule: WorkflowRuleId,
    page: PageRequest,
) -> Result<Page<WorkflowRun>> {
    definitions::get::<WorkflowRule>(store, actor, rule).await?;
    let mut q = select_runs(actor.company_id);
    q.and_where(Expr::col(R::RuleId).eq(rule));
    if let Some(after) = page.after {
        q.and_where(Expr::col(R::Id).lt(after));
    }
    q.order_by(R::Id, Order::Desc).limit(page.limit + 1);
    let rows: Vec<WorkflowRun> = fetch_all(store.read(actor).await?.conn(), &q).await?;
    Ok(Page::from_rows(rows, page, |r| r.id).map(complete))
}

/// The newest run of each of `rules` (for the rules list).
pub async fn last_runs(
    store: &Store,
    actor: &Actor,
    rules: &[WorkflowRuleId],
) -> Result<HashMap<Uuid, WorkflowRun>> {
    let mut out = HashMap::new();
    let read = store.read(actor).await?;
    for rule in rules {
        let mut q = select_runs(actor.company_id);
        q.and_where(Expr::col(R::RuleId).eq(*rule))
            .order_by(R::Id, Order::Desc)
            .limit(1);
        if let Some(run) = fetch_optional::<WorkflowRun, _, _>(read.conn(), &q).await? {
            out.insert(rule.uuid(), complete(run));
        }
    }
    Ok(out)
}

/// What starts one run: an event, or a schedule's occurrence for a record.
#[derive(Debug, Clone)]
pub struct Start<'a> {
    /// Unique per rule: the event id, or `<schedule>:<record>:<occurrence>`.
    pub key: String,
    pub trigger: String,
    pub event_id: Option<Uuid>,
    /// The event's payload (its chain), `Null` for a schedule.
    pub data: &'a Value,
}

/// Which rules already ran for each of the trigger keys `keys` (one statement per few hundred
/// keys: the unique index leads with the trigger key).
async fn already_ran(tx: &Tx, company: CompanyId, keys: &[&str]) -> Result<Ran> {
    #[derive(FromQueryResult)]
    struct Row {
        trigger_key: String,
        rule_id: Uuid,
    }
    let mut ran = Ran::new();
    for chunk in keys.chunks(crate::MAX_BOUND_VALUES / 2) {
        let rows: Vec<Row> = fetch_all(
            tx.conn(),
            Query::select()
                .columns([R::TriggerKey, R::RuleId])
                .from(R::Table)
                .and_where(Expr::col(R::CompanyId).eq(company))
                .and_where(Expr::col(R::TriggerKey).is_in(chunk.iter().copied())),
        )
        .await?;
        ran.extend(rows.into_iter().map(|r| (r.trigger_key, r.rule_id)));
    }
    Ok(ran)
}

/// The (trigger key, rule) pairs that already ran.
type Ran = HashSet<(String, Uuid)>;

/// One run as it is logged.
struct RunRow {
    company: CompanyId,
    rule_id: Uuid,
    key: String,
    trigger: String,
    event_id: Option<Uuid>,
    record_type: WorkflowRecord,
    record_id: Option<Uuid>,
    depth: u32,
    matched: bool,
    status: &'static str,
    /// The conditions' results as JSON text (written once, never cloned as a `Value`).
    conditions: String,
    /// The actions' results as JSON text.
    actions: String,
    error: Option<String>,
}

/// `value` as JSON text for the log (`[]` if it could not be written, which a plain struct
/// cannot fail at).
fn json_text<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".into())
}

/// Runs waiting to be logged: the consumer logs a whole batch of events' runs at once, just
/// before its commit (a hundred rules on a few hundred events are a few inserts, not a
/// statement per event or per rule).
#[derive(Default)]
struct Pending {
    rows: Vec<RunRow>,
}

impl Pending {
    /// Log every waiting run, stamped now: a few statements for any number of rows.
    async fn log(&mut self, tx: &Tx) -> Result<u64> {
        let rows = std::mem::take(&mut self.rows);
        if rows.is_empty() {
            return Ok(0);
        }
        let at = now();
        if tx.copies() {
            copy_runs(tx, &rows, at).await?;
        } else {
            insert_runs(tx, &rows, at).await?;
        }
        Ok(u64::try_from(rows.len()).unwrap_or(u64::MAX))
    }
}

/// The run log's columns, in the order both writes give them (read back by name).
const RUN_COLUMNS: [R; 15] = [
    R::CompanyId,
    R::Id,
    R::RuleId,
    R::TriggerKey,
    R::Trigger,
    R::EventId,
    R::RecordType,
    R::RecordId,
    R::Depth,
    R::Matched,
    R::Status,
    R::Conditions,
    R::Actions,
    R::Error,
    R::CreatedAt,
];

/// Rows per `COPY` (about 2 MB of text).
const COPY_ROWS: usize = 5_000;

/// PostgreSQL: the runs by `COPY` (measured on a hundred rules per event: the `INSERT`'s bound
/// values — fifteen a row, thousands a statement — took as long to bind as the rows to write).
async fn copy_runs(tx: &Tx, rows: &[RunRow], at: DateTime<Utc>) -> Result<()> {
    use sea_orm::sea_query::Iden;
    let columns: Vec<String> = RUN_COLUMNS.iter().map(|c| c.to_string()).collect();
    let statement = format!(
        "COPY {} ({}) FROM STDIN",
        R::Table.to_string(),
        columns.join(", ")
    );
    let at = at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let mut uuid = Uuid::encode_buffer();
    for chunk in rows.chunks(COPY_ROWS) {
        let mut data = crate::query::CopyText::with_capacity(chunk.len() * 512);
        for row in chunk {
            data.text(row.company.uuid().hyphenated().encode_lower(&mut uuid))
                .text(new_id().hyphenated().encode_lower(&mut uuid))
                .text(row.rule_id.hyphenated().encode_lower(&mut uuid))
                .text(&row.key)
                .text(&row.trigger)
                .opt(
                    row.event_id
                        .map(|id| &*id.hyphenated().encode_lower(&mut uuid)),
                )
                .text(row.record_type.as_str())
                .opt(
                    row.record_id
                        .map(|id| &*id.hyphenated().encode_lower(&mut uuid)),
                )
                .text(&i32::try_from(row.depth).unwrap_or(i32::MAX).to_string())
                .text(if row.matched { "t" } else { "f" })
                .text(row.status)
                .text(&row.conditions)
                .text(&row.actions)
                .opt(row.error.as_deref())
                .text(&at)
                .end_row();
        }
        tx.copy_in(&statement, data.bytes()).await?;
    }
    Ok(())
}

/// SQLite: the runs in a few multi-row inserts (the JSON as text, as SQLite keeps it).
async fn insert_runs(tx: &Tx, rows: &[RunRow], at: DateTime<Utc>) -> Result<()> {
    for chunk in rows.chunks(crate::MAX_BOUND_VALUES / RUN_COLUMNS.len()) {
        let mut insert = Query::insert();
        insert.into_table(R::Table).columns(RUN_COLUMNS);
        for row in chunk {
            insert.values_panic([
                row.company.into(),
                new_id().into(),
                row.rule_id.into(),
                row.key.as_str().into(),
                row.trigger.as_str().into(),
                row.event_id.into(),
                row.record_type.as_str().into(),
                row.record_id.into(),
                i32::try_from(row.depth).unwrap_or(i32::MAX).into(),
                row.matched.into(),
                row.status.into(),
                row.conditions.as_str().into(),
                row.actions.as_str().into(),
                row.error.clone().into(),
                at.into(),
            ]);
        }
        exec(tx.conn(), &insert).await?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Records, whatever their type

/// The system acting for `owner` through a rule, with what its actions need.
fn rule_actor(company: CompanyId, owner: UserId, record: WorkflowRecord) -> Actor {
    let resource: Resource = record.resource().parse().unwrap_or(Resource::Leads);
    Actor::system(company, owner).via(VIA).granted(&[
        (resource, Action::Read),
        (resource, Action::Update),
        (Resource::Tasks, Action::Create),
        (Resource::Tasks, Action::Read),
    ])
}

/// The record a rule's actions are about.
#[derive(Clone, Copy)]
struct On<'a> {
    kind: WorkflowRecord,
    id: Uuid,
    found: &'a Found,
}

/// A record as the rule sees it: its JSON fields and owner.
struct Found {
    fields: Map<String, Value>,
    owner: UserId,
}

fn fields_of<T: Serialize>(record: &T) -> Map<String, Value> {
    match serde_json::to_value(record) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    }
}

async fn find_as<T: Record, C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    id: Uuid,
) -> Result<Option<Found>> {
    match record::get_unscoped::<T, C>(conn, actor, Id::from_uuid(id)).await {
        Ok(found) => Ok(Some(Found {
            fields: fields_of(&found),
            owner: found.owner(),
        })),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The record `id` of type `kind` in `company`, as it is now.
async fn find<C: ConnectionTrait>(
    conn: &C,
    company: CompanyId,
    kind: WorkflowRecord,
    id: Uuid,
) -> Result<Option<Found>> {
    let actor = rule_actor(company, UserId::nil(), kind);
    match kind {
        WorkflowRecord::Lead => find_as::<crate::leads::Lead, C>(conn, &actor, id).await,
        WorkflowRecord::Account => find_as::<crate::accounts::Account, C>(conn, &actor, id).await,
        WorkflowRecord::Contact => find_as::<crate::contacts::Contact, C>(conn, &actor, id).await,
        WorkflowRecord::Deal => find_as::<crate::deals::Deal, C>(conn, &actor, id).await,
        WorkflowRecord::Task => find_as::<crate::tasks::Task, C>(conn, &actor, id).await,
    }
}

/// Change the record through its own update path: `edit` changes what a client would write,
/// the record's validation checks it, the record layer writes it audited and evented.
async fn change_as<T: Write, I: DeserializeOwned>(
    tx: &Tx,
    actor: &Actor,
    id: Uuid,
    edit: impl FnOnce(&mut Map<String, Value>),
    validate: fn(I) -> std::result::Result<T::Data, FieldErrors>,
) -> Result<()> {
    let before: T = record::get_unscoped(tx.conn(), actor, Id::from_uuid(id)).await?;
    let data = record::merged::<I, T::Data>(&before, edit, validate)?;
    record::update_in(tx, actor, &before, &data).await?;
    Ok(())
}

async fn change(
    tx: &Tx,
    actor: &Actor,
    kind: WorkflowRecord,
    id: Uuid,
    edit: impl FnOnce(&mut Map<String, Value>),
) -> Result<()> {
    use rivet_domain::{accounts, contacts, deals, leads, tasks};
    match kind {
        WorkflowRecord::Lead => {
            change_as::<crate::leads::Lead, leads::LeadInput>(tx, actor, id, edit, |i| i.validate())
                .await
        }
        WorkflowRecord::Account => {
            change_as::<crate::accounts::Account, accounts::AccountInput>(
                tx,
                actor,
                id,
                edit,
                |i| i.validate(),
            )
            .await
        }
        WorkflowRecord::Contact => {
            change_as::<crate::contacts::Contact, contacts::ContactInput>(
                tx,
                actor,
                id,
                edit,
                |i| i.validate(),
            )
            .await
        }
        WorkflowRecord::Deal => {
            change_as::<crate::deals::Deal, deals::DealInput>(tx, actor, id, edit, |i| i.validate())
                .await
        }
        WorkflowRecord::Task => {
            change_as::<crate::tasks::Task, tasks::TaskInput>(tx, actor, id, edit, |i| i.validate())
                .await
        }
    }
}

/// The record an event is about, for a rule on `kind`: the event's own record, or for an
/// activity (or a message event about an activity) the record of that type it is linked to.
fn subject_of(event: &crate::events::Event, kind: WorkflowRecord) -> Option<Uuid> {
    let (event_type, data) = (event.event_type.as_str(), &event.data);
    if event.record_type.as_deref() == Some(kind.as_str()) {
        return event.record_id.as_deref().and_then(|id| id.parse().ok());
    }
    if event_type.starts_with("activity.") || MESSAGE_TYPES.contains(&event_type) {
        return data["record"]["links"]
            .as_array()?
            .iter()
            .find(|l| l["record_type"].as_str() == Some(kind.as_str()))
            .and_then(|l| l["record_id"].as_str())
            .and_then(|id| id.parse().ok());
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Running a rule

/// What one action did.
#[derive(Debug, Clone, Serialize)]
struct ActionResult {
    kind: &'static str,
    description: String,
    /// ok, failed, not_run, or for a dry run would_run.
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Whether the action picks its assignee by round-robin (whose turn counts the logged matches).
fn takes_turns(action: &RuleAction) -> bool {
    matches!(
        action,
        RuleAction::CreateTask {
            assignee: Assignee::RoundRobin(_),
            ..
        }
    )
}

/// The rule's turn counter for round-robin: how many of its runs matched before.
async fn turn(tx: &Tx, company: CompanyId, rule: Uuid) -> Result<i64> {
    fetch_count(
        tx.conn(),
        Query::select()
            .expr(Expr::col(R::Id).count())
            .from(R::Table)
            .and_where(Expr::col(R::CompanyId).eq(company))
            .and_where(Expr::col(R::RuleId).eq(rule))
            .and_where(Expr::col(R::Matched).eq(true)),
    )
    .await
}

async fn assignee_of(
    tx: &Tx,
    company: CompanyId,
    rule: Uuid,
    assignee: &Assignee,
    owner: UserId,
) -> Result<UserId> {
    let pool = match assignee {
        Assignee::Owner => return Ok(owner),
        Assignee::User(user) => return Ok(*user),
        Assignee::RoundRobin(pool) => pool,
    };
    let actor = Actor::system(company, owner);
    let (users, teams) = match pool {
        Pool::Users(users) => (users.clone(), Vec::new()),
        Pool::Team(team) => (Vec::new(), vec![*team]),
    };
    let members = crate::assignment::active_members(tx.conn(), &actor, &users, &teams).await?;
    let active: Vec<UserId> = match pool {
        Pool::Users(users) => users
            .iter()
            .copied()
            .filter(|u| members.iter().any(|(m, _)| m == u))
            .collect(),
        Pool::Team(_) => members.into_iter().map(|(u, _)| u).collect(),
    };
    let turn = turn(tx, company, rule).await?;
    rivet_domain::assignment::round_robin_pick(&active, turn)
        .ok_or_else(|| StoreError::invalid("assignee", "the round-robin has no active member"))
}

/// Run one action on the record; its result for the log.
async fn act(
    tx: &Tx,
    company: CompanyId,
    rule: &Stored<WorkflowRule>,
    start: &Start<'_>,
    on: &On<'_>,
    (index, action): (usize, &RuleAction),
) -> Result<Value> {
    let On {
        kind,
        id: record_id,
        found,
    } = *on;
    let actor = rule_actor(company, found.owner, kind);
    match action {
        RuleAction::CreateTask {
            subject,
            due,
            assignee,
            escalate_to_manager,
        } => {
            let assignee = assignee_of(tx, company, rule.id.uuid(), assignee, found.owner).await?;
            let tz = crate::companies::timezone_in(tx.conn(), company).await?;
            let related = match kind {
                WorkflowRecord::Lead => Some((RecordType::Lead, record_id)),
                WorkflowRecord::Account => Some((RecordType::Account, record_id)),
                WorkflowRecord::Contact => Some((RecordType::Contact, record_id)),
                WorkflowRecord::Deal => Some((RecordType::Deal, record_id)),
                WorkflowRecord::Task => None,
            };
            let data = TaskData {
                subject: subject.clone(),
                description: Some(format!(
                    "Created by the workflow rule “{}”.",
                    rule.definition.name
                )),
                due_at: Some(due.after(now(), tz)),
                reminder_at: None,
                priority: TaskPriority::Normal,
                status: TaskStatus::Open,
                assignee_id: Some(assignee),
                related,
                recurrence: None,
                series: None,
            };
            let task = record::create_in::<crate::tasks::Task>(tx, &actor, &data).await?;
            if *escalate_to_manager {
                watch_sla(tx, company, task.id.uuid(), rule.id.uuid()).await?;
            }
            Ok(json!({ "task_id": task.id, "assignee_id": assignee, "due_at": data.due_at }))
        }
        RuleAction::UpdateField { field, value } => {
            let (field, value) = (field.clone(), value.clone());
            change(tx, &actor, kind, record_id, move |map| {
                map.insert(field, value);
            })
            .await?;
            Ok(json!({}))
        }
        RuleAction::AssignOwner { user_id } => {
            let owner_field = if kind == WorkflowRecord::Task {
                "assignee_id"
            } else {
                "owner_id"
            };
            let user = *user_id;
            change(tx, &actor, kind, record_id, move |map| {
                map.insert(owner_field.into(), json!(user));
            })
            .await?;
            Ok(json!({ "owner_id": user }))
        }
        RuleAction::AddTag { tag } => {
            let tag = tag.clone();
            change(tx, &actor, kind, record_id, move |map| {
                let mut tags: Vec<Value> = map
                    .get("tags")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                if !tags.iter().any(|t| t.as_str() == Some(tag.as_str())) {
                    tags.push(Value::String(tag));
                }
                map.insert("tags".into(), Value::Array(tags));
            })
            .await?;
            Ok(json!({}))
        }
        RuleAction::CallWebhook { target } => {
            let body = json!({
                "rule": { "id": rule.id, "name": rule.definition.name },
                "trigger": start.trigger,
                "event_id": start.event_id,
                "record_type": kind.as_str(),
                "record": found.fields,
            });
            // A webhook's secret stays in the webhook: the job names it, the sender reads it.
            let mut payload = json!({ "body": body, "rule_id": rule.id });
            match target {
                WebhookTarget::Url(url) => payload["url"] = json!(url),
                WebhookTarget::Webhook(webhook) => payload["webhook_id"] = json!(webhook),
            }
            let mut job = crate::jobs::NewJob::new(WEBHOOK_JOB, payload);
            job.company_id = Some(company.uuid());
            // One job per (rule, trigger, action): two calls of one rule are two jobs.
            job.idempotency_key = Some(format!("workflow:{}:{}:{index}", rule.id, start.key));
            let job_id = crate::jobs::enqueue(tx, job).await?;
            Ok(json!({ "job_id": job_id }))
        }
        RuleAction::SendEmailTemplate { template_id } => {
            if let MailTo::NotSent(reason) = mail_to(tx.conn(), company, kind, record_id).await? {
                return Ok(json!({ "sent": false, "reason": reason }));
            }
            let payload = json!({
                "rule_id": rule.id,
                "template_id": template_id,
                "record_type": kind.as_str(),
                "record_id": record_id,
                "owner_id": found.owner,
            });
            message_job(tx, company, EMAIL_JOB, payload, rule, start, index).await
        }
        RuleAction::SendWhatsappTemplate { message } => {
            let to =
                crate::whatsapp::recipient_in(tx.conn(), &actor, person(kind), record_id).await?;
            if let Some(reason) = whatsapp_refusal(&to) {
                return Ok(json!({ "sent": false, "reason": reason }));
            }
            let rivet_domain::whatsapp::Outgoing::Template {
                name,
                language,
                parameters,
            } = message
            else {
                return Err(StoreError::invalid("template", "is not a template"));
            };
            let payload = json!({
                "rule_id": rule.id,
                "record_type": kind.as_str(),
                "record_id": record_id,
                "owner_id": found.owner,
                "template": name,
                "language": language,
                "parameters": parameters,
            });
            message_job(tx, company, WHATSAPP_JOB, payload, rule, start, index).await
        }
        RuleAction::EnrollInSequence { sequence_id } => {
            let tz = crate::companies::timezone_in(tx.conn(), company).await?;
            let enrolled =
                crate::sequences::enroll_in(tx, &actor, *sequence_id, &[record_id], tz).await?;
            let Some(result) = enrolled.into_iter().next() else {
                return Ok(json!({ "enrolled": false }));
            };
            Ok(match result.enrollment_id {
                Some(enrollment) => json!({ "enrolled": true, "enrollment_id": enrollment }),
                None => json!({ "enrolled": false, "reason": result.reason }),
            })
        }
        RuleAction::RemoveFromSequence { sequence_id } => {
            let live =
                crate::sequences::live_enrollment(tx.conn(), company, *sequence_id, record_id)
                    .await?;
            let Some(enrollment) = live else {
                return Ok(json!({ "removed": false, "reason": "not enrolled" }));
            };
            crate::sequences::change_in(
                tx,
                &actor,
                *sequence_id,
                enrollment,
                crate::sequences::Change::Remove,
            )
            .await?;
            Ok(json!({ "removed": true, "enrollment_id": enrollment }))
        }
    }
}

/// Queue the job that sends a message action's message, once per (rule, trigger, action): its
/// key is also the message's claim.
async fn message_job(
    tx: &Tx,
    company: CompanyId,
    kind: &str,
    mut payload: Value,
    rule: &Stored<WorkflowRule>,
    start: &Start<'_>,
    index: usize,
) -> Result<Value> {
    let key = format!("workflow:{}:{}:{index}", rule.id, start.key);
    payload["key"] = json!(key);
    let mut job = crate::jobs::NewJob::new(kind, payload);
    job.company_id = Some(company.uuid());
    job.idempotency_key = Some(key);
    let job_id = crate::jobs::enqueue(tx, job).await?;
    Ok(json!({ "job_id": job_id }))
}

/// A lead or contact rule's record as a timeline's record type.
fn person(kind: WorkflowRecord) -> RecordType {
    match kind {
        WorkflowRecord::Contact => RecordType::Contact,
        _ => RecordType::Lead,
    }
}

/// Why a WhatsApp message cannot go to `to`, if so.
pub fn whatsapp_refusal(to: &crate::whatsapp::Recipient) -> Option<String> {
    if !to.consent {
        return Some(format!(
            "not sent: this {} has not agreed to WhatsApp messages",
            to.record_type
        ));
    }
    if to.phone.is_none() {
        return Some(format!(
            "not sent: this {} has no valid phone number",
            to.record_type
        ));
    }
    None
}

/// Where a rule's e-mail goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailTo {
    /// To this address (trimmed, lower case).
    To(String),
    /// Not sent, and why in words.
    NotSent(String),
}

/// Where `send_email_template` on the record `id` goes: a lead's or contact's address, a
/// deal's primary contact's; not sent when there is none, the contact withdrew e-mail consent
/// or the address unsubscribed.
async fn mail_to<C: ConnectionTrait>(
    conn: &C,
    company: CompanyId,
    kind: WorkflowRecord,
    id: Uuid,
) -> Result<MailTo> {
    use crate::contacts::Contact;
    let actor =
        rule_actor(company, UserId::nil(), kind).granted(&[(Resource::Contacts, Action::Read)]);
    let contact = |c: Contact| (c.email, !c.email_consent && c.email_consent_at.is_some());
    let (address, withdrawn) = match kind {
        WorkflowRecord::Lead => {
            let lead: crate::leads::Lead =
                record::get_unscoped(conn, &actor, Id::from_uuid(id)).await?;
            (lead.email, false)
        }
        WorkflowRecord::Contact => {
            contact(record::get_unscoped(conn, &actor, Id::from_uuid(id)).await?)
        }
        WorkflowRecord::Deal => {
            let deal: crate::deals::Deal =
                record::get_unscoped(conn, &actor, Id::from_uuid(id)).await?;
            let Some(primary) = deal.contact_id else {
                return Ok(MailTo::NotSent(
                    "not sent: the deal has no primary contact".into(),
                ));
            };
            contact(record::get_unscoped(conn, &actor, primary).await?)
        }
        WorkflowRecord::Account | WorkflowRecord::Task => {
            return Ok(MailTo::NotSent(format!(
                "not sent: a {kind} has no e-mail address"
            )));
        }
    };
    if withdrawn {
        return Ok(MailTo::NotSent(
            "not sent: the person withdrew e-mail consent".into(),
        ));
    }
    let Some(address) = address
        .map(|a| a.trim().to_lowercase())
        .filter(|a| !a.is_empty())
    else {
        return Ok(MailTo::NotSent("not sent: no e-mail address".into()));
    };
    let opted_out =
        crate::email::opted_out_in(conn, company, std::slice::from_ref(&address)).await?;
    if !opted_out.is_empty() {
        return Ok(MailTo::NotSent(format!(
            "not sent: {address} unsubscribed (opted out)"
        )));
    }
    Ok(MailTo::To(address))
}

/// [`mail_to`] as it is now, for the job that sends (the person may have opted out since).
pub async fn mail_to_now(
    store: &Store,
    company: CompanyId,
    kind: WorkflowRecord,
    id: Uuid,
) -> Result<MailTo> {
    let actor = rule_actor(company, UserId::nil(), kind);
    let read = store.read(&actor).await?;
    mail_to(read.conn(), company, kind, id).await
}

/// The records a trigger's rules look at, read once and read again after a rule changed them.
type Records = HashMap<(WorkflowRecord, Uuid), Option<Found>>;

/// Run each of `rules` that has not yet run for `start` (`ran` says which did), on the record
/// `subject` names for its record type; their runs wait in `pending`. A rule sees the record as
/// it is after the rules before it.
async fn run_rules(
    tx: &Tx,
    company: CompanyId,
    rules: &[&Stored<WorkflowRule>],
    (start, ran): (&Start<'_>, &Ran),
    subject: impl Fn(WorkflowRecord) -> Option<Uuid>,
    pending: &mut Pending,
) -> Result<()> {
    let mut records = Records::new();
    for rule in rules {
        if ran.contains(&(start.key.clone(), rule.id.uuid())) {
            continue;
        }
        let kind = rule.definition.record_type;
        let record_id = subject(kind);
        let row = run_rule(tx, company, rule, start, record_id, &mut records, pending).await?;
        pending.rows.push(row);
    }
    Ok(())
}

/// Run `rule` for `start` on the record `record_id` (if the trigger names one): its run.
async fn run_rule(
    tx: &Tx,
    company: CompanyId,
    rule: &Stored<WorkflowRule>,
    start: &Start<'_>,
    record_id: Option<Uuid>,
    records: &mut Records,
    pending: &mut Pending,
) -> Result<RunRow> {
    let rule_id = rule.id.uuid();
    let spec = &rule.definition;
    let kind = spec.record_type;
    let chain = Chain::of(start.data);
    let mut row = RunRow {
        company,
        rule_id,
        key: start.key.clone(),
        trigger: start.trigger.clone(),
        event_id: start.event_id,
        record_type: kind,
        record_id,
        depth: chain.depth,
        matched: false,
        status: "skipped",
        conditions: "[]".into(),
        actions: "[]".into(),
        error: None,
    };
    if let Some(stop) = spec.loop_stop(&chain, rule_id) {
        row.error = Some(stop);
        return Ok(row);
    }
    let Some(record_id) = record_id else {
        row.error = Some(format!("the event names no {kind}"));
        return Ok(row);
    };
    if let Entry::Vacant(slot) = records.entry((kind, record_id)) {
        slot.insert(find(tx.conn(), company, kind, record_id).await?);
    }
    let Some(Some(found)) = records.get(&(kind, record_id)) else {
        row.error = Some(format!("the {kind} is gone"));
        return Ok(row);
    };
    let evaluation = spec.evaluate(&found.fields);
    row.conditions = json_text(&evaluation.conditions);
    row.matched = evaluation.matched;
    if !evaluation.matched {
        row.error = Some("not matched: a condition does not hold".into());
        return Ok(row);
    }
    if spec.actions.iter().any(takes_turns) {
        // A round-robin's turn counts the rule's logged matches: log the waiting ones first.
        pending.log(tx).await?;
    }
    tx.tag_events(Some((CHAIN_KEY, chain.then(rule_id).to_json())));
    let mut results = Vec::new();
    let mut failed: Option<String> = None;
    let on = On {
        kind,
        id: record_id,
        found,
    };
    for (index, action) in spec.actions.iter().enumerate() {
        let mut result = ActionResult {
            kind: action.kind().as_str(),
            description: action.describe(),
            status: "not_run",
            result: None,
            error: None,
        };
        if failed.is_none() {
            savepoint(tx, "SAVEPOINT workflow_action").await?;
            match act(tx, company, rule, start, &on, (index, action)).await {
                Ok(value) => {
                    savepoint(tx, "RELEASE SAVEPOINT workflow_action").await?;
                    result.status = "ok";
                    result.result = Some(value);
                }
                Err(e) => {
                    savepoint(tx, "ROLLBACK TO SAVEPOINT workflow_action").await?;
                    savepoint(tx, "RELEASE SAVEPOINT workflow_action").await?;
                    let message = describe_error(&e);
                    result.status = "failed";
                    result.error = Some(message.clone());
                    failed = Some(format!("{}: {message}", action.kind()));
                }
            }
        }
        results.push(result);
    }
    tx.tag_events(None);
    // The actions may have changed the record: the next rule reads it again.
    records.remove(&(kind, record_id));
    row.actions = json_text(&results);
    row.status = if failed.is_some() { "failed" } else { "ok" };
    row.error = failed;
    Ok(row)
}

async fn savepoint(tx: &Tx, sql: &str) -> Result<()> {
    tx.conn().execute_unprepared(sql).await?;
    Ok(())
}

/// A refused action in words for the log (`email: is not a valid e-mail address`).
fn describe_error(error: &StoreError) -> String {
    match error {
        StoreError::Invalid(errors) => errors
            .0
            .iter()
            .map(|e| format!("{}: {}", e.field, e.message))
            .collect::<Vec<_>>()
            .join("; "),
        StoreError::NotFound => "the record or a record it names is gone".into(),
        other => other.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// The event consumer

/// Runs the company's active rules on each event (see the module comment).
pub struct WorkflowConsumer;

#[async_trait::async_trait]
impl crate::events::Consumer for WorkflowConsumer {
    fn name(&self) -> &'static str {
        CONSUMER
    }

    /// The whole batch in one pass: the rules per company read once, which rules already ran
    /// for the batch's events one query per company, the events run in order, and their runs
    /// logged together at the end (see [`Pending`]).
    async fn apply(&self, tx: &Tx, events: &[crate::events::Event]) -> Result<()> {
        let mut rules: HashMap<CompanyId, Vec<Stored<WorkflowRule>>> = HashMap::new();
        for event in events {
            if let Entry::Vacant(slot) = rules.entry(event.company_id) {
                slot.insert(
                    definitions::active_in::<WorkflowRule, _>(tx.conn(), event.company_id).await?,
                );
            }
        }
        // Each event with the rules it triggers, and each company's trigger keys.
        let mut work = Vec::new();
        let mut keys: HashMap<CompanyId, Vec<String>> = HashMap::new();
        for event in events {
            let triggered: Vec<&Stored<WorkflowRule>> = rules
                .get(&event.company_id)
                .into_iter()
                .flatten()
                .filter(|r| r.definition.triggered_by(&event.event_type, &event.data))
                .collect();
            if triggered.is_empty() {
                continue;
            }
            let start = Start {
                key: event.id.to_string(),
                trigger: event.event_type.clone(),
                event_id: Some(event.id),
                data: &event.data,
            };
            keys.entry(event.company_id)
                .or_default()
                .push(start.key.clone());
            work.push((event, triggered, start));
        }
        let mut ran = Ran::new();
        for (company, keys) in &keys {
            let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
            ran.extend(already_ran(tx, *company, &keys).await?);
        }
        let mut pending = Pending::default();
        for (event, triggered, start) in &work {
            let subject = |kind| subject_of(event, kind);
            run_rules(
                tx,
                event.company_id,
                triggered,
                (start, &ran),
                subject,
                &mut pending,
            )
            .await?;
        }
        pending.log(tx).await?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// The dry run

/// What a rule would do to one record: which conditions hold, and each action in words.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WorkflowDryRun {
    pub record_type: String,
    pub record_id: Uuid,
    /// Every condition held: the actions would run.
    pub matched: bool,
    pub conditions: Vec<rivet_domain::workflows::WorkflowConditionResult>,
    /// Each action: `kind`, `description`, and `status` would_run (or not_run when the
    /// conditions do not hold); for a message, `result` says to whom it would go or why it
    /// would not (`would_send`, `to`, `reason`), for a sequence whether the record is in it
    /// now (`enrolled_now`).
    #[schema(value_type = Vec<Object>)]
    pub actions: Value,
}

/// What `rule` would do to the record `record_id` (one the caller may read), writing nothing.
pub async fn dry_run(
    store: &Store,
    actor: &Actor,
    rule: WorkflowRuleId,
    record_id: Uuid,
) -> Result<WorkflowDryRun> {
    let stored = definitions::get::<WorkflowRule>(store, actor, rule).await?;
    let kind = stored.definition.record_type;
    let read = store.read(actor).await?;
    let fields = match kind {
        WorkflowRecord::Lead => {
            readable::<crate::leads::Lead, _>(read.conn(), actor, record_id).await?
        }
        WorkflowRecord::Account => {
            readable::<crate::accounts::Account, _>(read.conn(), actor, record_id).await?
        }
        WorkflowRecord::Contact => {
            readable::<crate::contacts::Contact, _>(read.conn(), actor, record_id).await?
        }
        WorkflowRecord::Deal => {
            readable::<crate::deals::Deal, _>(read.conn(), actor, record_id).await?
        }
        WorkflowRecord::Task => {
            readable::<crate::tasks::Task, _>(read.conn(), actor, record_id).await?
        }
    };
    let Evaluation {
        matched,
        conditions,
    } = stored.definition.evaluate(&fields);
    let mut actions: Vec<ActionResult> = Vec::new();
    for action in &stored.definition.actions {
        let result = if matched {
            preview(read.conn(), actor, kind, record_id, action).await?
        } else {
            None
        };
        actions.push(ActionResult {
            kind: action.kind().as_str(),
            description: action.describe(),
            status: if matched { "would_run" } else { "not_run" },
            result,
            error: None,
        });
    }
    Ok(WorkflowDryRun {
        record_type: kind.as_str().to_owned(),
        record_id,
        matched,
        conditions,
        actions: json!(actions),
    })
}

/// What a message or sequence action would come to on the record, for the dry run: to whom
/// a message would go or why it would not, whether the record is in the sequence.
async fn preview<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    kind: WorkflowRecord,
    record_id: Uuid,
    action: &RuleAction,
) -> Result<Option<Value>> {
    let company = actor.company_id;
    Ok(Some(match action {
        RuleAction::SendEmailTemplate { .. } => {
            match mail_to(conn, company, kind, record_id).await? {
                MailTo::To(address) => json!({ "would_send": true, "to": address }),
                MailTo::NotSent(reason) => json!({ "would_send": false, "reason": reason }),
            }
        }
        RuleAction::SendWhatsappTemplate { .. } => {
            let reader = rule_actor(company, actor.user_id, kind);
            let to = crate::whatsapp::recipient_in(conn, &reader, person(kind), record_id).await?;
            match whatsapp_refusal(&to) {
                None => json!({ "would_send": true, "to": to.phone }),
                Some(reason) => json!({ "would_send": false, "reason": reason }),
            }
        }
        RuleAction::EnrollInSequence { sequence_id }
        | RuleAction::RemoveFromSequence { sequence_id } => {
            let live =
                crate::sequences::live_enrollment(conn, company, *sequence_id, record_id).await?;
            json!({ "enrolled_now": live.is_some() })
        }
        _ => return Ok(None),
    }))
}

async fn readable<T: Record, C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    id: Uuid,
) -> Result<Map<String, Value>> {
    let found: T = record::get_in(conn, actor, Action::Read, Id::from_uuid(id)).await?;
    Ok(fields_of(&found))
}

// ---------------------------------------------------------------------------------------------
// Scheduled triggers

/// The recurring job that runs the scheduled triggers of every company's active rules.
pub const SCHEDULE_JOB: &str = "workflow.schedules";
/// Records looked at per rule per check (the oldest first); the rest wait for the next check.
const SCHEDULE_BATCH: u64 = 500;

#[derive(FromQueryResult)]
struct Due {
    id: Uuid,
    /// What makes this occurrence one: the due time, the close date, the last activity.
    occurrence: String,
}

#[derive(FromQueryResult)]
struct CompanyRow {
    company_id: CompanyId,
}

/// Run every scheduled trigger of every company's active rules: each matching record once per
/// occurrence (a task's due time, a deal's close date, a record's last activity), and escalate
/// the overdue SLA tasks, in one transaction per company. Returns how many runs were logged
/// and tasks escalated.
pub async fn run_schedules(store: &Store) -> Result<u64> {
    use crate::tables::Definitions as D;
    let companies: Vec<CompanyRow> = fetch_all(
        store.system(),
        Query::select()
            .distinct()
            .column(D::CompanyId)
            .from(D::Table)
            .and_where(Expr::col(D::Kind).eq(<WorkflowRule as Definition>::KIND)),
    )
    .await?;
    let mut total = 0;
    for CompanyRow { company_id } in companies {
        let tx = store.write_system().await?;
        let rules = definitions::active_in::<WorkflowRule, _>(tx.conn(), company_id).await?;
        for rule in &rules {
            let due = due_records(&tx, company_id, &rule.definition).await?;
            let kind = rule.definition.trigger.kind().as_str();
            let starts: Vec<(Start, Uuid)> = due
                .into_iter()
                .map(|Due { id, occurrence }| {
                    let start = Start {
                        key: format!("{kind}:{id}:{occurrence}"),
                        trigger: kind.to_owned(),
                        event_id: None,
                        data: &Value::Null,
                    };
                    (start, id)
                })
                .collect();
            let keys: Vec<&str> = starts.iter().map(|(s, _)| s.key.as_str()).collect();
            let ran = already_ran(&tx, company_id, &keys).await?;
            let mut pending = Pending::default();
            for (start, id) in &starts {
                let subject = |_| Some(*id);
                run_rules(
                    &tx,
                    company_id,
                    &[rule],
                    (start, &ran),
                    subject,
                    &mut pending,
                )
                .await?;
            }
            total += pending.log(&tx).await?;
        }
        total += escalate_overdue(&tx, company_id).await?;
        tx.commit().await?;
    }
    Ok(total)
}

/// The records a scheduled rule's trigger names now, with their occurrence.
async fn due_records(tx: &Tx, company: CompanyId, rule: &WorkflowRule) -> Result<Vec<Due>> {
    use crate::tables::{Activities as A, ActivityLinks as L, Deals, Leads, Tasks};
    use rivet_domain::workflows::Trigger;
    let at = now();
    let q = match &rule.trigger {
        Trigger::Event { .. } => return Ok(Vec::new()),
        Trigger::TaskOverdue => Query::select()
            .expr_as(Expr::col(Tasks::Id), "id")
            .expr_as(Expr::col(Tasks::DueAt).cast_as("text"), "occurrence")
            .from(Tasks::Table)
            .and_where(Expr::col(Tasks::CompanyId).eq(company))
            .and_where(Expr::col(Tasks::Status).is_in(["open", "in_progress"]))
            .and_where(Expr::col(Tasks::DueAt).lt(at))
            .order_by(Tasks::DueAt, Order::Asc)
            .limit(SCHEDULE_BATCH)
            .to_owned(),
        Trigger::BeforeCloseDate { days } => {
            let today = at.date_naive();
            let until = today + chrono::Duration::days(i64::from(*days));
            Query::select()
                .expr_as(Expr::col(Deals::Id), "id")
                .expr_as(Expr::col(Deals::CloseDate), "occurrence")
                .from(Deals::Table)
                .and_where(Expr::col(Deals::CompanyId).eq(company))
                .and_where(Expr::col(Deals::ClosedAt).is_null())
                .and_where(Expr::col(Deals::CloseDate).gte(today.to_string()))
                .and_where(Expr::col(Deals::CloseDate).lte(until.to_string()))
                .order_by(Deals::CloseDate, Order::Asc)
                .limit(SCHEDULE_BATCH)
                .to_owned()
        }
        Trigger::NoActivity { days } => {
            let since = at - chrono::Duration::days(i64::from(*days));
            let (table, id_col, company_col, created, closed): (
                sea_orm::sea_query::DynIden,
                sea_orm::sea_query::DynIden,
                sea_orm::sea_query::DynIden,
                sea_orm::sea_query::DynIden,
                Option<sea_orm::sea_query::SimpleExpr>,
            ) = match rule.record_type {
                WorkflowRecord::Deal => (
                    crate::query::iden(Deals::Table),
                    crate::query::iden(Deals::Id),
                    crate::query::iden(Deals::CompanyId),
                    crate::query::iden(Deals::CreatedAt),
                    Some(Expr::col((Deals::Table, Deals::ClosedAt)).is_null()),
                ),
                _ => (
                    crate::query::iden(Leads::Table),
                    crate::query::iden(Leads::Id),
                    crate::query::iden(Leads::CompanyId),
                    crate::query::iden(Leads::CreatedAt),
                    Some(
                        Expr::col((Leads::Table, Leads::Status))
                            .is_not_in(["converted", "unqualified"]),
                    ),
                ),
            };
            // The record's last activity, or its creation when it has none.
            let latest = Query::select()
                .expr(sea_orm::sea_query::Func::max(Expr::col((
                    A::Table,
                    A::OccurredAt,
                ))))
                .from(L::Table)
                .inner_join(
                    A::Table,
                    Expr::col((A::Table, A::CompanyId))
                        .equals((L::Table, L::CompanyId))
                        .and(Expr::col((A::Table, A::Id)).equals((L::Table, L::ActivityId))),
                )
                .and_where(
                    Expr::col((L::Table, L::CompanyId))
                        .equals((table.clone(), company_col.clone())),
                )
                .and_where(Expr::col((L::Table, L::RecordType)).eq(rule.record_type.as_str()))
                .and_where(
                    Expr::col((L::Table, L::RecordId)).equals((table.clone(), id_col.clone())),
                )
                .to_owned();
            let last: Expr = sea_orm::sea_query::Func::coalesce([
                Expr::SubQuery(None, Box::new(latest.into())),
                Expr::col((table.clone(), created)),
            ])
            .into();
            let mut q = Query::select();
            q.expr_as(Expr::col((table.clone(), id_col)), "id")
                .expr_as(last.clone().cast_as("text"), "occurrence")
                .from(table.clone())
                .and_where(Expr::col((table, company_col)).eq(company))
                .and_where(last.lt(since))
                .limit(SCHEDULE_BATCH);
            if let Some(closed) = closed {
                q.and_where(closed);
            }
            q
        }
    };
    fetch_all(tx.conn(), &q).await
}

// ---------------------------------------------------------------------------------------------
// SLA tasks

/// Remember an SLA task a rule created, for [`escalate_overdue`].
async fn watch_sla(tx: &Tx, company: CompanyId, task: Uuid, rule: Uuid) -> Result<()> {
    use crate::tables::WorkflowSlaTasks as S;
    exec(
        tx.conn(),
        Query::insert()
            .into_table(S::Table)
            .columns([S::CompanyId, S::TaskId, S::RuleId, S::CreatedAt])
            .values_panic([company.into(), task.into(), rule.into(), now().into()]),
    )
    .await?;
    Ok(())
}

#[derive(FromQueryResult)]
struct OverdueSla {
    task_id: Uuid,
    subject: String,
    assignee_id: UserId,
    /// The manager of the assignee's team, if the team has one.
    manager_id: Option<UserId>,
}

/// The notification kind of an escalated SLA task.
pub const ESCALATED: &str = "task.escalated";

/// Tell the team manager of each overdue, still open SLA task's assignee (once per task; an
/// assignee without a team manager, or who is the manager, is noted and told nobody). Runs in
/// the schedule check's transaction; returns how many tasks were escalated.
pub async fn escalate_overdue(tx: &Tx, company: CompanyId) -> Result<u64> {
    use crate::tables::{Memberships as M, Tasks as T, Teams, WorkflowSlaTasks as S};
    let overdue: Vec<OverdueSla> = fetch_all(
        tx.conn(),
        Query::select()
            .expr_as(Expr::col((T::Table, T::Id)), "task_id")
            .column((T::Table, T::Subject))
            .column((T::Table, T::AssigneeId))
            .expr_as(Expr::col((Teams::Table, Teams::ManagerId)), "manager_id")
            .from(S::Table)
            .inner_join(
                T::Table,
                Expr::col((T::Table, T::CompanyId))
                    .equals((S::Table, S::CompanyId))
                    .and(Expr::col((T::Table, T::Id)).equals((S::Table, S::TaskId))),
            )
            .left_join(
                M::Table,
                Expr::col((M::Table, M::CompanyId))
                    .equals((T::Table, T::CompanyId))
                    .and(Expr::col((M::Table, M::UserId)).equals((T::Table, T::AssigneeId))),
            )
            .left_join(
                Teams::Table,
                Expr::col((Teams::Table, Teams::CompanyId))
                    .equals((M::Table, M::CompanyId))
                    .and(Expr::col((Teams::Table, Teams::Id)).equals((M::Table, M::TeamId))),
            )
            .and_where(Expr::col((S::Table, S::CompanyId)).eq(company))
            .and_where(Expr::col((S::Table, S::EscalatedAt)).is_null())
            .and_where(Expr::col((T::Table, T::Status)).is_in(["open", "in_progress"]))
            .and_where(Expr::col((T::Table, T::DueAt)).lt(now()))
            .limit(SCHEDULE_BATCH),
    )
    .await?;
    let mut told = Vec::new();
    for sla in &overdue {
        let manager = sla.manager_id.filter(|m| *m != sla.assignee_id);
        exec(
            tx.conn(),
            Query::update()
                .table(S::Table)
                .value(S::EscalatedAt, now())
                .value(S::EscalatedTo, manager)
                .and_where(Expr::col(S::CompanyId).eq(company))
                .and_where(Expr::col(S::TaskId).eq(sla.task_id)),
        )
        .await?;
        if let Some(manager) = manager {
            told.push((
                manager,
                crate::notifications::NewNotification {
                    kind: ESCALATED,
                    title: format!("Overdue SLA task: {}", sla.subject),
                    body: Some(format!(
                        "A task a workflow rule gave {} is past its due time.",
                        sla.assignee_id
                    )),
                    link: Some(format!("/tasks/{}", sla.task_id)),
                    record: Some(("task", sla.task_id)),
                },
            ));
        }
    }
    crate::notifications::notify_all(tx, company, &told).await?;
    Ok(u64::try_from(overdue.len()).unwrap_or(u64::MAX))
}
