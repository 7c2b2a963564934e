//! `abe-hub`: the command line. Subcommands only parse and wire; the work is in the
//! library crates.

use abe_analytics::{Analytics, Change};
use abe_hub::{config, startup, telemetry};
use abe_pipeline::{Pipeline, RunError, RunFailure, RunOptions, Trigger, MAX_PREVIEW_TIME};
use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use config::HubConfig;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

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
    /// Seconds a run's lease lasts without a heartbeat: a run whose process was killed
    /// is marked abandoned this long after it stopped (1 to 86400).
    #[arg(long, global = true, env = "ABE_RUN_LEASE_SECS", default_value_t = 60,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    run_lease_secs: u64,
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
        /// Largest request body accepted, in bytes; larger ones get 413 unread.
        #[arg(long, env = "ABE_MAX_BODY_BYTES", default_value_t = 1024 * 1024)]
        max_body_bytes: usize,
        /// Seconds a GraphQL request may take before it is stopped.
        #[arg(long, env = "ABE_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
        request_timeout_secs: u64,
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
    /// Compute every indicator for every area and period now, and evaluate the alert
    /// rules (`serve` does this at start and after every run that changed data).
    Compute,
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
                "config ok: {} agencies, {} topics, {} indicators, {} thresholds, {} alert rules, {} connectors",
                config.agencies.len(),
                config.topics.len(),
                config.indicators.len(),
                config.thresholds.len(),
                config.alert_rules.len(),
                config.connectors.len()
            );
            // Every file source is opened and its header read: all mistakes at once.
            let mut problems = 0;
            for def in config.connector_defs()? {
                if def.source.source().local_paths().is_empty() {
                    println!(
                        "{}: {} source not opened (a network source; `abe-hub preview {}` reads it)",
                        def.name,
                        def.source.kind(),
                        def.name
                    );
                    continue;
                }
                let checked = tokio::task::spawn_blocking(move || {
                    (def.name.clone(), abe_pipeline::check_source(&def))
                })
                .await?;
                match checked {
                    (name, Ok(Some(found))) => println!(
                        "{name}: ok, the header at {} ({} columns) has every column the mapping reads",
                        found.position, found.columns
                    ),
                    (name, Ok(None)) => println!("{name}: ok, but the source holds no rows"),
                    (name, Err(e)) => {
                        problems += 1;
                        eprintln!("{name}: {e}");
                    }
                }
            }
            if problems > 0 {
                eprintln!("{problems} connector(s) cannot run as configured");
                return Ok(ExitCode::FAILURE);
            }
        }
        Command::Migrate => {
            startup::open_store(&cli.database_url).await?;
            println!("migrations applied");
        }
        Command::Compute => {
            // The catalogue, thresholds and rules the database holds (as `serve`
            // provisioned them) are used; a config file here changes nothing.
            let store = startup::open_store(&cli.database_url).await?;
            let report = Analytics::new(store.clone())
                .recompute(&Change::everything())
                .await;
            store.close().await;
            print_computed(&report?);
        }
        Command::Serve {
            listen,
            max_body_bytes,
            request_timeout_secs,
        } => {
            let config = load_config()?;
            let store = startup::open_store(&cli.database_url).await?;
            let token = startup::admin_token(std::env::var("ABE_ADMIN_TOKEN").ok())?;
            let settings = startup::HubSettings {
                run_lease: Duration::from_secs(cli.run_lease_secs),
                http: abe_gateway::HttpSettings {
                    max_body_bytes: *max_body_bytes,
                    request_timeout: Duration::from_secs(*request_timeout_secs),
                },
            };
            let app = startup::Application::build_with(store, config, listen, settings)
                .await?
                .with_admin_token(token);
            // Tests and scripts read this line to find a port chosen by the OS.
            println!("abe-hub listening on http://{}", app.address());
            app.run_until_stopped(startup::shutdown_signal()).await?;
        }
        Command::Preview { connector, rows } => {
            // A preview writes nothing: the config's catalogue and connectors are used
            // as declared, not provisioned.
            let config = load_config()?;
            let store = startup::open_store(&cli.database_url).await?;
            let def = find_connector(&store, &config, connector).await?;
            let declared: Vec<String> = config.indicators.iter().map(|i| i.code.clone()).collect();
            let preview = Pipeline::new(store.clone())
                .preview_declaring(&def, *rows, MAX_PREVIEW_TIME, &declared)
                .await?;
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
            let def = find_connector(&store, &config, connector).await?;
            let provisioned = startup::provision_for_run(&store, &config, &def).await?;
            if let Some(path) = &cli.config {
                println!("{}", provisioned.describe(path, &def.name));
            }
            let pipeline =
                Pipeline::new(store.clone()).with_lease(Duration::from_secs(cli.run_lease_secs));
            let result = run_until_signalled(&pipeline, &def).await;
            if let Ok(r) = &result {
                let c = &r.counts;
                println!(
                    "run {} of {}: read {}, inserted {}, updated {}, unchanged {}, deleted {}, duplicates {}, rejected {} ({} ms reading, {} ms loading)",
                    r.run_id, r.connector, c.read, c.inserted, c.updated, c.unchanged, c.deleted, c.duplicates, c.rejected, r.read_ms, r.load_ms
                );
                print_reasons(&r.reasons);
                let analytics = Analytics::new(store.clone());
                if let Some(change) = analytics.change_of_run(r.target, r.run_id, c).await? {
                    print_computed(&analytics.recompute(&change).await?);
                }
            }
            store.close().await;
            return match result {
                Ok(_) => Ok(ExitCode::SUCCESS),
                Err(RunError::Failed {
                    run_id,
                    cause: RunFailure::Cancelled,
                    ..
                }) => {
                    eprintln!(
                        "run {run_id} of {connector} was cancelled; the previous data stands"
                    );
                    Ok(ExitCode::from(130))
                }
                Err(RunError::Failed {
                    run_id,
                    cause,
                    reasons,
                    ..
                }) => {
                    print_reasons(&reasons);
                    eprintln!(
                        "run {run_id} of {connector} failed; the previous data stands: {cause}"
                    );
                    Ok(ExitCode::FAILURE)
                }
                Err(e @ RunError::AlreadyRunning { .. }) => {
                    eprintln!("{e}");
                    Ok(ExitCode::FAILURE)
                }
                Err(e) => Err(e.into()),
            };
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints what a computation of the indicators did.
fn print_computed(report: &abe_analytics::ComputeReport) {
    println!(
        "computed {} values of {} indicators ({} ms); alerts: {} raised, {} resolved, {} updated",
        report.values,
        report.indicators.len(),
        report.millis,
        report.raised,
        report.resolved,
        report.updated
    );
}

/// Prints a run's rejects and warnings by reason: count, reason, first positions.
fn print_reasons(reasons: &abe_schema::ReasonSummary) {
    let lines = reasons.lines();
    if lines.is_empty() {
        return;
    }
    println!("by reason (all of them: the run's rejects and warnings in GraphQL):");
    for line in lines {
        let positions: Vec<String> = line.positions.iter().map(|p| p.to_string()).collect();
        println!(
            "  {:<7} {:>6} × {}  [{}]",
            line.severity.as_str(),
            line.count,
            line.reason,
            positions.join("; ")
        );
    }
}

/// Runs `def` until it ends; on Ctrl-C or SIGTERM asks it to stop (it rolls back and
/// is journaled as cancelled); a second signal ends the process at once, and the run is
/// marked abandoned once its lease expires.
async fn run_until_signalled(
    pipeline: &Pipeline,
    def: &abe_pipeline::ConnectorDef,
) -> Result<abe_pipeline::RunReport, RunError> {
    let options = RunOptions::new(Trigger::Manual);
    let cancel = options.cancel.clone();
    let run = pipeline.run_with(def, options);
    tokio::pin!(run);
    tokio::select! {
        result = &mut run => return result,
        () = startup::shutdown_signal() => {}
    }
    eprintln!("stopping the run: it rolls back and is recorded as cancelled (signal again to quit at once)");
    cancel.cancel();
    tokio::select! {
        result = &mut run => result,
        () = startup::shutdown_signal() => std::process::exit(130),
    }
}

/// The connector `name`: declared in the config, else saved through the API.
async fn find_connector(
    store: &abe_store::Store,
    config: &HubConfig,
    name: &str,
) -> Result<abe_pipeline::ConnectorDef> {
    config.registry(store)?.find(name).await?.with_context(|| {
        format!("no connector named {name} in the config or saved through the API")
    })
}
