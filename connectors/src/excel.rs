//! Spreadsheet workbooks through calamine: xlsx, xlsm, xlsb, xls and ods. One sheet,
//! several, or every visible one; the header row declared or found; headers of several
//! rows whose upper cells are merged across the columns below them.
//!
//! A reader thread owns the workbook and sends rows in batches, so parsing overlaps with
//! mapping and loading. xlsx and xlsb sheets are streamed cell by cell and never held
//! whole; xls and ods are read a sheet at a time (calamine has no streaming reader for
//! them).

use crate::reader_thread::{Feed, Next, ReaderThread};
use crate::{
    resolve, Cell, Header, LocalPath, OpenContext, Record, RecordStream, Source, SourceError,
    SourceItem,
};
use abe_schema::SourcePosition;
use calamine::{
    open_workbook_auto, Data, DataRef, Dimensions, Reader, SheetType, SheetVisible, Sheets,
};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::BufReader;
use std::sync::Arc;

/// Rows searched for the header when the config does not declare it.
const HEADER_SEARCH_ROWS: usize = 100;
/// Rows per message from the reader thread: large enough that channel traffic is
/// negligible, small enough that memory stays flat.
const BATCH_ROWS: usize = 512;
/// Excel's own column limit (XFD); a cell beyond it means a corrupt or hostile file.
const MAX_COLUMNS: u32 = 16_384;
/// Excel's own row limit.
const MAX_ROW: u64 = 1_048_576;
/// More header rows than any real table has; bounds the work of building names.
const MAX_HEADER_ROWS: u32 = 20;

/// Which sheet to read: by name, or by its 1-based position among the tabs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SheetRef {
    /// The tab's name, e.g. `"นักเรียน"`; `"*"` (a character Excel forbids in names)
    /// means every visible worksheet.
    Name(String),
    /// The tab's position, 1 for the first.
    Position(usize),
}

/// One sheet or several, read one after the other (e.g. one sheet per year).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SheetSelection {
    /// A single sheet, or `"*"` for every visible worksheet.
    One(SheetRef),
    /// These sheets, in this order.
    Many(Vec<SheetRef>),
}

/// A workbook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExcelConfig {
    /// Path of the workbook, relative to the config file's folder.
    pub path: String,
    /// The sheet or sheets to read; the first sheet when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet: Option<SheetSelection>,
    /// 1-based row of the (first) header row as the spreadsheet numbers it; rows above
    /// it are skipped. When absent, the header is searched for in the first 100 rows:
    /// the first row holding every column the mapping reads, else the first row about
    /// as full as the fullest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_row: Option<u64>,
    /// How many rows form the header (default 1). With more than one, a column's name
    /// joins its cells top to bottom with a space ("2566 ชาย"), an upper cell merged
    /// across several columns naming each of them.
    #[serde(default = "one_header_row", skip_serializing_if = "is_one")]
    pub header_rows: u32,
    /// Copies the value of a merged data cell (a district name spanning its schools'
    /// rows) into every cell of the merge. xlsx and xls record merges; for ods and
    /// xlsb the option has no effect.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub fill_merged: bool,
    /// Adds a column of this name holding the sheet's name, for workbooks with a sheet
    /// per year or per district.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sheet_column: Option<String>,
}

fn one_header_row() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

impl ExcelConfig {
    /// A config reading the first sheet of `path` with the header found.
    pub fn new(path: impl Into<String>) -> Self {
        ExcelConfig {
            path: path.into(),
            sheet: None,
            header_row: None,
            header_rows: 1,
            fill_merged: false,
            sheet_column: None,
        }
    }

    fn open_sheets(&self, context: &OpenContext<'_>) -> Result<RecordStream, SourceError> {
        if !(1..=MAX_HEADER_ROWS).contains(&self.header_rows) {
            return Err(SourceError::Config(format!(
                "{}: header_rows must be between 1 and {MAX_HEADER_ROWS}",
                self.path
            )));
        }
        // Excel's last row is 1,048,576; a declared header below it cannot exist.
        let header_row = match self.header_row {
            None => None,
            Some(row @ 1..=MAX_ROW) => Some((row - 1) as u32),
            Some(_) => {
                return Err(SourceError::Config(format!(
                    "{}: header_row must be between 1 and {MAX_ROW}",
                    self.path
                )))
            }
        };
        let full_path = resolve(context.base_dir, &self.path);
        if let Err(source) = std::fs::metadata(&full_path) {
            return Err(SourceError::Io {
                path: self.path.clone(),
                source,
            });
        }
        let workbook = std::panic::catch_unwind(|| open_workbook_auto(&full_path))
            .map_err(|_| self.format_error(READER_CRASHED.into()))?
            .map_err(|e| self.format_error(e.to_string()))?;
        let (sheets, every_visible) = self.chosen_sheets(&workbook)?;
        let want_merges = self.header_rows > 1 || self.fill_merged;
        let reader = ReaderThread::spawn(
            "excel-reader",
            READER_CRASHED,
            context.cancel,
            move |feed| read_workbook(workbook, &sheets, want_merges, feed),
        )
        .map_err(|source| SourceError::Io {
            path: self.path.clone(),
            source,
        })?;
        Ok(Box::new(SheetRecords {
            reader,
            path: self.path.clone(),
            header_row,
            header_rows: self.header_rows,
            fill_merged: self.fill_merged,
            sheet_column: self.sheet_column.clone(),
            // The sheet column is added after the header is found, so it cannot help find it.
            expected_columns: context
                .expected_columns
                .iter()
                .filter(|c| Some(*c) != self.sheet_column.as_ref())
                .cloned()
                .collect(),
            skip_empty_sheets: every_visible,
            sheet: None,
            ready: VecDeque::new(),
            finished: false,
        }))
    }

