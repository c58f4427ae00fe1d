//! Duplicate detection's store side (issue 13 §2): the normalized match keys a lead or contact
//! keeps in indexed columns (`email_key`, `phone_key`, `domain_key`, `name_key`,
//! `company_key`, `name_block`; migration `m0017_match_keys`), written with the record and
//! computed by `rivet_domain::duplicates::MatchKeys`, and the look-up of a record's possible
//! duplicates: a few indexed equality probes on each table, in the caller's read scope, then
//! the company's rules in Rust (`find_duplicates`). A company's rules and default country are
//! its [`DuplicateSettings`] (`duplicate_settings`; until an admin saves some, the default
//! rules — exact e-mail and exact phone → warn, against leads and contacts — and no country,
//! so that only a phone written with `+` gets a key). Changing the country re-keys the
//! company's leads and contacts in a job ([`REKEY_JOB`]).

use crate::query::iden;
use crate::record::{self, Record};
use crate::tables::DuplicateSettings as SettingsTable;
use crate::tables::{Contacts, Leads};
use crate::{Result, Store, fetch_all};
use crate::{exec, fetch_optional, now};
use rivet_domain::duplicates::{
    Candidate, DuplicateSettings, Found, MatchAction, MatchEntity, MatchKeys, MatchRule,
    MatchRuleKind, Person, find_duplicates,
};
use rivet_domain::ids::{CompanyId, LeadId};
use rivet_domain::normalize::Country;
use rivet_domain::{Action, Actor, Resource};
use sea_orm::sea_query::OnConflict;
use sea_orm::sea_query::{
    Alias, Cond, DynIden, Expr, ExprTrait, LockType, Query, SelectStatement, Value,
};
use sea_orm::{ConnectionTrait, FromQueryResult};
use serde::Serialize;
use std::collections::HashMap;
use uuid::Uuid;

/// The key columns, by name: the same in both tables.
pub(crate) const KEY_COLUMNS: [&str; 6] = [
    "email_key",
    "phone_key",
    "domain_key",
    "name_key",
    "company_key",
    "name_block",
];

/// The columns that store `keys`, for a record's write.
pub(crate) fn key_columns(keys: MatchKeys) -> Vec<(DynIden, Value)> {
    let MatchKeys {
        email,
        phone,
        domain,
        name,
        company,
        name_block,
    } = keys;
    KEY_COLUMNS
        .into_iter()
        .zip([email, phone, domain, name, company, name_block])
        .map(|(column, value)| (iden(Alias::new(column)), value.into()))
        .collect()
}

