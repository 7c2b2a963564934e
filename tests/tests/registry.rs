//! The resource registry, the problems and the gap analysis on the demo province: the
//! workshop workbook loads with its rejects, the registry's filters (an area inherits
//! the resources of the areas above it), Thai search by substring on both databases,
//! the changes through the API, and the gap report.

use abe_tests::{both_backends, Backend, TestApp, TestDb};
use serde_json::{json, Value};
use std::time::Duration;

use abe_tests::DEMO_CONNECTORS as CONNECTORS;

const TOKEN: &str = "registry-admin-token-0123456789";

const RESOURCES: &str = r#"query($f: ResourceFilterInput) {
  resources(filter: $f, first: 100) { totalCount edges { node { code } } } }"#;

/// The codes of the resources matching `filter`, sorted.
async fn resource_codes(app: &TestApp, filter: Value) -> Vec<String> {
    let data = app.graphql(RESOURCES, json!({ "f": filter })).await;
    let mut codes: Vec<String> = data["resources"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{data}"))
        .iter()
        .map(|e| e["node"]["code"].as_str().expect("code").to_string())
        .collect();
    assert_eq!(data["resources"]["totalCount"], json!(codes.len()));
    codes.sort();
    codes
}

/// `WS2569-R1` ... for the demo workbook's resource numbers, sorted as codes sort.
fn numbered(numbers: &[u32]) -> Vec<String> {
    let mut codes: Vec<String> = numbers.iter().map(|n| format!("WS2569-R{n}")).collect();
    codes.sort();
    codes
}

async fn rejects_of(app: &TestApp, connector: &str) -> Vec<Value> {
    let data = app
        .graphql(
            r#"query ($name: String!) { connector(name: $name) { latestRun { counts { inserted rejected }
                 rejects { edges { node { sheet row column value reason } } } } } }"#,
            json!({ "name": connector }),
        )
        .await;
    data["connector"]["latestRun"]["rejects"]["edges"]
        .as_array()
        .unwrap_or_else(|| panic!("{data}"))
        .iter()
        .map(|e| e["node"].clone())
        .collect()
}

