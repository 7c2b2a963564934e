//! A small province for tests that load observations: one indicator, three areas, and
//! connectors whose sources give `area`, `year` (Buddhist era) and `n` columns.

use abe_connectors::csv::CsvConfig;
use abe_connectors::mapping::MappingConfig;
use abe_connectors::SourceConfig;
use abe_pipeline::{ConnectorDef, Pipeline, SyncMode, Trigger};
use abe_schema::{Direction, Indicator, IndicatorKind, Target};
use abe_store::{ObservationFilter, Store};
use std::path::Path;

/// The mapping of `area, year, n` sources to the `dropouts` indicator.
pub fn dropouts_mapping() -> MappingConfig {
    serde_json::from_value(serde_json::json!({"fields": {
        "indicator": {"const": "dropouts"},
        "area": {"column": "area"},
        "period": {"column": "year", "transforms": ["be_year"]},
        "value": {"column": "n", "transforms": ["number"]}
    }}))
    .expect("mapping")
}

/// An observations connector named `name` reading `source` with [`dropouts_mapping`].
pub fn dropouts_connector(
    dir: &Path,
    name: &str,
    source: SourceConfig,
    sync_mode: SyncMode,
) -> ConnectorDef {
    ConnectorDef::new(
        name.into(),
        None,
        Target::Observations,
        None,
        sync_mode,
        source,
        dropouts_mapping(),
        dir.to_path_buf(),
    )
    .expect("valid connector")
}

/// The `dropouts` indicator: a count of children, higher is worse.
pub fn dropouts_indicator() -> Indicator {
    Indicator {
        code: "dropouts".into(),
        name_th: "ออกกลางคัน".into(),
        name_en: None,
        unit: "persons".into(),
        kind: IndicatorKind::Count,
        numerator: None,
        denominator: None,
        direction: Direction::HigherIsWorse,
        topic: None,
        ..Indicator::default()
    }
}

/// Writes `areas.csv` (code, name) in `dir`: Songkhla 90 and its districts 9001, 9011.
pub fn write_areas_csv(dir: &Path) {
    std::fs::write(
        dir.join("areas.csv"),
        "code,name\n90,สงขลา\n9001,เมืองสงขลา\n9011,หาดใหญ่\n",
    )
    .expect("write");
}

/// Loads the `dropouts` indicator and the areas 90 (Songkhla), 9001 and 9011 (written
/// as `areas.csv` in `dir`), and returns a pipeline on `store`.
pub async fn seed_dropouts(store: &Store, dir: &Path) -> Pipeline {
    store
        .upsert_indicators(&[dropouts_indicator()])
        .await
        .expect("indicator");
    write_areas_csv(dir);
    let areas = ConnectorDef::new(
        "areas".into(),
        None,
        Target::Areas,
        None,
        SyncMode::FullRefresh,
        SourceConfig::Csv(CsvConfig::new("areas.csv")),
        serde_json::from_value(serde_json::json!({"fields": {
            "code": {"column": "code"}, "name_th": {"column": "name"}
        }}))
        .expect("mapping"),
        dir.to_path_buf(),
    )
    .expect("valid connector");
    let pipeline = Pipeline::new(store.clone());
    pipeline
        .run(&areas, Trigger::Manual)
        .await
        .expect("areas load");
    pipeline
}

/// `(area, period, value)` of every observation `connector` loaded, by area and period.
pub async fn loaded(store: &Store, connector: &str) -> Vec<(String, String, f64)> {
    let filter = ObservationFilter {
        connector: Some(connector.into()),
        ..Default::default()
    };
    let mut rows: Vec<_> = store
        .observations(&filter, None, 1000)
        .await
        .expect("observations")
        .items
        .into_iter()
        .map(|o| (o.row.area_code, o.row.period, o.row.value))
        .collect();
    rows.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    rows
}
