//! Runs on real files written by the test: failures keep the previous data, runs of
//! one connector never overlap, school observations find their area.

use abe_connectors::csv::CsvConfig;
use abe_connectors::mapping::MappingConfig;
use abe_connectors::SourceConfig;
use abe_pipeline::{ConnectorDef, Pipeline, RunError, SyncMode, Trigger};
use abe_schema::{Agency, AgencyKind, Target};
use abe_store::{ObservationFilter, Store};
use abe_tests::fixtures::{dropouts_indicator, write_areas_csv};
use abe_tests::{both_backends, TestDb};
use std::path::Path;

fn mapping(json: serde_json::Value) -> MappingConfig {
    serde_json::from_value(json).expect("mapping")
}

fn def(
    dir: &Path,
    name: &str,
    target: Target,
    file: &str,
    mapping_json: serde_json::Value,
) -> ConnectorDef {
    ConnectorDef::new(
        name.into(),
        None,
        target,
        None,
        SyncMode::FullRefresh,
        SourceConfig::Csv(CsvConfig::new(file)),
        mapping(mapping_json),
        dir.to_path_buf(),
    )
    .expect("valid connector")
}

async fn setup(store: &Store, dir: &Path) -> Pipeline {
    store
        .upsert_agencies(&[Agency {
            code: "A".into(),
            name_th: "ก".into(),
            name_en: None,
            kind: AgencyKind::Ngo,
        }])
        .await
        .expect("agency");
    store
        .upsert_indicators(&[dropouts_indicator()])
        .await
        .expect("indicator");
    write_areas_csv(dir);
    std::fs::write(
        dir.join("schools.csv"),
        "code,name,area\n9099000001,โรงเรียน ๑,9011\n",
    )
    .expect("write");
    let pipeline = Pipeline::new(store.clone());
    let areas = def(
        dir,
        "areas",
        Target::Areas,
        "areas.csv",
        serde_json::json!({"fields": {"code": {"column": "code"}, "name_th": {"column": "name"}}}),
    );
    pipeline
        .run(&areas, Trigger::Manual)
        .await
        .expect("areas load");
    let schools = def(
        dir,
        "schools",
        Target::Schools,
        "schools.csv",
        serde_json::json!({"fields": {"code": {"column": "code"}, "name_th": {"column": "name"}, "area": {"column": "area"}}}),
    );
    pipeline
        .run(&schools, Trigger::Manual)
        .await
        .expect("schools load");
    pipeline
}

fn observations_def(dir: &Path) -> ConnectorDef {
    def(
        dir,
        "obs",
        Target::Observations,
        "obs.csv",
        serde_json::json!({"fields": {
            "indicator": {"const": "dropouts"},
            "area": {"column": "area"},
            "school": {"column": "school"},
            "period": {"column": "year", "transforms": ["be_year"]},
            "value": {"column": "n", "transforms": ["number"]}
        }}),
    )
}

/// Dropouts per area and Buddhist-era year, from the columns `area`, `year` and `n`.
fn dropouts_by_area() -> MappingConfig {
    mapping(serde_json::json!({"fields": {
        "indicator": {"const": "dropouts"},
        "area": {"column": "area"},
        "period": {"column": "year", "transforms": ["be_year"]},
        "value": {"column": "n", "transforms": ["number"]}
    }}))
}

async fn values(store: &Store) -> Vec<(String, String, f64)> {
    let filter = ObservationFilter {
        connector: Some("obs".into()),
        ..Default::default()
    };
    let page = store
        .observations(&filter, None, 100)
        .await
        .expect("observations");
    page.items
        .into_iter()
        .map(|o| (o.row.area_code, o.row.school_code, o.row.value))
        .collect()
}

both_backends!(a_failed_run_keeps_the_previous_data, |backend| async move {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let dir = tempfile::tempdir().expect("tempdir");
    let pipeline = setup(&store, dir.path()).await;
    std::fs::write(
        dir.path().join("obs.csv"),
        "area,school,year,n\n9001,,2566,12\n,9099000001,2566,3\n9099,,2566,1\n",
    )
    .expect("write");
    let def = observations_def(dir.path());
    let report = pipeline
        .run(&def, Trigger::Manual)
        .await
        .expect("first run");
    assert_eq!(
        (
            report.counts.read,
            report.counts.inserted,
            report.counts.rejected
        ),
        (3, 2, 1)
    );
    // The school's observation found the school's area.
    let before = values(&store).await;
    assert_eq!(
        before,
        vec![
            ("9001".into(), "".into(), 12.0),
            ("9011".into(), "9099000001".into(), 3.0)
        ]
    );

    // The file changes shape: a mapped column is gone. The run fails, nothing changes.
    std::fs::write(
        dir.path().join("obs.csv"),
        "area,year,count\n9001,2566,99\n",
    )
    .expect("write");
    match pipeline.run(&def, Trigger::Manual).await {
        Err(RunError::Failed { cause, .. }) => {
            let message = cause.to_string();
            assert!(
                message.contains("obs.csv: column \"school\" is not in the header"),
                "{message}"
            )
        }
        other => panic!("expected a failed run, got {other:?}"),
    }
    assert_eq!(values(&store).await, before);

    // The file disappears: same.
    std::fs::remove_file(dir.path().join("obs.csv")).expect("remove");
    let err = pipeline
        .run(&def, Trigger::Manual)
        .await
        .expect_err("missing file fails");
    assert!(err.to_string().contains("cannot read obs.csv"), "{err}");
    assert_eq!(values(&store).await, before);
    let runs = store.runs(Some("obs"), None, None, 10).await.expect("runs");
    let statuses: Vec<&str> = runs.items.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(statuses, ["failed", "failed", "succeeded"]);
});

