//! The `rivet` command: serve the CRM, run workers, migrate, and manage companies and users.

use clap::{Parser, Subcommand};

use rivet_server::Config;
use rivet_server::http::error::AppError;

/// mimalloc (v3) instead of glibc's malloc. A list page allocates thousands of small strings
/// and a few large buffers, and glibc consolidated its fast bins on every large request: a
/// fifth of the list's CPU. mimalloc v2 was as fast but held up to 147 MB under load; v3 peaks
/// ~20 MB above glibc (figures in BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "rivet",
    version,
    about = "Rivet CRM: one binary serving the API (/api/v1) and the web UI.",
    long_about = "Rivet CRM: one binary serving the API (/api/v1) and the web UI.\n\n\
        With no configuration it stores everything in an embedded SQLite file under ./data and \
        listens on http://127.0.0.1:8080. Set DATABASE_URL=postgres://… to use PostgreSQL and \
        REDIS_URL=redis://… to share rate limits between instances.",
    after_help = environment_help()
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and web UI (migrates the database and runs job workers in-process).
    Serve {
        /// On an empty database, after the first-run setup (the first company and its system
        /// administrator), also create a demo company with the small data set (see `rivet seed
        /// --demo`).
        #[arg(long)]
        demo: bool,
    },
    /// Run only the job workers (for a separate worker process sharing the database).
    Worker,
    /// Apply database migrations and exit.
    Migrate,
    /// Recompute every lead's scores now, as the nightly `scoring.rescore` job does (all
    /// companies; progress on stderr), and exit.
    Rescore,
    /// Create a new company filled with deterministic demo data (users, leads, accounts, …).
    #[command(
        long_about = "Create a new company filled with deterministic demo data: 10 users (20 \
            with `--size large`) in three teams (admin, managers, sales reps) sharing one demo \
            password (RIVET_DEMO_PASSWORD, default rivet-demo-2024), and leads, accounts, \
            contacts and the other records owned by them, dated over the last two years. \
            `--size small` (default) is a first look; `--size large` (a million leads, millions \
            of related records) is for benchmarks. Each run creates another company with its own \
            users: when the name is taken, the next free \"<name> 2\", \"<name> 3\", … is used."
    )]
    Seed {
        /// Required: seed demo data (the only kind of seed there is).
        #[arg(long)]
        demo: bool,
        /// small (500 leads) or large (1,000,000 leads).
        #[arg(long, default_value = "small")]
        size: rivet_server::seed::Size,
        /// The new company's name (its users' e-mails end in @<name>.test).
        #[arg(long, default_value = "Demo Company")]
        company: String,
        /// Multiply every record count (for measuring on a small machine).
        #[arg(long, default_value_t = 1.0, hide = true)]
        scale: f64,
    },
    /// Manage companies (tenants).
    Company {
        #[command(subcommand)]
        command: CompanyCommand,
    },
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Write a record list to standard output as CSV or XLSX, as `GET /api/v1/<entity>/export`
    /// does for the member `--as` (their permissions and scope apply).
    Export {
        /// leads, accounts, contacts, deals, tasks or activities.
        #[arg(long)]
        entity: String,
        /// The company: its name or id.
        #[arg(long)]
        company: String,
        /// The e-mail of the member the export is made for.
        #[arg(long = "as")]
        member: String,
        /// csv or xlsx.
        #[arg(long, default_value = "csv")]
        format: String,
        /// The list's filters and sort as its query string, e.g. `status=new&sort=-created_at`
        /// (and `view=<id>` for a saved view of the member's).
        #[arg(long, default_value = "")]
        query: String,
    },
    /// Import a CSV or XLSX file as `POST /api/v1/imports` and its run do, for the member
    /// `--as` (their permissions apply), with a progress bar on standard error.
    #[command(
        long_about = "Import a CSV or XLSX file of leads, contacts, accounts or deals as \
            `POST /api/v1/imports` and `POST /api/v1/imports/{id}/run` do, for the member `--as` \
            (their permissions apply): the file is kept as an import (listed in the web UI, \
            undoable), its columns mapped by the suggested mapping or by `--mapping`, a TOML \
            file with a [mapping] table (column header = \"field\", custom fields as \
            \"cf.<key>\") and an [options] table (duplicate_policy = \"skip\" | \"update\" | \
            \"create\", assignment, default_owner, tags). A progress bar (rows/s, ETA) is \
            drawn on standard error; the summary is printed on standard output."
    )]
    Import {
        /// The file to import (.csv or .xlsx).
        file: std::path::PathBuf,
        /// leads, contacts, accounts or deals.
        #[arg(long)]
        entity: String,
        /// The company: its name or id.
        #[arg(long)]
        company: String,
        /// The e-mail of the member the import is made for.
        #[arg(long = "as")]
        member: String,
        /// A TOML file with [mapping] and [options] tables.
        #[arg(long)]
        mapping: Option<std::path::PathBuf>,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
}

