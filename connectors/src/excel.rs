//! Spreadsheet workbooks through calamine: xlsx, xlsm, xlsb, xls and ods, one sheet
//! chosen by name or position, the header row declared or found.

use crate::{resolve, Cell, Header, Record, RecordStream, SourceError, SourceItem};
use abe_schema::SourcePosition;
use calamine::{open_workbook_auto, Data, Range, Reader};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;

/// Which sheet to read: by name, or by its 1-based position among the tabs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SheetRef {
    /// The tab's name, e.g. `"นักเรียน"`.
    Name(String),
    /// The tab's position, 1 for the first.
    Position(usize),
}

/// A workbook.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExcelConfig {
    /// Path of the workbook, relative to the config file's folder.
    pub path: String,
    /// The sheet to read; the first sheet when absent.
    #[serde(default)]
    pub sheet: Option<SheetRef>,
    /// 1-based row of the column names as the spreadsheet numbers it; rows above it
    /// are skipped. When absent, the first non-empty row of the sheet.
    #[serde(default)]
    pub header_row: Option<u64>,
}

impl ExcelConfig {
    /// Opens the workbook and reads the chosen sheet.
    pub fn open(&self, base_dir: &Path) -> Result<RecordStream, SourceError> {
        let format_error = |reason: String| SourceError::Format {
            path: self.path.clone(),
            format: "spreadsheet workbook",
            reason,
        };
        let full_path = resolve(base_dir, &self.path);
        if let Err(source) = std::fs::metadata(&full_path) {
            return Err(SourceError::Io {
                path: self.path.clone(),
                source,
            });
        }
        let mut workbook =
            open_workbook_auto(&full_path).map_err(|e| format_error(e.to_string()))?;
        let names = workbook.sheet_names();
        let sheet_name = match &self.sheet {
            None => names.first().cloned(),
            Some(SheetRef::Name(name)) => names.iter().find(|n| *n == name).cloned(),
            Some(SheetRef::Position(p)) => p.checked_sub(1).and_then(|i| names.get(i)).cloned(),
        }
        .ok_or_else(|| SourceError::Shape {
            path: self.path.clone(),
            reason: format!(
                "no sheet {} (the workbook has {})",
                match &self.sheet {
                    Some(SheetRef::Name(n)) => format!("named \"{n}\""),
                    Some(SheetRef::Position(p)) => format!("at position {p}"),
                    None => "at all".to_string(),
                },
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
        })?;
        let range = workbook
            .worksheet_range(&sheet_name)
            .map_err(|e| format_error(format!("sheet \"{sheet_name}\": {e}")))?;
        SheetRecords::start(self.path.clone(), sheet_name, range, self.header_row)
            .map(|records| Box::new(records) as RecordStream)
    }
}

struct SheetRecords {
    path: String,
    sheet: String,
    range: Range<Data>,
    header: Arc<Header>,
    /// Next row to read, relative to the range's first row.
    next: usize,
    /// Absolute 0-based row of the range's first row.
    first_row: usize,
}

impl SheetRecords {
    fn start(
        path: String,
        sheet: String,
        range: Range<Data>,
        header_row: Option<u64>,
    ) -> Result<Self, SourceError> {
        let first_row = range.start().map_or(0, |(r, _)| r as usize);
        let height = range.height();
        let shape_error = |reason: String| SourceError::Shape {
            path: path.clone(),
            reason: format!("sheet \"{sheet}\": {reason}"),
        };
        let header_at = match header_row {
            Some(0) => return Err(shape_error("header_row is 1-based".into())),
            Some(row) => {
                let absolute = (row - 1) as usize;
                if absolute < first_row || absolute >= first_row + height {
                    return Err(shape_error(format!(
                        "header row {row} is outside the sheet's used rows {}",
                        if height == 0 {
                            "(the sheet is empty)".to_string()
                        } else {
                            format!("{}-{}", first_row + 1, first_row + height)
                        }
                    )));
                }
                absolute - first_row
            }
            None => (0..height)
                .find(|&r| {
                    (0..range.width())
                        .any(|c| !matches!(range.get((r, c)), None | Some(Data::Empty)))
                })
                .ok_or_else(|| shape_error("the sheet is empty".into()))?,
        };
        let names = (0..range.width())
            .map(|c| match range.get((header_at, c)).map(cell_text) {
                Some(Cell::Text(t)) => t,
                Some(Cell::Error(e)) => e,
                None => String::new(),
            })
            .collect();
        Ok(SheetRecords {
            header: Arc::new(Header::new(names)),
            path,
            sheet,
            range,
            next: header_at + 1,
            first_row,
        })
    }
}

impl Iterator for SheetRecords {
    type Item = Result<SourceItem, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.range.height() {
            return None;
        }
        let row = self.next;
        self.next += 1;
        let cells = (0..self.range.width())
            .map(|c| self.range.get((row, c)).map_or_else(Cell::empty, cell_text))
            .collect();
        Some(Ok(SourceItem::Record(Record {
            position: SourcePosition {
                file: self.path.clone(),
                sheet: Some(self.sheet.clone()),
                row: Some((self.first_row + row + 1) as u64),
                column: None,
            },
            header: Arc::clone(&self.header),
            cells,
        })))
    }
}

