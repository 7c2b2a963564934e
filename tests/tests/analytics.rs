//! Central indicators checked against hand computation, on both databases: counts
//! summed school > subdistrict > district > province, a source's total row never added
//! to its breakdown rows, one source per figure by precedence (a copied file does not
//! double a total), ratios from summed numerators and denominators with a lagged
//! denominator, weighted means, ranks, parent and previous-period comparisons, bands,
//! inequality, and every alert rule firing and resolving through the lifecycle.

use abe_analytics::{Analytics, Change};
use abe_pipeline::{ConnectorConfig, ConnectorDef, Pipeline, Trigger};
use abe_schema::{
    AlertRule, AlertSeverity, AlertStatus, AreaLevel, Band, Direction, Indicator, IndicatorKind,
    RuleKind, Threshold,
};
use abe_store::{AlertFilter, IndicatorValue, Scope, Store, ValueFilter};
use abe_tests::{both_backends, TestDb};
use serde_json::json;
use std::path::Path;

fn count(code: &str) -> Indicator {
    Indicator {
        code: code.into(),
        name_th: code.into(),
        unit: "persons".into(),
        kind: IndicatorKind::Count,
        direction: Direction::HigherIsWorse,
        ..Indicator::default()
    }
}

fn catalogue() -> Vec<Indicator> {
    vec![
        Indicator {
            breakdowns: vec!["sex".into()],
            ..count("enrolled")
        },
        Indicator {
            sources: vec!["oos_a".into()],
            ..count("oos")
        },
        count("pop"),
        Indicator {
            kind: IndicatorKind::Ratio,
            numerator: Some("oos".into()),
            denominator: Some("pop".into()),
            multiplier: Some(100.0),
            denominator_lag: Some(1),
            unit: "per 100".into(),
            ..count("oos_rate")
        },
        Indicator {
            kind: IndicatorKind::Mean,
            weight: Some("enrolled".into()),
            unit: "points".into(),
            direction: Direction::LowerIsWorse,
            ..count("score")
        },
        Indicator {
            kind: IndicatorKind::Latest,
            unit: "persons".into(),
            ..count("teachers")
        },
    ]
}

/// Writes `name` in `dir` and returns a connector reading it as CSV with `mapping`.
fn csv_connector(
    dir: &Path,
    name: &str,
    target: &str,
    text: &str,
    mapping: serde_json::Value,
) -> ConnectorDef {
    std::fs::write(dir.join(format!("{name}.csv")), text).expect("write");
    ConnectorConfig::from_json(json!({
        "name": name,
        "agency": "AG",
        "target": target,
        "source": { "kind": "csv", "path": format!("{name}.csv") },
        "mapping": mapping,
    }))
    .expect("definition reads")
    .to_def(dir.to_path_buf())
    .expect("definition runs")
}

fn observations(dir: &Path, name: &str, text: &str) -> ConnectorDef {
    csv_connector(
        dir,
        name,
        "observations",
        text,
        json!({
            "fields": {
                "indicator": { "column": "indicator" },
                "area": { "column": "area" },
                "school": { "column": "school" },
                "period": { "column": "period" },
                "value": { "column": "value", "transforms": ["number"] }
            },
            "breakdown": { "sex": { "column": "sex" } }
        }),
    )
}

const HEADER: &str = "indicator,area,school,period,sex,value\n";

