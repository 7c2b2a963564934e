//! The corpus of bad inputs. Every public file under `../shared/data` opens or is refused
//! cleanly by every file source (the right kind and the wrong one); broken files written
//! here and broken web answers each fail a run with an error naming the file or address,
//! and leave what an earlier run loaded exactly as it was.

use abe_connectors::csv::CsvConfig;
use abe_connectors::excel::{ExcelConfig, SheetRef, SheetSelection};
use abe_connectors::http_json::{HttpJsonConfig, Pagination};
use abe_connectors::{OpenContext, SourceConfig, SourceItem};
use abe_pipeline::{ConnectorDef, Pipeline, RunError, SyncMode, Trigger};
use abe_tests::fixtures::{dropouts_connector, loaded, seed_dropouts};
use abe_tests::{both_backends, repo_path, TestDb};
use std::io::Write;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Items read from one file before the sweep moves on: enough to cross every page
/// and sheet boundary of these files, bounded so the sweep stays quick.
const SWEEP_ITEM_LIMIT: usize = 20_000;

#[derive(Debug)]
enum Outcome {
    Read { records: usize, rejects: usize },
    Refused(String),
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).expect("readable folder") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                folders.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// Opens and drains a source, turning a panic into a test failure naming the file.
fn sweep(label: &str, source: &SourceConfig, base: &Path) -> Outcome {
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
        let mut stream = match source.source().open(&OpenContext::full(base)) {
            Ok(stream) => stream,
            Err(e) => return Outcome::Refused(e.to_string()),
        };
        let (mut records, mut rejects) = (0, 0);
        for item in stream.by_ref().take(SWEEP_ITEM_LIMIT) {
            match item {
                Ok(SourceItem::Record(_)) => records += 1,
                Ok(SourceItem::Reject(reject)) => {
                    assert!(
                        !reject.position.file.is_empty(),
                        "{label}: a reject without its file: {reject}"
                    );
                    rejects += 1;
                }
                Err(e) => return Outcome::Refused(e.to_string()),
            }
        }
        Outcome::Read { records, rejects }
    }));
    result.unwrap_or_else(|_| panic!("{label} panicked"))
}

#[test]
fn every_shared_file_opens_or_is_refused_cleanly_by_every_file_source() {
    let base = repo_path("../shared/data");
    let files = files_under(&base);
    assert!(
        files.len() > 100,
        "the shared corpus is in place ({} files)",
        files.len()
    );
    let (mut refused, mut read, mut rows, mut rejected) = (0, 0, 0, 0);
    for file in &files {
        let relative = file
            .strip_prefix(&base)
            .expect("under base")
            .to_string_lossy()
            .to_string();
        let mut every_visible = ExcelConfig::new(relative.clone());
        every_visible.sheet = Some(SheetSelection::One(SheetRef::Name("*".into())));
        let mut sources = vec![
            ("csv", SourceConfig::Csv(CsvConfig::new(relative.clone()))),
            ("excel", SourceConfig::Excel(every_visible)),
        ];
        if relative.ends_with(".json") {
            sources.push((
                "http_json",
                SourceConfig::HttpJson(HttpJsonConfig::new(relative.clone())),
            ));
        }
        for (kind, source) in sources {
            let label = format!("{relative} as {kind}");
            match sweep(&label, &source, &base) {
                Outcome::Refused(message) => {
                    refused += 1;
                    assert!(
                        message.contains(&relative),
                        "{label}: the error does not name the file: {message}"
                    );
                }
                Outcome::Read { records, rejects } => {
                    read += 1;
                    rows += records;
                    rejected += rejects;
                }
            }
        }
    }
    eprintln!(
        "{} files: {read} reads ({rows} records, {rejected} rejects), {refused} clean refusals",
        files.len()
    );
}

