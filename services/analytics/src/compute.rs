//! Computed indicator values: observations summed by the store are chosen by source
//! precedence, totalled across breakdowns, rolled up the area hierarchy, divided into
//! ratios and means, then ranked, compared with the parent and the previous period,
//! and banded. Pure functions over what the store gave; no I/O.
//!
//! A national computation handles millions of values, so areas, periods, breakdowns
//! and sources are numbered once and values are keyed by one integer; text comes back
//! only when the finished values are written out.

use abe_schema::period::Period;
use abe_schema::{AreaLevel, Band, Breakdown, Indicator, IndicatorKind, Threshold};
use abe_store::{AreaNode, IndicatorValue, ObservationSum, ValueSource};
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::HashMap;

/// A period's place in time, then its spelling (see [`period_order`]).
type PeriodOrder = (i64, String);

/// Orders periods in time: by start month when they parse, by text otherwise.
pub fn period_order(period: &str) -> PeriodOrder {
    match period.parse::<Period>() {
        Ok(p) => (p.start_month(), period.to_string()),
        Err(_) => (i64::MAX, period.to_string()),
    }
}

/// Numbers for texts, first come first numbered.
#[derive(Debug, Default)]
struct Interner {
    ids: FxHashMap<String, u32>,
    texts: Vec<String>,
}

impl Interner {
    fn id(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        let id = self.texts.len() as u32;
        self.ids.insert(text.to_string(), id);
        self.texts.push(text.to_string());
        id
    }
}

/// The area hierarchy and what the computation needs to know about it, areas numbered.
#[derive(Debug, Default)]
pub struct Tree {
    index: FxHashMap<String, u32>,
    codes: Vec<String>,
    levels: Vec<AreaLevel>,
    parents: Vec<Option<u32>>,
    /// Number of child areas of each area.
    children: Vec<i64>,
    /// Number of schools in each area.
    schools: Vec<i64>,
    /// Each connector's agency, for precedence by agency.
    agencies: FxHashMap<String, String>,
}

impl Tree {
    /// Builds the tree from the store's areas, school counts and connector agencies.
    pub fn new(
        areas: Vec<AreaNode>,
        schools: Vec<(String, i64)>,
        agencies: Vec<(String, Option<String>)>,
    ) -> Tree {
        let mut tree = Tree::default();
        for a in &areas {
            tree.index.insert(a.code.clone(), tree.codes.len() as u32);
            tree.codes.push(a.code.clone());
            tree.levels.push(a.level);
        }
        tree.children = vec![0; areas.len()];
        tree.schools = vec![0; areas.len()];
        for a in &areas {
            let parent = a
                .parent_code
                .as_deref()
                .and_then(|p| tree.index.get(p).copied());
            if let Some(p) = parent {
                tree.children[p as usize] += 1;
            }
            tree.parents.push(parent);
        }
        for (area, count) in schools {
            if let Some(&id) = tree.index.get(&area) {
                tree.schools[id as usize] = count;
            }
        }
        tree.agencies = agencies
            .into_iter()
            .filter_map(|(c, a)| Some((c, a?)))
            .collect();
        tree
    }
}

/// A value's key: area, period and breakdown numbers packed in one integer.
type Key = u64;

fn key(area: u32, period: u32, breakdown: u32) -> Key {
    (u64::from(area) << 40) | (u64::from(period) << 24) | u64::from(breakdown)
}

fn unkey(key: Key) -> (u32, u32, u32) {
    (
        (key >> 40) as u32,
        ((key >> 24) & 0xFFFF) as u32,
        (key & 0xFF_FFFF) as u32,
    )
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
    /// Ratios: the denominator's period when it is not the value's.
    denominator_period: Option<u32>,
    /// Numbered sources, sorted, without repeats.
    sources: Vec<u32>,
}

impl Acc {
    fn add_sources(&mut self, sources: &[u32]) {
        for s in sources {
            if let Err(at) = self.sources.binary_search(s) {
                self.sources.insert(at, *s);
            }
        }
    }

    fn add(&mut self, other: &Acc) {
        self.num += other.num;
        self.den += other.den;
        if self.denominator_period.is_none() {
            self.denominator_period = other.denominator_period;
        }
        self.add_sources(&other.sources);
    }
}

/// Values of one indicator, by key, before they are finished.
type Accs = FxHashMap<Key, Acc>;

/// What is known of a breakdown spelling: whether an indicator supports it is asked
/// per indicator; its one dimension, when it has exactly one.
#[derive(Debug)]
struct BreakdownInfo {
    dimensions: Vec<String>,
}

