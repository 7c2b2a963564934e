//! One run of one connector. Reading and mapping are CPU work on a blocking thread;
//! batches of checked rows cross a bounded channel to the loader, so memory stays flat
//! however large the file. Any error before commit rolls the whole run back.

use crate::events::{RunFailed, RunStarted, RunSucceeded};
use crate::{ConnectorDef, SyncMode};
use abe_connectors::mapping::{MappedRow, Mapping, RefData};
use abe_connectors::{Header, SourceItem};
use abe_schema::thai::AreaNames;
use abe_schema::{Reject, RunCounts, SourcePosition, Target};
use abe_store::{Param, RunOutcome, RunSource, StagedRow, Store, StoreError};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Instant;
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

/// Figures of a finished run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunReport {
    /// Connector name.
    pub connector: String,
    /// Journal id.
    pub run_id: i64,
    /// Row counts.
    pub counts: RunCounts,
    /// Milliseconds reading and mapping.
    pub read_ms: u64,
    /// Milliseconds loading.
    pub load_ms: u64,
}

/// Why a run did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The same connector is running now; runs never overlap.
    #[error("connector {0} is already running")]
    AlreadyRunning(String),
    /// The run failed and was rolled back (it is journaled as failed).
    #[error("run {run_id} of {connector} failed: {message}")]
    Failed {
        /// Connector name.
        connector: String,
        /// Journal id.
        run_id: i64,
        /// What went wrong.
        message: String,
    },
    /// The journal itself could not be written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Runs connectors against one store.
#[derive(Clone)]
pub struct Pipeline {
    store: Store,
    running: Arc<Mutex<HashSet<String>>>,
    /// SQLite has one writer; runs take turns instead of waiting on its lock.
    sqlite_writer: Arc<tokio::sync::Mutex<()>>,
}

/// Rows per batch sent from the reader to the loader.
const BATCH_ROWS: usize = 5_000;

/// Removes the connector from the running set when the run ends, however it ends.
struct RunningGuard {
    running: Arc<Mutex<HashSet<String>>>,
    name: String,
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        if let Ok(mut set) = self.running.lock() {
            set.remove(&self.name);
        }
    }
}

/// Reference data a row must agree with.
pub(crate) struct References {
    areas: HashSet<String>,
    indicators: HashSet<String>,
    school_areas: HashMap<String, String>,
    /// Names of areas, loaded only when a mapping resolves areas by name.
    pub(crate) names: RefData,
}

impl Pipeline {
    /// A pipeline writing to `store`.
    pub fn new(store: Store) -> Self {
        Pipeline {
            store,
            running: Arc::default(),
            sqlite_writer: Arc::default(),
        }
    }

    /// The store runs write to.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Whether `connector` is running now.
    pub fn is_running(&self, connector: &str) -> bool {
        self.running
            .lock()
            .map(|s| s.contains(connector))
            .unwrap_or(false)
    }

    /// Runs `def` now. Fails at once with [`RunError::AlreadyRunning`] if it is running.
    pub async fn run(&self, def: &ConnectorDef, trigger: Trigger) -> Result<RunReport, RunError> {
        let _guard = {
            let mut set = self
                .running
                .lock()
                .map_err(|_| RunError::AlreadyRunning(def.name.clone()))?;
            if !set.insert(def.name.clone()) {
                return Err(RunError::AlreadyRunning(def.name.clone()));
            }
            RunningGuard {
                running: Arc::clone(&self.running),
                name: def.name.clone(),
            }
        };
        let _writer = match self.store.backend() {
            abe_store::Backend::Sqlite => Some(self.sqlite_writer.lock().await),
            abe_store::Backend::Postgres => None,
        };
        let run_id = self
            .store
            .start_run(&def.name, trigger.as_str(), chrono::Utc::now())
            .await?;
        RunStarted {
            connector: &def.name,
            run_id,
            trigger: trigger.as_str(),
        }
        .emit();
        let mut outcome = RunOutcome::default();
        match self.load(def, run_id, &mut outcome).await {
            Ok(()) => {
                let report = RunReport {
                    connector: def.name.clone(),
                    run_id,
                    counts: outcome.counts,
                    read_ms: outcome.read_ms,
                    load_ms: outcome.load_ms,
                };
                RunSucceeded(&report).emit();
                Ok(report)
            }
            Err(message) => {
                RunFailed {
                    connector: &def.name,
                    run_id,
                    error: &message,
                }
                .emit();
                outcome.error = Some(message.clone());
                // Nothing of a failed run was loaded: only what was read stands.
                outcome.counts = RunCounts {
                    read: outcome.counts.read,
                    rejected: outcome.counts.rejected,
                    ..RunCounts::default()
                };
                self.store
                    .finish_failed_run(run_id, &outcome, chrono::Utc::now())
                    .await?;
                Err(RunError::Failed {
                    connector: def.name.clone(),
                    run_id,
                    message,
                })
            }
        }
    }

