//! Tests of the mapping on records made here and on real public files.

use super::*;

#[test]
fn numbers_are_written_as_f64_writes_them() {
    for n in [
        0.0,
        -0.0,
        1.0,
        -7.0,
        1234567.0,
        0.5,
        -2.25,
        1e15,
        1e16,
        123456789012345.0,
        f64::MAX,
    ] {
        assert_eq!(number_text(n), n.to_string(), "{n:?}");
    }
}
use super::transform::{number_text, TRANSFORM_NAMES};
use super::unpivot::glob_matches;
use crate::csv::CsvConfig;
use crate::{shared_data, OpenContext, Source, SourceItem};
use abe_schema::{AreaRow, ObservationRow, SourcePosition};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

fn record(names: &[&str], cells: &[&str]) -> Record {
    Record {
        position: SourcePosition {
            file: "f.csv".into(),
            sheet: None,
            row: Some(5),
            column: None,
        },
        header: Arc::new(Header::new(names.iter().map(|s| s.to_string()).collect())),
        cells: cells.iter().map(|c| Cell::Text(c.to_string())).collect(),
    }
}

fn observation_mapping() -> Mapping {
    let config: MappingConfig = toml_like(
        r#"{
            "fields": {
                "indicator": {"column": "ตัวชี้วัด", "transforms": ["trim", {"lookup": "indicators"}]},
                "area": {"column": "อำเภอ", "transforms": ["trim", "thai_digits"]},
                "period": {"column": "ปี", "transforms": ["be_year"]},
                "value": {"column": "จำนวน", "transforms": ["thai_digits", "number"]}
            },
            "breakdown": {"sex": {"column": "เพศ", "transforms": [{"lookup": "sex"}]}},
            "lookups": {
                "indicators": {"นักเรียน": "enrolled_children"},
                "sex": {"ชาย": "male", "หญิง": "female"}
            }
        }"#,
    );
    Mapping::new(Target::Observations, config).expect("valid mapping")
}

fn toml_like(json: &str) -> MappingConfig {
    serde_json::from_str(json).expect("mapping json")
}

/// The single row a mapping without unpivot gives.
fn one<R: std::fmt::Debug>(mut rows: Vec<Result<R, Reject>>) -> Result<R, Reject> {
    assert_eq!(rows.len(), 1, "{rows:?}");
    rows.remove(0)
}

const HEADER: &[&str] = &["ปี", "อำเภอ", "เพศ", "ตัวชี้วัด", "จำนวน"];

#[test]
fn an_observation_row_is_mapped_through_every_transform() {
    let mapping = observation_mapping();
    let row = one(mapping.map::<ObservationRow>(&record(
        HEADER,
        &["๒๕๖๖", " ๙๐๐๑ ", "หญิง", "นักเรียน ", "๑,๒๓๔"],
    )))
    .expect("maps");
    assert_eq!(
        row,
        ObservationRow {
            indicator: "enrolled_children".into(),
            area_code: "9001".into(),
            school_code: String::new(),
            period: "2023".into(),
            breakdown: "sex=female".into(),
            value: 1234.0,
        }
    );
}

#[test]
fn bad_values_are_rejected_with_column_value_and_reason() {
    let mapping = observation_mapping();
    let cases = [
        (
            ["25x6", "9001", "ชาย", "นักเรียน", "1"],
            "ปี",
            "25x6",
            "not a year",
        ),
        (
            ["2566", "9001", "ชาย", "นักเรียน", "ไม่ทราบ"],
            "จำนวน",
            "ไม่ทราบ",
            "not a number",
        ),
        (
            ["2566", "901", "ชาย", "นักเรียน", "1"],
            "อำเภอ",
            "901",
            "2 (province), 4 (district) or 6",
        ),
        (
            ["2566", "9001", "อื่น", "นักเรียน", "1"],
            "เพศ",
            "อื่น",
            "not in the lookup table \"sex\"",
        ),
        (
            ["2566", "9001", "ชาย", "นักเรียน", "1.5.2"],
            "จำนวน",
            "1.5.2",
            "not a number",
        ),
    ];
    for (cells, column, value, reason) in cases {
        let reject =
            one(mapping.map::<ObservationRow>(&record(HEADER, &cells))).expect_err("rejected");
        assert_eq!(reject.position.column.as_deref(), Some(column), "{reject}");
        assert_eq!(reject.position.row, Some(5));
        assert_eq!(reject.value.as_deref(), Some(value), "{reject}");
        assert!(reject.reason.contains(reason), "{reject}");
    }
}

#[test]
fn spreadsheet_error_cells_are_rejected() {
    let mapping = observation_mapping();
    let mut r = record(HEADER, &["2566", "9001", "ชาย", "นักเรียน", ""]);
    r.cells[4] = Cell::Error("#DIV/0!".into());
    let reject = one(mapping.map::<ObservationRow>(&r)).expect_err("rejected");
    assert!(reject.reason.contains("#DIV/0!"), "{reject}");
}

