//! A run's rejects and warnings summarised by reason: how many rows each reason refused
//! or flagged and where the first ones are, so a steward sees "412 × area … is not
//! known" once instead of scrolling 412 lines. The CLI prints it, the run journal keeps
//! it and the API serves it; the full lists stay queryable beside it.

use crate::{Reject, Severity, SourcePosition};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Positions kept per reason.
pub const POSITIONS_PER_REASON: usize = 3;

/// Distinct reasons kept per run; a run with more groups the rest under one line.
pub const MAX_REASONS: usize = 100;

/// One line of a summary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonCount {
    /// Reject or warning.
    pub severity: Severity,
    /// The reason with the row's own values left out (`area … is not known`).
    pub reason: String,
    /// Rows with this reason.
    pub count: u64,
    /// Where the first rows are.
    pub positions: Vec<SourcePosition>,
}

/// The summary of a run's remarks, lines in the order their reasons first appeared.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ReasonSummary {
    lines: Vec<ReasonCount>,
    #[serde(skip)]
    index: HashMap<(Severity, String), usize>,
}

/// The reason line that gathers reasons past [`MAX_REASONS`].
const OTHER_REASONS: &str = "other reasons (see the full list)";

impl ReasonSummary {
    /// Counts `remark` under its reason, the row's own values masked.
    pub fn add(&mut self, severity: Severity, remark: &Reject) {
        let reason = reason_pattern(remark);
        self.add_as(severity, reason, &remark.position);
    }

    /// Counts a row at `position` under `reason` as written (a rule of the connector's,
    /// whose numbers are not the row's).
    pub fn add_as(&mut self, severity: Severity, mut reason: String, position: &SourcePosition) {
        if self.lines.len() >= MAX_REASONS && !self.index.contains_key(&(severity, reason.clone()))
        {
            reason = OTHER_REASONS.to_string();
        }
        let at = match self.index.get(&(severity, reason.clone())) {
            Some(at) => *at,
            None => {
                self.lines.push(ReasonCount {
                    severity,
                    reason: reason.clone(),
                    count: 0,
                    positions: Vec::new(),
                });
                self.index.insert((severity, reason), self.lines.len() - 1);
                self.lines.len() - 1
            }
        };
        let line = &mut self.lines[at];
        line.count += 1;
        if line.positions.len() < POSITIONS_PER_REASON {
            line.positions.push(position.clone());
        }
    }

    /// Counts `count` rows under `reason` at once, without positions (rows the
    /// database merged, whose places the run did not keep).
    pub fn add_count(&mut self, severity: Severity, reason: &str, count: u64) {
        if count == 0 {
            return;
        }
        let key = (severity, reason.to_string());
        let at = match self.index.get(&key) {
            Some(at) => *at,
            None => {
                self.lines.push(ReasonCount {
                    severity,
                    reason: reason.to_string(),
                    count: 0,
                    positions: Vec::new(),
                });
                self.index.insert(key, self.lines.len() - 1);
                self.lines.len() - 1
            }
        };
        self.lines[at].count += count;
    }

    /// The lines, most frequent first (first seen first among equals).
    pub fn lines(&self) -> Vec<&ReasonCount> {
        let mut lines: Vec<&ReasonCount> = self.lines.iter().collect();
        lines.sort_by_key(|line| std::cmp::Reverse(line.count));
        lines
    }

    /// Whether nothing was counted.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The summary as the journal stores it (JSON).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "[]".into())
    }

    /// Reads a stored summary back; a summary that does not read is empty.
    pub fn from_json(text: &str) -> ReasonSummary {
        let lines: Vec<ReasonCount> = serde_json::from_str(text).unwrap_or_default();
        let index = lines
            .iter()
            .enumerate()
            .map(|(i, l)| ((l.severity, l.reason.clone()), i))
            .collect();
        ReasonSummary { lines, index }
    }
}

/// A reject's reason without what differs from row to row: the rejected value itself
/// and numbers (rows, codes, years) become `…`, so rows refused for the same cause
/// share one line.
pub fn reason_pattern(remark: &Reject) -> String {
    let mut reason = remark.reason.clone();
    if let Some(value) = remark.value.as_deref().map(str::trim) {
        if !value.is_empty() {
            reason = reason.replace(value, "…");
        }
    }
    let mut out = String::with_capacity(reason.len());
    let mut in_number = false;
    for c in reason.chars() {
        if c.is_ascii_digit() || ('๐'..='๙').contains(&c) {
            if !in_number {
                out.push('…');
                in_number = true;
            }
        } else {
            in_number = false;
            out.push(c);
        }
    }
    // A value masked next to a number it was part of reads as one mark.
    while out.contains("……") {
        out = out.replace("……", "…");
    }
    match &remark.position.column {
        Some(column) => format!("{column}: {out}"),
        None => out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reject(row: u64, column: &str, value: &str, reason: &str) -> Reject {
        Reject::new(
            SourcePosition::at_row("schools.csv", row).with_column(column),
            Some(value),
            reason,
        )
    }

    #[test]
    fn rows_refused_for_one_cause_share_a_line_with_their_first_positions() {
        let mut summary = ReasonSummary::default();
        for row in 2..=6 {
            let code = format!("95{row:02}");
            summary.add(
                Severity::Reject,
                &reject(row, "amphoe", &code, &format!("area {code} is not known")),
            );
        }
        summary.add(
            Severity::Reject,
            &reject(9, "value", "abc", "value is not a number"),
        );
        summary.add(
            Severity::Warning,
            &reject(10, "code", "1", "same key as row 4"),
        );
        let lines = summary.lines();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].reason, "amphoe: area … is not known");
        assert_eq!(lines[0].count, 5);
        let rows: Vec<_> = lines[0].positions.iter().map(|p| p.row).collect();
        assert_eq!(rows, [Some(2), Some(3), Some(4)]);
        assert_eq!(lines[1].reason, "value: value is not a number");
        assert_eq!(lines[2].severity, Severity::Warning);
        assert_eq!(lines[2].reason, "code: same key as row …");
        let stored = ReasonSummary::from_json(&summary.to_json());
        assert_eq!(stored.lines(), summary.lines());
    }

    #[test]
    fn reasons_past_the_limit_are_gathered_in_one_line() {
        let mut summary = ReasonSummary::default();
        for i in 0..MAX_REASONS + 5 {
            let reason = format!("reason {}", "x".repeat(i + 1));
            summary.add(Severity::Reject, &reject(2, "c", "", &reason));
        }
        let lines = summary.lines();
        assert_eq!(lines.len(), MAX_REASONS + 1);
        assert_eq!(lines[0].reason, OTHER_REASONS);
        assert_eq!(lines[0].count, 5);
    }
}
