//! Thai conventions found in government files: Thai digits (๐-๙), Buddhist-era years
//! (2566 = 2023), numbers written with thousands separators or a dash for "none", the
//! DOPA area codes whose prefixes encode the hierarchy (90 > 9001 > 900101), and area
//! names as the national lists disagree on writing them ([`AreaNames`]). Dates and
//! periods are in [`crate::period`].

use crate::model::AreaLevel;
use std::collections::{HashMap, HashSet};
use std::fmt;

/// Offset between the Buddhist era and the common era.
pub const BUDDHIST_ERA_OFFSET: i32 = 543;

/// Replaces Thai digits (U+0E50..U+0E59) with ASCII digits; other characters stay.
pub fn thai_digits_to_arabic(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{0E50}'..='\u{0E59}' => char::from(b'0' + (c as u32 - 0x0E50) as u8),
            other => other,
        })
        .collect()
}

/// Trims white space, including the zero-width and no-break spaces Thai text carries.
pub fn trim_thai(text: &str) -> &str {
    text.trim_matches(|c: char| {
        c.is_whitespace() || matches!(c, '\u{200B}' | '\u{FEFF}' | '\u{00A0}')
    })
}

/// Error of a year conversion, in words for a reject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum YearError {
    /// Not a whole number.
    #[error("not a year")]
    NotAYear,
    /// A number, but neither a plausible Buddhist-era nor common-era year.
    #[error("year {0} is outside 1900-2200 CE (2443-2743 BE)")]
    OutOfRange(i32),
}

/// Reads a year written in the Buddhist era (2566) or the common era (2023), with Thai
/// or Arabic digits and an optional "พ.ศ."/"ค.ศ." prefix, and returns the CE year.
/// Years from 2443 on are taken as BE: no Thai source dates data in CE 2443.
pub fn to_ce_year(text: &str) -> Result<i32, YearError> {
    let digits = thai_digits_to_arabic(trim_thai(text));
    let digits = digits
        .trim_start_matches("พ.ศ.")
        .trim_start_matches("ค.ศ.")
        .trim();
    let digits = digits.strip_suffix(".0").unwrap_or(digits);
    let year: i32 = digits.parse().map_err(|_| YearError::NotAYear)?;
    let ce = if year >= 2443 {
        year - BUDDHIST_ERA_OFFSET
    } else {
        year
    };
    if (1900..=2200).contains(&ce) {
        Ok(ce)
    } else {
        Err(YearError::OutOfRange(year))
    }
}

/// Error of a number conversion, in words for a reject.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a number")]
pub struct NotANumber;

/// Parses a number as Thai and international files write it: Thai or Arabic digits,
/// thousands separators (`1,234,567`), spaces, a leading sign or accounting parentheses.
/// Blank cells and the dashes used for "none" ("-", "–", "—") give `None`.
pub fn parse_number(text: &str) -> Result<Option<f64>, NotANumber> {
    let text = trim_thai(text);
    if text.is_empty() || matches!(text, "-" | "–" | "—" | "−") {
        return Ok(None);
    }
    let text = thai_digits_to_arabic(text);
    let (negative, body) = match text.strip_prefix('(').and_then(|t| t.strip_suffix(')')) {
        Some(inner) => (true, inner.to_string()),
        None => (false, text),
    };
    let cleaned: String = body
        .chars()
        .filter(|c| !matches!(c, ',' | ' ' | '\u{00A0}' | '\u{202F}' | '_'))
        .map(|c| if c == '−' { '-' } else { c })
        .collect();
    // Reject what Rust's float parser would accept but no person writes in a table.
    let plausible = !cleaned.is_empty()
        && cleaned
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
        && cleaned.chars().any(|c| c.is_ascii_digit());
    if !plausible {
        return Err(NotANumber);
    }
    let value: f64 = cleaned.parse().map_err(|_| NotANumber)?;
    if !value.is_finite() {
        return Err(NotANumber);
    }
    Ok(Some(if negative { -value } else { value }))
}

/// Error of an area-code check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AreaCodeError {
    /// Something other than ASCII digits after cleaning.
    #[error("area code must be digits")]
    NotDigits,
    /// Digits of a length no Thai area code has.
    #[error("area code must have 2 (province), 4 (district) or 6 (subdistrict) digits, not {0}")]
    BadLength(usize),
}

