//! E-mail sequences (issue 15 §3), the stored part: a sequence is a definition of the generic
//! layer ([`crate::definitions`], kind `sequence`), checked against the company's e-mail
//! templates; its enrollments (`sequence_enrollments`) say where each enrolled lead or contact
//! is — the step it runs next and when — and the e-mails its steps sent (`sequence_sends`)
//! feed its daily limit and per-step counts. Running a step needs the SMTP path and lives in
//! the server (`crate::sequences` there); what it needs from the database is here:
//!
//! - [`claim_due`] leases a batch of due active enrollments to one runner (`locked_by`,
//!   `locked_until`): on PostgreSQL `FOR UPDATE SKIP LOCKED`, on SQLite the single writer, so
//!   two runners never run one step. A runner that dies leaves the lease to expire.
//! - [`advance`], [`retry_later`], [`postpone`] and [`end`] move an enrollment on, only while
//!   the caller still holds its lease at that step; the e-mail a step sent is recorded with the
//!   move ([`advance`] with `sent`), under the e-mail's idempotency key
//!   `seq:{enrollment}:{step}`, so a runner killed after the SMTP server took a message but
//!   before it moved on finds the message on retry and does not send it again.
//! - [`SequenceStopper`], an event consumer, ends live enrollments when the record's status
//!   becomes one of the sequence's stop statuses, a reply or a meeting is logged on it, or an
//!   e-mail to it bounced or it unsubscribed (`email.bounced`, `email.unsubscribed`,
//!   `email.replied`).

use crate::definitions::{self, Definition, Stored};
use crate::events::{Consumer, Event};
use crate::page::PageRequest;
use crate::record;
use crate::tables::{SequenceEnrollments as E, SequenceSends as S};
use crate::{Page, Result, Store, StoreError, Tx, exec, fetch_all, fetch_optional, now};
use chrono::{DateTime, Duration, Utc};
use rivet_domain::ids::{CompanyId, SequenceEnrollmentId, SequenceId, UserId, kind};
use rivet_domain::sequences::{EnrollmentStatus, Enrolls, Sequence, SequenceInput, SkipReason};
use rivet_domain::templates::EmailTemplate;
use rivet_domain::{Action, Actor, FieldErrors, Resource};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType, OnConflict, Order, Query};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use uuid::Uuid;

impl Definition for Sequence {
    type Input = SequenceInput;
    type Kind = kind::Sequence;
    const KIND: &'static str = "sequence";
    const RESOURCE: Resource = Resource::Sequences;
    const SCHEMA: &'static str = "Sequence";

    fn validate(input: Self::Input) -> std::result::Result<Self, FieldErrors> {
        input.validate()
    }

    fn to_input(&self) -> Self::Input {
        self.input.clone()
    }

    fn name(&self) -> &str {
        &self.input.name
    }

    fn active(&self) -> bool {
        self.input.active
    }

    /// Each e-mail step's template is one of the company's, switched on, for the record type
    /// the sequence enrolls.
    async fn check(&self, tx: &Tx, company: CompanyId) -> Result<()> {
        let mut errors = FieldErrors::new();
        for (field, id) in self.templates() {
            match definitions::get_in::<EmailTemplate, _>(tx.conn(), company, id).await {
                Ok(t) if !t.definition.active => {
                    errors.add(&field, "names an e-mail template that is switched off");
                }
                Ok(t) if t.definition.record_type.to_string() != enrolls_str(self) => {
                    errors.add(
                        &field,
                        format!(
                            "names a template for a {}, but the sequence enrolls {}s",
                            t.definition.record_type,
                            enrolls_str(self)
                        ),
                    );
                }
                Ok(_) => {}
                Err(StoreError::NotFound | StoreError::Invalid(_)) => {
                    errors.add(&field, "names no e-mail template of this company");
                }
                Err(e) => return Err(e),
            }
        }
        errors.into_result().map_err(StoreError::Invalid)
    }
}

fn enrolls_str(sequence: &Sequence) -> &'static str {
    record_type_of(sequence.input.enrolls)
}

/// The record type a sequence enrolls, as stored and as the activity links say it.
pub fn record_type_of(enrolls: Enrolls) -> &'static str {
    match enrolls {
        Enrolls::Lead => "lead",
        Enrolls::Contact => "contact",
    }
}

/// Whether a company's sequence uses the e-mail template `id` (a template still used is not
/// deleted): the names of those that do.
pub async fn using_template<C: ConnectionTrait>(
    conn: &C,
    company: CompanyId,
    id: rivet_domain::ids::EmailTemplateId,
) -> Result<Vec<String>> {
    let all: Vec<Stored<Sequence>> = definitions::list_in(conn, company, false).await?;
    Ok(all
        .into_iter()
        .filter(|s| s.definition.templates().iter().any(|(_, t)| *t == id))
        .map(|s| s.definition.input.name)
        .collect())
}

