//! The catalogue the config provisions (agencies, indicators, thresholds, connectors),
//! the run journal, and the reference sets a run checks its rows against.

use crate::load::{owned_chunks, Tx};
use crate::queries::CONNECTOR_COLUMNS;
use crate::{params, ConnectorRecord, Load, Param, Result, Store, StoreError};
use abe_schema::{
    Agency, Code, Indicator, ReasonSummary, Reject, RunCounts, RunStatus, Severity, Threshold,
};
use chrono::{DateTime, Utc};
use std::time::Duration;

/// A connector as the store keeps it; `config` is the source and mapping as JSON.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ConnectorSpec {
    /// Unique name.
    pub name: String,
    /// Owning agency code.
    pub agency: Option<String>,
    /// Source kind (`csv`, `excel`, ...).
    pub kind: String,
    /// Target rows (`observations`, `areas`, `schools`).
    pub target: String,
    /// Cron schedule, if any.
    pub schedule: Option<String>,
    /// Source and mapping config, as JSON.
    pub config: String,
}

/// What a run did and how it ended, as its journal row keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunEnd {
    /// Row counts; `rejected` counts every reject, though only the first
    /// [`MAX_STORED_REJECTS`] are kept.
    pub counts: RunCounts,
    /// Milliseconds spent reading and mapping.
    pub read_ms: u64,
    /// Milliseconds spent loading and committing.
    pub load_ms: u64,
    /// Why the run did not succeed: its code in the closed list.
    pub error_code: Option<Code>,
    /// Why the run did not succeed, in full (for the log, admins and the CLI; the
    /// public sees the code's message).
    pub error: Option<String>,
}

/// How a run ended, written to its journal row.
#[derive(Debug, Clone, Default)]
pub struct RunOutcome {
    /// Its figures and error.
    pub end: RunEnd,
    /// For incremental connectors: where the next run resumes.
    pub cursor: Option<String>,
    /// Rejects to keep.
    pub rejects: Vec<Reject>,
    /// Warnings to keep: rows loaded, merged or kept out by the connector's choice that
    /// the steward should know of.
    pub warnings: Vec<Reject>,
    /// Every reject and warning of the run by reason, including those not kept.
    pub summary: ReasonSummary,
    /// The files (and sheets) the run's rows came from; a [`Staged`](crate::Staged) row's
    /// source number is a position in this list.
    pub sources: Vec<RunSource>,
}

/// A file, URL or sheet a run read rows from, stored once per run rather than per row.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RunSource {
    /// File path or URL.
    pub file: String,
    /// Sheet of a workbook.
    pub sheet: Option<String>,
}

/// A run keeps at most this many rejects (and as many warnings); the counts and the
/// reason summary cover them all.
pub const MAX_STORED_REJECTS: usize = 10_000;

/// The columns of `indicators`, code first, in the order [`indicator_params`] binds.
pub(crate) const INDICATOR_COLUMNS: [&str; 17] = [
    "code",
    "name_th",
    "name_en",
    "description_th",
    "description_en",
    "unit",
    "kind",
    "numerator",
    "denominator",
    "multiplier",
    "denominator_lag",
    "weight",
    "direction",
    "decimals",
    "topic",
    "breakdowns",
    "sources",
];

fn indicator_params(i: &Indicator) -> Vec<Param> {
    params![
        &i.code,
        &i.name_th,
        i.name_en.clone(),
        i.description_th.clone(),
        i.description_en.clone(),
        &i.unit,
        i.kind.as_str(),
        i.numerator.clone(),
        i.denominator.clone(),
        i.multiplier,
        i.denominator_lag.map(i64::from),
        i.weight.clone(),
        i.direction.as_str(),
        i.decimals.map(i64::from),
        i.topic.clone(),
        i.breakdowns.join(","),
        i.sources.join(",")
    ]
}

impl Store {
    /// Inserts or updates agencies by code.
    pub async fn upsert_agencies(&self, agencies: &[Agency]) -> Result<()> {
        self.save_agencies(agencies, Existing::Update)
            .await
            .map(drop)
    }

