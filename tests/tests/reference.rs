//! `docs/reference.md` cannot drift from the code: every option of every section is
//! named in its table (the option lists come from the config types themselves, through
//! serde), documented defaults are the defaults the types fill in, every `toml` example
//! is a connector the hub accepts, and every transform example gives the result shown.

use abe_connectors::mapping::{Mapping, MappingConfig, RefData};
use abe_connectors::{Cell, Header, Record};
use abe_hub::config::HubConfig;
use abe_pipeline::ConnectorConfig;
use abe_schema::thai::AreaNames;
use abe_schema::{AreaRow, SourcePosition, Target};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

fn reference() -> String {
    std::fs::read_to_string(abe_tests::repo_path("docs/reference.md")).expect("docs/reference.md")
}

/// The text under a heading (`## Connector`, `### csv`), up to the next heading of the
/// same or a higher level.
fn section<'a>(doc: &'a str, heading: &str) -> &'a str {
    let level = heading.chars().take_while(|c| *c == '#').count();
    let start = doc
        .find(&format!("\n{heading}\n"))
        .unwrap_or_else(|| panic!("docs/reference.md has no heading {heading}"))
        + heading.len()
        + 2;
    let rest = &doc[start..];
    let end = rest
        .match_indices("\n#")
        .find(|(i, _)| {
            let hashes = rest[i + 1..].chars().take_while(|c| *c == '#').count();
            hashes <= level && rest[i + 1 + hashes..].starts_with(' ')
        })
        .map_or(rest.len(), |(i, _)| i);
    &rest[..end]
}

/// The rows of the first table of `text`, cells trimmed, the header row and rule left
/// out. A `\|` inside a cell is a pipe.
fn table_rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|line| {
            line.replace("\\|", "\u{1}")
                .trim_matches('|')
                .split('|')
                .map(|cell| cell.replace('\u{1}', "|").trim().to_string())
                .collect()
        })
        .collect()
}

/// The text between the first pair of backticks of a cell.
fn code_of(cell: &str) -> Option<&str> {
    let start = cell.find('`')? + 1;
    let end = start + cell[start..].find('`')?;
    Some(&cell[start..end])
}

/// The options a config type takes, read from serde's own refusal of an unknown one:
/// `base` is a value of the type (or of its enum variant) to which one is added.
fn options_of<T: DeserializeOwned>(mut base: Value) -> Vec<String> {
    base["zz_not_an_option"] = json!(1);
    let error = serde_json::from_value::<T>(base)
        .err()
        .expect("an unknown option is refused")
        .to_string();
    let listed = error
        .split_once("expected one of ")
        .or_else(|| error.split_once("expected "))
        .unwrap_or_else(|| panic!("serde lists the options: {error}"))
        .1;
    listed
        .split(", ")
        .filter_map(|name| name.split('`').nth(1))
        .map(String::from)
        .collect()
}

/// The source kinds, each with its heading and a minimal definition.
fn sources() -> Vec<(&'static str, Value)> {
    vec![
        ("### csv", json!({ "kind": "csv", "path": "a.csv" })),
        ("### excel", json!({ "kind": "excel", "path": "a.xlsx" })),
        (
            "### http_json",
            json!({ "kind": "http_json", "url": "https://example.org/a" }),
        ),
        (
            "### ckan",
            json!({ "kind": "ckan", "base_url": "https://data.go.th", "resource_id": "x" }),
        ),
        (
            "### sql",
            json!({ "kind": "sql", "url_env": "DB", "query": "SELECT 1" }),
        ),
    ]
}

fn connector_with_source(source: Value) -> Value {
    json!({
        "name": "c", "target": "areas", "source": source,
        "mapping": { "fields": { "code": { "column": "c" }, "name_th": { "column": "n" } } }
    })
}

#[test]
fn every_option_is_in_its_section() {
    let doc = reference();
    let mut sections: Vec<(&str, Vec<String>)> = vec![
        (
            "## Connector",
            options_of::<ConnectorConfig>(connector_with_source(
                json!({ "kind": "csv", "path": "a" }),
            )),
        ),
        (
            "## Mapping",
            options_of::<MappingConfig>(json!({ "fields": {} })),
        ),
        (
            "### Field spec",
            options_of::<abe_connectors::mapping::FieldSpec>(json!({})),
        ),
        (
            "### Unpivot",
            options_of::<abe_connectors::mapping::Unpivot>(json!({})),
        ),
        (
            "### Skip rules",
            options_of::<abe_connectors::mapping::SkipRule>(json!({})),
        ),
        (
            "## Indicator",
            options_of::<abe_schema::Indicator>(json!({
                "code": "x", "name_th": "x", "unit": "u", "kind": "count",
                "direction": "higher_is_worse"
            })),
        ),
        (
            "## Alert rule",
            options_of::<abe_schema::AlertRule>(json!({
                "name": "r", "indicator": "x", "kind": "missing"
            })),
        ),
    ];
    for (heading, source) in sources() {
        let mut options = options_of::<abe_connectors::SourceConfig>(source);
        options.retain(|o| o != "kind");
        sections.push((heading, options));
    }
    for (heading, options) in &sections {
        assert!(options.len() > 1, "{heading}: {options:?}");
        let documented: Vec<String> = table_rows(section(&doc, heading))
            .iter()
            .filter_map(|row| code_of(&row[0]).map(String::from))
            .collect();
        for option in options {
            assert!(
                documented.contains(option),
                "docs/reference.md, {heading}: option `{option}` is not documented"
            );
        }
        for option in &documented {
            assert!(
                options.contains(option),
                "docs/reference.md, {heading}: `{option}` is not an option of the code"
            );
        }
    }
}

