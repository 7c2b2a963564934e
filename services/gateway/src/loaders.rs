//! Batched lookups for parent-to-child fields, so no resolver queries per row.

use crate::error::failure;
use abe_schema::{Agency, AreaRow, Indicator, SchoolRow, Threshold};
use abe_store::{RunRecord, Store};
use async_graphql::dataloader::{DataLoader, Loader};
use async_graphql::Error;
use std::collections::HashMap;
use std::hash::Hash;

/// Loads one value through `loader` (batched with the request's other loads) and turns
/// it into its GraphQL type.
pub async fn load_node<K, L, N>(loader: &DataLoader<L>, key: K) -> async_graphql::Result<Option<N>>
where
    K: Send + Sync + Hash + Eq + Clone + 'static,
    L: Loader<K, Error = Error>,
    N: From<L::Value>,
{
    Ok(loader.load_one(key).await?.map(N::from))
}

/// Declares a loader from a key to a record through one store call.
macro_rules! loader {
    ($name:ident, $key:ty, $value:ty, |$store:ident, $keys:ident| $fetch:expr, |$item:ident| $key_of:expr) => {
        /// Batches lookups of one kind.
        pub struct $name(pub Store);

        impl Loader<$key> for $name {
            type Value = $value;
            type Error = Error;

            async fn load(&self, keys: &[$key]) -> Result<HashMap<$key, $value>, Error> {
                let $store = &self.0;
                let $keys = keys;
                let items: Vec<$value> = $fetch.map_err(failure)?;
                Ok(items.into_iter().map(|$item| ($key_of, $item)).collect())
            }
        }
    };
}

loader!(
    AreaLoader,
    String,
    AreaRow,
    |s, k| s.areas_by_code(k).await,
    |a| a.code.clone()
);
loader!(
    SchoolLoader,
    String,
    SchoolRow,
    |s, k| s
        .schools(
            &abe_store::SchoolFilter {
                codes: Some(k.to_vec()),
                ..Default::default()
            },
            None,
            k.len()
        )
        .await
        .map(|p| p.items),
    |a| a.code.clone()
);
loader!(
    AgencyLoader,
    String,
    Agency,
    |s, k| s.agencies(Some(k), None, k.len()).await.map(|p| p.items),
    |a| a.code.clone()
);
loader!(
    IndicatorLoader,
    String,
    Indicator,
    |s, k| s.indicators(Some(k), None, k.len()).await.map(|p| p.items),
    |a| a.code.clone()
);
loader!(
    ConnectorLoader,
    String,
    abe_store::ConnectorRecord,
    |s, k| s.connectors(Some(k), None, k.len()).await.map(|p| p.items),
    |c| c.spec.name.clone()
);
loader!(
    RunLoader,
    i64,
    RunRecord,
    |s, k| s.runs(None, Some(k), None, k.len()).await.map(|p| p.items),
    |r| r.id
);

loader!(
    LatestPeriodLoader,
    String,
    (String, String),
    |s, k| s.latest_periods(k).await,
    |p| p.0.clone()
);

loader!(
    TopicLoader,
    String,
    abe_schema::Topic,
    |s, _k| s.topics().await,
    |t| t.code.clone()
);

/// The alert rules watching each indicator, by indicator code.
pub struct AlertRuleLoader(pub Store);

impl Loader<String> for AlertRuleLoader {
    type Value = Vec<abe_schema::AlertRule>;
    type Error = Error;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Self::Value>, Error> {
        let mut by_indicator: HashMap<String, Self::Value> = HashMap::new();
        for rule in self.0.alert_rules(Some(keys)).await.map_err(failure)? {
            by_indicator
                .entry(rule.indicator.clone())
                .or_default()
                .push(rule);
        }
        Ok(by_indicator)
    }
}

/// The latest run of each connector, by connector name.
pub struct LatestRunLoader(pub Store);

impl Loader<String> for LatestRunLoader {
    type Value = RunRecord;
    type Error = Error;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, RunRecord>, Error> {
        let runs = self.0.latest_runs(keys).await.map_err(failure)?;
        Ok(runs.into_iter().map(|r| (r.connector.clone(), r)).collect())
    }
}

/// The thresholds of each indicator, by indicator code.
pub struct ThresholdLoader(pub Store);

impl Loader<String> for ThresholdLoader {
    type Value = Vec<Threshold>;
    type Error = Error;

    async fn load(&self, keys: &[String]) -> Result<HashMap<String, Vec<Threshold>>, Error> {
        let mut by_indicator: HashMap<String, Vec<Threshold>> = HashMap::new();
        for threshold in self.0.thresholds(keys).await.map_err(failure)? {
            by_indicator
                .entry(threshold.indicator.clone())
                .or_default()
                .push(threshold);
        }
        Ok(by_indicator)
    }
}

/// Every loader of one request.
pub struct Loaders {
    /// Areas by code.
    pub areas: DataLoader<AreaLoader>,
    /// Schools by code.
    pub schools: DataLoader<SchoolLoader>,
    /// Agencies by code.
    pub agencies: DataLoader<AgencyLoader>,
    /// Indicators by code.
    pub indicators: DataLoader<IndicatorLoader>,
    /// Connectors by name.
    pub connectors: DataLoader<ConnectorLoader>,
    /// Runs by id.
    pub runs: DataLoader<RunLoader>,
    /// Latest run by connector.
    pub latest_runs: DataLoader<LatestRunLoader>,
    /// Thresholds by indicator.
    pub thresholds: DataLoader<ThresholdLoader>,
    /// Latest computed period by indicator, as (indicator, period).
    pub latest_periods: DataLoader<LatestPeriodLoader>,
    /// Alert rules by indicator.
    pub alert_rules: DataLoader<AlertRuleLoader>,
    /// Topics by code.
    pub topics: DataLoader<TopicLoader>,
}

impl Loaders {
    /// Fresh loaders (their caches live for one request).
    pub fn new(store: &Store) -> Self {
        Loaders {
            areas: DataLoader::new(AreaLoader(store.clone()), tokio::spawn),
            schools: DataLoader::new(SchoolLoader(store.clone()), tokio::spawn),
            agencies: DataLoader::new(AgencyLoader(store.clone()), tokio::spawn),
            indicators: DataLoader::new(IndicatorLoader(store.clone()), tokio::spawn),
            connectors: DataLoader::new(ConnectorLoader(store.clone()), tokio::spawn),
            runs: DataLoader::new(RunLoader(store.clone()), tokio::spawn),
            latest_runs: DataLoader::new(LatestRunLoader(store.clone()), tokio::spawn),
            thresholds: DataLoader::new(ThresholdLoader(store.clone()), tokio::spawn),
            latest_periods: DataLoader::new(LatestPeriodLoader(store.clone()), tokio::spawn),
            alert_rules: DataLoader::new(AlertRuleLoader(store.clone()), tokio::spawn),
            topics: DataLoader::new(TopicLoader(store.clone()), tokio::spawn),
        }
    }
}
