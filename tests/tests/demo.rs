//! The user's story on the demo province: start the hub, let the first runs finish,
//! query through HTTP GraphQL, run again and see nothing change.

use abe_tests::{both_backends, Backend, TestApp};
use serde_json::{json, Value};
use std::time::Duration;

use abe_tests::DEMO_CONNECTORS as CONNECTORS;

const OBSERVATION: &str = r#"
query ($filter: ObservationFilterInput) {
  observations(filter: $filter) {
    totalCount
    edges { node {
      value period
      breakdown { dimension value }
      area { code nameTh }
      indicator { code }
      provenance { connector file sheet row run { id } }
    } }
  }
}"#;

async fn one_value(app: &TestApp, filter: Value) -> Value {
    let data = app.graphql(OBSERVATION, json!({ "filter": filter })).await;
    let edges = data["observations"]["edges"]
        .as_array()
        .expect("edges")
        .clone();
    assert_eq!(
        edges.len(),
        1,
        "exactly one observation for {filter}: {data}"
    );
    edges[0]["node"].clone()
}

async fn rejects_of(app: &TestApp, connector: &str) -> Vec<Value> {
    let data = app
        .graphql(
            r#"query ($name: String!) { connector(name: $name) { latestRun { counts { rejected }
                 rejects { totalCount edges { node { file sheet row column value reason } } } } } }"#,
            json!({ "name": connector }),
        )
        .await;
    let run = &data["connector"]["latestRun"];
    let rejects: Vec<Value> = run["rejects"]["edges"]
        .as_array()
        .expect("rejects")
        .iter()
        .map(|e| e["node"].clone())
        .collect();
    assert_eq!(run["counts"]["rejected"], json!(rejects.len()), "{data}");
    rejects
}

const ADMIN_TOKEN: &str = "demo-admin-token-0123456789";