both_backends!(
    the_workshop_workbook_fills_the_registry,
    |backend: Backend| async move {
        let app = TestApp::spawn_with_token(backend, "deploy/demo/hub.toml", Some(TOKEN)).await;
        app.wait_for_runs(&CONNECTORS, Duration::from_secs(60))
            .await;

        // 30 problems and 40 resources, with their deliberately bad rows refused.
        let counts = app
            .graphql(
                "{ problems { totalCount } resources { totalCount } topics { code } }",
                Value::Null,
            )
            .await;
        assert_eq!(counts["problems"]["totalCount"], json!(30), "{counts}");
        assert_eq!(counts["resources"]["totalCount"], json!(40), "{counts}");
        assert_eq!(counts["topics"].as_array().map(Vec::len), Some(11));
        // A problem's status comes from the workbook (Thai labels).
        let taken_up = app
        .graphql(
            r#"{ problems(filter: { statuses: [BEING_ADDRESSED] }) { edges { node { code } } } }"#,
            Value::Null,
        )
        .await;
        assert_eq!(
            taken_up["problems"]["edges"],
            json!([{ "node": { "code": "WS2569-P20" } }, { "node": { "code": "WS2569-P7" } }])
        );
        let problem_rejects = rejects_of(&app, "workshop_problems").await;
        insta::assert_json_snapshot!("workshop_problem_rejects", problem_rejects);
        let resource_rejects = rejects_of(&app, "workshop_resources").await;
        insta::assert_json_snapshot!("workshop_resource_rejects", resource_rejects);

        // A district inherits the province's resources; Chana (9003) has one of its own.
        let songkhla_wide = [1, 2, 3, 4, 12, 14, 18];
        let chana: Vec<u32> = songkhla_wide.iter().copied().chain([5]).collect();
        assert_eq!(
            resource_codes(&app, json!({ "area": "9003" })).await,
            numbered(&chana)
        );
        assert_eq!(
            resource_codes(&app, json!({ "area": "90" })).await,
            numbered(&songkhla_wide),
            "the province alone: not its districts' resources"
        );
        // Within: everything named for Songkhla or an area in it.
        assert_eq!(
            resource_codes(&app, json!({ "within": "90" })).await,
            numbered(&(1..=22).collect::<Vec<_>>())
        );
        // Category, topic, agency, validity.
        assert_eq!(
            resource_codes(&app, json!({ "within": "90", "categories": ["POLICY"] })).await,
            numbered(&[9, 14, 18, 21])
        );
        assert_eq!(
            resource_codes(
                &app,
                json!({ "area": "9010", "topics": ["migrant_stateless"] })
            )
            .await,
            numbered(&[9, 10])
        );
        assert_eq!(
            resource_codes(&app, json!({ "agencies": ["NGO-DEMO"] })).await,
            numbered(&[2, 3, 10, 14, 17, 22, 24, 32])
        );
        // Resource 3 (a scholarship) runs until 30/09/2570, that is 2027-09-30.
        let chana_later: Vec<u32> = chana.iter().copied().filter(|n| *n != 3).collect();
        assert_eq!(
            resource_codes(&app, json!({ "area": "9003", "validOn": "2027-10-01" })).await,
            numbered(&chana_later)
        );
        assert_eq!(
            resource_codes(&app, json!({ "area": "9003", "validOn": "2027-09-30" })).await,
            numbered(&chana)
        );

        // Thai has no spaces: a word in the middle of a title or description is found.
        assert_eq!(
            resource_codes(&app, json!({ "search": "ค่าเดินทาง" })).await,
            numbered(&[3, 8])
        );
        assert_eq!(
            resource_codes(&app, json!({ "search": "LIBRARY" })).await,
            numbered(&[37]),
            "English matches in any case"
        );
        assert_eq!(
            resource_codes(&app, json!({ "search": "ทุน", "within": "65" })).await,
            numbered(&[24, 26]),
            "a three-letter word, inside Phitsanulok"
        );
        assert_eq!(
            resource_codes(&app, json!({ "search": "100%" })).await,
            Vec::<String>::new(),
            "LIKE's wildcards are taken literally"
        );

        // A resource's contact is kept from the public; the admin sees it.
        const CONTACT: &str = r#"{ resource(code: "WS2569-R3") { hasContact contact updatedBy retiredBy agency { code }
        areaCodes topics { code nameTh } category subcategory amount unit validTo origin connector } }"#;
        let public = app.graphql(CONTACT, Value::Null).await;
        insta::assert_json_snapshot!("resource_as_the_public_sees_it", public);
        assert_eq!(public["resource"]["contact"], Value::Null);
        let admin = app.graphql_as_admin(CONTACT, Value::Null).await;
        assert_eq!(admin["resource"]["contact"], json!("มูลนิธิฯ โทร 074-000-000"));

        // Totals by category for Chana: the province's resources and its own (R5).
        let totals = app
        .graphql(
            r#"{ resourceTotals(area: "9003", on: "2026-12-01") { areaCode category resources amounts { unit amount } } }"#,
            Value::Null,
        )
        .await;
        assert_eq!(
            totals["resourceTotals"],
            json!([
                { "areaCode": "9003", "category": "DATA", "resources": 2, "amounts": [] },
                { "areaCode": "9003", "category": "OPERATIONS", "resources": 3, "amounts": [
                    { "unit": "BAHT", "amount": 2400000.0 },
                    { "unit": "PEOPLE", "amount": 24.0 },
                    { "unit": "PLACES", "amount": 60.0 } ] },
                { "areaCode": "9003", "category": "KNOWLEDGE", "resources": 1, "amounts": [
                    { "unit": "ITEMS", "amount": 500.0 } ] },
                { "areaCode": "9003", "category": "POLICY", "resources": 2, "amounts": [] },
            ])
        );
        let by_district = app
            .graphql(
                r#"{ resourceTotals(area: "90", level: DISTRICT) { areaCode } }"#,
                Value::Null,
            )
            .await;
        assert_eq!(
            by_district["resourceTotals"].as_array().map(Vec::len),
            Some(16 * 4),
            "every district of Songkhla, every category"
        );

        // The categories with their labels, for forms and legends.
        let categories = app
            .graphql(
                "{ resourceCategories { category number labelTh subcategories { code labelTh } } }",
                Value::Null,
            )
            .await;
        insta::assert_json_snapshot!("resource_categories", categories);
    }
);

