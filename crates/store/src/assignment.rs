//! Assignment rules' store side (issue 13 §3, migration `m0020_assignment_rules`): a company's
//! ordered rules per entity with their CRUD and reorder (audited as `assignment_rules`), the
//! fallback owner (`assignment_settings`), and [`assign_in`], the one function every intake path
//! calls with a batch of records to learn each one's owner.
//!
//! What a rule means is `rivet_domain::assignment` (pure); what needs the database is here: who
//! is in a pool right now (active members only — a departed or deactivated user is skipped),
//! the round-robin cursor (one row per rule, advanced once per batch by a single
//! `UPDATE … SET next_turn = next_turn + k RETURNING next_turn`, which the row lock on
//! PostgreSQL and the write lock on SQLite make atomic: concurrent batches get disjoint,
//! consecutive turns), and the open-lead counts of a least-loaded pool (one grouped query).
//!
//! The users and team a rule names must be active members / a team of the caller's company when
//! the rule is written; another company's are "not a member" (their existence is not revealed).

use crate::query::json_column;
use crate::record::{self, Record};
use crate::tables::{
    AssignmentCursors as Cursors, AssignmentRules as Rules, AssignmentSettings as Settings, Leads,
    Memberships, Teams,
};
use crate::{Result, Store, StoreError, Tx, exec, fetch_all, fetch_optional, now};
use chrono::{DateTime, Utc};
use rivet_domain::activities::RecordType;
use rivet_domain::assignment::{
    ActionInput, AssignmentEntity, ConditionInput, CreateTaskInput, RuleAction, RuleInput,
    RuleSpec, least_loaded, matching, round_robin_pick,
};
use rivet_domain::ids::{AssignmentRuleId, Id, LeadId, TeamId, UserId};
use rivet_domain::leads::LeadStatus;
use rivet_domain::tasks::{TaskData, TaskPriority, TaskStatus};
use rivet_domain::{Action, Actor, FieldErrors, Resource};
use sea_orm::sea_query::{Cond, Expr, ExprTrait, Func, Order, Query};
use sea_orm::{ConnectionTrait, DbErr, FromQueryResult};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};

const RESOURCE: &str = "assignment_rules";
const SETTINGS_RESOURCE: &str = "assignment_settings";

/// A rule as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AssignmentRule {
    #[schema(value_type = uuid::Uuid)]
    pub id: AssignmentRuleId,
    pub entity: AssignmentEntity,
    /// Its place in the order, from 1: the first rule that matches assigns.
    pub position: i32,
    pub name: String,
    pub active: bool,
    pub conditions: Vec<ConditionInput>,
    pub action: ActionInput,
    pub create_task: Option<CreateTaskInput>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[serde(skip)]
    #[schema(ignore)]
    pub spec: RuleSpec,
}

impl AssignmentRule {
    /// The rule as a client would write it, for merging a change.
    pub fn as_input(&self) -> RuleInput {
        self.spec.to_input()
    }

    fn audit_json(&self) -> Value {
        json!({
            "entity": self.entity,
            "position": self.position,
            "name": self.name,
            "active": self.active,
            "conditions": self.conditions,
            "action": self.action,
            "create_task": self.create_task,
        })
    }
}

#[derive(Debug, FromQueryResult)]
struct RuleRow {
    id: AssignmentRuleId,
    entity: String,
    position: i32,
    name: String,
    active: bool,
    conditions: Value,
    action: Value,
    task_title: Option<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

impl TryFrom<RuleRow> for AssignmentRule {
    type Error = StoreError;

