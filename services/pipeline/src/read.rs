//! The one read loop that runs and previews share: open the source (checking a saved
//! connector's paths again), skip blank records, check each new header against the
//! mapping, follow an incremental cursor, map each record into target rows and check
//! them against the reference data. What happens to each row is the caller's: a run
//! sends it to the loader, a preview keeps the first few.

use crate::ConnectorDef;
use abe_connectors::mapping::{HeaderError, RefData};
use abe_connectors::{Cancel, Cell, ConfineError, Header, OpenContext, SourceError, SourceItem};
use abe_schema::thai::AreaNames;
use abe_schema::{Code, ErrorCode, FieldError, Reject, SourcePosition, TargetRow};
use abe_store::{RunSource, Store, StoreError};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

/// Why a source could not be read to its end.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The source cannot be opened or read.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// A table's header lacks what the mapping reads.
    #[error("{position}: {error}")]
    Header {
        /// The file and sheet (no row).
        position: SourcePosition,
        /// What is missing.
        error: HeaderError,
    },
    /// An incremental connector's cursor field is not a column of the source.
    #[error("{file}: the cursor field \"{field}\" is not in the header")]
    CursorField {
        /// The file.
        file: String,
        /// The field.
        field: String,
    },
    /// A saved connector's file now lies outside the data folder (a link appeared).
    #[error(transparent)]
    Confined(#[from] ConfineError),
}

impl ErrorCode for ReadError {
    fn error_code(&self) -> Code {
        match self {
            ReadError::Source(e) => e.error_code(),
            ReadError::Header { .. } | ReadError::CursorField { .. } => Code::SourceInvalid,
            ReadError::Confined(_) => Code::ConfigInvalid,
        }
    }
}

/// The reference tables, loaded once per run.
pub(crate) struct ReferenceData {
    areas: HashSet<String>,
    indicators: HashSet<String>,
    school_areas: HashMap<String, String>,
    /// Topic codes by code, Thai name and English name (lowercased).
    topics: HashMap<String, String>,
    agencies: HashSet<String>,
    /// Names of areas, loaded only when a mapping resolves areas by name.
    pub(crate) names: RefData,
}

impl ReferenceData {
    /// Loads what `def`'s rows are checked against.
    pub(crate) async fn load(store: &Store, def: &ConnectorDef) -> Result<Self, StoreError> {
        Self::load_with_names(store, def.mapping.needs_area_names()).await
    }

    /// Loads the reference tables, and the area names when `names`.
    pub(crate) async fn load_with_names(store: &Store, names: bool) -> Result<Self, StoreError> {
        let names = if names {
            RefData {
                area_names: AreaNames::new(store.area_names().await?),
            }
        } else {
            RefData::default()
        };
        Ok(ReferenceData {
            names,
            areas: store.area_codes().await?.into_iter().collect(),
            indicators: store.indicator_codes().await?.into_iter().collect(),
            school_areas: store.school_areas().await?.into_iter().collect(),
            topics: topic_names(store.topics().await?),
            agencies: store.agency_codes().await?.into_iter().collect(),
        })
    }

    /// Counts `codes` as catalogue indicators, beside the stored ones.
    pub(crate) fn declare_indicators(&mut self, codes: &[String]) {
        self.indicators.extend(codes.iter().cloned());
    }
}

/// Every way a sheet may name a topic, to its code: the code, the Thai name, and the
/// English name in any case.
fn topic_names(topics: Vec<abe_schema::Topic>) -> HashMap<String, String> {
    let mut names = HashMap::new();
    for t in topics {
        names.insert(t.name_th.trim().to_string(), t.code.clone());
        names.insert(t.name_en.trim().to_lowercase(), t.code.clone());
        names.insert(t.code.clone(), t.code);
    }
    names
}

/// The reference data as one read sees it: the tables, and the areas loaded earlier in
/// the same read (so a district may follow its province).
pub(crate) struct ReadReferences<'a> {
    data: &'a ReferenceData,
    areas_in_read: HashSet<String>,
    today: chrono::NaiveDate,
}

impl<'a> ReadReferences<'a> {
    /// The references of one read (or one entry) starting `today`.
    pub(crate) fn new(data: &'a ReferenceData, today: chrono::NaiveDate) -> Self {
        ReadReferences {
            data,
            areas_in_read: HashSet::new(),
            today,
        }
    }
}

