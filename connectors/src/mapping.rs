//! The declarative mapping: which source column (or constant) feeds each field of a
//! unified row, through which transforms. A mapping is checked once against its target
//! when the config loads, and against each header when a table starts.

use crate::{Cell, Header, Record};
use abe_schema::thai::{
    normalise_area_code, parent_area_code, parse_number, thai_digits_to_arabic, to_ce_year,
    trim_thai,
};
use abe_schema::{AreaRow, Breakdown, ObservationRow, Reject, SchoolRow, Target};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A mapping as written in the config.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingConfig {
    /// Target field name (see [`target_fields`]) to the spec that fills it.
    pub fields: BTreeMap<String, FieldSpec>,
    /// For observations: breakdown dimension (e.g. `sex`) to the spec that fills it.
    #[serde(default)]
    pub breakdown: BTreeMap<String, FieldSpec>,
    /// Lookup tables used by `{ lookup = "name" }` transforms: source text to result.
    #[serde(default)]
    pub lookups: BTreeMap<String, BTreeMap<String, String>>,
}

/// How one field is filled: from a column or a constant, then transformed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    /// Header name of the source column.
    #[serde(default)]
    pub column: Option<String>,
    /// A constant value instead of a column.
    #[serde(default, rename = "const")]
    pub constant: Option<String>,
    /// Transforms applied in order.
    #[serde(default)]
    pub transforms: Vec<Transform>,
    /// Value used when the result is blank.
    #[serde(default)]
    pub default: Option<String>,
}

/// One step of a field's transformation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Transform {
    /// Strip white space, including zero-width and no-break spaces.
    Trim,
    /// Thai digits (๐-๙) to Arabic digits.
    ThaiDigits,
    /// A Buddhist-era (or common-era) year to the common-era year.
    BeYear,
    /// A number with thousands separators, Thai digits or a dash for none, written back
    /// plainly (`1,234` becomes `1234`, `-` becomes blank).
    Number,
    /// Replace through the named lookup table; a value not in the table is a reject.
    Lookup(String),
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

/// A checked mapping for one target.
#[derive(Debug, Clone)]
pub struct Mapping {
    target: Target,
    config: MappingConfig,
}