/// Normalises an area code (Thai digits, spaces, a trailing ".0" from a spreadsheet
/// number) and tells its level. DOPA codes are prefix-hierarchical: a district code
/// starts with its province code, a subdistrict code with its district code.
pub fn normalise_area_code(text: &str) -> Result<(String, AreaLevel), AreaCodeError> {
    let digits = thai_digits_to_arabic(trim_thai(text));
    let digits = digits.strip_suffix(".0").unwrap_or(&digits);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AreaCodeError::NotDigits);
    }
    let level = match digits.len() {
        2 => AreaLevel::Province,
        4 => AreaLevel::District,
        6 => AreaLevel::Subdistrict,
        n => return Err(AreaCodeError::BadLength(n)),
    };
    Ok((digits.to_string(), level))
}

/// The parent of an area code by its prefix, `None` for a province.
pub fn parent_area_code(code: &str) -> Option<&str> {
    match code.len() {
        4 | 6 => code.get(..code.len() - 2),
        _ => None,
    }
}

/// Normalises an area code written at any depth a source may use: whatever
/// [`normalise_area_code`] accepts, and 8-digit village (หมู่บ้าน) codes, which are a
/// subdistrict code and a 2-digit village number and so give their subdistrict.
pub fn area_code_from_any(text: &str) -> Result<(String, AreaLevel), AreaCodeError> {
    let digits = thai_digits_to_arabic(trim_thai(text));
    let digits = digits.strip_suffix(".0").unwrap_or(&digits);
    match digits.get(..6) {
        Some(subdistrict) if digits.len() == 8 && digits.bytes().all(|b| b.is_ascii_digit()) => {
            normalise_area_code(subdistrict)
        }
        _ => normalise_area_code(digits),
    }
}

/// Characters that carry no meaning in a name but break exact matches: zero-width
/// space, non-joiner and joiner, word joiner, byte-order mark, soft hyphen.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}'
    )
}

/// Administrative prefixes the national lists disagree on (one writes "ตำบลบุดี", another
/// "บุดี"), longest first so "กิ่งอำเภอ" goes before "อำเภอ". Thai ones attach to the
/// name; English ones are words of their own.
const THAI_ADMIN_PREFIXES: [&str; 9] = [
    "กิ่งอำเภอ",
    "จังหวัด",
    "อำเภอ",
    "ตำบล",
    "แขวง",
    "เขต",
    "จ.",
    "อ.",
    "ต.",
];
const ENGLISH_ADMIN_PREFIXES: [&str; 6] = [
    "king amphoe ",
    "changwat ",
    "khwaeng ",
    "amphoe ",
    "tambon ",
    "khet ",
];
const ENGLISH_ADMIN_SUFFIXES: [&str; 4] =
    [" sub-district", " subdistrict", " district", " province"];

/// The keys an area name is matched by: without invisible characters, surrounding and
/// inner spaces or English case, once with an administrative prefix (or English
/// suffix) removed and once as written, since a few real names start like a prefix
/// (the subdistrict "จ.ป.ร.").
fn area_name_keys(name: &str) -> Vec<String> {
    let cleaned: String = name
        .chars()
        .filter(|c| !is_invisible(*c))
        .flat_map(char::to_lowercase)
        .collect();
    let cleaned = trim_thai(&cleaned);
    let mut stripped = cleaned;
    let thai = THAI_ADMIN_PREFIXES.iter();
    let english = ENGLISH_ADMIN_PREFIXES.iter();
    if let Some(rest) = thai
        .chain(english)
        .find_map(|p| stripped.strip_prefix(p))
        .filter(|rest| !trim_thai(rest).is_empty())
    {
        stripped = trim_thai(rest);
    }
    if let Some(rest) = ENGLISH_ADMIN_SUFFIXES
        .iter()
        .find_map(|s| stripped.strip_suffix(s))
        .filter(|rest| !trim_thai(rest).is_empty())
    {
        stripped = trim_thai(rest);
    }
    let squeeze = |s: &str| -> String { s.chars().filter(|c| !c.is_whitespace()).collect() };
    let mut keys = vec![squeeze(stripped)];
    let as_written = squeeze(cleaned);
    if as_written != keys[0] {
        keys.push(as_written);
    }
    keys.retain(|k| !k.is_empty());
    keys
}

