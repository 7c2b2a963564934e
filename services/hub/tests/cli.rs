//! The `abe-hub` binary as a user runs it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn repo(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(relative)
}

fn hub() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_abe-hub"));
    command
        .env_remove("ABE_DATABASE_URL")
        .env_remove("ABE_CONFIG")
        .env("RUST_LOG", "warn");
    command
}

#[test]
fn published_sdl_matches_the_code() {
    let output = hub().arg("export-schema").output().expect("runs");
    assert!(output.status.success());
    let published =
        std::fs::read_to_string(repo("schema/schema.graphql")).expect("schema/schema.graphql");
    assert!(
        String::from_utf8_lossy(&output.stdout) == published,
        "schema/schema.graphql is out of date: run `cargo run --bin abe-hub -- export-schema > schema/schema.graphql`"
    );
}

#[test]
fn run_prints_counts_and_a_second_run_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("hub.db").display());
    let config = repo("deploy/demo/hub.toml");
    let run = |connector: &str| hub_ok(&url, &config, &["run", connector]);
    run("demo_areas");
    let first = run("lao_out_of_school");
    assert!(
        first.contains(
            "read 77, inserted 75, updated 0, unchanged 0, deleted 0, duplicates 0, rejected 2"
        ),
        "{first}"
    );
    // Rejects are summarised by reason, with their first positions.
    assert!(
        first.contains("reject       1 × รหัสพื้นที่: area code must be digits  [data/local-government.tis620.csv, row 78, column \"รหัสพื้นที่\"]"),
        "{first}"
    );
    let second = run("lao_out_of_school");
    assert!(
        second.contains(
            "read 77, inserted 0, updated 0, unchanged 75, deleted 0, duplicates 0, rejected 2"
        ),
        "{second}"
    );
}

#[test]
fn bad_input_is_a_clear_error_and_a_failure_exit() {
    let output = hub()
        .args(["--config", "/nonexistent/hub.toml", "check"])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("reading config /nonexistent/hub.toml"),
        "{stderr}"
    );

    // The lookup opens the database (saved connectors live there): a scratch one.
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("hub.db").display());
    let output = hub()
        .args(["--database-url", &url, "--config"])
        .arg(repo("deploy/demo/hub.toml"))
        .args(["run", "nope"])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("no connector named nope"));

    let output = hub()
        .args(["--database-url", "mysql://x/y", "migrate"])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("unsupported database URL scheme"));
}

#[test]
fn check_summarises_the_demo_config() {
    let output = hub()
        .arg("--config")
        .arg(repo("deploy/demo/hub.toml"))
        .arg("check")
        .output()
        .expect("runs");
    assert!(output.status.success());
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "config ok: 6 agencies, 11 topics, 6 indicators, 4 thresholds, 5 alert rules, 8 connectors",
            "demo_areas: ok, the header at data/areas.csv (3 columns) has every column the mapping reads",
            "demo_schools: ok, the header at data/schools.csv (5 columns) has every column the mapping reads",
            "peo_students: ok, the header at data/education-office.xlsx, sheet \"นักเรียน\" (6 columns) has every column the mapping reads",
            "lao_out_of_school: ok, the header at data/local-government.tis620.csv (4 columns) has every column the mapping reads",
            "dopa_population: ok, the header at data/civil-registration.csv (4 columns) has every column the mapping reads",
            "ngo_poverty: ok, the header at data/ngo-screening.csv (4 columns) has every column the mapping reads",
            "workshop_problems: ok, the header at data/workshop.xlsx, sheet \"ปัญหา (Problems)\" (11 columns) has every column the mapping reads",
            "workshop_resources: ok, the header at data/workshop.xlsx, sheet \"ทรัพยากร (Resources)\" (14 columns) has every column the mapping reads",
        ]
    );
}

#[test]
fn preview_shows_rows_and_rejects_without_writing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("hub.db").display());
    let config = repo("deploy/demo/hub.toml");
    let hub_with = |args: &[&str]| hub_ok(&url, &config, args);
    hub_with(&["run", "demo_areas"]);
    let shown = hub_with(&["preview", "lao_out_of_school", "--rows", "100"]);
    assert!(
        shown.contains(
            "data/local-government.tis620.csv, row 3: indicator=out_of_school_children  area=9002"
        ),
        "{shown}"
    );
    assert!(
        shown.contains(
            "REJECT data/local-government.tis620.csv, row 52, column \"เด็กนอกระบบการศึกษา\""
        ),
        "{shown}"
    );
    assert!(
        shown
            .trim_end()
            .ends_with("75 rows would load, 2 would be refused"),
        "{shown}"
    );
    // Nothing was written: the connector's first real run still inserts everything.
    let run = hub_with(&["run", "lao_out_of_school"]);
    assert!(run.contains("inserted 75"), "{run}");
}

