//! Early warning: the alert rules an indicator carries, the alerts they raise and their
//! lifecycle, and the colour bands every dashboard colours values by. One place for
//! each: the config, the store and the gateway read these types.

use crate::model::{AlertSeverity, AreaLevel, Band, Direction, RuleKind, Threshold};
use serde::{Deserialize, Serialize};

/// An early-warning rule of one indicator. Which fields apply depends on `kind`:
///
/// | kind | fires when | fields |
/// |---|---|---|
/// | `threshold` | the value reaches the indicator's warning or critical threshold at its level | (the `[[thresholds]]`) |
/// | `worse_than_parent` | the value is worse than its parent area's by more than `share` (0.2 = 20 %) | `share` |
/// | `worsening` | the value got worse `periods` periods in a row | `periods` |
/// | `jump` | the value is outside the mean ± `k` standard deviations of the area's own earlier periods (at least `min_periods` of them) | `k`, `min_periods` |
/// | `missing` | an area that reported before has no value for the indicator's latest period | |
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    /// Unique name, e.g. `oos_rate_jump`.
    pub name: String,
    /// The indicator the rule watches.
    pub indicator: String,
    /// What the rule checks.
    pub kind: RuleKind,
    /// Severity of the alerts it raises (a `threshold` rule raises either, by the
    /// threshold reached); `warning` when absent.
    #[serde(default)]
    pub severity: Option<AlertSeverity>,
    /// Area levels the rule looks at; every level when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub levels: Vec<AreaLevel>,
    /// `worse_than_parent`: how much worse than the parent, as a share of the parent's
    /// value.
    #[serde(default)]
    pub share: Option<f64>,
    /// `worsening`: how many periods in a row.
    #[serde(default)]
    pub periods: Option<u32>,
    /// `jump`: how many standard deviations.
    #[serde(default)]
    pub k: Option<f64>,
    /// `jump`: how many earlier periods the area needs before a jump can be told.
    #[serde(default)]
    pub min_periods: Option<u32>,
    /// A URL that receives the rule's new and resolved alerts as JSON.
    #[serde(default)]
    pub webhook: Option<String>,
}

impl AlertRule {
    /// The severity of the alerts a non-threshold rule raises.
    pub fn severity(&self) -> AlertSeverity {
        self.severity.unwrap_or(AlertSeverity::Warning)
    }

    /// Whether the rule looks at areas of `level`.
    pub fn watches(&self, level: AreaLevel) -> bool {
        self.levels.is_empty() || self.levels.contains(&level)
    }

    /// `worse_than_parent`'s share (0.2 when absent).
    pub fn share(&self) -> f64 {
        self.share.unwrap_or(0.2)
    }

    /// `worsening`'s run length (3 when absent).
    pub fn periods(&self) -> usize {
        self.periods.unwrap_or(3).max(1) as usize
    }

    /// `jump`'s number of standard deviations (2 when absent).
    pub fn k(&self) -> f64 {
        self.k.unwrap_or(2.0)
    }

    /// `jump`'s earliest history (3 periods when absent, at least 2).
    pub fn min_periods(&self) -> usize {
        self.min_periods.unwrap_or(3).max(2) as usize
    }

    /// Checks the fields against the kind; the error names the rule and the field.
    pub fn check(&self) -> Result<(), String> {
        let name = &self.name;
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!(
                "alert rule name {name:?}: use letters, digits and underscores"
            ));
        }
        let allowed: &[&str] = match self.kind {
            RuleKind::Threshold | RuleKind::Missing => &[],
            RuleKind::WorseThanParent => &["share"],
            RuleKind::Worsening => &["periods"],
            RuleKind::Jump => &["k", "min_periods"],
        };
        for (field, set) in [
            ("share", self.share.is_some()),
            ("periods", self.periods.is_some()),
            ("k", self.k.is_some()),
            ("min_periods", self.min_periods.is_some()),
        ] {
            if set && !allowed.contains(&field) {
                return Err(format!(
                    "alert rule {name}: `{field}` does not apply to a {} rule",
                    self.kind
                ));
            }
        }
        if self.kind == RuleKind::Threshold && self.severity.is_some() {
            return Err(format!(
                "alert rule {name}: a threshold rule's severity comes from the threshold reached"
            ));
        }
        if let Some(share) = self.share {
            if !(share.is_finite() && share >= 0.0) {
                return Err(format!("alert rule {name}: `share` must be 0 or more"));
            }
        }
        if let Some(k) = self.k {
            if !(k.is_finite() && k > 0.0) {
                return Err(format!("alert rule {name}: `k` must be above 0"));
            }
        }
        if let Some(url) = &self.webhook {
            if !(url.starts_with("http://") || url.starts_with("https://")) {
                return Err(format!(
                    "alert rule {name}: `webhook` must be an http:// or https:// URL"
                ));
            }
        }
        Ok(())
    }
}

/// Whether `a` is worse than `b` for an indicator going `direction`.
pub fn worse(direction: Direction, a: f64, b: f64) -> bool {
    match direction {
        Direction::HigherIsWorse => a > b,
        Direction::LowerIsWorse => a < b,
    }
}

