//! Gap analysis: the problems a working group recorded and the open alerts, set against
//! the resources that cover them, by area and topic, so that the group can plan.
//!
//! A resource covers a problem when it serves the problem's topic and is named for the
//! problem's area or an area above it (a province-wide scholarship covers every
//! subdistrict). An uncovered problem names the nearest resources of its topic (in the
//! same district, then the same province) and the resources of other topics in its
//! area, which the group might stretch. Everything here is computed from records the
//! caller read; nothing is asked of the store.

use abe_schema::registry::{list_contains, list_covers, list_reaches_into};
use abe_schema::{ProblemSeverity, ResourceCategory, ResourceUnit};
use abe_store::{AlertRecord, ProblemRecord, ResourceRecord};
use std::collections::{BTreeMap, HashMap};

/// At most this many nearby resources are named per problem and distance.
pub const NEARBY_PER_PROBLEM: usize = 5;

/// What a gap item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum ItemKind {
    /// A problem recorded at a workshop or through the API.
    Problem,
    /// An open or acknowledged alert, counted as a problem of its indicator's topic.
    Alert,
}

/// A problem or alert with the resources that cover it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GapItem {
    /// Problem or alert.
    pub kind: ItemKind,
    /// The problem's code, or the alert's id.
    pub key: String,
    /// Its area.
    pub area_code: String,
    /// Its topic (alerts of indicators without one are left out of a report).
    pub topic: Option<String>,
    /// How serious (an alert's critical counts as high, warning as medium).
    pub severity: ProblemSeverity,
    /// Children concerned, when a problem says.
    pub children: Option<f64>,
    /// Codes of the resources that cover it.
    pub covering: Vec<String>,
    /// For an uncovered item: resources of its topic nearby, nearest first.
    pub nearby: Vec<Nearby>,
    /// For an uncovered item: resources of other topics that cover its area.
    pub other_topics_here: Vec<String>,
}

impl GapItem {
    /// Whether some resource covers it.
    pub fn covered(&self) -> bool {
        !self.covering.is_empty()
    }
}

/// How near a resource of the same topic is to an uncovered item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub enum Distance {
    /// Named for another area of the same district.
    SameDistrict,
    /// Named for another area of the same province.
    SameProvince,
}

/// A resource near an uncovered item.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Nearby {
    /// The resource's code.
    pub resource: String,
    /// How near.
    pub distance: Distance,
}

/// An amount of resources in one unit.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Amount {
    /// The unit.
    pub unit: ResourceUnit,
    /// The sum.
    pub amount: f64,
}

/// Coverage of one topic or one area.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Coverage {
    /// The topic code or the area code.
    pub key: String,
    /// Problems and alerts.
    pub items: usize,
    /// Of them, covered.
    pub covered: usize,
    /// Of them, with high severity (critical alerts among them).
    pub high: usize,
    /// Open critical alerts.
    pub critical_alerts: usize,
    /// Children concerned, summed over the problems that say.
    pub children: f64,
    /// Children concerned by uncovered problems.
    pub children_uncovered: f64,
    /// Resources counted: of the topic (by topic), or named for the area or an area
    /// under it (by area).
    pub resources: usize,
    /// By area: resources available there, those named for an area above included.
    pub resources_available: usize,
    /// Their amounts by unit.
    pub amounts: Vec<Amount>,
}

impl Coverage {
    fn new(key: String) -> Coverage {
        Coverage {
            key,
            items: 0,
            covered: 0,
            high: 0,
            critical_alerts: 0,
            children: 0.0,
            children_uncovered: 0.0,
            resources: 0,
            resources_available: 0,
            amounts: Vec::new(),
        }
    }

    /// Share of items covered; 1 with none.
    pub fn share(&self) -> f64 {
        if self.items == 0 {
            1.0
        } else {
            self.covered as f64 / self.items as f64
        }
    }

