//! Loading a run's rows: one transaction per run. Rows are staged into a temporary
//! table (PostgreSQL COPY, SQLite prepared multi-row inserts), then merged into the
//! target with set-based statements whose row counts are the run's inserted, updated
//! and deleted figures. Nothing is visible to readers until the run commits.

use crate::params::bind_all;
use crate::{Backend, Context, Param, Pool, Result, Store, StoreError};
use abe_schema::Target;
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

/// One row to stage: the target's key and value columns, in [`TargetTable`] order,
/// then the source position: the source's number in the run (see
/// [`RunOutcome::sources`](crate::RunOutcome::sources)) and the row.
#[derive(Debug, Clone, PartialEq)]
pub struct StagedRow(pub Vec<Param>);

/// The columns of a target table, from which all staging and merge SQL is generated.
struct TargetTable {
    table: &'static str,
    /// Natural key, without `connector` (which scopes observations).
    key: &'static [&'static str],
    /// Columns compared to decide "updated" versus "unchanged".
    values: &'static [&'static str],
    /// Whether rows belong to the connector that loaded them (observations) or are
    /// shared reference data that any connector may update (areas, schools).
    scoped: bool,
    /// Column types for the staging table, key then values.
    types: &'static [&'static str],
    /// The unique index's column order: inserting in it fills the index sequentially.
    index_order: &'static [&'static str],
}

const OBSERVATIONS: TargetTable = TargetTable {
    table: "observations",
    key: &[
        "indicator",
        "area_code",
        "school_code",
        "period",
        "breakdown",
    ],
    values: &["value"],
    scoped: true,
    types: &["TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "DOUBLE PRECISION"],
    index_order: &[
        "indicator",
        "area_code",
        "period",
        "breakdown",
        "school_code",
    ],
};

const AREAS: TargetTable = TargetTable {
    table: "areas",
    key: &["code"],
    values: &["level", "parent_code", "name_th", "name_en"],
    scoped: false,
    types: &["TEXT", "TEXT", "TEXT", "TEXT", "TEXT"],
    index_order: &["code"],
};

const SCHOOLS: TargetTable = TargetTable {
    table: "schools",
    key: &["code"],
    values: &["name_th", "name_en", "area_code", "affiliation", "levels"],
    scoped: false,
    types: &["TEXT", "TEXT", "TEXT", "TEXT", "TEXT", "TEXT"],
    index_order: &["code"],
};

impl TargetTable {
    /// The columns a [`StagedRow`] fills, in its order: key, values, source position.
    fn row_columns(&self) -> Vec<&'static str> {
        self.key
            .iter()
            .chain(self.values)
            .chain(POSITION_COLUMNS.iter())
            .copied()
            .collect()
    }
}

fn table_of(target: Target) -> &'static TargetTable {
    match target {
        Target::Observations => &OBSERVATIONS,
        Target::Areas => &AREAS,
        Target::Schools => &SCHOOLS,
    }
}

const POSITION_COLUMNS: [&str; 2] = ["source", "source_row"];

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
    /// The first load of a connector's observations writes straight into the table (one
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
        let mut tx = self.begin("starting a load transaction").await?;
        let table = table_of(target);
        // A connector that never succeeded owns no rows: nothing to update or compare.
        let first_load = table.scoped
            && tx
                .scalar_i64(
                    "SELECT count(*) FROM (SELECT 1 FROM runs WHERE connector = $1 \
                     AND status = 'succeeded' LIMIT 1) AS r",
                    &[Param::Text(Some(connector.to_string()))],
                    "looking for earlier loads",
                )
                .await?
                == 0;
        // A first load may write straight into the target: nothing of this connector is
        // there to compare with. A key the source repeats fails it (DuplicateKey), and the
        // caller reloads through staging, where the later row wins.
        let direct = allow_direct && first_load;
        // (Staged codes keep the database's collation: COLLATE "C" here, as on the
        // target, measured slower for a 1M-row re-run, 9.1-9.8 s against 7.1-8.8 s.)
        let mut columns: Vec<String> = table
            .key
            .iter()
            .chain(table.values)
            .zip(table.types)
            .map(|(c, t)| format!("{c} {t}"))
            .collect();
        columns.extend(["source BIGINT", "source_row BIGINT"].map(String::from));
        columns.push("seq BIGINT".into());
        let key_list = table.key.join(", ");
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
            table,
            connector: connector.to_string(),
            run_id,
            staged_rows: 0,
            first_load,
            direct,
        })
    }
}

