//! The permission model: `(resource, action) → scope`, the catalog of every pair that exists,
//! and the defaults of the built-in roles.
//!
//! A role grants each pair a [`Scope`]; a route needs a pair with a scope other than `none`, and
//! the store turns the scope into a `WHERE` clause. Anything not granted is `none`.

use crate::choices::choice_enum;
use std::collections::BTreeMap;

choice_enum!(
    /// What a permission is about. Record resources come first; the rest is administration.
    #[derive(PartialOrd, Ord)]
    Resource {
        Leads => "leads",
        Accounts => "accounts",
        Contacts => "contacts",
        Deals => "deals",
        Tasks => "tasks",
        Activities => "activities",
        Users => "users",
        Teams => "teams",
        Roles => "roles",
        ApiKeys => "api_keys",
        Audit => "audit",
        Settings => "settings",
        SystemLogs => "system_logs",
        SystemSettings => "system_settings",
        Jobs => "jobs",
        Events => "events",
        Webhooks => "webhooks",
        Templates => "templates",
        Workflows => "workflows",
        Sequences => "sequences",
    }
);

choice_enum!(
    /// What is done to a resource.
    #[derive(PartialOrd, Ord)]
    Action {
        Read => "read",
        Create => "create",
        Update => "update",
        Delete => "delete",
    }
);

choice_enum!(
    /// How much of a resource a grant covers: every row of the company, the rows owned by the
    /// caller's teams, the caller's own rows, or nothing.
    #[derive(PartialOrd, Ord)]
    Scope {
        All => "all",
        Team => "team",
        Own => "own",
        None => "none",
    }
);

impl Resource {
    /// Sales records: owned by a user, so team and own scopes mean something.
    pub fn is_record(self) -> bool {
        matches!(
            self,
            Self::Leads
                | Self::Accounts
                | Self::Contacts
                | Self::Deals
                | Self::Tasks
                | Self::Activities
        )
    }

    /// The actions that exist for this resource (audit and logs are read-only by design).
    pub fn actions(self) -> &'static [Action] {
        match self {
            Self::Audit | Self::SystemLogs | Self::Events => &[Action::Read],
            Self::Settings | Self::SystemSettings => &[Action::Read, Action::Update],
            Self::Jobs => &[Action::Read, Action::Update],
            _ => Action::ALL,
        }
    }

    /// The scopes a grant on this resource may have. Administration has no owner, so only
    /// all/none, except users, which a manager may read for their team.
    pub fn scopes(self) -> &'static [Scope] {
        if self.is_record() || self == Self::Users {
            Scope::ALL
        } else {
            &[Scope::All, Scope::None]
        }
    }
}

impl Scope {
    /// The wider of two scopes (`all` > `team` > `own` > `none`).
    pub fn widest(self, other: Scope) -> Scope {
        if self.rank() >= other.rank() {
            self
        } else {
            other
        }
    }

    fn rank(self) -> u8 {
        match self {
            Self::All => 3,
            Self::Team => 2,
            Self::Own => 1,
            Self::None => 0,
        }
    }
}

/// Every `(resource, action)` pair that exists, in display order.
pub fn catalog() -> impl Iterator<Item = (Resource, Action)> {
    Resource::ALL
        .iter()
        .flat_map(|r| r.actions().iter().map(move |a| (*r, *a)))
}

/// The grants of one role. Pairs absent from the map are `none`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PermissionSet(BTreeMap<(Resource, Action), Scope>);

impl PermissionSet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn scope(&self, resource: Resource, action: Action) -> Scope {
        self.0
            .get(&(resource, action))
            .copied()
            .unwrap_or(Scope::None)
    }

    pub fn allows(&self, resource: Resource, action: Action) -> bool {
        self.scope(resource, action) != Scope::None
    }

    /// Set a grant; `none` removes it.
    pub fn set(&mut self, resource: Resource, action: Action, scope: Scope) {
        if scope == Scope::None {
            self.0.remove(&(resource, action));
        } else {
            self.0.insert((resource, action), scope);
        }
    }

    pub fn grants(&self) -> impl Iterator<Item = (Resource, Action, Scope)> + '_ {
        self.0.iter().map(|((r, a), s)| (*r, *a, *s))
    }

    /// Check that a grant exists in the catalog and its scope fits the resource.
    pub fn validate_grant(resource: Resource, action: Action, scope: Scope) -> Result<(), String> {
        if !resource.actions().contains(&action) {
            return Err(format!("{resource} has no action {action}"));
        }
        if !resource.scopes().contains(&scope) {
            return Err(format!("{resource} cannot be granted with scope {scope}"));
        }
        Ok(())
    }
}