/// Computes indicators over a tree: call [`Computation::compute`] for each indicator,
/// inputs first, then [`Computation::finish`].
pub struct Computation<'a> {
    tree: &'a Tree,
    periods: Interner,
    breakdowns: Interner,
    breakdown_info: Vec<BreakdownInfo>,
    sources: Vec<ValueSource>,
    source_ids: FxHashMap<(String, i64), u32>,
    /// Values computed so far, by indicator: inputs of ratios and means.
    done: FxHashMap<String, Accs>,
}

impl<'a> Computation<'a> {
    /// A computation over `tree`.
    pub fn new(tree: &'a Tree) -> Self {
        let mut computation = Computation {
            tree,
            periods: Interner::default(),
            breakdowns: Interner::default(),
            breakdown_info: Vec::new(),
            sources: Vec::new(),
            source_ids: FxHashMap::default(),
            done: FxHashMap::default(),
        };
        // The total is breakdown 0.
        computation.breakdown("");
        computation
    }

    fn breakdown(&mut self, text: &str) -> u32 {
        let id = self.breakdowns.id(text);
        if id as usize == self.breakdown_info.len() {
            let dimensions = Breakdown::decode(text)
                .0
                .into_iter()
                .map(|(d, _)| d)
                .collect();
            self.breakdown_info.push(BreakdownInfo { dimensions });
        }
        id
    }

    fn source(&mut self, connector: &str, run: i64) -> u32 {
        if let Some(&id) = self.source_ids.get(&(connector.to_string(), run)) {
            return id;
        }
        let id = self.sources.len() as u32;
        self.sources.push(ValueSource {
            connector: connector.to_string(),
            run,
        });
        self.source_ids.insert((connector.to_string(), run), id);
        id
    }

    /// Computes `indicator` from its observation sums (counts, means, latest) or from
    /// its inputs computed before (ratios; means take their weight from there).
    pub fn compute(&mut self, indicator: &Indicator, sums: &[&ObservationSum]) {
        let accs = match indicator.kind {
            IndicatorKind::Count => {
                let own = self.own_values(indicator, sums, false);
                self.roll_up(indicator, own)
            }
            IndicatorKind::Mean => {
                let own = self.own_values(indicator, sums, true);
                self.roll_up(indicator, own)
            }
            IndicatorKind::Latest => self.own_values(indicator, sums, false),
            IndicatorKind::Ratio => self.ratio(indicator),
        };
        self.done.insert(indicator.code.clone(), accs);
    }

    /// The value each area (or its schools) reported itself, per period and
    /// breakdown: one connector per area and period by the indicator's source
    /// precedence; the area's own rows before its schools'; a total from the source's
    /// total row, else from the breakdown rows of one dimension (never both). Means
    /// take each area's weight from the weight indicator computed before (every area
    /// weighs 1 without one).
    fn own_values(&mut self, indicator: &Indicator, sums: &[&ObservationSum], mean: bool) -> Accs {
        let tree = self.tree;
        // Choose the connector per (area, from_schools, period): precedence, then the
        // latest run, then the name.
        let mut chosen: FxHashMap<(u32, bool, &str), (usize, i64, &str)> = FxHashMap::default();
        let mut has_direct: FxHashSet<(u32, &str)> = FxHashSet::default();
        for s in sums {
            let Some(&area) = tree.index.get(&s.area_code) else {
                continue;
            };
            if !s.from_schools {
                has_direct.insert((area, s.period.as_str()));
            }
            let candidate = (
                precedence(tree, indicator, &s.connector),
                -s.run_id,
                s.connector.as_str(),
            );
            chosen
                .entry((area, s.from_schools, s.period.as_str()))
                .and_modify(|best| {
                    if candidate < *best {
                        *best = candidate;
                    }
                })
                .or_insert(candidate);
        }
        let mut rows: FxHashMap<(u32, &str), Vec<&ObservationSum>> = FxHashMap::default();
        for s in sums {
            let Some(&area) = tree.index.get(&s.area_code) else {
                continue;
            };
            if chosen
                .get(&(area, s.from_schools, s.period.as_str()))
                .map(|c| c.2)
                != Some(s.connector.as_str())
            {
                continue;
            }
            if s.from_schools && has_direct.contains(&(area, s.period.as_str())) {
                continue;
            }
            rows.entry((area, s.period.as_str())).or_default().push(s);
        }
        let weights = indicator.weight.as_ref().and_then(|w| self.done.remove(w));
        let mut accs = Accs::default();
        for ((area, period_text), group) in rows {
            let period = self.periods.id(period_text);
            let from_schools = group.iter().any(|s| s.from_schools);
            if from_schools && indicator.kind == IndicatorKind::Latest {
                continue;
            }
            // (breakdown, value, rows, source)
            let mut parts: Vec<(u32, f64, i64, u32)> = Vec::with_capacity(group.len() + 1);
            for s in &group {
                let breakdown = self.breakdown(&s.breakdown);
                if !supported(indicator, &self.breakdown_info[breakdown as usize]) {
                    continue;
                }
                let source = self.source(&s.connector, s.run_id);
                parts.push((breakdown, s.value, s.n, source));
            }
            if !parts.iter().any(|p| p.0 == 0) {
                if let Some(total) = self.total_from_breakdowns(indicator, &parts) {
                    parts.push(total);
                }
            }
            for (breakdown, value, n, source) in parts {
                let k = key(area, period, breakdown);
                let (num, den) = if mean {
                    // Schools' rows of an area are averaged, then the area is weighed.
                    let weight = match &weights {
                        None => 1.0,
                        Some(weights) => match weights.get(&k) {
                            Some(w) => w.num,
                            None => continue,
                        },
                    };
                    (value / n.max(1) as f64 * weight, weight)
                } else {
                    (value, 0.0)
                };
                let coverage = from_schools.then(|| {
                    let schools = tree.schools[area as usize];
                    (n, schools.max(n))
                });
                accs.insert(
                    k,
                    Acc {
                        num,
                        den,
                        coverage,
                        denominator_period: None,
                        sources: vec![source],
                    },
                );
            }
        }
        if let (Some(w), Some(code)) = (weights, &indicator.weight) {
            self.done.insert(code.clone(), w);
        }
        accs
    }

