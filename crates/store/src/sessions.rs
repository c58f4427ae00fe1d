//! Sign-in state: sessions (one per login, API or web), the rotating refresh tokens of an API
//! session, and building the [`Actor`] of a request from a session or API key.
//!
//! Secrets (refresh tokens, web session tokens, API keys, invitations) are random 256-bit values
//! given to the client once; only their SHA-256 is stored, so a database leak reveals none.

use crate::tables::{Memberships, RefreshTokens, Roles, Sessions, Teams, Users};
use crate::{Result, Store, exec, fetch_all, fetch_optional, new_id, now};
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use rand::RngCore;
use rivet_domain::Actor;
use rivet_domain::ids::{CompanyId, Id, RoleId, SessionId, TeamId, UserId};
use sea_orm::FromQueryResult;
use sea_orm::sea_query::{Cond, Expr, ExprTrait, JoinType, Query};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// A new random secret, URL-safe.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// What is stored of a secret.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionKind {
    /// Bearer tokens: a JWT access token plus a rotating refresh token.
    Api,
    /// The web UI's cookie, with a CSRF token.
    Web,
}

impl SessionKind {
    fn as_str(self) -> &'static str {
        match self {
            Self::Api => "api",
            Self::Web => "web",
        }
    }
}

/// A session just opened, with the secrets to hand to the client (once).
#[derive(Debug, Clone)]
pub struct NewSession {
    pub id: SessionId,
    /// The refresh token (API) or the cookie value (web).
    pub token: String,
    /// The CSRF token a web session's forms must echo.
    pub csrf_token: Option<String>,
    pub expires_at: DateTime<Utc>,
}

pub async fn open(
    store: &Store,
    company_id: CompanyId,
    user_id: UserId,
    kind: SessionKind,
    ttl: Duration,
) -> Result<NewSession> {
    let id = Id::new();
    let token = random_token();
    let expires_at = now() + ttl;
    let csrf_token = (kind == SessionKind::Web).then(random_token);
    let tx = store.write_system().await?;
    exec(
        tx.conn(),
        Query::insert()
            .into_table(Sessions::Table)
            .columns([
                Sessions::CompanyId,
                Sessions::Id,
                Sessions::UserId,
                Sessions::Kind,
                Sessions::TokenHash,
                Sessions::CsrfToken,
                Sessions::CreatedAt,
                Sessions::ExpiresAt,
            ])
            .values_panic([
                company_id.into(),
                id.into(),
                user_id.into(),
                kind.as_str().into(),
                (kind == SessionKind::Web)
                    .then(|| hash_token(&token))
                    .into(),
                csrf_token.clone().into(),
                now().into(),
                expires_at.into(),
            ]),
    )
    .await?;
    if kind == SessionKind::Api {
        insert_refresh(&tx, company_id, id, &token, expires_at).await?;
    }
    tx.emit(
        company_id,
        &rivet_domain::events::signed_in(kind.as_str()),
        &user_id.to_string(),
        Some(user_id),
    )
    .await?;
    tx.commit().await?;
    Ok(NewSession {
        id,
        token,
        csrf_token,
        expires_at,
    })
}

async fn insert_refresh(
    tx: &crate::Tx,
    company_id: CompanyId,
    session_id: SessionId,
    token: &str,
    expires_at: DateTime<Utc>,
) -> Result<()> {
    exec(
        tx.conn(),
        Query::insert()
            .into_table(RefreshTokens::Table)
            .columns([
                RefreshTokens::CompanyId,
                RefreshTokens::Id,
                RefreshTokens::SessionId,
                RefreshTokens::TokenHash,
                RefreshTokens::ExpiresAt,
                RefreshTokens::CreatedAt,
            ])
            .values_panic([
                company_id.into(),
                new_id().into(),
                session_id.into(),
                hash_token(token).into(),
                expires_at.into(),
                now().into(),
            ]),
    )
    .await?;
    Ok(())
}

#[derive(Debug, FromQueryResult)]
struct RefreshRow {
    company_id: CompanyId,
    id: Uuid,
    session_id: SessionId,
    used_at: Option<DateTime<Utc>>,
    expires_at: DateTime<Utc>,
    user_id: UserId,
    revoked_at: Option<DateTime<Utc>>,
}

