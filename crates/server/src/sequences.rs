//! The sequence runner (issue 15 §3), part of the workers (`rivet serve`, `rivet worker`):
//! every second it leases the due active enrollments (`rivet_store::sequences::claim_due`, a
//! batch at a time, so any number of worker processes share them and none runs a step twice),
//! reads once for the batch what its steps share (the companies' time zones and e-mail
//! settings, the sequences) and runs each one's step:
//!
//! - e-mail: inside the send window (else postponed to its next opening, in the company's time
//!   zone) and under the sequence's daily limit, to a record that still has an address and
//!   whose person did not opt out (else the enrollment stops, saying why): the template
//!   rendered for the record as the member who enrolled it, claimed under the key
//!   `seq:{enrollment}:{step}` (`rivet_store::email::claim`), sent through the one sending
//!   path (`crate::mail::send_template`, which workflow rules share: tracking, the unsubscribe
//!   link, timeouts, the mailbox's daily limit) and recorded with its activity on the record's
//!   timeline. A message sent under the key is not sent again. One left `sending` by a runner
//!   that died is the next runner's once the lease is gone (`InFlight::TakeOver`): sent
//!   again (same Message-ID) when it died before handing the content over, counted sent when
//!   it died after (`rivet_store::email::mark_handed`, written between the server's `354`
//!   and the content), so nothing is sent twice. An SMTP
//!   failure is retried with a growing delay (`attempts`, `last_error` on the enrollment) and
//!   stops the enrollment after `MAX_ATTEMPTS`;
//! - wait: folded into the next step's time when the previous step finishes
//!   (`Sequence::after_step`: business days in the company's time zone);
//! - task: a task for the record's owner, created with the step's move;
//! - whatsapp: inside the send window, the approved template sent once under the step's key
//!   through the same durable path as a workflow rule's (`crate::whatsapp::send_once`: claimed
//!   in `whatsapp_messages`, its activity on the record's timeline); a record without WhatsApp
//!   consent or a phone ends the enrollment (`no_whatsapp_consent`, `no_phone`).

use crate::mail::{self, MailError, TemplateMail, TemplateSent};
use crate::state::AppState;
use chrono::{DateTime, Duration, Utc};
use chrono_tz::Tz;
use futures_util::StreamExt;
use rivet_domain::Actor;
use rivet_domain::email::EmailSettings;
use rivet_domain::ids::{CompanyId, SequenceId};
use rivet_domain::sequences::{MAX_ATTEMPTS, Sequence, StepInput};
use rivet_domain::templates::RecordType;
use rivet_store::StoreError;
use rivet_store::email as email_store;
use rivet_store::sequences::{self as store, Due, SentEmail};
use std::collections::HashMap;
use std::collections::hash_map::Entry;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How many due enrollments one round leases.
pub const BATCH: u64 = 200;
/// How many steps of a round run at once.
const CONCURRENCY: usize = 16;
/// The first retry's delay after a failed send; each next one doubles (at most an hour).
const RETRY_BASE: std::time::Duration = std::time::Duration::from_secs(60);
/// How often the loop looks for due steps.
const EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// `company`'s time zone (UTC when it has none or an unknown one).
pub async fn company_tz(app: &AppState, company: CompanyId) -> Tz {
    rivet_store::companies::get_by_id(&app.store, company)
        .await
        .ok()
        .and_then(|c| c.timezone.parse::<Tz>().ok())
        .unwrap_or(chrono_tz::UTC)
}

/// How long a runner holds an enrollment: well past a send's longest wait.
fn lease(app: &AppState) -> std::time::Duration {
    std::time::Duration::from_secs((app.config.smtp_timeout_secs.max(1) * 4).max(120))
}

/// Lease up to `limit` due enrollments as runner `owner` and run their steps; how many ran.
/// A step's failure is logged and left to its lease (it runs again when that expires).
pub async fn run_due(app: &AppState, owner: &str, limit: u64) -> Result<usize, StoreError> {
    let due = store::claim_due(&app.store, owner, limit, lease(app)).await?;
    let count = due.len();
    let round = &Round::read(app, &due).await?;
    futures_util::stream::iter(due)
        .for_each_concurrent(CONCURRENCY, |due| async move {
            if let Err(err) = run_step(app, round, &due).await {
                tracing::warn!(enrollment = %due.id, error = %err, "sequence step failed");
            }
        })
        .await;
    Ok(count)
}

/// What the steps of one round share, read once per company and per sequence rather than once
/// per step: the companies' time zones and e-mail settings, and the sequences (`None`: deleted
/// or no longer valid).
struct Round {
    zones: HashMap<CompanyId, Tz>,
    settings: HashMap<CompanyId, EmailSettings>,
    sequences: HashMap<SequenceId, Option<Sequence>>,
}

