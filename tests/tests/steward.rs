//! A steward's first day, on the public files in `../shared/data`: nothing is merged,
//! overwritten or mis-dated without a word. Rows that repeat a key are reported under
//! every `on_duplicate` choice and the counts add up; a list that would change another
//! connector's areas fails, keeps or overwrites them as chosen, reporting each; a
//! Buddhist-era year left as CE is refused with the fix named.

use abe_pipeline::{
    ConnectorConfig, ConnectorDef, Pipeline, RunError, RunFailure, RunReport, Trigger,
};
use abe_schema::{RunCounts, Severity};
use abe_store::{ObservationFilter, Store};
use abe_tests::fixtures::dropouts_indicator;
use abe_tests::{both_backends, repo_path, TestDb};
use serde_json::{json, Value};

/// The Yala and Narathiwat rows of the 2018 data.go.th subdistrict list, in TIS-620
/// without a header: 15 columns, subdistrict (1-3), district (7-9), province (10-12).
const NO_HEADER_TIS620: &str =
    "derived-thai-legacy-encodings/subdistricts-yala-narathiwat.tis620-noheader.csv";

/// Rows of that file: one per subdistrict.
const SUBDISTRICT_ROWS: u64 = 135;

/// A connector as a steward writes it, reading the shared public files in place.
fn connector(definition: Value) -> ConnectorDef {
    ConnectorConfig::from_json(definition)
        .expect("definition reads")
        .to_def(repo_path("../shared/data"))
        .expect("definition runs")
}

/// Areas of the no-header file: `code`, `name_th` and `name_en` from columns by number.
fn areas_of_no_header_file(name: &str, columns: [&str; 3], extra: Value) -> ConnectorDef {
    let mut definition = json!({
        "name": name,
        "target": "areas",
        "source": { "kind": "csv", "path": NO_HEADER_TIS620, "header": false, "encoding": "tis-620" },
        "mapping": { "fields": {
            "code": { "column": columns[0] },
            "name_th": { "column": columns[1] },
            "name_en": { "column": columns[2] }
        } }
    });
    for (key, value) in extra.as_object().into_iter().flatten() {
        definition[key] = value.clone();
    }
    connector(definition)
}

fn provinces() -> ConnectorDef {
    areas_of_no_header_file(
        "provinces_2018",
        ["10", "11", "12"],
        json!({ "on_duplicate": "first" }),
    )
}

/// Observations of the no-header file: a 1 per subdistrict row, added up by district
/// (`on_duplicate = "sum"`), for the period `period` gives.
fn subdistricts_per_district(name: &str, period: Value) -> ConnectorDef {
    subdistricts_per_district_with(name, period, json!({ "allow_empty": true }))
}

/// [`subdistricts_per_district`] with other connector options (`extra`).
fn subdistricts_per_district_with(name: &str, period: Value, extra: Value) -> ConnectorDef {
    let mut definition = json!({
        "name": name,
        "target": "observations",
        "on_duplicate": "sum",
        "source": { "kind": "csv", "path": NO_HEADER_TIS620, "header": false },
        "mapping": { "fields": {
            "indicator": { "const": "dropouts" },
            "area": { "column": "7" },
            "period": period,
            "value": { "const": "1" }
        } }
    });
    for (key, value) in extra.as_object().into_iter().flatten() {
        definition[key] = value.clone();
    }
    connector(definition)
}

/// Every row read is inserted, updated, unchanged, merged as a duplicate or rejected.
fn assert_counts_add_up(report: &RunReport) {
    let RunCounts {
        read,
        inserted,
        updated,
        unchanged,
        rejected,
        duplicates,
        ..
    } = report.counts;
    assert_eq!(
        read,
        inserted + updated + unchanged + duplicates + rejected,
        "{} counts: {:?}",
        report.connector,
        report.counts
    );
}

async fn run(pipeline: &Pipeline, def: &ConnectorDef) -> RunReport {
    let report = pipeline
        .run(def, Trigger::Manual)
        .await
        .unwrap_or_else(|e| panic!("{}: {e}", def.name));
    assert_counts_add_up(&report);
    report
}

async fn area_name(store: &Store, code: &str) -> (String, Option<String>) {
    let area = store
        .areas_by_code(&[code.to_string()])
        .await
        .expect("areas")
        .pop()
        .unwrap_or_else(|| panic!("area {code} loaded"));
    (area.name_th, area.name_en)
}

