//! What a connector loads into, described once. Each target (areas, schools,
//! observations, ...) is a typed row struct in `targets/` with its [`TargetDesc`]: the
//! table, its key and value columns with their SQL types and the mapping fields that fill
//! them, the unique index's column order and who owns a row. The mapping builds the row
//! from its fields ([`TargetRow::from_fields`]), the pipeline checks it against the
//! reference data ([`TargetRow::check`]) and the store derives its staging table, COPY,
//! merge and inserts from the description, reading values through
//! [`TargetRow::value`]. Nothing downstream knows a column by its position; a test
//! checks every description against the migrated tables of both databases.

use crate::{Reject, Target};

/// The SQL type of a target column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// Text (`TEXT`).
    Text,
    /// A floating-point number (`DOUBLE PRECISION`).
    Real,
}

impl ColumnType {
    /// The type as both databases spell it in a staging table.
    pub fn sql(self) -> &'static str {
        match self {
            ColumnType::Text => "TEXT",
            ColumnType::Real => "DOUBLE PRECISION",
        }
    }
}

/// One column of a target table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// Column name in the database.
    pub name: &'static str,
    /// The mapping field that fills it (`area` fills `area_code`); `None` for a column
    /// derived from others (an area's level and parent, an observation's breakdown).
    pub field: Option<&'static str>,
    /// SQL type.
    pub ty: ColumnType,
    /// Part of the natural key (else a value compared to tell "updated" from
    /// "unchanged").
    pub key: bool,
    /// A mapping must give the field.
    pub required: bool,
}

impl Column {
    /// A key column filled by the mapping field `field`.
    pub const fn key(name: &'static str, field: Option<&'static str>, required: bool) -> Self {
        Column {
            name,
            field,
            ty: ColumnType::Text,
            key: true,
            required,
        }
    }

    /// A text value column filled by `field`.
    pub const fn text(name: &'static str, field: Option<&'static str>, required: bool) -> Self {
        Column {
            name,
            field,
            ty: ColumnType::Text,
            key: false,
            required,
        }
    }

    /// A number value column filled by `field`.
    pub const fn real(name: &'static str, field: Option<&'static str>, required: bool) -> Self {
        Column {
            name,
            field,
            ty: ColumnType::Real,
            key: false,
            required,
        }
    }

    /// The name a person reads for this column: its mapping field, or the column.
    pub fn label(&self) -> &'static str {
        self.field.unwrap_or(self.name)
    }
}

/// Who may change a row of a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ownership {
    /// Rows belong to the connector that loaded them; the key includes the connector, a
    /// full refresh deletes the connector's rows that its source no longer has.
    Connector,
    /// Shared reference data: any connector inserts and updates rows by key, none are
    /// deleted, and each row remembers the connector that last wrote it.
    Shared,
}

/// The one description of a target table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetDesc {
    /// The target it describes.
    pub target: Target,
    /// Table name.
    pub table: &'static str,
    /// Columns in row order: the key columns, then the value columns.
    pub columns: &'static [Column],
    /// The unique index's column order (the connector, for connector-owned rows, comes
    /// last): loading in this order fills the index sequentially.
    pub index_order: &'static [&'static str],
    /// Who may change a row.
    pub ownership: Ownership,
    /// Whether the mapping may give a breakdown (dimension = value pairs).
    pub breakdown: bool,
    /// Rows are kept for history: on a full refresh, a connector's rows its source no
    /// longer has are retired (`retired_on` set, `retired_by` empty) rather than kept in
    /// force, and brought back when the source has them again. Counted as deleted.
    pub retires: bool,
    /// Fields of which a mapping must give at least one (an observation's area or
    /// school); empty when none is asked for.
    pub one_of: &'static [&'static str],
}

impl TargetDesc {
    /// The key columns, in row order.
    pub fn key_columns(&self) -> impl Iterator<Item = &'static Column> {
        self.columns.iter().filter(|c| c.key)
    }

    /// The value columns, in row order.
    pub fn value_columns(&self) -> impl Iterator<Item = &'static Column> {
        self.columns.iter().filter(|c| !c.key)
    }

    /// Names of the mapping fields this target takes, in row order.
    pub fn fields(&self) -> impl Iterator<Item = &'static str> {
        self.columns.iter().filter_map(|c| c.field)
    }

    /// Names of the fields a mapping must give.
    pub fn required_fields(&self) -> impl Iterator<Item = &'static str> {
        self.columns
            .iter()
            .filter(|c| c.required)
            .filter_map(|c| c.field)
    }

    /// The column a mapping field fills.
    pub fn column_of_field(&self, field: &str) -> Option<&'static Column> {
        self.columns.iter().find(|c| c.field == Some(field))
    }
}

/// A value of a row's column, borrowed from the row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    /// Text, or NULL.
    Text(Option<&'a str>),
    /// A number, or NULL.
    Real(Option<f64>),
}

impl Value<'_> {
    /// The value as a person reads it: numbers as Rust writes them, NULL as empty.
    pub fn to_text(self) -> String {
        match self {
            Value::Text(t) => t.unwrap_or_default().to_string(),
            Value::Real(r) => r.map(|v| v.to_string()).unwrap_or_default(),
        }
    }
}

