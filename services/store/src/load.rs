//! Loading a run's rows: one transaction per run. Rows are staged into a temporary
//! table (PostgreSQL COPY, SQLite prepared multi-row inserts), then merged into the
//! target with set-based statements whose row counts are the run's inserted, updated
//! and deleted figures. Nothing is visible to readers until the run commits. Every
//! statement is derived from the target's [`TargetDesc`]; rows are read through
//! [`TargetRow::value`], never by position.

use crate::params::bind_all;
use crate::{Backend, Context, Param, Pool, Result, Store, StoreError};
use abe_schema::{ColumnType, OnDuplicate, Ownership, Target, TargetDesc, TargetRow, Value};
use sqlx::{Postgres, Sqlite, Transaction};

/// Counts of a merge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoadCounts {
    /// Distinct rows staged (a key given twice counts once; the later row wins).
    pub staged: u64,
    /// New rows.
    pub inserted: u64,
    /// Rows whose values changed.
    pub updated: u64,
    /// Rows already present with the same values.
    pub unchanged: u64,
    /// Rows of this connector gone from the source (full refresh only).
    pub deleted: u64,
}

/// A row to load and where it came from: the source's number in the run (see
/// [`RunOutcome::sources`](crate::RunOutcome::sources)) and its row there.
#[derive(Debug, Clone, PartialEq)]
pub struct Staged<R> {
    /// The row.
    pub row: R,
    /// Number of the file (or sheet) in the run's sources.
    pub source: i64,
    /// Row in that source.
    pub source_row: Option<i64>,
}

/// The provenance columns every loaded row carries after the target's own.
const POSITION_COLUMNS: [&str; 2] = ["source", "source_row"];

/// The target's columns, then the provenance columns: what a staged row fills.
fn row_columns(desc: &TargetDesc) -> Vec<&'static str> {
    desc.columns
        .iter()
        .map(|c| c.name)
        .chain(POSITION_COLUMNS)
        .collect()
}

fn key_names(desc: &TargetDesc) -> Vec<&'static str> {
    desc.key_columns().map(|c| c.name).collect()
}

fn value_names(desc: &TargetDesc) -> Vec<&'static str> {
    desc.value_columns().map(|c| c.name).collect()
}

/// Binds a staged row's values, then its provenance, in [`row_columns`] order. The
/// texts are lent to the driver, not copied.
macro_rules! bind_row {
    ($query:expr, $staged:expr) => {{
        let mut query = $query;
        let staged = $staged;
        for i in 0..staged.row_width() {
            query = match staged.row.value(i) {
                Value::Text(text) => query.bind(text),
                Value::Real(number) => query.bind(number),
            };
        }
        query.bind(staged.source).bind(staged.source_row)
    }};
}

impl<R: TargetRow> Staged<R> {
    fn row_width(&self) -> usize {
        R::DESC.columns.len()
    }
}