/// A record's enrollment in a sequence, as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Enrollment {
    #[schema(value_type = uuid::Uuid)]
    pub id: SequenceEnrollmentId,
    #[schema(value_type = uuid::Uuid)]
    pub sequence_id: SequenceId,
    /// `lead` or `contact`.
    pub record_type: String,
    pub record_id: Uuid,
    pub status: EnrollmentStatus,
    /// Why it ended early: `manual`, `removed_by_rule`, `status`, `replied`, `meeting`,
    /// `bounced`, `unsubscribed`, `no_email`, `consent_withdrawn`, `no_whatsapp_consent`,
    /// `no_phone`, `send_failed`.
    pub stop_reason: Option<String>,
    /// The index of the step it runs next (of the sequence's `steps`).
    pub step: i32,
    /// When that step runs.
    pub next_step_at: DateTime<Utc>,
    /// Why the last attempt at the step failed, in plain words (it is tried again).
    pub last_error: Option<String>,
    /// Failed attempts at the step so far.
    pub attempts: i32,
    #[schema(value_type = uuid::Uuid)]
    pub enrolled_by: UserId,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(FromQueryResult)]
struct Row {
    company_id: Uuid,
    id: Uuid,
    sequence_id: Uuid,
    record_type: String,
    record_id: Uuid,
    status: String,
    stop_reason: Option<String>,
    step: i32,
    next_step_at: DateTime<Utc>,
    last_error: Option<String>,
    attempts: i32,
    locked_by: Option<String>,
    enrolled_by: Uuid,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl From<&Row> for Enrollment {
    fn from(r: &Row) -> Self {
        Enrollment {
            id: SequenceEnrollmentId::from_uuid(r.id),
            sequence_id: SequenceId::from_uuid(r.sequence_id),
            record_type: r.record_type.clone(),
            record_id: r.record_id,
            status: EnrollmentStatus::parse(&r.status).unwrap_or(EnrollmentStatus::Stopped),
            stop_reason: r.stop_reason.clone(),
            step: r.step,
            next_step_at: r.next_step_at,
            last_error: r.last_error.clone(),
            attempts: r.attempts,
            enrolled_by: UserId::from_uuid(r.enrolled_by),
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

const COLUMNS: [E; 15] = [
    E::CompanyId,
    E::Id,
    E::SequenceId,
    E::RecordType,
    E::RecordId,
    E::Status,
    E::StopReason,
    E::Step,
    E::NextStepAt,
    E::LastError,
    E::Attempts,
    E::LockedBy,
    E::EnrolledBy,
    E::CreatedAt,
    E::UpdatedAt,
];

fn select(company: CompanyId) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .columns(COLUMNS)
        .from(E::Table)
        .and_where(Expr::col(E::CompanyId).eq(company))
        .to_owned()
}

/// What enrolling one record came to.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EnrollResult {
    pub record_id: Uuid,
    /// `enrolled` or `skipped`.
    pub outcome: String,
    /// Why it was skipped.
    pub reason: Option<SkipReason>,
    /// The new enrollment.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub enrollment_id: Option<SequenceEnrollmentId>,
}

/// A record that passed the checks: enrolled unless it is in the sequence already.
fn to_enroll(record_id: Uuid) -> EnrollResult {
    EnrollResult {
        record_id,
        outcome: "enrolled".into(),
        reason: None,
        enrollment_id: None,
    }
}

fn skipped(record_id: Uuid, reason: SkipReason) -> EnrollResult {
    EnrollResult {
        record_id,
        outcome: "skipped".into(),
        reason: Some(reason),
        enrollment_id: None,
    }
}

/// A record's address and whether its person withdrew consent, read as the caller (`None`:
/// not found for them).
async fn address_of<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    enrolls: Enrolls,
    id: Uuid,
) -> Result<Option<(Option<String>, bool)>> {
    let found = match enrolls {
        Enrolls::Lead => record::get_in::<crate::leads::Lead, _>(
            conn,
            actor,
            Action::Read,
            rivet_domain::Id::from_uuid(id),
        )
        .await
        .map(|l| (l.email, false)),
        Enrolls::Contact => record::get_in::<crate::contacts::Contact, _>(
            conn,
            actor,
            Action::Read,
            rivet_domain::Id::from_uuid(id),
        )
        .await
        .map(|c| (c.email, !c.email_consent && c.email_consent_at.is_some())),
    };
    match found {
        Ok(found) => Ok(Some(found)),
        Err(StoreError::NotFound | StoreError::Forbidden) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Whether the lead or contact `id` the caller may read has a phone number WhatsApp can reach
/// (the E.164 number a WhatsApp step sends to); `None` when it is not found.
async fn has_phone<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    enrolls: Enrolls,
    id: Uuid,
) -> Result<Option<bool>> {
    let record_type = match enrolls {
        Enrolls::Lead => rivet_domain::activities::RecordType::Lead,
        Enrolls::Contact => rivet_domain::activities::RecordType::Contact,
    };
    match crate::whatsapp::recipient_in(conn, actor, record_type, id).await {
        Ok(to) => Ok(Some(to.phone.is_some())),
        Err(StoreError::NotFound | StoreError::Forbidden) => Ok(None),
        Err(e) => Err(e),
    }
}

fn usable(address: Option<String>) -> Option<String> {
    address
        .map(|a| a.trim().to_lowercase())
        .filter(|a| !a.is_empty())
}

/// Enroll `record_ids` (of the type the sequence enrolls, read as the caller) in the
/// caller's company's sequence `id`, which must be active; each is enrolled or skipped with
/// its reason (no e-mail address; for a sequence whose messages are all WhatsApp ones, no phone
/// number instead), in one audited transaction. Its first step is due at once (an e-mail step
/// at the window's next opening).
pub async fn enroll(
    store: &Store,
    actor: &Actor,
    id: SequenceId,
    record_ids: &[Uuid],
    tz: chrono_tz::Tz,
) -> Result<Vec<EnrollResult>> {
    let tx = store.write(actor).await?;
    let results = enroll_in(&tx, actor, id, record_ids, tz).await?;
    tx.commit().await?;
    Ok(results)
}

/// [`enroll`] inside the caller's transaction (a workflow rule's `enroll_in_sequence`).
pub async fn enroll_in(
    tx: &Tx,
    actor: &Actor,
    id: SequenceId,
    record_ids: &[Uuid],
    tz: chrono_tz::Tz,
) -> Result<Vec<EnrollResult>> {
    let sequence: Stored<Sequence> = definitions::get_in(tx.conn(), actor.company_id, id).await?;
    let sequence = sequence.definition;
    if !sequence.input.active {
        return Err(StoreError::Conflict {
            field: "active".into(),
            message: "the sequence is switched off: switch it on to enroll".into(),
        });
    }
    let enrolls = sequence.input.enrolls;
    let record_type = record_type_of(enrolls);
    let mut addresses = HashMap::new();
    let mut results = Vec::with_capacity(record_ids.len());
    let mut seen = std::collections::HashSet::new();
    let by_email = sequence.sends_email();
    for &record_id in record_ids {
        if !seen.insert(record_id) {
            continue;
        }
        if !by_email {
            // Only WhatsApp messages: a phone is what it needs (consent is checked by each
            // WhatsApp step, as it may be given meanwhile).
            results.push(
                match has_phone(tx.conn(), actor, enrolls, record_id).await? {
                    None => skipped(record_id, SkipReason::NotFound),
                    Some(false) => skipped(record_id, SkipReason::NoPhone),
                    Some(true) => to_enroll(record_id),
                },
            );
            continue;
        }
        match address_of(tx.conn(), actor, enrolls, record_id).await? {
            None => results.push(skipped(record_id, SkipReason::NotFound)),
            Some((_, true)) => results.push(skipped(record_id, SkipReason::ConsentWithdrawn)),
            Some((address, false)) => match usable(address) {
                None => results.push(skipped(record_id, SkipReason::NoEmail)),
                Some(address) => {
                    addresses.insert(record_id, address);
                    results.push(to_enroll(record_id));
                }
            },
        }
    }
    let wanted: Vec<String> = addresses.values().cloned().collect();
    let opted_out = crate::email::opted_out_in(tx.conn(), actor.company_id, &wanted).await?;
    let at = now();
    let Some((first, due)) = sequence.first_step(at, tz) else {
        return Err(StoreError::invalid(
            "steps",
            "the sequence has no step to run",
        ));
    };
    let mut audited = Vec::new();
    for result in &mut results {
        if result.reason.is_some() {
            continue;
        }
        if addresses
            .get(&result.record_id)
            .is_some_and(|address| opted_out.contains(address))
        {
            *result = skipped(result.record_id, SkipReason::ConsentWithdrawn);
            continue;
        }
        let eid = SequenceEnrollmentId::new();
        let inserted = exec(
            tx.conn(),
            Query::insert()
                .into_table(E::Table)
                .columns([
                    E::CompanyId,
                    E::Id,
                    E::SequenceId,
                    E::RecordType,
                    E::RecordId,
                    E::Status,
                    E::Step,
                    E::NextStepAt,
                    E::Attempts,
                    E::EnrolledBy,
                    E::CreatedAt,
                    E::UpdatedAt,
                ])
                .values_panic([
                    actor.company_id.into(),
                    eid.uuid().into(),
                    id.uuid().into(),
                    record_type.into(),
                    result.record_id.into(),
                    EnrollmentStatus::Active.as_str().into(),
                    i32::try_from(first).unwrap_or(0).into(),
                    due.into(),
                    0.into(),
                    actor.user_id.into(),
                    at.into(),
                    at.into(),
                ])
                .on_conflict(OnConflict::new().do_nothing().to_owned()),
        )
        .await?;
        if inserted == 1 {
            result.enrollment_id = Some(eid);
            audited.push((
                eid.to_string(),
                serde_json::json!({
                    "sequence_id": id,
                    "record_type": record_type,
                    "record_id": result.record_id,
                }),
            ));
        } else {
            *result = skipped(result.record_id, SkipReason::AlreadyEnrolled);
        }
    }
    let changes: Vec<crate::audit::Audited<'_>> = audited
        .iter()
        .map(|(rid, after)| crate::audit::Audited {
            resource_id: rid,
            before: None,
            after: Some(after),
        })
        .collect();
    if !changes.is_empty() {
        // In the caller's company: a workflow rule enrolls in the consumer's own transaction.
        tx.audit_all_in(
            actor.company_id,
            Resource::Sequences.as_str(),
            Action::Create.as_str(),
            &changes,
        )
        .await?;
    }
    Ok(results)
}

/// The enrollments of the caller's company's sequence `id`, newest first, of one status if
/// given.
pub async fn enrollments(
    store: &Store,
    actor: &Actor,
    id: SequenceId,
    status: Option<EnrollmentStatus>,
    page: PageRequest,
) -> Result<Page<Enrollment>> {
    let r = store.read(actor).await?;
    definitions::get_in::<Sequence, _>(r.conn(), actor.company_id, id).await?;
    let mut q = select(actor.company_id);
    q.and_where(Expr::col(E::SequenceId).eq(id.uuid()));
    if let Some(status) = status {
        q.and_where(Expr::col(E::Status).eq(status.as_str()));
    }
    if let Some(after) = page.after {
        q.and_where(Expr::col(E::Id).lt(after));
    }
    q.order_by(E::Id, Order::Desc).limit(page.limit + 1);
    let rows: Vec<Row> = fetch_all(r.conn(), &q).await?;
    let rows: Vec<Enrollment> = rows.iter().map(Enrollment::from).collect();
    Ok(Page::from_rows(rows, page, |e| e.id.uuid()))
}

/// A record's enrollments in the caller's company, newest first (the lead's and contact's
/// pages); the caller has checked the record is theirs to read.
pub async fn for_record(store: &Store, actor: &Actor, record_id: Uuid) -> Result<Vec<Enrollment>> {
    let r = store.read(actor).await?;
    let rows: Vec<Row> = fetch_all(
        r.conn(),
        select(actor.company_id)
            .and_where(Expr::col(E::RecordId).eq(record_id))
            .order_by(E::Id, Order::Desc)
            .limit(100),
    )
    .await?;
    Ok(rows.iter().map(Enrollment::from).collect())
}

/// What one step of a sequence came to: the e-mails it sent and what became of them (each
/// message counted once however often it was opened or clicked).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StepStats {
    /// The step's index (of the sequence's `steps`).
    pub step: i32,
    /// The step's type (`email`, `wait`, `task`, …).
    #[serde(rename = "type")]
    pub step_type: String,
    pub sent: i64,
    pub opened: i64,
    pub clicked: i64,
    pub replied: i64,
    pub bounced: i64,
}

/// How many of a sequence's enrollments are in each status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct EnrollmentCounts {
    pub active: i64,
    pub paused: i64,
    pub finished: i64,
    pub stopped: i64,
}

