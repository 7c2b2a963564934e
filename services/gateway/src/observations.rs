//! The indicator catalogue and the observations that give indicators their values.

use crate::areas::{Area, AreaLevel, School};
use crate::connection::encode_key;
use crate::connection::{key_cursor, paged, text_cursor, Conn};
use crate::connectors::Run;
use crate::error::CodeExt;
use crate::loaders::load_node;
use crate::{loaders::Loaders, store};
use abe_schema::Breakdown;
use abe_schema::Code;
use abe_store::{ObservationFilter, ObservationRecord};
use async_graphql::{ComplexObject, Context, Enum, InputObject, Object, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};

/// How an indicator's values combine up the area hierarchy.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "abe_schema::IndicatorKind")]
pub enum IndicatorKind {
    /// A count that sums up the hierarchy.
    Count,
    /// Numerator / denominator x multiplier, from summed numerators and denominators.
    Ratio,
    /// A mean weighted by a weight indicator.
    Mean,
    /// Not aggregated: each area's own value.
    Latest,
}

/// Which way an indicator gets worse.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "abe_schema::Direction")]
pub enum Direction {
    /// Higher values are worse.
    HigherIsWorse,
    /// Lower values are worse.
    LowerIsWorse,
}

/// Warning and critical values of an indicator at one level.
#[derive(SimpleObject)]
pub struct Threshold {
    /// Level the values apply to.
    pub level: AreaLevel,
    /// Warning at or beyond this value.
    pub warning: Option<f64>,
    /// Critical at or beyond this value.
    pub critical: Option<f64>,
}

/// An indicator of the catalogue: the catalogue's own row, served as it is (one
/// description of an indicator's fields, in abe-schema).
pub struct Indicator(abe_schema::Indicator);

impl From<abe_schema::Indicator> for Indicator {
    fn from(indicator: abe_schema::Indicator) -> Self {
        Indicator(indicator)
    }
}

/// An indicator of the catalogue.
#[Object]
impl Indicator {
    /// Stable code.
    async fn code(&self) -> &str {
        &self.0.code
    }

    /// Thai name.
    async fn name_th(&self) -> &str {
        &self.0.name_th
    }

    /// English name.
    async fn name_en(&self) -> Option<&str> {
        self.0.name_en.as_deref()
    }

    /// Thai description.
    async fn description_th(&self) -> Option<&str> {
        self.0.description_th.as_deref()
    }

    /// English description.
    async fn description_en(&self) -> Option<&str> {
        self.0.description_en.as_deref()
    }

    /// Unit of values.
    async fn unit(&self) -> &str {
        &self.0.unit
    }

    /// How values combine up the hierarchy.
    async fn kind(&self) -> IndicatorKind {
        self.0.kind.into()
    }

    /// Ratios: what the quotient is multiplied by (100 for a percentage).
    async fn multiplier(&self) -> Option<f64> {
        (self.0.kind == abe_schema::IndicatorKind::Ratio).then(|| self.0.multiplier())
    }

    /// Ratios: how many years earlier the denominator's period may be.
    async fn denominator_lag(&self) -> Option<u32> {
        self.0.denominator_lag
    }

    /// Means: the indicator each area is weighted by.
    async fn weight(&self) -> Option<&str> {
        self.0.weight.as_deref()
    }

    /// Decimals to show values with.
    async fn decimals(&self) -> Option<u32> {
        self.0.decimals
    }

    /// Breakdown dimensions the indicator supports (every one the sources give, when
    /// empty).
    async fn breakdowns(&self) -> &[String] {
        &self.0.breakdowns
    }

    /// Source precedence: connector names or agency codes, first wins where several
    /// give the same figure.
    async fn sources(&self) -> &[String] {
        &self.0.sources
    }

    /// The latest period with a computed value.
    async fn latest_period(&self, ctx: &Context<'_>) -> Result<Option<String>> {
        let latest = ctx
            .data::<Loaders>()?
            .latest_periods
            .load_one(self.0.code.clone())
            .await?;
        Ok(latest.map(|(_, period)| period))
    }

