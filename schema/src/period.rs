//! Dates and reporting periods as Thai files write them: day-month-year dates with Thai
//! month names or numbers and Buddhist-era years ("15 ม.ค. 66", "15/01/2566"), Excel
//! serial numbers, and the periods observations are filed under.
//!
//! Period spellings (the text stored in `observations.period`):
//!
//! | period | spelling | meaning |
//! |---|---|---|
//! | calendar year | `2023` | 1 January – 31 December 2023 |
//! | month | `2023-01` | January 2023 |
//! | Thai government fiscal year | `FY2023` | 1 October 2022 – 30 September 2023 (ปีงบประมาณ 2566) |
//! | Thai academic year | `AY2023` | 16 May 2023 – 15 May 2024 (ปีการศึกษา 2566) |
//!
//! Years in period spellings are always common-era, so periods sort and compare as text
//! within one kind.

use crate::thai::{thai_digits_to_arabic, to_ce_year, trim_thai, YearError, BUDDHIST_ERA_OFFSET};
use chrono::{Datelike, NaiveDate};
use std::fmt;
use std::str::FromStr;

/// Why a text is not a date or a period, in words for a reject.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DateError {
    /// Not in any date layout this module reads.
    #[error("not a date")]
    NotADate,
    /// A layout that was recognised, naming a day the calendar does not have.
    #[error("there is no day {day} in month {month} of {year} CE")]
    NoSuchDay {
        /// Common-era year.
        year: i32,
        /// Month number as written.
        month: u32,
        /// Day number as written.
        day: u32,
    },
    /// A year outside the range Thai data can be about.
    #[error("year {0} is outside 1900-2200 CE (2443-2743 BE)")]
    YearOutOfRange(i32),
    /// Not a number, so not an Excel serial date.
    #[error("not an Excel date serial number")]
    NotASerial,
    /// A number outside Excel's date range.
    #[error("Excel date serial {0} is outside 1-2958465 (1900-01-01 to 9999-12-31)")]
    SerialOutOfRange(String),
    /// Serial 60, the 29 February 1900 that Excel invents for Lotus 1-2-3 compatibility.
    #[error("Excel date serial 60 is 29 February 1900, a day that never existed")]
    Serial60,
    /// Neither a date nor a year, where a period was expected.
    #[error("not a date or a year")]
    NotADateOrYear,
}

/// Thai month names and their abbreviations without dots, January first. Files write
/// the abbreviations with dots ("ม.ค."), without ("มค") or with a trailing dot only.
const THAI_MONTHS: [(&str, &str); 12] = [
    ("มกราคม", "มค"),
    ("กุมภาพันธ์", "กพ"),
    ("มีนาคม", "มีค"),
    ("เมษายน", "เมย"),
    ("พฤษภาคม", "พค"),
    ("มิถุนายน", "มิย"),
    ("กรกฎาคม", "กค"),
    ("สิงหาคม", "สค"),
    ("กันยายน", "กย"),
    ("ตุลาคม", "ตค"),
    ("พฤศจิกายน", "พย"),
    ("ธันวาคม", "ธค"),
];

/// English month names; the first three letters (and "sept") are accepted too.
const ENGLISH_MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// The month (1-12) a Thai or English month name or abbreviation names, with or without
/// dots ("มกราคม", "ม.ค.", "มค", "Jan", "January").
pub fn month_from_name(word: &str) -> Option<u32> {
    let key: String = word
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '.')
        .flat_map(char::to_lowercase)
        .collect();
    if key.is_empty() {
        return None;
    }
    let thai = THAI_MONTHS
        .iter()
        .position(|(full, short)| key == *full || key == *short);
    let english = || {
        ENGLISH_MONTHS
            .iter()
            .position(|full| key == *full || (key.len() == 3 && full.starts_with(&key)))
            .or_else(|| (key == "sept").then_some(8))
    };
    thai.or_else(english).map(|i| i as u32 + 1)
}

/// A date as far as a text gave it: the day is absent for "มกราคม 2566".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DateParts {
    year: i32,
    month: u32,
    day: Option<u32>,
}

