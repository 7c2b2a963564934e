//! The declarative mapping: which source column (or constant, or concatenation of
//! both) feeds each field of a target row, through which transforms; and how a wide
//! table is unpivoted into one row per column. A mapping is checked once against its
//! target's description when the config loads, and against each header when a table
//! starts; each row is then built by the target's own type
//! ([`TargetRow::from_fields`]), asking for the fields it needs. Reference data some
//! transforms need (area names) comes with each call in [`RefData`].
//!
//! ```toml
//! [connectors.mapping]
//! unpivot = { columns_matching = "25##", name = "year", value = "count" }
//!
//! [connectors.mapping.fields]
//! indicator = { const = "enrolled_children" }
//! area = { column = "ตำบล", transforms = [{ area_name = { within = ["=ยะลา", "อำเภอ"] } }] }
//! period = { column = "year", transforms = ["academic_year"] }
//! value = { column = "count", transforms = [{ null_if = ["N/A", "ไม่มีข้อมูล"] }, "number"] }
//! ```

mod config;
mod transform;
mod unpivot;

pub use config::{
    Aggregate, AreaNameOptions, FieldProblem, FieldSpec, MappingConfig, OnMissing, SkipProblem,
    SkipRule, Unpivot, UnpivotProblem,
};
pub use transform::Transform;

use crate::{Cell, Header, Record};
use abe_schema::thai::{area_code_from_any, trim_thai, AreaNames};
use abe_schema::{AreaLevel, Code, ColumnType, ErrorCode, Fields, Reject, Target, TargetRow};
use std::borrow::Cow;

/// Why a mapping does not fit its target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MappingError {
    /// A field the target does not have.
    #[error("mapping field \"{field}\" is not a field of {target} (known: {known})")]
    UnknownField {
        /// The field as written.
        field: String,
        /// The target.
        target: Target,
        /// The target's fields, listed.
        known: String,
    },
    /// A field the target needs is not mapped.
    #[error("mapping for {target} needs the field \"{field}\"")]
    MissingField {
        /// The missing field.
        field: &'static str,
        /// The target.
        target: Target,
    },
    /// None of the fields of which the target needs one is mapped.
    #[error("mapping for {target} needs the field {fields}")]
    NeedsOneOf {
        /// The target.
        target: Target,
        /// The fields, listed (`"area" or "school"`).
        fields: String,
    },
    /// A breakdown for a target that has none.
    #[error("a breakdown does not apply to {target}")]
    BreakdownNotAllowed {
        /// The target.
        target: Target,
    },
    /// A field's spec is wrong.
    #[error("field \"{field}\" {problem}")]
    Field {
        /// The field.
        field: String,
        /// What is wrong.
        problem: FieldProblem,
    },
    /// The unpivot is wrong.
    #[error("{0}")]
    Unpivot(UnpivotProblem),
    /// A skip rule is wrong.
    #[error("{0}")]
    Skip(SkipProblem),
    /// `aggregate` for a target without numbers.
    #[error("aggregate adds up values, and {target} have none")]
    NothingToAggregate {
        /// The target.
        target: Target,
    },
    /// `aggregate = "count"` with the counted field mapped too.
    #[error(
        "aggregate = \"count\" gives \"{field}\" (the number of rows); remove its mapping, \
         or use aggregate = \"sum\" to add it up"
    )]
    CountedField {
        /// The field.
        field: String,
    },
}

impl ErrorCode for MappingError {
    fn error_code(&self) -> Code {
        Code::BadInput
    }
}

/// Why a table's header does not fit the mapping.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// A column the mapping reads is not in the header.
    #[error("column \"{column}\" is not in the header (columns: {columns})")]
    MissingColumn {
        /// The column.
        column: String,
        /// The header's columns, listed.
        columns: String,
    },
    /// An unpivot's virtual column has the name of a real one.
    #[error(
        "the unpivot's column \"{column}\" is also a column of the header; give the unpivot's \
         column another name"
    )]
    VirtualColumnClash {
        /// The column.
        column: String,
    },
    /// A listed wide column is not in the header.
    #[error("unpivot column \"{column}\" is not in the header (columns: {columns})")]
    MissingWideColumn {
        /// The column.
        column: String,
        /// The header's columns, listed.
        columns: String,
    },
    /// No header matches the unpivot's pattern.
    #[error(
        "no column of the header matches the unpivot pattern \"{pattern}\" (columns: {columns})"
    )]
    NoWideColumn {
        /// The pattern.
        pattern: String,
        /// The header's columns, listed.
        columns: String,
    },
}