    fn format_error(&self, reason: String) -> SourceError {
        workbook_error(&self.path, reason)
    }

    /// Names of the sheets to read, and whether they were chosen by `"*"` (then an
    /// empty sheet is skipped rather than refused).
    fn chosen_sheets(
        &self,
        workbook: &Sheets<BufReader<File>>,
    ) -> Result<(Vec<String>, bool), SourceError> {
        let names = workbook.sheet_names();
        let refs: Vec<&SheetRef> = match &self.sheet {
            None => Vec::new(),
            Some(SheetSelection::One(one)) => vec![one],
            Some(SheetSelection::Many(many)) => many.iter().collect(),
        };
        if refs.is_empty() && matches!(self.sheet, Some(SheetSelection::Many(_))) {
            return Err(SourceError::Config(format!(
                "{}: the sheet list is empty",
                self.path
            )));
        }
        if refs
            .iter()
            .any(|r| matches!(r, SheetRef::Name(n) if n == "*"))
        {
            if refs.len() > 1 {
                return Err(SourceError::Config(format!(
                    "{}: \"*\" already means every sheet; list no others with it",
                    self.path
                )));
            }
            let visible = workbook
                .sheets_metadata()
                .iter()
                .filter(|s| s.typ == SheetType::WorkSheet && s.visible == SheetVisible::Visible)
                .map(|s| s.name.clone())
                .collect();
            return Ok((visible, true));
        }
        let missing = |wanted: String| SourceError::Shape {
            path: self.path.clone(),
            reason: format!(
                "no sheet {wanted} (the workbook has {})",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names
                        .iter()
                        .map(|n| format!("\"{n}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
        };
        if refs.is_empty() {
            return names
                .first()
                .map(|first| (vec![first.clone()], false))
                .ok_or_else(|| missing("at all".into()));
        }
        refs.into_iter()
            .map(|sheet| match sheet {
                SheetRef::Name(name) => names
                    .iter()
                    .find(|n| *n == name)
                    .cloned()
                    .ok_or_else(|| missing(format!("named \"{name}\""))),
                SheetRef::Position(p) => p
                    .checked_sub(1)
                    .and_then(|i| names.get(i))
                    .cloned()
                    .ok_or_else(|| missing(format!("at position {p}"))),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(|sheets| (sheets, false))
    }
}

impl Source for ExcelConfig {
    /// Opens the workbook and starts reading the chosen sheets. Errors found before
    /// the first row (no such file, not a workbook, no such sheet) are returned here.
    fn open(&self, context: &OpenContext<'_>) -> Result<RecordStream, SourceError> {
        self.open_sheets(context)
    }

    fn local_paths(&self) -> Vec<LocalPath<'_>> {
        vec![("path", self.path.as_str())]
    }
}

/// The workbook at `path` cannot be read, and why.
fn workbook_error(path: &str, reason: String) -> SourceError {
    SourceError::Format {
        path: path.to_string(),
        format: "spreadsheet workbook",
        reason,
    }
}

const READER_CRASHED: &str = "the spreadsheet reader failed on this file (it is probably corrupt)";

/// What the reader thread sends.
enum Message {
    /// A sheet starts; its merged regions when the format records them and they were
    /// asked for.
    Sheet {
        name: String,
        merges: Option<Vec<Dimensions>>,
    },
    /// Non-empty rows of the current sheet, in order.
    Rows(Vec<RawRow>),
}

/// A row as the sheet holds it: 0-based row number, cells by absolute column.
struct RawRow {
    row: u32,
    cells: Vec<Cell>,
}

/// Body of the reader thread. Returns the reason when the workbook breaks mid-way;
/// returns early, quietly, when the run stops listening.
fn read_workbook(
    mut workbook: Sheets<BufReader<File>>,
    sheets: &[String],
    want_merges: bool,
    feed: &Feed<Message>,
) -> Result<(), String> {
    for name in sheets {
        let in_sheet = |e: &dyn std::fmt::Display| format!("sheet \"{name}\": {e}");
        let merges = if want_merges {
            match &mut workbook {
                Sheets::Xlsx(x) => Some(
                    x.merge_cells_by_sheet_name(name)
                        .map_err(|e| in_sheet(&e))?,
                ),
                Sheets::Xls(x) => Some(
                    x.merge_cells_by_sheet_name(name)
                        .map_err(|e| in_sheet(&e))?,
                ),
                Sheets::Xlsb(_) | Sheets::Ods(_) => None,
            }
        } else {
            None
        };
        if !feed.send(Message::Sheet {
            name: name.clone(),
            merges,
        }) {
            return Ok(());
        }
        let mut rows = RowBatcher::new(feed);
        match &mut workbook {
            Sheets::Xlsx(x) => {
                let mut cells = x.worksheet_cells_reader(name).map_err(|e| in_sheet(&e))?;
                while let Some(cell) = cells.next_cell().map_err(|e| in_sheet(&e))? {
                    let (row, column) = cell.get_position();
                    if !rows.push(row, column, data_ref_cell(cell.get_value()))? {
                        return Ok(());
                    }
                }
            }
            Sheets::Xlsb(x) => {
                let mut cells = x.worksheet_cells_reader(name).map_err(|e| in_sheet(&e))?;
                while let Some(cell) = cells.next_cell().map_err(|e| in_sheet(&e))? {
                    let (row, column) = cell.get_position();
                    if !rows.push(row, column, data_ref_cell(cell.get_value()))? {
                        return Ok(());
                    }
                }
            }
            Sheets::Xls(_) | Sheets::Ods(_) => {
                let range = workbook.worksheet_range(name).map_err(|e| in_sheet(&e))?;
                for (row, column, data) in range.used_cells() {
                    let (top, left) = range.start().unwrap_or((0, 0));
                    let absolute = (top + row as u32, left + column as u32);
                    if !rows.push(absolute.0, absolute.1, data_cell(data))? {
                        return Ok(());
                    }
                }
            }
        }
        if !rows.finish() {
            return Ok(());
        }
    }
    Ok(())
}

/// Gathers cells, which arrive in row order, into rows and rows into batches.
struct RowBatcher<'a> {
    feed: &'a Feed<Message>,
    batch: Vec<RawRow>,
    current: Option<RawRow>,
}

impl<'a> RowBatcher<'a> {
    fn new(feed: &'a Feed<Message>) -> Self {
        RowBatcher {
            feed,
            batch: Vec::with_capacity(BATCH_ROWS),
            current: None,
        }
    }

    /// Adds a cell; `Ok(false)` when the run stopped listening.
    fn push(&mut self, row: u32, column: u32, cell: Option<Cell>) -> Result<bool, String> {
        let Some(cell) = cell else {
            return Ok(true);
        };
        if column >= MAX_COLUMNS {
            return Err(format!(
                "a cell at row {}, column {} lies beyond the spreadsheet column limit",
                row as u64 + 1,
                column as u64 + 1
            ));
        }
        if self.current.as_ref().is_some_and(|r| r.row != row) {
            if let Some(done) = self.current.take() {
                self.batch.push(done);
            }
            if self.batch.len() >= BATCH_ROWS && !self.send() {
                return Ok(false);
            }
        }
        let current = self.current.get_or_insert_with(|| RawRow {
            row,
            cells: Vec::new(),
        });
        let column = column as usize;
        if current.cells.len() <= column {
            current.cells.resize(column + 1, Cell::empty());
        }
        current.cells[column] = cell;
        Ok(true)
    }

    fn send(&mut self) -> bool {
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(BATCH_ROWS));
        self.feed.send(Message::Rows(batch))
    }

    /// Sends what is left; false when the run stopped listening.
    fn finish(mut self) -> bool {
        if let Some(done) = self.current.take() {
            self.batch.push(done);
        }
        self.batch.is_empty() || self.send()
    }
}

/// The run's side: turns rows into records, finding each sheet's header first.
struct SheetRecords {
    reader: ReaderThread<Message>,
    path: String,
    /// Declared 0-based first header row.
    header_row: Option<u32>,
    header_rows: u32,
    fill_merged: bool,
    sheet_column: Option<String>,
    expected_columns: Vec<String>,
    skip_empty_sheets: bool,
    sheet: Option<SheetState>,
    ready: VecDeque<Result<SourceItem, SourceError>>,
    finished: bool,
}

/// The sheet being read.
struct SheetState {
    name: String,
    merges: Option<Vec<Dimensions>>,
    filler: Option<MergeFiller>,
    /// Rows held while the header is searched for.
    pending: Vec<RawRow>,
    header: Option<Arc<Header>>,
    /// Width of the header without the sheet column.
    width: usize,
    /// Rows up to this one (0-based) belong to the header or above it.
    last_header_row: u32,
}

impl Iterator for SheetRecords {
    type Item = Result<SourceItem, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Some(item);
            }
            if self.finished {
                return None;
            }
            match self.reader.next() {
                Next::Message(Message::Sheet { name, merges }) => {
                    self.end_sheet();
                    let filler = match (&merges, self.fill_merged) {
                        (Some(merges), true) => Some(MergeFiller::new(merges.clone())),
                        _ => None,
                    };
                    self.sheet = Some(SheetState {
                        name,
                        merges,
                        filler,
                        pending: Vec::new(),
                        header: None,
                        width: 0,
                        last_header_row: 0,
                    });
                }
                Next::Message(Message::Rows(rows)) => {
                    for row in rows {
                        self.accept(row);
                    }
                }
                Next::Failed(reason) => {
                    self.finished = true;
                    self.ready
                        .push_back(Err(workbook_error(&self.path, reason)));
                }
                Next::Done => {
                    self.end_sheet();
                    self.finished = true;
                }
                Next::Cancelled => {
                    self.finished = true;
                    self.ready.push_back(Err(SourceError::Cancelled));
                }
            }
        }
    }
}