impl Band {
    /// The band of `value` by the indicator's threshold at the value's level: critical
    /// at or past the critical value, warning at or past the warning value, normal
    /// otherwise; `none` without a threshold.
    pub fn of(value: f64, direction: Direction, threshold: Option<&Threshold>) -> Band {
        let Some(t) = threshold else {
            return Band::None;
        };
        let reached = |limit: Option<f64>| {
            limit.is_some_and(|limit| value == limit || worse(direction, value, limit))
        };
        if reached(t.critical) {
            Band::Critical
        } else if reached(t.warning) {
            Band::Warning
        } else if t.critical.is_some() || t.warning.is_some() {
            Band::Normal
        } else {
            Band::None
        }
    }

    /// The colour every dashboard paints the band (CSS hex).
    pub fn colour(self) -> &'static str {
        match self {
            Band::Normal => "#2e7d32",
            Band::Warning => "#f9a825",
            Band::Critical => "#c62828",
            Band::None => "#9e9e9e",
        }
    }

    /// Thai label.
    pub fn label_th(self) -> &'static str {
        match self {
            Band::Normal => "ปกติ",
            Band::Warning => "เฝ้าระวัง",
            Band::Critical => "วิกฤต",
            Band::None => "ไม่มีเกณฑ์",
        }
    }

    /// English label.
    pub fn label_en(self) -> &'static str {
        match self {
            Band::Normal => "Normal",
            Band::Warning => "Warning",
            Band::Critical => "Critical",
            Band::None => "No threshold",
        }
    }
}

/// One entry of an indicator's legend at one level: the band, the range of values it
/// covers (`from` inclusive, `to` exclusive, either open) and its colour.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LegendEntry {
    /// The band.
    pub band: Band,
    /// Lowest value of the band (none: unbounded).
    pub from: Option<f64>,
    /// Value the band stops before (none: unbounded).
    pub to: Option<f64>,
}

/// The legend of an indicator at one level, best band first.
pub fn legend(direction: Direction, threshold: &Threshold) -> Vec<LegendEntry> {
    let mut cuts: Vec<(Band, Option<f64>)> = vec![(Band::Normal, None)];
    if let Some(w) = threshold.warning {
        cuts.push((Band::Warning, Some(w)));
    }
    if let Some(c) = threshold.critical {
        cuts.push((Band::Critical, Some(c)));
    }
    let mut entries = Vec::with_capacity(cuts.len());
    for (i, &(band, start)) in cuts.iter().enumerate() {
        let next = cuts.get(i + 1).and_then(|c| c.1);
        let (from, to) = match direction {
            Direction::HigherIsWorse => (start, next),
            // Lower is worse: each band lies below the previous one.
            Direction::LowerIsWorse => (next, start),
        };
        entries.push(LegendEntry { band, from, to });
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    fn threshold(warning: Option<f64>, critical: Option<f64>) -> Threshold {
        Threshold {
            indicator: "x".into(),
            level: AreaLevel::District,
            warning,
            critical,
        }
    }

    #[test]
    fn bands_follow_the_direction() {
        let t = threshold(Some(300.0), Some(500.0));
        let higher = Direction::HigherIsWorse;
        assert_eq!(Band::of(299.0, higher, Some(&t)), Band::Normal);
        assert_eq!(Band::of(300.0, higher, Some(&t)), Band::Warning);
        assert_eq!(Band::of(500.0, higher, Some(&t)), Band::Critical);
        assert_eq!(Band::of(1.0, higher, None), Band::None);
        let t = threshold(Some(90.0), Some(80.0));
        let lower = Direction::LowerIsWorse;
        assert_eq!(Band::of(95.0, lower, Some(&t)), Band::Normal);
        assert_eq!(Band::of(85.0, lower, Some(&t)), Band::Warning);
        assert_eq!(Band::of(80.0, lower, Some(&t)), Band::Critical);
    }

    #[test]
    fn legends_cover_the_line() {
        let l = legend(Direction::HigherIsWorse, &threshold(Some(3.0), Some(5.0)));
        let spans: Vec<_> = l.iter().map(|e| (e.band, e.from, e.to)).collect();
        assert_eq!(
            spans,
            [
                (Band::Normal, None, Some(3.0)),
                (Band::Warning, Some(3.0), Some(5.0)),
                (Band::Critical, Some(5.0), None)
            ]
        );
        let l = legend(Direction::LowerIsWorse, &threshold(Some(90.0), Some(80.0)));
        let spans: Vec<_> = l.iter().map(|e| (e.band, e.from, e.to)).collect();
        assert_eq!(
            spans,
            [
                (Band::Normal, Some(90.0), None),
                (Band::Warning, Some(80.0), Some(90.0)),
                (Band::Critical, None, Some(80.0))
            ]
        );
    }

    #[test]
    fn rules_refuse_fields_of_other_kinds() {
        let rule = AlertRule {
            name: "r".into(),
            indicator: "x".into(),
            kind: RuleKind::Missing,
            severity: None,
            levels: vec![],
            share: Some(0.1),
            periods: None,
            k: None,
            min_periods: None,
            webhook: None,
        };
        assert_eq!(
            rule.check().unwrap_err(),
            "alert rule r: `share` does not apply to a missing rule"
        );
    }
}