    fn add(&mut self, item: &GapItem, critical: bool) {
        self.items += 1;
        if item.covered() {
            self.covered += 1;
        }
        if item.severity == ProblemSeverity::High {
            self.high += 1;
        }
        if critical {
            self.critical_alerts += 1;
        }
        let children = item.children.unwrap_or(0.0);
        self.children += children;
        if !item.covered() {
            self.children_uncovered += children;
        }
    }

    fn add_amounts<'a>(&mut self, resources: impl Iterator<Item = &'a ResourceRecord>) {
        // By the unit's word, so that amounts list in the same order everywhere.
        let mut by_unit: BTreeMap<&str, Amount> = BTreeMap::new();
        for r in resources {
            if let (Some(amount), Some(unit)) = (r.row.amount, r.row.unit) {
                by_unit
                    .entry(unit.as_str())
                    .or_insert(Amount { unit, amount: 0.0 })
                    .amount += amount;
            }
        }
        self.amounts = by_unit.into_values().collect();
    }
}

/// The gap report for one area.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GapReport {
    /// The area asked about.
    pub area_code: String,
    /// Every problem and alert in it and under it: uncovered first, then by severity,
    /// children concerned and area.
    pub items: Vec<GapItem>,
    /// Coverage per topic, worst first (lowest share covered, then most children
    /// uncovered).
    pub by_topic: Vec<Coverage>,
    /// Coverage per area one level below the one asked about, worst first; items named
    /// at the asked area's own level are under the area itself, with the resources
    /// named for it or above.
    pub by_area: Vec<Coverage>,
    /// Areas with critical alerts, most alerts and fewest resources first: where the
    /// province's resources sit against where its alerts are.
    pub hotspots: Vec<Coverage>,
}

/// What the report is computed from.
pub struct GapInput<'a> {
    /// The area asked about.
    pub area: &'a str,
    /// Only these topics; empty for all.
    pub topics: &'a [String],
    /// Problems in the area and under it, not closed.
    pub problems: &'a [ProblemRecord],
    /// Open and acknowledged alerts in the area and under it.
    pub alerts: &'a [AlertRecord],
    /// Each indicator's topic.
    pub indicator_topics: &'a HashMap<String, String>,
    /// Resources in force anywhere in the area's province, not retired.
    pub resources: &'a [ResourceRecord],
}

/// Higher is more serious.
fn rank(severity: ProblemSeverity) -> u8 {
    match severity {
        ProblemSeverity::Low => 0,
        ProblemSeverity::Medium => 1,
        ProblemSeverity::High => 2,
    }
}

fn covers(resource: &ResourceRecord, area: &str) -> bool {
    list_covers(&resource.row.areas, area)
}

fn serves(resource: &ResourceRecord, topic: &str) -> bool {
    list_contains(&resource.row.topics, topic)
}

fn named_within(resource: &ResourceRecord, prefix: &str) -> bool {
    list_reaches_into(&resource.row.areas, prefix)
}

/// The area one level below `parent` that holds `area` (`area` itself when it is at
/// `parent`'s level or above).
fn child_of(parent: &str, area: &str) -> String {
    let len = parent.len() + 2;
    if area.len() >= len && area.starts_with(parent) {
        area[..len].to_string()
    } else {
        area.to_string()
    }
}

/// The resources of one category in one area, and their amounts.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CategoryTotal {
    /// The area.
    pub area_code: String,
    /// The category.
    pub category: ResourceCategory,
    /// Resources in or for the area: named for it, for an area above it (a
    /// province-wide resource counts in each district) or for an area under it.
    pub resources: usize,
    /// Their amounts by unit.
    pub amounts: Vec<Amount>,
}

