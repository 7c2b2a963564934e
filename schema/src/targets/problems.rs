//! Problems: the situations a working group records at a workshop (สถานการณ์ ประเด็นปัญหา),
//! each in one area and of one topic, so that the gap analysis can set them against the
//! resources that cover them. Shared by code, as resources are.

use super::{date_field, plain_word, resolve_topics, word_field};
use crate::registry::split_list;
use crate::target::known_area;
use crate::thai::{normalise_area_code, parse_number};
use crate::{
    Column, FieldError, Fields, Ownership, ProblemSeverity, ProblemStatus, RecordOrigin,
    References, Reject, Target, TargetDesc, TargetRow, Value,
};
use serde::{Deserialize, Serialize};

/// One problem as loaded or entered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProblemRow {
    /// Stable code (`SKA-P-001`).
    pub code: String,
    /// The area it is in, any level.
    pub area_code: String,
    /// Its topic's code; as loaded, the name a sheet gives, resolved by
    /// [`TargetRow::check`].
    pub topic: String,
    /// The problem in Thai.
    pub statement_th: String,
    /// The problem in English.
    pub statement_en: Option<String>,
    /// The group (table, network) that raised it.
    pub group_name: Option<String>,
    /// The workshop that raised it.
    pub workshop: Option<String>,
    /// The day it was raised (ISO date).
    pub raised_on: Option<String>,
    /// How serious the group judged it.
    pub severity: ProblemSeverity,
    /// Where it stands.
    pub status: ProblemStatus,
    /// How many children it concerns, when the group knows.
    pub children: Option<f64>,
    /// Where it was recorded.
    pub origin: RecordOrigin,
}

const DESC: TargetDesc = TargetDesc {
    target: Target::Problems,
    table: "problems",
    columns: &[
        Column::key("code", Some("code"), true),
        Column::text("area_code", Some("area"), true),
        Column::text("topic", Some("topic"), true),
        Column::text("statement_th", Some("statement_th"), true),
        Column::text("statement_en", Some("statement_en"), false),
        Column::text("group_name", Some("group"), false),
        Column::text("workshop", Some("workshop"), false),
        Column::text("raised_on", Some("raised_on"), false),
        Column::text("severity", Some("severity"), false),
        Column::text("status", Some("status"), false),
        Column::real("children", Some("children"), false),
        Column::text("origin", Some("origin"), false),
    ],
    index_order: &["code"],
    ownership: Ownership::Shared,
    breakdown: false,
    retires: true,
    one_of: &[],
};

impl TargetRow for ProblemRow {
    const DESC: &'static TargetDesc = &DESC;

    fn from_fields(fields: &mut impl Fields) -> Result<Self, Reject> {
        let code = fields.required("code")?;
        let raw_area = fields.required("area")?;
        let (area_code, _) = normalise_area_code(&raw_area)
            .map_err(|e| fields.reject("area", Some(&raw_area), e.to_string()))?;
        let topic = fields.required("topic")?;
        if split_list(&topic).count() != 1 {
            return Err(fields.reject("topic", Some(&topic), "a problem has one topic".into()));
        }
        let statement_th = fields.required("statement_th")?;
        let severity = word_field(
            fields,
            "severity",
            ProblemSeverity::ALL,
            ProblemSeverity::read,
        )?
        .unwrap_or(ProblemSeverity::Medium);
        let status = word_field(fields, "status", ProblemStatus::ALL, ProblemStatus::read)?
            .unwrap_or_default();
        let children = match fields.get("children")? {
            None => None,
            Some(raw) => match parse_number(&raw) {
                Ok(Some(v)) if v >= 0.0 && v.fract() == 0.0 => Some(v),
                Ok(None) => None,
                Ok(Some(_)) => {
                    return Err(fields.reject(
                        "children",
                        Some(&raw),
                        "children is not a whole number of children".into(),
                    ))
                }
                Err(e) => {
                    return Err(fields.reject("children", Some(&raw), format!("children is {e}")))
                }
            },
        };
        let origin =
            word_field(fields, "origin", RecordOrigin::ALL, plain_word)?.unwrap_or_default();
        Ok(ProblemRow {
            code,
            area_code,
            topic,
            statement_th,
            statement_en: fields.get("statement_en")?,
            group_name: fields.get("group")?,
            workshop: fields.get("workshop")?,
            raised_on: date_field(fields, "raised_on")?,
            severity,
            status,
            children,
            origin,
        })
    }

    fn check(&mut self, references: &mut impl References) -> Result<(), FieldError> {
        known_area(references, "area", &self.area_code)?;
        let resolved = resolve_topics(references, "topic", &self.topic)?;
        self.topic = resolved.trim_matches(';').to_string();
        Ok(())
    }

    fn value(&self, column: usize) -> Value<'_> {
        match column {
            0 => Value::Text(Some(&self.code)),
            1 => Value::Text(Some(&self.area_code)),
            2 => Value::Text(Some(&self.topic)),
            3 => Value::Text(Some(&self.statement_th)),
            4 => Value::Text(self.statement_en.as_deref()),
            5 => Value::Text(self.group_name.as_deref()),
            6 => Value::Text(self.workshop.as_deref()),
            7 => Value::Text(self.raised_on.as_deref()),
            8 => Value::Text(Some(self.severity.as_str())),
            9 => Value::Text(Some(self.status.as_str())),
            10 => Value::Real(self.children),
            _ => Value::Text(Some(self.origin.as_str())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_follow_the_description() {
        let row = ProblemRow {
            code: "SKA-P-001".into(),
            area_code: "9001".into(),
            topic: "dropout".into(),
            statement_th: "เด็กออกกลางคัน".into(),
            statement_en: None,
            group_name: None,
            workshop: None,
            raised_on: Some("2026-11-20".into()),
            severity: ProblemSeverity::High,
            status: ProblemStatus::Open,
            children: Some(120.0),
            origin: RecordOrigin::Workshop,
        };
        crate::targets::testing::values_match_description(&row);
        assert_eq!(row.value(10), Value::Real(Some(120.0)));
        assert_eq!(row.value(9), Value::Text(Some("open")));
    }
}
