//! The read side: one function per question the gateway asks, each a filtered page
//! ordered by a unique key, so pages are stable while rows are added.

use crate::params::AnyRow;
use crate::stored::Stored;
use crate::RunEnd;
use crate::{Param, Result, Store};
use abe_schema::{
    Agency, AreaRow, Code, Indicator, ObservationRow, ReasonSummary, RunCounts, RunStatus,
    SchoolRow, Severity, Threshold,
};
use chrono::{DateTime, Utc};

/// One page of a list, with what Relay connections need.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// Rows of the page.
    pub items: Vec<T>,
    /// Whether rows follow the page.
    pub has_next_page: bool,
    /// Rows matching the filter, over all pages.
    pub total_count: i64,
}

impl<T> Page<T> {
    /// The same page with each item turned into another.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            has_next_page: self.has_next_page,
            total_count: self.total_count,
        }
    }
}

/// A page of model rows read through [`Stored`].
fn unstored<T>(page: Page<Stored<T>>) -> Page<T> {
    page.map(|s| s.0)
}

/// An observation with its provenance.
#[derive(Debug, Clone, PartialEq)]
pub struct ObservationRecord {
    /// The observation as loaded.
    pub row: ObservationRow,
    /// Connector that loaded it.
    pub connector: String,
    /// Run that last changed the value.
    pub run_id: i64,
    /// Source file.
    pub source_file: String,
    /// Source sheet.
    pub source_sheet: Option<String>,
    /// Source row.
    pub source_row: Option<i64>,
    /// When the value was last written: the end of the run that wrote it.
    pub loaded_at: DateTime<Utc>,
}

impl<'r, R> sqlx::FromRow<'r, R> for ObservationRecord
where
    R: sqlx::Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    f64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    DateTime<Utc>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn from_row(row: &'r R) -> sqlx::Result<Self> {
        Ok(ObservationRecord {
            row: ObservationRow {
                indicator: row.try_get("indicator")?,
                area_code: row.try_get("area_code")?,
                school_code: row.try_get("school_code")?,
                period: row.try_get("period")?,
                breakdown: row.try_get("breakdown")?,
                value: row.try_get("value")?,
            },
            connector: row.try_get("connector")?,
            run_id: row.try_get("run_id")?,
            source_file: row.try_get("source_file")?,
            source_sheet: row.try_get("source_sheet")?,
            source_row: row.try_get("source_row")?,
            loaded_at: row.try_get("loaded_at")?,
        })
    }
}

impl ObservationRecord {
    /// The row's natural key, which orders observation lists.
    pub fn key(&self) -> ObservationKey {
        let o = &self.row;
        ObservationKey {
            indicator: o.indicator.clone(),
            area_code: o.area_code.clone(),
            period: o.period.clone(),
            breakdown: o.breakdown.clone(),
            school_code: o.school_code.clone(),
            connector: self.connector.clone(),
        }
    }
}

/// The natural key of an observation, in the order of its unique index.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ObservationKey {
    /// Indicator code.
    pub indicator: String,
    /// Area code.
    pub area_code: String,
    /// Period.
    pub period: String,
    /// Canonical breakdown.
    pub breakdown: String,
    /// School code, empty for area observations.
    pub school_code: String,
    /// Connector that loaded it.
    pub connector: String,
}

impl ObservationKey {
    fn params(self) -> Vec<Param> {
        [
            self.indicator,
            self.area_code,
            self.period,
            self.breakdown,
            self.school_code,
            self.connector,
        ]
        .into_iter()
        .map(Param::from)
        .collect()
    }
}

/// The columns of [`ObservationKey`], in its order.
const OBSERVATION_KEY: [&str; 6] = [
    "o.indicator",
    "o.area_code",
    "o.period",
    "o.breakdown",
    "o.school_code",
    "o.connector",
];

/// The columns of [`RunRecord`].
const RUN_COLUMNS: &str = "id, connector, trigger, status, started_at, finished_at, rows_read, \
     rows_inserted, rows_updated, rows_unchanged, rows_deleted, rows_rejected, read_ms, load_ms, \
     error_code, error, scheduled_for, rows_duplicate, reason_summary";

/// The columns of [`ConnectorRecord`].
pub(crate) const CONNECTOR_COLUMNS: &str =
    "name, agency, kind, target, schedule, config, provisioned, updated_at";