/// The outcome of presenting a refresh token.
#[derive(Debug)]
pub enum Refreshed {
    /// A new refresh token for the same session.
    Rotated {
        company_id: CompanyId,
        user_id: UserId,
        session_id: SessionId,
        token: String,
    },
    /// Unknown, expired, or its session is over.
    Invalid,
    /// Already used once: someone replayed it, so the whole session was revoked.
    Reused {
        company_id: CompanyId,
        user_id: UserId,
    },
}

/// Exchange a refresh token for a new one (rotation). A token that was already used revokes
/// its whole family, because one of the two holders is not the user.
pub async fn refresh(store: &Store, token: &str) -> Result<Refreshed> {
    let tx = store.write_system().await?;
    let row: Option<RefreshRow> = fetch_optional(
        tx.conn(),
        Query::select()
            .column((RefreshTokens::Table, RefreshTokens::CompanyId))
            .column((RefreshTokens::Table, RefreshTokens::Id))
            .column((RefreshTokens::Table, RefreshTokens::SessionId))
            .column((RefreshTokens::Table, RefreshTokens::UsedAt))
            .column((RefreshTokens::Table, RefreshTokens::ExpiresAt))
            .column((Sessions::Table, Sessions::UserId))
            .column((Sessions::Table, Sessions::RevokedAt))
            .from(RefreshTokens::Table)
            .join(
                JoinType::InnerJoin,
                Sessions::Table,
                Expr::col((Sessions::Table, Sessions::CompanyId))
                    .equals((RefreshTokens::Table, RefreshTokens::CompanyId))
                    .and(
                        Expr::col((Sessions::Table, Sessions::Id))
                            .equals((RefreshTokens::Table, RefreshTokens::SessionId)),
                    ),
            )
            .and_where(
                Expr::col((RefreshTokens::Table, RefreshTokens::TokenHash)).eq(hash_token(token)),
            ),
    )
    .await?;
    let Some(row) = row else {
        return Ok(Refreshed::Invalid);
    };
    if row.used_at.is_some() {
        revoke_in(&tx, row.company_id, row.session_id).await?;
        tx.commit().await?;
        return Ok(Refreshed::Reused {
            company_id: row.company_id,
            user_id: row.user_id,
        });
    }
    if row.revoked_at.is_some() || row.expires_at <= now() {
        return Ok(Refreshed::Invalid);
    }
    let marked = exec(
        tx.conn(),
        Query::update()
            .table(RefreshTokens::Table)
            .value(RefreshTokens::UsedAt, now())
            .and_where(Expr::col(RefreshTokens::CompanyId).eq(row.company_id))
            .and_where(Expr::col(RefreshTokens::Id).eq(row.id))
            .and_where(Expr::col(RefreshTokens::UsedAt).is_null()),
    )
    .await?;
    if marked == 0 {
        // A concurrent refresh won the race with the same token: treat as reuse.
        revoke_in(&tx, row.company_id, row.session_id).await?;
        tx.commit().await?;
        return Ok(Refreshed::Reused {
            company_id: row.company_id,
            user_id: row.user_id,
        });
    }
    let next = random_token();
    insert_refresh(&tx, row.company_id, row.session_id, &next, row.expires_at).await?;
    tx.commit().await?;
    Ok(Refreshed::Rotated {
        company_id: row.company_id,
        user_id: row.user_id,
        session_id: row.session_id,
        token: next,
    })
}

async fn revoke_in(tx: &crate::Tx, company_id: CompanyId, session_id: SessionId) -> Result<()> {
    tx.touches_auth();
    exec(
        tx.conn(),
        Query::update()
            .table(Sessions::Table)
            .value(Sessions::RevokedAt, now())
            .and_where(Expr::col(Sessions::CompanyId).eq(company_id))
            .and_where(Expr::col(Sessions::Id).eq(session_id))
            .and_where(Expr::col(Sessions::RevokedAt).is_null()),
    )
    .await?;
    Ok(())
}

