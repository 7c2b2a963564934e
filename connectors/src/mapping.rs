//! The declarative mapping: which source column (or constant, or concatenation of
//! both) feeds each field of a unified row, through which transforms; and how a wide
//! table (a column per year, per sex or per grade, as Thai government workbooks are laid
//! out) is unpivoted into one row per column. A mapping is checked once against its
//! target when the config loads, and against each header when a table starts.
//! Reference data some transforms need (area names) comes with each call in [`RefData`].
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

use crate::{Cell, Header, Record};
use abe_schema::period::{excel_serial_date, parse_date, parse_period, PeriodKind};
use abe_schema::thai::{
    area_code_from_any, normalise_area_code, parent_area_code, parse_number, thai_digits_to_arabic,
    to_ce_year, trim_thai, AreaCodeError, AreaNames,
};
use abe_schema::{AreaLevel, AreaRow, Breakdown, ObservationRow, Reject, SchoolRow, Target};
use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

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
}

/// One step of a field's transformation. Named steps are written as a string
/// (`"trim"`), steps with options as a table (`{ lookup = "sex" }`). Every step passes a
/// blank value on as blank, so `default` applies after any of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transform {
    /// `"trim"`: strip white space, including zero-width and no-break spaces.
    Trim,
    /// `"thai_digits"`: Thai digits (๐-๙) to Arabic digits.
    ThaiDigits,
    /// `"be_year"`: a Buddhist-era (or common-era) year to the common-era year.
    BeYear,
    /// `"number"`: a number with thousands separators, Thai digits or a dash for none,
    /// written back plainly (`1,234` becomes `1234`, `-` becomes blank).
    Number,
    /// `"percent"`: a percentage (`12.5%`, `๑๒.๕ %`, `ร้อยละ 12.5`, `12.5`) as its number
    /// in percent units, `12.5`.
    Percent,
    /// `"upper"`: upper case.
    Upper,
    /// `"lower"`: lower case.
    Lower,
    /// `"thai_date"`: a date as Thai files write it (`15 มกราคม 2566`, `15 ม.ค. 66`,
    /// `15/01/2566`, `2566-01-15`, Thai or Arabic digits, BE or CE years, two-digit
    /// years BE) to ISO `2023-01-15`.
    ThaiDate,
    /// `"excel_date"`: an Excel serial date of the 1900 system (`44927`) to ISO
    /// `2023-01-01`; an ISO date (a cell the workbook stored as a date) passes through.
    ExcelDate,
    /// `"calendar_year"`: a date or a BE/CE year to the period `2023`.
    CalendarYear,
    /// `"month"`: a date, or a month and year (`ม.ค. 66`, `2023-01`), to the period
    /// `2023-01`.
    Month,
    /// `"fiscal_year"`: a date to the Thai government fiscal year containing it (it
    /// starts 1 October: 2022-10-01..2023-09-30 is `FY2023`), or a BE/CE year
    /// (`2566`, `ปีงบประมาณ 2566`) to `FY2023`.
    FiscalYear,
    /// `"academic_year"`: a date to the Thai academic year containing it (it starts
    /// 16 May: 2023-05-16..2024-05-15 is `AY2023`, ปีการศึกษา 2566), or a BE/CE year
    /// to `AY<CE year>`.
    AcademicYear,
    /// `"area_code"`: an area code of 2, 4 or 6 digits, or an 8-digit village code
    /// (which gives its subdistrict), with Thai or Arabic digits, to the DOPA code.
    AreaCode,
    /// `{ area_name = { ... } }` (or `"area_name"`): an area's Thai or English name to
    /// its code, through the reference areas; see [`AreaNameOptions`] and
    /// [`AreaNames`] for how names match.
    AreaName(AreaNameOptions),
    /// `{ lookup = "table", on_missing = "reject" | "keep" | "null" }`: replace through
    /// the named lookup table.
    Lookup {
        /// Name of a table of `lookups`.
        table: String,
        /// What a value the table lacks becomes.
        on_missing: OnMissing,
    },
    /// `{ null_if = ["N/A", "null", "ไม่มีข้อมูล"] }`: these texts (compared trimmed and
    /// ignoring case) mean "no value" and become blank.
    NullIf(Vec<String>),
    /// `{ strip_prefix = "ตำบล" }` or `{ strip_prefix = ["ตำบล", "แขวง"] }`: trim, then
    /// remove the longest of these prefixes the value starts with, and trim again.
    StripPrefix(Vec<String>),
    /// `{ replace = { from = "...", to = "..." } }`: replace every occurrence.
    Replace {
        /// Text to find; not empty.
        from: String,
        /// Text to put instead.
        to: String,
    },
}

/// Names of the transforms written as a string, for error messages.
const TRANSFORM_NAMES: &[&str] = &[
    "trim",
    "thai_digits",
    "be_year",
    "number",
    "percent",
    "upper",
    "lower",
    "thai_date",
    "excel_date",
    "calendar_year",
    "month",
    "fiscal_year",
    "academic_year",
    "area_code",
    "area_name",
];

impl Transform {
    fn from_name(name: &str) -> Option<Transform> {
        Some(match name {
            "trim" => Transform::Trim,
            "thai_digits" => Transform::ThaiDigits,
            "be_year" => Transform::BeYear,
            "number" => Transform::Number,
            "percent" => Transform::Percent,
            "upper" => Transform::Upper,
            "lower" => Transform::Lower,
            "thai_date" => Transform::ThaiDate,
            "excel_date" => Transform::ExcelDate,
            "calendar_year" => Transform::CalendarYear,
            "month" => Transform::Month,
            "fiscal_year" => Transform::FiscalYear,
            "academic_year" => Transform::AcademicYear,
            "area_code" => Transform::AreaCode,
            "area_name" => Transform::AreaName(AreaNameOptions::default()),
            _ => return None,
        })
    }

    /// The string form of a transform without options.
    fn name(&self) -> Option<&'static str> {
        Some(match self {
            Transform::Trim => "trim",
            Transform::ThaiDigits => "thai_digits",
            Transform::BeYear => "be_year",
            Transform::Number => "number",
            Transform::Percent => "percent",
            Transform::Upper => "upper",
            Transform::Lower => "lower",
            Transform::ThaiDate => "thai_date",
            Transform::ExcelDate => "excel_date",
            Transform::CalendarYear => "calendar_year",
            Transform::Month => "month",
            Transform::FiscalYear => "fiscal_year",
            Transform::AcademicYear => "academic_year",
            Transform::AreaCode => "area_code",
            Transform::AreaName(_)
            | Transform::Lookup { .. }
            | Transform::NullIf(_)
            | Transform::StripPrefix(_)
            | Transform::Replace { .. } => return None,
        })
    }
}

/// The table form of a transform as written; exactly one key besides `on_missing`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransformTable {
    #[serde(default)]
    lookup: Option<String>,
    #[serde(default)]
    on_missing: Option<OnMissing>,
    #[serde(default)]
    null_if: Option<Vec<String>>,
    #[serde(default)]
    strip_prefix: Option<OneOrMany>,
    #[serde(default)]
    replace: Option<ReplaceSpec>,
    #[serde(default)]
    area_name: Option<AreaNameOptions>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplaceSpec {
    from: String,
    to: String,
}

