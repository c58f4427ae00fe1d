//! The intake pipeline (issue 13 §1): the one way a lead or a contact comes in, whatever the
//! door — `POST /leads` and `/contacts`, the web forms, a web-to-lead form, the ingestion API,
//! an import. Validation and normalization are the domain's (the caller hands over checked
//! `Data`); here, in one transaction: the company's duplicate rules (`crate::duplicates`: a
//! `block` match refuses the record with [`StoreError::Duplicate`], `warn` matches come back
//! with it), the company's assignment rules for a record that names no owner
//! (`crate::assignment`), then the save through the generic record layer, which writes the
//! audit row, the match keys and the `*.created` event, and what the assignment asks for after
//! it (a task for the new owner).

use crate::assignment::Assignment;
use crate::duplicates::{self, Duplicate};
use crate::record::{self, Write};
use crate::{Result, Store, StoreError, Tx};
use rivet_domain::duplicates::{MatchAction, MatchKeys};
use rivet_domain::normalize::Country;
use rivet_domain::{Action, Actor};

/// A record type whose new records duplicate detection screens (leads and contacts).
pub trait Screened: Write {
    /// The match keys of a record about to be saved with `data`, phones read in `country`.
    fn match_keys(
        tx: &Tx,
        actor: &Actor,
        data: &Self::Data,
        country: Option<Country>,
    ) -> impl Future<Output = Result<MatchKeys>> + Send;

    /// For each of `data` that names no owner: the owner the company's assignment rules give
    /// the record, set in its data (none: no rule for this type, or none matched and no
    /// fallback). One plan for the batch: a round robin's turns are taken at once.
    fn assign(
        _tx: &Tx,
        _actor: &Actor,
        data: &mut [&mut Self::Data],
    ) -> impl Future<Output = Result<Vec<Option<Assignment>>>> + Send {
        let none = data.iter().map(|_| None).collect();
        async { Ok(none) }
    }

    /// After the save: what the assignment asks for (a task for the new owner).
    fn after_assign(
        _tx: &Tx,
        _actor: &Actor,
        _record: &Self,
        _assignment: &Assignment,
    ) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }
}

/// A record that came in, with the matches of the rules that warn.
#[derive(Debug, Clone)]
pub struct Intake<R> {
    pub record: R,
    /// Possible duplicates the company's rules warn of, surest first (empty: none).
    pub duplicates: Vec<Duplicate>,
}

/// Take in one record in its own transaction.
pub async fn create<R: Screened>(store: &Store, actor: &Actor, data: R::Data) -> Result<Intake<R>> {
    let tx = store.write(actor).await?;
    let intake = create_in::<R>(&tx, actor, data).await?;
    tx.commit().await?;
    Ok(intake)
}

/// Take in one record in an open transaction: screened, assigned, then saved. A blocking
/// match leaves the transaction as it was.
pub async fn create_in<R: Screened>(tx: &Tx, actor: &Actor, data: R::Data) -> Result<Intake<R>> {
    match take_in::<R>(tx, actor, vec![data], |_| false).await?.pop() {
        Some(Taken::Created(intake)) => Ok(intake),
        Some(Taken::Refused(e)) => Err(e),
        Some(Taken::Held(_)) | None => Err(StoreError::NotFound),
    }
}

/// What became of one record of [`take_in`]'s batch.
#[derive(Debug)]
pub enum Taken<R> {
    /// Saved, with the matches of the rules that warn.
    Created(Intake<R>),
    /// Not saved: the caller's `hold` kept it back for its matches (all of them, those of
    /// rules that allow too, surest first).
    Held(Vec<Duplicate>),
    /// Not saved: a rule blocked it ([`StoreError::Duplicate`]) or its data was refused.
    Refused(StoreError),
}

