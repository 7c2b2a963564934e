//! The demo province's central indicators and early warning through GraphQL, as a
//! dashboard and a working group see them, on both backends: computed values with
//! ranks, bands and sources; a saved copy of a connector that does not double a total;
//! inequality; alerts of every rule kind out of the box; the alert lifecycle through
//! mutations; and a rule's webhook, retried, on a real HTTP server on 127.0.0.1.

use abe_tests::{both_backends, TestApp};
use axum::http::StatusCode;
use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TOKEN: &str = "central-indicators-token-0123";

use abe_tests::DEMO_CONNECTORS as CONNECTORS;

/// Waits until analytics has caught up with the first runs: every rule kind of the
/// demo has an open alert.
async fn wait_for_alerts(app: &TestApp) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let data = app
            .graphql(
                "{ alerts { id rule kind indicatorCode areaCode period severity value threshold expected status } }",
                Value::Null,
            )
            .await;
        let mut kinds: Vec<&str> = data["alerts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a["kind"].as_str())
            .collect();
        kinds.sort();
        kinds.dedup();
        if kinds.len() == 5 {
            return data;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("the demo's rules did not all fire: {data}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

const DISTRICT_VALUES: &str = r#"query($i: [String!]!, $p: String) {
  indicatorValues(indicators: $i, level: DISTRICT, parent: $p, latest: true) {
    indicatorCode areaCode period value numerator denominator denominatorPeriod
    coverage { reported expected share }
    rank rankOf parentValue differenceFromParent ratioToParent
    previousPeriod previousValue change worsened band colour
    sources { connector runId loadedAt agency { code } }
  }
}"#;

/// Songkhla's out-of-school children in 2023 and the sources behind the figure.
async fn province_total(app: &TestApp) -> Value {
    app.graphql(
        r#"{ indicatorValues(indicators: ["out_of_school_children"], areas: ["90"], periods: ["2023"]) { value sources { connector } } }"#,
        Value::Null,
    )
    .await["indicatorValues"][0]
        .clone()
}

both_backends!(demo_central_indicators, |backend| async move {
    let app = TestApp::spawn_with_token(backend, "deploy/demo/hub.toml", Some(TOKEN)).await;
    app.wait_for_runs(&CONNECTORS, Duration::from_secs(60))
        .await;
    let alerts = wait_for_alerts(&app).await;

    // Songkhla's districts by out-of-school rate, worst first, as the public sees them.
    let rates = app
        .graphql(
            DISTRICT_VALUES,
            json!({ "i": ["out_of_school_rate"], "p": "90" }),
        )
        .await;
    insta::assert_json_snapshot!("songkhla_out_of_school_rate", rates, {
        ".**.runId" => "[run]",
        ".**.loadedAt" => "[time]",
    });
    let rows = rates["indicatorValues"].as_array().expect("values");
    assert_eq!(rows.len(), 16);
    let ranks: Vec<i64> = rows.iter().map(|r| r["rank"].as_i64().unwrap()).collect();
    assert_eq!(ranks, (1..=16).collect::<Vec<_>>(), "worst first");
    // The province's rate is its summed numerator over its summed denominator.
    let numerators: f64 = rows.iter().map(|r| r["numerator"].as_f64().unwrap()).sum();
    let denominators: f64 = rows
        .iter()
        .map(|r| r["denominator"].as_f64().unwrap())
        .sum();
    let parent = rows[0]["parentValue"].as_f64().unwrap();
    assert!((parent - numerators / denominators * 100.0).abs() < 1e-9);

    // A saved copy of the local government's connector: the province total stays.
    let before = province_total(&app).await;
    let mut copy: Value = serde_json::from_str(
        &std::fs::read_to_string(abe_tests::repo_path("deploy/demo/saved-connector.json"))
            .expect("saved-connector.json"),
    )
    .expect("JSON");
    const SAVE: &str = "mutation($d: JSON!) { saveConnector(definition: $d) { name } }";
    copy["schedule"] = json!("* * * * * *");
    app.graphql_as_admin(SAVE, json!({ "d": copy })).await;
    app.wait_for_runs(&["lao_copy"], Duration::from_secs(30))
        .await;
    copy.as_object_mut().expect("object").remove("schedule");
    app.graphql_as_admin(SAVE, json!({ "d": copy })).await;
    // Computed at once rather than waiting for the hub's own computation after the run.
    let computed = app
        .graphql_as_admin("mutation { recompute { indicators values } }", Value::Null)
        .await;
    assert!(
        computed["recompute"]["values"].as_i64().unwrap() > 0,
        "{computed}"
    );
    let conflicts = app
        .graphql(
            r#"{ conflictingFigures(indicator: "out_of_school_children", area: "90", period: "2023") { areaCode connector value } }"#,
            Value::Null,
        )
        .await;
    assert_eq!(
        conflicts["conflictingFigures"].as_array().map(Vec::len),
        Some(32),
        "16 districts x 2 connectors: {conflicts}"
    );
    let after = province_total(&app).await;
    assert_eq!(
        after["value"], before["value"],
        "the copy doubled the total"
    );
    assert_eq!(
        after["sources"],
        json!([{ "connector": "lao_out_of_school" }])
    );

    // Inequality between the districts.
    let inequality = app
        .graphql(
            r#"{ inequality(indicator: "out_of_school_rate", level: DISTRICT, parent: "90") {
                 period areas bestArea worstArea ratio difference coefficientOfVariation gini giniWeighted } }"#,
            Value::Null,
        )
        .await["inequality"]
        .clone();
    assert_eq!(inequality["areas"], json!(16));
    assert_eq!(inequality["worstArea"], rows[0]["areaCode"]);
    assert_eq!(inequality["bestArea"], rows[15]["areaCode"]);
    assert_eq!(inequality["giniWeighted"], json!(true));
    let gini = inequality["gini"].as_f64().unwrap();
    assert!(gini > 0.0 && gini < 1.0, "{inequality}");

    // The legend and the latest period.
    let indicator = app
        .graphql(
            r#"{ indicator(code: "out_of_school_rate") { latestPeriod multiplier denominatorLag
                 legend(level: DISTRICT) { band from to colour labelTh } } }"#,
            Value::Null,
        )
        .await;
    insta::assert_json_snapshot!("out_of_school_rate_legend", indicator);
    // Each indicator's latest period, among the periods asked for when there are some.
    let periods_of = |answer: Value| -> Vec<String> {
        let mut found: Vec<String> = answer["indicatorValues"]
            .as_array()
            .expect("values")
            .iter()
            .map(|v| {
                format!(
                    "{} {}",
                    v["indicatorCode"].as_str().unwrap(),
                    v["period"].as_str().unwrap()
                )
            })
            .collect();
        found.dedup();
        found
    };
    const LATEST: &str = r#"query($p: [String!]) { indicatorValues(
        indicators: ["out_of_school_rate", "out_of_school_children"], areas: ["90"],
        periods: $p, latest: true) { indicatorCode period } }"#;
    assert_eq!(
        periods_of(app.graphql(LATEST, Value::Null).await),
        ["out_of_school_children 2023", "out_of_school_rate 2023"]
    );
    assert_eq!(
        periods_of(app.graphql(LATEST, json!({ "p": ["2020", "2021"] })).await),
        ["out_of_school_children 2021", "out_of_school_rate 2021"]
    );

    // Alerts of each kind, worst first; the lifecycle needs the admin token.
    let list = alerts["alerts"].as_array().expect("alerts");
    let severities: Vec<&str> = list.iter().filter_map(|a| a["severity"].as_str()).collect();
    let first_warning = severities.iter().position(|s| *s == "WARNING").unwrap_or(0);
    assert!(
        severities[first_warning..].iter().all(|s| *s == "WARNING"),
        "{severities:?}"
    );
    let missing = list
        .iter()
        .find(|a| a["kind"] == "MISSING")
        .expect("missing");
    assert_eq!(missing["areaCode"], json!("6509"));
    let id = list[0]["id"].clone();
    const ACK: &str = "mutation($id: ID!) { acknowledgeAlert(id: $id, by: \"Somchai\", comment: \"visiting the district\") { status history { status by comment } } }";
    let anonymous = app.graphql_raw(ACK, json!({ "id": id })).await;
    assert_eq!(
        anonymous["errors"][0]["extensions"]["code"],
        json!("UNAUTHENTICATED")
    );
    let acked = app.graphql_as_admin(ACK, json!({ "id": id })).await;
    assert_eq!(
        acked["acknowledgeAlert"],
        json!({ "status": "ACKNOWLEDGED", "history": [
            { "status": "OPEN", "by": null, "comment": null },
            { "status": "ACKNOWLEDGED", "by": "Somchai", "comment": "visiting the district" }
        ] })
    );
    let resolved = app
        .graphql_as_admin(
            "mutation($id: ID!) { resolveAlert(id: $id, by: \"Somchai\", comment: \"enrolled\") { status resolvedPeriod } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(resolved["resolveAlert"]["status"], json!("RESOLVED"));
    let twice = app
        .graphql_with_token(
            Some(TOKEN),
            "mutation($id: ID!) { resolveAlert(id: $id, by: \"Somchai\") { status } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(twice["errors"][0]["extensions"]["code"], json!("BAD_INPUT"));
    // Filters: an area with its sub-areas, a topic, a status.
    let filtered = app
        .graphql(
            r#"{ alerts(filter: { area: "65", topic: "out_of_school", statuses: [OPEN, ACKNOWLEDGED, RESOLVED] }) { areaCode indicator { topic } } }"#,
            Value::Null,
        )
        .await;
    let filtered = filtered["alerts"].as_array().expect("alerts");
    assert!(!filtered.is_empty());
    assert!(filtered
        .iter()
        .all(|a| a["areaCode"].as_str().unwrap().starts_with("65")
            && a["indicator"]["topic"] == "out_of_school"));
    app.stop().await.expect("stops");
});