impl TransformTable {
    fn into_transform(self) -> Result<Transform, String> {
        let given = [
            self.lookup.is_some(),
            self.null_if.is_some(),
            self.strip_prefix.is_some(),
            self.replace.is_some(),
            self.area_name.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(
                "a transform table needs exactly one of `lookup`, `null_if`, \
                        `strip_prefix`, `replace` or `area_name`"
                    .into(),
            );
        }
        if self.on_missing.is_some() && self.lookup.is_none() {
            return Err("`on_missing` only goes with `lookup`".into());
        }
        Ok(if let Some(table) = self.lookup {
            Transform::Lookup {
                table,
                on_missing: self.on_missing.unwrap_or_default(),
            }
        } else if let Some(texts) = self.null_if {
            Transform::NullIf(texts)
        } else if let Some(prefixes) = self.strip_prefix {
            Transform::StripPrefix(match prefixes {
                OneOrMany::One(p) => vec![p],
                OneOrMany::Many(ps) => ps,
            })
        } else if let Some(ReplaceSpec { from, to }) = self.replace {
            Transform::Replace { from, to }
        } else {
            Transform::AreaName(self.area_name.unwrap_or_default())
        })
    }
}

impl<'de> Deserialize<'de> for Transform {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TransformVisitor;

        impl<'de> Visitor<'de> for TransformVisitor {
            type Value = Transform;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a transform name such as \"trim\", or a table such as { lookup = \"sex\" }",
                )
            }

            fn visit_str<E: de::Error>(self, name: &str) -> Result<Transform, E> {
                Transform::from_name(name).ok_or_else(|| E::unknown_variant(name, TRANSFORM_NAMES))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Transform, A::Error> {
                let table =
                    TransformTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                table.into_transform().map_err(de::Error::custom)
            }
        }

        deserializer.deserialize_any(TransformVisitor)
    }
}

impl Serialize for Transform {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if let Some(name) = self.name() {
            return serializer.serialize_str(name);
        }
        let mut map = serializer.serialize_map(None)?;
        match self {
            Transform::Lookup { table, on_missing } => {
                map.serialize_entry("lookup", table)?;
                if *on_missing != OnMissing::Reject {
                    map.serialize_entry("on_missing", on_missing)?;
                }
            }
            Transform::NullIf(texts) => map.serialize_entry("null_if", texts)?,
            Transform::StripPrefix(prefixes) => map.serialize_entry("strip_prefix", prefixes)?,
            Transform::Replace { from, to } => map.serialize_entry(
                "replace",
                &ReplaceSpec {
                    from: from.clone(),
                    to: to.clone(),
                },
            )?,
            Transform::AreaName(options) => map.serialize_entry("area_name", options)?,
            // Every other transform has a name and was written as a string above.
            _ => {}
        }
        map.end()
    }
}

/// Field names each target accepts, and which are required. For observations, one of
/// `area` or `school` is required as well.
pub fn target_fields(target: Target) -> (&'static [&'static str], &'static [&'static str]) {
    match target {
        Target::Areas => (&["code", "name_th", "name_en"], &["code", "name_th"]),
        Target::Schools => (
            &[
                "code",
                "name_th",
                "name_en",
                "area",
                "affiliation",
                "levels",
            ],
            &["code", "name_th", "area"],
        ),
        Target::Observations => (
            &["indicator", "area", "school", "period", "value"],
            &["indicator", "period", "value"],
        ),
    }
}

/// A unified row produced by a mapping.
#[derive(Debug, Clone, PartialEq)]
pub enum MappedRow {
    /// An area.
    Area(AreaRow),
    /// A school.
    School(SchoolRow),
    /// An observation; for a school observation `area_code` is empty until the
    /// pipeline looks up the school's area.
    Observation(ObservationRow),
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

impl From<String> for Failure {
    fn from(reason: String) -> Self {
        Failure::Value(reason)
    }
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
    /// Checks `config` against `target`: known and required fields, one source per
    /// field, lookups that exist, transform and unpivot options that make sense.
    pub fn new(target: Target, config: MappingConfig) -> Result<Self, String> {
        let (known, required) = target_fields(target);
        for name in config.fields.keys() {
            if !known.contains(&name.as_str()) {
                return Err(format!(
                    "mapping field \"{name}\" is not a field of {target} (known: {})",
                    known.join(", ")
                ));
            }
        }
        for name in required {
            if !config.fields.contains_key(*name) {
                return Err(format!("mapping for {target} needs the field \"{name}\""));
            }
        }
        if target == Target::Observations
            && !config.fields.contains_key("area")
            && !config.fields.contains_key("school")
        {
            return Err("mapping for observations needs the field \"area\" or \"school\"".into());
        }
        if target != Target::Observations && !config.breakdown.is_empty() {
            return Err(format!(
                "a breakdown only applies to observations, not {target}"
            ));
        }
        let specs = config.fields.iter().chain(config.breakdown.iter());
        for (name, spec) in specs {
            check_spec(name, spec, &config.lookups)?;
        }
        if let Some(unpivot) = &config.unpivot {
            check_unpivot(unpivot)?;
        }
        Ok(Mapping { target, config })
    }

