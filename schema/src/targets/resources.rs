//! Resources: the province's resource capital in EEF's four categories, as a steward's
//! spreadsheet or a workshop workbook lists it. Shared by code: a resource entered
//! through the API and later loaded from a sheet stays one resource, and the change of
//! hands is reported as for any shared row.

use super::{date_field, plain_word, resolve_topics, word_field};
use crate::registry::{join_list, split_list};
use crate::target::known_area;
use crate::thai::{normalise_area_code, parse_number};
use crate::{
    Column, FieldError, Fields, Ownership, RecordOrigin, References, Reject, ResourceCategory,
    ResourceUnit, Target, TargetDesc, TargetRow, Value,
};
use serde::{Deserialize, Serialize};

/// One resource as loaded or entered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResourceRow {
    /// Stable code the steward gives (`SKA-R-001`).
    pub code: String,
    /// Thai title.
    pub title_th: String,
    /// English title.
    pub title_en: Option<String>,
    /// Thai description.
    pub description_th: Option<String>,
    /// English description.
    pub description_en: Option<String>,
    /// One of the four categories.
    pub category: ResourceCategory,
    /// One of the category's subcategories.
    pub subcategory: Option<String>,
    /// Code of the agency that holds it.
    pub agency: Option<String>,
    /// Who to ask: partners and the owner see it, anonymous callers do not.
    pub contact: Option<String>,
    /// Areas it covers, any level, stored as `;90;9001;` (see [`join_list`]).
    pub areas: String,
    /// Topic codes it serves, stored as `;poverty;dropout;`; as loaded, the names a
    /// sheet gives, resolved to codes by [`TargetRow::check`].
    pub topics: String,
    /// How much of it there is.
    pub amount: Option<f64>,
    /// What the amount counts.
    pub unit: Option<ResourceUnit>,
    /// First day it is available (ISO date).
    pub valid_from: Option<String>,
    /// Last day it is available (ISO date).
    pub valid_to: Option<String>,
    /// Where it was recorded.
    pub origin: RecordOrigin,
}

const DESC: TargetDesc = TargetDesc {
    target: Target::Resources,
    table: "resources",
    columns: &[
        Column::key("code", Some("code"), true),
        Column::text("title_th", Some("title_th"), true),
        Column::text("title_en", Some("title_en"), false),
        Column::text("description_th", Some("description_th"), false),
        Column::text("description_en", Some("description_en"), false),
        Column::text("category", Some("category"), true),
        Column::text("subcategory", Some("subcategory"), false),
        Column::text("agency", Some("agency"), false),
        Column::text("contact", Some("contact"), false),
        Column::text("areas", Some("areas"), true),
        Column::text("topics", Some("topics"), false),
        Column::real("amount", Some("amount"), false),
        Column::text("unit", Some("unit"), false),
        Column::text("valid_from", Some("valid_from"), false),
        Column::text("valid_to", Some("valid_to"), false),
        Column::text("origin", Some("origin"), false),
    ],
    index_order: &["code"],
    ownership: Ownership::Shared,
    breakdown: false,
    retires: true,
    one_of: &[],
};

impl TargetRow for ResourceRow {
    const DESC: &'static TargetDesc = &DESC;

