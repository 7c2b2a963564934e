//! JSON as the web sources read it: documents parsed with a clear message, dotted paths
//! (`result.records`, `data.0.rows`) walked as JSON pointers, and values written as
//! cell text the same way for every source.

use serde_json::Value;

/// The JSON pointer of a dotted path: `data.0.rows` is `/data/0/rows` (a number steps
/// into an array, or names an object's key, as the value has it).
fn pointer(dotted: &str) -> String {
    if dotted.is_empty() {
        return String::new();
    }
    dotted
        .split('.')
        .map(|segment| format!("/{}", segment.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// The value at a dotted path.
pub(crate) fn lookup<'v>(value: &'v Value, dotted: &str) -> Option<&'v Value> {
    value.pointer(&pointer(dotted))
}

/// Takes the record array at the dotted `path` out of a document; `null` there is no
/// records. The error names the first step of the path that is missing.
pub(crate) fn take_records(mut value: Value, path: &str) -> Result<Vec<Value>, String> {
    let found = match value.pointer_mut(&pointer(path)) {
        Some(found) => found.take(),
        None => return Err(missing_step(&value, path)),
    };
    let found_kind = || {
        kind_name(&found)
            .trim_start_matches("an ")
            .trim_start_matches("a ")
            .to_string()
    };
    match found {
        Value::Array(items) => Ok(items),
        Value::Null => Ok(Vec::new()),
        _ if path.is_empty() => Err(format!(
            "the top-level value is not an array (found {}); set records_path to the \
             path of the record array",
            found_kind()
        )),
        _ => Err(format!(
            "records_path `{path}` is not an array (found {})",
            found_kind()
        )),
    }
}

/// Says which step of `path` the document lacks.
fn missing_step(value: &Value, path: &str) -> String {
    let segments: Vec<&str> = path.split('.').collect();
    let missing = (0..segments.len())
        .find(|&i| lookup(value, &segments[..=i].join(".")).is_none())
        .unwrap_or(0);
    let within = if missing == 0 {
        "the top-level value".to_string()
    } else {
        format!("`{}`", segments[..missing].join("."))
    };
    format!(
        "records_path `{path}`: there is no `{}` in {within}",
        segments[missing]
    )
}

/// `$.records_path[index]`, the JSON path of a record in its page.
pub(crate) fn record_path(records_path: &str, index: usize) -> String {
    if records_path.is_empty() {
        format!("$[{index}]")
    } else {
        format!("$.{records_path}[{index}]")
    }
}

/// The cell text of a JSON value: strings as they are, numbers as JSON writes them,
/// booleans `true`/`false`, `null` empty, arrays and objects as compact JSON.
pub(crate) fn value_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(_) | Value::Object(_) => value.to_string(),
    }
}

/// `an object`, `an array`, `a string`, ... for messages.
pub(crate) fn kind_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses a JSON document; `what` is "response" or "file" for the message.
pub(crate) fn parse(bytes: &[u8], what: &str) -> Result<Value, String> {
    // Files saved by Windows tools often start with a UTF-8 byte-order mark.
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    serde_json::from_slice(bytes).map_err(|e| {
        let text = String::from_utf8_lossy(bytes);
        if text.trim().is_empty() {
            format!("{what} is empty, not JSON")
        } else {
            format!(
                "{what} is not JSON (starts with `{}`): {e}",
                snippet(&text, 40)
            )
        }
    })
}

/// The first `max` characters of `text` on one line, with `…` when cut.
pub(crate) fn snippet(text: &str, max: usize) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() > max {
        let mut cut: String = one_line.chars().take(max).collect();
        cut.push('…');
        cut
    } else {
        one_line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_path_walks_objects_and_array_indices() {
        let value: Value =
            serde_json::from_str(r#"{"data":[{"rows":[1,2]}],"x":{"y":null},"a/b":{"c":[3]}}"#)
                .expect("json");
        assert_eq!(
            take_records(value.clone(), "data.0.rows")
                .expect("rows")
                .len(),
            2
        );
        assert!(take_records(value.clone(), "x.y").expect("null").is_empty());
        assert_eq!(
            take_records(value.clone(), "a/b.c").expect("slash").len(),
            1
        );
        let err = take_records(value.clone(), "data.1.rows").expect_err("missing");
        assert!(err.contains("no `1` in `data`"), "{err}");
        let err = take_records(value.clone(), "nope.rows").expect_err("missing");
        assert!(err.contains("no `nope` in the top-level value"), "{err}");
        let err = take_records(value.clone(), "x").expect_err("object");
        assert_eq!(err, "records_path `x` is not an array (found object)");
        let err = take_records(value, "").expect_err("object");
        assert!(err.starts_with("the top-level value is not an array (found object)"));
    }

    #[test]
    fn lookups_follow_dotted_paths() {
        let value: Value = serde_json::from_str(r#"{"meta":{"next":"c2"}}"#).expect("json");
        assert_eq!(lookup(&value, "meta.next"), Some(&Value::from("c2")));
        assert_eq!(lookup(&value, ""), Some(&value));
        assert_eq!(lookup(&value, "meta.none"), None);
    }
}