/// Loads the small world every check below computes by hand:
///
/// ```text
/// 90 Songkhla
/// ├── 9001: 900101 (schools S1, S2), 900102 (school S3)
/// └── 9002: 900201 (no schools)
/// ```
async fn world(store: &Store, dir: &Path) -> (Pipeline, Vec<ConnectorDef>) {
    store
        .upsert_agencies(&[abe_schema::Agency {
            code: "AG".into(),
            name_th: "หน่วยงาน".into(),
            name_en: None,
            kind: abe_schema::AgencyKind::Government,
        }])
        .await
        .expect("agency");
    store
        .upsert_indicators(&catalogue())
        .await
        .expect("catalogue");
    store
        .replace_thresholds(&[Threshold {
            indicator: "oos_rate".into(),
            level: AreaLevel::District,
            warning: Some(6.0),
            critical: Some(9.0),
        }])
        .await
        .expect("thresholds");
    let areas = csv_connector(
        dir,
        "areas",
        "areas",
        "code,name\n90,สงขลา\n9001,เมือง\n9002,สทิงพระ\n900101,บ่อยาง\n900102,เขารูปช้าง\n900201,จะทิ้งพระ\n",
        json!({ "fields": { "code": { "column": "code" }, "name_th": { "column": "name" } } }),
    );
    let schools = csv_connector(
        dir,
        "schools",
        "schools",
        "code,name,area\nS1,หนึ่ง,900101\nS2,สอง,900101\nS3,สาม,900102\n",
        json!({ "fields": {
            "code": { "column": "code" }, "name_th": { "column": "name" }, "area": { "column": "area" }
        } }),
    );
    let text = format!(
        "{HEADER}\
         enrolled,,S1,2023,male,10\nenrolled,,S1,2023,female,12\n\
         enrolled,,S2,2023,male,5\nenrolled,,S2,2023,female,7\n\
         enrolled,,S3,2023,,30\nenrolled,,S3,2023,male,14\nenrolled,,S3,2023,female,16\n\
         enrolled,900201,,2023,,40\n\
         score,900101,,2023,,50\nscore,900102,,2023,,80\nscore,900201,,2023,,70\n\
         teachers,9001,,2023,,5\n"
    );
    let education = observations(dir, "education", &text);
    let oos_a = observations(
        dir,
        "oos_a",
        &format!(
            "{HEADER}oos,9001,,2022,,8\noos,9001,,2023,,10\noos,9002,,2022,,4\noos,9002,,2023,,2\n"
        ),
    );
    // A copy of two of oos_a's rows, loaded as a second connector.
    let oos_copy = observations(
        dir,
        "oos_copy",
        &format!("{HEADER}oos,9001,,2023,,10\noos,9002,,2023,,2\n"),
    );
    // The population comes a year late for 9001.
    let pop = observations(
        dir,
        "pop",
        &format!("{HEADER}pop,9001,,2022,,100\npop,9002,,2022,,50\npop,9002,,2023,,40\n"),
    );
    let pipeline = Pipeline::new(store.clone());
    let connectors = vec![areas, schools, education, oos_a, oos_copy, pop];
    for def in &connectors {
        store
            .provision_connector(&def.spec(), chrono::Utc::now())
            .await
            .expect("connector");
        let report = pipeline.run(def, Trigger::Manual).await.expect("loads");
        assert_eq!(
            report.counts.rejected, 0,
            "{}: {:?}",
            def.name, report.reasons
        );
    }
    (pipeline, connectors)
}

/// Every computed value of `indicator` as (area, period, breakdown) → value.
async fn values(store: &Store, indicator: &str, breakdowns: &[&str]) -> Vec<IndicatorValue> {
    let mut all = store
        .indicator_values(&ValueFilter {
            indicators: vec![indicator.into()],
            breakdowns: breakdowns.iter().map(|b| b.to_string()).collect(),
            ..ValueFilter::default()
        })
        .await
        .expect("values");
    all.sort_by(|a, b| {
        (&a.area_code, &a.period, &a.breakdown).cmp(&(&b.area_code, &b.period, &b.breakdown))
    });
    all
}