/// A connector row: its definition, and how it came to be.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ConnectorRecord {
    /// The definition as stored.
    #[sqlx(flatten)]
    pub spec: crate::ConnectorSpec,
    /// Declared in the config file (read-only through the API).
    pub provisioned: bool,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A run journal row.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    /// Run id.
    pub id: i64,
    /// Connector name.
    pub connector: String,
    /// What started it: `schedule`, `startup`, `manual`.
    pub trigger: String,
    /// State.
    pub status: RunStatus,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// End, once ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// For a scheduled run: the tick it is for.
    pub scheduled_for: Option<DateTime<Utc>>,
    /// What it did and how it ended (all zero while it runs).
    pub end: RunEnd,
    /// Its rejects and warnings by reason.
    pub summary: ReasonSummary,
}

impl<'r, R> sqlx::FromRow<'r, R> for RunRecord
where
    R: sqlx::Row,
    &'r str: sqlx::ColumnIndex<R>,
    String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    DateTime<Utc>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    Option<DateTime<Utc>>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    fn from_row(row: &'r R) -> sqlx::Result<Self> {
        let count = |column: &'r str| -> sqlx::Result<u64> {
            Ok(u64::try_from(row.try_get::<i64, _>(column)?).unwrap_or_default())
        };
        // Migration 0004 gave every earlier failure its code.
        let error_code = row
            .try_get::<Option<String>, _>("error_code")?
            .map(|code| code.parse::<Code>())
            .transpose()
            .map_err(|e| sqlx::Error::ColumnDecode {
                index: "error_code".into(),
                source: Box::new(e),
            })?;
        Ok(RunRecord {
            id: row.try_get("id")?,
            connector: row.try_get("connector")?,
            trigger: row.try_get("trigger")?,
            status: crate::stored::word(row, "status")?,
            started_at: row.try_get("started_at")?,
            finished_at: row.try_get("finished_at")?,
            scheduled_for: row.try_get("scheduled_for")?,
            end: RunEnd {
                counts: RunCounts {
                    read: count("rows_read")?,
                    inserted: count("rows_inserted")?,
                    updated: count("rows_updated")?,
                    unchanged: count("rows_unchanged")?,
                    deleted: count("rows_deleted")?,
                    rejected: count("rows_rejected")?,
                    duplicates: count("rows_duplicate")?,
                },
                read_ms: count("read_ms")?,
                load_ms: count("load_ms")?,
                error_code,
                error: row.try_get("error")?,
            },
            summary: row
                .try_get::<Option<String>, _>("reason_summary")?
                .map(|json| ReasonSummary::from_json(&json))
                .unwrap_or_default(),
        })
    }
}

/// A stored reject.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RejectRecord {
    /// Reject id.
    pub id: i64,
    /// Run id.
    pub run_id: i64,
    /// File or URL.
    pub file: String,
    /// Sheet.
    pub sheet: Option<String>,
    /// Row.
    pub row_number: Option<i64>,
    /// Column.
    pub column_name: Option<String>,
    /// Raw value.
    pub value: Option<String>,
    /// Reason.
    pub reason: String,
    /// A reject, or a warning about a row that loaded.
    #[sqlx(try_from = "String")]
    pub severity: Severity,
}

/// Filter of areas; all given parts must hold.
#[derive(Debug, Clone, Default)]
pub struct AreaFilter {
    /// Level word.
    pub level: Option<String>,
    /// Parent code.
    pub parent: Option<String>,
    /// Exact codes.
    pub codes: Option<Vec<String>>,
}

/// Filter of schools.
#[derive(Debug, Clone, Default)]
pub struct SchoolFilter {
    /// Area code; schools in its descendants count too.
    pub area: Option<String>,
    /// Exact codes.
    pub codes: Option<Vec<String>>,
}

/// Filter of observations.
#[derive(Debug, Clone, Default)]
pub struct ObservationFilter {
    /// Indicator codes.
    pub indicators: Option<Vec<String>>,
    /// Area code; observations of its descendants and their schools count too.
    pub area: Option<String>,
    /// School code.
    pub school: Option<String>,
    /// Periods.
    pub periods: Option<Vec<String>>,
    /// Canonical breakdown; `Some("")` asks for totals only.
    pub breakdown: Option<String>,
    /// Connector name.
    pub connector: Option<String>,
    /// Run that last changed the row.
    pub run_id: Option<i64>,
}

