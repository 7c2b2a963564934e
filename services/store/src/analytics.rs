//! What analytics asks of the database and what it keeps there: observations summed to
//! the grain values are computed from, the area tree, computed indicator values, alert
//! rules, and alerts with their lifecycle. The computation itself lives in
//! `abe-analytics`; here is only SQL.

use crate::load::{owned_chunks, write_copy_text, Tx};
use crate::queries::{like_escape, Where};
use crate::Context;
use crate::{params, Param, Result, Store};
use abe_schema::{AlertRule, AlertSeverity, AlertStatus, AreaLevel, Band, RuleKind};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Observations of one indicator, area, period, breakdown and connector, summed: the
/// area's own rows (`from_schools` false) apart from its schools' rows (true).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ObservationSum {
    /// Indicator code.
    pub indicator: String,
    /// Area code (a school's row is filed under its area).
    pub area_code: String,
    /// Whether the rows are schools' rather than the area's own.
    pub from_schools: bool,
    /// Period.
    pub period: String,
    /// Canonical breakdown.
    pub breakdown: String,
    /// Connector that loaded the rows.
    pub connector: String,
    /// Sum of the values.
    pub value: f64,
    /// How many rows (schools, for school rows) were summed.
    pub n: i64,
    /// The latest run among the rows.
    pub run_id: i64,
}

/// An area as the hierarchy sees it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AreaNode {
    /// Area code.
    pub code: String,
    /// Province, district or subdistrict.
    #[sqlx(try_from = "String")]
    pub level: AreaLevel,
    /// The area it lies in.
    pub parent_code: Option<String>,
}

/// Which areas a computation covers: all, or those under some provinces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Every area.
    All,
    /// The areas whose codes start with one of these province codes.
    Provinces(Vec<String>),
}

impl Scope {
    /// Adds the scope's condition on `column`, a code column in byte order (the
    /// observations' and computed values': a range walks their keys).
    fn push(&self, w: &mut Where, column: &str) {
        if let Scope::Provinces(codes) = self {
            if codes.is_empty() {
                w.push("1 = 0", []);
                return;
            }
            let marks = vec![format!("({column} >= ? AND {column} < ?)"); codes.len()].join(" OR ");
            w.push(
                &format!("({marks})"),
                codes.iter().flat_map(|c| prefix_range(c)),
            );
        }
    }

    /// The same on a column in the database's own collation (alerts), where only LIKE
    /// means "starts with".
    fn push_like(&self, w: &mut Where, column: &str) {
        if let Scope::Provinces(codes) = self {
            if codes.is_empty() {
                w.push("1 = 0", []);
                return;
            }
            let marks = vec![format!("{column} LIKE ?"); codes.len()].join(" OR ");
            w.push(
                &format!("({marks})"),
                codes
                    .iter()
                    .map(|c| Param::from(format!("{}%", like_escape(c)))),
            );
        }
    }

    /// Whether `area_code` lies in the scope.
    pub fn contains(&self, area_code: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Provinces(codes) => codes.iter().any(|c| area_code.starts_with(c.as_str())),
        }
    }
}

/// The bounds of the codes starting with `prefix`, as a range both databases walk an
/// index for (SQLite uses no index for LIKE on a case-sensitive column). Codes are
/// ASCII, so every code with the prefix sorts below the prefix followed by DEL.
fn prefix_range(prefix: &str) -> [Param; 2] {
    [Param::from(prefix), Param::from(format!("{prefix}\u{7f}"))]
}

/// A source behind a computed value: the connector and the run that loaded it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ValueSource {
    /// Connector name.
    pub connector: String,
    /// Run that last changed its rows.
    pub run: i64,
}

/// A computed value of an indicator for one area, period and breakdown.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct IndicatorValue {
    /// Indicator code.
    pub indicator: String,
    /// Area code.
    pub area_code: String,
    /// Period.
    pub period: String,
    /// Canonical breakdown; empty for the total.
    pub breakdown: String,
    /// The area's level.
    #[sqlx(try_from = "String")]
    pub level: AreaLevel,
    /// The area's parent.
    pub parent_code: Option<String>,
    /// The value.
    pub value: f64,
    /// Ratios: the summed numerator; means: the weighted sum.
    pub numerator: Option<f64>,
    /// Ratios: the summed denominator; means: the summed weight.
    pub denominator: Option<f64>,
    /// Ratios: the denominator's period where it is not the value's own.
    pub denominator_period: Option<String>,
    /// Child areas or schools that gave a value (none: the area reported its own).
    pub reported: Option<i64>,
    /// Child areas or schools there are.
    pub expected: Option<i64>,
    /// Rank among the parent's children of the same level, 1 = worst.
    pub rank: Option<i64>,
    /// How many siblings were ranked.
    pub siblings: Option<i64>,
    /// The parent area's value for the same period and breakdown.
    pub parent_value: Option<f64>,
    /// The previous period with a value.
    pub previous_period: Option<String>,
    /// The value of the previous period.
    pub previous_value: Option<f64>,
    /// Colour band by the indicator's threshold at this level.
    #[sqlx(try_from = "String")]
    pub band: Band,
    /// The sources behind the value, as JSON (see [`IndicatorValue::sources`]).
    #[sqlx(rename = "sources")]
    pub sources_json: String,
}