impl Round {
    async fn read(app: &AppState, due: &[Due]) -> Result<Self, StoreError> {
        let mut round = Round {
            zones: HashMap::new(),
            settings: HashMap::new(),
            sequences: HashMap::new(),
        };
        for due in due {
            let company = due.company_id;
            if let Entry::Vacant(slot) = round.zones.entry(company) {
                slot.insert(company_tz(app, company).await);
                let settings = email_store::settings_of(&app.store, company).await?;
                round.settings.insert(company, settings);
            }
            if let Entry::Vacant(slot) = round.sequences.entry(due.sequence_id) {
                slot.insert(
                    match store::sequence_of(&app.store, company, due.sequence_id).await {
                        Ok(sequence) => Some(sequence),
                        Err(StoreError::NotFound | StoreError::Invalid(_)) => None,
                        Err(e) => return Err(e),
                    },
                );
            }
        }
        Ok(round)
    }
}

/// Run the runner until `stop` turns true.
pub fn spawn(app: AppState, owner: String, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            if *stop.borrow() || stop.has_changed().is_err() {
                break;
            }
            // A full batch means more may be due: go again at once.
            let ran = match run_due(&app, &owner, BATCH).await {
                Ok(n) => n,
                Err(err) => {
                    tracing::warn!(error = %err, "sequence runner round failed");
                    0
                }
            };
            if ran < usize::try_from(BATCH).unwrap_or(usize::MAX) {
                tokio::select! {
                    _ = stop.wait_for(|s| *s) => break,
                    () = tokio::time::sleep(EVERY) => {}
                }
            }
        }
    })
}

/// Who a step acts as: the member who enrolled the record, with what sending needs.
fn actor_of(due: &Due) -> Actor {
    Actor::system(due.company_id, due.enrolled_by)
        .granted(mail::SENDER_GRANTS)
        .via("sequence")
}

/// The start of the company's day after the one `at` falls in.
fn tomorrow(at: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    let date = at.with_timezone(&tz).date_naive();
    let next = date.succ_opt().unwrap_or(date);
    next.and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(tz).earliest())
        .map_or(at + Duration::days(1), |t| t.with_timezone(&Utc))
}

/// The start of the company's day `at` falls in.
fn today(at: DateTime<Utc>, tz: Tz) -> DateTime<Utc> {
    at.with_timezone(&tz)
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .and_then(|t| t.and_local_timezone(tz).earliest())
        .map_or(at - Duration::days(1), |t| t.with_timezone(&Utc))
}

/// Run `due`'s step (see the module's comment).
async fn run_step(app: &AppState, round: &Round, due: &Due) -> Result<(), StoreError> {
    let s = &app.store;
    let tz = round
        .zones
        .get(&due.company_id)
        .copied()
        .unwrap_or(chrono_tz::UTC);
    // Deleted (its enrollments go with it) or no longer valid.
    let Some(Some(sequence)) = round.sequences.get(&due.sequence_id) else {
        store::end(s, due, "sequence_invalid", None).await?;
        return Ok(());
    };
    let at = Utc::now();
    if !sequence.input.active {
        store::postpone(
            s,
            due,
            at + Duration::hours(1),
            Some("the sequence is switched off"),
        )
        .await?;
        return Ok(());
    }
    let index = usize::try_from(due.step).unwrap_or(usize::MAX);
    match sequence.input.steps.get(index) {
        None => {
            store::advance(s, due, None, None).await?;
        }
        Some(StepInput::Wait { business_days }) => {
            let until = rivet_domain::sequences::add_business_days(at, *business_days, tz);
            store::advance(s, due, sequence.after_step(index, until, tz), None).await?;
        }
        Some(StepInput::Task {
            subject,
            due_in_business_days,
        }) => {
            let Some((_, _, owner)) = store::recipient(s, due).await? else {
                store::end(s, due, "not_found", None).await?;
                return Ok(());
            };
            let due_at = rivet_domain::sequences::add_business_days(at, *due_in_business_days, tz);
            store::run_task(
                s,
                due,
                owner,
                subject,
                due_at,
                sequence.after_step(index, at, tz),
            )
            .await?;
        }
        Some(StepInput::Email { template_id }) => {
            let Some(settings) = round.settings.get(&due.company_id) else {
                return Ok(());
            };
            send_step(app, due, sequence, settings, (index, *template_id), tz, at).await?;
        }
        Some(step @ StepInput::Whatsapp { .. }) => {
            if let Some(message) = step.whatsapp_message() {
                whatsapp_step(app, due, sequence, index, &message, tz, at).await?;
            }
        }
    }
    Ok(())
}

/// Whether `at` is outside the sequence's send window; if so the step is postponed to its next
/// opening.
async fn outside_window(
    app: &AppState,
    due: &Due,
    sequence: &Sequence,
    tz: Tz,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let opens = sequence.window.next_open(at, tz);
    if opens > at {
        store::postpone(&app.store, due, opens, None).await?;
        return Ok(true);
    }
    Ok(false)
}

