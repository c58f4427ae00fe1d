//! Users and their memberships. A user is one person (one e-mail, one password) who may belong
//! to several companies, with a role, a team and an active flag per company. Everything a company
//! admin changes is the membership; the person's login is shared.

use crate::page::PageRequest;
use crate::tables::{Invitations, Memberships, Roles, Sessions, Teams, Users};
use crate::{Page, Result, Store, StoreError, Tx, exec, fetch_all, fetch_optional, new_id, now};
use chrono::{DateTime, Duration, Utc};
use rivet_domain::ids::{CompanyId, Id, RoleId, TeamId, UserId};
use rivet_domain::{Action, Actor, Email, Resource, Scope};
use sea_orm::sea_query::{
    Cond, Expr, ExprTrait, Func, JoinType, LikeExpr, Order, Query, SelectStatement,
};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

/// A user as one company sees them.
#[derive(Debug, Clone, Serialize, FromQueryResult, utoipa::ToSchema)]
pub struct Member {
    #[schema(value_type = uuid::Uuid)]
    pub id: UserId,
    pub email: String,
    pub name: String,
    #[schema(value_type = uuid::Uuid)]
    pub role_id: RoleId,
    pub role_name: String,
    #[schema(value_type = Option<uuid::Uuid>)]
    pub team_id: Option<TeamId>,
    pub active: bool,
    /// False until an invited user sets a password.
    pub has_password: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Member {
    fn audit_json(&self) -> Value {
        json!({
            "email": self.email,
            "name": self.name,
            "role_id": self.role_id,
            "team_id": self.team_id,
            "active": self.active,
        })
    }
}

fn select_members(company_id: CompanyId) -> SelectStatement {
    Query::select()
        .expr_as(Expr::col((Users::Table, Users::Id)), "id")
        .column((Users::Table, Users::Email))
        .column((Users::Table, Users::Name))
        .column((Memberships::Table, Memberships::RoleId))
        .expr_as(Expr::col((Roles::Table, Roles::Name)), "role_name")
        .column((Memberships::Table, Memberships::TeamId))
        .column((Memberships::Table, Memberships::Active))
        .expr_as(
            Expr::col((Users::Table, Users::PasswordHash)).is_not_null(),
            "has_password",
        )
        .column((Memberships::Table, Memberships::CreatedAt))
        .column((Memberships::Table, Memberships::UpdatedAt))
        .from(Memberships::Table)
        .join(
            JoinType::InnerJoin,
            Users::Table,
            Expr::col((Users::Table, Users::Id)).equals((Memberships::Table, Memberships::UserId)),
        )
        .join(
            JoinType::InnerJoin,
            Roles::Table,
            Expr::col((Roles::Table, Roles::CompanyId))
                .equals((Memberships::Table, Memberships::CompanyId))
                .and(
                    Expr::col((Roles::Table, Roles::Id))
                        .equals((Memberships::Table, Memberships::RoleId)),
                ),
        )
        .and_where(Expr::col((Memberships::Table, Memberships::CompanyId)).eq(company_id))
        .to_owned()
}

/// The `WHERE` part of the caller's scope on users: all members, their teams' members, or
/// themselves.
fn scope_condition(actor: &Actor, action: Action) -> Result<Cond> {
    let me = Expr::col((Memberships::Table, Memberships::UserId)).eq(actor.user_id);
    match actor.scope(Resource::Users, action) {
        Scope::All => Ok(Cond::all()),
        Scope::Team => Ok(Cond::any().add(me).add(
            Expr::col((Memberships::Table, Memberships::TeamId))
                .is_in(actor.team_ids.iter().copied()),
        )),
        Scope::Own => Ok(Cond::all().add(me)),
        Scope::None => Err(StoreError::Forbidden),
    }
}

#[derive(Debug, Clone, Default)]
pub struct MemberFilter {
    pub active: Option<bool>,
    pub role_id: Option<RoleId>,
    pub team_id: Option<TeamId>,
    /// Case-insensitive substring of the name or e-mail.
    pub q: Option<String>,
}

pub async fn list(
    store: &Store,
    actor: &Actor,
    filter: &MemberFilter,
    page: PageRequest,
) -> Result<Page<Member>> {
    let r = store.read(actor).await?;
    let mut q = select_members(actor.company_id);
    q.cond_where(scope_condition(actor, Action::Read)?);
    if let Some(active) = filter.active {
        q.and_where(Expr::col((Memberships::Table, Memberships::Active)).eq(active));
    }
    if let Some(role) = filter.role_id {
        q.and_where(Expr::col((Memberships::Table, Memberships::RoleId)).eq(role));
    }
    if let Some(team) = filter.team_id {
        q.and_where(Expr::col((Memberships::Table, Memberships::TeamId)).eq(team));
    }
    if let Some(text) = filter.q.as_deref().filter(|t| !t.is_empty()) {
        let pattern = format!("%{}%", crate::query::escape_like(&text.to_lowercase()));
        q.cond_where(
            Cond::any()
                .add(
                    Expr::col((Users::Table, Users::Email))
                        .like(LikeExpr::new(pattern.clone()).escape('\\')),
                )
                .add(
                    Expr::expr(Func::lower(Expr::col((Users::Table, Users::Name))))
                        .like(LikeExpr::new(pattern).escape('\\')),
                ),
        );
    }
    // Keyset on the membership's key, so the primary key index gives the order (no sort step
    // however large the company).
    if let Some(after) = page.after {
        q.and_where(Expr::col((Memberships::Table, Memberships::UserId)).lt(after));
    }
    q.order_by((Memberships::Table, Memberships::UserId), Order::Desc)
        .limit(page.limit + 1);
    let rows: Vec<Member> = fetch_all(r.conn(), &q).await?;
    Ok(Page::from_rows(rows, page, |m| m.id))
}

async fn get_in<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    action: Action,
    id: UserId,
) -> Result<Member> {
    let mut q = select_members(actor.company_id);
    q.cond_where(scope_condition(actor, action)?)
        .and_where(Expr::col((Users::Table, Users::Id)).eq(id));
    fetch_optional(conn, &q).await?.ok_or(StoreError::NotFound)
}