    fn try_from(row: RuleRow) -> Result<Self> {
        let broken =
            |what: String| StoreError::Db(DbErr::Custom(format!("rule {}: {what}", row.id)));
        let entity: AssignmentEntity = row.entity.parse().map_err(broken)?;
        let conditions: Vec<ConditionInput> = serde_json::from_value(json_column(row.conditions))
            .map_err(|e| broken(e.to_string()))?;
        let action: ActionInput =
            serde_json::from_value(json_column(row.action)).map_err(|e| broken(e.to_string()))?;
        let input = RuleInput {
            name: Some(row.name),
            active: Some(row.active),
            conditions: Some(conditions),
            action: Some(action),
            create_task: Some(row.task_title.map(|title| CreateTaskInput { title })),
        };
        let spec = input
            .validate(entity)
            .map_err(|e| broken(format!("{e:?}")))?;
        let canonical = spec.to_input();
        Ok(Self {
            id: row.id,
            entity,
            position: row.position,
            name: spec.name.clone(),
            active: spec.active,
            conditions: canonical.conditions.unwrap_or_default(),
            action: canonical.action.unwrap_or_default(),
            create_task: canonical.create_task.flatten(),
            created_at: row.created_at,
            updated_at: row.updated_at,
            spec,
        })
    }
}

/// The caller's company's rules, every column.
fn select_company_rules(actor: &Actor) -> sea_orm::sea_query::SelectStatement {
    Query::select()
        .columns([
            Rules::Id,
            Rules::Entity,
            Rules::Position,
            Rules::Name,
            Rules::Active,
            Rules::Conditions,
            Rules::Action,
            Rules::TaskTitle,
            Rules::CreatedAt,
            Rules::UpdatedAt,
        ])
        .from(Rules::Table)
        .and_where(Expr::col(Rules::CompanyId).eq(actor.company_id))
        .to_owned()
}

fn select_rules(actor: &Actor, entity: AssignmentEntity) -> sea_orm::sea_query::SelectStatement {
    select_company_rules(actor)
        .and_where(Expr::col(Rules::Entity).eq(entity.as_str()))
        .order_by(Rules::Position, Order::Asc)
        .order_by(Rules::Id, Order::Asc)
        .to_owned()
}

async fn rules_of<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    entity: AssignmentEntity,
) -> Result<Vec<AssignmentRule>> {
    let rows: Vec<RuleRow> = fetch_all(conn, &select_rules(actor, entity)).await?;
    rows.into_iter().map(AssignmentRule::try_from).collect()
}

async fn load<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    id: AssignmentRuleId,
) -> Result<AssignmentRule> {
    let mut q = select_company_rules(actor);
    q.and_where(Expr::col(Rules::Id).eq(id));
    let row: Option<RuleRow> = fetch_optional(conn, &q).await?;
    row.ok_or(StoreError::NotFound)
        .and_then(AssignmentRule::try_from)
}

/// The company's rules for `entity`, in order.
pub async fn list(
    store: &Store,
    actor: &Actor,
    entity: AssignmentEntity,
) -> Result<Vec<AssignmentRule>> {
    let r = store.read(actor).await?;
    rules_of(r.conn(), actor, entity).await
}

/// One rule of the caller's company; another company's is not found.
pub async fn get(store: &Store, actor: &Actor, id: AssignmentRuleId) -> Result<AssignmentRule> {
    let r = store.read(actor).await?;
    load(r.conn(), actor, id).await
}

