//! Preview: map the first rows of a source without writing anything, so a data steward
//! sees the unified rows and the rejects side by side before a connector runs.

use crate::run::{References, RowChecker};
use crate::{ConnectorDef, Pipeline};
use abe_connectors::mapping::MappedRow;
use abe_connectors::{OpenContext, SourceItem};
use abe_schema::{Reject, SourcePosition};
use std::sync::Arc;

/// Rows a preview shows at most.
pub const MAX_PREVIEW_ROWS: usize = 1_000;

/// One mapped row of a preview.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewRow {
    /// Where it came from.
    pub position: SourcePosition,
    /// Target field names and values, in the target's order.
    pub fields: Vec<(String, String)>,
}

/// The first rows of a source, mapped and checked, and the rejects among them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Preview {
    /// Rows that would load.
    pub rows: Vec<PreviewRow>,
    /// Rows that would be refused.
    pub rejects: Vec<Reject>,
}

impl Pipeline {
    /// Maps up to `limit` rows (loadable and rejected together) of `def`'s source.
    /// Nothing is written; a source that cannot be read is an error.
    pub async fn preview(&self, def: &ConnectorDef, limit: usize) -> Result<Preview, String> {
        let references = Arc::new(
            self.references(def.mapping.needs_area_names())
                .await
                .map_err(|e| e.to_string())?,
        );
        let def = def.clone();
        let limit = limit.min(MAX_PREVIEW_ROWS);
        tokio::task::spawn_blocking(move || preview_source(&def, &references, limit))
            .await
            .map_err(|e| format!("reading the source crashed: {e}"))?
    }
}

fn preview_source(
    def: &ConnectorDef,
    references: &References,
    limit: usize,
) -> Result<Preview, String> {
    let expected_columns = def.mapping.source_columns();
    let context = OpenContext {
        expected_columns: &expected_columns,
        ..OpenContext::full(&def.base_dir)
    };
    let stream = def.source.open(&context).map_err(|e| e.to_string())?;
    let mut checker = RowChecker::new(references, &def.mapping);
    let mut preview = Preview::default();
    let mut checked_header = None;
    for item in stream {
        if preview.rows.len() + preview.rejects.len() >= limit {
            break;
        }
        let record = match item.map_err(|e| e.to_string())? {
            SourceItem::Record(record) => record,
            SourceItem::Reject(reject) => {
                preview.rejects.push(reject);
                continue;
            }
        };
        if record.is_blank() {
            continue;
        }
        if !checked_header
            .as_ref()
            .is_some_and(|h| Arc::ptr_eq(h, &record.header))
        {
            def.mapping.check_header(&record.header).map_err(|e| {
                let position = SourcePosition {
                    row: None,
                    ..record.position.clone()
                };
                format!("{position}: {e}")
            })?;
            checked_header = Some(Arc::clone(&record.header));
        }
        for mapped in def.mapping.map_with(&record, &references.names) {
            let checked = mapped.and_then(|row| {
                let fields = fields_of(&row);
                checker.check(row, &record.position).map(|_| fields)
            });
            match checked {
                Ok(fields) => preview.rows.push(PreviewRow {
                    position: record.position.clone(),
                    fields,
                }),
                Err(reject) => preview.rejects.push(reject),
            }
        }
    }
    Ok(preview)
}

/// The row's fields as text, named as in the mapping.
fn fields_of(row: &MappedRow) -> Vec<(String, String)> {
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let pairs: Vec<(&str, String)> = match row {
        MappedRow::Area(a) => vec![
            ("code", a.code.clone()),
            ("level", a.level.as_str().to_string()),
            ("parent", text(&a.parent_code)),
            ("name_th", a.name_th.clone()),
            ("name_en", text(&a.name_en)),
        ],
        MappedRow::School(s) => vec![
            ("code", s.code.clone()),
            ("name_th", s.name_th.clone()),
            ("name_en", text(&s.name_en)),
            ("area", s.area_code.clone()),
            ("affiliation", text(&s.affiliation)),
            ("levels", text(&s.levels)),
        ],
        MappedRow::Observation(o) => vec![
            ("indicator", o.indicator.clone()),
            ("area", o.area_code.clone()),
            ("school", o.school_code.clone()),
            ("period", o.period.clone()),
            ("breakdown", o.breakdown.clone()),
            ("value", o.value.to_string()),
        ],
    };
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}
