//! The store's contract, run on both backends: migrations agree, loads count what they
//! do, a re-load changes nothing, a dropped load leaves the previous data, pages hold.

use abe_schema::{
    AreaRow, Code, ObservationRow, Reject, RunStatus, SourcePosition, Target, TargetRow,
};
use abe_store::{
    AreaFilter, ObservationFilter, OpenRun, RunLease, RunOutcome, RunRequest, RunSource, Staged,
    Store, StoreError,
};
use abe_tests::{both_backends, postgres_skipped, Backend, TestDb};
use chrono::{TimeDelta, Utc};
use std::time::Duration;

/// The process the tests' runs belong to.
const OWNER: &str = "store-test";

fn request(connector: &str, lease: Duration) -> RunRequest<'_> {
    RunRequest {
        connector,
        trigger: "manual",
        owner: OWNER,
        lease,
        scheduled_for: None,
    }
}

/// Opens a run of `connector`, which must not be running.
async fn open_run(store: &Store, connector: &str) -> i64 {
    match store
        .open_run(&request(connector, Duration::from_secs(60)), Utc::now())
        .await
        .expect("run")
    {
        OpenRun::Opened(id) => id,
        other => panic!("{connector} could not open a run: {other:?}"),
    }
}

fn lease(run_id: i64) -> RunLease<'static> {
    RunLease {
        run_id,
        owner: OWNER,
    }
}

fn area(code: &str, level: &str, parent: Option<&str>, name: &str) -> Staged<AreaRow> {
    Staged {
        row: AreaRow {
            code: code.into(),
            level: level.parse().expect("level"),
            parent_code: parent.map(str::to_string),
            name_th: name.into(),
            name_en: None,
        },
        source: 0,
        source_row: Some(1),
    }
}

fn observation(area: &str, period: &str, value: f64, row: i64) -> Staged<ObservationRow> {
    Staged {
        row: ObservationRow {
            indicator: "dropouts".into(),
            area_code: area.into(),
            school_code: String::new(),
            period: period.into(),
            breakdown: "sex=female".into(),
            value,
        },
        source: 0,
        source_row: Some(row),
    }
}

async fn load<R: TargetRow>(
    store: &Store,
    target: Target,
    connector: &str,
    rows: &[Staged<R>],
    full_refresh: bool,
) -> abe_store::LoadCounts {
    let run_id = open_run(store, connector).await;
    let mut load = store
        .begin_load(target, connector, run_id)
        .await
        .expect("begin");
    load.stage(rows).await.expect("stage");
    let counts = load.merge(full_refresh).await.expect("merge");
    let outcome = RunOutcome {
        sources: vec![RunSource {
            file: format!("{connector}.csv"),
            sheet: None,
        }],
        ..RunOutcome::default()
    };
    load.commit_run(&lease(run_id), &outcome, Utc::now())
        .await
        .expect("commit");
    counts
}

async fn seed_areas(store: &Store) {
    let rows = [
        area("90", "province", None, "สงขลา"),
        area("9001", "district", Some("90"), "เมืองสงขลา"),
        area("9011", "district", Some("90"), "หาดใหญ่"),
        area("65", "province", None, "พิษณุโลก"),
        area("6501", "district", Some("65"), "เมืองพิษณุโลก"),
    ];
    let counts = load(store, Target::Areas, "areas", &rows, false).await;
    assert_eq!(
        (counts.inserted, counts.updated, counts.unchanged),
        (5, 0, 0)
    );
}

async fn values(store: &Store, connector: &str) -> Vec<(String, String, f64)> {
    let filter = ObservationFilter {
        connector: Some(connector.into()),
        ..Default::default()
    };
    let page = store
        .observations(&filter, None, 1000)
        .await
        .expect("observations");
    page.items
        .into_iter()
        .map(|o| (o.row.area_code, o.row.period, o.row.value))
        .collect()
}

#[tokio::test]
async fn both_backends_end_with_the_same_tables_and_columns() {
    if postgres_skipped() {
        eprintln!("ABE_TEST_POSTGRES=skip: comparison not run");
        return;
    }
    let sqlite = TestDb::new(Backend::Sqlite).await;
    let postgres = TestDb::new(Backend::Postgres).await;
    let a = sqlite
        .store()
        .await
        .table_columns()
        .await
        .expect("sqlite columns");
    let b = postgres
        .store()
        .await
        .table_columns()
        .await
        .expect("postgres columns");
    assert!(a.len() > 50, "{a:?}");
    assert_eq!(a, b);
}