/// A sequence's figures: per step, and its enrollments by status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SequenceStats {
    /// One entry per step of the sequence as it is now, in order (a step that sent nothing
    /// counts zeros; sends of steps since removed are left out).
    pub steps: Vec<StepStats>,
    pub enrollments: EnrollmentCounts,
}

/// The figures of the caller's company's sequence `id`: one grouped query for the steps (its
/// sends joined with their messages' tracking times) and one for the enrollments.
pub async fn stats(store: &Store, actor: &Actor, id: SequenceId) -> Result<SequenceStats> {
    use crate::tables::EmailMessages as M;
    #[derive(FromQueryResult)]
    struct StepRow {
        step: i32,
        sent: i64,
        opened: i64,
        clicked: i64,
        replied: i64,
        bounced: i64,
    }
    #[derive(FromQueryResult)]
    struct StatusRow {
        status: String,
        n: i64,
    }
    let r = store.read(actor).await?;
    let sequence = definitions::get_in::<Sequence, _>(r.conn(), actor.company_id, id).await?;
    let counted = |col: M| Expr::col((M::Table, col)).count();
    let rows: Vec<StepRow> = fetch_all(
        r.conn(),
        Query::select()
            .column((S::Table, S::Step))
            .expr_as(Expr::col((S::Table, S::Step)).count(), "sent")
            .expr_as(counted(M::OpenedAt), "opened")
            .expr_as(counted(M::ClickedAt), "clicked")
            .expr_as(counted(M::RepliedAt), "replied")
            .expr_as(counted(M::BouncedAt), "bounced")
            .from(S::Table)
            .left_join(
                M::Table,
                Expr::col((M::Table, M::CompanyId))
                    .equals((S::Table, S::CompanyId))
                    .and(Expr::col((M::Table, M::Id)).equals((S::Table, S::MessageId))),
            )
            .and_where(Expr::col((S::Table, S::CompanyId)).eq(actor.company_id))
            .and_where(Expr::col((S::Table, S::SequenceId)).eq(id.uuid()))
            .group_by_col((S::Table, S::Step)),
    )
    .await?;
    let statuses: Vec<StatusRow> = fetch_all(
        r.conn(),
        Query::select()
            .column(E::Status)
            .expr_as(Expr::col(E::Id).count(), "n")
            .from(E::Table)
            .and_where(Expr::col(E::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(E::SequenceId).eq(id.uuid()))
            .group_by_col(E::Status),
    )
    .await?;
    let steps = sequence
        .definition
        .input
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let index = i32::try_from(i).unwrap_or(i32::MAX);
            let step_type = serde_json::to_value(step)
                .ok()
                .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_owned))
                .unwrap_or_default();
            let mut stats = StepStats {
                step: index,
                step_type,
                ..StepStats::default()
            };
            if let Some(row) = rows.iter().find(|r| r.step == index) {
                stats.sent = row.sent;
                stats.opened = row.opened;
                stats.clicked = row.clicked;
                stats.replied = row.replied;
                stats.bounced = row.bounced;
            }
            stats
        })
        .collect();
    let mut enrollments = EnrollmentCounts::default();
    for row in statuses {
        let slot = match EnrollmentStatus::parse(&row.status) {
            Some(EnrollmentStatus::Active) => &mut enrollments.active,
            Some(EnrollmentStatus::Paused) => &mut enrollments.paused,
            Some(EnrollmentStatus::Finished) => &mut enrollments.finished,
            _ => &mut enrollments.stopped,
        };
        *slot += row.n;
    }
    Ok(SequenceStats { steps, enrollments })
}