    /// The target this mapping fills.
    pub fn target(&self) -> Target {
        self.target
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
            .filter(|c| !c.starts_with('=') && !self.is_virtual(c))
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
    pub fn check_header(&self, header: &Header) -> Result<(), String> {
        for column in self.named_columns() {
            if header.position(column).is_none() {
                return Err(format!(
                    "column \"{column}\" is not in the header (columns: {})",
                    header_list(header)
                ));
            }
        }
        let Some(unpivot) = &self.config.unpivot else {
            return Ok(());
        };
        for virtual_column in [&unpivot.name, &unpivot.value] {
            if header.position(virtual_column).is_some() {
                return Err(format!(
                    "the unpivot's column \"{virtual_column}\" is also a column of the header; \
                     give the unpivot's column another name"
                ));
            }
        }
        for column in &unpivot.columns {
            if header.position(column).is_none() {
                return Err(format!(
                    "unpivot column \"{column}\" is not in the header (columns: {})",
                    header_list(header)
                ));
            }
        }
        if let Some(pattern) = &unpivot.columns_matching {
            if self.wide_columns(unpivot, header).is_empty() {
                return Err(format!(
                    "no column of the header matches the unpivot pattern \"{pattern}\" (columns: {})",
                    header_list(header)
                ));
            }
        }
        Ok(())
    }

    /// Positions of the wide columns of `header`, in the order rows are produced.
    fn wide_columns(&self, unpivot: &Unpivot, header: &Header) -> Vec<usize> {
        match &unpivot.columns_matching {
            Some(pattern) => {
                let named: Vec<&str> = self.named_columns().collect();
                header
                    .names()
                    .iter()
                    .enumerate()
                    .filter(|(_, name)| {
                        glob_matches(pattern, name) && !named.contains(&name.as_str())
                    })
                    .map(|(i, _)| i)
                    .collect()
            }
            None => unpivot
                .columns
                .iter()
                .filter_map(|c| header.position(c))
                .collect(),
        }
    }

    /// Maps one record without reference data: see [`Mapping::map_with`]. A mapping
    /// that resolves area names rejects every row this way.
    pub fn map(&self, record: &Record) -> Vec<Result<MappedRow, Reject>> {
        self.map_with(record, &RefData::default())
    }

    /// Maps one record into its unified rows: one row, or with an unpivot one per wide
    /// column (none for blank cells with `skip_blank`). Each row is mapped or rejected
    /// on its own, so one bad cell of a wide table rejects only its row.
    pub fn map_with(&self, record: &Record, refs: &RefData) -> Vec<Result<MappedRow, Reject>> {
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

    /// Maps one output row, or says which field of it is wrong.
    fn map_row(&self, row: &Row<'_>) -> Result<MappedRow, Reject> {
        let field = |name: &str| -> Result<Option<String>, Reject> {
            match self.config.fields.get(name) {
                Some(spec) => self.evaluate(spec, row),
                None => Ok(None),
            }
        };
        let required = |name: &str| -> Result<String, Reject> {
            match field(name)? {
                Some(value) => Ok(value),
                None => {
                    let column = self
                        .config
                        .fields
                        .get(name)
                        .and_then(|s| self.source_column(s, row));
                    Err(self.reject(row, column.as_deref(), None, format!("{name} is blank")))
                }
            }
        };
        match self.target {
            Target::Areas => {
                let raw_code = required("code")?;
                let (code, level) = self.area_code(row, "code", &raw_code)?;
                Ok(MappedRow::Area(AreaRow {
                    parent_code: parent_area_code(&code).map(str::to_string),
                    code,
                    level,
                    name_th: required("name_th")?,
                    name_en: field("name_en")?,
                }))
            }
            Target::Schools => {
                let raw_area = required("area")?;
                Ok(MappedRow::School(SchoolRow {
                    code: required("code")?,
                    name_th: required("name_th")?,
                    name_en: field("name_en")?,
                    area_code: self.area_code(row, "area", &raw_area)?.0,
                    affiliation: field("affiliation")?,
                    levels: field("levels")?,
                }))
            }
            Target::Observations => {
                let area_code = match field("area")? {
                    Some(raw) => self.area_code(row, "area", &raw)?.0,
                    None => String::new(),
                };
                let school_code = field("school")?.unwrap_or_default();
                if area_code.is_empty() && school_code.is_empty() {
                    return Err(self.reject(
                        row,
                        None,
                        None,
                        "neither an area nor a school is given".into(),
                    ));
                }
                let raw_value = required("value")?;
                let value = match parse_number(&raw_value) {
                    Ok(Some(v)) => v,
                    Ok(None) => {
                        return Err(self.field_reject(
                            row,
                            "value",
                            &raw_value,
                            "value is blank".into(),
                        ))
                    }
                    Err(e) => {
                        return Err(self.field_reject(
                            row,
                            "value",
                            &raw_value,
                            format!("value is {e}"),
                        ))
                    }
                };
                let mut pairs = Vec::with_capacity(self.config.breakdown.len());
                for (dimension, spec) in &self.config.breakdown {
                    if let Some(v) = self.evaluate(spec, row)? {
                        pairs.push((dimension.clone(), v));
                    }
                }
                Ok(MappedRow::Observation(ObservationRow {
                    indicator: required("indicator")?,
                    area_code,
                    school_code,
                    period: required("period")?,
                    breakdown: Breakdown::new(pairs).encode(),
                    value,
                }))
            }
        }
    }

    fn area_code(
        &self,
        row: &Row<'_>,
        field: &str,
        raw: &str,
    ) -> Result<(String, AreaLevel), Reject> {
        normalise_area_code(raw).map_err(|e| self.field_reject(row, field, raw, e.to_string()))
    }

    /// A reject about a field's value, at the field's source column.
    fn field_reject(&self, row: &Row<'_>, field: &str, value: &str, reason: String) -> Reject {
        let column = self
            .config
            .fields
            .get(field)
            .and_then(|s| self.source_column(s, row));
        self.reject(row, column.as_deref(), Some(value), reason)
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
    fn read(&self, row: &Row<'_>, column: &str) -> Result<String, Reject> {
        let unpivot = self.config.unpivot.as_ref();
        let index = match (row.wide, unpivot) {
            (Some(i), Some(u)) if u.name == column => {
                return Ok(row
                    .record
                    .header
                    .names()
                    .get(i)
                    .cloned()
                    .unwrap_or_default())
            }
            (Some(i), Some(u)) if u.value == column => Some(i),
            _ => row.record.header.position(column),
        };
        match index.and_then(|i| row.record.cells.get(i)) {
            Some(Cell::Text(text)) => Ok(text.clone()),
            Some(Cell::Error(error)) => Err(self.reject(
                row,
                Some(&self.real_column(row, column)),
                Some(error),
                format!("the cell holds the spreadsheet error {error}"),
            )),
            None => Ok(String::new()),
        }
    }

    /// The field's value after transforms; `None` when blank and without default.
    fn evaluate(&self, spec: &FieldSpec, row: &Row<'_>) -> Result<Option<String>, Reject> {
        let raw = match (&spec.column, &spec.constant, &spec.concat) {
            (Some(column), _, _) => self.read(row, column)?,
            (None, Some(constant), _) => constant.clone(),
            (None, None, Some(parts)) => {
                let mut texts = Vec::with_capacity(parts.len());
                let mut any_column_filled = false;
                let mut any_column = false;
                for part in parts {
                    match part.strip_prefix('=') {
                        Some(literal) => texts.push(literal.to_string()),
                        None => {
                            let text = self.read(row, part)?;
                            any_column = true;
                            any_column_filled |= !trim_thai(&text).is_empty();
                            texts.push(text);
                        }
                    }
                }
                // A concat of blank columns is blank, not its separators and constants,
                // so `default` still applies.
                if any_column && !any_column_filled {
                    String::new()
                } else {
                    texts.join(spec.separator.as_deref().unwrap_or(""))
                }
            }
            (None, None, None) => String::new(),
        };
        // The raw text stays for a reject's message; the first transform reads it.
        let mut value = std::borrow::Cow::Borrowed(raw.as_str());
        for transform in &spec.transforms {
            value = match self.apply(transform, &value, row) {
                Ok(v) => std::borrow::Cow::Owned(v),
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
        Ok(Some(match value {
            std::borrow::Cow::Owned(v) => v,
            std::borrow::Cow::Borrowed(_) => raw,
        }))
    }

    fn apply(&self, transform: &Transform, value: &str, row: &Row<'_>) -> Result<String, Failure> {
        let blank = trim_thai(value).is_empty();
        Ok(match transform {
            Transform::Trim => trim_thai(value).to_string(),
            Transform::ThaiDigits => thai_digits_to_arabic(value),
            Transform::Upper => value.to_uppercase(),
            Transform::Lower => value.to_lowercase(),
            Transform::Replace { from, to } => value.replace(from.as_str(), to),
            Transform::NullIf(texts) => {
                let key = trim_thai(value).to_lowercase();
                if texts.iter().any(|t| trim_thai(t).to_lowercase() == key) {
                    String::new()
                } else {
                    value.to_string()
                }
            }
            Transform::StripPrefix(prefixes) => {
                let text = trim_thai(value);
                let longest = prefixes
                    .iter()
                    .filter(|p| !p.is_empty() && text.starts_with(p.as_str()))
                    .max_by_key(|p| p.len());
                match longest.and_then(|p| text.get(p.len()..)) {
                    Some(rest) => trim_thai(rest).to_string(),
                    None => text.to_string(),
                }
            }
            // Every transform below reads a value; blank means none, and stays blank.
            _ if blank => String::new(),
            Transform::BeYear => to_ce_year(value).map_err(|e| e.to_string())?.to_string(),
            Transform::Number => match parse_number(value) {
                Ok(Some(n)) => number_text(n),
                Ok(None) => String::new(),
                Err(e) => return Err(Failure::Value(e.to_string())),
            },
            Transform::Percent => percent(value)?,
            Transform::ThaiDate => parse_date(value)
                .map_err(|e| e.to_string())?
                .format("%Y-%m-%d")
                .to_string(),
            Transform::ExcelDate => excel_date(value)?,
            Transform::CalendarYear => period(PeriodKind::CalendarYear, value)?,
            Transform::Month => period(PeriodKind::Month, value)?,
            Transform::FiscalYear => period(PeriodKind::FiscalYear, value)?,
            Transform::AcademicYear => period(PeriodKind::AcademicYear, value)?,
            Transform::AreaCode => match area_code_from_any(value) {
                Ok((code, _)) => code,
                Err(AreaCodeError::BadLength(n)) => {
                    return Err(Failure::Value(format!(
                        "area code must have 2 (province), 4 (district), 6 (subdistrict) \
                         or 8 (village) digits, not {n}"
                    )))
                }
                Err(e) => return Err(Failure::Value(e.to_string())),
            },
            Transform::AreaName(options) => self.area_name(options, value, row)?,
            Transform::Lookup { table, on_missing } => {
                let key = trim_thai(value);
                match self.config.lookups.get(table).and_then(|t| t.get(key)) {
                    Some(result) => result.clone(),
                    None => match on_missing {
                        OnMissing::Reject => {
                            return Err(Failure::Value(format!(
                                "\"{key}\" is not in the lookup table \"{table}\""
                            )))
                        }
                        OnMissing::Keep => value.to_string(),
                        OnMissing::Null => String::new(),
                    },
                }
            }
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
        let names = &row.refs.area_names;
        if names.is_empty() {
            return Err(Failure::Value(
                "no area names are loaded to resolve the name against; load the areas first".into(),
            ));
        }
        let mut scope: Option<String> = None;
        for entry in &options.within {
            let (text, column) = match entry.strip_prefix('=') {
                Some(literal) => (literal.to_string(), None),
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

/// The level right below an area (a province without one); `None` below a subdistrict.
fn level_below(scope: Option<&str>) -> Option<AreaLevel> {
    match scope.map(str::len) {
        None => Some(AreaLevel::Province),
        Some(2) => Some(AreaLevel::District),
        Some(4) => Some(AreaLevel::Subdistrict),
        Some(_) => None,
    }
}

/// A number as text, as `f64`'s `Display` writes it. Counts are whole: writing them
/// as integers skips the shortest-float search, a visible cost on national files.
fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 && !(n == 0.0 && n.is_sign_negative()) {
        (n as i64).to_string()
    } else {
        n.to_string()
    }
}

fn percent(value: &str) -> Result<String, String> {
    let text = thai_digits_to_arabic(trim_thai(value));
    let text = text.strip_prefix("ร้อยละ").unwrap_or(&text).trim();
    let text = ["%", "％", "เปอร์เซ็นต์"]
        .iter()
        .find_map(|s| text.strip_suffix(s))
        .unwrap_or(text);
    match parse_number(text) {
        Ok(Some(n)) => Ok(number_text(n)),
        Ok(None) => Ok(String::new()),
        Err(_) => Err("not a percentage".into()),
    }
}

fn excel_date(value: &str) -> Result<String, String> {
    // A cell the workbook stored as a date arrives as ISO text already.
    let text = trim_thai(value);
    if let Some(date) = text
        .get(..10)
        .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
    {
        let rest = text.get(10..).unwrap_or_default();
        if rest.is_empty() || rest.starts_with(['T', ' ']) {
            return Ok(date.format("%Y-%m-%d").to_string());
        }
    }
    excel_serial_date(text)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .map_err(|e| e.to_string())
}

fn period(kind: PeriodKind, value: &str) -> Result<String, String> {
    parse_period(kind, value)
        .map(|p| p.to_string())
        .map_err(|e| e.to_string())
}

fn header_list(header: &Header) -> String {
    header
        .names()
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Matches a whole header against a pattern: `*` any text, `?` one character, `#` one
/// digit, anything else itself. Thai and Arabic digits are the same digit on both
/// sides, since workbooks write year headers either way ("2566", "๒๕๖๖").
fn glob_matches(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = thai_digits_to_arabic(pattern).chars().collect();
    let text: Vec<char> = thai_digits_to_arabic(text).chars().collect();
    let one = |p: char, t: char| match p {
        '?' => true,
        '#' => t.is_ascii_digit(),
        _ => p == t,
    };
    // Greedy matching with one backtrack point, the last `*`: linear enough for headers.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == '*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && one(pattern[p], text[t]) {
            p += 1;
            t += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|c| *c == '*')
}

fn check_spec(
    name: &str,
    spec: &FieldSpec,
    lookups: &BTreeMap<String, BTreeMap<String, String>>,
) -> Result<(), String> {
    let sources = [
        spec.column.is_some(),
        spec.constant.is_some(),
        spec.concat.is_some(),
    ];
    if sources.iter().filter(|s| **s).count() != 1 {
        return Err(format!(
            "field \"{name}\" needs exactly one of `column`, `const` or `concat`"
        ));
    }
    if spec.separator.is_some() && spec.concat.is_none() {
        return Err(format!(
            "field \"{name}\" has a `separator` but no `concat`"
        ));
    }
    if let Some(parts) = &spec.concat {
        if parts.is_empty() || parts.iter().any(String::is_empty) {
            return Err(format!(
                "field \"{name}\" needs a `concat` of column names or \"=constants\", none empty"
            ));
        }
    }
    for transform in &spec.transforms {
        match transform {
            Transform::Lookup { table, .. } if !lookups.contains_key(table) => {
                return Err(format!(
                    "field \"{name}\" uses lookup \"{table}\", which is not declared"
                ))
            }
            Transform::Replace { from, .. } if from.is_empty() => {
                return Err(format!(
                    "field \"{name}\" has a `replace` with an empty `from`"
                ))
            }
            Transform::NullIf(texts) if texts.is_empty() => {
                return Err(format!("field \"{name}\" has a `null_if` without texts"))
            }
            Transform::StripPrefix(prefixes)
                if prefixes.is_empty() || prefixes.iter().any(String::is_empty) =>
            {
                return Err(format!(
                    "field \"{name}\" has a `strip_prefix` without prefixes or with an empty one"
                ))
            }
            Transform::AreaName(options) if options.within.iter().any(String::is_empty) => {
                return Err(format!(
                    "field \"{name}\" has an `area_name` whose `within` names an empty column"
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_unpivot(unpivot: &Unpivot) -> Result<(), String> {
    if unpivot.name.trim().is_empty() || unpivot.value.trim().is_empty() {
        return Err("the unpivot needs a `name` and a `value` column name".into());
    }
    if unpivot.name == unpivot.value {
        return Err(format!(
            "the unpivot's `name` and `value` are both \"{}\"; they must differ",
            unpivot.name
        ));
    }
    match (&unpivot.columns_matching, unpivot.columns.is_empty()) {
        (None, false) => Ok(()),
        (Some(pattern), true) if !pattern.is_empty() => Ok(()),
        _ => Err(
            "the unpivot needs either `columns` (a non-empty list) or `columns_matching` \
             (a pattern), not both"
                .into(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_as_f64_writes_them() {
        for n in [
            0.0,
            -0.0,
            1.0,
            -7.0,
            1234567.0,
            0.5,
            -2.25,
            1e15,
            1e16,
            123456789012345.0,
            f64::MAX,
        ] {
            assert_eq!(number_text(n), n.to_string(), "{n:?}");
        }
    }
    use crate::csv::CsvConfig;
    use crate::{shared_data, SourceItem};
    use abe_schema::SourcePosition;
    use serde_json::json;
    use std::collections::HashMap;
    use std::sync::Arc;

    fn record(names: &[&str], cells: &[&str]) -> Record {
        Record {
            position: SourcePosition {
                file: "f.csv".into(),
                sheet: None,
                row: Some(5),
                column: None,
            },
            header: Arc::new(Header::new(names.iter().map(|s| s.to_string()).collect())),
            cells: cells.iter().map(|c| Cell::Text(c.to_string())).collect(),
        }
    }

    fn observation_mapping() -> Mapping {
        let config: MappingConfig = toml_like(
            r#"{
                "fields": {
                    "indicator": {"column": "ตัวชี้วัด", "transforms": ["trim", {"lookup": "indicators"}]},
                    "area": {"column": "อำเภอ", "transforms": ["trim", "thai_digits"]},
                    "period": {"column": "ปี", "transforms": ["be_year"]},
                    "value": {"column": "จำนวน", "transforms": ["thai_digits", "number"]}
                },
                "breakdown": {"sex": {"column": "เพศ", "transforms": [{"lookup": "sex"}]}},
                "lookups": {
                    "indicators": {"นักเรียน": "enrolled_children"},
                    "sex": {"ชาย": "male", "หญิง": "female"}
                }
            }"#,
        );
        Mapping::new(Target::Observations, config).expect("valid mapping")
    }

    fn toml_like(json: &str) -> MappingConfig {
        serde_json::from_str(json).expect("mapping json")
    }

    /// The single row a mapping without unpivot gives.
    fn one(mut rows: Vec<Result<MappedRow, Reject>>) -> Result<MappedRow, Reject> {
        assert_eq!(rows.len(), 1, "{rows:?}");
        rows.remove(0)
    }

    const HEADER: &[&str] = &["ปี", "อำเภอ", "เพศ", "ตัวชี้วัด", "จำนวน"];

    #[test]
    fn an_observation_row_is_mapped_through_every_transform() {
        let mapping = observation_mapping();
        let row = one(mapping.map(&record(
            HEADER,
            &["๒๕๖๖", " ๙๐๐๑ ", "หญิง", "นักเรียน ", "๑,๒๓๔"],
        )))
        .expect("maps");
        assert_eq!(
            row,
            MappedRow::Observation(ObservationRow {
                indicator: "enrolled_children".into(),
                area_code: "9001".into(),
                school_code: String::new(),
                period: "2023".into(),
                breakdown: "sex=female".into(),
                value: 1234.0,
            })
        );
    }

    #[test]
    fn bad_values_are_rejected_with_column_value_and_reason() {
        let mapping = observation_mapping();
        let cases = [
            (
                ["25x6", "9001", "ชาย", "นักเรียน", "1"],
                "ปี",
                "25x6",
                "not a year",
            ),
            (
                ["2566", "9001", "ชาย", "นักเรียน", "ไม่ทราบ"],
                "จำนวน",
                "ไม่ทราบ",
                "not a number",
            ),
            (
                ["2566", "901", "ชาย", "นักเรียน", "1"],
                "อำเภอ",
                "901",
                "2 (province), 4 (district) or 6",
            ),
            (
                ["2566", "9001", "อื่น", "นักเรียน", "1"],
                "เพศ",
                "อื่น",
                "not in the lookup table \"sex\"",
            ),
            (
                ["2566", "9001", "ชาย", "นักเรียน", "1.5.2"],
                "จำนวน",
                "1.5.2",
                "not a number",
            ),
        ];
        for (cells, column, value, reason) in cases {
            let reject = one(mapping.map(&record(HEADER, &cells))).expect_err("rejected");
            assert_eq!(reject.position.column.as_deref(), Some(column), "{reject}");
            assert_eq!(reject.position.row, Some(5));
            assert_eq!(reject.value.as_deref(), Some(value), "{reject}");
            assert!(reject.reason.contains(reason), "{reject}");
        }
    }

    #[test]
    fn spreadsheet_error_cells_are_rejected() {
        let mapping = observation_mapping();
        let mut r = record(HEADER, &["2566", "9001", "ชาย", "นักเรียน", ""]);
        r.cells[4] = Cell::Error("#DIV/0!".into());
        let reject = one(mapping.map(&r)).expect_err("rejected");
        assert!(reject.reason.contains("#DIV/0!"), "{reject}");
    }

    #[test]
    fn areas_get_level_and_parent_from_the_code() {
        let config = toml_like(
            r#"{"fields": {"code": {"column": "code"}, "name_th": {"column": "name", "transforms": ["trim"]}, "name_en": {"const": "X"}}}"#,
        );
        let mapping = Mapping::new(Target::Areas, config).expect("valid");
        let row =
            one(mapping.map(&record(&["code", "name"], &["9001", " เมืองสงขลา "]))).expect("maps");
        assert_eq!(
            row,
            MappedRow::Area(AreaRow {
                code: "9001".into(),
                level: AreaLevel::District,
                parent_code: Some("90".into()),
                name_th: "เมืองสงขลา".into(),
                name_en: Some("X".into()),
            })
        );
    }

    #[test]
    fn invalid_mappings_are_refused_with_a_reason() {
        let cases = [
            (
                r#"{"fields": {"code": {"column": "c"}}}"#,
                "needs the field \"name_th\"",
            ),
            (
                r#"{"fields": {"code": {"column": "c"}, "name_th": {"column": "n"}, "colour": {"const": "x"}}}"#,
                "not a field of areas",
            ),
            (
                r#"{"fields": {"code": {"column": "c", "const": "x"}, "name_th": {"column": "n"}}}"#,
                "exactly one of",
            ),
            (
                r#"{"fields": {"code": {"column": "c", "transforms": [{"lookup": "nope"}]}, "name_th": {"column": "n"}}}"#,
                "not declared",
            ),
        ];
        for (json, expect) in cases {
            let err = Mapping::new(Target::Areas, toml_like(json)).expect_err("refused");
            assert!(err.contains(expect), "{err}");
        }
    }

    #[test]
    fn missing_header_columns_are_named() {
        let mapping = observation_mapping();
        let header = Header::new(vec!["ปี".into(), "อำเภอ".into()]);
        let err = mapping.check_header(&header).expect_err("missing columns");
        assert!(
            err.contains("is not in the header (columns: \"ปี\", \"อำเภอ\")"),
            "{err}"
        );
    }

    fn wide_mapping(unpivot: serde_json::Value) -> Mapping {
        let config: MappingConfig = serde_json::from_value(json!({
            "unpivot": unpivot,
            "fields": {
                "indicator": {"const": "enrolled_children"},
                "area": {"column": "อำเภอ"},
                "period": {"column": "year", "transforms": ["be_year"]},
                "value": {"column": "count", "transforms": ["thai_digits", "number"]}
            },
            "breakdown": {"sex": {"const": "all"}}
        }))
        .expect("mapping json");
        Mapping::new(Target::Observations, config).expect("valid mapping")
    }

    fn observation(row: &Result<MappedRow, Reject>) -> (&str, f64) {
        match row {
            Ok(MappedRow::Observation(o)) => (o.period.as_str(), o.value),
            other => panic!("not an observation: {other:?}"),
        }
    }

    #[test]
    fn wide_tables_unpivot_into_one_row_per_listed_column() {
        let mapping = wide_mapping(json!({
            "columns": ["2564", "2565", "2566"], "name": "year", "value": "count"
        }));
        let rows = mapping.map(&record(
            &["อำเภอ", "2564", "2565", "2566", "หมายเหตุ"],
            &["9001", "10", "x", "๑๒", "note"],
        ));
        assert_eq!(rows.len(), 3);
        assert_eq!(observation(&rows[0]), ("2021", 10.0));
        assert_eq!(observation(&rows[2]), ("2023", 12.0));
        // The bad cell rejects its own row only, at its real column.
        let reject = rows[1].as_ref().expect_err("rejected");
        assert_eq!(reject.position.column.as_deref(), Some("2565"));
        assert_eq!(reject.position.row, Some(5));
        assert_eq!(reject.value.as_deref(), Some("x"));
        assert_eq!(reject.reason, "not a number");
        // A virtual column has no single real column to name in later checks.
        assert_eq!(mapping.column_of("period"), None);
        assert_eq!(mapping.column_of("area"), Some("อำเภอ"));
    }

    #[test]
    fn unpivot_by_pattern_skips_blank_cells_and_names_bad_headers() {
        let mapping = wide_mapping(json!({
            "columns_matching": "ปี 25##", "name": "year", "value": "count", "skip_blank": true
        }));
        let header = ["อำเภอ", "ปี 2565", "ปี ๒๕๖๖", "ปี 2567", "ปี 25xx"];
        let mut r = record(&header, &["9001", "5", "", "7", "1"]);
        r.cells[3] = Cell::Error("#REF!".into());
        mapping.check_header(&r.header).expect("pattern matches");
        let rows = mapping.map(&r);
        // "ปี 25xx" does not match; the blank "ปี ๒๕๖๖" gives no row.
        assert_eq!(rows.len(), 2, "{rows:?}");
        let reject = rows[0].as_ref().expect_err("header is not a year");
        assert_eq!(reject.position.column.as_deref(), Some("ปี 2565"));
        assert_eq!(reject.reason, "not a year");
        let reject = rows[1].as_ref().expect_err("spreadsheet error");
        assert_eq!(reject.position.column.as_deref(), Some("ปี 2567"));
        assert!(reject.reason.contains("#REF!"), "{reject}");
        // Without skip_blank, the blank cell is a row of its own, rejected as blank.
        let keep_blank = wide_mapping(json!({
            "columns_matching": "ปี 25##", "name": "year", "value": "count"
        }));
        let rows = keep_blank.map(&r);
        assert_eq!(rows.len(), 3, "{rows:?}");
        let reject = rows[1].as_ref().expect_err("blank");
        assert_eq!(reject.position.column.as_deref(), Some("ปี ๒๕๖๖"));
        assert_eq!(reject.reason, "value is blank");
    }

    #[test]
    fn unpivoted_headers_feed_breakdowns_through_transforms() {
        let config: MappingConfig = serde_json::from_value(json!({
            "unpivot": {"columns": ["นักเรียนชาย", "นักเรียนหญิง"], "name": "sex", "value": "n"},
            "fields": {
                "indicator": {"const": "enrolled_children"},
                "area": {"column": "รหัส", "transforms": ["area_code"]},
                "period": {"column": "ปีการศึกษา", "transforms": ["academic_year"]},
                "value": {"column": "n", "transforms": ["number"]}
            },
            "breakdown": {"sex": {"column": "sex", "transforms": [
                {"strip_prefix": "นักเรียน"}, {"lookup": "sex"}
            ]}},
            "lookups": {"sex": {"ชาย": "male", "หญิง": "female"}}
        }))
        .expect("mapping json");
        let mapping = Mapping::new(Target::Observations, config).expect("valid");
        let rows = mapping.map(&record(
            &["รหัส", "ปีการศึกษา", "นักเรียนชาย", "นักเรียนหญิง"],
            &["90010101", "2566", "1,200", "1,150"],
        ));
        let breakdowns: Vec<_> = rows
            .iter()
            .map(|r| match r {
                Ok(MappedRow::Observation(o)) => (
                    o.area_code.as_str(),
                    o.period.as_str(),
                    o.breakdown.as_str(),
                    o.value,
                ),
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(
            breakdowns,
            [
                ("900101", "AY2023", "sex=male", 1200.0),
                ("900101", "AY2023", "sex=female", 1150.0)
            ]
        );
    }

    #[test]
    fn unpivot_headers_are_checked() {
        let listed =
            wide_mapping(json!({"columns": ["2565", "2566"], "name": "year", "value": "count"}));
        let header = Header::new(vec!["อำเภอ".into(), "2565".into()]);
        let err = listed.check_header(&header).expect_err("2566 missing");
        assert!(
            err.starts_with("unpivot column \"2566\" is not in the header"),
            "{err}"
        );
        let header = Header::new(vec![
            "อำเภอ".into(),
            "2565".into(),
            "2566".into(),
            "year".into(),
        ]);
        let err = listed
            .check_header(&header)
            .expect_err("virtual column clash");
        assert!(
            err.contains("\"year\" is also a column of the header"),
            "{err}"
        );
        let pattern =
            wide_mapping(json!({"columns_matching": "25##", "name": "year", "value": "count"}));
        let header = Header::new(vec!["อำเภอ".into(), "ปี 2565".into()]);
        let err = pattern.check_header(&header).expect_err("nothing matches");
        assert!(
            err.contains("no column of the header matches the unpivot pattern \"25##\""),
            "{err}"
        );
    }

    #[test]
    fn globs_match_whole_headers() {
        assert!(glob_matches("25##", "2566"));
        assert!(glob_matches("25##", "๒๕๖๖"));
        assert!(glob_matches("๒๕##", "2566"));
        assert!(glob_matches("ปี *", "ปี 2565 (ประมาณการ)"));
        assert!(glob_matches("*ชาย", "นักเรียนชาย"));
        assert!(glob_matches("*", ""));
        assert!(glob_matches("a*b*c", "aXbYbZc"));
        assert!(glob_matches("m?", "m1"));
        assert!(!glob_matches("25##", "25661"));
        assert!(!glob_matches("25##", "25ab"));
        assert!(!glob_matches("a*b", "aXbY"));
    }

    /// The value of a `period` field read from column `x` = `cell` through `transforms`.
    fn transformed(transforms: serde_json::Value, cell: &str) -> Result<Option<String>, Reject> {
        let config: MappingConfig = serde_json::from_value(json!({
            "fields": {
                "indicator": {"const": "i"}, "area": {"const": "90"}, "value": {"const": "1"},
                "period": {"column": "x", "transforms": transforms}
            },
            "lookups": {"sex": {"ชาย": "male"}}
        }))
        .expect("mapping json");
        let mapping = Mapping::new(Target::Observations, config).expect("valid");
        let spec = &mapping.config.fields["period"];
        let r = record(&["x"], &[cell]);
        let row = Row {
            record: &r,
            refs: &RefData::default(),
            wide: None,
        };
        mapping.evaluate(spec, &row)
    }

    #[test]
    fn dates_excel_serials_and_periods_transform_to_their_spellings() {
        let cases: &[(serde_json::Value, &str, &str)] = &[
            (json!(["thai_date"]), "15 มกราคม 2566", "2023-01-15"),
            (json!(["thai_date"]), "15 ม.ค. 66", "2023-01-15"),
            (json!(["thai_date"]), "15 มค 66", "2023-01-15"),
            (json!(["thai_date"]), "๑๕/๐๑/๒๕๖๖", "2023-01-15"),
            (json!(["thai_date"]), "2566-01-15", "2023-01-15"),
            (json!(["excel_date"]), "44927", "2023-01-01"),
            (json!(["excel_date"]), "2023-01-01T08:00:00", "2023-01-01"),
            (json!(["excel_date", "fiscal_year"]), "44835", "FY2023"),
            (json!(["academic_year"]), "16 พ.ค. 2566", "AY2023"),
            (json!(["academic_year"]), "15 พ.ค. 2566", "AY2022"),
            (json!(["academic_year"]), "2566", "AY2023"),
            (json!(["fiscal_year"]), "30 ก.ย. 2566", "FY2023"),
            (json!(["fiscal_year"]), "1 ต.ค. 2566", "FY2024"),
            (json!(["fiscal_year"]), "ปีงบประมาณ ๒๕๖๖", "FY2023"),
            (json!(["calendar_year"]), "15/01/2566", "2023"),
            (json!(["calendar_year"]), "2023", "2023"),
            (json!(["month"]), "15 ม.ค. 2566", "2023-01"),
            (json!(["month"]), "มกราคม 2566", "2023-01"),
        ];
        for (transforms, cell, want) in cases {
            assert_eq!(
                transformed(transforms.clone(), cell),
                Ok(Some(want.to_string())),
                "{transforms} {cell}"
            );
        }
        let bad: &[(serde_json::Value, &str, &str)] = &[
            (
                json!(["thai_date"]),
                "31/02/2566",
                "there is no day 31 in month 2 of 2023 CE",
            ),
            (json!(["thai_date"]), "พรุ่งนี้", "not a date"),
            (
                json!(["excel_date"]),
                "15/01/2566",
                "not an Excel date serial number",
            ),
            (json!(["fiscal_year"]), "ไม่ทราบ", "not a date or a year"),
            (json!(["month"]), "2566", "not a date or a year"),
        ];
        for (transforms, cell, reason) in bad {
            let reject = transformed(transforms.clone(), cell).expect_err("rejected");
            assert_eq!(reject.reason, *reason, "{transforms} {cell}");
            assert_eq!(reject.value.as_deref(), Some(*cell));
            assert_eq!(reject.position.column.as_deref(), Some("x"));
        }
        assert_eq!(
            transformed(json!(["thai_date", "fiscal_year"]), " "),
            Ok(None)
        );
    }

    #[test]
    fn numbers_percentages_and_nulls_transform() {
        let nulls = json!([{"null_if": ["N/A", "null", "ไม่มีข้อมูล"]}, "number"]);
        for cell in ["N/A", "n/a", "null", "NULL", " ไม่มีข้อมูล ", "-", ""] {
            assert_eq!(transformed(nulls.clone(), cell), Ok(None), "{cell}");
        }
        assert_eq!(transformed(nulls.clone(), "1,234"), Ok(Some("1234".into())));
        for (cell, want) in [
            ("12.5%", Some("12.5")),
            ("๑๒.๕ %", Some("12.5")),
            ("12.5", Some("12.5")),
            ("ร้อยละ 7", Some("7")),
            ("-", None),
        ] {
            assert_eq!(
                transformed(json!(["percent"]), cell),
                Ok(want.map(String::from)),
                "{cell}"
            );
        }
        let reject = transformed(json!(["percent"]), "abc%").expect_err("rejected");
        assert_eq!(reject.reason, "not a percentage");
    }

    #[test]
    fn text_transforms_and_lookup_fallbacks() {
        let prefixes = json!([{"strip_prefix": ["ตำบล", "แขวง", "อำเภอ", "เขต", "จังหวัด"]}]);
        let cases: &[(serde_json::Value, &str, Option<&str>)] = &[
            (json!(["upper"]), "Mueang abc", Some("MUEANG ABC")),
            (json!(["lower"]), "Mueang ABC", Some("mueang abc")),
            (prefixes.clone(), " ตำบล บุดี", Some("บุดี")),
            (prefixes.clone(), "เขตพระนคร", Some("พระนคร")),
            (prefixes.clone(), "บุดี", Some("บุดี")),
            (prefixes, "ตำบล", None),
            (json!([{"strip_prefix": "ตำบล"}]), "ตำบลยุโป", Some("ยุโป")),
            (
                json!([{"replace": {"from": ".", "to": ""}}]),
                "ม.ค.",
                Some("มค"),
            ),
            (
                json!([{"lookup": "sex", "on_missing": "keep"}]),
                "อื่น",
                Some("อื่น"),
            ),
            (
                json!([{"lookup": "sex", "on_missing": "keep"}]),
                "ชาย",
                Some("male"),
            ),
            (json!([{"lookup": "sex", "on_missing": "null"}]), "อื่น", None),
            (json!(["area_code"]), "๙๕๐๑๐๒๐๓", Some("950102")),
            (json!(["area_code"]), "95.0", Some("95")),
        ];
        for (transforms, cell, want) in cases {
            assert_eq!(
                transformed(transforms.clone(), cell),
                Ok(want.map(String::from)),
                "{transforms} {cell}"
            );
        }
        let reject = transformed(json!([{"lookup": "sex"}]), "อื่น").expect_err("rejected");
        assert_eq!(reject.reason, "\"อื่น\" is not in the lookup table \"sex\"");
        let reject = transformed(json!(["area_code"]), "901").expect_err("rejected");
        assert!(
            reject
                .reason
                .contains("6 (subdistrict) or 8 (village) digits, not 3"),
            "{reject}"
        );
    }

    #[test]
    fn concat_joins_columns_and_constants() {
        let config = toml_like(
            r#"{"fields": {
                "code": {"concat": ["จังหวัด", "อำเภอ"], "transforms": ["thai_digits"]},
                "name_th": {"concat": ["=อำเภอ", "ชื่อ"], "separator": " "}
            }}"#,
        );
        let mapping = Mapping::new(Target::Areas, config).expect("valid");
        let header = ["จังหวัด", "อำเภอ", "ชื่อ"];
        mapping
            .check_header(&Header::new(header.iter().map(|s| s.to_string()).collect()))
            .expect("columns present");
        let row = one(mapping.map(&record(&header, &["๙๐", "๐๑", "เมืองสงขลา"]))).expect("maps");
        match row {
            MappedRow::Area(area) => {
                assert_eq!(area.code, "9001");
                assert_eq!(area.name_th, "อำเภอ เมืองสงขลา");
            }
            other => panic!("{other:?}"),
        }
        let reject = one(mapping.map(&record(&header, &["90", "1", "x"]))).expect_err("3 digits");
        assert_eq!(reject.position.column.as_deref(), Some("จังหวัด + อำเภอ"));
        assert_eq!(reject.value.as_deref(), Some("901"));
        let reject = one(mapping.map(&record(&header, &["", " ", "x"]))).expect_err("blank");
        assert_eq!(reject.reason, "code is blank");
    }

    #[test]
    fn transform_spellings_round_trip_and_bad_ones_are_explained() {
        for name in TRANSFORM_NAMES {
            let transform: Transform = serde_json::from_value(json!(name)).expect("known name");
            let back = serde_json::to_value(&transform).expect("serialises");
            if *name == "area_name" {
                assert_eq!(back, json!({"area_name": {}}));
            } else {
                assert_eq!(back, json!(name));
            }
        }
        for table in [
            json!({"lookup": "sex"}),
            json!({"lookup": "sex", "on_missing": "keep"}),
            json!({"null_if": ["N/A"]}),
            json!({"strip_prefix": ["ตำบล"]}),
            json!({"replace": {"from": "a", "to": "b"}}),
            json!({"area_name": {"level": "district", "within": ["=ยะลา"]}}),
        ] {
            let transform: Transform = serde_json::from_value(table.clone()).expect("parses");
            assert_eq!(serde_json::to_value(&transform).expect("serialises"), table);
        }
        let err = |v: serde_json::Value| {
            serde_json::from_value::<Transform>(v)
                .expect_err("refused")
                .to_string()
        };
        assert!(err(json!("trim_all")).contains("unknown variant `trim_all`"));
        assert!(err(json!({"lookup": "sex", "null_if": ["x"]})).contains("exactly one of"));
        assert!(err(json!({"null_if": ["x"], "on_missing": "keep"}))
            .contains("only goes with `lookup`"));
        assert!(
            err(json!({"lookup": "sex", "on_missing": "drop"})).contains("unknown variant `drop`")
        );
        assert!(err(json!({"lokup": "sex"})).contains("unknown field `lokup`"));
    }

    #[test]
    fn invalid_new_options_are_refused_with_a_reason() {
        let cases = [
            (
                json!({"fields": {"code": {"column": "c", "separator": "-"}, "name_th": {"column": "n"}}}),
                "has a `separator` but no `concat`",
            ),
            (
                json!({"fields": {"code": {"column": "c", "concat": ["a"]}, "name_th": {"column": "n"}}}),
                "exactly one of `column`, `const` or `concat`",
            ),
            (
                json!({"fields": {"code": {"concat": []}, "name_th": {"column": "n"}}}),
                "needs a `concat` of column names",
            ),
            (
                json!({"fields": {"code": {"column": "c", "transforms": [{"replace": {"from": "", "to": "x"}}]}, "name_th": {"column": "n"}}}),
                "empty `from`",
            ),
            (
                json!({"fields": {"code": {"column": "c", "transforms": [{"null_if": []}]}, "name_th": {"column": "n"}}}),
                "`null_if` without texts",
            ),
            (
                json!({"unpivot": {"columns": ["a"], "columns_matching": "b*", "name": "y", "value": "v"},
                       "fields": {"code": {"column": "c"}, "name_th": {"column": "n"}}}),
                "either `columns`",
            ),
            (
                json!({"unpivot": {"columns": ["a"], "name": "v", "value": "v"},
                       "fields": {"code": {"column": "c"}, "name_th": {"column": "n"}}}),
                "must differ",
            ),
        ];
        for (config, expect) in cases {
            let config: MappingConfig = serde_json::from_value(config).expect("parses");
            let err = Mapping::new(Target::Areas, config).expect_err("refused");
            assert!(err.contains(expect), "{err}");
        }
        let unknown = serde_json::from_value::<MappingConfig>(json!({
            "fields": {}, "unpivot": {"columns": ["a"], "name": "y", "value": "v", "pattern": "x"}
        }));
        assert!(unknown.is_err());
    }

    fn csv_records(path: &str) -> Vec<Record> {
        CsvConfig::new(path)
            .open(&shared_data(""))
            .expect("opens")
            .filter_map(|item| match item.expect("reads") {
                SourceItem::Record(r) if !r.is_blank() => Some(r),
                _ => None,
            })
            .collect()
    }

    fn text<'a>(record: &'a Record, column: &str) -> &'a str {
        match record
            .header
            .position(column)
            .and_then(|i| record.cells.get(i))
        {
            Some(Cell::Text(t)) => t,
            _ => "",
        }
    }

    /// Area names of the kongvut lists. provinces.id is a 1..77 sequence, not the DOPA
    /// code: the province code is the first two digits of its districts' codes.
    fn kongvut_area_names() -> AreaNames {
        let districts = csv_records("kongvut-thai-province-data/districts.csv");
        let province_codes: HashMap<String, String> = districts
            .iter()
            .map(|d| {
                let code = text(d, "id").get(..2).expect("district code").to_string();
                (text(d, "province_id").to_string(), code)
            })
            .collect();
        let named = |r: &Record, code: String| {
            let en = Some(text(r, "name_en").to_string()).filter(|e| !e.is_empty());
            (code, text(r, "name_th").to_string(), en)
        };
        let mut rows = Vec::new();
        for p in csv_records("kongvut-thai-province-data/provinces.csv") {
            let code = province_codes[text(&p, "id")].clone();
            rows.push(named(&p, code));
        }
        for d in &districts {
            rows.push(named(d, text(d, "id").to_string()));
        }
        for s in csv_records("kongvut-thai-province-data/sub_districts.csv") {
            rows.push(named(&s, text(&s, "id").to_string()));
        }
        AreaNames::new(rows)
    }

    fn school_area_mapping() -> Mapping {
        let config: MappingConfig = serde_json::from_value(json!({"fields": {
            "indicator": {"const": "schools"}, "period": {"const": "2023"}, "value": {"const": "1"},
            "area": {"column": "subDistrict", "transforms": [
                {"area_name": {"level": "subdistrict", "within": ["province", "district"]}}
            ]}
        }}))
        .expect("mapping json");
        Mapping::new(Target::Observations, config).expect("valid")
    }

    #[test]
    fn school_subdistrict_names_resolve_to_kongvut_codes() {
        let refs = RefData {
            area_names: kongvut_area_names(),
        };
        assert_eq!(refs.area_names.len(), 77 + 929 + 7_451);
        let mapping = school_area_mapping();
        assert!(mapping.needs_area_names());
        let mut rates = HashMap::new();
        for province in [
            "yala",
            "phuket",
            "bangkok",
            "chiang_mai",
            "mae_hong_son",
            "nakhon_ratchasima",
        ] {
            let records = csv_records(&format!("thai-school-data-wikipedia/{province}.csv"));
            let mut matched = 0;
            let mut rejects = Vec::new();
            for r in &records {
                match one(mapping.map_with(r, &refs)) {
                    Ok(_) => matched += 1,
                    Err(reject) => rejects.push(reject),
                }
            }
            eprintln!(
                "{province}: {matched}/{} school subdistricts resolved ({:.1}%)",
                records.len(),
                100.0 * matched as f64 / records.len() as f64
            );
            for reject in rejects.iter().take(3) {
                eprintln!("  {reject}");
            }
            rates.insert(province, (matched, records.len(), rejects));
        }
        let (matched, total, rejects) = &rates["yala"];
        assert_eq!((*matched, *total), (351, 352));
        assert_eq!(rejects[0].position.column.as_deref(), Some("subDistrict"));
        assert_eq!(
            rejects[0].reason,
            "no subdistrict of 9505 (ยะหา) is named \"บาโงยซีแน\""
        );
        let (matched, total, _) = &rates["phuket"];
        assert_eq!((*matched, *total), (132, 132));

        // The zero-width spaces of yala.csv: "\u200b\u200b บุดี" is บุดี, 950102.
        let yala = csv_records("thai-school-data-wikipedia/yala.csv");
        let budi = yala
            .iter()
            .find(|r| text(r, "subDistrict") == "\u{200b}\u{200b} บุดี")
            .expect("the row with zero-width spaces");
        match one(mapping.map_with(budi, &refs)) {
            Ok(MappedRow::Observation(o)) => assert_eq!(o.area_code, "950102"),
            other => panic!("{other:?}"),
        }
        let with_zwsp = yala
            .iter()
            .filter(|r| text(r, "subDistrict").contains('\u{200b}'))
            .count();
        assert!(with_zwsp > 0);
    }

    #[test]
    fn area_name_rejects_name_the_column_at_fault() {
        let refs = RefData {
            area_names: kongvut_area_names(),
        };
        let mapping = school_area_mapping();
        let header = ["name", "subDistrict", "district", "province"];
        // A district that is not in the province: the reject is at "district".
        let reject =
            one(mapping.map_with(&record(&header, &["x", "บุดี", "เมืองภูเก็ต", "ยะลา"]), &refs))
                .expect_err("wrong district");
        assert_eq!(reject.position.column.as_deref(), Some("district"));
        assert_eq!(
            reject.reason,
            "no district of 95 (ยะลา) is named \"เมืองภูเก็ต\""
        );
        // "เมือง" is the capital district of the province it is in.
        let row = one(mapping.map_with(
            &record(&header, &["x", "ตำบลสะเตง", "อ.เมือง", "จ.ยะลา"]),
            &refs,
        ))
        .expect("resolves");
        match row {
            MappedRow::Observation(o) => assert_eq!(o.area_code, "950101"),
            other => panic!("{other:?}"),
        }
        // Unscoped and ambiguous: the candidates are listed.
        let config: MappingConfig = serde_json::from_value(json!({"fields": {
            "indicator": {"const": "i"}, "period": {"const": "2023"}, "value": {"const": "1"},
            "area": {"column": "subDistrict", "transforms": [{"area_name": {"level": "district"}}]}
        }}))
        .expect("mapping json");
        let unscoped = Mapping::new(Target::Observations, config).expect("valid");
        let reject = one(unscoped.map_with(&record(&header, &["x", "เมือง", "", ""]), &refs))
            .expect_err("ambiguous");
        assert!(
            reject
                .reason
                .starts_with("\"เมือง\" names 75 districts: 1101 (เมืองสมุทรปราการ), "),
            "{}",
            reject.reason
        );
        assert!(reject
            .reason
            .ends_with("and 65 more; give the enclosing area to tell them apart"));
        // Without reference data, the reason says what is missing.
        let reject = one(mapping.map(&record(&header, &["x", "บุดี", "เมืองยะลา", "ยะลา"])))
            .expect_err("no names");
        assert!(
            reject.reason.starts_with("no area names are loaded"),
            "{reject}"
        );
        // A blank enclosing area is a reject at its column.
        let reject = one(mapping.map_with(&record(&header, &["x", "บุดี", "", "ยะลา"]), &refs))
            .expect_err("blank district");
        assert_eq!(reject.position.column.as_deref(), Some("district"));
    }
}
