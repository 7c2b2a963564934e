//! Central indicators and early warning: computed values up the area hierarchy (counts,
//! ratios, means, latest values) with ranks, comparisons and bands, inequality between
//! areas, and alert rules evaluated into alerts with a lifecycle. Runs after every
//! committed load that changed data (the hub wires the pipeline's announcements here)
//! and on demand. Asks the store; holds no SQL of its own.

mod compute;
pub mod gaps;
pub mod inequality;
mod rules;
mod webhook;

pub use compute::{period_order, rank_provinces, Computation, Tree};
pub use gaps::{GapItem, GapReport};
pub use inequality::{inequality, Inequality};
pub use rules::{evaluate, Findings};
pub use webhook::{Notifier, WebhookEvent};

use abe_schema::{Indicator, ProblemStatus, RunCounts, Target};
use abe_store::{Evaluated, Scope, Store, StoreError};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

/// What changed, so that only what depends on it is computed again.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The indicators whose observations changed; none: every indicator.
    pub indicators: Option<Vec<String>>,
    /// The areas they changed in.
    pub scope: Scope,
}

impl Change {
    /// Everything: every indicator in every area.
    pub fn everything() -> Change {
        Change {
            indicators: None,
            scope: Scope::All,
        }
    }
}

/// What a computation did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ComputeReport {
    /// Indicators computed.
    pub indicators: Vec<String>,
    /// Values written.
    pub values: u64,
    /// Alerts raised.
    pub raised: usize,
    /// Alerts resolved because the value is back in range.
    pub resolved: usize,
    /// Alerts still firing whose value or period changed.
    pub updated: usize,
    /// Milliseconds taken.
    pub millis: u64,
}

/// At most this many problems, and resources, enter one gap report.
pub const MAX_GAP_RECORDS: usize = 10_000;

/// A gap report with the records it names, by code (alerts by id).
#[derive(Debug, Clone)]
pub struct GapAnswer {
    /// The report.
    pub report: GapReport,
    /// False when a limit cut the records the report read.
    pub complete: bool,
    /// Resources by code.
    pub resources: HashMap<String, abe_store::ResourceRecord>,
    /// Problems by code.
    pub problems: HashMap<String, abe_store::ProblemRecord>,
    /// Alerts by id.
    pub alerts: HashMap<String, abe_store::AlertRecord>,
}

/// The analytics service over a store.
#[derive(Clone)]
pub struct Analytics {
    store: Store,
    notifier: Notifier,
    /// One computation at a time in a process: a later one reads what the earlier one
    /// wrote instead of racing it.
    running: Arc<tokio::sync::Mutex<()>>,
}

impl Analytics {
    /// Analytics over `store`, posting alert changes to the rules' webhooks.
    pub fn new(store: Store) -> Analytics {
        Analytics {
            store,
            notifier: Notifier::default(),
            running: Arc::default(),
        }
    }

    /// The same, with `notifier` for webhooks.
    pub fn with_notifier(mut self, notifier: Notifier) -> Analytics {
        self.notifier = notifier;
        self
    }

    /// What a committed run with `counts` changed: none when it changed no row or only
    /// resources or problems; the
    /// indicators and provinces of the rows it wrote (observations); everything when it
    /// deleted rows or changed reference data, since either can move any value.
    pub async fn change_of_run(
        &self,
        target: Target,
        run_id: i64,
        counts: &RunCounts,
    ) -> Result<Option<Change>, StoreError> {
        if counts.inserted + counts.updated + counts.deleted == 0 {
            return Ok(None);
        }
        // Resources and problems move no computed value; the gap analysis reads them
        // as they are.
        if matches!(target, Target::Resources | Target::Problems) {
            return Ok(None);
        }
        if target != Target::Observations || counts.deleted > 0 {
            return Ok(Some(Change::everything()));
        }
        let footprint = self.store.run_footprint(run_id).await?;
        let indicators: BTreeSet<String> = footprint.iter().map(|(i, _)| i.clone()).collect();
        let provinces: BTreeSet<String> = footprint.into_iter().map(|(_, p)| p).collect();
        Ok(Some(Change {
            indicators: Some(indicators.into_iter().collect()),
            scope: Scope::Provinces(provinces.into_iter().collect()),
        }))
    }

