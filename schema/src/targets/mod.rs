//! The targets connectors load into, one file each: the typed row, its description,
//! how it is built from mapped fields and checked against the reference data. A new
//! target is a file here, a variant of [`Target`](crate::Target), an arm of
//! [`with_target_row!`](crate::with_target_row), a migration pair and a gateway type.

mod areas;
mod observations;
mod problems;
mod resources;
mod schools;

pub use areas::AreaRow;
pub use observations::ObservationRow;
pub use problems::ProblemRow;
pub use resources::ResourceRow;
pub use schools::SchoolRow;

use crate::period::parse_date;
use crate::registry::{join_list, split_list};
use crate::{FieldError, Fields, References, Reject};

/// A vocabulary word as a sheet writes it: trimmed, in any case.
pub(crate) fn plain_word<T: std::str::FromStr>(text: &str) -> Option<T> {
    text.trim().to_lowercase().parse().ok()
}

/// A date field read as Thai files write it (BE or CE), stored as an ISO date.
pub(crate) fn date_field(
    fields: &mut impl Fields,
    field: &'static str,
) -> Result<Option<String>, Reject> {
    match fields.get(field)? {
        None => Ok(None),
        Some(raw) => parse_date(&raw)
            .map(|d| Some(d.format("%Y-%m-%d").to_string()))
            .map_err(|e| fields.reject(field, Some(&raw), format!("{field} is {e}"))),
    }
}

/// A vocabulary field: blank is none, an unknown word a reject naming the choices.
pub(crate) fn word_field<T: Copy + std::fmt::Display>(
    fields: &mut impl Fields,
    field: &'static str,
    all: &[T],
    read: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, Reject> {
    match fields.get(field)? {
        None => Ok(None),
        Some(raw) => match read(&raw) {
            Some(word) => Ok(Some(word)),
            None => {
                let choices: Vec<String> = all.iter().map(ToString::to_string).collect();
                Err(fields.reject(
                    field,
                    Some(&raw),
                    format!("{field} \"{raw}\" is not one of {}", choices.join(", ")),
                ))
            }
        },
    }
}

/// Resolves each topic of a stored list through the references.
pub(crate) fn resolve_topics(
    references: &impl References,
    field: &'static str,
    topics: &str,
) -> Result<String, FieldError> {
    let mut codes = Vec::new();
    for name in split_list(topics) {
        match references.topic(name) {
            Some(code) => codes.push(code.to_string()),
            None => {
                return Err(FieldError {
                    field,
                    value: name.to_string(),
                    reason: format!("topic \"{name}\" is not in the topic list"),
                })
            }
        }
    }
    codes.sort();
    codes.dedup();
    Ok(join_list(codes.iter().map(String::as_str)))
}

#[cfg(test)]
pub(crate) mod testing {
    //! Checks shared by the targets' tests.

    use crate::{ColumnType, TargetRow, Value};

    /// Every value of `row` has the type its column declares.
    pub fn values_match_description<R: TargetRow>(row: &R) {
        for (i, column) in R::DESC.columns.iter().enumerate() {
            let matches = matches!(
                (column.ty, row.value(i)),
                (ColumnType::Text, Value::Text(_)) | (ColumnType::Real, Value::Real(_))
            );
            assert!(matches, "{}.{}", R::DESC.table, column.name);
        }
    }
}