    /// A total from the rows of one dimension alone (`sex=female`, `sex=male`): the
    /// first supported dimension that has such rows, in the indicator's order (else by
    /// name).
    fn total_from_breakdowns(
        &self,
        indicator: &Indicator,
        parts: &[(u32, f64, i64, u32)],
    ) -> Option<(u32, f64, i64, u32)> {
        let single = |p: &(u32, f64, i64, u32)| -> Option<&str> {
            match self.breakdown_info[p.0 as usize].dimensions.as_slice() {
                [dimension] => Some(dimension.as_str()),
                _ => None,
            }
        };
        let dimension = parts.iter().filter_map(single).min_by_key(|d| {
            (
                indicator
                    .breakdowns
                    .iter()
                    .position(|b| b == d)
                    .unwrap_or(usize::MAX),
                *d,
            )
        })?;
        let rows: Vec<&(u32, f64, i64, u32)> = parts
            .iter()
            .filter(|p| single(p) == Some(dimension))
            .collect();
        let value = rows.iter().map(|r| r.1).sum();
        let n = rows.iter().map(|r| r.2).max().unwrap_or(0);
        Some((0, value, n, rows[0].3))
    }

    /// Sums (or weighs) children into parents, level by level from the bottom; an
    /// area's own reported value wins over its children's sum.
    fn roll_up(&self, indicator: &Indicator, mut accs: Accs) -> Accs {
        let tree = self.tree;
        let divided = matches!(indicator.kind, IndicatorKind::Mean | IndicatorKind::Ratio);
        for level in [AreaLevel::Subdistrict, AreaLevel::District] {
            let mut sums: FxHashMap<Key, (Acc, i64)> = FxHashMap::default();
            for (&k, acc) in &accs {
                let (area, period, breakdown) = unkey(k);
                if tree.levels[area as usize] != level {
                    continue;
                }
                let Some(parent) = tree.parents[area as usize] else {
                    continue;
                };
                let entry = sums.entry(key(parent, period, breakdown)).or_default();
                entry.0.add(acc);
                entry.1 += 1;
            }
            for (k, (mut acc, reported)) in sums {
                if accs.contains_key(&k) {
                    continue;
                }
                let expected = tree.children[unkey(k).0 as usize];
                acc.coverage = Some((reported, expected.max(reported)));
                if divided && acc.den == 0.0 {
                    continue;
                }
                accs.insert(k, acc);
            }
        }
        accs
    }

