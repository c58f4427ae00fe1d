//! The `rivet` command: serve the CRM, run workers, migrate, and manage companies and users.

use clap::{Parser, Subcommand};

use rivet_server::Config;
use rivet_server::error::AppError;

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
        /// On an empty database, first load the small demo data set (see `rivet seed --demo`).
        #[arg(long)]
        demo: bool,
    },
    /// Run only the job workers (for a separate worker process sharing the database).
    Worker,
    /// Apply database migrations and exit.
    Migrate,
    /// Create a new company filled with deterministic demo data (users, leads, accounts, …).
    #[command(
        long_about = "Create a new company filled with deterministic demo data: ~20 users in \
            three teams (admin, managers, sales reps) sharing one demo password, and leads, \
            accounts, contacts and the other records owned by them, dated over the last two \
            years. `--size small` (default) is a first look; `--size large` (a million leads, \
            millions of related records) is for benchmarks. Each run creates another company."
    )]
    Seed {
        /// Required: seed demo data (the only kind of seed there is).
        #[arg(long)]
        demo: bool,
        /// small (500 leads) or large (1,000,000 leads).
        #[arg(long, default_value = "small")]
        size: rivet_server::seed::Size,
        /// The new company's name.
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
}

#[derive(Subcommand)]
enum CompanyCommand {
    /// Create a company with its built-in roles and its first admin.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        admin_email: String,
        #[arg(long, env = "RIVET_NEW_ADMIN_PASSWORD", hide_env_values = true)]
        admin_password: String,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Add a user to a company with a built-in or custom role.
    Create {
        /// The company's id (see the Settings page or `GET /api/v1/me`).
        #[arg(long)]
        company: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: String,
        /// Role name: admin, manager, sales, support, read_only or a custom role.
        #[arg(long, default_value = "sales")]
        role: String,
        #[arg(long, env = "RIVET_NEW_USER_PASSWORD", hide_env_values = true)]
        password: String,
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
    if matches!(cli.command, Command::Seed { .. }) {
        // Bulk inserts are big statements; sqlx's slow-statement warning would print each one.
        config.log.push_str(",sqlx::query=error");
    }
    rivet_server::logging::init(&config);
    match cli.command {
        Command::Serve { demo } => {
            if demo {
                let state = rivet_server::build_state(config.clone(), None).await?;
                if rivet_server::seed::database_is_empty(&state.store)
                    .await
                    .map_err(describe)?
                {
                    let options = seed_options(rivet_server::seed::Size::Small, None, 1.0);
                    run_seed(&state.store, &options).await?;
                }
            }
            rivet_server::serve::serve(config).await
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
            let options = seed_options(size, Some(company), scale);
            run_seed(&state.store, &options).await
        }
        Command::Worker => rivet_server::worker::run_standalone(config).await,
        Command::Migrate => {
            rivet_server::build_state(config, None).await?;
            println!("migrations applied");
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
            let company = uuid::Uuid::parse_str(&company)
                .map_err(|_| anyhow::anyhow!("--company must be a company id"))?;
            let id = rivet_server::bootstrap::create_user(
                &state.store,
                company,
                &email,
                &name,
                &role,
                &password,
                system_admin,
            )
            .await
            .map_err(describe)?;
            println!("created user {email} ({id}) with role {role}");
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

/// Seed demo data, printing each table's rate and, at the end, the demo users to sign in as.
async fn run_seed(
    store: &rivet_store::Store,
    options: &rivet_server::seed::Options,
) -> anyhow::Result<()> {
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
    println!("\n  Demo users (all share one demo password):");
    for user in &seeded.users {
        println!(
            "    {:<40} {:<8} {}",
            user.email,
            user.role,
            user.team.unwrap_or("-")
        );
    }
    // Printed on purpose: a demo password, not a secret (set RIVET_DEMO_PASSWORD to change it).
    println!("  demo password: {}\n", options.password);
    Ok(())
}

/// Turn an API error into a console message that names the fields.
fn describe(err: AppError) -> anyhow::Error {
    let problem = err.problem();
    let fields: Vec<String> = problem
        .errors
        .iter()
        .map(|e| format!("{}: {}", e.field, e.message))
        .collect();
    if fields.is_empty() {
        anyhow::anyhow!("{}", problem.detail)
    } else {
        anyhow::anyhow!("{}", fields.join("; "))
    }
}
