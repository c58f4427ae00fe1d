//! Duplicate groups (issue 13 §2): a full scan of one entity of a company — leads, contacts
//! or accounts — finds the records its rules call duplicates and stores them as groups to
//! review (`duplicate_groups`, migration `m0019_duplicate_groups`), replacing the previous
//! scan's open groups; a dismissed group stays dismissed and is not found again.
//!
//! The scan never compares every record with every other: for each rule it asks the database
//! for the *blocks* — the rows sharing the rule's indexed key with at least one other row
//! (`GROUP BY key HAVING COUNT(*) > 1`) — so what it reads is the duplicates, not the table.
//! An exact rule (same e-mail, same phone; an account's same name or same domain) joins a
//! whole block; a similarity rule compares the pairs of each block (same domain or company
//! and same name block, as the live check probes them) with the rule's threshold. Pairs become
//! groups in `rivet_domain::duplicate_groups`. Leads and contacts use the same rules as the
//! live check (`crate::duplicates`); accounts their name and registrable domain, kept in
//! `name_key` and `domain_key` and written with each account ([`account_key_columns`]).

use crate::page::PageRequest;
use crate::query::iden;
use crate::record::{self, Record};
use crate::tables::{AccountKeys, Accounts, DuplicateGroups};
use crate::{Page, Result, Store, StoreError, exec, fetch_all, fetch_optional, now};
use chrono::{DateTime, Utc};
use rivet_domain::duplicate_groups::{DuplicateEntity, GroupStatus, Grouping};
use rivet_domain::duplicates::{
    MatchAction, MatchEntity, MatchKeys, MatchRule, MatchRuleKind, evaluate,
};
use rivet_domain::{Action, Actor, normalize};
use sea_orm::sea_query::{
    Alias, Cond, DynIden, Expr, ExprTrait, JoinType, Order, Query, SelectStatement, Value,
};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use uuid::Uuid;

/// The most records of one block a similarity rule compares pairwise (a block larger than
/// this — thousands of same-surname people at one company — is compared in its first part
/// only, so one crowd cannot make a scan quadratic).
const MAX_FUZZY_BLOCK: usize = 500;

/// Groups written per statement.
const INSERT_BATCH: usize = 200;