    /// Numerator / denominator x multiplier per key, the denominator of the same period
    /// or the nearest earlier one within the lag; an area whose children have pairs
    /// sums theirs.
    fn ratio(&mut self, indicator: &Indicator) -> Accs {
        let empty = Accs::default();
        let part = |code: &Option<String>| {
            code.as_ref()
                .and_then(|c| self.done.get(c))
                .unwrap_or(&empty)
        };
        let numerators = part(&indicator.numerator);
        let denominators = part(&indicator.denominator);
        let orders: Vec<PeriodOrder> = self.periods.texts.iter().map(|p| period_order(p)).collect();
        let lag_months = i64::from(indicator.denominator_lag.unwrap_or(0)) * 12;
        // Denominator periods per (area, breakdown), in time order.
        let mut by_place: FxHashMap<(u32, u32), Vec<(u32, &Acc)>> = FxHashMap::default();
        for (&k, acc) in denominators {
            let (area, period, breakdown) = unkey(k);
            by_place
                .entry((area, breakdown))
                .or_default()
                .push((period, acc));
        }
        for periods in by_place.values_mut() {
            periods.sort_by(|a, b| orders[a.0 as usize].cmp(&orders[b.0 as usize]));
        }
        let mut accs = Accs::default();
        for (&k, num) in numerators {
            let (area, period, breakdown) = unkey(k);
            let Some(periods) = by_place.get(&(area, breakdown)) else {
                continue;
            };
            let at = &orders[period as usize];
            let found = periods.iter().rev().find(|(p, _)| {
                let o = &orders[*p as usize];
                *p == period || (o.0 <= at.0 && at.0 != i64::MAX && at.0 - o.0 <= lag_months)
            });
            let Some(&(den_period, den)) = found else {
                continue;
            };
            if den.num == 0.0 {
                continue;
            }
            let mut acc = Acc {
                num: num.num,
                den: den.num,
                coverage: None,
                denominator_period: (den_period != period).then_some(den_period),
                sources: num.sources.clone(),
            };
            acc.add_sources(&den.sources);
            accs.insert(k, acc);
        }
        // An area whose children have pairs sums theirs, so that a child lacking one
        // half (a district that did not report its population) is left out of both
        // the numerator and the denominator rather than only one of them.
        let tree = self.tree;
        let with_children: FxHashSet<Key> = accs
            .keys()
            .filter_map(|&k| {
                let (area, period, breakdown) = unkey(k);
                Some(key(tree.parents[area as usize]?, period, breakdown))
            })
            .collect();
        accs.retain(|k, _| !with_children.contains(k));
        self.roll_up(indicator, accs)
    }

    /// The finished values of every indicator computed: ranked among siblings,
    /// compared with the parent and the previous period, banded.
    pub fn finish(
        self,
        catalogue: &HashMap<String, Indicator>,
        thresholds: &[Threshold],
    ) -> Vec<IndicatorValue> {
        let tree = self.tree;
        let orders: Vec<PeriodOrder> = self.periods.texts.iter().map(|p| period_order(p)).collect();
        let mut sources_json: FxHashMap<Vec<u32>, String> = FxHashMap::default();
        let mut out = Vec::with_capacity(self.done.values().map(|accs| accs.len()).sum());
        for (code, accs) in &self.done {
            let Some(indicator) = catalogue.get(code) else {
                continue;
            };
            let direction = indicator.direction;
            let values: FxHashMap<Key, f64> = accs
                .iter()
                .map(|(&k, acc)| (k, value_of(indicator, acc)))
                .filter(|(_, v)| v.is_finite())
                .collect();
            // Siblings (parent, level, period, breakdown), worst first.
            let mut groups: FxHashMap<(u32, AreaLevel, u32, u32), Vec<f64>> = FxHashMap::default();
            // Each place's periods (area, breakdown), in time order.
            let mut series: FxHashMap<(u32, u32), Vec<u32>> = FxHashMap::default();
            for (&k, &v) in &values {
                let (area, period, breakdown) = unkey(k);
                let parent = tree.parents[area as usize].unwrap_or(u32::MAX);
                groups
                    .entry((parent, tree.levels[area as usize], period, breakdown))
                    .or_default()
                    .push(v);
                series.entry((area, breakdown)).or_default().push(period);
            }
            for g in groups.values_mut() {
                g.sort_by(|a, b| worst_first(direction, *a, *b));
            }
            for s in series.values_mut() {
                s.sort_by(|a, b| orders[*a as usize].cmp(&orders[*b as usize]));
            }
            let bands: HashMap<AreaLevel, &Threshold> = thresholds
                .iter()
                .filter(|t| t.indicator == *code)
                .map(|t| (t.level, t))
                .collect();
            for (&k, &value) in &values {
                let acc = &accs[&k];
                let (area, period, breakdown) = unkey(k);
                let level = tree.levels[area as usize];
                let parent = tree.parents[area as usize];
                let siblings = &groups[&(parent.unwrap_or(u32::MAX), level, period, breakdown)];
                let rank = siblings
                    .partition_point(|&other| abe_schema::alerting::worse(direction, other, value))
                    + 1;
                let parent_value =
                    parent.and_then(|p| values.get(&key(p, period, breakdown)).copied());
                let s = &series[&(area, breakdown)];
                let at = s.iter().position(|&p| p == period).unwrap_or(0);
                let previous = at.checked_sub(1).map(|i| s[i]);
                let (numerator, denominator) = match indicator.kind {
                    IndicatorKind::Ratio | IndicatorKind::Mean => (Some(acc.num), Some(acc.den)),
                    IndicatorKind::Count | IndicatorKind::Latest => (None, None),
                };
                let sources = sources_json
                    .entry(acc.sources.clone())
                    .or_insert_with(|| {
                        let list: Vec<&ValueSource> = acc
                            .sources
                            .iter()
                            .map(|&s| &self.sources[s as usize])
                            .collect();
                        serde_json::to_string(&list).unwrap_or_default()
                    })
                    .clone();
                out.push(IndicatorValue {
                    indicator: code.clone(),
                    area_code: tree.codes[area as usize].clone(),
                    period: self.periods.texts[period as usize].clone(),
                    breakdown: self.breakdowns.texts[breakdown as usize].clone(),
                    level,
                    parent_code: parent.map(|p| tree.codes[p as usize].clone()),
                    value,
                    numerator,
                    denominator,
                    denominator_period: acc
                        .denominator_period
                        .map(|p| self.periods.texts[p as usize].clone()),
                    reported: acc.coverage.map(|c| c.0),
                    expected: acc.coverage.map(|c| c.1),
                    rank: Some(rank as i64),
                    siblings: Some(siblings.len() as i64),
                    parent_value,
                    previous_period: previous.map(|p| self.periods.texts[p as usize].clone()),
                    previous_value: previous
                        .and_then(|p| values.get(&key(area, p, breakdown)).copied()),
                    band: Band::of(value, direction, bands.get(&level).copied()),
                    sources_json: sources,
                });
            }
        }
        out
    }
}