/// A transaction on either backend.
pub(crate) enum Tx {
    Sqlite(Transaction<'static, Sqlite>),
    Postgres(Transaction<'static, Postgres>),
}

macro_rules! on_tx {
    ($tx:expr, $conn:ident => $body:expr) => {
        match $tx {
            Tx::Sqlite(tx) => {
                let $conn = &mut **tx;
                $body
            }
            Tx::Postgres(tx) => {
                let $conn = &mut **tx;
                $body
            }
        }
    };
}

impl Tx {
    pub(crate) async fn execute(
        &mut self,
        sql: &str,
        params: impl AsRef<[Param]>,
        what: &str,
    ) -> Result<u64> {
        on_tx!(self, conn => bind_all!(sqlx::query(sql), params.as_ref().iter().cloned()).execute(conn).await.map(|r| r.rows_affected())).context(what)
    }

    /// Like [`Tx::execute`], handing the values to the driver instead of copying them.
    pub(crate) async fn execute_owned(
        &mut self,
        sql: &str,
        params: Vec<Param>,
        what: &str,
    ) -> Result<u64> {
        on_tx!(self, conn => bind_all!(sqlx::query(sql), params).execute(conn).await.map(|r| r.rows_affected()))
            .context(what)
    }

    pub(crate) async fn scalar_i64(
        &mut self,
        sql: &str,
        params: &[Param],
        what: &str,
    ) -> Result<i64> {
        let (v,): (i64,) =
            on_tx!(self, conn => bind_all!(sqlx::query_as(sql), params.iter().cloned()).fetch_one(conn).await)
                .context(what)?;
        Ok(v)
    }

    pub(crate) async fn fetch_all<T: crate::params::AnyRow>(
        &mut self,
        sql: &str,
        params: Vec<Param>,
        what: &str,
    ) -> Result<Vec<T>> {
        on_tx!(self, conn => bind_all!(sqlx::query_as::<_, T>(sql), params).fetch_all(conn).await)
            .context(what)
    }

    pub(crate) async fn commit(self, what: &str) -> Result<()> {
        match self {
            Tx::Sqlite(tx) => tx.commit().await,
            Tx::Postgres(tx) => tx.commit().await,
        }
        .context(what)
    }

    pub(crate) fn backend(&self) -> Backend {
        match self {
            Tx::Sqlite(_) => Backend::Sqlite,
            Tx::Postgres(_) => Backend::Postgres,
        }
    }
}

impl Store {
    pub(crate) async fn begin(&self, what: &str) -> Result<Tx> {
        Ok(match &self.pool {
            Pool::Sqlite(pool) => Tx::Sqlite(pool.begin().await.context(what)?),
            Pool::Postgres(pool) => Tx::Postgres(pool.begin().await.context(what)?),
        })
    }

    /// Starts loading `target` rows for `connector`'s run `run_id`.
    ///
    /// The first load of a connector's own rows writes straight into the table (one
    /// COPY on PostgreSQL, plain inserts on SQLite: the fastest path there is); a source
    /// that repeats a key then fails with [`StoreError::DuplicateKey`], and the caller
    /// reloads with [`Store::begin_staged_load`].
    pub async fn begin_load(&self, target: Target, connector: &str, run_id: i64) -> Result<Load> {
        self.start_load(target, connector, run_id, true).await
    }

    /// Starts a load that always stages and merges, whatever the backend.
    pub async fn begin_staged_load(
        &self,
        target: Target,
        connector: &str,
        run_id: i64,
    ) -> Result<Load> {
        self.start_load(target, connector, run_id, false).await
    }

    async fn start_load(
        &self,
        target: Target,
        connector: &str,
        run_id: i64,
        allow_direct: bool,
    ) -> Result<Load> {
        let desc = target.desc();
        // A connector that never succeeded owns no rows: nothing to update or compare.
        // Asked before the transaction: on SQLite a read first would pin a snapshot that
        // the run's own heartbeat makes stale, and the first write would then fail
        // (SQLITE_BUSY_SNAPSHOT). The connector's lease keeps the answer true.
        let first_load = desc.ownership == Ownership::Connector
            && self
                .scalar_i64(
                    "SELECT count(*) FROM (SELECT 1 FROM runs WHERE connector = $1 \
                     AND status = 'succeeded' LIMIT 1) AS r",
                    vec![Param::Text(Some(connector.to_string()))],
                    "looking for earlier loads",
                )
                .await?
                == 0;
        let mut tx = self.begin("starting a load transaction").await?;
        // A first load may write straight into the target: nothing of this connector is
        // there to compare with. A key the source repeats fails it (DuplicateKey), and the
        // caller reloads through staging, where the later row wins.
        let direct = allow_direct && first_load;
        // (Staged codes keep the database's collation: COLLATE "C" here, as on the
        // target, measured slower for a 1M-row re-run, 9.1-9.8 s against 7.1-8.8 s.)
        let mut columns: Vec<String> = desc
            .columns
            .iter()
            .map(|c| format!("{} {}", c.name, c.ty.sql()))
            .collect();
        columns.extend(["source BIGINT", "source_row BIGINT", "seq BIGINT"].map(String::from));
        let key_list = key_names(desc).join(", ");
        match tx.backend() {
            Backend::Sqlite if direct => {}
            Backend::Sqlite => {
                // Temporary tables live per connection, and pooled connections live on.
                tx.execute(
                    "DROP TABLE IF EXISTS temp.stage",
                    &[],
                    "dropping an old staging table",
                )
                .await?;
                let sql = format!(
                    "CREATE TEMP TABLE stage ({}, UNIQUE ({key_list}))",
                    columns.join(", ")
                );
                tx.execute(&sql, &[], "creating the staging table").await?;
            }
            Backend::Postgres => {
                // The merge sorts the whole staging table once; the default 4 MB spills a
                // national file to disk. Server memory, for this transaction only.
                tx.execute(
                    "SET LOCAL work_mem = '256MB'",
                    &[],
                    "sizing the merge's memory",
                )
                .await?;
                let sql = format!(
                    "CREATE TEMP TABLE stage ({}) ON COMMIT DROP",
                    columns.join(", ")
                );
                tx.execute(&sql, &[], "creating the staging table").await?;
            }
        }
        Ok(Load {
            tx,
            desc,
            connector: connector.to_string(),
            run_id,
            staged_rows: 0,
            first_load,
            direct,
            on_duplicate: OnDuplicate::Last,
            keep_rows_of_others: false,
            merge_source: None,
            distinct_staged: None,
        })
    }
}

/// A load in progress: its transaction and staging table.
pub struct Load {
    tx: Tx,
    desc: &'static TargetDesc,
    connector: String,
    run_id: i64,
    staged_rows: i64,
    first_load: bool,
    /// Rows go straight into the target (first loads of a connector), not into staging.
    direct: bool,
    /// How staged rows sharing a key combine.
    on_duplicate: OnDuplicate,
    /// Rows of shared reference data another connector wrote are left as they are.
    keep_rows_of_others: bool,
    /// The staged rows, one per key, once built (PostgreSQL stages duplicates as sent).
    merge_source: Option<&'static str>,
    /// How many keys were staged, once counted.
    distinct_staged: Option<u64>,
}

/// A row of shared reference data this load would change that another connector
/// wrote last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedElsewhere {
    /// The row's key as a person reads it (`code=9501`).
    pub key: String,
    /// The connector that wrote it.
    pub owner: String,
    /// The staged row's source number in the run.
    pub source: i64,
    /// Its row there.
    pub source_row: Option<i64>,
}

/// SQLite binds at most 32,766 parameters per statement; stay well below.
const SQLITE_ROWS_PER_INSERT: usize = 400;

impl Load {
    /// Rows staged so far (a key given twice counts twice).
    pub fn staged_rows(&self) -> u64 {
        self.staged_rows as u64
    }