/// Writes a cell as the text a person sees: integers without ".0", dates as ISO 8601.
fn cell_text(data: &Data) -> Cell {
    Cell::Text(match data {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) => float_text(*f),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        Data::DateTime(dt) => match dt.as_datetime() {
            Some(t) if dt.is_datetime() && t.time() == chrono::NaiveTime::MIN => {
                t.date().format("%Y-%m-%d").to_string()
            }
            Some(t) if dt.is_datetime() => t.format("%Y-%m-%dT%H:%M:%S").to_string(),
            _ => float_text(dt.as_f64()),
        },
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => return Cell::Error(e.to_string()),
    })
}

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

    fn rows(config: &ExcelConfig) -> Vec<Record> {
        config
            .open(&shared_data(""))
            .expect("opens")
            .map(|item| match item.expect("reads") {
                SourceItem::Record(r) => r,
                SourceItem::Reject(r) => panic!("unexpected reject {r}"),
            })
            .collect()
    }

    fn config(path: &str) -> ExcelConfig {
        ExcelConfig {
            path: path.into(),
            sheet: None,
            header_row: None,
        }
    }

    #[test]
    fn kongvut_districts_xlsx_matches_its_csv_twin() {
        let rows = rows(&config("kongvut-thai-province-data/districts.xlsx"));
        assert_eq!(rows.len(), 929);
        let header = &rows[0].header;
        let id = header.position("id").expect("id column");
        assert_eq!(rows[0].cells[id], Cell::Text("1001".into()));
        assert_eq!(rows[0].position.row, Some(2));
    }

    #[test]
    fn declared_header_row_and_sheet_by_position() {
        let mut c = config("calamine-tests/header-row.xlsx");
        c.header_row = Some(9);
        c.sheet = Some(SheetRef::Position(1));
        let rows = rows(&c);
        assert!(!rows.is_empty());
        assert_eq!(rows[0].position.row, Some(10));
        assert!(rows[0].header.names().iter().any(|n| !n.is_empty()));
    }

    #[test]
    fn error_cells_are_kept_as_errors_for_the_mapping_to_reject() {
        let mut c = config("calamine-tests/errors.xlsx");
        c.header_row = Some(1);
        let header_and_rows = c.open(&shared_data("")).expect("opens");
        let cells: Vec<Cell> = header_and_rows
            .filter_map(|i| match i.expect("reads") {
                SourceItem::Record(r) => r.cells.into_iter().next(),
                SourceItem::Reject(_) => None,
            })
            .collect();
        // A1 (#DIV/0!) is the header; A2..A7 follow.
        assert_eq!(cells.first(), Some(&Cell::Error("#NAME?".into())));
        assert_eq!(cells.last(), Some(&Cell::Error("#N/A".into())));
    }

    #[test]
    fn dates_are_written_as_iso() {
        // date.xlsx: A1 = 2021-01-01; taken as the header row, its text is the date.
        let mut c = config("calamine-tests/date.xlsx");
        c.header_row = Some(1);
        let first = c.open(&shared_data("")).expect("opens").next();
        let header_names = match first {
            Some(Ok(SourceItem::Record(r))) => r.header.names().to_vec(),
            other => panic!("{other:?}"),
        };
        assert_eq!(header_names.first().map(String::as_str), Some("2021-01-01"));
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
        ] {
            let err = config(file)
                .open(&shared_data(""))
                .err()
                .map(|e| e.to_string());
            let err = err.unwrap_or_else(|| panic!("{file} opened"));
            assert!(err.contains(expect), "{file}: {err}");
        }
        let mut c = config("kongvut-thai-province-data/districts.xlsx");
        c.sheet = Some(SheetRef::Name("ไม่มี".into()));
        let err = c
            .open(&shared_data(""))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("no sheet named \"ไม่มี\" (the workbook has"),
            "{err}"
        );
    }
}
