//! Wiring: open and migrate the store, provision the catalogue and connectors from the
//! config, start the scheduler, serve HTTP until a shutdown signal.

use crate::config::HubConfig;
use abe_analytics::{Analytics, Change};
use abe_gateway::HttpSettings;
use abe_pipeline::{Pipeline, Registry, Scheduler};
use abe_store::Store;
use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::time::Duration;

/// Settings of a running hub that are not in its config file: how long run leases
/// last and the limits of the HTTP layer.
#[derive(Debug, Clone, Copy)]
pub struct HubSettings {
    /// How long a run's lease lasts without a heartbeat (`ABE_RUN_LEASE_SECS`).
    pub run_lease: Duration,
    /// Request body and time limits (`ABE_MAX_BODY_BYTES`, `ABE_REQUEST_TIMEOUT_SECS`).
    pub http: HttpSettings,
}

impl Default for HubSettings {
    fn default() -> Self {
        HubSettings {
            run_lease: abe_pipeline::DEFAULT_LEASE,
            http: HttpSettings::default(),
        }
    }
}

/// Opens the database at `url` and applies migrations.
pub async fn open_store(url: &str) -> Result<Store> {
    let store = Store::connect(url).await?;
    store.migrate().await?;
    Ok(store)
}

/// Writes the config's catalogue and connectors into the store.
pub async fn provision(store: &Store, config: &HubConfig) -> Result<()> {
    store.upsert_agencies(&config.agencies).await?;
    store.provision_topics(&config.topics).await?;
    store.upsert_indicators(&config.indicators).await?;
    store.replace_thresholds(&config.thresholds).await?;
    store.provision_alert_rules(&config.alert_rules).await?;
    let specs: Vec<_> = config.connector_defs()?.iter().map(|d| d.spec()).collect();
    store
        .provision_connectors(&specs, chrono::Utc::now())
        .await?;
    Ok(())
}

/// What a CLI run took from its config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunProvision {
    /// The connector is the config file's (saved as its definition), not one saved
    /// through the API.
    pub connector_from_config: bool,
    /// Agencies the database lacked, added.
    pub agencies_added: u64,
    /// Indicators the database lacked, added.
    pub indicators_added: u64,
}

impl RunProvision {
    /// One line saying what the run took from `config` and what it left alone.
    pub fn describe(&self, config: &std::path::Path, connector: &str) -> String {
        let source = if self.connector_from_config {
            format!("connector {connector} saved from {}", config.display())
        } else {
            format!("connector {connector} as saved through the API")
        };
        format!(
            "{source}; {} agencies and {} indicators the database lacked added; other \
             connectors, existing catalogue entries and thresholds left as they are \
             (`abe-hub serve` with this config applies all of it)",
            self.agencies_added, self.indicators_added
        )
    }
}

/// Prepares the database for a CLI run of `def` with `config`: saves that one
/// connector if the config declares it and adds the agencies and indicators the
/// database lacks. Nothing else changes: another config's connectors, catalogue entries
/// and thresholds stay as the serving hub provisioned them.
pub async fn provision_for_run(
    store: &Store,
    config: &HubConfig,
    def: &abe_pipeline::ConnectorDef,
) -> Result<RunProvision> {
    let agencies_added = store
        .save_agencies(&config.agencies, abe_store::Existing::Keep)
        .await?;
    let indicators_added = store
        .save_indicators(&config.indicators, abe_store::Existing::Keep)
        .await?;
    // A workbook's problems and resources are checked against the topic list.
    store.add_topics(&config.topics).await?;
    let connector_from_config = config.connectors.iter().any(|c| c.name == def.name);
    if connector_from_config {
        store
            .provision_connector(&def.spec(), chrono::Utc::now())
            .await?;
    }
    Ok(RunProvision {
        connector_from_config,
        agencies_added,
        indicators_added,
    })
}

/// A built hub: catalogue provisioned, scheduler started, listener bound.
pub struct Application {
    store: Store,
    scheduler: Scheduler,
    listener: tokio::net::TcpListener,
    address: SocketAddr,
    registry: Registry,
    pipeline: Pipeline,
    analytics: Analytics,
    admin_token: Option<String>,
    http: HttpSettings,
}