both_backends!(
    repeated_keys_are_reported_under_every_choice_and_the_counts_add_up,
    |backend| async move {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let pipeline = Pipeline::new(store.clone());

        // Each province repeats on every subdistrict's row: `first` keeps one, and
        // every other row is a warning naming the row that was kept.
        let report = run(&pipeline, &provinces()).await;
        assert_eq!(report.counts.read, SUBDISTRICT_ROWS);
        assert_eq!(report.counts.inserted, 2);
        assert_eq!(report.counts.duplicates, SUBDISTRICT_ROWS - 2);
        let lines = report.reasons.lines();
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert_eq!(lines[0].severity, Severity::Warning);
        assert_eq!(lines[0].count, SUBDISTRICT_ROWS - 2);
        assert_eq!(
            lines[0].reason,
            "key … repeats row …; the first row was kept and this one left out \
             (on_duplicate = \"first\")"
        );
        let page = store
            .rejects(report.run_id, Severity::Warning, None, 5)
            .await
            .expect("warnings");
        assert_eq!(
            page.items[0].reason,
            "key code=95 repeats row 1; the first row was kept and this one left out \
             (on_duplicate = \"first\")"
        );
        assert_eq!(page.items[0].row_number, Some(2));
        assert_eq!(area_name(&store, "95").await.0, "ยะลา");

        // `reject` refuses every row of a repeated key, the first one included.
        let refused = areas_of_no_header_file(
            "districts_refused",
            ["7", "8", "9"],
            json!({ "on_duplicate": "reject", "allow_empty": true }),
        );
        let report = run(&pipeline, &refused).await;
        assert_eq!(report.counts.rejected, SUBDISTRICT_ROWS);
        assert_eq!((report.counts.inserted, report.counts.duplicates), (0, 0));
        let rejects = store
            .rejects(report.run_id, Severity::Reject, None, 200)
            .await
            .expect("rejects");
        let first_row = rejects
            .items
            .iter()
            .find(|r| r.row_number == Some(1))
            .expect("the first row of a repeated key is refused too");
        assert!(
            first_row.reason.contains("key code=9501 repeats at row 2"),
            "{}",
            first_row.reason
        );
        assert!(store
            .areas_by_code(&["9501".into()])
            .await
            .expect("areas")
            .is_empty());

        // `last` (the default) loads each district's last row, and says so.
        let districts = areas_of_no_header_file("districts_2018", ["7", "8", "9"], json!({}));
        let report = run(&pipeline, &districts).await;
        assert_eq!(report.counts.inserted, 21);
        assert_eq!(report.counts.duplicates, SUBDISTRICT_ROWS - 21);
        let warnings = store
            .rejects(report.run_id, Severity::Warning, None, 1)
            .await
            .expect("warnings");
        assert!(warnings.items[0]
            .reason
            .contains("this later row was loaded"));

        // `sum` adds the rows of a key up: a 1 per subdistrict row counts them by
        // district (Mueang Yala has 14).
        store
            .upsert_indicators(&[dropouts_indicator()])
            .await
            .expect("indicator");
        let counted = subdistricts_per_district(
            "subdistricts_per_district",
            json!({ "const": "2561", "transforms": ["be_year"] }),
        );
        let report = run(&pipeline, &counted).await;
        assert_eq!(report.counts.inserted, 21);
        let filter = ObservationFilter {
            connector: Some("subdistricts_per_district".into()),
            ..Default::default()
        };
        let rows = store
            .observations(&filter, None, 100)
            .await
            .expect("rows")
            .items;
        let total: f64 = rows.iter().map(|o| o.row.value).sum();
        assert_eq!(
            total, SUBDISTRICT_ROWS as f64,
            "no row is lost or counted twice"
        );
        let mueang_yala = rows
            .iter()
            .find(|o| o.row.area_code == "9501")
            .expect("9501");
        assert_eq!(
            (mueang_yala.row.value, mueang_yala.row.period.as_str()),
            (14.0, "2018")
        );
        // A second run changes nothing: the sums are the same.
        let again = run(&pipeline, &counted).await;
        assert_eq!((again.counts.unchanged, again.counts.updated), (21, 0));

        // `sum` is refused where there is nothing to add up.
        let err = ConnectorConfig::from_json(json!({
            "name": "bad", "target": "areas", "on_duplicate": "sum",
            "source": { "kind": "csv", "path": NO_HEADER_TIS620, "header": false },
            "mapping": { "fields": { "code": { "column": "1" }, "name_th": { "column": "2" } } }
        }))
        .expect("reads")
        .to_def(repo_path("../shared/data"))
        .expect_err("refused");
        assert!(err.to_string().contains("adds up values"), "{err}");
    }
);

