//! `abe-hub`: the command line. Subcommands only parse and wire; the work is in the
//! library crates.

use abe_hub::{config, startup, telemetry};
use abe_pipeline::{Pipeline, RunError, Trigger};
use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use config::HubConfig;
use std::path::PathBuf;
use std::process::ExitCode;

// Rows are allocated on the reader thread and freed on the loader's: glibc's arenas
// serialise such cross-thread frees on a lock, which profiles of a national file show
// as the largest single cost. mimalloc frees to the owning thread without it.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Provincial central-indicator database for Area-Based Education.
#[derive(Parser)]
#[command(name = "abe-hub", version, about)]
struct Cli {
    /// Database: sqlite://FILE (created if missing) or postgres://USER@HOST/DB.
    #[arg(
        long,
        global = true,
        env = "ABE_DATABASE_URL",
        default_value = "sqlite://abe-hub.db",
        hide_env_values = true
    )]
    database_url: String,
    /// The TOML config file (catalogue and connectors).
    #[arg(long, short, global = true, env = "ABE_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve GraphQL and run connectors on their schedules.
    Serve {
        /// Address to listen on; port 0 lets the OS choose.
        #[arg(long, env = "ABE_LISTEN", default_value = "127.0.0.1:8080")]
        listen: String,
    },
    /// Run one connector now and print its counts.
    Run {
        /// Connector name (from the config, or saved through the API).
        connector: String,
    },
    /// Map the first rows of a connector's source without writing: rows and rejects.
    Preview {
        /// Connector name (from the config, or saved through the API).
        connector: String,
        /// How many rows to show (loadable and rejected together).
        #[arg(long, default_value_t = 20)]
        rows: usize,
    },
    /// Apply database migrations.
    Migrate,
    /// Check the config file and print what it declares.
    Check,
    /// Print the GraphQL schema (SDL).
    ExportSchema,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: starting the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    let load_config = || -> Result<HubConfig> {
        match &cli.config {
            Some(path) => HubConfig::load(path),
            None => Ok(HubConfig::empty()),
        }
    };
    match &cli.command {
        Command::ExportSchema => {
            print!("{}", abe_gateway::sdl());
        }
        Command::Check => {
            let config = load_config()?;
            println!(
                "config ok: {} agencies, {} indicators, {} thresholds, {} connectors",
                config.agencies.len(),
                config.indicators.len(),
                config.thresholds.len(),
                config.connectors.len()
            );
        }
        Command::Migrate => {
            startup::open_store(&cli.database_url).await?;
            println!("migrations applied");
        }
        Command::Serve { listen } => {
            let config = load_config()?;
            let store = startup::open_store(&cli.database_url).await?;
            let token = startup::admin_token(std::env::var("ABE_ADMIN_TOKEN").ok())?;
            let app = startup::Application::build(store, config, listen)
                .await?
                .with_admin_token(token);
            // Tests and scripts read this line to find a port chosen by the OS.
            println!("abe-hub listening on http://{}", app.address());
            app.run_until_stopped(startup::shutdown_signal()).await?;
        }
        Command::Preview { connector, rows } => {
            let config = load_config()?;
            let store = startup::open_store(&cli.database_url).await?;
            startup::provision(&store, &config).await?;
            let def = find_connector(&store, &config, connector).await?;
            let preview = Pipeline::new(store.clone())
                .preview(&def, *rows)
                .await
                .map_err(anyhow::Error::msg)?;
            store.close().await;
            for row in &preview.rows {
                let fields: Vec<String> =
                    row.fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
                println!("{}: {}", row.position, fields.join("  "));
            }
            for reject in &preview.rejects {
                println!("REJECT {reject}");
            }
            println!(
                "{} rows would load, {} would be refused",
                preview.rows.len(),
                preview.rejects.len()
            );
        }
        Command::Run { connector } => {
            let config = load_config()?;
            let store = startup::open_store(&cli.database_url).await?;
            startup::provision(&store, &config).await?;
            let def = find_connector(&store, &config, connector).await?;
            let pipeline = Pipeline::new(store.clone());
            let result = pipeline.run(&def, Trigger::Manual).await;
            store.close().await;
            return match result {
                Ok(r) => {
                    println!(
                        "run {} of {}: read {}, inserted {}, updated {}, unchanged {}, deleted {}, rejected {} ({} ms reading, {} ms loading)",
                        r.run_id, r.connector, r.counts.read, r.counts.inserted, r.counts.updated, r.counts.unchanged, r.counts.deleted, r.counts.rejected, r.read_ms, r.load_ms
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(RunError::Failed {
                    run_id, message, ..
                }) => {
                    eprintln!(
                        "run {run_id} of {connector} failed; the previous data stands: {message}"
                    );
                    Ok(ExitCode::FAILURE)
                }
                Err(e) => Err(e.into()),
            };
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The connector `name`: declared in the config, else saved through the API.
async fn find_connector(
    store: &abe_store::Store,
    config: &HubConfig,
    name: &str,
) -> Result<abe_pipeline::ConnectorDef> {
    config
        .registry(store)?
        .find(name)
        .await
        .map_err(anyhow::Error::msg)?
        .with_context(|| {
            format!("no connector named {name} in the config or saved through the API")
        })
}