both_backends!(
    loads_count_inserted_updated_unchanged_and_deleted,
    |backend| async move {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        seed_areas(&store).await;
        let rows = vec![
            observation("9001", "2023", 10.0, 2),
            observation("9011", "2023", 20.0, 3),
            observation("6501", "2023", 30.0, 4),
        ];
        let first = load(&store, Target::Observations, "c", &rows, true).await;
        assert_eq!(
            (
                first.staged,
                first.inserted,
                first.updated,
                first.unchanged,
                first.deleted
            ),
            (3, 3, 0, 0, 0)
        );

        let again = load(&store, Target::Observations, "c", &rows, true).await;
        assert_eq!(
            (
                again.inserted,
                again.updated,
                again.unchanged,
                again.deleted
            ),
            (0, 0, 3, 0)
        );

        // One value changes, one row disappears from the source, one is new.
        let changed = vec![
            observation("9001", "2023", 11.0, 2),
            observation("9011", "2023", 20.0, 3),
            observation("9011", "2022", 5.0, 4),
        ];
        let third = load(&store, Target::Observations, "c", &changed, true).await;
        assert_eq!(
            (
                third.inserted,
                third.updated,
                third.unchanged,
                third.deleted
            ),
            (1, 1, 1, 1)
        );
        let mut now = values(&store, "c").await;
        now.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
        assert_eq!(
            now,
            vec![
                ("9001".into(), "2023".into(), 11.0),
                ("9011".into(), "2022".into(), 5.0),
                ("9011".into(), "2023".into(), 20.0)
            ]
        );

        // Another connector's rows with the same key are its own.
        let other = load(&store, Target::Observations, "other", &rows[..1], true).await;
        assert_eq!(other.inserted, 1);
        assert_eq!(values(&store, "c").await.len(), 3);

        // Upsert mode keeps rows the source no longer has.
        let upsert = load(&store, Target::Observations, "c", &rows[..1], false).await;
        assert_eq!((upsert.updated, upsert.deleted), (1, 0));
        assert_eq!(values(&store, "c").await.len(), 3);
    }
);

both_backends!(
    a_key_given_twice_keeps_the_later_row,
    |backend| async move {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        seed_areas(&store).await;
        let rows = vec![
            observation("9001", "2023", 1.0, 2),
            observation("9001", "2023", 2.0, 3),
        ];
        // A first load writes straight into the table, whose key refuses a repeated
        // one; the run then reloads through staging, which keeps the later row.
        let run_id = open_run(&store, "c").await;
        let mut direct = store
            .begin_load(Target::Observations, "c", run_id)
            .await
            .expect("begin");
        let staged_result = direct.stage(&rows).await;
        let mut load = match staged_result {
            Err(abe_store::StoreError::DuplicateKey) => {
                drop(direct);
                let mut staged = store
                    .begin_staged_load(Target::Observations, "c", run_id)
                    .await
                    .expect("begin");
                staged.stage(&rows).await.expect("stage");
                staged
            }
            other => panic!("{backend:?}: a repeated key in a first load gave {other:?}"),
        };
        let counts = load.merge(true).await.expect("merge");
        load.commit_run(&lease(run_id), &RunOutcome::default(), Utc::now())
            .await
            .expect("commit");
        assert_eq!((counts.staged, counts.inserted), (1, 1));
        assert_eq!(
            values(&store, "c").await,
            vec![("9001".into(), "2023".into(), 2.0)]
        );
    }
);

both_backends!(a_first_load_counts_every_row_once, |backend| async move {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    seed_areas(&store).await;
    let rows: Vec<Staged<ObservationRow>> = (0..12_000)
        .map(|i| {
            observation(
                ["9001", "9011", "6501"][i % 3],
                &format!("{}", 1000 + i / 3),
                i as f64,
                i as i64,
            )
        })
        .collect();
    let first = load(&store, Target::Observations, "c", &rows, true).await;
    assert_eq!(
        (first.staged, first.inserted, first.unchanged),
        (12_000, 12_000, 0)
    );
    let again = load(&store, Target::Observations, "c", &rows, true).await;
    assert_eq!(
        (again.inserted, again.updated, again.unchanged),
        (0, 0, 12_000)
    );
    let filter = ObservationFilter {
        connector: Some("c".into()),
        ..Default::default()
    };
    let page = store.observations(&filter, None, 10).await.expect("page");
    assert_eq!(page.total_count, 12_000);
});