/// Shortest admin token accepted: a guessable token would open the API to anyone.
pub const MIN_ADMIN_TOKEN_LEN: usize = 16;

/// Checks an admin token (`ABE_ADMIN_TOKEN`); blank means none.
pub fn admin_token(raw: Option<String>) -> Result<Option<String>> {
    match raw.map(|t| t.trim().to_string()).filter(|t| !t.is_empty()) {
        Some(token) if token.chars().count() < MIN_ADMIN_TOKEN_LEN => anyhow::bail!(
            "ABE_ADMIN_TOKEN is shorter than {MIN_ADMIN_TOKEN_LEN} characters; use a long random one"
        ),
        token => Ok(token),
    }
}

impl Application {
    /// Provisions the config, starts the scheduler (and first runs) and binds `listen`,
    /// with the default settings.
    pub async fn build(store: Store, config: HubConfig, listen: &str) -> Result<Application> {
        Application::build_with(store, config, listen, HubSettings::default()).await
    }

    /// Like [`Application::build`], with `settings`. Runs another process left
    /// `running` are not touched: they are abandoned only once their lease expires.
    pub async fn build_with(
        store: Store,
        config: HubConfig,
        listen: &str,
        settings: HubSettings,
    ) -> Result<Application> {
        provision(&store, &config).await?;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .with_context(|| format!("listening on {listen}"))?;
        let address = listener.local_addr()?;
        let pipeline = Pipeline::new(store.clone()).with_lease(settings.run_lease);
        // Listening before the scheduler starts: no run commits unannounced.
        let analytics = Analytics::new(store.clone());
        compute_after_runs(&pipeline, analytics.clone());
        let registry = config.registry(&store)?;
        let connectors = registry.all().await?;
        let scheduler = Scheduler::start(pipeline.clone(), connectors).await?;
        let registry = registry.with_scheduler(scheduler.clone());
        tracing::info!(%address, "GraphQL at /graphql");
        Ok(Application {
            store,
            scheduler,
            listener,
            address,
            registry,
            pipeline,
            analytics,
            admin_token: None,
            http: settings.http,
        })
    }

    /// Allows changes through the API to requests bearing `token` (see [`admin_token`]).
    pub fn with_admin_token(mut self, token: Option<String>) -> Self {
        self.admin_token = token;
        self
    }

    /// The address the hub listens on.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves HTTP until `shutdown` completes, then stops the scheduler.
    pub async fn run_until_stopped(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<()> {
        let pipeline = self.pipeline.clone();
        let operations = abe_gateway::Operations {
            pipeline: self.pipeline,
            registry: self.registry,
            analytics: self.analytics,
            admin_token: self.admin_token,
        };
        axum::serve(
            self.listener,
            abe_gateway::router(self.store.clone(), operations, self.http),
        )
        .with_graceful_shutdown(shutdown)
        .await
        .context("serving HTTP")?;
        self.scheduler.shutdown().await;
        // Runs in progress roll back and are journaled as cancelled, rather than left
        // `running` until their lease expires.
        pipeline.stop_runs(Duration::from_secs(30)).await;
        self.store.close().await;
        Ok(())
    }
}

/// Computes the indicators at start (the catalogue or the rules may have changed while
/// the hub was down), then again after every committed run that changed data, only
/// what the run touched.
fn compute_after_runs(pipeline: &Pipeline, analytics: Analytics) {
    let mut committed = pipeline.subscribe();
    tokio::spawn(async move {
        let mut change = Some(Change::everything());
        loop {
            if let Some(change) = change.take() {
                if let Err(error) = analytics.recompute(&change).await {
                    tracing::warn!(%error, "computing indicators failed; the previous values stand");
                }
            }
            change = match committed.recv().await {
                Ok(report) => {
                    match analytics
                        .change_of_run(report.target, report.run_id, &report.counts)
                        .await
                    {
                        Ok(None) => continue,
                        Ok(change) => change,
                        Err(error) => {
                            tracing::warn!(%error, "reading what a run changed; computing everything");
                            Some(Change::everything())
                        }
                    }
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                    Some(Change::everything())
                }
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
            };
        }
    });
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
