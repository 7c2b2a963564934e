//! Unpivoting wide tables: a column per year, per sex or per grade, as Thai government
//! workbooks are laid out, read as one row per wide column.

use super::config::Unpivot;
use crate::Header;
use abe_schema::thai::thai_digits_to_arabic;

/// Positions of the wide columns of `header`, in the order rows are produced; columns
/// the mapping reads by name (`named`) are never wide.
pub(crate) fn wide_columns(unpivot: &Unpivot, header: &Header, named: &[&str]) -> Vec<usize> {
    match &unpivot.columns_matching {
        Some(pattern) => header
            .names()
            .iter()
            .enumerate()
            .filter(|(_, name)| glob_matches(pattern, name) && !named.contains(&name.as_str()))
            .map(|(i, _)| i)
            .collect(),
        None => unpivot
            .columns
            .iter()
            .filter_map(|c| header.position(c))
            .collect(),
    }
}

/// Matches a whole header against a pattern: `*` any text, `?` one character, `#` one
/// digit, anything else itself. Thai and Arabic digits are the same digit on both
/// sides, since workbooks write year headers either way ("2566", "๒๕๖๖").
pub(crate) fn glob_matches(pattern: &str, text: &str) -> bool {
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
