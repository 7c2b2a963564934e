//! Thai conventions found in government files: Thai digits (๐-๙), Buddhist-era years
//! (2566 = 2023), numbers written with thousands separators or a dash for "none", and
//! the DOPA area codes whose prefixes encode the hierarchy (90 > 9001 > 900101).

use crate::model::AreaLevel;

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
    fn zero_width_spaces_are_trimmed() {
        assert_eq!(trim_thai("\u{200b}\u{200b} บุดี"), "บุดี");
    }
}
