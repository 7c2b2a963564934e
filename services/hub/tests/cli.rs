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
    let run = |connector: &str| {
        let output = hub()
            .args(["--database-url", &url, "--config"])
            .arg(&config)
            .args(["run", connector])
            .output()
            .expect("runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    run("demo_areas");
    let first = run("lao_out_of_school");
    assert!(
        first.contains("read 77, inserted 75, updated 0, unchanged 0, deleted 0, rejected 2"),
        "{first}"
    );
    let second = run("lao_out_of_school");
    assert!(
        second.contains("read 77, inserted 0, updated 0, unchanged 75, deleted 0, rejected 2"),
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
    assert_eq!(
        String::from_utf8_lossy(&output.stdout).trim(),
        "config ok: 3 agencies, 4 indicators, 2 thresholds, 5 connectors"
    );
}

#[test]
fn preview_shows_rows_and_rejects_without_writing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let url = format!("sqlite://{}", dir.path().join("hub.db").display());
    let config = repo("deploy/demo/hub.toml");
    let hub_with = |args: &[&str]| {
        let output = hub()
            .args(["--database-url", &url, "--config"])
            .arg(&config)
            .args(args)
            .output()
            .expect("runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
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
        stdout.contains("read 77, inserted 75, updated 0, unchanged 0, deleted 0, rejected 2"),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