/// A WHERE clause being built with numbered placeholders.
#[derive(Default)]
pub(crate) struct Where {
    conditions: Vec<String>,
    pub(crate) params: Vec<Param>,
}

impl Where {
    /// Adds a condition; each `?` in it becomes the next `$n`.
    pub(crate) fn push(&mut self, condition: &str, values: impl IntoIterator<Item = Param>) {
        let mut text = String::new();
        let mut values = values.into_iter();
        for part in condition.split_inclusive('?') {
            match part.strip_suffix('?') {
                Some(before) => {
                    text.push_str(before);
                    self.params
                        .push(values.next().expect("one value per placeholder"));
                    text.push_str(&format!("${}", self.params.len()));
                }
                None => text.push_str(part),
            }
        }
        self.conditions.push(text);
    }

    pub(crate) fn push_in(&mut self, column: &str, values: &[String]) {
        if values.is_empty() {
            self.conditions.push("1 = 0".into());
            return;
        }
        let marks = vec!["?"; values.len()].join(", ");
        self.push(
            &format!("{column} IN ({marks})"),
            values.iter().map(Param::from),
        );
    }

    /// Whether no condition was added.
    pub(crate) fn is_empty(&self) -> bool {
        self.conditions.is_empty()
    }

    pub(crate) fn sql(&self) -> String {
        if self.conditions.is_empty() {
            "TRUE".into()
        } else {
            self.conditions.join(" AND ")
        }
    }
}

/// Largest page a caller may ask for.
pub const MAX_PAGE: usize = 1000;