    /// Computes again every value `change` can move, writes them, and evaluates the
    /// alert rules of those indicators in those areas.
    pub async fn recompute(&self, change: &Change) -> Result<ComputeReport, StoreError> {
        let _one = self.running.lock().await;
        let started = Instant::now();
        let catalogue = self.catalogue().await?;
        let codes: Vec<String> = catalogue.keys().cloned().collect();
        let thresholds = self.store.thresholds(&codes).await?;
        let order = affected(&catalogue, change.indicators.as_deref());
        if order.is_empty() {
            return Ok(ComputeReport::default());
        }
        let sums = self.store.observation_sums(&order, &change.scope).await?;
        let read_ms = started.elapsed().as_millis() as u64;
        let mut by_indicator: HashMap<&str, Vec<&abe_store::ObservationSum>> = HashMap::new();
        for s in &sums {
            by_indicator.entry(&s.indicator).or_default().push(s);
        }
        let tree = Tree::new(
            self.store.area_tree().await?,
            self.store.schools_per_area().await?,
            self.store.connector_agencies().await?,
        );
        let mut computation = Computation::new(&tree);
        for code in &order {
            if let Some(indicator) = catalogue.get(code) {
                let rows = by_indicator
                    .get(code.as_str())
                    .map(Vec::as_slice)
                    .unwrap_or(&[]);
                computation.compute(indicator, rows);
            }
        }
        let mut values = computation.finish(&catalogue, &thresholds);
        let computed_ms = started.elapsed().as_millis() as u64;
        if let Scope::Provinces(_) = &change.scope {
            // Provinces rank among all provinces: bring the others' values in.
            let others = self
                .store
                .computed_values(&order, &Scope::All, Some(abe_schema::AreaLevel::Province))
                .await?;
            values.extend(
                others
                    .into_iter()
                    .filter(|v| !change.scope.contains(&v.area_code)),
            );
            rank_provinces(&mut values, &catalogue);
        }
        let rules = self.store.alert_rules(Some(&order)).await?;
        let in_scope: Vec<abe_store::IndicatorValue> = values
            .iter()
            .filter(|v| change.scope.contains(&v.area_code))
            .cloned()
            .collect();
        // Written in this process's turn: on SQLite, a run committing between a read
        // and a write of the computation's transactions would fail one of them.
        let turn = self.store.write_turn().await;
        let written = self
            .store
            .replace_computed_values(
                change.indicators.is_some().then_some(order.as_slice()),
                &change.scope,
                values,
            )
            .await?;
        let written_ms = started.elapsed().as_millis() as u64;
        let findings = evaluate(&rules, &catalogue, &thresholds, &in_scope);
        let evaluated = Evaluated {
            rules: rules.iter().map(|r| r.name.clone()).collect(),
            scope: change.scope.clone(),
            latest: findings.latest,
        };
        let changes = self
            .store
            .reconcile_alerts(&evaluated, findings.firing, chrono::Utc::now())
            .await?;
        drop(turn);
        self.notifier.notify(&rules, &changes);
        let report = ComputeReport {
            indicators: order,
            values: written,
            raised: changes.raised.len(),
            resolved: changes.resolved.len(),
            updated: changes.updated,
            millis: started.elapsed().as_millis() as u64,
        };
        tracing::info!(
            indicators = report.indicators.len(),
            values = report.values,
            raised = report.raised,
            resolved = report.resolved,
            millis = report.millis,
            read_ms,
            compute_ms = computed_ms - read_ms,
            write_ms = written_ms - computed_ms,
            alerts_ms = report.millis - written_ms,
            "indicators computed"
        );
        Ok(report)
    }

    /// The gap report of `area` (and the areas under it) on `day`, for `topics` (all
    /// when empty) and the alerts of `period` (every open one when none), with the
    /// records it names.
    pub async fn gaps(
        &self,
        area: &str,
        topics: &[String],
        period: Option<&str>,
        day: chrono::NaiveDate,
    ) -> Result<GapAnswer, StoreError> {
        let problems = self
            .store
            .all_problems(
                &abe_store::ProblemFilter {
                    within: Some(area.to_string()),
                    statuses: [ProblemStatus::Open, ProblemStatus::BeingAddressed]
                        .map(|s| s.as_str().to_string())
                        .to_vec(),
                    ..Default::default()
                },
                MAX_GAP_RECORDS,
            )
            .await?;
        let alerts = self
            .store
            .alerts(&abe_store::AlertFilter {
                area: Some(area.to_string()),
                statuses: vec![
                    abe_schema::AlertStatus::Open,
                    abe_schema::AlertStatus::Acknowledged,
                ],
                ..Default::default()
            })
            .await?;
        let mut alerts = alerts;
        if let Some(period) = period {
            alerts.retain(|a| a.period == period);
        }
        let indicator_topics: HashMap<String, String> = self
            .catalogue()
            .await?
            .into_iter()
            .filter_map(|(code, i)| i.topic.map(|t| (code, t)))
            .collect();
        // Resources of the whole province: those that cover the area from above, those
        // under it, and the nearby ones an uncovered problem may borrow.
        let province = area.get(..2).unwrap_or(area);
        let resources = self
            .store
            .all_resources(
                &abe_store::ResourceFilter {
                    within: Some(province.to_string()),
                    valid_on: Some(day),
                    ..Default::default()
                },
                MAX_GAP_RECORDS,
            )
            .await?;
        let complete = problems.len() < MAX_GAP_RECORDS
            && resources.len() < MAX_GAP_RECORDS
            && alerts.len() < abe_store::MAX_ALERTS;
        let report = gaps::gaps(&gaps::GapInput {
            area,
            topics,
            problems: &problems,
            alerts: &alerts,
            indicator_topics: &indicator_topics,
            resources: &resources,
        });
        Ok(GapAnswer {
            report,
            complete,
            resources: resources
                .into_iter()
                .map(|r| (r.row.code.clone(), r))
                .collect(),
            problems: problems
                .into_iter()
                .map(|p| (p.row.code.clone(), p))
                .collect(),
            alerts: alerts.into_iter().map(|a| (a.id.to_string(), a)).collect(),
        })
    }