    /// Inserts or updates indicators by code.
    pub async fn upsert_indicators(&self, indicators: &[Indicator]) -> Result<()> {
        self.save_indicators(indicators, Existing::Update)
            .await
            .map(drop)
    }

    /// Saves agencies by code, updating or keeping those already there; returns how
    /// many were inserted or changed.
    pub async fn save_agencies(&self, agencies: &[Agency], existing: Existing) -> Result<u64> {
        let on_conflict = match existing {
            Existing::Update => {
                "DO UPDATE SET name_th = excluded.name_th, name_en = excluded.name_en, \
                 kind = excluded.kind"
            }
            Existing::Keep => "DO NOTHING",
        };
        let sql = format!(
            "INSERT INTO agencies (code, name_th, name_en, kind) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (code) {on_conflict}"
        );
        let mut saved = 0;
        for a in agencies {
            saved += self
                .execute(
                    &sql,
                    params![&a.code, &a.name_th, a.name_en.clone(), a.kind.as_str()],
                    "saving an agency",
                )
                .await?;
        }
        Ok(saved)
    }

    /// Saves indicators by code, updating or keeping those already there; returns how
    /// many were inserted or changed.
    pub async fn save_indicators(
        &self,
        indicators: &[Indicator],
        existing: Existing,
    ) -> Result<u64> {
        let on_conflict = match existing {
            Existing::Update => {
                let set: Vec<String> = INDICATOR_COLUMNS[1..]
                    .iter()
                    .map(|c| format!("{c} = excluded.{c}"))
                    .collect();
                format!("DO UPDATE SET {}", set.join(", "))
            }
            Existing::Keep => "DO NOTHING".to_string(),
        };
        let marks: Vec<String> = (1..=INDICATOR_COLUMNS.len())
            .map(|n| format!("${n}"))
            .collect();
        let sql = format!(
            "INSERT INTO indicators ({}) VALUES ({}) ON CONFLICT (code) {on_conflict}",
            INDICATOR_COLUMNS.join(", "),
            marks.join(", ")
        );
        let mut saved = 0;
        for i in indicators {
            saved += self
                .execute(&sql, indicator_params(i), "saving an indicator")
                .await?;
        }
        Ok(saved)
    }

    /// Replaces all thresholds with `thresholds`.
    pub async fn replace_thresholds(&self, thresholds: &[Threshold]) -> Result<()> {
        let mut tx = self.begin("replacing thresholds").await?;
        tx.execute("DELETE FROM thresholds", &[], "clearing thresholds")
            .await?;
        for t in thresholds {
            tx.execute(
                "INSERT INTO thresholds (indicator, level, warning, critical) VALUES ($1, $2, $3, $4)",
                params![&t.indicator, t.level.as_str(), t.warning, t.critical],
                "saving a threshold",
            )
            .await?;
        }
        tx.commit("saving thresholds").await
    }

    /// Makes the provisioned connectors exactly `connectors`: new ones are added,
    /// changed ones updated, provisioned ones no longer declared removed (their runs stay).
    pub async fn provision_connectors(
        &self,
        connectors: &[ConnectorSpec],
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin("provisioning connectors").await?;
        for c in connectors {
            provision_connector(&mut tx, c, now).await?;
        }
        let names: Vec<Param> = connectors.iter().map(|c| Param::from(&c.name)).collect();
        let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
        let sql = if names.is_empty() {
            "DELETE FROM connectors WHERE provisioned = TRUE".to_string()
        } else {
            format!(
                "DELETE FROM connectors WHERE provisioned = TRUE AND name NOT IN ({})",
                placeholders.join(", ")
            )
        };
        tx.execute(&sql, &names, "removing connectors no longer declared")
            .await?;
        tx.commit("provisioning connectors").await
    }

    /// Adds or updates one connector of the config file, leaving every other connector
    /// as it is (a CLI run with a config of its own).
    pub async fn provision_connector(
        &self,
        connector: &ConnectorSpec,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin("provisioning a connector").await?;
        provision_connector(&mut tx, connector, now).await?;
        tx.commit("provisioning a connector").await
    }