/// A person's change to an enrollment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// An active one waits (its step does not run) until resumed.
    Pause,
    /// A paused one runs its step again, now or when it was due if later.
    Resume,
    /// An active or paused one ends (`manual`).
    Stop,
    /// An active or paused one ends because a workflow rule removed it (`removed_by_rule`).
    Remove,
}

/// Pause, resume or stop enrollment `eid` of sequence `id`, audited; one not in a state the
/// change applies to is a 409 naming `status`.
pub async fn change(
    store: &Store,
    actor: &Actor,
    id: SequenceId,
    eid: SequenceEnrollmentId,
    change: Change,
) -> Result<Enrollment> {
    let tx = store.write(actor).await?;
    let changed = change_in(&tx, actor, id, eid, change).await?;
    tx.commit().await?;
    Ok(changed)
}

/// The live (active or paused) enrollment of `record_id` in the company's sequence `id`.
pub async fn live_enrollment<C: ConnectionTrait>(
    conn: &C,
    company: CompanyId,
    id: SequenceId,
    record_id: Uuid,
) -> Result<Option<SequenceEnrollmentId>> {
    let row: Option<Row> = fetch_optional(
        conn,
        select(company)
            .and_where(Expr::col(E::SequenceId).eq(id.uuid()))
            .and_where(Expr::col(E::RecordId).eq(record_id))
            .and_where(Expr::col(E::Status).is_in(EnrollmentStatus::LIVE))
            .limit(1),
    )
    .await?;
    Ok(row.map(|r| SequenceEnrollmentId::from_uuid(r.id)))
}

