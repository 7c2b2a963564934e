//! The gap analysis and the registry's totals: problems and open alerts set against
//! the resources that cover them, and each category's resources by area. Computed by
//! `abe_analytics::gaps`; answered here, records and all, so that a dashboard
//! recomputes nothing.
//!
//! Audience: public, like the registry; the resources and problems a report names are
//! the registry's own objects, with their admin-only fields.

use crate::areas::Area;
use crate::error::failure;
use crate::loaders::{load_node, Loaders};
use crate::registry::{
    area_argument, Problem, ProblemSeverity, Resource, ResourceCategory, ResourceUnit, Topic,
};
use crate::store;
use abe_store::ResourceRecord;
use async_graphql::{Context, Enum, Object, Result, SimpleObject};
use chrono::{NaiveDate, Utc};

/// What a gap item is.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "abe_analytics::gaps::ItemKind")]
pub enum GapItemKind {
    /// A problem recorded at a workshop or through the API.
    Problem,
    /// An open or acknowledged alert, counted as a problem of its indicator's topic.
    Alert,
}

/// How near a resource of the same topic is to an uncovered item.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "abe_analytics::gaps::Distance")]
pub enum Distance {
    /// Named for another area of the same district.
    SameDistrict,
    /// Named for another area of the same province.
    SameProvince,
}

/// The gap analysis of an area: what its problems and alerts are, which resources cover
/// them, and where nothing does.
pub struct GapReport(std::sync::Arc<abe_analytics::GapAnswer>);

impl GapReport {
    fn item(&self, index: usize) -> GapItem {
        GapItem {
            answer: self.0.clone(),
            index,
        }
    }

    fn coverage(
        &self,
        list: fn(&abe_analytics::GapReport) -> &Vec<abe_analytics::gaps::Coverage>,
        by_area: bool,
    ) -> Vec<GapCoverage> {
        (0..list(&self.0.report).len())
            .map(|index| GapCoverage {
                answer: self.0.clone(),
                list,
                index,
                by_area,
            })
            .collect()
    }
}

#[Object]
impl GapReport {
    /// The area asked about.
    async fn area_code(&self) -> &str {
        &self.0.report.area_code
    }
    /// False when the area holds more problems, alerts or resources than one report
    /// reads (10,000 each, 1,000 alerts): ask about a smaller area.
    async fn complete(&self) -> bool {
        self.0.complete
    }
    /// Every problem and alert in the area and under it: uncovered first, then by
    /// severity, children concerned and area.
    async fn items(&self) -> Vec<GapItem> {
        (0..self.0.report.items.len())
            .map(|i| self.item(i))
            .collect()
    }
    /// The problems and alerts no resource covers, in the same order.
    async fn uncovered(&self) -> Vec<GapItem> {
        (0..self.0.report.items.len())
            .filter(|&i| !self.0.report.items[i].covered())
            .map(|i| self.item(i))
            .collect()
    }
    /// Coverage per topic, worst first (lowest share covered, then most children
    /// uncovered).
    async fn by_topic(&self) -> Vec<GapCoverage> {
        self.coverage(|r| &r.by_topic, false)
    }
    /// Coverage per area one level down (items at the area's own level under the area
    /// itself), worst first.
    async fn by_area(&self) -> Vec<GapCoverage> {
        self.coverage(|r| &r.by_area, true)
    }
    /// Areas with critical alerts, most alerts and fewest resources first.
    async fn hotspots(&self) -> Vec<GapCoverage> {
        self.coverage(|r| &r.hotspots, true)
    }
}

/// A problem or an alert of a gap report, with the resources that cover it.
pub struct GapItem {
    answer: std::sync::Arc<abe_analytics::GapAnswer>,
    index: usize,
}

impl GapItem {
    fn get(&self) -> &abe_analytics::GapItem {
        &self.answer.report.items[self.index]
    }

    fn resources<'a>(&self, codes: impl Iterator<Item = &'a String>) -> Vec<Resource> {
        codes
            .filter_map(|c| self.answer.resources.get(c).cloned().map(Resource))
            .collect()
    }
}

/// A resource near an uncovered item.
pub struct NearbyResource {
    resource: ResourceRecord,
    distance: Distance,
}

#[Object]
impl NearbyResource {
    /// How near.
    async fn distance(&self) -> Distance {
        self.distance
    }
    /// The resource.
    async fn resource(&self) -> Resource {
        Resource(self.resource.clone())
    }
}

