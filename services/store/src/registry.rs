//! Topics, the resource registry and the problems a working group records: their
//! queries, and the changes made through the API. Loads go through the generic target
//! load like any other target.

use crate::queries::{Page, Where};
use crate::stored::Stored;
use crate::{params, Backend, Param, Result, Store};
use abe_schema::registry::{escape_like, like_list_item, like_list_reaching_into};
use abe_schema::{ProblemRow, ProblemStatus, ResourceRow, TargetRow, Topic};
use chrono::{DateTime, NaiveDate, Utc};

/// The writer recorded for rows entered through the API: no connector can take this
/// name (connector names are letters, digits, `_`, `-` and `.`).
pub const API_WRITER: &str = "@api";

/// The text search runs over; the PostgreSQL trigram index (migration 0008) is on this
/// very expression, so the two must agree (a test checks the index is used).
pub const SEARCH_TEXT: &str = "(title_th || ' ' || COALESCE(title_en, '') || ' ' || \
    COALESCE(description_th, '') || ' ' || COALESCE(description_en, ''))";

/// A resource as stored: the row as loaded or entered, and who wrote it last.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceRecord {
    /// The resource.
    pub row: ResourceRow,
    /// The connector that last wrote it, or [`API_WRITER`].
    pub connector: Option<String>,
    /// The run that last wrote it (none when entered through the API).
    pub run_id: Option<i64>,
    /// Who entered or last changed it through the API.
    pub updated_by: Option<String>,
    /// When.
    pub updated_at: Option<DateTime<Utc>>,
    /// The day it was retired; retired resources stay, for history.
    pub retired_on: Option<String>,
    /// Who retired it through the API; none when its connector's source dropped it.
    pub retired_by: Option<String>,
}

const RESOURCE_COLUMNS: &str = "code, title_th, title_en, description_th, description_en, \
    category, subcategory, agency, contact, areas, topics, amount, unit, valid_from, valid_to, \
    origin, connector, run_id, updated_by, updated_at, retired_on, retired_by";

/// A problem as stored: the row as loaded or entered, and who wrote it last.
#[derive(Debug, Clone, PartialEq)]
pub struct ProblemRecord {
    /// The problem.
    pub row: ProblemRow,
    /// The connector that last wrote it, or [`API_WRITER`].
    pub connector: Option<String>,
    /// The run that last wrote it.
    pub run_id: Option<i64>,
    /// Who entered or last changed it through the API.
    pub updated_by: Option<String>,
    /// When.
    pub updated_at: Option<DateTime<Utc>>,
    /// The day it left the list: its source dropped it.
    pub retired_on: Option<String>,
}

const PROBLEM_COLUMNS: &str = "code, area_code, topic, statement_th, statement_en, group_name, \
    workshop, raised_on, severity, status, children, origin, connector, run_id, updated_by, \
    updated_at, retired_on";

/// Implements `FromRow` for a record: its row through [`Stored`], then who wrote it.
macro_rules! record_from_row {
    ($record:ident, $row:ident { $($field:ident),+ }) => {
        impl<'r, R> sqlx::FromRow<'r, R> for $record
        where
            R: sqlx::Row,
            &'r str: sqlx::ColumnIndex<R>,
            String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            Option<String>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            Option<f64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            Option<i32>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            Option<i64>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
            Option<DateTime<Utc>>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        {
            fn from_row(row: &'r R) -> sqlx::Result<Self> {
                Ok($record {
                    row: Stored::<$row>::from_row(row)?.0,
                    $($field: row.try_get(stringify!($field))?,)+
                })
            }
        }
    };
}

record_from_row!(
    ResourceRecord,
    ResourceRow {
        connector,
        run_id,
        updated_by,
        updated_at,
        retired_on,
        retired_by
    }
);
record_from_row!(
    ProblemRecord,
    ProblemRow {
        connector,
        run_id,
        updated_by,
        updated_at,
        retired_on
    }
);

/// Which resources a caller asks for. Empty lists mean "any".
#[derive(Debug, Clone, Default)]
pub struct ResourceFilter {
    /// Codes.
    pub codes: Vec<String>,
    /// Category words.
    pub categories: Vec<String>,
    /// Subcategory words.
    pub subcategories: Vec<String>,
    /// Resources that cover this area: named for it or for an area above it.
    pub covering: Option<String>,
    /// Resources that cover some area in or under this one.
    pub within: Option<String>,
    /// Topic codes, any of them.
    pub topics: Vec<String>,
    /// Agency codes.
    pub agencies: Vec<String>,
    /// Valid on this day.
    pub valid_on: Option<NaiveDate>,
    /// Text in a title or description: a substring, so a Thai word in the middle of a
    /// sentence is found.
    pub search: Option<String>,
    /// Retired resources too.
    pub include_retired: bool,
}