impl abe_schema::References for ReadReferences<'_> {
    fn has_area(&self, code: &str) -> bool {
        self.data.areas.contains(code) || self.areas_in_read.contains(code)
    }

    fn add_area(&mut self, code: &str) {
        if !self.data.areas.contains(code) {
            self.areas_in_read.insert(code.to_string());
        }
    }

    fn has_indicator(&self, code: &str) -> bool {
        self.data.indicators.contains(code)
    }

    fn school_area(&self, code: &str) -> Option<&str> {
        self.data.school_areas.get(code).map(String::as_str)
    }

    fn today(&self) -> chrono::NaiveDate {
        self.today
    }

    fn topic(&self, name: &str) -> Option<&str> {
        let name = name.trim();
        self.data
            .topics
            .get(name)
            .or_else(|| self.data.topics.get(&name.to_lowercase()))
            .map(String::as_str)
    }

    fn has_agency(&self, code: &str) -> bool {
        self.data.agencies.contains(code)
    }
}

/// What the read loop hands its caller.
pub(crate) enum Item<R> {
    /// A checked row and where it came from.
    Row {
        /// The row.
        row: R,
        /// Its position (file, sheet, row).
        position: SourcePosition,
        /// Number of its file and sheet among the read's sources.
        source: i64,
    },
    /// A refused row.
    Reject(Reject),
    /// A record a `skip_if` rule left out, unmapped.
    Skipped {
        /// Where it is.
        position: SourcePosition,
        /// The rule, as a person reads it.
        rule: String,
    },
}

/// Whether the read goes on after an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    /// Read on.
    Continue,
    /// Stop reading (a preview has enough, a loader stopped).
    Stop,
}

/// What a read found, also when it failed part-way.
#[derive(Debug, Default)]
pub(crate) struct ReadSummary {
    /// Largest cursor-field value read (incremental connectors).
    pub cursor: Option<String>,
    /// Rows read, rejects included.
    pub read: u64,
    /// Rows refused.
    pub rejected: u64,
    /// The files and sheets rows came from, numbered in order of first sight.
    pub sources: Vec<RunSource>,
}

/// Numbers the files and sheets a read meets.
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

/// Reads `def`'s source on the calling (blocking) thread and hands each row or reject
/// to `sink` until the source ends, `sink` says stop, or `cancel` is set. With `after`,
/// records whose cursor field is not above it are skipped. The summary comes back with
/// the error too, so a failed run still says what it read.
pub(crate) fn read_source<R: TargetRow>(
    def: &ConnectorDef,
    references: &ReferenceData,
    after: Option<&str>,
    cancel: &Cancel,
    mut sink: impl FnMut(Item<R>) -> Flow,
) -> Result<ReadSummary, (ReadError, ReadSummary)> {
    let mut summary = ReadSummary::default();
    let mut sources = Sources::default();
    let result = read_into(
        def,
        references,
        after,
        cancel,
        &mut summary,
        &mut sources,
        &mut sink,
    );
    summary.sources = sources.list;
    match result {
        Ok(()) => Ok(summary),
        Err(e) => Err((e, summary)),
    }
}