#[Object]
impl GapItem {
    /// Problem or alert.
    async fn kind(&self) -> GapItemKind {
        self.get().kind.into()
    }
    /// The problem's code or the alert's id.
    async fn key(&self) -> &str {
        &self.get().key
    }
    /// The problem (for a problem item).
    async fn problem(&self) -> Option<Problem> {
        match self.get().kind {
            abe_analytics::gaps::ItemKind::Problem => self
                .answer
                .problems
                .get(&self.get().key)
                .cloned()
                .map(Problem),
            abe_analytics::gaps::ItemKind::Alert => None,
        }
    }
    /// The alert (for an alert item).
    async fn alert(&self) -> Option<crate::alerts::Alert> {
        match self.get().kind {
            abe_analytics::gaps::ItemKind::Alert => self
                .answer
                .alerts
                .get(&self.get().key)
                .cloned()
                .map(crate::alerts::Alert),
            abe_analytics::gaps::ItemKind::Problem => None,
        }
    }
    /// Code of its area.
    async fn area_code(&self) -> &str {
        &self.get().area_code
    }
    /// Its area.
    async fn area(&self, ctx: &Context<'_>) -> Result<Option<Area>> {
        load_node(&ctx.data::<Loaders>()?.areas, self.get().area_code.clone()).await
    }
    /// Its topic's code (an alert of an indicator without a topic has none).
    async fn topic_code(&self) -> Option<&str> {
        self.get().topic.as_deref()
    }
    /// Its topic.
    async fn topic(&self, ctx: &Context<'_>) -> Result<Option<Topic>> {
        match &self.get().topic {
            Some(t) => load_node(&ctx.data::<Loaders>()?.topics, t.clone()).await,
            None => Ok(None),
        }
    }
    /// How serious (a critical alert is high, a warning medium).
    async fn severity(&self) -> ProblemSeverity {
        self.get().severity.into()
    }
    /// Children concerned, when a problem says.
    async fn children(&self) -> Option<i64> {
        self.get().children.map(|c| c as i64)
    }
    /// Whether a resource covers it.
    async fn covered(&self) -> bool {
        self.get().covered()
    }
    /// The resources of its topic named for its area or an area above.
    async fn covering(&self) -> Vec<Resource> {
        self.resources(self.get().covering.iter())
    }
    /// Uncovered: resources of its topic nearby (same district, then same province).
    async fn nearby(&self) -> Vec<NearbyResource> {
        self.get()
            .nearby
            .iter()
            .filter_map(|n| {
                self.answer
                    .resources
                    .get(&n.resource)
                    .map(|r| NearbyResource {
                        resource: r.clone(),
                        distance: n.distance.into(),
                    })
            })
            .collect()
    }
    /// Uncovered: resources of other topics available in its area.
    async fn other_topics_here(&self) -> Vec<Resource> {
        self.resources(self.get().other_topics_here.iter())
    }
}

/// An amount in one unit.
#[derive(SimpleObject)]
pub struct UnitAmount {
    /// The unit.
    pub unit: ResourceUnit,
    /// The sum.
    pub amount: f64,
}

impl From<&abe_analytics::gaps::Amount> for UnitAmount {
    fn from(a: &abe_analytics::gaps::Amount) -> Self {
        UnitAmount {
            unit: a.unit.into(),
            amount: a.amount,
        }
    }
}

/// Coverage of one topic or one area in a gap report.
pub struct GapCoverage {
    answer: std::sync::Arc<abe_analytics::GapAnswer>,
    list: fn(&abe_analytics::GapReport) -> &Vec<abe_analytics::gaps::Coverage>,
    index: usize,
    by_area: bool,
}

impl GapCoverage {
    fn get(&self) -> &abe_analytics::gaps::Coverage {
        &(self.list)(&self.answer.report)[self.index]
    }
}

#[Object]
impl GapCoverage {
    /// The topic's code (coverage by topic).
    async fn topic_code(&self) -> Option<&str> {
        (!self.by_area).then_some(self.get().key.as_str())
    }
    /// The topic (coverage by topic).
    async fn topic(&self, ctx: &Context<'_>) -> Result<Option<Topic>> {
        if self.by_area {
            return Ok(None);
        }
        load_node(&ctx.data::<Loaders>()?.topics, self.get().key.clone()).await
    }
    /// The area's code (coverage by area).
    async fn area_code(&self) -> Option<&str> {
        self.by_area.then_some(self.get().key.as_str())
    }
    /// The area (coverage by area).
    async fn area(&self, ctx: &Context<'_>) -> Result<Option<Area>> {
        if !self.by_area {
            return Ok(None);
        }
        load_node(&ctx.data::<Loaders>()?.areas, self.get().key.clone()).await
    }
    /// Problems and alerts.
    async fn items(&self) -> i64 {
        self.get().items as i64
    }
    /// Of them, covered by a resource.
    async fn covered(&self) -> i64 {
        self.get().covered as i64
    }
    /// Of them, uncovered.
    async fn uncovered(&self) -> i64 {
        (self.get().items - self.get().covered) as i64
    }
    /// Share covered, 0 to 1 (1 with no items).
    async fn share_covered(&self) -> f64 {
        self.get().share()
    }
    /// Items of high severity.
    async fn high(&self) -> i64 {
        self.get().high as i64
    }
    /// Open critical alerts.
    async fn critical_alerts(&self) -> i64 {
        self.get().critical_alerts as i64
    }
    /// Children concerned, over the problems that say.
    async fn children(&self) -> i64 {
        self.get().children as i64
    }
    /// Children concerned by uncovered problems.
    async fn children_uncovered(&self) -> i64 {
        self.get().children_uncovered as i64
    }
    /// Resources: of the topic in the area (by topic), or named for the area or under
    /// it (by area).
    async fn resources(&self) -> i64 {
        self.get().resources as i64
    }
    /// By area: resources available there, those named for an area above included.
    async fn resources_available(&self) -> Option<i64> {
        self.by_area
            .then_some(self.get().resources_available as i64)
    }
    /// Amounts of those resources by unit.
    async fn amounts(&self) -> Vec<UnitAmount> {
        self.get().amounts.iter().map(UnitAmount::from).collect()
    }
}

