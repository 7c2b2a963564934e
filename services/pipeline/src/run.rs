//! One run of one connector. The run first takes its connector's lease in the database
//! (one run of a connector at a time, across processes) and keeps it alive while it
//! works. Reading and mapping are CPU work on a blocking thread; batches of checked rows
//! cross a bounded channel to the loader, so memory stays flat however large the file.
//! Any error before commit rolls the whole run back.

use crate::duplicates::{DuplicateKeys, Verdict};
use crate::events::{RunFailed, RunStarted, RunSucceeded};
use crate::read::{read_source, Flow, Item, ReadError, ReadSummary, ReferenceData};
use crate::{ConnectorDef, SyncMode};
use abe_connectors::Cancel;
use abe_schema::{
    with_target_row, Code, ErrorCode, OnOwnedElsewhere, ReasonSummary, Reject, RunCounts,
    RunStatus, Severity, SourcePosition, Target, TargetRow,
};
use abe_store::{Load, OpenRun, RunLease, RunOutcome, RunRequest, Staged, Store, StoreError};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// The cron schedule.
    Schedule,
    /// The hub started and the connector had never run.
    Startup,
    /// A person (CLI or API).
    Manual,
}

impl Trigger {
    /// The word stored in the journal.
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Startup => "startup",
            Trigger::Manual => "manual",
        }
    }
}

/// How a run is asked for.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// What started it.
    pub trigger: Trigger,
    /// For a scheduled run: the tick it is for, so that replicas firing the same tick
    /// run it once.
    pub scheduled_for: Option<DateTime<Utc>>,
    /// Set it to stop the run: until its merge starts, the run stops, rolls back and
    /// is journaled as cancelled; a run already merging finishes and commits.
    pub cancel: Cancel,
}

impl RunOptions {
    /// A run started by `trigger`, not cancelled from outside.
    pub fn new(trigger: Trigger) -> Self {
        RunOptions {
            trigger,
            scheduled_for: None,
            cancel: Cancel::default(),
        }
    }
}

/// Figures of a finished run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunReport {
    /// Connector name.
    pub connector: String,
    /// What the connector loads.
    pub target: Target,
    /// Journal id.
    pub run_id: i64,
    /// Row counts.
    pub counts: RunCounts,
    /// Milliseconds reading and mapping.
    pub read_ms: u64,
    /// Milliseconds loading.
    pub load_ms: u64,
    /// Its rejects and warnings by reason.
    pub reasons: ReasonSummary,
}

/// Why a run was rolled back.
#[derive(Debug, thiserror::Error)]
pub enum RunFailure {
    /// The source could not be read to its end.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// More rows were rejected than the connector allows.
    #[error(
        "{rejected} of {read} rows were rejected ({:.1}%), above the connector's limit of \
         {:.1}%; nothing was loaded",
        100.0 * *.rejected as f64 / *.read as f64,
        100.0 * .limit
    )]
    TooManyRejects {
        /// Rows rejected.
        rejected: u64,
        /// Rows read.
        read: u64,
        /// The connector's limit (0-1).
        limit: f64,
    },
    /// A full refresh found nothing to load.
    #[error(
        "the source gave no rows to load (read {read}, rejected {rejected}); a full refresh \
         would delete every row this connector loaded before, so nothing was changed (set \
         allow_empty = true on the connector if the source is meant to be empty)"
    )]
    EmptySource {
        /// Rows read.
        read: u64,
        /// Rows rejected.
        rejected: u64,
    },
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The reading thread panicked.
    #[error("reading the source crashed: {0}")]
    ReaderCrashed(String),
    /// The run would change reference rows another connector loaded.
    #[error(
        "{rows} rows would change that connector {owners} loaded (see the run's warnings); \
         nothing was changed. Set on_owned_elsewhere = \"keep\" to leave them or \
         \"overwrite\" to change them"
    )]
    OwnedElsewhere {
        /// Rows concerned.
        rows: u64,
        /// The connectors that loaded them.
        owners: String,
    },
    /// The run was cancelled.
    #[error("the run was cancelled; nothing was loaded")]
    Cancelled,
}