/// The fields of one mapped row, evaluated on demand: a row type asks for the fields it
/// needs, in the order it needs them, so the first bad field is the one reported.
pub trait Fields {
    /// The field's text after the mapping's transforms and default; `None` when blank
    /// or not mapped. A transform that fails is a reject at the field's column.
    fn get(&mut self, field: &'static str) -> Result<Option<String>, Reject>;

    /// The breakdown pairs (dimension, value), blank values left out.
    fn breakdown(&mut self) -> Result<Vec<(String, String)>, Reject>;

    /// A reject about `field`'s value, placed at the source column that fills it; an
    /// empty `field` is about the row as a whole.
    fn reject(&self, field: &str, value: Option<&str>, reason: String) -> Reject;

    /// The field's text, or a reject saying it is blank.
    fn required(&mut self, field: &'static str) -> Result<String, Reject> {
        match self.get(field)? {
            Some(text) => Ok(text),
            None => Err(self.reject(field, None, format!("{field} is blank"))),
        }
    }
}

/// What a row is checked against before it loads: the hub's reference tables, and the
/// areas loaded earlier in the same run (so a district may follow its province).
pub trait References {
    /// Whether the area is known (loaded before, or earlier in this run).
    fn has_area(&self, code: &str) -> bool;
    /// Remembers an area this run loads.
    fn add_area(&mut self, code: &str);
    /// Whether the indicator is in the catalogue.
    fn has_indicator(&self, code: &str) -> bool;
    /// The area of a known school.
    fn school_area(&self, code: &str) -> Option<&str>;
    /// The day the read started: periods more than a year after it are refused.
    fn today(&self) -> chrono::NaiveDate;
    /// The code of the topic named `name` (its code, Thai or English name).
    fn topic(&self, name: &str) -> Option<&str>;
    /// Whether the agency is known.
    fn has_agency(&self, code: &str) -> bool;
}

/// Why a row does not agree with the reference data: the field at fault, its value and
/// the reason; the caller places it at the field's source column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// Mapping field at fault.
    pub field: &'static str,
    /// The value it holds.
    pub value: String,
    /// Why it is refused.
    pub reason: String,
}

/// Checks that the area a row points at through `field` is known.
pub fn known_area(
    references: &impl References,
    field: &'static str,
    code: &str,
) -> Result<(), FieldError> {
    if references.has_area(code) {
        Ok(())
    } else {
        Err(FieldError {
            field,
            value: code.to_string(),
            reason: format!("area {code} is not known"),
        })
    }
}

/// A typed row of a target: built by the mapping, checked by the pipeline, loaded by
/// the store through its [`TargetDesc`].
pub trait TargetRow: Sized + Send + Sync + 'static {
    /// The table this row loads into.
    const DESC: &'static TargetDesc;

    /// Builds the row from the mapped fields; a missing or malformed field is a reject.
    fn from_fields(fields: &mut impl Fields) -> Result<Self, Reject>;

    /// Checks the row against the reference data, filling what follows from it (a
    /// school observation takes its school's area).
    fn check(&mut self, references: &mut impl References) -> Result<(), FieldError>;

    /// The value of `DESC.columns[column]`.
    fn value(&self, column: usize) -> Value<'_>;
}

/// Calls `$body` with `$row` bound to the row type of `$target` (a [`Target`]), so that
/// code generic over [`TargetRow`] runs for a target chosen at run time. The list of
/// targets and their row types lives here and nowhere else.
#[macro_export]
macro_rules! with_target_row {
    ($target:expr, $row:ident => $body:expr) => {
        match $target {
            $crate::Target::Areas => {
                type $row = $crate::AreaRow;
                $body
            }
            $crate::Target::Schools => {
                type $row = $crate::SchoolRow;
                $body
            }
            $crate::Target::Observations => {
                type $row = $crate::ObservationRow;
                $body
            }
            $crate::Target::Resources => {
                type $row = $crate::ResourceRow;
                $body
            }
            $crate::Target::Problems => {
                type $row = $crate::ProblemRow;
                $body
            }
        }
    };
}

impl Target {
    /// The description of this target's table.
    pub fn desc(self) -> &'static TargetDesc {
        with_target_row!(self, Row => Row::DESC)
    }

    /// Targets in the order a province loads: reference data first, so that the rows
    /// that point at it find it.
    pub fn load_order(self) -> u8 {
        match self {
            Target::Areas => 0,
            Target::Schools => 1,
            Target::Observations => 2,
            Target::Resources => 3,
            Target::Problems => 4,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_description_names_its_target_and_orders_key_before_values() {
        for target in Target::ALL {
            let desc = target.desc();
            assert_eq!(desc.target, *target);
            let first_value = desc.columns.iter().position(|c| !c.key);
            if let Some(first_value) = first_value {
                assert!(
                    desc.columns[first_value..].iter().all(|c| !c.key),
                    "{target}: key columns come first"
                );
            }
            for name in desc.index_order {
                let known = desc.columns.iter().any(|c| c.name == *name)
                    || (*name == "connector" && desc.ownership == Ownership::Connector);
                assert!(known, "{target}: index column {name}");
            }
            assert_eq!(
                desc.index_order.len(),
                desc.key_columns().count() + usize::from(desc.ownership == Ownership::Connector),
                "{target}: the index covers the key"
            );
            for field in desc.one_of {
                assert!(desc.column_of_field(field).is_some(), "{target}: {field}");
            }
        }
    }
}