both_backends!(
    resources_and_problems_change_through_the_api,
    |backend: Backend| async move {
        let app = TestApp::spawn_with_token(backend, "deploy/demo/hub.toml", Some(TOKEN)).await;
        app.wait_for_runs(&CONNECTORS, Duration::from_secs(60))
            .await;
        const CREATE: &str = r#"mutation($i: ResourceInput!) {
        createResource(input: $i, by: "steward@peo") { code areaCodes topicCodes origin connector updatedBy } }"#;
        let input = json!({
            "code": "API-1", "titleTh": "ครูอาสาสอนภาษาไทยให้เด็กข้ามชาติ", "category": "OPERATIONS",
            "subcategory": "people", "areas": ["9010"], "topics": ["migrant_stateless"],
            "amount": 4, "unit": "PEOPLE", "agency": "NGO-DEMO", "contact": "line: @demo"
        });

        // The public may not write.
        let refused = app.graphql_raw(CREATE, json!({ "i": input })).await;
        assert_eq!(
            refused["errors"][0]["extensions"]["code"],
            json!("UNAUTHENTICATED"),
            "{refused}"
        );

        let created = app.graphql_as_admin(CREATE, json!({ "i": input })).await;
        assert_eq!(
            created["createResource"],
            json!({ "code": "API-1", "areaCodes": ["9010"], "topicCodes": ["migrant_stateless"],
                "origin": "API", "connector": null, "updatedBy": "steward@peo" })
        );
        assert!(resource_codes(&app, json!({ "area": "901001" }))
            .await
            .contains(&"API-1".to_string()));

        // Checked as a loaded row is, with the field named.
        for (change, field) in [
            (json!({ "topics": ["drugs"] }), "topics"),
            (json!({ "areas": ["9099"] }), "areas"),
            (json!({ "subcategory": "network" }), "subcategory"),
            (json!({ "unit": null }), "unit"),
            (json!({ "agency": "NOBODY" }), "agency"),
            (
                json!({ "validFrom": "2027-01-01", "validTo": "2026-01-01" }),
                "valid_to",
            ),
        ] {
            let mut bad = input.clone();
            bad["code"] = json!("API-BAD");
            for (k, v) in change.as_object().expect("object") {
                bad[k] = v.clone();
            }
            let answer = app
                .graphql_with_token(Some(TOKEN), CREATE, json!({ "i": bad }))
                .await;
            let message = answer["errors"][0]["message"].as_str().unwrap_or_default();
            assert!(
                message.starts_with(&format!("{field}:")),
                "{change} should be refused at {field}: {answer}"
            );
            assert_eq!(
                answer["errors"][0]["extensions"]["code"],
                json!("BAD_INPUT")
            );
        }
        let twice = app
            .graphql_with_token(Some(TOKEN), CREATE, json!({ "i": input }))
            .await;
        assert!(
            twice["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("exists already")),
            "{twice}"
        );

        // A loaded resource changes in its source, not here.
        const UPDATE: &str = r#"mutation($i: ResourceInput!) {
        updateResource(input: $i, by: "steward@peo") { code titleTh } }"#;
        let mut loaded = input.clone();
        loaded["code"] = json!("WS2569-R9");
        let answer = app
            .graphql_with_token(Some(TOKEN), UPDATE, json!({ "i": loaded }))
            .await;
        assert!(
            answer["errors"][0]["message"]
                .as_str()
                .is_some_and(|m| m.contains("loaded by connector workshop_resources")),
            "{answer}"
        );
        let mut renamed = input.clone();
        renamed["titleTh"] = json!("ครูอาสาสองภาษา");
        let updated = app.graphql_as_admin(UPDATE, json!({ "i": renamed })).await;
        assert_eq!(updated["updateResource"]["titleTh"], json!("ครูอาสาสองภาษา"));

        // Retired: out of the lists, still in history.
        let retired = app
        .graphql_as_admin(
            r#"mutation { retireResource(code: "API-1", by: "steward@peo", on: "2026-12-01") { retiredOn retiredBy } }"#,
            Value::Null,
        )
        .await;
        assert_eq!(
            retired["retireResource"],
            json!({ "retiredOn": "2026-12-01", "retiredBy": "steward@peo" })
        );
        assert!(!resource_codes(&app, json!({ "within": "90" }))
            .await
            .contains(&"API-1".to_string()));
        assert!(
            resource_codes(&app, json!({ "within": "90", "includeRetired": true }))
                .await
                .contains(&"API-1".to_string())
        );
        // Retired from 1 December: still in force on the day before.
        assert!(
            resource_codes(&app, json!({ "within": "90", "validOn": "2026-11-30" }))
                .await
                .contains(&"API-1".to_string())
        );
        let again = app
            .graphql_with_token(
                Some(TOKEN),
                r#"mutation { retireResource(code: "API-1", by: "steward@peo") { code } }"#,
                Value::Null,
            )
            .await;
        assert_eq!(
            again["errors"][0]["message"],
            json!("resource API-1 was retired on 2026-12-01"),
            "{again}"
        );
        let history = app
            .graphql(
                r#"{ resource(code: "API-1") { retiredOn retiredBy } }"#,
                Value::Null,
            )
            .await;
        assert_eq!(
            history["resource"],
            json!({ "retiredOn": "2026-12-01", "retiredBy": null }),
            "who retired it is for admins"
        );

        // An area is a DOPA code: anything else is refused, not matched as a prefix.
        let bad_area = app
            .graphql_raw(
                r#"{ resources(filter: { within: "9" }) { totalCount } }"#,
                Value::Null,
            )
            .await;
        assert_eq!(
            bad_area["errors"][0]["extensions"]["code"],
            json!("BAD_INPUT"),
            "{bad_area}"
        );

        // Problems: created, moved along, listed by status.
        let problem = app
        .graphql_as_admin(
            r#"mutation { createProblem(input: { code: "API-P1", area: "9010", topic: "migrant_stateless",
                 statementTh: "เด็กข้ามชาติยังไม่ได้เรียนภาษาไทย", children: 40, severity: HIGH }, by: "steward@peo") {
                 code areaCode topicCode status severity children origin } }"#,
            Value::Null,
        )
        .await;
        assert_eq!(
            problem["createProblem"],
            json!({ "code": "API-P1", "areaCode": "9010", "topicCode": "migrant_stateless",
                "status": "OPEN", "severity": "HIGH", "children": 40, "origin": "API" })
        );
        let moved = app
        .graphql_as_admin(
            r#"mutation { setProblemStatus(code: "API-P1", status: BEING_ADDRESSED, by: "steward@peo") { status } }"#,
            Value::Null,
        )
        .await;
        assert_eq!(
            moved["setProblemStatus"]["status"],
            json!("BEING_ADDRESSED")
        );
        let loaded_problem = app
        .graphql_with_token(
            Some(TOKEN),
            r#"mutation { setProblemStatus(code: "WS2569-P1", status: CLOSED, by: "steward@peo") { status } }"#,
            Value::Null,
        )
        .await;
        assert!(loaded_problem["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("loaded by connector workshop_problems")));
        let open = app
        .graphql(
            r#"{ problems(filter: { area: "9010", statuses: [BEING_ADDRESSED] }) { edges { node { code } } } }"#,
            Value::Null,
        )
        .await;
        assert_eq!(
            open["problems"]["edges"],
            json!([{ "node": { "code": "API-P1" } }, { "node": { "code": "WS2569-P7" } }]),
            "the one entered here, and the workbook's Sadao problem a partner took up"
        );
    }
);