    /// How rows sharing a key combine: `Sum` adds up their number values (the last
    /// row gives the rest); any other keeps the last row staged (a reader that keeps
    /// the first or refuses repeats does so before staging). Set it before staging.
    pub fn combine_duplicates(&mut self, on_duplicate: OnDuplicate) {
        self.on_duplicate = on_duplicate;
    }

    /// Leaves rows of shared reference data that another connector wrote as they are:
    /// the merge neither updates them nor takes them over.
    pub fn keep_rows_of_others(&mut self) {
        self.keep_rows_of_others = true;
    }

    /// Removes every staged row (or, for a first load, every row this run wrote) with
    /// the key of one of `rows`; returns how many went.
    pub async fn remove_keys<R: TargetRow>(&mut self, rows: &[R]) -> Result<u64> {
        self.check_target::<R>();
        let desc = self.desc;
        let keys: Vec<(usize, &str)> = desc
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.key)
            .map(|(i, c)| (i, c.name))
            .collect();
        let mut conditions: Vec<String> = keys
            .iter()
            .enumerate()
            .map(|(n, (_, name))| format!("{name} = ${}", n + 1))
            .collect();
        let table = if self.direct {
            conditions.push(format!("run_id = ${}", keys.len() + 1));
            desc.table
        } else {
            // The rows the merge reads: PostgreSQL's one row a key, once built.
            self.merge_source.unwrap_or("stage")
        };
        if table == "stage_last" {
            // Built by CREATE TABLE AS, without an index: one scan a key otherwise.
            let key_list = key_names(desc).join(", ");
            self.tx
                .execute(
                    &format!("CREATE INDEX stage_last_key ON stage_last ({key_list})"),
                    &[],
                    "indexing the staged keys",
                )
                .await?;
        }
        let sql = format!("DELETE FROM {table} WHERE {}", conditions.join(" AND "));
        let mut removed = 0;
        for row in rows {
            let mut params: Vec<Param> = keys
                .iter()
                .map(|(i, _)| match row.value(*i) {
                    Value::Text(text) => Param::Text(text.map(str::to_string)),
                    Value::Real(number) => Param::Float(number),
                })
                .collect();
            if self.direct {
                params.push(Param::Int(Some(self.run_id)));
            }
            removed += self
                .tx
                .execute_owned(&sql, params, "removing refused keys")
                .await?;
        }
        if self.direct {
            self.staged_rows -= removed as i64;
        }
        self.distinct_staged = None;
        Ok(removed)
    }