choice_enum!(
    /// The roles every company starts with. They cannot be deleted or renamed.
    #[derive(PartialOrd, Ord)]
    BuiltinRole {
        Admin => "admin",
        Manager => "manager",
        Sales => "sales",
        Support => "support",
        ReadOnly => "read_only",
    }
);

impl BuiltinRole {
    pub fn description(self) -> &'static str {
        match self {
            Self::Admin => "Everything, including administration.",
            Self::Manager => "Records of their teams; reads their teams' users.",
            Self::Sales => "Their own records.",
            Self::Support => "Reads every record.",
            Self::ReadOnly => "Reads every record; no administration.",
        }
    }

    /// The grants a new company gives this role.
    pub fn default_permissions(self) -> PermissionSet {
        let mut set = PermissionSet::new();
        for (resource, action) in catalog() {
            let scope = match self {
                Self::Admin => Scope::All,
                Self::Manager if resource.is_record() => Scope::Team,
                Self::Manager if resource == Resource::Users && action == Action::Read => {
                    Scope::Team
                }
                Self::Manager if resource == Resource::Teams && action == Action::Read => {
                    Scope::All
                }
                // E-mail templates and sequences: managers keep them, members use them.
                Self::Manager if matches!(resource, Resource::Templates | Resource::Sequences) => {
                    Scope::All
                }
                Self::Sales | Self::Support
                    if matches!(resource, Resource::Templates | Resource::Sequences)
                        && action == Action::Read =>
                {
                    Scope::All
                }
                Self::Sales if resource.is_record() => Scope::Own,
                Self::Support | Self::ReadOnly
                    if resource.is_record() && action == Action::Read =>
                {
                    Scope::All
                }
                _ => Scope::None,
            };
            set.set(resource, action, scope);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_has_every_permission_of_the_catalog() {
        let admin = BuiltinRole::Admin.default_permissions();
        assert!(catalog().all(|(r, a)| admin.scope(r, a) == Scope::All));
    }

    #[test]
    fn sales_owns_records_and_has_no_administration() {
        let sales = BuiltinRole::Sales.default_permissions();
        assert_eq!(sales.scope(Resource::Leads, Action::Delete), Scope::Own);
        assert_eq!(sales.scope(Resource::Users, Action::Read), Scope::None);
        assert_eq!(sales.scope(Resource::Audit, Action::Read), Scope::None);
    }

    #[test]
    fn read_only_cannot_write_anything() {
        let ro = BuiltinRole::ReadOnly.default_permissions();
        assert!(
            ro.grants()
                .all(|(r, a, _)| a == Action::Read && r.is_record())
        );
    }

    #[test]
    fn manager_reads_team_users_and_owns_team_records() {
        let m = BuiltinRole::Manager.default_permissions();
        assert_eq!(m.scope(Resource::Users, Action::Read), Scope::Team);
        assert_eq!(m.scope(Resource::Users, Action::Create), Scope::None);
        assert_eq!(m.scope(Resource::Deals, Action::Update), Scope::Team);
    }

    #[test]
    fn grants_outside_the_catalog_are_rejected() {
        assert!(
            PermissionSet::validate_grant(Resource::Audit, Action::Delete, Scope::All).is_err()
        );
        assert!(PermissionSet::validate_grant(Resource::Roles, Action::Read, Scope::Own).is_err());
        assert!(PermissionSet::validate_grant(Resource::Leads, Action::Read, Scope::Own).is_ok());
    }

    #[test]
    fn names_round_trip() {
        for r in Resource::ALL {
            assert_eq!(r.as_str().parse::<Resource>(), Ok(*r));
        }
        assert!("nope".parse::<Scope>().is_err());
    }
}