impl ErrorCode for RunFailure {
    fn error_code(&self) -> Code {
        match self {
            RunFailure::Read(e) => e.error_code(),
            RunFailure::TooManyRejects { .. } => Code::TooManyRejects,
            RunFailure::EmptySource { .. } => Code::EmptySource,
            RunFailure::Store(e) => e.error_code(),
            RunFailure::ReaderCrashed(_) => Code::Internal,
            RunFailure::Cancelled => Code::Cancelled,
            RunFailure::OwnedElsewhere { .. } => Code::OwnedElsewhere,
        }
    }
}

/// Why a run did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Another run of the connector holds its lease; runs never overlap.
    #[error(
        "connector {connector} is already running (run {run_id}, since {})",
        .since.format("%Y-%m-%d %H:%M:%S UTC")
    )]
    AlreadyRunning {
        /// Connector name.
        connector: String,
        /// The run holding the lease.
        run_id: i64,
        /// When it started.
        since: DateTime<Utc>,
    },
    /// Another replica already took this scheduled tick.
    #[error("another hub already took this tick of {0}")]
    TickTaken(String),
    /// The hub is stopping and starts no more runs.
    #[error("the hub is stopping; run of {0} not started")]
    Stopping(String),
    /// The run failed and was rolled back (it is journaled as failed or cancelled).
    #[error("run {run_id} of {connector} failed: {cause}")]
    Failed {
        /// Connector name.
        connector: String,
        /// Journal id.
        run_id: i64,
        /// What went wrong.
        cause: RunFailure,
        /// The rejects and warnings of what was read before it stopped, by reason.
        reasons: ReasonSummary,
    },
    /// The journal itself could not be written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ErrorCode for RunError {
    fn error_code(&self) -> Code {
        match self {
            RunError::AlreadyRunning { .. } | RunError::TickTaken(_) => Code::AlreadyRunning,
            RunError::Stopping(_) => Code::Cancelled,
            RunError::Failed { cause, .. } => cause.error_code(),
            RunError::Store(e) => e.error_code(),
        }
    }
}

/// How long a run's lease lasts without a heartbeat, unless the hub says otherwise.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(60);

/// Runs connectors against one store.
#[derive(Clone)]
pub struct Pipeline {
    store: Store,
    /// This process, as run leases name it.
    owner: Arc<str>,
    lease: Duration,
    /// The runs of this process in progress (by a number of this process: a run is
    /// registered before its journal id exists), to stop them when it shuts down.
    active: Arc<std::sync::Mutex<ActiveRuns>>,
    /// Set when the process stops: no run starts after.
    stopping: Arc<AtomicBool>,
    /// Announces each committed run, for what depends on the data (analytics).
    committed: tokio::sync::broadcast::Sender<RunReport>,
}

/// The runs of a process in progress, each with the flag that stops it.
#[derive(Default)]
struct ActiveRuns {
    next: u64,
    runs: HashMap<u64, Cancel>,
}

/// A run of [`Pipeline::active`], forgotten when it ends, however it ends.
struct ActiveRun {
    active: Arc<std::sync::Mutex<ActiveRuns>>,
    number: u64,
}

impl ActiveRun {
    /// Registers `cancel` as a run in progress.
    fn register(active: &Arc<std::sync::Mutex<ActiveRuns>>, cancel: &Cancel) -> Self {
        let mut runs = active
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let number = runs.next;
        runs.next += 1;
        runs.runs.insert(number, cancel.clone());
        ActiveRun {
            active: Arc::clone(active),
            number,
        }
    }
}

impl Drop for ActiveRun {
    fn drop(&mut self) {
        let mut runs = self
            .active
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        runs.runs.remove(&self.number);
    }
}

/// The task extending a run's lease, stopped when the run ends, however it ends.
struct Heartbeat(tokio::task::JoinHandle<()>);

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Rows per batch sent from the reader to the loader.
const BATCH_ROWS: usize = 5_000;

/// The name a process's leases carry: its host, process id and a random part (process
/// ids repeat across hosts and restarts).
fn lease_owner() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".into());
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("{host}:{}:{}", std::process::id(), &random[..8])
}

/// Committed runs an announcement receiver may fall behind by.
const COMMITTED_BACKLOG: usize = 256;