both_backends!(the_gap_report_of_the_demo, |backend: Backend| async move {
    let app = TestApp::spawn_with_token(backend, "deploy/demo/hub.toml", Some(TOKEN)).await;
    app.wait_for_runs(&CONNECTORS, Duration::from_secs(60))
        .await;
    // Computed after the runs: the alerts that count as problems are there.
    app.graphql_as_admin("mutation { recompute { values } }", Value::Null)
        .await;
    let report = app
        .graphql(
            r#"{ gaps(area: "90", on: "2026-12-01") {
                 complete
                 areaCode
                 uncovered { kind key areaCode topicCode severity children
                   nearby { distance resource { code } } otherTopicsHere { code } }
                 byTopic { topicCode items covered uncovered children childrenUncovered resources amounts { unit amount } }
                 byArea { areaCode items covered criticalAlerts resources resourcesAvailable }
                 hotspots { areaCode criticalAlerts resourcesAvailable } } }"#,
            Value::Null,
        )
        .await;
    let gaps = &report["gaps"];
    assert_eq!(gaps["areaCode"], json!("90"), "{report}");

    // Hand-checked against the workbook: Chana's out-of-school problem (P2) is covered
    // by the province's tracking system (R1), teachers (R4) and plan (R18), and its own
    // learning centre (R5).
    let covering = app
        .graphql(
            r#"{ gaps(area: "9003", topics: ["out_of_school"], on: "2026-12-01") {
                 items { key kind covered covering { code } } } }"#,
            Value::Null,
        )
        .await;
    let p2 = covering["gaps"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["key"] == "WS2569-P2")
        .cloned()
        .unwrap_or_else(|| panic!("{covering}"));
    let mut codes: Vec<&str> = p2["covering"]
        .as_array()
        .expect("covering")
        .iter()
        .filter_map(|r| r["code"].as_str())
        .collect();
    codes.sort();
    assert_eq!(codes, ["WS2569-R1", "WS2569-R18", "WS2569-R4", "WS2569-R5"]);

    // Every other Songkhla problem has a resource of its topic in its district or
    // province-wide (P11's teenage pregnancy: the health-school network R14), and so
    // has every alert (out-of-school, dropout and poverty resources are province-wide).
    // Only Krasae Sin's digital access (P10) is uncovered; the nearest resource of the
    // topic is Hat Yai's computer room (R16), elsewhere in the province, and the
    // province-wide resources of other topics are there.
    let uncovered = gaps["uncovered"].as_array().expect("uncovered");
    let keys: Vec<&str> = uncovered.iter().filter_map(|i| i["key"].as_str()).collect();
    assert_eq!(keys, ["WS2569-P10"], "{report}");
    assert_eq!(
        uncovered[0]["nearby"],
        json!([{ "distance": "SAME_PROVINCE", "resource": { "code": "WS2569-R16" } }])
    );
    let mut others: Vec<&str> = uncovered[0]["otherTopicsHere"]
        .as_array()
        .expect("others")
        .iter()
        .filter_map(|r| r["code"].as_str())
        .collect();
    others.sort();
    assert_eq!(
        others,
        [
            "WS2569-R1",
            "WS2569-R12",
            "WS2569-R14",
            "WS2569-R18",
            "WS2569-R2",
            "WS2569-R3",
            "WS2569-R4"
        ]
    );
    // The alerts of one period only: none are of 2019 (the demo's data starts in 2021).
    let of_2019 = app
        .graphql(
            r#"{ gaps(area: "90", period: "2019", on: "2026-12-01") { items { kind } } }"#,
            Value::Null,
        )
        .await;
    let kinds: Vec<&Value> = of_2019["gaps"]["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| &i["kind"])
        .collect();
    assert!(
        !kinds.is_empty() && kinds.iter().all(|k| *k == "PROBLEM"),
        "{of_2019}"
    );
    insta::assert_json_snapshot!("songkhla_gaps", report);
});

