//! `latchkey`: serve, migrate, seed demo data, mint API tokens, create the first administrator
//! and unlock a locked-out one.

use app::server::mail::SmtpMailer;
use app::server::passwords::PasswordHasher;
use app::server::services::{command_line, demo, outbox, tokens};
use app::server::sms::TwilioSms;
use app::server::{ServiceConfig, SystemClock};
use clap::{Parser, Subcommand};
use server::config::{CommonConfig, ServeConfig};
use server::{db, startup, telemetry};
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Parser)]
#[command(name = "latchkey", version, about = "Latchkey: a multi-tenant account-access portal")]
struct Cli {
    #[command(flatten)]
    common: CommonConfig,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (migrates the database first).
    Serve(ServeConfig),
    /// Bring the database schema up to date and exit.
    Migrate,
    /// Seed a demo operator, tenants and users, and print how to sign in.
    Demo,
    /// API tokens for scripts.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// The operator's administrators.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Break-glass for a person locked out of their account (audited as done from the command line).
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an operator Administrator and print a one-time link where they choose a password;
    /// their first sign-in then sets up MFA.
    Create {
        /// Email the administrator signs in with.
        #[arg(long)]
        email: String,
        /// Display name (default: the email's local part).
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(clap::Args)]
struct PersonArgs {
    /// Email of the account.
    #[arg(long)]
    email: String,
    /// Workspace slug (default: the operator's admin console).
    #[arg(long)]
    tenant: Option<String>,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Lift a lock, a cooldown and the sign-in failure count.
    Unlock(PersonArgs),
    /// Remove every MFA factor; the next sign-in sets one up again.
    ResetMfa(PersonArgs),
    /// Print a one-time link (24 hours) to set a new password; MFA is kept.
    ResetLink(PersonArgs),
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Mint a token that acts as the given user; it is printed once and stored only as a hash.
    Create {
        /// Email of the user the token acts as.
        #[arg(long)]
        email: String,
        /// Workspace the token is scoped to: `admin` (the operator) or a tenant's slug.
        #[arg(long, default_value = "admin")]
        tenant: String,
        /// A name to recognise the token by.
        #[arg(long, default_value = "cli")]
        name: String,
        /// Days until the token expires (default: never).
        #[arg(long)]
        expires_days: Option<u32>,
    },
}

async fn run(cli: Cli) -> Result<(), String> {
    let common = cli.common;
    let data_key = match &common.encryption_key {
        Some(text) => Some(
            server::config::parse_encryption_key(&text.0)
                .map_err(|e| format!("LATCHKEY_ENCRYPTION_KEY / --encryption-key: {e}"))?
                .0,
        ),
        None => None,
    };
    let database = db::connect_and_migrate(&common.database_url)
        .await
        .map_err(|e| format!("database: {e}"))?;
    if let Command::Migrate = cli.command {
        println!("Database is up to date.");
        return Ok(());
    }
    let mut config = ServiceConfig::new(&common.base_domain, &common.public_scheme);
    if let Command::Serve(serve) = &cli.command {
        config.smtp_configured = serve.smtp_url.is_some();
        config.api_requests_per_minute = serve.api_rate_limit;
        config.outbox_lease = std::time::Duration::from_secs(serve.outbox_lease_secs);
        config.allowed_private_hosts = serve.allow_private_hosts.clone();
    }
    let hasher = PasswordHasher::for_this_machine();
    let mut state = startup::build_state(database, config, Arc::new(SystemClock), hasher, data_key)
        .await
        .map_err(|e| e.to_string())?;
    match cli.command {
        Command::Migrate => unreachable!("handled above"),
        Command::Serve(serve) => {
            if let Some(url) = &serve.sms_url {
                state.sms = Some(Arc::new(TwilioSms::new(
                    url.clone(),
                    serve.sms_account.clone(),
                    serve.sms_token.as_ref().map(|t| t.0.clone()).unwrap_or_default(),
                    serve.sms_from.clone(),
                )));
            }
            let mailer: Option<Arc<dyn app::server::mail::Mailer>> = match &serve.smtp_url {
                Some(url) => {
                    let host = state.config.base_domain.split(':').next().unwrap_or("localhost");
                    let from = serve
                        .smtp_from
                        .clone()
                        .unwrap_or_else(|| format!("Latchkey <no-reply@{host}>"));
                    let smtp_timeout = Ord::min(state.config.outbox_lease / 2, std::time::Duration::from_secs(60));
                    Some(Arc::new(SmtpMailer::with_timeout(url, &from, smtp_timeout)?))
                }
                None => {
                    tracing::info!("no SMTP server configured: mail stays in the outbox");
                    None
                }
            };
            outbox::spawn_worker(state.clone(), mailer, std::time::Duration::from_secs(2));
            let listener = tokio::net::TcpListener::bind(serve.listen)
                .await
                .map_err(|e| format!("listen on {}: {e}", serve.listen))?;
            if !serve.site_dir.join("index.html").exists() {
                tracing::warn!(site_dir = %serve.site_dir.display(), "no built web app here: pages will be missing (build it with trunk)");
            }
            if !command_line::has_operator_admin(&state.db)
                .await
                .map_err(|e| e.to_string())?
            {
                tracing::warn!(
                    "no operator administrator exists yet: create one with `latchkey admin create --email you@example.com` and open the link it prints"
                );
            }
            tracing::info!(listen = %serve.listen, admin = %state.config.workspace_url("admin"), "latchkey is serving");
            let router = startup::build_router(state, &serve.site_dir);
            startup::serve(listener, router).await.map_err(|e| e.to_string())
        }
        Command::Demo => {
            let summary = demo::seed(&state).await.map_err(|e| e.to_string())?;
            println!(
                "{}",
                if summary.created {
                    "Demo data created."
                } else {
                    "Demo data already present."
                }
            );
            for line in summary.lines {
                println!("{line}");
            }
            Ok(())
        }
        Command::Token {
            command:
                TokenCommand::Create {
                    email,
                    tenant,
                    name,
                    expires_days,
                },
        } => {
            let lifetime = expires_days.map(|d| chrono::Duration::days(i64::from(d)));
            let created = tokens::create(&state, &email, &tenant, &name, lifetime)
                .await
                .map_err(|e| e.to_string())?;
            println!("{}", created.token);
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::Create { email, name },
        } => {
            let link = command_line::create_operator_admin(&state, &email, name.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "Administrator {email} created. Open this link to choose a password (it works once, until {} UTC):",
                link.expires_at.format("%Y-%m-%d %H:%M")
            );
            println!("{}", link.url);
            Ok(())
        }
        Command::User { command } => {
            let message = match command {
                UserCommand::Unlock(who) => command_line::unlock(&state, &who.email, who.tenant.as_deref()).await,
                UserCommand::ResetMfa(who) => command_line::reset_mfa(&state, &who.email, who.tenant.as_deref()).await,
                UserCommand::ResetLink(who) => command_line::reset_link(&state, &who.email, who.tenant.as_deref())
                    .await
                    .map(|link| {
                        format!(
                            "Open this link to set a new password (it works once, until {} UTC):\n{}",
                            link.expires_at.format("%Y-%m-%d %H:%M"),
                            link.url
                        )
                    }),
            };
            println!("{}", message.map_err(|e| e.to_string())?);
            Ok(())
        }
    }
}

/// glibc raises its mmap threshold to the size of the first large block freed, after which
/// blocks of that size (argon2's 19 MiB, long response bodies) are carved from per-thread arenas
/// and stay resident after they are freed: RSS under sign-in load reached hundreds of megabytes.
/// A fixed threshold keeps every block from 1 MiB up mapped on its own and unmapped when freed.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn return_large_blocks_to_the_system() {
    // SAFETY: mallopt only changes allocator settings, and runs before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 1 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn return_large_blocks_to_the_system() {}

fn main() -> ExitCode {
    return_large_blocks_to_the_system();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("start the tokio runtime");
    let outcome = runtime.block_on(async {
        telemetry::init();
        run(Cli::parse()).await
    });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("latchkey: {message}");
            ExitCode::FAILURE
        }
    }
}
