//! Computed indicator values: observations summed by the store are chosen by source
//! precedence, totalled across breakdowns, rolled up the area hierarchy, divided into
//! ratios and means, then ranked, compared with the parent and the previous period,
//! and banded. Pure functions over what the store gave; no I/O.

use abe_schema::period::Period;
use abe_schema::{AreaLevel, Band, Breakdown, Direction, Indicator, IndicatorKind, Threshold};
use abe_store::{AreaNode, IndicatorValue, ObservationSum, ValueSource};
use std::collections::{BTreeSet, HashMap, HashSet};

/// A computed value's key: area, period, breakdown.
type Key = (String, String, String);

/// The area hierarchy and what the computation needs to know about it.
#[derive(Debug, Default)]
pub struct Tree {
    nodes: HashMap<String, AreaNode>,
    /// Number of child areas of each area.
    children: HashMap<String, i64>,
    /// Number of schools in each area.
    schools: HashMap<String, i64>,
    /// Each connector's agency, for precedence by agency.
    agencies: HashMap<String, String>,
}

impl Tree {
    /// Builds the tree from the store's areas, school counts and connector agencies.
    pub fn new(
        areas: Vec<AreaNode>,
        schools: Vec<(String, i64)>,
        agencies: Vec<(String, Option<String>)>,
    ) -> Tree {
        let mut children: HashMap<String, i64> = HashMap::new();
        for a in &areas {
            if let Some(parent) = &a.parent_code {
                *children.entry(parent.clone()).or_default() += 1;
            }
        }
        Tree {
            nodes: areas.into_iter().map(|a| (a.code.clone(), a)).collect(),
            children,
            schools: schools.into_iter().collect(),
            agencies: agencies
                .into_iter()
                .filter_map(|(c, a)| Some((c, a?)))
                .collect(),
        }
    }

    fn level(&self, code: &str) -> Option<AreaLevel> {
        self.nodes.get(code).map(|n| n.level)
    }

    fn parent(&self, code: &str) -> Option<&str> {
        self.nodes.get(code)?.parent_code.as_deref()
    }
}

/// A value being built: the value, what it was divided from, who reported, and from
/// which sources.
#[derive(Debug, Clone, Default)]
struct Acc {
    /// Counts: the sum. Means: the weighted sum. Ratios: the numerator.
    num: f64,
    /// Means: the summed weight. Ratios: the denominator.
    den: f64,
    /// Children (areas or schools) that reported, of how many; none when the area
    /// reported the value itself.
    coverage: Option<(i64, i64)>,
    denominator_period: Option<String>,
    sources: BTreeSet<ValueSource>,
}

impl Acc {
    fn add(&mut self, other: &Acc) {
        self.num += other.num;
        self.den += other.den;
        if self.denominator_period.is_none() {
            self.denominator_period = other.denominator_period.clone();
        }
        self.sources.extend(other.sources.iter().cloned());
    }
}

/// A period's place in time, then its spelling (see [`period_order`]).
type PeriodOrder = (i64, String);

/// Orders periods in time: by start month when they parse, by text otherwise.
pub fn period_order(period: &str) -> PeriodOrder {
    match period.parse::<Period>() {
        Ok(p) => (p.start_month(), period.to_string()),
        Err(_) => (i64::MAX, period.to_string()),
    }
}

/// Values of one indicator, by key, before they are finished.
type Accs = HashMap<Key, Acc>;

/// Computes the values of `indicators` (every one whose inputs are among them or
/// already in `inputs`), from `sums`, over `tree`. The result is unfinished: see
/// [`finish`].
pub struct Computation<'a> {
    tree: &'a Tree,
    /// Values computed so far, by indicator: inputs of ratios and means.
    done: HashMap<String, Accs>,
}

impl<'a> Computation<'a> {
    /// A computation over `tree`.
    pub fn new(tree: &'a Tree) -> Self {
        Computation {
            tree,
            done: HashMap::new(),
        }
    }