    /// The colour bands at `level`, best first, as every dashboard colours them;
    /// empty without a threshold at that level.
    async fn legend(
        &self,
        ctx: &Context<'_>,
        level: AreaLevel,
    ) -> Result<Vec<crate::indicators::LegendEntry>> {
        let level: abe_schema::AreaLevel = level.into();
        let rows = ctx
            .data::<Loaders>()?
            .thresholds
            .load_one(self.0.code.clone())
            .await?
            .unwrap_or_default();
        Ok(rows
            .iter()
            .find(|t| t.level == level)
            .map(|t| abe_schema::alerting::legend(self.0.direction, t))
            .unwrap_or_default()
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// The early-warning rules watching this indicator.
    async fn alert_rules(&self, ctx: &Context<'_>) -> Result<Vec<crate::alerts::AlertRule>> {
        let rules = ctx
            .data::<Loaders>()?
            .alert_rules
            .load_one(self.0.code.clone())
            .await?
            .unwrap_or_default();
        Ok(rules.into_iter().map(Into::into).collect())
    }

    /// Numerator indicator code (ratios).
    async fn numerator(&self) -> Option<&str> {
        self.0.numerator.as_deref()
    }

    /// Denominator indicator code (ratios).
    async fn denominator(&self) -> Option<&str> {
        self.0.denominator.as_deref()
    }

    /// Which way is worse.
    async fn direction(&self) -> Direction {
        self.0.direction.into()
    }

    /// Topic, to match problems and resources.
    async fn topic(&self) -> Option<&str> {
        self.0.topic.as_deref()
    }

    /// Thresholds of this indicator per level.
    async fn thresholds(&self, ctx: &Context<'_>) -> Result<Vec<Threshold>> {
        let rows = ctx
            .data::<Loaders>()?
            .thresholds
            .load_one(self.0.code.clone())
            .await?
            .unwrap_or_default();
        Ok(rows
            .into_iter()
            .map(|t| Threshold {
                level: t.level.into(),
                warning: t.warning,
                critical: t.critical,
            })
            .collect())
    }
}

/// One dimension of a breakdown, e.g. sex = female.
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(input_name = "BreakdownInput")]
pub struct BreakdownPair {
    /// Dimension, e.g. `sex`.
    pub dimension: String,
    /// Value, e.g. `female`.
    pub value: String,
}

/// Where a value came from.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Provenance {
    /// Connector that loaded the value.
    pub connector: String,
    /// File or URL.
    pub file: String,
    /// Sheet of a workbook.
    pub sheet: Option<String>,
    /// Row in the file or sheet.
    pub row: Option<i64>,
    /// When the value was last written.
    pub loaded_at: DateTime<Utc>,
    #[graphql(skip)]
    pub run_id: i64,
}

#[ComplexObject]
impl Provenance {
    /// The run that last changed the value.
    async fn run(&self, ctx: &Context<'_>) -> Result<Option<Run>> {
        load_node(&ctx.data::<Loaders>()?.runs, self.run_id).await
    }
}

/// A value of an indicator for an area or school, a period and a breakdown.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Observation {
    /// Row id: the natural key (indicator, area, period, breakdown, school, connector),
    /// opaque.
    pub id: ID,
    /// Period, e.g. `2023`.
    pub period: String,
    /// The value.
    pub value: f64,
    /// Breakdown; empty for the total.
    pub breakdown: Vec<BreakdownPair>,
    /// Where the value came from.
    pub provenance: Provenance,
    #[graphql(skip)]
    pub indicator_code: String,
    #[graphql(skip)]
    pub area_code: String,
    #[graphql(skip)]
    pub school_code: String,
}

