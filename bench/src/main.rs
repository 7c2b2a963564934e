//! Ingest benchmark helpers: writes N observation rows as CSV and xlsx (with the areas
//! they refer to and a hub config), and measures PostgreSQL's own COPY of the same CSV
//! as the reference. `bench/run.py` drives a whole run; see `bench/README.md`.

mod analytics;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use sqlx::Connection;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write areas.csv, obs.csv, obs.xlsx and hub.toml into OUT.
    Generate {
        /// Observation rows in obs.csv.
        #[arg(long)]
        rows: usize,
        /// Observation rows in obs.xlsx.
        #[arg(long)]
        xlsx_rows: usize,
        /// The national subdistrict list (kongvut subdistricts.csv) the codes come from.
        #[arg(long)]
        subdistricts: PathBuf,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
    },
    /// Load a national dataset into a fresh hub database, then time computing every
    /// indicator against a hand-written GROUP BY, and again after one province changed.
    Analytics {
        /// Database URL of a fresh hub database (sqlite://FILE or postgres://...).
        #[arg(long)]
        url: String,
        /// The national subdistrict list (kongvut subdistricts.csv).
        #[arg(long)]
        subdistricts: PathBuf,
        /// Schools, spread over the subdistricts.
        #[arg(long, default_value_t = 30_000)]
        schools: usize,
        /// The province whose observations change for the incremental step.
        #[arg(long, default_value = "90")]
        province: String,
    },
    /// COPY obs.csv into an unindexed table and two keyed ones (the database's collation,
    /// and byte order); print seconds for each.
    CopyReference {
        /// PostgreSQL URL of a scratch database.
        #[arg(long)]
        url: String,
        /// The generated obs.csv.
        #[arg(long)]
        csv: PathBuf,
    },
}

const INDICATORS: [&str; 7] = [
    "enrolled_children",
    "dropouts",
    "out_of_school_children",
    "extremely_poor_students",
    "students_with_disabilities",
    "repeaters",
    "transition_failures",
];

#[tokio::main]
async fn main() -> Result<()> {
    // The computation's own log line splits its time by phase (RUST_LOG=info).
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Generate {
            rows,
            xlsx_rows,
            subdistricts,
            out,
        } => generate(rows, xlsx_rows, &subdistricts, &out),
        Command::CopyReference { url, csv } => copy_reference(&url, &csv).await,
        Command::Analytics {
            url,
            subdistricts,
            schools,
            province,
        } => analytics::run(&url, &subdistricts, schools, &province).await,
    }
}

pub(crate) fn subdistrict_codes(path: &Path) -> Result<Vec<String>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut codes = Vec::new();
    for line in BufReader::new(file).lines().skip(1) {
        let line = line?;
        let code = line.split(',').next().unwrap_or("").trim_matches('"');
        if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
            codes.push(code.to_string());
        }
    }
    if codes.is_empty() {
        bail!("no 6-digit codes in {}", path.display());
    }
    codes.sort();
    Ok(codes)
}

/// The n-th observation: year (BE), indicator, area and sex vary so every key is unique.
fn observation(n: usize, codes: &[String]) -> (u32, &'static str, &str, &'static str, u64) {
    let per_year = codes.len() * INDICATORS.len() * 2;
    let year = 2557 + (n / per_year) as u32;
    let rest = n % per_year;
    let indicator = INDICATORS[rest / (codes.len() * 2)];
    let area = &codes[(rest / 2) % codes.len()];
    let sex = if rest.is_multiple_of(2) {
        "ชาย"
    } else {
        "หญิง"
    };
    let value = (n as u64).wrapping_mul(2_654_435_761) % 5_000;
    (year, indicator, area, sex, value)
}