/// Reads a year of a date: four digits are BE from 2443 on and CE below (as
/// [`to_ce_year`]); two digits are a short Buddhist-era year (66 = 2566 BE = 2023 CE),
/// the only way Thai documents shorten years.
fn date_year(digits: &str) -> Result<i32, DateError> {
    match digits.len() {
        2 => {
            let short: i32 = digits.parse().map_err(|_| DateError::NotADate)?;
            Ok(2500 + short - BUDDHIST_ERA_OFFSET)
        }
        4 => to_ce_year(digits).map_err(|e| match e {
            YearError::NotAYear => DateError::NotADate,
            YearError::OutOfRange(y) => DateError::YearOutOfRange(y),
        }),
        _ => Err(DateError::NotADate),
    }
}

fn number(digits: &str) -> Result<u32, DateError> {
    if digits.is_empty() || digits.len() > 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DateError::NotADate);
    }
    digits.parse().map_err(|_| DateError::NotADate)
}

/// True for the time part some exports put after a date ("10:30:00", "10.30 น.",
/// "T10:30:00+07:00"): it is dropped, because the transforms here keep the day only.
fn is_time_tail(text: &str) -> bool {
    let text = text.trim().trim_start_matches('T');
    let text = text.strip_suffix("น.").unwrap_or(text).trim_end();
    !text.is_empty()
        && text.starts_with(|c: char| c.is_ascii_digit())
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ':' | '.' | '+' | '-' | 'Z' | ' '))
}

/// Numeric layouts: `2566-01-15` / `2023-01-15` (year first, as ISO), `15/01/2566`,
/// `15-01-66`, `15.01.2566` (day first, as Thai documents write them), `01/2566` and
/// `2566-01` (month and year).
fn numeric_parts(text: &str) -> Result<DateParts, DateError> {
    // Cut a time after the date: "2023-01-15T10:00:00", "15/01/2566 10:30".
    let (date, tail) = match text.find(['T', ' ']) {
        Some(i) => (&text[..i], &text[i..]),
        None => (text, ""),
    };
    if !tail.is_empty() && !is_time_tail(tail) {
        return Err(DateError::NotADate);
    }
    let parts: Vec<&str> = date.split(['/', '-', '.']).collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(DateError::NotADate);
    }
    match parts.as_slice() {
        [y, m, d] if y.len() == 4 => Ok(DateParts {
            year: date_year(y)?,
            month: number(m)?,
            day: Some(number(d)?),
        }),
        [d, m, y] => Ok(DateParts {
            year: date_year(y)?,
            month: number(m)?,
            day: Some(number(d)?),
        }),
        [y, m] if y.len() == 4 => Ok(DateParts {
            year: date_year(y)?,
            month: number(m)?,
            day: None,
        }),
        [m, y] if y.len() == 4 => Ok(DateParts {
            year: date_year(y)?,
            month: number(m)?,
            day: None,
        }),
        _ => Err(DateError::NotADate),
    }
}

/// Era markers written before a year ("15 มกราคม พ.ศ. 2566"); the year's size tells the
/// era anyway.
const ERA_MARKERS: [&str; 6] = ["พ.ศ.", "พ.ศ", "พศ", "ค.ศ.", "ค.ศ", "คศ"];

/// Layouts with a month name: `15 มกราคม 2566`, `15 ม.ค. 66`, `15ม.ค.66`,
/// `วันที่ 15 มกราคม พ.ศ. 2566`, `มกราคม 2566`, `15 Jan 2023`, `January 15, 2023`.
fn named_parts(text: &str) -> Result<DateParts, DateError> {
    // Split into runs of digits and runs of everything else; spaces and commas only
    // separate, so "15ม.ค.66" and "15 ม.ค. 66" read alike.
    // Words continue across spaces ("มกราคม พ.ศ."); numbers do not ("January 15, 2023").
    let mut runs: Vec<(bool, String)> = Vec::new();
    let mut after_space = false;
    for c in text.chars() {
        if c.is_whitespace() || c == ',' {
            after_space = true;
            continue;
        }
        let digit = c.is_ascii_digit();
        match runs.last_mut() {
            Some((d, run)) if *d == digit && !(digit && after_space) => run.push(c),
            _ => runs.push((digit, c.to_string())),
        }
        after_space = false;
    }
    if let Some((false, first)) = runs.first() {
        // "วันที่ 15 ..." (on the day 15 ...) carries no information.
        if first == "วันที่" || first == "ที่" {
            runs.remove(0);
        }
    }
    let word = |run: &str| -> Option<u32> {
        let mut run = run;
        for marker in ERA_MARKERS {
            if let Some(rest) = run.strip_suffix(marker) {
                run = rest;
                break;
            }
        }
        month_from_name(run)
    };
    let parts = match runs.as_slice() {
        [(true, d), (false, m), (true, y)] => DateParts {
            day: Some(number(d)?),
            month: word(m).ok_or(DateError::NotADate)?,
            year: date_year(y)?,
        },
        [(false, m), (true, d), (true, y)] => DateParts {
            day: Some(number(d)?),
            month: word(m).ok_or(DateError::NotADate)?,
            year: date_year(y)?,
        },
        [(false, m), (true, y)] => DateParts {
            day: None,
            month: word(m).ok_or(DateError::NotADate)?,
            year: date_year(y)?,
        },
        _ => return Err(DateError::NotADate),
    };
    Ok(parts)
}