    /// Removes an area loaded by mistake, unless areas, schools or observations still
    /// point at it.
    pub async fn remove_area(&self, code: &str) -> Result<Removal> {
        self.remove_reference(
            "areas",
            code,
            &[
                ("areas", "parent_code"),
                ("schools", "area_code"),
                ("observations", "area_code"),
            ],
        )
        .await
    }

    /// Removes a school loaded by mistake, unless observations still point at it.
    pub async fn remove_school(&self, code: &str) -> Result<Removal> {
        self.remove_reference("schools", code, &[("observations", "school_code")])
            .await
    }

    /// Deletes `table`'s row `code` in one statement that also checks that no row of
    /// `referrers` (table, column) points at it. A run that checked its rows against
    /// the reference data before the removal may still commit rows pointing at it.
    async fn remove_reference(
        &self,
        table: &str,
        code: &str,
        referrers: &[(&str, &str)],
    ) -> Result<Removal> {
        let unused: Vec<String> = referrers
            .iter()
            .map(|(t, c)| format!("NOT EXISTS (SELECT 1 FROM {t} WHERE {c} = $1)"))
            .collect();
        let sql = format!(
            "DELETE FROM {table} WHERE code = $1 AND {}",
            unused.join(" AND ")
        );
        let what = format!("removing from {table}");
        if self.execute(&sql, params![code], &what).await? == 1 {
            return Ok(Removal::Removed);
        }
        let exists = self
            .scalar_i64(
                &format!("SELECT count(*) FROM {table} WHERE code = $1"),
                params![code],
                "looking for the row to remove",
            )
            .await?;
        if exists == 0 {
            return Ok(Removal::NotFound);
        }
        let mut dependents = Dependents::default();
        for (t, c) in referrers {
            let n = self
                .scalar_i64(
                    &format!("SELECT count(*) FROM {t} WHERE {c} = $1"),
                    params![code],
                    "counting rows that point at it",
                )
                .await? as u64;
            match *t {
                "areas" => dependents.areas += n,
                "schools" => dependents.schools += n,
                _ => dependents.observations += n,
            }
        }
        Ok(Removal::InUse(dependents))
    }

    /// Saves a connector defined through the API: inserts it, or replaces an earlier
    /// API definition of the same name. A connector provisioned from the config file is
    /// left as it is, and the answer is `false`.
    pub async fn save_connector(&self, c: &ConnectorSpec, now: DateTime<Utc>) -> Result<bool> {
        let saved = self
            .execute(
                "INSERT INTO connectors (name, agency, kind, target, schedule, config, provisioned, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, FALSE, $7) ON CONFLICT (name) DO UPDATE SET \
                 agency = excluded.agency, kind = excluded.kind, target = excluded.target, \
                 schedule = excluded.schedule, config = excluded.config, \
                 updated_at = excluded.updated_at WHERE connectors.provisioned = FALSE",
                params![&c.name, c.agency.clone(), &c.kind, &c.target, c.schedule.clone(), &c.config, now],
                "saving a connector",
            )
            .await?;
        Ok(saved == 1)
    }

    /// Connectors saved through the API (not provisioned), by name.
    pub async fn saved_connectors(&self) -> Result<Vec<ConnectorRecord>> {
        self.fetch_all(
            &format!("SELECT {CONNECTOR_COLUMNS} FROM connectors WHERE provisioned = FALSE ORDER BY name"),
            Vec::new(),
            "listing saved connectors",
        )
        .await
    }

    /// Opens a run in the journal, holding its connector's lease for `lease` from `now`
    /// on behalf of `owner` (a process). A run whose lease expired is abandoned first. A
    /// connector whose lease another run holds answers [`OpenRun::Busy`]; a scheduled
    /// tick another replica already took answers [`OpenRun::TickTaken`].
    pub async fn open_run(&self, request: &RunRequest<'_>, now: DateTime<Utc>) -> Result<OpenRun> {
        // Reads before any write: on SQLite a live run's load holds the write lock, and
        // a write here would wait for it only to be refused.
        if let Some(running) = self.running_run(request.connector).await? {
            if running
                .lease_expires_at
                .is_some_and(|expires| expires >= now)
            {
                return Ok(running.busy());
            }
            self.abandon_expired_runs(Some(request.connector), now)
                .await?;
        }
        // An insert refused with no run left running lost a race with a run that ended
        // meanwhile, and is tried once more; a scheduled tick refused so was taken by a
        // replica.
        let mut retried = false;
        loop {
            let error = match self.insert_run(request, now).await {
                Ok(id) => return Ok(OpenRun::Opened(id)),
                Err(e) => e,
            };
            if !matches!(&error, StoreError::Database { source, .. } if crate::load::is_duplicate(source))
            {
                return Err(error);
            }
            if let Some(running) = self.running_run(request.connector).await? {
                return Ok(running.busy());
            }
            if request.scheduled_for.is_some() {
                return Ok(OpenRun::TickTaken);
            }
            if retried {
                return Err(error);
            }
            retried = true;
        }
    }

