//! Central-indicator benchmark: a national-size dataset written straight into a hub
//! database (every province, district and subdistrict of the real list, 30,000 schools,
//! about 5,000,000 observations of 10 indicators over 5 years with 2 breakdown
//! dimensions, and 2 ratio indicators over them), then, timed in the same run:
//!
//! - (a) the hub computing every indicator for every area and period (`Analytics::
//!   recompute`, values written), against hand-written SQL that writes the same numbers
//!   into tables: a GROUP BY per level (counts, totals from the sex rows), the ratios by
//!   a join, then ranks, parent values and previous values by window functions;
//! - (b) the hub computing again after a change to one province's observations.
//!
//! Prints one JSON object per line; `bench/run.py --analytics` drives it.

use abe_analytics::{Analytics, Change};
use abe_schema::{Direction, Indicator, IndicatorKind, Target};
use abe_store::Store;
use anyhow::{Context, Result};
use sqlx::Connection;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

/// Indicators counted per school, by sex and by school level.
const SCHOOL_INDICATORS: [&str; 8] = [
    "enrolled",
    "dropouts",
    "out_of_school",
    "extremely_poor",
    "disabled",
    "repeaters",
    "transition_failures",
    "teachers",
];

/// Indicators counted per subdistrict, by sex.
const AREA_INDICATORS: [&str; 2] = ["child_population", "households"];

const YEARS: [u32; 5] = [2019, 2020, 2021, 2022, 2023];

fn catalogue() -> Vec<Indicator> {
    let count = |code: &str, breakdowns: &[&str]| Indicator {
        code: code.into(),
        name_th: code.into(),
        unit: "persons".into(),
        kind: IndicatorKind::Count,
        direction: Direction::HigherIsWorse,
        breakdowns: breakdowns.iter().map(|b| b.to_string()).collect(),
        ..Indicator::default()
    };
    let mut all: Vec<Indicator> = SCHOOL_INDICATORS
        .iter()
        .map(|c| count(c, &["sex", "level"]))
        .chain(AREA_INDICATORS.iter().map(|c| count(c, &["sex"])))
        .collect();
    let ratio = |code: &str, numerator: &str, denominator: &str| Indicator {
        kind: IndicatorKind::Ratio,
        numerator: Some(numerator.into()),
        denominator: Some(denominator.into()),
        multiplier: Some(100.0),
        denominator_lag: Some(1),
        unit: "percent".into(),
        ..count(code, &[])
    };
    all.push(ratio("dropout_rate", "dropouts", "enrolled"));
    all.push(ratio(
        "out_of_school_rate",
        "out_of_school",
        "child_population",
    ));
    all
}

/// A value that looks like a count: deterministic, varied.
fn value(n: u64) -> u64 {
    n.wrapping_mul(2_654_435_761) % 500 + 1
}

