//! A raw row from a source: cells by position, a shared header, and where it came from.

use abe_schema::SourcePosition;
use std::collections::HashMap;
use std::sync::Arc;

/// The header of a table: column names in order, with a lookup by name.
#[derive(Debug, Clone, PartialEq)]
pub struct Header {
    names: Vec<String>,
    index: HashMap<String, usize>,
}

impl Header {
    /// Builds a header; names are trimmed, and a repeated name keeps its first column.
    pub fn new(names: Vec<String>) -> Self {
        let names: Vec<String> = names
            .into_iter()
            .map(|n| abe_schema::thai::trim_thai(&n).to_string())
            .collect();
        let mut index = HashMap::with_capacity(names.len());
        for (i, name) in names.iter().enumerate() {
            index.entry(name.clone()).or_insert(i);
        }
        Header { names, index }
    }

    /// Column names in order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Position of a column by name.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.index.get(name).copied()
    }
}

/// A cell as read: text, or an error value a spreadsheet stored (`#DIV/0!`).
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Text (numbers and dates already written as text).
    Text(String),
    /// A spreadsheet error value.
    Error(String),
}

impl Cell {
    /// An empty text cell.
    pub fn empty() -> Self {
        Cell::Text(String::new())
    }
}

/// One source row.
#[derive(Debug, Clone)]
pub struct Record {
    /// File, sheet and row (no column).
    pub position: SourcePosition,
    /// Header shared by all rows of the table.
    pub header: Arc<Header>,
    /// Cells by column position; may be shorter than the header.
    pub cells: Vec<Cell>,
}

impl Record {
    /// True when every cell is blank: such rows are skipped, not rejected.
    pub fn is_blank(&self) -> bool {
        self.cells.iter().all(|c| match c {
            Cell::Text(t) => abe_schema::thai::trim_thai(t).is_empty(),
            Cell::Error(_) => false,
        })
    }
}