both_backends!(
    thai_search_is_served_by_an_index,
    |backend: Backend| async move {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let plan = store
            .explain_resource_search("ค่าเดินทาง")
            .await
            .expect("plan");
        match backend {
            // The trigram GIN index of migration 0008, on abe_store::SEARCH_TEXT.
            Backend::Postgres => assert!(plan.contains("resources_search"), "{plan}"),
            // The FTS5 table's own trigram index.
            Backend::Sqlite => assert!(
                plan.contains("resources_search VIRTUAL TABLE INDEX"),
                "{plan}"
            ),
        }
    }
);

both_backends!(
    what_a_sheet_drops_is_retired_and_comes_back,
    |backend: Backend| async move {
        use abe_connectors::csv::CsvConfig;
        use abe_connectors::SourceConfig;
        use abe_pipeline::{ConnectorDef, SyncMode, Trigger};
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let dir = tempfile::tempdir().expect("tempdir");
        // Areas 90, 9001 and 9011.
        let pipeline = abe_tests::fixtures::seed_dropouts(&store, dir.path()).await;
        store
            .provision_topics(&[abe_schema::Topic {
                code: "poverty".into(),
                name_th: "ความยากจน".into(),
                name_en: "Poverty".into(),
            }])
            .await
            .expect("topics");
        let def = ConnectorDef::new(
            "sheet".into(),
            None,
            abe_schema::Target::Resources,
            None,
            SyncMode::FullRefresh,
            SourceConfig::Csv(CsvConfig::new("r.csv")),
            serde_json::from_value(json!({"fields": {
                "code": {"column": "code"}, "title_th": {"column": "title"},
                "category": {"column": "category"}, "areas": {"column": "area"},
                "topics": {"column": "topic"}
            }}))
            .expect("mapping"),
            dir.path().to_path_buf(),
        )
        .expect("connector");
        let run = |rows: &'static str| {
            std::fs::write(
                dir.path().join("r.csv"),
                format!("code,title,category,area,topic\n{rows}"),
            )
            .expect("write");
            pipeline.run(&def, Trigger::Manual)
        };
        let in_force = || async {
            let mut codes: Vec<String> = store
                .resources(&abe_store::ResourceFilter::default(), None, 100)
                .await
                .expect("resources")
                .items
                .into_iter()
                .map(|r| r.row.code)
                .collect();
            codes.sort();
            codes
        };

        let first = run("R1,ทุนการศึกษา,2,90,ความยากจน\nR2,ครูอาสา,2,9001,poverty\n")
            .await
            .expect("run");
        assert_eq!(first.counts.inserted, 2);
        assert_eq!(in_force().await, ["R1", "R2"]);

        // R2 is gone from the sheet: retired (counted as deleted), kept in history.
        let dropped = run("R1,ทุนการศึกษา,2,90,poverty\n").await.expect("run");
        assert_eq!(dropped.counts.deleted, 1, "{:?}", dropped.counts);
        assert_eq!(in_force().await, ["R1"]);
        let history = store
            .resources(
                &abe_store::ResourceFilter {
                    codes: vec!["R2".into()],
                    include_retired: true,
                    ..Default::default()
                },
                None,
                1,
            )
            .await
            .expect("history")
            .items;
        assert!(history[0].retired_on.is_some() && history[0].retired_by.is_none());

        // Back in the sheet: back in force.
        let back = run("R1,ทุนการศึกษา,2,90,poverty\nR2,ครูอาสา,2,9001,poverty\n")
            .await
            .expect("run");
        assert_eq!(back.counts.updated, 1, "{:?}", back.counts);
        assert_eq!(in_force().await, ["R1", "R2"]);

        // A retirement through the API names who made it, and a load does not undo it.
        let today = chrono::Utc::now().date_naive();
        store
            .retire_resource("R1", today, "steward@peo")
            .await
            .expect("retire")
            .expect("retired");
        run("R1,ทุนการศึกษา,2,90,poverty\nR2,ครูอาสา,2,9001,poverty\n")
            .await
            .expect("run");
        assert_eq!(in_force().await, ["R2"]);
    }
);
