//! The gateway as a client meets it over HTTP: GraphQL over HTTP as the spec says, the
//! limits that hold under abuse (a fragment bomb, a huge body, a slow database), what
//! the public may and may not see, and GraphiQL without a network.

use abe_tests::chaos::ChaosProxy;
use abe_tests::{both_backends, Backend, TestApp, TestDb};
use serde_json::{json, Value};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOKEN: &str = "gateway-test-admin-token-0123";

fn code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {response}"))
}

async fn demo(backend: Backend) -> TestApp {
    TestApp::spawn_with_token(backend, "deploy/demo/hub.toml", Some(TOKEN)).await
}

/// Posts `body` as-is with `content_type` and `accept`; returns status, content type
/// and body.
async fn post(app: &TestApp, content_type: &str, accept: &str, body: &str) -> (u16, String, Value) {
    let response = app
        .client
        .post(format!("{}/graphql", app.base))
        .header("content-type", content_type)
        .header("accept", accept)
        .body(body.to_string())
        .send()
        .await
        .expect("POST /graphql");
    let status = response.status().as_u16();
    let media = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let text = response.text().await.expect("body");
    (
        status,
        media,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// Posts `request` as JSON, accepting plain JSON.
async fn post_json(app: &TestApp, request: Value) -> (u16, String, Value) {
    let body = request.to_string();
    post(app, "application/json", "application/json", &body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_over_http_follows_the_spec() {
    let app = demo(Backend::Sqlite).await;
    let json = "application/json";
    let gql = "application/graphql-response+json";

    // The media type follows Accept.
    let (status, media, body) = post(&app, json, json, r#"{"query":"{ __typename }"}"#).await;
    assert_eq!(
        (status, media.as_str()),
        (200, "application/json; charset=utf-8")
    );
    assert_eq!(body, json!({ "data": { "__typename": "Query" } }));
    let (status, media, _) = post(&app, json, gql, r#"{"query":"{ __typename }"}"#).await;
    assert_eq!(
        (status, media.as_str()),
        (200, "application/graphql-response+json; charset=utf-8")
    );
    let (status, _, body) = post(&app, json, "text/html", r#"{"query":"{ __typename }"}"#).await;
    assert_eq!((status, code(&body)), (406, "NOT_ACCEPTABLE"));

    // Errors before execution: 400 and no `data` with graphql-response+json, 200 with
    // application/json; each with its code.
    for query in ["{", "{ nothing }", "{ area(code: 1) { code } }"] {
        let body = json!({ "query": query }).to_string();
        let (status, _, answer) = post(&app, json, gql, &body).await;
        assert_eq!(
            (status, code(&answer)),
            (400, "QUERY_INVALID"),
            "{query}: {answer}"
        );
        assert!(answer.get("data").is_none(), "{query}: {answer}");
        let (status, _, answer) = post(&app, json, json, &body).await;
        assert_eq!(
            (status, code(&answer)),
            (200, "QUERY_INVALID"),
            "{query}: {answer}"
        );
    }
    // Bad requests are 400 with a code; a body that is not JSON, a missing query.
    for body in [
        r#"{ "not JSON"#,
        r#"{"qeury":"{ a }"}"#,
        r#"{"query":"{ a }","variables":"x"}"#,
    ] {
        let (status, _, answer) = post(&app, json, json, body).await;
        assert_eq!(
            (status, code(&answer)),
            (400, "BAD_REQUEST"),
            "{body}: {answer}"
        );
    }
    // Anything but JSON is 415.
    let (status, _, answer) = post(&app, "text/plain", json, r#"{"query":"{ a }"}"#).await;
    assert_eq!((status, code(&answer)), (415, "UNSUPPORTED_MEDIA_TYPE"));

    // GET runs queries and refuses mutations with 405.
    let get = |query: &str| {
        app.client
            .get(format!("{}/graphql", app.base))
            .query(&[("query", query)])
            .header("accept", json)
            .send()
    };
    // The area comes from the demo's first run, which starts with the hub.
    app.wait_for_runs(&["demo_areas"], std::time::Duration::from_secs(60))
        .await;
    let answer = get("{ area(code: \"90\") { nameEn } }").await.expect("GET");
    assert_eq!(answer.status().as_u16(), 200);
    let body: Value = answer.json().await.expect("JSON");
    assert_eq!(body["data"]["area"]["nameEn"], json!("Songkhla"));
    let mutation = get("mutation { saveConnector(definition: {}) { name } }")
        .await
        .expect("GET");
    assert_eq!(mutation.status().as_u16(), 405);
    assert_eq!(
        mutation
            .headers()
            .get("allow")
            .and_then(|v| v.to_str().ok()),
        Some("POST")
    );
    let body: Value = mutation.json().await.expect("JSON");
    assert_eq!(code(&body), "METHOD_NOT_ALLOWED");

    // An error raised while resolving has its code too.
    let (_, _, answer) = post(
        &app,
        json,
        json,
        r#"{"query":"{ observations(first: 5000) { totalCount } }"}"#,
    )
    .await;
    assert_eq!(code(&answer), "BAD_INPUT", "{answer}");
    app.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fragment_bomb_is_refused_before_it_runs_and_the_hub_stays_responsive() {
    let app = demo(Backend::Sqlite).await;
    // 26 levels of fragments that each spread the one below twice: 2^26 fields.
    let mut query = String::from("query { ...F26 } fragment F0 on Query { __typename }");
    for level in 1..=26 {
        query.push_str(&format!(
            " fragment F{level} on Query {{ ...F{0} ...F{0} }}",
            level - 1
        ));
    }
    assert!(query.len() < 1600, "a small request: {}", query.len());
    let body = json!({ "query": query }).to_string();
    let bombs = (0..3).map(|_| {
        post(
            &app,
            "application/json",
            "application/graphql-response+json",
            &body,
        )
    });
    let health = async {
        let started = Instant::now();
        let answer = app
            .client
            .get(format!("{}/healthz", app.base))
            .send()
            .await
            .expect("healthz");
        (answer.status().as_u16(), started.elapsed())
    };
    let (answers, (health_status, health_time)) =
        tokio::join!(futures::future::join_all(bombs), health);
    for (status, _, answer) in answers {
        assert_eq!((status, code(&answer)), (400, "TOO_COMPLEX"), "{answer}");
        assert!(answer["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("67108864 fields"));
    }
    assert_eq!(health_status, 200);
    assert!(health_time < Duration::from_secs(5), "{health_time:?}");
    // Deep nesting through fragments counts too: area > parent > parent ... 22 levels.
    let mut deep = String::from("query { area(code: \"900101\") { ...D0 } }");
    for level in 0..20 {
        deep.push_str(&format!(
            " fragment D{level} on Area {{ parent {{ ...D{} }} }}",
            level + 1
        ));
    }
    deep.push_str(" fragment D20 on Area { code }");
    let (status, _, answer) = post_json(&app, json!({ "query": deep })).await;
    assert_eq!((status, code(&answer)), (200, "TOO_COMPLEX"), "{answer}");
    assert!(answer.get("data").is_none(), "{answer}");
    // A bomb in an operation that is not the one run is refused all the same.
    let hidden =
        format!("query Small {{ __typename }} {query}").replacen("query {", "query Big {", 1);
    let (status, _, answer) =
        post_json(&app, json!({ "query": hidden, "operationName": "Small" })).await;
    assert_eq!((status, code(&answer)), (200, "TOO_COMPLEX"), "{answer}");
    // Lists nested in lists weigh the rows they may return: a thousand areas each with a
    // thousand schools is refused, a page of each is answered.
    let nested = |first: u32| {
        format!(
            "{{ areas(first: {first}) {{ edges {{ node {{ code schools(first: {first}) \
             {{ edges {{ node {{ code nameTh }} }} }} }} }} }} }}"
        )
    };
    let (status, _, answer) = post_json(&app, json!({ "query": nested(1000) })).await;
    assert_eq!((status, code(&answer)), (200, "TOO_COMPLEX"), "{answer}");
    let (status, _, answer) = post_json(&app, json!({ "query": nested(20) })).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.get("errors").is_none(), "{answer}");
    app.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_over_the_limit_are_refused_unread() {
    let app = demo(Backend::Sqlite).await;
    let address = app.base.trim_start_matches("http://").to_string();
    // Headers that announce 200 MB, and no body at all: the answer must not wait for it.
    let mut stream = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connects");
    stream
        .write_all(
            format!(
                "POST /graphql HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
                 Content-Length: 200000000\r\nConnection: close\r\n\r\n{{\"query\":"
            )
            .as_bytes(),
        )
        .await
        .expect("writes");
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer))
        .await
        .expect("answered without the body")
        .expect("reads");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("PAYLOAD_TOO_LARGE"), "{answer}");
    // A body without a length (chunked) is cut at the limit too.
    let mut stream = tokio::net::TcpStream::connect(&address)
        .await
        .expect("connects");
    stream
        .write_all(
            format!(
                "POST /graphql HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\n\
                 Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            )
            .as_bytes(),
        )
        .await
        .expect("writes");
    let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "x".repeat(64 * 1024));
    for _ in 0..40 {
        // The hub may answer and close before the body ends: that is the point.
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    app.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_is_served_by_the_hub_itself() {
    let app = demo(Backend::Sqlite).await;
    let page = app
        .client
        .get(format!("{}/graphql", app.base))
        .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
        .send()
        .await
        .expect("GET /graphql");
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.expect("html");
    assert!(html.contains("/graphql/assets/graphiql.min.js"), "{html}");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no CDN: {html}"
    );
    let vendor = abe_tests::repo_path("services/gateway/vendor/graphiql");
    let sums = std::fs::read_to_string(vendor.join("SHA256SUMS")).expect("SHA256SUMS");
    for asset in [
        "graphiql.min.js",
        "graphiql.min.css",
        "react.production.min.js",
        "react-dom.production.min.js",
    ] {
        assert!(
            html.contains(&format!("/graphql/assets/{asset}")),
            "{asset}"
        );
        let served = app
            .client
            .get(format!("{}/graphql/assets/{asset}", app.base))
            .send()
            .await
            .expect("asset");
        assert_eq!(served.status().as_u16(), 200, "{asset}");
        let bytes = served.bytes().await.expect("bytes");
        let digest = sha256_hex(&bytes);
        assert!(
            sums.lines()
                .any(|l| l.starts_with(&digest) && l.ends_with(asset)),
            "{asset} is the file fetch.sh recorded"
        );
    }
    app.stop().await.expect("stops");
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

both_backends!(readiness_answers_on_every_backend, |backend| async move {
    let app = demo(backend).await;
    let ready = app
        .client
        .get(format!("{}/readyz", app.base))
        .send()
        .await
        .expect("readyz");
    assert_eq!(ready.status().as_u16(), 200, "{backend:?}");
    app.stop().await.expect("stops");
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_outage_is_answered_fast_and_clearly() {
    if abe_tests::postgres_skipped() {
        eprintln!("ABE_TEST_POSTGRES=skip: PostgreSQL case not run");
        return;
    }
    let db = TestDb::new(Backend::Postgres).await;
    // postgres://user@host:port/database: the proxy stands in for host:port.
    let host = db
        .url
        .rsplit_once('@')
        .and_then(|(_, rest)| rest.split('/').next())
        .expect("a host in the test database's URL")
        .to_string();
    let upstream = tokio::net::lookup_host(&host)
        .await
        .expect("the database's host resolves")
        .next()
        .expect("an address");
    let proxy = ChaosProxy::start(upstream).await;
    let via_proxy = db.url.replacen(&host, &proxy.address().to_string(), 1);
    let app = TestApp::spawn_on(
        db,
        &via_proxy,
        &abe_tests::repo_path("deploy/demo/hub.toml"),
        None,
    )
    .await;
    app.wait_for_runs(&["demo_areas"], Duration::from_secs(60))
        .await;
    let readyz = || app.client.get(format!("{}/readyz", app.base)).send();
    assert_eq!(readyz().await.expect("readyz").status().as_u16(), 200);

    proxy.break_networking();
    let started = Instant::now();
    let not_ready = readyz().await.expect("readyz");
    assert_eq!(not_ready.status().as_u16(), 503);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    let started = Instant::now();
    let answer = app
        .graphql_raw("{ areas(first: 1) { totalCount } }", Value::Null)
        .await;
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(code(&answer), "UNAVAILABLE", "{answer}");
    let message = answer["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        !message.contains("127.0.0.1") && !message.contains("5432"),
        "{message}"
    );

    proxy.restore_networking();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if readyz().await.expect("readyz").status().as_u16() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "the hub recovers");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let back = app
        .graphql("{ areas(first: 1) { totalCount } }", Value::Null)
        .await;
    assert!(back["areas"]["totalCount"].as_i64().unwrap_or(0) > 0);
    app.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_sees_no_secrets_and_no_internal_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A connector written with literal secrets in the config file (allowed there), and
    // one whose database cannot be reached.
    std::fs::write(
        dir.path().join("hub.toml"),
        r#"
[[connectors]]
name = "api"
target = "areas"
source = { kind = "http_json", url = "http://reader:url-password@127.0.0.1:9/areas?api_key=query-secret&province=90", headers = { "X-Api-Key" = "header-secret" } }
[connectors.mapping.fields]
code = { column = "code" }
name_th = { column = "name" }

[[connectors]]
name = "db"
target = "areas"
source = { kind = "sql", url = "postgres://reader@127.0.0.1:9/partner_db", query = "SELECT code, name FROM partner_private_table" }
[connectors.mapping.fields]
code = { column = "code" }
name_th = { column = "name" }
"#,
    )
    .expect("config");
    let app =
        TestApp::spawn_with_config(Backend::Sqlite, &dir.path().join("hub.toml"), Some(TOKEN))
            .await;
    app.wait_for_runs(&["api", "db"], Duration::from_secs(60))
        .await;
    let query = "{ connectors { edges { node { name definition \
                 latestRun { status errorCode error errorDetail } } } } }";
    let public = app.graphql(query, Value::Null).await.to_string();
    for secret in [
        "url-password",
        "query-secret",
        "header-secret",
        "partner_private_table",
        "os error",
        "refused",
    ] {
        assert!(!public.contains(secret), "{secret} leaked: {public}");
    }
    assert!(public.contains("SOURCE_UNREADABLE"), "{public}");
    assert!(public.contains("the hub's log has the details"), "{public}");
    let admin = app.graphql_as_admin(query, Value::Null).await.to_string();
    for detail in [
        "url-password",
        "query-secret",
        "header-secret",
        "partner_private_table",
    ] {
        assert!(admin.contains(detail), "an admin sees {detail}: {admin}");
    }
    assert!(admin.contains("cannot connect"), "{admin}");

    // Previews need the admin token, and one request runs one of them.
    let twice = "{ a: preview(connector: \"api\", rows: 1) { rows { row } } \
                 b: preview(connector: \"api\", rows: 1) { rows { row } } }";
    let anonymous = app.graphql_raw(twice, Value::Null).await;
    assert_eq!(code(&anonymous), "UNAUTHENTICATED");
    let answer = app
        .graphql_with_token(Some(TOKEN), twice, Value::Null)
        .await;
    let messages: Vec<&str> = answer["errors"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["message"].as_str())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("one request may run one preview")),
        "{answer}"
    );
    assert_eq!(
        messages
            .iter()
            .filter(|m| m.contains("one request may run one preview"))
            .count(),
        1,
        "{answer}"
    );
    app.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graphql_http_audit_passes_every_must() {
    if std::env::var("ABE_TEST_NODE").is_ok_and(|v| v == "skip") {
        eprintln!("ABE_TEST_NODE=skip: the graphql-http audit is not run");
        return;
    }
    let harness = abe_tests::repo_path("tests/graphql-http-audit");
    if !harness.join("node_modules/graphql-http").exists() {
        let installed = tokio::process::Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&harness)
            .status()
            .await
            .expect("npm runs (install Node.js, or set ABE_TEST_NODE=skip)");
        assert!(installed.success(), "npm ci in tests/graphql-http-audit");
    }
    let app = demo(Backend::Sqlite).await;
    let output = tokio::time::timeout(
        Duration::from_secs(180),
        tokio::process::Command::new("node")
            .arg("audit.mjs")
            .arg(format!("{}/graphql", app.base))
            .current_dir(&harness)
            .output(),
    )
    .await
    .expect("the audit ends")
    .expect("node runs");
    let report: Value = serde_json::from_slice(&output.stdout).expect("the audit's JSON");
    let results = report["results"].as_array().expect("results");
    let failed_musts: Vec<&Value> = results
        .iter()
        .filter(|r| r["name"].as_str().is_some_and(|n| n.starts_with("MUST")))
        .filter(|r| r["status"] != "ok")
        .collect();
    assert!(failed_musts.is_empty(), "{failed_musts:#?}");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let not_ok: Vec<String> = results
        .iter()
        .filter(|r| r["status"] != "ok")
        .map(|r| format!("{} {}: {}", r["status"], r["name"], r["reason"]))
        .collect();
    eprintln!("audits not ok (SHOULD/MAY): {not_ok:#?}");
    app.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reference_rows_are_removed_by_admins_only_and_never_from_under_other_rows() {
    let app = demo(Backend::Sqlite).await;
    app.wait_for_runs(
        &[
            "demo_areas",
            "demo_schools",
            "peo_students",
            "lao_out_of_school",
            "ngo_poverty",
        ],
        std::time::Duration::from_secs(60),
    )
    .await;
    let remove = r#"mutation ($code: String!) { removeArea(code: $code) }"#;
    let code_of = |answer: &Value| answer["errors"][0]["extensions"]["code"].clone();

    let public = app.graphql_raw(remove, json!({ "code": "90" })).await;
    assert_eq!(code_of(&public), json!("UNAUTHENTICATED"), "{public}");

    let in_use = app
        .graphql_with_token(Some(TOKEN), remove, json!({ "code": "9001" }))
        .await;
    assert_eq!(code_of(&in_use), json!("IN_USE"), "{in_use}");
    let message = in_use["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(
        message.starts_with("area 9001 is still referred to by"),
        "{message}"
    );
    assert!(!message.contains(" 0 observations"), "{message}");

    let missing = app
        .graphql_with_token(Some(TOKEN), remove, json!({ "code": "99" }))
        .await;
    assert_eq!(code_of(&missing), json!("NOT_FOUND"), "{missing}");

    let school = app
        .graphql_with_token(
            Some(TOKEN),
            r#"mutation { removeSchool(code: "nope") }"#,
            Value::Null,
        )
        .await;
    assert_eq!(code_of(&school), json!("NOT_FOUND"), "{school}");
    let area = app
        .graphql(r#"{ area(code: "9001") { code } }"#, Value::Null)
        .await;
    assert_eq!(area["area"]["code"], json!("9001"), "nothing was removed");
}