    /// Rows sent that repeated a key sent before (merged as [`Load::combine_duplicates`]
    /// says). A first load written straight into the target has none: a repeat fails it
    /// with [`StoreError::DuplicateKey`].
    pub async fn repeated_rows(&mut self) -> Result<u64> {
        if self.direct {
            return Ok(0);
        }
        let distinct = self.distinct_staged().await?;
        Ok((self.staged_rows as u64).saturating_sub(distinct))
    }

    /// Rows the merge would load: one a key staged (for a first load, every row sent).
    pub async fn keys_to_load(&mut self) -> Result<u64> {
        if self.direct {
            return Ok(self.staged_rows as u64);
        }
        self.distinct_staged().await
    }

    /// Keys staged, counted once.
    async fn distinct_staged(&mut self) -> Result<u64> {
        if let Some(n) = self.distinct_staged {
            return Ok(n);
        }
        let source = self.merge_source().await?;
        let n = self
            .tx
            .scalar_i64(
                &format!("SELECT count(*) FROM {source}"),
                &[],
                "counting staged rows",
            )
            .await? as u64;
        self.distinct_staged = Some(n);
        Ok(n)
    }

    /// The staged rows, one per key: PostgreSQL's COPY stages every row sent, so the
    /// rows sharing a key are combined here, once (the last wins, or with `Sum` the
    /// number values are added up); SQLite's staging table combined them as they came.
    async fn merge_source(&mut self) -> Result<&'static str> {
        if let Some(source) = self.merge_source {
            return Ok(source);
        }
        let source = match self.tx.backend() {
            Backend::Sqlite => "stage",
            Backend::Postgres => {
                let keys = key_names(self.desc).join(", ");
                let columns: Vec<String> = self
                    .desc
                    .columns
                    .iter()
                    .map(|c| match (c.key, c.ty, self.on_duplicate) {
                        // Added in the order the rows came, as SQLite adds them: the
                        // same figures to the last bit, run after run.
                        (false, ColumnType::Real, OnDuplicate::Sum) => format!(
                            "sum({name}) OVER (PARTITION BY {keys} ORDER BY seq ROWS \
                             BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS {name}",
                            name = c.name
                        ),
                        _ => c.name.to_string(),
                    })
                    .chain(POSITION_COLUMNS.iter().map(|c| c.to_string()))
                    .collect();
                let sql = format!(
                    "CREATE TEMP TABLE stage_last ON COMMIT DROP AS \
                     SELECT DISTINCT ON ({keys}) {columns} FROM stage ORDER BY {keys}, seq DESC",
                    columns = columns.join(", ")
                );
                self.tx
                    .execute(&sql, &[], "combining rows that share a key")
                    .await?;
                "stage_last"
            }
        };
        self.merge_source = Some(source);
        Ok(source)
    }

    /// Rows of shared reference data (areas, schools) the merge would change that
    /// another connector wrote last; empty for connector-owned targets.
    pub async fn rows_owned_elsewhere(&mut self) -> Result<Vec<OwnedElsewhere>> {
        let desc = self.desc;
        if desc.ownership != Ownership::Shared || self.direct {
            return Ok(Vec::new());
        }
        let source = self.merge_source().await?;
        let keys = key_names(desc);
        let backend = self.tx.backend();
        let same_key: Vec<String> = keys.iter().map(|k| format!("t.{k} = s.{k}")).collect();
        let changed: Vec<String> = value_names(desc)
            .iter()
            .map(|v| distinct(backend, v))
            .collect();
        let key_text: Vec<String> = keys.iter().map(|k| format!("'{k}=' || s.{k}")).collect();
        let sql = format!(
            "SELECT {key_text} AS key, t.connector AS owner, s.source, s.source_row \
             FROM {source} AS s JOIN {table} AS t ON {same_key} \
             WHERE t.connector <> $1 AND ({changed}) ORDER BY s.source, s.source_row",
            key_text = key_text.join(" || ', ' || "),
            table = desc.table,
            same_key = same_key.join(" AND "),
            changed = changed.join(" OR "),
        );
        let params = [Param::Text(Some(self.connector.clone()))];
        let rows: Vec<(String, String, i64, Option<i64>)> = on_tx!(&mut self.tx, conn =>
            bind_all!(sqlx::query_as(&sql), params.iter().cloned()).fetch_all(conn).await)
        .context("finding rows another connector wrote")?;
        Ok(rows
            .into_iter()
            .map(|(key, owner, source, source_row)| OwnedElsewhere {
                key,
                owner,
                source,
                source_row,
            })
            .collect())
    }

    /// Stages every batch `batches` yields, in order, until it ends.
    ///
    /// On PostgreSQL a first load streams all batches through one `COPY` into the
    /// target, so the server inserts one batch while the next is being mapped; a key the
    /// source repeats then fails the whole load with [`StoreError::DuplicateKey`] when
    /// the stream ends (PostgreSQL reports a COPY's error at its end).
    pub async fn stage_all<R: TargetRow>(
        &mut self,
        batches: impl futures::Stream<Item = Vec<Staged<R>>>,
    ) -> Result<()> {
        use futures::StreamExt;
        self.check_target::<R>();
        if let (Tx::Postgres(tx), true) = (&mut self.tx, self.direct) {
            let rows =
                copy_into_target(tx, self.desc, self.run_id, &self.connector, batches).await?;
            self.staged_rows += rows;
            return Ok(());
        }
        futures::pin_mut!(batches);
        while let Some(batch) = batches.next().await {
            self.stage(&batch).await?;
        }
        Ok(())
    }

    fn check_target<R: TargetRow>(&self) {
        debug_assert_eq!(R::DESC.table, self.desc.table, "rows of another target");
    }

    /// Adds rows to the staging table (or, for a first load, to the target). A key
    /// staged twice keeps the later row.
    pub async fn stage<R: TargetRow>(&mut self, rows: &[Staged<R>]) -> Result<()> {
        self.check_target::<R>();
        let desc = self.desc;
        let columns = row_columns(desc);
        match &mut self.tx {
            Tx::Sqlite(tx) if self.direct => {
                let row_marks = format!("({})", vec!["?"; columns.len()].join(", "));
                for chunk in rows.chunks(SQLITE_ROWS_PER_INSERT) {
                    // A plain INSERT: with nothing of the connector there, the only
                    // conflict is a key the source repeats, which fails the statement
                    // (DuplicateKey) and the run reloads through staging, as on
                    // PostgreSQL. An upsert would probe the index once more per row.
                    // The run and connector are bound once, not once per row.
                    let sql = format!(
                        "INSERT INTO {table} ({columns}, run_id, connector) \
                         SELECT *, ?, ? FROM (VALUES {rows})",
                        table = desc.table,
                        columns = columns.join(", "),
                        rows = vec![row_marks.as_str(); chunk.len()].join(", "),
                    );
                    let mut query = sqlx::query(&sql).bind(self.run_id).bind(&self.connector);
                    for staged in chunk {
                        query = bind_row!(query, staged);
                    }
                    query
                        .execute(&mut **tx)
                        .await
                        .map_err(duplicate_or("loading rows"))?;
                    self.staged_rows += chunk.len() as i64;
                }
            }
            Tx::Sqlite(tx) => {
                let sum = self.on_duplicate == OnDuplicate::Sum;
                let updates: Vec<String> = desc
                    .value_columns()
                    .map(|c| match c.ty {
                        ColumnType::Real if sum => {
                            format!("{c} = stage.{c} + excluded.{c}", c = c.name)
                        }
                        _ => format!("{c} = excluded.{c}", c = c.name),
                    })
                    .chain(
                        POSITION_COLUMNS
                            .iter()
                            .chain(&["seq"])
                            .map(|c| format!("{c} = excluded.{c}")),
                    )
                    .collect();
                // Anonymous `?`: SQLite looks numbered parameters up by a linear scan,
                // which makes a 3,600-parameter statement quadratic.
                let row_marks = format!("({})", vec!["?"; columns.len() + 1].join(", "));
                for chunk in rows.chunks(SQLITE_ROWS_PER_INSERT) {
                    let sql = format!(
                        "INSERT INTO stage VALUES {} ON CONFLICT ({}) DO UPDATE SET {}",
                        vec![row_marks.as_str(); chunk.len()].join(", "),
                        key_names(desc).join(", "),
                        updates.join(", ")
                    );
                    let mut query = sqlx::query(&sql);
                    for staged in chunk {
                        self.staged_rows += 1;
                        query = bind_row!(query, staged).bind(self.staged_rows);
                    }
                    query.execute(&mut **tx).await.context("staging rows")?;
                }
            }
            Tx::Postgres(tx) if self.direct => {
                // One batch through its own COPY: `stage_all` streams them through one.
                let batch = futures::stream::iter([rows]);
                self.staged_rows +=
                    copy_into_target(tx, desc, self.run_id, &self.connector, batch).await?;
            }
            Tx::Postgres(tx) => {
                let mut copy = tx
                    .copy_in_raw("COPY stage FROM STDIN")
                    .await
                    .context("starting COPY into the staging table")?;
                let mut buffer = String::with_capacity(rows.len() * 64);
                for staged in rows {
                    write_copy_row(&mut buffer, staged);
                    self.staged_rows += 1;
                    buffer.push('\t');
                    buffer.push_str(&self.staged_rows.to_string());
                    buffer.push('\n');
                }
                copy.send(buffer.as_bytes())
                    .await
                    .context("sending rows to COPY")?;
                copy.finish()
                    .await
                    .context("finishing COPY into the staging table")?;
            }
        }
        Ok(())
    }

    /// Merges the staged rows into the target; with `full_refresh`, rows of this
    /// connector that were not staged are deleted. Returns the counts.
    pub async fn merge(&mut self, full_refresh: bool) -> Result<LoadCounts> {
        if self.direct {
            // The unique index let no key repeat: every row sent is a new row.
            let inserted = self.staged_rows as u64;
            return Ok(LoadCounts {
                staged: inserted,
                inserted,
                ..LoadCounts::default()
            });
        }
        let desc = self.desc;
        let keys = key_names(desc);
        let values = value_names(desc);
        let scoped = desc.ownership == Ownership::Connector;
        let backend = self.tx.backend();
        let source = self.merge_source().await?;
        // Counted before refused keys were removed, if any were: count again.
        self.distinct_staged = None;
        let staged = self.distinct_staged().await?;
        // $1 run id, $2 connector; every statement uses each parameter it is given, as
        // PostgreSQL requires.
        let params: Vec<Param> = vec![
            Param::Int(Some(self.run_id)),
            Param::Text(Some(self.connector.clone())),
        ];
        let same_key: Vec<String> = keys.iter().map(|k| format!("t.{k} = s.{k}")).collect();
        let mut key_match = same_key.clone();
        if scoped {
            key_match.push("t.connector = $2".into());
        }
        let key_match = key_match.join(" AND ");
        let changed: Vec<String> = values.iter().map(|v| distinct(backend, v)).collect();

        // Updated: same key, some value differs. Provenance follows the change.
        let mut sets: Vec<String> = values.iter().map(|v| format!("{v} = s.{v}")).collect();
        sets.push("run_id = $1".into());
        if scoped {
            sets.extend(POSITION_COLUMNS.iter().map(|c| format!("{c} = s.{c}")));
        } else {
            sets.push("connector = $2".into());
        }
        let others_kept = if self.keep_rows_of_others && !scoped {
            " AND t.connector = $2"
        } else {
            ""
        };
        let update = format!(
            "UPDATE {table} AS t SET {sets} FROM {source} AS s \
             WHERE {key_match}{others_kept} AND ({changed})",
            table = desc.table,
            sets = sets.join(", "),
            changed = changed.join(" OR "),
        );
        let first_load = self.first_load;
        let updated = if first_load {
            0
        } else {
            self.tx
                .execute(&update, &params, "updating changed rows")
                .await?
        };

        let mut columns: Vec<&str> = keys.iter().chain(&values).copied().collect();
        let mut selected: Vec<String> = columns.iter().map(|c| format!("s.{c}")).collect();
        columns.extend(["run_id", "connector"]);
        selected.extend(["$1".to_string(), "$2".to_string()]);
        if scoped {
            columns.extend(POSITION_COLUMNS);
            selected.extend(POSITION_COLUMNS.iter().map(|c| format!("s.{c}")));
        }
        // Key order fills the unique index sequentially instead of at random; the
        // connector, the same for every staged row, is left out.
        let key_order: Vec<String> = desc
            .index_order
            .iter()
            .filter(|c| keys.contains(c))
            .map(|c| format!("s.{c}"))
            .collect();
        let insert = format!(
            "INSERT INTO {table} ({columns}) SELECT {selected} FROM {source} AS s \
             {only_new} ORDER BY {key_order}",
            table = desc.table,
            columns = columns.join(", "),
            selected = selected.join(", "),
            only_new = if first_load {
                String::new()
            } else {
                format!(
                    "WHERE NOT EXISTS (SELECT 1 FROM {} AS t WHERE {key_match})",
                    desc.table
                )
            },
            key_order = key_order.join(", "),
        );
        let inserted = self
            .tx
            .execute(&insert, &params, "inserting new rows")
            .await?;

        // Targets kept for history (resources, problems): what the connector's source
        // dropped is retired on a full refresh, and brought back when it returns. A
        // retirement through the API names who made it and is not undone by a load.
        let mut revived = 0;
        let mut retired = 0;
        if desc.retires && !first_load {
            let revive = format!(
                "UPDATE {table} AS t SET retired_on = NULL WHERE t.connector = $1 \
                 AND t.retired_on IS NOT NULL AND t.retired_by IS NULL \
                 AND EXISTS (SELECT 1 FROM {source} AS s WHERE {key})",
                table = desc.table,
                key = same_key.join(" AND "),
            );
            revived = self
                .tx
                .execute(
                    &revive,
                    &[Param::Text(Some(self.connector.clone()))],
                    "bringing back rows the source has again",
                )
                .await?;
            if full_refresh {
                let retire = format!(
                    "UPDATE {table} AS t SET retired_on = $2, retired_by = NULL \
                     WHERE t.connector = $1 AND t.retired_on IS NULL AND NOT EXISTS \
                     (SELECT 1 FROM {source} AS s WHERE {key})",
                    table = desc.table,
                    key = same_key.join(" AND "),
                );
                let today = chrono::Utc::now()
                    .date_naive()
                    .format("%Y-%m-%d")
                    .to_string();
                retired = self
                    .tx
                    .execute(
                        &retire,
                        &[
                            Param::Text(Some(self.connector.clone())),
                            Param::Text(Some(today)),
                        ],
                        "retiring rows gone from the source",
                    )
                    .await?;
            }
        }
        let updated = updated + revived;

        let deleted = if full_refresh && scoped && !first_load {
            let delete = format!(
                "DELETE FROM {table} AS t WHERE t.connector = $1 AND NOT EXISTS \
                 (SELECT 1 FROM {source} AS s WHERE {key})",
                table = desc.table,
                key = same_key.join(" AND "),
            );
            self.tx
                .execute(
                    &delete,
                    &[Param::Text(Some(self.connector.clone()))],
                    "deleting rows gone from the source",
                )
                .await?
        } else {
            retired
        };
        Ok(LoadCounts {
            staged,
            inserted,
            updated,
            unchanged: staged.saturating_sub(inserted + updated),
            deleted,
        })
    }

    /// The transaction, for writing the run's record before commit.
    pub(crate) fn tx(&mut self) -> &mut Tx {
        &mut self.tx
    }

    /// Commits the load: from here on readers see the new rows.
    pub async fn commit(self) -> Result<()> {
        self.tx.commit("committing the load").await
    }
}

