//! How records are named on other records' pages: a contact by its person or e-mail, accounts
//! by id (loaded once per page).

use super::view::{Ctx, Opt, OrPage, WebError, options};
use crate::http::error::AppError;
use rivet_domain::accounts::{ACCOUNT_DEFAULT_SORT, ACCOUNT_FIELDS};
use rivet_domain::ids::AccountId;
use rivet_domain::query::ListQuery;
use rivet_domain::{Action, Resource};
use rivet_store::accounts::{self, Account};
use rivet_store::contacts::Contact;
use rivet_store::page::MAX_LIMIT;
use rivet_store::record;
use std::collections::HashMap;

/// A contact's display name: the person, else the e-mail.
pub(super) fn display_name(contact: &Contact) -> String {
    let person = [contact.first_name.as_deref(), contact.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if person.is_empty() {
        contact
            .email
            .clone()
            .unwrap_or_else(|| "Unnamed contact".into())
    } else {
        person
    }
}

/// The names of the accounts `ids` that the caller may read, in one query; none without read
/// on accounts.
pub(super) async fn names_of(
    ctx: &Ctx,
    ids: impl IntoIterator<Item = AccountId>,
) -> Result<HashMap<AccountId, String>, WebError> {
    if !ctx.can(Resource::Accounts, Action::Read) {
        return Ok(HashMap::new());
    }
    let mut ids: Vec<AccountId> = ids.into_iter().collect();
    ids.sort_unstable();
    ids.dedup();
    accounts::names(&ctx.app.store, &ctx.actor, &ids)
        .await
        .or_page(ctx)
}

/// The accounts the caller may read, by name: for the parent and account selects, and to name
/// the account of a contact. An account beyond the first [`MAX_LIMIT`] is still named when a
/// page needs it (see [`AccountNames::name`]).
pub(super) struct AccountNames {
    /// Sorted by name.
    list: Vec<(AccountId, String)>,
    names: HashMap<AccountId, String>,
}

impl AccountNames {
    pub(super) async fn load(ctx: &Ctx) -> Result<Self, WebError> {
        let mut list = Vec::new();
        if ctx.can(Resource::Accounts, Action::Read) {
            let pairs = [("sort".to_owned(), "name".to_owned())];
            let query = ListQuery::parse(&pairs, ACCOUNT_FIELDS, ACCOUNT_DEFAULT_SORT)
                .map_err(|e| ctx.fail(AppError::BadRequest(e.0)))?;
            let page = record::list::<Account>(&ctx.app.store, &ctx.actor, &query, MAX_LIMIT, None)
                .await
                .or_page(ctx)?;
            list = page.data.into_iter().map(|a| (a.id, a.name)).collect();
        }
        let names = list.iter().cloned().collect();
        Ok(Self { list, names })
    }

    /// Look up, in one query, the names of those of `ids` not loaded yet (a page of rows).
    pub(super) async fn resolve(
        &mut self,
        ctx: &Ctx,
        ids: impl IntoIterator<Item = AccountId>,
    ) -> Result<(), WebError> {
        let missing: Vec<AccountId> = ids
            .into_iter()
            .filter(|id| !self.names.contains_key(id))
            .collect();
        self.names.extend(names_of(ctx, missing).await?);
        Ok(())
    }

    /// The name of an account loaded or resolved before; one the caller may not read is
    /// "Another account".
    pub(super) fn known(&self, id: AccountId) -> String {
        self.names
            .get(&id)
            .cloned()
            .unwrap_or_else(|| "Another account".into())
    }

    /// The account's name, looked up on its own when it is not among the first page.
    pub(super) async fn name(&self, ctx: &Ctx, id: AccountId) -> String {
        if let Some(name) = self.names.get(&id) {
            return name.clone();
        }
        match record::get::<Account>(&ctx.app.store, &ctx.actor, id).await {
            Ok(account) => account.name,
            Err(_) => "Another account".into(),
        }
    }

    /// A select of the accounts, without `except`; the selected one stays choosable.
    pub(super) async fn options(
        &self,
        ctx: &Ctx,
        first: Option<&str>,
        selected: &str,
        except: Option<AccountId>,
    ) -> Vec<Opt> {
        let mut items: Vec<(String, String)> = first
            .map(|label| (String::new(), label.to_owned()))
            .into_iter()
            .collect();
        items.extend(
            self.list
                .iter()
                .filter(|(id, _)| Some(*id) != except)
                .map(|(id, name)| (id.to_string(), name.clone())),
        );
        if let Ok(id) = selected.parse::<AccountId>()
            && !self.names.contains_key(&id)
        {
            items.push((id.to_string(), self.name(ctx, id).await));
        }
        options(items, selected)
    }
}