/// A receiver of webhooks on 127.0.0.1 that refuses its first post (so the hub must
/// retry) and records the rest.
async fn webhook_receiver() -> (String, Arc<Mutex<Vec<Value>>>, Arc<Mutex<usize>>) {
    let received: Arc<Mutex<Vec<Value>>> = Arc::default();
    let attempts: Arc<Mutex<usize>> = Arc::default();
    let (r, a) = (received.clone(), attempts.clone());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let (r, a) = (r.clone(), a.clone());
            async move {
                let attempt = {
                    let mut a = a.lock().unwrap();
                    *a += 1;
                    *a
                };
                if attempt == 1 {
                    return StatusCode::SERVICE_UNAVAILABLE;
                }
                r.lock().unwrap().push(body);
                StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("address"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, received, attempts)
}

both_backends!(
    a_rule_webhook_receives_raised_alerts,
    |backend| async move {
        let app = TestApp::spawn_with_token(backend, "deploy/demo/hub.toml", Some(TOKEN)).await;
        app.wait_for_runs(&CONNECTORS, Duration::from_secs(60))
            .await;
        wait_for_alerts(&app).await;
        let (url, received, attempts) = webhook_receiver().await;
        const SAVE: &str =
            "mutation($d: JSON!) { saveAlertRule(definition: $d) { name kind definition } }";
        let rule = json!({
            "name": "poverty_high", "indicator": "extremely_poor_students", "kind": "threshold",
            "levels": ["district"], "webhook": url
        });
        // The config's rules cannot be changed through the API; mistakes name the field.
        let provisioned = app
        .graphql_with_token(Some(TOKEN), SAVE, json!({ "d": { "name": "poverty_rising", "indicator": "extremely_poor_students", "kind": "missing" } }))
        .await;
        assert_eq!(
            provisioned["errors"][0]["extensions"]["code"],
            json!("FORBIDDEN"),
            "{provisioned}"
        );
        let mistake = app
        .graphql_with_token(Some(TOKEN), SAVE, json!({ "d": { "name": "x", "indicator": "dropouts", "kind": "jump", "share": 0.1 } }))
        .await;
        assert_eq!(
            mistake["errors"][0]["message"],
            json!("alert rule x: `share` does not apply to a jump rule")
        );
        let saved = app.graphql_as_admin(SAVE, json!({ "d": rule })).await;
        assert_eq!(saved["saveAlertRule"]["kind"], json!("THRESHOLD"));
        // The public sees that a webhook is set, not where.
        let public = app
            .graphql("{ alertRules { name definition } }", Value::Null)
            .await;
        assert!(!public.to_string().contains(&url), "{public}");

        let open = app
        .graphql(
            r#"{ alerts(filter: { indicators: ["extremely_poor_students"] }) { id rule areaCode severity } }"#,
            Value::Null,
        )
        .await;
        let raised: Vec<String> = open["alerts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["rule"] == "poverty_high")
            .map(|a| a["areaCode"].as_str().unwrap().to_string())
            .collect();
        assert!(
            !raised.is_empty(),
            "districts above 1,000 extremely poor students: {open}"
        );
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let got: Vec<String> = received
                .lock()
                .unwrap()
                .iter()
                .map(|e| e["area"].as_str().unwrap_or("").to_string())
                .collect();
            if got.len() == raised.len() {
                let mut got = got;
                got.sort();
                let mut want = raised.clone();
                want.sort();
                assert_eq!(got, want);
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "webhooks: {got:?} of {raised:?}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            *attempts.lock().unwrap() > raised.len(),
            "the refused post was retried"
        );
        // Deleting the rule resolves its alerts (nothing would evaluate them again).
        let deleted = app
            .graphql_as_admin(
                r#"mutation { deleteAlertRule(name: "poverty_high", by: "Somchai") }"#,
                Value::Null,
            )
            .await;
        assert_eq!(deleted["deleteAlertRule"], json!(true));
        let left = app
            .graphql(
                r#"{ alerts(filter: { indicators: ["extremely_poor_students"], statuses: [OPEN, ACKNOWLEDGED] }) { rule } }"#,
                Value::Null,
            )
            .await;
        assert!(!left.to_string().contains("poverty_high"), "{left}");
        for event in received.lock().unwrap().iter() {
            assert_eq!(event["event"], json!("raised"));
            assert_eq!(event["rule"], json!("poverty_high"));
            let alert = open["alerts"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|a| a["rule"] == "poverty_high" && a["areaCode"] == event["area"])
                .expect("the alert of the event");
            assert_eq!(
                event["severity"].as_str().map(str::to_uppercase).as_deref(),
                alert["severity"].as_str()
            );
        }
        app.stop().await.expect("stops");
    }
);