#[test]
fn areas_get_level_and_parent_from_the_code() {
    let config = toml_like(
        r#"{"fields": {"code": {"column": "code"}, "name_th": {"column": "name", "transforms": ["trim"]}, "name_en": {"const": "X"}}}"#,
    );
    let mapping = Mapping::new(Target::Areas, config).expect("valid");
    let row = one(mapping.map::<AreaRow>(&record(&["code", "name"], &["9001", " เมืองสงขลา "])))
        .expect("maps");
    assert_eq!(
        row,
        AreaRow {
            code: "9001".into(),
            level: AreaLevel::District,
            parent_code: Some("90".into()),
            name_th: "เมืองสงขลา".into(),
            name_en: Some("X".into()),
        }
    );
}

#[test]
fn invalid_mappings_are_refused_with_a_reason() {
    let cases = [
        (
            r#"{"fields": {"code": {"column": "c"}}}"#,
            "needs the field \"name_th\"",
        ),
        (
            r#"{"fields": {"code": {"column": "c"}, "name_th": {"column": "n"}, "colour": {"const": "x"}}}"#,
            "not a field of areas",
        ),
        (
            r#"{"fields": {"code": {"column": "c", "const": "x"}, "name_th": {"column": "n"}}}"#,
            "exactly one of",
        ),
        (
            r#"{"fields": {"code": {"column": "c", "transforms": [{"lookup": "nope"}]}, "name_th": {"column": "n"}}}"#,
            "not declared",
        ),
    ];
    for (json, expect) in cases {
        let err = Mapping::new(Target::Areas, toml_like(json)).expect_err("refused");
        assert!(err.to_string().contains(expect), "{err}");
    }
}

#[test]
fn missing_header_columns_are_named() {
    let mapping = observation_mapping();
    let header = Header::new(vec!["ปี".into(), "อำเภอ".into()]);
    let err = mapping
        .check_header(&header)
        .expect_err("missing columns")
        .to_string();
    assert!(
        err.contains("is not in the header (columns: \"ปี\", \"อำเภอ\")"),
        "{err}"
    );
}

fn wide_mapping(unpivot: serde_json::Value) -> Mapping {
    let config: MappingConfig = serde_json::from_value(json!({
        "unpivot": unpivot,
        "fields": {
            "indicator": {"const": "enrolled_children"},
            "area": {"column": "อำเภอ"},
            "period": {"column": "year", "transforms": ["be_year"]},
            "value": {"column": "count", "transforms": ["thai_digits", "number"]}
        },
        "breakdown": {"sex": {"const": "all"}}
    }))
    .expect("mapping json");
    Mapping::new(Target::Observations, config).expect("valid mapping")
}

fn observation(row: &Result<ObservationRow, Reject>) -> (&str, f64) {
    match row {
        Ok(o) => (o.period.as_str(), o.value),
        other => panic!("not an observation: {other:?}"),
    }
}

#[test]
fn wide_tables_unpivot_into_one_row_per_listed_column() {
    let mapping = wide_mapping(json!({
        "columns": ["2564", "2565", "2566"], "name": "year", "value": "count"
    }));
    let rows = mapping.map::<ObservationRow>(&record(
        &["อำเภอ", "2564", "2565", "2566", "หมายเหตุ"],
        &["9001", "10", "x", "๑๒", "note"],
    ));
    assert_eq!(rows.len(), 3);
    assert_eq!(observation(&rows[0]), ("2021", 10.0));
    assert_eq!(observation(&rows[2]), ("2023", 12.0));
    // The bad cell rejects its own row only, at its real column.
    let reject = rows[1].as_ref().expect_err("rejected");
    assert_eq!(reject.position.column.as_deref(), Some("2565"));
    assert_eq!(reject.position.row, Some(5));
    assert_eq!(reject.value.as_deref(), Some("x"));
    assert_eq!(reject.reason, "not a number");
    // A virtual column has no single real column to name in later checks.
    assert_eq!(mapping.column_of("period"), None);
    assert_eq!(mapping.column_of("area"), Some("อำเภอ"));
}