/// End the caller's session (logout).
pub async fn revoke(store: &Store, actor: &Actor) -> Result<()> {
    let Some(session_id) = actor.session_id else {
        return Ok(());
    };
    let tx = store.write_system().await?;
    revoke_in(&tx, actor.company_id, session_id).await?;
    tx.commit().await
}

/// End every live session of a person except `keep` (the one they are using), in every company
/// they belong to: a password is the person's, not a membership's. An API session's refresh
/// tokens end with it, and its access tokens fail on their next use. Returns how many ended.
pub(crate) async fn revoke_others_in(
    tx: &crate::Tx,
    user_id: UserId,
    keep: Option<SessionId>,
) -> Result<u64> {
    tx.touches_auth();
    let mut update = Query::update();
    update
        .table(Sessions::Table)
        .value(Sessions::RevokedAt, now())
        .and_where(Expr::col(Sessions::UserId).eq(user_id))
        .and_where(Expr::col(Sessions::RevokedAt).is_null())
        .and_where(Expr::col(Sessions::ExpiresAt).gt(now()));
    if let Some(keep) = keep {
        update.and_where(Expr::col(Sessions::Id).ne(keep));
    }
    exec(tx.conn(), &update).await
}

/// Sign the caller out everywhere else: every other session of theirs ends, audited in the
/// caller's company. Returns how many ended.
pub async fn revoke_others(store: &Store, actor: &Actor) -> Result<u64> {
    let tx = store.write_across_companies(actor).await?;
    let ended = revoke_others_in(&tx, actor.user_id, actor.session_id).await?;
    tx.audit_in(
        actor.company_id,
        rivet_domain::Resource::Users.as_str(),
        actor.user_id,
        "sign_out_others",
        None,
        Some(&serde_json::json!({ "sessions_ended": ended })),
    )
    .await?;
    tx.commit().await?;
    Ok(ended)
}

#[derive(Debug, FromQueryResult)]
struct WebSessionRow {
    company_id: CompanyId,
    id: SessionId,
    user_id: UserId,
    csrf_token: Option<String>,
}

/// A live web session found by its cookie value: (company, session, user, CSRF token).
pub async fn find_web(
    store: &Store,
    token: &str,
) -> Result<Option<(CompanyId, SessionId, UserId, String)>> {
    let row: Option<WebSessionRow> = fetch_optional(
        store.system(),
        Query::select()
            .columns([
                Sessions::CompanyId,
                Sessions::Id,
                Sessions::UserId,
                Sessions::CsrfToken,
            ])
            .from(Sessions::Table)
            .and_where(Expr::col(Sessions::TokenHash).eq(hash_token(token)))
            .and_where(Expr::col(Sessions::Kind).eq(SessionKind::Web.as_str()))
            .and_where(Expr::col(Sessions::RevokedAt).is_null())
            .and_where(Expr::col(Sessions::ExpiresAt).gt(now())),
    )
    .await?;
    Ok(row.map(|r| {
        (
            r.company_id,
            r.id,
            r.user_id,
            r.csrf_token.unwrap_or_default(),
        )
    }))
}

#[derive(Debug, FromQueryResult)]
struct ActorRow {
    role_id: RoleId,
    role_updated_at: DateTime<Utc>,
    team_id: Option<TeamId>,
    is_system_admin: bool,
    manages_teams: bool,
}

#[derive(Debug, FromQueryResult)]
struct TeamRow {
    id: TeamId,
}