/// Which problems a caller asks for. Empty lists mean "any".
#[derive(Debug, Clone, Default)]
pub struct ProblemFilter {
    /// Codes.
    pub codes: Vec<String>,
    /// Problems in this area or under it.
    pub within: Option<String>,
    /// Topic codes.
    pub topics: Vec<String>,
    /// Status words.
    pub statuses: Vec<String>,
    /// Severity words.
    pub severities: Vec<String>,
    /// Problems their source dropped too.
    pub include_retired: bool,
}

/// Whether an API call creates a row or changes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaveMode {
    /// The code must be new.
    Create,
    /// The code must exist and have been entered through the API.
    Update,
}

/// Why an API change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChangeRefused {
    /// Create with a code that exists.
    #[error("{what} {code} exists already")]
    Exists {
        /// `resource` or `problem`.
        what: &'static str,
        /// The code.
        code: String,
    },
    /// Update or retire of a code that does not exist.
    #[error("no {what} has code {code}")]
    NotFound {
        /// `resource` or `problem`.
        what: &'static str,
        /// The code.
        code: String,
    },
    /// Retire of a resource retired already.
    #[error("resource {code} was retired on {on}")]
    AlreadyRetired {
        /// The code.
        code: String,
        /// The day it was retired.
        on: String,
    },
    /// A row a connector loaded: its source is where it changes.
    #[error(
        "{what} {code} is loaded by connector {connector}: change it in that connector's source"
    )]
    LoadedByConnector {
        /// `resource` or `problem`.
        what: &'static str,
        /// The code.
        code: String,
        /// The connector.
        connector: String,
    },
}

/// The LIKE patterns that find `code` or one of its ancestors in a stored list of
/// areas: `;90;`, `;9001;`, `;900101;` for `900101`.
fn ancestors_and_self(code: &str) -> Vec<Param> {
    [2, 4, 6]
        .into_iter()
        .filter(|&n| n <= code.len() && code.is_char_boundary(n))
        .map(|n| Param::from(like_list_item(&code[..n])))
        .collect()
}

/// `column LIKE ? OR ...`, one per pattern (escape `\`); false with none.
fn any_like(column: &str, patterns: Vec<Param>, w: &mut Where) {
    if patterns.is_empty() {
        w.push("1 = 0", []);
        return;
    }
    let condition = vec![format!("{column} LIKE ? ESCAPE '\\'"); patterns.len()].join(" OR ");
    w.push(&format!("({condition})"), patterns);
}

impl Store {
    /// Makes the topic list exactly `topics`, in their order (the config's list).
    pub async fn provision_topics(&self, topics: &[Topic]) -> Result<()> {
        let mut tx = self.begin("provisioning topics").await?;
        tx.execute("DELETE FROM topics", &[], "clearing topics")
            .await?;
        for (position, t) in topics.iter().enumerate() {
            tx.execute(
                "INSERT INTO topics (code, name_th, name_en, position) VALUES ($1, $2, $3, $4)",
                params![&t.code, &t.name_th, &t.name_en, position as i64],
                "saving a topic",
            )
            .await?;
        }
        tx.commit("provisioning topics").await
    }

    /// Adds the topics of `topics` the list lacks, after those there; returns how many.
    pub async fn add_topics(&self, topics: &[Topic]) -> Result<u64> {
        let last = self
            .scalar_i64(
                "SELECT CAST(COALESCE(MAX(position), 0) AS BIGINT) FROM topics",
                vec![],
                "reading the topic list's end",
            )
            .await?;
        let mut added = 0;
        for (i, t) in topics.iter().enumerate() {
            added += self
                .execute(
                    "INSERT INTO topics (code, name_th, name_en, position) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (code) DO NOTHING",
                    params![&t.code, &t.name_th, &t.name_en, last + 1 + i as i64],
                    "adding a topic",
                )
                .await?;
        }
        Ok(added)
    }

    /// The topic list, in its order.
    pub async fn topics(&self) -> Result<Vec<Topic>> {
        let rows: Vec<(String, String, String)> = self
            .fetch_all(
                "SELECT code, name_th, name_en FROM topics ORDER BY position, code",
                vec![],
                "reading topics",
            )
            .await?;
        Ok(rows
            .into_iter()
            .map(|(code, name_th, name_en)| Topic {
                code,
                name_th,
                name_en,
            })
            .collect())
    }

