//! Alert rules evaluated over computed values: which (indicator, area, rule) fire now,
//! with the value, the period and what was expected. Only totals (no breakdown) are
//! watched. Pure functions; the store reconciles the result with the open alerts.

use crate::compute::period_order;
use abe_schema::alerting::worse;
use abe_schema::{AlertRule, AlertSeverity, Band, Direction, Indicator, RuleKind, Threshold};
use abe_store::{Firing, IndicatorValue};
use std::collections::HashMap;

/// What an evaluation found: the alerts firing, and the latest period of each
/// (indicator, area) looked at.
#[derive(Debug, Default)]
pub struct Findings {
    /// Alerts that fire.
    pub firing: Vec<Firing>,
    /// Latest period per (indicator, area).
    pub latest: HashMap<(String, String), String>,
}

/// Evaluates `rules` over `values` (every period of the areas evaluated).
pub fn evaluate(
    rules: &[AlertRule],
    catalogue: &HashMap<String, Indicator>,
    thresholds: &[Threshold],
    values: &[IndicatorValue],
) -> Findings {
    let mut findings = Findings::default();
    // Each area's series of totals, in time order, per indicator.
    let mut series: HashMap<&str, HashMap<&str, Vec<&IndicatorValue>>> = HashMap::new();
    for v in values.iter().filter(|v| v.breakdown.is_empty()) {
        series
            .entry(&v.indicator)
            .or_default()
            .entry(&v.area_code)
            .or_default()
            .push(v);
    }
    for areas in series.values_mut() {
        for s in areas.values_mut() {
            s.sort_by_key(|v| period_order(&v.period));
        }
    }
    for (indicator, areas) in &series {
        for (area, s) in areas {
            if let Some(last) = s.last() {
                findings.latest.insert(
                    (indicator.to_string(), area.to_string()),
                    last.period.clone(),
                );
            }
        }
    }
    for rule in rules {
        let Some(indicator) = catalogue.get(&rule.indicator) else {
            continue;
        };
        let Some(areas) = series.get(rule.indicator.as_str()) else {
            continue;
        };
        let latest_period = areas
            .values()
            .filter_map(|s| s.last())
            .max_by_key(|v| period_order(&v.period))
            .map(|v| v.period.clone());
        for s in areas.values() {
            let Some(last) = s.last() else { continue };
            if !rule.watches(last.level) {
                continue;
            }
            let fired = match rule.kind {
                RuleKind::Threshold => threshold(indicator, thresholds, last),
                RuleKind::WorseThanParent => worse_than_parent(rule, indicator, last),
                RuleKind::Worsening => worsening(rule, indicator.direction, s),
                RuleKind::Jump => jump(rule, s),
                RuleKind::Missing => {
                    if let Some((period, expected)) = missing(latest_period.as_deref(), s) {
                        findings.firing.push(Firing {
                            indicator: rule.indicator.clone(),
                            area_code: last.area_code.clone(),
                            rule: rule.name.clone(),
                            kind: rule.kind,
                            period,
                            severity: rule.severity(),
                            value: None,
                            threshold: None,
                            expected,
                            sources: last.sources(),
                        });
                    }
                    continue;
                }
            };
            if let Some(Fired {
                severity,
                threshold,
                expected,
            }) = fired
            {
                findings.firing.push(Firing {
                    indicator: rule.indicator.clone(),
                    area_code: last.area_code.clone(),
                    rule: rule.name.clone(),
                    kind: rule.kind,
                    period: last.period.clone(),
                    severity: severity.unwrap_or_else(|| rule.severity()),
                    value: Some(last.value),
                    threshold,
                    expected,
                    sources: last.sources(),
                });
            }
        }
    }
    findings
}

/// What a rule found wrong with a value.
struct Fired {
    /// Set by threshold rules; others take the rule's.
    severity: Option<AlertSeverity>,
    threshold: Option<f64>,
    expected: String,
}

fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    }
}

fn threshold(indicator: &Indicator, thresholds: &[Threshold], v: &IndicatorValue) -> Option<Fired> {
    let t = thresholds
        .iter()
        .find(|t| t.indicator == v.indicator && t.level == v.level)?;
    let (severity, limit) = match Band::of(v.value, indicator.direction, Some(t)) {
        Band::Critical => (AlertSeverity::Critical, t.critical?),
        Band::Warning => (AlertSeverity::Warning, t.warning?),
        Band::Normal | Band::None => return None,
    };
    let side = match indicator.direction {
        Direction::HigherIsWorse => "below",
        Direction::LowerIsWorse => "above",
    };
    Some(Fired {
        severity: Some(severity),
        threshold: Some(limit),
        expected: format!(
            "{side} the {} threshold {} for a {}",
            severity,
            number(limit),
            v.level
        ),
    })
}

fn worse_than_parent(rule: &AlertRule, indicator: &Indicator, v: &IndicatorValue) -> Option<Fired> {
    let parent = v.parent_value?;
    let share = rule.share();
    let limit = match indicator.direction {
        Direction::HigherIsWorse => parent * (1.0 + share),
        Direction::LowerIsWorse => parent * (1.0 - share),
    };
    worse(indicator.direction, v.value, limit).then(|| Fired {
        severity: None,
        threshold: Some(limit),
        expected: format!(
            "no worse than {} ({}'s {} and {:.0}% more)",
            number(limit),
            v.parent_code.as_deref().unwrap_or("the parent"),
            number(parent),
            share * 100.0
        ),
    })
}

fn worsening(rule: &AlertRule, direction: Direction, s: &[&IndicatorValue]) -> Option<Fired> {
    let n = rule.periods();
    if s.len() < n + 1 {
        return None;
    }
    let tail = &s[s.len() - n - 1..];
    let all_worse = tail
        .windows(2)
        .all(|w| worse(direction, w[1].value, w[0].value));
    all_worse.then(|| Fired {
        severity: None,
        threshold: Some(tail[n - 1].value),
        expected: format!(
            "no worse than the period before; worse {n} periods in a row since {} ({})",
            tail[0].period,
            number(tail[0].value)
        ),
    })
}

fn jump(rule: &AlertRule, s: &[&IndicatorValue]) -> Option<Fired> {
    let (last, history) = s.split_last()?;
    if history.len() < rule.min_periods() {
        return None;
    }
    let n = history.len() as f64;
    let mean = history.iter().map(|v| v.value).sum::<f64>() / n;
    let variance = history
        .iter()
        .map(|v| (v.value - mean).powi(2))
        .sum::<f64>()
        / (n - 1.0);
    let sd = variance.sqrt();
    let k = rule.k();
    let (low, high) = (mean - k * sd, mean + k * sd);
    (last.value < low || last.value > high).then(|| Fired {
        severity: None,
        threshold: Some(if last.value > high { high } else { low }),
        expected: format!(
            "between {} and {} (mean {} ± {k} sd {} of {} earlier periods)",
            number(low),
            number(high),
            number(mean),
            number(sd),
            history.len()
        ),
    })
}

/// The latest period, when the area reported before it but not for it.
fn missing(latest: Option<&str>, s: &[&IndicatorValue]) -> Option<(String, String)> {
    let latest = latest?;
    let last = s.last()?;
    (last.period != latest).then(|| {
        (
            latest.to_string(),
            format!(
                "a value for {latest}; the last one was for {} ({})",
                last.period,
                number(last.value)
            ),
        )
    })
}