    /// Inserts a running run holding the connector's lease; a unique index refuses a
    /// second running run of a connector, and a second run of one scheduled tick.
    async fn insert_run(&self, request: &RunRequest<'_>, now: DateTime<Utc>) -> Result<i64> {
        self.scalar_i64(
            "INSERT INTO runs (connector, trigger, status, started_at, lease_owner, \
             heartbeat_at, lease_expires_at, scheduled_for) \
             VALUES ($1, $2, $3, $4, $5, $4, $6, $7) RETURNING id",
            params![
                request.connector,
                request.trigger,
                RunStatus::Running.as_str(),
                now,
                request.owner,
                after(now, request.lease),
                request.scheduled_for
            ],
            "opening a run",
        )
        .await
    }

    /// The connector's running run, if any.
    async fn running_run(&self, connector: &str) -> Result<Option<RunningRun>> {
        let rows: Vec<RunningRun> = self
            .fetch_all(
                "SELECT id, started_at, lease_owner, lease_expires_at FROM runs \
                 WHERE connector = $1 AND status = $2",
                params![connector, RunStatus::Running.as_str()],
                "looking for a running run",
            )
            .await?;
        Ok(rows.into_iter().next())
    }

    /// Extends a run's lease to `lease` from `now`; `false` when the run no longer holds
    /// it (it was abandoned by another process meanwhile, or has ended).
    pub async fn extend_lease(
        &self,
        run_id: i64,
        owner: &str,
        now: DateTime<Utc>,
        lease: Duration,
    ) -> Result<bool> {
        let extended = self
            .execute(
                "UPDATE runs SET heartbeat_at = $1, lease_expires_at = $2 \
                 WHERE id = $3 AND status = $4 AND lease_owner = $5",
                params![
                    now,
                    after(now, lease),
                    run_id,
                    RunStatus::Running.as_str(),
                    owner
                ],
                "extending a run's lease",
            )
            .await?;
        Ok(extended == 1)
    }

    /// Marks runs whose lease expired before `now` as abandoned (of one connector, or
    /// of all); returns them as (run id, connector).
    pub async fn abandon_expired_runs(
        &self,
        connector: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<(i64, String)>> {
        let mut params = params![
            RunStatus::Abandoned.as_str(),
            Code::Abandoned.as_str(),
            Code::Abandoned.public_message(),
            now,
            RunStatus::Running.as_str()
        ];
        let only = match connector {
            Some(name) => {
                params.push(Param::from(name));
                " AND connector = $6"
            }
            None => "",
        };
        self.fetch_all(
            &format!(
                "UPDATE runs SET status = $1, error_code = $2, error = $3, finished_at = $4 \
                 WHERE status = $5 AND lease_expires_at < $4{only} RETURNING id, connector"
            ),
            params,
            "abandoning runs whose lease expired",
        )
        .await
    }

    /// The cursor of `connector`'s latest successful run that stored one.
    pub async fn last_cursor(&self, connector: &str) -> Result<Option<String>> {
        let rows: Vec<(Option<String>,)> = self
            .fetch_all(
                "SELECT cursor FROM runs WHERE connector = $1 AND status = 'succeeded' \
                 AND cursor IS NOT NULL ORDER BY id DESC LIMIT 1",
                params![connector],
                "reading the last cursor",
            )
            .await?;
        Ok(rows.into_iter().next().and_then(|(c,)| c))
    }

    /// Whether `connector` has any run at all.
    pub async fn has_runs(&self, connector: &str) -> Result<bool> {
        let n = self
            .scalar_i64(
                "SELECT count(*) FROM (SELECT 1 FROM runs WHERE connector = $1 LIMIT 1) AS r",
                params![connector],
                "looking for runs",
            )
            .await?;
        Ok(n > 0)
    }

    /// Records a run that ended without loading (`failed` or `cancelled`; its load, if
    /// any, was rolled back) and gives up its lease. A run abandoned meanwhile by
    /// another process stays abandoned.
    pub async fn finish_unloaded_run(
        &self,
        run: &RunLease<'_>,
        status: RunStatus,
        outcome: &RunOutcome,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.begin("recording a failed run").await?;
        write_outcome(&mut tx, run, status, outcome, now).await?;
        tx.commit("recording a failed run").await
    }
}

/// What still points at an area or a school, keeping it from being removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dependents {
    /// Areas whose parent it is.
    pub areas: u64,
    /// Schools in it.
    pub schools: u64,
    /// Observations about it.
    pub observations: u64,
}