/// Kills the server process however the test ends.
struct Server(std::process::Child);

impl Drop for Server {
    /// Stops the hub as an operator does, with SIGTERM, and waits for it; kills it if
    /// it does not stop.
    fn drop(&mut self) {
        stop(&mut self.0, "TERM", Duration::from_secs(40));
    }
}

/// Sends `signal` to `child` and waits up to `wait` for it to exit (then kills it);
/// returns its exit status.
fn stop(child: &mut Child, signal: &str, wait: Duration) -> Option<std::process::ExitStatus> {
    let _ = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status();
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

#[test]
fn a_connector_saved_through_the_api_runs_from_the_command_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("hub.db").display());
    let config = repo("deploy/demo/hub.toml");
    let token = "cli-test-admin-token-0123456789";

    let too_short = hub()
        .args(["--database-url", &url, "--config"])
        .arg(&config)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("ABE_ADMIN_TOKEN", "short")
        .output()
        .expect("runs");
    assert!(!too_short.status.success());
    assert!(String::from_utf8_lossy(&too_short.stderr).contains("ABE_ADMIN_TOKEN is shorter"));

    let mut server = Server(
        hub()
            .args(["--database-url", &url, "--config"])
            .arg(&config)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("ABE_ADMIN_TOKEN", token)
            .stdout(Stdio::piped())
            .spawn()
            .expect("serve starts"),
    );
    let mut line = String::new();
    BufReader::new(server.0.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("first line");
    let base = line
        .trim()
        .strip_prefix("abe-hub listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_string();
    let definition: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo("deploy/demo/saved-connector.json")).expect("example"),
    )
    .expect("JSON");
    let response: serde_json::Value = reqwest::blocking::Client::new()
        .post(format!("{base}/graphql"))
        .bearer_auth(token)
        .json(&serde_json::json!({
            "query": "mutation($d: JSON!) { saveConnector(definition: $d) { name } }",
            "variables": { "d": definition }
        }))
        .send()
        .expect("POST /graphql")
        .json()
        .expect("JSON");
    assert_eq!(
        response["data"]["saveConnector"]["name"], "lao_copy",
        "{response}"
    );
    drop(server);

    let run = |connector: &str| {
        hub()
            .args(["--database-url", &url, "--config"])
            .arg(&config)
            .args(["run", connector])
            .output()
            .expect("runs")
    };
    assert!(run("demo_areas").status.success());
    let output = run("lao_copy");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains(
            "read 77, inserted 75, updated 0, unchanged 0, deleted 0, duplicates 0, rejected 2"
        ),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Waits until `hits` passes `count`.