#[test]
fn unpivot_by_pattern_skips_blank_cells_and_names_bad_headers() {
    let mapping = wide_mapping(json!({
        "columns_matching": "ปี 25##", "name": "year", "value": "count", "skip_blank": true
    }));
    let header = ["อำเภอ", "ปี 2565", "ปี ๒๕๖๖", "ปี 2567", "ปี 25xx"];
    let mut r = record(&header, &["9001", "5", "", "7", "1"]);
    r.cells[3] = Cell::Error("#REF!".into());
    mapping.check_header(&r.header).expect("pattern matches");
    let rows = mapping.map::<ObservationRow>(&r);
    // "ปี 25xx" does not match; the blank "ปี ๒๕๖๖" gives no row.
    assert_eq!(rows.len(), 2, "{rows:?}");
    let reject = rows[0].as_ref().expect_err("header is not a year");
    assert_eq!(reject.position.column.as_deref(), Some("ปี 2565"));
    assert_eq!(reject.reason, "not a year");
    let reject = rows[1].as_ref().expect_err("spreadsheet error");
    assert_eq!(reject.position.column.as_deref(), Some("ปี 2567"));
    assert!(reject.reason.contains("#REF!"), "{reject}");
    // Without skip_blank, the blank cell is a row of its own, rejected as blank.
    let keep_blank = wide_mapping(json!({
        "columns_matching": "ปี 25##", "name": "year", "value": "count"
    }));
    let rows = keep_blank.map::<ObservationRow>(&r);
    assert_eq!(rows.len(), 3, "{rows:?}");
    let reject = rows[1].as_ref().expect_err("blank");
    assert_eq!(reject.position.column.as_deref(), Some("ปี ๒๕๖๖"));
    assert_eq!(reject.reason, "value is blank");
}

