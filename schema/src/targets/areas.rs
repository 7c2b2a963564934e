//! Areas of the Thai administrative hierarchy: provinces, districts and subdistricts by
//! their DOPA codes. Shared reference data: the level and parent follow from the code.

use crate::thai::{normalise_area_code, parent_area_code};
use crate::{
    AreaLevel, Column, FieldError, Fields, Ownership, References, Reject, Target, TargetDesc,
    TargetRow, Value,
};
use serde::{Deserialize, Serialize};

/// An area of the hierarchy as loaded by a connector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AreaRow {
    /// 2, 4 or 6-digit DOPA code.
    pub code: String,
    /// Level implied by the code length.
    pub level: AreaLevel,
    /// Parent code implied by the prefix.
    pub parent_code: Option<String>,
    /// Thai name.
    pub name_th: String,
    /// English name.
    pub name_en: Option<String>,
}

const DESC: TargetDesc = TargetDesc {
    target: Target::Areas,
    table: "areas",
    columns: &[
        Column::key("code", Some("code"), true),
        Column::text("level", None, false),
        Column::text("parent_code", None, false),
        Column::text("name_th", Some("name_th"), true),
        Column::text("name_en", Some("name_en"), false),
    ],
    index_order: &["code"],
    ownership: Ownership::Shared,
    breakdown: false,
    retires: false,
    one_of: &[],
};

impl TargetRow for AreaRow {
    const DESC: &'static TargetDesc = &DESC;

    fn from_fields(fields: &mut impl Fields) -> Result<Self, Reject> {
        let raw = fields.required("code")?;
        let (code, level) = normalise_area_code(&raw)
            .map_err(|e| fields.reject("code", Some(&raw), e.to_string()))?;
        Ok(AreaRow {
            parent_code: parent_area_code(&code).map(str::to_string),
            code,
            level,
            name_th: fields.required("name_th")?,
            name_en: fields.get("name_en")?,
        })
    }

    fn check(&mut self, references: &mut impl References) -> Result<(), FieldError> {
        if let Some(parent) = &self.parent_code {
            if !references.has_area(parent) {
                return Err(FieldError {
                    field: "code",
                    value: self.code.clone(),
                    reason: format!(
                        "parent area {parent} is not known; load it first or earlier in the file"
                    ),
                });
            }
        }
        references.add_area(&self.code);
        Ok(())
    }

    fn value(&self, column: usize) -> Value<'_> {
        match column {
            0 => Value::Text(Some(&self.code)),
            1 => Value::Text(Some(self.level.as_str())),
            2 => Value::Text(self.parent_code.as_deref()),
            3 => Value::Text(Some(&self.name_th)),
            _ => Value::Text(self.name_en.as_deref()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_follow_the_description() {
        let row = AreaRow {
            code: "9001".into(),
            level: AreaLevel::District,
            parent_code: Some("90".into()),
            name_th: "เมืองสงขลา".into(),
            name_en: None,
        };
        crate::targets::testing::values_match_description(&row);
        assert_eq!(row.value(2), Value::Text(Some("90")));
        assert_eq!(row.value(4), Value::Text(None));
    }
}