both_backends!(demo_province_end_to_end, |backend: Backend| async move {
    let app = TestApp::spawn_with_token(backend, "deploy/demo/hub.toml", Some(ADMIN_TOKEN)).await;
    app.wait_for_runs(&CONNECTORS, Duration::from_secs(60))
        .await;

    // What a steward reads after the first runs: each connector, its run and its
    // reject report, reviewed as a whole when it changes (the same on both backends).
    let report = app
        .graphql(
            r#"{ connectors { edges { node { name kind target provisioned updatedAt
                 latestRun { id trigger status startedAt finishedAt readMs loadMs
                   counts { read inserted updated unchanged deleted duplicates rejected } errorCode error
                   reasons { severity reason count positions { file sheet row column } }
                   warnings { totalCount }
                   rejects { totalCount edges { node { id file sheet row column value reason } } } } } } } }"#,
            Value::Null,
        )
        .await;
    insta::assert_json_snapshot!("demo_first_runs", report, {
        ".**.id" => "[id]",
        ".**.updatedAt" => "[time]",
        ".**.startedAt" => "[time]",
        ".**.finishedAt" => "[time]",
        ".**.readMs" => "[ms]",
        ".**.loadMs" => "[ms]",
    });

    // Excel from the education office: Buddhist-era year, Thai sex labels, title rows.
    let enrolled = one_value(
        &app,
        json!({ "indicators": ["enrolled_children"], "area": "9001", "periods": ["2023"],
                "breakdown": [{ "dimension": "sex", "value": "female" }] }),
    )
    .await;
    assert_eq!(enrolled["value"], json!(3931.0));
    assert_eq!(enrolled["area"]["nameTh"], json!("เมืองสงขลา"));
    assert_eq!(enrolled["provenance"]["connector"], json!("peo_students"));
    assert_eq!(
        enrolled["provenance"]["file"],
        json!("data/education-office.xlsx")
    );
    assert_eq!(enrolled["provenance"]["sheet"], json!("นักเรียน"));
    assert_eq!(enrolled["provenance"]["row"], json!(206));
    let dropouts = one_value(
        &app,
        json!({ "indicators": ["dropouts"], "area": "6501", "periods": ["2022"],
                "breakdown": [{ "dimension": "sex", "value": "female" }] }),
    )
    .await;
    assert_eq!(dropouts["value"], json!(62.0));

    // TIS-620 CSV from local government: Thai digits, quoted thousands separators; the
    // bad row 52 shares its key with row 37 and must not have overwritten it.
    let thai_digits = one_value(
        &app,
        json!({ "indicators": ["out_of_school_children"], "area": "9002", "periods": ["2021"] }),
    )
    .await;
    assert_eq!(thai_digits["value"], json!(231.0));
    let thousands = one_value(
        &app,
        json!({ "indicators": ["out_of_school_children"], "area": "9011", "periods": ["2022"] }),
    )
    .await;
    assert_eq!(thousands["value"], json!(1329.0));
    assert_eq!(thousands["provenance"]["row"], json!(37));

    // UTF-8 CSV with BOM and semicolons from the NGO.
    let poor = one_value(
        &app,
        json!({ "indicators": ["extremely_poor_students"], "area": "9011", "periods": ["2023"] }),
    )
    .await;
    assert_eq!(poor["value"], json!(2751.0));

    // The area filter includes descendants: 16 Songkhla districts x 3 years.
    let songkhla = app
        .graphql(
            OBSERVATION,
            json!({ "filter": { "indicators": ["out_of_school_children"], "area": "90" } }),
        )
        .await;
    assert_eq!(songkhla["observations"]["totalCount"], json!(48));

    // Rejects name file, sheet, row, column, value and reason.
    let peo = rejects_of(&app, "peo_students").await;
    let positions: Vec<(Value, Value, Value)> = peo
        .iter()
        .map(|r| (r["row"].clone(), r["column"].clone(), r["value"].clone()))
        .collect();
    assert_eq!(
        positions,
        vec![
            (json!(304), json!("จำนวน"), json!("ไม่ทราบ")),
            (json!(305), json!("รหัสอำเภอ"), json!("9099")),
            (json!(306), json!("ปีการศึกษา"), json!("25x6")),
        ]
    );
    assert!(
        peo.iter()
            .all(|r| r["sheet"] == json!("นักเรียน")
                && r["file"] == json!("data/education-office.xlsx"))
    );
    assert!(
        peo[1]["reason"]
            .as_str()
            .is_some_and(|s| s.contains("9099 is not known")),
        "{peo:?}"
    );
    let lao: Vec<Value> = rejects_of(&app, "lao_out_of_school")
        .await
        .iter()
        .map(|r| r["row"].clone())
        .collect();
    assert_eq!(lao, vec![json!(52), json!(78)]);
    let ngo = rejects_of(&app, "ngo_poverty").await;
    assert_eq!(
        (ngo.len(), &ngo[0]["row"], &ngo[0]["column"]),
        (1, &json!(77), &json!("ปี"))
    );

    // A second run of every connector changes nothing.
    let before = app
        .graphql("{ observations { totalCount } }", Value::Null)
        .await;
    let config = abe_hub::config::HubConfig::load(&abe_tests::repo_path("deploy/demo/hub.toml"))
        .expect("config");
    let pipeline = abe_pipeline::Pipeline::new(app.store.clone());
    for def in config.connector_defs().expect("defs") {
        let report = pipeline
            .run(&def, abe_pipeline::Trigger::Manual)
            .await
            .expect("second run");
        assert_eq!(
            (
                report.counts.inserted,
                report.counts.updated,
                report.counts.deleted
            ),
            (0, 0, 0),
            "{report:?}"
        );
        assert_eq!(
            report.counts.unchanged + report.counts.rejected,
            report.counts.read,
            "{report:?}"
        );
    }
    let latest = app
        .graphql(
            "{ connectors { edges { node { name latestRun { trigger status counts { inserted updated deleted } } } } } }",
            Value::Null,
        )
        .await;
    for edge in latest["connectors"]["edges"]
        .as_array()
        .expect("connectors")
    {
        assert_eq!(
            edge["node"]["latestRun"],
            json!({ "trigger": "manual", "status": "SUCCEEDED", "counts": { "inserted": 0, "updated": 0, "deleted": 0 } }),
            "{edge}"
        );
    }
    let after = app
        .graphql("{ observations { totalCount } }", Value::Null)
        .await;
    assert_eq!(before, after);
    assert_eq!(
        after["observations"]["totalCount"],
        json!(300 + 75 + 98 + 75)
    );

    // A preview maps without writing: rows and rejects side by side. It reads the
    // source with its secrets and shows raw values, so it is for admins only.
    let runs_before = app.graphql("{ runs { totalCount } }", Value::Null).await;
    let anonymous = app
        .graphql_raw(
            r#"{ preview(connector: "peo_students") { rows { row } } }"#,
            Value::Null,
        )
        .await;
    assert_eq!(
        anonymous["errors"][0]["extensions"]["code"],
        json!("UNAUTHENTICATED")
    );
    assert_eq!(anonymous["data"], Value::Null, "{anonymous}");
    let preview = app
        .graphql_as_admin(
            r#"{ preview(connector: "peo_students", rows: 400) {
                 rows { row sheet fields { name value } }
                 rejects { row column value reason } } }"#,
            Value::Null,
        )
        .await;
    let rows = preview["preview"]["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 300);
    insta::assert_json_snapshot!(
        "demo_preview_first_rows_and_rejects",
        json!({
            "rows": rows[..3],
            "rejects": preview["preview"]["rejects"],
        })
    );
    assert_eq!(rows[0]["row"], json!(4));
    assert!(rows[0]["fields"]
        .as_array()
        .expect("fields")
        .contains(&json!({ "name": "period", "value": "2021" })));
    let preview_rejects: Vec<Value> = preview["preview"]["rejects"]
        .as_array()
        .expect("rejects")
        .iter()
        .map(|r| r["row"].clone())
        .collect();
    assert_eq!(preview_rejects, vec![json!(304), json!(305), json!(306)]);
    assert_eq!(
        app.graphql("{ runs { totalCount } }", Value::Null).await,
        runs_before
    );
    let missing = app
        .graphql_with_token(
            Some(ADMIN_TOKEN),
            r#"{ preview(connector: "nope") { rows { row } } }"#,
            Value::Null,
        )
        .await;
    assert_eq!(
        missing["errors"][0]["extensions"]["code"],
        json!("NOT_FOUND")
    );

    // Hierarchy both ways, and health.
    let area = app
        .graphql(r#"{ area(code: "9011") { nameEn level parent { code nameEn } } province: area(code: "65") { children { totalCount } } }"#, Value::Null)
        .await;
    assert_eq!(
        area["area"],
        json!({ "nameEn": "Hat Yai", "level": "DISTRICT", "parent": { "code": "90", "nameEn": "Songkhla" } })
    );
    assert_eq!(area["province"]["children"]["totalCount"], json!(9));
    let health = app
        .client
        .get(format!("{}/healthz", app.base))
        .send()
        .await
        .expect("healthz");
    assert!(health.status().is_success());
    app.stop().await.expect("clean stop");
});