    /// Reads, stages, merges and commits; on error the load's transaction is dropped
    /// (rolled back) and the message says why.
    async fn load(
        &self,
        def: &ConnectorDef,
        run_id: i64,
        outcome: &mut RunOutcome,
    ) -> Result<(), String> {
        let after = match def.sync_mode {
            SyncMode::Incremental => self
                .store
                .last_cursor(&def.name)
                .await
                .map_err(|e| e.to_string())?,
            SyncMode::FullRefresh | SyncMode::Upsert => None,
        };
        outcome.cursor = after.clone();
        let references = Arc::new(
            self.references(def.mapping.needs_area_names())
                .await
                .map_err(|e| e.to_string())?,
        );
        match self.attempt(def, run_id, outcome, &references, false).await {
            // The direct first load met a repeated key: read again, through staging.
            Err(None) => self
                .attempt(def, run_id, outcome, &references, true)
                .await
                .map_err(|e| e.unwrap_or_else(|| "the source repeats a key".into())),
            other => other.map_err(|e| e.unwrap_or_else(|| "the source repeats a key".into())),
        }
    }

    /// One pass over the source into one load transaction. `Err(None)` means a direct
    /// load met a repeated key and nothing was kept; `Err(Some(message))` is a failure.
    async fn attempt(
        &self,
        def: &ConnectorDef,
        run_id: i64,
        outcome: &mut RunOutcome,
        references: &Arc<References>,
        staged: bool,
    ) -> Result<(), Option<String>> {
        let started = Instant::now();
        let (sender, mut receiver) = mpsc::channel::<Vec<StagedRow>>(4);
        let reader_def = def.clone();
        let reader_references = Arc::clone(references);
        let after = outcome.cursor.clone();
        let reader = tokio::task::spawn_blocking(move || {
            read_source(&reader_def, &reader_references, after.as_deref(), &sender)
        });
        let begun = if staged {
            self.store
                .begin_staged_load(def.target, &def.name, run_id)
                .await
        } else {
            self.store.begin_load(def.target, &def.name, run_id).await
        };
        let mut load = begun.map_err(|e| Some(e.to_string()))?;
        let batches = futures::stream::poll_fn(|cx| receiver.poll_recv(cx));
        let stage_error = match load.stage_all(batches).await {
            Ok(()) => None,
            Err(StoreError::DuplicateKey) => {
                drop(receiver);
                let _ = reader.await;
                return Err(None);
            }
            Err(e) => Some(e.to_string()),
        };
        let staged_rows = load.staged_rows();
        drop(receiver);
        let read = match reader.await {
            Ok(result) => result,
            Err(join_error) => Err(ReadFailure {
                message: format!("reading the source crashed: {join_error}"),
                partial: ReadSummary::default(),
            }),
        };
        let (summary, read_error) = match read {
            Ok(summary) => (summary, None),
            Err(failure) => (failure.partial, Some(failure.message)),
        };
        outcome.counts.read = summary.read;
        outcome.counts.rejected = summary.rejected;
        if summary.cursor.is_some() {
            outcome.cursor = summary.cursor.clone();
        }
        outcome.rejects = summary.rejects;
        outcome.sources = summary.sources.list;
        outcome.read_ms = started.elapsed().as_millis() as u64;
        // A staging error stops the reader too; report the cause, not the symptom.
        if let Some(e) = stage_error.or(read_error) {
            return Err(Some(e));
        }
        if let Some(limit) = def.max_reject_share {
            let RunCounts { read, rejected, .. } = outcome.counts;
            if read > 0 && rejected as f64 > limit * read as f64 {
                return Err(Some(format!(
                    "{rejected} of {read} rows were rejected ({:.1}%), above the connector's limit of {:.1}%; nothing was loaded",
                    100.0 * rejected as f64 / read as f64,
                    100.0 * limit
                )));
            }
        }
        let full_refresh = def.sync_mode == SyncMode::FullRefresh;
        if full_refresh && staged_rows == 0 && !def.allow_empty {
            // An emptied export or a header-only file is far likelier than a province
            // whose data vanished; replacing everything with nothing needs consent.
            let RunCounts { read, rejected, .. } = outcome.counts;
            return Err(Some(format!(
                "the source gave no rows to load (read {read}, rejected {rejected}); a full \
                 refresh would delete every row this connector loaded before, so nothing was \
                 changed (set allow_empty = true on the connector if the source is meant to be empty)"
            )));
        }
        let load_started = Instant::now();
        let counts = load
            .merge(full_refresh)
            .await
            .map_err(|e| Some(e.to_string()))?;
        outcome.counts.inserted = counts.inserted;
        outcome.counts.updated = counts.updated;
        outcome.counts.unchanged = counts.unchanged;
        outcome.counts.deleted = counts.deleted;
        outcome.load_ms = load_started.elapsed().as_millis() as u64;
        load.commit_run(run_id, outcome, chrono::Utc::now())
            .await
            .map_err(|e| Some(e.to_string()))
    }