fn date_parts(text: &str) -> Result<DateParts, DateError> {
    let text = thai_digits_to_arabic(trim_thai(text));
    if text.is_empty() {
        return Err(DateError::NotADate);
    }
    let numeric = text.starts_with(|c: char| c.is_ascii_digit())
        && text.split(['T', ' ']).next().is_some_and(|d| {
            d.contains(['/', '-', '.'])
                && d.bytes().all(|b| b.is_ascii_digit() || b"/-.".contains(&b))
        });
    let parts = if numeric {
        numeric_parts(&text)?
    } else {
        named_parts(&text)?
    };
    if !(1..=12).contains(&parts.month) {
        return Err(DateError::NoSuchDay {
            year: parts.year,
            month: parts.month,
            day: parts.day.unwrap_or(1),
        });
    }
    Ok(parts)
}

fn to_date(parts: DateParts, day: u32) -> Result<NaiveDate, DateError> {
    NaiveDate::from_ymd_opt(parts.year, parts.month, day).ok_or(DateError::NoSuchDay {
        year: parts.year,
        month: parts.month,
        day,
    })
}

/// Reads a date as Thai files write it and returns it in the common era: `15 มกราคม
/// 2566`, `15 ม.ค. 66`, `15/01/2566`, `15-01-66`, `2566-01-15`, `2023-01-15`, with Thai
/// or Arabic digits, BE or CE years (two-digit years are BE: 66 = 2566), and an optional
/// time after the date, which is dropped. Numeric dates are day first unless the year
/// comes first.
pub fn parse_date(text: &str) -> Result<NaiveDate, DateError> {
    let parts = date_parts(text)?;
    match parts.day {
        Some(day) => to_date(parts, day),
        None => Err(DateError::NotADate),
    }
}

/// Reads a month: any date [`parse_date`] reads, or a month and year alone (`มกราคม
/// 2566`, `ม.ค. 66`, `01/2566`, `2023-01`). Returns the CE year and the month (1-12).
pub fn parse_month(text: &str) -> Result<(i32, u32), DateError> {
    let parts = date_parts(text)?;
    if let Some(day) = parts.day {
        to_date(parts, day)?;
    }
    Ok((parts.year, parts.month))
}

/// Last serial Excel can show as a date: 9999-12-31.
const EXCEL_MAX_SERIAL: f64 = 2_958_465.0;

/// Converts an Excel serial date of the 1900 date system (the default on Windows) to a
/// date: 1 is 1900-01-01, 44927 is 2023-01-01. A fraction (the time of day) is dropped.
/// Serials up to 59 count from 1899-12-31 and later ones from 1899-12-30, because Excel
/// counts a 29 February 1900 that never was; serial 60, that day, is refused.
pub fn excel_serial_date(text: &str) -> Result<NaiveDate, DateError> {
    let digits = thai_digits_to_arabic(trim_thai(text));
    let plausible = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.bytes().filter(|b| *b == b'.').count() <= 1
        && digits.bytes().any(|b| b.is_ascii_digit());
    if !plausible {
        return Err(DateError::NotASerial);
    }
    let serial: f64 = digits.parse().map_err(|_| DateError::NotASerial)?;
    if !(1.0..EXCEL_MAX_SERIAL + 1.0).contains(&serial) {
        return Err(DateError::SerialOutOfRange(digits));
    }
    let days = serial.floor() as i64;
    let (epoch, days) = match days {
        60 => return Err(DateError::Serial60),
        ..60 => (NaiveDate::from_ymd_opt(1899, 12, 31), days),
        _ => (NaiveDate::from_ymd_opt(1899, 12, 30), days),
    };
    epoch
        .and_then(|e| e.checked_add_days(chrono::Days::new(days.unsigned_abs())))
        .ok_or(DateError::SerialOutOfRange(digits))
}