/// The key columns of an account from its validated text fields.
pub(crate) fn account_key_columns(
    text: &[(&'static str, Option<String>)],
) -> Vec<(DynIden, Value)> {
    let field = |name: &str| {
        text.iter()
            .find(|(f, _)| *f == name)
            .and_then(|(_, v)| v.as_deref())
    };
    let (name, domain) = account_keys(field("name"), field("domain"));
    vec![
        (iden(AccountKeys::NameKey), name.into()),
        (iden(AccountKeys::DomainKey), domain.into()),
    ]
}

/// An account's keys: its normalized name and its registrable domain (never a free-mail one).
pub(crate) fn account_keys(
    name: Option<&str>,
    domain: Option<&str>,
) -> (Option<String>, Option<String>) {
    (
        name.and_then(normalize::company_name),
        domain
            .and_then(normalize::registrable_domain)
            .filter(|d| !normalize::is_free_mail(d)),
    )
}

#[derive(Debug, FromQueryResult)]
struct AccountRow {
    company_id: Uuid,
    id: Uuid,
    name: Option<String>,
    domain: Option<String>,
}

/// Fill the keys of every account (`m0019_duplicate_groups` on an existing database), a batch
/// at a time in primary-key order. Returns how many rows got keys.
pub async fn backfill_accounts<C: ConnectionTrait>(conn: &C) -> Result<u64> {
    let mut done = 0;
    let mut after: Option<(Uuid, Uuid)> = None;
    loop {
        let mut q = Query::select();
        q.columns([
            Accounts::CompanyId,
            Accounts::Id,
            Accounts::Name,
            Accounts::Domain,
        ])
        .from(Accounts::Table)
        .order_by(Accounts::CompanyId, Order::Asc)
        .order_by(Accounts::Id, Order::Asc)
        .limit(1_000);
        if let Some((company, id)) = after {
            q.cond_where(
                Cond::any()
                    .add(Expr::col(Accounts::CompanyId).gt(company))
                    .add(
                        Expr::col(Accounts::CompanyId)
                            .eq(company)
                            .and(Expr::col(Accounts::Id).gt(id)),
                    ),
            );
        }
        let rows: Vec<AccountRow> = fetch_all(conn, &q).await?;
        let Some(last) = rows.last() else {
            break;
        };
        after = Some((last.company_id, last.id));
        for row in &rows {
            let (name, domain) = account_keys(row.name.as_deref(), row.domain.as_deref());
            if name.is_none() && domain.is_none() {
                continue;
            }
            exec(
                conn,
                Query::update()
                    .table(AccountKeys::Table)
                    .value(AccountKeys::NameKey, name)
                    .value(AccountKeys::DomainKey, domain)
                    .and_where(Expr::col(Accounts::CompanyId).eq(row.company_id))
                    .and_where(Expr::col(Accounts::Id).eq(row.id)),
            )
            .await?;
            done += 1;
        }
    }
    Ok(done)
}

/// What a scan did, as its job's result says.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ScanReport {
    pub entity: DuplicateEntity,
    /// Groups found (dismissed ones found again not counted).
    pub groups: u64,
    /// Records in those groups.
    pub records: u64,
    /// Rows read from the blocks (the records sharing a key with another).
    pub rows_read: u64,
}

/// How a scan matches one entity: the table, and per rule the key columns of its blocks.
struct Plan {
    table: &'static str,
    entity: MatchEntity,
    rules: Vec<(String, Vec<&'static str>, Option<MatchRule>)>,
}

/// The company's `rules` that the live check applies to `entity` (leads and contacts), as a
/// scan runs them.
fn plan(entity: DuplicateEntity, rules: &[MatchRule]) -> Plan {
    let person = |table, entity: MatchEntity| Plan {
        table,
        entity,
        rules: rules
            .iter()
            .filter(|r| r.against.contains(&entity) && r.action != MatchAction::Allow)
            .map(|rule| {
                let block = match rule.kind {
                    MatchRuleKind::ExactEmail => vec!["email_key"],
                    MatchRuleKind::ExactPhone => vec!["phone_key"],
                    MatchRuleKind::DomainAndName => vec!["domain_key", "name_block"],
                    MatchRuleKind::FuzzyNameAndCompany => vec!["company_key", "name_block"],
                };
                let fuzzy = (!rule.kind.is_exact()).then(|| rule.clone());
                (rule.kind.as_str().to_owned(), block, fuzzy)
            })
            .collect(),
    };
    match entity {
        DuplicateEntity::Leads => person("leads", MatchEntity::Leads),
        DuplicateEntity::Contacts => person("contacts", MatchEntity::Contacts),
        DuplicateEntity::Accounts => Plan {
            table: "accounts",
            entity: MatchEntity::Leads,
            rules: vec![
                ("exact_domain".to_owned(), vec!["domain_key"], None),
                ("exact_name".to_owned(), vec!["name_key"], None),
            ],
        },
    }
}

/// The rows of `table` in `company` whose `block` columns are shared with another row, in block
/// order, with `extra` columns.
fn block_rows(table: &str, company: Uuid, block: &[&str], extra: &[&str]) -> SelectStatement {
    let t = Alias::new(table);
    let d = Alias::new("d");
    let mut shared = Query::select();
    shared
        .columns(block.iter().map(|c| Alias::new(*c)))
        .from(t.clone())
        .and_where(Expr::col(Alias::new("company_id")).eq(company));
    for c in block {
        shared.and_where(Expr::col(Alias::new(*c)).is_not_null());
    }
    shared
        .group_by_columns(block.iter().map(|c| Alias::new(*c)))
        .and_having(Expr::cust("COUNT(*) > 1"));
    let mut on = Cond::all();
    for c in block {
        on = on.add(Expr::col((t.clone(), Alias::new(*c))).equals((d.clone(), Alias::new(*c))));
    }
    let mut q = Query::select();
    q.column((t.clone(), Alias::new("id")));
    for (n, c) in block.iter().enumerate() {
        q.expr_as(
            Expr::col((t.clone(), Alias::new(*c))),
            Alias::new(format!("k{n}")),
        );
    }
    for c in extra {
        q.column((t.clone(), Alias::new(*c)));
    }
    q.from(t.clone())
        .join_subquery(JoinType::InnerJoin, shared, d, on)
        .and_where(Expr::col((t.clone(), Alias::new("company_id"))).eq(company));
    for c in block {
        q.order_by((t.clone(), Alias::new(*c)), Order::Asc);
    }
    q.order_by((t, Alias::new("id")), Order::Asc);
    q
}

#[derive(Debug, FromQueryResult)]
struct ExactRow {
    id: Uuid,
    k0: Option<String>,
}

#[derive(Debug, FromQueryResult)]
struct FuzzyRow {
    id: Uuid,
    k0: Option<String>,
    k1: Option<String>,
    domain_key: Option<String>,
    name_key: Option<String>,
    company_key: Option<String>,
    name_block: Option<String>,
}

impl FuzzyRow {
    fn keys(&self) -> MatchKeys {
        MatchKeys {
            domain: self.domain_key.clone(),
            name: self.name_key.clone(),
            company: self.company_key.clone(),
            name_block: self.name_block.clone(),
            ..MatchKeys::default()
        }
    }
}

/// Check that the caller may `action` the records of `entity` at all.
fn allowed(actor: &Actor, entity: DuplicateEntity, action: Action) -> Result<()> {
    if actor.can(entity.resource(), action) {
        Ok(())
    } else {
        Err(StoreError::Forbidden)
    }
}

/// Scan every record of `entity` of the caller's company (whatever the caller's scope: the
/// groups are the company's; a list shows each caller the members they may read) and store its
/// groups in place of the previous scan's open ones. Needs update on the entity. `progress`
/// hears `(rules done, rules + 1)`.
pub async fn scan(
    store: &Store,
    actor: &Actor,
    entity: DuplicateEntity,
    job_id: Option<Uuid>,
    progress: &(dyn Fn(i64, i64) + Send + Sync),
) -> Result<ScanReport> {
    allowed(actor, entity, Action::Update)?;
    let settings = crate::duplicates::settings(store, actor).await?;
    let plan = plan(entity, &settings.rules);
    let company = actor.company_id.uuid();
    let total = i64::try_from(plan.rules.len())
        .unwrap_or(i64::MAX)
        .saturating_add(1);
    let mut grouping = Grouping::new();
    let mut rows_read = 0u64;
    {
        let read = store.read(actor).await?;
        for (index, (_, block, fuzzy)) in plan.rules.iter().enumerate() {
            match fuzzy {
                None => {
                    let rows: Vec<ExactRow> =
                        fetch_all(read.conn(), &block_rows(plan.table, company, block, &[]))
                            .await?;
                    rows_read += rows.len() as u64;
                    for run in rows.chunk_by(|a, b| a.k0 == b.k0) {
                        let ids: Vec<Uuid> = run.iter().map(|r| r.id).collect();
                        grouping.block(&ids, index);
                    }
                }
                Some(rule) => {
                    let extra = ["domain_key", "name_key", "company_key", "name_block"];
                    let rows: Vec<FuzzyRow> =
                        fetch_all(read.conn(), &block_rows(plan.table, company, block, &extra))
                            .await?;
                    rows_read += rows.len() as u64;
                    let rules = std::slice::from_ref(rule);
                    for run in rows.chunk_by(|a, b| a.k0 == b.k0 && a.k1 == b.k1) {
                        let run = &run[..run.len().min(MAX_FUZZY_BLOCK)];
                        let keys: Vec<MatchKeys> = run.iter().map(FuzzyRow::keys).collect();
                        for (i, a) in run.iter().enumerate() {
                            for (j, b) in run.iter().enumerate().skip(i + 1) {
                                if let Some(m) = evaluate(rules, &keys[i], plan.entity, &keys[j]) {
                                    grouping.pair(a.id, b.id, index, m.confidence);
                                }
                            }
                        }
                    }
                }
            }
            progress(i64::try_from(index + 1).unwrap_or(i64::MAX), total);
        }
    }
    let groups = grouping.groups();

    let tx = store.write(actor).await?;
    exec(
        tx.conn(),
        Query::delete()
            .from_table(DuplicateGroups::Table)
            .and_where(Expr::col(DuplicateGroups::CompanyId).eq(company))
            .and_where(Expr::col(DuplicateGroups::Entity).eq(entity.as_str()))
            .and_where(Expr::col(DuplicateGroups::Status).eq(GroupStatus::Open.as_str())),
    )
    .await?;
    #[derive(FromQueryResult)]
    struct KeyRow {
        members_key: String,
    }
    let dismissed: HashSet<String> = fetch_all::<KeyRow, _, _>(
        tx.conn(),
        Query::select()
            .column(DuplicateGroups::MembersKey)
            .from(DuplicateGroups::Table)
            .and_where(Expr::col(DuplicateGroups::CompanyId).eq(company))
            .and_where(Expr::col(DuplicateGroups::Entity).eq(entity.as_str()))
            .and_where(Expr::col(DuplicateGroups::Status).eq(GroupStatus::Dismissed.as_str())),
    )
    .await?
    .into_iter()
    .map(|r| r.members_key)
    .collect();
    let at = now();
    let mut report = ScanReport {
        entity,
        groups: 0,
        records: 0,
        rows_read,
    };
    let fresh: Vec<_> = groups
        .into_iter()
        .map(|g| {
            let key = members_key(&g.members);
            (g, key)
        })
        .filter(|(_, key)| !dismissed.contains(key))
        .collect();
    for batch in fresh.chunks(INSERT_BATCH) {
        let mut insert = Query::insert();
        insert.into_table(DuplicateGroups::Table).columns([
            DuplicateGroups::CompanyId,
            DuplicateGroups::Id,
            DuplicateGroups::Entity,
            DuplicateGroups::Rule,
            DuplicateGroups::Score,
            DuplicateGroups::Status,
            DuplicateGroups::MemberIds,
            DuplicateGroups::MembersKey,
            DuplicateGroups::Size,
            DuplicateGroups::ScanJobId,
            DuplicateGroups::CreatedAt,
            DuplicateGroups::UpdatedAt,
        ]);
        for (group, key) in batch {
            let rule = plan
                .rules
                .get(group.rule_index)
                .map(|(name, _, _)| name.clone())
                .unwrap_or_default();
            let size = i32::try_from(group.members.len()).unwrap_or(i32::MAX);
            report.groups += 1;
            report.records += group.members.len() as u64;
            insert
                .values([
                    company.into(),
                    crate::new_id().into(),
                    entity.as_str().into(),
                    rule.into(),
                    group.score.into(),
                    GroupStatus::Open.as_str().into(),
                    serde_json::to_string(&group.members)
                        .unwrap_or_default()
                        .into(),
                    key.clone().into(),
                    size.into(),
                    job_id.into(),
                    at.into(),
                    at.into(),
                ])
                .map_err(|e| StoreError::Db(sea_orm::DbErr::Custom(e.to_string())))?;
        }
        exec(tx.conn(), &insert).await?;
    }
    tx.commit().await?;
    progress(total, total);
    Ok(report)
}

/// The members of a group as one text, to know a group found again.
fn members_key(members: &[Uuid]) -> String {
    members
        .iter()
        .map(Uuid::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// A group as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DuplicateGroup {
    pub id: Uuid,
    pub entity: DuplicateEntity,
    /// The rule that joined the group (`exact_email`, `exact_phone`, `domain_and_name`,
    /// `fuzzy_name_and_company`; for accounts `exact_domain`, `exact_name`).
    pub rule: String,
    /// How sure the scan is, 0 to 1: 1 for an exact rule, the weakest similarity otherwise.
    pub score: f64,
    pub status: GroupStatus,
    /// The members the caller may read, oldest first, each as its record reads
    /// (`GET /{entity}/{id}`); records merged or deleted since the scan are left out.
    #[schema(value_type = Vec<Object>)]
    pub members: Vec<serde_json::Value>,
    pub created_at: DateTime<Utc>,
    pub dismissed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, FromQueryResult)]
struct GroupRow {
    id: Uuid,
    entity: String,
    rule: String,
    score: f64,
    status: String,
    member_ids: String,
    created_at: DateTime<Utc>,
    dismissed_at: Option<DateTime<Utc>>,
}

fn select_groups(actor: &Actor) -> SelectStatement {
    Query::select()
        .columns([
            DuplicateGroups::Id,
            DuplicateGroups::Entity,
            DuplicateGroups::Rule,
            DuplicateGroups::Score,
            DuplicateGroups::Status,
            DuplicateGroups::MemberIds,
            DuplicateGroups::CreatedAt,
            DuplicateGroups::DismissedAt,
        ])
        .from(DuplicateGroups::Table)
        .and_where(Expr::col(DuplicateGroups::CompanyId).eq(actor.company_id))
        .to_owned()
}

/// The records of `ids` the caller may read, as JSON by id.
async fn readable<R: Record, C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    ids: &[Uuid],
) -> Result<HashMap<Uuid, serde_json::Value>> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let table = <R::Field as crate::query::ListField>::table();
    let records: Vec<R> = record::all_where(
        conn,
        actor,
        Cond::all()
            .add(Expr::col((table, Alias::new("id"))).is_in(ids.iter().copied()))
            .add(record::scope::<R>(actor, Action::Read)?),
    )
    .await?;
    Ok(records
        .into_iter()
        .map(|r| {
            (
                r.id().uuid(),
                serde_json::to_value(&r).unwrap_or(serde_json::Value::Null),
            )
        })
        .collect())
}