both_backends!(
    a_dropped_load_leaves_the_previous_data,
    |backend| async move {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        seed_areas(&store).await;
        load(
            &store,
            Target::Observations,
            "c",
            &[observation("9001", "2023", 1.0, 2)],
            true,
        )
        .await;
        let run_id = open_run(&store, "c").await;
        {
            let mut failing = store
                .begin_load(Target::Observations, "c", run_id)
                .await
                .expect("begin");
            failing
                .stage(&[observation("9011", "2023", 9.0, 2)])
                .await
                .expect("stage");
            failing.merge(true).await.expect("merge");
            // Dropped without commit, as when a run fails or the process dies.
        }
        let outcome = RunOutcome {
            end: abe_store::RunEnd {
                counts: abe_schema::RunCounts {
                    read: 1,
                    rejected: 1,
                    ..Default::default()
                },
                error_code: Some(Code::SourceInvalid),
                error: Some("boom".into()),
                ..Default::default()
            },
            rejects: vec![Reject::new(
                SourcePosition {
                    file: "obs.csv".into(),
                    sheet: None,
                    row: Some(2),
                    column: Some("ปี".into()),
                },
                Some("25x6"),
                "not a year",
            )],
            ..Default::default()
        };
        store
            .finish_unloaded_run(&lease(run_id), RunStatus::Failed, &outcome, Utc::now())
            .await
            .expect("journal");
        assert_eq!(
            values(&store, "c").await,
            vec![("9001".into(), "2023".into(), 1.0)]
        );
        let run = store
            .runs(Some("c"), Some(&[run_id]), None, 1)
            .await
            .expect("runs")
            .items
            .remove(0);
        assert_eq!(
            (
                run.status.as_str(),
                run.end.error_code.map(Code::as_str),
                run.end.error.as_deref(),
                run.end.counts.rejected
            ),
            ("failed", Some("SOURCE_INVALID"), Some("boom"), 1)
        );
        let rejects = store
            .rejects(run_id, abe_schema::Severity::Reject, None, 10)
            .await
            .expect("rejects")
            .items;
        assert_eq!(rejects.len(), 1);
        assert_eq!(
            (rejects[0].row_number, rejects[0].column_name.as_deref()),
            (Some(2), Some("ปี"))
        );
    }
);

both_backends!(pages_are_stable_and_counted, |backend| async move {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    seed_areas(&store).await;
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .areas(&AreaFilter::default(), after.clone(), 2)
            .await
            .expect("page");
        assert_eq!(page.total_count, 5);
        seen.extend(page.items.iter().map(|a| a.code.clone()));
        after = page.items.last().map(|a| a.code.clone());
        if !page.has_next_page {
            break;
        }
    }
    assert_eq!(seen, ["65", "6501", "90", "9001", "9011"]);
    let districts = AreaFilter {
        parent: Some("90".into()),
        level: Some("district".into()),
        codes: None,
    };
    let page = store.areas(&districts, None, 10).await.expect("districts");
    assert_eq!(
        page.items
            .iter()
            .map(|a| a.code.as_str())
            .collect::<Vec<_>>(),
        ["9001", "9011"]
    );
    let descendants = ObservationFilter {
        area: Some("9_%".into()),
        ..Default::default()
    };
    assert_eq!(
        store
            .observations(&descendants, None, 10)
            .await
            .expect("escaped")
            .total_count,
        0
    );
});

