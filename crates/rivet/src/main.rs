//! The `rivet` command: serve the CRM, run workers, migrate, and manage companies and users.

use clap::{Parser, Subcommand};

use rivet_server::Config;
use rivet_server::error::AppError;

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
    Serve,
    /// Run only the job workers (for a separate worker process sharing the database).
    Worker,
    /// Apply database migrations and exit.
    Migrate,
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
    let config = Config::from_env()?;
    rivet_server::logging::init(&config);
    match cli.command {
        Command::Serve => rivet_server::serve::serve(config).await,
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