/// Take in a batch of records in an open transaction, each as [`create_in`] takes in one, with
/// a statement per step for the batch rather than per record: one probe of each table for the
/// duplicates of all of them, one assignment plan (a round robin's turns taken at once), one
/// insert of the rows, their audit rows and their events ([`record::create_many_in`]). A
/// record that matches the company's rules is first offered to `hold` (an import's duplicate
/// policy: skip or update it), else refused when a rule blocks. Records of the batch are
/// screened against each other too: one that shares a key with an earlier one waits for a
/// later round, after the earlier one is saved, so the batch finds what one-by-one would.
pub async fn take_in<R: Screened>(
    tx: &Tx,
    actor: &Actor,
    data: Vec<R::Data>,
    hold: impl Fn(&[Duplicate]) -> bool + Send,
) -> Result<Vec<Taken<R>>> {
    let settings = duplicates::settings_tx(tx, actor.company_id).await?;
    let mut keyed = Vec::with_capacity(data.len());
    for data in data {
        let keys = R::match_keys(tx, actor, &data, settings.country()).await?;
        keyed.push(Some((data, keys)));
    }
    let probed: Vec<Vec<_>> = keyed
        .iter()
        .map(|k| {
            k.as_ref()
                .map(|(_, keys)| duplicates::probe_keys(&settings.rules, keys))
                .unwrap_or_default()
        })
        .collect();
    duplicates::lock_blocking_keys(tx, actor.company_id, &settings.rules, &probed).await?;
    let mut taken: Vec<Option<Taken<R>>> = keyed.iter().map(|_| None).collect();
    loop {
        // This round: the waiting records that share no key (that a rule compares) with an
        // earlier one of it.
        let mut round: Vec<usize> = Vec::new();
        let mut seen: std::collections::HashSet<&(_, String)> = Default::default();
        for (i, item) in keyed.iter().enumerate() {
            if item.is_none() || probed[i].iter().any(|k| seen.contains(k)) {
                continue;
            }
            seen.extend(probed[i].iter());
            round.push(i);
        }
        if round.is_empty() {
            break;
        }
        let mut batch: Vec<(usize, R::Data, MatchKeys)> = round
            .into_iter()
            .filter_map(|i| keyed[i].take().map(|(d, k)| (i, d, k)))
            .collect();
        let keys: Vec<&MatchKeys> = batch.iter().map(|(_, _, k)| k).collect();
        let screened = duplicates::screen_many(tx, actor, &settings.rules, &keys).await?;
        let mut saving: Vec<(usize, R::Data, Vec<Duplicate>)> = Vec::new();
        for ((i, data, _), (action, found)) in batch.drain(..).zip(screened) {
            if !found.is_empty() && hold(&found) {
                taken[i] = Some(Taken::Held(found));
                continue;
            }
            let warned: Vec<Duplicate> = found
                .into_iter()
                .filter(|d| d.action != MatchAction::Allow.as_str())
                .collect();
            if action == MatchAction::Block {
                taken[i] = Some(Taken::Refused(StoreError::Duplicate(warned)));
                continue;
            }
            saving.push((i, data, warned));
        }
        for (i, created) in save::<R>(tx, actor, &mut saving).await? {
            taken[i] = Some(created);
        }
    }
    Ok(taken
        .into_iter()
        .map(|t| t.unwrap_or(Taken::Refused(StoreError::NotFound)))
        .collect())
}

/// Assign and save a round of records that passed the rules.
async fn save<R: Screened>(
    tx: &Tx,
    actor: &Actor,
    saving: &mut [(usize, R::Data, Vec<Duplicate>)],
) -> Result<Vec<(usize, Taken<R>)>> {
    let mut data: Vec<&mut R::Data> = saving.iter_mut().map(|(_, d, _)| d).collect();
    let assignments = R::assign(tx, actor, &mut data).await?;
    // Records the company's rules gave an owner are saved with the rule's reach: among its
    // active members, the caller's own scope (a rep who may only create their own leads)
    // does not limit them.
    let assigning = actor.granted(&[(R::RESOURCE, Action::Create)]);
    let mut out = Vec::with_capacity(saving.len());
    for assigned in [false, true] {
        let part: Vec<usize> = (0..saving.len())
            .filter(|&n| assignments.get(n).is_some_and(Option::is_some) == assigned)
            .collect();
        if part.is_empty() {
            continue;
        }
        let data: Vec<&R::Data> = part.iter().map(|&n| &saving[n].1).collect();
        let who = if assigned { &assigning } else { actor };
        let created = record::create_many_in::<R>(tx, who, &data).await?;
        for (n, record) in part.into_iter().zip(created) {
            let (i, _, warned) = &mut saving[n];
            let taken = match record {
                Ok(record) => {
                    if let Some(Some(assignment)) = assignments.get(n) {
                        R::after_assign(tx, actor, &record, assignment).await?;
                    }
                    Taken::Created(Intake {
                        record,
                        duplicates: std::mem::take(warned),
                    })
                }
                Err(e) => Taken::Refused(e),
            };
            out.push((*i, taken));
        }
    }
    Ok(out)
}