#[test]
fn unpivoted_headers_feed_breakdowns_through_transforms() {
    let config: MappingConfig = serde_json::from_value(json!({
        "unpivot": {"columns": ["นักเรียนชาย", "นักเรียนหญิง"], "name": "sex", "value": "n"},
        "fields": {
            "indicator": {"const": "enrolled_children"},
            "area": {"column": "รหัส", "transforms": ["area_code"]},
            "period": {"column": "ปีการศึกษา", "transforms": ["academic_year"]},
            "value": {"column": "n", "transforms": ["number"]}
        },
        "breakdown": {"sex": {"column": "sex", "transforms": [
            {"strip_prefix": "นักเรียน"}, {"lookup": "sex"}
        ]}},
        "lookups": {"sex": {"ชาย": "male", "หญิง": "female"}}
    }))
    .expect("mapping json");
    let mapping = Mapping::new(Target::Observations, config).expect("valid");
    let rows = mapping.map::<ObservationRow>(&record(
        &["รหัส", "ปีการศึกษา", "นักเรียนชาย", "นักเรียนหญิง"],
        &["90010101", "2566", "1,200", "1,150"],
    ));
    let breakdowns: Vec<_> = rows
        .iter()
        .map(|r| match r {
            Ok(o) => (
                o.area_code.as_str(),
                o.period.as_str(),
                o.breakdown.as_str(),
                o.value,
            ),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        breakdowns,
        [
            ("900101", "AY2023", "sex=male", 1200.0),
            ("900101", "AY2023", "sex=female", 1150.0)
        ]
    );
}

#[test]
fn unpivot_headers_are_checked() {
    let listed =
        wide_mapping(json!({"columns": ["2565", "2566"], "name": "year", "value": "count"}));
    let header = Header::new(vec!["อำเภอ".into(), "2565".into()]);
    let err = listed
        .check_header(&header)
        .expect_err("2566 missing")
        .to_string();
    assert!(
        err.starts_with("unpivot column \"2566\" is not in the header"),
        "{err}"
    );
    let header = Header::new(vec![
        "อำเภอ".into(),
        "2565".into(),
        "2566".into(),
        "year".into(),
    ]);
    let err = listed
        .check_header(&header)
        .expect_err("virtual column clash")
        .to_string();
    assert!(
        err.contains("\"year\" is also a column of the header"),
        "{err}"
    );
    let pattern =
        wide_mapping(json!({"columns_matching": "25##", "name": "year", "value": "count"}));
    let header = Header::new(vec!["อำเภอ".into(), "ปี 2565".into()]);
    let err = pattern
        .check_header(&header)
        .expect_err("nothing matches")
        .to_string();
    assert!(
        err.contains("no column of the header matches the unpivot pattern \"25##\""),
        "{err}"
    );
}

#[test]
fn globs_match_whole_headers() {
    assert!(glob_matches("25##", "2566"));
    assert!(glob_matches("25##", "๒๕๖๖"));
    assert!(glob_matches("๒๕##", "2566"));
    assert!(glob_matches("ปี *", "ปี 2565 (ประมาณการ)"));
    assert!(glob_matches("*ชาย", "นักเรียนชาย"));
    assert!(glob_matches("*", ""));
    assert!(glob_matches("a*b*c", "aXbYbZc"));
    assert!(glob_matches("m?", "m1"));
    assert!(!glob_matches("25##", "25661"));
    assert!(!glob_matches("25##", "25ab"));
    assert!(!glob_matches("a*b", "aXbY"));
}

/// The value of a `period` field read from column `x` = `cell` through `transforms`.
fn transformed(transforms: serde_json::Value, cell: &str) -> Result<Option<String>, Reject> {
    let config: MappingConfig = serde_json::from_value(json!({
        "fields": {
            "indicator": {"const": "i"}, "area": {"const": "90"}, "value": {"const": "1"},
            "period": {"column": "x", "transforms": transforms}
        },
        "lookups": {"sex": {"ชาย": "male"}}
    }))
    .expect("mapping json");
    let mapping = Mapping::new(Target::Observations, config).expect("valid");
    let spec = &mapping.config.fields["period"];
    let r = record(&["x"], &[cell]);
    let row = Row {
        record: &r,
        refs: &RefData::default(),
        wide: None,
    };
    mapping.evaluate(spec, &row)
}

#[test]
fn dates_excel_serials_and_periods_transform_to_their_spellings() {
    let cases: &[(serde_json::Value, &str, &str)] = &[
        (json!(["thai_date"]), "15 มกราคม 2566", "2023-01-15"),
        (json!(["thai_date"]), "15 ม.ค. 66", "2023-01-15"),
        (json!(["thai_date"]), "15 มค 66", "2023-01-15"),
        (json!(["thai_date"]), "๑๕/๐๑/๒๕๖๖", "2023-01-15"),
        (json!(["thai_date"]), "2566-01-15", "2023-01-15"),
        (json!(["excel_date"]), "44927", "2023-01-01"),
        (json!(["excel_date"]), "2023-01-01T08:00:00", "2023-01-01"),
        (json!(["excel_date", "fiscal_year"]), "44835", "FY2023"),
        (json!(["academic_year"]), "16 พ.ค. 2566", "AY2023"),
        (json!(["academic_year"]), "15 พ.ค. 2566", "AY2022"),
        (json!(["academic_year"]), "2566", "AY2023"),
        (json!(["fiscal_year"]), "30 ก.ย. 2566", "FY2023"),
        (json!(["fiscal_year"]), "1 ต.ค. 2566", "FY2024"),
        (json!(["fiscal_year"]), "ปีงบประมาณ ๒๕๖๖", "FY2023"),
        (json!(["calendar_year"]), "15/01/2566", "2023"),
        (json!(["calendar_year"]), "2023", "2023"),
        (json!(["month"]), "15 ม.ค. 2566", "2023-01"),
        (json!(["month"]), "มกราคม 2566", "2023-01"),
    ];
    for (transforms, cell, want) in cases {
        assert_eq!(
            transformed(transforms.clone(), cell),
            Ok(Some(want.to_string())),
            "{transforms} {cell}"
        );
    }
    let bad: &[(serde_json::Value, &str, &str)] = &[
        (
            json!(["thai_date"]),
            "31/02/2566",
            "there is no day 31 in month 2 of 2023 CE",
        ),
        (json!(["thai_date"]), "พรุ่งนี้", "not a date"),
        (
            json!(["excel_date"]),
            "15/01/2566",
            "not an Excel date serial number",
        ),
        (json!(["fiscal_year"]), "ไม่ทราบ", "not a date or a year"),
        (json!(["month"]), "2566", "not a date or a year"),
    ];
    for (transforms, cell, reason) in bad {
        let reject = transformed(transforms.clone(), cell).expect_err("rejected");
        assert_eq!(reject.reason, *reason, "{transforms} {cell}");
        assert_eq!(reject.value.as_deref(), Some(*cell));
        assert_eq!(reject.position.column.as_deref(), Some("x"));
    }
    assert_eq!(
        transformed(json!(["thai_date", "fiscal_year"]), " "),
        Ok(None)
    );
}

#[test]
fn numbers_percentages_and_nulls_transform() {
    let nulls = json!([{"null_if": ["N/A", "null", "ไม่มีข้อมูล"]}, "number"]);
    for cell in ["N/A", "n/a", "null", "NULL", " ไม่มีข้อมูล ", "-", ""] {
        assert_eq!(transformed(nulls.clone(), cell), Ok(None), "{cell}");
    }
    assert_eq!(transformed(nulls.clone(), "1,234"), Ok(Some("1234".into())));
    for (cell, want) in [
        ("12.5%", Some("12.5")),
        ("๑๒.๕ %", Some("12.5")),
        ("12.5", Some("12.5")),
        ("ร้อยละ 7", Some("7")),
        ("-", None),
    ] {
        assert_eq!(
            transformed(json!(["percent"]), cell),
            Ok(want.map(String::from)),
            "{cell}"
        );
    }
    let reject = transformed(json!(["percent"]), "abc%").expect_err("rejected");
    assert_eq!(reject.reason, "not a percentage");
}

#[test]
fn text_transforms_and_lookup_fallbacks() {
    let prefixes = json!([{"strip_prefix": ["ตำบล", "แขวง", "อำเภอ", "เขต", "จังหวัด"]}]);
    let cases: &[(serde_json::Value, &str, Option<&str>)] = &[
        (json!(["upper"]), "Mueang abc", Some("MUEANG ABC")),
        (json!(["lower"]), "Mueang ABC", Some("mueang abc")),
        (prefixes.clone(), " ตำบล บุดี", Some("บุดี")),
        (prefixes.clone(), "เขตพระนคร", Some("พระนคร")),
        (prefixes.clone(), "บุดี", Some("บุดี")),
        (prefixes, "ตำบล", None),
        (json!([{"strip_prefix": "ตำบล"}]), "ตำบลยุโป", Some("ยุโป")),
        (
            json!([{"replace": {"from": ".", "to": ""}}]),
            "ม.ค.",
            Some("มค"),
        ),
        (
            json!([{"lookup": "sex", "on_missing": "keep"}]),
            "อื่น",
            Some("อื่น"),
        ),
        (
            json!([{"lookup": "sex", "on_missing": "keep"}]),
            "ชาย",
            Some("male"),
        ),
        (json!([{"lookup": "sex", "on_missing": "null"}]), "อื่น", None),
        (json!(["area_code"]), "๙๕๐๑๐๒๐๓", Some("950102")),
        (json!(["area_code"]), "95.0", Some("95")),
        // The province of a district code; Thai text counts characters, not bytes.
        (
            json!([{"substring": {"start": 1, "length": 2}}]),
            "9501",
            Some("95"),
        ),
        (
            json!([{"substring": {"start": 6}}]),
            "อำเภอเมืองยะลา",
            Some("เมืองยะลา"),
        ),
        (json!([{"substring": {"start": 9}}]), "9501", None),
        (
            json!([{"split": {"separator": "/", "part": 1}}]),
            "2566/1",
            Some("2566"),
        ),
        (
            json!([{"split": {"separator": "–", "part": -1}}]),
            "อนุบาล–ประถมศึกษา",
            Some("ประถมศึกษา"),
        ),
        (
            json!([{"split": {"separator": ",", "part": 2}}]),
            "ยะลา, ปัตตานี",
            Some("ปัตตานี"),
        ),
    ];
    for (transforms, cell, want) in cases {
        assert_eq!(
            transformed(transforms.clone(), cell),
            Ok(want.map(String::from)),
            "{transforms} {cell}"
        );
    }
    let reject = transformed(json!([{"lookup": "sex"}]), "อื่น").expect_err("rejected");
    assert_eq!(reject.reason, "\"อื่น\" is not in the lookup table \"sex\"");
    let reject = transformed(json!([{"split": {"separator": "/", "part": 2}}]), "2566")
        .expect_err("rejected");
    assert_eq!(
        reject.reason,
        "has 1 piece(s) when cut at \"/\", not a piece 2"
    );
    let reject = transformed(json!(["area_code"]), "901").expect_err("rejected");
    assert!(
        reject
            .reason
            .contains("6 (subdistrict) or 8 (village) digits, not 3"),
        "{reject}"
    );
}

#[test]
fn concat_joins_columns_and_constants() {
    let config = toml_like(
        r#"{"fields": {
            "code": {"concat": ["จังหวัด", "อำเภอ"], "transforms": ["thai_digits"]},
            "name_th": {"concat": ["=อำเภอ", "ชื่อ"], "separator": " "}
        }}"#,
    );
    let mapping = Mapping::new(Target::Areas, config).expect("valid");
    let header = ["จังหวัด", "อำเภอ", "ชื่อ"];
    mapping
        .check_header(&Header::new(header.iter().map(|s| s.to_string()).collect()))
        .expect("columns present");
    let area =
        one(mapping.map::<AreaRow>(&record(&header, &["๙๐", "๐๑", "เมืองสงขลา"]))).expect("maps");
    assert_eq!(area.code, "9001");
    assert_eq!(area.name_th, "อำเภอ เมืองสงขลา");
    let reject =
        one(mapping.map::<AreaRow>(&record(&header, &["90", "1", "x"]))).expect_err("3 digits");
    assert_eq!(reject.position.column.as_deref(), Some("จังหวัด + อำเภอ"));
    assert_eq!(reject.value.as_deref(), Some("901"));
    let reject = one(mapping.map::<AreaRow>(&record(&header, &["", " ", "x"]))).expect_err("blank");
    assert_eq!(reject.reason, "code is blank");
}