impl ErrorCode for HeaderError {
    fn error_code(&self) -> Code {
        Code::SourceInvalid
    }
}

/// Reference data that transforms resolve values against, loaded by the caller (the
/// pipeline, from the hub's tables) once per run.
#[derive(Debug, Clone, Default)]
pub struct RefData {
    /// Area names for the `area_name` transform.
    pub area_names: AreaNames,
}

/// Why a transform failed: a reason about the field's own value, or a whole reject
/// about another cell (the enclosing area of an `area_name`).
enum Failure {
    Value(String),
    Reject(Reject),
}

/// One output row being mapped: the record, and for an unpivot the wide column it is
/// about.
struct Row<'a> {
    record: &'a Record,
    refs: &'a RefData,
    wide: Option<usize>,
}

/// A checked mapping for one target.
#[derive(Debug, Clone)]
pub struct Mapping {
    target: Target,
    config: MappingConfig,
}

impl Mapping {
    /// Checks `config` against `target`'s description: known and required fields, one
    /// source per field, lookups that exist, transform and unpivot options that make
    /// sense.
    pub fn new(target: Target, config: MappingConfig) -> Result<Self, MappingError> {
        let desc = target.desc();
        for name in config.fields.keys() {
            if desc.column_of_field(name).is_none() {
                return Err(MappingError::UnknownField {
                    field: name.clone(),
                    target,
                    known: desc.fields().collect::<Vec<_>>().join(", "),
                });
            }
        }
        // The fields of number columns: what `aggregate` adds up or counts.
        let numbers: Vec<&str> = desc
            .value_columns()
            .filter(|c| c.ty == ColumnType::Real)
            .filter_map(|c| c.field)
            .collect();
        match config.aggregate {
            Some(_) if numbers.is_empty() => {
                return Err(MappingError::NothingToAggregate { target })
            }
            Some(Aggregate::Count) => {
                if let Some(field) = numbers.iter().find(|f| config.fields.contains_key(**f)) {
                    return Err(MappingError::CountedField {
                        field: (*field).to_string(),
                    });
                }
            }
            _ => {}
        }
        let counted = config.aggregate == Some(Aggregate::Count);
        if let Some(field) = desc
            .required_fields()
            .filter(|f| !(counted && numbers.contains(f)))
            .find(|f| !config.fields.contains_key(*f))
        {
            return Err(MappingError::MissingField { field, target });
        }
        if !desc.one_of.is_empty() && !desc.one_of.iter().any(|f| config.fields.contains_key(*f)) {
            let listed: Vec<String> = desc.one_of.iter().map(|f| format!("\"{f}\"")).collect();
            return Err(MappingError::NeedsOneOf {
                target,
                fields: listed.join(" or "),
            });
        }
        if !desc.breakdown && !config.breakdown.is_empty() {
            return Err(MappingError::BreakdownNotAllowed { target });
        }
        config.check()?;
        Ok(Mapping { target, config })
    }

    /// The target this mapping fills.
    pub fn target(&self) -> Target {
        self.target
    }

    /// The mapping as written.
    pub fn config(&self) -> &MappingConfig {
        &self.config
    }

    /// The source column that fills `field`, if it comes from one real column. Fields
    /// from a constant, a concatenation or an unpivot's virtual column (whose real
    /// column changes from row to row) have none.
    pub fn column_of(&self, field: &str) -> Option<&str> {
        self.config
            .fields
            .get(field)
            .and_then(|s| s.column.as_deref())
            .filter(|c| !self.is_virtual(c))
    }

    /// True when some field resolves area names, so [`RefData::area_names`] must be
    /// loaded for [`Mapping::map_with`].
    pub fn needs_area_names(&self) -> bool {
        self.specs()
            .flat_map(|s| &s.transforms)
            .any(|t| matches!(t, Transform::AreaName(_)))
    }

    fn specs(&self) -> impl Iterator<Item = &FieldSpec> {
        self.config
            .fields
            .values()
            .chain(self.config.breakdown.values())
    }

    fn is_virtual(&self, column: &str) -> bool {
        self.config
            .unpivot
            .as_ref()
            .is_some_and(|u| u.name == column || u.value == column)
    }