impl IndicatorValue {
    /// The sources behind the value.
    pub fn sources(&self) -> Vec<ValueSource> {
        serde_json::from_str(&self.sources_json).unwrap_or_default()
    }
}

const VALUE_COLUMNS: [&str; 19] = [
    "indicator",
    "area_code",
    "period",
    "breakdown",
    "level",
    "parent_code",
    "value",
    "numerator",
    "denominator",
    "denominator_period",
    "reported",
    "expected",
    "rank",
    "siblings",
    "parent_value",
    "previous_period",
    "previous_value",
    "band",
    "sources",
];

fn value_params(v: IndicatorValue) -> Vec<Param> {
    params![
        v.indicator,
        v.area_code,
        v.period,
        v.breakdown,
        v.level.as_str(),
        v.parent_code,
        v.value,
        v.numerator,
        v.denominator,
        v.denominator_period,
        v.reported,
        v.expected,
        v.rank,
        v.siblings,
        v.parent_value,
        v.previous_period,
        v.previous_value,
        v.band.as_str(),
        v.sources_json
    ]
}

/// Which computed values a caller asks for. Empty lists mean "any".
#[derive(Debug, Clone, Default)]
pub struct ValueFilter {
    /// Indicator codes (required: at least one).
    pub indicators: Vec<String>,
    /// Area codes.
    pub areas: Vec<String>,
    /// Areas of this level...
    pub level: Option<AreaLevel>,
    /// ...under this area (by code prefix).
    pub under: Option<String>,
    /// Periods.
    pub periods: Vec<String>,
    /// Only each indicator's latest computed period (within `periods`, when given).
    pub latest: bool,
    /// Canonical breakdowns; empty asks for totals only.
    pub breakdowns: Vec<String>,
}

/// At most this many computed values answer one question.
pub const MAX_VALUES: usize = 10_000;

/// A figure one connector gives for a key another connector gives too.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ConflictingFigure {
    /// Area code.
    pub area_code: String,
    /// Period.
    pub period: String,
    /// Canonical breakdown.
    pub breakdown: String,
    /// School code, empty for the area's own row.
    pub school_code: String,
    /// Connector that gave it.
    pub connector: String,
    /// The figure.
    pub value: f64,
    /// Run that loaded it.
    pub run_id: i64,
}

/// One step of an alert's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEvent {
    /// When.
    pub at: DateTime<Utc>,
    /// The status it moved to (or kept, when only the value changed).
    pub status: AlertStatus,
    /// Who: a person's name for acknowledgements and hand resolutions; none for the
    /// hub's own evaluation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// Their comment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The period evaluated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<String>,
    /// The value then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
}

/// An alert as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AlertRecord {
    /// Id.
    pub id: i64,
    /// Indicator code.
    pub indicator: String,
    /// Area code.
    pub area_code: String,
    /// Rule name.
    pub rule: String,
    /// What the rule checks.
    #[sqlx(try_from = "String")]
    pub kind: RuleKind,
    /// The period the value is of.
    pub period: String,
    /// Severity.
    #[sqlx(try_from = "String")]
    pub severity: AlertSeverity,
    /// The value that fired it (none for a missing value).
    pub value: Option<f64>,
    /// The threshold it crossed, where there is one number.
    pub threshold: Option<f64>,
    /// What was expected, in words.
    pub expected: String,
    /// The sources behind the value, as JSON.
    #[sqlx(rename = "sources")]
    pub sources_json: String,
    /// Where it is in its lifecycle.
    #[sqlx(try_from = "String")]
    pub status: AlertStatus,
    /// The period whose value resolved it.
    pub resolved_period: Option<String>,
    /// Its history, as JSON.
    #[sqlx(rename = "history")]
    pub history_json: String,
    /// When it was raised.
    pub raised_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl AlertRecord {
    /// Its history, oldest first.
    pub fn history(&self) -> Vec<AlertEvent> {
        serde_json::from_str(&self.history_json).unwrap_or_default()
    }

    /// The sources behind its value.
    pub fn sources(&self) -> Vec<ValueSource> {
        serde_json::from_str(&self.sources_json).unwrap_or_default()
    }
}

const ALERT_COLUMNS: &str = "id, indicator, area_code, rule, kind, period, severity, value, \
     threshold, expected, sources, status, resolved_period, history, raised_at, updated_at";