    /// Every agency's code.
    pub async fn agency_codes(&self) -> Result<Vec<String>> {
        let rows: Vec<(String,)> = self
            .fetch_all("SELECT code FROM agencies", vec![], "reading agency codes")
            .await?;
        Ok(rows.into_iter().map(|(c,)| c).collect())
    }

    fn resource_where(&self, filter: &ResourceFilter) -> Where {
        let mut w = Where::default();
        if !filter.codes.is_empty() {
            w.push_in("code", &filter.codes);
        }
        if !filter.categories.is_empty() {
            w.push_in("category", &filter.categories);
        }
        if !filter.subcategories.is_empty() {
            w.push_in("subcategory", &filter.subcategories);
        }
        if let Some(area) = &filter.covering {
            any_like("areas", ancestors_and_self(area), &mut w);
        }
        if let Some(area) = &filter.within {
            any_like(
                "areas",
                vec![Param::from(like_list_reaching_into(area))],
                &mut w,
            );
        }
        if !filter.topics.is_empty() {
            let patterns = filter
                .topics
                .iter()
                .map(|t| Param::from(like_list_item(t)))
                .collect();
            any_like("topics", patterns, &mut w);
        }
        if !filter.agencies.is_empty() {
            w.push_in("agency", &filter.agencies);
        }
        if let Some(day) = filter.valid_on {
            let day = day.format("%Y-%m-%d").to_string();
            w.push(
                "(valid_from IS NULL OR valid_from <= ?) AND (valid_to IS NULL OR valid_to >= ?)",
                [Param::from(day.as_str()), Param::from(day.as_str())],
            );
        }
        if let Some(text) = filter.search.as_deref().map(str::trim) {
            if !text.is_empty() {
                self.push_search(text, &mut w);
            }
        }
        if !filter.include_retired {
            // Retired on a later day: still in force on the day asked about.
            let day = filter
                .valid_on
                .unwrap_or_else(|| Utc::now().date_naive())
                .format("%Y-%m-%d")
                .to_string();
            w.push("(retired_on IS NULL OR retired_on > ?)", [Param::from(day)]);
        }
        w
    }

    /// Finds `text` anywhere in a title or description, through each database's
    /// trigram index. A text shorter than a trigram is matched by a scan.
    fn push_search(&self, text: &str, w: &mut Where) {
        let short = text.chars().count() < 3;
        match self.backend() {
            Backend::Sqlite if !short => {
                // An FTS5 string: the trigram tokenizer matches it as a substring.
                let quoted = format!("\"{}\"", text.replace('"', "\"\""));
                w.push(
                    "id IN (SELECT rowid FROM resources_search WHERE resources_search MATCH ?)",
                    [Param::from(quoted)],
                );
            }
            Backend::Sqlite => w.push(
                &format!("{SEARCH_TEXT} LIKE ? ESCAPE '\\'"),
                [Param::from(format!("%{}%", escape_like(text)))],
            ),
            Backend::Postgres => w.push(
                &format!("{SEARCH_TEXT} ILIKE ? ESCAPE '\\'"),
                [Param::from(format!("%{}%", escape_like(text)))],
            ),
        }
    }

    /// Resources matching `filter`, by code.
    pub async fn resources(
        &self,
        filter: &ResourceFilter,
        after: Option<String>,
        first: usize,
    ) -> Result<Page<ResourceRecord>> {
        let w = self.resource_where(filter);
        self.page(
            RESOURCE_COLUMNS,
            "resources",
            w,
            &["code"],
            false,
            after.map(Param::from).into_iter().collect(),
            first,
            "listing resources",
        )
        .await
    }

    /// Every resource matching `filter`, at most `limit` (for totals and gaps).
    pub async fn all_resources(
        &self,
        filter: &ResourceFilter,
        limit: usize,
    ) -> Result<Vec<ResourceRecord>> {
        let w = self.resource_where(filter);
        let sql = format!(
            "SELECT {RESOURCE_COLUMNS} FROM resources WHERE {} ORDER BY code LIMIT {limit}",
            w.sql()
        );
        self.fetch_all(&sql, w.params, "reading resources").await
    }

