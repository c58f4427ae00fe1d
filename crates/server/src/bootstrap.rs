//! First run and tenant creation, shared by `rivet serve` and the `rivet company` / `rivet user`
//! commands.

use crate::config::Config;
use crate::http::error::AppError;
use crate::password::hash_password;
use rivet_domain::ids::{CompanyId, UserId};
use rivet_domain::validate::parse_name;
use rivet_domain::{BuiltinRole, Email, FieldErrors};
use rivet_store::users::NewMember;
use rivet_store::{Store, companies, users};

/// What was created, for the console.
#[derive(Debug, Clone)]
pub struct CreatedCompany {
    pub company_id: CompanyId,
    pub admin_user_id: UserId,
    pub admin_email: String,
    /// Set when the password was generated here and must be shown once.
    pub generated_password: Option<String>,
}

/// Create a company with its built-in roles and its first admin, in one transaction.
pub async fn create_company(
    store: &Store,
    name: &str,
    admin_email: &str,
    admin_password: &str,
    system_admin: bool,
) -> Result<CreatedCompany, AppError> {
    let settings = rivet_store::settings::get_system(store).await?;
    let mut errors = FieldErrors::new();
    let name = errors.check("name", parse_name(name, 200));
    let email = errors.check("admin_email", Email::parse(admin_email));
    errors.check("admin_password", settings.check_password(admin_password));
    errors.into_result()?;
    let (Some(name), Some(email)) = (name, email) else {
        return Err(AppError::BadRequest("invalid company".into()));
    };
    // A new company's admin is a new person: taking over an existing account's e-mail would
    // hand its owner's identity (and other companies) to whoever signs up.
    if users::find_login(store, &email).await?.is_some() {
        return Err(AppError::Conflict {
            field: "admin_email".into(),
            message: "is already registered; sign in and ask the company's admin to add you".into(),
        });
    }
    let hash = hash_password(admin_password.to_owned()).await?;
    let tx = store.write_system().await?;
    let company = companies::create(&tx, &name).await?;
    let created = users::create_in(
        &tx,
        company.id,
        &NewMember {
            email: email.clone(),
            name: "Administrator".into(),
            role_id: company.admin_role_id,
            team_id: None,
            password_hash: Some(hash),
        },
    )
    .await?;
    if system_admin {
        users::set_system_admin(&tx, created.member.id, true).await?;
    }
    tx.audit_in(
        company.id,
        "users",
        created.member.id,
        "create",
        None,
        Some(&serde_json::json!({"email": email.as_str(), "role": BuiltinRole::Admin.as_str()})),
    )
    .await?;
    tx.commit().await?;
    Ok(CreatedCompany {
        company_id: company.id,
        admin_user_id: created.member.id,
        admin_email: email.to_string(),
        generated_password: None,
    })
}

/// On an empty database create the first company and its admin, who also administers the
/// installation. Returns what was created, or `None` when the database already had a company.
pub async fn first_run(store: &Store, config: &Config) -> Result<Option<CreatedCompany>, AppError> {
    if companies::count(store).await? > 0 {
        return Ok(None);
    }
    let (email, password, generated) = match (&config.admin_email, &config.admin_password) {
        (Some(email), Some(password)) => (email.clone(), password.clone(), false),
        _ => (
            "admin@localhost".to_owned(),
            rivet_store::sessions::random_token(),
            true,
        ),
    };
    let mut created = create_company(store, &config.company_name, &email, &password, true).await?;
    if generated {
        created.generated_password = Some(password);
    }
    Ok(Some(created))
}

/// The company a command names by id or by name (ignoring case).
/// The member `email` of the company `company` (its name or id) as the caller of a command:
/// their role's permissions and scopes apply, as when they sign in.
pub async fn member_actor(
    store: &Store,
    company: &str,
    email: &str,
) -> Result<rivet_domain::Actor, AppError> {
    let company_id = find_company(store, company).await?;
    let not_member =
        || FieldErrors::single("as", format!("{email} is no active member of {company}"));
    let email = Email::parse(email).map_err(|e| FieldErrors::single("as", e.to_string()))?;
    let Some(login) = users::find_login(store, &email).await? else {
        return Err(not_member().into());
    };
    rivet_store::sessions::load_actor(store, company_id, login.id, None, None)
        .await?
        .ok_or_else(|| not_member().into())
}

pub async fn find_company(store: &Store, id_or_name: &str) -> Result<CompanyId, AppError> {
    let wanted = id_or_name.trim();
    if let Ok(id) = wanted.parse::<CompanyId>() {
        return match companies::get_by_id(store, id).await {
            Ok(company) => Ok(company.id),
            Err(rivet_store::StoreError::NotFound) => {
                Err(FieldErrors::single("company", format!("no company has the id {id}")).into())
            }
            Err(e) => Err(e.into()),
        };
    }
    let found = companies::find_by_name(store, wanted).await?;
    match found.as_slice() {
        [one] => Ok(one.id),
        [] => Err(FieldErrors::single(
            "company",
            format!("no company is named {wanted:?} (give its name or its id)"),
        )
        .into()),
        several => Err(FieldErrors::single(
            "company",
            format!(
                "{} companies are named {wanted:?}; give the id of one: {}",
                several.len(),
                several
                    .iter()
                    .map(|c| c.id.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .into()),
    }
}

/// A user added to a company by [`add_user`].
#[derive(Debug, Clone)]
pub struct AddedUser {
    pub user_id: UserId,
    /// The e-mail already belonged to a user (of another company): that user became a member
    /// and kept their name and password.
    pub existing: bool,
}

/// Add a user to a company by role name (the `rivet user create` command), audited as the
/// system. A new e-mail makes a new user with `password`; an e-mail already registered (in
/// another company) adds that user, whose password and name stay as they are.
pub async fn add_user(
    store: &Store,
    company_id: CompanyId,
    email: &str,
    name: &str,
    role: &str,
    password: Option<&str>,
    system_admin: bool,
) -> Result<AddedUser, AppError> {
    let settings = rivet_store::settings::get_system(store).await?;
    let mut errors = FieldErrors::new();
    let email = errors.check("email", Email::parse(email));
    let existing = match &email {
        Some(email) => users::find_login(store, email).await?.is_some(),
        None => false,
    };
    let name = errors.check("name", parse_name(name, 200));
    if !existing {
        match password {
            Some(password) => {
                errors.check("password", settings.check_password(password));
            }
            None => errors.add("password", "is required for a new user"),
        }
    }
    let role_id = rivet_store::roles::find_by_name(store, company_id, role).await?;
    if role_id.is_none() {
        errors.add("role", "no such role in this company");
    }
    errors.into_result()?;
    let (Some(email), Some(name), Some(role_id)) = (email, name, role_id) else {
        return Err(AppError::BadRequest("invalid user".into()));
    };
    let hash = match (existing, password) {
        (false, Some(password)) => Some(hash_password(password.to_owned()).await?),
        _ => None,
    };
    let tx = store.write_system().await?;
    let created = users::create_in(
        &tx,
        company_id,
        &NewMember {
            email: email.clone(),
            name,
            role_id,
            team_id: None,
            password_hash: hash,
        },
    )
    .await?;
    if system_admin {
        users::set_system_admin(&tx, created.member.id, true).await?;
    }
    tx.audit_in(
        company_id,
        "users",
        created.member.id,
        "create",
        None,
        Some(&serde_json::json!({"email": email.as_str(), "role_id": role_id})),
    )
    .await?;
    tx.commit().await?;
    Ok(AddedUser {
        user_id: created.member.id,
        existing,
    })
}