impl SheetRecords {
    fn accept(&mut self, mut row: RawRow) {
        let Some(sheet) = self.sheet.as_mut() else {
            return;
        };
        if let Some(filler) = sheet.filler.as_mut() {
            let limit = if sheet.header.is_some() {
                sheet.width
            } else {
                MAX_COLUMNS as usize
            };
            filler.fill(&mut row, limit);
        }
        if sheet.header.is_some() {
            if row.row > sheet.last_header_row {
                let record = self.record(row);
                self.ready.push_back(record);
            }
            return;
        }
        sheet.pending.push(row);
        let enough = match self.header_row {
            Some(first) => sheet
                .pending
                .last()
                .is_some_and(|r| r.row >= first.saturating_add(self.header_rows - 1)),
            None => sheet.pending.len() >= HEADER_SEARCH_ROWS,
        };
        if enough {
            self.settle_header();
        }
    }

    /// Ends the current sheet: a sheet still searching for its header settles it with
    /// the rows it has.
    fn end_sheet(&mut self) {
        if self.sheet.as_ref().is_some_and(|s| s.header.is_none()) {
            self.settle_header();
        }
        self.sheet = None;
    }

    /// Chooses the header among the pending rows, then releases the rows below it. A
    /// sheet that cannot have a header ends the stream with the reason; an empty sheet
    /// chosen by `"*"` is skipped.
    fn settle_header(&mut self) {
        let Some(chosen) = self.sheet.as_ref().map(|sheet| self.choose_header(sheet)) else {
            return;
        };
        let Some(sheet) = self.sheet.as_mut() else {
            return;
        };
        let (first_header_row, names) = match chosen {
            Ok(Some(header)) => header,
            failed => {
                if let Err(reason) = failed {
                    self.ready.push_back(Err(SourceError::Shape {
                        path: self.path.clone(),
                        reason: format!("sheet \"{}\": {reason}", sheet.name),
                    }));
                    self.finished = true;
                }
                // Mark the sheet settled so later rows and its end do nothing.
                sheet.header = Some(Arc::new(Header::new(Vec::new())));
                sheet.last_header_row = u32::MAX;
                return;
            }
        };
        sheet.width = names.len() - usize::from(self.sheet_column.is_some());
        sheet.header = Some(Arc::new(Header::new(names)));
        sheet.last_header_row = first_header_row.saturating_add(self.header_rows - 1);
        let pending = std::mem::take(&mut sheet.pending);
        let last_header_row = sheet.last_header_row;
        for row in pending {
            if row.row > last_header_row {
                let record = self.record(row);
                self.ready.push_back(record);
            }
        }
    }