    /// Computes `indicator` from its observation sums (counts, means, latest) or from
    /// its inputs computed before (ratios; means take their weight from there).
    pub fn compute(&mut self, indicator: &Indicator, sums: &[&ObservationSum]) {
        let accs = match indicator.kind {
            IndicatorKind::Count => {
                self.roll_up(indicator, own_values(self.tree, indicator, sums, None))
            }
            IndicatorKind::Mean => {
                let weights = indicator.weight.as_ref().and_then(|w| self.done.get(w));
                let own = own_values(self.tree, indicator, sums, Some(weights));
                self.roll_up(indicator, own)
            }
            IndicatorKind::Latest => own_values(self.tree, indicator, sums, None),
            IndicatorKind::Ratio => self.ratio(indicator),
        };
        self.done.insert(indicator.code.clone(), accs);
    }

    /// Sums (or weighs) children into parents, level by level from the bottom; an
    /// area's own reported value wins over its children's sum.
    fn roll_up(&self, indicator: &Indicator, mut accs: Accs) -> Accs {
        let divided = matches!(indicator.kind, IndicatorKind::Mean | IndicatorKind::Ratio);
        for level in [AreaLevel::Subdistrict, AreaLevel::District] {
            let mut sums: HashMap<Key, (Acc, i64)> = HashMap::new();
            for ((area, period, breakdown), acc) in &accs {
                if self.tree.level(area) != Some(level) {
                    continue;
                }
                let Some(parent) = self.tree.parent(area) else {
                    continue;
                };
                let entry = sums
                    .entry((parent.to_string(), period.clone(), breakdown.clone()))
                    .or_default();
                entry.0.add(acc);
                entry.1 += 1;
            }
            for (key, (mut acc, reported)) in sums {
                if accs.contains_key(&key) {
                    continue;
                }
                let expected = self.tree.children.get(&key.0).copied().unwrap_or(0);
                acc.coverage = Some((reported, expected.max(reported)));
                if divided && acc.den == 0.0 {
                    continue;
                }
                accs.insert(key, acc);
            }
        }
        accs
    }

    /// Numerator / denominator x multiplier per key, the denominator of the same period
    /// or the nearest earlier one within the lag.
    fn ratio(&self, indicator: &Indicator) -> Accs {
        let empty = Accs::new();
        let part = |code: &Option<String>| {
            code.as_ref()
                .and_then(|c| self.done.get(c))
                .unwrap_or(&empty)
        };
        let numerators = part(&indicator.numerator);
        let denominators = part(&indicator.denominator);
        let lag_months = i64::from(indicator.denominator_lag.unwrap_or(0)) * 12;
        // Denominator periods per (area, breakdown), in time order.
        let mut by_place: HashMap<(&str, &str), Vec<(PeriodOrder, &Acc)>> = HashMap::new();
        for ((area, period, breakdown), acc) in denominators {
            by_place
                .entry((area, breakdown))
                .or_default()
                .push((period_order(period), acc));
        }
        for periods in by_place.values_mut() {
            periods.sort_by(|a, b| a.0.cmp(&b.0));
        }
        let mut accs = Accs::new();
        for ((area, period, breakdown), num) in numerators {
            let Some(periods) = by_place.get(&(area.as_str(), breakdown.as_str())) else {
                continue;
            };
            let at = period_order(period);
            let found = periods.iter().rev().find(|(p, _)| {
                p.1 == *period || (p.0 <= at.0 && at.0 != i64::MAX && at.0 - p.0 <= lag_months)
            });
            let Some((den_period, den)) = found else {
                continue;
            };
            if den.num == 0.0 {
                continue;
            }
            let mut acc = Acc {
                num: num.num,
                den: den.num,
                coverage: None,
                denominator_period: (den_period.1 != *period).then(|| den_period.1.clone()),
                sources: num.sources.clone(),
            };
            acc.sources.extend(den.sources.iter().cloned());
            accs.insert((area.clone(), period.clone(), breakdown.clone()), acc);
        }
        // An area whose children have pairs sums theirs, so that a child lacking one
        // half (a district that did not report its population) is left out of both
        // the numerator and the denominator rather than only one of them.
        let with_children: HashSet<Key> = accs
            .keys()
            .filter_map(|(area, period, breakdown)| {
                Some((
                    self.tree.parent(area)?.to_string(),
                    period.clone(),
                    breakdown.clone(),
                ))
            })
            .collect();
        accs.retain(|key, _| !with_children.contains(key));
        self.roll_up(indicator, accs)
    }

