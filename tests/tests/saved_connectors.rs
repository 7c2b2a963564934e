//! Connectors saved through the GraphQL API, on both backends: a mapping is tried with
//! `preview`, saved with `saveConnector`, scheduled at once and run like a provisioned
//! connector. Mistakes are refused naming the field; the config file's connectors and a
//! hub without an admin token refuse changes.

use abe_tests::{both_backends, TestApp};
use serde_json::{json, Value};
use std::time::Duration;

const TOKEN: &str = "test-admin-token-0123456789";

const SAVE: &str = "mutation($d: JSON!) { saveConnector(definition: $d) { name provisioned schedule definition } }";

/// The demo's example of a saved connector (`deploy/demo/saved-connector.json`): its
/// local-government CSV under a connector of its own.
fn lao_copy(schedule: Option<&str>) -> Value {
    let path = abe_tests::repo_path("deploy/demo/saved-connector.json");
    let text = std::fs::read_to_string(&path).expect("deploy/demo/saved-connector.json");
    let mut definition: Value = serde_json::from_str(&text).expect("JSON");
    if let Some(schedule) = schedule {
        definition["schedule"] = json!(schedule);
    }
    definition
}

fn code(response: &Value) -> &str {
    response["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {response}"))
}

fn message(response: &Value) -> &str {
    response["errors"][0]["message"].as_str().unwrap_or("")
}

async fn runs_of(app: &TestApp, connector: &str) -> Vec<Value> {
    let data = app
        .graphql(
            "query($c: String) { runs(connector: $c, first: 100) { edges { node { status counts { inserted } } } } }",
            json!({ "c": connector }),
        )
        .await;
    data["runs"]["edges"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|e| e["node"].clone())
        .collect()
}