    /// The header's first row and its column names (the sheet column last); `None` for
    /// an empty sheet that may be skipped; the reason when the sheet has no usable header.
    fn choose_header(&self, sheet: &SheetState) -> Result<Option<(u32, Vec<String>)>, String> {
        let (Some(first_row), Some(last_row)) = (sheet.pending.first(), sheet.pending.last())
        else {
            return if self.skip_empty_sheets {
                Ok(None)
            } else {
                Err("the sheet is empty".into())
            };
        };
        let first_header_row = match self.header_row {
            Some(first) if !sheet.pending.iter().any(|r| r.row == first) => {
                return Err(format!(
                    "header row {} is empty or outside the sheet (rows with data: {}-{})",
                    first as u64 + 1,
                    first_row.row as u64 + 1,
                    last_row.row as u64 + 1
                ));
            }
            Some(first) => first,
            None => find_header(
                &sheet.pending,
                self.header_rows,
                sheet.merges.as_deref(),
                &self.expected_columns,
            ),
        };
        let mut names = header_names(
            &sheet.pending,
            first_header_row,
            self.header_rows,
            sheet.merges.as_deref(),
        );
        if let Some(column) = &self.sheet_column {
            if names.iter().any(|n| n.trim() == column) {
                return Err(format!(
                    "sheet_column \"{column}\" is also a column of the header; give it another name"
                ));
            }
            names.push(column.clone());
        }
        Ok(Some((first_header_row, names)))
    }

    fn record(&self, row: RawRow) -> Result<SourceItem, SourceError> {
        let sheet = self.sheet.as_ref().expect("rows arrive inside a sheet");
        let header = Arc::clone(sheet.header.as_ref().expect("header settled"));
        let mut cells = row.cells;
        if self.sheet_column.is_some() {
            cells.resize(sheet.width, Cell::empty());
            cells.push(Cell::Text(sheet.name.clone()));
        }
        Ok(SourceItem::Record(Record {
            position: SourcePosition {
                file: self.path.clone(),
                sheet: Some(sheet.name.clone()),
                row: Some(row.row as u64 + 1),
                column: None,
            },
            header,
            cells,
        }))
    }
}