fn read_into<R: TargetRow>(
    def: &ConnectorDef,
    references: &ReferenceData,
    after: Option<&str>,
    cancel: &Cancel,
    summary: &mut ReadSummary,
    sources: &mut Sources,
    sink: &mut impl FnMut(Item<R>) -> Flow,
) -> Result<(), ReadError> {
    if def.confined {
        def.source.check_confined(&def.base_dir)?;
    }
    let expected_columns = def.mapping.source_columns();
    let context = OpenContext {
        base_dir: &def.base_dir,
        expected_columns: &expected_columns,
        incremental: def
            .cursor_field
            .as_deref()
            .map(|field| abe_connectors::Incremental { field, after }),
        cancel,
    };
    let stream = def.source.source().open(&context)?;
    let mut references = ReadReferences {
        data: references,
        areas_in_read: HashSet::new(),
        today: chrono::Utc::now().date_naive(),
    };
    let mut checked_header: Option<Arc<Header>> = None;
    for item in stream {
        if cancel.is_cancelled() {
            return Err(SourceError::Cancelled.into());
        }
        let record = match item? {
            SourceItem::Record(record) => record,
            SourceItem::Reject(reject) => {
                summary.read += 1;
                summary.rejected += 1;
                if sink(Item::Reject(reject)) == Flow::Stop {
                    return Ok(());
                }
                continue;
            }
        };
        if record.is_blank() {
            continue;
        }
        if !checked_header
            .as_ref()
            .is_some_and(|h| Arc::ptr_eq(h, &record.header))
        {
            def.mapping
                .check_header(&record.header)
                .map_err(|error| ReadError::Header {
                    position: SourcePosition {
                        row: None,
                        ..record.position.clone()
                    },
                    error,
                })?;
            checked_header = Some(Arc::clone(&record.header));
        }
        if let Some(rule) = def.mapping.skipped_by(&record) {
            let item = Item::Skipped {
                position: record.position.clone(),
                rule: rule.to_string(),
            };
            if sink(item) == Flow::Stop {
                return Ok(());
            }
            continue;
        }
        if let Some(field) = &def.cursor_field {
            let value = match record.header.position(field) {
                Some(i) => match record.cells.get(i) {
                    Some(Cell::Text(text)) => text.trim().to_string(),
                    Some(Cell::Error(_)) | None => String::new(),
                },
                None => {
                    return Err(ReadError::CursorField {
                        file: record.position.file.clone(),
                        field: field.clone(),
                    })
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
        for mapped in def.mapping.map_with::<R>(&record, &references.data.names) {
            summary.read += 1;
            let checked = mapped.and_then(|mut row| match row.check(&mut references) {
                Ok(()) => Ok(row),
                Err(error) => Err(reject_at(def, &record.position, error)),
            });
            let item = match checked {
                Ok(row) => Item::Row {
                    row,
                    source: sources.number(&record.position),
                    position: record.position.clone(),
                },
                Err(reject) => {
                    summary.rejected += 1;
                    Item::Reject(reject)
                }
            };
            if sink(item) == Flow::Stop {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Records a check reads, at most, looking for the first table: a source whose first
/// thousand records are all refused has a problem of its own.
const CHECK_RECORDS: usize = 1_000;

/// What checking a source found: the header of its first table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceCheck {
    /// Where the header is (file and sheet).
    pub position: SourcePosition,
    /// Its columns.
    pub columns: usize,
}

/// Opens `def`'s source and reads up to its first record, checking the header against
/// the mapping: what `abe-hub check` does for every file source, so that a missing file,
/// a wrong encoding or header row and a misspelt column are found before a run.
/// `Ok(None)` when the source gives no record at all.
pub fn check_source(def: &ConnectorDef) -> Result<Option<SourceCheck>, ReadError> {
    if def.confined {
        def.source.check_confined(&def.base_dir)?;
    }
    let expected_columns = def.mapping.source_columns();
    let cancel = Cancel::default();
    let context = OpenContext {
        base_dir: &def.base_dir,
        expected_columns: &expected_columns,
        incremental: None,
        cancel: &cancel,
    };
    let mut first_reject = None;
    for item in def.source.source().open(&context)?.take(CHECK_RECORDS) {
        let record = match item? {
            SourceItem::Record(record) => record,
            SourceItem::Reject(reject) => {
                first_reject.get_or_insert(reject);
                continue;
            }
        };
        let position = SourcePosition {
            row: None,
            ..record.position.clone()
        };
        def.mapping
            .check_header(&record.header)
            .map_err(|error| ReadError::Header {
                position: position.clone(),
                error,
            })?;
        return Ok(Some(SourceCheck {
            position,
            columns: record.header.names().len(),
        }));
    }
    // Rows, none readable: a wrong encoding or delimiter, found before a run.
    match first_reject {
        Some(reject) => Err(ReadError::Source(SourceError::Shape {
            path: reject.position.file.clone(),
            reason: format!(
                "no row of the first {CHECK_RECORDS} could be read; the first: {reject}"
            ),
        })),
        None => Ok(None),
    }
}

/// A reference check's failure as a reject at the field's source column.
fn reject_at(def: &ConnectorDef, position: &SourcePosition, error: FieldError) -> Reject {
    let position = match def.mapping.column_of(error.field) {
        Some(column) => position.with_column(column),
        None => position.clone(),
    };
    Reject::new(position, Some(&error.value), error.reason)
}

/// Whether cursor value `a` comes after `b`: numerically when both are numbers,
/// else as text (ISO dates and times sort as text).
fn cursor_above(a: &str, b: &str) -> bool {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x > y,
        _ => a > b,
    }
}