/// One member the caller may read; another company's user is not found.
pub async fn get(store: &Store, actor: &Actor, id: UserId) -> Result<Member> {
    let r = store.read(actor).await?;
    get_in(r.conn(), actor, Action::Read, id).await
}

/// The caller as their company sees them.
pub async fn me(store: &Store, actor: &Actor) -> Result<Member> {
    let r = store.read(actor).await?;
    let mut q = select_members(actor.company_id);
    q.and_where(Expr::col((Users::Table, Users::Id)).eq(actor.user_id));
    fetch_optional(r.conn(), &q)
        .await?
        .ok_or(StoreError::NotFound)
}

/// What a new member is given. The e-mail may already belong to a user of another company:
/// then the person joins this company and keeps their password.
#[derive(Debug, Clone)]
pub struct NewMember {
    pub email: Email,
    pub name: String,
    pub role_id: RoleId,
    pub team_id: Option<TeamId>,
    pub password_hash: Option<String>,
}

/// The new member, and an invitation token when they have no password yet.
#[derive(Debug, Clone)]
pub struct Created {
    pub member: Member,
    pub invitation_token: Option<String>,
}

#[derive(Debug, FromQueryResult)]
struct UserIdRow {
    id: UserId,
    password_hash: Option<String>,
}

pub async fn create(store: &Store, actor: &Actor, new: &NewMember) -> Result<Created> {
    let tx = store.write(actor).await?;
    let created = create_in(&tx, actor.company_id, new).await?;
    tx.audit(
        Resource::Users,
        created.member.id,
        Action::Create,
        None,
        Some(&created.member.audit_json()),
    )
    .await?;
    tx.commit().await?;
    Ok(created)
}

