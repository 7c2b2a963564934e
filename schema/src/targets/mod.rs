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
