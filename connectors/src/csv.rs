//! Delimited text files as Thai agencies export them: UTF-8 with or without a BOM,
//! TIS-620/Windows-874 from older Windows software, UTF-16 from some Excel exports;
//! a declared delimiter; title rows above the header.

use crate::{resolve, Cell, Header, Record, RecordStream, SourceError, SourceItem};
use abe_schema::{Reject, SourcePosition};
use encoding_rs::Encoding;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::Arc;

/// A CSV (or TSV, PSV, ...) file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvConfig {
    /// Path of the file, relative to the config file's folder.
    pub path: String,
    /// Text encoding by its WHATWG label: `utf-8`, `tis-620` (read as Windows-874, its
    /// superset), `windows-874`, `utf-16le`, ... When absent, a byte-order mark decides
    /// and UTF-8 is assumed otherwise.
    #[serde(default)]
    pub encoding: Option<String>,
    /// Field delimiter, one ASCII character; `,` when absent.
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
    /// 1-based row holding the column names; rows above it (titles, notes) are skipped.
    /// Rows are records as a spreadsheet program shows the file (blank lines aside).
    #[serde(default = "default_header_row")]
    pub header_row: u64,
}

fn default_delimiter() -> char {
    ','
}

fn default_header_row() -> u64 {
    1
}

impl CsvConfig {
    /// A config for `path` with every other option at its default.
    pub fn new(path: impl Into<String>) -> Self {
        CsvConfig {
            path: path.into(),
            encoding: None,
            delimiter: default_delimiter(),
            header_row: default_header_row(),
        }
    }

    /// Opens the file and reads up to its header row.
    pub fn open(&self, base_dir: &Path) -> Result<RecordStream, SourceError> {
        let delimiter = u8::try_from(self.delimiter)
            .ok()
            .filter(u8::is_ascii)
            .ok_or_else(|| {
                SourceError::Config(format!(
                    "{}: delimiter {:?} must be one ASCII character",
                    self.path, self.delimiter
                ))
            })?;
        if self.header_row == 0 {
            return Err(SourceError::Config(format!(
                "{}: header_row is 1-based",
                self.path
            )));
        }
        let declared = match &self.encoding {
            Some(label) => Some(Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
                SourceError::Config(format!("{}: unknown encoding \"{label}\"", self.path))
            })?),
            None => None,
        };
        let io_error = |source| SourceError::Io {
            path: self.path.clone(),
            source,
        };
        let mut file = BufReader::new(File::open(resolve(base_dir, &self.path)).map_err(io_error)?);
        let mut head = [0u8; 3];
        let head_len = read_up_to(&mut file, &mut head).map_err(io_error)?;
        let bom = Encoding::for_bom(&head[..head_len]);
        let encoding = declared
            .or(bom.map(|(enc, _)| enc))
            .unwrap_or(encoding_rs::UTF_8);
        let rest = std::io::Cursor::new(head[..head_len].to_vec()).chain(file);
        // ASCII-compatible encodings are decoded field by field, so a bad byte rejects one
        // row; UTF-16 must be transcoded before the CSV parser can see the delimiters.
        let (reader, field_encoding): (Box<dyn Read + Send>, &'static Encoding) =
            if encoding.is_ascii_compatible() {
                let skip = match bom {
                    Some((enc, len)) if enc == encoding => len,
                    _ => 0,
                };
                let mut rest = rest;
                std::io::copy(&mut (&mut rest).take(skip as u64), &mut std::io::sink())
                    .map_err(io_error)?;
                (Box::new(rest), encoding)
            } else {
                let decoder = encoding_rs_io::DecodeReaderBytesBuilder::new()
                    .encoding(Some(encoding))
                    .build(rest);
                (Box::new(decoder), encoding_rs::UTF_8)
            };
        let parser = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .from_reader(reader);
        CsvRecords::start(self.path.clone(), parser, field_encoding, self.header_row)
            .map(|records| Box::new(records) as RecordStream)
    }
}

fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

struct CsvRecords {
    path: String,
    parser: ::csv::Reader<Box<dyn Read + Send>>,
    encoding: &'static Encoding,
    header: Arc<Header>,
    /// 1-based number of the last record read (the header counts).
    row: u64,
    buffer: ::csv::ByteRecord,
}