/// Groups with their members the caller may read; a group left with fewer than two is
/// dropped.
async fn complete<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    rows: Vec<GroupRow>,
) -> Result<Vec<DuplicateGroup>> {
    let parsed: Vec<(GroupRow, DuplicateEntity, Vec<Uuid>)> = rows
        .into_iter()
        .filter_map(|row| {
            let entity = row.entity.parse::<DuplicateEntity>().ok()?;
            let members: Vec<Uuid> = serde_json::from_str(&row.member_ids).unwrap_or_default();
            Some((row, entity, members))
        })
        .collect();
    let mut records: HashMap<Uuid, serde_json::Value> = HashMap::new();
    for entity in DuplicateEntity::ALL {
        let ids: Vec<Uuid> = parsed
            .iter()
            .filter(|(_, e, _)| e == entity)
            .flat_map(|(_, _, m)| m.iter().copied())
            .collect();
        if ids.is_empty() || !actor.can(entity.resource(), Action::Read) {
            continue;
        }
        records.extend(match entity {
            DuplicateEntity::Leads => readable::<crate::leads::Lead, _>(conn, actor, &ids).await?,
            DuplicateEntity::Contacts => {
                readable::<crate::contacts::Contact, _>(conn, actor, &ids).await?
            }
            DuplicateEntity::Accounts => {
                readable::<crate::accounts::Account, _>(conn, actor, &ids).await?
            }
        });
    }
    Ok(parsed
        .into_iter()
        .filter_map(|(row, entity, ids)| {
            let members: Vec<serde_json::Value> = ids
                .iter()
                .filter_map(|id| records.get(id).cloned())
                .collect();
            (members.len() >= 2).then(|| DuplicateGroup {
                id: row.id,
                entity,
                rule: row.rule,
                score: row.score,
                status: row.status.parse().unwrap_or(GroupStatus::Open),
                members,
                created_at: row.created_at,
                dismissed_at: row.dismissed_at,
            })
        })
        .collect())
}