/// The gap analysis.
#[derive(Default)]
pub struct GapQuery;

#[Object]
impl GapQuery {
    /// The gap analysis of `area` and the areas under it: each problem and open alert
    /// with the resources that cover its area and topic, the uncovered ones with the
    /// nearest resources of their topic, coverage by topic and by area worst first, and
    /// the areas with the most critical alerts and the fewest resources. Resources in
    /// force on `on` (today when omitted); `topics` narrows to those topics, `period`
    /// to the alerts of that period (`2023`, `AY2023`; every open alert when omitted).
    async fn gaps(
        &self,
        ctx: &Context<'_>,
        area: String,
        topics: Option<Vec<String>>,
        period: Option<String>,
        on: Option<NaiveDate>,
    ) -> Result<GapReport> {
        let area = area_argument("area", &area)?;
        let answer = ctx
            .data::<crate::Operations>()?
            .analytics
            .gaps(
                &area,
                &topics.unwrap_or_default(),
                period.as_deref(),
                on.unwrap_or_else(|| Utc::now().date_naive()),
            )
            .await
            .map_err(failure)?;
        Ok(GapReport(std::sync::Arc::new(answer)))
    }
}

/// The resources of one category in one area.
#[derive(SimpleObject)]
pub struct CategoryTotal {
    /// The area's code.
    pub area_code: String,
    /// The category.
    pub category: ResourceCategory,
    /// Resources in or for the area: named for it, for an area above it or for an area
    /// under it.
    pub resources: i64,
    /// Their amounts by unit.
    pub amounts: Vec<UnitAmount>,
}

/// Totals of the registry.
#[derive(Default)]
pub struct ResourceTotalsQuery;

#[Object]
impl ResourceTotalsQuery {
    /// Each category's resources and amounts by unit in `area`, or in each area of
    /// `level` under it (the districts of a province, say), in force on `on` (today
    /// when omitted), for `topics` (all when omitted). Every category is listed, in
    /// EEF's order, so a category with nothing shows as zero.
    async fn resource_totals(
        &self,
        ctx: &Context<'_>,
        area: String,
        level: Option<crate::areas::AreaLevel>,
        topics: Option<Vec<String>>,
        on: Option<NaiveDate>,
    ) -> Result<Vec<CategoryTotal>> {
        let (area, area_level) = abe_schema::thai::normalise_area_code(&area).map_err(|e| {
            crate::error::CodeExt::error(abe_schema::Code::BadInput, format!("area: {e}"))
        })?;
        let areas = match level.map(abe_schema::AreaLevel::from) {
            None => vec![area],
            Some(level) if level == area_level => vec![area],
            Some(level) => {
                let filter = abe_store::AreaFilter {
                    level: Some(level.as_str().to_string()),
                    ..Default::default()
                };
                let mut codes = Vec::new();
                let mut after = None;
                loop {
                    let page = store(ctx)?
                        .areas(&filter, after.clone(), abe_store::MAX_PAGE)
                        .await
                        .map_err(failure)?;
                    after = page.items.last().map(|a| a.code.clone());
                    codes.extend(
                        page.items
                            .into_iter()
                            .map(|a| a.code)
                            .filter(|c| c.starts_with(&area) && c.len() > area.len()),
                    );
                    if !page.has_next_page {
                        break;
                    }
                }
                codes
            }
        };
        let totals = ctx
            .data::<crate::Operations>()?
            .analytics
            .resource_totals(
                &areas,
                &topics.unwrap_or_default(),
                on.unwrap_or_else(|| Utc::now().date_naive()),
            )
            .await
            .map_err(failure)?;
        Ok(totals
            .into_iter()
            .map(|t| CategoryTotal {
                area_code: t.area_code,
                category: t.category.into(),
                resources: t.resources as i64,
                amounts: t.amounts.iter().map(UnitAmount::from).collect(),
            })
            .collect())
    }
}