#[test]
fn known_bad_shared_files_are_refused_with_the_reason() {
    let base = repo_path("../shared/data");
    let mut report = Vec::new();
    let excel = |file: &str| SourceConfig::Excel(ExcelConfig::new(file));
    let csv = |file: &str| SourceConfig::Csv(CsvConfig::new(file));
    for (source, reason) in [
        (excel("calamine-tests/pass_protected.xlsx"), "password"),
        (
            excel("messytables-horror/encrypted_no_password.xls"),
            "password",
        ),
        (excel("calamine-tests/issue_594_dos.ods"), "limit"),
        (
            excel("calamine-tests/too_small.xls"),
            "not a readable spreadsheet",
        ),
        (
            excel("calamine-tests/issue_666_panic.xlsb"),
            "issue_666_panic.xlsb",
        ),
        (
            excel("calamine-tests/empty_sheet.xlsx"),
            "the sheet is empty",
        ),
        (
            excel("csvlint-fixtures/valid.csv"),
            "not a readable spreadsheet",
        ),
        (csv("csvlint-fixtures/spreadsheet.xlsx"), "zip archive"),
        (csv("csvlint-fixtures/spreadsheet.xls"), "ole file"),
        (
            csv("messytables-horror/characters.csv"),
            "cannot tell its encoding",
        ),
        (
            csv("csvlint-fixtures/invalid-byte-sequence.csv"),
            "encoding",
        ),
    ] {
        let label = format!("{source:?}");
        match sweep(&label, &source, &base) {
            Outcome::Refused(message) => {
                assert!(
                    message.to_lowercase().contains(reason),
                    "{label}: expected \"{reason}\" in: {message}"
                );
                report.push(serde_json::json!({
                    "source": serde_json::to_value(&source).expect("json"),
                    "refused": message,
                }));
            }
            Outcome::Read { .. } => panic!("{label} was read"),
        }
    }
    // What a steward reads for each of them, reviewed as a whole when it changes.
    insta::assert_json_snapshot!("known_bad_files", report);
}

/// Runs `def`, expects it to fail with `expected` in its message, and returns the
/// message.
async fn expect_failure(pipeline: &Pipeline, def: &ConnectorDef, case: &str, expected: &str) {
    match pipeline.run(def, Trigger::Manual).await {
        Err(RunError::Failed { cause, .. }) => assert!(
            cause.to_string().contains(expected),
            "{case}: expected \"{expected}\" in: {cause}"
        ),
        other => panic!("{case}: expected a failed run, got {other:?}"),
    }
}

fn good_workbook(path: &Path) {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name("2566").expect("sheet name");
    for (column, name) in ["area", "year", "n"].iter().enumerate() {
        sheet.write_string(0, column as u16, *name).expect("header");
    }
    for (row, (area, n)) in [("9001", 12.0), ("9011", 3.0)].iter().enumerate() {
        let row = row as u32 + 1;
        sheet.write_string(row, 0, *area).expect("area");
        sheet.write_number(row, 1, 2566.0).expect("year");
        sheet.write_number(row, 2, *n).expect("n");
    }
    workbook.save(path).expect("save workbook");
}

/// Writes a broken file at a path.
type WriteFile<'a> = Box<dyn Fn(&Path) + 'a>;

fn zip_of_text(path: &Path) {
    let file = std::fs::File::create(path).expect("create");
    let mut zip = zip::ZipWriter::new(file);
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("readme.txt", options).expect("entry");
    zip.write_all(b"not a workbook").expect("write");
    zip.finish().expect("finish");
}