/// One area known by name.
#[derive(Debug, Clone)]
struct NamedArea {
    code: String,
    level: AreaLevel,
    name_th: String,
}

/// The areas' Thai and English names, to turn names into DOPA codes.
///
/// Matching ignores administrative prefixes (ตำบล/แขวง/อำเภอ/เขต/จังหวัด/กิ่งอำเภอ and
/// their abbreviations ต./อ./จ.; Tambon/Khwaeng/Amphoe/Khet/Changwat), zero-width spaces,
/// all white space and English case. A district written "เมือง" (or "Mueang") is the
/// province's capital district, "เมืองยะลา" in ยะลา; "กรุงเทพ", "กรุงเทพฯ" and "กทม"
/// are Bangkok; a name with an alternative in parentheses matches either spelling.
/// Names repeat across the country (there are many subdistricts named "บ้านใหม่"), so a
/// lookup is usually scoped to the enclosing area.
#[derive(Debug, Clone, Default)]
pub struct AreaNames {
    areas: Vec<NamedArea>,
    by_code: HashMap<String, usize>,
    by_key: HashMap<String, Vec<usize>>,
}

impl AreaNames {
    /// Indexes `(code, name_th, name_en)` rows, for instance the hub's area table. Codes
    /// go through [`normalise_area_code`]; a row whose code is not a 2, 4 or 6-digit
    /// area code is left out, as are repeats of a code already given.
    pub fn new(rows: impl IntoIterator<Item = (String, String, Option<String>)>) -> Self {
        let mut names = AreaNames::default();
        let mut english: Vec<Option<String>> = Vec::new();
        for (code, name_th, name_en) in rows {
            let Ok((code, level)) = normalise_area_code(&code) else {
                continue;
            };
            if names.by_code.contains_key(&code) {
                continue;
            }
            let index = names.areas.len();
            names.by_code.insert(code.clone(), index);
            names.areas.push(NamedArea {
                code,
                level,
                name_th,
            });
            english.push(name_en);
        }
        for index in 0..names.areas.len() {
            let area = &names.areas[index];
            let mut spellings = vec![area.name_th.clone()];
            spellings.extend(english[index].clone());
            for spelling in spellings.clone() {
                // "ปอภาร (ปอพาน)": either spelling, or both as written, is the area.
                if let Some((before, inside)) = spelling.split_once('(') {
                    spellings.push(before.to_string());
                    spellings.push(inside.trim_end_matches(')').to_string());
                }
            }
            if area.level == AreaLevel::Province && area.name_th.trim() == "กรุงเทพมหานคร"
            {
                spellings.extend(["กรุงเทพ", "กรุงเทพฯ", "กทม", "กทม."].map(String::from));
            }
            if area.level == AreaLevel::District {
                spellings.extend(names.capital_aliases(index, english[index].as_deref(), &english));
            }
            let keys: HashSet<String> = spellings.iter().flat_map(|s| area_name_keys(s)).collect();
            for key in keys {
                names.by_key.entry(key).or_default().push(index);
            }
        }
        names
    }

    /// "เมือง" and "Mueang" (also "Muang") for a province's capital district, whose full
    /// name is "เมือง" + the province's name ("เมืองยะลา", "Mueang Yala").
    fn capital_aliases(
        &self,
        index: usize,
        name_en: Option<&str>,
        english: &[Option<String>],
    ) -> Vec<String> {
        let area = &self.areas[index];
        let Some(province) = area
            .code
            .get(..2)
            .and_then(|p| self.by_code.get(p))
            .copied()
        else {
            return Vec::new();
        };
        let first_key = |s: &str| area_name_keys(s).into_iter().next().unwrap_or_default();
        let mut aliases = Vec::new();
        let province_th = first_key(&self.areas[province].name_th);
        if first_key(&area.name_th) == format!("เมือง{province_th}") {
            aliases.push("เมือง".to_string());
        }
        if let (Some(en), Some(Some(province_en))) = (name_en, english.get(province)) {
            if first_key(en) == format!("mueang{}", first_key(province_en)) {
                aliases.extend(["mueang".to_string(), "muang".to_string()]);
            }
        }
        aliases
    }

    /// Number of areas known.
    pub fn len(&self) -> usize {
        self.areas.len()
    }

    /// True when no area is known.
    pub fn is_empty(&self) -> bool {
        self.areas.is_empty()
    }