#[derive(Subcommand)]
enum CompanyCommand {
    /// Create a company with its built-in roles and its first admin.
    Create {
        /// The company's name.
        #[arg(long)]
        name: String,
        /// The e-mail of the company's first admin: a new user, not one registered already.
        #[arg(long)]
        admin_email: String,
        /// The admin's password (the system's password policy applies: 12 characters or more
        /// by default).
        #[arg(long, env = "RIVET_NEW_ADMIN_PASSWORD", hide_env_values = true)]
        admin_password: String,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user to a company with a built-in or custom role.
    Create {
        /// The company: its name, or its id (shown on the Settings page and by `GET
        /// /api/v1/me`).
        #[arg(long)]
        company: String,
        /// The user's e-mail. When it belongs to a user already (of another company), that
        /// user is added to this company and keeps their name and password.
        #[arg(long)]
        email: String,
        /// The user's full name.
        #[arg(long)]
        name: String,
        /// Role name: admin, manager, sales, support, read_only or a custom role.
        #[arg(long, default_value = "sales")]
        role: String,
        /// A new user's password (the system's password policy applies); not needed, and not
        /// changed, for an existing user.
        #[arg(long, env = "RIVET_NEW_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
        /// Also let this user administer the installation (system settings, logs, stats).
        #[arg(long)]
        system_admin: bool,
    },
}

fn environment_help() -> String {
    let mut text = String::from("Environment:\n");
    for (name, meaning) in rivet_server::config::VARIABLES {
        text.push_str(&format!("  {name:<28} {meaning}\n"));
    }
    text
}

#[tokio::main]
async fn main() {
    if let Err(err) = run().await {
        eprintln!("rivet: {err:#}");
        std::process::exit(1);
    }
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut config = Config::from_env()?;
    if matches!(cli.command, Command::Seed { .. } | Command::Import { .. })
        && !config.log.contains("sqlx")
    {
        // Bulk inserts are big statements; sqlx's slow-statement warning would print each one
        // (naming `sqlx` in RIVET_LOG brings them back, e.g. `sqlx::query=debug` to time them).
        config.log.push_str(",sqlx::query=error");
    }
    // A command whose standard output is its result (a file) logs to standard error.
    let output = match cli.command {
        Command::Export { .. } => rivet_server::logging::Output::Stderr,
        _ => rivet_server::logging::Output::Stdout,
    };
    rivet_server::logging::init(&config, output);
    match cli.command {
        Command::Serve { demo: false } => rivet_server::serve::serve(config).await,
        Command::Serve { demo: true } => {
            let server = rivet_server::serve::Server::start(config).await?;
            // Only a first run seeds: on a database with companies `--demo` changes nothing.
            if let Some(created) = &server.first_run {
                let mut options = seed_options(rivet_server::seed::Size::Small, None, 1.0);
                let seeded = run_seed(&server.state.store, &mut options).await?;
                let config = &server.state.config;
                println!(
                    "{}",
                    rivet_server::serve::first_run_text(config, created).trim_end()
                );
                print!("{}", demo_users_text(&seeded, &options));
                println!(
                    "  Sign in as the system administrator ({}) to run the installation and its \
                     first company \"{}\";\n  sign in as a demo user to try Rivet with the data \
                     of \"{}\".\n",
                    created.admin_email, config.company_name, options.company_name
                );
            }
            server.run().await
        }
        Command::Seed {
            demo,
            size,
            company,
            scale,
        } => {
            anyhow::ensure!(demo, "say what to seed: `rivet seed --demo`");
            let mut config = config;
            if config.database_url().starts_with("sqlite:") {
                // SQLite has one writer, and the loader gives the connection it writes on a
                // 128 MiB page cache: with the serving pool of eight, every connection ended
                // up with its own (2.2 GB peak on the large set). Two are enough here.
                config.db_max_connections = config.db_max_connections.min(2);
            }
            let state = rivet_server::build_state(config, None).await?;
            let mut options = seed_options(size, Some(company), scale);
            let seeded = run_seed(&state.store, &mut options).await?;
            print!("{}", demo_users_text(&seeded, &options));
            Ok(())
        }
        Command::Worker => rivet_server::serve::run_worker(config).await,
        Command::Export {
            entity,
            company,
            member,
            format,
            query,
        } => {
            let state = rivet_server::build_state(config, None).await?;
            let actor = rivet_server::bootstrap::member_actor(&state.store, &company, &member)
                .await
                .map_err(describe)?;
            let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(&query)
                .map_err(|e| anyhow::anyhow!("--query is not a query string: {e}"))?;
            pairs.push(("format".into(), format));
            let response = rivet_server::api::exports::export_named(state, actor, &entity, pairs)
                .await
                .map_err(describe)?;
            let mut body = response.into_body().into_data_stream();
            let mut out = tokio::io::stdout();
            while let Some(chunk) = futures_util::StreamExt::next(&mut body).await {
                tokio::io::AsyncWriteExt::write_all(&mut out, &chunk?).await?;
            }
            tokio::io::AsyncWriteExt::flush(&mut out).await?;
            Ok(())
        }
        Command::Import {
            file,
            entity,
            company,
            member,
            mapping,
            quiet,
        } => {
            let state = rivet_server::build_state(config, None).await?;
            let actor = rivet_server::bootstrap::member_actor(&state.store, &company, &member)
                .await
                .map_err(describe)?;
            let summary =
                import_file(&state, &actor, (&file, &entity), mapping.as_deref(), quiet).await?;
            print!("{summary}");
            Ok(())
        }
        Command::Migrate => {
            rivet_server::open_store(&config).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Rescore => {
            let state = rivet_server::build_state(config, None).await?;
            let started = std::time::Instant::now();
            let report = |done: i64, total: i64| {
                if done % 100_000 == 0 || done == total {
                    eprintln!("  {done}/{total} leads");
                }
            };
            let changed = rivet_store::scoring::rescore(&state.store, None, false, &report)
                .await
                .map_err(|e| anyhow::anyhow!("rescoring failed: {e}"))?;
            println!(
                "rescored every lead in {:.1} s; {changed} changed",
                started.elapsed().as_secs_f64()
            );
            Ok(())
        }
        Command::Company {
            command:
                CompanyCommand::Create {
                    name,
                    admin_email,
                    admin_password,
                },
        } => {
            let state = rivet_server::build_state(config, None).await?;
            let created = rivet_server::bootstrap::create_company(
                &state.store,
                &name,
                &admin_email,
                &admin_password,
                false,
            )
            .await
            .map_err(describe)?;
            println!(
                "created company {} ({}) with admin {}",
                name, created.company_id, created.admin_email
            );
            Ok(())
        }
        Command::User {
            command:
                UserCommand::Create {
                    company,
                    email,
                    name,
                    role,
                    password,
                    system_admin,
                },
        } => {
            let state = rivet_server::build_state(config, None).await?;
            let company_id = rivet_server::bootstrap::find_company(&state.store, &company)
                .await
                .map_err(describe)?;
            let added = rivet_server::bootstrap::add_user(
                &state.store,
                company_id,
                &email,
                &name,
                &role,
                password.as_deref(),
                system_admin,
            )
            .await
            .map_err(describe)?;
            let id = added.user_id;
            if added.existing {
                println!(
                    "added the existing user {email} ({id}) to company {company_id} with role \
                     {role}; their name and password were not changed{}",
                    if password.is_some() {
                        " (--password applies to new users only)"
                    } else {
                        ""
                    }
                );
            } else {
                println!("created user {email} ({id}) in company {company_id} with role {role}");
            }
            Ok(())
        }
    }
}

fn seed_options(
    size: rivet_server::seed::Size,
    company: Option<String>,
    scale: f64,
) -> rivet_server::seed::Options {
    let mut options = rivet_server::seed::Options::new(size);
    if let Some(company) = company {
        options.company_name = company;
    }
    options.scale = scale;
    if let Ok(password) = std::env::var("RIVET_DEMO_PASSWORD")
        && !password.is_empty()
    {
        options.password = password;
    }
    options
}

/// Seed demo data, printing each table's rate. A company name already taken is replaced by the
/// next free one (in `options`), and the console says so.
async fn run_seed(
    store: &rivet_store::Store,
    options: &mut rivet_server::seed::Options,
) -> anyhow::Result<rivet_server::seed::Seeded> {
    let name = rivet_server::seed::free_company_name(store, &options.company_name)
        .await
        .map_err(describe)?;
    if name != options.company_name.trim() {
        println!(
            "A company named \"{}\" (or its demo users) exists already: this one is \"{name}\".",
            options.company_name.trim()
        );
    }
    options.company_name = name;
    println!(
        "Seeding demo data into a new company \"{}\"…",
        options.company_name
    );
    let started = std::time::Instant::now();
    let seeded = rivet_server::seed::seed(store, options, |done| {
        println!(
            "  {:<18} {:>10} rows in {:>7.1} s ({:.0} rows/s)",
            done.table,
            done.rows,
            done.seconds,
            done.rows_per_second()
        );
    })
    .await
    .map_err(describe)?;
    println!(
        "Seeded company {} ({}) in {:.1} s.",
        options.company_name,
        seeded.company_id,
        started.elapsed().as_secs_f64()
    );
    Ok(seeded)
}

/// The demo users to sign in as, and their shared password.
fn demo_users_text(
    seeded: &rivet_server::seed::Seeded,
    options: &rivet_server::seed::Options,
) -> String {
    let mut text = format!(
        "\n  Demo users of \"{}\" (all share one demo password):\n",
        options.company_name
    );
    for user in &seeded.users {
        text.push_str(&format!(
            "    {:<40} {:<8} {}\n",
            user.email,
            user.role,
            user.team.unwrap_or("-")
        ));
    }
    // Printed on purpose: a demo password, not a secret (set RIVET_DEMO_PASSWORD to change it).
    text.push_str(&format!("  demo password: {}\n\n", options.password));
    text
}

/// Turn an API error into a console message that names the fields as the options that set
/// them (`admin_password` is `--admin-password`).
fn describe(err: AppError) -> anyhow::Error {
    let problem = err.problem();
    let fields: Vec<String> = problem
        .errors
        .iter()
        .map(|e| format!("--{}: {}", e.field.replace('_', "-"), e.message))
        .collect();
    if fields.is_empty() {
        anyhow::anyhow!("{}", problem.detail)
    } else {
        anyhow::anyhow!("{}", fields.join("; "))
    }
}

/// What `--mapping` holds.
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    mapping: Option<std::collections::BTreeMap<String, Option<String>>>,
    options: Option<rivet_domain::imports::ImportOptions>,
}

/// `rivet import`: keep the file as an import, map it, run it here with a progress bar, and
/// say what it did.
async fn import_file(
    state: &rivet_server::AppState,
    actor: &rivet_domain::Actor,
    (file, entity): (&std::path::Path, &str),
    mapping: Option<&std::path::Path>,
    quiet: bool,
) -> anyhow::Result<String> {
    use rivet_server::imports;
    let entity: rivet_domain::imports::ImportEntity = entity
        .parse()
        .map_err(|e| anyhow::anyhow!("--entity {e}"))?;
    let bytes =
        std::fs::read(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "import.csv".into());
    let uploaded = imports::upload(state, actor, entity, &name, bytes)
        .await
        .map_err(describe)?;
    let id = uploaded.import.id;
    if let Some(path) = mapping {
        let text = std::fs::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        let file: MappingFile = toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!("--mapping {}: {e}", path.display()))?;
        imports::configure(state, actor, id, file.mapping, file.options)
            .await
            .map_err(describe)?;
    }
    let bar = if quiet {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new(u64::try_from(uploaded.import.total_rows).unwrap_or(0))
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} rows  {per_sec}  ETA {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let report = |done: i64, _total: i64| bar.set_position(u64::try_from(done).unwrap_or(0));
    let done = imports::run(state, actor, id, &report)
        .await
        .map_err(describe)?;
    bar.finish();
    Ok(format!(
        "import {id}: {} — {} rows: {} created, {} updated, {} skipped, {} failed{}\n",
        done.status,
        done.rows_done,
        done.created,
        done.updated,
        done.skipped,
        done.failed,
        if done.failed > 0 {
            format!(" (GET /api/v1/imports/{id}/errors.csv lists them)")
        } else {
            String::new()
        }
    ))
}
