//! Demo data: `rivet seed --demo` and `rivet serve --demo`.
//!
//! Creates a new company with 10 (small) or 20 (large) demo users in three teams and fills it with realistic,
//! deterministic records: the same seed gives the same names, companies, amounts and relations
//! on every run (ids and dates are derived from the generator, dates relative to today's date).
//!
//! Records are written straight to their tables with multi-row `INSERT`s, one transaction per
//! batch, so a million leads load in minutes. This bypasses the per-record audit on purpose:
//! seeded data is not a change made by a user, so each table gets a single "seeded demo data"
//! audit row instead. Rows go through the normal tables, so any trigger on them still fires.

use crate::http::error::AppError;
use crate::password::hash_password;
use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rivet_domain::ids::{CompanyId, PipelineId, TeamId, UserId};
use rivet_domain::{BuiltinRole, Email};
use rivet_store::sea_orm::ConnectionTrait;
use rivet_store::sea_orm::sea_query::{Alias, DynIden, Expr, IntoIden, Query, SimpleExpr, Value};
use rivet_store::tables::PipelineStages;
use rivet_store::tables::{Accounts, Contacts};
use rivet_store::tables::{Activities, ActivityLinks, Tasks};
use rivet_store::tables::{DealContacts, DealStageHistory, Deals};
use rivet_store::tables::{Leads, Teams};
use rivet_store::users::NewMember;
use rivet_store::{Backend, Store, companies, users};
use std::sync::Arc;
use std::time::Instant;
use uuid::Uuid;

/// The password of every demo user unless `RIVET_DEMO_PASSWORD` says otherwise. It is printed
/// on purpose: demo data is for trying Rivet out.
pub const DEFAULT_DEMO_PASSWORD: &str = "rivet-demo-2024";

/// The generator's seed: fixed, so two runs produce the same data.
const SEED: u64 = 0x5249_5645_5444_454d;

/// How much data to create.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// One company, 10 users and a few thousand records: a first look.
    Small,
    /// A million leads and millions of related records: for benchmarks.
    Large,
}

impl std::str::FromStr for Size {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "small" => Ok(Self::Small),
            "large" => Ok(Self::Large),
            _ => Err("must be small or large".into()),
        }
    }
}

/// Row counts per table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub users: usize,
    pub leads: u64,
    pub accounts: u64,
    pub contacts: u64,
    pub deals: u64,
    pub activities: u64,
    pub tasks: u64,
}

impl Counts {
    /// The counts of `size`, multiplied by `scale` (users are never scaled).
    pub fn of(size: Size, scale: f64) -> Self {
        let base = match size {
            Size::Small => Self {
                users: 10,
                leads: 500,
                accounts: 100,
                contacts: 250,
                deals: 150,
                activities: 1_500,
                tasks: 200,
            },
            Size::Large => Self {
                users: 20,
                leads: 1_000_000,
                accounts: 200_000,
                contacts: 500_000,
                deals: 300_000,
                activities: 3_000_000,
                tasks: 200_000,
            },
        };
        let scale = if scale.is_finite() && scale > 0.0 {
            scale
        } else {
            1.0
        };
        let s = |n: u64| ((n as f64 * scale).round() as u64).max(1);
        Self {
            users: base.users,
            leads: s(base.leads),
            accounts: s(base.accounts),
            contacts: s(base.contacts),
            deals: s(base.deals),
            activities: s(base.activities),
            tasks: s(base.tasks),
        }
    }
}

/// What to seed.
#[derive(Debug, Clone)]
pub struct Options {
    pub company_name: String,
    pub size: Size,
    /// Multiplies every record count (hidden `--scale`; for measuring on a small machine).
    pub scale: f64,
    pub password: String,
}

impl Options {
    pub fn new(size: Size) -> Self {
        Self {
            company_name: "Demo Company".into(),
            size,
            scale: 1.0,
            password: DEFAULT_DEMO_PASSWORD.into(),
        }
    }
}

/// A demo user, for the console.
#[derive(Debug, Clone)]
pub struct DemoUser {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub role: &'static str,
    pub team: Option<&'static str>,
}

/// One table loaded.
#[derive(Debug, Clone)]
pub struct TableDone {
    pub table: &'static str,
    pub rows: u64,
    pub seconds: f64,
}

impl TableDone {
    pub fn rows_per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.rows as f64 / self.seconds
        } else {
            self.rows as f64
        }
    }
}

/// What was created.
#[derive(Debug, Clone)]
pub struct Seeded {
    pub company_id: CompanyId,
    pub users: Vec<DemoUser>,
    pub tables: Vec<TableDone>,
}

/// Seed a new company with demo data. `progress` is called as each table finishes.
pub async fn seed(
    store: &Store,
    options: &Options,
    mut progress: impl FnMut(&TableDone),
) -> Result<Seeded, AppError> {
    let counts = Counts::of(options.size, options.scale);
    let today = Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|t| Utc.from_utc_datetime(&t))
        .unwrap_or_else(Utc::now);
    let started = Instant::now();
    let (company_id, demo_users) = create_company_and_users(store, options, counts.users).await?;
    let people = Owners::new(&demo_users);
    progress(&TableDone {
        table: "users",
        rows: demo_users.len() as u64,
        seconds: started.elapsed().as_secs_f64(),
    });
    let ctx = Ctx {
        store: store.clone(),
        company_id,
        today,
        owners: people,
        created_by: demo_users.first().map_or(UserId::nil(), |u| u.id),
    };
    let load = rivet_store::search::BulkLoad::start(store).await?;
    let loaded = seed_records(&ctx, &counts, &mut progress).await;
    // The search index catches up even when the load failed half-way, so what was written is
    // found (and the next load starts from a consistent index).
    let indexed = Instant::now();
    let finished = load.finish(store).await;
    // A failed load reports its own error rather than a failure to index after it.
    let mut tables = loaded?;
    finished?;
    // The keys duplicate detection looks leads and contacts up by (`m0017_match_keys`): the
    // loader writes rows directly, so they are computed after it, as the migration does.
    let keyed = Instant::now();
    let keys = TableDone {
        table: "match keys",
        rows: rivet_store::duplicates::backfill(store.system()).await?,
        seconds: keyed.elapsed().as_secs_f64(),
    };
    progress(&keys);
    tables.push(keys);
    // Scores are computed, never written: the company's (default) rules and the signals of the
    // activities just logged, by the rescore every upgrade and every settings change runs.
    let scored = Instant::now();
    rivet_store::scoring::rescore(store, Some(company_id), true, &|_, _| {}).await?;
    // Scored from nothing, nearly every lead crosses MQL: the reps' notifications of it stay
    // listed, read, so the demo's bells start empty.
    rivet_store::notifications::mark_company_read(store, company_id).await?;
    rivet_store::qualification::backfill_history(store, company_id).await?;
    // Account health too: from the activities, tasks and deals just loaded (the random values
    // the loader wrote are replaced), with the lifecycle rules applied.
    rivet_store::health::recompute(store, Some(company_id), &|_, _| {}).await?;
    let scores = TableDone {
        table: "lead scores",
        rows: counts.leads,
        seconds: scored.elapsed().as_secs_f64(),
    };
    progress(&scores);
    tables.push(scores);
    if store.backend() == Backend::Sqlite {
        let done = TableDone {
            table: "search index",
            rows: tables
                .iter()
                .filter(|t| ["leads", "contacts", "accounts", "deals"].contains(&t.table))
                .map(|t| t.rows)
                .sum(),
            seconds: indexed.elapsed().as_secs_f64(),
        };
        progress(&done);
        tables.push(done);
    }
    if store.backend() == Backend::Postgres {
        // Fresh statistics, as autovacuum would gather a little later: a benchmark right after
        // seeding should see the plans a settled database gets.
        store
            .system()
            .execute_unprepared(
                "ANALYZE leads, accounts, contacts, deals, deal_stage_history, deal_contacts, \
                 activities, activity_links, tasks, search_docs",
            )
            .await
            .map_err(rivet_store::StoreError::from)?;
    }
    if store.backend() == Backend::Sqlite {
        // Sampled statistics (see `Store::refresh_statistics`): under a second at the large size.
        store
            .system()
            .execute_unprepared("PRAGMA analysis_limit = 1000; ANALYZE;")
            .await
            .map_err(rivet_store::StoreError::from)?;
    }

    Ok(Seeded {
        company_id,
        users: demo_users,
        tables,
    })
}

