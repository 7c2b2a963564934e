//! The mapping as written in a connector's config: which column, constant or
//! concatenation fills each field, through which transforms, and the unpivot of wide
//! tables. Checked once when the config loads ([`MappingConfig::check`]).

use super::transform::Transform;
use super::MappingError;
use abe_schema::thai::trim_thai;
use abe_schema::AreaLevel;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A mapping as written in the config.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingConfig {
    /// Target field name (see [`target_fields`]) to the spec that fills it.
    pub fields: BTreeMap<String, FieldSpec>,
    /// For observations: breakdown dimension (e.g. `sex`) to the spec that fills it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub breakdown: BTreeMap<String, FieldSpec>,
    /// Lookup tables used by `{ lookup = "name" }` transforms: source text to result.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub lookups: BTreeMap<String, BTreeMap<String, String>>,
    /// Turns each record of a wide table into one row per wide column; see [`Unpivot`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unpivot: Option<Unpivot>,
    /// Records to leave out before mapping (subtotal rows, notes, separators); see
    /// [`SkipRule`]. The run counts the records each rule skipped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skip_if: Vec<SkipRule>,
    /// For sources that hold records rather than totals (a list of schools, of
    /// children): rows with the same key (indicator, area or school, period,
    /// breakdown) become one whose value is their number (`count`, and the mapping
    /// gives no `value`) or the sum of their `value`s (`sum`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregate: Option<Aggregate>,
}

/// How [`MappingConfig::aggregate`] combines the rows of one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregate {
    /// The number of rows.
    Count,
    /// The sum of their values.
    Sum,
}

impl Aggregate {
    /// The word a config uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Aggregate::Count => "count",
            Aggregate::Sum => "sum",
        }
    }
}

/// A record to leave out: its `column` holds one of `equals` (trimmed, any case),
/// matches the pattern `matches` (as an unpivot's `columns_matching`: `*` any text, `?`
/// one character, `#` one digit), or with `blank = true` is blank.
///
/// ```toml
/// skip_if = [
///   { column = "อำเภอ", matches = "รวม*" },          # subtotal rows
///   { column = "หมายเหตุ", equals = ["หมายเหตุ", "ที่มา"] },
///   { column = "รหัส", blank = true },               # separators and notes
/// ]
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SkipRule {
    /// The source column looked at.
    pub column: String,
    /// Texts that skip the record.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub equals: Vec<String>,
    /// A pattern that skips the record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub matches: Option<String>,
    /// A blank cell skips the record.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub blank: bool,
}

impl std::fmt::Display for SkipRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "column \"{}\" ", self.column)?;
        if let Some(pattern) = &self.matches {
            write!(f, "matches \"{pattern}\"")
        } else if self.blank {
            f.write_str("is blank")
        } else {
            let texts: Vec<String> = self.equals.iter().map(|t| format!("\"{t}\"")).collect();
            write!(f, "is {}", texts.join(" or "))
        }
    }
}

/// What is wrong with a skip rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SkipProblem {
    /// No column named.
    #[error("a `skip_if` rule needs a `column`")]
    NoColumn,
    /// None or several of `equals`, `matches`, `blank`.
    #[error(
        "the `skip_if` rule on column \"{0}\" needs exactly one of `equals` (a non-empty \
         list), `matches` (a pattern) or `blank = true`"
    )]
    WhichTest(String),
}

impl SkipRule {
    fn check(&self) -> Result<(), SkipProblem> {
        if self.column.trim().is_empty() {
            return Err(SkipProblem::NoColumn);
        }
        let tests = [
            !self.equals.is_empty(),
            self.matches.as_deref().is_some_and(|p| !p.is_empty()),
            self.blank,
        ];
        if tests.iter().filter(|t| **t).count() != 1 {
            return Err(SkipProblem::WhichTest(self.column.clone()));
        }
        Ok(())
    }

    /// Whether a cell holding `text` (`None`: an error cell) skips its record.
    pub(crate) fn skips(&self, text: Option<&str>) -> bool {
        let Some(text) = text.map(trim_thai) else {
            return false;
        };
        if self.blank {
            return text.is_empty();
        }
        if let Some(pattern) = &self.matches {
            return super::unpivot::glob_matches(pattern, text);
        }
        let text = text.to_lowercase();
        self.equals
            .iter()
            .any(|e| trim_thai(e).to_lowercase() == text)
    }
}

