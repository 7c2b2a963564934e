//! The transforms a field's value goes through, as written in the config (`"trim"`,
//! `{ lookup = "sex" }`) and as applied to one value.

use super::config::{AreaNameOptions, OnMissing};
use abe_schema::period::{excel_serial_date, parse_date, parse_period, PeriodKind};
use abe_schema::thai::{
    area_code_from_any, parse_number, thai_digits_to_arabic, to_ce_year, trim_thai, AreaCodeError,
};
use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

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
    /// `{ substring = { start = 1, length = 2 } }`: `length` characters from the
    /// `start`th (1 is the first), as a spreadsheet's MID does; without `length`, to the
    /// end. Characters are Unicode code points: a Thai vowel or tone mark counts as
    /// one. The province `95` of the district code `9501`. A value too short for
    /// `start` becomes blank.
    Substring {
        /// First character, 1-based.
        start: usize,
        /// Characters to keep; all the rest when absent.
        length: Option<usize>,
    },
    /// `{ split = { separator = "/", part = 1 } }`: the `part`th piece of the value cut
    /// at `separator` (1 is the first, -1 the last), trimmed: `2566` of `2566/1`. A value
    /// with fewer pieces is refused.
    Split {
        /// Text to cut at; not empty.
        separator: String,
        /// Which piece: 1 the first, -1 the last; never 0.
        part: i64,
    },
}

/// Keys of the transforms written as a table, for error messages.
pub(crate) const TRANSFORM_TABLES: &[&str] = &[
    "lookup",
    "null_if",
    "strip_prefix",
    "replace",
    "area_name",
    "substring",
    "split",
];

/// Names of the transforms written as a string, for error messages.
pub(crate) const TRANSFORM_NAMES: &[&str] = &[
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
            | Transform::Replace { .. }
            | Transform::Substring { .. }
            | Transform::Split { .. } => return None,
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
    #[serde(default)]
    substring: Option<SubstringSpec>,
    #[serde(default)]
    split: Option<SplitSpec>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubstringSpec {
    start: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    length: Option<usize>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SplitSpec {
    separator: String,
    part: i64,
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
            self.substring.is_some(),
            self.split.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(format!(
                "a transform table needs exactly one of {}",
                TRANSFORM_TABLES.join(", ")
            ));
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
        } else if let Some(SubstringSpec { start, length }) = self.substring {
            Transform::Substring { start, length }
        } else if let Some(SplitSpec { separator, part }) = self.split {
            Transform::Split { separator, part }
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
            Transform::Substring { start, length } => map.serialize_entry(
                "substring",
                &SubstringSpec {
                    start: *start,
                    length: *length,
                },
            )?,
            Transform::Split { separator, part } => map.serialize_entry(
                "split",
                &SplitSpec {
                    separator: separator.clone(),
                    part: *part,
                },
            )?,
            // Every other transform has a name and was written as a string above.
            _ => {}
        }
        map.end()
    }
}

impl Transform {
    /// Applies a transform that needs nothing but the value and the lookup tables; the
    /// error is the reason the value is refused. `area_name`, which resolves names in
    /// the row's context, is applied by the mapping and passes through here unchanged.
    pub(crate) fn apply(
        &self,
        value: &str,
        lookups: &BTreeMap<String, BTreeMap<String, String>>,
    ) -> Result<String, String> {
        let blank = trim_thai(value).is_empty();
        Ok(match self {
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
            Transform::Substring { start, length } => {
                let rest = value.chars().skip(start.saturating_sub(1));
                match length {
                    Some(length) => rest.take(*length).collect(),
                    None => rest.collect(),
                }
            }
            Transform::Split { separator, part } => {
                let pieces: Vec<&str> = value.split(separator.as_str()).collect();
                let index = match usize::try_from(*part) {
                    Ok(n) => n.checked_sub(1),
                    Err(_) => pieces.len().checked_sub(part.unsigned_abs() as usize),
                };
                match index.and_then(|i| pieces.get(i)) {
                    Some(piece) => trim_thai(piece).to_string(),
                    None => {
                        return Err(format!(
                            "has {} piece(s) when cut at \"{separator}\", not a piece {part}",
                            pieces.len()
                        ))
                    }
                }
            }
            Transform::BeYear => to_ce_year(value).map_err(|e| e.to_string())?.to_string(),
            Transform::Number => match parse_number(value) {
                Ok(Some(n)) => number_text(n),
                Ok(None) => String::new(),
                Err(e) => return Err(e.to_string()),
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
                    return Err(format!(
                        "area code must have 2 (province), 4 (district), 6 (subdistrict) \
                         or 8 (village) digits, not {n}"
                    ))
                }
                Err(e) => return Err(e.to_string()),
            },
            Transform::AreaName(_) => value.to_string(),
            Transform::Lookup { table, on_missing } => {
                let key = trim_thai(value);
                match lookups.get(table).and_then(|t| t.get(key)) {
                    Some(result) => result.clone(),
                    None => match on_missing {
                        OnMissing::Reject => {
                            return Err(format!("\"{key}\" is not in the lookup table \"{table}\""))
                        }
                        OnMissing::Keep => value.to_string(),
                        OnMissing::Null => String::new(),
                    },
                }
            }
        })
    }
}

/// A number as text, as `f64`'s `Display` writes it. Counts are whole: writing them
/// as integers skips the shortest-float search, a visible cost on national files.
pub(crate) fn number_text(n: f64) -> String {
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