/// The Thai government fiscal year (ปีงบประมาณ) of a date, as its CE end year: the year
/// runs 1 October to 30 September, so 2022-10-01 to 2023-09-30 is fiscal 2023 (2566 BE).
pub fn fiscal_year_of(date: NaiveDate) -> i32 {
    if date.month() >= 10 {
        date.year() + 1
    } else {
        date.year()
    }
}

/// The Thai academic year (ปีการศึกษา) of a date, as the CE year it starts in: the
/// first term opens on 16 May, so 2023-05-16 to 2024-05-15 is academic 2023 (2566 BE).
pub fn academic_year_of(date: NaiveDate) -> i32 {
    if (date.month(), date.day()) >= (5, 16) {
        date.year()
    } else {
        date.year() - 1
    }
}

/// The kinds of period an observation can be filed under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodKind {
    /// A calendar year, `2023`.
    CalendarYear,
    /// A month, `2023-01`.
    Month,
    /// A Thai government fiscal year, `FY2023`.
    FiscalYear,
    /// A Thai academic year, `AY2023`.
    AcademicYear,
}

/// A reporting period; its `Display` is the stored spelling (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Period {
    /// Calendar year (CE).
    Year(i32),
    /// CE year and month 1-12.
    Month(i32, u32),
    /// Fiscal year, by the CE year it ends in.
    FiscalYear(i32),
    /// Academic year, by the CE year it starts in.
    AcademicYear(i32),
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Period::Year(y) => write!(f, "{y}"),
            Period::Month(y, m) => write!(f, "{y}-{m:02}"),
            Period::FiscalYear(y) => write!(f, "FY{y}"),
            Period::AcademicYear(y) => write!(f, "AY{y}"),
        }
    }
}

impl FromStr for Period {
    type Err = DateError;

    /// Reads a stored spelling back: `2023`, `2023-01`, `FY2023`, `AY2023`.
    fn from_str(text: &str) -> Result<Self, DateError> {
        let year = |digits: &str| -> Result<i32, DateError> {
            if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(DateError::NotADateOrYear);
            }
            digits.parse().map_err(|_| DateError::NotADateOrYear)
        };
        if let Some(rest) = text.strip_prefix("FY") {
            return Ok(Period::FiscalYear(year(rest)?));
        }
        if let Some(rest) = text.strip_prefix("AY") {
            return Ok(Period::AcademicYear(year(rest)?));
        }
        if let Some((y, m)) = text.split_once('-') {
            let month = number(m).map_err(|_| DateError::NotADateOrYear)?;
            if m.len() != 2 || !(1..=12).contains(&month) {
                return Err(DateError::NotADateOrYear);
            }
            return Ok(Period::Month(year(y)?, month));
        }
        Ok(Period::Year(year(text)?))
    }
}

/// Years from here on are Buddhist-era years (CE 1857 and later are far from it): a
/// stored period this late was left in BE by its mapping.
const FIRST_BE_LOOKING_YEAR: i32 = 2400;

impl Period {
    /// The CE year the period starts in (a fiscal year starts the October before).
    fn start_year(self) -> i32 {
        match self {
            Period::Year(y) | Period::Month(y, _) | Period::AcademicYear(y) => y,
            Period::FiscalYear(y) => y - 1,
        }
    }

    /// Months from year 0 to the period's start, so that periods of different kinds
    /// (a fiscal year and a calendar year) can be told apart in time.
    pub fn start_month(self) -> i64 {
        let months = |year: i32, month0: u32| i64::from(year) * 12 + i64::from(month0);
        match self {
            Period::Year(y) => months(y, 0),
            Period::Month(y, m) => months(y, m.saturating_sub(1)),
            // 1 October of the year before; 16 May, counted from May.
            Period::FiscalYear(y) => months(y - 1, 9),
            Period::AcademicYear(y) => months(y, 4),
        }
    }