both_backends!(
    a_saved_connector_is_checked_scheduled_and_run,
    |backend| async move {
        let app = TestApp::spawn_with_token(backend, "deploy/demo/hub.toml", Some(TOKEN)).await;
        app.wait_for_runs(&["demo_areas"], Duration::from_secs(60))
            .await;
        let as_admin = |query: &'static str, variables: Value| {
            let app = &app;
            async move { app.graphql_with_token(Some(TOKEN), query, variables).await }
        };

        // Credentials first: none, then a wrong token.
        let anonymous = app.graphql_raw(SAVE, json!({ "d": lao_copy(None) })).await;
        assert_eq!(code(&anonymous), "UNAUTHENTICATED", "{anonymous}");
        let wrong = app
            .graphql_with_token(
                Some("not-the-token-at-all"),
                SAVE,
                json!({ "d": lao_copy(None) }),
            )
            .await;
        assert_eq!(code(&wrong), "UNAUTHENTICATED", "{wrong}");

        // Each mistake is refused with the field it is in.
        let mistakes: Vec<(Value, &str)> = vec![
            (
                {
                    let mut d = lao_copy(None);
                    d["source"]["kind"] = json!("fax");
                    d
                },
                "unknown variant `fax`",
            ),
            (
                {
                    let mut d = lao_copy(None);
                    d["source"]["colour"] = json!("red");
                    d
                },
                "source: unknown field `colour`",
            ),
            (
                lao_copy(Some("every night")),
                "schedule \"every night\" is not a 6-field cron",
            ),
            (
                {
                    let mut d = lao_copy(None);
                    d["mapping"]["fields"]["colour"] = json!({"const": "x"});
                    d
                },
                "mapping field \"colour\" is not a field of observations",
            ),
            (
                {
                    let mut d = lao_copy(None);
                    d["mapping"]["fields"]["value"]["transforms"] = json!(["sparkle"]);
                    d
                },
                "mapping.fields.value.transforms",
            ),
            (
                {
                    let mut d = lao_copy(None);
                    d["source"]["path"] = json!("../../../etc/passwd");
                    d
                },
                "source.path: `../../../etc/passwd` is outside the hub's data folder",
            ),
            (
                {
                    let mut d = lao_copy(None);
                    d["mapping"]["fields"]["indicator"] = json!({"const": "happiness"});
                    d
                },
                "indicator happiness is not in the catalogue",
            ),
            (
                {
                    let mut d = lao_copy(None);
                    d["agency"] = json!("NOBODY");
                    d
                },
                "agency: NOBODY is not in the catalogue",
            ),
            (
                {
                    let mut d = lao_copy(None);
                    d["name"] = json!("lao copy; drop");
                    d
                },
                "connector name \"lao copy; drop\"",
            ),
            // Secrets come only from ABE_SECRET_* variables, never written in.
            (
                {
                    let mut d = lao_copy(None);
                    d["source"] = json!({ "kind": "sql", "url": "postgres://reader:hunter2@db.example/lao",
                        "query": "SELECT 1" });
                    d
                },
                "source.url holds a secret",
            ),
            (
                {
                    let mut d = lao_copy(None);
                    d["source"] = json!({ "kind": "http_json", "url": "https://api.example/v1",
                        "headers": { "Authorization": "Bearer abc" } });
                    d
                },
                "source.headers.Authorization holds a secret",
            ),
            (
                {
                    let mut d = lao_copy(None);
                    d["source"] =
                        json!({ "kind": "http_json", "url": "https://api.example/v1?api_key=abc" });
                    d
                },
                "source.url holds a secret",
            ),
        ];
        for (definition, expected) in mistakes {
            let refused = as_admin(SAVE, json!({ "d": definition })).await;
            assert_eq!(code(&refused), "BAD_INPUT", "{refused}");
            assert!(
                message(&refused).contains(expected),
                "{expected}: {refused}"
            );
        }
        let mut provisioned = lao_copy(None);
        provisioned["name"] = json!("lao_out_of_school");
        let refused = as_admin(SAVE, json!({ "d": provisioned })).await;
        assert_eq!(code(&refused), "FORBIDDEN", "{refused}");
        assert!(
            message(&refused).contains("provisioned from the config file"),
            "{refused}"
        );
        let listed = app
            .graphql(r#"{ connector(name: "lao_copy") { name } }"#, Value::Null)
            .await;
        assert_eq!(
            listed["connector"],
            Value::Null,
            "nothing refused was saved"
        );
        let unauthenticated_preview = app
            .graphql_raw(
                "query($d: JSON!) { preview(definition: $d) { rows { row } } }",
                json!({ "d": lao_copy(None) }),
            )
            .await;
        assert_eq!(
            code(&unauthenticated_preview),
            "UNAUTHENTICATED",
            "{unauthenticated_preview}"
        );
        // The hub's own settings are not secrets a saved connector may send anywhere.
        let mut leaky = lao_copy(None);
        leaky["source"] = json!({ "kind": "http_json", "url": "https://example.org/",
            "auth": { "kind": "bearer", "token_env": "ABE_ADMIN_TOKEN" } });
        let refused = as_admin(SAVE, json!({ "d": leaky })).await;
        assert_eq!(code(&refused), "BAD_INPUT", "{refused}");
        assert!(
            message(&refused).contains("source.auth.token_env"),
            "{refused}"
        );

        // An unsaved definition previews: rows and rejects, nothing written.
        let preview = as_admin(
        "query($d: JSON!) { preview(definition: $d, rows: 100) { rows { row } rejects { row column reason } } }",
        json!({ "d": lao_copy(None) }),
    )
    .await;
        assert!(preview.get("errors").is_none(), "{preview}");
        assert_eq!(
            preview["data"]["preview"]["rows"].as_array().map(Vec::len),
            Some(75)
        );
        let rejected: Vec<&Value> = preview["data"]["preview"]["rejects"]
            .as_array()
            .map(|r| r.iter().map(|x| &x["row"]).collect())
            .unwrap_or_default();
        assert_eq!(rejected, [&json!(52), &json!(78)]);

        // Saved with a schedule of every second: it runs without a restart.
        let saved = as_admin(SAVE, json!({ "d": lao_copy(Some("* * * * * *")) })).await;
        assert!(saved.get("errors").is_none(), "{saved}");
        let node = &saved["data"]["saveConnector"];
        assert_eq!(
            (node["name"].as_str(), node["provisioned"].as_bool()),
            (Some("lao_copy"), Some(false))
        );
        let stored: Value = serde_json::from_str(node["definition"].as_str().unwrap_or(""))
            .expect("definition JSON");
        assert_eq!(
            stored["mapping"],
            lao_copy(None)["mapping"],
            "the mapping is stored as given"
        );
        app.wait_for_runs(&["lao_copy"], Duration::from_secs(30))
            .await;
        let runs = runs_of(&app, "lao_copy").await;
        assert_eq!(
            runs.last().map(|r| r["status"].clone()),
            Some(json!("SUCCEEDED")),
            "{runs:?}"
        );
        assert_eq!(
            runs.last().map(|r| r["counts"]["inserted"].clone()),
            Some(json!(75))
        );
        let loaded = app
            .graphql(
                r#"{ observations(filter: { connector: "lao_copy" }) { totalCount } }"#,
                Value::Null,
            )
            .await;
        assert_eq!(loaded["observations"]["totalCount"], json!(75));

        // Saved again without a schedule: the job is gone, the definition replaced.
        let resaved = as_admin(SAVE, json!({ "d": lao_copy(None) })).await;
        assert!(resaved.get("errors").is_none(), "{resaved}");
        assert_eq!(resaved["data"]["saveConnector"]["schedule"], Value::Null);
        // A run the old job had started may still finish; after that, no more.
        tokio::time::sleep(Duration::from_millis(1500)).await;
        let settled = runs_of(&app, "lao_copy").await.len();
        tokio::time::sleep(Duration::from_millis(2500)).await;
        assert_eq!(
            runs_of(&app, "lao_copy").await.len(),
            settled,
            "unscheduled"
        );

        // Named previews find saved connectors too.
        let named = app
            .graphql_as_admin(
                r#"{ preview(connector: "lao_copy", rows: 3) { rows { row } } }"#,
                Value::Null,
            )
            .await;
        assert_eq!(named["preview"]["rows"].as_array().map(Vec::len), Some(3));
        app.stop().await.expect("stops");
    }
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symbolic_links_out_of_the_data_folder_are_refused_when_saved_and_when_run() {
    let outer = tempfile::tempdir().expect("tempdir");
    let base = outer.path().join("hub");
    std::fs::create_dir_all(base.join("data")).expect("folders");
    std::fs::write(base.join("hub.toml"), "").expect("config");
    let secret = outer.path().join("secret.csv");
    std::fs::write(&secret, "area,year,n\n9001,2566,1\n").expect("secret");
    std::os::unix::fs::symlink(&secret, base.join("data/link.csv")).expect("link");
    let app = TestApp::spawn_with_config(
        abe_tests::Backend::Sqlite,
        &base.join("hub.toml"),
        Some(TOKEN),
    )
    .await;
    let definition = |path: &str| {
        json!({ "name": "linked", "target": "areas",
                "source": { "kind": "csv", "path": path },
                "mapping": { "fields": { "code": { "column": "area" }, "name_th": { "column": "year" } } } })
    };
    let refused = app
        .graphql_with_token(
            Some(TOKEN),
            SAVE,
            json!({ "d": definition("data/link.csv") }),
        )
        .await;
    assert_eq!(code(&refused), "BAD_INPUT", "{refused}");
    assert!(
        message(&refused).contains("source.path: `data/link.csv` is outside the hub's data folder"),
        "{refused}"
    );
    // A link made after the definition was saved is found before the file is read.
    let saved = app
        .graphql_with_token(
            Some(TOKEN),
            SAVE,
            json!({ "d": definition("data/later.csv") }),
        )
        .await;
    assert!(saved.get("errors").is_none(), "{saved}");
    std::os::unix::fs::symlink(&secret, base.join("data/later.csv")).expect("link");
    let preview = app
        .graphql_with_token(
            Some(TOKEN),
            r#"{ preview(connector: "linked") { rows { row } } }"#,
            Value::Null,
        )
        .await;
    assert_eq!(code(&preview), "CONFIG_INVALID", "{preview}");
    assert!(
        message(&preview).contains("outside the hub's data folder"),
        "{preview}"
    );
    app.stop().await.expect("stops");
}

both_backends!(
    without_an_admin_token_the_api_changes_nothing,
    |backend| async move {
        let app = TestApp::spawn(backend, "deploy/demo/hub.toml").await;
        let refused = app
            .graphql_with_token(Some(TOKEN), SAVE, json!({ "d": lao_copy(None) }))
            .await;
        assert_eq!(code(&refused), "FORBIDDEN", "{refused}");
        assert!(message(&refused).contains("ABE_ADMIN_TOKEN"), "{refused}");
        app.stop().await.expect("stops");
    }
);