both_backends!(
    too_many_rejects_fail_the_run_and_load_nothing,
    |backend| async move {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let pipeline = setup(&store, dir.path()).await;
        std::fs::write(
            dir.path().join("obs.csv"),
            "area,school,year,n\n9001,,2566,12\n9011,,2566,x\n",
        )
        .expect("write");
        let strict = observations_def(dir.path())
            .with_max_reject_share(Some(0.25))
            .expect("valid share");
        let err = pipeline
            .run(&strict, Trigger::Manual)
            .await
            .expect_err("over the limit");
        assert!(
            err.to_string().contains(
                "1 of 2 rows were rejected (50.0%), above the connector's limit of 25.0%"
            ),
            "{err}"
        );
        assert!(values(&store).await.is_empty());
        let runs = store
            .runs(Some("obs"), None, None, 1)
            .await
            .expect("runs")
            .items;
        assert_eq!(
            (
                runs[0].status.as_str(),
                runs[0].end.counts.rejected,
                runs[0].end.counts.inserted
            ),
            ("failed", 1, 0)
        );
        assert_eq!(
            store
                .rejects(runs[0].id, abe_schema::Severity::Reject, None, 10)
                .await
                .expect("rejects")
                .total_count,
            1
        );
        let lenient = observations_def(dir.path())
            .with_max_reject_share(Some(0.5))
            .expect("valid share");
        let report = pipeline
            .run(&lenient, Trigger::Manual)
            .await
            .expect("at the limit loads");
        assert_eq!(report.counts.inserted, 1);
        assert!(observations_def(dir.path())
            .with_max_reject_share(Some(1.5))
            .is_err());
    }
);

both_backends!(
    a_key_repeated_in_a_first_load_keeps_the_later_row,
    |backend| async move {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let pipeline = setup(&store, dir.path()).await;
        std::fs::write(
            dir.path().join("obs.csv"),
            "area,school,year,n\n9001,,2566,1\n9011,,2566,5\n9001,,2566,2\n",
        )
        .expect("write");
        let report = pipeline
            .run(&observations_def(dir.path()), Trigger::Manual)
            .await
            .expect("loads");
        assert_eq!(
            (report.counts.read, report.counts.inserted),
            (3, 2),
            "{report:?}"
        );
        assert_eq!(
            values(&store).await,
            vec![
                ("9001".into(), "".into(), 2.0),
                ("9011".into(), "".into(), 5.0)
            ]
        );
    }
);

both_backends!(
    a_key_repeated_batches_later_in_a_first_load_keeps_the_later_row,
    |backend| async move {
        // The first load streams batch after batch straight into the table; a key met
        // again two batches later fails it only at the end, and the run reloads through
        // staging.
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let pipeline = setup(&store, dir.path()).await;
        let mut csv = String::from("area,period,n\n");
        for i in 0..12_000 {
            csv.push_str(&format!("9001,P{i:05},{i}\n"));
        }
        csv.push_str("9001,P00003,-1\n");
        std::fs::write(dir.path().join("long.csv"), csv).expect("write");
        let long = def(
            dir.path(),
            "obs",
            Target::Observations,
            "long.csv",
            serde_json::json!({"fields": {
                "indicator": {"const": "dropouts"},
                "area": {"column": "area"},
                "period": {"column": "period"},
                "value": {"column": "n", "transforms": ["number"]}
            }}),
        );
        let report = pipeline.run(&long, Trigger::Manual).await.expect("loads");
        assert_eq!(
            (
                report.counts.read,
                report.counts.inserted,
                report.counts.rejected
            ),
            (12_001, 12_000, 0),
            "{report:?}"
        );
        let filter = ObservationFilter {
            periods: Some(vec!["P00003".into(), "P11999".into()]),
            ..Default::default()
        };
        let page = store.observations(&filter, None, 10).await.expect("page");
        let got: Vec<(String, f64, Option<i64>)> = page
            .items
            .into_iter()
            .map(|o| (o.row.period, o.row.value, o.source_row))
            .collect();
        assert_eq!(
            got,
            vec![
                ("P00003".into(), -1.0, Some(12_002)),
                ("P11999".into(), 11_999.0, Some(12_001))
            ]
        );
    }
);