fn worst_first(direction: abe_schema::Direction, a: f64, b: f64) -> std::cmp::Ordering {
    match direction {
        abe_schema::Direction::HigherIsWorse => b.total_cmp(&a),
        abe_schema::Direction::LowerIsWorse => a.total_cmp(&b),
    }
}

fn value_of(indicator: &Indicator, acc: &Acc) -> f64 {
    match indicator.kind {
        IndicatorKind::Count | IndicatorKind::Latest => acc.num,
        IndicatorKind::Mean => acc.num / acc.den,
        IndicatorKind::Ratio => acc.num / acc.den * indicator.multiplier(),
    }
}

/// Ranks the provinces again (1 = worst) among all of `values`' provinces, per
/// indicator, period and breakdown: after a computation scoped to some provinces, the
/// others' values come from the store.
pub fn rank_provinces(values: &mut [IndicatorValue], catalogue: &HashMap<String, Indicator>) {
    let mut groups: HashMap<(String, String, String), Vec<f64>> = HashMap::new();
    for v in values.iter().filter(|v| v.level == AreaLevel::Province) {
        groups
            .entry((v.indicator.clone(), v.period.clone(), v.breakdown.clone()))
            .or_default()
            .push(v.value);
    }
    for v in values.iter_mut().filter(|v| v.level == AreaLevel::Province) {
        let direction = catalogue
            .get(&v.indicator)
            .map(|i| i.direction)
            .unwrap_or_default();
        let siblings = &groups[&(v.indicator.clone(), v.period.clone(), v.breakdown.clone())];
        let worse = siblings
            .iter()
            .filter(|&&other| abe_schema::alerting::worse(direction, other, v.value))
            .count();
        v.rank = Some(worse as i64 + 1);
        v.siblings = Some(siblings.len() as i64);
    }
}

/// Where a connector stands in the indicator's precedence (by its name or its
/// agency's code); unlisted connectors after every listed one.
fn precedence(tree: &Tree, indicator: &Indicator, connector: &str) -> usize {
    if indicator.sources.is_empty() {
        return usize::MAX;
    }
    let agency = tree.agencies.get(connector).map(String::as_str);
    indicator
        .sources
        .iter()
        .position(|s| s == connector || Some(s.as_str()) == agency)
        .unwrap_or(usize::MAX)
}

/// Whether the indicator computes values for a breakdown: the total always; others
/// when every dimension is one it supports (any, when it names none).
fn supported(indicator: &Indicator, info: &BreakdownInfo) -> bool {
    info.dimensions.is_empty()
        || indicator.breakdowns.is_empty()
        || info
            .dimensions
            .iter()
            .all(|d| indicator.breakdowns.contains(d))
}