both_backends!(
    a_list_that_would_change_another_connectors_areas_fails_keeps_or_overwrites_them,
    |backend| async move {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let pipeline = Pipeline::new(store.clone());
        run(&pipeline, &provinces()).await;
        // The 2025 list first.
        let newer = districts_2025();
        let report = run(&pipeline, &newer).await;
        assert_eq!(report.counts.inserted, 21);
        assert_eq!(area_name(&store, "9508").await.0, "กรงปินัง");

        // The 2018 list spells two of them otherwise: by default its run fails, names
        // the rows and changes nothing.
        let older = |choice: &str| {
            areas_of_no_header_file(
                "districts_2018",
                ["7", "8", "9"],
                json!({ "on_owned_elsewhere": choice }),
            )
        };
        let failed = pipeline
            .run(&older("fail"), Trigger::Manual)
            .await
            .expect_err("refused");
        let RunError::Failed {
            run_id,
            cause: RunFailure::OwnedElsewhere { rows, owners },
            reasons,
            ..
        } = failed
        else {
            panic!("not refused for ownership: {failed}");
        };
        assert_eq!((rows, owners.as_str()), (2, "districts_2025"));
        assert!(reasons.lines().iter().any(|l| l.count == 2
            && l.reason
                .contains("was last loaded by connector districts_…")));
        let warnings = store
            .rejects(run_id, Severity::Warning, None, 200)
            .await
            .expect("warnings");
        let owned: Vec<&str> = warnings
            .items
            .iter()
            .filter(|w| w.reason.contains("last loaded by"))
            .map(|w| w.value.as_deref().unwrap_or_default())
            .collect();
        assert_eq!(owned, ["code=9508", "code=9603"]);
        assert_eq!(area_name(&store, "9508").await.0, "กรงปินัง");

        // `keep`: the newer spellings stay, each kept row is a warning.
        let report = run(&pipeline, &older("keep")).await;
        assert_eq!((report.counts.updated, report.counts.unchanged), (0, 21));
        assert_eq!(area_name(&store, "9508").await.0, "กรงปินัง");
        assert_eq!(area_name(&store, "9603").await.1.as_deref(), Some("Bacho"));

        // `overwrite`: they change and now belong to the 2018 list, so the 2025 list
        // would now change another connector's rows in turn.
        let report = run(&pipeline, &older("overwrite")).await;
        assert_eq!(report.counts.updated, 2);
        assert_eq!(area_name(&store, "9508").await.0, "กรงปีนัง");
        let refused = pipeline
            .run(&newer, Trigger::Manual)
            .await
            .expect_err("refused");
        assert!(
            refused
                .to_string()
                .contains("connector districts_2018 loaded"),
            "{refused}"
        );
    }
);

both_backends!(
    a_buddhist_era_year_left_as_ce_is_refused_with_the_fix_named,
    |backend| async move {
        let (_db, store, pipeline) = with_2018_districts(backend).await;
        let forgot_be_year =
            subdistricts_per_district("forgot_be_year", json!({ "const": "2561" }));
        let report = run(&pipeline, &forgot_be_year).await;
        assert_eq!(report.counts.rejected, SUBDISTRICT_ROWS);
        let lines = report.reasons.lines();
        assert_eq!(lines.len(), 1);
        assert_eq!(
            lines[0].reason,
            "period … looks like a Buddhist-era year (BE … is CE …); add the be_year \
             transform (or academic_year, fiscal_year) to the period field"
        );
        assert_eq!(lines[0].positions.len(), 3);
        let loaded = store
            .observations(&ObservationFilter::default(), None, 10)
            .await
            .expect("rows");
        assert!(loaded.items.is_empty());
    }
);

/// Areas of a 2025 kongvut list (`id`, `name_th`, `name_en`): all of Thailand, of
/// which those of Yala and Narathiwat find their parent once [`provinces`] ran.
fn areas_2025(name: &str, file: &str) -> ConnectorDef {
    connector(json!({
        "name": name,
        "target": "areas",
        "source": { "kind": "csv", "path": format!("kongvut-thai-province-data/{file}") },
        "mapping": { "fields": {
            "code": { "column": "id" },
            "name_th": { "column": "name_th" },
            "name_en": { "column": "name_en" }
        } }
    }))
}

/// A fresh database with the provinces and the 2025 districts of Yala and Narathiwat.
async fn with_2025_districts(backend: abe_tests::Backend) -> (TestDb, Store, Pipeline) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let pipeline = Pipeline::new(store.clone());
    run(&pipeline, &provinces()).await;
    run(&pipeline, &districts_2025()).await;
    (db, store, pipeline)
}