/// The 0-based row where the header starts: the first whose header holds every
/// expected column; failing that (or with none expected) the first row whose header
/// fills at least half as many columns as the fullest candidate does (title and note
/// rows above a table fill one or two).
fn find_header(
    rows: &[RawRow],
    header_rows: u32,
    merges: Option<&[Dimensions]>,
    expected: &[String],
) -> u32 {
    let candidates: Vec<(u32, Vec<String>)> = rows
        .iter()
        .map(|r| (r.row, header_names(rows, r.row, header_rows, merges)))
        .collect();
    if !expected.is_empty() {
        let holds_all = candidates.iter().find(|(_, names)| {
            let header = Header::new(names.clone());
            expected.iter().all(|c| header.position(c).is_some())
        });
        if let Some((row, _)) = holds_all {
            return *row;
        }
    }
    let filled = |names: &[String]| names.iter().filter(|n| !n.trim().is_empty()).count();
    let fullest = candidates
        .iter()
        .map(|(_, names)| filled(names))
        .max()
        .unwrap_or(0);
    let threshold = if fullest >= 2 {
        fullest.div_ceil(2).max(2)
    } else {
        1
    };
    candidates
        .iter()
        .find(|(_, names)| filled(names) >= threshold)
        .map_or(rows[0].row, |(row, _)| *row)
}

/// Column names from the header rows `first..first + count`: each column's non-empty
/// cells top to bottom, joined by a space, a repeat of the cell above dropped (a cell
/// merged down two header rows). A cell inside a merged region reads the region's
/// value; without merge information, an empty cell in an upper header row reads the
/// nearest filled cell to its left (the usual shape: a year merged over its columns).
fn header_names(
    rows: &[RawRow],
    first: u32,
    count: u32,
    merges: Option<&[Dimensions]>,
) -> Vec<String> {
    let by_row: HashMap<u32, &RawRow> = rows
        .iter()
        .filter(|r| r.row >= first && r.row - first < count)
        .map(|r| (r.row, r))
        .collect();
    let text_at = |row: u32, column: usize| -> String {
        let cell = by_row.get(&row).and_then(|r| r.cells.get(column));
        match cell {
            Some(Cell::Text(t)) => t.trim().to_string(),
            Some(Cell::Error(e)) => e.clone(),
            None => String::new(),
        }
    };
    let merged_width = merges
        .into_iter()
        .flatten()
        .filter(|m| m.start.0 < first.saturating_add(count) && m.end.0 >= first)
        .map(|m| (m.end.1 as usize + 1).min(MAX_COLUMNS as usize));
    let width = by_row
        .values()
        .map(|r| r.cells.len())
        .chain(merged_width)
        .max()
        .unwrap_or(0);
    let mut names = vec![Vec::<String>::new(); width];
    for offset in 0..count {
        let row = first.saturating_add(offset);
        let upper = offset + 1 < count;
        let mut left = String::new();
        for (column, parts) in names.iter_mut().enumerate() {
            let mut text = match merges {
                Some(merges) => match merges.iter().find(|m| contains(m, row, column as u32)) {
                    Some(m) if m.start.0 >= first => text_at(m.start.0, m.start.1 as usize),
                    _ => text_at(row, column),
                },
                None => text_at(row, column),
            };
            if merges.is_none() && upper {
                if text.is_empty() {
                    text = left.clone();
                } else {
                    left = text.clone();
                }
            }
            if !text.is_empty() && parts.last() != Some(&text) {
                parts.push(text);
            }
        }
    }
    names.into_iter().map(|parts| parts.join(" ")).collect()
}

fn contains(region: &Dimensions, row: u32, column: u32) -> bool {
    (region.start.0..=region.end.0).contains(&row)
        && (region.start.1..=region.end.1).contains(&column)
}

/// Copies each merged region's value into its other cells as rows stream past, keeping
/// only the regions that span the current row.
struct MergeFiller {
    /// Regions by first row, not yet reached.
    waiting: VecDeque<Dimensions>,
    /// Regions spanning the current row, with their value once seen.
    active: Vec<(Dimensions, Cell)>,
}

impl MergeFiller {
    fn new(mut merges: Vec<Dimensions>) -> Self {
        merges.sort_by_key(|m| m.start);
        MergeFiller {
            waiting: merges.into(),
            active: Vec::new(),
        }
    }

    fn fill(&mut self, row: &mut RawRow, column_limit: usize) {
        self.active.retain(|(m, _)| m.end.0 >= row.row);
        while self.waiting.front().is_some_and(|m| m.start.0 <= row.row) {
            let Some(region) = self.waiting.pop_front() else {
                break;
            };
            if region.end.0 < row.row {
                continue; // its first row had no cells at all
            }
            let value = if region.start.0 == row.row {
                row.cells
                    .get(region.start.1 as usize)
                    .cloned()
                    .unwrap_or_else(Cell::empty)
            } else {
                Cell::empty()
            };
            self.active.push((region, value));
        }
        for (region, value) in &self.active {
            if *value == Cell::empty() {
                continue;
            }
            let from = region.start.1 as usize;
            let to = (region.end.1 as usize).min(column_limit.saturating_sub(1));
            if from > to {
                continue;
            }
            if row.cells.len() <= to {
                row.cells.resize(to + 1, Cell::empty());
            }
            for cell in &mut row.cells[from..=to] {
                *cell = value.clone();
            }
        }
    }
}