#[test]
fn transform_spellings_round_trip_and_bad_ones_are_explained() {
    for name in TRANSFORM_NAMES {
        let transform: Transform = serde_json::from_value(json!(name)).expect("known name");
        let back = serde_json::to_value(&transform).expect("serialises");
        if *name == "area_name" {
            assert_eq!(back, json!({"area_name": {}}));
        } else {
            assert_eq!(back, json!(name));
        }
    }
    for table in [
        json!({"lookup": "sex"}),
        json!({"lookup": "sex", "on_missing": "keep"}),
        json!({"null_if": ["N/A"]}),
        json!({"strip_prefix": ["ตำบล"]}),
        json!({"replace": {"from": "a", "to": "b"}}),
        json!({"area_name": {"level": "district", "within": ["=ยะลา"]}}),
        json!({"substring": {"start": 1, "length": 2}}),
        json!({"substring": {"start": 3}}),
        json!({"split": {"separator": "/", "part": -1}}),
    ] {
        let transform: Transform = serde_json::from_value(table.clone()).expect("parses");
        assert_eq!(serde_json::to_value(&transform).expect("serialises"), table);
    }
    let err = |v: serde_json::Value| {
        serde_json::from_value::<Transform>(v)
            .expect_err("refused")
            .to_string()
    };
    assert!(err(json!("trim_all")).contains("unknown variant `trim_all`"));
    assert!(err(json!({"lookup": "sex", "null_if": ["x"]})).contains("exactly one of"));
    assert!(
        err(json!({"null_if": ["x"], "on_missing": "keep"})).contains("only goes with `lookup`")
    );
    assert!(err(json!({"lookup": "sex", "on_missing": "drop"})).contains("unknown variant `drop`"));
    assert!(err(json!({"lokup": "sex"})).contains("unknown field `lokup`"));
}