/// A load in progress: its transaction and staging table.
pub struct Load {
    tx: Tx,
    table: &'static TargetTable,
    connector: String,
    run_id: i64,
    staged_rows: i64,
    first_load: bool,
    /// Rows go straight into the target (first loads of a connector), not into staging.
    direct: bool,
}

/// SQLite binds at most 32,766 parameters per statement; stay well below.
const SQLITE_ROWS_PER_INSERT: usize = 400;

impl Load {
    /// Rows staged so far (a key given twice counts twice).
    pub fn staged_rows(&self) -> u64 {
        self.staged_rows as u64
    }

    /// Stages every batch `batches` yields, in order, until it ends.
    ///
    /// On PostgreSQL a first load streams all batches through one `COPY` into the
    /// target, so the server inserts one batch while the next is being mapped; a key the
    /// source repeats then fails the whole load with [`StoreError::DuplicateKey`] when
    /// the stream ends (PostgreSQL reports a COPY's error at its end).
    pub async fn stage_all(
        &mut self,
        batches: impl futures::Stream<Item = Vec<StagedRow>>,
    ) -> Result<()> {
        use futures::StreamExt;
        if let (Tx::Postgres(tx), true) = (&mut self.tx, self.direct) {
            let rows =
                copy_into_target(tx, self.table, self.run_id, &self.connector, batches).await?;
            self.staged_rows += rows;
            return Ok(());
        }
        futures::pin_mut!(batches);
        while let Some(batch) = batches.next().await {
            self.stage_owned(batch).await?;
        }
        Ok(())
    }

    /// Adds rows to the staging table (or, for a first load on SQLite, to the target).
    /// A key staged twice keeps the later row.
    pub async fn stage(&mut self, rows: &[StagedRow]) -> Result<()> {
        self.stage_owned(rows.to_vec()).await
    }

