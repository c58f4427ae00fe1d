//! Who is asking: the authenticated principal of one request, inside one company.

use crate::ids::{ApiKeyId, CompanyId, RoleId, SessionId, TeamId, UserId};
use crate::permissions::{Action, PermissionSet, Resource, Scope};

/// The caller of one request. Every store call takes it, so a query cannot forget the company,
/// and the caller's scope becomes the query's filter.
#[derive(Debug, Clone)]
pub struct Actor {
    pub company_id: CompanyId,
    /// The user acting, or for an API key the user who created it (its "own" rows).
    pub user_id: UserId,
    pub api_key_id: Option<ApiKeyId>,
    /// The session (refresh-token family or web session) the request belongs to.
    pub session_id: Option<SessionId>,
    pub role_id: RoleId,
    /// Shared: an `Actor` is cloned several times per request, the grants never change in it.
    pub permissions: std::sync::Arc<PermissionSet>,
    /// The teams whose rows "team" scope covers: the caller's own team and every team they manage.
    pub team_ids: Vec<TeamId>,
    /// May read and change installation-wide settings, logs and statistics.
    pub is_system_admin: bool,
    pub request_id: Option<String>,
    /// The automated process acting on the user's behalf (`automatic conversion`, `lead
    /// scoring`, …): the audit trail names it beside the user. `None`: the user themself.
    pub via: Option<&'static str>,
}

impl Actor {
    pub fn scope(&self, resource: Resource, action: Action) -> Scope {
        self.permissions.scope(resource, action)
    }

    pub fn can(&self, resource: Resource, action: Action) -> bool {
        self.permissions.allows(resource, action)
    }

    /// The system acting in `company` on behalf of `user` (outside a request: an event
    /// consumer, a job), with no grants; add what it needs with [`Actor::granted`].
    pub fn system(company_id: CompanyId, user_id: UserId) -> Actor {
        Actor {
            company_id,
            user_id,
            api_key_id: None,
            session_id: None,
            role_id: RoleId::nil(),
            permissions: std::sync::Arc::new(PermissionSet::new()),
            team_ids: Vec::new(),
            is_system_admin: false,
            request_id: None,
            via: None,
        }
    }

    /// The same caller, acting through the automated process `process` (what the audit trail
    /// names as the actor beside the user).
    pub fn via(self, process: &'static str) -> Actor {
        Actor {
            via: Some(process),
            ..self
        }
    }

    /// The same caller with each of `pairs` granted at scope all: what the company's own
    /// configuration does on their behalf (an assignment rule's owner and task, a web form's
    /// lead) is not limited by the caller's role; the audit still names them.
    pub fn granted(&self, pairs: &[(Resource, Action)]) -> Actor {
        let mut grants = (*self.permissions).clone();
        for &(resource, action) in pairs {
            grants.set(resource, action, Scope::All);
        }
        Actor {
            permissions: std::sync::Arc::new(grants),
            ..self.clone()
        }
    }
}