/// Unpivot of a wide table: each record gives one row per wide column, in which two
/// virtual columns hold that column's header (`name`) and its cell (`value`). Field specs
/// read them like real columns (`{ column = "year" }`); a reject about them names the
/// real header of the cell.
///
/// ```toml
/// unpivot = { columns = ["2564", "2565", "2566"], name = "year", value = "count" }
/// unpivot = { columns_matching = "25##", name = "year", value = "count", skip_blank = true }
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unpivot {
    /// The wide columns by header, in the order their rows are produced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// Instead of `columns`: every header matching this pattern, in header order, except
    /// the columns field specs read by name. `*` matches any text, `?` one character and
    /// `#` one digit; Thai and Arabic digits are alike, so `"25##"` matches "2565" and
    /// "๒๕๖๕"; `"ปี *"` matches "ปี 2565".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns_matching: Option<String>,
    /// Name of the virtual column holding the wide column's header (e.g. `year`).
    pub name: String,
    /// Name of the virtual column holding the wide column's cell (e.g. `value`).
    pub value: String,
    /// Produce no row for a blank cell instead of one that is rejected as blank; for
    /// tables where a blank means "not applicable" (a grade the school does not teach).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skip_blank: bool,
}

/// How one field is filled: from a column, a constant or a concatenation, then
/// transformed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// Header name of the source column (or an unpivot's virtual column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// A constant value instead of a column.
    #[serde(default, rename = "const", skip_serializing_if = "Option::is_none")]
    pub constant: Option<String>,
    /// Instead of `column` or `const`: the texts of several columns joined by
    /// `separator`; an entry starting with `=` is a constant (`"=0"` is the text "0").
    /// Blank when every column in it is blank.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concat: Option<Vec<String>>,
    /// Text put between the parts of `concat`; none when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub separator: Option<String>,
    /// Transforms applied in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transforms: Vec<Transform>,
    /// Value used when the result is blank.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

/// What a `lookup` does with a value its table lacks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnMissing {
    /// The row is rejected (the default).
    #[default]
    Reject,
    /// The value passes through unchanged.
    Keep,
    /// The value becomes blank, so the field's `default` applies.
    Null,
}

/// Options of the `area_name` transform.
///
/// ```toml
/// { area_name = { level = "subdistrict", within = ["จังหวัด", "อำเภอ"] } }
/// { area_name = { within = ["=ยะลา"] } }    # a district of Yala province
/// { area_name = { within = ["จังหวัด"], blank_is_enclosing = true } }  # blank: the province
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AreaNameOptions {
    /// Level of the area named: `province`, `district` or `subdistrict`. When absent,
    /// the level right below the last `within` area, or any level without `within`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<AreaLevel>,
    /// The enclosing areas, outermost first: columns (or `=constants`) holding the
    /// province's name, then the district's. Each name is resolved inside the one
    /// before it, so "เมือง" in the district column is that province's capital
    /// district. An entry holding a code (`"95"`, `"9501"`) is taken as that area.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub within: Vec<String>,
    /// A blank name means the last `within` area itself: a workbook's row about the
    /// whole province leaves its district column blank. Without it a blank stays blank.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub blank_is_enclosing: bool,
}

/// What is wrong with one field's spec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldProblem {
    /// Neither or several of `column`, `const` and `concat`.
    #[error("needs exactly one of `column`, `const` or `concat`")]
    NeedsOneSource,
    /// A separator without a concat.
    #[error("has a `separator` but no `concat`")]
    SeparatorWithoutConcat,
    /// `blank_is_enclosing` with no `within` to take.
    #[error("has an `area_name` with `blank_is_enclosing` but no `within`")]
    EnclosingWithoutWithin,
    /// An empty concat or an empty part of one.
    #[error("needs a `concat` of column names or \"=constants\", none empty")]
    EmptyConcat,
    /// A lookup of a table the mapping does not declare.
    #[error("uses lookup \"{0}\", which is not declared")]
    UndeclaredLookup(String),
    /// `replace` with nothing to find.
    #[error("has a `replace` with an empty `from`")]
    EmptyReplace,
    /// `null_if` with no texts.
    #[error("has a `null_if` without texts")]
    EmptyNullIf,
    /// `strip_prefix` with no prefix, or an empty one.
    #[error("has a `strip_prefix` without prefixes or with an empty one")]
    EmptyStripPrefix,
    /// `area_name` whose `within` names an empty column.
    #[error("has an `area_name` whose `within` names an empty column")]
    EmptyWithin,
    /// `substring` starting at 0 or keeping no characters.
    #[error(
        "has a `substring` whose `start` is 0 (1 is the first character) or whose `length` is 0"
    )]
    BadSubstring,
    /// `split` with an empty separator or part 0.
    #[error(
        "has a `split` with an empty `separator` or `part` 0 (1 is the first piece, -1 the last)"
    )]
    BadSplit,
}