/// One page of the groups of `entity` with `status`, surest first (the order the scan wrote
/// them in), each with the members the caller may read. Needs read on the entity.
pub async fn list(
    store: &Store,
    actor: &Actor,
    entity: DuplicateEntity,
    status: GroupStatus,
    page: PageRequest,
) -> Result<Page<DuplicateGroup>> {
    allowed(actor, entity, Action::Read)?;
    let read = store.read(actor).await?;
    let limit = usize::try_from(page.limit).unwrap_or(usize::MAX);
    let mut groups = Vec::with_capacity(limit);
    let mut after = page.after;
    // Groups whose members were merged away since the scan are dropped: read on until the
    // page is full or the groups end.
    loop {
        let mut q = select_groups(actor);
        q.and_where(Expr::col(DuplicateGroups::Entity).eq(entity.as_str()))
            .and_where(Expr::col(DuplicateGroups::Status).eq(status.as_str()))
            .order_by(DuplicateGroups::Id, Order::Asc)
            .limit(page.limit + 1);
        if let Some(after) = after {
            q.and_where(Expr::col(DuplicateGroups::Id).gt(after));
        }
        let mut rows: Vec<GroupRow> = fetch_all(read.conn(), &q).await?;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let last_row = rows.last().map(|r| r.id);
        for group in complete(read.conn(), actor, rows).await? {
            let id = group.id;
            groups.push(group);
            if groups.len() >= limit {
                let next = (more || Some(id) != last_row).then(|| crate::page::Cursor(id).encode());
                return Ok(Page {
                    data: groups,
                    next_cursor: next,
                });
            }
        }
        if !more {
            return Ok(Page {
                data: groups,
                next_cursor: None,
            });
        }
        after = last_row;
    }
}