/// The key columns of a lead or contact from its validated text fields and e-mail, with its
/// company's name and website (a lead's own, a contact's account's).
pub(crate) fn person_key_columns(
    text: &[(&'static str, Option<String>)],
    email: Option<&str>,
    (company, website): (Option<&str>, Option<&str>),
    country: Option<Country>,
) -> Vec<(DynIden, Value)> {
    key_columns(person_keys(text, email, (company, website), country))
}

/// The keys of a lead or contact from its validated text fields and e-mail, with its company's
/// name and website, phones read in `country`.
pub(crate) fn person_keys(
    text: &[(&'static str, Option<String>)],
    email: Option<&str>,
    (company, website): (Option<&str>, Option<&str>),
    country: Option<Country>,
) -> MatchKeys {
    let field = |name: &str| {
        text.iter()
            .find(|(f, _)| *f == name)
            .and_then(|(_, v)| v.as_deref())
    };
    keys_of(
        Person {
            first_name: field("first_name"),
            last_name: field("last_name"),
            email,
            phone: field("phone"),
            company: company.or(field("company_name")),
            website: website.or(field("website")),
        },
        field("mobile"),
        country,
    )
}

/// The keys of a person as entered (the phone, else the mobile), phones read in `country`.
pub fn keys_of(person: Person<'_>, mobile: Option<&str>, country: Option<Country>) -> MatchKeys {
    let person = Person {
        phone: person.phone.or(mobile),
        ..person
    };
    MatchKeys::of(&person, country)
}

#[derive(Debug, FromQueryResult)]
struct SettingsRow {
    settings: String,
}

/// The duplicate settings of `company` (the defaults until its admin saves some).
pub async fn settings_in<C: ConnectionTrait>(
    conn: &C,
    company: CompanyId,
) -> Result<DuplicateSettings> {
    let row: Option<SettingsRow> = fetch_optional(
        conn,
        Query::select()
            .column(SettingsTable::Settings)
            .from(SettingsTable::Table)
            .and_where(Expr::col(SettingsTable::CompanyId).eq(company)),
    )
    .await?;
    Ok(row
        .and_then(|r| serde_json::from_str(&r.settings).ok())
        .unwrap_or_default())
}

/// The duplicate settings of the transaction's company, read once per transaction (a batch of
/// creates screens and keys every record with them).
pub async fn settings_tx(tx: &crate::Tx, company: CompanyId) -> Result<DuplicateSettings> {
    if let Some(settings) = tx.duplicate_settings.get() {
        return Ok(settings.clone());
    }
    let settings = settings_in(tx.conn(), company).await?;
    Ok(tx.duplicate_settings.get_or_init(|| settings).clone())
}

/// The caller's company's duplicate settings.
pub async fn settings(store: &Store, actor: &Actor) -> Result<DuplicateSettings> {
    let r = store.read(actor).await?;
    settings_in(r.conn(), actor.company_id).await
}

/// The job that recomputes a company's match keys after its default country changed.
pub const REKEY_JOB: &str = "duplicates.rekey";

/// Replace the caller's company's duplicate settings (validated by the caller), audited. A new
/// default country re-keys the company's leads and contacts in a job ([`REKEY_JOB`]), enqueued
/// in the same transaction.
pub async fn put_settings(
    store: &Store,
    actor: &Actor,
    settings: &DuplicateSettings,
) -> Result<DuplicateSettings> {
    let tx = store.write(actor).await?;
    let before = settings_in(tx.conn(), actor.company_id).await?;
    let json = serde_json::to_string(settings)
        .map_err(|e| crate::StoreError::Db(sea_orm::DbErr::Custom(e.to_string())))?;
    exec(
        tx.conn(),
        Query::insert()
            .into_table(SettingsTable::Table)
            .columns([
                SettingsTable::CompanyId,
                SettingsTable::Settings,
                SettingsTable::UpdatedAt,
            ])
            .values_panic([actor.company_id.into(), json.into(), now().into()])
            .on_conflict(
                OnConflict::column(SettingsTable::CompanyId)
                    .update_columns([SettingsTable::Settings, SettingsTable::UpdatedAt])
                    .to_owned(),
            ),
    )
    .await?;
    tx.audit(
        Resource::Settings,
        actor.company_id,
        Action::Update,
        serde_json::to_value(&before).ok().as_ref(),
        serde_json::to_value(settings).ok().as_ref(),
    )
    .await?;
    if before.default_country != settings.default_country {
        crate::jobs::enqueue(
            &tx,
            crate::jobs::NewJob::new(REKEY_JOB, serde_json::json!({}))
                .for_company(actor.company_id),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(settings.clone())
}

/// A record found as a possible duplicate, as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Duplicate {
    /// `lead` or `contact`.
    pub record_type: &'static str,
    pub id: Uuid,
    /// The person's name, else the e-mail address.
    pub name: String,
    pub email: Option<String>,
    /// The rule that matched (`exact_email`, `exact_phone`, …).
    pub rule: String,
    /// What the rule does with a match: `allow`, `warn` or `block`.
    pub action: String,
    /// 1 for an exact rule, the similarity for the others.
    pub confidence: f64,
}

#[derive(Debug, Clone, FromQueryResult)]
struct KeyRow {
    id: Uuid,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    email_key: Option<String>,
    phone_key: Option<String>,
    domain_key: Option<String>,
    name_key: Option<String>,
    company_key: Option<String>,
    name_block: Option<String>,
}

impl KeyRow {
    fn keys(&self) -> MatchKeys {
        MatchKeys {
            email: self.email_key.clone(),
            phone: self.phone_key.clone(),
            domain: self.domain_key.clone(),
            name: self.name_key.clone(),
            company: self.company_key.clone(),
            name_block: self.name_block.clone(),
        }
    }

    fn name(&self) -> String {
        let person = [self.first_name.as_deref(), self.last_name.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        if person.is_empty() {
            self.email.clone().unwrap_or_default()
        } else {
            person
        }
    }
}

/// How many candidates one probe of one table may bring for one record: enough for a person's
/// duplicates, few enough that a common key (a company with thousands of leads) stays a short
/// read.
const PROBE_LIMIT: u64 = 50;

/// The rows of `table` sharing a key with one of `keys` (the id `except` left out), in
/// `scope`: only the keys a rule of `rules` compares, so that the candidates of a rule nobody
/// has (a crowd of Smiths at one company) cannot fill the probe's limit before an exact match.
/// One statement for a batch of records: each key kind's values in one `IN`.
fn probe(
    (table, rules): (DynIden, &[MatchRule]),
    company: Uuid,
    keys: &[&MatchKeys],
    except: Uuid,
    scope: Cond,
) -> Option<SelectStatement> {
    let col = |name: &str| Expr::col((table.clone(), Alias::new(name)));
    let ruled = |kind: MatchRuleKind| rules.iter().any(|r| r.kind == kind);
    fn distinct(values: Vec<&String>) -> Vec<&str> {
        let mut values: Vec<&str> = values.into_iter().map(String::as_str).collect();
        values.sort_unstable();
        values.dedup();
        values
    }
    let mut any = Cond::any();
    for (kind, column, of) in [
        (
            MatchRuleKind::ExactEmail,
            "email_key",
            (|k: &MatchKeys| k.email.as_ref()) as fn(&MatchKeys) -> Option<&String>,
        ),
        (MatchRuleKind::ExactPhone, "phone_key", |k| k.phone.as_ref()),
    ] {
        let values = distinct(keys.iter().filter_map(|k| of(k)).collect());
        if ruled(kind) && !values.is_empty() {
            any = any.add(col(column).is_in(values));
        }
    }
    for (kind, column, of) in [
        (
            MatchRuleKind::DomainAndName,
            "domain_key",
            (|k: &MatchKeys| k.domain.as_ref()) as fn(&MatchKeys) -> Option<&String>,
        ),
        (MatchRuleKind::FuzzyNameAndCompany, "company_key", |k| {
            k.company.as_ref()
        }),
    ] {
        if !ruled(kind) {
            continue;
        }
        // Each record's (key, block) pair; a batch's pairs as the pairs' columns each in a
        // set (a superset the rules narrow down in Rust).
        let pairs: Vec<(&String, &String)> = keys
            .iter()
            .filter_map(|k| Some((of(k)?, k.name_block.as_ref()?)))
            .collect();
        if pairs.is_empty() {
            continue;
        }
        let values = distinct(pairs.iter().map(|p| p.0).collect());
        let blocks = distinct(pairs.iter().map(|p| p.1).collect());
        any = any.add(
            col(column)
                .is_in(values)
                .and(col("name_block").is_in(blocks)),
        );
    }
    if any.is_empty() {
        return None;
    }
    let mut q = Query::select();
    q.columns(
        ["id", "first_name", "last_name", "email"]
            .into_iter()
            .chain(KEY_COLUMNS)
            .map(|c| (table.clone(), Alias::new(c))),
    )
    .from(table.clone())
    .cond_where(
        Cond::all()
            .add(col("company_id").eq(company))
            .add(col("id").ne(except))
            .add(any)
            .add(scope),
    )
    .limit(PROBE_LIMIT * keys.len() as u64);
    Some(q)
}

/// The candidates of `R`'s table that the caller may read for each of `keys` (none without
/// read on it): the rows sharing one of its keys.
async fn candidates<R: Record, C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    (table, entity, rules): (DynIden, MatchEntity, &[MatchRule]),
    keys: &[&MatchKeys],
    except: Uuid,
) -> Result<Vec<Vec<Candidate<KeyRow>>>> {
    let mut each: Vec<Vec<Candidate<KeyRow>>> = keys.iter().map(|_| Vec::new()).collect();
    let Ok(scope) = record::scope::<R>(actor, Action::Read) else {
        return Ok(each);
    };
    let rules: Vec<MatchRule> = rules
        .iter()
        .filter(|r| r.against.contains(&entity))
        .cloned()
        .collect();
    let Some(q) = probe(
        (table, &rules),
        actor.company_id.uuid(),
        keys,
        except,
        scope,
    ) else {
        return Ok(each);
    };
    let rows: Vec<KeyRow> = fetch_all(conn, &q).await?;
    for row in rows {
        let found = row.keys();
        for (i, wanted) in keys.iter().enumerate() {
            if shares_a_key(wanted, &found) {
                each[i].push(Candidate {
                    keys: found.clone(),
                    entity,
                    record: row.clone(),
                });
            }
        }
    }
    Ok(each)
}

/// The keys of `keys` that a probe under `rules` looks records up by, each tagged with its kind:
/// two records of a batch that have one in common could be each other's duplicates, so the
/// intake saves the later one in a later round ([`crate::intake::take_in`]). Keys that no rule
/// compares are left out: under the default rules (e-mail and phone) two rows at the same
/// company with alike names do not wait for each other.
pub(crate) fn probe_keys(rules: &[MatchRule], keys: &MatchKeys) -> Vec<(MatchRuleKind, String)> {
    let ruled = |kind: MatchRuleKind| rules.iter().any(|r| r.kind == kind);
    let mut out = Vec::new();
    if ruled(MatchRuleKind::ExactEmail)
        && let Some(email) = &keys.email
    {
        out.push((MatchRuleKind::ExactEmail, email.clone()));
    }
    if ruled(MatchRuleKind::ExactPhone)
        && let Some(phone) = &keys.phone
    {
        out.push((MatchRuleKind::ExactPhone, phone.clone()));
    }
    if let Some(block) = &keys.name_block {
        for (kind, key) in [
            (MatchRuleKind::DomainAndName, &keys.domain),
            (MatchRuleKind::FuzzyNameAndCompany, &keys.company),
        ] {
            if ruled(kind)
                && let Some(key) = key
            {
                out.push((kind, format!("{key}\u{1f}{block}")));
            }
        }
    }
    out
}

/// `a` and `b` have a key in common that a probe looks up by.
pub(crate) fn shares_a_key(a: &MatchKeys, b: &MatchKeys) -> bool {
    let same = |x: &Option<String>, y: &Option<String>| x.is_some() && x == y;
    same(&a.email, &b.email)
        || same(&a.phone, &b.phone)
        || (same(&a.name_block, &b.name_block)
            && (same(&a.domain, &b.domain) || same(&a.company, &b.company)))
}

/// The possible duplicates of the lead `id` among the leads and contacts the caller may read,
/// surest first. A lead the caller may not read is not found.
pub async fn of_lead(store: &Store, actor: &Actor, id: LeadId) -> Result<Vec<Duplicate>> {
    let lead = record::get::<crate::leads::Lead>(store, actor, id).await?;
    let r = store.read(actor).await?;
    let mut q = Query::select();
    q.columns(
        ["id", "first_name", "last_name", "email"]
            .into_iter()
            .chain(KEY_COLUMNS)
            .map(Alias::new),
    )
    .from(Leads::Table)
    .and_where(Expr::col(Leads::CompanyId).eq(actor.company_id))
    .and_where(Expr::col(Leads::Id).eq(lead.id));
    let own: Vec<KeyRow> = fetch_all(r.conn(), &q).await?;
    let Some(own) = own.first() else {
        return Err(crate::StoreError::NotFound);
    };
    let settings = settings_in(r.conn(), actor.company_id).await?;
    Ok(matches(
        r.conn(),
        actor,
        &settings.rules,
        &own.keys(),
        Some(lead.id.uuid()),
    )
    .await?
    .1)
}

/// The possible duplicates of a person not saved yet (a form being typed), or of the lead
/// `except` as it would be after a change, among the leads and contacts the caller may read.
pub async fn of_person(
    store: &Store,
    actor: &Actor,
    (person, mobile): (Person<'_>, Option<&str>),
    except: Option<Uuid>,
) -> Result<Vec<Duplicate>> {
    let r = store.read(actor).await?;
    let settings = settings_in(r.conn(), actor.company_id).await?;
    let keys = keys_of(person, mobile, settings.country());
    Ok(matches(r.conn(), actor, &settings.rules, &keys, except)
        .await?
        .1)
}

/// The records sharing a key with `keys` that `rules` call duplicates, surest first, with the
/// strongest action among them.
async fn matches<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    rules: &[MatchRule],
    keys: &MatchKeys,
    except: Option<Uuid>,
) -> Result<(MatchAction, Vec<Duplicate>)> {
    let mut all = matches_many(conn, actor, rules, &[keys], except).await?;
    Ok(all.pop().unwrap_or((MatchAction::Allow, Vec::new())))
}

/// [`matches`] for each of a batch's `keys`, with one probe of each table for all of them.
async fn matches_many<C: ConnectionTrait>(
    conn: &C,
    actor: &Actor,
    rules: &[MatchRule],
    keys: &[&MatchKeys],
    except: Option<Uuid>,
) -> Result<Vec<(MatchAction, Vec<Duplicate>)>> {
    let except = except.unwrap_or(Uuid::nil());
    let leads = candidates::<crate::leads::Lead, _>(
        conn,
        actor,
        (iden(Leads::Table), MatchEntity::Leads, rules),
        keys,
        except,
    )
    .await?;
    let contacts = candidates::<crate::contacts::Contact, _>(
        conn,
        actor,
        (iden(Contacts::Table), MatchEntity::Contacts, rules),
        keys,
        except,
    )
    .await?;
    Ok(keys
        .iter()
        .zip(leads.into_iter().zip(contacts))
        .map(|(keys, (mut found, contacts))| {
            found.extend(contacts);
            verdict_of(rules, keys, found)
        })
        .collect())
}

/// The rules' verdict on `found`, as the API shows the matches.
fn verdict_of(
    rules: &[MatchRule],
    keys: &MatchKeys,
    found: Vec<Candidate<KeyRow>>,
) -> (MatchAction, Vec<Duplicate>) {
    let verdict = find_duplicates(rules, keys, found);
    let duplicates = verdict
        .matches
        .into_iter()
        .map(
            |Found {
                 record,
                 entity,
                 matched,
             }| Duplicate {
                record_type: match entity {
                    MatchEntity::Leads => "lead",
                    MatchEntity::Contacts => "contact",
                },
                id: record.id,
                name: record.name(),
                email: record.email.clone(),
                rule: matched.kind.as_str().to_owned(),
                action: matched.action.as_str().to_owned(),
                confidence: matched.confidence,
            },
        )
        .collect();
    (verdict.action, duplicates)
}

/// On PostgreSQL, make concurrent intakes of records that a blocking rule could find to be
/// the same person wait for each other: a transaction-scoped advisory lock per key that a
/// `block` rule compares (company, rule kind and key, hashed), taken before the probe and
/// held to the commit. Without it two transactions creating the same e-mail at once each
/// probe before the other commits and both pass; with it the second probes after the first
/// committed and is refused. Keys are locked in one order, so two batches cannot deadlock. A
/// hash collision only makes two unrelated creates wait. SQLite needs none: its writers are
/// serialized by the write lock taken at `BEGIN IMMEDIATE`.
pub(crate) async fn lock_blocking_keys(
    tx: &crate::Tx,
    company: CompanyId,
    rules: &[MatchRule],
    probed: &[Vec<(MatchRuleKind, String)>],
) -> Result<()> {
    let conn = tx.conn();
    if conn.get_database_backend() != sea_orm::DatabaseBackend::Postgres {
        return Ok(());
    }
    let blocks = |kind: MatchRuleKind| {
        rules
            .iter()
            .any(|r| r.kind == kind && r.action == MatchAction::Block)
    };
    let mut keys: Vec<String> = probed
        .iter()
        .flatten()
        .filter(|(kind, _)| blocks(*kind))
        .map(|(kind, key)| format!("{company}\u{1f}{}\u{1f}{key}", kind.as_str()))
        .collect();
    if keys.is_empty() {
        return Ok(());
    }
    keys.sort_unstable();
    keys.dedup();
    let rows: Vec<String> = (1..=keys.len()).map(|n| format!("(${n})")).collect();
    let sql = format!(
        "SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) \
         FROM (VALUES {}) AS keys(k)",
        rows.join(", ")
    );
    let values: Vec<Value> = keys.into_iter().map(Value::from).collect();
    conn.execute_raw(sea_orm::Statement::from_sql_and_values(
        sea_orm::DatabaseBackend::Postgres,
        sql,
        values,
    ))
    .await?;
    Ok(())
}

/// What the company's rules say about each record of a batch about to be saved: for each of
/// `keys`, the strongest action and every match, those of rules that allow too, surest first
/// (an import skips a row any rule matches).
pub async fn screen_many(
    tx: &crate::Tx,
    actor: &Actor,
    rules: &[MatchRule],
    keys: &[&MatchKeys],
) -> Result<Vec<(MatchAction, Vec<Duplicate>)>> {
    matches_many(tx.conn(), actor, rules, keys, None).await
}

#[derive(Debug, FromQueryResult)]
struct PersonRow {
    company_id: Uuid,
    id: Uuid,
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    mobile: Option<String>,
    company: Option<String>,
    website: Option<String>,
}

/// Rows read and written per round of [`backfill`].
const BACKFILL_BATCH: u64 = 1_000;

/// Fill the keys of every lead and contact that has none yet (`m0017_match_keys` on an
/// existing database, rows a seeder loaded), a batch at a time in primary-key order
/// (`company_id, id`: each batch starts where the last ended, on the key's index), each
/// company's phones read in its default country. Returns how many rows got keys.
pub async fn backfill<C: ConnectionTrait>(conn: &C) -> Result<u64> {
    write_keys(conn, None, Countries::Settings).await
}

/// [`backfill`] as migration `m0017_match_keys` runs it: before any company had settings (their
/// table is `m0018_intake`'s), so with no default country.
pub(crate) async fn backfill_without_settings<C: ConnectionTrait>(conn: &C) -> Result<u64> {
    write_keys(conn, None, Countries::None).await
}

/// Where [`write_keys`] finds a company's default country.
#[derive(Clone, Copy, PartialEq)]
enum Countries {
    Settings,
    None,
}

/// Recompute the keys of every lead and contact of `company` (the [`REKEY_JOB`], after its
/// default country changed). Returns how many rows have keys. Each batch is read and written in
/// one transaction (on PostgreSQL its rows locked as they are read), so that a record changed
/// meanwhile is keyed either before its change (and again by the change's own write) or after
/// it, never with keys of data it no longer has.
pub async fn rekey(store: &Store, company: CompanyId) -> Result<u64> {
    let mut keying = Keying::new(Some(company), Countries::Settings);
    for lead_table in [true, false] {
        loop {
            let tx = store.write_system().await?;
            let more = keying.batch(tx.conn(), lead_table, true).await?;
            tx.commit().await?;
            if !more {
                break;
            }
        }
    }
    Ok(keying.done)
}

/// [`backfill`] (`company` none: the rows without keys) on one connection, statement by
/// statement.
async fn write_keys<C: ConnectionTrait>(
    conn: &C,
    company: Option<CompanyId>,
    countries_from: Countries,
) -> Result<u64> {
    let mut keying = Keying::new(company, countries_from);
    for lead_table in [true, false] {
        while keying.batch(conn, lead_table, false).await? {}
    }
    Ok(keying.done)
}

/// A walk over the leads and contacts whose keys [`rekey`] or [`backfill`] writes, a batch at
/// a time in primary-key order (`company_id, id`: each batch starts where the last ended, on
/// the key's index).
struct Keying {
    company: Option<CompanyId>,
    countries_from: Countries,
    countries: HashMap<Uuid, Option<Country>>,
    /// Where the walk of the table being keyed is: the last row of the last batch.
    after: Option<(Uuid, Uuid)>,
    /// Which table `after` is of.
    of_leads: bool,
    /// Rows given keys so far.
    done: u64,
}

impl Keying {
    fn new(company: Option<CompanyId>, countries_from: Countries) -> Self {
        Self {
            company,
            countries_from,
            countries: HashMap::new(),
            after: None,
            of_leads: true,
            done: 0,
        }
    }

    /// Key the next batch of the leads (`lead_table`) or the contacts, locking its rows on
    /// PostgreSQL when `lock`; false once the table is done.
    async fn batch<C: ConnectionTrait>(
        &mut self,
        conn: &C,
        lead_table: bool,
        lock: bool,
    ) -> Result<bool> {
        if self.of_leads != lead_table {
            self.of_leads = lead_table;
            self.after = None;
        }
        let (company, countries_from) = (self.company, self.countries_from);
        let mut q = Query::select();
        if lead_table {
            q.columns([
                Leads::CompanyId,
                Leads::Id,
                Leads::FirstName,
                Leads::LastName,
                Leads::Email,
                Leads::Phone,
                Leads::Mobile,
            ])
            .expr_as(Expr::col(Leads::CompanyName), "company")
            .column(Leads::Website)
            .from(Leads::Table);
        } else {
            // A contact's company is its account's name.
            use crate::tables::Accounts;
            q.columns([
                (Contacts::Table, Contacts::CompanyId),
                (Contacts::Table, Contacts::Id),
                (Contacts::Table, Contacts::FirstName),
                (Contacts::Table, Contacts::LastName),
                (Contacts::Table, Contacts::Email),
                (Contacts::Table, Contacts::Phone),
                (Contacts::Table, Contacts::Mobile),
            ])
            .expr_as(Expr::col((Accounts::Table, Accounts::Name)), "company")
            .expr_as(Expr::col((Accounts::Table, Accounts::Domain)), "website")
            .from(Contacts::Table)
            .left_join(
                Accounts::Table,
                Expr::col((Accounts::Table, Accounts::CompanyId))
                    .equals((Contacts::Table, Contacts::CompanyId))
                    .and(
                        Expr::col((Accounts::Table, Accounts::Id))
                            .equals((Contacts::Table, Contacts::AccountId)),
                    ),
            );
        }
        let table: DynIden = if lead_table {
            iden(Leads::Table)
        } else {
            iden(Contacts::Table)
        };
        let col = |name: &str| Expr::col((table.clone(), Alias::new(name)));
        match company {
            Some(company) => {
                q.and_where(col("company_id").eq(company));
            }
            None => {
                q.and_where(col("name_block").is_null())
                    .and_where(col("email_key").is_null())
                    .and_where(col("phone_key").is_null());
            }
        }
        q.order_by_expr(col("company_id"), sea_orm::Order::Asc)
            .order_by_expr(col("id"), sea_orm::Order::Asc)
            .limit(BACKFILL_BATCH);
        if let Some((company, id)) = self.after {
            q.cond_where(
                Cond::any()
                    .add(col("company_id").gt(company))
                    .add(col("company_id").eq(company).and(col("id").gt(id))),
            );
        }
        if lock && conn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
            q.lock_with_tables(LockType::Update, [table.clone()]);
        }
        let rows: Vec<PersonRow> = fetch_all(conn, &q).await?;
        let Some(last) = rows.last() else {
            return Ok(false);
        };
        self.after = Some((last.company_id, last.id));
        for row in &rows {
            let country = match self.countries.get(&row.company_id) {
                Some(country) => *country,
                None if countries_from == Countries::None => None,
                None => {
                    let settings = settings_in(conn, CompanyId::from_uuid(row.company_id)).await?;
                    self.countries.insert(row.company_id, settings.country());
                    settings.country()
                }
            };
            let keys = keys_of(
                Person {
                    first_name: row.first_name.as_deref(),
                    last_name: row.last_name.as_deref(),
                    email: row.email.as_deref(),
                    phone: row.phone.as_deref(),
                    company: row.company.as_deref(),
                    website: row.website.as_deref(),
                },
                row.mobile.as_deref(),
                country,
            );
            if company.is_none() && keys == MatchKeys::default() {
                continue;
            }
            let mut update = Query::update();
            update
                .table(table.clone())
                .values(
                    key_columns(keys)
                        .into_iter()
                        .map(|(c, v)| (c, Expr::val(v))),
                )
                .and_where(Expr::col(Alias::new("company_id")).eq(row.company_id))
                .and_where(Expr::col(Alias::new("id")).eq(row.id));
            crate::exec(conn, &update).await?;
            self.done += 1;
        }
        Ok(true)
    }
}