/// Writes the national dataset into the (migrated, empty) hub database at `url`.
pub async fn load(
    store: &Store,
    url: &str,
    subdistricts: &[String],
    schools: usize,
) -> Result<u64> {
    store
        .upsert_indicators(&catalogue())
        .await
        .context("catalogue")?;
    let mut areas: Vec<(String, &str, Option<String>)> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for code in subdistricts {
        for (prefix, level) in [
            (&code[..2], "province"),
            (&code[..4], "district"),
            (&code[..], "subdistrict"),
        ] {
            if seen.insert(prefix.to_string()) {
                let parent = match level {
                    "province" => None,
                    "district" => Some(code[..2].to_string()),
                    _ => Some(code[..4].to_string()),
                };
                areas.push((prefix.to_string(), level, parent));
            }
        }
    }
    let school_area = |i: usize| &subdistricts[i % subdistricts.len()];
    // Observation lines in COPY text order: indicator, area, period, breakdown, school,
    // connector, value, run, source.
    let mut lines = Vec::new();
    let mut n = 0u64;
    for year in YEARS {
        for indicator in SCHOOL_INDICATORS {
            for s in 0..schools {
                for breakdown in ["sex=male", "sex=female", "level=primary", "level=secondary"] {
                    n += 1;
                    lines.push(format!(
                        "{indicator}\t{}\t{year}\t{breakdown}\tS{s:06}\tnational\t{}\t1\t0\n",
                        school_area(s),
                        value(n)
                    ));
                }
            }
        }
        for indicator in AREA_INDICATORS {
            for code in subdistricts {
                for breakdown in ["sex=male", "sex=female"] {
                    n += 1;
                    lines.push(format!(
                        "{indicator}\t{code}\t{year}\t{breakdown}\t\tnational\t{}\t1\t0\n",
                        value(n) * 20
                    ));
                }
            }
        }
    }
    if url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(url).await?;
        copy_rows(
            &mut conn,
            "areas",
            "code, level, parent_code, name_th",
            areas
                .iter()
                .map(|(c, l, p)| format!("{c}\t{l}\t{}\t{c}\n", p.as_deref().unwrap_or("\\N")))
                .collect(),
        )
        .await?;
        copy_rows(
            &mut conn,
            "schools",
            "code, name_th, area_code",
            (0..schools)
                .map(|s| format!("S{s:06}\tS{s:06}\t{}\n", school_area(s)))
                .collect(),
        )
        .await?;
        copy_rows(
            &mut conn,
            "observations",
            "indicator, area_code, period, breakdown, school_code, connector, value, run_id, source",
            lines,
        )
        .await?;
        sqlx::query("ANALYZE").execute(&mut conn).await?;
    } else {
        let mut conn = sqlx::SqliteConnection::connect(url).await?;
        let mut tx = conn.begin().await?;
        for (c, l, p) in &areas {
            sqlx::query(
                "INSERT INTO areas (code, level, parent_code, name_th) VALUES ($1, $2, $3, $1)",
            )
            .bind(c)
            .bind(l)
            .bind(p)
            .execute(&mut *tx)
            .await?;
        }
        for s in 0..schools {
            sqlx::query("INSERT INTO schools (code, name_th, area_code) VALUES ($1, $1, $2)")
                .bind(format!("S{s:06}"))
                .bind(school_area(s))
                .execute(&mut *tx)
                .await?;
        }
        // Multi-row INSERTs of literal rows: the text is generated here, never input.
        for chunk in lines.chunks(2_000) {
            let mut sql = String::from(
                "INSERT INTO observations (indicator, area_code, period, breakdown, school_code, \
                 connector, value, run_id, source) VALUES ",
            );
            for (i, line) in chunk.iter().enumerate() {
                let f: Vec<&str> = line.trim_end().split('\t').collect();
                if i > 0 {
                    sql.push(',');
                }
                let _ = write!(
                    sql,
                    "('{}','{}','{}','{}','{}','{}',{},{},{})",
                    f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7], f[8]
                );
            }
            sqlx::query(&sql).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        sqlx::query("ANALYZE").execute(&mut conn).await?;
    }
    Ok(n)
}

/// COPYs `rows` (lines of COPY text) into `table`.
async fn copy_rows(
    conn: &mut sqlx::PgConnection,
    table: &str,
    columns: &str,
    rows: Vec<String>,
) -> Result<u64> {
    let mut copy = conn
        .copy_in_raw(&format!("COPY {table} ({columns}) FROM STDIN"))
        .await?;
    for chunk in rows.chunks(50_000) {
        copy.send(chunk.concat().as_bytes()).await?;
    }
    Ok(copy.finish().await?)
}