both_backends!(
    broken_files_fail_the_run_clearly_and_keep_the_loaded_rows,
    |backend| async move {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = |name: &str| dir.path().join(name);
        let pipeline = seed_dropouts(&store, dir.path()).await;
        let want = vec![
            ("9001".to_string(), "2023".to_string(), 12.0),
            ("9011".to_string(), "2023".to_string(), 3.0),
        ];

        let csv_def = dropouts_connector(
            dir.path(),
            "obs_csv",
            SourceConfig::Csv(CsvConfig::new("obs.csv")),
            SyncMode::FullRefresh,
        );
        std::fs::write(path("obs.csv"), "area,year,n\n9001,2566,12\n9011,2566,3\n").expect("write");
        pipeline
            .run(&csv_def, Trigger::Manual)
            .await
            .expect("good csv");
        assert_eq!(loaded(&store, "obs_csv").await, want);

        let huge_cell = format!("area,year,n\n9001,2566,\"{}\"\n", "9".repeat(3 << 20));
        let csv_cases: Vec<(&str, Vec<u8>, &str)> = vec![
            (
                "empty file",
                Vec::new(),
                "obs.csv: no header row: the file ends before row 1 (the file is empty)",
            ),
            (
                "header only",
                b"area,year,n\r\n".to_vec(),
                "the source gave no rows to load (read 0, rejected 0)",
            ),
            (
                "binary",
                b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec(),
                "obs.csv is not a readable CSV file: it is binary, not text (a PNG image)",
            ),
            (
                "NUL bytes",
                b"area,year,n\n9001\0\0\0,2566,1\n".to_vec(),
                "it has NUL bytes",
            ),
            (
                "invalid bytes",
                b"area,year,n\n\xff\xfe\xfa\xfb,2566,1\n".to_vec(),
                "cannot tell its encoding",
            ),
            (
                "huge cell",
                huge_cell.into_bytes(),
                "the source gave no rows to load (read 1, rejected 1)",
            ),
            (
                "unclosed quote",
                b"area,year,n\n9001,2566,\"12\n9011,2566,3\n".to_vec(),
                "the source gave no rows to load",
            ),
        ];
        for (case, bytes, expected) in csv_cases {
            std::fs::write(path("obs.csv"), bytes).expect("write");
            expect_failure(&pipeline, &csv_def, case, expected).await;
            assert_eq!(loaded(&store, "obs_csv").await, want, "{case}: rows kept");
        }
        // The huge cell was reported as a reject of its failed run, naming row and column.
        std::fs::write(
            path("obs.csv"),
            format!("area,year,n\n9001,2566,\"{}\"\n", "9".repeat(3 << 20)),
        )
        .expect("write");
        let run_id = match pipeline.run(&csv_def, Trigger::Manual).await {
            Err(RunError::Failed { run_id, .. }) => run_id,
            other => panic!("huge cell: {other:?}"),
        };
        let rejects = store
            .rejects(run_id, abe_schema::Severity::Reject, None, 10)
            .await
            .expect("rejects")
            .items;
        assert_eq!(rejects.len(), 1);
        assert_eq!(
            (rejects[0].row_number, rejects[0].column_name.as_deref()),
            (Some(2), Some("n"))
        );
        assert!(
            rejects[0].reason.contains("the limit for one cell"),
            "{}",
            rejects[0].reason
        );

        let xlsx_def = dropouts_connector(
            dir.path(),
            "obs_xlsx",
            SourceConfig::Excel(ExcelConfig::new("obs.xlsx")),
            SyncMode::FullRefresh,
        );
        good_workbook(&path("obs.xlsx"));
        pipeline
            .run(&xlsx_def, Trigger::Manual)
            .await
            .expect("good xlsx");
        assert_eq!(loaded(&store, "obs_xlsx").await, want);
        let good = std::fs::read(path("obs.xlsx")).expect("read");
        let mut wrong_sheet = ExcelConfig::new("obs.xlsx");
        wrong_sheet.sheet = Some(SheetSelection::One(SheetRef::Name("2567".into())));
        let wrong_sheet_def = dropouts_connector(
            dir.path(),
            "obs_xlsx",
            SourceConfig::Excel(wrong_sheet),
            SyncMode::FullRefresh,
        );
        expect_failure(
            &pipeline,
            &wrong_sheet_def,
            "wrong sheet",
            "obs.xlsx: no sheet named \"2567\" (the workbook has \"2566\")",
        )
        .await;
        let xlsx_cases: Vec<(&str, WriteFile, &str)> = vec![
            (
                "truncated",
                Box::new(|p: &Path| std::fs::write(p, &good[..good.len() / 2]).expect("write")),
                "obs.xlsx is not a readable spreadsheet workbook",
            ),
            (
                "corrupt",
                Box::new(|p: &Path| {
                    let mut bytes = good.clone();
                    let middle = bytes.len() / 2;
                    bytes[middle..middle + 64].fill(0x5A);
                    std::fs::write(p, bytes).expect("write")
                }),
                "obs.xlsx is not a readable spreadsheet workbook",
            ),
            (
                "zip that is not a workbook",
                Box::new(zip_of_text),
                "obs.xlsx is not a readable spreadsheet workbook",
            ),
            (
                "a CSV named .xlsx",
                Box::new(|p: &Path| {
                    std::fs::write(p, "area,year,n\n9001,2566,1\n").expect("write")
                }),
                "obs.xlsx is not a readable spreadsheet workbook",
            ),
            (
                "empty file",
                Box::new(|p: &Path| std::fs::write(p, "").expect("write")),
                "obs.xlsx is not a readable spreadsheet workbook",
            ),
        ];
        for (case, write, expected) in xlsx_cases {
            write(&path("obs.xlsx"));
            expect_failure(&pipeline, &xlsx_def, case, expected).await;
            assert_eq!(loaded(&store, "obs_xlsx").await, want, "{case}: rows kept");
        }
        // Every failure was journaled; the good loads are the only successes.
        let runs = store
            .runs(Some("obs_csv"), None, None, 100)
            .await
            .expect("runs")
            .items;
        assert_eq!(
            runs.iter()
                .filter(|r| r.status.as_str() == "succeeded")
                .count(),
            1
        );
        assert_eq!(
            runs.iter()
                .filter(|r| r.status.as_str() == "failed")
                .count(),
            8
        );
    }
);