    /// The finished values of every indicator computed, in no order.
    pub fn finish(
        self,
        catalogue: &HashMap<String, Indicator>,
        thresholds: &[Threshold],
    ) -> Vec<IndicatorValue> {
        let mut out = Vec::new();
        for (code, accs) in self.done {
            let Some(indicator) = catalogue.get(&code) else {
                continue;
            };
            for ((area, period, breakdown), acc) in accs {
                let Some(level) = self.tree.level(&area) else {
                    continue;
                };
                let value = value_of(indicator, &acc);
                if !value.is_finite() {
                    continue;
                }
                let (numerator, denominator) = match indicator.kind {
                    IndicatorKind::Ratio | IndicatorKind::Mean => (Some(acc.num), Some(acc.den)),
                    IndicatorKind::Count | IndicatorKind::Latest => (None, None),
                };
                out.push(IndicatorValue {
                    indicator: code.clone(),
                    parent_code: self.tree.parent(&area).map(str::to_string),
                    area_code: area,
                    period,
                    breakdown,
                    level,
                    value,
                    numerator,
                    denominator,
                    denominator_period: acc.denominator_period,
                    reported: acc.coverage.map(|c| c.0),
                    expected: acc.coverage.map(|c| c.1),
                    rank: None,
                    siblings: None,
                    parent_value: None,
                    previous_period: None,
                    previous_value: None,
                    band: Band::None,
                    sources_json: serde_json::to_string(&acc.sources).unwrap_or_default(),
                });
            }
        }
        relate(&mut out, catalogue, thresholds);
        out
    }
}

fn value_of(indicator: &Indicator, acc: &Acc) -> f64 {
    match indicator.kind {
        IndicatorKind::Count | IndicatorKind::Latest => acc.num,
        IndicatorKind::Mean => acc.num / acc.den,
        IndicatorKind::Ratio => acc.num / acc.den * indicator.multiplier(),
    }
}

/// The rank of `value` among `values` (1 = worst), equal values sharing a rank.
fn rank_in(direction: Direction, value: f64, values: &[f64]) -> i64 {
    let worse = values
        .iter()
        .filter(|&&other| abe_schema::alerting::worse(direction, other, value))
        .count();
    worse as i64 + 1
}