/// Every record table, in the order their references need.
async fn seed_records(
    ctx: &Ctx,
    counts: &Counts,
    progress: &mut impl FnMut(&TableDone),
) -> Result<Vec<TableDone>, AppError> {
    let mut tables = Vec::new();
    let accounts = seed_accounts(ctx, counts.accounts).await?;
    progress(&accounts.done);
    tables.push(accounts.done.clone());

    let (contacts, contact_ids) = seed_contacts(ctx, counts.contacts, &accounts.rows).await?;
    progress(&contacts);
    tables.push(contacts);

    let (leads, lead_ids) = seed_leads(ctx, counts.leads).await?;
    progress(&leads);
    tables.push(leads);

    let (deal_tables, deals) = seed_deals(ctx, counts.deals, &accounts.rows, &contact_ids).await?;
    for done in deal_tables {
        progress(&done);
        tables.push(done);
    }

    let records = Records {
        leads: lead_ids,
        contacts: contact_ids,
        accounts: accounts.rows.iter().map(|a| a.id).collect(),
        deals: deals.iter().map(|d| d.id).collect(),
    };
    drop(deals);
    seed_activities(ctx, counts.activities, &records, &mut |done| {
        progress(&done);
        tables.push(done);
    })
    .await?;
    let tasks = seed_tasks(ctx, counts.tasks, &records).await?;
    progress(&tasks);
    tables.push(tasks);
    Ok(tables)
}

/// `wanted`, or the first of "`wanted` 2", "`wanted` 3", … that no company is called and whose
/// demo users' e-mail domain is free: seeding twice makes a second company with its own users,
/// instead of a second "Demo Company" joined by the first one's users.
pub async fn free_company_name(store: &Store, wanted: &str) -> Result<String, AppError> {
    let wanted = wanted.trim();
    for n in 1..=1000 {
        let name = if n == 1 {
            wanted.to_owned()
        } else {
            format!("{wanted} {n}")
        };
        let admin = Email::parse(&demo_admin_email(&name))
            .map_err(|e| AppError::BadRequest(format!("company: {e}")))?;
        if companies::find_by_name(store, &name).await?.is_empty()
            && users::find_login(store, &admin).await?.is_none()
        {
            return Ok(name);
        }
    }
    Err(AppError::BadRequest(format!(
        "company: too many companies are named {wanted:?}; choose another name with --company"
    )))
}

/// The demo users' e-mail domain for a company name: `demo-company.test`.
fn demo_domain(company_name: &str) -> String {
    format!("{}.test", slug(company_name.trim(), '-'))
}

fn demo_admin_email(company_name: &str) -> String {
    format!("admin@{}", demo_domain(company_name))
}

/// Whether the database has no company yet (first run of `rivet serve --demo`).
pub async fn database_is_empty(store: &Store) -> Result<bool, AppError> {
    Ok(companies::count(store).await? == 0)
}

struct Ctx {
    store: Store,
    company_id: CompanyId,
    today: DateTime<Utc>,
    owners: Owners,
    created_by: UserId,
}

impl Ctx {
    /// The creation time of row `n` of `total`: over the last two years, oldest first, more
    /// recent times a little more frequent. Rows come in time order, so their time-ordered ids
    /// and time indexes grow at the end instead of at random places (much faster loading).
    fn past(&self, rng: &mut StdRng, n: u64, total: u64) -> DateTime<Utc> {
        let f = ((n as f64 + rng.gen_range(0.0f64..1.0)) / total.max(1) as f64).min(1.0);
        let days = 730.0 * (1.0 - f).powf(1.3);
        let seconds = (days * 86_400.0) as i64;
        self.today - Duration::seconds(seconds)
    }
}

/// A time-ordered id (UUIDv7 layout) whose random part comes from the generator.
fn id_at(rng: &mut StdRng, at: DateTime<Utc>) -> Uuid {
    let bytes: [u8; 10] = rng.r#gen();
    uuid::Builder::from_unix_timestamp_millis(at.timestamp_millis().max(0) as u64, &bytes)
        .into_uuid()
}

/// The record owners: sales reps own most records, managers some.
struct Owners {
    reps: Vec<UserId>,
    managers: Vec<UserId>,
}

impl Owners {
    fn new(users: &[DemoUser]) -> Self {
        let pick = |role: &str| -> Vec<UserId> {
            users
                .iter()
                .filter(|u| u.role == role)
                .map(|u| u.id)
                .collect()
        };
        let mut reps = pick(BuiltinRole::Sales.as_str());
        let managers = pick(BuiltinRole::Manager.as_str());
        if reps.is_empty() {
            reps = users.iter().map(|u| u.id).collect();
        }
        Self { reps, managers }
    }

    fn pick(&self, rng: &mut StdRng) -> UserId {
        if !self.managers.is_empty() && rng.gen_bool(0.1) {
            self.managers[rng.gen_range(0..self.managers.len())]
        } else {
            self.reps[rng.gen_range(0..self.reps.len())]
        }
    }
}

fn choose<'a>(rng: &mut StdRng, list: &[&'a str]) -> &'a str {
    list[rng.gen_range(0..list.len())]
}

/// Lower-case ASCII letters and digits of `text`, other runs turned into `sep`.
fn slug(text: &str, sep: char) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with(sep) {
            out.push(sep);
        }
    }
    while out.ends_with(sep) {
        out.pop();
    }
    if out.is_empty() { "demo".into() } else { out }
}

const TEAMS: [&str; 3] = ["East", "West", "Enterprise"];

async fn create_company_and_users(
    store: &Store,
    options: &Options,
    count: usize,
) -> Result<(CompanyId, Vec<DemoUser>), AppError> {
    use rivet_store::sea_orm::sea_query::ExprTrait;
    let name = options.company_name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AppError::BadRequest(
            "company: must be 1 to 200 characters".into(),
        ));
    }
    let domain = demo_domain(name);
    // Demo users are new people: an existing user would silently join this company too.
    let admin = Email::parse(&demo_admin_email(name))
        .map_err(|e| AppError::BadRequest(format!("company: {e}")))?;
    if users::find_login(store, &admin).await?.is_some() {
        return Err(AppError::Conflict {
            field: "company".into(),
            message: format!(
                "demo users of {domain} exist already (an earlier seed); choose another name"
            ),
        });
    }
    // One hash for every demo user: they share the demo password.
    let hash = hash_password(options.password.clone()).await?;
    let tx = store.write_system().await?;
    let company = companies::create(&tx, name).await?;
    let role = |r: BuiltinRole| {
        company
            .roles
            .iter()
            .find(|(b, _)| *b == r)
            .map(|(_, id)| *id)
            .unwrap_or(company.admin_role_id)
    };
    let at = rivet_store::now();
    let mut team_ids = Vec::new();
    for team in TEAMS {
        let id = TeamId::new();
        tx.conn()
            .execute(
                Query::insert()
                    .into_table(Teams::Table)
                    .columns([
                        Teams::CompanyId,
                        Teams::Id,
                        Teams::Name,
                        Teams::CreatedAt,
                        Teams::UpdatedAt,
                    ])
                    .values_panic([
                        company.id.into(),
                        id.into(),
                        team.into(),
                        at.into(),
                        at.into(),
                    ]),
            )
            .await
            .map_err(rivet_store::StoreError::from)?;
        team_ids.push(id);
    }
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut created = Vec::new();
    let mut used = std::collections::HashSet::new();
    for i in 0..count.max(4) {
        let (role_kind, team) = match i {
            0 => (BuiltinRole::Admin, None),
            1..=3 => (BuiltinRole::Manager, Some(i - 1)),
            _ => (BuiltinRole::Sales, Some((i - 4) % TEAMS.len())),
        };
        let (first, last) = loop {
            let pair = (choose(&mut rng, FIRST_NAMES), choose(&mut rng, LAST_NAMES));
            if used.insert(pair) {
                break pair;
            }
        };
        let email = if i == 0 {
            format!("admin@{domain}")
        } else {
            format!("{}.{}@{domain}", slug(first, '-'), slug(last, '-'))
        };
        let email =
            Email::parse(&email).map_err(|e| AppError::BadRequest(format!("{email}: {e}")))?;
        let name = format!("{first} {last}");
        let member = users::create_in(
            &tx,
            company.id,
            &NewMember {
                email: email.clone(),
                name: name.clone(),
                role_id: role(role_kind),
                team_id: team.map(|t| team_ids[t]),
                password_hash: Some(hash.clone()),
            },
        )
        .await?;
        if role_kind == BuiltinRole::Manager
            && let Some(t) = team
        {
            tx.conn()
                .execute(
                    Query::update()
                        .table(Teams::Table)
                        .value(Teams::ManagerId, member.member.id)
                        .and_where(Expr::col(Teams::CompanyId).eq(company.id))
                        .and_where(Expr::col(Teams::Id).eq(team_ids[t])),
                )
                .await
                .map_err(rivet_store::StoreError::from)?;
        }
        created.push(DemoUser {
            id: member.member.id,
            email: email.to_string(),
            name,
            role: role_kind.as_str(),
            team: team.map(|t| TEAMS[t]),
        });
    }
    tx.audit_in(
        company.id,
        "users",
        company.id,
        "seed",
        None,
        Some(&serde_json::json!({"note": "seeded demo data", "rows": created.len()})),
    )
    .await?;
    tx.commit().await?;
    Ok((company.id, created))
}