/// What is wrong with an unpivot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnpivotProblem {
    /// A blank `name` or `value`.
    #[error("the unpivot needs a `name` and a `value` column name")]
    Unnamed,
    /// `name` and `value` alike.
    #[error("the unpivot's `name` and `value` are both \"{0}\"; they must differ")]
    SameNames(String),
    /// Neither `columns` nor `columns_matching`, or both.
    #[error(
        "the unpivot needs either `columns` (a non-empty list) or `columns_matching` \
         (a pattern), not both"
    )]
    WhichColumns,
}

impl MappingConfig {
    /// Checks each field's spec and the unpivot on their own; the target's fields are
    /// checked by [`super::Mapping::new`].
    pub(crate) fn check(&self) -> Result<(), MappingError> {
        for (name, spec) in self.fields.iter().chain(self.breakdown.iter()) {
            spec.check(&self.lookups)
                .map_err(|problem| MappingError::Field {
                    field: name.clone(),
                    problem,
                })?;
        }
        if let Some(unpivot) = &self.unpivot {
            unpivot.check().map_err(MappingError::Unpivot)?;
        }
        for rule in &self.skip_if {
            rule.check().map_err(MappingError::Skip)?;
        }
        Ok(())
    }
}

impl FieldSpec {
    fn check(
        &self,
        lookups: &BTreeMap<String, BTreeMap<String, String>>,
    ) -> Result<(), FieldProblem> {
        let sources = [
            self.column.is_some(),
            self.constant.is_some(),
            self.concat.is_some(),
        ];
        if sources.iter().filter(|s| **s).count() != 1 {
            return Err(FieldProblem::NeedsOneSource);
        }
        if self.separator.is_some() && self.concat.is_none() {
            return Err(FieldProblem::SeparatorWithoutConcat);
        }
        if let Some(parts) = &self.concat {
            if parts.is_empty() || parts.iter().any(String::is_empty) {
                return Err(FieldProblem::EmptyConcat);
            }
        }
        for transform in &self.transforms {
            match transform {
                Transform::Lookup { table, .. } if !lookups.contains_key(table) => {
                    return Err(FieldProblem::UndeclaredLookup(table.clone()))
                }
                Transform::Replace { from, .. } if from.is_empty() => {
                    return Err(FieldProblem::EmptyReplace)
                }
                Transform::NullIf(texts) if texts.is_empty() => {
                    return Err(FieldProblem::EmptyNullIf)
                }
                Transform::StripPrefix(prefixes)
                    if prefixes.is_empty() || prefixes.iter().any(String::is_empty) =>
                {
                    return Err(FieldProblem::EmptyStripPrefix)
                }
                Transform::AreaName(options) if options.within.iter().any(String::is_empty) => {
                    return Err(FieldProblem::EmptyWithin)
                }
                Transform::AreaName(options)
                    if options.blank_is_enclosing && options.within.is_empty() =>
                {
                    return Err(FieldProblem::EnclosingWithoutWithin)
                }
                Transform::Substring { start, length } if *start == 0 || *length == Some(0) => {
                    return Err(FieldProblem::BadSubstring)
                }
                Transform::Split { separator, part } if separator.is_empty() || *part == 0 => {
                    return Err(FieldProblem::BadSplit)
                }
                _ => {}
            }
        }
        Ok(())
    }
}

impl Unpivot {
    fn check(&self) -> Result<(), UnpivotProblem> {
        if self.name.trim().is_empty() || self.value.trim().is_empty() {
            return Err(UnpivotProblem::Unnamed);
        }
        if self.name == self.value {
            return Err(UnpivotProblem::SameNames(self.name.clone()));
        }
        match (&self.columns_matching, self.columns.is_empty()) {
            (None, false) => Ok(()),
            (Some(pattern), true) if !pattern.is_empty() => Ok(()),
            _ => Err(UnpivotProblem::WhichColumns),
        }
    }
}