/// A streamed cell as text; `None` for an empty cell.
fn data_ref_cell(data: &DataRef<'_>) -> Option<Cell> {
    Some(match data {
        DataRef::Empty => return None,
        DataRef::String(s) => Cell::Text(s.clone()),
        DataRef::SharedString(s) => Cell::Text((*s).to_string()),
        DataRef::Int(i) => Cell::Text(i.to_string()),
        DataRef::Float(f) => Cell::Text(float_text(*f)),
        DataRef::Bool(b) => Cell::Text(bool_text(*b)),
        DataRef::DateTime(dt) => Cell::Text(datetime_text(dt)),
        DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => Cell::Text(s.clone()),
        DataRef::Error(e) => Cell::Error(e.to_string()),
    })
}

/// A cell of a whole-sheet range as text; `None` for an empty cell.
fn data_cell(data: &Data) -> Option<Cell> {
    Some(match data {
        Data::Empty => return None,
        Data::String(s) => Cell::Text(s.clone()),
        Data::Int(i) => Cell::Text(i.to_string()),
        Data::Float(f) => Cell::Text(float_text(*f)),
        Data::Bool(b) => Cell::Text(bool_text(*b)),
        Data::DateTime(dt) => Cell::Text(datetime_text(dt)),
        Data::DateTimeIso(s) | Data::DurationIso(s) => Cell::Text(s.clone()),
        Data::Error(e) => Cell::Error(e.to_string()),
    })
}

fn bool_text(b: bool) -> String {
    if b { "TRUE" } else { "FALSE" }.to_string()
}

/// Dates as ISO 8601 (a date alone when there is no time of day); durations and
/// out-of-range values as their serial number.
fn datetime_text(dt: &calamine::ExcelDateTime) -> String {
    match dt.as_datetime() {
        Some(t) if dt.is_datetime() && t.time() == chrono::NaiveTime::MIN => {
            t.date().format("%Y-%m-%d").to_string()
        }
        Some(t) if dt.is_datetime() => t.format("%Y-%m-%dT%H:%M:%S").to_string(),
        _ => float_text(dt.as_f64()),
    }
}

