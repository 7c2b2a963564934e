//! Delimited text files as Thai agencies export them: UTF-8 with or without a BOM,
//! TIS-620/Windows-874 from older Windows software, UTF-16 from some Excel exports;
//! title rows above the header. What a config leaves out is sniffed from the first
//! 64 KiB: the encoding (a BOM, else valid UTF-8, else what chardetng makes of it when
//! that is Thai TIS-620/Windows-874, else a clear refusal naming its guess), the
//! delimiter (`,` `;` tab `|`) and the quote (`"` or `'`). The file itself is streamed
//! through csv-core with a bounded buffer: a cell past 1 MiB (an unclosed quote that
//! swallows the rest of the file, say) is skipped to the end of its record and becomes a
//! reject, so memory never grows with the file.

use crate::{
    resolve, Cancel, Cell, Header, LocalPath, OpenContext, Record, RecordStream, Source,
    SourceError, SourceItem, MAX_COLUMNS,
};
use abe_schema::{Reject, SourcePosition};
use encoding_rs::Encoding;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::sync::Arc;

/// A CSV (or TSV, PSV, ...) file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvConfig {
    /// Path of the file, relative to the config file's folder.
    pub path: String,
    /// Text encoding by its WHATWG label: `utf-8`, `tis-620` (read as Windows-874, its
    /// superset), `windows-874`, `utf-16le`, `windows-1252` (also `latin1`), `big5`, ...
    /// When absent: a byte-order mark decides; else UTF-8 if the first 64 KiB are valid
    /// UTF-8; else Windows-874 if they read as Thai text; else the file is refused.
    #[serde(default)]
    pub encoding: Option<String>,
    /// Field delimiter, one ASCII character. When absent, whichever of `,` `;` tab `|`
    /// splits the first 50 records into the most consistent number of fields (more than
    /// one) is used, and `,` if none does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<char>,
    /// Quote character, one ASCII character. When absent, `'` if the first 50 lines
    /// quote fields with it and never with `"`, else `"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quote: Option<char>,
    /// 1-based row holding the column names; rows above it (titles, notes) are skipped.
    /// Rows are records as a spreadsheet program shows the file (blank lines aside).
    #[serde(default = "default_header_row")]
    pub header_row: u64,
    /// `false` for a file without a header row: every row is data and columns are
    /// named by their number, `"1"` for the first (`{ column = "3" }`).
    #[serde(default = "has_header", skip_serializing_if = "is_has_header")]
    pub header: bool,
}

fn default_header_row() -> u64 {
    1
}

fn has_header() -> bool {
    true
}

fn is_has_header(header: &bool) -> bool {
    *header
}

/// Bytes read to sniff the encoding, delimiter and quote.
const SAMPLE_BYTES: usize = 64 * 1024;

/// Records looked at to sniff the delimiter and quote.
const SAMPLE_RECORDS: usize = 50;

/// Largest cell a row may hold. No indicator, name or code comes near it; a bigger cell
/// is an unclosed quote or a file that is not a table, and becomes a reject.
const MAX_CELL_BYTES: usize = 1 << 20;

/// Largest row, all cells together: eight cells at the limit.
const MAX_ROW_BYTES: usize = 8 * MAX_CELL_BYTES;

/// Bytes a record's fields are read into at first; the buffer doubles as needed, up to
/// the limits above.
const FIRST_ROW_BUFFER: usize = 4 * 1024;

/// Delimiters sniffing chooses from, in order of preference on ties.
const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// How a file is read: as declared, or as sniffed where the config is silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dialect {
    /// Text encoding.
    pub encoding: &'static Encoding,
    /// Field delimiter.
    pub delimiter: u8,
    /// Quote character.
    pub quote: u8,
    /// Length of the byte-order mark to skip, 0 without one.
    bom_len: usize,
}

impl CsvConfig {
    /// A config for `path` with every other option at its default.
    pub fn new(path: impl Into<String>) -> Self {
        CsvConfig {
            path: path.into(),
            encoding: None,
            delimiter: None,
            quote: None,
            header_row: default_header_row(),
            header: true,
        }
    }

    fn ascii_option(&self, what: &str, option: Option<char>) -> Result<Option<u8>, SourceError> {
        match option {
            None => Ok(None),
            Some(c) => u8::try_from(c)
                .ok()
                .filter(u8::is_ascii)
                .map(Some)
                .ok_or_else(|| {
                    SourceError::Config(format!(
                        "{}: {what} {c:?} must be one ASCII character",
                        self.path
                    ))
                }),
        }
    }

    fn io_error(&self, source: std::io::Error) -> SourceError {
        SourceError::Io {
            path: self.path.clone(),
            source,
        }
    }

    /// Reads the first 64 KiB of the file and tells how it will be read.
    pub fn sniff(&self, base_dir: &Path) -> Result<Dialect, SourceError> {
        let (_, dialect, _) = self.start(base_dir)?;
        Ok(dialect)
    }

