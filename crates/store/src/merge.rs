//! Merging duplicates (issue 13 §2): one surviving lead, contact or account takes the values
//! chosen for it, and what hangs off the others — activities (their links), tasks, deals,
//! contact roles, an account's contacts and child accounts — moves to it before they are
//! removed, in ONE transaction.
//!
//! How the survivor's new values are chosen and validated is the caller's (the API reads a
//! per-field choice and validates it as a patch would be); this module makes the change and
//! leaves the trail: the survivor's update audit row and `<type>.updated` event, one audit row
//! and `<type>.deleted` event per loser (its delete names the record it was merged into as
//! `merged_into`), an audit row `merge` on the survivor listing the losers and what moved, a
//! `<type>.merged` event, and the ordinary update rows of every task, deal, contact, account
//! and activity that moved, and of every lead and deal whose checklist named a merged contact.
//! The loser's own audit history stays under its id (audit rows are append-only); the
//! survivor's `merge` row and the loser's `merged_into` link the two.

use crate::accounts::Account;
use crate::activities::Activity;
use crate::contacts::Contact;
use crate::deals::Deal;
use crate::leads::Lead;
use crate::query::iden;
use crate::record::{self, Record, Write};
use crate::tables::{Accounts, ActivityLinks, Contacts, DealContacts, Deals, Tasks};
use crate::tasks::Task;
use crate::{Result, Store, StoreError, Tx, exec};
use chrono::{DateTime, Utc};
use rivet_domain::activities::RecordType;
use rivet_domain::events::{NewEvent, record_type_of};
use rivet_domain::ids::Id;
use rivet_domain::ids::{ContactId, LeadId};
use rivet_domain::{Action, Actor, FieldErrors};
use sea_orm::sea_query::{Cond, DynIden, Expr, ExprTrait, Query};
use serde::Serialize;
use serde_json::json;
use std::future::Future;
use uuid::Uuid;

/// The most records one merge removes.
pub const MAX_LOSERS: usize = 20;

/// What moved from the losers to the survivor.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Moved {
    pub activities: u64,
    pub tasks: u64,
    pub deals: u64,
    /// A contact's roles on deals (`deal_contacts`).
    pub contact_roles: u64,
    /// An account's contacts.
    pub contacts: u64,
    /// An account's child accounts.
    pub child_accounts: u64,
    /// Leads and deals whose checklist named a merged contact as its economic buyer or
    /// champion, and now names the survivor.
    pub checklists: u64,
}

/// A record type that can be merged: what activities and tasks call it, and what else of its
/// records moves to a survivor.
pub trait Merge: Write {
    const RECORD_TYPE: RecordType;

    /// Move what of `losers` is the type's own (deals, contact roles, contacts, children) to
    /// `survivor`, counting it in `moved`.
    fn move_own(
        _tx: &Tx,
        _actor: &Actor,
        _survivor: &Self,
        _losers: &[Uuid],
        _moved: &mut Moved,
    ) -> impl Future<Output = Result<()>> + Send {
        async { Ok(()) }
    }
}

/// The survivor as written, and what moved to it.
#[derive(Debug, Clone)]
pub struct Merged<R> {
    pub record: R,
    pub moved: Moved,
}

/// The checks of a merge's ids that need no database: 1 to [`MAX_LOSERS`] distinct losers,
/// none of them the survivor.
pub fn check_ids(survivor: Uuid, losers: &[Uuid]) -> std::result::Result<(), FieldErrors> {
    let mut errors = FieldErrors::new();
    if losers.is_empty() || losers.len() > MAX_LOSERS {
        errors.add("loser_ids", format!("must list 1 to {MAX_LOSERS} ids"));
    }
    if losers.contains(&survivor) {
        errors.add("loser_ids", "must not include survivor_id");
    }
    let mut seen = losers.to_vec();
    seen.sort();
    seen.dedup();
    if seen.len() != losers.len() {
        errors.add("loser_ids", "must not name a record twice");
    }
    errors.into_result()
}