    /// Refuses a period that cannot be meant: one starting more than a year after
    /// `today`. The reason names the likely fix; a Buddhist-era year left as CE (2566
    /// read as the year 2566) is told apart from a plain future year.
    pub fn check_not_ahead(self, today: NaiveDate) -> Result<(), String> {
        let year = self.start_year();
        if year >= FIRST_BE_LOOKING_YEAR {
            let ce = year - crate::thai::BUDDHIST_ERA_OFFSET;
            return Err(format!(
                "period {self} looks like a Buddhist-era year (BE {year} is CE {ce}); add the \
                 be_year transform (or academic_year, fiscal_year) to the period field"
            ));
        }
        let ahead = match self {
            Period::Month(y, m) => (y, m) > (today.year() + 1, today.month()),
            _ => year > today.year() + 1,
        };
        if ahead {
            return Err(format!(
                "period {self} is more than a year after today ({today}); check the source's \
                 year and the period field's transforms"
            ));
        }
        Ok(())
    }
}

/// Words Thai files put before a year of each kind ("ปีงบประมาณ 2566", "ปีการศึกษา
/// 2566", "FY2566"); they are dropped before the year is read. Longest first.
fn period_prefixes(kind: PeriodKind) -> &'static [&'static str] {
    match kind {
        PeriodKind::FiscalYear => &["ปีงบประมาณ", "งบประมาณ", "ปีงบ", "FY", "fy"],
        PeriodKind::AcademicYear => &["ปีการศึกษา", "ปีกศ.", "AY", "ay"],
        PeriodKind::CalendarYear => &["ปี"],
        PeriodKind::Month => &[],
    }
}

/// A bare year of a period: BE or CE with four digits, or a two-digit BE year.
fn period_year(text: &str, kind: PeriodKind) -> Option<Result<i32, DateError>> {
    let mut text = text.trim();
    for prefix in period_prefixes(kind) {
        if let Some(rest) = text.strip_prefix(prefix) {
            text = rest.trim();
            break;
        }
    }
    for marker in ERA_MARKERS {
        if let Some(rest) = text.strip_prefix(marker) {
            text = rest.trim();
            break;
        }
    }
    let text = text.strip_suffix(".0").unwrap_or(text);
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(date_year(text).map_err(|e| match e {
        DateError::NotADate => DateError::NotADateOrYear,
        other => other,
    }))
}