#[test]
fn invalid_new_options_are_refused_with_a_reason() {
    let cases = [
        (
            json!({"fields": {"code": {"column": "c", "separator": "-"}, "name_th": {"column": "n"}}}),
            "has a `separator` but no `concat`",
        ),
        (
            json!({"fields": {"code": {"column": "c", "concat": ["a"]}, "name_th": {"column": "n"}}}),
            "exactly one of `column`, `const` or `concat`",
        ),
        (
            json!({"fields": {"code": {"concat": []}, "name_th": {"column": "n"}}}),
            "needs a `concat` of column names",
        ),
        (
            json!({"fields": {"code": {"column": "c", "transforms": [{"replace": {"from": "", "to": "x"}}]}, "name_th": {"column": "n"}}}),
            "empty `from`",
        ),
        (
            json!({"fields": {"code": {"column": "c", "transforms": [{"null_if": []}]}, "name_th": {"column": "n"}}}),
            "`null_if` without texts",
        ),
        (
            json!({"unpivot": {"columns": ["a"], "columns_matching": "b*", "name": "y", "value": "v"},
                   "fields": {"code": {"column": "c"}, "name_th": {"column": "n"}}}),
            "either `columns`",
        ),
        (
            json!({"unpivot": {"columns": ["a"], "name": "v", "value": "v"},
                   "fields": {"code": {"column": "c"}, "name_th": {"column": "n"}}}),
            "must differ",
        ),
        (
            json!({"fields": {"code": {"column": "c", "transforms": [{"substring": {"start": 0}}]}, "name_th": {"column": "n"}}}),
            "`start` is 0",
        ),
        (
            json!({"fields": {"code": {"column": "c", "transforms": [{"split": {"separator": "", "part": 1}}]}, "name_th": {"column": "n"}}}),
            "empty `separator`",
        ),
        (
            json!({"skip_if": [{"column": "c", "blank": true, "equals": ["x"]}],
                   "fields": {"code": {"column": "c"}, "name_th": {"column": "n"}}}),
            "exactly one of `equals`",
        ),
        (
            json!({"aggregate": "count", "fields": {"code": {"column": "c"}, "name_th": {"column": "n"}}}),
            "aggregate adds up values, and areas have none",
        ),
    ];
    for (config, expect) in cases {
        let config: MappingConfig = serde_json::from_value(config).expect("parses");
        let err = Mapping::new(Target::Areas, config).expect_err("refused");
        assert!(err.to_string().contains(expect), "{err}");
    }
    let counted: MappingConfig = serde_json::from_value(json!({"aggregate": "count", "fields": {
        "indicator": {"const": "i"}, "area": {"column": "a"}, "period": {"column": "p"},
        "value": {"column": "v"}
    }}))
    .expect("parses");
    let err = Mapping::new(Target::Observations, counted).expect_err("refused");
    assert!(err.to_string().contains("remove its mapping"), "{err}");
    let unknown = serde_json::from_value::<MappingConfig>(json!({
        "fields": {}, "unpivot": {"columns": ["a"], "name": "y", "value": "v", "pattern": "x"}
    }));
    assert!(unknown.is_err());
}

fn csv_records(path: &str) -> Vec<Record> {
    CsvConfig::new(path)
        .open(&OpenContext::full(&shared_data("")))
        .expect("opens")
        .filter_map(|item| match item.expect("reads") {
            SourceItem::Record(r) if !r.is_blank() => Some(r),
            _ => None,
        })
        .collect()
}

fn text<'a>(record: &'a Record, column: &str) -> &'a str {
    match record
        .header
        .position(column)
        .and_then(|i| record.cells.get(i))
    {
        Some(Cell::Text(t)) => t,
        _ => "",
    }
}