    /// Each category's resources and amounts in each of `areas` (all in one province)
    /// on `day`, for `topics` (all when empty).
    pub async fn resource_totals(
        &self,
        areas: &[String],
        topics: &[String],
        day: chrono::NaiveDate,
    ) -> Result<Vec<gaps::CategoryTotal>, StoreError> {
        let Some(province) = areas.first().and_then(|a| a.get(..2)) else {
            return Ok(Vec::new());
        };
        let resources = self
            .store
            .all_resources(
                &abe_store::ResourceFilter {
                    within: Some(province.to_string()),
                    topics: topics.to_vec(),
                    valid_on: Some(day),
                    ..Default::default()
                },
                MAX_GAP_RECORDS,
            )
            .await?;
        Ok(gaps::resource_totals(areas, &resources))
    }

    async fn catalogue(&self) -> Result<HashMap<String, Indicator>, StoreError> {
        let mut catalogue = HashMap::new();
        let mut after = None;
        loop {
            let page = self
                .store
                .indicators(None, after.clone(), abe_store::MAX_PAGE)
                .await?;
            after = page.items.last().map(|i| i.code.clone());
            for i in page.items {
                catalogue.insert(i.code.clone(), i);
            }
            if !page.has_next_page {
                return Ok(catalogue);
            }
        }
    }
}

/// The indicators a change touches, inputs before what is computed from them: those
/// changed, the ratios and means computed from them (and so on), and the inputs those
/// need. Every indicator when `changed` is none.
fn affected(catalogue: &HashMap<String, Indicator>, changed: Option<&[String]>) -> Vec<String> {
    let mut set: HashSet<String> = match changed {
        None => catalogue.keys().cloned().collect(),
        Some(codes) => codes
            .iter()
            .filter(|c| catalogue.contains_key(*c))
            .cloned()
            .collect(),
    };
    loop {
        let before = set.len();
        for i in catalogue.values() {
            if i.inputs().any(|input| set.contains(input)) {
                set.insert(i.code.clone());
            }
        }
        let dependents: Vec<String> = set.iter().cloned().collect();
        for code in dependents {
            if let Some(i) = catalogue.get(&code) {
                set.extend(i.inputs().map(str::to_string));
            }
        }
        if set.len() == before {
            break;
        }
    }
    // Inputs first: depth = longest chain of inputs below.
    fn depth(code: &str, catalogue: &HashMap<String, Indicator>, seen: &mut Vec<String>) -> usize {
        if seen.iter().any(|s| s == code) {
            return 0; // a cycle the catalogue check refuses; stop here
        }
        seen.push(code.to_string());
        let d = catalogue
            .get(code)
            .map(|i| {
                i.inputs()
                    .map(|input| depth(input, catalogue, seen) + 1)
                    .max()
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        seen.pop();
        d
    }
    let mut order: Vec<(usize, String)> = set
        .into_iter()
        .map(|c| (depth(&c, catalogue, &mut Vec::new()), c))
        .collect();
    order.sort();
    order.into_iter().map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use abe_schema::IndicatorKind;

    fn indicator(code: &str, kind: IndicatorKind, inputs: [Option<&str>; 2]) -> Indicator {
        Indicator {
            code: code.into(),
            kind,
            numerator: inputs[0].map(Into::into),
            denominator: inputs[1].map(Into::into),
            ..Indicator::default()
        }
    }

    #[test]
    fn a_change_reaches_the_ratios_built_on_it_and_their_other_input() {
        let catalogue: HashMap<String, Indicator> = [
            indicator("oos", IndicatorKind::Count, [None, None]),
            indicator("pop", IndicatorKind::Count, [None, None]),
            indicator("rate", IndicatorKind::Ratio, [Some("oos"), Some("pop")]),
            indicator("other", IndicatorKind::Count, [None, None]),
        ]
        .into_iter()
        .map(|i| (i.code.clone(), i))
        .collect();
        let order = affected(&catalogue, Some(&["oos".to_string()]));
        assert_eq!(order, ["oos", "pop", "rate"]);
        assert_eq!(
            affected(&catalogue, Some(&["other".to_string()])),
            ["other"]
        );
        assert_eq!(affected(&catalogue, None).len(), 4);
    }
}