impl Store {
    /// A page of `from` rows matching `filter`, ordered by the columns of `key` (unique
    /// together), after `after` (a value per key column; none for the first page),
    /// `first` rows at most.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn page<T: AnyRow>(
        &self,
        columns: &str,
        from: &str,
        mut filter: Where,
        key: &[&str],
        descending: bool,
        after: Vec<Param>,
        first: usize,
        what: &str,
    ) -> Result<Page<T>> {
        let total_count = self
            .scalar_i64(
                &format!("SELECT count(*) FROM {from} WHERE {}", filter.sql()),
                filter.params.clone(),
                what,
            )
            .await?;
        if !after.is_empty() {
            // A row value comparison: both databases walk the key's index from there.
            let marks = vec!["?"; after.len()].join(", ");
            filter.push(
                &format!(
                    "({}) {} ({marks})",
                    key.join(", "),
                    if descending { "<" } else { ">" }
                ),
                after,
            );
        }
        let first = first.min(MAX_PAGE);
        let direction = if descending { " DESC" } else { "" };
        let order: Vec<String> = key.iter().map(|k| format!("{k}{direction}")).collect();
        let sql = format!(
            "SELECT {columns} FROM {from} WHERE {} ORDER BY {} LIMIT {}",
            filter.sql(),
            order.join(", "),
            first + 1
        );
        let mut items: Vec<T> = self.fetch_all(&sql, filter.params, what).await?;
        let has_next_page = items.len() > first;
        items.truncate(first);
        Ok(Page {
            items,
            has_next_page,
            total_count,
        })
    }

    /// Areas matching `filter`, by code.
    pub async fn areas(
        &self,
        filter: &AreaFilter,
        after: Option<String>,
        first: usize,
    ) -> Result<Page<AreaRow>> {
        let mut w = Where::default();
        if let Some(level) = &filter.level {
            w.push("level = ?", [Param::from(level)]);
        }
        if let Some(parent) = &filter.parent {
            w.push("parent_code = ?", [Param::from(parent)]);
        }
        if let Some(codes) = &filter.codes {
            w.push_in("code", codes);
        }
        let columns = "code, level, parent_code, name_th, name_en";
        self.page(
            columns,
            "areas",
            w,
            &["code"],
            false,
            after.map(Param::from).into_iter().collect(),
            first,
            "listing areas",
        )
        .await
        .map(unstored)
    }

    /// Areas by code, for batched lookups.
    pub async fn areas_by_code(&self, codes: &[String]) -> Result<Vec<AreaRow>> {
        let filter = AreaFilter {
            codes: Some(codes.to_vec()),
            ..Default::default()
        };
        Ok(self
            .areas(&filter, None, MAX_PAGE.max(codes.len()))
            .await?
            .items)
    }

    /// Schools matching `filter`, by code.
    pub async fn schools(
        &self,
        filter: &SchoolFilter,
        after: Option<String>,
        first: usize,
    ) -> Result<Page<SchoolRow>> {
        let mut w = Where::default();
        if let Some(area) = &filter.area {
            w.push(
                "area_code LIKE ?",
                [Param::from(format!("{}%", like_escape(area)))],
            );
        }
        if let Some(codes) = &filter.codes {
            w.push_in("code", codes);
        }
        let columns = "code, name_th, name_en, area_code, affiliation, levels";
        self.page(
            columns,
            "schools",
            w,
            &["code"],
            false,
            after.map(Param::from).into_iter().collect(),
            first,
            "listing schools",
        )
        .await
        .map(unstored)
    }

    /// Agencies, by code.
    pub async fn agencies(
        &self,
        codes: Option<&[String]>,
        after: Option<String>,
        first: usize,
    ) -> Result<Page<Agency>> {
        let mut w = Where::default();
        if let Some(codes) = codes {
            w.push_in("code", codes);
        }
        self.page(
            "code, name_th, name_en, kind",
            "agencies",
            w,
            &["code"],
            false,
            after.map(Param::from).into_iter().collect(),
            first,
            "listing agencies",
        )
        .await
        .map(unstored)
    }

    /// Indicators, by code.
    pub async fn indicators(
        &self,
        codes: Option<&[String]>,
        after: Option<String>,
        first: usize,
    ) -> Result<Page<Indicator>> {
        let mut w = Where::default();
        if let Some(codes) = codes {
            w.push_in("code", codes);
        }
        let columns = crate::catalog::INDICATOR_COLUMNS.join(", ");
        self.page(
            &columns,
            "indicators",
            w,
            &["code"],
            false,
            after.map(Param::from).into_iter().collect(),
            first,
            "listing indicators",
        )
        .await
        .map(unstored)
    }

    /// Thresholds of the given indicators.
    pub async fn thresholds(&self, indicators: &[String]) -> Result<Vec<Threshold>> {
        let mut w = Where::default();
        w.push_in("indicator", indicators);
        let sql = format!("SELECT indicator, level, warning, critical FROM thresholds WHERE {} ORDER BY indicator, level", w.sql());
        let stored: Vec<Stored<Threshold>> =
            self.fetch_all(&sql, w.params, "listing thresholds").await?;
        Ok(stored.into_iter().map(|s| s.0).collect())
    }

    /// Observations matching `filter`, in the order of their natural key.
    pub async fn observations(
        &self,
        filter: &ObservationFilter,
        after: Option<ObservationKey>,
        first: usize,
    ) -> Result<Page<ObservationRecord>> {
        let mut w = Where::default();
        if let Some(indicators) = &filter.indicators {
            w.push_in("o.indicator", indicators);
        }
        if let Some(area) = &filter.area {
            // DOPA codes are prefix-hierarchical: 90 > 9001 > 900101.
            w.push(
                "o.area_code LIKE ?",
                [Param::from(format!("{}%", like_escape(area)))],
            );
        }
        if let Some(school) = &filter.school {
            w.push("o.school_code = ?", [Param::from(school)]);
        }
        if let Some(periods) = &filter.periods {
            w.push_in("o.period", periods);
        }
        if let Some(breakdown) = &filter.breakdown {
            w.push("o.breakdown = ?", [Param::from(breakdown)]);
        }
        if let Some(connector) = &filter.connector {
            w.push("o.connector = ?", [Param::from(connector)]);
        }
        if let Some(run_id) = filter.run_id {
            w.push("o.run_id = ?", [Param::from(run_id)]);
        }
        // The file, sheet and load time are the run's, looked up for the page's rows only.
        let columns = "o.connector, o.indicator, o.area_code, o.school_code, o.period, \
             o.breakdown, o.value, o.run_id, \
             COALESCE((SELECT s.file FROM run_sources AS s WHERE s.run_id = o.run_id AND s.source = o.source), '') AS source_file, \
             (SELECT s.sheet FROM run_sources AS s WHERE s.run_id = o.run_id AND s.source = o.source) AS source_sheet, \
             o.source_row, \
             (SELECT COALESCE(r.finished_at, r.started_at) FROM runs AS r WHERE r.id = o.run_id) AS loaded_at";
        self.page(
            columns,
            "observations AS o",
            w,
            &OBSERVATION_KEY,
            false,
            after.map(ObservationKey::params).unwrap_or_default(),
            first,
            "listing observations",
        )
        .await
    }

    /// Connectors, by name.
    pub async fn connectors(
        &self,
        names: Option<&[String]>,
        after: Option<String>,
        first: usize,
    ) -> Result<Page<ConnectorRecord>> {
        let mut w = Where::default();
        if let Some(names) = names {
            w.push_in("name", names);
        }
        self.page(
            CONNECTOR_COLUMNS,
            "connectors",
            w,
            &["name"],
            false,
            after.map(Param::from).into_iter().collect(),
            first,
            "listing connectors",
        )
        .await
    }

    /// Runs, newest first, optionally of one connector or with given ids.
    pub async fn runs(
        &self,
        connector: Option<&str>,
        ids: Option<&[i64]>,
        after: Option<i64>,
        first: usize,
    ) -> Result<Page<RunRecord>> {
        let mut w = Where::default();
        if let Some(connector) = connector {
            w.push("connector = ?", [Param::from(connector)]);
        }
        if let Some(ids) = ids {
            if ids.is_empty() {
                w.push("1 = ?", [Param::from(0i64)]);
            } else {
                let marks = vec!["?"; ids.len()].join(", ");
                w.push(
                    &format!("id IN ({marks})"),
                    ids.iter().map(|i| Param::from(*i)),
                );
            }
        }
        let columns = RUN_COLUMNS;
        self.page(
            columns,
            "runs",
            w,
            &["id"],
            true,
            after.map(Param::from).into_iter().collect(),
            first,
            "listing runs",
        )
        .await
    }

    /// The latest run of each of `connectors`.
    pub async fn latest_runs(&self, connectors: &[String]) -> Result<Vec<RunRecord>> {
        let mut w = Where::default();
        w.push_in("connector", connectors);
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs \
             WHERE id IN (SELECT max(id) FROM runs WHERE {} GROUP BY connector)",
            w.sql()
        );
        self.fetch_all(&sql, w.params, "finding latest runs").await
    }

    /// Rejects (or warnings) of a run, in order.
    pub async fn rejects(
        &self,
        run_id: i64,
        severity: Severity,
        after: Option<i64>,
        first: usize,
    ) -> Result<Page<RejectRecord>> {
        let mut w = Where::default();
        w.push("run_id = ?", [Param::from(run_id)]);
        w.push("severity = ?", [Param::from(severity.as_str())]);
        let columns = "id, run_id, file, sheet, row_number, column_name, value, reason, severity";
        self.page(
            columns,
            "rejects",
            w,
            &["id"],
            false,
            after.map(Param::from).into_iter().collect(),
            first,
            "listing rejects",
        )
        .await
    }

    /// Codes of every area, for checking rows before they load.
    pub async fn area_codes(&self) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = self
            .fetch_all("SELECT code FROM areas", vec![], "reading area codes")
            .await?;
        Ok(rows.into_iter().map(|(c,)| c).collect())
    }

    /// Every area's code and names, for resolving areas given by name.
    pub async fn area_names(&self) -> Result<Vec<(String, String, Option<String>)>> {
        self.fetch_all(
            "SELECT code, name_th, name_en FROM areas",
            vec![],
            "reading area names",
        )
        .await
    }

    /// Every school's code and area code.
    pub async fn school_areas(&self) -> Result<Vec<(String, String)>> {
        self.fetch_all(
            "SELECT code, area_code FROM schools",
            vec![],
            "reading school areas",
        )
        .await
    }

    /// Codes of every indicator.
    pub async fn indicator_codes(&self) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = self
            .fetch_all(
                "SELECT code FROM indicators",
                vec![],
                "reading indicator codes",
            )
            .await?;
        Ok(rows.into_iter().map(|(c,)| c).collect())
    }
}

/// Escapes LIKE wildcards in a code used as a prefix (codes are digits, but a caller's
/// input is not trusted to be).
pub(crate) fn like_escape(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '%' | '_' | '\\'))
        .collect()
}