/// `t.{column}` differs from `s.{column}`, NULLs included.
fn distinct(backend: Backend, column: &str) -> String {
    match backend {
        Backend::Sqlite => format!("t.{column} IS NOT s.{column}"),
        Backend::Postgres => format!("t.{column} IS DISTINCT FROM s.{column}"),
    }
}

/// Streams batches through one COPY into the target table (PostgreSQL first loads);
/// returns the rows sent.
async fn copy_into_target<R: TargetRow, B: std::borrow::Borrow<[Staged<R>]>>(
    tx: &mut Transaction<'static, Postgres>,
    desc: &TargetDesc,
    run_id: i64,
    connector: &str,
    batches: impl futures::Stream<Item = B>,
) -> Result<i64> {
    use futures::StreamExt;
    futures::pin_mut!(batches);
    let statement = format!(
        "COPY {} ({}, run_id, connector) FROM STDIN",
        desc.table,
        row_columns(desc).join(", ")
    );
    // The run and connector end every line.
    let mut constant = format!("\t{run_id}\t");
    write_copy_text(&mut constant, connector);
    constant.push('\n');
    let mut copy = tx
        .copy_in_raw(&statement)
        .await
        .map_err(duplicate_or("starting COPY into the target"))?;
    let mut buffer = String::new();
    let mut sent = 0;
    while let Some(batch) = batches.next().await {
        let batch = batch.borrow();
        buffer.clear();
        for staged in batch {
            write_copy_row(&mut buffer, staged);
            buffer.push_str(&constant);
        }
        sent += batch.len() as i64;
        copy.send(buffer.as_bytes())
            .await
            .map_err(duplicate_or("sending rows to COPY"))?;
    }
    copy.finish()
        .await
        .map_err(duplicate_or("finishing COPY into the target"))?;
    Ok(sent)
}

