//! Central indicators as computed by analytics: values up the area hierarchy with their
//! ranks, comparisons, bands and sources; time series; inequality between areas; the
//! conflicting figures behind a value; and the catalogue's changes. Every figure a
//! dashboard shows comes computed: no client sums, ranks or colours.
//!
//! Audience: all of it is public (observations are, until sharing rules exist); the
//! mutations need the admin token.

use crate::areas::{Area, AreaLevel};
use crate::error::{failure, CodeExt};
use crate::loaders::{load_node, Loaders};
use crate::observations::{BreakdownPair, Indicator};
use crate::store;
use abe_schema::{Breakdown, Code};
use abe_store::{IndicatorValue as Stored, ValueFilter, MAX_VALUES};
use async_graphql::{ComplexObject, Context, Enum, Json, Object, Result, SimpleObject};
use chrono::{DateTime, Utc};

/// The colour band of a value by its indicator's thresholds.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "abe_schema::Band")]
pub enum Band {
    /// Within range.
    Normal,
    /// At or past the warning threshold.
    Warning,
    /// At or past the critical threshold.
    Critical,
    /// No threshold at this level.
    None,
}

/// How many child areas or schools reported a summed value.
#[derive(SimpleObject)]
pub struct Coverage {
    /// Children (areas, or schools for an area summed from its schools) with a value.
    pub reported: i64,
    /// Children there are.
    pub expected: i64,
    /// reported / expected (1 when there are none).
    pub share: f64,
}

/// A source behind a computed value.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct ValueSource {
    /// Connector that loaded the rows.
    pub connector: String,
    /// Run that last changed them.
    pub run_id: i64,
}

impl From<abe_store::ValueSource> for ValueSource {
    fn from(s: abe_store::ValueSource) -> Self {
        ValueSource {
            connector: s.connector,
            run_id: s.run,
        }
    }
}

#[ComplexObject]
impl ValueSource {
    /// The agency that owns the connector.
    async fn agency(&self, ctx: &Context<'_>) -> Result<Option<crate::areas::Agency>> {
        let connector = ctx
            .data::<Loaders>()?
            .connectors
            .load_one(self.connector.clone())
            .await?;
        match connector.and_then(|c| c.spec.agency) {
            Some(code) => load_node(&ctx.data::<Loaders>()?.agencies, code).await,
            None => Ok(None),
        }
    }

    /// When the run committed the rows.
    async fn loaded_at(&self, ctx: &Context<'_>) -> Result<Option<DateTime<Utc>>> {
        let run = ctx.data::<Loaders>()?.runs.load_one(self.run_id).await?;
        Ok(run.and_then(|r| r.finished_at))
    }
}

/// A computed value of an indicator for an area, period and breakdown.
pub struct IndicatorValue(Stored);

impl From<Stored> for IndicatorValue {
    fn from(v: Stored) -> Self {
        IndicatorValue(v)
    }
}

/// A computed value of an indicator for an area, period and breakdown, with what a
/// dashboard shows beside it.
#[Object]
impl IndicatorValue {
    /// Indicator code.
    async fn indicator_code(&self) -> &str {
        &self.0.indicator
    }

    /// The indicator.
    async fn indicator(&self, ctx: &Context<'_>) -> Result<Option<Indicator>> {
        load_node(&ctx.data::<Loaders>()?.indicators, self.0.indicator.clone()).await
    }

    /// Area code.
    async fn area_code(&self) -> &str {
        &self.0.area_code
    }

    /// The area.
    async fn area(&self, ctx: &Context<'_>) -> Result<Option<Area>> {
        load_node(&ctx.data::<Loaders>()?.areas, self.0.area_code.clone()).await
    }

    /// The area's level.
    async fn level(&self) -> AreaLevel {
        self.0.level.into()
    }

    /// Period, e.g. `2023`, `AY2023`, `FY2023`.
    async fn period(&self) -> &str {
        &self.0.period
    }

    /// Breakdown pairs; empty for the total.
    async fn breakdown(&self) -> Vec<BreakdownPair> {
        Breakdown::decode(&self.0.breakdown)
            .0
            .into_iter()
            .map(|(dimension, value)| BreakdownPair { dimension, value })
            .collect()
    }

    /// The value: a sum for counts; numerator / denominator x multiplier for ratios; a
    /// weighted mean for means.
    async fn value(&self) -> f64 {
        self.0.value
    }

    /// Ratios: the summed numerator. Means: the weighted sum.
    async fn numerator(&self) -> Option<f64> {
        self.0.numerator
    }