/// Build the caller of a request: the membership must be active and, when a session is named,
/// that session must be live (so logout and deactivation take effect on the next request).
/// `None` means "not authenticated" — the reason is deliberately not told.
///
/// One query in the usual case: membership, user, session and the role's version together; the
/// role's grants come from a cache checked against that version, and teams are read only for
/// someone who manages one.
pub async fn load_actor(
    store: &Store,
    company_id: CompanyId,
    user_id: UserId,
    session_id: Option<SessionId>,
    role_override: Option<RoleId>,
) -> Result<Option<Actor>> {
    let role_join = match role_override {
        Some(role) => Expr::col((Roles::Table, Roles::Id)).eq(role),
        None => {
            Expr::col((Roles::Table, Roles::Id)).equals((Memberships::Table, Memberships::RoleId))
        }
    };
    let manages = Query::select()
        .expr(Expr::val(1))
        .from(Teams::Table)
        .and_where(
            Expr::col((Teams::Table, Teams::CompanyId))
                .equals((Memberships::Table, Memberships::CompanyId)),
        )
        .and_where(
            Expr::col((Teams::Table, Teams::ManagerId))
                .equals((Memberships::Table, Memberships::UserId)),
        )
        .to_owned();
    let mut q = Query::select();
    q.expr_as(Expr::col((Roles::Table, Roles::Id)), "role_id")
        .expr_as(
            Expr::col((Roles::Table, Roles::UpdatedAt)),
            "role_updated_at",
        )
        .column((Memberships::Table, Memberships::TeamId))
        .column((Users::Table, Users::IsSystemAdmin))
        .expr_as(Expr::exists(manages), "manages_teams")
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
                .and(role_join),
        )
        .and_where(Expr::col((Memberships::Table, Memberships::CompanyId)).eq(company_id))
        .and_where(Expr::col((Memberships::Table, Memberships::UserId)).eq(user_id))
        .and_where(Expr::col((Memberships::Table, Memberships::Active)).eq(true));
    if let Some(session_id) = session_id {
        q.join(
            JoinType::InnerJoin,
            Sessions::Table,
            Cond::all()
                .add(
                    Expr::col((Sessions::Table, Sessions::CompanyId))
                        .equals((Memberships::Table, Memberships::CompanyId)),
                )
                .add(
                    Expr::col((Sessions::Table, Sessions::UserId))
                        .equals((Memberships::Table, Memberships::UserId)),
                )
                .add(Expr::col((Sessions::Table, Sessions::Id)).eq(session_id))
                .add(Expr::col((Sessions::Table, Sessions::RevokedAt)).is_null())
                .add(Expr::col((Sessions::Table, Sessions::ExpiresAt)).gt(now())),
        );
    }
    let Some(row) = fetch_optional::<ActorRow, _, _>(store.system(), &q).await? else {
        return Ok(None);
    };
    let permissions = match store.cached_grants(company_id, row.role_id, row.role_updated_at) {
        Some(set) => set,
        None => {
            let set = std::sync::Arc::new(
                crate::roles::permissions_of(store.system(), company_id, row.role_id).await?,
            );
            store.cache_grants(company_id, row.role_id, row.role_updated_at, &set);
            set
        }
    };
    let mut team_ids: Vec<TeamId> = Vec::new();
    if row.manages_teams {
        let managed: Vec<TeamRow> = fetch_all(
            store.system(),
            Query::select()
                .column(Teams::Id)
                .from(Teams::Table)
                .and_where(Expr::col(Teams::CompanyId).eq(company_id))
                .and_where(Expr::col(Teams::ManagerId).eq(user_id)),
        )
        .await?;
        team_ids.extend(managed.into_iter().map(|t| t.id));
    }
    if let Some(team) = row.team_id
        && !team_ids.contains(&team)
    {
        team_ids.push(team);
    }
    Ok(Some(Actor {
        company_id,
        user_id,
        api_key_id: None,
        session_id,
        role_id: row.role_id,
        permissions,
        team_ids,
        is_system_admin: row.is_system_admin,
        request_id: None,
        via: None,
    }))
}

/// Delete sessions and refresh tokens that ended more than `keep` ago. Returns rows removed.
pub async fn prune(store: &Store, keep: Duration) -> Result<u64> {
    let cutoff = now() - keep;
    let tx = store.write_system().await?;
    let tokens = exec(
        tx.conn(),
        Query::delete()
            .from_table(RefreshTokens::Table)
            .and_where(Expr::col(RefreshTokens::ExpiresAt).lt(cutoff)),
    )
    .await?;
    let sessions = exec(
        tx.conn(),
        Query::delete().from_table(Sessions::Table).cond_where(
            Cond::any()
                .add(Expr::col(Sessions::ExpiresAt).lt(cutoff))
                .add(Expr::col(Sessions::RevokedAt).lt(cutoff)),
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(tokens + sessions)
}