/// A fresh database with the provinces and the 2018 districts of Yala and Narathiwat,
/// and the indicator the per-district counts load into.
async fn with_2018_districts(backend: abe_tests::Backend) -> (TestDb, Store, Pipeline) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let pipeline = Pipeline::new(store.clone());
    run(&pipeline, &provinces()).await;
    run(
        &pipeline,
        &areas_of_no_header_file("districts", ["7", "8", "9"], json!({})),
    )
    .await;
    store
        .upsert_indicators(&[dropouts_indicator()])
        .await
        .expect("indicator");
    (db, store, pipeline)
}

/// The 2025 district list.
fn districts_2025() -> ConnectorDef {
    areas_2025("districts_2025", "districts.csv")
}

/// `(area, value)` of every observation `connector` loaded.
async fn values_of(store: &Store, connector: &str) -> Vec<(String, f64)> {
    let filter = ObservationFilter {
        connector: Some(connector.into()),
        ..Default::default()
    };
    let mut values: Vec<(String, f64)> = store
        .observations(&filter, None, 100)
        .await
        .expect("observations")
        .items
        .into_iter()
        .map(|o| (o.row.area_code, o.row.value))
        .collect();
    values.sort_by(|a, b| a.0.cmp(&b.0));
    values
}

both_backends!(
    records_are_counted_per_area_after_skipping_and_cutting_codes,
    |backend| async move {
        let (_db, store, pipeline) = with_2025_districts(backend).await;
        store
            .upsert_indicators(&[dropouts_indicator()])
            .await
            .expect("indicator");

        // Schools per district from the Wikipedia list of Yala's schools (names only,
        // no codes): three rows without a level are skipped, the rest counted.
        let schools = connector(json!({
            "name": "schools_per_district",
            "target": "observations",
            "source": { "kind": "csv", "path": "thai-school-data-wikipedia/yala.csv" },
            "mapping": {
                "aggregate": "count",
                "skip_if": [{ "column": "level", "blank": true }],
                "fields": {
                    "indicator": { "const": "dropouts" },
                    "area": { "column": "district", "transforms": [{ "area_name": { "within": ["province"] } }] },
                    "period": { "const": "2567", "transforms": ["be_year"] }
                }
            }
        }));
        let report = run(&pipeline, &schools).await;
        assert_eq!(report.counts.read, 349, "skipped records are not read");
        assert_eq!((report.counts.inserted, report.counts.rejected), (8, 0));
        assert_eq!(report.counts.duplicates, 349 - 8);
        let infos: Vec<(String, u64)> = report
            .reasons
            .lines()
            .iter()
            .filter(|l| l.severity == Severity::Info)
            .map(|l| (l.reason.clone(), l.count))
            .collect();
        assert_eq!(
            infos,
            [
                (
                    "rows added to the row of their key (aggregate = \"count\")".to_string(),
                    341
                ),
                (
                    "skipped: column \"level\" is blank (skip_if)".to_string(),
                    3
                ),
            ]
        );
        let counted = values_of(&store, "schools_per_district").await;
        assert_eq!(counted.len(), 8);
        assert_eq!(counted[0], ("9501".to_string(), 100.0), "Mueang Yala");
        assert_eq!(counted.iter().map(|(_, v)| v).sum::<f64>(), 349.0);

        // Districts per province from the 2025 list, whose provinces are numbered 1-77
        // in their own order: the DOPA province code is the district code's first two
        // digits.
        let per_province = connector(json!({
            "name": "districts_per_province",
            "target": "observations",
            "source": { "kind": "csv", "path": "kongvut-thai-province-data/districts.csv" },
            "mapping": {
                "aggregate": "count",
                "fields": {
                    "indicator": { "const": "dropouts" },
                    "area": { "column": "id", "transforms": [{ "substring": { "start": 1, "length": 2 } }] },
                    "period": { "const": "2568", "transforms": ["be_year"] }
                }
            }
        }));
        let report = run(&pipeline, &per_province).await;
        assert_eq!(report.counts.inserted, 2);
        assert_eq!(report.counts.rejected, 929 - 21, "provinces not loaded");
        assert_eq!(
            values_of(&store, "districts_per_province").await,
            [("95".to_string(), 8.0), ("96".to_string(), 13.0)]
        );
    }
);