/// For each of `areas`, each category's resources and amounts (every category, in
/// EEF's order, so a missing one shows as zero).
pub fn resource_totals(areas: &[String], resources: &[ResourceRecord]) -> Vec<CategoryTotal> {
    let mut totals = Vec::new();
    for area in areas {
        for &category in ResourceCategory::ALL {
            let here: Vec<&ResourceRecord> = resources
                .iter()
                .filter(|r| r.row.category == category)
                .filter(|r| covers(r, area) || named_within(r, area))
                .collect();
            let mut coverage = Coverage::new(String::new());
            coverage.add_amounts(here.iter().copied());
            totals.push(CategoryTotal {
                area_code: area.clone(),
                category,
                resources: here.len(),
                amounts: coverage.amounts,
            });
        }
    }
    totals
}

/// Computes the gap report.
pub fn gaps(input: &GapInput<'_>) -> GapReport {
    let wanted = |topic: Option<&str>| {
        input.topics.is_empty() || topic.is_some_and(|t| input.topics.iter().any(|w| w == t))
    };
    let mut items: Vec<(GapItem, bool)> = Vec::new();
    for p in input.problems.iter().map(|p| &p.row) {
        if !wanted(Some(&p.topic)) {
            continue;
        }
        items.push((
            item(
                input,
                ItemKind::Problem,
                p.code.clone(),
                &p.area_code,
                Some(&p.topic),
                p.severity,
                p.children,
            ),
            false,
        ));
    }
    for a in input.alerts {
        // An indicator without a topic cannot be matched to a resource: its alerts are
        // left out rather than counted as gaps nobody could close.
        let Some(topic) = input.indicator_topics.get(&a.indicator).map(String::as_str) else {
            continue;
        };
        if !wanted(Some(topic)) {
            continue;
        }
        let critical = a.severity == abe_schema::AlertSeverity::Critical;
        let severity = if critical {
            ProblemSeverity::High
        } else {
            ProblemSeverity::Medium
        };
        items.push((
            item(
                input,
                ItemKind::Alert,
                a.id.to_string(),
                &a.area_code,
                Some(topic),
                severity,
                None,
            ),
            critical,
        ));
    }
    items.sort_by(|(a, _), (b, _)| {
        a.covered()
            .cmp(&b.covered())
            .then(rank(b.severity).cmp(&rank(a.severity)))
            .then(
                b.children
                    .unwrap_or(0.0)
                    .total_cmp(&a.children.unwrap_or(0.0)),
            )
            .then(a.area_code.cmp(&b.area_code))
            .then(a.key.cmp(&b.key))
    });

    let mut by_topic: BTreeMap<String, Coverage> = BTreeMap::new();
    let mut by_area: BTreeMap<String, Coverage> = BTreeMap::new();
    for (item, critical) in &items {
        if let Some(topic) = &item.topic {
            by_topic
                .entry(topic.clone())
                .or_insert_with(|| Coverage::new(topic.clone()))
                .add(item, *critical);
        }
        let area = child_of(input.area, &item.area_code);
        by_area
            .entry(area.clone())
            .or_insert_with(|| Coverage::new(area))
            .add(item, *critical);
    }
    for (topic, coverage) in by_topic.iter_mut() {
        let of_topic: Vec<&ResourceRecord> = input
            .resources
            .iter()
            .filter(|r| serves(r, topic) && (covers(r, input.area) || named_within(r, input.area)))
            .collect();
        coverage.resources = of_topic.len();
        coverage.add_amounts(of_topic.into_iter());
    }
    for (area, coverage) in by_area.iter_mut() {
        let wanted_resource = |r: &&ResourceRecord| {
            input.topics.is_empty() || input.topics.iter().any(|t| serves(r, t))
        };
        // The row of the area asked about holds the items named at its own level: the
        // resources for it are those named for it or above, not all those under it.
        let asked = area.as_str() == input.area;
        let here: Vec<&ResourceRecord> = input
            .resources
            .iter()
            .filter(wanted_resource)
            .filter(|r| {
                if asked {
                    covers(r, area)
                } else {
                    named_within(r, area)
                }
            })
            .collect();
        coverage.resources = here.len();
        coverage.resources_available = input
            .resources
            .iter()
            .filter(wanted_resource)
            .filter(|r| named_within(r, area) || covers(r, area))
            .count();
        coverage.add_amounts(here.into_iter());
    }
    let worst = |a: &Coverage, b: &Coverage| {
        a.share()
            .total_cmp(&b.share())
            .then(b.children_uncovered.total_cmp(&a.children_uncovered))
            .then(b.high.cmp(&a.high))
            .then(a.key.cmp(&b.key))
    };
    let mut by_topic: Vec<Coverage> = by_topic.into_values().collect();
    by_topic.sort_by(worst);
    let mut by_area: Vec<Coverage> = by_area.into_values().collect();
    by_area.sort_by(worst);
    let mut hotspots: Vec<Coverage> = by_area
        .iter()
        .filter(|c| c.critical_alerts > 0)
        .cloned()
        .collect();
    hotspots.sort_by(|a, b| {
        b.critical_alerts
            .cmp(&a.critical_alerts)
            .then(a.resources_available.cmp(&b.resources_available))
            .then(a.key.cmp(&b.key))
    });
    GapReport {
        area_code: input.area.to_string(),
        items: items.into_iter().map(|(item, _)| item).collect(),
        by_topic,
        by_area,
        hotspots,
    }
}