#[test]
fn documented_defaults_are_the_defaults() {
    let doc = reference();
    for (heading, source) in sources() {
        let config: ConnectorConfig = serde_json::from_value(connector_with_source(source))
            .unwrap_or_else(|e| panic!("{heading}: {e}"));
        let filled = serde_json::to_value(&config.source).expect("serialises");
        for row in table_rows(section(&doc, heading)) {
            let (Some(option), Some(default)) = (code_of(&row[0]), code_of(&row[1])) else {
                continue;
            };
            if let Some(value) = filled.get(option).filter(|v| !v.is_null()) {
                let value = match value {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                assert_eq!(
                    value, default,
                    "docs/reference.md, {heading}: default of `{option}`"
                );
            }
        }
    }
}

#[test]
fn every_example_is_a_connector_the_hub_accepts() {
    let doc = reference();
    let blocks: Vec<&str> = doc
        .split("```toml\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap_or_default())
        .collect();
    assert!(blocks.len() >= 10, "{} examples", blocks.len());
    for block in blocks {
        let parsed: HubConfig =
            toml::from_str(block).unwrap_or_else(|e| panic!("example does not read: {e}\n{block}"));
        for connector in parsed.connectors {
            connector
                .to_def(std::path::PathBuf::from("."))
                .unwrap_or_else(|e| panic!("example refused: {e}\n{block}"));
        }
        // An indicator example may name inputs the page's other examples declare.
        let known = |code: &str| {
            [
                "out_of_school_children",
                "child_population",
                "enrolled_children",
            ]
            .contains(&code)
        };
        for indicator in parsed.indicators {
            indicator
                .check(&known)
                .unwrap_or_else(|e| panic!("example refused: {e}\n{block}"));
        }
        for rule in parsed.alert_rules {
            rule.check()
                .unwrap_or_else(|e| panic!("example refused: {e}\n{block}"));
        }
    }
}

/// The transform's result for `input`: mapped as an area's English name, beside the
/// areas Yala (95) and Mueang Yala (9501).
fn transformed(transform: Value, input: &str) -> Result<Option<String>, String> {
    let config: MappingConfig = serde_json::from_value(json!({
        "lookups": { "sex": { "ชาย": "male" } },
        "fields": {
            "code": { "const": "95" },
            "name_th": { "const": "ยะลา" },
            "name_en": { "column": "input", "transforms": [transform] }
        }
    }))
    .map_err(|e| e.to_string())?;
    let mapping = Mapping::new(Target::Areas, config).map_err(|e| e.to_string())?;
    let refs = RefData {
        area_names: AreaNames::new([
            (
                "95".to_string(),
                "ยะลา".to_string(),
                Some("Yala".to_string()),
            ),
            (
                "9501".to_string(),
                "เมืองยะลา".to_string(),
                Some("Mueang Yala".to_string()),
            ),
        ]),
    };
    let record = Record {
        position: SourcePosition::at_row("example", 2),
        header: Arc::new(Header::new(vec!["input".to_string()])),
        cells: vec![Cell::Text(input.to_string())],
    };
    let mut rows = mapping.map_with::<AreaRow>(&record, &refs);
    let row = rows.pop().expect("one row");
    row.map(|area| area.name_en)
        .map_err(|reject| reject.to_string())
}

#[test]
fn every_transform_is_documented_with_an_example_that_holds() {
    let doc = reference();
    let rows = table_rows(section(&doc, "## Transforms"));
    let mut named = Vec::new();
    for row in &rows {
        let spelling = code_of(&row[0]).expect("a transform in backticks");
        // Names are TOML strings, tables TOML inline tables: read either as TOML.
        let wrapped: BTreeMap<String, toml::Value> =
            toml::from_str(&format!("t = {spelling}")).expect("a transform reads as TOML");
        let transform = serde_json::to_value(&wrapped["t"]).expect("JSON");
        match &transform {
            Value::String(name) => named.push(name.clone()),
            Value::Object(table) => named.extend(table.keys().cloned()),
            _ => panic!("{spelling}"),
        }
        let input = code_of(&row[1]).expect("an input in backticks");
        let expected = code_of(&row[2]).map(String::from);
        assert_eq!(
            transformed(transform.clone(), input),
            Ok(expected),
            "docs/reference.md: {spelling} of {input:?}"
        );
    }
    // Every transform the code knows, by name or table key (from serde's refusals).
    let names_error = serde_json::from_value::<abe_connectors::mapping::Transform>(json!("zz"))
        .expect_err("refused")
        .to_string();
    let names: Vec<&str> = names_error
        .split("expected one of ")
        .nth(1)
        .expect("names listed")
        .split(", ")
        .filter_map(|n| n.split('`').nth(1))
        .collect();
    let keys = options_of::<abe_connectors::mapping::Transform>(json!({}));
    for name in names.iter().copied().chain(keys.iter().map(String::as_str)) {
        if name == "on_missing" {
            continue;
        }
        assert!(
            named.iter().any(|n| n == name),
            "docs/reference.md: transform `{name}` has no example"
        );
    }
}

#[test]
fn the_readme_links_the_reference() {
    let readme = std::fs::read_to_string(abe_tests::repo_path("README.md")).expect("README.md");
    assert!(readme.contains("docs/reference.md"));
}