/// Merge `losers` into `survivor`: the survivor must be in the caller's update scope and every
/// loser in the delete scope (else not found, nothing changed); `data` gives the survivor's new
/// data from the records as read in the transaction. All or nothing.
pub async fn merge<R: Merge>(
    store: &Store,
    actor: &Actor,
    survivor: Id<R::Kind>,
    losers: &[Id<R::Kind>],
    data: impl FnOnce(&R, &[R]) -> std::result::Result<R::Data, FieldErrors>,
) -> Result<Merged<R>> {
    let loser_ids: Vec<Uuid> = losers.iter().map(|id| id.uuid()).collect();
    check_ids(survivor.uuid(), &loser_ids).map_err(StoreError::Invalid)?;
    let tx = store.write(actor).await?;
    let before: R = record::get_in(tx.conn(), actor, Action::Update, survivor).await?;
    let gone: Vec<R> = record::all_in_scope(tx.conn(), actor, Action::Delete, losers).await?;
    let data = data(&before, &gone).map_err(StoreError::Invalid)?;

    let mut moved = Moved::default();
    let kind = R::RECORD_TYPE;
    let (from, to) = ((kind, &loser_ids[..]), (kind, survivor.uuid()));
    moved.activities = move_activities(&tx, actor, from, to).await?;
    moved.tasks = move_tasks(&tx, actor, from, to).await?;
    R::move_own(&tx, actor, &before, &loser_ids, &mut moved).await?;

    // The losers go first, so that a unique value the survivor takes from one is free.
    delete_merged(&tx, actor, &gone, survivor.uuid()).await?;
    let after = record::update_in(&tx, actor, &before, &data).await?;

    let resource = R::RESOURCE.as_str();
    let trail = json!({ "merged": loser_ids, "moved": moved });
    tx.audit_in(
        actor.company_id,
        resource,
        survivor,
        "merge",
        None,
        Some(&trail),
    )
    .await?;
    if let Some(record_type) = record_type_of(resource) {
        let event = NewEvent {
            event_type: format!("{record_type}.merged"),
            record_type,
            data: json!({
                "survivor": survivor,
                "losers": loser_ids,
                "moved": moved,
                "record": after.audit_json(),
            }),
        };
        tx.emit(actor.company_id, &event, &survivor.to_string(), None)
            .await?;
    }
    tx.commit().await?;
    Ok(Merged {
        record: after,
        moved,
    })
}

/// Delete the losers as `record::delete_in` does, each audit row naming the survivor as
/// `merged_into`.
async fn delete_merged<R: Record>(
    tx: &Tx,
    actor: &Actor,
    records: &[R],
    survivor: Uuid,
) -> Result<()> {
    R::before_delete(tx, actor, records).await?;
    // A loser another merge removed meanwhile (its delete waited for ours): not found, and
    // this merge rolls back whole.
    let deleted = exec(
        tx.conn(),
        Query::delete()
            .from_table(<R::Field as crate::query::ListField>::table())
            .and_where(Expr::col(R::company_column()).eq(actor.company_id))
            .and_where(
                Expr::col(<R::Field as crate::query::ListField>::id_column())
                    .is_in(records.iter().map(R::id)),
            ),
    )
    .await?;
    if deleted != records.len() as u64 {
        return Err(StoreError::NotFound);
    }
    let trail = json!({ "merged_into": survivor });
    for record in records {
        tx.audit(
            R::RESOURCE,
            record.id(),
            Action::Delete,
            Some(&record.audit_json()),
            Some(&trail),
        )
        .await?;
    }
    Ok(())
}