    async fn stage_owned(&mut self, rows: Vec<StagedRow>) -> Result<()> {
        let width = self.table.key.len() + self.table.values.len() + POSITION_COLUMNS.len() + 1;
        match &mut self.tx {
            Tx::Sqlite(_) if self.direct => {
                let t = self.table;
                let columns = t.row_columns();
                let row_marks = format!("({})", vec!["?"; columns.len()].join(", "));
                for chunk in owned_chunks(rows, SQLITE_ROWS_PER_INSERT) {
                    // A plain INSERT: with nothing of the connector there, the only
                    // conflict is a key the source repeats, which fails the statement
                    // (DuplicateKey) and the run reloads through staging, as on
                    // PostgreSQL. An upsert would probe the index once more per row.
                    // The run and connector are bound once, not once per row.
                    let sql = format!(
                        "INSERT INTO {table} ({columns}, run_id, connector) \
                         SELECT *, ?, ? FROM (VALUES {rows})",
                        table = t.table,
                        columns = columns.join(", "),
                        rows = vec![row_marks.as_str(); chunk.len()].join(", "),
                    );
                    let mut params = Vec::with_capacity(2 + chunk.len() * columns.len());
                    params.push(Param::Int(Some(self.run_id)));
                    params.push(Param::Text(Some(self.connector.clone())));
                    self.staged_rows += chunk.len() as i64;
                    for row in chunk {
                        params.extend(row.0);
                    }
                    self.tx
                        .execute_owned(&sql, params, "loading rows")
                        .await
                        .map_err(|e| match e {
                            StoreError::Database { source, .. } if is_duplicate(&source) => {
                                StoreError::DuplicateKey
                            }
                            other => other,
                        })?;
                }
            }
            Tx::Sqlite(_) => {
                for chunk in owned_chunks(rows, SQLITE_ROWS_PER_INSERT) {
                    let mut sql = String::from("INSERT INTO stage VALUES ");
                    let mut params = Vec::with_capacity(chunk.len() * width);
                    for (i, row) in chunk.into_iter().enumerate() {
                        sql.push_str(if i == 0 { "(" } else { ", (" });
                        // Anonymous `?`: SQLite looks numbered parameters up by a
                        // linear scan, which makes a 3,600-parameter statement quadratic.
                        for j in 0..width {
                            sql.push_str(if j == 0 { "?" } else { ", ?" });
                        }
                        sql.push(')');
                        params.extend(row.0);
                        self.staged_rows += 1;
                        params.push(Param::Int(Some(self.staged_rows)));
                    }
                    let updates: Vec<String> = self
                        .table
                        .values
                        .iter()
                        .chain(POSITION_COLUMNS.iter())
                        .chain(std::iter::once(&"seq"))
                        .map(|c| format!("{c} = excluded.{c}"))
                        .collect();
                    sql.push_str(&format!(
                        " ON CONFLICT ({}) DO UPDATE SET {}",
                        self.table.key.join(", "),
                        updates.join(", ")
                    ));
                    self.tx.execute_owned(&sql, params, "staging rows").await?;
                }
            }
            Tx::Postgres(tx) if self.direct => {
                let batch = futures::stream::iter([rows]);
                self.staged_rows +=
                    copy_into_target(tx, self.table, self.run_id, &self.connector, batch).await?;
            }
            Tx::Postgres(tx) => {
                let mut copy = tx
                    .copy_in_raw("COPY stage FROM STDIN")
                    .await
                    .context("starting COPY into the staging table")?;
                let mut buffer = String::with_capacity(rows.len() * 64);
                for row in &rows {
                    for param in &row.0 {
                        write_copy_value(&mut buffer, param);
                        buffer.push('\t');
                    }
                    self.staged_rows += 1;
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
        let t = self.table;
        let backend = self.tx.backend();
        let source = match backend {
            // PostgreSQL's COPY cannot resolve duplicate keys, so keep the last one here.
            Backend::Postgres => {
                let keys = t.key.join(", ");
                let sql = format!(
                    "CREATE TEMP TABLE stage_last ON COMMIT DROP AS \
                     SELECT DISTINCT ON ({keys}) * FROM stage ORDER BY {keys}, seq DESC"
                );
                self.tx
                    .execute(&sql, &[], "removing duplicate keys from the staging table")
                    .await?;
                "stage_last"
            }
            Backend::Sqlite => "stage",
        };
        let staged = self
            .tx
            .scalar_i64(
                &format!("SELECT count(*) FROM {source}"),
                &[],
                "counting staged rows",
            )
            .await? as u64;
        // $1 run id, $2 connector; every statement uses each parameter it is given, as
        // PostgreSQL requires.
        let params: Vec<Param> = vec![
            Param::Int(Some(self.run_id)),
            Param::Text(Some(self.connector.clone())),
        ];
        let mut key_match: Vec<String> = t.key.iter().map(|k| format!("t.{k} = s.{k}")).collect();
        if t.scoped {
            key_match.push("t.connector = $2".into());
        }
        let key_match = key_match.join(" AND ");
        let distinct = |v: &str| match backend {
            Backend::Sqlite => format!("t.{v} IS NOT s.{v}"),
            Backend::Postgres => format!("t.{v} IS DISTINCT FROM s.{v}"),
        };
        let changed: Vec<String> = t.values.iter().map(|v| distinct(v)).collect();

        // Updated: same key, some value differs. Provenance follows the change.
        let mut sets: Vec<String> = t.values.iter().map(|v| format!("{v} = s.{v}")).collect();
        sets.push("run_id = $1".into());
        if t.scoped {
            sets.extend(POSITION_COLUMNS.iter().map(|c| format!("{c} = s.{c}")));
        } else {
            sets.push("connector = $2".into());
        }
        let update = format!(
            "UPDATE {table} AS t SET {sets} FROM {source} AS s WHERE {key_match} AND ({changed})",
            table = t.table,
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

        let mut columns: Vec<&str> = t.key.iter().chain(t.values).copied().collect();
        let mut selected: Vec<String> = columns.iter().map(|c| format!("s.{c}")).collect();
        columns.extend(["run_id", "connector"]);
        selected.extend(["$1".to_string(), "$2".to_string()]);
        if t.scoped {
            columns.extend(POSITION_COLUMNS);
            selected.extend(POSITION_COLUMNS.iter().map(|c| format!("s.{c}")));
        }
        let insert = format!(
            "INSERT INTO {table} ({columns}) SELECT {selected} FROM {source} AS s \
             {only_new} ORDER BY {key_order}",
            table = t.table,
            columns = columns.join(", "),
            selected = selected.join(", "),
            only_new = if first_load {
                String::new()
            } else {
                format!(
                    "WHERE NOT EXISTS (SELECT 1 FROM {} AS t WHERE {key_match})",
                    t.table
                )
            },
            // Key order fills the unique index sequentially instead of at random.
            key_order = t
                .index_order
                .iter()
                .map(|k| format!("s.{k}"))
                .collect::<Vec<_>>()
                .join(", "),
        );
        let inserted = self
            .tx
            .execute(&insert, &params, "inserting new rows")
            .await?;

        let deleted = if full_refresh && t.scoped && !first_load {
            let delete = format!(
                "DELETE FROM {table} AS t WHERE t.connector = $1 AND NOT EXISTS \
                 (SELECT 1 FROM {source} AS s WHERE {key})",
                table = t.table,
                key = t
                    .key
                    .iter()
                    .map(|k| format!("t.{k} = s.{k}"))
                    .collect::<Vec<_>>()
                    .join(" AND "),
            );
            self.tx
                .execute(
                    &delete,
                    &[Param::Text(Some(self.connector.clone()))],
                    "deleting rows gone from the source",
                )
                .await?
        } else {
            0
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

/// Streams batches through one COPY into the target table (PostgreSQL first loads);
/// returns the rows sent.
async fn copy_into_target(
    tx: &mut Transaction<'static, Postgres>,
    t: &TargetTable,
    run_id: i64,
    connector: &str,
    batches: impl futures::Stream<Item = Vec<StagedRow>>,
) -> Result<i64> {
    use futures::StreamExt;
    futures::pin_mut!(batches);
    let statement = format!(
        "COPY {} ({}, run_id, connector) FROM STDIN",
        t.table,
        t.row_columns().join(", ")
    );
    // The run and connector end every line.
    let mut constant = String::from("\t");
    write_copy_value(&mut constant, &Param::Int(Some(run_id)));
    constant.push('\t');
    write_copy_value(&mut constant, &Param::Text(Some(connector.to_string())));
    constant.push('\n');
    let mut copy = tx
        .copy_in_raw(&statement)
        .await
        .map_err(duplicate_or("starting COPY into the target"))?;
    let mut buffer = String::new();
    let mut sent = 0;
    while let Some(batch) = batches.next().await {
        buffer.clear();
        for row in &batch {
            for (i, param) in row.0.iter().enumerate() {
                if i > 0 {
                    buffer.push('\t');
                }
                write_copy_value(&mut buffer, param);
            }
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
fn is_duplicate(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Writes one value in PostgreSQL's COPY text format.
fn write_copy_value(out: &mut String, param: &Param) {
    match param {
        Param::Text(Some(text)) => {
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
        Param::Int(Some(v)) => out.push_str(&v.to_string()),
        Param::Float(Some(v)) => out.push_str(&format!("{v:?}")),
        Param::Time(t) => out.push_str(&t.to_rfc3339()),
        Param::Text(None) | Param::Int(None) | Param::Float(None) => out.push_str("\\N"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_control_characters_and_nulls() {
        let mut out = String::new();
        for p in [
            Param::Text(Some("a\tb\\c\nd".into())),
            Param::Text(None),
            Param::Float(Some(1.5)),
            Param::Int(Some(7)),
        ] {
            write_copy_value(&mut out, &p);
            out.push('|');
        }
        assert_eq!(out, "a\\tb\\\\c\\nd|\\N|1.5|7|");
    }
}