    /// Opens the file, reads its sample and settles the dialect; returns the sample and
    /// the rest of the file to read after it.
    fn start(&self, base_dir: &Path) -> Result<(Vec<u8>, Dialect, BufReader<File>), SourceError> {
        let delimiter = self.ascii_option("delimiter", self.delimiter)?;
        let quote = self.ascii_option("quote", self.quote)?;
        if delimiter.is_some() && delimiter == quote {
            return Err(SourceError::Config(format!(
                "{}: delimiter and quote are both {:?}; they must differ",
                self.path,
                self.quote.unwrap_or_default()
            )));
        }
        if self.header_row == 0 {
            return Err(SourceError::Config(format!(
                "{}: header_row is 1-based (1 is the first row); for a file without a header \
                 row set header = false",
                self.path
            )));
        }
        if !self.header && self.header_row != 1 {
            return Err(SourceError::Config(format!(
                "{}: header_row does not apply to a file without a header (header = false)",
                self.path
            )));
        }
        let declared = match &self.encoding {
            Some(label) => Some(Encoding::for_label(label.trim().as_bytes()).ok_or_else(|| {
                SourceError::Config(format!("{}: unknown encoding \"{label}\"", self.path))
            })?),
            None => None,
        };
        let mut file = BufReader::new(
            File::open(resolve(base_dir, &self.path)).map_err(|e| self.io_error(e))?,
        );
        let mut sample = vec![0u8; SAMPLE_BYTES];
        let len = read_up_to(&mut file, &mut sample).map_err(|e| self.io_error(e))?;
        sample.truncate(len);
        let complete = len < SAMPLE_BYTES;
        let bom = Encoding::for_bom(&sample);
        if bom.is_none() && declared.is_none_or(|e| e.is_ascii_compatible()) {
            if let Some(what) = binary_signature(&sample) {
                return Err(SourceError::Format {
                    path: self.path.clone(),
                    format: "CSV file",
                    reason: format!("it is binary, not text ({what})"),
                });
            }
        }
        let encoding = match (declared, bom) {
            (Some(encoding), _) => encoding,
            (None, Some((encoding, _))) => encoding,
            (None, None) => {
                detect_encoding(&sample, complete).map_err(|guess| SourceError::Format {
                    path: self.path.clone(),
                    format: "CSV file",
                    reason: format!(
                        "cannot tell its encoding: the first 64 KiB are neither UTF-8 nor Thai \
                         TIS-620/Windows-874 text (they read best as {0}); declare `encoding` \
                         (for instance \"{0}\") if that is right",
                        guess.name().to_ascii_lowercase()
                    ),
                })?
            }
        };
        let bom_len = match bom {
            Some((bom_encoding, bom_len)) if bom_encoding == encoding => bom_len,
            _ => 0,
        };
        let text = sample_text(&sample[bom_len..], encoding, complete);
        let quote = quote.unwrap_or_else(|| match delimiter {
            Some(d) => sniff_quote(&text, &[d]),
            None => sniff_quote(&text, &DELIMITERS),
        });
        let delimiter = delimiter.unwrap_or_else(|| sniff_delimiter(&text, quote));
        let dialect = Dialect {
            encoding,
            delimiter,
            quote,
            bom_len,
        };
        if self.encoding.is_none() || self.delimiter.is_none() || self.quote.is_none() {
            tracing::debug!(
                path = %self.path,
                encoding = encoding.name(),
                delimiter = %char::from(delimiter).escape_default(),
                quote = %char::from(quote),
                "sniffed CSV dialect"
            );
        }
        Ok((sample, dialect, file))
    }

    /// Opens the file and reads up to its header row.
    fn open_records(&self, base_dir: &Path, cancel: &Cancel) -> Result<CsvRecords, SourceError> {
        let (mut sample, dialect, file) = self.start(base_dir)?;
        let encoding = dialect.encoding;
        // ASCII-compatible encodings are decoded field by field, so a bad byte rejects one
        // row; UTF-16 must be transcoded before the CSV parser can see the delimiters.
        let (reader, field_encoding): (Box<dyn Read + Send>, &'static Encoding) =
            if encoding.is_ascii_compatible() {
                sample.drain(..dialect.bom_len);
                (Box::new(std::io::Cursor::new(sample).chain(file)), encoding)
            } else {
                let decoder = encoding_rs_io::DecodeReaderBytesBuilder::new()
                    .encoding(Some(encoding))
                    .build(std::io::Cursor::new(sample).chain(file));
                (Box::new(decoder), encoding_rs::UTF_8)
            };
        let parser = csv_core::ReaderBuilder::new()
            .delimiter(dialect.delimiter)
            .quote(dialect.quote)
            .build();
        CsvRecords::start(
            self.path.clone(),
            BufReader::with_capacity(SAMPLE_BYTES, reader),
            parser,
            field_encoding,
            self.header.then_some(self.header_row),
            cancel.clone(),
        )
    }
}

/// What a sample that cannot be CSV text looks like: a known binary signature, or NUL
/// bytes (which no text in an ASCII-compatible encoding has).
fn binary_signature(sample: &[u8]) -> Option<&'static str> {
    const SIGNATURES: [(&[u8], &str); 5] = [
        (
            b"PK\x03\x04",
            "a zip archive, such as an xlsx or ods workbook: use kind = \"excel\"",
        ),
        (
            b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1",
            "an OLE file, such as an xls workbook: use kind = \"excel\"",
        ),
        (b"%PDF", "a PDF document"),
        (b"\x89PNG", "a PNG image"),
        (b"\x1F\x8B", "a gzip archive"),
    ];
    SIGNATURES
        .iter()
        .find(|(magic, _)| sample.starts_with(magic))
        .map(|(_, what)| *what)
        .or_else(|| sample.contains(&0).then_some("it has NUL bytes"))
}