/// The period of `kind` a text names: a date (any layout [`parse_date`] reads) gives the
/// period containing it; a bare year, BE or CE ("2566", "2023", "66", "ปีงบประมาณ 2566",
/// "FY2023"), names the period of that year. For months, a month and year ("ม.ค. 66",
/// "2023-01") is read as well, and a bare year is refused.
pub fn parse_period(kind: PeriodKind, text: &str) -> Result<Period, DateError> {
    let text = thai_digits_to_arabic(trim_thai(text));
    if kind != PeriodKind::Month {
        if let Some(year) = period_year(&text, kind) {
            let year = year?;
            return Ok(match kind {
                PeriodKind::FiscalYear => Period::FiscalYear(year),
                PeriodKind::AcademicYear => Period::AcademicYear(year),
                _ => Period::Year(year),
            });
        }
    }
    let not_a_period = |e: DateError| match e {
        DateError::NotADate => DateError::NotADateOrYear,
        other => other,
    };
    if kind == PeriodKind::Month {
        let (year, month) = parse_month(&text).map_err(not_a_period)?;
        return Ok(Period::Month(year, month));
    }
    let date = parse_date(&text).map_err(not_a_period)?;
    Ok(match kind {
        PeriodKind::FiscalYear => Period::FiscalYear(fiscal_year_of(date)),
        PeriodKind::AcademicYear => Period::AcademicYear(academic_year_of(date)),
        PeriodKind::CalendarYear => Period::Year(date.year()),
        PeriodKind::Month => Period::Month(date.year(), date.month()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("valid date")
    }

    #[test]
    fn periods_more_than_a_year_ahead_are_refused_and_be_years_named() {
        let today = ymd(2026, 12, 3);
        for ok in ["2026", "2027", "2027-12", "FY2028", "AY2027", "1990"] {
            let period: Period = ok.parse().expect("a stored period");
            assert_eq!(period.check_not_ahead(today), Ok(()), "{ok}");
        }
        let be = "2564".parse::<Period>().unwrap().check_not_ahead(today);
        assert!(
            be.as_ref().unwrap_err().contains("Buddhist-era")
                && be.unwrap_err().contains("be_year"),
            "a BE year names the transform"
        );
        let be_academic = "AY2566".parse::<Period>().unwrap().check_not_ahead(today);
        assert!(be_academic.unwrap_err().contains("CE 2023"));
        for ahead in ["2028", "2028-01", "FY2029"] {
            let refused = ahead.parse::<Period>().unwrap().check_not_ahead(today);
            assert!(
                refused
                    .as_ref()
                    .is_err_and(|r| r.contains("more than a year after today")),
                "{ahead}: {refused:?}"
            );
        }
    }

    #[test]
    fn thai_dates_in_every_common_layout_read_as_the_same_day() {
        for text in [
            "15 มกราคม 2566",
            "15 ม.ค. 66",
            "15 ม.ค. 2566",
            "15 มค 66",
            "15ม.ค.66",
            "๑๕ มกราคม ๒๕๖๖",
            "วันที่ 15 มกราคม พ.ศ. 2566",
            "15/01/2566",
            "15/1/66",
            "15-01-2566",
            "15.01.2566",
            "15/01/2023",
            "2566-01-15",
            "2023-01-15",
            "2023-01-15T10:30:00",
            "2023-01-15 00:00:00",
            "15/01/2566 10.30 น.",
            "15 Jan 2023",
            "January 15, 2023",
            " \u{200b}15 มกราคม 2566 ",
        ] {
            assert_eq!(parse_date(text), Ok(ymd(2023, 1, 15)), "{text}");
        }
    }

    #[test]
    fn every_thai_month_name_and_abbreviation_is_known() {
        let abbreviations = [
            "ม.ค.",
            "ก.พ.",
            "มี.ค.",
            "เม.ย.",
            "พ.ค.",
            "มิ.ย.",
            "ก.ค.",
            "ส.ค.",
            "ก.ย.",
            "ต.ค.",
            "พ.ย.",
            "ธ.ค.",
        ];
        for (i, ((full, short), dotted)) in THAI_MONTHS.iter().zip(abbreviations).enumerate() {
            let month = i as u32 + 1;
            assert_eq!(month_from_name(full), Some(month));
            assert_eq!(month_from_name(short), Some(month));
            assert_eq!(month_from_name(dotted), Some(month));
            assert_eq!(
                parse_date(&format!("1 {dotted} 2566")),
                Ok(ymd(2023, month, 1))
            );
        }
        assert_eq!(month_from_name("Sept"), Some(9));
        assert_eq!(month_from_name("มกรา"), None);
    }

    #[test]
    fn impossible_or_unreadable_dates_are_refused_in_words() {
        assert_eq!(
            parse_date("29 ก.พ. 2566"),
            Err(DateError::NoSuchDay {
                year: 2023,
                month: 2,
                day: 29
            })
        );
        assert_eq!(parse_date("29 ก.พ. 2567"), Ok(ymd(2024, 2, 29)));
        assert!(matches!(
            parse_date("15/13/2566"),
            Err(DateError::NoSuchDay { month: 13, .. })
        ));
        assert_eq!(parse_date("15 มกรา 2566"), Err(DateError::NotADate));
        assert_eq!(parse_date("มกราคม 2566"), Err(DateError::NotADate));
        assert_eq!(parse_date("2566"), Err(DateError::NotADate));
        assert_eq!(parse_date(""), Err(DateError::NotADate));
        assert_eq!(parse_date("15/01/566"), Err(DateError::NotADate));
        assert_eq!(parse_date("15/01/2566 abc"), Err(DateError::NotADate));
        assert_eq!(
            parse_date("15/01/1800"),
            Err(DateError::YearOutOfRange(1800))
        );
        assert!(DateError::NoSuchDay {
            year: 2023,
            month: 2,
            day: 29
        }
        .to_string()
        .contains("no day 29 in month 2 of 2023"));
    }

    #[test]
    fn excel_serials_of_the_1900_system_become_dates() {
        assert_eq!(excel_serial_date("44927"), Ok(ymd(2023, 1, 1)));
        assert_eq!(excel_serial_date("44927.75"), Ok(ymd(2023, 1, 1)));
        assert_eq!(excel_serial_date("๔๔๙๒๗"), Ok(ymd(2023, 1, 1)));
        assert_eq!(excel_serial_date("1"), Ok(ymd(1900, 1, 1)));
        assert_eq!(excel_serial_date("59"), Ok(ymd(1900, 2, 28)));
        assert_eq!(excel_serial_date("61"), Ok(ymd(1900, 3, 1)));
        assert_eq!(excel_serial_date("2958465"), Ok(ymd(9999, 12, 31)));
        assert_eq!(excel_serial_date("60"), Err(DateError::Serial60));
        assert_eq!(
            excel_serial_date("0"),
            Err(DateError::SerialOutOfRange("0".into()))
        );
        assert!(matches!(
            excel_serial_date("99999999"),
            Err(DateError::SerialOutOfRange(_))
        ));
        assert_eq!(excel_serial_date("-5"), Err(DateError::NotASerial));
        assert_eq!(excel_serial_date("1e5"), Err(DateError::NotASerial));
        assert_eq!(excel_serial_date("15/01/2566"), Err(DateError::NotASerial));
    }

    #[test]
    fn fiscal_and_academic_years_turn_on_their_first_days() {
        assert_eq!(fiscal_year_of(ymd(2022, 9, 30)), 2022);
        assert_eq!(fiscal_year_of(ymd(2022, 10, 1)), 2023);
        assert_eq!(fiscal_year_of(ymd(2023, 9, 30)), 2023);
        assert_eq!(academic_year_of(ymd(2023, 5, 15)), 2022);
        assert_eq!(academic_year_of(ymd(2023, 5, 16)), 2023);
        assert_eq!(academic_year_of(ymd(2024, 3, 31)), 2023);
    }

    #[test]
    fn periods_read_from_dates_and_bare_years() {
        let p = |kind, text| parse_period(kind, text).map(|p| p.to_string());
        use PeriodKind::*;
        assert_eq!(p(FiscalYear, "1 ต.ค. 2565"), Ok("FY2023".into()));
        assert_eq!(p(FiscalYear, "2023-09-30"), Ok("FY2023".into()));
        assert_eq!(p(FiscalYear, "2566"), Ok("FY2023".into()));
        assert_eq!(p(FiscalYear, "ปีงบประมาณ ๒๕๖๖"), Ok("FY2023".into()));
        assert_eq!(p(FiscalYear, "FY2023"), Ok("FY2023".into()));
        assert_eq!(p(FiscalYear, "66"), Ok("FY2023".into()));
        assert_eq!(p(AcademicYear, "16 พฤษภาคม 2566"), Ok("AY2023".into()));
        assert_eq!(p(AcademicYear, "15/05/2566"), Ok("AY2022".into()));
        assert_eq!(p(AcademicYear, "ปีการศึกษา 2566"), Ok("AY2023".into()));
        assert_eq!(p(AcademicYear, "2023"), Ok("AY2023".into()));
        assert_eq!(p(CalendarYear, "15 ม.ค. 66"), Ok("2023".into()));
        assert_eq!(p(CalendarYear, "พ.ศ. 2566"), Ok("2023".into()));
        assert_eq!(p(CalendarYear, "2566.0"), Ok("2023".into()));
        assert_eq!(p(Month, "15 ม.ค. 66"), Ok("2023-01".into()));
        assert_eq!(p(Month, "มกราคม 2566"), Ok("2023-01".into()));
        assert_eq!(p(Month, "2023-01"), Ok("2023-01".into()));
        assert_eq!(p(Month, "01/2566"), Ok("2023-01".into()));
        assert_eq!(p(Month, "2566"), Err(DateError::NotADateOrYear));
        assert_eq!(p(FiscalYear, "ไม่ทราบ"), Err(DateError::NotADateOrYear));
        assert_eq!(p(FiscalYear, "9999"), Err(DateError::YearOutOfRange(9999)));
    }

    #[test]
    fn stored_period_spellings_read_back() {
        for text in ["2023", "2023-01", "FY2023", "AY2023"] {
            let period: Period = text.parse().expect("a period");
            assert_eq!(period.to_string(), text);
        }
        for bad in ["23", "2023-1", "2023-13", "FY23", "XY2023", ""] {
            assert!(bad.parse::<Period>().is_err(), "{bad}");
        }
    }
}