impl Pipeline {
    /// A pipeline writing to `store`, holding run leases for [`DEFAULT_LEASE`].
    pub fn new(store: Store) -> Self {
        Pipeline {
            store,
            owner: lease_owner().into(),
            lease: DEFAULT_LEASE,
            active: Arc::default(),
            stopping: Arc::default(),
            committed: tokio::sync::broadcast::channel(COMMITTED_BACKLOG).0,
        }
    }

    /// Announcements of every run this pipeline commits, from now on. A receiver that
    /// falls more than a few hundred runs behind is told it lagged (and should then
    /// assume anything changed).
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<RunReport> {
        self.committed.subscribe()
    }

    /// Starts no more runs, asks every run of this process to stop and waits, up to
    /// `wait`, until each has rolled back and been journaled as cancelled. Runs still
    /// going after that are left to their lease.
    pub async fn stop_runs(&self, wait: Duration) {
        self.stopping.store(true, Ordering::SeqCst);
        let running: Vec<Cancel> = self
            .active
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .runs
            .values()
            .cloned()
            .collect();
        if running.is_empty() {
            return;
        }
        tracing::info!(runs = running.len(), "stopping the runs in progress");
        for cancel in &running {
            cancel.cancel();
        }
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline {
            let idle = self
                .active
                .lock()
                .map(|active| active.runs.is_empty())
                .unwrap_or(true);
            if idle {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tracing::warn!("runs still in progress at shutdown are left to their lease");
    }

    /// Holds run leases for `lease` (one second to a day): a process killed mid-run
    /// leaves a run that others mark abandoned this long after its last heartbeat.
    pub fn with_lease(mut self, lease: Duration) -> Self {
        self.lease = lease.clamp(Duration::from_secs(1), Duration::from_secs(86_400));
        self
    }

    /// The store runs write to.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// How long a run's lease lasts without a heartbeat.
    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// Runs `def` now, started by `trigger`.
    pub async fn run(&self, def: &ConnectorDef, trigger: Trigger) -> Result<RunReport, RunError> {
        self.run_with(def, RunOptions::new(trigger)).await
    }

    /// Runs `def` now. Fails at once with [`RunError::AlreadyRunning`] when another run
    /// of it (in this process or another) holds its lease.
    pub async fn run_with(
        &self,
        def: &ConnectorDef,
        options: RunOptions,
    ) -> Result<RunReport, RunError> {
        let cancel = options.cancel;
        // Registered before the stop flag is read: a stop that comes later finds the run
        // and cancels it, one that came earlier is seen here.
        let _active = ActiveRun::register(&self.active, &cancel);
        if self.stopping.load(Ordering::SeqCst) {
            return Err(RunError::Stopping(def.name.clone()));
        }
        let trigger = options.trigger.as_str();
        let request = RunRequest {
            connector: &def.name,
            trigger,
            owner: &self.owner,
            lease: self.lease,
            scheduled_for: options.scheduled_for,
        };
        let run_id = match self.store.open_run(&request, Utc::now()).await? {
            OpenRun::Opened(id) => id,
            OpenRun::Busy { run_id, since, .. } => {
                return Err(RunError::AlreadyRunning {
                    connector: def.name.clone(),
                    run_id,
                    since,
                })
            }
            OpenRun::TickTaken => return Err(RunError::TickTaken(def.name.clone())),
        };
        let lease = RunLease {
            run_id,
            owner: &self.owner,
        };
        RunStarted {
            connector: &def.name,
            run_id,
            trigger,
        }
        .emit();
        let lost = Arc::new(AtomicBool::new(false));
        let heartbeat = self.keep_lease(run_id, &cancel, &lost);
        let mut outcome = RunOutcome::default();
        let result = {
            // SQLite has one writer; runs and computations of this process take turns.
            let _writer = self.store.write_turn().await;
            self.load(def, &lease, &mut outcome, &cancel).await
        };
        drop(heartbeat);
        let cause = match result {
            Ok(()) => {
                let report = RunReport {
                    connector: def.name.clone(),
                    target: def.target,
                    run_id,
                    counts: outcome.end.counts,
                    read_ms: outcome.end.read_ms,
                    load_ms: outcome.end.load_ms,
                    reasons: outcome.summary,
                };
                RunSucceeded(&report).emit();
                // Nobody listening (a CLI run) is not an error.
                let _ = self.committed.send(report.clone());
                return Ok(report);
            }
            Err(_) if lost.load(Ordering::Relaxed) => RunFailure::Store(StoreError::LeaseLost),
            Err(RunFailure::Read(ReadError::Source(abe_connectors::SourceError::Cancelled))) => {
                RunFailure::Cancelled
            }
            Err(cause) => cause,
        };
        RunFailed {
            connector: &def.name,
            run_id,
            code: cause.error_code(),
            error: &cause,
        }
        .emit();
        let status = match cause.error_code() {
            Code::Cancelled => RunStatus::Cancelled,
            _ => RunStatus::Failed,
        };
        outcome.end.error_code = Some(cause.error_code());
        outcome.end.error = Some(cause.to_string());
        // Nothing of a failed run was loaded: only what was read stands.
        outcome.end.counts = RunCounts {
            read: outcome.end.counts.read,
            rejected: outcome.end.counts.rejected,
            duplicates: outcome.end.counts.duplicates,
            ..RunCounts::default()
        };
        self.store
            .finish_unloaded_run(&lease, status, &outcome, Utc::now())
            .await?;
        Err(RunError::Failed {
            connector: def.name.clone(),
            run_id,
            cause,
            reasons: outcome.summary,
        })
    }

    /// Extends the run's lease while it works; a lease lost to another process stops
    /// the run.
    fn keep_lease(&self, run_id: i64, cancel: &Cancel, lost: &Arc<AtomicBool>) -> Heartbeat {
        let (store, owner, lease) = (self.store.clone(), Arc::clone(&self.owner), self.lease);
        let (cancel, lost) = (cancel.clone(), Arc::clone(lost));
        Heartbeat(tokio::spawn(async move {
            let mut ticks = tokio::time::interval(lease / 4);
            ticks.tick().await;
            loop {
                ticks.tick().await;
                match store.extend_lease(run_id, &owner, Utc::now(), lease).await {
                    Ok(true) => {}
                    Ok(false) => {
                        tracing::warn!(run_id, "the run lost its lease; stopping it");
                        lost.store(true, Ordering::Relaxed);
                        cancel.cancel();
                        return;
                    }
                    // A database that does not answer now may answer at the next tick;
                    // the lease lasts four of them.
                    Err(e) => tracing::warn!(run_id, error = %e, "extending the run's lease"),
                }
            }
        }))
    }

    /// Reads, stages, merges and commits; on error the load's transaction is dropped
    /// (rolled back).
    async fn load(
        &self,
        def: &ConnectorDef,
        lease: &RunLease<'_>,
        outcome: &mut RunOutcome,
        cancel: &Cancel,
    ) -> Result<(), RunFailure> {
        outcome.cursor = match def.sync_mode {
            SyncMode::Incremental => self.store.last_cursor(&def.name).await?,
            SyncMode::FullRefresh | SyncMode::Upsert => None,
        };
        let references = Arc::new(ReferenceData::load(&self.store, def).await?);
        // Keys are tracked row by row (24 bytes each) only to report repeats: a source
        // without any is read untracked, and the database tells whether there were
        // some. A source that repeated keys last time is tracked from the start.
        let aggregating = def.mapping.config().aggregate.is_some();
        let repeated_before = !aggregating && self.repeated_last_time(def, lease).await?;
        let first = Attempt {
            staged: false,
            track_keys: repeated_before,
        };
        // Both passes resume from the cursor the run started with.
        let start_cursor = outcome.cursor.clone();
        with_target_row!(def.target, Row => {
            match self.attempt::<Row>(def, lease, outcome, &references, cancel, first).await {
                // The source repeated a key: read again, through staging, keeping track
                // of the keys to report each repeat.
                Err(RunFailure::Store(StoreError::DuplicateKey)) => {
                    outcome.cursor = start_cursor;
                    let again = Attempt { staged: true, track_keys: !aggregating };
                    self.attempt::<Row>(def, lease, outcome, &references, cancel, again).await
                }
                other => other,
            }
        })
    }

    /// Whether the connector's last finished run met repeated keys (reported as
    /// duplicates or refused as repeats): then this run tracks keys from the start
    /// instead of reading its source twice.
    async fn repeated_last_time(
        &self,
        def: &ConnectorDef,
        lease: &RunLease<'_>,
    ) -> Result<bool, StoreError> {
        let recent = self.store.runs(Some(&def.name), None, None, 2).await?;
        Ok(recent
            .items
            .iter()
            .find(|run| run.id != lease.run_id)
            .is_some_and(|run| {
                run.end.counts.duplicates > 0
                    || run
                        .summary
                        .lines()
                        .iter()
                        .any(|line| line.reason.contains(crate::duplicates::REPEAT_MARK))
            }))
    }

    /// One pass over the source into one load transaction.
    async fn attempt<R: TargetRow + Clone>(
        &self,
        def: &ConnectorDef,
        lease: &RunLease<'_>,
        outcome: &mut RunOutcome,
        references: &Arc<ReferenceData>,
        cancel: &Cancel,
        attempt: Attempt,
    ) -> Result<(), RunFailure> {
        let started = Instant::now();
        let (sender, mut receiver) = mpsc::channel::<Vec<Staged<R>>>(4);
        let reader = {
            let (def, references) = (def.clone(), Arc::clone(references));
            let (after, cancel) = (outcome.cursor.clone(), cancel.clone());
            let track_keys = attempt.track_keys;
            tokio::task::spawn_blocking(move || {
                read_batches(
                    &def,
                    &references,
                    after.as_deref(),
                    &cancel,
                    &sender,
                    track_keys,
                )
            })
        };
        let begun = if attempt.staged {
            self.store
                .begin_staged_load(def.target, &def.name, lease.run_id)
                .await
        } else {
            self.store
                .begin_load(def.target, &def.name, lease.run_id)
                .await
        };
        let mut load = begun?;
        load.combine_duplicates(def.combined_as());
        let batches = futures::stream::poll_fn(|cx| receiver.poll_recv(cx));
        let stage_error = load.stage_all(batches).await.err();
        let staged_rows = load.staged_rows();
        // Dropping the receiver stops a reader that is still going.
        drop(receiver);
        let read = reader
            .await
            .unwrap_or_else(|e| Err((ReaderFailure::Panic(e.to_string()), BatchesRead::default())));
        let (read, read_error) = match read {
            Ok(read) => (read, None),
            Err((error, partial)) => (partial, Some(error)),
        };
        outcome.end.counts.read = read.summary.read;
        outcome.end.counts.rejected = read.summary.rejected + read.refused_repeats;
        outcome.end.counts.duplicates = read.duplicates;
        if read.summary.cursor.is_some() {
            outcome.cursor = read.summary.cursor.clone();
        }
        outcome.rejects = read.rejects;
        outcome.warnings = read.warnings;
        outcome.summary = read.reasons;
        outcome.sources = read.summary.sources;
        outcome.end.read_ms = started.elapsed().as_millis() as u64;
        // A staging error stops the reader too; report the cause, not the symptom.
        if let Some(e) = stage_error {
            return Err(e.into());
        }
        if let Some(e) = read_error {
            return Err(e.into_failure());
        }
        if let Some(limit) = def.max_reject_share {
            let RunCounts { read, rejected, .. } = outcome.end.counts;
            if read > 0 && rejected as f64 > limit * read as f64 {
                return Err(RunFailure::TooManyRejects {
                    rejected,
                    read,
                    limit,
                });
            }
        }
        let full_refresh = def.sync_mode == SyncMode::FullRefresh;
        if full_refresh && staged_rows == 0 && !def.allow_empty {
            return Err(empty_source(outcome));
        }
        if cancel.is_cancelled() {
            return Err(RunFailure::Cancelled);
        }
        let load_started = Instant::now();
        let repeated = load.repeated_rows().await?;
        if let Some(aggregate) = def.mapping.config().aggregate {
            outcome.end.counts.duplicates = repeated;
            outcome.summary.add_count(
                Severity::Info,
                &format!(
                    "rows added to the row of their key (aggregate = \"{}\")",
                    aggregate.as_str()
                ),
                repeated,
            );
        } else if repeated > 0 && !attempt.track_keys {
            // Repeats to report, and to resolve as the connector says: read again.
            return Err(RunFailure::Store(StoreError::DuplicateKey));
        }
        if !read.refused_keys.is_empty() {
            load.remove_keys(&read.refused_keys).await?;
            // Refusing every key of a full refresh empties it as surely as an empty file.
            if full_refresh && load.keys_to_load().await? == 0 && !def.allow_empty {
                return Err(empty_source(outcome));
            }
        }
        self.settle_rows_owned_elsewhere(def, &mut load, outcome)
            .await?;
        let counts = load.merge(full_refresh).await?;
        outcome.end.counts.inserted = counts.inserted;
        outcome.end.counts.updated = counts.updated;
        outcome.end.counts.unchanged = counts.unchanged;
        outcome.end.counts.deleted = counts.deleted;
        outcome.end.load_ms = load_started.elapsed().as_millis() as u64;
        load.commit_run(lease, outcome, Utc::now()).await?;
        Ok(())
    }
}

impl Pipeline {
    /// Reports the rows of reference data this load would change that another
    /// connector wrote, and fails the run, keeps them or lets them change as the
    /// connector chose.
    async fn settle_rows_owned_elsewhere(
        &self,
        def: &ConnectorDef,
        load: &mut Load,
        outcome: &mut RunOutcome,
    ) -> Result<(), RunFailure> {
        let owned = load.rows_owned_elsewhere().await?;
        if owned.is_empty() {
            return Ok(());
        }
        let choice = def.on_owned_elsewhere;
        let what = match choice {
            OnOwnedElsewhere::Fail => "nothing was changed",
            OnOwnedElsewhere::Keep => "it was left as that connector wrote it",
            OnOwnedElsewhere::Overwrite => "it was changed and now belongs to this connector",
        };
        let mut owners: Vec<&str> = Vec::new();
        for row in &owned {
            if !owners.contains(&row.owner.as_str()) {
                owners.push(&row.owner);
            }
            let place = usize::try_from(row.source)
                .ok()
                .and_then(|i| outcome.sources.get(i));
            let position = SourcePosition {
                file: place.map(|s| s.file.clone()).unwrap_or_default(),
                sheet: place.and_then(|s| s.sheet.clone()),
                row: row.source_row.and_then(|r| u64::try_from(r).ok()),
                column: None,
            };
            let warning = Reject::new(
                position,
                Some(&row.key),
                format!(
                    "{} {} was last loaded by connector {}; {what} (on_owned_elsewhere = \"{}\")",
                    def.target.desc().table.trim_end_matches('s'),
                    row.key,
                    row.owner,
                    choice.as_str()
                ),
            );
            keep_remark(
                &mut outcome.warnings,
                &mut outcome.summary,
                Severity::Warning,
                warning,
            );
        }
        match choice {
            OnOwnedElsewhere::Fail => Err(RunFailure::OwnedElsewhere {
                rows: owned.len() as u64,
                owners: owners.join(", "),
            }),
            OnOwnedElsewhere::Keep => {
                load.keep_rows_of_others();
                Ok(())
            }
            OnOwnedElsewhere::Overwrite => Ok(()),
        }
    }
}

/// A full refresh with nothing to load: an emptied export or a header-only file is far
/// likelier than a province whose data vanished, and replacing everything with nothing
/// needs consent (`allow_empty`).
fn empty_source(outcome: &RunOutcome) -> RunFailure {
    let RunCounts { read, rejected, .. } = outcome.end.counts;
    RunFailure::EmptySource { read, rejected }
}

/// How one pass over the source goes.
#[derive(Debug, Clone, Copy)]
struct Attempt {
    /// Through the staging table, whatever the backend.
    staged: bool,
    /// Keys are remembered to report each repeat and resolve it in the reader.
    track_keys: bool,
}

/// What the reader thread gives back: the read's figures, the remarks to keep and the
/// keys refused as repeats.
struct BatchesRead<R> {
    summary: ReadSummary,
    rejects: Vec<Reject>,
    warnings: Vec<Reject>,
    /// Every remark by reason.
    reasons: ReasonSummary,
    /// Rows refused here rather than by the read: repeats of a key.
    refused_repeats: u64,
    /// Rows merged into an earlier row of their key, or left out.
    duplicates: u64,
    /// One row of each key refused as repeated: its first row, sent before the key
    /// repeated, must leave the load.
    refused_keys: Vec<R>,
}

impl<R> Default for BatchesRead<R> {
    fn default() -> Self {
        BatchesRead {
            summary: ReadSummary::default(),
            rejects: Vec::new(),
            warnings: Vec::new(),
            reasons: ReasonSummary::default(),
            refused_repeats: 0,
            duplicates: 0,
            refused_keys: Vec::new(),
        }
    }
}

/// Keeps a remark (up to the journal's limit) and counts it by reason.
fn keep_remark(
    kept: &mut Vec<Reject>,
    reasons: &mut ReasonSummary,
    severity: Severity,
    remark: Reject,
) {
    reasons.add(severity, &remark);
    if kept.len() < abe_store::MAX_STORED_REJECTS {
        kept.push(remark);
    }
}

/// Why the reader thread stopped short: its read failed, or it panicked.
enum ReaderFailure {
    Read(ReadError),
    Panic(String),
}

impl ReaderFailure {
    fn into_failure(self) -> RunFailure {
        match self {
            ReaderFailure::Read(e) => RunFailure::Read(e),
            ReaderFailure::Panic(message) => RunFailure::ReaderCrashed(message),
        }
    }
}

/// Reads and maps the whole source on the calling (blocking) thread, sending batches of
/// checked rows; keeps the first rejects.
fn read_batches<R: TargetRow + Clone>(
    def: &ConnectorDef,
    references: &ReferenceData,
    after: Option<&str>,
    cancel: &Cancel,
    sender: &mpsc::Sender<Vec<Staged<R>>>,
    track_keys: bool,
) -> Result<BatchesRead<R>, (ReaderFailure, BatchesRead<R>)> {
    let mut out = BatchesRead::<R>::default();
    let mut keys = track_keys.then(|| DuplicateKeys::<R>::new(def.combined_as()));
    let mut batch = Vec::with_capacity(BATCH_ROWS);
    let mut loader_gone = false;
    let read = read_source::<R>(def, references, after, cancel, |item| {
        match item {
            Item::Row {
                row,
                position,
                source,
            } => {
                let verdict = match &mut keys {
                    Some(keys) => keys.check(&row, &position, source),
                    None => Verdict::Send,
                };
                match verdict {
                    Verdict::Send => {}
                    Verdict::SendAndWarn(warning) => keep_remark(
                        &mut out.warnings,
                        &mut out.reasons,
                        Severity::Warning,
                        warning,
                    ),
                    Verdict::LeaveOut(warning) => {
                        keep_remark(
                            &mut out.warnings,
                            &mut out.reasons,
                            Severity::Warning,
                            warning,
                        );
                        return Flow::Continue;
                    }
                    Verdict::Refuse(reject) => {
                        out.refused_repeats += 1;
                        keep_remark(&mut out.rejects, &mut out.reasons, Severity::Reject, reject);
                        return Flow::Continue;
                    }
                }
                batch.push(Staged {
                    row,
                    source,
                    source_row: position.row.map(|r| r as i64),
                });
                if batch.len() >= BATCH_ROWS {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ROWS));
                    if sender.blocking_send(full).is_err() {
                        loader_gone = true;
                        return Flow::Stop;
                    }
                }
            }
            Item::Reject(reject) => {
                keep_remark(&mut out.rejects, &mut out.reasons, Severity::Reject, reject)
            }
            // Skipped records are counted in the summary only: they are what the
            // steward asked to leave out.
            Item::Skipped { position, rule } => out.reasons.add_as(
                Severity::Info,
                format!("skipped: {rule} (skip_if)"),
                &position,
            ),
        }
        Flow::Continue
    });
    if !loader_gone && !batch.is_empty() {
        // A loader that stopped has its own error, which the run reports.
        let _ = sender.blocking_send(batch);
    }
    let (refused_keys, first_rows) = match keys {
        Some(keys) => {
            out.duplicates = keys.merged;
            keys.into_refused()
        }
        None => Default::default(),
    };
    out.refused_repeats += first_rows.len() as u64;
    for reject in first_rows {
        keep_remark(&mut out.rejects, &mut out.reasons, Severity::Reject, reject);
    }
    out.refused_keys = refused_keys;
    match read {
        Ok(summary) => {
            out.summary = summary;
            Ok(out)
        }
        Err((error, summary)) => {
            out.summary = summary;
            Err((ReaderFailure::Read(error), out))
        }
    }
}