    /// Ratios: the summed denominator. Means: the summed weight.
    async fn denominator(&self) -> Option<f64> {
        self.0.denominator
    }

    /// Ratios: the denominator's period, where it is not the value's own (the nearest
    /// earlier one within the indicator's lag).
    async fn denominator_period(&self) -> Option<&str> {
        self.0.denominator_period.as_deref()
    }

    /// How many child areas or schools reported; null when the area reported the value
    /// itself.
    async fn coverage(&self) -> Option<Coverage> {
        let (reported, expected) = (self.0.reported?, self.0.expected?);
        Some(Coverage {
            reported,
            expected,
            share: if expected > 0 {
                reported as f64 / expected as f64
            } else {
                1.0
            },
        })
    }

    /// Rank among the parent's children of the same level for the same period and
    /// breakdown: 1 = worst by the indicator's direction; equal values share a rank.
    async fn rank(&self) -> Option<i64> {
        self.0.rank
    }

    /// How many areas were ranked.
    async fn rank_of(&self) -> Option<i64> {
        self.0.siblings
    }

    /// Parent area code.
    async fn parent_code(&self) -> Option<&str> {
        self.0.parent_code.as_deref()
    }

    /// The parent area's value for the same period and breakdown.
    async fn parent_value(&self) -> Option<f64> {
        self.0.parent_value
    }

    /// value - parent value.
    async fn difference_from_parent(&self) -> Option<f64> {
        Some(self.0.value - self.0.parent_value?)
    }

    /// value / parent value (null when the parent's is 0).
    async fn ratio_to_parent(&self) -> Option<f64> {
        let parent = self.0.parent_value?;
        (parent != 0.0).then(|| self.0.value / parent)
    }

    /// The previous period with a value for this area and breakdown.
    async fn previous_period(&self) -> Option<&str> {
        self.0.previous_period.as_deref()
    }

    /// Its value.
    async fn previous_value(&self) -> Option<f64> {
        self.0.previous_value
    }

    /// value - previous value.
    async fn change(&self) -> Option<f64> {
        Some(self.0.value - self.0.previous_value?)
    }

    /// (value - previous) / previous (null when the previous is 0).
    async fn change_share(&self) -> Option<f64> {
        let previous = self.0.previous_value?;
        (previous != 0.0).then(|| (self.0.value - previous) / previous)
    }

    /// Whether the value got worse since the previous period, by the indicator's
    /// direction (null without a previous value).
    async fn worsened(&self, ctx: &Context<'_>) -> Result<Option<bool>> {
        let Some(previous) = self.0.previous_value else {
            return Ok(None);
        };
        let indicator = ctx
            .data::<Loaders>()?
            .indicators
            .load_one(self.0.indicator.clone())
            .await?;
        Ok(indicator.map(|i| abe_schema::alerting::worse(i.direction, self.0.value, previous)))
    }

    /// The colour band by the indicator's thresholds at this level.
    async fn band(&self) -> Band {
        self.0.band.into()
    }

    /// The band's colour (CSS hex), the same in every dashboard.
    async fn colour(&self) -> &'static str {
        self.0.band.colour()
    }

    /// The sources behind the value: connector, agency, run and load time.
    async fn sources(&self) -> Vec<ValueSource> {
        self.0.sources().into_iter().map(Into::into).collect()
    }
}

/// Inequality between the areas of one level under a parent.
#[derive(SimpleObject)]
pub struct Inequality {
    /// Indicator code.
    pub indicator: String,
    /// Period.
    pub period: String,
    /// Areas compared.
    pub areas: i64,
    /// The best area's code.
    pub best_area: String,
    /// Its value.
    pub best_value: f64,
    /// The worst area's code.
    pub worst_area: String,
    /// Its value.
    pub worst_value: f64,
    /// worst / best (null when the best is 0).
    pub ratio: Option<f64>,
    /// worst - best.
    pub difference: f64,
    /// Standard deviation / mean (null when the mean is 0).
    pub coefficient_of_variation: Option<f64>,
    /// Gini coefficient, 0 (equal) to 1.
    pub gini: Option<f64>,
    /// Whether the Gini coefficient is weighted by each area's denominator.
    pub gini_weighted: bool,
}

/// A figure one connector gives for an area, school, period and breakdown that another
/// connector gives too. Computed values use one of them, by the indicator's source
/// precedence; these are the others a steward may want to reconcile.
#[derive(SimpleObject)]
pub struct ConflictingFigure {
    /// Area code.
    pub area_code: String,
    /// School code (null for the area's own figure).
    pub school_code: Option<String>,
    /// Period.
    pub period: String,
    /// Breakdown pairs.
    pub breakdown: Vec<BreakdownPair>,
    /// Connector that gave it.
    pub connector: String,
    /// The figure.
    pub value: f64,
    /// Run that loaded it.
    pub run_id: i64,
}