/// [`change`] inside the caller's transaction (a workflow rule's `remove_from_sequence`).
pub async fn change_in(
    tx: &Tx,
    actor: &Actor,
    id: SequenceId,
    eid: SequenceEnrollmentId,
    change: Change,
) -> Result<Enrollment> {
    let q = select(actor.company_id)
        .and_where(Expr::col(E::SequenceId).eq(id.uuid()))
        .and_where(Expr::col(E::Id).eq(eid.uuid()))
        .to_owned();
    let before: Row = fetch_optional(tx.conn(), &q)
        .await?
        .ok_or(StoreError::NotFound)?;
    let (from, to): (&[&str], EnrollmentStatus) = match change {
        Change::Pause => (&["active"], EnrollmentStatus::Paused),
        Change::Resume => (&["paused"], EnrollmentStatus::Active),
        Change::Stop | Change::Remove => (&EnrollmentStatus::LIVE, EnrollmentStatus::Stopped),
    };
    if !from.contains(&before.status.as_str()) {
        return Err(StoreError::Conflict {
            field: "status".into(),
            message: format!("the enrollment is {}", before.status),
        });
    }
    let at = now();
    let mut update = Query::update();
    update
        .table(E::Table)
        .value(E::Status, to.as_str())
        .value(E::UpdatedAt, at)
        .and_where(Expr::col(E::CompanyId).eq(actor.company_id))
        .and_where(Expr::col(E::Id).eq(eid.uuid()));
    match change {
        Change::Stop => {
            update.value(E::StopReason, "manual");
        }
        Change::Remove => {
            update.value(E::StopReason, "removed_by_rule");
        }
        Change::Resume if before.next_step_at < at => {
            update.value(E::NextStepAt, at);
        }
        _ => {}
    }
    exec(tx.conn(), &update).await?;
    let after: Row = fetch_optional(tx.conn(), &q)
        .await?
        .ok_or(StoreError::NotFound)?;
    let json = |r: &Row| serde_json::json!({ "status": r.status, "stop_reason": r.stop_reason });
    tx.audit_in(
        actor.company_id,
        Resource::Sequences.as_str(),
        eid,
        Action::Update.as_str(),
        Some(&json(&before)),
        Some(&json(&after)),
    )
    .await?;
    Ok(Enrollment::from(&after))
}

/// An enrollment leased to a runner for its current step.
#[derive(Debug, Clone)]
pub struct Due {
    pub company_id: CompanyId,
    pub id: SequenceEnrollmentId,
    pub sequence_id: SequenceId,
    pub record_type: String,
    pub record_id: Uuid,
    pub step: i32,
    pub attempts: i32,
    pub enrolled_by: UserId,
    /// The runner holding the lease.
    pub owner: String,
}

impl From<Row> for Due {
    fn from(r: Row) -> Self {
        Due {
            company_id: CompanyId::from_uuid(r.company_id),
            id: SequenceEnrollmentId::from_uuid(r.id),
            sequence_id: SequenceId::from_uuid(r.sequence_id),
            record_type: r.record_type,
            record_id: r.record_id,
            step: r.step,
            attempts: r.attempts,
            enrolled_by: UserId::from_uuid(r.enrolled_by),
            owner: r.locked_by.unwrap_or_default(),
        }
    }
}

impl Due {
    /// The idempotency key of the message (e-mail or WhatsApp) its step sends.
    pub fn step_key(&self) -> String {
        format!("seq:{}:{}", self.id, self.step)
    }
}