    /// Real columns the specs read by name (an unpivot's own columns aside).
    fn named_columns(&self) -> impl Iterator<Item = &str> {
        self.specs()
            .flat_map(|spec| {
                let column = spec.column.iter().map(String::as_str);
                let concat = spec.concat.iter().flatten().map(String::as_str);
                let within = spec.transforms.iter().flat_map(|t| match t {
                    Transform::AreaName(options) => options.within.as_slice(),
                    _ => &[],
                });
                column.chain(concat).chain(within.map(String::as_str))
            })
            .chain(self.config.skip_if.iter().map(|rule| rule.column.as_str()))
            .filter(|c| !c.starts_with('=') && !self.is_virtual(c))
    }

    /// The first skip rule `record` fits, if any: the record is left out unmapped.
    pub fn skipped_by(&self, record: &Record) -> Option<&SkipRule> {
        self.config.skip_if.iter().find(|rule| {
            let cell = record
                .header
                .position(&rule.column)
                .and_then(|i| record.cells.get(i));
            match cell {
                Some(Cell::Text(text)) => rule.skips(Some(text)),
                Some(Cell::Error(_)) => rule.skips(None),
                // A short row lacks the cell: it is blank.
                None => rule.skips(Some("")),
            }
        })
    }

    /// Columns the mapping reads by name, each once: what a source looks for to find
    /// its header row.
    pub fn source_columns(&self) -> Vec<String> {
        let mut columns: Vec<String> = Vec::new();
        let unpivot = self.config.unpivot.iter().flat_map(|u| &u.columns);
        for column in self.named_columns().chain(unpivot.map(String::as_str)) {
            if !columns.iter().any(|c| c == column) {
                columns.push(column.to_string());
            }
        }
        columns
    }

    /// Checks that every column the mapping reads is in `header`, and that the
    /// unpivot finds its wide columns there.
    pub fn check_header(&self, header: &Header) -> Result<(), HeaderError> {
        let columns = || header_list(header);
        for column in self.named_columns() {
            if header.position(column).is_none() {
                return Err(HeaderError::MissingColumn {
                    column: column.to_string(),
                    columns: columns(),
                });
            }
        }
        let Some(unpivot) = &self.config.unpivot else {
            return Ok(());
        };
        for virtual_column in [&unpivot.name, &unpivot.value] {
            if header.position(virtual_column).is_some() {
                return Err(HeaderError::VirtualColumnClash {
                    column: virtual_column.clone(),
                });
            }
        }
        for column in &unpivot.columns {
            if header.position(column).is_none() {
                return Err(HeaderError::MissingWideColumn {
                    column: column.clone(),
                    columns: columns(),
                });
            }
        }
        if let Some(pattern) = &unpivot.columns_matching {
            if self.wide_columns(unpivot, header).is_empty() {
                return Err(HeaderError::NoWideColumn {
                    pattern: pattern.clone(),
                    columns: columns(),
                });
            }
        }
        Ok(())
    }

    fn wide_columns(&self, unpivot: &Unpivot, header: &Header) -> Vec<usize> {
        let named: Vec<&str> = self.named_columns().collect();
        unpivot::wide_columns(unpivot, header, &named)
    }

    /// Maps one record without reference data: see [`Mapping::map_with`]. A mapping
    /// that resolves area names rejects every row this way.
    pub fn map<R: TargetRow>(&self, record: &Record) -> Vec<Result<R, Reject>> {
        self.map_with(record, &RefData::default())
    }

    /// Maps one record into its target rows: one row, or with an unpivot one per wide
    /// column (none for blank cells with `skip_blank`). Each row is mapped or rejected
    /// on its own, so one bad cell of a wide table rejects only its row. `R` is the row
    /// type of the mapping's target.
    pub fn map_with<R: TargetRow>(
        &self,
        record: &Record,
        refs: &RefData,
    ) -> Vec<Result<R, Reject>> {
        debug_assert_eq!(R::DESC.target, self.target, "mapped into another target");
        let Some(unpivot) = &self.config.unpivot else {
            return vec![self.map_row(&Row {
                record,
                refs,
                wide: None,
            })];
        };
        self.wide_columns(unpivot, &record.header)
            .into_iter()
            .filter(|&i| {
                !unpivot.skip_blank
                    || match record.cells.get(i) {
                        Some(Cell::Text(text)) => !trim_thai(text).is_empty(),
                        Some(Cell::Error(_)) => true,
                        None => false,
                    }
            })
            .map(|i| {
                self.map_row(&Row {
                    record,
                    refs,
                    wide: Some(i),
                })
            })
            .collect()
    }

    fn map_row<R: TargetRow>(&self, row: &Row<'_>) -> Result<R, Reject> {
        R::from_fields(&mut RowFields { mapping: self, row })
    }