fn find<'v>(
    values: &'v [IndicatorValue],
    area: &str,
    period: &str,
    breakdown: &str,
) -> &'v IndicatorValue {
    values
        .iter()
        .find(|v| v.area_code == area && v.period == period && v.breakdown == breakdown)
        .unwrap_or_else(|| panic!("no value for {area} {period} {breakdown:?} in {values:#?}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

both_backends!(values_match_hand_computation, |backend| async move {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let dir = tempfile::tempdir().expect("dir");
    world(&store, dir.path()).await;
    let report = Analytics::new(store.clone())
        .recompute(&Change::everything())
        .await
        .expect("computes");
    assert_eq!(report.indicators.len(), 6, "{report:?}");

    // Counts: S3's own total row (30) is used, not added to its sex rows (14 + 16).
    let enrolled = values(&store, "enrolled", &["", "sex=female", "sex=male"]).await;
    let total = |area| find(&enrolled, area, "2023", "");
    assert_eq!(total("900101").value, 34.0);
    assert_eq!(
        (total("900101").reported, total("900101").expected),
        (Some(2), Some(2))
    );
    assert_eq!(total("900102").value, 30.0);
    assert_eq!(total("900201").value, 40.0);
    assert_eq!(
        total("900201").reported,
        None,
        "reported by the area itself"
    );
    assert_eq!(total("9001").value, 64.0);
    assert_eq!(
        (total("9001").reported, total("9001").expected),
        (Some(2), Some(2))
    );
    assert_eq!(total("9002").value, 40.0);
    assert_eq!(total("90").value, 104.0);
    assert_eq!(find(&enrolled, "9001", "2023", "sex=female").value, 35.0);
    let female_90 = find(&enrolled, "90", "2023", "sex=female");
    assert_eq!(female_90.value, 35.0);
    assert_eq!((female_90.reported, female_90.expected), (Some(1), Some(2)));

    // One source per figure: the copy's rows are not added.
    let oos = values(&store, "oos", &[""]).await;
    let oos_90 = find(&oos, "90", "2023", "");
    assert_eq!(oos_90.value, 12.0, "the copy doubled the total");
    let sources: Vec<String> = oos_90.sources().into_iter().map(|s| s.connector).collect();
    assert_eq!(sources, ["oos_a"]);
    let conflicts = store
        .conflicting_figures("oos", Some("90"), Some("2023"))
        .await
        .expect("conflicts");
    assert_eq!(conflicts.len(), 4, "{conflicts:#?}");

    // Ratios: summed numerators over summed denominators; 9001's 2023 uses 2022's
    // population (lag 1).
    let rate = values(&store, "oos_rate", &[""]).await;
    let r9001 = find(&rate, "9001", "2023", "");
    assert!(close(r9001.value, 10.0));
    assert_eq!(r9001.denominator_period.as_deref(), Some("2022"));
    assert!(close(find(&rate, "9002", "2023", "").value, 5.0));
    let r90 = find(&rate, "90", "2023", "");
    assert!(
        close(r90.value, 12.0 / 140.0 * 100.0),
        "not the mean of ratios: {}",
        r90.value
    );
    assert_eq!((r90.numerator, r90.denominator), (Some(12.0), Some(140.0)));
    assert!(close(find(&rate, "90", "2022", "").value, 8.0));
    // Ranks, parent, previous period, bands.
    assert_eq!((r9001.rank, r9001.siblings), (Some(1), Some(2)));
    assert_eq!(find(&rate, "9002", "2023", "").rank, Some(2));
    assert!(close(r9001.parent_value.unwrap(), 12.0 / 140.0 * 100.0));
    assert_eq!(r9001.previous_period.as_deref(), Some("2022"));
    assert!(close(r9001.previous_value.unwrap(), 8.0));
    assert_eq!(r9001.band, Band::Critical);
    assert_eq!(find(&rate, "9002", "2023", "").band, Band::Normal);
    assert_eq!(r90.band, Band::None, "no threshold at the province level");

    // Means weighted by enrolment.
    let score = values(&store, "score", &[""]).await;
    assert!(close(
        find(&score, "9001", "2023", "").value,
        (50.0 * 34.0 + 80.0 * 30.0) / 64.0
    ));
    assert!(close(find(&score, "9002", "2023", "").value, 70.0));
    assert!(close(
        find(&score, "90", "2023", "").value,
        (50.0 * 34.0 + 80.0 * 30.0 + 70.0 * 40.0) / 104.0
    ));
    // Lower is worse: the lower mean ranks first.
    assert_eq!(find(&score, "9001", "2023", "").rank, Some(1));

    // Latest values are not aggregated.
    let teachers = values(&store, "teachers", &[""]).await;
    assert_eq!(teachers.len(), 1, "{teachers:#?}");

    // Inequality of the rate between the districts, weighted by population.
    let districts: Vec<IndicatorValue> = rate
        .iter()
        .filter(|v| v.level == AreaLevel::District && v.period == "2023")
        .cloned()
        .collect();
    let i = abe_analytics::inequality(Direction::HigherIsWorse, &districts).expect("two areas");
    assert_eq!((i.best.0.as_str(), i.worst.0.as_str()), ("9002", "9001"));
    assert!(close(i.ratio.unwrap(), 2.0));
    assert!(close(i.difference, 5.0));
    assert!(close(i.coefficient_of_variation.unwrap(), 2.5 / 7.5));
    assert!(i.gini_weighted);
    // Points (5, w 40) and (10, w 100): 2 * 100 * 40 * 5 / (2 * 140^2 * 1200/140).
    assert!(close(i.gini.unwrap(), 40_000.0 / 336_000.0), "{:?}", i.gini);
});

fn rule(name: &str, indicator: &str, kind: RuleKind) -> AlertRule {
    AlertRule {
        name: name.into(),
        indicator: indicator.into(),
        kind,
        severity: None,
        levels: vec![AreaLevel::District],
        share: None,
        periods: None,
        k: None,
        min_periods: None,
        webhook: None,
    }
}

both_backends!(rules_fire_resolve_and_keep_history, |backend| async move {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let dir = tempfile::tempdir().expect("dir");
    let (pipeline, _) = world(&store, dir.path()).await;
    store
        .provision_alert_rules(&[
            rule("rate_threshold", "oos_rate", RuleKind::Threshold),
            AlertRule {
                share: Some(0.1),
                ..rule("rate_above_province", "oos_rate", RuleKind::WorseThanParent)
            },
            AlertRule {
                periods: Some(1),
                severity: Some(AlertSeverity::Critical),
                ..rule("rate_rising", "oos_rate", RuleKind::Worsening)
            },
            rule("pop_missing", "pop", RuleKind::Missing),
        ])
        .await
        .expect("rules");
    let analytics = Analytics::new(store.clone());
    let first = analytics
        .recompute(&Change::everything())
        .await
        .expect("computes");
    assert_eq!(first.raised, 4, "{first:?}");
    let open = store.alerts(&AlertFilter::default()).await.expect("alerts");
    let fired: Vec<(&str, &str, AlertSeverity)> = open
        .iter()
        .map(|a| (a.rule.as_str(), a.area_code.as_str(), a.severity))
        .collect();
    // Worst first: critical before warning.
    assert_eq!(
        fired[..2].iter().map(|f| f.2).collect::<Vec<_>>(),
        [AlertSeverity::Critical; 2]
    );
    let mut sorted = fired.clone();
    sorted.sort_by_key(|f| (f.0, f.1));
    assert_eq!(
        sorted,
        [
            ("pop_missing", "9001", AlertSeverity::Warning),
            ("rate_above_province", "9001", AlertSeverity::Warning),
            ("rate_rising", "9001", AlertSeverity::Critical),
            ("rate_threshold", "9001", AlertSeverity::Critical),
        ]
    );
    let threshold = open.iter().find(|a| a.rule == "rate_threshold").unwrap();
    assert_eq!(threshold.period, "2023");
    assert_eq!(threshold.threshold, Some(9.0));
    assert_eq!(
        threshold.sources().len(),
        2,
        "numerator and denominator sources"
    );
    let missing = open.iter().find(|a| a.rule == "pop_missing").unwrap();
    assert_eq!((missing.period.as_str(), missing.value), ("2023", None));

    // Evaluating again changes nothing: one alert per indicator, area and rule.
    let again = analytics
        .recompute(&Change::everything())
        .await
        .expect("computes");
    assert_eq!((again.raised, again.resolved, again.updated), (0, 0, 0));

    // Acknowledged by a person, with a comment.
    let acked = store
        .set_alert_status(
            threshold.id,
            AlertStatus::Acknowledged,
            "Somchai",
            Some("visiting"),
            chrono::Utc::now(),
        )
        .await
        .expect("acknowledges")
        .expect("exists");
    assert_eq!(acked.status, AlertStatus::Acknowledged);

    // 9001's 2023 count corrected to 5: the rate is 5, back in range, no longer above
    // the province's nor rising, so those alerts resolve by 2023; the population is
    // still missing.
    let corrected = observations(
        dir.path(),
        "oos_a",
        &format!(
            "{HEADER}oos,9001,,2022,,8\noos,9001,,2023,,5\noos,9002,,2022,,4\noos,9002,,2023,,2\n"
        ),
    );
    let run = pipeline
        .run(&corrected, Trigger::Manual)
        .await
        .expect("loads");
    let change = analytics
        .change_of_run(run.target, run.run_id, &run.counts)
        .await
        .expect("change")
        .expect("the run changed a row");
    assert_eq!(change.indicators.as_deref(), Some(&["oos".to_string()][..]));
    assert_eq!(change.scope, Scope::Provinces(vec!["90".into()]));
    let after = analytics.recompute(&change).await.expect("computes");
    assert_eq!((after.raised, after.resolved), (0, 3), "{after:?}");
    let resolved = store
        .alert(threshold.id)
        .await
        .expect("reads")
        .expect("kept");
    assert_eq!(resolved.status, AlertStatus::Resolved);
    assert_eq!(resolved.resolved_period.as_deref(), Some("2023"));
    let history: Vec<(AlertStatus, Option<String>)> = resolved
        .history()
        .into_iter()
        .map(|e| (e.status, e.by))
        .collect();
    assert_eq!(
        history,
        [
            (AlertStatus::Open, None),
            (AlertStatus::Acknowledged, Some("Somchai".into())),
            (AlertStatus::Resolved, None),
        ]
    );
    let still_open = store.alerts(&AlertFilter::default()).await.expect("alerts");
    let rules: Vec<&str> = still_open
        .iter()
        .filter(|a| a.status != AlertStatus::Resolved)
        .map(|a| a.rule.as_str())
        .collect();
    assert_eq!(rules, ["pop_missing"]);
    // The value the province ranks and compares by moved too.
    let rate = values(&store, "oos_rate", &[""]).await;
    assert!(close(
        find(&rate, "90", "2023", "").value,
        7.0 / 140.0 * 100.0
    ));

    // A jump: 9002's rate 8 then 5; a third period of 20 is far outside.
    store
        .provision_alert_rules(&[AlertRule {
            k: Some(2.0),
            min_periods: Some(2),
            ..rule("rate_jump", "oos_rate", RuleKind::Jump)
        }])
        .await
        .expect("rules");
    let jump = observations(
        dir.path(),
        "later",
        &format!("{HEADER}oos,9002,,2024,,8\noos,9002,,2025,,20\npop,9002,,2024,,40\npop,9002,,2025,,40\n"),
    );
    store
        .provision_connector(&jump.spec(), chrono::Utc::now())
        .await
        .expect("connector");
    pipeline.run(&jump, Trigger::Manual).await.expect("loads");
    let with_jump = analytics
        .recompute(&Change::everything())
        .await
        .expect("computes");
    assert_eq!(with_jump.raised, 1, "{with_jump:?}");
    let jumped = store
        .alerts(&AlertFilter {
            indicators: vec!["oos_rate".into()],
            ..AlertFilter::default()
        })
        .await
        .expect("alerts");
    let jumped = jumped
        .iter()
        .find(|a| a.rule == "rate_jump")
        .expect("jump alert");
    assert_eq!(
        (
            jumped.area_code.as_str(),
            jumped.period.as_str(),
            jumped.value
        ),
        ("9002", "2025", Some(50.0))
    );
});