/// Write `total` rows made by `row` into `table`, in multi-row `INSERT`s of a size both engines
/// accept, one transaction per batch, one batch at a time.
/// Rows are generated in order on this task, so the data does not depend on the writers.
async fn load_table(
    ctx: &Ctx,
    name: &'static str,
    table: DynIden,
    columns: Vec<DynIden>,
    total: u64,
    mut row: impl FnMut(u64) -> Vec<Value>,
) -> Result<TableDone, AppError> {
    let started = Instant::now();
    // SQLite allows 32,766 bound values per statement, PostgreSQL 65,535; 500 rows keeps a
    // statement well under a second (and its cached prepared form small).
    let per_batch = (32_000 / columns.len().max(1)).clamp(1, 500);
    // One writer on both engines: concurrent multi-row inserts into the search tables deadlock
    // on PostgreSQL (m0014's vocabulary trigger adds each row's words in that row's order, so
    // two statements can take the same words' index entries in opposite orders).
    let writers = 1;
    let columns = Arc::new(columns);
    let (tx, rx) = tokio::sync::mpsc::channel::<Vec<Vec<Value>>>(writers * 2);
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    let mut handles = Vec::new();
    for _ in 0..writers {
        let rx = rx.clone();
        let store = ctx.store.clone();
        let table = table.clone();
        let columns = columns.clone();
        handles.push(tokio::spawn(async move {
            loop {
                let batch = rx.lock().await.recv().await;
                let Some(batch) = batch else {
                    return Ok::<(), AppError>(());
                };
                let mut insert = Query::insert();
                insert
                    .into_table(table.clone())
                    .columns(columns.iter().cloned());
                for values in batch {
                    insert
                        .values(values.into_iter().map(SimpleExpr::from))
                        .map_err(|e| AppError::Internal(anyhow::anyhow!("seed insert: {e}")))?;
                }
                let write = store.write_system().await?;
                if store.backend() == Backend::Sqlite {
                    // A big page cache while loading: the indexes of a million rows do not fit
                    // the 4 MiB a serving connection keeps.
                    write
                        .conn()
                        .execute_unprepared("PRAGMA cache_size = -131072")
                        .await
                        .map_err(rivet_store::StoreError::from)?;
                }
                write
                    .conn()
                    .execute(&insert)
                    .await
                    .map_err(rivet_store::StoreError::from)?;
                write.commit().await?;
            }
        }));
    }
    let mut sent = 0u64;
    let mut report_at = 100_000u64;
    while sent < total {
        let n = (total - sent).min(per_batch as u64);
        let batch: Vec<Vec<Value>> = (sent..sent + n).map(&mut row).collect();
        sent += n;
        if tx.send(batch).await.is_err() {
            break;
        }
        if sent >= report_at && total >= 200_000 {
            let secs = started.elapsed().as_secs_f64();
            eprintln!(
                "  {name}: {sent}/{total} rows ({:.0} rows/s)",
                sent as f64 / secs.max(0.001)
            );
            report_at += total / 10;
        }
    }
    drop(tx);
    for handle in handles {
        handle
            .await
            .map_err(|e| AppError::Internal(anyhow::anyhow!("seed writer: {e}")))??;
    }
    let audit = ctx.store.write_system().await?;
    audit
        .audit_in(
            ctx.company_id,
            name,
            ctx.company_id,
            "seed",
            None,
            Some(&serde_json::json!({"note": "seeded demo data", "rows": total})),
        )
        .await?;
    audit.commit().await?;
    Ok(TableDone {
        table: name,
        rows: total,
        seconds: started.elapsed().as_secs_f64(),
    })
}

fn cols<T: IntoIden>(list: impl IntoIterator<Item = T>) -> Vec<DynIden> {
    list.into_iter().map(IntoIden::into_iden).collect()
}

/// An account as later tables need it.
#[derive(Debug, Clone)]
struct AccountRef {
    id: Uuid,
    owner: UserId,
    name: String,
    domain: String,
    created_at: DateTime<Utc>,
}

struct AccountsLoaded {
    rows: Vec<AccountRef>,
    done: TableDone,
}

/// A company name: "Northwind Logistics", "Blue Harbor Labs 12"…
fn company_name(rng: &mut StdRng, n: u64) -> String {
    let base = format!(
        "{} {}",
        choose(rng, COMPANY_WORDS),
        choose(rng, COMPANY_SUFFIXES)
    );
    let combos = (COMPANY_WORDS.len() * COMPANY_SUFFIXES.len()) as u64;
    if n < combos / 2 {
        base
    } else {
        format!("{base} {}", n / (combos / 2) + 1)
    }
}

fn money_micros(rng: &mut StdRng, low: i64, high: i64) -> i64 {
    // Round amounts to hundreds, as people do.
    (rng.gen_range(low..high) / 100) * 100 * 1_000_000
}

async fn seed_accounts(ctx: &Ctx, total: u64) -> Result<AccountsLoaded, AppError> {
    let mut rng = StdRng::seed_from_u64(SEED ^ 1);
    let mut rows = Vec::with_capacity(total as usize);
    let company_id = ctx.company_id;
    let columns = cols([
        Accounts::CompanyId,
        Accounts::Id,
        Accounts::Name,
        Accounts::Domain,
        Accounts::Industry,
        Accounts::EmployeeCount,
        Accounts::AnnualRevenueMicros,
        Accounts::AnnualRevenueCurrency,
        Accounts::BillingStreet,
        Accounts::BillingCity,
        Accounts::BillingRegion,
        Accounts::BillingPostalCode,
        Accounts::BillingCountry,
        Accounts::OwnerId,
        Accounts::LifecycleStage,
        Accounts::HealthScore,
        Accounts::Tags,
        Accounts::CustomFields,
        Accounts::CreatedBy,
        Accounts::CreatedAt,
        Accounts::UpdatedAt,
    ]);
    let done = load_table(
        ctx,
        "accounts",
        Accounts::Table.into_iden(),
        columns,
        total,
        |n| {
            let at = ctx.past(&mut rng, n, total);
            let id = id_at(&mut rng, at);
            let name = company_name(&mut rng, n);
            let domain = format!("{}.example", slug(&name, '-'));
            let owner = ctx.owners.pick(&mut rng);
            let city = CITIES[rng.gen_range(0..CITIES.len())];
            let employees: i64 = rng.gen_range(5..20_000);
            let stage = choose(
                &mut rng,
                &[
                    "prospect",
                    "prospect",
                    "onboarding",
                    "customer",
                    "customer",
                    "customer",
                    "at_risk",
                    "churned",
                ],
            );
            let tags = pick_tags(&mut rng);
            let updated = at + Duration::hours(rng.gen_range(0..2_000));
            let updated = updated.min(ctx.today);
            let values = vec![
                company_id.into(),
                id.into(),
                name.clone().into(),
                domain.clone().into(),
                choose(&mut rng, INDUSTRIES).into(),
                employees.into(),
                money_micros(&mut rng, 100_000, 500_000_000).into(),
                "USD".into(),
                format!("{} {}", rng.gen_range(1..2_000), choose(&mut rng, STREETS)).into(),
                city.0.into(),
                city.1.into(),
                format!("{:05}", rng.gen_range(10_000..99_999)).into(),
                city.2.into(),
                owner.into(),
                stage.into(),
                Some(rng.gen_range(20..100i32)).into(),
                tags.into(),
                serde_json::json!({}).into(),
                ctx.created_by.into(),
                at.into(),
                updated.into(),
            ];
            rows.push(AccountRef {
                id,
                owner,
                name,
                domain,
                created_at: at,
            });
            values
        },
    )
    .await?;
    Ok(AccountsLoaded { rows, done })
}