/// Lease up to `limit` due active enrollments (of every company) to runner `owner` for
/// `lease`; another runner's unexpired lease is left alone.
pub async fn claim_due(
    store: &Store,
    owner: &str,
    limit: u64,
    lease: std::time::Duration,
) -> Result<Vec<Due>> {
    let at = now();
    let until = at + Duration::from_std(lease).unwrap_or(Duration::minutes(5));
    let mut pick = Query::select()
        .column(E::Id)
        .from(E::Table)
        .and_where(Expr::col(E::Status).eq(EnrollmentStatus::Active.as_str()))
        .and_where(Expr::col(E::NextStepAt).lte(at))
        .and_where(
            Expr::col(E::LockedUntil)
                .is_null()
                .or(Expr::col(E::LockedUntil).lt(at)),
        )
        .order_by(E::NextStepAt, Order::Asc)
        .limit(limit)
        .to_owned();
    let build = |pick: sea_orm::sea_query::SelectStatement| {
        Query::update()
            .table(E::Table)
            .value(E::LockedBy, owner)
            .value(E::LockedUntil, until)
            .and_where(Expr::col(E::Id).in_subquery(pick))
            .returning(Query::returning().columns(COLUMNS))
            .to_owned()
    };
    let rows: Vec<Row> = match store.backend() {
        crate::Backend::Postgres => {
            pick.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
            fetch_all(store.system(), &build(pick)).await?
        }
        crate::Backend::Sqlite => {
            let tx = store.write_system().await?;
            let rows = fetch_all(tx.conn(), &build(pick)).await?;
            tx.commit().await?;
            rows
        }
    };
    Ok(rows.into_iter().map(Due::from).collect())
}

/// An update of `due`'s enrollment that applies only while its runner still holds it at its
/// step (a lease that expired and was taken by another runner is theirs).
fn held(due: &Due) -> sea_orm::sea_query::UpdateStatement {
    Query::update()
        .table(E::Table)
        .value(E::LockedBy, Option::<String>::None)
        .value(E::LockedUntil, Option::<DateTime<Utc>>::None)
        .value(E::UpdatedAt, now())
        .and_where(Expr::col(E::CompanyId).eq(due.company_id))
        .and_where(Expr::col(E::Id).eq(due.id.uuid()))
        .and_where(Expr::col(E::Step).eq(due.step))
        .and_where(Expr::col(E::Status).eq(EnrollmentStatus::Active.as_str()))
        .and_where(Expr::col(E::LockedBy).eq(due.owner.as_str()))
        .to_owned()
}

/// The e-mail a step sent, recorded with the step's move.
#[derive(Debug, Clone, Copy)]
pub struct SentEmail {
    pub message_id: rivet_domain::ids::EmailMessageId,
}

/// Move `due` on in `tx` (its company's or the system's): to step `next` due at `at`, or
/// finished when `None`; with the e-mail the step sent. `false` when the runner no longer
/// held it.
pub async fn advance_in(
    tx: &Tx,
    due: &Due,
    next: Option<(usize, DateTime<Utc>)>,
    sent: Option<SentEmail>,
) -> Result<bool> {
    let mut update = held(due);
    update
        .value(E::Attempts, 0)
        .value(E::LastError, Option::<String>::None);
    match next {
        Some((step, at)) => {
            update
                .value(E::Step, i32::try_from(step).unwrap_or(i32::MAX))
                .value(E::NextStepAt, at);
        }
        None => {
            update.value(E::Status, EnrollmentStatus::Finished.as_str());
        }
    }
    let moved = exec(tx.conn(), &update).await? == 1;
    if moved && let Some(sent) = sent {
        exec(
            tx.conn(),
            Query::insert()
                .into_table(S::Table)
                .columns([
                    S::CompanyId,
                    S::EnrollmentId,
                    S::Step,
                    S::SequenceId,
                    S::MessageId,
                    S::SentAt,
                ])
                .values_panic([
                    due.company_id.into(),
                    due.id.uuid().into(),
                    due.step.into(),
                    due.sequence_id.uuid().into(),
                    sent.message_id.into(),
                    now().into(),
                ])
                .on_conflict(OnConflict::new().do_nothing().to_owned()),
        )
        .await?;
    }
    Ok(moved)
}

/// Write an update made by [`held`]: `false` when the runner no longer held the enrollment.
async fn write_held(store: &Store, update: &sea_orm::sea_query::UpdateStatement) -> Result<bool> {
    let tx = store.write_system().await?;
    let moved = exec(tx.conn(), update).await? == 1;
    tx.commit().await?;
    Ok(moved)
}

/// [`advance_in`] in a transaction of its own.
pub async fn advance(
    store: &Store,
    due: &Due,
    next: Option<(usize, DateTime<Utc>)>,
    sent: Option<SentEmail>,
) -> Result<bool> {
    let tx = store.write_system().await?;
    let moved = advance_in(&tx, due, next, sent).await?;
    tx.commit().await?;
    Ok(moved)
}

/// The step failed (`error`, in plain words): try it again at `at`, the attempt counted.
pub async fn retry_later(store: &Store, due: &Due, error: &str, at: DateTime<Utc>) -> Result<bool> {
    let mut update = held(due);
    update
        .value(E::Attempts, due.attempts.saturating_add(1))
        .value(E::LastError, error)
        .value(E::NextStepAt, at);
    write_held(store, &update).await
}

/// Not the time for the step (outside the window, a daily limit reached): run it at `at`,
/// nothing counted; `note` says why, when there is something to say.
pub async fn postpone(
    store: &Store,
    due: &Due,
    at: DateTime<Utc>,
    note: Option<&str>,
) -> Result<bool> {
    let mut update = held(due);
    update.value(E::NextStepAt, at);
    if let Some(note) = note {
        update.value(E::LastError, note);
    }
    write_held(store, &update).await
}