/// Add a member inside an open transaction (also used when a company is created).
pub async fn create_in(tx: &Tx, company_id: CompanyId, new: &NewMember) -> Result<Created> {
    let at = now();
    let existing: Option<UserIdRow> = fetch_optional(
        tx.conn(),
        Query::select()
            .columns([Users::Id, Users::PasswordHash])
            .from(Users::Table)
            .and_where(Expr::col(Users::Email).eq(new.email.as_str())),
    )
    .await?;
    let (user_id, has_password) = match existing {
        Some(user) => (user.id, user.password_hash.is_some()),
        None => {
            let id = Id::new();
            exec(
                tx.conn(),
                Query::insert()
                    .into_table(Users::Table)
                    .columns([
                        Users::Id,
                        Users::Email,
                        Users::Name,
                        Users::PasswordHash,
                        Users::CreatedAt,
                        Users::UpdatedAt,
                    ])
                    .values_panic([
                        id.into(),
                        new.email.as_str().into(),
                        new.name.clone().into(),
                        new.password_hash.clone().into(),
                        at.into(),
                        at.into(),
                    ]),
            )
            .await?;
            (id, new.password_hash.is_some())
        }
    };
    exec(
        tx.conn(),
        Query::insert()
            .into_table(Memberships::Table)
            .columns([
                Memberships::CompanyId,
                Memberships::UserId,
                Memberships::RoleId,
                Memberships::TeamId,
                Memberships::Active,
                Memberships::CreatedAt,
                Memberships::UpdatedAt,
            ])
            .values_panic([
                company_id.into(),
                user_id.into(),
                new.role_id.into(),
                new.team_id.into(),
                true.into(),
                at.into(),
                at.into(),
            ]),
    )
    .await?;
    let invitation_token = if has_password {
        None
    } else {
        Some(create_invitation(tx, company_id, user_id).await?)
    };
    let mut q = select_members(company_id);
    q.and_where(Expr::col((Users::Table, Users::Id)).eq(user_id));
    let member = fetch_optional(tx.conn(), &q)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok(Created {
        member,
        invitation_token,
    })
}

async fn create_invitation(tx: &Tx, company_id: CompanyId, user_id: UserId) -> Result<String> {
    let token = crate::sessions::random_token();
    exec(
        tx.conn(),
        Query::insert()
            .into_table(Invitations::Table)
            .columns([
                Invitations::CompanyId,
                Invitations::Id,
                Invitations::UserId,
                Invitations::TokenHash,
                Invitations::ExpiresAt,
                Invitations::CreatedAt,
            ])
            .values_panic([
                company_id.into(),
                new_id().into(),
                user_id.into(),
                crate::sessions::hash_token(&token).into(),
                (now() + Duration::days(7)).into(),
                now().into(),
            ]),
    )
    .await?;
    Ok(token)
}

#[derive(Debug, FromQueryResult)]
struct InvitationRow {
    company_id: CompanyId,
    id: Uuid,
    user_id: UserId,
}

/// What an invitation link leads to, before anything is posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvitationState {
    /// Not yet used and not expired: the form to set a password.
    Open,
    /// It existed, but has expired or was already used.
    Gone,
    /// No invitation has this token.
    Unknown,
}

#[derive(Debug, FromQueryResult)]
struct InvitationStateRow {
    expires_at: DateTime<Utc>,
    accepted_at: Option<DateTime<Utc>>,
}

/// Look an invitation up by its token (the link's secret) without using it.
pub async fn invitation_state(store: &Store, token: &str) -> Result<InvitationState> {
    let row: Option<InvitationStateRow> = fetch_optional(
        store.system(),
        Query::select()
            .columns([Invitations::ExpiresAt, Invitations::AcceptedAt])
            .from(Invitations::Table)
            .and_where(Expr::col(Invitations::TokenHash).eq(crate::sessions::hash_token(token))),
    )
    .await?;
    Ok(match row {
        None => InvitationState::Unknown,
        Some(row) if row.accepted_at.is_some() || row.expires_at <= now() => InvitationState::Gone,
        Some(_) => InvitationState::Open,
    })
}

/// Accept an invitation: set the password and mark it used. Returns the company and user.
pub async fn accept_invitation(
    store: &Store,
    token: &str,
    password_hash: &str,
) -> Result<(CompanyId, UserId)> {
    let tx = store.write_system().await?;
    let row: Option<InvitationRow> = fetch_optional(
        tx.conn(),
        Query::select()
            .columns([Invitations::CompanyId, Invitations::Id, Invitations::UserId])
            .from(Invitations::Table)
            .and_where(Expr::col(Invitations::TokenHash).eq(crate::sessions::hash_token(token)))
            .and_where(Expr::col(Invitations::AcceptedAt).is_null())
            .and_where(Expr::col(Invitations::ExpiresAt).gt(now())),
    )
    .await?;
    let row = row.ok_or(StoreError::NotFound)?;
    exec(
        tx.conn(),
        Query::update()
            .table(Invitations::Table)
            .value(Invitations::AcceptedAt, now())
            .and_where(Expr::col(Invitations::CompanyId).eq(row.company_id))
            .and_where(Expr::col(Invitations::Id).eq(row.id)),
    )
    .await?;
    set_password_in(&tx, row.user_id, password_hash).await?;
    tx.audit_in(
        row.company_id,
        Resource::Users.as_str(),
        row.user_id,
        "accept_invitation",
        Some(&json!({"password_hash": null})),
        Some(&json!({"password_hash": "set"})),
    )
    .await?;
    tx.commit().await?;
    Ok((row.company_id, row.user_id))
}