    fn from_fields(fields: &mut impl Fields) -> Result<Self, Reject> {
        let code = fields.required("code")?;
        let title_th = fields.required("title_th")?;
        let category = word_field(
            fields,
            "category",
            ResourceCategory::ALL,
            ResourceCategory::read,
        )?
        .ok_or_else(|| fields.reject("category", None, "category is blank".into()))?;
        let subcategory = match fields.get("subcategory")? {
            None => None,
            Some(raw) => {
                let word = raw.trim().to_lowercase();
                let found = category.subcategories().iter().find(|s| {
                    s.code == word || s.label_th == raw.trim() || s.label_en.to_lowercase() == word
                });
                match found {
                    Some(s) => Some(s.code.to_string()),
                    None => {
                        let choices: Vec<&str> =
                            category.subcategories().iter().map(|s| s.code).collect();
                        return Err(fields.reject(
                            "subcategory",
                            Some(&raw),
                            format!(
                                "subcategory \"{raw}\" is not one of {category}'s: {}",
                                choices.join(", ")
                            ),
                        ));
                    }
                }
            }
        };
        let raw_areas = fields.required("areas")?;
        let mut areas = Vec::new();
        for item in split_list(&raw_areas) {
            let (code, _) = normalise_area_code(item)
                .map_err(|e| fields.reject("areas", Some(item), e.to_string()))?;
            areas.push(code);
        }
        areas.sort();
        areas.dedup();
        let amount = match fields.get("amount")? {
            None => None,
            Some(raw) => match parse_number(&raw) {
                Ok(Some(v)) if v >= 0.0 => Some(v),
                Ok(None) => None,
                Ok(Some(_)) => {
                    return Err(fields.reject("amount", Some(&raw), "amount is negative".into()))
                }
                Err(e) => {
                    return Err(fields.reject("amount", Some(&raw), format!("amount is {e}")))
                }
            },
        };
        let unit = word_field(fields, "unit", ResourceUnit::ALL, ResourceUnit::read)?;
        if amount.is_some() && unit.is_none() {
            return Err(fields.reject("unit", None, "an amount needs its unit".into()));
        }
        let valid_from = date_field(fields, "valid_from")?;
        let valid_to = date_field(fields, "valid_to")?;
        if let (Some(from), Some(to)) = (&valid_from, &valid_to) {
            if to < from {
                return Err(fields.reject(
                    "valid_to",
                    Some(to.as_str()),
                    format!("valid_to {to} is before valid_from {from}"),
                ));
            }
        }
        let origin =
            word_field(fields, "origin", RecordOrigin::ALL, plain_word)?.unwrap_or_default();
        Ok(ResourceRow {
            code,
            title_th,
            title_en: fields.get("title_en")?,
            description_th: fields.get("description_th")?,
            description_en: fields.get("description_en")?,
            category,
            subcategory,
            agency: fields.get("agency")?,
            contact: fields.get("contact")?,
            areas: join_list(areas.iter().map(String::as_str)),
            topics: fields.get("topics")?.unwrap_or_default(),
            amount,
            unit,
            valid_from,
            valid_to,
            origin,
        })
    }

    fn check(&mut self, references: &mut impl References) -> Result<(), FieldError> {
        for area in split_list(&self.areas) {
            known_area(references, "areas", area)?;
        }
        self.topics = resolve_topics(references, "topics", &self.topics)?;
        if let Some(agency) = &self.agency {
            if !references.has_agency(agency) {
                return Err(FieldError {
                    field: "agency",
                    value: agency.clone(),
                    reason: format!("agency {agency} is not known"),
                });
            }
        }
        Ok(())
    }

    fn value(&self, column: usize) -> Value<'_> {
        match column {
            0 => Value::Text(Some(&self.code)),
            1 => Value::Text(Some(&self.title_th)),
            2 => Value::Text(self.title_en.as_deref()),
            3 => Value::Text(self.description_th.as_deref()),
            4 => Value::Text(self.description_en.as_deref()),
            5 => Value::Text(Some(self.category.as_str())),
            6 => Value::Text(self.subcategory.as_deref()),
            7 => Value::Text(self.agency.as_deref()),
            8 => Value::Text(self.contact.as_deref()),
            9 => Value::Text(Some(&self.areas)),
            10 => Value::Text(Some(&self.topics)),
            11 => Value::Real(self.amount),
            12 => Value::Text(self.unit.map(ResourceUnit::as_str)),
            13 => Value::Text(self.valid_from.as_deref()),
            14 => Value::Text(self.valid_to.as_deref()),
            _ => Value::Text(Some(self.origin.as_str())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_follow_the_description() {
        let row = ResourceRow {
            code: "SKA-R-001".into(),
            title_th: "ทุนการศึกษา".into(),
            title_en: None,
            description_th: None,
            description_en: None,
            category: ResourceCategory::Operations,
            subcategory: Some("budget".into()),
            agency: None,
            contact: None,
            areas: ";90;".into(),
            topics: ";poverty;".into(),
            amount: Some(500_000.0),
            unit: Some(ResourceUnit::Baht),
            valid_from: None,
            valid_to: None,
            origin: RecordOrigin::Workshop,
        };
        crate::targets::testing::values_match_description(&row);
        assert_eq!(row.value(11), Value::Real(Some(500_000.0)));
        assert_eq!(row.value(15), Value::Text(Some("workshop")));
    }
}