/// End `due`'s enrollment early with `reason` (and the error that ended it, if any).
pub async fn end(store: &Store, due: &Due, reason: &str, error: Option<&str>) -> Result<bool> {
    let mut update = held(due);
    update
        .value(E::Status, EnrollmentStatus::Stopped.as_str())
        .value(E::StopReason, reason);
    if let Some(error) = error {
        update.value(E::LastError, error);
    }
    write_held(store, &update).await
}

/// How many e-mails sequence `id` of `company` sent since `since` (its daily limit's count).
pub async fn sent_since(
    store: &Store,
    company: CompanyId,
    id: SequenceId,
    since: DateTime<Utc>,
) -> Result<i64> {
    #[derive(FromQueryResult)]
    struct Count {
        n: i64,
    }
    let row: Option<Count> = fetch_optional(
        store.system(),
        Query::select()
            .expr_as(Expr::col(S::Step).count(), "n")
            .from(S::Table)
            .and_where(Expr::col(S::CompanyId).eq(company))
            .and_where(Expr::col(S::SequenceId).eq(id.uuid()))
            .and_where(Expr::col(S::SentAt).gte(since)),
    )
    .await?;
    Ok(row.map_or(0, |c| c.n))
}

/// A sequence of `company` for the runner (past the row security, filtered by company).
pub async fn sequence_of(store: &Store, company: CompanyId, id: SequenceId) -> Result<Sequence> {
    Ok(
        definitions::get_in::<Sequence, _>(store.system(), company, id)
            .await?
            .definition,
    )
}

