//! Upgrades keep data: a database that holds rows in an earlier schema comes out of the
//! later migrations with the same observations and the same provenance.

use abe_store::{ObservationFilter, Store};
use abe_tests::{both_backends, Backend, TestDb};
use sqlx::migrate::Migrator;
use std::borrow::Cow;

/// The migrations of `backend` up to and including `version`.
fn migrator_up_to(backend: Backend, version: i64) -> Migrator {
    let mut migrator = match backend {
        Backend::Sqlite => sqlx::migrate!("../migrations/sqlite"),
        Backend::Postgres => sqlx::migrate!("../migrations/postgres"),
    };
    let kept: Vec<_> = migrator
        .iter()
        .filter(|m| m.version <= version)
        .cloned()
        .collect();
    migrator.migrations = Cow::Owned(kept);
    migrator
}

/// Rows as a hub before migration 0003 wrote them: file, sheet and load time per row.
const OLD_ROWS: &str = "INSERT INTO observations \
     (connector, indicator, area_code, school_code, period, breakdown, value, run_id, \
      source_file, source_sheet, source_row, loaded_at) VALUES \
     ('peo', 'dropouts', '9011', '', '2023', 'sex=male', 12.0, 1, 'book.xlsx', '2566', 7, '2024-01-02 03:04:05+00:00'), \
     ('peo', 'dropouts', '9011', '', '2022', 'sex=male', 10.0, 1, 'book.xlsx', '2565', 9, '2024-01-02 03:04:05+00:00'), \
     ('lao', 'dropouts', '9011', '', '2023', 'sex=male', 13.0, 2, 'lao.csv', NULL, 3, '2024-02-01 00:00:00+00:00')";

const OLD_RUNS: &str =
    "INSERT INTO runs (connector, trigger, status, started_at, finished_at) VALUES \
     ('peo', 'manual', 'succeeded', '2024-01-02 03:04:00+00:00', '2024-01-02 03:04:05+00:00'), \
     ('lao', 'manual', 'succeeded', '2024-02-01 00:00:00+00:00', '2024-02-01 00:00:01+00:00')";

/// Runs as hubs before migration 0004 journaled them: failures with only their wording,
/// and runs left `running` by a process that died.
const OLD_FAILED_RUNS: &str =
    "INSERT INTO runs (connector, trigger, status, started_at, finished_at, error) VALUES \
     ('x', 'manual', 'failed', '2024-03-01 00:00:00+00:00', '2024-03-01 00:00:01+00:00', \
      '7 of 10 rows were rejected (70.0%), above the connector''s limit of 5.0%; nothing was loaded'), \
     ('x', 'manual', 'failed', '2024-03-02 00:00:00+00:00', '2024-03-02 00:00:01+00:00', \
      'the source gave no rows to load (read 0, rejected 0); a full refresh would delete every row'), \
     ('x', 'manual', 'failed', '2024-03-03 00:00:00+00:00', '2024-03-03 00:00:01+00:00', \
      'interrupted: the hub stopped during the run; the previous data stands'), \
     ('x', 'manual', 'failed', '2024-03-04 00:00:00+00:00', '2024-03-04 00:00:01+00:00', \
      'x.csv: no header row'), \
     ('y', 'schedule', 'running', '2024-03-05 00:00:00+00:00', NULL, NULL), \
     ('y', 'schedule', 'running', '2024-03-06 00:00:00+00:00', NULL, NULL)";

async fn seed_old_schema(db: &TestDb, backend: Backend) {
    let migrator = migrator_up_to(backend, 2);
    match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&format!("{}?mode=rwc", db.url))
                .await
                .expect("sqlite");
            migrator.run(&pool).await.expect("old migrations");
            for sql in [OLD_RUNS, OLD_ROWS, OLD_FAILED_RUNS] {
                sqlx::query(sql).execute(&pool).await.expect("old rows");
            }
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.expect("postgres");
            migrator.run(&pool).await.expect("old migrations");
            for sql in [OLD_RUNS, OLD_ROWS, OLD_FAILED_RUNS] {
                sqlx::query(sql).execute(&pool).await.expect("old rows");
            }
            pool.close().await;
        }
    }
}

both_backends!(
    narrowing_observations_keeps_rows_and_provenance,
    |backend| async move {
        let db = TestDb::new(backend).await;
        seed_old_schema(&db, backend).await;
        let store = Store::connect(&db.url).await.expect("store");
        store.migrate().await.expect("later migrations");
        let page = store
            .observations(&ObservationFilter::default(), None, 10)
            .await
            .expect("observations");
        let rows: Vec<_> = page
            .items
            .iter()
            .map(|o| {
                (
                    o.connector.as_str(),
                    o.row.period.as_str(),
                    o.row.value,
                    o.source_file.as_str(),
                    o.source_sheet.as_deref(),
                    o.source_row,
                    o.run_id,
                )
            })
            .collect();
        // In key order: indicator, area, period, breakdown, school, connector.
        assert_eq!(
            rows,
            [
                ("peo", "2022", 10.0, "book.xlsx", Some("2565"), Some(9), 1),
                ("lao", "2023", 13.0, "lao.csv", None, Some(3), 2),
                ("peo", "2023", 12.0, "book.xlsx", Some("2566"), Some(7), 1),
            ]
        );
        // The load time is now the run's end.
        assert_eq!(
            page.items[1].loaded_at.to_rfc3339(),
            "2024-02-01T00:00:01+00:00"
        );
    }
);

both_backends!(
    runs_journaled_before_leases_get_their_codes,
    |backend| async move {
        let db = TestDb::new(backend).await;
        seed_old_schema(&db, backend).await;
        let store = Store::connect(&db.url).await.expect("store");
        store.migrate().await.expect("later migrations");
        let mut journal = Vec::new();
        for connector in ["x", "y"] {
            let runs = store
                .runs(Some(connector), None, None, 10)
                .await
                .expect("runs");
            // Newest first.
            journal.extend(runs.items.iter().rev().map(|r| {
                (
                    r.connector.clone(),
                    r.status.as_str(),
                    r.end.error_code.map(|c| c.as_str()),
                )
            }));
        }
        let x = |status, code| ("x".to_string(), status, code);
        let y = |status, code| ("y".to_string(), status, code);
        assert_eq!(
            journal,
            [
                x("failed", Some("TOO_MANY_REJECTS")),
                x("failed", Some("EMPTY_SOURCE")),
                x("abandoned", Some("ABANDONED")),
                x("failed", Some("INTERNAL")),
                // The older of two running runs was over; the newer's lease has expired
                // and the next look abandons it.
                y("abandoned", Some("ABANDONED")),
                y("running", None),
            ]
        );
        let abandoned = store
            .abandon_expired_runs(Some("y"), chrono::Utc::now())
            .await
            .expect("sweep");
        assert_eq!(abandoned.len(), 1);
    }
);