/// The encoding of a sample without a BOM: UTF-8 when it is valid UTF-8 (a character
/// cut by the sample's end aside); else chardetng's guess when that is Thai
/// (Windows-874, the superset of TIS-620). Any other guess is returned as the error, for
/// the message: a Thai hub reads Thai and Unicode files unasked, and asks before reading
/// a file as anything else.
fn detect_encoding(sample: &[u8], complete: bool) -> Result<&'static Encoding, &'static Encoding> {
    match std::str::from_utf8(sample) {
        Ok(_) => return Ok(encoding_rs::UTF_8),
        // `error_len() == None`: the sample ends inside a character, the rest was valid.
        Err(e) if e.error_len().is_none() => return Ok(encoding_rs::UTF_8),
        Err(_) => {}
    }
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(sample, complete);
    match detector.guess(None, false) {
        thai if thai == encoding_rs::WINDOWS_874 => Ok(thai),
        other => Err(other),
    }
}

/// The sample as text, cut after its last complete line when the file goes on.
fn sample_text(sample: &[u8], encoding: &'static Encoding, complete: bool) -> String {
    let (text, _) = encoding.decode_without_bom_handling(sample);
    let mut text = text.into_owned();
    if !complete {
        if let Some(end) = text.rfind('\n') {
            text.truncate(end + 1);
        }
    }
    text
}

/// The delimiter among `,` `;` tab `|` whose most frequent field count (above one) is
/// shared by the most of the first records; ties go to more fields, then to the order
/// above. `,` when none splits the lines.
fn sniff_delimiter(text: &str, quote: u8) -> u8 {
    let mut best: Option<(usize, usize, u8)> = None;
    for delimiter in DELIMITERS {
        let mut parser = ::csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .quote(quote)
            .from_reader(text.as_bytes());
        let mut widths: BTreeMap<usize, usize> = BTreeMap::new();
        for record in parser.byte_records().take(SAMPLE_RECORDS) {
            let Ok(record) = record else { break };
            let blank = record.len() == 1 && record.get(0).is_some_and(<[u8]>::is_empty);
            if !blank {
                *widths.entry(record.len()).or_default() += 1;
            }
        }
        let Some((&width, &count)) = widths
            .iter()
            .max_by_key(|(width, count)| (**count, **width))
        else {
            continue;
        };
        if width > 1 && best.is_none_or(|(c, w, _)| (count, width) > (c, w)) {
            best = Some((count, width, delimiter));
        }
    }
    best.map_or(b',', |(_, _, delimiter)| delimiter)
}