/// The active members of the caller's company among `users` or in `teams`, with their team.
pub(crate) async fn active_members<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    users: &[UserId],
    teams: &[TeamId],
) -> Result<Vec<(UserId, Option<TeamId>)>> {
    #[derive(FromQueryResult)]
    struct Row {
        user_id: UserId,
        team_id: Option<TeamId>,
    }
    if users.is_empty() && teams.is_empty() {
        return Ok(Vec::new());
    }
    let mut any = Cond::any();
    if !users.is_empty() {
        any = any.add(Expr::col(Memberships::UserId).is_in(users.iter().copied()));
    }
    if !teams.is_empty() {
        any = any.add(Expr::col(Memberships::TeamId).is_in(teams.iter().copied()));
    }
    let rows: Vec<Row> = fetch_all(
        conn,
        Query::select()
            .columns([Memberships::UserId, Memberships::TeamId])
            .from(Memberships::Table)
            .and_where(Expr::col(Memberships::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(Memberships::Active).eq(true))
            .cond_where(any)
            .order_by(Memberships::UserId, Order::Asc),
    )
    .await?;
    Ok(rows.into_iter().map(|r| (r.user_id, r.team_id)).collect())
}

/// Every user and team `action` names belongs to the caller's company (and the users are
/// active), or the 422 naming the part.
async fn check_action(tx: &Tx, actor: &Actor, action: &RuleAction) -> Result<()> {
    let users = action.users();
    let active: HashSet<UserId> = active_members(tx.conn(), actor, users, &[])
        .await?
        .into_iter()
        .map(|(user, _)| user)
        .collect();
    let field = match action {
        RuleAction::User(_) => "action.user_id",
        _ => "action.user_ids",
    };
    if let Some(missing) = users.iter().find(|u| !active.contains(u)) {
        return Err(StoreError::invalid(
            field,
            format!("{missing} is not an active member of this company"),
        ));
    }
    if let Some(team) = action.team() {
        let found: Option<TeamRow> = fetch_optional(
            tx.conn(),
            Query::select()
                .column(Teams::Id)
                .from(Teams::Table)
                .and_where(Expr::col(Teams::CompanyId).eq(actor.company_id))
                .and_where(Expr::col(Teams::Id).eq(team)),
        )
        .await?;
        if found.is_none() {
            return Err(StoreError::invalid(
                "action.team_id",
                "is not a team of this company",
            ));
        }
    }
    Ok(())
}

#[derive(FromQueryResult)]
struct TeamRow {
    #[allow(dead_code)]
    id: TeamId,
}

fn rule_columns(spec: &RuleSpec) -> Result<Vec<(Rules, sea_orm::sea_query::Value)>> {
    let input = spec.to_input();
    Ok(vec![
        (Rules::Name, spec.name.clone().into()),
        (Rules::Active, spec.active.into()),
        (
            Rules::Conditions,
            to_json(&input.conditions.unwrap_or_default())?.into(),
        ),
        (
            Rules::Action,
            to_json(&input.action.unwrap_or_default())?.into(),
        ),
        (Rules::TaskTitle, spec.task_title.clone().into()),
    ])
}

fn to_json<T: Serialize>(value: &T) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| StoreError::Db(DbErr::Custom(e.to_string())))
}