    pub(crate) async fn references(&self, with_names: bool) -> Result<References, StoreError> {
        let names = if with_names {
            RefData {
                area_names: AreaNames::new(self.store.area_names().await?),
            }
        } else {
            RefData::default()
        };
        Ok(References {
            names,
            areas: self.store.area_codes().await?.into_iter().collect(),
            indicators: self.store.indicator_codes().await?.into_iter().collect(),
            school_areas: self.store.school_areas().await?.into_iter().collect(),
        })
    }
}

#[derive(Default)]
struct ReadSummary {
    /// Largest cursor-field value read (incremental connectors).
    cursor: Option<String>,
    read: u64,
    rejected: u64,
    rejects: Vec<Reject>,
    sources: Sources,
}

/// The files and sheets a run reads, numbered in the order they first appear.
#[derive(Default)]
struct Sources {
    list: Vec<RunSource>,
    numbers: HashMap<RunSource, i64>,
}

impl Sources {
    /// The number of `position`'s file and sheet, given one on first sight.
    fn number(&mut self, position: &SourcePosition) -> i64 {
        // Records come in runs of one file and sheet: check the latest first.
        if let Some(last) = self.list.last() {
            if last.file == position.file && last.sheet == position.sheet {
                return self.list.len() as i64 - 1;
            }
        }
        let source = RunSource {
            file: position.file.clone(),
            sheet: position.sheet.clone(),
        };
        if let Some(&n) = self.numbers.get(&source) {
            return n;
        }
        let n = self.list.len() as i64;
        self.numbers.insert(source.clone(), n);
        self.list.push(source);
        n
    }
}

impl ReadSummary {
    fn reject(&mut self, reject: Reject) {
        self.rejected += 1;
        if self.rejects.len() < abe_store::MAX_STORED_REJECTS {
            self.rejects.push(reject);
        }
    }
}

struct ReadFailure {
    message: String,
    partial: ReadSummary,
}

/// Reads and maps the whole source on the calling (blocking) thread, sending batches.
fn read_source(
    def: &ConnectorDef,
    references: &References,
    after: Option<&str>,
    sender: &mpsc::Sender<Vec<StagedRow>>,
) -> Result<ReadSummary, ReadFailure> {
    let mut summary = ReadSummary::default();
    let fail = |message: String, partial: ReadSummary| Err(ReadFailure { message, partial });
    let expected_columns = def.mapping.source_columns();
    let context = abe_connectors::OpenContext {
        base_dir: &def.base_dir,
        expected_columns: &expected_columns,
        incremental: def
            .cursor_field
            .as_deref()
            .map(|field| abe_connectors::Incremental { field, after }),
    };
    let stream = match def.source.open(&context) {
        Ok(stream) => stream,
        Err(e) => return fail(e.to_string(), summary),
    };
    let mut checker = RowChecker::new(references, &def.mapping);
    let mut checked_header: Option<Arc<Header>> = None;
    let mut batch = Vec::with_capacity(BATCH_ROWS);
    for item in stream {
        let record = match item {
            Ok(SourceItem::Record(record)) => record,
            Ok(SourceItem::Reject(reject)) => {
                summary.read += 1;
                summary.reject(reject);
                continue;
            }
            Err(e) => return fail(e.to_string(), summary),
        };
        if record.is_blank() {
            continue;
        }
        if !checked_header
            .as_ref()
            .is_some_and(|h| Arc::ptr_eq(h, &record.header))
        {
            if let Err(e) = def.mapping.check_header(&record.header) {
                let position = SourcePosition {
                    row: None,
                    ..record.position.clone()
                };
                return fail(format!("{position}: {e}"), summary);
            }
            checked_header = Some(Arc::clone(&record.header));
        }
        if let Some(field) = &def.cursor_field {
            let value = match record
                .header
                .position(field)
                .and_then(|i| record.cells.get(i))
            {
                Some(abe_connectors::Cell::Text(text)) => text.trim().to_string(),
                Some(abe_connectors::Cell::Error(_)) | None
                    if record.header.position(field).is_some() =>
                {
                    String::new()
                }
                _ => {
                    return fail(
                        format!(
                            "{}: the cursor field \"{field}\" is not in the header",
                            record.position.file
                        ),
                        summary,
                    )
                }
            };
            // Records at or below the last cursor were loaded by an earlier run.
            if after.is_some_and(|a| !cursor_above(&value, a)) {
                continue;
            }
            if !value.is_empty()
                && summary
                    .cursor
                    .as_deref()
                    .is_none_or(|max| cursor_above(&value, max))
            {
                summary.cursor = Some(value);
            }
        }
        // A wide record may give several rows (unpivot); each counts as read.
        for mapped in def.mapping.map_with(&record, &references.names) {
            summary.read += 1;
            match mapped.and_then(|row| checker.check(row, &record.position)) {
                Ok(mut values) => {
                    values.push(Param::Int(Some(summary.sources.number(&record.position))));
                    values.push(Param::from(record.position.row.map(|r| r as i64)));
                    batch.push(StagedRow(values));
                }
                Err(reject) => summary.reject(reject),
            }
        }
        if batch.len() >= BATCH_ROWS {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_ROWS));
            if sender.blocking_send(full).is_err() {
                return fail("the loader stopped".into(), summary);
            }
        }
    }
    if !batch.is_empty() && sender.blocking_send(batch).is_err() {
        return fail("the loader stopped".into(), summary);
    }
    Ok(summary)
}