both_backends!(
    areas_given_by_name_resolve_against_the_loaded_areas,
    |backend| async move {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let pipeline = setup(&store, dir.path()).await;
        std::fs::write(
            dir.path().join("named.csv"),
            "district,year,n\nหาดใหญ่,2566,4\nอำเภอเมืองสงขลา,2566,3\nไม่มีอำเภอนี้,2566,1\n",
        )
        .expect("write");
        let named = def(
            dir.path(),
            "obs",
            Target::Observations,
            "named.csv",
            serde_json::json!({"fields": {
                "indicator": {"const": "dropouts"},
                "area": {"column": "district", "transforms": [{"area_name": {"level": "district", "within": ["=90"]}}]},
                "period": {"column": "year", "transforms": ["be_year"]},
                "value": {"column": "n", "transforms": ["number"]}
            }}),
        );
        let report = pipeline.run(&named, Trigger::Manual).await.expect("loads");
        assert_eq!(
            (report.counts.inserted, report.counts.rejected),
            (2, 1),
            "{report:?}"
        );
        let mut loaded = values(&store).await;
        loaded.sort_by(|a, b| a.0.cmp(&b.0));
        assert_eq!(
            loaded,
            vec![
                ("9001".into(), "".into(), 3.0),
                ("9011".into(), "".into(), 4.0)
            ]
        );
        let rejects = store
            .rejects(report.run_id, abe_schema::Severity::Reject, None, 10)
            .await
            .expect("rejects")
            .items;
        assert_eq!(
            (rejects[0].row_number, rejects[0].column_name.as_deref()),
            (Some(4), Some("district"))
        );
    }
);

both_backends!(
    incremental_runs_resume_from_the_stored_cursor,
    |backend| async move {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let pipeline = setup(&store, dir.path()).await;
        let incremental = ConnectorDef::new(
            "obs".into(),
            None,
            Target::Observations,
            None,
            SyncMode::Incremental,
            SourceConfig::Csv(CsvConfig::new("obs.csv")),
            dropouts_by_area(),
            dir.path().to_path_buf(),
        )
        .expect("valid")
        .with_cursor_field(Some("serial".into()))
        .expect("cursor field");
        std::fs::write(
            dir.path().join("obs.csv"),
            "serial,area,year,n\n1,9001,2564,10\n2,9011,2564,20\n",
        )
        .expect("write");
        let first = pipeline
            .run(&incremental, Trigger::Manual)
            .await
            .expect("first");
        assert_eq!((first.counts.read, first.counts.inserted), (2, 2));
        // The source grows; an old row changed in place is behind the cursor and skipped.
        std::fs::write(
            dir.path().join("obs.csv"),
            "serial,area,year,n\n1,9001,2564,99\n2,9011,2564,20\n10,9001,2565,30\n",
        )
        .expect("write");
        let second = pipeline
            .run(&incremental, Trigger::Manual)
            .await
            .expect("second");
        assert_eq!(
            (
                second.counts.read,
                second.counts.inserted,
                second.counts.updated
            ),
            (1, 1, 0)
        );
        assert_eq!(
            store.last_cursor("obs").await.expect("cursor").as_deref(),
            Some("10")
        );
        // Nothing new: the cursor is carried forward, nothing is deleted.
        let third = pipeline
            .run(&incremental, Trigger::Manual)
            .await
            .expect("third");
        assert_eq!((third.counts.read, third.counts.deleted), (0, 0));
        assert_eq!(
            store.last_cursor("obs").await.expect("cursor").as_deref(),
            Some("10")
        );
        let mut loaded: Vec<f64> = values(&store).await.iter().map(|v| v.2).collect();
        loaded.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
        assert_eq!(loaded, vec![10.0, 20.0, 30.0]);
        // An incremental connector without a cursor field is refused, and the reverse.
        let plain = observations_def(dir.path());
        assert!(ConnectorDef {
            sync_mode: SyncMode::Incremental,
            ..plain.clone()
        }
        .with_cursor_field(None)
        .is_err());
        assert!(plain.with_cursor_field(Some("serial".into())).is_err());
    }
);