both_backends!(
    a_run_holds_its_connectors_lease_until_it_ends_or_expires,
    |backend| async move {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let now = Utc::now();
        let short = Duration::from_secs(5);
        let first = match store
            .open_run(&request("c", short), now)
            .await
            .expect("open")
        {
            OpenRun::Opened(id) => id,
            other => panic!("{other:?}"),
        };
        // While the lease holds, another attempt is refused and told which run has it.
        match store
            .open_run(&request("c", short), now)
            .await
            .expect("open")
        {
            OpenRun::Busy { run_id, owner, .. } => {
                assert_eq!((run_id, owner.as_str()), (first, OWNER))
            }
            other => panic!("{other:?}"),
        }
        // Other connectors are not held up.
        assert!(matches!(
            store
                .open_run(&request("d", short), now)
                .await
                .expect("open"),
            OpenRun::Opened(_)
        ));
        // Only its owner extends it.
        assert!(store
            .extend_lease(first, OWNER, now, short)
            .await
            .expect("extend"));
        assert!(!store
            .extend_lease(first, "someone-else", now, short)
            .await
            .expect("extend"));
        // Nothing expires early; past the lease the run is abandoned, once.
        assert!(store
            .abandon_expired_runs(None, now)
            .await
            .expect("sweep")
            .is_empty());
        let later = now + TimeDelta::seconds(10);
        let abandoned = store
            .abandon_expired_runs(Some("c"), later)
            .await
            .expect("sweep");
        assert_eq!(abandoned, vec![(first, "c".to_string())]);
        assert!(store
            .abandon_expired_runs(None, later)
            .await
            .expect("sweep")
            .iter()
            .all(|(id, _)| *id != first));
        let run = store
            .runs(None, Some(&[first]), None, 1)
            .await
            .expect("runs")
            .items
            .remove(0);
        assert_eq!(
            (run.status.as_str(), run.end.error_code.map(Code::as_str)),
            ("abandoned", Some("ABANDONED"))
        );
        // The abandoned run's process comes back: it can no longer commit.
        let second = match store
            .open_run(&request("c", short), later)
            .await
            .expect("open")
        {
            OpenRun::Opened(id) => id,
            other => panic!("{other:?}"),
        };
        store
            .abandon_expired_runs(None, later + TimeDelta::seconds(10))
            .await
            .expect("sweep");
        let mut stale = store
            .begin_load(Target::Areas, "c", second)
            .await
            .expect("begin");
        stale
            .stage(&[area("90", "province", None, "สงขลา")])
            .await
            .expect("stage");
        stale.merge(false).await.expect("merge");
        let committed = stale
            .commit_run(&lease(second), &RunOutcome::default(), Utc::now())
            .await;
        assert!(
            matches!(committed, Err(StoreError::LeaseLost)),
            "{committed:?}"
        );
        assert_eq!(
            store.area_codes().await.expect("areas"),
            Vec::<String>::new(),
            "nothing committed"
        );
    }
);

both_backends!(replicas_firing_one_tick_run_it_once, |backend| async move {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let tick = Utc::now();
    let scheduled = RunRequest {
        trigger: "schedule",
        scheduled_for: Some(tick),
        ..request("c", Duration::from_secs(60))
    };
    let run_id = match store.open_run(&scheduled, tick).await.expect("open") {
        OpenRun::Opened(id) => id,
        other => panic!("{other:?}"),
    };
    store
        .finish_unloaded_run(
            &lease(run_id),
            RunStatus::Failed,
            &RunOutcome::default(),
            Utc::now(),
        )
        .await
        .expect("finish");
    // The run has ended, so the lease is free; the tick is still taken.
    let again = RunRequest {
        owner: "another-replica",
        ..scheduled.clone()
    };
    assert_eq!(
        store.open_run(&again, tick).await.expect("open"),
        OpenRun::TickTaken
    );
    let next = RunRequest {
        scheduled_for: Some(tick + TimeDelta::seconds(1)),
        ..again
    };
    assert!(matches!(
        store.open_run(&next, tick).await.expect("open"),
        OpenRun::Opened(_)
    ));
});