fn pick_tags(rng: &mut StdRng) -> serde_json::Value {
    let mut tags = Vec::new();
    for _ in 0..rng.gen_range(0..3) {
        let tag = choose(rng, TAGS);
        if !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    serde_json::json!(tags)
}

fn phone(rng: &mut StdRng) -> String {
    format!(
        "+1 {} {:03} {:04}",
        rng.gen_range(201..989),
        rng.gen_range(200..999),
        rng.gen_range(0..9_999)
    )
}

/// Load contacts; returns their ids in order (contact `i < accounts` is account `i`'s primary).
async fn seed_contacts(
    ctx: &Ctx,
    total: u64,
    accounts: &[AccountRef],
) -> Result<(TableDone, Vec<Uuid>), AppError> {
    let mut rng = StdRng::seed_from_u64(SEED ^ 2);
    let mut ids = Vec::with_capacity(total as usize);
    let company_id = ctx.company_id;
    let columns = cols([
        Contacts::CompanyId,
        Contacts::Id,
        Contacts::FirstName,
        Contacts::LastName,
        Contacts::Title,
        Contacts::Email,
        Contacts::EmailNorm,
        Contacts::Phone,
        Contacts::AccountId,
        Contacts::IsPrimary,
        Contacts::OwnerId,
        Contacts::EmailConsent,
        Contacts::EmailConsentSource,
        Contacts::EmailConsentAt,
        Contacts::City,
        Contacts::Region,
        Contacts::Country,
        Contacts::Tags,
        Contacts::CustomFields,
        Contacts::CreatedBy,
        Contacts::CreatedAt,
        Contacts::UpdatedAt,
    ]);
    let done = load_table(
        ctx,
        "contacts",
        Contacts::Table.into_iden(),
        columns,
        total,
        |n| {
            let first = choose(&mut rng, FIRST_NAMES);
            let last = choose(&mut rng, LAST_NAMES);
            // The first contact of each account is its primary contact; others are spread.
            let (account, primary) = if (n as usize) < accounts.len() {
                (Some(&accounts[n as usize]), true)
            } else if !accounts.is_empty() && rng.gen_bool(0.85) {
                (Some(&accounts[rng.gen_range(0..accounts.len())]), false)
            } else {
                (None, false)
            };
            let mut at = ctx.past(&mut rng, n, total);
            if let Some(a) = account
                && at < a.created_at
            {
                at = a.created_at + Duration::hours(rng.gen_range(1..200));
                at = at.min(ctx.today);
            }
            let id = id_at(&mut rng, at);
            ids.push(id);
            let owner = match account {
                Some(a) if rng.gen_bool(0.9) => a.owner,
                _ => ctx.owners.pick(&mut rng),
            };
            let domain = account
                .map(|a| a.domain.clone())
                .unwrap_or_else(|| choose(&mut rng, FREE_MAIL).to_owned());
            let email = format!(
                "{}.{}{}@{domain}",
                slug(first, '-'),
                slug(last, '-'),
                n % 97
            );
            let consent = rng.gen_bool(0.6);
            let city = CITIES[rng.gen_range(0..CITIES.len())];
            vec![
                company_id.into(),
                id.into(),
                first.into(),
                last.into(),
                choose(&mut rng, TITLES).into(),
                email.clone().into(),
                email.to_lowercase().into(),
                phone(&mut rng).into(),
                account.map(|a| a.id).into(),
                primary.into(),
                owner.into(),
                consent.into(),
                consent.then_some("web_form").into(),
                consent.then_some(at).into(),
                city.0.into(),
                city.1.into(),
                city.2.into(),
                pick_tags(&mut rng).into(),
                serde_json::json!({}).into(),
                ctx.created_by.into(),
                at.into(),
                at.into(),
            ]
        },
    )
    .await?;
    Ok((done, ids))
}

/// One seeded lead in this many is a duplicate of the one before.
const DUPLICATE_EVERY: u64 = 40;

async fn seed_leads(ctx: &Ctx, total: u64) -> Result<(TableDone, Vec<Uuid>), AppError> {
    let mut rng = StdRng::seed_from_u64(SEED ^ 3);
    let mut ids = Vec::with_capacity(total as usize);
    type Person = (&'static str, &'static str, String, String, String, String);
    let mut planted: Option<Person> = None;
    let company_id = ctx.company_id;
    let mut columns = cols([
        Leads::CompanyId,
        Leads::Id,
        Leads::FirstName,
        Leads::LastName,
        Leads::Title,
        Leads::Email,
        Leads::EmailNorm,
        Leads::Phone,
        Leads::CompanyName,
        Leads::Website,
        Leads::Industry,
        Leads::EmployeeCount,
        Leads::AnnualRevenueMicros,
        Leads::AnnualRevenueCurrency,
        Leads::City,
        Leads::Region,
        Leads::Country,
        Leads::Source,
        Leads::UtmSource,
        Leads::UtmCampaign,
        Leads::Status,
        Leads::OwnerId,
        Leads::Tags,
        Leads::FitScore,
        Leads::EngagementScore,
        Leads::TotalScore,
        Leads::CustomFields,
        Leads::CreatedBy,
        Leads::CreatedAt,
        Leads::UpdatedAt,
    ]);
    columns.extend(QUALIFICATION_COLUMNS.map(|c| Alias::new(c).into_iden()));
    // Its own generator, so the other columns are what they were before leads had a checklist.
    let mut qualifying = StdRng::seed_from_u64(SEED ^ 31);
    let done = load_table(
        ctx,
        "leads",
        Leads::Table.into_iden(),
        columns,
        total,
        |n| {
            let at = ctx.past(&mut rng, n, total);
            let id = id_at(&mut rng, at);
            ids.push(id);
            let first = choose(&mut rng, FIRST_NAMES);
            let last = choose(&mut rng, LAST_NAMES);
            let company = company_name(&mut rng, n);
            let domain = format!("{}.example", slug(&company, '-'));
            let email = format!("{}.{}@{domain}", slug(first, '-'), slug(last, '-'));
            let phone = phone(&mut rng);
            // One lead in DUPLICATE_EVERY is the previous person again, as a second form fill
            // or a list bought twice brings them: the same name, company and phone, the e-mail
            // in capitals, so that the duplicate warnings, the scan and the merge page have
            // something to show.
            let (first, last, company, domain, email, phone) = match planted.take() {
                Some(person) if n % DUPLICATE_EVERY == DUPLICATE_EVERY - 1 => person,
                _ => (first, last, company, domain, email, phone),
            };
            planted = Some((
                first,
                last,
                company.clone(),
                domain.clone(),
                email.to_uppercase(),
                phone.clone(),
            ));
            // Older leads have moved on; recent ones are mostly new.
            let age_days = (ctx.today - at).num_days();
            let status = if age_days < 30 && rng.gen_bool(0.7) {
                "new"
            } else {
                choose(
                    &mut rng,
                    &[
                        "new",
                        "contacted",
                        "contacted",
                        "nurturing",
                        "qualified",
                        "unqualified",
                        "unqualified",
                        "converted",
                    ],
                )
            };
            let source = choose(&mut rng, SOURCES);
            let utm = (source == "web" || source == "ads").then(|| choose(&mut rng, UTM_SOURCES));
            let campaign = utm.map(|_| choose(&mut rng, CAMPAIGNS));
            let city = CITIES[rng.gen_range(0..CITIES.len())];
            let updated = (at + Duration::hours(rng.gen_range(0..500))).min(ctx.today);
            let qualified = qualification(&mut qualifying, status);
            let mut row = vec![
                company_id.into(),
                id.into(),
                first.into(),
                last.into(),
                choose(&mut rng, TITLES).into(),
                email.clone().into(),
                email.to_lowercase().into(),
                phone.into(),
                company.into(),
                format!("https://{domain}").into(),
                choose(&mut rng, INDUSTRIES).into(),
                Some(rng.gen_range(1..5_000i64)).into(),
                Some(money_micros(&mut rng, 50_000, 50_000_000)).into(),
                "USD".into(),
                city.0.into(),
                city.1.into(),
                city.2.into(),
                source.into(),
                utm.into(),
                campaign.into(),
                status.into(),
                ctx.owners.pick(&mut rng).into(),
                pick_tags(&mut rng).into(),
                // Computed after the load (`rivet_store::scoring::rescore`).
                0.into(),
                0.into(),
                0.into(),
                serde_json::json!({}).into(),
                ctx.created_by.into(),
                at.into(),
                updated.into(),
            ];
            row.extend(qualified);
            row
        },
    )
    .await?;
    Ok((done, ids))
}

/// The BANT columns a seeded lead fills, then the checklist's figures.
const QUALIFICATION_COLUMNS: [&str; 9] = [
    "budget",
    "budget_status",
    "authority",
    "authority_status",
    "need",
    "need_status",
    "bant_score",
    "meddicc_completeness",
    "meddicc_strength",
];

/// What a seeded lead in `status` knows of its budget, authority and need, as
/// [`QUALIFICATION_COLUMNS`]: a qualified or converted lead passes the default gate (budget and
/// authority known), one further on the way knows some of it, a new one nothing. The figures
/// are the checklist's own arithmetic.
fn qualification(rng: &mut StdRng, status: &str) -> Vec<Value> {
    use rivet_domain::checklist::ChecklistInput;
    let chance = match status {
        "qualified" | "converted" => 1.0,
        "nurturing" => 0.6,
        "contacted" | "unqualified" => 0.3,
        _ => 0.0,
    };
    let mut notes: Vec<(&str, Option<String>, Option<String>)> = Vec::new();
    for (element, note) in [
        (
            "budget",
            [
                "Approved for this year",
                "Set aside for a pilot",
                "In next quarter's plan",
            ],
        ),
        (
            "authority",
            [
                "The COO signs",
                "Head of sales decides",
                "Board approval over 50k",
            ],
        ),
        (
            "need",
            [
                "Pipeline lives in spreadsheets",
                "Lost follow-ups",
                "No forecast they trust",
            ],
        ),
    ] {
        let known = (chance >= 1.0 && element != "need") || rng.gen_bool(chance);
        let status = (known && rng.gen_bool(0.5)).then(|| "confirmed".to_owned());
        let note = known.then(|| note[rng.gen_range(0..note.len())].to_owned());
        notes.push((element, note, status));
    }
    let status_of = |name: &str| {
        notes
            .iter()
            .find(|(e, _, _)| *e == name)
            .and_then(|(_, _, s)| s.clone())
    };
    let input = ChecklistInput {
        statuses: rivet_domain::checklist::ELEMENTS
            .iter()
            .map(|e| status_of(e.name))
            .collect(),
        ..ChecklistInput::default()
    };
    let has_note = |name: &str| notes.iter().any(|(e, n, _)| *e == name && n.is_some());
    let mut errors = rivet_domain::FieldErrors::new();
    let checklist = input.validate(&has_note, None, &mut errors);
    let scores = checklist.scores(&has_note);
    let mut out = Vec::with_capacity(QUALIFICATION_COLUMNS.len());
    for (element, note, _) in &notes {
        out.push(note.clone().into());
        out.push(checklist.status(element).as_str().into());
    }
    out.extend([
        scores.bant_score.into(),
        scores.meddicc_completeness.into(),
        scores.meddicc_strength.into(),
    ]);
    out
}

/// Ids of the records activities and tasks point at.
struct Records {
    leads: Vec<Uuid>,
    contacts: Vec<Uuid>,
    accounts: Vec<Uuid>,
    deals: Vec<Uuid>,
}

impl Records {
    /// A record to link to, by type: deals and contacts most, then leads, then accounts.
    fn pick(&self, rng: &mut StdRng) -> Option<(&'static str, Uuid)> {
        let roll = rng.gen_range(0..10);
        let (kind, list) = match roll {
            0..=3 => ("deal", &self.deals),
            4..=6 => ("contact", &self.contacts),
            7..=8 => ("lead", &self.leads),
            _ => ("account", &self.accounts),
        };
        if list.is_empty() {
            let fallback = [&self.leads, &self.contacts, &self.accounts]
                .into_iter()
                .zip(["lead", "contact", "account"])
                .find(|(l, _)| !l.is_empty())?;
            return Some((fallback.1, fallback.0[rng.gen_range(0..fallback.0.len())]));
        }
        Some((kind, list[rng.gen_range(0..list.len())]))
    }
}

/// A stage of the company's default pipeline.
#[derive(Debug, Clone)]
struct StageRow {
    id: Uuid,
    pipeline_id: PipelineId,
    probability: i32,
    forecast_category: String,
    outcome: String,
}

/// A deal as the history and contact-role tables need it.
struct DealRef {
    id: Uuid,
    created_at: DateTime<Utc>,
    stage: usize,
    stage_changed_at: DateTime<Utc>,
    contact: Option<Uuid>,
    owner: UserId,
}

const PRODUCTS: &[&str] = &[
    "Platform licence",
    "Annual renewal",
    "Expansion",
    "Pilot",
    "Onboarding package",
    "Support upgrade",
    "Enterprise plan",
    "Team plan",
];

const NEXT_STEPS: &[&str] = &[
    "Send proposal",
    "Schedule demo",
    "Follow up with procurement",
    "Security review",
    "Call the champion",
    "Agree on pricing",
];

async fn default_stages(ctx: &Ctx) -> Result<Vec<StageRow>, AppError> {
    use rivet_store::sea_orm::sea_query::ExprTrait;
    let rows = ctx
        .store
        .system()
        .query_all(
            Query::select()
                .columns([
                    PipelineStages::Id,
                    PipelineStages::PipelineId,
                    PipelineStages::Probability,
                    PipelineStages::ForecastCategory,
                    PipelineStages::Outcome,
                ])
                .from(PipelineStages::Table)
                .and_where(Expr::col(PipelineStages::CompanyId).eq(ctx.company_id))
                .order_by(
                    PipelineStages::PipelineId,
                    rivet_store::sea_orm::sea_query::Order::Asc,
                )
                .order_by(
                    PipelineStages::Position,
                    rivet_store::sea_orm::sea_query::Order::Asc,
                ),
        )
        .await
        .map_err(rivet_store::StoreError::from)?;
    let mut stages = Vec::new();
    for row in rows {
        let stage = (|| {
            Ok::<_, rivet_store::sea_orm::DbErr>(StageRow {
                id: row.try_get("", "id")?,
                pipeline_id: row.try_get("", "pipeline_id")?,
                probability: row.try_get("", "probability")?,
                forecast_category: row.try_get("", "forecast_category")?,
                outcome: row.try_get("", "outcome")?,
            })
        })()
        .map_err(rivet_store::StoreError::from)?;
        stages.push(stage);
    }
    // One pipeline (a new company has only its default one).
    if let Some(first) = stages.first().map(|s| s.pipeline_id) {
        stages.retain(|s| s.pipeline_id == first);
    }
    Ok(stages)
}

/// Deals, their stage history and contact roles.
async fn seed_deals(
    ctx: &Ctx,
    total: u64,
    accounts: &[AccountRef],
    contacts: &[Uuid],
) -> Result<(Vec<TableDone>, Vec<DealRef>), AppError> {
    let stages = default_stages(ctx).await?;
    if stages.is_empty() || accounts.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let open: Vec<usize> = (0..stages.len())
        .filter(|i| stages[*i].outcome == "open")
        .collect();
    let won = stages.iter().position(|s| s.outcome == "won");
    let lost = stages.iter().position(|s| s.outcome == "lost");
    let mut rng = StdRng::seed_from_u64(SEED ^ 4);
    let company_id = ctx.company_id;
    let mut deals = Vec::with_capacity(total as usize);
    let columns = cols([
        Deals::CompanyId,
        Deals::Id,
        Deals::Name,
        Deals::AccountId,
        Deals::ContactId,
        Deals::AmountMicros,
        Deals::Currency,
        Deals::CloseDate,
        Deals::OwnerId,
        Deals::PipelineId,
        Deals::StageId,
        Deals::Probability,
        Deals::ForecastCategory,
        Deals::NextStep,
        Deals::ClosedAt,
        Deals::Tags,
        Deals::CustomFields,
        Deals::CreatedBy,
        Deals::CreatedAt,
        Deals::UpdatedAt,
        Deals::StageChangedAt,
    ]);
    let deals_done =
        load_table(
            ctx,
            "deals",
            Deals::Table.into_iden(),
            columns,
            total,
            |n| {
                let a = rng.gen_range(0..accounts.len());
                let account = &accounts[a];
                let mut at = ctx.past(&mut rng, n, total);
                if at < account.created_at {
                    at = (account.created_at + Duration::days(rng.gen_range(1..30))).min(ctx.today);
                }
                let id = id_at(&mut rng, at);
                let age = (ctx.today - at).num_days();
                // Older deals are mostly closed; recent ones are spread over the open stages.
                let stage =
                    match (won, lost) {
                        (Some(w), Some(l)) if age > 90 && rng.gen_bool(0.7) => {
                            if rng.gen_bool(0.4) { w } else { l }
                        }
                        _ if !open.is_empty() => open[rng.gen_range(0..open.len())],
                        _ => 0,
                    };
                let s = &stages[stage];
                let closed = s.outcome != "open";
                let cycle = Duration::days(rng.gen_range(7..120));
                let changed = (at + cycle / 2).min(ctx.today);
                let close_date = if closed {
                    (at + cycle).min(ctx.today)
                } else {
                    ctx.today + Duration::days(rng.gen_range(5..180))
                };
                let contact = contacts.get(a).copied();
                let owner = account.owner;
                let amount = money_micros(&mut rng, 1_000, 250_000);
                let name = format!("{} – {}", account.name, choose(&mut rng, PRODUCTS));
                let values = vec![
                    company_id.into(),
                    id.into(),
                    name.into(),
                    account.id.into(),
                    contact.into(),
                    Some(amount).into(),
                    "USD".into(),
                    close_date.format("%Y-%m-%d").to_string().into(),
                    owner.into(),
                    s.pipeline_id.into(),
                    s.id.into(),
                    s.probability.into(),
                    s.forecast_category.clone().into(),
                    (!closed).then(|| choose(&mut rng, NEXT_STEPS)).into(),
                    closed.then_some(close_date).into(),
                    pick_tags(&mut rng).into(),
                    serde_json::json!({}).into(),
                    ctx.created_by.into(),
                    at.into(),
                    changed.into(),
                    changed.into(),
                ];
                deals.push(DealRef {
                    id,
                    created_at: at,
                    stage,
                    stage_changed_at: changed,
                    contact,
                    owner,
                });
                values
            },
        )
        .await?;

    // History: every deal entered the first stage when created, and its current stage later.
    let history_rows: u64 = deals.iter().map(|d| if d.stage == 0 { 1 } else { 2 }).sum();
    let mut rng = StdRng::seed_from_u64(SEED ^ 5);
    let mut next = 0usize;
    let mut second = false;
    let history_done = load_table(
        ctx,
        "deal_stage_history",
        DealStageHistory::Table.into_iden(),
        cols([
            DealStageHistory::CompanyId,
            DealStageHistory::Id,
            DealStageHistory::DealId,
            DealStageHistory::FromStageId,
            DealStageHistory::ToStageId,
            DealStageHistory::FromPipelineId,
            DealStageHistory::ToPipelineId,
            DealStageHistory::ChangedBy,
            DealStageHistory::ChangedAt,
        ]),
        history_rows,
        |_| {
            let d = &deals[next.min(deals.len() - 1)];
            let pipeline = stages[0].pipeline_id;
            let (from, to, at) = if second {
                (Some(stages[0].id), stages[d.stage].id, d.stage_changed_at)
            } else {
                (None, stages[0].id, d.created_at)
            };
            if second || d.stage == 0 {
                next += 1;
                second = false;
            } else {
                second = true;
            }
            vec![
                company_id.into(),
                id_at(&mut rng, at).into(),
                d.id.into(),
                from.into(),
                to.into(),
                from.map(|_| pipeline).into(),
                pipeline.into(),
                d.owner.into(),
                at.into(),
            ]
        },
    )
    .await?;

    let with_contact: Vec<&DealRef> = deals.iter().filter(|d| d.contact.is_some()).collect();
    let mut rng = StdRng::seed_from_u64(SEED ^ 6);
    let roles = [
        "decision_maker",
        "economic_buyer",
        "champion",
        "influencer",
        "technical_buyer",
    ];
    let contacts_done = load_table(
        ctx,
        "deal_contacts",
        DealContacts::Table.into_iden(),
        cols([
            DealContacts::CompanyId,
            DealContacts::DealId,
            DealContacts::ContactId,
            DealContacts::Role,
            DealContacts::CreatedAt,
        ]),
        with_contact.len() as u64,
        |n| {
            let d = with_contact[n as usize];
            vec![
                company_id.into(),
                d.id.into(),
                d.contact.into(),
                choose(&mut rng, &roles).into(),
                d.created_at.into(),
            ]
        },
    )
    .await?;
    Ok((vec![deals_done, history_done, contacts_done], deals))
}

/// One activity and the records it is linked to; made the same way twice (once for the
/// activities, once for their links) so three million of them need not be kept in memory.
struct ActivityGen<'a> {
    rng: StdRng,
    ctx: &'a Ctx,
    records: &'a Records,
    n: u64,
    total: u64,
}