    /// The Thai name of a known code.
    pub fn name_th(&self, code: &str) -> Option<&str> {
        self.by_code
            .get(code)
            .map(|&i| self.areas[i].name_th.as_str())
    }

    /// The code of the area `name` names, at `level` when given, inside the area coded
    /// `within` when given. A name that is itself a code (2, 4, 6 or 8 digits) is taken
    /// as one when it is known and fits. No match, or several, is an error that says so
    /// and, for several, lists the candidates.
    pub fn resolve(
        &self,
        name: &str,
        level: Option<AreaLevel>,
        within: Option<&str>,
    ) -> Result<&str, AreaNameError> {
        let fits = |area: &NamedArea| {
            level.is_none_or(|l| area.level == l)
                && within.is_none_or(|w| area.code.len() > w.len() && area.code.starts_with(w))
        };
        let mut found: Vec<usize> = match area_code_from_any(name) {
            Ok((code, _)) => self.by_code.get(&code).copied().into_iter().collect(),
            Err(_) => {
                let mut found: Vec<usize> = area_name_keys(name)
                    .iter()
                    .filter_map(|k| self.by_key.get(k))
                    .flatten()
                    .copied()
                    .collect();
                found.sort_unstable();
                found.dedup();
                found
            }
        };
        found.retain(|&i| fits(&self.areas[i]));
        let shown: String = trim_thai(name)
            .chars()
            .filter(|c| !is_invisible(*c))
            .collect();
        match found.as_slice() {
            [one] => Ok(self.areas[*one].code.as_str()),
            [] => Err(AreaNameError::NotFound {
                name: shown,
                level,
                within: within.map(|w| self.describe(w)),
            }),
            many => {
                let mut candidates: Vec<&NamedArea> =
                    many.iter().map(|&i| &self.areas[i]).collect();
                candidates.sort_by(|a, b| a.code.cmp(&b.code));
                Err(AreaNameError::Ambiguous {
                    name: shown,
                    level,
                    candidates: candidates
                        .iter()
                        .map(|a| format!("{} ({})", a.code, a.name_th))
                        .collect(),
                })
            }
        }
    }

    /// "9504 (ยะหา)" for messages, or the bare code when it is not known.
    fn describe(&self, code: &str) -> String {
        match self.name_th(code) {
            Some(name) => format!("{code} ({name})"),
            None => code.to_string(),
        }
    }
}

/// Why a name did not give one area, in words for a reject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AreaNameError {
    /// No area of that name (at that level, inside that area).
    NotFound {
        /// The name, without invisible characters.
        name: String,
        /// The level asked for.
        level: Option<AreaLevel>,
        /// The enclosing area, as "code (name)".
        within: Option<String>,
    },
    /// Several areas of that name.
    Ambiguous {
        /// The name, without invisible characters.
        name: String,
        /// The level asked for.
        level: Option<AreaLevel>,
        /// Every match as "code (name)", by code.
        candidates: Vec<String>,
    },
}

/// Candidates listed in an ambiguity message; the rest are counted.
const SHOWN_CANDIDATES: usize = 10;

impl fmt::Display for AreaNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = |level: &Option<AreaLevel>, plural: bool| match (level, plural) {
            (Some(l), false) => l.as_str().to_string(),
            (Some(l), true) => format!("{}s", l.as_str()),
            (None, false) => "area".to_string(),
            (None, true) => "areas".to_string(),
        };
        match self {
            AreaNameError::NotFound {
                name,
                level,
                within,
            } => {
                write!(f, "no {} ", kind(level, false))?;
                if let Some(within) = within {
                    write!(f, "of {within} ")?;
                }
                write!(f, "is named \"{name}\"")
            }
            AreaNameError::Ambiguous {
                name,
                level,
                candidates,
            } => {
                let shown = candidates
                    .iter()
                    .take(SHOWN_CANDIDATES)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ");
                write!(
                    f,
                    "\"{name}\" names {} {}: {shown}",
                    candidates.len(),
                    kind(level, true)
                )?;
                if candidates.len() > SHOWN_CANDIDATES {
                    write!(f, " and {} more", candidates.len() - SHOWN_CANDIDATES)?;
                }
                write!(f, "; give the enclosing area to tell them apart")
            }
        }
    }
}