/// An alert an evaluation finds firing.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    /// Indicator code.
    pub indicator: String,
    /// Area code.
    pub area_code: String,
    /// Rule name.
    pub rule: String,
    /// What the rule checks.
    pub kind: RuleKind,
    /// Period of the value.
    pub period: String,
    /// Severity.
    pub severity: AlertSeverity,
    /// The value (none for a missing one).
    pub value: Option<f64>,
    /// The threshold crossed, where there is one number.
    pub threshold: Option<f64>,
    /// What was expected, in words.
    pub expected: String,
    /// The sources behind the value.
    pub sources: Vec<ValueSource>,
}

/// What an evaluation looked at: the rules' indicators in the scope's areas.
#[derive(Debug, Clone)]
pub struct Evaluated {
    /// The rules evaluated.
    pub rules: Vec<String>,
    /// The areas evaluated.
    pub scope: Scope,
    /// The latest period of each (indicator, area) evaluated: an alert that no longer
    /// fires was resolved by it.
    pub latest: HashMap<(String, String), String>,
}

/// Alerts an evaluation raised and resolved, for notifications.
#[derive(Debug, Clone, Default)]
pub struct AlertChanges {
    /// Newly open.
    pub raised: Vec<AlertRecord>,
    /// Resolved because the value is back in range.
    pub resolved: Vec<AlertRecord>,
    /// Still firing, updated to a later period or another severity.
    pub updated: usize,
}

/// Which alerts a caller asks for. Empty lists mean "any".
#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    /// The area and every area under it.
    pub area: Option<String>,
    /// Indicator codes.
    pub indicators: Vec<String>,
    /// Topic of the indicator.
    pub topic: Option<String>,
    /// Severities.
    pub severities: Vec<AlertSeverity>,
    /// Statuses.
    pub statuses: Vec<AlertStatus>,
}

/// At most this many alerts answer one question.
pub const MAX_ALERTS: usize = 1_000;

impl Store {
    /// A transaction that reads, then writes. On SQLite it takes the write lock
    /// first (waiting its turn): a read first would pin a snapshot, and a run
    /// committing meanwhile would make the first write fail (SQLITE_BUSY_SNAPSHOT).
    async fn begin_writing(&self, what: &str) -> Result<Tx> {
        let mut tx = self.begin(what).await?;
        if let Tx::Sqlite(_) = tx {
            tx.execute("UPDATE alerts SET id = id WHERE 1 = 0", &[], what)
                .await?;
        }
        Ok(tx)
    }

    /// The observations of `indicators` in `scope`, summed by area (schools' rows apart
    /// from the area's own), period, breakdown and connector.
    pub async fn observation_sums(
        &self,
        indicators: &[String],
        scope: &Scope,
    ) -> Result<Vec<ObservationSum>> {
        let mut w = Where::default();
        w.push_in("indicator", indicators);
        scope.push(&mut w, "area_code");
        let sql = format!(
            "SELECT indicator, area_code, school_code <> '' AS from_schools, period, breakdown, \
             connector, SUM(value) AS value, COUNT(*) AS n, MAX(run_id) AS run_id \
             FROM observations WHERE {} \
             GROUP BY indicator, area_code, school_code <> '', period, breakdown, connector",
            w.sql()
        );
        match self.backend() {
            crate::Backend::Postgres => {
                self.fetch_all(&sql, w.params, "summing observations").await
            }
            // A national computation reads over a million sums. sqlx hands SQLite's rows
            // over one at a time at a cost as large as the query's own, so SQLite
            // writes them as one JSON document instead, read here in one go.
            crate::Backend::Sqlite => {
                let sql = format!(
                    "SELECT json_group_array(json_array(indicator, area_code, from_schools, \
                     period, breakdown, connector, value, n, run_id)) FROM ({sql})"
                );
                let (json,): (String,) = crate::on_pool!(self, pool => crate::params::bind_all!(sqlx::query_as(&sql), w.params).fetch_one(pool).await)
                    .context("summing observations")?;
                type Row = (String, String, i64, String, String, String, f64, i64, i64);
                let rows: Vec<Row> =
                    serde_json::from_str(&json).map_err(|e| crate::StoreError::Database {
                        context: "reading summed observations".into(),
                        source: sqlx::Error::Decode(Box::new(e)),
                    })?;
                Ok(rows
                    .into_iter()
                    .map(|r| ObservationSum {
                        indicator: r.0,
                        area_code: r.1,
                        from_schools: r.2 != 0,
                        period: r.3,
                        breakdown: r.4,
                        connector: r.5,
                        value: r.6,
                        n: r.7,
                        run_id: r.8,
                    })
                    .collect())
            }
        }
    }

    /// Every area with its level and parent.
    pub async fn area_tree(&self) -> Result<Vec<AreaNode>> {
        self.fetch_all(
            "SELECT code, level, parent_code FROM areas",
            vec![],
            "reading the area tree",
        )
        .await
    }

    /// How many schools each area has.
    pub async fn schools_per_area(&self) -> Result<Vec<(String, i64)>> {
        self.fetch_all(
            "SELECT area_code, COUNT(*) FROM schools GROUP BY area_code",
            vec![],
            "counting schools per area",
        )
        .await
    }