impl Mapping {
    /// Checks `config` against `target`: known and required fields, one source per
    /// field, lookups that exist.
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
            match (&spec.column, &spec.constant) {
                (Some(_), None) | (None, Some(_)) => {}
                _ => {
                    return Err(format!(
                        "field \"{name}\" needs exactly one of `column` or `const`"
                    ))
                }
            }
            for transform in &spec.transforms {
                if let Transform::Lookup(table) = transform {
                    if !config.lookups.contains_key(table) {
                        return Err(format!(
                            "field \"{name}\" uses lookup \"{table}\", which is not declared"
                        ));
                    }
                }
            }
        }
        Ok(Mapping { target, config })
    }

    /// The target this mapping fills.
    pub fn target(&self) -> Target {
        self.target
    }

    /// The source column that fills `field`, if it comes from a column.
    pub fn column_of(&self, field: &str) -> Option<&str> {
        self.config
            .fields
            .get(field)
            .and_then(|s| s.column.as_deref())
    }

    /// Checks that every column the mapping reads is in `header`.
    pub fn check_header(&self, header: &Header) -> Result<(), String> {
        let specs = self
            .config
            .fields
            .values()
            .chain(self.config.breakdown.values());
        for column in specs.filter_map(|s| s.column.as_deref()) {
            if header.position(column).is_none() {
                return Err(format!(
                    "column \"{column}\" is not in the header (columns: {})",
                    header
                        .names()
                        .iter()
                        .map(|n| format!("\"{n}\""))
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        Ok(())
    }

    /// Maps one record, or says which field of it is wrong.
    pub fn map(&self, record: &Record) -> Result<MappedRow, Reject> {
        let field = |name: &str| -> Result<Option<String>, Reject> {
            match self.config.fields.get(name) {
                Some(spec) => self.evaluate(spec, record),
                None => Ok(None),
            }
        };
        let required = |name: &str| -> Result<(String, Option<String>), Reject> {
            let spec = self.config.fields.get(name);
            match field(name)? {
                Some(value) => Ok((value, spec.and_then(|s| s.column.clone()))),
                None => Err(self.reject(record, spec, None, format!("{name} is blank"))),
            }
        };
        match self.target {
            Target::Areas => {
                let (raw_code, _) = required("code")?;
                let (code, level) = self.area_code(record, "code", &raw_code)?;
                Ok(MappedRow::Area(AreaRow {
                    parent_code: parent_area_code(&code).map(str::to_string),
                    code,
                    level,
                    name_th: required("name_th")?.0,
                    name_en: field("name_en")?,
                }))
            }
            Target::Schools => {
                let (raw_area, _) = required("area")?;
                Ok(MappedRow::School(SchoolRow {
                    code: required("code")?.0,
                    name_th: required("name_th")?.0,
                    name_en: field("name_en")?,
                    area_code: self.area_code(record, "area", &raw_area)?.0,
                    affiliation: field("affiliation")?,
                    levels: field("levels")?,
                }))
            }
            Target::Observations => {
                let area_code = match field("area")? {
                    Some(raw) => self.area_code(record, "area", &raw)?.0,
                    None => String::new(),
                };
                let school_code = field("school")?.unwrap_or_default();
                if area_code.is_empty() && school_code.is_empty() {
                    return Err(self.reject(
                        record,
                        None,
                        None,
                        "neither an area nor a school is given".into(),
                    ));
                }
                let (raw_value, _) = required("value")?;
                let value = match parse_number(&raw_value) {
                    Ok(Some(v)) => v,
                    Ok(None) => {
                        let spec = self.config.fields.get("value");
                        return Err(self.reject(
                            record,
                            spec,
                            Some(&raw_value),
                            "value is blank".into(),
                        ));
                    }
                    Err(e) => {
                        let spec = self.config.fields.get("value");
                        return Err(self.reject(
                            record,
                            spec,
                            Some(&raw_value),
                            format!("value is {e}"),
                        ));
                    }
                };
                let mut pairs = Vec::with_capacity(self.config.breakdown.len());
                for (dimension, spec) in &self.config.breakdown {
                    if let Some(v) = self.evaluate(spec, record)? {
                        pairs.push((dimension.clone(), v));
                    }
                }
                Ok(MappedRow::Observation(ObservationRow {
                    indicator: required("indicator")?.0,
                    area_code,
                    school_code,
                    period: required("period")?.0,
                    breakdown: Breakdown::new(pairs).encode(),
                    value,
                }))
            }
        }
    }

    fn area_code(
        &self,
        record: &Record,
        field: &str,
        raw: &str,
    ) -> Result<(String, abe_schema::AreaLevel), Reject> {
        normalise_area_code(raw).map_err(|e| {
            self.reject(
                record,
                self.config.fields.get(field),
                Some(raw),
                e.to_string(),
            )
        })
    }

    /// The field's value after transforms; `None` when blank and without default.
    fn evaluate(&self, spec: &FieldSpec, record: &Record) -> Result<Option<String>, Reject> {
        let mut value = match (&spec.column, &spec.constant) {
            (_, Some(constant)) => constant.clone(),
            (Some(column), None) => {
                let index = record.header.position(column);
                match index.and_then(|i| record.cells.get(i)) {
                    Some(Cell::Text(text)) => text.clone(),
                    Some(Cell::Error(error)) => {
                        return Err(self.reject(
                            record,
                            Some(spec),
                            Some(error),
                            format!("the cell holds the spreadsheet error {error}"),
                        ))
                    }
                    None => String::new(),
                }
            }
            (None, None) => String::new(),
        };
        let raw = value.clone();
        for transform in &spec.transforms {
            value = self
                .apply(transform, &value)
                .map_err(|reason| self.reject(record, Some(spec), Some(&raw), reason))?;
        }
        if trim_thai(&value).is_empty() {
            return Ok(spec.default.clone());
        }
        Ok(Some(value))
    }

    fn apply(&self, transform: &Transform, value: &str) -> Result<String, String> {
        Ok(match transform {
            Transform::Trim => trim_thai(value).to_string(),
            Transform::ThaiDigits => thai_digits_to_arabic(value),
            Transform::BeYear if trim_thai(value).is_empty() => String::new(),
            Transform::BeYear => to_ce_year(value).map_err(|e| e.to_string())?.to_string(),
            Transform::Number => match parse_number(value) {
                Ok(Some(n)) => n.to_string(),
                Ok(None) => String::new(),
                Err(e) => return Err(e.to_string()),
            },
            Transform::Lookup(table) => {
                let key = trim_thai(value);
                if key.is_empty() {
                    return Ok(String::new());
                }
                match self.config.lookups.get(table).and_then(|t| t.get(key)) {
                    Some(result) => result.clone(),
                    None => {
                        return Err(format!("\"{key}\" is not in the lookup table \"{table}\""))
                    }
                }
            }
        })
    }

    fn reject(
        &self,
        record: &Record,
        spec: Option<&FieldSpec>,
        value: Option<&str>,
        reason: String,
    ) -> Reject {
        let position = match spec.and_then(|s| s.column.as_deref()) {
            Some(column) => record.position.with_column(column),
            None => record.position.clone(),
        };
        Reject::new(position, value, reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use abe_schema::{AreaLevel, SourcePosition};
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

    const HEADER: &[&str] = &["ปี", "อำเภอ", "เพศ", "ตัวชี้วัด", "จำนวน"];

    #[test]
    fn an_observation_row_is_mapped_through_every_transform() {
        let mapping = observation_mapping();
        let row = mapping
            .map(&record(
                HEADER,
                &["๒๕๖๖", " ๙๐๐๑ ", "หญิง", "นักเรียน ", "๑,๒๓๔"],
            ))
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
            let reject = mapping.map(&record(HEADER, &cells)).expect_err("rejected");
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
        let reject = mapping.map(&r).expect_err("rejected");
        assert!(reject.reason.contains("#DIV/0!"), "{reject}");
    }

    #[test]
    fn areas_get_level_and_parent_from_the_code() {
        let config = toml_like(
            r#"{"fields": {"code": {"column": "code"}, "name_th": {"column": "name", "transforms": ["trim"]}, "name_en": {"const": "X"}}}"#,
        );
        let mapping = Mapping::new(Target::Areas, config).expect("valid");
        let row = mapping
            .map(&record(&["code", "name"], &["9001", " เมืองสงขลา "]))
            .expect("maps");
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
}