fn generate(rows: usize, xlsx_rows: usize, subdistricts: &Path, out: &Path) -> Result<()> {
    std::fs::create_dir_all(out)?;
    let codes = subdistrict_codes(subdistricts)?;
    let mut areas = BufWriter::new(std::fs::File::create(out.join("areas.csv"))?);
    writeln!(areas, "code,name_th")?;
    let mut written = std::collections::BTreeSet::new();
    for code in &codes {
        for prefix in [&code[..2], &code[..4], &code[..]] {
            if written.insert(prefix.to_string()) {
                writeln!(areas, "{prefix},พื้นที่ {prefix}")?;
            }
        }
    }
    areas.flush()?;

    let mut csv = BufWriter::new(std::fs::File::create(out.join("obs.csv"))?);
    writeln!(csv, "indicator,area_code,year_be,sex,value")?;
    for n in 0..rows {
        let (year, indicator, area, sex, value) = observation(n, &codes);
        // Values of a thousand or more carry a separator, as Thai exports write them.
        if value >= 1000 {
            writeln!(
                csv,
                "{indicator},{area},{year},{sex},\"{},{:03}\"",
                value / 1000,
                value % 1000
            )?;
        } else {
            writeln!(csv, "{indicator},{area},{year},{sex},{value}")?;
        }
    }
    csv.flush()?;

    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet_with_constant_memory()?;
    sheet.set_name("obs")?;
    for (col, name) in ["indicator", "area_code", "year_be", "sex", "value"]
        .iter()
        .enumerate()
    {
        sheet.write_string(0, col as u16, *name)?;
    }
    for n in 0..xlsx_rows {
        let (year, indicator, area, sex, value) = observation(n, &codes);
        let row = n as u32 + 1;
        sheet.write_string(row, 0, indicator)?;
        sheet.write_string(row, 1, area)?;
        sheet.write_number(row, 2, f64::from(year))?;
        sheet.write_string(row, 3, sex)?;
        sheet.write_number(row, 4, value as f64)?;
    }
    book.save(out.join("obs.xlsx"))?;

    let mut config = String::from("# Generated by abe-bench.\n");
    for code in INDICATORS {
        config.push_str(&format!(
            "[[indicators]]\ncode = \"{code}\"\nname_th = \"{code}\"\nunit = \"persons\"\nkind = \"count\"\ndirection = \"higher_is_worse\"\n\n"
        ));
    }
    config.push_str(
        r#"[[connectors]]
name = "areas"
target = "areas"
source = { kind = "csv", path = "areas.csv", encoding = "utf-8" }
[connectors.mapping.fields]
code = { column = "code" }
name_th = { column = "name_th" }
"#,
    );
    for (name, source) in [
        (
            "obs_csv",
            r#"{ kind = "csv", path = "obs.csv", encoding = "utf-8", delimiter = "," }"#,
        ),
        (
            "obs_xlsx",
            r#"{ kind = "excel", path = "obs.xlsx", sheet = "obs", header_row = 1 }"#,
        ),
    ] {
        config.push_str(&format!(
            r#"
[[connectors]]
name = "{name}"
target = "observations"
source = {source}
[connectors.mapping.fields]
indicator = {{ column = "indicator" }}
area = {{ column = "area_code", transforms = ["trim"] }}
period = {{ column = "year_be", transforms = ["be_year"] }}
value = {{ column = "value", transforms = ["number"] }}
[connectors.mapping.breakdown]
sex = {{ column = "sex", transforms = [{{ lookup = "sex" }}] }}
[connectors.mapping.lookups.sex]
"ชาย" = "male"
"หญิง" = "female"
"#
        ));
    }
    std::fs::write(out.join("hub.toml"), config)?;
    Ok(())
}

async fn copy_reference(url: &str, csv: &Path) -> Result<()> {
    let mut conn = sqlx::PgConnection::connect(url)
        .await
        .context("connecting")?;
    // ref_keyed is the issue's reference: the CSV's columns and key in the database's own
    // collation. ref_keyed_c has the key in byte order, as the hub's own codes are
    // (COLLATE "C"), so that the hub's ratio can be read against either.
    for (table, keyed, collate) in [
        ("ref_plain", false, ""),
        ("ref_keyed", true, ""),
        ("ref_keyed_c", true, " COLLATE \"C\""),
    ] {
        let columns = format!(
            "indicator TEXT{collate}, area_code TEXT{collate}, year_be TEXT{collate}, \
             sex TEXT{collate}, value TEXT"
        );
        sqlx::query(&format!("DROP TABLE IF EXISTS {table}"))
            .execute(&mut conn)
            .await?;
        let key = if keyed {
            ", UNIQUE (indicator, area_code, year_be, sex)"
        } else {
            ""
        };
        sqlx::query(&format!("CREATE TABLE {table} ({columns}{key})"))
            .execute(&mut conn)
            .await?;
        // Start each measure from a clean checkpoint, not in the middle of one.
        sqlx::query("CHECKPOINT").execute(&mut conn).await?;
        let started = Instant::now();
        let mut copy = conn
            .copy_in_raw(&format!(
                "COPY {table} FROM STDIN WITH (FORMAT csv, HEADER true)"
            ))
            .await?;
        let file = tokio::fs::File::open(csv).await?;
        copy.read_from(file).await?;
        let rows = copy.finish().await?;
        println!("{table} {rows} {:.3}", started.elapsed().as_secs_f64());
        sqlx::query(&format!("DROP TABLE {table}"))
            .execute(&mut conn)
            .await?;
    }
    Ok(())
}
