//! Schools, by the code of the agency that runs them, and the area each is in. Shared
//! reference data that school observations point at.

use crate::target::known_area;
use crate::thai::normalise_area_code;
use crate::{
    Column, FieldError, Fields, Ownership, References, Reject, Target, TargetDesc, TargetRow, Value,
};
use serde::{Deserialize, Serialize};

/// A school as loaded by a connector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SchoolRow {
    /// Ministry school code (OBEC 10-digit or another agency's).
    pub code: String,
    /// Thai name.
    pub name_th: String,
    /// English name.
    pub name_en: Option<String>,
    /// Area code the school is in (usually a subdistrict).
    pub area_code: String,
    /// Affiliation, e.g. `OBEC`, `LAO`, `BPP`.
    pub affiliation: Option<String>,
    /// Levels taught, free text such as `primary;lower_secondary`.
    pub levels: Option<String>,
}

const DESC: TargetDesc = TargetDesc {
    target: Target::Schools,
    table: "schools",
    columns: &[
        Column::key("code", Some("code"), true),
        Column::text("name_th", Some("name_th"), true),
        Column::text("name_en", Some("name_en"), false),
        Column::text("area_code", Some("area"), true),
        Column::text("affiliation", Some("affiliation"), false),
        Column::text("levels", Some("levels"), false),
    ],
    index_order: &["code"],
    ownership: Ownership::Shared,
    breakdown: false,
    retires: false,
    one_of: &[],
};

impl TargetRow for SchoolRow {
    const DESC: &'static TargetDesc = &DESC;

    fn from_fields(fields: &mut impl Fields) -> Result<Self, Reject> {
        let raw_area = fields.required("area")?;
        let code = fields.required("code")?;
        let name_th = fields.required("name_th")?;
        let name_en = fields.get("name_en")?;
        let (area_code, _) = normalise_area_code(&raw_area)
            .map_err(|e| fields.reject("area", Some(&raw_area), e.to_string()))?;
        Ok(SchoolRow {
            code,
            name_th,
            name_en,
            area_code,
            affiliation: fields.get("affiliation")?,
            levels: fields.get("levels")?,
        })
    }

    fn check(&mut self, references: &mut impl References) -> Result<(), FieldError> {
        known_area(references, "area", &self.area_code)
    }

    fn value(&self, column: usize) -> Value<'_> {
        match column {
            0 => Value::Text(Some(&self.code)),
            1 => Value::Text(Some(&self.name_th)),
            2 => Value::Text(self.name_en.as_deref()),
            3 => Value::Text(Some(&self.area_code)),
            4 => Value::Text(self.affiliation.as_deref()),
            _ => Value::Text(self.levels.as_deref()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_follow_the_description() {
        let row = SchoolRow {
            code: "1095100001".into(),
            name_th: "โรงเรียน".into(),
            name_en: None,
            area_code: "950101".into(),
            affiliation: Some("OBEC".into()),
            levels: None,
        };
        crate::targets::testing::values_match_description(&row);
        assert_eq!(row.value(3), Value::Text(Some("950101")));
    }
}