impl From<ObservationRecord> for Observation {
    fn from(r: ObservationRecord) -> Self {
        let id = ID(encode_key(r.key()));
        let o = r.row;
        Observation {
            id,
            period: o.period,
            value: o.value,
            breakdown: Breakdown::decode(&o.breakdown)
                .0
                .into_iter()
                .map(|(dimension, value)| BreakdownPair { dimension, value })
                .collect(),
            provenance: Provenance {
                connector: r.connector,
                file: r.source_file,
                sheet: r.source_sheet,
                row: r.source_row,
                loaded_at: r.loaded_at,
                run_id: r.run_id,
            },
            indicator_code: o.indicator,
            area_code: o.area_code,
            school_code: o.school_code,
        }
    }
}

#[ComplexObject]
impl Observation {
    /// The indicator.
    async fn indicator(&self, ctx: &Context<'_>) -> Result<Option<Indicator>> {
        load_node(
            &ctx.data::<Loaders>()?.indicators,
            self.indicator_code.clone(),
        )
        .await
    }

    /// The area (for a school observation, the school's area).
    async fn area(&self, ctx: &Context<'_>) -> Result<Option<Area>> {
        load_node(&ctx.data::<Loaders>()?.areas, self.area_code.clone()).await
    }

    /// The school, for school observations.
    async fn school(&self, ctx: &Context<'_>) -> Result<Option<School>> {
        if self.school_code.is_empty() {
            return Ok(None);
        }
        load_node(&ctx.data::<Loaders>()?.schools, self.school_code.clone()).await
    }
}

/// Which observations to list.
#[derive(InputObject, Default)]
pub struct ObservationFilterInput {
    /// Only these indicator codes.
    pub indicators: Option<Vec<String>>,
    /// Only this area and the areas below it (and their schools).
    pub area: Option<String>,
    /// Only this school.
    pub school: Option<String>,
    /// Only these periods.
    pub periods: Option<Vec<String>>,
    /// Only this exact breakdown; an empty list asks for totals.
    pub breakdown: Option<Vec<BreakdownPair>>,
    /// Only rows loaded by this connector.
    pub connector: Option<String>,
    /// Only rows last changed by this run.
    pub run_id: Option<ID>,
}

/// Queries of the catalogue and values.
#[derive(Default)]
pub struct ObservationQuery;

#[Object]
impl ObservationQuery {
    /// The indicator catalogue, by code.
    #[graphql(complexity = "crate::connection::page_complexity(first, child_complexity)")]
    async fn indicators(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<Indicator>> {
        let store = store(ctx)?;
        paged(
            first,
            after,
            text_cursor,
            |after, first| store.indicators(None, after, first),
            |i| i.code.clone(),
            |i| Ok(Indicator::from(i)),
        )
        .await
    }

    /// One indicator by code.
    async fn indicator(&self, ctx: &Context<'_>, code: String) -> Result<Option<Indicator>> {
        load_node(&ctx.data::<Loaders>()?.indicators, code).await
    }

    /// Observations, ordered by indicator, area, period, breakdown, school and connector.
    #[graphql(complexity = "crate::connection::page_complexity(first, child_complexity)")]
    async fn observations(
        &self,
        ctx: &Context<'_>,
        filter: Option<ObservationFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<Observation>> {
        let f = filter.unwrap_or_default();
        let run_id = match f.run_id {
            Some(id) => Some(
                id.parse::<i64>()
                    .map_err(|_| Code::BadInput.error("runId is not a run id"))?,
            ),
            None => None,
        };
        let filter = ObservationFilter {
            indicators: f.indicators,
            area: f.area,
            school: f.school,
            periods: f.periods,
            breakdown: f.breakdown.map(|pairs| {
                Breakdown::new(pairs.into_iter().map(|p| (p.dimension, p.value))).encode()
            }),
            connector: f.connector,
            run_id,
        };
        let store = store(ctx)?;
        // An observation's id is its cursor: the key is encoded once.
        paged(
            first,
            after,
            key_cursor,
            |after, first| async move {
                Ok(store
                    .observations(&filter, after, first)
                    .await?
                    .map(Observation::from))
            },
            |o| o.id.0.clone(),
            Ok,
        )
        .await
    }
}