fn wait_for_hits(hits: &std::sync::atomic::AtomicUsize, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while hits.load(std::sync::atomic::Ordering::SeqCst) < count {
        assert!(
            Instant::now() < deadline,
            "the run never reached its source"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The statuses of a connector's runs, newest first.
fn run_statuses(runtime: &tokio::runtime::Runtime, url: &str, connector: &str) -> Vec<String> {
    runtime.block_on(async {
        let store = abe_store::Store::connect(url).await.expect("store");
        let runs = store
            .runs(Some(connector), None, None, 100)
            .await
            .expect("runs");
        store.close().await;
        runs.items
            .into_iter()
            .map(|r| r.status.as_str().to_string())
            .collect()
    })
}

#[test]
fn a_run_holds_its_lease_across_processes() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let (api, hits) = runtime.block_on(abe_tests::web::slow_pages(Duration::from_millis(150), 40));
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("hub.db").display());
    let config = dir.path().join("hub.toml");
    std::fs::write(
        &config,
        format!(
            "[[connectors]]\nname = \"slow\"\ntarget = \"areas\"\n\
             source = {{ kind = \"http_json\", url = \"{api}\", pagination = {{ kind = \"page\", param = \"page\" }} }}\n\
             [connectors.mapping.fields]\ncode = {{ column = \"code\" }}\nname_th = {{ column = \"name\" }}\n"
        ),
    )
    .expect("config");
    let hub_with = || {
        let mut command = hub();
        command
            .args(["--database-url", &url, "--run-lease-secs", "2", "--config"])
            .arg(&config);
        command
    };
    let spawn_run = || {
        hub_with()
            .args(["run", "slow"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run starts")
    };

    // A run in progress holds the lease: a second run is refused at once, naming it.
    let mut first = spawn_run();
    wait_for_hits(&hits, 2);
    let second = hub_with().args(["run", "slow"]).output().expect("runs");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(!second.status.success(), "{stderr}");
    assert!(
        stderr.contains("connector slow is already running (run 1, since "),
        "{stderr}"
    );

    // A hub started meanwhile leaves the other process's run alone.
    let mut serving = Server(
        hub_with()
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .spawn()
            .expect("serve starts"),
    );
    let mut line = String::new();
    BufReader::new(serving.0.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("first line");
    assert!(line.starts_with("abe-hub listening on"), "{line}");
    assert_eq!(run_statuses(&runtime, &url, "slow"), ["running"]);
    drop(serving);
    assert_eq!(run_statuses(&runtime, &url, "slow"), ["running"]);

    // Ctrl-C: the run stops reading, rolls back and is journaled as cancelled.
    let status = stop(&mut first, "INT", Duration::from_secs(30)).expect("the run stops");
    assert_eq!(status.code(), Some(130));
    assert_eq!(run_statuses(&runtime, &url, "slow"), ["cancelled"]);

    // A run whose process is killed is abandoned once its lease expires, by the next
    // process that looks; that one then runs.
    let reached = hits.load(std::sync::atomic::Ordering::SeqCst);
    let mut killed = spawn_run();
    wait_for_hits(&hits, reached + 2);
    killed.kill().expect("kill");
    killed.wait().expect("wait");
    assert_eq!(
        run_statuses(&runtime, &url, "slow"),
        ["running", "cancelled"]
    );
    std::thread::sleep(Duration::from_secs(3));
    let next = hub_with().args(["run", "slow"]).output().expect("runs");
    assert!(
        next.status.success(),
        "{}",
        String::from_utf8_lossy(&next.stderr)
    );
    assert_eq!(
        run_statuses(&runtime, &url, "slow"),
        ["succeeded", "abandoned", "cancelled"]
    );
}

/// The connectors and the first indicator's Thai name in the database at `url`.
fn catalogue(url: &str) -> (Vec<(String, bool)>, String) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let store = abe_store::Store::connect(url).await.expect("store");
        let connectors = store
            .connectors(None, None, 100)
            .await
            .expect("connectors")
            .items
            .into_iter()
            .map(|c| (c.spec.name, c.provisioned))
            .collect();
        let indicator = store
            .indicators(None, None, 100)
            .await
            .expect("indicators")
            .items
            .into_iter()
            .find(|i| i.code == "dropouts")
            .map(|i| i.name_th)
            .unwrap_or_default();
        store.close().await;
        (connectors, indicator)
    })
}

#[test]
fn a_run_with_another_config_changes_only_its_connector_and_a_preview_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("hub.db").display());
    another_config_changes_only_its_connector(&url);
}

