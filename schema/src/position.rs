//! Where a value came from in a source, and the reject that names it.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A place in a source: the file (or URL), the sheet for workbooks, the 1-based row as a
/// person sees it in a spreadsheet program, and the column by its header name.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourcePosition {
    /// File path or URL as written in the connector config.
    pub file: String,
    /// Sheet name, for workbooks.
    pub sheet: Option<String>,
    /// 1-based row number in the file or sheet (the header row counts).
    pub row: Option<u64>,
    /// Column header (or letter, when the source has no header).
    pub column: Option<String>,
}

impl SourcePosition {
    /// Row `row` of `file` (a file, URL or query without sheets).
    pub fn at_row(file: impl Into<String>, row: u64) -> Self {
        SourcePosition {
            file: file.into(),
            sheet: None,
            row: Some(row),
            column: None,
        }
    }

    /// The same position narrowed to one column.
    pub fn with_column(&self, column: impl Into<String>) -> Self {
        SourcePosition {
            column: Some(column.into()),
            ..self.clone()
        }
    }
}

impl fmt::Display for SourcePosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(sheet) = &self.sheet {
            write!(f, ", sheet \"{sheet}\"")?;
        }
        if let Some(row) = self.row {
            write!(f, ", row {row}")?;
        }
        if let Some(column) = &self.column {
            write!(f, ", column \"{column}\"")?;
        }
        Ok(())
    }
}

/// A source row that could not become a unified row, with the reason in plain words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reject {
    /// Where the bad value is.
    pub position: SourcePosition,
    /// The raw value as read, cut to a readable length.
    pub value: Option<String>,
    /// Why the row was refused.
    pub reason: String,
}

/// Longest raw value kept in a reject; a whole megabyte cell helps nobody.
pub const MAX_REJECT_VALUE_CHARS: usize = 200;

impl Reject {
    /// A reject at `position` for `reason`, keeping a readable prefix of `value`.
    pub fn new(position: SourcePosition, value: Option<&str>, reason: impl Into<String>) -> Self {
        let value = value.map(|v| {
            if v.chars().count() > MAX_REJECT_VALUE_CHARS {
                let mut cut: String = v.chars().take(MAX_REJECT_VALUE_CHARS).collect();
                cut.push('…');
                cut
            } else {
                v.to_string()
            }
        });
        Reject {
            position,
            value,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.position, self.reason)?;
        if let Some(v) = &self.value {
            write!(f, " (value \"{v}\")")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reject_display_names_every_part_of_the_position() {
        let pos = SourcePosition {
            file: "a.xlsx".into(),
            sheet: Some("2566".into()),
            row: Some(7),
            column: None,
        };
        let r = Reject::new(pos.with_column("จำนวน"), Some("abc"), "not a number");
        assert_eq!(
            r.to_string(),
            "a.xlsx, sheet \"2566\", row 7, column \"จำนวน\": not a number (value \"abc\")"
        );
    }

    #[test]
    fn reject_value_is_cut_to_a_readable_length() {
        let long = "ก".repeat(1000);
        let r = Reject::new(SourcePosition::default(), Some(&long), "too long");
        assert_eq!(r.value.unwrap().chars().count(), MAX_REJECT_VALUE_CHARS + 1);
    }
}