impl Dependents {
    /// Whether nothing points at it.
    pub fn is_empty(&self) -> bool {
        *self == Dependents::default()
    }
}

/// What removing a reference row did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// It is gone.
    Removed,
    /// There is no such row.
    NotFound,
    /// Rows still point at it; nothing was removed.
    InUse(Dependents),
}

/// Inserts or updates a connector of the config file.
async fn provision_connector(tx: &mut Tx, c: &ConnectorSpec, now: DateTime<Utc>) -> Result<u64> {
    tx.execute(
        "INSERT INTO connectors (name, agency, kind, target, schedule, config, provisioned, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, TRUE, $7) ON CONFLICT (name) DO UPDATE SET \
         agency = excluded.agency, kind = excluded.kind, target = excluded.target, \
         schedule = excluded.schedule, config = excluded.config, provisioned = TRUE, \
         updated_at = excluded.updated_at",
        params![&c.name, c.agency.clone(), &c.kind, &c.target, c.schedule.clone(), &c.config, now],
        "saving a connector",
    )
    .await
}

/// What saving a catalogue entry does to one already there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// It takes the saved values.
    Update,
    /// It stays as it is.
    Keep,
}

/// `now` plus `lease`; a lease too long for the calendar is as long as it can be.
fn after(now: DateTime<Utc>, lease: Duration) -> DateTime<Utc> {
    chrono::TimeDelta::from_std(lease)
        .ok()
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// What a process asks for when it opens a run.
#[derive(Debug, Clone)]
pub struct RunRequest<'a> {
    /// Connector name.
    pub connector: &'a str,
    /// What started it: `schedule`, `startup`, `manual`.
    pub trigger: &'a str,
    /// The process asking (host, process id and a random part).
    pub owner: &'a str,
    /// How long the lease lasts unless extended.
    pub lease: Duration,
    /// For a scheduled run: the tick it is for.
    pub scheduled_for: Option<DateTime<Utc>>,
}

/// A run holding its connector's lease, as `open_run` finds it.
#[derive(sqlx::FromRow)]
struct RunningRun {
    id: i64,
    started_at: DateTime<Utc>,
    lease_owner: Option<String>,
    lease_expires_at: Option<DateTime<Utc>>,
}

impl RunningRun {
    fn busy(self) -> OpenRun {
        OpenRun::Busy {
            run_id: self.id,
            since: self.started_at,
            owner: self.lease_owner.unwrap_or_default(),
        }
    }
}

/// What opening a run gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenRun {
    /// The run is open and holds the lease.
    Opened(i64),
    /// Another run of the connector holds the lease.
    Busy {
        /// That run.
        run_id: i64,
        /// When it started.
        since: DateTime<Utc>,
        /// The process running it.
        owner: String,
    },
    /// Another replica already took this scheduled tick.
    TickTaken,
}

/// A run and the process holding its lease, as the journal's writes name it.
#[derive(Debug, Clone, Copy)]
pub struct RunLease<'a> {
    /// Run id.
    pub run_id: i64,
    /// The process holding the lease.
    pub owner: &'a str,
}