/// The WhatsApp step: inside the send window, the template sent once under the step's key
/// through `crate::whatsapp::send_once`; no consent or no number ends the enrollment with the
/// reason, WhatsApp not set up waits an hour, a refusal is retried as an e-mail's is.
async fn whatsapp_step(
    app: &AppState,
    due: &Due,
    sequence: &Sequence,
    index: usize,
    message: &rivet_domain::whatsapp::Outgoing,
    tz: Tz,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    use crate::whatsapp::{Once, send_once};
    let s = &app.store;
    if outside_window(app, due, sequence, tz, at).await? {
        return Ok(());
    }
    let record_type = if due.record_type == "lead" {
        rivet_domain::activities::RecordType::Lead
    } else {
        rivet_domain::activities::RecordType::Contact
    };
    let actor = actor_of(due);
    let key = due.step_key();
    match send_once(app, &actor, record_type, due.record_id, message, &key).await? {
        Once::Sent(_) | Once::Already(_) => {
            store::advance(s, due, sequence.after_step(index, at, tz), None).await?;
        }
        Once::Refused { reason, detail } => {
            store::end(s, due, reason, Some(&detail)).await?;
        }
        Once::NotConfigured(why) => {
            store::postpone(s, due, at + Duration::hours(1), Some(&why)).await?;
        }
        Once::Failed(why) => failed(app, due, &why).await?,
    }
    Ok(())
}

/// The e-mail step `(index, template)` of `sequence` for `due` (see the module's comment).
async fn send_step(
    app: &AppState,
    due: &Due,
    sequence: &Sequence,
    settings: &EmailSettings,
    (index, template_id): (usize, rivet_domain::ids::EmailTemplateId),
    tz: Tz,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let s = &app.store;
    if outside_window(app, due, sequence, tz, at).await? {
        return Ok(());
    }
    if let Some(limit) = sequence.input.daily_limit {
        let sent = store::sent_since(s, due.company_id, due.sequence_id, today(at, tz)).await?;
        if sent >= i64::from(limit) {
            let next = sequence.window.next_open(tomorrow(at, tz), tz);
            let note = format!("the sequence's daily limit of {limit} e-mails is reached");
            store::postpone(s, due, next, Some(&note)).await?;
            return Ok(());
        }
    }
    let Some((address, withdrawn, _)) = store::recipient(s, due).await? else {
        store::end(s, due, "not_found", None).await?;
        return Ok(());
    };
    if withdrawn {
        store::end(s, due, "consent_withdrawn", None).await?;
        return Ok(());
    }
    let Some(to) = address
        .map(|a| a.trim().to_lowercase())
        .filter(|a| !a.is_empty())
    else {
        store::end(s, due, "no_email", None).await?;
        return Ok(());
    };
    let actor = actor_of(due);
    if !email_store::opted_out(s, &actor, std::slice::from_ref(&to))
        .await?
        .is_empty()
    {
        store::end(s, due, "consent_withdrawn", None).await?;
        return Ok(());
    }
    if !settings.ready() {
        let note = MailError::NotConfigured.to_string();
        store::postpone(s, due, at + Duration::hours(1), Some(&note)).await?;
        return Ok(());
    }
    let record_type = if due.record_type == "lead" {
        RecordType::Lead
    } else {
        RecordType::Contact
    };
    let next = sequence.after_step(index, at, tz);
    // The step moves on in the transaction that records the send.
    let moved = due.clone();
    let also: rivet_store::email::AlsoInTx<'_> = Box::new(move |tx, message_id| {
        Box::pin(async move {
            store::advance_in(tx, &moved, next, Some(SentEmail { message_id })).await?;
            Ok(())
        })
    });
    let sent = mail::send_template(
        app,
        TemplateMail {
            actor: &actor,
            settings,
            template_id,
            record_type,
            record_id: due.record_id,
            to,
            key: due.step_key(),
            also: Some(also),
        },
    )
    .await?;
    match sent {
        // Sent now (or handed to the server before a runner died): moved on with its record.
        TemplateSent::Sent(_) => {}
        // Sent before: never a second time.
        TemplateSent::Already(message) => {
            store::advance(
                s,
                due,
                next,
                Some(SentEmail {
                    message_id: message.id,
                }),
            )
            .await?;
        }
        TemplateSent::Unrenderable(why) => failed(app, due, &why).await?,
        TemplateSent::Failed(MailError::DailyLimit(limit)) => {
            let next = sequence.window.next_open(tomorrow(at, tz), tz);
            let note = MailError::DailyLimit(limit).to_string();
            store::postpone(s, due, next, Some(&note)).await?;
        }
        TemplateSent::Failed(err) => failed(app, due, &err.to_string()).await?,
    }
    Ok(())
}

/// The step failed: try again after a growing delay, or stop after `MAX_ATTEMPTS`.
async fn failed(app: &AppState, due: &Due, error: &str) -> Result<(), StoreError> {
    let attempts = due.attempts.saturating_add(1);
    if attempts >= MAX_ATTEMPTS {
        store::end(&app.store, due, "send_failed", Some(error)).await?;
    } else {
        let delay = rivet_domain::events::retry_delay(
            u32::try_from(attempts).unwrap_or(1),
            RETRY_BASE,
            rand_jitter(),
        );
        let at = Utc::now() + Duration::from_std(delay).unwrap_or(Duration::minutes(1));
        store::retry_later(&app.store, due, error, at).await?;
    }
    Ok(())
}

fn rand_jitter() -> f64 {
    f64::from(Utc::now().timestamp_subsec_nanos() % 1000) / 1000.0
}