/// The record an enrollment is about: its address, whether its person withdrew consent, its
/// owner, read past the row security for its company (`None`: deleted).
pub async fn recipient(store: &Store, due: &Due) -> Result<Option<(Option<String>, bool, UserId)>> {
    let actor = Actor::system(due.company_id, due.enrolled_by).granted(&[
        (Resource::Leads, Action::Read),
        (Resource::Contacts, Action::Read),
    ]);
    let r = store.read(&actor).await?;
    let found = match due.record_type.as_str() {
        "lead" => record::get_in::<crate::leads::Lead, _>(
            r.conn(),
            &actor,
            Action::Read,
            rivet_domain::Id::from_uuid(due.record_id),
        )
        .await
        .map(|l| (l.email, false, l.owner_id)),
        _ => record::get_in::<crate::contacts::Contact, _>(
            r.conn(),
            &actor,
            Action::Read,
            rivet_domain::Id::from_uuid(due.record_id),
        )
        .await
        .map(|c| {
            (
                c.email,
                !c.email_consent && c.email_consent_at.is_some(),
                c.owner_id,
            )
        }),
    };
    match found {
        Ok(found) => Ok(Some(found)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The task step: a task for the record's owner, due after the step's business days, created
/// with the step's move in one transaction (so it is created once).
pub async fn run_task(
    store: &Store,
    due: &Due,
    owner: UserId,
    subject: &str,
    due_at: DateTime<Utc>,
    next: Option<(usize, DateTime<Utc>)>,
) -> Result<bool> {
    use rivet_domain::activities::RecordType;
    use rivet_domain::tasks::{TaskData, TaskPriority, TaskStatus};
    let actor = Actor::system(due.company_id, due.enrolled_by)
        .granted(&[
            (Resource::Tasks, Action::Create),
            (Resource::Leads, Action::Read),
            (Resource::Contacts, Action::Read),
        ])
        .via("sequence");
    let tx = store.write(&actor).await?;
    let record_type = match due.record_type.as_str() {
        "lead" => RecordType::Lead,
        _ => RecordType::Contact,
    };
    let data = TaskData {
        subject: subject.to_owned(),
        description: None,
        due_at: Some(due_at),
        reminder_at: None,
        priority: TaskPriority::Normal,
        status: TaskStatus::Open,
        assignee_id: Some(owner),
        related: Some((record_type, due.record_id)),
        recurrence: None,
        series: None,
    };
    // The move first: a runner that no longer holds the enrollment creates nothing.
    if !advance_in(&tx, due, next, None).await? {
        return Ok(false);
    }
    record::create_in::<crate::tasks::Task>(&tx, &actor, &data).await?;
    tx.commit().await?;
    Ok(true)
}

/// Ends live enrollments on what the sequence's stop rules name (see the module's comment).
pub struct SequenceStopper;

/// The consumer's name (its position row).
pub const CONSUMER: &str = "sequences";

/// What an event says about a record, for the stop rules.
enum Stop {
    /// The record's status became this.
    Status(String),
    Replied,
    Meeting,
    Bounced,
    Unsubscribed,
}

impl Stop {
    fn reason(&self) -> &'static str {
        match self {
            Self::Status(_) => "status",
            Self::Replied => "replied",
            Self::Meeting => "meeting",
            Self::Bounced => "bounced",
            Self::Unsubscribed => "unsubscribed",
        }
    }

    fn applies(&self, sequence: &Sequence) -> bool {
        let rules = &sequence.input.stop;
        match self {
            Self::Status(s) => rules.on_status.iter().any(|x| x == s),
            Self::Replied => rules.on_reply,
            Self::Meeting => rules.on_meeting,
            Self::Bounced => rules.on_bounce,
            // An unsubscribe always ends it.
            Self::Unsubscribed => true,
        }
    }
}

fn text_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(value, |v, key| v.get(key))
        .and_then(Value::as_str)
}

/// The records an event is about and what it says of them.
fn stops_of(event: &Event) -> Vec<(Uuid, Stop)> {
    let own = || {
        event
            .record_id
            .as_deref()
            .and_then(|id| id.parse::<Uuid>().ok())
            .or_else(|| text_at(&event.data, &["record_id"]).and_then(|i| i.parse().ok()))
    };
    let linked = |stop: fn() -> Stop| -> Vec<(Uuid, Stop)> {
        event
            .data
            .pointer("/record/links")
            .and_then(Value::as_array)
            .map(|links| {
                links
                    .iter()
                    .filter_map(|l| text_at(l, &["record_id"])?.parse().ok())
                    .map(|id| (id, stop()))
                    .collect()
            })
            .unwrap_or_default()
    };
    match event.event_type.as_str() {
        "lead.updated" | "contact.updated" => {
            match (
                event.data.pointer("/changes/status"),
                text_at(&event.data, &["record", "status"]),
                own(),
            ) {
                (Some(_), Some(status), Some(id)) => vec![(id, Stop::Status(status.to_owned()))],
                _ => Vec::new(),
            }
        }
        "activity.created" => {
            let record = &event.data["record"];
            match (text_at(record, &["kind"]), text_at(record, &["direction"])) {
                (Some("email"), Some("inbound")) => linked(|| Stop::Replied),
                (Some("meeting"), _) => linked(|| Stop::Meeting),
                _ => Vec::new(),
            }
        }
        "email.replied" => own()
            .map(|id| vec![(id, Stop::Replied)])
            .unwrap_or_default(),
        "email.bounced" => own()
            .map(|id| vec![(id, Stop::Bounced)])
            .unwrap_or_default(),
        "email.unsubscribed" => own()
            .map(|id| vec![(id, Stop::Unsubscribed)])
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

#[async_trait::async_trait]
impl Consumer for SequenceStopper {
    fn name(&self) -> &'static str {
        CONSUMER
    }

    async fn apply(&self, tx: &Tx, events: &[Event]) -> Result<()> {
        let mut sequences: HashMap<CompanyId, Vec<Stored<Sequence>>> = HashMap::new();
        for event in events {
            let stops = stops_of(event);
            if stops.is_empty() {
                continue;
            }
            let company = event.company_id;
            if let std::collections::hash_map::Entry::Vacant(entry) = sequences.entry(company) {
                entry.insert(definitions::list_in(tx.conn(), company, false).await?);
            }
            let Some(all) = sequences.get(&company) else {
                continue;
            };
            for (record_id, stop) in stops {
                let ids: Vec<Uuid> = all
                    .iter()
                    .filter(|s| stop.applies(&s.definition))
                    .map(|s| s.id.uuid())
                    .collect();
                if ids.is_empty() {
                    continue;
                }
                exec(
                    tx.conn(),
                    Query::update()
                        .table(E::Table)
                        .value(E::Status, EnrollmentStatus::Stopped.as_str())
                        .value(E::StopReason, stop.reason())
                        .value(E::UpdatedAt, now())
                        .and_where(Expr::col(E::CompanyId).eq(company))
                        .and_where(Expr::col(E::RecordId).eq(record_id))
                        .and_where(Expr::col(E::SequenceId).is_in(ids))
                        .and_where(Expr::col(E::Status).is_in(EnrollmentStatus::LIVE)),
                )
                .await?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(event_type: &str, record_id: Option<&str>, data: Value) -> Event {
        Event {
            id: Uuid::nil(),
            company_id: CompanyId::nil(),
            seq: None,
            event_type: event_type.into(),
            record_type: None,
            record_id: record_id.map(str::to_owned),
            actor_user_id: None,
            actor_api_key_id: None,
            data,
            created_at: now(),
        }
    }

    #[test]
    fn events_name_the_records_they_stop() {
        let id = Uuid::now_v7();
        let s = id.to_string();
        let status = event(
            "lead.updated",
            Some(&s),
            serde_json::json!({"changes": {"status": {"before": "new", "after": "unqualified"}},
                               "record": {"status": "unqualified"}}),
        );
        assert!(
            matches!(&stops_of(&status)[..], [(i, Stop::Status(x))] if *i == id && x == "unqualified")
        );
        let other = event(
            "lead.updated",
            Some(&s),
            serde_json::json!({"changes": {"city": {}}, "record": {"status": "new"}}),
        );
        assert!(stops_of(&other).is_empty());
        let reply = event(
            "activity.created",
            None,
            serde_json::json!({"record": {"kind": "email", "direction": "inbound",
                               "links": [{"record_type": "lead", "record_id": s}]}}),
        );
        assert!(matches!(&stops_of(&reply)[..], [(i, Stop::Replied)] if *i == id));
        let sent = event(
            "activity.created",
            None,
            serde_json::json!({"record": {"kind": "email", "direction": "outbound",
                               "links": [{"record_type": "lead", "record_id": s}]}}),
        );
        assert!(stops_of(&sent).is_empty());
        let bounced = event("email.bounced", Some(&s), Value::Null);
        assert!(matches!(&stops_of(&bounced)[..], [(i, Stop::Bounced)] if *i == id));
    }
}
