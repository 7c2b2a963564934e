//! A row entered through the API (a resource, a problem), built and checked exactly as
//! a connector's row is: the same [`TargetRow::from_fields`] and
//! [`TargetRow::check`] against the same reference tables, so a steward's sheet and a
//! form refuse the same values with the same words.

use crate::read::{ReadReferences, ReferenceData};
use abe_schema::{FieldError, Fields, Reject, SourcePosition, TargetRow};
use abe_store::{Store, StoreError};
use std::collections::BTreeMap;

/// Why an entered row was refused: the field at fault and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
pub struct EntryError {
    /// The input field at fault; empty when about the entry as a whole.
    pub field: String,
    /// Why, in plain words.
    pub reason: String,
}

/// The input's fields by their mapping names.
struct EntryFields<'a>(&'a BTreeMap<&'static str, String>);

impl Fields for EntryFields<'_> {
    fn get(&mut self, field: &'static str) -> Result<Option<String>, Reject> {
        Ok(self
            .0
            .get(field)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
            .map(str::to_string))
    }

    fn breakdown(&mut self) -> Result<Vec<(String, String)>, Reject> {
        Ok(Vec::new())
    }

    fn reject(&self, field: &str, value: Option<&str>, reason: String) -> Reject {
        Reject::new(
            SourcePosition {
                file: "input".into(),
                column: Some(field.to_string()),
                ..SourcePosition::default()
            },
            value,
            reason,
        )
    }
}

/// Builds and checks a `R` from `input` (mapping field name to text).
pub async fn check_entry<R: TargetRow>(
    store: &Store,
    input: &BTreeMap<&'static str, String>,
) -> Result<Result<R, EntryError>, StoreError> {
    let mut row = match R::from_fields(&mut EntryFields(input)) {
        Ok(row) => row,
        Err(reject) => {
            return Ok(Err(EntryError {
                field: reject.position.column.unwrap_or_default(),
                reason: reject.reason,
            }))
        }
    };
    let data = ReferenceData::load_with_names(store, false).await?;
    let mut references = ReadReferences::new(&data, chrono::Utc::now().date_naive());
    Ok(match row.check(&mut references) {
        Ok(()) => Ok(row),
        Err(FieldError { field, reason, .. }) => Err(EntryError {
            field: field.to_string(),
            reason,
        }),
    })
}