struct ActivityRow {
    values: Vec<Value>,
    id: Uuid,
    links: Vec<(&'static str, Uuid)>,
}

/// Every third activity is linked to two records, the others to one.
fn links_of(n: u64) -> u64 {
    if n.is_multiple_of(3) { 2 } else { 1 }
}

impl<'a> ActivityGen<'a> {
    fn new(ctx: &'a Ctx, records: &'a Records, total: u64) -> Self {
        Self {
            rng: StdRng::seed_from_u64(SEED ^ 7),
            ctx,
            records,
            n: 0,
            total,
        }
    }

    fn next(&mut self) -> ActivityRow {
        let rng = &mut self.rng;
        let ctx = self.ctx;
        let at = ctx.past(rng, self.n, self.total);
        let id = id_at(rng, at);
        let kind = choose(
            rng,
            &[
                "call", "call", "email", "email", "email", "meeting", "note", "whatsapp", "sms",
            ],
        );
        let direction = match kind {
            "note" => None,
            _ => Some(if rng.gen_bool(0.6) {
                "outbound"
            } else {
                "inbound"
            }),
        };
        let (subject, outcome) = match kind {
            "call" => (
                choose(
                    rng,
                    &[
                        "Discovery call",
                        "Follow-up call",
                        "Pricing call",
                        "Check-in call",
                    ],
                ),
                Some(choose(
                    rng,
                    &[
                        "connected",
                        "left voicemail",
                        "no answer",
                        "call back later",
                    ],
                )),
            ),
            "meeting" => (
                choose(
                    rng,
                    &[
                        "Product demo",
                        "Kick-off meeting",
                        "Quarterly review",
                        "On-site visit",
                    ],
                ),
                Some(choose(
                    rng,
                    &["went well", "needs follow-up", "rescheduled"],
                )),
            ),
            "email" => (
                choose(
                    rng,
                    &[
                        "Proposal",
                        "Re: pricing",
                        "Next steps",
                        "Introduction",
                        "Contract draft",
                    ],
                ),
                None,
            ),
            _ => (
                choose(
                    rng,
                    &[
                        "Quick note",
                        "Reminder",
                        "Asked about integrations",
                        "Budget approved",
                    ],
                ),
                None,
            ),
        };
        let duration: Option<i64> =
            matches!(kind, "call" | "meeting").then(|| rng.gen_range(60..3_600));
        let owner = ctx.owners.pick(rng);
        let mut links = Vec::new();
        for _ in 0..links_of(self.n) {
            if let Some(link) = self.records.pick(rng)
                && !links.contains(&link)
            {
                links.push(link);
            }
        }
        self.n += 1;
        let values = vec![
            ctx.company_id.into(),
            id.into(),
            kind.into(),
            direction.into(),
            subject.into(),
            format!("{subject}: notes from the {kind}.").into(),
            at.into(),
            duration.into(),
            outcome.into(),
            owner.into(),
            owner.into(),
            at.into(),
            at.into(),
        ];
        ActivityRow { values, id, links }
    }
}

async fn seed_activities(
    ctx: &Ctx,
    total: u64,
    records: &Records,
    done: &mut impl FnMut(TableDone),
) -> Result<(), AppError> {
    let mut generator = ActivityGen::new(ctx, records, total);
    let activities = load_table(
        ctx,
        "activities",
        Activities::Table.into_iden(),
        cols([
            Activities::CompanyId,
            Activities::Id,
            Activities::Kind,
            Activities::Direction,
            Activities::Subject,
            Activities::Body,
            Activities::OccurredAt,
            Activities::DurationSeconds,
            Activities::Outcome,
            Activities::OwnerId,
            Activities::CreatedBy,
            Activities::CreatedAt,
            Activities::UpdatedAt,
        ]),
        total,
        |_| generator.next().values,
    )
    .await?;
    done(activities);
    // The same activities again, for their links (a duplicate pick is dropped, so count first).
    let mut counter = ActivityGen::new(ctx, records, total);
    let mut link_total = 0u64;
    for _ in 0..total {
        link_total += counter.next().links.len() as u64;
    }
    let mut generator = ActivityGen::new(ctx, records, total);
    let mut pending: std::collections::VecDeque<(Uuid, &'static str, Uuid)> =
        std::collections::VecDeque::new();
    let company_id = ctx.company_id;
    let links = load_table(
        ctx,
        "activity_links",
        ActivityLinks::Table.into_iden(),
        cols([
            ActivityLinks::CompanyId,
            ActivityLinks::ActivityId,
            ActivityLinks::RecordType,
            ActivityLinks::RecordId,
        ]),
        link_total,
        |_| {
            while pending.is_empty() {
                let a = generator.next();
                pending.extend(a.links.iter().map(|(t, r)| (a.id, *t, *r)));
            }
            let (activity, kind, record) =
                pending
                    .pop_front()
                    .unwrap_or((Uuid::nil(), "lead", Uuid::nil()));
            vec![
                company_id.into(),
                activity.into(),
                kind.into(),
                record.into(),
            ]
        },
    )
    .await?;
    done(links);
    Ok(())
}

async fn seed_tasks(ctx: &Ctx, total: u64, records: &Records) -> Result<TableDone, AppError> {
    let mut rng = StdRng::seed_from_u64(SEED ^ 8);
    let company_id = ctx.company_id;
    load_table(
        ctx,
        "tasks",
        Tasks::Table.into_iden(),
        cols([
            Tasks::CompanyId,
            Tasks::Id,
            Tasks::Subject,
            Tasks::Description,
            Tasks::DueAt,
            Tasks::Priority,
            Tasks::Status,
            Tasks::CompletedAt,
            Tasks::AssigneeId,
            Tasks::RelatedType,
            Tasks::RelatedId,
            Tasks::CreatedBy,
            Tasks::CreatedAt,
            Tasks::UpdatedAt,
        ]),
        total,
        |n| {
            let at = ctx.past(&mut rng, n, total);
            let id = id_at(&mut rng, at);
            let due = at + Duration::days(rng.gen_range(1..21));
            let status = if due < ctx.today {
                choose(
                    &mut rng,
                    &["completed", "completed", "completed", "cancelled", "open"],
                )
            } else {
                choose(&mut rng, &["open", "open", "in_progress"])
            };
            let completed =
                (status == "completed").then(|| due - Duration::hours(rng.gen_range(0..48)));
            let related = records.pick(&mut rng);
            let subject = choose(
                &mut rng,
                &[
                    "Call back",
                    "Send proposal",
                    "Prepare demo",
                    "Follow up on e-mail",
                    "Update contract",
                    "Book meeting",
                    "Check budget",
                ],
            );
            let assignee = ctx.owners.pick(&mut rng);
            vec![
                company_id.into(),
                id.into(),
                subject.into(),
                Some(format!("{subject} — seeded demo task")).into(),
                Some(due).into(),
                choose(&mut rng, &["low", "normal", "normal", "high", "urgent"]).into(),
                status.into(),
                completed.into(),
                assignee.into(),
                related.map(|(t, _)| t).into(),
                related.map(|(_, r)| r).into(),
                ctx.created_by.into(),
                at.into(),
                completed.unwrap_or(at).into(),
            ]
        },
    )
    .await
}

const FIRST_NAMES: &[&str] = &[
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Christopher",
    "Lisa",
    "Daniel",
    "Nancy",
    "Matthew",
    "Betty",
    "Anthony",
    "Margaret",
    "Mark",
    "Sandra",
    "Donald",
    "Ashley",
    "Steven",
    "Kimberly",
    "Paul",
    "Emily",
    "Andrew",
    "Donna",
    "Joshua",
    "Michelle",
    "Kenneth",
    "Carol",
    "Kevin",
    "Amanda",
    "Brian",
    "Dorothy",
    "George",
    "Melissa",
    "Timothy",
    "Deborah",
    "Ronald",
    "Stephanie",
    "Edward",
    "Rebecca",
    "Jason",
    "Sharon",
    "Jeffrey",
    "Laura",
    "Ryan",
    "Cynthia",
    "Jacob",
    "Kathleen",
    "Gary",
    "Amy",
    "Nicholas",
    "Angela",
    "Eric",
    "Shirley",
    "Jonathan",
    "Anna",
    "Stephen",
    "Brenda",
    "Larry",
    "Pamela",
    "Justin",
    "Emma",
    "Scott",
    "Nicole",
    "Brandon",
    "Helen",
    "Benjamin",
    "Samantha",
    "Samuel",
    "Katherine",
    "Gregory",
    "Christine",
    "Alexander",
    "Debra",
    "Frank",
    "Rachel",
    "Patrick",
    "Carolyn",
    "Raymond",
    "Janet",
    "Jack",
    "Catherine",
    "Dennis",
    "Maria",
    "Jerry",
    "Heather",
    "Tyler",
    "Diane",
    "Aaron",
    "Ruth",
    "Jose",
    "Julie",
    "Adam",
    "Olivia",
    "Nathan",
    "Joyce",
    "Henry",
    "Virginia",
    "Zachary",
    "Victoria",
    "Douglas",
    "Kelly",
    "Peter",
    "Lauren",
    "Kyle",
    "Christina",
    "Noah",
    "Joan",
    "Ethan",
    "Evelyn",
    "Jeremy",
    "Judith",
    "Walter",
    "Megan",
    "Christian",
    "Andrea",
    "Keith",
    "Cheryl",
    "Roger",
    "Hannah",
    "Terry",
    "Jacqueline",
    "Austin",
    "Martha",
    "Sean",
    "Gloria",
    "Gerald",
    "Teresa",
    "Carl",
    "Ann",
    "Harold",
    "Sara",
    "Dylan",
    "Madison",
    "Arthur",
    "Frances",
    "Lawrence",
    "Kathryn",
    "Jordan",
    "Janice",
    "Jesse",
    "Jean",
    "Bryan",
    "Abigail",
    "Billy",
    "Alice",
    "Bruce",
    "Judy",
    "Gabriel",
    "Sophia",
    "Joe",
    "Grace",
    "Logan",
    "Denise",
    "Alan",
    "Amber",
    "Juan",
    "Doris",
    "Albert",
    "Marilyn",
    "Willie",
    "Danielle",
    "Elijah",
    "Beverly",
    "Wayne",
    "Isabella",
    "Randy",
    "Theresa",
    "Vincent",
    "Diana",
    "Mason",
    "Natalie",
    "Roy",
    "Brittany",
    "Ralph",
    "Charlotte",
    "Bobby",
    "Marie",
    "Russell",
    "Kayla",
    "Bradley",
    "Alexis",
    "Philip",
    "Lori",
    "Priya",
    "Wei",
    "Yuki",
    "Aisha",
    "Mateo",
    "Lucia",
    "Omar",
    "Ingrid",
    "Sven",
    "Chloe",
];

const LAST_NAMES: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Torres",
    "Nguyen",
    "Hill",
    "Flores",
    "Green",
    "Adams",
    "Nelson",
    "Baker",
    "Hall",
    "Rivera",
    "Campbell",
    "Mitchell",
    "Carter",
    "Roberts",
    "Gomez",
    "Phillips",
    "Evans",
    "Turner",
    "Diaz",
    "Parker",
    "Cruz",
    "Edwards",
    "Collins",
    "Reyes",
    "Stewart",
    "Morris",
    "Morales",
    "Murphy",
    "Cook",
    "Rogers",
    "Gutierrez",
    "Ortiz",
    "Morgan",
    "Cooper",
    "Peterson",
    "Bailey",
    "Reed",
    "Kelly",
    "Howard",
    "Ramos",
    "Kim",
    "Cox",
    "Ward",
    "Richardson",
    "Watson",
    "Brooks",
    "Chavez",
    "Wood",
    "James",
    "Bennett",
    "Gray",
    "Mendoza",
    "Ruiz",
    "Hughes",
    "Price",
    "Alvarez",
    "Castillo",
    "Sanders",
    "Patel",
    "Myers",
    "Long",
    "Ross",
    "Foster",
    "Jimenez",
    "Powell",
    "Jenkins",
    "Perry",
    "Russell",
    "Sullivan",
    "Bell",
    "Coleman",
    "Butler",
    "Henderson",
    "Barnes",
    "Gonzales",
    "Fisher",
    "Vasquez",
    "Simmons",
    "Romero",
    "Jordan",
    "Patterson",
    "Alexander",
    "Hamilton",
    "Graham",
    "Reynolds",
    "Griffin",
    "Wallace",
    "Moreno",
    "West",
    "Cole",
    "Hayes",
    "Bryant",
    "Herrera",
    "Gibson",
    "Ellis",
    "Tran",
    "Medina",
    "Aguilar",
    "Stevens",
    "Murray",
    "Ford",
    "Castro",
    "Marshall",
    "Owens",
    "Harrison",
    "Fernandez",
    "McDonald",
    "Woods",
    "Washington",
    "Kennedy",
    "Wells",
    "Vargas",
    "Henry",
    "Chen",
    "Freeman",
    "Webb",
    "Tucker",
    "Guzman",
    "Burns",
    "Crawford",
    "Olson",
    "Simpson",
    "Porter",
    "Hunter",
    "Gordon",
    "Mendez",
    "Silva",
    "Shaw",
    "Snyder",
    "Mason",
    "Dixon",
    "Munoz",
    "Hunt",
    "Hicks",
    "Holmes",
    "Palmer",
    "Wagner",
    "Black",
    "Robertson",
    "Boyd",
    "Rose",
    "Stone",
    "Salazar",
    "Fox",
    "Warren",
    "Mills",
    "Meyer",
    "Rice",
    "Schmidt",
    "Garza",
    "Daniels",
    "Ferguson",
    "Nichols",
    "Stephens",
    "Soto",
    "Weaver",
    "Ryan",
    "Gardner",
    "Payne",
    "Grant",
    "Dunn",
    "Kowalski",
    "Nakamura",
    "Okafor",
    "Larsen",
    "Dubois",
    "Rossi",
    "Novak",
    "Singh",
    "Haddad",
    "Lindqvist",
];

const COMPANY_WORDS: &[&str] = &[
    "Northwind",
    "Blue Harbor",
    "Summit",
    "Ironwood",
    "Bright Path",
    "Cedar",
    "Evergreen",
    "Granite",
    "Horizon",
    "Keystone",
    "Lakeside",
    "Maple",
    "Nimbus",
    "Oakridge",
    "Pinnacle",
    "Quantum",
    "Redwood",
    "Silverline",
    "Trident",
    "Union",
    "Vertex",
    "Westfield",
    "Apex",
    "Beacon",
    "Cobalt",
    "Delta",
    "Ember",
    "Falcon",
    "Glacier",
    "Harbor",
    "Indigo",
    "Juniper",
    "Kestrel",
    "Lumen",
    "Meridian",
    "Nova",
    "Orion",
    "Polaris",
    "Riverside",
    "Sterling",
    "Titan",
    "Vantage",
    "Willow",
    "Zenith",
    "Atlas",
    "Bluebird",
    "Crescent",
    "Driftwood",
    "Elm Street",
    "Fairview",
];

const COMPANY_SUFFIXES: &[&str] = &[
    "Logistics",
    "Labs",
    "Systems",
    "Foods",
    "Health",
    "Analytics",
    "Manufacturing",
    "Partners",
    "Software",
    "Energy",
    "Retail",
    "Consulting",
    "Robotics",
    "Media",
    "Financial",
    "Construction",
    "Outfitters",
    "Pharma",
    "Networks",
    "Studios",
];

const INDUSTRIES: &[&str] = &[
    "Software",
    "Manufacturing",
    "Healthcare",
    "Financial Services",
    "Retail",
    "Logistics",
    "Education",
    "Energy",
    "Construction",
    "Media",
    "Hospitality",
    "Telecommunications",
    "Real Estate",
    "Agriculture",
    "Government",
];

/// City, region, country.
const CITIES: &[(&str, &str, &str)] = &[
    ("New York", "NY", "US"),
    ("San Francisco", "CA", "US"),
    ("Austin", "TX", "US"),
    ("Chicago", "IL", "US"),
    ("Seattle", "WA", "US"),
    ("Boston", "MA", "US"),
    ("Denver", "CO", "US"),
    ("Atlanta", "GA", "US"),
    ("Miami", "FL", "US"),
    ("Portland", "OR", "US"),
    ("Toronto", "ON", "CA"),
    ("Vancouver", "BC", "CA"),
    ("London", "England", "GB"),
    ("Manchester", "England", "GB"),
    ("Dublin", "Leinster", "IE"),
    ("Berlin", "Berlin", "DE"),
    ("Munich", "Bavaria", "DE"),
    ("Paris", "Île-de-France", "FR"),
    ("Amsterdam", "North Holland", "NL"),
    ("Stockholm", "Stockholm", "SE"),
    ("Madrid", "Madrid", "ES"),
    ("Milan", "Lombardy", "IT"),
    ("Sydney", "NSW", "AU"),
    ("Melbourne", "VIC", "AU"),
    ("Singapore", "Singapore", "SG"),
    ("São Paulo", "SP", "BR"),
    ("Mexico City", "CDMX", "MX"),
    ("Bangalore", "Karnataka", "IN"),
    ("Tokyo", "Tokyo", "JP"),
    ("Cape Town", "Western Cape", "ZA"),
];

const STREETS: &[&str] = &[
    "Main Street",
    "Market Street",
    "Oak Avenue",
    "Park Road",
    "High Street",
    "Harbor Drive",
    "Elm Street",
    "Broadway",
    "Mill Lane",
    "Station Road",
];

const TITLES: &[&str] = &[
    "CEO",
    "CTO",
    "CFO",
    "VP of Sales",
    "VP of Marketing",
    "Head of Operations",
    "IT Director",
    "Procurement Manager",
    "Operations Manager",
    "Marketing Manager",
    "Software Engineer",
    "Product Manager",
    "Office Manager",
    "Founder",
    "Purchasing Agent",
    "Finance Director",
    "HR Manager",
    "Sales Manager",
];

const SOURCES: &[&str] = &[
    "web",
    "web",
    "ads",
    "referral",
    "event",
    "cold_call",
    "partner",
    "import",
    "webinar",
];

const UTM_SOURCES: &[&str] = &["google", "linkedin", "newsletter", "facebook", "bing"];

const CAMPAIGNS: &[&str] = &[
    "spring_launch",
    "webinar_q3",
    "retargeting",
    "brand",
    "free_trial",
    "year_end",
];

const TAGS: &[&str] = &[
    "vip",
    "hot",
    "enterprise",
    "smb",
    "renewal",
    "partner",
    "trade-show",
    "newsletter",
];

const FREE_MAIL: &[&str] = &["mail.example", "inbox.example", "post.example"];