/// A band of an indicator's legend.
#[derive(SimpleObject)]
pub struct LegendEntry {
    /// Band.
    pub band: Band,
    /// Lowest value of the band (null: unbounded).
    pub from: Option<f64>,
    /// Value the band stops before (null: unbounded).
    pub to: Option<f64>,
    /// Colour (CSS hex).
    pub colour: &'static str,
    /// Thai label.
    pub label_th: &'static str,
    /// English label.
    pub label_en: &'static str,
}

impl From<abe_schema::LegendEntry> for LegendEntry {
    fn from(e: abe_schema::LegendEntry) -> Self {
        LegendEntry {
            band: e.band.into(),
            from: e.from,
            to: e.to,
            colour: e.band.colour(),
            label_th: e.band.label_th(),
            label_en: e.band.label_en(),
        }
    }
}

/// What a computation did.
#[derive(SimpleObject)]
pub struct ComputeReport {
    /// Indicators computed.
    pub indicators: Vec<String>,
    /// Values written.
    pub values: i64,
    /// Alerts raised.
    pub raised: i64,
    /// Alerts resolved.
    pub resolved: i64,
    /// Alerts still firing with a new value or period.
    pub updated: i64,
    /// Milliseconds.
    pub millis: i64,
}

/// Queries of computed indicator values.
#[derive(Default)]
pub struct IndicatorValueQuery;

fn bad(message: impl Into<String>) -> async_graphql::Error {
    Code::BadInput.error(message)
}

#[Object]
impl IndicatorValueQuery {
    /// Computed values of `indicators` for the given areas (or every area of `level`
    /// under `parent`; or both), periods (all when omitted; `latest: true` asks for
    /// each indicator's latest period, among `periods` when given) and breakdowns (canonical spellings such as
    /// `sex=female`; the total when omitted, `""` for the total among others). Ordered
    /// by indicator, period, breakdown, parent and rank (worst first); at most 10,000.
    #[allow(clippy::too_many_arguments)]
    async fn indicator_values(
        &self,
        ctx: &Context<'_>,
        indicators: Vec<String>,
        areas: Option<Vec<String>>,
        level: Option<AreaLevel>,
        parent: Option<String>,
        periods: Option<Vec<String>>,
        #[graphql(default = false)] latest: bool,
        breakdowns: Option<Vec<String>>,
    ) -> Result<Vec<IndicatorValue>> {
        if indicators.is_empty() {
            return Err(bad("name at least one indicator"));
        }
        let filter = ValueFilter {
            indicators,
            areas: areas.unwrap_or_default(),
            level: level.map(Into::into),
            under: parent,
            periods: periods.unwrap_or_default(),
            latest,
            breakdowns: breakdowns.unwrap_or_default(),
        };
        let values = store(ctx)?
            .indicator_values(&filter)
            .await
            .map_err(failure)?;
        if values.len() > MAX_VALUES {
            return Err(bad(format!(
                "more than {MAX_VALUES} values match: narrow the areas, periods or breakdowns"
            )));
        }
        Ok(values.into_iter().map(IndicatorValue).collect())
    }

    /// One indicator's values for one area over time (a breakdown's, when given), oldest
    /// period first.
    async fn indicator_series(
        &self,
        ctx: &Context<'_>,
        indicator: String,
        area: String,
        #[graphql(default)] breakdown: String,
    ) -> Result<Vec<IndicatorValue>> {
        let filter = ValueFilter {
            indicators: vec![indicator],
            areas: vec![area],
            breakdowns: vec![breakdown],
            ..ValueFilter::default()
        };
        let mut values = store(ctx)?
            .indicator_values(&filter)
            .await
            .map_err(failure)?;
        values.sort_by_key(|v| abe_analytics::period_order(&v.period));
        Ok(values.into_iter().map(IndicatorValue).collect())
    }