both_backends!(
    the_same_connector_never_runs_twice_at_once,
    |backend| async move {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let pipeline = setup(&store, dir.path()).await;
        let mut big = String::from("area,school,year,n\n");
        for i in 0..60_000 {
            big.push_str(&format!("9001,,{},{}\n", 1000 + i, i));
        }
        std::fs::write(dir.path().join("obs.csv"), big).expect("write");
        let def = observations_def(dir.path());
        let (a, b) = tokio::join!(
            pipeline.run(&def, Trigger::Manual),
            pipeline.run(&def, Trigger::Schedule)
        );
        let refused = [&a, &b]
            .iter()
            .filter(|r| matches!(r, Err(RunError::AlreadyRunning { .. })))
            .count();
        let succeeded = [&a, &b].iter().filter(|r| r.is_ok()).count();
        assert_eq!((refused, succeeded), (1, 1), "{a:?} {b:?}");
        let runs = store.runs(Some("obs"), None, None, 10).await.expect("runs");
        assert!(
            runs.items.iter().all(|r| r.status.as_str() != "running"),
            "the lease is given up: {:?}",
            runs.items
        );
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preview_stops_reading_at_its_time_limit_and_when_its_caller_leaves() {
    use std::sync::atomic::Ordering;
    use std::time::Duration;
    let db = TestDb::new(abe_tests::Backend::Sqlite).await;
    let store = db.store().await;
    let pipeline = Pipeline::new(store.clone());
    let (url, hits) = abe_tests::web::slow_pages(Duration::from_millis(200), u64::MAX).await;
    let source: SourceConfig = serde_json::from_value(serde_json::json!({
        "kind": "http_json", "url": url, "pagination": { "kind": "page", "param": "page" }
    }))
    .expect("source");
    let dir = tempfile::tempdir().expect("tempdir");
    let def = ConnectorDef::new(
        "slow".into(),
        None,
        Target::Areas,
        None,
        SyncMode::FullRefresh,
        source,
        mapping(serde_json::json!({"fields": {"code": {"column": "code"}, "name_th": {"column": "name"}}})),
        dir.path().to_path_buf(),
    )
    .expect("valid");

    let timed_out = pipeline
        .preview(&def, 100, Duration::from_millis(700))
        .await;
    assert!(
        matches!(timed_out, Err(abe_pipeline::PreviewError::TimedOut(_))),
        "{timed_out:?}"
    );
    let at_limit = hits.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        hits.load(Ordering::SeqCst) <= at_limit + 1,
        "the read went on after the preview's time: {at_limit} then {}",
        hits.load(Ordering::SeqCst)
    );

    // A preview whose caller goes away (a request that ended) stops reading too.
    let preview = pipeline.preview(&def, 100, Duration::from_secs(20));
    assert!(tokio::time::timeout(Duration::from_millis(700), preview)
        .await
        .is_err());
    let at_drop = hits.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        hits.load(Ordering::SeqCst) <= at_drop + 1,
        "the read went on after its caller left: {at_drop} then {}",
        hits.load(Ordering::SeqCst)
    );
}

/// On SQLite the run's heartbeat commits while the load's transaction is open; the load
/// must not have pinned an older snapshot first (SQLITE_BUSY_SNAPSHOT on its first write).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_source_loads_while_its_lease_is_kept() {
    use std::time::Duration;
    let db = TestDb::new(abe_tests::Backend::Sqlite).await;
    let store = db.store().await;
    let dir = tempfile::tempdir().expect("tempdir");
    abe_tests::fixtures::seed_dropouts(&store, dir.path()).await;
    // A one-second lease is extended every quarter second; the source takes longer.
    let pipeline = Pipeline::new(store.clone()).with_lease(Duration::from_secs(1));
    let (url, _hits) = abe_tests::web::slow_pages(Duration::from_millis(300), 5).await;
    let source: SourceConfig = serde_json::from_value(serde_json::json!({
        "kind": "http_json", "url": url, "pagination": { "kind": "page", "param": "page" }
    }))
    .expect("source");
    let def = ConnectorDef::new(
        "slow".into(),
        None,
        Target::Observations,
        None,
        SyncMode::FullRefresh,
        source,
        dropouts_by_area(),
        dir.path().to_path_buf(),
    )
    .expect("valid");
    // The first run loads directly, the second through staging and the merge.
    for attempt in 0..2 {
        let report = pipeline
            .run(&def, Trigger::Manual)
            .await
            .unwrap_or_else(|e| panic!("run {attempt}: {e}"));
        assert_eq!(
            (report.counts.read, report.counts.rejected),
            (5, 0),
            "run {attempt}"
        );
    }
    let runs = store
        .runs(Some("slow"), None, None, 10)
        .await
        .expect("runs");
    let statuses: Vec<&str> = runs.items.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(statuses, ["succeeded", "succeeded"]);
}