    /// A reject about a field's value, at the field's source column.
    fn field_reject(
        &self,
        row: &Row<'_>,
        field: &str,
        value: Option<&str>,
        reason: String,
    ) -> Reject {
        let column = self
            .config
            .fields
            .get(field)
            .and_then(|s| self.source_column(s, row));
        self.reject(row, column.as_deref(), value, reason)
    }

    /// The real header a spec reads, for rejects: the column (for an unpivot's virtual
    /// column, the wide column's header), or the columns of a concat joined by " + ".
    fn source_column(&self, spec: &FieldSpec, row: &Row<'_>) -> Option<String> {
        if let Some(column) = &spec.column {
            return Some(self.real_column(row, column));
        }
        let parts: Vec<String> = spec
            .concat
            .iter()
            .flatten()
            .filter(|p| !p.starts_with('='))
            .map(|p| self.real_column(row, p))
            .collect();
        (!parts.is_empty()).then(|| parts.join(" + "))
    }

    fn real_column(&self, row: &Row<'_>, column: &str) -> String {
        match (row.wide, self.is_virtual(column)) {
            (Some(i), true) => row
                .record
                .header
                .names()
                .get(i)
                .cloned()
                .unwrap_or_else(|| column.to_string()),
            _ => column.to_string(),
        }
    }

    /// The text of a column of the row (real or virtual), or a reject for a
    /// spreadsheet error in it. A column the record is too short for is blank.
    fn read<'r>(&self, row: &Row<'r>, column: &str) -> Result<Cow<'r, str>, Reject> {
        let unpivot = self.config.unpivot.as_ref();
        let index = match (row.wide, unpivot) {
            (Some(i), Some(u)) if u.name == column => {
                return Ok(row
                    .record
                    .header
                    .names()
                    .get(i)
                    .map_or(Cow::Borrowed(""), |name| Cow::Borrowed(name.as_str())))
            }
            (Some(i), Some(u)) if u.value == column => Some(i),
            _ => row.record.header.position(column),
        };
        match index.and_then(|i| row.record.cells.get(i)) {
            Some(Cell::Text(text)) => Ok(Cow::Borrowed(text)),
            Some(Cell::Error(error)) => Err(self.reject(
                row,
                Some(&self.real_column(row, column)),
                Some(error),
                format!("the cell holds the spreadsheet error {error}"),
            )),
            None => Ok(Cow::Borrowed("")),
        }
    }

    /// The field's value after transforms; `None` when blank and without default.
    fn evaluate(&self, spec: &FieldSpec, row: &Row<'_>) -> Result<Option<String>, Reject> {
        let raw: Cow<'_, str> = match (&spec.column, &spec.constant, &spec.concat) {
            (Some(column), _, _) => self.read(row, column)?,
            (None, Some(constant), _) => Cow::Borrowed(constant),
            (None, None, Some(parts)) => Cow::Owned(self.concat(spec, parts, row)?),
            (None, None, None) => Cow::Borrowed(""),
        };
        // The raw text stays for a reject's message; the first transform reads it.
        let mut value: Cow<'_, str> = Cow::Borrowed(&raw);
        for transform in &spec.transforms {
            let applied = match transform {
                Transform::AreaName(options) => self.area_name(options, &value, row),
                other => other
                    .apply(&value, &self.config.lookups)
                    .map_err(Failure::Value),
            };
            value = match applied {
                Ok(v) => Cow::Owned(v),
                Err(Failure::Value(reason)) => {
                    let column = self.source_column(spec, row);
                    return Err(self.reject(row, column.as_deref(), Some(&raw), reason));
                }
                Err(Failure::Reject(reject)) => return Err(reject),
            };
        }
        if trim_thai(&value).is_empty() {
            return Ok(spec.default.clone());
        }
        Ok(Some(value.into_owned()))
    }

    /// The texts of a concat's parts joined; blank when every column in it is blank, so
    /// that `default` still applies.
    fn concat(&self, spec: &FieldSpec, parts: &[String], row: &Row<'_>) -> Result<String, Reject> {
        let mut texts = Vec::with_capacity(parts.len());
        let mut any_column_filled = false;
        let mut any_column = false;
        for part in parts {
            match part.strip_prefix('=') {
                Some(literal) => texts.push(Cow::Borrowed(literal)),
                None => {
                    let text = self.read(row, part)?;
                    any_column = true;
                    any_column_filled |= !trim_thai(&text).is_empty();
                    texts.push(text);
                }
            }
        }
        Ok(if any_column && !any_column_filled {
            String::new()
        } else {
            texts.join(spec.separator.as_deref().unwrap_or(""))
        })
    }

    /// Resolves an area name inside the areas its `within` columns name, outermost
    /// first; a bad enclosing area is a reject at its own column.
    fn area_name(
        &self,
        options: &AreaNameOptions,
        value: &str,
        row: &Row<'_>,
    ) -> Result<String, Failure> {
        let blank = trim_thai(value).is_empty();
        if blank && !options.blank_is_enclosing {
            return Ok(String::new());
        }
        let names = &row.refs.area_names;
        if names.is_empty() {
            return Err(Failure::Value(
                "no area names are loaded to resolve the name against; load the areas first".into(),
            ));
        }
        let mut scope: Option<String> = None;
        for entry in &options.within {
            let (text, column) = match entry.strip_prefix('=') {
                Some(literal) => (Cow::Borrowed(literal), None),
                None => (
                    self.read(row, entry).map_err(Failure::Reject)?,
                    Some(self.real_column(row, entry)),
                ),
            };
            if trim_thai(&text).is_empty() {
                return Err(Failure::Reject(self.reject(
                    row,
                    column.as_deref(),
                    None,
                    format!(
                        "the enclosing area is blank, so \"{}\" cannot be placed",
                        trim_thai(value)
                    ),
                )));
            }
            // A code is taken at its own level; a name is one level below the last.
            let level = match area_code_from_any(&text) {
                Ok(_) => None,
                Err(_) => Some(level_below(scope.as_deref()).ok_or_else(|| {
                    Failure::Value(format!(
                        "{} is a subdistrict; no area lies inside it",
                        scope.as_deref().unwrap_or_default()
                    ))
                })?),
            };
            match names.resolve(&text, level, scope.as_deref()) {
                Ok(code) => scope = Some(code.to_string()),
                Err(e) => {
                    return Err(Failure::Reject(self.reject(
                        row,
                        column.as_deref(),
                        Some(&text),
                        e.to_string(),
                    )))
                }
            }
        }
        if blank {
            return Ok(scope.unwrap_or_default());
        }
        let level = options
            .level
            .or_else(|| scope.as_deref().and_then(|s| level_below(Some(s))));
        names
            .resolve(value, level, scope.as_deref())
            .map(str::to_string)
            .map_err(|e| Failure::Value(e.to_string()))
    }

    fn reject(
        &self,
        row: &Row<'_>,
        column: Option<&str>,
        value: Option<&str>,
        reason: String,
    ) -> Reject {
        let position = match column {
            Some(column) => row.record.position.with_column(column),
            None => row.record.position.clone(),
        };
        Reject::new(position, value, reason)
    }
}