impl Load {
    /// Records the run as succeeded and commits it with its data, so the journal and
    /// the rows can never disagree. A run that lost its lease (abandoned by another
    /// process while this one stalled) commits nothing: [`StoreError::LeaseLost`].
    pub async fn commit_run(
        mut self,
        run: &RunLease<'_>,
        outcome: &RunOutcome,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let run_id = run.run_id;
        if write_outcome(self.tx(), run, RunStatus::Succeeded, outcome, now).await? == 0 {
            return Err(StoreError::LeaseLost);
        }
        let sources = outcome
            .sources
            .iter()
            .enumerate()
            .map(|(i, source)| params![run_id, i as i64, &source.file, source.sheet.clone()])
            .collect();
        insert_rows(
            self.tx(),
            "run_sources (run_id, source, file, sheet)",
            sources,
            "recording the run's sources",
        )
        .await?;
        self.commit().await
    }
}

/// Writes the run's outcome and ends its lease; returns 0 when the run no longer held
/// the lease (then nothing is written).
async fn write_outcome(
    tx: &mut Tx,
    run: &RunLease<'_>,
    status: RunStatus,
    o: &RunOutcome,
    now: DateTime<Utc>,
) -> Result<u64> {
    let as_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    let run_id = run.run_id;
    let written = tx
        .execute(
            "UPDATE runs SET status = $1, finished_at = $2, rows_read = $3, rows_inserted = $4, \
         rows_updated = $5, rows_unchanged = $6, rows_deleted = $7, rows_rejected = $8, \
         read_ms = $9, load_ms = $10, error = $11, cursor = $12, error_code = $13, \
         lease_expires_at = NULL, rows_duplicate = $17, reason_summary = $18 \
         WHERE id = $14 AND status = $15 AND lease_owner = $16",
            params![
                status.as_str(),
                now,
                as_i64(o.end.counts.read),
                as_i64(o.end.counts.inserted),
                as_i64(o.end.counts.updated),
                as_i64(o.end.counts.unchanged),
                as_i64(o.end.counts.deleted),
                as_i64(o.end.counts.rejected),
                as_i64(o.end.read_ms),
                as_i64(o.end.load_ms),
                o.end.error.clone(),
                o.cursor.clone(),
                o.end.error_code.map(Code::as_str),
                run_id,
                RunStatus::Running.as_str(),
                run.owner,
                as_i64(o.end.counts.duplicates),
                (!o.summary.is_empty()).then(|| o.summary.to_json())
            ],
            "recording the run's outcome",
        )
        .await?;
    if written == 0 {
        return Ok(0);
    }
    let remarks = [
        (Severity::Reject, &o.rejects),
        (Severity::Warning, &o.warnings),
    ]
    .into_iter()
    .flat_map(|(severity, remarks)| {
        remarks.iter().take(MAX_STORED_REJECTS).map(move |r| {
            params![
                run_id,
                &r.position.file,
                r.position.sheet.clone(),
                r.position.row.map(as_i64),
                r.position.column.clone(),
                r.value.clone(),
                &r.reason,
                severity.as_str()
            ]
        })
    })
    .collect();
    insert_rows(
        tx,
        "rejects (run_id, file, sheet, row_number, column_name, value, reason, severity)",
        remarks,
        "recording rejects and warnings",
    )
    .await?;
    Ok(written)
}

/// Inserts `rows` into `table_columns` (`table (column, ...)`), 200 rows a statement.
async fn insert_rows(
    tx: &mut Tx,
    table_columns: &str,
    rows: Vec<Vec<Param>>,
    what: &str,
) -> Result<()> {
    for chunk in owned_chunks(rows, 200) {
        let mut sql = format!("INSERT INTO {table_columns} VALUES ");
        let mut values = Vec::new();
        for (i, row) in chunk.into_iter().enumerate() {
            let marks: Vec<String> = (values.len() + 1..=values.len() + row.len())
                .map(|n| format!("${n}"))
                .collect();
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            sql.push_str(&marks.join(", "));
            sql.push(')');
            values.extend(row);
        }
        tx.execute_owned(&sql, values, what).await?;
    }
    Ok(())
}