impl CsvRecords {
    fn start(
        path: String,
        parser: ::csv::Reader<Box<dyn Read + Send>>,
        encoding: &'static Encoding,
        header_row: u64,
    ) -> Result<Self, SourceError> {
        let mut records = CsvRecords {
            path,
            parser,
            encoding,
            header: Arc::new(Header::new(Vec::new())),
            row: 0,
            buffer: ::csv::ByteRecord::new(),
        };
        while records.row < header_row {
            if !records.read_next()? {
                return Err(SourceError::Shape {
                    path: records.path.clone(),
                    reason: format!(
                        "no header row: the file ends before row {header_row}{}",
                        if records.row == 0 {
                            " (the file is empty)"
                        } else {
                            ""
                        }
                    ),
                });
            }
        }
        let mut names = Vec::with_capacity(records.buffer.len());
        for (i, field) in records.buffer.iter().enumerate() {
            match decode(encoding, field) {
                Some(name) => names.push(name.into_owned()),
                None => {
                    return Err(SourceError::Format {
                        path: records.path.clone(),
                        format: "CSV file",
                        reason: format!(
                            "header column {} is not valid {}; declare the file's encoding",
                            i + 1,
                            encoding.name()
                        ),
                    })
                }
            }
        }
        records.header = Arc::new(Header::new(names));
        Ok(records)
    }

    fn read_next(&mut self) -> Result<bool, SourceError> {
        let more = self
            .parser
            .read_byte_record(&mut self.buffer)
            .map_err(|e| SourceError::Format {
                path: self.path.clone(),
                format: "CSV file",
                reason: format!("after row {}: {e}", self.row),
            })?;
        if more {
            // Records are counted rather than lines, because the parser's line numbers
            // drift with CRLF ends; a record is one row when a spreadsheet opens the file.
            self.row += 1;
        }
        Ok(more)
    }

    fn position(&self) -> SourcePosition {
        SourcePosition {
            file: self.path.clone(),
            sheet: None,
            row: Some(self.row),
            column: None,
        }
    }

    fn current_item(&self) -> SourceItem {
        let width = self.header.names().len();
        let fields = self.buffer.len();
        let extra_filled = self.buffer.iter().skip(width).any(|f| !f.is_empty());
        if fields > width && extra_filled {
            return SourceItem::Reject(Reject::new(
                self.position(),
                None,
                format!("row has {fields} fields but the header has {width}"),
            ));
        }
        let mut cells = Vec::with_capacity(width.min(fields));
        for (i, field) in self.buffer.iter().take(width).enumerate() {
            match decode(self.encoding, field) {
                Some(text) => cells.push(Cell::Text(text.into_owned())),
                None => {
                    let column = self
                        .header
                        .names()
                        .get(i)
                        .cloned()
                        .unwrap_or_else(|| format!("#{}", i + 1));
                    return SourceItem::Reject(Reject::new(
                        self.position().with_column(column),
                        Some(&String::from_utf8_lossy(field)),
                        format!(
                            "bytes that are not valid {}; declare the file's encoding",
                            self.encoding.name()
                        ),
                    ));
                }
            }
        }
        let blank_line = fields == 1 && self.buffer.get(0).is_some_and(<[u8]>::is_empty);
        if fields < width && !blank_line {
            return SourceItem::Reject(Reject::new(
                self.position(),
                None,
                format!("row has {fields} fields but the header has {width}"),
            ));
        }
        SourceItem::Record(Record {
            position: self.position(),
            header: Arc::clone(&self.header),
            cells,
        })
    }
}

fn decode<'a>(encoding: &'static Encoding, bytes: &'a [u8]) -> Option<Cow<'a, str>> {
    if encoding == encoding_rs::UTF_8 {
        std::str::from_utf8(bytes).ok().map(Cow::Borrowed)
    } else {
        encoding.decode_without_bom_handling_and_without_replacement(bytes)
    }
}