/// Numbers as a person sees them: integers without ".0".
fn float_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared_data;

    fn open_with(config: &ExcelConfig, expected: &[String]) -> Result<RecordStream, SourceError> {
        let base = shared_data("");
        let context = OpenContext {
            expected_columns: expected,
            ..OpenContext::full(&base)
        };
        config.open(&context)
    }

    fn rows(config: &ExcelConfig) -> Vec<Record> {
        read_all(config).expect("reads")
    }

    fn read_all(config: &ExcelConfig) -> Result<Vec<Record>, SourceError> {
        open_with(config, &[])?
            .map(|item| {
                item.map(|item| match item {
                    SourceItem::Record(r) => r,
                    SourceItem::Reject(r) => panic!("unexpected reject {r}"),
                })
            })
            .collect()
    }

    fn text(record: &Record, column: &str) -> String {
        match record
            .header
            .position(column)
            .and_then(|i| record.cells.get(i))
        {
            Some(Cell::Text(t)) => t.clone(),
            Some(Cell::Error(e)) => format!("error {e}"),
            None => String::new(),
        }
    }

    fn config(path: &str) -> ExcelConfig {
        ExcelConfig::new(path)
    }

    #[test]
    fn kongvut_districts_xlsx_matches_its_csv_twin() {
        let rows = rows(&config("kongvut-thai-province-data/districts.xlsx"));
        assert_eq!(rows.len(), 929);
        assert_eq!(text(&rows[0], "id"), "1001");
        assert_eq!(rows[0].position.row, Some(2));
        let csv = std::fs::read_to_string(shared_data("kongvut-thai-province-data/districts.csv"))
            .expect("csv twin");
        let last_csv_id = csv
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .and_then(|l| l.split(',').next())
            .map(|id| id.trim_matches('"').to_string());
        assert_eq!(Some(text(&rows[928], "id")), last_csv_id);
    }

    #[test]
    fn declared_header_row_and_sheet_by_position() {
        let mut c = config("calamine-tests/header-row.xlsx");
        c.header_row = Some(9);
        c.sheet = Some(SheetSelection::One(SheetRef::Position(1)));
        let rows = rows(&c);
        assert!(!rows.is_empty());
        assert_eq!(rows[0].position.row, Some(10));
        assert!(rows[0].header.names().iter().any(|n| !n.is_empty()));
    }

    #[test]
    fn header_found_below_the_empty_rows_and_beside_the_empty_columns() {
        // header-row.xlsx: the header is on row 9; temperature-in-middle.xlsx: the
        // table starts at B4.
        let found = rows(&config("calamine-tests/header-row.xlsx"));
        assert_eq!(found[0].position.row, Some(10));
        let middle = rows(&config("calamine-tests/temperature-in-middle.xlsx"));
        assert_eq!(middle[0].position.row, Some(5));
        let names = middle[0].header.names();
        assert_eq!(names[0], "", "column A is empty");
        assert!(names[1..].iter().all(|n| !n.is_empty()), "{names:?}");
    }

    #[test]
    fn header_found_by_the_columns_the_mapping_reads() {
        let text_row = |row: u32, cells: &[&str]| RawRow {
            row,
            cells: cells.iter().map(|c| Cell::Text(c.to_string())).collect(),
        };
        let rows = [
            text_row(0, &["รายงานจำนวนนักเรียน"]),
            text_row(1, &["ที่มา:", "สพป.", "ปีการศึกษา 2566"]),
            text_row(2, &["รหัสโรงเรียน", "จำนวน"]),
            text_row(3, &["90010001", "120"]),
        ];
        // The notes row is the fullest, so without expected columns it wins.
        assert_eq!(find_header(&rows, 1, None, &[]), 1);
        let expected = ["รหัสโรงเรียน".to_string(), "จำนวน".to_string()];
        assert_eq!(find_header(&rows, 1, None, &expected), 2);
        // Columns no row holds fall back to the fullest row; the mapping then names them.
        assert_eq!(find_header(&rows, 1, None, &["ไม่มี".to_string()]), 1);
    }

    #[test]
    fn merged_header_cells_name_every_column_below_them() {
        // merged_range.xlsx, Sheet1: rows 1-2 are the header, A1:A2, B1:B2, E1:E2 ...
        // merged down and C1:D2 merged across two columns; C3:D3 and C4:D4 are merged
        // data cells.
        let mut c = config("calamine-tests/merged_range.xlsx");
        c.header_row = Some(1);
        c.header_rows = 2;
        let rows = rows(&c);
        assert_eq!(
            rows[0].header.names(),
            ["A1", "B1", "C1", "C1", "E1", "F1", "G1", "H1"]
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].position.row, Some(3));
        assert_eq!(text(&rows[0], "B1"), "B3");
    }

    #[test]
    fn xls_merges_join_the_header_rows() {
        // merge_cells.xls: A1:B1 "Row Merge", A2:A4 "Column Merge", B2:D4 "Chunk
        // Merged", C1 "Not Merged".
        let path = shared_data("calamine-tests/merge_cells.xls");
        let workbook = open_workbook_auto(&path).expect("opens");
        let reader = ReaderThread::spawn(
            "test",
            READER_CRASHED,
            &crate::Cancel::default(),
            move |feed| read_workbook(workbook, &["Sheet1".to_string()], true, feed),
        )
        .expect("spawns");
        let mut merges = None;
        let mut rows = Vec::new();
        loop {
            match reader.next() {
                Next::Message(Message::Sheet { merges: m, .. }) => merges = m,
                Next::Message(Message::Rows(batch)) => rows.extend(batch),
                Next::Failed(reason) => panic!("{reason}"),
                Next::Done | Next::Cancelled => break,
            }
        }
        let merges = merges.expect("xls records its merges");
        assert_eq!(merges.len(), 3);
        assert_eq!(
            header_names(&rows, 0, 2, Some(&merges)),
            [
                "Row Merge Column Merge",
                "Row Merge Chunk Merged",
                "Not Merged Chunk Merged",
                "Chunk Merged"
            ]
        );
    }

    #[test]
    fn without_merge_records_an_upper_header_cell_names_the_empty_cells_after_it() {
        let text_row = |row: u32, cells: &[&str]| RawRow {
            row,
            cells: cells.iter().map(|c| Cell::Text(c.to_string())).collect(),
        };
        let rows = [
            text_row(4, &["อำเภอ", "2566", "", "2567", ""]),
            text_row(5, &["", "ชาย", "หญิง", "ชาย", "หญิง"]),
        ];
        assert_eq!(
            header_names(&rows, 4, 2, None),
            ["อำเภอ", "2566 ชาย", "2566 หญิง", "2567 ชาย", "2567 หญิง"]
        );
        // Found, not declared: the title row above is skipped.
        let mut with_title = vec![text_row(1, &["จำนวนนักเรียน จังหวัดสงขลา"])];
        with_title.extend(rows);
        assert_eq!(find_header(&with_title, 2, None, &[]), 4);
    }

    #[test]
    fn fill_merged_copies_a_merged_value_into_every_row_it_spans() {
        // merged_range.xlsx, Sheet2: A1:A4 and F1:H4 merged down the whole table,
        // C3:D4 a merged data block.
        let mut c = config("calamine-tests/merged_range.xlsx");
        c.sheet = Some(SheetSelection::One(SheetRef::Name("Sheet2".into())));
        c.header_row = Some(1);
        c.header_rows = 2;
        c.fill_merged = true;
        let filled = rows(&c);
        assert_eq!(filled.len(), 2);
        for record in &filled {
            assert_eq!(record.cells[0], Cell::Text("A1".into()));
            assert_eq!(record.cells[2], Cell::Text("C3".into()));
            assert_eq!(record.cells[3], Cell::Text("C3".into()));
            assert_eq!(record.cells[7], Cell::Text("F1".into()));
        }
        // Without the option only a merge's first cell holds the value.
        c.fill_merged = false;
        let plain = rows(&c);
        assert_eq!(plain[1].cells[2], Cell::empty());
    }

    #[test]
    fn several_sheets_in_order_with_the_sheet_name_as_a_column() {
        let mut c = config("calamine-tests/any_sheets.xlsx");
        c.sheet = Some(SheetSelection::One(SheetRef::Name("*".into())));
        c.sheet_column = Some("sheet".into());
        let visible = read_all(&c).expect("reads");
        assert!(!visible.is_empty());
        let sheets: Vec<String> = visible.iter().map(|r| text(r, "sheet")).collect();
        // Only the visible worksheet is read: not Hidden, VeryHidden nor the chart.
        assert!(sheets.iter().all(|s| s == "Visible"), "{sheets:?}");

        let mut listed = config("kongvut-thai-province-data/geographies.xlsx");
        let only = open_workbook_auto(shared_data("kongvut-thai-province-data/geographies.xlsx"))
            .expect("opens")
            .sheet_names()[0]
            .clone();
        listed.sheet = Some(SheetSelection::Many(vec![
            SheetRef::Name(only.clone()),
            SheetRef::Position(1),
        ]));
        listed.sheet_column = Some("tab".into());
        let twice = rows(&listed);
        assert_eq!(twice.len(), 12, "6 geographies, read twice");
        assert!(twice.iter().all(|r| text(r, "tab") == only));
        assert!(!Arc::ptr_eq(&twice[0].header, &twice[6].header));
    }

    #[test]
    fn error_cells_are_kept_as_errors_for_the_mapping_to_reject() {
        let mut c = config("calamine-tests/errors.xlsx");
        c.header_row = Some(1);
        let cells: Vec<Cell> = rows(&c)
            .into_iter()
            .filter_map(|r| r.cells.into_iter().next())
            .collect();
        // A1 (#DIV/0!) is the header; A2..A7 follow.
        assert_eq!(cells.first(), Some(&Cell::Error("#NAME?".into())));
        assert_eq!(cells.last(), Some(&Cell::Error("#N/A".into())));
        assert_eq!(cells.len(), 6);
    }

    #[test]
    fn dates_are_written_as_iso_in_every_format() {
        // date.*: A1 = 2021-01-01; taken as the header row, its text is the date.
        for file in [
            "calamine-tests/date.xlsx",
            "calamine-tests/date.xls",
            "calamine-tests/date.xlsb",
            "calamine-tests/date.ods",
            "calamine-tests/date_1904.xlsx",
        ] {
            let mut c = config(file);
            c.header_row = Some(1);
            let first = open_with(&c, &[]).expect("opens").next();
            let header_names = match first {
                Some(Ok(SourceItem::Record(r))) => r.header.names().to_vec(),
                other => panic!("{file}: {other:?}"),
            };
            assert_eq!(
                header_names.first().map(String::as_str),
                Some("2021-01-01"),
                "{file}"
            );
        }
    }

    #[test]
    fn hostile_and_wrong_files_give_clear_errors() {
        for (file, expect) in [
            (
                "calamine-tests/too_small.xls",
                "is not a readable spreadsheet workbook",
            ),
            (
                "calamine-tests/pass_protected.xlsx",
                "is not a readable spreadsheet workbook",
            ),
            (
                "calamine-tests/issue_594_dos.ods",
                "calamine-tests/issue_594_dos.ods",
            ),
            (
                "csvlint-fixtures/title-row.csv",
                "is not a readable spreadsheet workbook",
            ),
            ("calamine-tests/missing-file.xlsx", "cannot read"),
            ("calamine-tests/empty_sheet.xlsx", "the sheet is empty"),
        ] {
            let err = read_all(&config(file)).err().map(|e| e.to_string());
            let err = err.unwrap_or_else(|| panic!("{file} opened"));
            assert!(err.contains(expect), "{file}: {err}");
        }
        let mut c = config("kongvut-thai-province-data/districts.xlsx");
        c.sheet = Some(SheetSelection::One(SheetRef::Name("ไม่มี".into())));
        let err = read_all(&c)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("no sheet named \"ไม่มี\" (the workbook has"),
            "{err}"
        );
        for (header_row, header_rows, expect) in [
            (4_294_967_297, 1, "header_row must be between 1 and 1048576"),
            (1, 0, "header_rows must be between 1 and 20"),
            (1, 4_000_000_000, "header_rows must be between 1 and 20"),
        ] {
            let mut c = config("kongvut-thai-province-data/districts.xlsx");
            c.header_row = Some(header_row);
            c.header_rows = header_rows;
            let err = read_all(&c)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(expect), "{err}");
        }
        let mut c = config("kongvut-thai-province-data/districts.xlsx");
        c.header_row = Some(5000);
        let err = read_all(&c)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("header row 5000 is empty or outside the sheet (rows with data: 1-930)"),
            "{err}"
        );
    }
}