/// The fields of one row, evaluated when the target's row type asks for them.
struct RowFields<'m, 'r> {
    mapping: &'m Mapping,
    row: &'m Row<'r>,
}

impl Fields for RowFields<'_, '_> {
    fn get(&mut self, field: &'static str) -> Result<Option<String>, Reject> {
        match self.mapping.config.fields.get(field) {
            Some(spec) => self.mapping.evaluate(spec, self.row),
            // Counting: each row is one; the run adds the rows of a key up.
            None if self.mapping.config.aggregate == Some(Aggregate::Count)
                && self
                    .mapping
                    .target
                    .desc()
                    .column_of_field(field)
                    .is_some_and(|c| c.ty == ColumnType::Real && !c.key) =>
            {
                Ok(Some("1".into()))
            }
            None => Ok(None),
        }
    }

    fn breakdown(&mut self) -> Result<Vec<(String, String)>, Reject> {
        let mut pairs = Vec::with_capacity(self.mapping.config.breakdown.len());
        for (dimension, spec) in &self.mapping.config.breakdown {
            if let Some(value) = self.mapping.evaluate(spec, self.row)? {
                pairs.push((dimension.clone(), value));
            }
        }
        Ok(pairs)
    }

    fn reject(&self, field: &str, value: Option<&str>, reason: String) -> Reject {
        if field.is_empty() {
            self.mapping.reject(self.row, None, value, reason)
        } else {
            self.mapping.field_reject(self.row, field, value, reason)
        }
    }
}

/// The level right below an area (a province without one); `None` below a subdistrict.
fn level_below(scope: Option<&str>) -> Option<AreaLevel> {
    match scope.map(str::len) {
        None => Some(AreaLevel::Province),
        Some(2) => Some(AreaLevel::District),
        Some(4) => Some(AreaLevel::Subdistrict),
        Some(_) => None,
    }
}

fn header_list(header: &Header) -> String {
    header
        .names()
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