/// Fills in what relates values to each other: rank among siblings, the parent's
/// value, the previous period, and the band. `values` holds every value the relations
/// need (for a scoped computation, the other provinces' rows as well).
pub fn relate(
    values: &mut [IndicatorValue],
    catalogue: &HashMap<String, Indicator>,
    thresholds: &[Threshold],
) {
    let thresholds: HashMap<(&str, AreaLevel), &Threshold> = thresholds
        .iter()
        .map(|t| ((t.indicator.as_str(), t.level), t))
        .collect();
    // Siblings: same indicator, parent, level, period and breakdown.
    type Group<'v> = (&'v str, Option<&'v str>, AreaLevel, &'v str, &'v str);
    let mut groups: HashMap<Group<'_>, Vec<f64>> = HashMap::new();
    let mut by_key: HashMap<(&str, &str, &str, &str), f64> = HashMap::new();
    // An area's values over time: (indicator, area, breakdown) → (period, value).
    type Series<'v> = HashMap<(&'v str, &'v str, &'v str), Vec<(PeriodOrder, f64)>>;
    let mut series: Series<'_> = HashMap::new();
    for v in values.iter() {
        groups
            .entry((
                &v.indicator,
                v.parent_code.as_deref(),
                v.level,
                &v.period,
                &v.breakdown,
            ))
            .or_default()
            .push(v.value);
        by_key.insert(
            (&v.indicator, &v.area_code, &v.period, &v.breakdown),
            v.value,
        );
        series
            .entry((&v.indicator, &v.area_code, &v.breakdown))
            .or_default()
            .push((period_order(&v.period), v.value));
    }
    for s in series.values_mut() {
        s.sort_by(|a, b| a.0.cmp(&b.0));
    }
    let mut filled = Vec::with_capacity(values.len());
    for v in values.iter() {
        let direction = catalogue
            .get(&v.indicator)
            .map(|i| i.direction)
            .unwrap_or_default();
        let siblings = &groups[&(
            v.indicator.as_str(),
            v.parent_code.as_deref(),
            v.level,
            v.period.as_str(),
            v.breakdown.as_str(),
        )];
        let rank = rank_in(direction, v.value, siblings);
        let parent_value = v.parent_code.as_deref().and_then(|p| {
            by_key
                .get(&(
                    v.indicator.as_str(),
                    p,
                    v.period.as_str(),
                    v.breakdown.as_str(),
                ))
                .copied()
        });
        let s = &series[&(
            v.indicator.as_str(),
            v.area_code.as_str(),
            v.breakdown.as_str(),
        )];
        let at = s.iter().position(|(p, _)| p.1 == v.period).unwrap_or(0);
        let previous = at.checked_sub(1).map(|i| s[i].clone());
        let band = Band::of(
            v.value,
            direction,
            thresholds.get(&(v.indicator.as_str(), v.level)).copied(),
        );
        filled.push((rank, siblings.len() as i64, parent_value, previous, band));
    }
    for (v, (rank, siblings, parent_value, previous, band)) in values.iter_mut().zip(filled) {
        v.rank = Some(rank);
        v.siblings = Some(siblings);
        v.parent_value = parent_value;
        v.previous_period = previous.as_ref().map(|p| p.0 .1.clone());
        v.previous_value = previous.map(|p| p.1);
        v.band = band;
    }
}