async fn set_password_in(tx: &Tx, user_id: UserId, password_hash: &str) -> Result<()> {
    exec(
        tx.conn(),
        Query::update()
            .table(Users::Table)
            .value(Users::PasswordHash, password_hash)
            .value(Users::UpdatedAt, now())
            .and_where(Expr::col(Users::Id).eq(user_id)),
    )
    .await?;
    Ok(())
}

/// The caller's stored password hash (`None` until an invited user sets one).
pub async fn password_hash_of(store: &Store, actor: &Actor) -> Result<Option<String>> {
    let r = store.read(actor).await?;
    let row: Option<UserIdRow> = fetch_optional(
        r.conn(),
        Query::select()
            .columns([Users::Id, Users::PasswordHash])
            .from(Users::Table)
            .and_where(Expr::col(Users::Id).eq(actor.user_id)),
    )
    .await?;
    Ok(row.and_then(|r| r.password_hash))
}

/// Give the caller a new password (already checked and hashed) and end every other session of
/// theirs, in every company; the session they use stays. Audited without the hash. Returns how
/// many sessions ended.
pub async fn change_password(store: &Store, actor: &Actor, password_hash: &str) -> Result<u64> {
    let tx = store.write_across_companies(actor).await?;
    set_password_in(&tx, actor.user_id, password_hash).await?;
    clear_failed_logins_in(&tx, actor.user_id).await?;
    let ended = crate::sessions::revoke_others_in(&tx, actor.user_id, actor.session_id).await?;
    tx.audit_in(
        actor.company_id,
        Resource::Users.as_str(),
        actor.user_id,
        "change_password",
        Some(&json!({"password_hash": "old"})),
        Some(&json!({"password_hash": "new", "sessions_ended": ended})),
    )
    .await?;
    tx.commit().await?;
    Ok(ended)
}

/// Set a person's password through a password reset link (in `tx`, the caller's bypass):
/// the lock-out cleared and every session of theirs ended, in every company. Audited in each of
/// their companies without the hash.
pub(crate) async fn set_password_and_end_sessions(
    tx: &Tx,
    user_id: UserId,
    password_hash: &str,
) -> Result<u64> {
    set_password_in(tx, user_id, password_hash).await?;
    clear_failed_logins_in(tx, user_id).await?;
    let ended = crate::sessions::revoke_others_in(tx, user_id, None).await?;
    let companies: Vec<CompanyRow> = fetch_all(
        tx.conn(),
        Query::select()
            .column(Memberships::CompanyId)
            .from(Memberships::Table)
            .and_where(Expr::col(Memberships::UserId).eq(user_id)),
    )
    .await?;
    for company in companies {
        tx.audit_in(
            company.company_id,
            Resource::Users.as_str(),
            user_id,
            "reset_password",
            Some(&json!({"password_hash": "old"})),
            Some(&json!({"password_hash": "new", "sessions_ended": ended})),
        )
        .await?;
    }
    Ok(ended)
}

#[derive(Debug, FromQueryResult)]
struct CompanyRow {
    company_id: CompanyId,
}

