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
use rivet_domain::{Action, Actor, Scope};

/// A record type whose new records duplicate detection screens (leads and contacts).
pub trait Screened: Write {
    /// The match keys of a record about to be saved with `data`, phones read in `country`.
    fn match_keys(
        tx: &Tx,
        actor: &Actor,
        data: &Self::Data,
        country: Option<Country>,
    ) -> impl Future<Output = Result<MatchKeys>> + Send;

    /// When `data` names no owner: the owner the company's assignment rules give the record,
    /// set in `data` (none: no rule for this type, or none matched and no fallback).
    fn assign(
        _tx: &Tx,
        _actor: &Actor,
        _data: &mut Self::Data,
    ) -> impl Future<Output = Result<Option<Assignment>>> + Send {
        async { Ok(None) }
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
pub async fn create_in<R: Screened>(
    tx: &Tx,
    actor: &Actor,
    mut data: R::Data,
) -> Result<Intake<R>> {
    let settings = duplicates::settings_in(tx.conn(), actor.company_id).await?;
    let keys = R::match_keys(tx, actor, &data, settings.country()).await?;
    let (action, duplicates) = duplicates::screen(tx.conn(), actor, &settings.rules, &keys).await?;
    if action == MatchAction::Block {
        return Err(StoreError::Duplicate(duplicates));
    }
    let record = match R::assign(tx, actor, &mut data).await? {
        None => record::create_in::<R>(tx, actor, &data).await?,
        Some(assignment) => {
            // The company's rules chose the owner, among its active members: the caller's
            // own scope (a rep who may only create their own leads) does not limit them.
            let mut grants = (*actor.permissions).clone();
            grants.set(R::RESOURCE, Action::Create, Scope::All);
            let assigning = Actor {
                permissions: std::sync::Arc::new(grants),
                ..actor.clone()
            };
            let record = record::create_in::<R>(tx, &assigning, &data).await?;
            R::after_assign(tx, actor, &record, &assignment).await?;
            record
        }
    };
    Ok(Intake { record, duplicates })
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

/// Claim `key` for a request whose body hashes to `body_hash`: the first claim wins (a unique
/// key per company), so two concurrent retries cannot both run.
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
            None => Claim::Running,
        }
    };
    tx.commit().await?;
    Ok(claim)
}

/// Keep the answer of the request that claimed `key`, for its retries.
pub async fn finish_request(store: &Store, actor: &Actor, key: &str, response: &str) -> Result<()> {
    use crate::tables::IngestRequests as I;
    use sea_orm::sea_query::{Expr, ExprTrait, Query};
    let tx = store.write(actor).await?;
    crate::exec(
        tx.conn(),
        Query::update()
            .table(I::Table)
            .value(I::Response, response)
            .and_where(Expr::col(I::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(I::Key).eq(key)),
    )
    .await?;
    tx.commit().await?;
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