/// The value each area (or its schools) reported itself, per period and breakdown: one
/// connector per area and period by the indicator's source precedence; the area's own
/// rows before its schools'; a total from the source's total row, else from the
/// breakdown rows of one dimension (never both). For means, `weights` gives each
/// area's weight (none: the indicator has no weight, so every area weighs 1).
fn own_values(
    tree: &Tree,
    indicator: &Indicator,
    sums: &[&ObservationSum],
    weights: Option<Option<&Accs>>,
) -> Accs {
    // Choose the connector per (area, from_schools, period).
    let mut chosen: HashMap<(&str, bool, &str), (usize, i64, &str)> = HashMap::new();
    for s in sums {
        let rank = precedence(tree, indicator, &s.connector);
        let candidate = (rank, -s.run_id, s.connector.as_str());
        chosen
            .entry((&s.area_code, s.from_schools, &s.period))
            .and_modify(|best| {
                if candidate < *best {
                    *best = candidate;
                }
            })
            .or_insert(candidate);
    }
    // An area's own rows win over its schools'.
    let has_direct: BTreeSet<(&str, &str)> = sums
        .iter()
        .filter(|s| !s.from_schools)
        .map(|s| (s.area_code.as_str(), s.period.as_str()))
        .collect();
    let mut rows: HashMap<(&str, &str), Vec<&ObservationSum>> = HashMap::new();
    for s in sums {
        let key = (s.area_code.as_str(), s.from_schools, s.period.as_str());
        if chosen.get(&key).map(|c| c.2) != Some(s.connector.as_str()) {
            continue;
        }
        if s.from_schools && has_direct.contains(&(s.area_code.as_str(), s.period.as_str())) {
            continue;
        }
        rows.entry((&s.area_code, &s.period)).or_default().push(s);
    }
    let mut accs = Accs::new();
    for ((area, period), group) in rows {
        let from_schools = group.iter().any(|s| s.from_schools);
        let mut parts: HashMap<String, (f64, i64, &ObservationSum)> = HashMap::new();
        for s in &group {
            if !supported(indicator, &s.breakdown) {
                continue;
            }
            parts.insert(s.breakdown.clone(), (s.value, s.n, s));
        }
        if !parts.contains_key("") {
            if let Some((value, n, s)) = total_from_breakdowns(indicator, &parts) {
                parts.insert(String::new(), (value, n, s));
            }
        }
        for (breakdown, (value, n, s)) in parts {
            let mean_of_rows = value / n.max(1) as f64;
            let (num, den) = match (indicator.kind, weights) {
                (IndicatorKind::Mean, Some(weights)) => {
                    let weight = match weights {
                        None => 1.0,
                        Some(weights) => match weights.get(&(
                            area.to_string(),
                            period.to_string(),
                            breakdown.clone(),
                        )) {
                            Some(w) => w.num,
                            None => continue,
                        },
                    };
                    (mean_of_rows * weight, weight)
                }
                (IndicatorKind::Latest, _) if from_schools => continue,
                _ => (value, 0.0),
            };
            let coverage = from_schools.then(|| {
                let schools = tree.schools.get(area).copied().unwrap_or(0);
                (n, schools.max(n))
            });
            let mut sources = BTreeSet::new();
            sources.insert(ValueSource {
                connector: s.connector.clone(),
                run: s.run_id,
            });
            accs.insert(
                (area.to_string(), period.to_string(), breakdown),
                Acc {
                    num,
                    den,
                    coverage,
                    denominator_period: None,
                    sources,
                },
            );
        }
    }
    accs
}

/// Where a connector stands in the indicator's precedence (by its name or its
/// agency's code); unlisted connectors after every listed one.
fn precedence(tree: &Tree, indicator: &Indicator, connector: &str) -> usize {
    let agency = tree.agencies.get(connector).map(String::as_str);
    indicator
        .sources
        .iter()
        .position(|s| s == connector || Some(s.as_str()) == agency)
        .unwrap_or(usize::MAX)
}

/// Whether the indicator computes values for `breakdown`: the total always; others
/// when every dimension is one it supports (any, when it names none).
fn supported(indicator: &Indicator, breakdown: &str) -> bool {
    breakdown.is_empty()
        || indicator.breakdowns.is_empty()
        || Breakdown::decode(breakdown)
            .0
            .iter()
            .all(|(d, _)| indicator.breakdowns.contains(d))
}

/// A total from the rows of one dimension alone (`sex=female`, `sex=male`): the first
/// supported dimension that has such rows, in the indicator's order (else by name).
fn total_from_breakdowns<'s>(
    indicator: &Indicator,
    parts: &HashMap<String, (f64, i64, &'s ObservationSum)>,
) -> Option<(f64, i64, &'s ObservationSum)> {
    let mut single: HashMap<String, Vec<(f64, i64, &'s ObservationSum)>> = HashMap::new();
    for (breakdown, part) in parts {
        let pairs = Breakdown::decode(breakdown).0;
        if let [(dimension, _)] = pairs.as_slice() {
            single.entry(dimension.clone()).or_default().push(*part);
        }
    }
    let mut dimensions: Vec<&String> = single.keys().collect();
    dimensions.sort_by_key(|d| {
        (
            indicator
                .breakdowns
                .iter()
                .position(|b| b == *d)
                .unwrap_or(usize::MAX),
            d.to_string(),
        )
    });
    let rows = &single[*dimensions.first()?];
    let value = rows.iter().map(|r| r.0).sum();
    let n = rows.iter().map(|r| r.1).max().unwrap_or(0);
    Some((value, n, rows[0].2))
}