/// What an `Idempotency-Key` of the ingestion API finds ([`claim_request`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is new: the request runs, then [`finish_request`] keeps its answer.
    New,
    /// The key answered before: its stored answer, to send again.
    Replay(String),
    /// The key's first request is still running.
    Running,
    /// The key came with another body: a client error.
    OtherBody,
}

/// How long a claimed key waits for its request's answer before a retry may take it over: the
/// claiming process died (its leads, saved with the answer in one transaction, were not).
/// A request of [`crate::intake`]'s largest batch takes seconds.
pub const CLAIM_STALE_AFTER: chrono::Duration = chrono::Duration::minutes(2);

/// Claim `key` for a request whose body hashes to `body_hash`: the first claim wins (a unique
/// key per company), so two concurrent retries cannot both run. A claim left without an answer
/// for [`CLAIM_STALE_AFTER`] is taken over by the next request with the same body (one of
/// two concurrent ones: the update re-reads the claim's time).
pub async fn claim_request(
    store: &Store,
    actor: &Actor,
    key: &str,
    body_hash: &str,
) -> Result<Claim> {
    use crate::tables::IngestRequests as I;
    use sea_orm::sea_query::{Expr, ExprTrait, OnConflict, Query};
    #[derive(sea_orm::FromQueryResult)]
    struct Row {
        body_hash: String,
        response: Option<String>,
    }
    let tx = store.write(actor).await?;
    let inserted = crate::exec(
        tx.conn(),
        Query::insert()
            .into_table(I::Table)
            .columns([I::CompanyId, I::Key, I::BodyHash, I::CreatedAt])
            .values_panic([
                actor.company_id.into(),
                key.into(),
                body_hash.into(),
                crate::now().into(),
            ])
            .on_conflict(
                OnConflict::columns([I::CompanyId, I::Key])
                    .do_nothing()
                    .to_owned(),
            ),
    )
    .await?;
    let claim = if inserted == 1 {
        Claim::New
    } else {
        let row: Row = crate::fetch_one(
            tx.conn(),
            Query::select()
                .columns([I::BodyHash, I::Response])
                .from(I::Table)
                .and_where(Expr::col(I::CompanyId).eq(actor.company_id))
                .and_where(Expr::col(I::Key).eq(key)),
        )
        .await?;
        match row.response {
            _ if row.body_hash != body_hash => Claim::OtherBody,
            Some(response) => Claim::Replay(response),
            None => {
                let now = crate::now();
                let taken_over = crate::exec(
                    tx.conn(),
                    Query::update()
                        .table(I::Table)
                        .value(I::CreatedAt, now)
                        .and_where(Expr::col(I::CompanyId).eq(actor.company_id))
                        .and_where(Expr::col(I::Key).eq(key))
                        .and_where(Expr::col(I::Response).is_null())
                        .and_where(Expr::col(I::CreatedAt).lt(now - CLAIM_STALE_AFTER)),
                )
                .await?;
                if taken_over == 1 {
                    Claim::New
                } else {
                    Claim::Running
                }
            }
        }
    };
    tx.commit().await?;
    Ok(claim)
}

/// Keep the answer of the request that claimed `key`, for its retries, in `tx`: the
/// transaction that saves the request's leads, so that a retry finds both or neither.
pub async fn finish_request_in(
    tx: &crate::Tx,
    actor: &Actor,
    key: &str,
    response: &str,
) -> Result<()> {
    use crate::tables::IngestRequests as I;
    use sea_orm::sea_query::{Expr, ExprTrait, Query};
    crate::exec(
        tx.conn(),
        Query::update()
            .table(I::Table)
            .value(I::Response, response)
            .and_where(Expr::col(I::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(I::Key).eq(key)),
    )
    .await?;
    Ok(())
}

/// Let a claimed key go when its request failed as a whole, so that a retry runs it again.
pub async fn release_request(store: &Store, actor: &Actor, key: &str) -> Result<()> {
    use crate::tables::IngestRequests as I;
    use sea_orm::sea_query::{Expr, ExprTrait, Query};
    let tx = store.write(actor).await?;
    crate::exec(
        tx.conn(),
        Query::delete()
            .from_table(I::Table)
            .and_where(Expr::col(I::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(I::Key).eq(key))
            .and_where(Expr::col(I::Response).is_null()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