/// Change the caller's own name (the person's, so every company sees it). Audited as an update
/// of the member.
pub async fn rename_me(store: &Store, actor: &Actor, name: &str) -> Result<Member> {
    let tx = store.write(actor).await?;
    let mut q = select_members(actor.company_id);
    q.and_where(Expr::col((Users::Table, Users::Id)).eq(actor.user_id));
    let before: Member = fetch_optional(tx.conn(), &q)
        .await?
        .ok_or(StoreError::NotFound)?;
    exec(
        tx.conn(),
        Query::update()
            .table(Users::Table)
            .value(Users::Name, name)
            .value(Users::UpdatedAt, now())
            .and_where(Expr::col(Users::Id).eq(actor.user_id)),
    )
    .await?;
    let after: Member = fetch_optional(tx.conn(), &q)
        .await?
        .ok_or(StoreError::NotFound)?;
    tx.audit(
        Resource::Users,
        actor.user_id,
        Action::Update,
        Some(&before.audit_json()),
        Some(&after.audit_json()),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// What a company admin may change on a member. `None` leaves a field as it is; for the team,
/// `Some(None)` removes the member from their team.
#[derive(Debug, Clone, Default)]
pub struct MemberPatch {
    pub name: Option<String>,
    pub role_id: Option<RoleId>,
    pub team_id: Option<Option<TeamId>>,
    pub active: Option<bool>,
}

pub async fn update(
    store: &Store,
    actor: &Actor,
    id: UserId,
    patch: &MemberPatch,
) -> Result<Member> {
    let tx = store.write(actor).await?;
    let before = get_in(tx.conn(), actor, Action::Update, id).await?;
    if patch.active == Some(false) && id == actor.user_id {
        return Err(StoreError::invalid(
            "active",
            "you cannot deactivate yourself",
        ));
    }
    if let Some(name) = &patch.name {
        exec(
            tx.conn(),
            Query::update()
                .table(Users::Table)
                .value(Users::Name, name.as_str())
                .value(Users::UpdatedAt, now())
                .and_where(Expr::col(Users::Id).eq(id)),
        )
        .await?;
    }
    let mut update = Query::update();
    update
        .table(Memberships::Table)
        .value(Memberships::UpdatedAt, now())
        .and_where(Expr::col(Memberships::CompanyId).eq(actor.company_id))
        .and_where(Expr::col(Memberships::UserId).eq(id));
    if let Some(role) = patch.role_id {
        update.value(Memberships::RoleId, role);
    }
    if let Some(team) = patch.team_id {
        update.value(Memberships::TeamId, team);
    }
    if let Some(active) = patch.active {
        update.value(Memberships::Active, active);
        if !active {
            revoke_sessions(&tx, actor.company_id, id).await?;
        }
    }
    exec(tx.conn(), &update).await?;
    let mut q = select_members(actor.company_id);
    q.and_where(Expr::col((Users::Table, Users::Id)).eq(id));
    let after: Member = fetch_optional(tx.conn(), &q)
        .await?
        .ok_or(StoreError::NotFound)?;
    tx.audit(
        Resource::Users,
        id,
        Action::Update,
        Some(&before.audit_json()),
        Some(&after.audit_json()),
    )
    .await?;
    tx.commit().await?;
    Ok(after)
}

/// End every session of a member in one company, at once.
async fn revoke_sessions(tx: &Tx, company_id: CompanyId, user_id: UserId) -> Result<()> {
    tx.touches_auth();
    exec(
        tx.conn(),
        Query::update()
            .table(Sessions::Table)
            .value(Sessions::RevokedAt, now())
            .and_where(Expr::col(Sessions::CompanyId).eq(company_id))
            .and_where(Expr::col(Sessions::UserId).eq(user_id))
            .and_where(Expr::col(Sessions::RevokedAt).is_null()),
    )
    .await?;
    Ok(())
}

/// Whether `team_id` is a team of the caller's company.
pub async fn team_exists(store: &Store, actor: &Actor, team_id: TeamId) -> Result<bool> {
    let r = store.read(actor).await?;
    #[derive(FromQueryResult)]
    struct Row {
        #[allow(dead_code)]
        id: UserId,
    }
    let row: Option<Row> = fetch_optional(
        r.conn(),
        Query::select()
            .column(Teams::Id)
            .from(Teams::Table)
            .and_where(Expr::col(Teams::CompanyId).eq(actor.company_id))
            .and_where(Expr::col(Teams::Id).eq(team_id)),
    )
    .await?;
    Ok(row.is_some())
}

/// What sign-in needs to know about a person, found by e-mail before any company is chosen.
#[derive(Debug, Clone, FromQueryResult)]
pub struct Login {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub password_hash: Option<String>,
    pub is_system_admin: bool,
    pub failed_logins: i32,
    pub failed_window_start: Option<DateTime<Utc>>,
    pub locked_until: Option<DateTime<Utc>>,
}

pub async fn find_login(store: &Store, email: &Email) -> Result<Option<Login>> {
    fetch_optional(
        store.system(),
        Query::select()
            .columns([
                Users::Id,
                Users::Email,
                Users::Name,
                Users::PasswordHash,
                Users::IsSystemAdmin,
                Users::FailedLogins,
                Users::FailedWindowStart,
                Users::LockedUntil,
            ])
            .from(Users::Table)
            .and_where(Expr::col(Users::Email).eq(email.as_str())),
    )
    .await
}

/// Count a failed sign-in; the `max`th failure within `window` locks the account for `lock`.
/// Returns the lock's end when this failure locked it.
pub async fn record_failed_login(
    store: &Store,
    login: &Login,
    max: i32,
    window: Duration,
    lock: Duration,
) -> Result<Option<DateTime<Utc>>> {
    let at = now();
    let in_window = login
        .failed_window_start
        .is_some_and(|start| at - start < window);
    let (count, start) = if in_window {
        (
            login.failed_logins + 1,
            login.failed_window_start.unwrap_or(at),
        )
    } else {
        (1, at)
    };
    let locked_until = (count >= max).then(|| at + lock);
    let tx = store.write_system().await?;
    exec(
        tx.conn(),
        Query::update()
            .table(Users::Table)
            .value(
                Users::FailedLogins,
                if locked_until.is_some() { 0 } else { count },
            )
            .value(
                Users::FailedWindowStart,
                if locked_until.is_some() {
                    None
                } else {
                    Some(start)
                },
            )
            .value(Users::LockedUntil, locked_until.or(login.locked_until))
            .and_where(Expr::col(Users::Id).eq(login.id)),
    )
    .await?;
    tx.commit().await?;
    Ok(locked_until)
}

/// Forget a person's failed sign-ins and lift their lock-out, in `tx`.
async fn clear_failed_logins_in(tx: &Tx, user_id: UserId) -> Result<()> {
    exec(
        tx.conn(),
        Query::update()
            .table(Users::Table)
            .value(Users::FailedLogins, 0)
            .value(Users::FailedWindowStart, Option::<DateTime<Utc>>::None)
            .value(Users::LockedUntil, Option::<DateTime<Utc>>::None)
            .and_where(Expr::col(Users::Id).eq(user_id)),
    )
    .await?;
    Ok(())
}

pub async fn reset_failed_logins(store: &Store, user_id: UserId) -> Result<()> {
    let tx = store.write_system().await?;
    clear_failed_logins_in(&tx, user_id).await?;
    tx.commit().await?;
    Ok(())
}

/// One company a person belongs to.
#[derive(Debug, Clone, Serialize, FromQueryResult, utoipa::ToSchema)]
pub struct CompanyMembership {
    #[schema(value_type = uuid::Uuid)]
    pub company_id: CompanyId,
    pub company_name: String,
    #[schema(value_type = uuid::Uuid)]
    pub role_id: RoleId,
    pub role_name: String,
    pub active: bool,
}

/// Every company a person belongs to, oldest membership first.
pub async fn memberships_of(store: &Store, user_id: UserId) -> Result<Vec<CompanyMembership>> {
    use crate::tables::Companies;
    fetch_all(
        store.system(),
        Query::select()
            .column((Memberships::Table, Memberships::CompanyId))
            .expr_as(
                Expr::col((Companies::Table, Companies::Name)),
                "company_name",
            )
            .column((Memberships::Table, Memberships::RoleId))
            .expr_as(Expr::col((Roles::Table, Roles::Name)), "role_name")
            .column((Memberships::Table, Memberships::Active))
            .from(Memberships::Table)
            .join(
                JoinType::InnerJoin,
                Companies::Table,
                Expr::col((Companies::Table, Companies::Id))
                    .equals((Memberships::Table, Memberships::CompanyId)),
            )
            .join(
                JoinType::InnerJoin,
                Roles::Table,
                Expr::col((Roles::Table, Roles::CompanyId))
                    .equals((Memberships::Table, Memberships::CompanyId))
                    .and(
                        Expr::col((Roles::Table, Roles::Id))
                            .equals((Memberships::Table, Memberships::RoleId)),
                    ),
            )
            .and_where(Expr::col((Memberships::Table, Memberships::UserId)).eq(user_id))
            .order_by((Memberships::Table, Memberships::CreatedAt), Order::Asc),
    )
    .await
}

/// Make a user an installation-wide administrator (the first admin, `rivet user create --system-admin`).
pub async fn set_system_admin(tx: &Tx, user_id: UserId, on: bool) -> Result<()> {
    tx.touches_auth();
    exec(
        tx.conn(),
        Query::update()
            .table(Users::Table)
            .value(Users::IsSystemAdmin, on)
            .and_where(Expr::col(Users::Id).eq(user_id)),
    )
    .await?;
    Ok(())
}