/// Area names of the kongvut lists. provinces.id is a 1..77 sequence, not the DOPA
/// code: the province code is the first two digits of its districts' codes.
fn kongvut_area_names() -> AreaNames {
    let districts = csv_records("kongvut-thai-province-data/districts.csv");
    let province_codes: HashMap<String, String> = districts
        .iter()
        .map(|d| {
            let code = text(d, "id").get(..2).expect("district code").to_string();
            (text(d, "province_id").to_string(), code)
        })
        .collect();
    let named = |r: &Record, code: String| {
        let en = Some(text(r, "name_en").to_string()).filter(|e| !e.is_empty());
        (code, text(r, "name_th").to_string(), en)
    };
    let mut rows = Vec::new();
    for p in csv_records("kongvut-thai-province-data/provinces.csv") {
        let code = province_codes[text(&p, "id")].clone();
        rows.push(named(&p, code));
    }
    for d in &districts {
        rows.push(named(d, text(d, "id").to_string()));
    }
    for s in csv_records("kongvut-thai-province-data/sub_districts.csv") {
        rows.push(named(&s, text(&s, "id").to_string()));
    }
    AreaNames::new(rows)
}

fn school_area_mapping() -> Mapping {
    let config: MappingConfig = serde_json::from_value(json!({"fields": {
        "indicator": {"const": "schools"}, "period": {"const": "2023"}, "value": {"const": "1"},
        "area": {"column": "subDistrict", "transforms": [
            {"area_name": {"level": "subdistrict", "within": ["province", "district"]}}
        ]}
    }}))
    .expect("mapping json");
    Mapping::new(Target::Observations, config).expect("valid")
}

#[test]
fn school_subdistrict_names_resolve_to_kongvut_codes() {
    let refs = RefData {
        area_names: kongvut_area_names(),
    };
    assert_eq!(refs.area_names.len(), 77 + 929 + 7_451);
    let mapping = school_area_mapping();
    assert!(mapping.needs_area_names());
    let mut rates = HashMap::new();
    for province in [
        "yala",
        "phuket",
        "bangkok",
        "chiang_mai",
        "mae_hong_son",
        "nakhon_ratchasima",
    ] {
        let records = csv_records(&format!("thai-school-data-wikipedia/{province}.csv"));
        let mut matched = 0;
        let mut rejects = Vec::new();
        for r in &records {
            match one(mapping.map_with::<ObservationRow>(r, &refs)) {
                Ok(_) => matched += 1,
                Err(reject) => rejects.push(reject),
            }
        }
        eprintln!(
            "{province}: {matched}/{} school subdistricts resolved ({:.1}%)",
            records.len(),
            100.0 * matched as f64 / records.len() as f64
        );
        for reject in rejects.iter().take(3) {
            eprintln!("  {reject}");
        }
        rates.insert(province, (matched, records.len(), rejects));
    }
    let (matched, total, rejects) = &rates["yala"];
    assert_eq!((*matched, *total), (351, 352));
    assert_eq!(rejects[0].position.column.as_deref(), Some("subDistrict"));
    assert_eq!(
        rejects[0].reason,
        "no subdistrict of 9505 (ยะหา) is named \"บาโงยซีแน\""
    );
    let (matched, total, _) = &rates["phuket"];
    assert_eq!((*matched, *total), (132, 132));

    // The zero-width spaces of yala.csv: "\u200b\u200b บุดี" is บุดี, 950102.
    let yala = csv_records("thai-school-data-wikipedia/yala.csv");
    let budi = yala
        .iter()
        .find(|r| text(r, "subDistrict") == "\u{200b}\u{200b} บุดี")
        .expect("the row with zero-width spaces");
    match one(mapping.map_with::<ObservationRow>(budi, &refs)) {
        Ok(o) => assert_eq!(o.area_code, "950102"),
        other => panic!("{other:?}"),
    }
    let with_zwsp = yala
        .iter()
        .filter(|r| text(r, "subDistrict").contains('\u{200b}'))
        .count();
    assert!(with_zwsp > 0);
}