/// Move the links of every activity linked to one of `from`'s records onto `to`'s record (an
/// activity linked to both keeps one link), one audit row per activity: the losers of a merge
/// onto its survivor, a converted lead onto its contact. Returns how many activities.
pub(crate) async fn move_activities(
    tx: &Tx,
    actor: &Actor,
    (kind, losers): (RecordType, &[Uuid]),
    (to_kind, survivor): (RecordType, Uuid),
) -> Result<u64> {
    let links = |kind: RecordType, ids: &[Uuid]| {
        Query::select()
            .column(ActivityLinks::ActivityId)
            .from(ActivityLinks::Table)
            .and_where(Expr::col(ActivityLinks::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(ActivityLinks::RecordType).eq(kind.as_str()))
            .and_where(Expr::col(ActivityLinks::RecordId).is_in(ids.iter().copied()))
            .to_owned()
    };
    let linked = Cond::all().add(
        Expr::col((
            crate::tables::Activities::Table,
            crate::tables::Activities::Id,
        ))
        .in_subquery(links(kind, losers)),
    );
    let before: Vec<Activity> = record::all_where(tx.conn(), actor, linked).await?;
    if before.is_empty() {
        return Ok(0);
    }
    for loser in losers {
        let this = |q: &mut sea_orm::sea_query::DeleteStatement| {
            q.and_where(Expr::col(ActivityLinks::CompanyId).eq(actor.company_id))
                .and_where(Expr::col(ActivityLinks::RecordType).eq(kind.as_str()))
                .and_where(Expr::col(ActivityLinks::RecordId).eq(*loser));
        };
        // Where the activity already names the survivor, the loser's link just goes.
        let mut drop = Query::delete();
        drop.from_table(ActivityLinks::Table);
        this(&mut drop);
        drop.and_where(
            Expr::col(ActivityLinks::ActivityId).in_subquery(links(to_kind, &[survivor])),
        );
        exec(tx.conn(), &drop).await?;
        exec(
            tx.conn(),
            Query::update()
                .table(ActivityLinks::Table)
                .value(ActivityLinks::RecordType, to_kind.as_str())
                .value(ActivityLinks::RecordId, survivor)
                .and_where(Expr::col(ActivityLinks::CompanyId).eq(actor.company_id))
                .and_where(Expr::col(ActivityLinks::RecordType).eq(kind.as_str()))
                .and_where(Expr::col(ActivityLinks::RecordId).eq(*loser)),
        )
        .await?;
    }
    let ids: Vec<Uuid> = before.iter().map(|a| a.id.uuid()).collect();
    let after: Vec<Activity> = record::all_where(
        tx.conn(),
        actor,
        Cond::all().add(
            Expr::col((
                crate::tables::Activities::Table,
                crate::tables::Activities::Id,
            ))
            .is_in(ids),
        ),
    )
    .await?;
    for old in &before {
        if let Some(new) = after.iter().find(|a| a.id == old.id) {
            tx.audit(
                Activity::RESOURCE,
                old.id,
                Action::Update,
                Some(&old.audit_json()),
                Some(&new.audit_json()),
            )
            .await?;
        }
    }
    Ok(before.len() as u64)
}

/// Set `column` to the survivor on every record of `R` that `narrow` selects (whoever owns
/// it), `apply` making the same change for its audit row. Returns how many.
async fn reassign<R: Record>(
    tx: &Tx,
    actor: &Actor,
    narrow: Cond,
    (column, survivor): (DynIden, Uuid),
    apply: impl Fn(&mut R, DateTime<Utc>),
) -> Result<u64> {
    let records: Vec<R> = record::all_where(tx.conn(), actor, narrow).await?;
    record::update_rows(tx, actor, &records, vec![(column, survivor.into())], apply).await?;
    Ok(records.len() as u64)
}

/// Every task about one of `from`'s records becomes about `to`'s record, audited. Returns how
/// many.
pub(crate) async fn move_tasks(
    tx: &Tx,
    actor: &Actor,
    (kind, losers): (RecordType, &[Uuid]),
    (to_kind, survivor): (RecordType, Uuid),
) -> Result<u64> {
    let about = Cond::all()
        .add(Expr::col((Tasks::Table, Tasks::RelatedType)).eq(kind.as_str()))
        .add(Expr::col((Tasks::Table, Tasks::RelatedId)).is_in(losers.iter().copied()));
    let records: Vec<Task> = record::all_where(tx.conn(), actor, about).await?;
    let columns = vec![
        (iden(Tasks::RelatedType), to_kind.as_str().into()),
        (iden(Tasks::RelatedId), survivor.into()),
    ];
    record::update_rows(tx, actor, &records, columns, |task: &mut Task, at| {
        task.related_type = Some(to_kind);
        task.related_id = Some(survivor);
        task.updated_at = at;
    })
    .await?;
    Ok(records.len() as u64)
}

/// The deals whose `column` names a loser now name the survivor, audited. Returns how many.
async fn move_deals(
    tx: &Tx,
    actor: &Actor,
    column: Deals,
    survivor: Uuid,
    losers: &[Uuid],
) -> Result<u64> {
    let naming = Cond::all().add(Expr::col((Deals::Table, column)).is_in(losers.iter().copied()));
    reassign(
        tx,
        actor,
        naming,
        (iden(column), survivor),
        |deal: &mut Deal, at| {
            match column {
                Deals::AccountId => deal.account_id = Some(Id::from_uuid(survivor)),
                _ => deal.contact_id = Some(Id::from_uuid(survivor)),
            }
            deal.updated_at = at;
        },
    )
    .await
}

impl Merge for Lead {
    const RECORD_TYPE: RecordType = RecordType::Lead;

    /// The losers' engagement signals (the survivor is rescored as the merge writes it, and
    /// its conversion probability follows its signals here and its fields there).
    async fn move_own(
        tx: &Tx,
        actor: &Actor,
        survivor: &Self,
        losers: &[Uuid],
        _moved: &mut Moved,
    ) -> Result<()> {
        let losers: Vec<LeadId> = losers.iter().copied().map(LeadId::from_uuid).collect();
        crate::scoring::merge_signals(tx, actor.company_id, survivor.id, &losers).await?;
        crate::scoring_model::refresh(tx, actor.company_id, &[survivor]).await
    }
}

impl Merge for Contact {
    const RECORD_TYPE: RecordType = RecordType::Contact;

    /// The deals whose primary contact is a loser, the losers' roles on deals (a deal where
    /// the survivor already has a role keeps the survivor's), and the checklists of leads and
    /// deals that name a loser as economic buyer or champion.
    async fn move_own(
        tx: &Tx,
        actor: &Actor,
        survivor: &Self,
        losers: &[Uuid],
        moved: &mut Moved,
    ) -> Result<()> {
        let gone: Vec<ContactId> = losers.iter().copied().map(ContactId::from_uuid).collect();
        moved.checklists =
            crate::checklist::replace_contacts(tx, actor, &gone, Some(survivor.id)).await?;
        let survivor = survivor.id.uuid();
        moved.deals = move_deals(tx, actor, Deals::ContactId, survivor, losers).await?;
        for loser in losers {
            let survivors_deals = Query::select()
                .column(DealContacts::DealId)
                .from(DealContacts::Table)
                .and_where(Expr::col(DealContacts::CompanyId).eq(actor.company_id))
                .and_where(Expr::col(DealContacts::ContactId).eq(survivor))
                .to_owned();
            exec(
                tx.conn(),
                Query::delete()
                    .from_table(DealContacts::Table)
                    .and_where(Expr::col(DealContacts::CompanyId).eq(actor.company_id))
                    .and_where(Expr::col(DealContacts::ContactId).eq(*loser))
                    .and_where(Expr::col(DealContacts::DealId).in_subquery(survivors_deals)),
            )
            .await?;
            moved.contact_roles += exec(
                tx.conn(),
                Query::update()
                    .table(DealContacts::Table)
                    .value(DealContacts::ContactId, survivor)
                    .and_where(Expr::col(DealContacts::CompanyId).eq(actor.company_id))
                    .and_where(Expr::col(DealContacts::ContactId).eq(*loser)),
            )
            .await?;
        }
        Ok(())
    }
}

impl Merge for Account {
    const RECORD_TYPE: RecordType = RecordType::Account;

    /// The losers' deals, contacts (a primary contact stays primary only if the survivor has
    /// none, and then only the first) and child accounts.
    async fn move_own(
        tx: &Tx,
        actor: &Actor,
        survivor: &Self,
        losers: &[Uuid],
        moved: &mut Moved,
    ) -> Result<()> {
        let survivor_id = survivor.id;
        let target = survivor_id.uuid();
        moved.deals = move_deals(tx, actor, Deals::AccountId, target, losers).await?;

        let contacts: Vec<Contact> = record::all_where(
            tx.conn(),
            actor,
            Cond::all().add(
                Expr::col((Contacts::Table, Contacts::AccountId)).is_in(losers.iter().copied()),
            ),
        )
        .await?;
        let has_primary = !record::all_where::<Contact, _>(
            tx.conn(),
            actor,
            Cond::all()
                .add(Expr::col((Contacts::Table, Contacts::AccountId)).eq(target))
                .add(Expr::col((Contacts::Table, Contacts::IsPrimary)).eq(true)),
        )
        .await?
        .is_empty();
        let keep = if has_primary {
            None
        } else {
            contacts.iter().find(|c| c.is_primary).map(|c| c.id)
        };
        let (demoted, kept): (Vec<Contact>, Vec<Contact>) = contacts
            .into_iter()
            .partition(|c| c.is_primary && Some(c.id) != keep);
        moved.contacts = (demoted.len() + kept.len()) as u64;
        // Demoted first: the primary kept must not meet another at the survivor.
        record::update_rows(
            tx,
            actor,
            &demoted,
            vec![
                (iden(Contacts::AccountId), target.into()),
                (iden(Contacts::IsPrimary), false.into()),
            ],
            |contact, at| {
                contact.account_id = Some(survivor_id);
                contact.is_primary = false;
                contact.updated_at = at;
            },
        )
        .await?;
        record::update_rows(
            tx,
            actor,
            &kept,
            vec![(iden(Contacts::AccountId), target.into())],
            |contact, at| {
                contact.account_id = Some(survivor_id);
                contact.updated_at = at;
            },
        )
        .await?;

        // Children of a loser become the survivor's, but not the survivor itself nor one of
        // its ancestors (that would be a cycle): those lose their parent with the loser.
        let ancestors = ancestors_of(tx, actor, survivor).await?;
        let children = Cond::all()
            .add(Expr::col((Accounts::Table, Accounts::ParentId)).is_in(losers.iter().copied()))
            .add(Expr::col((Accounts::Table, Accounts::Id)).ne(target))
            .add(Expr::col((Accounts::Table, Accounts::Id)).is_not_in(ancestors));
        moved.child_accounts = reassign(
            tx,
            actor,
            children,
            (iden(Accounts::ParentId), target),
            |child: &mut Account, at| {
                child.parent_id = Some(survivor_id);
                child.updated_at = at;
            },
        )
        .await?;
        Ok(())
    }
}

/// The ids of an account's parent, its parent, … (a hierarchy is acyclic and shallow; the walk
/// stops after 100 steps whatever happens).
async fn ancestors_of(tx: &Tx, actor: &Actor, account: &Account) -> Result<Vec<Uuid>> {
    let mut out = Vec::new();
    let mut next = account.parent_id;
    while let Some(parent) = next {
        if out.len() >= 100 || out.contains(&parent.uuid()) {
            break;
        }
        out.push(parent.uuid());
        next = match record::get_unscoped::<Account, _>(tx.conn(), actor, parent).await {
            Ok(parent) => parent.parent_id,
            Err(StoreError::NotFound) => None,
            Err(e) => return Err(e),
        };
    }
    Ok(out)
}