#[test]
fn on_postgresql_a_run_with_another_config_changes_only_its_connector() {
    if abe_tests::postgres_skipped() {
        eprintln!("ABE_TEST_POSTGRES=skip: PostgreSQL case not run");
        return;
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let db = runtime.block_on(abe_tests::TestDb::new(abe_tests::Backend::Postgres));
    another_config_changes_only_its_connector(&db.url);
    drop(db);
}

/// Runs `abe-hub` on the database at `url` with `config`; returns its output, failing
/// the test if the command fails.
fn hub_ok(url: &str, config: &Path, args: &[&str]) -> String {
    let output = hub()
        .args(["--database-url", url, "--config"])
        .arg(config)
        .args(args)
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// An areas connector reading `more.csv` (code, name).
fn areas_connector(name: &str) -> String {
    format!(
        r#"
[[connectors]]
name = "{name}"
target = "areas"
source = {{ kind = "csv", path = "more.csv" }}
[connectors.mapping.fields]
code = {{ column = "code" }}
name_th = {{ column = "name" }}
"#
    )
}

fn another_config_changes_only_its_connector(url: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let run = |config: &Path, command: &[&str]| hub_ok(url, config, command);
    run(&repo("deploy/demo/hub.toml"), &["run", "demo_areas"]);
    let demo = catalogue(url);
    assert_eq!(demo.0, [("demo_areas".to_string(), true)]);
    assert_eq!(demo.1, "จำนวนนักเรียนออกกลางคัน");

    // Another steward's config: its own connector, and another name for `dropouts`.
    std::fs::write(dir.path().join("more.csv"), "code,name\n91,สตูล\n").expect("write");
    let other = dir.path().join("other.toml");
    std::fs::write(
        &other,
        format!(
            r#"
[[indicators]]
code = "dropouts"
name_th = "ชื่ออื่น"
unit = "persons"
kind = "count"
direction = "higher_is_worse"

{more_areas}{preview_only}"#,
            more_areas = areas_connector("more_areas"),
            preview_only = areas_connector("preview_only"),
        ),
    )
    .expect("write");
    let said = run(&other, &["run", "more_areas"]);
    assert!(
        said.contains("connector more_areas saved from")
            && said.contains(
                "other connectors, existing catalogue entries and thresholds left as they are"
            ),
        "{said}"
    );
    let after = catalogue(url);
    assert_eq!(
        after.0,
        [
            ("demo_areas".to_string(), true),
            ("more_areas".to_string(), true)
        ],
        "the demo's connector stays"
    );
    assert_eq!(after.1, demo.1, "the catalogue keeps its entries");

    let preview = run(&other, &["preview", "preview_only"]);
    assert!(preview.contains("1 rows would load"), "{preview}");
    assert_eq!(catalogue(url), after, "a preview writes nothing");
}

#[test]
fn check_opens_every_file_source_and_finds_every_mistake_before_a_run() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = repo("../shared/data");
    let data = data.display();
    let connector = |name: &str, source: &str, code_column: &str| {
        format!(
            r#"
[[connectors]]
name = "{name}"
target = "areas"
source = {source}
[connectors.mapping.fields]
code = {{ column = "{code_column}" }}
name_th = {{ column = "name_th" }}
"#
        )
    };
    let districts = format!("{data}/kongvut-thai-province-data/districts.csv");
    let config = [
        connector("good", &format!(r#"{{ kind = "csv", path = "{districts}" }}"#), "id"),
        connector("missing_file", r#"{ kind = "csv", path = "nowhere.csv" }"#, "id"),
        connector("misspelt_column", &format!(r#"{{ kind = "csv", path = "{districts}" }}"#), "idd"),
        connector("header_row_zero", &format!(r#"{{ kind = "csv", path = "{districts}", header_row = 0 }}"#), "id"),
        connector("unknown_encoding", &format!(r#"{{ kind = "csv", path = "{districts}", encoding = "thai" }}"#), "id"),
        connector("sheet_missing", &format!(r#"{{ kind = "excel", path = "{data}/kongvut-thai-province-data/districts.xlsx", sheet = "อำเภอ" }}"#), "id"),
    ]
    .concat();
    // A file whose every row is refused (each has a field more than the header): found
    // before a run.
    std::fs::write(
        dir.path().join("ragged.csv"),
        "id,name_th\n95,ยะลา,x\n96,นราธิวาส,x\n",
    )
    .expect("write");
    let config = config
        + &connector(
            "all_refused",
            r#"{ kind = "csv", path = "ragged.csv" }"#,
            "id",
        );
    let path = dir.path().join("hub.toml");
    std::fs::write(&path, config).expect("write");
    let output = hub()
        .arg("--config")
        .arg(&path)
        .arg("check")
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stdout}");
    assert!(stdout.contains("good: ok, the header at"), "{stdout}");
    for expected in [
        "missing_file: cannot read nowhere.csv",
        "misspelt_column: ",
        "column \"idd\" is not in the header",
        "header_row_zero: ",
        "header = false",
        "unknown_encoding: ",
        "unknown encoding \"thai\"",
        "sheet_missing: ",
        "all_refused: ",
        "no row of the first 1000 could be read",
        "6 connector(s) cannot run as configured",
    ] {
        assert!(stderr.contains(expected), "{expected}: {stderr}");
    }

    // Unknown keys in the catalogue are refused as in connectors.
    std::fs::write(
        &path,
        "[[indicators]]\ncode = \"x\"\nname_th = \"x\"\nunit = \"persons\"\nkind = \"count\"\ndirection = \"higher_is_worse\"\ncolour = \"red\"\n",
    )
    .expect("write");
    let output = hub()
        .arg("--config")
        .arg(&path)
        .arg("check")
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("unknown field `colour`"), "{stderr}");
}
