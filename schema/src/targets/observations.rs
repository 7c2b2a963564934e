//! Observations: one value of an indicator for an area or a school, a period and a
//! breakdown. Each connector owns the observations it loaded; two connectors may give
//! the same key, and each keeps its own row.

use crate::target::known_area;
use crate::thai::{normalise_area_code, parse_number};
use crate::{
    period::Period, Breakdown, Column, FieldError, Fields, Ownership, References, Reject, Target,
    TargetDesc, TargetRow, Value,
};
use serde::{Deserialize, Serialize};

/// One value of an indicator for an area or school, a period and a breakdown.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservationRow {
    /// Indicator code.
    pub indicator: String,
    /// Area code; for a school observation, the school's area.
    pub area_code: String,
    /// School code, empty when the observation is about an area.
    pub school_code: String,
    /// Period, e.g. `2023` (calendar or academic year as the indicator defines).
    pub period: String,
    /// Canonical breakdown, see [`Breakdown`]; empty for the total.
    pub breakdown: String,
    /// The value.
    pub value: f64,
}

const DESC: TargetDesc = TargetDesc {
    target: Target::Observations,
    table: "observations",
    columns: &[
        Column::key("indicator", Some("indicator"), true),
        Column::key("area_code", Some("area"), false),
        Column::key("school_code", Some("school"), false),
        Column::key("period", Some("period"), true),
        Column::key("breakdown", None, false),
        Column::real("value", Some("value"), true),
    ],
    index_order: &[
        "indicator",
        "area_code",
        "period",
        "breakdown",
        "school_code",
        "connector",
    ],
    ownership: Ownership::Connector,
    breakdown: true,
    retires: false,
    one_of: &["area", "school"],
};

impl TargetRow for ObservationRow {
    const DESC: &'static TargetDesc = &DESC;

    fn from_fields(fields: &mut impl Fields) -> Result<Self, Reject> {
        let area_code = match fields.get("area")? {
            Some(raw) => {
                normalise_area_code(&raw)
                    .map_err(|e| fields.reject("area", Some(&raw), e.to_string()))?
                    .0
            }
            None => String::new(),
        };
        let school_code = fields.get("school")?.unwrap_or_default();
        if area_code.is_empty() && school_code.is_empty() {
            return Err(fields.reject("", None, "neither an area nor a school is given".into()));
        }
        let raw_value = fields.required("value")?;
        let value = match parse_number(&raw_value) {
            Ok(Some(v)) => v,
            Ok(None) => {
                return Err(fields.reject("value", Some(&raw_value), "value is blank".into()))
            }
            Err(e) => {
                return Err(fields.reject("value", Some(&raw_value), format!("value is {e}")))
            }
        };
        let breakdown = Breakdown::new(fields.breakdown()?).encode();
        Ok(ObservationRow {
            indicator: fields.required("indicator")?,
            area_code,
            school_code,
            period: fields.required("period")?,
            breakdown,
            value,
        })
    }

    fn check(&mut self, references: &mut impl References) -> Result<(), FieldError> {
        // Only stored spellings are checked: a period the catalogue does not read as a
        // year or month is the mapping's choice.
        if let Ok(period) = self.period.parse::<Period>() {
            period
                .check_not_ahead(references.today())
                .map_err(|reason| FieldError {
                    field: "period",
                    value: self.period.clone(),
                    reason,
                })?;
        }
        if !references.has_indicator(&self.indicator) {
            return Err(FieldError {
                field: "indicator",
                value: self.indicator.clone(),
                reason: format!("indicator {} is not in the catalogue", self.indicator),
            });
        }
        if !self.school_code.is_empty() {
            match references.school_area(&self.school_code) {
                Some(area) if self.area_code.is_empty() => self.area_code = area.to_string(),
                Some(_) => {}
                None => {
                    return Err(FieldError {
                        field: "school",
                        value: self.school_code.clone(),
                        reason: format!("school {} is not known", self.school_code),
                    })
                }
            }
        }
        known_area(references, "area", &self.area_code)
    }

    fn value(&self, column: usize) -> Value<'_> {
        match column {
            0 => Value::Text(Some(&self.indicator)),
            1 => Value::Text(Some(&self.area_code)),
            2 => Value::Text(Some(&self.school_code)),
            3 => Value::Text(Some(&self.period)),
            4 => Value::Text(Some(&self.breakdown)),
            _ => Value::Real(Some(self.value)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_follow_the_description() {
        let row = ObservationRow {
            indicator: "dropouts".into(),
            area_code: "9001".into(),
            school_code: String::new(),
            period: "2023".into(),
            breakdown: "sex=female".into(),
            value: 12.0,
        };
        crate::targets::testing::values_match_description(&row);
        assert_eq!(row.value(5), Value::Real(Some(12.0)));
    }
}