/// The hand-written reference: the counts of every level (the breakdown rows, and the
/// totals from the sex rows) and the two ratios, written into a table with one
/// GROUP BY per level; then what each value carries (rank among siblings, the parent's
/// value, the previous period's) with window functions and a join. Returns the rows
/// written.
pub async fn reference(url: &str) -> Result<u64> {
    let level = |width: usize| {
        format!(
            "SELECT indicator, substr(area_code, 1, {width}) AS area, period, breakdown, SUM(value) AS value \
             FROM observations GROUP BY indicator, substr(area_code, 1, {width}), period, breakdown \
             UNION ALL \
             SELECT indicator, substr(area_code, 1, {width}), period, '', SUM(value) \
             FROM observations WHERE breakdown LIKE 'sex=%' \
             GROUP BY indicator, substr(area_code, 1, {width}), period"
        )
    };
    let counts = format!(
        "CREATE TABLE ref_values AS {} UNION ALL {} UNION ALL {}",
        level(6),
        level(4),
        level(2)
    );
    let ratios = "INSERT INTO ref_values \
         SELECT r.code, n.area, n.period, n.breakdown, n.value / d.value * 100 \
         FROM (SELECT 'dropout_rate' AS code, 'dropouts' AS num, 'enrolled' AS den \
               UNION ALL SELECT 'out_of_school_rate', 'out_of_school', 'child_population') r \
         JOIN ref_values n ON n.indicator = r.num \
         JOIN ref_values d ON d.indicator = r.den AND d.area = n.area \
              AND d.period = n.period AND d.breakdown = n.breakdown";
    // What each value carries besides itself: rank among its siblings (same parent
    // and level), the parent's value, the previous period's value.
    let answers = "CREATE TABLE ref_answers AS \
         SELECT v.indicator, v.area, v.period, v.breakdown, v.value, \
           RANK() OVER (PARTITION BY v.indicator, length(v.area), substr(v.area, 1, length(v.area) - 2), \
                        v.period, v.breakdown ORDER BY v.value DESC) AS rank, \
           COUNT(*) OVER (PARTITION BY v.indicator, length(v.area), substr(v.area, 1, length(v.area) - 2), \
                        v.period, v.breakdown) AS siblings, \
           p.value AS parent_value, \
           LAG(v.period) OVER (PARTITION BY v.indicator, v.area, v.breakdown ORDER BY v.period) AS previous_period, \
           LAG(v.value) OVER (PARTITION BY v.indicator, v.area, v.breakdown ORDER BY v.period) AS previous_value \
         FROM ref_values v LEFT JOIN ref_values p ON p.indicator = v.indicator \
           AND p.area = substr(v.area, 1, length(v.area) - 2) AND p.period = v.period \
           AND p.breakdown = v.breakdown";
    let statements = [
        "DROP TABLE IF EXISTS ref_answers",
        "DROP TABLE IF EXISTS ref_values",
        &counts,
        ratios,
        answers,
    ];
    let count = "SELECT count(*) FROM ref_answers";
    if url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(url).await?;
        for s in statements {
            sqlx::query(s).execute(&mut conn).await?;
        }
        let (n,): (i64,) = sqlx::query_as(count).fetch_one(&mut conn).await?;
        Ok(n as u64)
    } else {
        let mut conn = sqlx::SqliteConnection::connect(url).await?;
        for s in statements {
            sqlx::query(s).execute(&mut conn).await?;
        }
        let (n,): (i64,) = sqlx::query_as(count).fetch_one(&mut conn).await?;
        Ok(n as u64)
    }
}

/// Changes one province's dropouts (as a run of the national connector would) and
/// returns that run's id and the rows it changed.
async fn change_province(url: &str, province: &str) -> Result<(i64, u64)> {
    let run_id = 2;
    let sql = format!(
        "UPDATE observations SET value = value + 1, run_id = {run_id} \
         WHERE indicator = 'dropouts' AND area_code LIKE '{province}%'"
    );
    let updated = if url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(url).await?;
        sqlx::query(&sql).execute(&mut conn).await?.rows_affected()
    } else {
        let mut conn = sqlx::SqliteConnection::connect(url).await?;
        sqlx::query(&sql).execute(&mut conn).await?.rows_affected()
    };
    Ok((run_id, updated))
}

/// Loads, then times (a), the reference and (b); prints JSON lines.
pub async fn run(url: &str, subdistricts_csv: &Path, schools: usize, province: &str) -> Result<()> {
    let subdistricts = crate::subdistrict_codes(subdistricts_csv)?;
    let store = Store::connect(url).await?;
    store.migrate().await?;
    let started = Instant::now();
    let rows = load(&store, url, &subdistricts, schools).await?;
    println!(
        "{{\"step\":\"load\",\"observations\":{rows},\"subdistricts\":{},\"schools\":{schools},\"seconds\":{:.3}}}",
        subdistricts.len(),
        started.elapsed().as_secs_f64()
    );
    let analytics = Analytics::new(store.clone());
    // The reference first, then the hub, then both again: each pair back to back.
    for pass in 1..=2 {
        let started = Instant::now();
        let written = reference(url).await?;
        println!(
            "{{\"step\":\"reference\",\"pass\":{pass},\"rows\":{written},\"seconds\":{:.3}}}",
            started.elapsed().as_secs_f64()
        );
        let started = Instant::now();
        let report = analytics.recompute(&Change::everything()).await?;
        println!(
            "{{\"step\":\"full\",\"pass\":{pass},\"values\":{},\"seconds\":{:.3}}}",
            report.values,
            started.elapsed().as_secs_f64()
        );
    }
    let (run_id, updated) = change_province(url, province).await?;
    // As the run of the national connector that changed them would report.
    let changed = abe_schema::RunCounts {
        updated,
        ..Default::default()
    };
    let started = Instant::now();
    let change = analytics
        .change_of_run(Target::Observations, run_id, &changed)
        .await?
        .context("the change touched no row")?;
    let report = analytics.recompute(&change).await?;
    println!(
        "{{\"step\":\"one_province\",\"province\":\"{province}\",\"indicators\":{},\"values\":{},\"seconds\":{:.3}}}",
        report.indicators.len(),
        report.values,
        started.elapsed().as_secs_f64()
    );
    store.close().await;
    Ok(())
}