/// One group, with the members the caller may read (not found when fewer than two are left).
pub async fn get(store: &Store, actor: &Actor, id: Uuid) -> Result<DuplicateGroup> {
    let read = store.read(actor).await?;
    let mut q = select_groups(actor);
    q.and_where(Expr::col(DuplicateGroups::Id).eq(id));
    let row: Option<GroupRow> = fetch_optional(read.conn(), &q).await?;
    let row = row.ok_or(StoreError::NotFound)?;
    let entity: DuplicateEntity = row.entity.parse().map_err(|_| StoreError::NotFound)?;
    allowed(actor, entity, Action::Read)?;
    complete(read.conn(), actor, vec![row])
        .await?
        .pop()
        .ok_or(StoreError::NotFound)
}

/// Mark a group as not duplicates: it leaves the open list and a later scan does not bring
/// it back. Needs update on its entity; audited.
pub async fn dismiss(store: &Store, actor: &Actor, id: Uuid) -> Result<DuplicateGroup> {
    let before = get(store, actor, id).await?;
    allowed(actor, before.entity, Action::Update)?;
    let tx = store.write(actor).await?;
    let at = now();
    exec(
        tx.conn(),
        Query::update()
            .table(DuplicateGroups::Table)
            .value(DuplicateGroups::Status, GroupStatus::Dismissed.as_str())
            .value(DuplicateGroups::DismissedBy, actor.user_id)
            .value(DuplicateGroups::DismissedAt, at)
            .value(DuplicateGroups::UpdatedAt, at)
            .and_where(Expr::col(DuplicateGroups::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(DuplicateGroups::Id).eq(id)),
    )
    .await?;
    tx.audit_in(
        actor.company_id,
        "duplicate_groups",
        id,
        "update",
        Some(&json!({ "status": before.status })),
        Some(&json!({ "status": GroupStatus::Dismissed })),
    )
    .await?;
    tx.commit().await?;
    Ok(DuplicateGroup {
        status: GroupStatus::Dismissed,
        dismissed_at: Some(at),
        ..before
    })
}