    /// Each connector's agency.
    pub async fn connector_agencies(&self) -> Result<Vec<(String, Option<String>)>> {
        self.fetch_all(
            "SELECT name, agency FROM connectors",
            vec![],
            "reading connector agencies",
        )
        .await
    }

    /// The indicators a run loaded rows of, and the provinces of those rows.
    pub async fn run_footprint(&self, run_id: i64) -> Result<Vec<(String, String)>> {
        self.fetch_all(
            "SELECT DISTINCT indicator, substr(area_code, 1, 2) FROM observations WHERE run_id = $1",
            params![run_id],
            "reading what a run loaded",
        )
        .await
    }

    /// The indicators a connector has rows of.
    pub async fn connector_indicators(&self, connector: &str) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = self
            .fetch_all(
                "SELECT DISTINCT indicator FROM observations WHERE connector = $1",
                params![connector],
                "reading a connector's indicators",
            )
            .await?;
        Ok(rows.into_iter().map(|(c,)| c).collect())
    }

    /// Computed values of `indicators` in `scope` (every period and breakdown), for
    /// recomputing what depends on them.
    pub async fn computed_values(
        &self,
        indicators: &[String],
        scope: &Scope,
        level: Option<AreaLevel>,
    ) -> Result<Vec<IndicatorValue>> {
        let mut w = Where::default();
        w.push_in("indicator", indicators);
        scope.push(&mut w, "area_code");
        if let Some(level) = level {
            w.push("level = ?", [Param::from(level.as_str())]);
        }
        let sql = format!(
            "SELECT {} FROM indicator_values WHERE {}",
            VALUE_COLUMNS.join(", "),
            w.sql()
        );
        self.fetch_all(&sql, w.params, "reading computed values")
            .await
    }

    /// Replaces the computed values of `indicators` (every indicator's when none) in
    /// `scope` with `values` in one transaction; `values` may also hold rows outside
    /// the scope (provinces re-ranked after one of them changed), which are updated in
    /// place.
    pub async fn replace_computed_values(
        &self,
        indicators: Option<&[String]>,
        scope: &Scope,
        values: Vec<IndicatorValue>,
    ) -> Result<u64> {
        let mut tx = self.begin("replacing computed values").await?;
        let mut w = Where::default();
        // Everything: a DELETE without a condition, which SQLite empties the table by
        // at once (and which drops the values of indicators no longer catalogued).
        if let Some(indicators) = indicators {
            w.push_in("indicator", indicators);
        }
        scope.push(&mut w, "area_code");
        let everything = w.is_empty();
        let delete = if everything {
            "DELETE FROM indicator_values".to_string()
        } else {
            format!("DELETE FROM indicator_values WHERE {}", w.sql())
        };
        tx.execute_owned(&delete, w.params, "clearing computed values")
            .await?;
        let (mut inside, outside): (Vec<_>, Vec<_>) = values
            .into_iter()
            .partition(|v| scope.contains(&v.area_code));
        // In key order, each row lands beside the last instead of somewhere in the
        // table's B-tree.
        inside.sort_unstable_by(|a, b| {
            (&a.indicator, &a.area_code, &a.period, &a.breakdown).cmp(&(
                &b.indicator,
                &b.area_code,
                &b.period,
                &b.breakdown,
            ))
        });
        let mut written = 0;
        match &mut tx {
            // A national computation writes millions of rows: one COPY, as loads do.
            Tx::Postgres(pg) => {
                let mut copy = pg
                    .copy_in_raw(&format!(
                        "COPY indicator_values ({}) FROM STDIN",
                        VALUE_COLUMNS.join(", ")
                    ))
                    .await
                    .context("starting COPY of computed values")?;
                let mut buffer = String::new();
                for chunk in inside.chunks(10_000) {
                    buffer.clear();
                    for v in chunk {
                        write_copy_line(&mut buffer, v);
                    }
                    copy.send(buffer.as_bytes())
                        .await
                        .context("writing computed values")?;
                }
                written += copy.finish().await.context("finishing COPY")?;
            }
            Tx::Sqlite(_) => {
                written += insert_values(&mut tx, inside, "").await?;
            }
        }
        let updates: Vec<String> = VALUE_COLUMNS[4..]
            .iter()
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        let on_conflict = format!(
            " ON CONFLICT (indicator, area_code, period, breakdown) DO UPDATE SET {}",
            updates.join(", ")
        );
        written += insert_values(&mut tx, outside, &on_conflict).await?;
        let mut w = Where::default();
        if let Some(indicators) = indicators {
            w.push_in("indicator", indicators);
        }
        tx.execute_owned(
            &format!("DELETE FROM computed_periods WHERE {}", w.sql()),
            w.params.clone(),
            "clearing computed periods",
        )
        .await?;
        tx.execute_owned(
            &format!(
                "INSERT INTO computed_periods (indicator, period, value_count) \
                 SELECT indicator, period, count(*) FROM indicator_values WHERE {} \
                 GROUP BY indicator, period",
                w.sql()
            ),
            w.params,
            "listing computed periods",
        )
        .await?;
        tx.commit("committing computed values").await?;
        if everything && self.backend() == crate::Backend::Sqlite {
            // SQLite plans by statistics it gathers only when asked. Without them it
            // reads a province's districts through the primary key's area range, every
            // period and breakdown of every area under it (3,600 rows for Songkhla),
            // rather than straight through the level index. PostgreSQL's autovacuum
            // gathers its own.
            self.execute(
                "ANALYZE indicator_values",
                vec![],
                "gathering statistics of computed values",
            )
            .await?;
        }
        Ok(written)
    }

    /// Computed values matching `filter`, by indicator, period, breakdown, rank and
    /// area; at most [`MAX_VALUES`] + 1 (one more tells the caller to narrow it).
    pub async fn indicator_values(&self, filter: &ValueFilter) -> Result<Vec<IndicatorValue>> {
        let mut w = Where::default();
        w.push_in("indicator", &filter.indicators);
        if !filter.areas.is_empty() {
            w.push_in("area_code", &filter.areas);
        }
        if let Some(level) = filter.level {
            w.push("level = ?", [Param::from(level.as_str())]);
        }
        if let Some(under) = &filter.under {
            w.push("area_code >= ? AND area_code < ?", prefix_range(under));
        }
        if filter.latest {
            // In the same statement rather than a query before it: one round trip, which
            // is what a dashboard's most common question waits on.
            let marks = |n: usize| vec!["?"; n].join(", ");
            let mut condition = format!(
                "(indicator, period) IN (SELECT indicator, MAX(period) FROM computed_periods \
                 WHERE indicator IN ({})",
                marks(filter.indicators.len())
            );
            if !filter.periods.is_empty() {
                condition += &format!(" AND period IN ({})", marks(filter.periods.len()));
            }
            condition += " GROUP BY indicator)";
            w.push(
                &condition,
                filter
                    .indicators
                    .iter()
                    .chain(&filter.periods)
                    .map(Param::from),
            );
        } else if !filter.periods.is_empty() {
            w.push_in("period", &filter.periods);
        }
        if filter.breakdowns.is_empty() {
            w.push("breakdown = ''", []);
        } else {
            w.push_in("breakdown", &filter.breakdowns);
        }
        let sql = format!(
            "SELECT {} FROM indicator_values WHERE {} \
             ORDER BY indicator, period, breakdown, parent_code, rank, area_code LIMIT {}",
            VALUE_COLUMNS.join(", "),
            w.sql(),
            MAX_VALUES + 1
        );
        self.fetch_all(&sql, w.params, "reading computed values")
            .await
    }

    /// The latest period with a computed value, per indicator.
    pub async fn latest_periods(&self, indicators: &[String]) -> Result<Vec<(String, String)>> {
        let mut w = Where::default();
        w.push_in("indicator", indicators);
        let sql = format!(
            "SELECT indicator, MAX(period) FROM computed_periods WHERE {} GROUP BY indicator",
            w.sql()
        );
        self.fetch_all(&sql, w.params, "reading latest periods")
            .await
    }

    /// Figures of `indicator` (in and under `area`, of `period`) that more than one
    /// connector gives for the same area, school, period and breakdown; at most 1,000.
    pub async fn conflicting_figures(
        &self,
        indicator: &str,
        area: Option<&str>,
        period: Option<&str>,
    ) -> Result<Vec<ConflictingFigure>> {
        let mut w = Where::default();
        w.push("o.indicator = ?", [Param::from(indicator)]);
        if let Some(area) = area {
            w.push("o.area_code >= ? AND o.area_code < ?", prefix_range(area));
        }
        if let Some(period) = period {
            w.push("o.period = ?", [Param::from(period)]);
        }
        let sql = format!(
            "SELECT o.area_code, o.period, o.breakdown, o.school_code, o.connector, o.value, o.run_id \
             FROM observations o WHERE {} AND EXISTS (SELECT 1 FROM observations p \
               WHERE p.indicator = o.indicator AND p.area_code = o.area_code \
                 AND p.period = o.period AND p.breakdown = o.breakdown \
                 AND p.school_code = o.school_code AND p.connector <> o.connector) \
             ORDER BY o.area_code, o.period, o.breakdown, o.school_code, o.connector LIMIT 1000",
            w.sql()
        );
        self.fetch_all(&sql, w.params, "listing conflicting figures")
            .await
    }

    /// Makes the provisioned alert rules exactly `rules` (the config's); rules saved
    /// through the API stay, unless the config now declares one of their names.
    pub async fn provision_alert_rules(&self, rules: &[AlertRule]) -> Result<()> {
        let mut tx = self.begin("provisioning alert rules").await?;
        tx.execute(
            "DELETE FROM alert_rules WHERE provisioned = TRUE",
            &[],
            "clearing provisioned alert rules",
        )
        .await?;
        for rule in rules {
            tx.execute(
                "INSERT INTO alert_rules (name, indicator, provisioned, definition) \
                 VALUES ($1, $2, TRUE, $3) ON CONFLICT (name) DO UPDATE SET \
                 indicator = excluded.indicator, provisioned = TRUE, definition = excluded.definition",
                params![&rule.name, &rule.indicator, rule_json(rule)],
                "provisioning an alert rule",
            )
            .await?;
        }
        tx.commit("provisioning alert rules").await
    }

    /// Saves one alert rule by name, unless a rule of that name is provisioned from the
    /// config; returns whether it was saved.
    pub async fn save_alert_rule(&self, rule: &AlertRule) -> Result<bool> {
        self.execute(
            "INSERT INTO alert_rules (name, indicator, provisioned, definition) \
             VALUES ($1, $2, FALSE, $3) ON CONFLICT (name) DO UPDATE SET \
             indicator = excluded.indicator, definition = excluded.definition \
             WHERE alert_rules.provisioned = FALSE",
            params![&rule.name, &rule.indicator, rule_json(rule)],
            "saving an alert rule",
        )
        .await
        .map(|n| n > 0)
    }

    /// Deletes an alert rule saved through the API (provisioned ones stay), by `by`;
    /// its unresolved alerts are resolved, saying so, since nothing would evaluate them
    /// again, and all its alerts stay with their history. Returns whether one was
    /// deleted.
    pub async fn delete_alert_rule(
        &self,
        name: &str,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let _turn = self.write_turn().await;
        let mut tx = self.begin_writing("deleting an alert rule").await?;
        let deleted = tx
            .execute(
                "DELETE FROM alert_rules WHERE name = $1 AND provisioned = FALSE",
                params![name],
                "deleting an alert rule",
            )
            .await?;
        if deleted > 0 {
            let open: Vec<AlertRecord> = tx
                .fetch_all(
                    &format!(
                        "SELECT {ALERT_COLUMNS} FROM alerts WHERE rule = $1 AND status <> 'resolved'"
                    ),
                    params![name],
                    "reading the rule's alerts",
                )
                .await?;
            for alert in &open {
                self.set_status_in(
                    &mut tx,
                    alert,
                    AlertStatus::Resolved,
                    Some(by.to_string()),
                    Some(format!("rule {name} deleted")),
                    None,
                    now,
                )
                .await?;
            }
        }
        tx.commit("committing an alert rule's deletion").await?;
        Ok(deleted > 0)
    }

    /// Alert rules, of `indicators` when given, by name.
    pub async fn alert_rules(&self, indicators: Option<&[String]>) -> Result<Vec<AlertRule>> {
        let mut w = Where::default();
        if let Some(indicators) = indicators {
            w.push_in("indicator", indicators);
        }
        let sql = format!(
            "SELECT definition FROM alert_rules WHERE {} ORDER BY name",
            w.sql()
        );
        let rows: Vec<(String,)> = self
            .fetch_all(&sql, w.params, "reading alert rules")
            .await?;
        // A definition this version cannot read (written by a newer one) is left out
        // rather than failing every evaluation.
        Ok(rows
            .into_iter()
            .filter_map(|(json,)| serde_json::from_str(&json).ok())
            .collect())
    }

    /// Alerts matching `filter`, worst first: critical before warning, open before
    /// acknowledged before resolved, newest first; at most [`MAX_ALERTS`].
    pub async fn alerts(&self, filter: &AlertFilter) -> Result<Vec<AlertRecord>> {
        let mut w = Where::default();
        if let Some(area) = &filter.area {
            w.push(
                "area_code LIKE ?",
                [Param::from(format!("{}%", like_escape(area)))],
            );
        }
        if !filter.indicators.is_empty() {
            w.push_in("indicator", &filter.indicators);
        }
        if let Some(topic) = &filter.topic {
            w.push(
                "indicator IN (SELECT code FROM indicators WHERE topic = ?)",
                [Param::from(topic.as_str())],
            );
        }
        if !filter.severities.is_empty() {
            let words: Vec<String> = filter.severities.iter().map(|s| s.to_string()).collect();
            w.push_in("severity", &words);
        }
        if !filter.statuses.is_empty() {
            let words: Vec<String> = filter.statuses.iter().map(|s| s.to_string()).collect();
            w.push_in("status", &words);
        }
        let sql = format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE {} ORDER BY \
             CASE severity WHEN 'critical' THEN 0 ELSE 1 END, \
             CASE status WHEN 'open' THEN 0 WHEN 'acknowledged' THEN 1 ELSE 2 END, \
             raised_at DESC, id DESC LIMIT {MAX_ALERTS}",
            w.sql()
        );
        self.fetch_all(&sql, w.params, "listing alerts").await
    }

    /// One alert by id.
    pub async fn alert(&self, id: i64) -> Result<Option<AlertRecord>> {
        let rows: Vec<AlertRecord> = self
            .fetch_all(
                &format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1"),
                params![id],
                "reading an alert",
            )
            .await?;
        Ok(rows.into_iter().next())
    }

    /// Brings the alerts of an evaluation up to date in one transaction: a firing
    /// alert without an unresolved one is raised; one that fires again is updated
    /// (keeping its status); an unresolved alert of the evaluated rules and areas that
    /// no longer fires is resolved by the latest period.
    pub async fn reconcile_alerts(
        &self,
        evaluated: &Evaluated,
        firing: Vec<Firing>,
        now: DateTime<Utc>,
    ) -> Result<AlertChanges> {
        let mut changes = AlertChanges::default();
        if evaluated.rules.is_empty() {
            return Ok(changes);
        }
        let mut tx = self.begin_writing("evaluating alerts").await?;
        let mut w = Where::default();
        w.push("status <> 'resolved'", []);
        w.push_in("rule", &evaluated.rules);
        evaluated.scope.push_like(&mut w, "area_code");
        let open: Vec<AlertRecord> = tx
            .fetch_all(
                &format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE {}", w.sql()),
                w.params,
                "reading unresolved alerts",
            )
            .await?;
        let mut open: HashMap<(String, String, String), AlertRecord> = open
            .into_iter()
            .map(|a| {
                (
                    (a.indicator.clone(), a.area_code.clone(), a.rule.clone()),
                    a,
                )
            })
            .collect();
        for f in firing {
            let key = (f.indicator.clone(), f.area_code.clone(), f.rule.clone());
            let sources = serde_json::to_string(&f.sources).unwrap_or_else(|_| "[]".into());
            match open.remove(&key) {
                Some(existing) => {
                    let moved = existing.period != f.period
                        || existing.severity != f.severity
                        || existing.value != f.value;
                    if !moved {
                        continue;
                    }
                    let mut history = existing.history();
                    history.push(AlertEvent {
                        at: now,
                        status: existing.status,
                        by: None,
                        comment: None,
                        period: Some(f.period.clone()),
                        value: f.value,
                    });
                    tx.execute(
                        "UPDATE alerts SET period = $1, severity = $2, value = $3, threshold = $4, \
                         expected = $5, sources = $6, history = $7, updated_at = $8 WHERE id = $9",
                        params![
                            &f.period,
                            f.severity.as_str(),
                            f.value,
                            f.threshold,
                            &f.expected,
                            sources,
                            history_json(&history),
                            now,
                            existing.id
                        ],
                        "updating an alert",
                    )
                    .await?;
                    changes.updated += 1;
                }
                None => {
                    let history = vec![AlertEvent {
                        at: now,
                        status: AlertStatus::Open,
                        by: None,
                        comment: None,
                        period: Some(f.period.clone()),
                        value: f.value,
                    }];
                    // Another replica evaluating the same run may have raised it first.
                    let sql = format!(
                        "INSERT INTO alerts (indicator, area_code, rule, kind, period, severity, value, \
                         threshold, expected, sources, status, history, raised_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'open', $11, $12, $12) \
                         ON CONFLICT (indicator, area_code, rule) WHERE status <> 'resolved' DO NOTHING \
                         RETURNING {ALERT_COLUMNS}"
                    );
                    let raised: Vec<AlertRecord> = tx
                        .fetch_all(
                            &sql,
                            params![
                                &f.indicator,
                                &f.area_code,
                                &f.rule,
                                f.kind.as_str(),
                                &f.period,
                                f.severity.as_str(),
                                f.value,
                                f.threshold,
                                &f.expected,
                                sources,
                                history_json(&history),
                                now
                            ],
                            "raising an alert",
                        )
                        .await?;
                    changes.raised.extend(raised);
                }
            }
        }
        for (_, alert) in open {
            let period = evaluated
                .latest
                .get(&(alert.indicator.clone(), alert.area_code.clone()))
                .cloned()
                .unwrap_or_else(|| alert.period.clone());
            let resolved = self
                .set_status_in(
                    &mut tx,
                    &alert,
                    AlertStatus::Resolved,
                    None,
                    None,
                    Some(period),
                    now,
                )
                .await?;
            changes.resolved.push(resolved);
        }
        tx.commit("committing alerts").await?;
        Ok(changes)
    }

    /// Moves an alert to `status` by a person, with a comment; none when there is no
    /// such alert.
    pub async fn set_alert_status(
        &self,
        id: i64,
        status: AlertStatus,
        by: &str,
        comment: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<AlertRecord>> {
        let _turn = self.write_turn().await;
        let mut tx = self.begin_writing("changing an alert").await?;
        let rows: Vec<AlertRecord> = tx
            .fetch_all(
                &format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1"),
                params![id],
                "reading an alert",
            )
            .await?;
        let Some(alert) = rows.into_iter().next() else {
            return Ok(None);
        };
        let changed = self
            .set_status_in(
                &mut tx,
                &alert,
                status,
                Some(by.to_string()),
                comment.map(str::to_string),
                None,
                now,
            )
            .await?;
        tx.commit("committing an alert change").await?;
        Ok(Some(changed))
    }

    #[allow(clippy::too_many_arguments)]
    async fn set_status_in(
        &self,
        tx: &mut crate::load::Tx,
        alert: &AlertRecord,
        status: AlertStatus,
        by: Option<String>,
        comment: Option<String>,
        resolved_period: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<AlertRecord> {
        let mut history = alert.history();
        history.push(AlertEvent {
            at: now,
            status,
            by,
            comment,
            period: resolved_period.clone(),
            value: None,
        });
        let resolved_period = match status {
            AlertStatus::Resolved => resolved_period.or_else(|| Some(alert.period.clone())),
            _ => None,
        };
        let rows: Vec<AlertRecord> = tx
            .fetch_all(
                &format!(
                    "UPDATE alerts SET status = $1, resolved_period = $2, history = $3, \
                     updated_at = $4 WHERE id = $5 RETURNING {ALERT_COLUMNS}"
                ),
                params![
                    status.as_str(),
                    resolved_period,
                    history_json(&history),
                    now,
                    alert.id
                ],
                "changing an alert's status",
            )
            .await?;
        Ok(rows.into_iter().next().unwrap_or_else(|| alert.clone()))
    }
}

/// Inserts `values` with multi-row INSERTs ending in `suffix` (an ON CONFLICT clause).
async fn insert_values(tx: &mut Tx, values: Vec<IndicatorValue>, suffix: &str) -> Result<u64> {
    let backend = tx.backend();
    // SQLite looks a numbered placeholder up by name among all of a statement's, so a
    // statement of thousands costs the square: plain `?` there, as loads do.
    let rows_per_statement = match backend {
        crate::Backend::Sqlite => 400,
        crate::Backend::Postgres => 1_000,
    };
    let mut written = 0;
    for chunk in owned_chunks(values, rows_per_statement) {
        let mut sql = format!(
            "INSERT INTO indicator_values ({}) VALUES ",
            VALUE_COLUMNS.join(", ")
        );
        let mut params = Vec::with_capacity(chunk.len() * VALUE_COLUMNS.len());
        for (r, v) in chunk.into_iter().enumerate() {
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for c in 0..VALUE_COLUMNS.len() {
                if c > 0 {
                    sql.push_str(", ");
                }
                match backend {
                    crate::Backend::Sqlite => sql.push('?'),
                    crate::Backend::Postgres => {
                        sql.push_str(&format!("${}", r * VALUE_COLUMNS.len() + c + 1))
                    }
                }
            }
            sql.push(')');
            params.extend(value_params(v));
        }
        sql.push_str(suffix);
        written += tx
            .execute_owned(&sql, params, "writing computed values")
            .await?;
    }
    Ok(written)
}

/// One computed value as a line of PostgreSQL's COPY text format.
fn write_copy_line(out: &mut String, v: &IndicatorValue) {
    use std::fmt::Write;
    let text = |out: &mut String, t: Option<&str>| match t {
        Some(t) => write_copy_text(out, t),
        None => out.push_str("\\N"),
    };
    let number = |out: &mut String, n: Option<f64>| match n {
        Some(n) => {
            let _ = write!(out, "{n:?}");
        }
        None => out.push_str("\\N"),
    };
    let integer = |out: &mut String, n: Option<i64>| match n {
        Some(n) => {
            let _ = write!(out, "{n}");
        }
        None => out.push_str("\\N"),
    };
    text(out, Some(&v.indicator));
    out.push('\t');
    text(out, Some(&v.area_code));
    out.push('\t');
    text(out, Some(&v.period));
    out.push('\t');
    text(out, Some(&v.breakdown));
    out.push('\t');
    text(out, Some(v.level.as_str()));
    out.push('\t');
    text(out, v.parent_code.as_deref());
    out.push('\t');
    number(out, Some(v.value));
    out.push('\t');
    number(out, v.numerator);
    out.push('\t');
    number(out, v.denominator);
    out.push('\t');
    text(out, v.denominator_period.as_deref());
    out.push('\t');
    integer(out, v.reported);
    out.push('\t');
    integer(out, v.expected);
    out.push('\t');
    integer(out, v.rank);
    out.push('\t');
    integer(out, v.siblings);
    out.push('\t');
    number(out, v.parent_value);
    out.push('\t');
    text(out, v.previous_period.as_deref());
    out.push('\t');
    number(out, v.previous_value);
    out.push('\t');
    text(out, Some(v.band.as_str()));
    out.push('\t');
    text(out, Some(&v.sources_json));
    out.push('\n');
}

fn rule_json(rule: &AlertRule) -> String {
    serde_json::to_string(rule).unwrap_or_default()
}

fn history_json(history: &[AlertEvent]) -> String {
    serde_json::to_string(history).unwrap_or_else(|_| "[]".into())
}