/// `'` when fields of the first lines are quoted with it and none with `"`, else `"`.
/// A field is quoted when it starts with the quote (at the line's start or after a
/// `delimiters` byte) and the next quote ends it before a delimiter or the line's end,
/// so apostrophes inside words ("children's") do not count.
fn sniff_quote(text: &str, delimiters: &[u8]) -> u8 {
    let (mut single, mut double) = (0, 0);
    for line in text.lines().take(SAMPLE_RECORDS) {
        let bytes = line.as_bytes();
        let starts = std::iter::once(0).chain(
            bytes
                .iter()
                .enumerate()
                .filter(|(_, b)| delimiters.contains(b))
                .map(|(i, _)| i + 1),
        );
        for start in starts {
            match bytes.get(start) {
                Some(b'"') => double += 1,
                Some(b'\'') => {
                    let rest = bytes.get(start + 1..).unwrap_or_default();
                    if let Some(end) = rest.iter().position(|b| *b == b'\'') {
                        let after = rest.get(end + 1);
                        if after.is_none_or(|b| delimiters.contains(b)) {
                            single += 1;
                        }
                    }
                }
                _ => {}
            }
        }
    }
    if single > 0 && double == 0 {
        b'\''
    } else {
        b'"'
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

/// Why the record being read is refused while it is skipped to its end.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Oversize {
    /// A cell passed [`MAX_CELL_BYTES`]; its column and first bytes.
    Cell { column: usize, start: Vec<u8> },
    /// All cells together passed [`MAX_ROW_BYTES`].
    Row,
    /// The row has more fields than [`MAX_COLUMNS`].
    Fields,
}

struct CsvRecords {
    path: String,
    input: BufReader<Box<dyn Read + Send>>,
    parser: csv_core::Reader,
    encoding: &'static Encoding,
    header: Arc<Header>,
    /// 1-based number of the last record read (the header counts).
    row: u64,
    /// The current record's field bytes (a buffer: only what `ends` covers is read).
    bytes: Vec<u8>,
    /// Where each field of the current record ends in `bytes` (a buffer too).
    ends: Vec<usize>,
    /// Fields of the current record.
    fields: usize,
    /// Set when the current record was too large to keep.
    oversize: Option<Oversize>,
    /// Checked at each refill: a record that never ends (a huge file without a line
    /// end) is read without returning, and must still stop when the run does.
    cancel: Cancel,
    /// The record just read is data not yet given out (the first row of a file
    /// without a header).
    pending: bool,
}

impl CsvRecords {
    fn start(
        path: String,
        input: BufReader<Box<dyn Read + Send>>,
        parser: csv_core::Reader,
        encoding: &'static Encoding,
        header_row: Option<u64>,
        cancel: Cancel,
    ) -> Result<Self, SourceError> {
        let mut records = CsvRecords {
            path,
            input,
            parser,
            encoding,
            header: Arc::new(Header::new(Vec::new())),
            row: 0,
            bytes: vec![0; FIRST_ROW_BUFFER],
            ends: vec![0; 64],
            fields: 0,
            oversize: None,
            cancel,
            pending: false,
        };
        let Some(header_row) = header_row else {
            // No header: the first record is data, and its width names the columns.
            if records.read_next()? {
                let width = if records.oversize.is_some() {
                    1
                } else {
                    records.fields
                };
                let names = (1..=width).map(|n| n.to_string()).collect();
                records.header = Arc::new(Header::new(names));
                records.pending = true;
            }
            return Ok(records);
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
        if records.oversize.is_some() {
            return Err(SourceError::Format {
                path: records.path.clone(),
                format: "CSV file",
                reason: format!(
                    "the header row is larger than a header can be ({MAX_COLUMNS} columns, \
                     {MAX_CELL_BYTES} bytes a name); is the quote character right?"
                ),
            });
        }
        let mut names = Vec::with_capacity(records.fields);
        for (i, field) in records.current_fields().enumerate() {
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

    /// The fields of the record just read.
    fn current_fields(&self) -> impl Iterator<Item = &[u8]> {
        let mut start = 0;
        self.ends[..self.fields].iter().map(move |&end| {
            let field = &self.bytes[start..end];
            start = end;
            field
        })
    }

    /// Reads the next record; `false` at the end of the file. A record too large to
    /// keep is read to its end with its bytes thrown away, and `oversize` says why.
    fn read_next(&mut self) -> Result<bool, SourceError> {
        self.oversize = None;
        let (mut written, mut ended) = (0usize, 0usize);
        // Where output goes once the record is too large: overwritten, never kept.
        let mut discard = (Vec::new(), Vec::new());
        loop {
            let input = self.input.fill_buf().map_err(|source| SourceError::Io {
                path: self.path.clone(),
                source,
            })?;
            let (result, read, out, out_ends) = if self.oversize.is_some() {
                let (bytes, ends) = &mut discard;
                bytes.resize(SAMPLE_BYTES, 0);
                ends.resize(64, 0);
                self.parser.read_record(input, bytes, ends)
            } else {
                self.parser
                    .read_record(input, &mut self.bytes[written..], &mut self.ends[ended..])
            };
            self.input.consume(read);
            if self.oversize.is_none() {
                written += out;
                ended += out_ends;
                self.oversize = self.too_large(written, ended);
            }
            match result {
                csv_core::ReadRecordResult::InputEmpty => {
                    if self.cancel.is_cancelled() {
                        return Err(SourceError::Cancelled);
                    }
                }
                csv_core::ReadRecordResult::OutputFull if self.oversize.is_none() => {
                    let grown = self.bytes.len() * 2;
                    self.bytes.resize(grown, 0);
                }
                csv_core::ReadRecordResult::OutputEndsFull if self.oversize.is_none() => {
                    let grown = self.ends.len() * 2;
                    self.ends.resize(grown, 0);
                }
                csv_core::ReadRecordResult::OutputFull
                | csv_core::ReadRecordResult::OutputEndsFull => {}
                csv_core::ReadRecordResult::Record => {
                    // Records are counted rather than lines: a record is one row when a
                    // spreadsheet opens the file, whatever its line ends or quoted breaks.
                    self.row += 1;
                    self.fields = if self.oversize.is_some() { 0 } else { ended };
                    return Ok(true);
                }
                csv_core::ReadRecordResult::End => {
                    self.fields = 0;
                    return Ok(false);
                }
            }
        }
    }

    /// Why the record read so far (`written` bytes, `ended` complete fields) is past a
    /// limit, if it is.
    fn too_large(&self, written: usize, ended: usize) -> Option<Oversize> {
        if ended > MAX_COLUMNS {
            return Some(Oversize::Fields);
        }
        if written > MAX_ROW_BYTES {
            return Some(Oversize::Row);
        }
        let mut start = 0;
        for (column, &end) in self.ends[..ended].iter().enumerate() {
            if end - start > MAX_CELL_BYTES {
                return Some(self.cell_oversize(column, start));
            }
            start = end;
        }
        // The field still being read.
        (written - start > MAX_CELL_BYTES).then(|| self.cell_oversize(ended, start))
    }

    fn cell_oversize(&self, column: usize, start: usize) -> Oversize {
        let end = (start + 200).min(self.bytes.len());
        Oversize::Cell {
            column,
            start: self.bytes[start..end].to_vec(),
        }
    }

    fn position(&self) -> SourcePosition {
        SourcePosition::at_row(self.path.clone(), self.row)
    }

    fn column_name(&self, i: usize) -> String {
        self.header
            .names()
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("#{}", i + 1))
    }

    fn oversize_reject(&self, oversize: &Oversize) -> Reject {
        match oversize {
            Oversize::Cell { column, start } => Reject::new(
                self.position().with_column(self.column_name(*column)),
                Some(&self.encoding.decode_without_bom_handling(start).0),
                format!(
                    "the cell holds more than {MAX_CELL_BYTES} bytes, the limit for one cell \
                     (an unclosed quote can swallow the rest of a file)"
                ),
            ),
            Oversize::Row => Reject::new(
                self.position(),
                None,
                format!("the row holds more than {MAX_ROW_BYTES} bytes, the limit for one row"),
            ),
            Oversize::Fields => Reject::new(
                self.position(),
                None,
                format!("the row has more than {MAX_COLUMNS} fields"),
            ),
        }
    }

    fn current_item(&self) -> SourceItem {
        if let Some(oversize) = &self.oversize {
            return SourceItem::Reject(self.oversize_reject(oversize));
        }
        let width = self.header.names().len();
        let fields = self.fields;
        let extra_filled = self.current_fields().skip(width).any(|f| !f.is_empty());
        if fields > width && extra_filled {
            return SourceItem::Reject(Reject::new(
                self.position(),
                None,
                format!("row has {fields} fields but the header has {width}"),
            ));
        }
        let mut cells = Vec::with_capacity(width.min(fields));
        for (i, field) in self.current_fields().take(width).enumerate() {
            match decode(self.encoding, field) {
                Some(text) => cells.push(Cell::Text(text.into_owned())),
                None => {
                    return SourceItem::Reject(Reject::new(
                        self.position().with_column(self.column_name(i)),
                        Some(&self.encoding.decode_without_bom_handling(field).0),
                        format!(
                            "bytes that are not valid {}; declare the file's encoding",
                            self.encoding.name()
                        ),
                    ));
                }
            }
        }
        let blank_line = fields == 1 && self.current_fields().next().is_some_and(<[u8]>::is_empty);
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

impl Source for CsvConfig {
    /// Opens the file and reads up to its header row.
    fn open(&self, context: &OpenContext<'_>) -> Result<RecordStream, SourceError> {
        Ok(Box::new(
            self.open_records(context.base_dir, context.cancel)?,
        ))
    }

    fn local_paths(&self) -> Vec<LocalPath<'_>> {
        vec![("path", self.path.as_str())]
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
        if std::mem::take(&mut self.pending) {
            return Some(Ok(self.current_item()));
        }
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
        for item in config.open(&OpenContext::full(&base)).expect("opens") {
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
    fn a_file_without_a_header_reads_every_row_with_columns_by_number() {
        let mut config =
            CsvConfig::new("pramotesupnoi-thailand-subdistrict/Thailand-subdistrict.csv");
        config.header = false;
        let (header, rows, rejects) = read_all(&config);
        assert!(rejects.is_empty(), "{rejects:?}");
        assert_eq!(header.names().len(), 15);
        assert_eq!(header.names()[0], "1");
        assert_eq!(header.names()[14], "15");
        assert_eq!(rows.len(), 7_375, "the first row is data");
        assert_eq!(rows[0].position.row, Some(1));
        let Cell::Text(code) = &rows[0].cells[0] else {
            panic!("text")
        };
        assert!(
            code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()),
            "{code:?}: BOM removed"
        );

        // TIS-620, no header: the legacy export reads the same way.
        let mut legacy = CsvConfig::new(
            "derived-thai-legacy-encodings/subdistricts-yala-narathiwat.tis620-noheader.csv",
        );
        legacy.header = false;
        legacy.encoding = Some("tis-620".into());
        let (header, rows, rejects) = read_all(&legacy);
        assert!(rejects.is_empty(), "{rejects:?}");
        assert_eq!(header.names().len(), 15);
        assert!(rows.len() > 100);

        config.header_row = 2;
        let err = config.sniff(&shared_data("")).expect_err("refused");
        assert!(
            err.to_string().contains("header_row does not apply"),
            "{err}"
        );
        config.header = true;
        config.header_row = 0;
        let err = config.sniff(&shared_data("")).expect_err("refused");
        assert!(err.to_string().contains("header = false"), "{err}");
    }

    #[test]
    fn undeclared_thai_legacy_files_are_detected_as_windows_874() {
        for name in [
            "provinces.tis620.csv",
            "districts.cp874-crlf.csv",
            "chiang-mai-schools.cp874-crlf.csv",
            "subdistricts-yala-narathiwat.tis620-noheader.csv",
        ] {
            let config = CsvConfig::new(format!("derived-thai-legacy-encodings/{name}"));
            let dialect = config.sniff(&shared_data("")).expect("sniffs");
            assert_eq!(dialect.encoding, encoding_rs::WINDOWS_874, "{name}");
            assert_eq!(dialect.delimiter, b',', "{name}");
            let (_, rows, rejects) = read_all(&config);
            assert!(rejects.is_empty(), "{name}: {rejects:?}");
            assert!(!rows.is_empty(), "{name}");
        }
        // Decoded undeclared, the provinces are the UTF-8 original's.
        let (_, tis_rows, _) = read_all(&CsvConfig::new(
            "derived-thai-legacy-encodings/provinces.tis620.csv",
        ));
        let (_, utf_rows, _) =
            read_all(&CsvConfig::new("kongvut-thai-province-data/provinces.csv"));
        assert_eq!(tis_rows.len(), 77);
        for (a, b) in tis_rows.iter().zip(&utf_rows) {
            assert_eq!(a.cells, b.cells);
        }
        // The yala/narathiwat file has no header: its first row is 950101 สะเตง.
        let (header, rows, _) = read_all(&CsvConfig::new(
            "derived-thai-legacy-encodings/subdistricts-yala-narathiwat.tis620-noheader.csv",
        ));
        assert_eq!(header.names()[..2], ["950101", "สะเตง"]);
        assert!(rows.iter().any(|r| text(r, 1) == "บุดี"));
    }

    #[test]
    fn bytes_of_another_encoding_after_the_sample_become_rejects_naming_row_and_column() {
        // The first 64 KiB are ASCII, so the file is read as UTF-8; a TIS-620 row after
        // them cannot be decoded and is refused on its own, with a hint.
        let dir = tempfile::tempdir().expect("tempdir");
        let mut bytes = b"code,name\r\n".to_vec();
        while bytes.len() < SAMPLE_BYTES + 100 {
            bytes.extend_from_slice(b"90,Songkhla\r\n");
        }
        bytes.extend_from_slice(b"95,\xC2\xD0\xC5\xD2\r\n");
        std::fs::write(dir.path().join("late.csv"), &bytes).expect("write");
        let config = CsvConfig::new("late.csv");
        assert_eq!(
            config.sniff(dir.path()).expect("sniffs").encoding,
            encoding_rs::UTF_8
        );
        let items: Vec<_> = config
            .open(&OpenContext::full(dir.path()))
            .expect("opens")
            .map(|i| i.expect("reads"))
            .collect();
        let rejects: Vec<&Reject> = items
            .iter()
            .filter_map(|i| match i {
                SourceItem::Reject(r) => Some(r),
                SourceItem::Record(_) => None,
            })
            .collect();
        assert_eq!(rejects.len(), 1);
        assert_eq!(rejects[0].position.row, Some(items.len() as u64 + 1));
        assert_eq!(rejects[0].position.column.as_deref(), Some("name"));
        assert!(
            rejects[0].reason.contains("declare the file's encoding"),
            "{}",
            rejects[0].reason
        );
    }

    #[test]
    fn redsalamander_samples_decode_to_the_same_thai_whatever_their_encoding() {
        let lines = |name: &str| -> (&'static str, Vec<String>) {
            let mut config = CsvConfig::new(format!("redsalamander-encoding-samples/{name}"));
            // One field per line: the samples are prose, not tables.
            config.delimiter = Some('\t');
            let encoding = config.sniff(&shared_data("")).expect("sniffs").encoding;
            let (header, rows, rejects) = read_all(&config);
            assert!(rejects.is_empty(), "{name}: {rejects:?}");
            let mut lines = header.names().to_vec();
            lines.extend(rows.iter().map(|r| text(r, 0).to_string()));
            (encoding.name(), lines)
        };
        let (tis_encoding, tis) = lines("tis-620.txt");
        let (cp874_encoding, cp874) = lines("windows-874.txt");
        let (utf8_encoding, utf8) = lines("utf8-bom.txt");
        let (utf16_encoding, utf16) = lines("utf16le-bom.txt");
        assert_eq!(
            [tis_encoding, cp874_encoding, utf8_encoding, utf16_encoding],
            ["windows-874", "windows-874", "UTF-8", "UTF-16LE"]
        );
        // The numbered lines of the two Thai code pages are the same text, and so are
        // the two Unicode files entirely.
        let numbered = |lines: &[String]| -> Vec<String> {
            lines
                .iter()
                .filter(|l| l.starts_with('0'))
                .cloned()
                .collect()
        };
        assert_eq!(numbered(&tis), numbered(&cp874));
        assert_eq!(numbered(&tis).len(), 5);
        assert_eq!(utf8, utf16);
        assert!(!utf8[0].starts_with('\u{feff}'));
        for lines in [&tis, &cp874, &utf8, &utf16] {
            assert!(
                lines.iter().any(|l| l.ends_with("Thai: สวัสดีชาวโลก")),
                "{lines:?}"
            );
        }
    }

    #[test]
    fn big5_latin1_and_invalid_utf8_are_refused_unless_declared() {
        for (name, guess) in [
            ("messytables-horror/characters.csv", "big5"),
            ("messytables-horror/spanish_chars.csv", "windows-1252"),
            ("csvlint-fixtures/invalid-byte-sequence.csv", "windows-1252"),
        ] {
            let err = match CsvConfig::new(name).open(&OpenContext::full(&shared_data(""))) {
                Err(e) => e.to_string(),
                Ok(_) => panic!("{name} opened without a declared encoding"),
            };
            assert_eq!(
                err,
                format!(
                    "{name} is not a readable CSV file: cannot tell its encoding: the first \
                     64 KiB are neither UTF-8 nor Thai TIS-620/Windows-874 text (they read \
                     best as {guess}); declare `encoding` (for instance \"{guess}\") if that \
                     is right"
                )
            );
        }
        let mut spanish = CsvConfig::new("messytables-horror/spanish_chars.csv");
        spanish.encoding = Some("latin1".into());
        let (header, rows, rejects) = read_all(&spanish);
        assert!(rejects.is_empty(), "{rejects:?}");
        assert_eq!(
            header.names().last().map(String::as_str),
            Some("Descripción")
        );
        let total = header.position("Gasto total 2011").expect("column");
        assert_eq!(text(&rows[0], total), "229,932.50");
        let mut brazilian = CsvConfig::new("csvlint-fixtures/invalid-byte-sequence.csv");
        brazilian.encoding = Some("windows-1252".into());
        let (header, rows, rejects) = read_all(&brazilian);
        assert!(rejects.is_empty(), "{rejects:?}");
        assert_eq!(header.names()[2], "Histórico");
        assert_eq!(header.names()[4], "Número do documento");
        assert!(!rows.is_empty());
        let mut big5 = CsvConfig::new("messytables-horror/characters.csv");
        big5.encoding = Some("big5".into());
        let (header, _, _) = read_all(&big5);
        assert_eq!(header.names()[2], "景點中文名稱");
    }

    #[test]
    fn delimiters_are_sniffed_unless_declared() {
        let sniffed = |name: &str| {
            CsvConfig::new(name)
                .sniff(&shared_data(""))
                .expect("sniffs")
                .delimiter
        };
        assert_eq!(sniffed("messytables-horror/simple.psv"), b'|');
        assert_eq!(sniffed("messytables-horror/simple.ssv"), b';');
        assert_eq!(sniffed("messytables-horror/example.tsv"), b'\t');
        assert_eq!(sniffed("csv-spectrum/csvs/comma_in_quotes.csv"), b',');
        assert_eq!(sniffed("kongvut-thai-province-data/districts.csv"), b',');
        // Title rows above the header do not throw the count off.
        assert_eq!(sniffed("messytables-horror/excel_pasting.csv"), b',');
        // A one-byte file has nothing to split: the default.
        assert_eq!(sniffed("messytables-horror/small.csv"), b',');
        let (header, rows, rejects) = read_all(&CsvConfig::new("messytables-horror/simple.ssv"));
        assert_eq!(header.names(), ["date", "temperature", "place"]);
        assert_eq!(rows.len(), 6);
        assert!(rejects.is_empty());
        let (header, _, _) = read_all(&CsvConfig::new("messytables-horror/simple.psv"));
        assert_eq!(header.names()[..2], ["Year", "New dwellings"]);
        let (header, rows, _) = read_all(&CsvConfig::new("messytables-horror/example.tsv"));
        assert_eq!(header.names().len(), 17);
        assert_eq!(text(&rows[0], 0), "2012-06-22 00:00:00");
        // A declared delimiter wins: the ; file is then one column.
        let mut declared = CsvConfig::new("messytables-horror/simple.ssv");
        declared.delimiter = Some(',');
        let (header, _, _) = read_all(&declared);
        assert_eq!(header.names(), ["date;temperature;place"]);
    }

    #[test]
    fn single_quotes_are_sniffed_only_when_plain() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("s.csv"), "'a;b';c\n'x;y';z\n").expect("write");
        let dialect = CsvConfig::new("s.csv").sniff(dir.path()).expect("sniffs");
        assert_eq!((dialect.delimiter, dialect.quote), (b';', b'\''));
        let items: Vec<_> = CsvConfig::new("s.csv")
            .open(&OpenContext::full(dir.path()))
            .expect("opens")
            .collect();
        match &items[0] {
            Ok(SourceItem::Record(r)) => {
                assert_eq!(r.header.names(), ["a;b", "c"]);
                assert_eq!(r.cells, [Cell::Text("x;y".into()), Cell::Text("z".into())]);
            }
            other => panic!("{other:?}"),
        }
        // With a double-quoted field anywhere, `"` stays, and so do apostrophes.
        std::fs::write(dir.path().join("d.csv"), "'a',\"b\"\nchildren's,x\n").expect("write");
        let dialect = CsvConfig::new("d.csv").sniff(dir.path()).expect("sniffs");
        assert_eq!(dialect.quote, b'"');
        let mut declared = CsvConfig::new("s.csv");
        declared.quote = Some('"');
        assert_eq!(declared.sniff(dir.path()).expect("sniffs").quote, b'"');
    }

    #[test]
    fn thai_is_told_from_latin1_and_big5() {
        let thai = encoding_rs::WINDOWS_874
            .encode("เด็กนอกระบบการศึกษา ๑,๒๓๔ คน อำเภอเมืองสงขลา")
            .0;
        assert_eq!(detect_encoding(&thai, true), Ok(encoding_rs::WINDOWS_874));
        let latin1 = encoding_rs::WINDOWS_1252.encode("Descripción, política").0;
        assert_eq!(
            detect_encoding(&latin1, true),
            Err(encoding_rs::WINDOWS_1252)
        );
        let big5 = encoding_rs::BIG5
            .encode("景點中文名稱,雲嘉南濱海國家風景區管理處")
            .0;
        assert_eq!(detect_encoding(&big5, true), Err(encoding_rs::BIG5));
        assert_eq!(
            detect_encoding(b"plain ascii", true),
            Ok(encoding_rs::UTF_8)
        );
    }

    #[test]
    fn an_unclosed_quote_is_one_reject_and_memory_stays_bounded() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut bytes = b"code,name\n90,ok\n91,\"never closed ".to_vec();
        bytes.extend(std::iter::repeat_n(b'x', 3 * MAX_CELL_BYTES));
        bytes.extend_from_slice(b"\n92,also swallowed\n");
        std::fs::write(dir.path().join("u.csv"), &bytes).expect("write");
        let mut records = CsvConfig::new("u.csv")
            .open_records(dir.path(), &Cancel::default())
            .expect("opens");
        let mut items = Vec::new();
        while records.read_next().expect("reads") {
            items.push(records.current_item());
            assert!(
                records.bytes.len() <= 4 * MAX_CELL_BYTES,
                "the buffer grew to {}",
                records.bytes.len()
            );
        }
        assert_eq!(items.len(), 2);
        assert!(matches!(&items[0], SourceItem::Record(r) if r.position.row == Some(2)));
        match &items[1] {
            SourceItem::Reject(r) => {
                assert_eq!(r.position.row, Some(3));
                assert_eq!(r.position.column.as_deref(), Some("name"));
                assert!(r.reason.contains("more than 1048576 bytes"), "{r}");
                assert!(r
                    .value
                    .as_deref()
                    .is_some_and(|v| v.starts_with("never closed")));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_oversize_cell_is_shown_in_the_files_encoding() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (thai, _, _) = encoding_rs::WINDOWS_874.encode("รหัส,ชื่อ\n90,\"ไม่ปิด ");
        let mut bytes = thai.into_owned();
        bytes.extend(std::iter::repeat_n(b'x', 2 * MAX_CELL_BYTES));
        std::fs::write(dir.path().join("t.csv"), &bytes).expect("write");
        let mut config = CsvConfig::new("t.csv");
        config.encoding = Some("tis-620".into());
        let items: Vec<SourceItem> = config
            .open(&OpenContext::full(dir.path()))
            .expect("opens")
            .map(|i| i.expect("reads"))
            .collect();
        match &items[..] {
            [SourceItem::Reject(r)] => {
                assert_eq!(r.position.column.as_deref(), Some("ชื่อ"));
                assert!(
                    r.value.as_deref().is_some_and(|v| v.starts_with("ไม่ปิด x")),
                    "{r}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rows_with_too_many_fields_are_refused_without_keeping_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut bytes = b"a,b\n".to_vec();
        bytes.extend(std::iter::repeat_n(b',', MAX_COLUMNS + 10));
        bytes.extend_from_slice(b"\n1,2\n");
        std::fs::write(dir.path().join("w.csv"), &bytes).expect("write");
        let items: Vec<SourceItem> = CsvConfig::new("w.csv")
            .open(&OpenContext::full(dir.path()))
            .expect("opens")
            .map(|i| i.expect("reads"))
            .collect();
        assert!(
            matches!(&items[0], SourceItem::Reject(r) if r.reason.contains("more than 16384 fields"))
        );
        assert!(matches!(&items[1], SourceItem::Record(r) if r.position.row == Some(3)));
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
        tsv.delimiter = Some('\t');
        let (header, rows, _) = read_all(&tsv);
        assert!(header.names().len() > 1);
        assert!(!rows.is_empty());
        let mut psv = CsvConfig::new("messytables-horror/simple.psv");
        psv.delimiter = Some('|');
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
            .open(&OpenContext::full(dir.path()))
            .err()
            .expect("error");
        assert!(
            err.to_string().contains("empty.csv: no header row"),
            "{err}"
        );
        let err = CsvConfig::new("missing.csv")
            .open(&OpenContext::full(dir.path()))
            .err()
            .expect("error");
        assert!(
            err.to_string().starts_with("cannot read missing.csv"),
            "{err}"
        );
        let mut bad = CsvConfig::new("empty.csv");
        bad.delimiter = Some('、');
        assert!(matches!(
            bad.open(&OpenContext::full(dir.path())),
            Err(SourceError::Config(_))
        ));
        bad.delimiter = Some(',');
        bad.encoding = Some("klingon".into());
        assert!(matches!(
            bad.open(&OpenContext::full(dir.path())),
            Err(SourceError::Config(_))
        ));
        bad.encoding = None;
        bad.quote = Some(',');
        assert!(matches!(
            bad.open(&OpenContext::full(dir.path())),
            Err(SourceError::Config(_))
        ));
        bad.quote = Some('“');
        assert!(matches!(
            bad.open(&OpenContext::full(dir.path())),
            Err(SourceError::Config(_))
        ));
    }

    #[test]
    fn ragged_rows_are_rejected_and_the_rest_reads() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("r.csv"), "a,b\n1,2\n3\n4,5,6\n7,8,\n9,10\n")
            .expect("write");
        let mut records = 0;
        let mut rejected_rows = Vec::new();
        for item in CsvConfig::new("r.csv")
            .open(&OpenContext::full(dir.path()))
            .expect("opens")
        {
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
        let items: Vec<_> = config
            .open(&OpenContext::full(dir.path()))
            .expect("opens")
            .collect();
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