/// Add a rule at the end of the entity's order.
pub async fn create(
    store: &Store,
    actor: &Actor,
    entity: AssignmentEntity,
    spec: &RuleSpec,
) -> Result<AssignmentRule> {
    let tx = store.write(actor).await?;
    check_action(&tx, actor, &spec.action).await?;
    let last = rules_of(tx.conn(), actor, entity)
        .await?
        .iter()
        .map(|r| r.position)
        .max()
        .unwrap_or(0);
    let id: AssignmentRuleId = Id::new();
    let at = now();
    let mut cols = vec![
        (Rules::CompanyId, actor.company_id.into()),
        (Rules::Id, id.into()),
        (Rules::Entity, entity.as_str().into()),
        (Rules::Position, (last + 1).into()),
        (Rules::CreatedAt, at.into()),
        (Rules::UpdatedAt, at.into()),
    ];
    cols.extend(rule_columns(spec)?);
    let (names, values): (Vec<Rules>, Vec<sea_orm::sea_query::Value>) = cols.into_iter().unzip();
    exec(
        tx.conn(),
        Query::insert()
            .into_table(Rules::Table)
            .columns(names)
            .values(values.into_iter().map(Expr::val))
            .map_err(|e| StoreError::Db(DbErr::Custom(e.to_string())))?,
    )
    .await?;
    exec(
        tx.conn(),
        Query::insert()
            .into_table(Cursors::Table)
            .columns([Cursors::CompanyId, Cursors::RuleId, Cursors::NextTurn])
            .values_panic([actor.company_id.into(), id.into(), 0i64.into()]),
    )
    .await?;
    let created = load(tx.conn(), actor, id).await?;
    tx.audit_in(
        actor.company_id,
        RESOURCE,
        id,
        "create",
        None,
        Some(&created.audit_json()),
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

/// Change a rule: `apply` turns the current rule into its new spec (a patch merged and
/// validated). Its place in the order and its round-robin turn are kept.
pub async fn update(
    store: &Store,
    actor: &Actor,
    id: AssignmentRuleId,
    apply: impl FnOnce(&AssignmentRule) -> std::result::Result<RuleSpec, FieldErrors>,
) -> Result<AssignmentRule> {
    let tx = store.write(actor).await?;
    let before = load(tx.conn(), actor, id).await?;
    let spec = apply(&before).map_err(StoreError::Invalid)?;
    if spec.action != before.spec.action {
        check_action(&tx, actor, &spec.action).await?;
    }
    let mut cols = rule_columns(&spec)?;
    cols.push((Rules::UpdatedAt, now().into()));
    exec(
        tx.conn(),
        Query::update()
            .table(Rules::Table)
            .values(cols.into_iter().map(|(c, v)| (c, Expr::val(v))))
            .and_where(Expr::col(Rules::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(Rules::Id).eq(id)),
    )
    .await?;
    let after = load(tx.conn(), actor, id).await?;
    tx.audit_in(
        actor.company_id,
        RESOURCE,
        id,
        "update",
        Some(&before.audit_json()),
        Some(&after.audit_json()),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Delete a rule (its cursor goes with it); the rules after it move up.
pub async fn delete(store: &Store, actor: &Actor, id: AssignmentRuleId) -> Result<()> {
    let tx = store.write(actor).await?;
    let before = load(tx.conn(), actor, id).await?;
    exec(
        tx.conn(),
        Query::delete()
            .from_table(Rules::Table)
            .and_where(Expr::col(Rules::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(Rules::Id).eq(id)),
    )
    .await?;
    exec(
        tx.conn(),
        Query::update()
            .table(Rules::Table)
            .value(Rules::Position, Expr::col(Rules::Position).sub(1))
            .and_where(Expr::col(Rules::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(Rules::Entity).eq(before.entity.as_str()))
            .and_where(Expr::col(Rules::Position).gt(before.position)),
    )
    .await?;
    tx.audit_in(
        actor.company_id,
        RESOURCE,
        id,
        "delete",
        Some(&before.audit_json()),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Put the entity's rules in the order of `ids`, which must name each of them exactly once.
pub async fn reorder(
    store: &Store,
    actor: &Actor,
    entity: AssignmentEntity,
    ids: &[AssignmentRuleId],
) -> Result<Vec<AssignmentRule>> {
    let tx = store.write(actor).await?;
    let before = rules_of(tx.conn(), actor, entity).await?;
    let current: HashSet<AssignmentRuleId> = before.iter().map(|r| r.id).collect();
    let given: HashSet<AssignmentRuleId> = ids.iter().copied().collect();
    if given.len() != ids.len() || given != current {
        return Err(StoreError::invalid(
            "ids",
            format!(
                "must name each of the {} {} rules exactly once",
                before.len(),
                entity
            ),
        ));
    }
    let at = now();
    for (place, id) in (1i32..).zip(ids) {
        let Some(rule) = before.iter().find(|r| r.id == *id) else {
            continue;
        };
        if rule.position == place {
            continue;
        }
        exec(
            tx.conn(),
            Query::update()
                .table(Rules::Table)
                .values([
                    (Rules::Position, Expr::val(place)),
                    (Rules::UpdatedAt, Expr::val(at)),
                ])
                .and_where(Expr::col(Rules::CompanyId).eq(actor.company_id))
                .and_where(Expr::col(Rules::Id).eq(*id)),
        )
        .await?;
        tx.audit_in(
            actor.company_id,
            RESOURCE,
            *id,
            "update",
            Some(&json!({"position": rule.position})),
            Some(&json!({"position": place})),
        )
        .await?;
    }
    let after = rules_of(tx.conn(), actor, entity).await?;
    tx.commit().await?;
    Ok(after)
}

/// The company's assignment settings for an entity.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AssignmentSettings {
    pub entity: AssignmentEntity,
    /// Owner of a record no rule matches; `null` keeps its creator as owner.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub fallback_owner_id: Option<UserId>,
}

#[derive(FromQueryResult)]
struct SettingsRow {
    fallback_owner_id: Option<UserId>,
}

async fn settings_of<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    entity: AssignmentEntity,
) -> Result<AssignmentSettings> {
    let row: Option<SettingsRow> = fetch_optional(
        conn,
        Query::select()
            .column(Settings::FallbackOwnerId)
            .from(Settings::Table)
            .and_where(Expr::col(Settings::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(Settings::Entity).eq(entity.as_str())),
    )
    .await?;
    Ok(AssignmentSettings {
        entity,
        fallback_owner_id: row.and_then(|r| r.fallback_owner_id),
    })
}

pub async fn settings(
    store: &Store,
    actor: &Actor,
    entity: AssignmentEntity,
) -> Result<AssignmentSettings> {
    let r = store.read(actor).await?;
    settings_of(r.conn(), actor, entity).await
}

/// Set the fallback owner (an active member of the caller's company) or clear it.
pub async fn put_settings(
    store: &Store,
    actor: &Actor,
    entity: AssignmentEntity,
    fallback_owner_id: Option<UserId>,
) -> Result<AssignmentSettings> {
    let tx = store.write(actor).await?;
    if let Some(owner) = fallback_owner_id {
        check_action(&tx, actor, &RuleAction::User(owner))
            .await
            .map_err(|e| match e {
                StoreError::Invalid(_) => StoreError::invalid(
                    "fallback_owner_id",
                    "is not an active member of this company",
                ),
                other => other,
            })?;
    }
    let before = settings_of(tx.conn(), actor, entity).await?;
    let at = now();
    let changed = exec(
        tx.conn(),
        Query::update()
            .table(Settings::Table)
            .values([
                (Settings::FallbackOwnerId, Expr::val(fallback_owner_id)),
                (Settings::UpdatedAt, Expr::val(at)),
            ])
            .and_where(Expr::col(Settings::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(Settings::Entity).eq(entity.as_str())),
    )
    .await?;
    if changed == 0 {
        exec(
            tx.conn(),
            Query::insert()
                .into_table(Settings::Table)
                .columns([
                    Settings::CompanyId,
                    Settings::Entity,
                    Settings::FallbackOwnerId,
                    Settings::UpdatedAt,
                ])
                .values_panic([
                    actor.company_id.into(),
                    entity.as_str().into(),
                    fallback_owner_id.into(),
                    at.into(),
                ]),
        )
        .await?;
    }
    let after = settings_of(tx.conn(), actor, entity).await?;
    tx.audit_in(
        actor.company_id,
        SETTINGS_RESOURCE,
        entity.as_str(),
        "update",
        Some(&json!({"fallback_owner_id": before.fallback_owner_id})),
        Some(&json!({"fallback_owner_id": after.fallback_owner_id})),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// Who a record gets and why.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Assignment {
    #[schema(value_type = uuid::Uuid)]
    pub owner_id: UserId,
    /// The rule that matched; `null` when no rule did and this is the fallback owner.
    #[schema(value_type = Option<uuid::Uuid>)]
    pub rule_id: Option<AssignmentRuleId>,
    pub rule_name: Option<String>,
    /// The follow-up task to create for the owner, when the rule says so.
    pub task_title: Option<String>,
    /// A round-robin rule's turn (counted from 0 since the rule was made).
    pub turn: Option<i64>,
}

/// Whether working out assignments takes round-robin turns or only looks at the next ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Turns {
    Take,
    Peek,
}

/// Each record's assignment, in order: `None` when no rule matches and there is no (active)
/// fallback owner, so the record keeps its creator. Round-robin rules take their turns for
/// the batch at once; call it in the transaction that saves the records.
pub async fn assign_in(
    tx: &Tx,
    actor: &Actor,
    entity: AssignmentEntity,
    records: &[Map<String, Value>],
) -> Result<Vec<Option<Assignment>>> {
    plan(tx.conn(), actor, entity, records, Turns::Take).await
}

/// What [`assign_in`] would answer for `record` now, taking no turn and saving nothing.
pub async fn preview(
    store: &Store,
    actor: &Actor,
    entity: AssignmentEntity,
    record: &Map<String, Value>,
) -> Result<Option<Assignment>> {
    let r = store.read(actor).await?;
    let mut planned = plan(
        r.conn(),
        actor,
        entity,
        std::slice::from_ref(record),
        Turns::Peek,
    )
    .await?;
    Ok(planned.pop().flatten())
}

async fn plan<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    entity: AssignmentEntity,
    records: &[Map<String, Value>],
    turns: Turns,
) -> Result<Vec<Option<Assignment>>> {
    if records.is_empty() {
        return Ok(Vec::new());
    }
    let rules: Vec<AssignmentRule> = rules_of(conn, actor, entity)
        .await?
        .into_iter()
        .filter(|r| r.active)
        .collect();
    let pools = pools(conn, actor, &rules).await?;
    let specs: Vec<RuleSpec> = rules.iter().map(|r| r.spec.clone()).collect();
    // The first matching rule with someone to assign to, per record.
    let chosen: Vec<Option<usize>> = records
        .iter()
        .map(|record| {
            matching(&specs, record).find(|i| pools.get(*i).is_some_and(|p| !p.is_empty()))
        })
        .collect();
    let fallback = if chosen.iter().any(Option::is_none) {
        fallback_owner(conn, actor, entity).await?
    } else {
        None
    };
    // Round robin: the batch's turns of each rule, taken at once.
    let mut next_turn: BTreeMap<usize, i64> = BTreeMap::new();
    for (i, rule) in rules.iter().enumerate() {
        if !matches!(rule.spec.action, RuleAction::RoundRobin(_)) {
            continue;
        }
        let count = chosen.iter().filter(|c| **c == Some(i)).count();
        if count == 0 {
            continue;
        }
        let count = i64::try_from(count).unwrap_or(i64::MAX);
        next_turn.insert(i, take_turns(conn, actor, rule.id, count, turns).await?);
    }
    // Least loaded: the open records of every candidate, counted once, then kept up to date
    // as the batch assigns.
    let mut load = if rules.iter().enumerate().any(|(i, r)| {
        matches!(r.spec.action, RuleAction::LeastLoaded(_)) && chosen.contains(&Some(i))
    }) {
        let candidates: Vec<UserId> = rules
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r.spec.action, RuleAction::LeastLoaded(_)))
            .flat_map(|(i, _)| pools.get(i).cloned().unwrap_or_default())
            .collect();
        open_load(conn, actor, entity, &candidates).await?
    } else {
        HashMap::new()
    };
    let mut out = Vec::with_capacity(records.len());
    for choice in chosen {
        let Some(i) = choice else {
            out.push(fallback.map(|owner_id| Assignment {
                owner_id,
                rule_id: None,
                rule_name: None,
                task_title: None,
                turn: None,
            }));
            continue;
        };
        let (Some(rule), Some(pool)) = (rules.get(i), pools.get(i)) else {
            out.push(None);
            continue;
        };
        let (owner, turn) = match rule.spec.action {
            RuleAction::User(_) => (pool.first().copied(), None),
            RuleAction::RoundRobin(_) => {
                let turn = next_turn.get(&i).copied().unwrap_or(0);
                next_turn.insert(i, turn + 1);
                (round_robin_pick(pool, turn), Some(turn))
            }
            RuleAction::LeastLoaded(_) => {
                let owner = least_loaded(pool, &load);
                if let Some(owner) = owner {
                    *load.entry(owner).or_insert(0) += 1;
                }
                (owner, None)
            }
        };
        out.push(owner.map(|owner_id| Assignment {
            owner_id,
            rule_id: Some(rule.id),
            rule_name: Some(rule.name.clone()),
            task_title: rule.spec.task_title.clone(),
            turn,
        }));
    }
    Ok(out)
}

/// Each rule's pool now: the active members it names, in its order (a team's by user id).
async fn pools<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    rules: &[AssignmentRule],
) -> Result<Vec<Vec<UserId>>> {
    let users: Vec<UserId> = rules
        .iter()
        .flat_map(|r| r.spec.action.users().iter().copied())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let teams: Vec<TeamId> = rules
        .iter()
        .filter_map(|r| r.spec.action.team())
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let members = active_members(conn, actor, &users, &teams).await?;
    let active: HashSet<UserId> = members.iter().map(|(u, _)| *u).collect();
    Ok(rules
        .iter()
        .map(|rule| match rule.spec.action.team() {
            Some(team) => members
                .iter()
                .filter(|(_, t)| *t == Some(team))
                .map(|(u, _)| *u)
                .collect(),
            None => rule
                .spec
                .action
                .users()
                .iter()
                .copied()
                .filter(|u| active.contains(u))
                .collect(),
        })
        .collect())
}

async fn fallback_owner<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    entity: AssignmentEntity,
) -> Result<Option<UserId>> {
    let Some(owner) = settings_of(conn, actor, entity).await?.fallback_owner_id else {
        return Ok(None);
    };
    let active = active_members(conn, actor, &[owner], &[]).await?;
    Ok(active.first().map(|(u, _)| *u))
}

#[derive(FromQueryResult)]
struct TurnRow {
    next_turn: i64,
}

/// The first of `count` consecutive turns of `rule`: taken (the cursor moves past them in one
/// atomic update) or only looked at.
async fn take_turns<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    rule: AssignmentRuleId,
    count: i64,
    turns: Turns,
) -> Result<i64> {
    let mine = Cond::all()
        .add(Expr::col(Cursors::CompanyId).eq(actor.company_id))
        .add(Expr::col(Cursors::RuleId).eq(rule));
    if turns == Turns::Peek {
        let row: Option<TurnRow> = fetch_optional(
            conn,
            Query::select()
                .column(Cursors::NextTurn)
                .from(Cursors::Table)
                .cond_where(mine),
        )
        .await?;
        return Ok(row.map_or(0, |r| r.next_turn));
    }
    let row: Option<TurnRow> = fetch_optional(
        conn,
        Query::update()
            .table(Cursors::Table)
            .value(Cursors::NextTurn, Expr::col(Cursors::NextTurn).add(count))
            .cond_where(mine)
            .returning_col(Cursors::NextTurn),
    )
    .await?;
    match row {
        Some(row) => Ok(row.next_turn - count),
        None => Err(StoreError::Db(DbErr::Custom(format!(
            "assignment rule {rule} has no cursor"
        )))),
    }
}

/// How many open records each of `users` owns (an open lead: neither converted nor
/// unqualified), in one grouped query.
async fn open_load<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    entity: AssignmentEntity,
    users: &[UserId],
) -> Result<HashMap<UserId, i64>> {
    #[derive(FromQueryResult)]
    struct Row {
        owner_id: UserId,
        open: i64,
    }
    if users.is_empty() {
        return Ok(HashMap::new());
    }
    let q = match entity {
        AssignmentEntity::Leads => Query::select()
            .column(Leads::OwnerId)
            .expr_as(Func::count(Expr::col(Leads::Id)), "open")
            .from(Leads::Table)
            .and_where(Expr::col(Leads::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(Leads::OwnerId).is_in(users.iter().copied()))
            .and_where(Expr::col(Leads::Status).is_not_in([
                LeadStatus::Converted.as_str(),
                LeadStatus::Unqualified.as_str(),
            ]))
            .group_by_col(Leads::OwnerId)
            .to_owned(),
    };
    let rows: Vec<Row> = fetch_all(conn, &q).await?;
    Ok(rows.into_iter().map(|r| (r.owner_id, r.open)).collect())
}

/// Create the follow-up task of each assignment whose rule asks for one, for its new owner and
/// about its lead. The company's rule asks for it, so the caller needs no task permission of
/// their own and may not be able to see the lead once it is someone else's; the audit still
/// names the caller.
pub async fn create_assignment_tasks_in(
    tx: &Tx,
    actor: &Actor,
    assigned: &[(LeadId, &Assignment)],
) -> Result<Vec<crate::tasks::Task>> {
    let rule_actor = actor.granted(&[
        (Resource::Tasks, Action::Create),
        (Resource::Leads, Action::Read),
    ]);
    let mut created = Vec::new();
    for (lead, assignment) in assigned {
        let Some(title) = &assignment.task_title else {
            continue;
        };
        let data = TaskData {
            subject: title.clone(),
            description: assignment
                .rule_name
                .as_ref()
                .map(|rule| format!("Assigned by the rule “{rule}”.")),
            due_at: None,
            reminder_at: None,
            priority: TaskPriority::Normal,
            status: TaskStatus::Open,
            assignee_id: Some(assignment.owner_id),
            related: Some((RecordType::Lead, lead.uuid())),
            recurrence: None,
            series: None,
        };
        created.push(record::create_in::<crate::tasks::Task>(tx, &rule_actor, &data).await?);
    }
    Ok(created)
}

/// What applying the rules did to one lead.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Applied {
    #[schema(value_type = uuid::Uuid)]
    pub id: LeadId,
    /// `assigned` (a new owner), `unchanged` (the rules name its owner already), `no_match`
    /// (no rule and no fallback owner) or `not_found` (not a lead the caller may update).
    pub result: &'static str,
    pub assignment: Option<Assignment>,
    /// The follow-up task created, if any.
    pub task_id: Option<uuid::Uuid>,
}

/// Apply the rules to the leads `ids` (in their order, each once): each lead in the caller's
/// update scope whose rules name another owner gets it through the generic record update
/// (`with_owner` builds its data), so the change is audited and evented, and the rule's task is
/// created; a lead outside the scope (or another company's) is `not_found`. One transaction:
/// all or nothing.
pub async fn apply_to_leads(
    store: &Store,
    actor: &Actor,
    ids: &[LeadId],
    with_owner: impl Fn(&crate::leads::Lead, UserId) -> Result<rivet_domain::leads::LeadData>,
) -> Result<Vec<Applied>> {
    let mut seen = HashSet::new();
    let ids: Vec<LeadId> = ids.iter().copied().filter(|id| seen.insert(*id)).collect();
    let tx = store.write(actor).await?;
    let narrow = Cond::all()
        .add(record::scope::<crate::leads::Lead>(actor, Action::Update)?)
        .add(Expr::col((Leads::Table, Leads::Id)).is_in(ids.iter().copied()));
    let found: HashMap<LeadId, crate::leads::Lead> =
        record::all_where::<crate::leads::Lead, _>(tx.conn(), actor, narrow)
            .await?
            .into_iter()
            .map(|lead| (lead.id, lead))
            .collect();
    let leads: Vec<&crate::leads::Lead> = ids.iter().filter_map(|id| found.get(id)).collect();
    let records: Vec<Map<String, Value>> = leads
        .iter()
        .map(|lead| match serde_json::to_value(lead) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        })
        .collect();
    let planned = assign_in(&tx, actor, AssignmentEntity::Leads, &records).await?;
    let mut planned: HashMap<LeadId, Option<Assignment>> =
        leads.iter().map(|l| l.id).zip(planned).collect();
    let mut out = Vec::with_capacity(ids.len());
    for id in &ids {
        let (Some(lead), Some(assignment)) = (found.get(id), planned.remove(id)) else {
            out.push(Applied {
                id: *id,
                result: "not_found",
                assignment: None,
                task_id: None,
            });
            continue;
        };
        let Some(assignment) = assignment else {
            out.push(Applied {
                id: lead.id,
                result: "no_match",
                assignment: None,
                task_id: None,
            });
            continue;
        };
        if assignment.owner_id == lead.owner() {
            out.push(Applied {
                id: lead.id,
                result: "unchanged",
                assignment: Some(assignment),
                task_id: None,
            });
            continue;
        }
        let data = with_owner(lead, assignment.owner_id)?;
        record::update_in(&tx, actor, lead, &data).await?;
        let tasks = create_assignment_tasks_in(&tx, actor, &[(lead.id, &assignment)]).await?;
        out.push(Applied {
            id: lead.id,
            result: "assigned",
            task_id: tasks.first().map(|t| t.id.uuid()),
            assignment: Some(assignment),
        });
    }
    tx.commit().await?;
    Ok(out)
}