    /// Inequality of one indicator between the areas of `level` under `parent` (every
    /// area of the level when omitted) for one period (its latest when omitted): best
    /// and worst area, ratio, difference, coefficient of variation and Gini
    /// coefficient. Null when no area has a value.
    async fn inequality(
        &self,
        ctx: &Context<'_>,
        indicator: String,
        level: AreaLevel,
        parent: Option<String>,
        period: Option<String>,
        #[graphql(default)] breakdown: String,
    ) -> Result<Option<Inequality>> {
        let store = store(ctx)?;
        let Some(found) = ctx
            .data::<Loaders>()?
            .indicators
            .load_one(indicator.clone())
            .await?
        else {
            return Err(Code::NotFound.error(format!("no indicator {indicator}")));
        };
        let period = match period {
            Some(p) => p,
            None => match store
                .latest_periods(std::slice::from_ref(&indicator))
                .await
                .map_err(failure)?
                .into_iter()
                .next()
            {
                Some((_, p)) => p,
                None => return Ok(None),
            },
        };
        let values = store
            .indicator_values(&ValueFilter {
                indicators: vec![indicator.clone()],
                level: Some(level.into()),
                under: parent,
                periods: vec![period.clone()],
                breakdowns: vec![breakdown],
                ..ValueFilter::default()
            })
            .await
            .map_err(failure)?;
        Ok(
            abe_analytics::inequality(found.direction, &values).map(|i| Inequality {
                indicator,
                period,
                areas: i.areas as i64,
                best_area: i.best.0,
                best_value: i.best.1,
                worst_area: i.worst.0,
                worst_value: i.worst.1,
                ratio: i.ratio,
                difference: i.difference,
                coefficient_of_variation: i.coefficient_of_variation,
                gini: i.gini,
                gini_weighted: i.gini_weighted,
            }),
        )
    }

    /// Figures of `indicator` (in and under `area`, of `period`) that more than one
    /// connector gives for the same area, school, period and breakdown: a file loaded
    /// twice, or two agencies counting the same children. At most 1,000.
    async fn conflicting_figures(
        &self,
        ctx: &Context<'_>,
        indicator: String,
        area: Option<String>,
        period: Option<String>,
    ) -> Result<Vec<ConflictingFigure>> {
        let rows = store(ctx)?
            .conflicting_figures(&indicator, area.as_deref(), period.as_deref())
            .await
            .map_err(failure)?;
        Ok(rows
            .into_iter()
            .map(|r| ConflictingFigure {
                area_code: r.area_code,
                school_code: Some(r.school_code).filter(|s| !s.is_empty()),
                period: r.period,
                breakdown: Breakdown::decode(&r.breakdown)
                    .0
                    .into_iter()
                    .map(|(dimension, value)| BreakdownPair { dimension, value })
                    .collect(),
                connector: r.connector,
                value: r.value,
                run_id: r.run_id,
            })
            .collect())
    }
}

/// Changes to the indicator catalogue and on-demand computation. Each needs the admin
/// token.
#[derive(Default)]
pub struct IndicatorMutation;

#[Object]
impl IndicatorMutation {
    /// Creates or replaces an indicator. The definition is an `[[indicators]]` entry of
    /// the config file written as JSON (every field: docs/reference.md); it is checked
    /// as the config is, and a mistake is refused (BAD_INPUT) naming the field. Values
    /// are computed again at once.
    async fn save_indicator(
        &self,
        ctx: &Context<'_>,
        definition: Json<serde_json::Value>,
    ) -> Result<Indicator> {
        let operations = ctx.data::<crate::Operations>()?;
        operations.authorize(ctx)?;
        let indicator: abe_schema::Indicator = serde_path_to_error::deserialize(definition.0)
            .map_err(|e| bad(format!("indicator definition: {}: {}", e.path(), e.inner())))?;
        let store = store(ctx)?;
        let known = store.indicator_codes().await.map_err(failure)?;
        indicator
            .check(&|code| known.iter().any(|k| k == code))
            .map_err(bad)?;
        store
            .upsert_indicators(std::slice::from_ref(&indicator))
            .await
            .map_err(failure)?;
        let change = abe_analytics::Change {
            indicators: Some(vec![indicator.code.clone()]),
            scope: abe_store::Scope::All,
        };
        operations
            .analytics
            .recompute(&change)
            .await
            .map_err(failure)?;
        Ok(Indicator::from(indicator))
    }

    /// Computes every indicator for every area and period now and evaluates the alert
    /// rules (the hub also does this after every run that changed data).
    async fn recompute(&self, ctx: &Context<'_>) -> Result<ComputeReport> {
        let operations = ctx.data::<crate::Operations>()?;
        operations.authorize(ctx)?;
        let report = operations
            .analytics
            .recompute(&abe_analytics::Change::everything())
            .await
            .map_err(failure)?;
        Ok(ComputeReport {
            indicators: report.indicators,
            values: report.values as i64,
            raised: report.raised as i64,
            resolved: report.resolved as i64,
            updated: report.updated as i64,
            millis: report.millis as i64,
        })
    }
}