impl std::error::Error for AreaNameError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thai_digits_become_arabic_and_other_text_stays() {
        assert_eq!(thai_digits_to_arabic("๒๕๖๖"), "2566");
        assert_eq!(thai_digits_to_arabic("ปี ๒๕๖๖ (x1)"), "ปี 2566 (x1)");
        assert_eq!(thai_digits_to_arabic("๐๑๒๓๔๕๖๗๘๙"), "0123456789");
    }

    #[test]
    fn buddhist_era_years_become_common_era() {
        assert_eq!(to_ce_year("2566"), Ok(2023));
        assert_eq!(to_ce_year("๒๕๖๔"), Ok(2021));
        assert_eq!(to_ce_year(" พ.ศ. 2565 "), Ok(2022));
        assert_eq!(to_ce_year("2023"), Ok(2023));
        assert_eq!(to_ce_year("2566.0"), Ok(2023));
        assert_eq!(to_ce_year("25x6"), Err(YearError::NotAYear));
        assert_eq!(to_ce_year("99"), Err(YearError::OutOfRange(99)));
        assert_eq!(to_ce_year("9999"), Err(YearError::OutOfRange(9999)));
    }

    #[test]
    fn numbers_with_separators_dashes_and_thai_digits_parse() {
        assert_eq!(parse_number("1,234,567"), Ok(Some(1_234_567.0)));
        assert_eq!(parse_number(" 229,932.50 "), Ok(Some(229_932.5)));
        assert_eq!(parse_number("๑,๒๓๔"), Ok(Some(1234.0)));
        assert_eq!(parse_number("(12)"), Ok(Some(-12.0)));
        assert_eq!(parse_number("-7"), Ok(Some(-7.0)));
        assert_eq!(parse_number("1 000"), Ok(Some(1000.0)));
        assert_eq!(parse_number(""), Ok(None));
        assert_eq!(parse_number(" - "), Ok(None));
        assert_eq!(parse_number("–"), Ok(None));
        assert_eq!(parse_number("abc"), Err(NotANumber));
        assert_eq!(parse_number("inf"), Err(NotANumber));
        assert_eq!(parse_number("NaN"), Err(NotANumber));
        assert_eq!(parse_number("12abc"), Err(NotANumber));
        assert_eq!(parse_number("1e999"), Err(NotANumber));
    }

    #[test]
    fn area_codes_are_normalised_and_levelled() {
        assert_eq!(
            normalise_area_code("๙๐๐๑"),
            Ok(("9001".to_string(), AreaLevel::District))
        );
        assert_eq!(
            normalise_area_code("65"),
            Ok(("65".to_string(), AreaLevel::Province))
        );
        assert_eq!(
            normalise_area_code("900101.0"),
            Ok(("900101".to_string(), AreaLevel::Subdistrict))
        );
        assert_eq!(normalise_area_code("901"), Err(AreaCodeError::BadLength(3)));
        assert_eq!(normalise_area_code("สงขลา"), Err(AreaCodeError::NotDigits));
        assert_eq!(parent_area_code("900101"), Some("9001"));
        assert_eq!(parent_area_code("9001"), Some("90"));
        assert_eq!(parent_area_code("90"), None);
    }

    #[test]
    fn village_codes_give_their_subdistrict() {
        assert_eq!(
            area_code_from_any("๙๕๐๑๐๒๐๓"),
            Ok(("950102".to_string(), AreaLevel::Subdistrict))
        );
        assert_eq!(
            area_code_from_any("9501"),
            Ok(("9501".to_string(), AreaLevel::District))
        );
        assert_eq!(
            area_code_from_any("9501020"),
            Err(AreaCodeError::BadLength(7))
        );
    }

    fn sample_names() -> AreaNames {
        let row = |code: &str, th: &str, en: Option<&str>| {
            (code.to_string(), th.to_string(), en.map(str::to_string))
        };
        AreaNames::new([
            row("10", "กรุงเทพมหานคร", Some("Bangkok")),
            row("1001", "เขตพระนคร", Some("Khet Phra Nakhon")),
            row("95", "ยะลา", Some("Yala")),
            row("9501", "เมืองยะลา", Some("Mueang Yala")),
            row("950102", "บุดี", Some("Budi")),
            row("950103", "ยุโป", Some("Yupo")),
            row("9502", "เบตง", Some("Betong")),
            row("950201", "เบตง", Some("Betong")),
            row("96", "นราธิวาส", Some("Narathiwat")),
            row("9601", "เมืองนราธิวาส", Some("Mueang Narathiwat")),
            row("960101", "บางนาค", None),
            row("960199", "บุดี", None),
            row("9602", "ตากใบ", None),
            row("960201", "จ.ป.ร.", None),
            row("960202", "ปอภาร  (ปอพาน)", None),
            row("x", "not a code", None),
        ])
    }

    #[test]
    fn area_names_match_without_prefixes_invisible_spaces_or_case() {
        let names = sample_names();
        assert_eq!(names.len(), 15);
        let sub = Some(AreaLevel::Subdistrict);
        let district = Some(AreaLevel::District);
        assert_eq!(
            names.resolve("\u{200b}\u{200b} บุดี", sub, Some("9501")),
            Ok("950102")
        );
        assert_eq!(names.resolve("ตำบลบุดี", sub, Some("95")), Ok("950102"));
        assert_eq!(names.resolve("ต.บุดี", None, Some("9501")), Ok("950102"));
        assert_eq!(names.resolve("จังหวัดยะลา", None, None), Ok("95"));
        assert_eq!(names.resolve("อำเภอ เมืองยะลา", district, None), Ok("9501"));
        assert_eq!(names.resolve("Amphoe Mueang Yala", None, None), Ok("9501"));
        assert_eq!(names.resolve("BETONG district", district, None), Ok("9502"));
        assert_eq!(names.resolve("เขตพระนคร", district, Some("10")), Ok("1001"));
        assert_eq!(names.resolve("พระนคร", district, Some("10")), Ok("1001"));
        assert_eq!(names.resolve("กทม.", None, None), Ok("10"));
        assert_eq!(names.resolve("จ.ป.ร.", sub, None), Ok("960201"));
        assert_eq!(names.resolve("ตำบลจ.ป.ร.", sub, None), Ok("960201"));
        assert_eq!(names.resolve("ปอพาน", sub, None), Ok("960202"));
        assert_eq!(names.resolve("ปอภาร (ปอพาน)", sub, None), Ok("960202"));
        assert_eq!(names.resolve("๙๕๐๑๐๒", None, Some("95")), Ok("950102"));
    }

    #[test]
    fn capital_districts_written_mueang_resolve_inside_their_province() {
        let names = sample_names();
        let district = Some(AreaLevel::District);
        assert_eq!(names.resolve("เมือง", district, Some("95")), Ok("9501"));
        assert_eq!(names.resolve("อำเภอเมือง", None, Some("96")), Ok("9601"));
        assert_eq!(names.resolve("Mueang", district, Some("96")), Ok("9601"));
        let err = names
            .resolve("เมือง", district, None)
            .expect_err("ambiguous");
        assert_eq!(
            err.to_string(),
            "\"เมือง\" names 2 districts: 9501 (เมืองยะลา), 9601 (เมืองนราธิวาส); \
             give the enclosing area to tell them apart"
        );
    }

    #[test]
    fn unknown_and_ambiguous_names_say_what_was_looked_for() {
        let names = sample_names();
        let sub = Some(AreaLevel::Subdistrict);
        let err = names.resolve("บุดี", sub, None).expect_err("ambiguous");
        assert!(
            matches!(&err, AreaNameError::Ambiguous { candidates, .. } if candidates.len() == 2),
            "{err}"
        );
        // Without a level, the district and the subdistrict named เบตง both match.
        let err = names
            .resolve("เบตง", None, Some("95"))
            .expect_err("ambiguous");
        assert!(
            err.to_string().contains("9502 (เบตง), 950201 (เบตง)"),
            "{err}"
        );
        let err = names
            .resolve("บาโงยซีแน", sub, Some("9501"))
            .expect_err("unknown");
        assert_eq!(
            err.to_string(),
            "no subdistrict of 9501 (เมืองยะลา) is named \"บาโงยซีแน\""
        );
        let err = names
            .resolve("950102", sub, Some("96"))
            .expect_err("outside");
        assert!(matches!(err, AreaNameError::NotFound { .. }), "{err}");
        assert!(names.resolve("", None, None).is_err());
    }

    #[test]
    fn zero_width_spaces_are_trimmed() {
        assert_eq!(trim_thai("\u{200b}\u{200b} บุดี"), "บุดี");
    }
}