#[derive(Clone, Copy)]
enum Answer {
    Good,
    HtmlErrorPage,
    NotAnArray,
    Endless,
}

both_backends!(
    broken_web_answers_fail_the_run_clearly_and_keep_the_loaded_rows,
    |backend| async move {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let dir = tempfile::tempdir().expect("tempdir");
        let pipeline = seed_dropouts(&store, dir.path()).await;
        let answer = Arc::new(Mutex::new(Answer::Good));
        let serving = Arc::clone(&answer);
        let app = axum::Router::new().route(
            "/records",
            axum::routing::get(
                move |axum::extract::Query(q): axum::extract::Query<
                    std::collections::HashMap<String, String>,
                >| {
                    let answer = *serving.lock().expect("lock");
                    async move {
                        use axum::response::IntoResponse;
                        let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
                        let rows = serde_json::json!([
                            {"area": "9001", "year": "2566", "n": 12},
                            {"area": "9011", "year": "2566", "n": 3}
                        ]);
                        match answer {
                            Answer::Good if page == 1 => axum::Json(rows).into_response(),
                            Answer::Good => axum::Json(serde_json::json!([])).into_response(),
                            Answer::HtmlErrorPage => (
                                [(axum::http::header::CONTENT_TYPE, "text/html")],
                                "<!DOCTYPE html><html><body>ระบบปิดปรับปรุง</body></html>",
                            )
                                .into_response(),
                            Answer::NotAnArray => {
                                axum::Json(serde_json::json!({"error": "quota"})).into_response()
                            }
                            Answer::Endless => axum::Json(serde_json::json!([
                                {"area": "9001", "year": "2566", "n": page}
                            ]))
                            .into_response(),
                        }
                    }
                },
            ),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(async move { axum::serve(listener, app).await });

        let mut config = HttpJsonConfig::new(format!("{base}/records"));
        config.pagination = Pagination::Page {
            param: "page".into(),
            size_param: None,
            size: None,
            start: 1,
        };
        config.max_pages = 20;
        config.retries = 0;
        let web_def = dropouts_connector(
            dir.path(),
            "obs_web",
            SourceConfig::HttpJson(config),
            SyncMode::FullRefresh,
        );
        pipeline
            .run(&web_def, Trigger::Manual)
            .await
            .expect("good answer");
        let want = vec![
            ("9001".to_string(), "2023".to_string(), 12.0),
            ("9011".to_string(), "2023".to_string(), 3.0),
        ];
        assert_eq!(loaded(&store, "obs_web").await, want);
        for (case, next, expected) in [
            (
                "HTML error page",
                Answer::HtmlErrorPage,
                "response is not JSON (starts with `<!DOCTYPE html>",
            ),
            (
                "JSON that is not an array",
                Answer::NotAnArray,
                "top-level value is not an array (found object)",
            ),
            ("endless pagination", Answer::Endless, "endless pagination"),
        ] {
            *answer.lock().expect("lock") = next;
            expect_failure(&pipeline, &web_def, case, expected).await;
            assert_eq!(loaded(&store, "obs_web").await, want, "{case}: rows kept");
        }
    }
);