both_backends!(
    two_schools_of_one_name_are_reported_not_merged_silently,
    |backend| async move {
        let (_db, store, pipeline) = with_2025_districts(backend).await;
        run(
            &pipeline,
            &areas_2025("subdistricts_2025", "sub_districts.csv"),
        )
        .await;
        // The list has no school codes: a steward keys schools by name, and the four
        // names that two schools share are reported, each naming both rows.
        let schools = connector(json!({
            "name": "yala_schools",
            "target": "schools",
            "source": { "kind": "csv", "path": "thai-school-data-wikipedia/yala.csv" },
            "mapping": { "fields": {
                "code": { "column": "name" },
                "name_th": { "column": "name" },
                "area": { "column": "subDistrict", "transforms": [
                    { "area_name": { "within": ["province", "district"] } }
                ] },
                "levels": { "column": "level" }
            } }
        }));
        let report = run(&pipeline, &schools).await;
        assert_eq!(report.counts.read, 352);
        let warnings: Vec<(Option<i64>, String)> = store
            .rejects(report.run_id, Severity::Warning, None, 100)
            .await
            .expect("warnings")
            .items
            .into_iter()
            .map(|w| (w.row_number, w.reason))
            .collect();
        assert_eq!(
            report.counts.duplicates,
            warnings.len() as u64,
            "{warnings:?}"
        );
        assert!(
            warnings.contains(&(
                Some(179),
                "key code=โรงเรียนบ้านละแอ repeats row 99; this later row was loaded \
                 (on_duplicate = \"last\")"
                    .to_string()
            )),
            "{warnings:?}"
        );
    }
);

both_backends!(
    refusing_every_repeated_key_never_empties_a_full_refresh,
    |backend| async move {
        let (_db, store, pipeline) = with_2018_districts(backend).await;
        let period = json!({ "const": "2561", "transforms": ["be_year"] });
        let summed = subdistricts_per_district_with("per_district", period.clone(), json!({}));
        assert_eq!(run(&pipeline, &summed).await.counts.inserted, 21);
        // The same file under `reject`: every key repeats, so nothing would load, and a
        // full refresh would delete what the connector loaded before.
        let refused = subdistricts_per_district_with(
            "per_district",
            period,
            json!({ "on_duplicate": "reject" }),
        );
        let failed = pipeline
            .run(&refused, Trigger::Manual)
            .await
            .expect_err("refused");
        assert!(
            matches!(
                failed,
                RunError::Failed {
                    cause: RunFailure::EmptySource { .. },
                    ..
                }
            ),
            "{failed}"
        );
        assert_eq!(
            values_of(&store, "per_district").await.len(),
            21,
            "nothing deleted"
        );
    }
);

both_backends!(
    an_incremental_run_that_meets_a_repeat_reads_on_from_where_it_started,
    |backend| async move {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let pipeline = Pipeline::new(store.clone());
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("areas.csv");
        std::fs::write(&file, "serial,code,name\n1,95,ยะลา\n2,9501,เมืองยะลา\n").expect("write");
        let def = ConnectorConfig::from_json(json!({
            "name": "areas_by_serial",
            "target": "areas",
            "sync_mode": "incremental",
            "cursor_field": "serial",
            "source": { "kind": "csv", "path": "areas.csv" },
            "mapping": { "fields": { "code": { "column": "code" }, "name_th": { "column": "name" } } }
        }))
        .expect("reads")
        .to_def(dir.path().to_path_buf())
        .expect("runs");
        assert_eq!(run(&pipeline, &def).await.counts.inserted, 2);
        // New records past the cursor, one key twice: the repeat sends the run round
        // again, from the cursor it started with.
        std::fs::write(
            &file,
            "serial,code,name\n1,95,ยะลา\n2,9501,เมืองยะลา\n3,9502,เบตง\n4,9502,เบตง\n",
        )
        .expect("write");
        let report = run(&pipeline, &def).await;
        assert_eq!(
            (
                report.counts.read,
                report.counts.inserted,
                report.counts.duplicates
            ),
            (2, 1, 1)
        );
        assert_eq!(area_name(&store, "9502").await.0, "เบตง");

        // Adding up is refused where only new records are read.
        let err = ConnectorConfig::from_json(json!({
            "name": "bad", "target": "observations", "sync_mode": "incremental",
            "cursor_field": "serial", "on_duplicate": "sum",
            "source": { "kind": "csv", "path": "areas.csv" },
            "mapping": { "fields": { "indicator": { "const": "x" }, "area": { "column": "code" },
                                     "period": { "const": "2024" }, "value": { "const": "1" } } }
        }))
        .expect("reads")
        .to_def(dir.path().to_path_buf())
        .expect_err("refused");
        assert!(
            err.to_string().contains("an incremental run reads only"),
            "{err}"
        );
    }
);