    /// Problems matching `filter`, by code.
    pub async fn problems(
        &self,
        filter: &ProblemFilter,
        after: Option<String>,
        first: usize,
    ) -> Result<Page<ProblemRecord>> {
        let w = problem_where(filter);
        self.page(
            PROBLEM_COLUMNS,
            "problems",
            w,
            &["code"],
            false,
            after.map(Param::from).into_iter().collect(),
            first,
            "listing problems",
        )
        .await
    }

    /// Every problem matching `filter`, at most `limit` (for gaps).
    pub async fn all_problems(
        &self,
        filter: &ProblemFilter,
        limit: usize,
    ) -> Result<Vec<ProblemRecord>> {
        let w = problem_where(filter);
        let sql = format!(
            "SELECT {PROBLEM_COLUMNS} FROM problems WHERE {} ORDER BY code LIMIT {limit}",
            w.sql()
        );
        self.fetch_all(&sql, w.params, "reading problems").await
    }

    /// Who last wrote the row `code` of `table`: `None` when there is no such row.
    async fn writer_of(&self, table: &str, code: &str) -> Result<Option<Option<String>>> {
        let rows: Vec<(Option<String>,)> = self
            .fetch_all(
                &format!("SELECT connector FROM {table} WHERE code = $1"),
                params![code],
                "reading who wrote a row",
            )
            .await?;
        Ok(rows.into_iter().next().map(|(c,)| c))
    }

    /// Why a change of `code` in `table` through the API touched no row: there is no
    /// such row, or a connector wrote it.
    async fn why_unchanged(
        &self,
        table: &str,
        what: &'static str,
        code: &str,
    ) -> Result<ChangeRefused> {
        Ok(match self.writer_of(table, code).await? {
            Some(Some(connector)) if connector != API_WRITER => ChangeRefused::LoadedByConnector {
                what,
                code: code.into(),
                connector,
            },
            Some(_) | None => ChangeRefused::NotFound {
                what,
                code: code.into(),
            },
        })
    }