fn item(
    input: &GapInput<'_>,
    kind: ItemKind,
    key: String,
    area: &str,
    topic: Option<&str>,
    severity: ProblemSeverity,
    children: Option<f64>,
) -> GapItem {
    let covering: Vec<String> = match topic {
        Some(topic) => input
            .resources
            .iter()
            .filter(|r| serves(r, topic) && covers(r, area))
            .map(|r| r.row.code.clone())
            .collect(),
        None => Vec::new(),
    };
    let mut nearby = Vec::new();
    let mut other_topics_here = Vec::new();
    if covering.is_empty() {
        if let Some(topic) = topic {
            for (distance, prefix_len) in [(Distance::SameDistrict, 4), (Distance::SameProvince, 2)]
            {
                if area.len() < prefix_len {
                    continue;
                }
                let prefix = &area[..prefix_len];
                let found = input
                    .resources
                    .iter()
                    .filter(|r| serves(r, topic) && named_within(r, prefix))
                    .filter(|r| !nearby.iter().any(|n: &Nearby| n.resource == r.row.code))
                    .take(NEARBY_PER_PROBLEM)
                    .map(|r| Nearby {
                        resource: r.row.code.clone(),
                        distance,
                    })
                    .collect::<Vec<_>>();
                nearby.extend(found);
            }
        }
        other_topics_here = input
            .resources
            .iter()
            .filter(|r| covers(r, area) && topic.is_none_or(|t| !serves(r, t)))
            .map(|r| r.row.code.clone())
            .collect();
    }
    GapItem {
        kind,
        key,
        area_code: area.to_string(),
        topic: topic.map(str::to_string),
        severity,
        children,
        covering,
        nearby,
        other_topics_here,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(
        code: &str,
        areas: &str,
        topics: &str,
        amount: Option<(f64, &str)>,
    ) -> ResourceRecord {
        ResourceRecord {
            row: abe_schema::ResourceRow {
                code: code.into(),
                title_th: code.into(),
                title_en: None,
                description_th: None,
                description_en: None,
                category: ResourceCategory::Operations,
                subcategory: None,
                agency: None,
                contact: None,
                areas: areas.into(),
                topics: topics.into(),
                amount: amount.map(|a| a.0),
                unit: amount.map(|a| a.1.parse().expect("unit")),
                valid_from: None,
                valid_to: None,
                origin: abe_schema::RecordOrigin::Workshop,
            },
            connector: None,
            run_id: None,
            updated_by: None,
            updated_at: None,
            retired_on: None,
            retired_by: None,
        }
    }

    fn problem(
        code: &str,
        area: &str,
        topic: &str,
        severity: &str,
        children: Option<f64>,
    ) -> ProblemRecord {
        ProblemRecord {
            row: abe_schema::ProblemRow {
                code: code.into(),
                area_code: area.into(),
                topic: topic.into(),
                statement_th: code.into(),
                statement_en: None,
                group_name: None,
                workshop: None,
                raised_on: None,
                severity: severity.parse().expect("severity"),
                status: abe_schema::ProblemStatus::Open,
                children,
                origin: abe_schema::RecordOrigin::Workshop,
            },
            connector: None,
            run_id: None,
            updated_by: None,
            updated_at: None,
            retired_on: None,
        }
    }

    fn alert(
        id: i64,
        indicator: &str,
        area: &str,
        severity: abe_schema::AlertSeverity,
    ) -> AlertRecord {
        let now = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        AlertRecord {
            id,
            indicator: indicator.into(),
            area_code: area.into(),
            rule: "r".into(),
            kind: abe_schema::RuleKind::Threshold,
            period: "2023".into(),
            severity,
            value: Some(5.0),
            threshold: Some(4.5),
            expected: String::new(),
            sources_json: "[]".into(),
            status: abe_schema::AlertStatus::Open,
            resolved_period: None,
            history_json: "[]".into(),
            raised_at: now,
            updated_at: now,
        }
    }

    /// The example worked by hand in the comments: three problems and an alert in
    /// province 90, five resources.
    #[test]
    fn the_hand_worked_example() {
        let problems = [
            problem("P1", "900101", "dropout", "high", Some(40.0)),
            problem("P2", "9002", "poverty", "medium", Some(100.0)),
            problem("P3", "9001", "digital_access", "low", None),
        ];
        let alerts = [alert(
            7,
            "out_of_school_rate",
            "9003",
            abe_schema::AlertSeverity::Critical,
        )];
        let indicator_topics: HashMap<String, String> = [(
            "out_of_school_rate".to_string(),
            "out_of_school".to_string(),
        )]
        .into();
        let resources = [
            // Province-wide: covers P2 (9002 is under 90).
            resource("R1", ";90;", ";poverty;", Some((500_000.0, "baht"))),
            // Covers P1 (900101 is under 9001).
            resource("R2", ";9001;", ";dropout;", None),
            // Same topic as the alert in 9003, but in 9004: same province.
            resource("R3", ";9004;", ";out_of_school;", Some((10.0, "people"))),
            // Same topic, a subdistrict of 9003: same district, yet does not cover it.
            resource("R4", ";900305;", ";out_of_school;", None),
            // Another topic in 9001.
            resource("R5", ";9001;", ";learning_outcomes;", None),
        ];
        let report = gaps(&GapInput {
            area: "90",
            topics: &[],
            problems: &problems,
            alerts: &alerts,
            indicator_topics: &indicator_topics,
            resources: &resources,
        });

        // Uncovered first (the critical alert, then the low problem), then covered.
        let keys: Vec<&str> = report.items.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["7", "P3", "P1", "P2"]);
        let by_key = |k: &str| report.items.iter().find(|i| i.key == k).unwrap();
        assert_eq!(by_key("P1").covering, ["R2"]);
        assert_eq!(by_key("P2").covering, ["R1"]);
        let alert = by_key("7");
        assert_eq!(alert.kind, ItemKind::Alert);
        assert_eq!(alert.severity, ProblemSeverity::High);
        assert!(alert.covering.is_empty());
        assert_eq!(
            alert.nearby,
            [
                Nearby {
                    resource: "R4".into(),
                    distance: Distance::SameDistrict
                },
                Nearby {
                    resource: "R3".into(),
                    distance: Distance::SameProvince
                },
            ]
        );
        // 9003 is covered by R1 only, of another topic.
        assert_eq!(alert.other_topics_here, ["R1"]);
        let p3 = by_key("P3");
        assert!(p3.nearby.is_empty());
        assert_eq!(p3.other_topics_here, ["R1", "R2", "R5"]);

        // By topic, worst first: the two uncovered (the one with a high item first),
        // then the covered ones (the one with a high item first).
        let topics: Vec<(&str, usize, usize, usize)> = report
            .by_topic
            .iter()
            .map(|c| (c.key.as_str(), c.items, c.covered, c.resources))
            .collect();
        assert_eq!(
            topics,
            [
                ("out_of_school", 1, 0, 2),
                ("digital_access", 1, 0, 0),
                ("dropout", 1, 1, 1),
                ("poverty", 1, 1, 1),
            ]
        );
        let out_of_school = &report.by_topic[0];
        assert_eq!(out_of_school.critical_alerts, 1);
        assert_eq!(
            out_of_school.amounts,
            [Amount {
                unit: ResourceUnit::People,
                amount: 10.0
            }]
        );
        assert_eq!(
            report.by_topic[3].amounts,
            [Amount {
                unit: ResourceUnit::Baht,
                amount: 500_000.0
            }]
        );

        // By district, worst first: 9003 (nothing covered), 9001 (one of two), 9002.
        let areas: Vec<(&str, usize, usize, usize, usize)> = report
            .by_area
            .iter()
            .map(|c| {
                (
                    c.key.as_str(),
                    c.items,
                    c.covered,
                    c.resources,
                    c.resources_available,
                )
            })
            .collect();
        assert_eq!(
            areas,
            [
                ("9003", 1, 0, 1, 2),
                ("9001", 2, 1, 2, 3),
                ("9002", 1, 1, 0, 1)
            ]
        );
        assert_eq!(report.by_area[1].children, 40.0);
        assert_eq!(report.by_area[1].children_uncovered, 0.0);
        let hotspots: Vec<&str> = report.hotspots.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(hotspots, ["9003"]);
    }

    #[test]
    fn totals_count_resources_for_above_and_under_an_area() {
        let resources = [
            resource("R1", ";90;", ";poverty;", Some((500_000.0, "baht"))),
            resource("R2", ";900101;", ";poverty;", Some((20_000.0, "baht"))),
            resource("R3", ";9002;", ";poverty;", Some((7.0, "people"))),
        ];
        let totals = resource_totals(&["9001".into(), "9002".into()], &resources);
        // Four categories per area; the test resources are all "operations".
        assert_eq!(totals.len(), 8);
        let ops: Vec<(&str, usize, &[Amount])> = totals
            .iter()
            .filter(|t| t.category == ResourceCategory::Operations)
            .map(|t| (t.area_code.as_str(), t.resources, t.amounts.as_slice()))
            .collect();
        assert_eq!(
            ops,
            [
                (
                    "9001",
                    2,
                    &[Amount {
                        unit: ResourceUnit::Baht,
                        amount: 520_000.0
                    }][..]
                ),
                (
                    "9002",
                    2,
                    &[
                        Amount {
                            unit: ResourceUnit::Baht,
                            amount: 500_000.0
                        },
                        Amount {
                            unit: ResourceUnit::People,
                            amount: 7.0
                        }
                    ][..]
                ),
            ]
        );
        assert!(totals
            .iter()
            .filter(|t| t.category != ResourceCategory::Operations)
            .all(|t| t.resources == 0 && t.amounts.is_empty()));
    }

    #[test]
    fn topics_narrow_the_report() {
        let problems = [
            problem("P1", "900101", "dropout", "high", Some(40.0)),
            problem("P2", "9002", "poverty", "medium", Some(100.0)),
        ];
        let report = gaps(&GapInput {
            area: "9002",
            topics: &["poverty".to_string()],
            problems: &problems[1..],
            alerts: &[],
            indicator_topics: &HashMap::new(),
            resources: &[resource("R1", ";90;", ";poverty;", None)],
        });
        assert_eq!(report.items.len(), 1);
        assert_eq!(report.items[0].covering, ["R1"]);
        // Asked about a district: its items at its own level group under it.
        assert_eq!(report.by_area[0].key, "9002");
        assert_eq!(report.by_area[0].resources_available, 1);
    }
}