#[test]
fn area_name_rejects_name_the_column_at_fault() {
    let refs = RefData {
        area_names: kongvut_area_names(),
    };
    let mapping = school_area_mapping();
    let header = ["name", "subDistrict", "district", "province"];
    // A district that is not in the province: the reject is at "district".
    let reject = one(mapping
        .map_with::<ObservationRow>(&record(&header, &["x", "บุดี", "เมืองภูเก็ต", "ยะลา"]), &refs))
    .expect_err("wrong district");
    assert_eq!(reject.position.column.as_deref(), Some("district"));
    assert_eq!(
        reject.reason,
        "no district of 95 (ยะลา) is named \"เมืองภูเก็ต\""
    );
    // "เมือง" is the capital district of the province it is in.
    let row = one(mapping.map_with::<ObservationRow>(
        &record(&header, &["x", "ตำบลสะเตง", "อ.เมือง", "จ.ยะลา"]),
        &refs,
    ))
    .expect("resolves");
    assert_eq!(row.area_code, "950101");
    // Unscoped and ambiguous: the candidates are listed.
    let config: MappingConfig = serde_json::from_value(json!({"fields": {
        "indicator": {"const": "i"}, "period": {"const": "2023"}, "value": {"const": "1"},
        "area": {"column": "subDistrict", "transforms": [{"area_name": {"level": "district"}}]}
    }}))
    .expect("mapping json");
    let unscoped = Mapping::new(Target::Observations, config).expect("valid");
    let reject =
        one(unscoped.map_with::<ObservationRow>(&record(&header, &["x", "เมือง", "", ""]), &refs))
            .expect_err("ambiguous");
    assert!(
        reject
            .reason
            .starts_with("\"เมือง\" names 75 districts: 1101 (เมืองสมุทรปราการ), "),
        "{}",
        reject.reason
    );
    assert!(reject
        .reason
        .ends_with("and 65 more; give the enclosing area to tell them apart"));
    // Without reference data, the reason says what is missing.
    let reject =
        one(mapping.map::<ObservationRow>(&record(&header, &["x", "บุดี", "เมืองยะลา", "ยะลา"])))
            .expect_err("no names");
    assert!(
        reject.reason.starts_with("no area names are loaded"),
        "{reject}"
    );
    // A blank enclosing area is a reject at its column.
    let reject =
        one(mapping.map_with::<ObservationRow>(&record(&header, &["x", "บุดี", "", "ยะลา"]), &refs))
            .expect_err("blank district");
    assert_eq!(reject.position.column.as_deref(), Some("district"));
}

#[test]
fn skip_rules_leave_out_subtotals_notes_and_blank_rows() {
    let config: MappingConfig = serde_json::from_value(json!({
        "skip_if": [
            {"column": "อำเภอ", "matches": "รวม*"},
            {"column": "หมายเหตุ", "equals": ["ที่มา", "NOTE"]},
            {"column": "code", "blank": true}
        ],
        "fields": {"code": {"column": "code"}, "name_th": {"column": "อำเภอ"}}
    }))
    .expect("parses");
    let mapping = Mapping::new(Target::Areas, config).expect("valid");
    let header = ["code", "อำเภอ", "หมายเหตุ"];
    let err = mapping
        .check_header(&Header::new(vec!["code".into(), "อำเภอ".into()]))
        .expect_err("a skip column must be in the header");
    assert!(err.to_string().contains("หมายเหตุ"), "{err}");
    let skipped = |cells: &[&str]| {
        mapping
            .skipped_by(&record(&header, cells))
            .map(ToString::to_string)
    };
    assert_eq!(
        skipped(&["90", "รวมทั้งจังหวัด", ""]).as_deref(),
        Some("column \"อำเภอ\" matches \"รวม*\"")
    );
    assert_eq!(
        skipped(&["90", "x", " note "]).as_deref(),
        Some("column \"หมายเหตุ\" is \"ที่มา\" or \"NOTE\"")
    );
    assert_eq!(
        skipped(&["", "x", ""]).as_deref(),
        Some("column \"code\" is blank")
    );
    assert_eq!(skipped(&["9001", "เมืองสงขลา", ""]), None);
}

#[test]
fn a_blank_area_name_can_mean_the_enclosing_area() {
    let refs = RefData {
        area_names: kongvut_area_names(),
    };
    let config: MappingConfig = serde_json::from_value(json!({"fields": {
        "indicator": {"const": "n"}, "period": {"const": "2023"}, "value": {"const": "1"},
        "area": {"column": "district", "transforms": [
            {"area_name": {"within": ["province"], "blank_is_enclosing": true}}
        ]}
    }}))
    .expect("mapping json");
    let mapping = Mapping::new(Target::Observations, config).expect("valid");
    let area = |province: &str, district: &str| {
        one(mapping.map_with::<ObservationRow>(
            &record(&["province", "district"], &[province, district]),
            &refs,
        ))
        .map(|r| r.area_code)
        .map_err(|r| r.reason)
    };
    assert_eq!(area("สงขลา", "หาดใหญ่"), Ok("9011".into()));
    assert_eq!(area("สงขลา", ""), Ok("90".into()));
    assert_eq!(area("พิษณุโลก", " "), Ok("65".into()));
    assert!(area("", "").is_err(), "no enclosing area to take");

    let without_within: Result<MappingConfig, _> = serde_json::from_value(json!({"fields": {
        "indicator": {"const": "n"}, "period": {"const": "2023"}, "value": {"const": "1"},
        "area": {"column": "district", "transforms": [{"area_name": {"blank_is_enclosing": true}}]}
    }}));
    let refused =
        Mapping::new(Target::Observations, without_within.expect("json")).expect_err("refused");
    assert!(
        refused.to_string().contains("blank_is_enclosing"),
        "{refused}"
    );
}