    /// Writes `row` (checked by the caller) as a target row entered through the API.
    /// One statement decides: an INSERT that does nothing when the code exists, or an
    /// UPDATE of a row the API wrote, so two callers (or a load) cannot both win.
    async fn save_api_row<R: TargetRow>(
        &self,
        row: &R,
        what: &'static str,
        code: &str,
        mode: SaveMode,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<std::result::Result<(), ChangeRefused>> {
        let _turn = self.write_turn().await;
        let desc = R::DESC;
        let mut columns: Vec<&str> = desc.columns.iter().map(|c| c.name).collect();
        let mut values: Vec<Param> = (0..desc.columns.len())
            .map(|i| match row.value(i) {
                abe_schema::Value::Text(t) => Param::from(t),
                abe_schema::Value::Real(r) => Param::from(r),
            })
            .collect();
        columns.extend(["connector", "run_id", "updated_by", "updated_at"]);
        values.extend([
            Param::from(API_WRITER),
            Param::Int(None),
            Param::from(by),
            Param::from(now),
        ]);
        let changed = match mode {
            SaveMode::Create => {
                let marks: Vec<String> = (1..=values.len()).map(|n| format!("${n}")).collect();
                let sql = format!(
                    "INSERT INTO {} ({}) VALUES ({}) ON CONFLICT (code) DO NOTHING",
                    desc.table,
                    columns.join(", "),
                    marks.join(", ")
                );
                self.execute(&sql, values, "saving a row entered through the API")
                    .await?
            }
            SaveMode::Update => {
                // The key (column 0, the code) is the condition; the rest is set.
                let sets: Vec<String> = columns[1..]
                    .iter()
                    .enumerate()
                    .map(|(i, c)| format!("{c} = ${}", i + 2))
                    .collect();
                let sql = format!(
                    "UPDATE {} SET {} WHERE code = $1 AND connector = '{API_WRITER}'",
                    desc.table,
                    sets.join(", ")
                );
                self.execute(&sql, values, "changing a row entered through the API")
                    .await?
            }
        };
        if changed > 0 {
            return Ok(Ok(()));
        }
        Ok(Err(match mode {
            SaveMode::Create => ChangeRefused::Exists {
                what,
                code: code.into(),
            },
            SaveMode::Update => self.why_unchanged(desc.table, what, code).await?,
        }))
    }

    /// Creates or updates a resource entered through the API. A resource a connector
    /// loads changes only in its source.
    pub async fn save_resource(
        &self,
        row: &ResourceRow,
        mode: SaveMode,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<std::result::Result<(), ChangeRefused>> {
        self.save_api_row(row, "resource", &row.code, mode, by, now)
            .await
    }

    /// Retires a resource on `day`: it leaves the registry's answers and stays in its
    /// history. Any resource may be retired, whoever wrote it; a later load of it does
    /// not bring it back.
    pub async fn retire_resource(
        &self,
        code: &str,
        day: NaiveDate,
        by: &str,
    ) -> Result<std::result::Result<(), ChangeRefused>> {
        let _turn = self.write_turn().await;
        let changed = self
            .execute(
                "UPDATE resources SET retired_on = $1, retired_by = $2 \
                 WHERE code = $3 AND retired_on IS NULL",
                params![day.format("%Y-%m-%d").to_string(), by, code],
                "retiring a resource",
            )
            .await?;
        if changed > 0 {
            return Ok(Ok(()));
        }
        let retired: Vec<(Option<String>,)> = self
            .fetch_all(
                "SELECT retired_on FROM resources WHERE code = $1",
                params![code],
                "reading a resource's retirement",
            )
            .await?;
        Ok(Err(match retired.into_iter().next() {
            Some((Some(on),)) => ChangeRefused::AlreadyRetired {
                code: code.into(),
                on,
            },
            _ => ChangeRefused::NotFound {
                what: "resource",
                code: code.into(),
            },
        }))
    }

    /// Creates or updates a problem entered through the API.
    pub async fn save_problem(
        &self,
        row: &ProblemRow,
        mode: SaveMode,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<std::result::Result<(), ChangeRefused>> {
        self.save_api_row(row, "problem", &row.code, mode, by, now)
            .await
    }

    /// Sets the status of a problem entered through the API.
    pub async fn set_problem_status(
        &self,
        code: &str,
        status: ProblemStatus,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<std::result::Result<(), ChangeRefused>> {
        let _turn = self.write_turn().await;
        let changed = self
            .execute(
                &format!(
                    "UPDATE problems SET status = $1, updated_by = $2, updated_at = $3 \
                     WHERE code = $4 AND connector = '{API_WRITER}'"
                ),
                params![status.as_str(), by, now, code],
                "setting a problem's status",
            )
            .await?;
        Ok(if changed > 0 {
            Ok(())
        } else {
            Err(self.why_unchanged("problems", "problem", code).await?)
        })
    }

    /// The query plan of a resource search for `text`, for the test that checks an
    /// index serves it: on PostgreSQL with scans discouraged, as on a table of
    /// realistic size (a tiny table is scanned otherwise); on SQLite, the plan of the
    /// FTS5 query.
    pub async fn explain_resource_search(&self, text: &str) -> Result<String> {
        let mut w = Where::default();
        self.push_search(text, &mut w);
        let mut tx = self.begin("explaining a search").await?;
        let lines: Vec<String> = match self.backend() {
            Backend::Postgres => {
                tx.execute("SET LOCAL enable_seqscan = off", &[], "preferring indexes")
                    .await?;
                let sql = format!("EXPLAIN SELECT code FROM resources WHERE {}", w.sql());
                let rows: Vec<(String,)> =
                    tx.fetch_all(&sql, w.params, "explaining a search").await?;
                rows.into_iter().map(|(line,)| line).collect()
            }
            Backend::Sqlite => {
                let sql = format!(
                    "EXPLAIN QUERY PLAN SELECT code FROM resources WHERE {}",
                    w.sql()
                );
                let rows: Vec<(i64, i64, i64, String)> =
                    tx.fetch_all(&sql, w.params, "explaining a search").await?;
                rows.into_iter().map(|(_, _, _, detail)| detail).collect()
            }
        };
        // Dropped without commit: rolled back.
        Ok(lines.join("\n"))
    }
}

fn problem_where(filter: &ProblemFilter) -> Where {
    let mut w = Where::default();
    if !filter.codes.is_empty() {
        w.push_in("code", &filter.codes);
    }
    if let Some(area) = &filter.within {
        w.push(
            "area_code LIKE ? ESCAPE '\\'",
            [Param::from(format!("{}%", escape_like(area)))],
        );
    }
    if !filter.topics.is_empty() {
        w.push_in("topic", &filter.topics);
    }
    if !filter.statuses.is_empty() {
        w.push_in("status", &filter.statuses);
    }
    if !filter.severities.is_empty() {
        w.push_in("severity", &filter.severities);
    }
    if !filter.include_retired {
        w.push("retired_on IS NULL", []);
    }
    w
}