/// Maps a unique violation to [`StoreError::DuplicateKey`], anything else to a
/// database error with `what` as context.
fn duplicate_or(what: &'static str) -> impl Fn(sqlx::Error) -> StoreError {
    move |error| match &error {
        error if is_duplicate(error) => StoreError::DuplicateKey,
        _ => StoreError::Database {
            context: what.to_string(),
            source: error,
        },
    }
}

/// Splits `items` into vectors of at most `size` items, moving them.
pub(crate) fn owned_chunks<T>(
    items: impl IntoIterator<Item = T>,
    size: usize,
) -> impl Iterator<Item = Vec<T>> {
    let mut items = items.into_iter().peekable();
    std::iter::from_fn(move || {
        items.peek()?;
        Some(items.by_ref().take(size).collect())
    })
}

/// Whether `error` is a unique-key violation, on either backend.
pub(crate) fn is_duplicate(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Writes a staged row's values and provenance in PostgreSQL's COPY text format,
/// tab-separated, without a line end. Numbers are written into the buffer, not through
/// a string of their own: this runs once per value of a national file.
fn write_copy_row<R: TargetRow>(out: &mut String, staged: &Staged<R>) {
    use std::fmt::Write;
    for i in 0..R::DESC.columns.len() {
        write_copy_value(out, staged.row.value(i));
        out.push('\t');
    }
    // Writing into a String cannot fail.
    let _ = write!(out, "{}", staged.source);
    out.push('\t');
    match staged.source_row {
        Some(row) => {
            let _ = write!(out, "{row}");
        }
        None => out.push_str("\\N"),
    }
}

/// Writes one value in PostgreSQL's COPY text format.
fn write_copy_value(out: &mut String, value: Value<'_>) {
    use std::fmt::Write;
    match value {
        Value::Text(Some(text)) => write_copy_text(out, text),
        // `{:?}` writes the shortest text that reads back as the same number.
        Value::Real(Some(number)) => {
            let _ = write!(out, "{number:?}");
        }
        Value::Text(None) | Value::Real(None) => out.push_str("\\N"),
    }
}

pub(crate) fn write_copy_text(out: &mut String, text: &str) {
    // Codes and names almost never hold a character COPY escapes: copy them whole.
    if !text.contains(['\\', '\t', '\n', '\r']) {
        out.push_str(text);
        return;
    }
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            other => out.push(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_control_characters_and_nulls() {
        let mut out = String::new();
        for value in [
            Value::Text(Some("a\tb\\c\nd")),
            Value::Text(None),
            Value::Real(Some(1.5)),
            Value::Real(None),
        ] {
            write_copy_value(&mut out, value);
            out.push('|');
        }
        assert_eq!(out, "a\\tb\\\\c\\nd|\\N|1.5|\\N|");
    }
}