impl Iterator for CsvRecords {
    type Item = Result<SourceItem, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.read_next() {
            Ok(true) => Some(Ok(self.current_item())),
            Ok(false) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shared_data;

    fn read_all(config: &CsvConfig) -> (Arc<Header>, Vec<Record>, Vec<Reject>) {
        let base = shared_data("");
        let mut records = Vec::new();
        let mut rejects = Vec::new();
        for item in config.open(&base).expect("opens") {
            match item.expect("reads") {
                SourceItem::Record(r) => records.push(r),
                SourceItem::Reject(r) => rejects.push(r),
            }
        }
        let header = records
            .first()
            .map(|r| Arc::clone(&r.header))
            .unwrap_or_else(|| Arc::new(Header::new(vec![])));
        (header, records, rejects)
    }

    fn text(record: &Record, i: usize) -> &str {
        match &record.cells[i] {
            Cell::Text(t) => t,
            Cell::Error(e) => panic!("error cell {e}"),
        }
    }

    #[test]
    fn tis620_provinces_decode_to_the_same_thai_as_the_utf8_original() {
        let mut tis = CsvConfig::new("derived-thai-legacy-encodings/provinces.tis620.csv");
        tis.encoding = Some("tis-620".into());
        let (_, tis_rows, tis_rejects) = read_all(&tis);
        let (header, utf_rows, _) =
            read_all(&CsvConfig::new("kongvut-thai-province-data/provinces.csv"));
        assert!(tis_rejects.is_empty());
        assert_eq!(tis_rows.len(), 77);
        assert_eq!(tis_rows.len(), utf_rows.len());
        let name_th = header.position("name_th").expect("name_th column");
        for (a, b) in tis_rows.iter().zip(&utf_rows) {
            assert_eq!(a.cells, b.cells);
        }
        assert_eq!(text(&tis_rows[0], name_th), "กรุงเทพมหานคร");
        assert_eq!(tis_rows[0].position.row, Some(2));
    }

    #[test]
    fn windows874_schools_keep_the_en_dash_that_strict_tis620_lacks() {
        let mut config =
            CsvConfig::new("derived-thai-legacy-encodings/chiang-mai-schools.cp874-crlf.csv");
        config.encoding = Some("windows-874".into());
        let (_, rows, rejects) = read_all(&config);
        assert!(rejects.is_empty(), "{rejects:?}");
        let dashes = rows
            .iter()
            .flat_map(|r| r.cells.iter())
            .filter(|c| matches!(c, Cell::Text(t) if t.contains('\u{2013}')))
            .count();
        assert!(dashes > 0, "en dashes decoded");
    }

    #[test]
    fn utf8_bom_file_without_header_row_reads_first_line_as_header() {
        let config = CsvConfig::new("pramotesupnoi-thailand-subdistrict/Thailand-subdistrict.csv");
        let (header, rows, rejects) = read_all(&config);
        assert!(rejects.is_empty());
        // The file has no header: its first data row becomes the header, BOM removed.
        assert!(
            header.names()[0].chars().all(|c| c.is_ascii_digit()),
            "{:?}",
            header.names()[0]
        );
        assert_eq!(rows.len(), 7_375 - 1);
    }

    #[test]
    fn undeclared_tis620_bytes_become_rejects_naming_row_and_column() {
        let config = CsvConfig::new("derived-thai-legacy-encodings/provinces.tis620.csv");
        let err = match config.open(&shared_data("")) {
            Err(e) => e.to_string(),
            Ok(_) => String::new(),
        };
        // The header is ASCII, so the file opens; every Thai row is refused with a hint.
        assert!(err.is_empty(), "{err}");
        let (_, rows, rejects) = read_all(&config);
        assert_eq!(rows.len(), 0);
        assert_eq!(rejects.len(), 77);
        let first = &rejects[0];
        assert_eq!(first.position.row, Some(2));
        assert_eq!(first.position.column.as_deref(), Some("name_th"));
        assert!(
            first.reason.contains("declare the file's encoding"),
            "{}",
            first.reason
        );
    }

    #[test]
    fn utf16le_with_bom_is_transcoded() {
        let config = CsvConfig::new("messytables-horror/utf-16le_encoded.csv");
        let (header, rows, rejects) = read_all(&config);
        assert!(rejects.is_empty(), "{rejects:?}");
        assert!(!rows.is_empty());
        assert!(header
            .names()
            .iter()
            .all(|n| !n.contains('\u{FEFF}') && !n.contains('\0')));
    }

    #[test]
    fn declared_delimiters_split_fields() {
        let mut tsv = CsvConfig::new("messytables-horror/example.tsv");
        tsv.delimiter = '\t';
        let (header, rows, _) = read_all(&tsv);
        assert!(header.names().len() > 1);
        assert!(!rows.is_empty());
        let mut psv = CsvConfig::new("messytables-horror/simple.psv");
        psv.delimiter = '|';
        let (header, _, _) = read_all(&psv);
        assert!(header.names().len() > 1);
    }

    #[test]
    fn csv_spectrum_quotes_and_newlines_match_the_expected_parse() {
        // newlines_crlf is left out: its JSON normalises a quoted CRLF to LF, while the
        // parser (rightly, per RFC 4180) keeps quoted content as written.
        for name in [
            "quotes_and_newlines",
            "escaped_quotes",
            "comma_in_quotes",
            "newlines",
            "utf8",
        ] {
            let config = CsvConfig::new(format!("csv-spectrum/csvs/{name}.csv"));
            let (header, rows, rejects) = read_all(&config);
            assert!(rejects.is_empty(), "{name}: {rejects:?}");
            let expected: Vec<serde_json::Map<String, serde_json::Value>> = serde_json::from_str(
                &std::fs::read_to_string(shared_data(&format!("csv-spectrum/json/{name}.json")))
                    .expect("json"),
            )
            .expect("parses");
            assert_eq!(rows.len(), expected.len(), "{name}");
            for (row, want) in rows.iter().zip(&expected) {
                for (column, value) in want {
                    let i = header.position(column).expect("column");
                    assert_eq!(Some(text(row, i)), value.as_str(), "{name} {column}");
                }
            }
        }
    }

    #[test]
    fn empty_file_missing_file_and_bad_config_are_clear_errors() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("empty.csv"), b"").expect("write");
        let err = CsvConfig::new("empty.csv")
            .open(dir.path())
            .err()
            .expect("error");
        assert!(
            err.to_string().contains("empty.csv: no header row"),
            "{err}"
        );
        let err = CsvConfig::new("missing.csv")
            .open(dir.path())
            .err()
            .expect("error");
        assert!(
            err.to_string().starts_with("cannot read missing.csv"),
            "{err}"
        );
        let mut bad = CsvConfig::new("empty.csv");
        bad.delimiter = '、';
        assert!(matches!(bad.open(dir.path()), Err(SourceError::Config(_))));
        bad.delimiter = ',';
        bad.encoding = Some("klingon".into());
        assert!(matches!(bad.open(dir.path()), Err(SourceError::Config(_))));
    }

    #[test]
    fn ragged_rows_are_rejected_and_the_rest_reads() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("r.csv"), "a,b\n1,2\n3\n4,5,6\n7,8,\n9,10\n")
            .expect("write");
        let mut records = 0;
        let mut rejected_rows = Vec::new();
        for item in CsvConfig::new("r.csv").open(dir.path()).expect("opens") {
            match item.expect("reads") {
                SourceItem::Record(r) if !r.is_blank() => records += 1,
                SourceItem::Record(_) => {}
                SourceItem::Reject(r) => rejected_rows.push(r.position.row),
            }
        }
        assert_eq!(records, 3);
        assert_eq!(rejected_rows, vec![Some(3), Some(4)]);
    }

    #[test]
    fn title_rows_above_the_header_are_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("t.csv"), "รายงาน\n,\nรหัส,จำนวน\n90,1\n").expect("write");
        let mut config = CsvConfig::new("t.csv");
        config.header_row = 3;
        let items: Vec<_> = config.open(dir.path()).expect("opens").collect();
        assert_eq!(items.len(), 1);
        match &items[0] {
            Ok(SourceItem::Record(r)) => {
                assert_eq!(r.header.names(), ["รหัส", "จำนวน"]);
                assert_eq!(r.position.row, Some(4));
            }
            other => panic!("{other:?}"),
        }
    }
}