both_backends!(
    observation_pages_follow_the_key_and_carry_their_sources,
    |backend| async move {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        seed_areas(&store).await;
        let run_id = open_run(&store, "book").await;
        let mut load = store
            .begin_load(Target::Observations, "book", run_id)
            .await
            .expect("begin");
        // Two sheets of one workbook: source 0 and source 1 of the run.
        let rows: Vec<Staged<ObservationRow>> = (0..25)
            .map(|i| Staged {
                source: (i % 2) as i64,
                ..observation(
                    ["9011", "9001"][i % 2],
                    &format!("{}", 2000 + i),
                    i as f64,
                    i as i64 + 2,
                )
            })
            .collect();
        load.stage(&rows).await.expect("stage");
        load.merge(true).await.expect("merge");
        let finished = Utc::now();
        let outcome = RunOutcome {
            sources: ["2565", "2566"]
                .map(|sheet| RunSource {
                    file: "book.xlsx".into(),
                    sheet: Some(sheet.into()),
                })
                .to_vec(),
            ..RunOutcome::default()
        };
        load.commit_run(&lease(run_id), &outcome, finished)
            .await
            .expect("commit");

        let filter = ObservationFilter::default();
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = store
                .observations(&filter, after.clone(), 10)
                .await
                .expect("page");
            assert_eq!(page.total_count, 25);
            for o in &page.items {
                let sheet = if o.row.area_code == "9011" {
                    "2565"
                } else {
                    "2566"
                };
                assert_eq!(
                    (o.source_file.as_str(), o.source_sheet.as_deref(), o.run_id),
                    ("book.xlsx", Some(sheet), run_id)
                );
                assert_eq!(o.loaded_at.timestamp_millis(), finished.timestamp_millis());
            }
            after = page.items.last().map(|o| o.key());
            seen.extend(
                page.items
                    .iter()
                    .map(|o| (o.row.area_code.clone(), o.row.period.clone())),
            );
            if !page.has_next_page {
                break;
            }
        }
        let mut expected: Vec<(String, String)> = (0..25)
            .map(|i| (["9011", "9001"][i % 2].to_string(), format!("{}", 2000 + i)))
            .collect();
        expected.sort();
        assert_eq!(seen, expected, "every row once, in key order");
    }
);

both_backends!(
    every_target_description_matches_the_migrated_tables,
    |backend| async move {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let columns = store.table_columns().await.expect("columns");
        for target in Target::ALL {
            let desc = target.desc();
            let provenance: &[&str] = match desc.ownership {
                abe_schema::Ownership::Connector => {
                    &["connector", "run_id", "source", "source_row"]
                }
                abe_schema::Ownership::Shared => &["connector", "run_id"],
            };
            let wanted = desc
                .columns
                .iter()
                .map(|c| c.name)
                .chain(provenance.iter().copied());
            for column in wanted {
                assert!(
                    columns.iter().any(|(t, c)| t == desc.table && c == column),
                    "{backend:?}: {}.{column} is described but not in the database",
                    desc.table
                );
            }
        }
    }
);

both_backends!(
    reference_rows_are_removed_only_when_nothing_points_at_them,
    |backend| async move {
        use abe_store::{Dependents, Removal};
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let pipeline = abe_tests::fixtures::seed_dropouts(&store, dir.path()).await;
        std::fs::write(dir.path().join("d.csv"), "area,year,n\n9001,2566,4\n").expect("write");
        let def = abe_tests::fixtures::dropouts_connector(
            dir.path(),
            "d",
            abe_connectors::SourceConfig::Csv(abe_connectors::csv::CsvConfig::new("d.csv")),
            abe_pipeline::SyncMode::FullRefresh,
        );
        pipeline
            .run(&def, abe_pipeline::Trigger::Manual)
            .await
            .expect("run");

        assert_eq!(
            store.remove_area("9011").await.expect("remove"),
            Removal::Removed
        );
        assert_eq!(
            store.remove_area("9011").await.expect("remove"),
            Removal::NotFound
        );
        assert_eq!(
            store.remove_area("9001").await.expect("remove"),
            Removal::InUse(Dependents {
                observations: 1,
                ..Dependents::default()
            })
        );
        assert_eq!(
            store.remove_area("90").await.expect("remove"),
            Removal::InUse(Dependents {
                areas: 1,
                ..Dependents::default()
            })
        );
        let left: Vec<String> = store
            .areas_by_code(&["90".into(), "9001".into(), "9011".into()])
            .await
            .expect("areas")
            .into_iter()
            .map(|a| a.code)
            .collect();
        assert_eq!(left, ["90", "9001"]);
        assert_eq!(
            store.remove_school("nope").await.expect("remove"),
            Removal::NotFound
        );
    }
);