/// Whether cursor value `a` comes after `b`: numerically when both are numbers,
/// else as text (ISO dates and times sort as text).
fn cursor_above(a: &str, b: &str) -> bool {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x > y,
        _ => a > b,
    }
}

/// Checks mapped rows against the reference tables and turns them into staged values.
pub(crate) struct RowChecker<'a> {
    references: &'a References,
    mapping: &'a Mapping,
    /// Area codes loaded earlier in this run, so a district may follow its province.
    areas_in_run: HashSet<String>,
}

impl<'a> RowChecker<'a> {
    /// A checker for one run of `mapping`.
    pub(crate) fn new(references: &'a References, mapping: &'a Mapping) -> Self {
        RowChecker {
            references,
            mapping,
            areas_in_run: HashSet::new(),
        }
    }

    pub(crate) fn check(
        &mut self,
        row: MappedRow,
        position: &SourcePosition,
    ) -> Result<Vec<Param>, Reject> {
        let at = |field: &str| match self.mapping.column_of(field) {
            Some(column) => position.with_column(column),
            None => position.clone(),
        };
        let known_area = |code: &str, areas_in_run: &HashSet<String>| {
            self.references.areas.contains(code) || areas_in_run.contains(code)
        };
        match row {
            MappedRow::Area(area) => {
                if let Some(parent) = &area.parent_code {
                    if !known_area(parent, &self.areas_in_run) {
                        return Err(Reject::new(
                            at("code"),
                            Some(&area.code),
                            format!("parent area {parent} is not known; load it first or earlier in the file"),
                        ));
                    }
                }
                self.areas_in_run.insert(area.code.clone());
                Ok(vec![
                    Param::from(area.code),
                    Param::from(area.level.as_str()),
                    Param::from(area.parent_code),
                    Param::from(area.name_th),
                    Param::from(area.name_en),
                ])
            }
            MappedRow::School(school) => {
                if !known_area(&school.area_code, &self.areas_in_run) {
                    return Err(Reject::new(
                        at("area"),
                        Some(&school.area_code),
                        format!("area {} is not known", school.area_code),
                    ));
                }
                Ok(vec![
                    Param::from(school.code),
                    Param::from(school.name_th),
                    Param::from(school.name_en),
                    Param::from(school.area_code),
                    Param::from(school.affiliation),
                    Param::from(school.levels),
                ])
            }
            MappedRow::Observation(mut obs) => {
                if !self.references.indicators.contains(&obs.indicator) {
                    return Err(Reject::new(
                        at("indicator"),
                        Some(&obs.indicator),
                        format!("indicator {} is not in the catalogue", obs.indicator),
                    ));
                }
                if !obs.school_code.is_empty() {
                    match self.references.school_areas.get(&obs.school_code) {
                        Some(area) if obs.area_code.is_empty() => obs.area_code = area.clone(),
                        Some(_) => {}
                        None => {
                            return Err(Reject::new(
                                at("school"),
                                Some(&obs.school_code),
                                format!("school {} is not known", obs.school_code),
                            ))
                        }
                    }
                }
                if !self.references.areas.contains(&obs.area_code) {
                    return Err(Reject::new(
                        at("area"),
                        Some(&obs.area_code),
                        format!("area {} is not known", obs.area_code),
                    ));
                }
                Ok(vec![
                    Param::from(obs.indicator),
                    Param::from(obs.area_code),
                    Param::from(obs.school_code),
                    Param::from(obs.period),
                    Param::from(obs.breakdown),
                    Param::from(obs.value),
                ])
            }
        }
    }
}

/// The target of a definition, re-exported for callers that order runs.
pub fn target_order(target: Target) -> u8 {
    match target {
        Target::Areas => 0,
        Target::Schools => 1,
        Target::Observations => 2,
    }
}
