//! The province's resource capital and its problems, as the workshops list them: the
//! topics that link indicators, alerts, problems and resources, the four resource
//! categories with their Thai and English labels and subcategories, and the lists a
//! resource row holds (areas, topics).

use crate::{ProblemSeverity, ProblemStatus, ResourceCategory, ResourceUnit};
use serde::{Deserialize, Serialize};

/// A topic of the province's list: what links an indicator (and its alerts), a problem
/// and a resource, so that gaps can be found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Topic {
    /// Stable code, e.g. `out_of_school`.
    pub code: String,
    /// Thai name, as a workbook's dropdown shows it.
    pub name_th: String,
    /// English name.
    pub name_en: String,
}

impl Topic {
    /// Checks the code's spelling and that both names are given.
    pub fn check(&self) -> Result<(), String> {
        if !is_code(&self.code) {
            return Err(format!(
                "topic code \"{}\": use 1 to 64 lowercase letters, digits or `_`",
                self.code
            ));
        }
        if self.name_th.trim().is_empty() || self.name_en.trim().is_empty() {
            return Err(format!("topic {}: give name_th and name_en", self.code));
        }
        Ok(())
    }
}

fn is_code(code: &str) -> bool {
    (1..=64).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A subcategory of a resource category, with its labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subcategory {
    /// Stored word, e.g. `budget`.
    pub code: &'static str,
    /// Thai label.
    pub label_th: &'static str,
    /// English label.
    pub label_en: &'static str,
}

const fn sub(code: &'static str, label_th: &'static str, label_en: &'static str) -> Subcategory {
    Subcategory {
        code,
        label_th,
        label_en,
    }
}

const DATA_SUBCATEGORIES: &[Subcategory] = &[
    sub("dataset", "ชุดข้อมูล", "Dataset"),
    sub("information_system", "ระบบสารสนเทศ", "Information system"),
    sub("survey", "การสำรวจ / รายงาน", "Survey or report"),
];

const OPERATIONS_SUBCATEGORIES: &[Subcategory] = &[
    sub("budget", "งบประมาณ", "Budget"),
    sub("people", "บุคลากร", "People"),
    sub("agency", "หน่วยงาน", "Agency"),
    sub("organisation", "องค์กร", "Organisation"),
    sub("facility", "สถานที่ / อุปกรณ์", "Facility or equipment"),
];

const KNOWLEDGE_SUBCATEGORIES: &[Subcategory] = &[
    sub("know_how", "ชุดความรู้", "Know-how package"),
    sub("innovation", "นวัตกรรม", "Innovation"),
    sub("curriculum", "หลักสูตร / การฝึกอบรม", "Curriculum or training"),
    sub("research", "งานวิจัย", "Research"),
];

const POLICY_SUBCATEGORIES: &[Subcategory] = &[
    sub("policy", "นโยบาย / แผน", "Policy or plan"),
    sub("agreement", "ข้อตกลงความร่วมมือ", "Agreement"),
    sub("network", "เครือข่าย", "Network"),
    sub("community_leader", "ผู้นำชุมชน", "Community leader"),
];

impl ResourceCategory {
    /// The Thai label the workshops use.
    pub fn label_th(self) -> &'static str {
        match self {
            ResourceCategory::Data => "ด้านข้อมูล / สารสนเทศ",
            ResourceCategory::Operations => "ด้านการดำเนินงาน (งบประมาณ คน หน่วยงาน องค์กร)",
            ResourceCategory::Knowledge => "ด้านองค์ความรู้ / ชุดความรู้ / นวัตกรรม",
            ResourceCategory::Policy => "ด้านนโยบาย / ทุนทางสังคม",
        }
    }

    /// The English label.
    pub fn label_en(self) -> &'static str {
        match self {
            ResourceCategory::Data => "Data and information",
            ResourceCategory::Operations => "Operations: budget, people, agencies, organisations",
            ResourceCategory::Knowledge => "Knowledge, know-how and innovations",
            ResourceCategory::Policy => "Policy and social capital",
        }
    }

    /// Its subcategories; a resource names one of these or none.
    pub fn subcategories(self) -> &'static [Subcategory] {
        match self {
            ResourceCategory::Data => DATA_SUBCATEGORIES,
            ResourceCategory::Operations => OPERATIONS_SUBCATEGORIES,
            ResourceCategory::Knowledge => KNOWLEDGE_SUBCATEGORIES,
            ResourceCategory::Policy => POLICY_SUBCATEGORIES,
        }
    }

    /// The subcategory `code` of this category.
    pub fn subcategory(self, code: &str) -> Option<&'static Subcategory> {
        self.subcategories().iter().find(|s| s.code == code)
    }

    /// Reads a category as a workbook or a steward writes it: its word (`data`), its
    /// number (`1` to `4`), or the start of its Thai or English label (`ด้านข้อมูล`).
    pub fn read(text: &str) -> Option<ResourceCategory> {
        let text = text.trim();
        if let Ok(category) = text.to_lowercase().parse() {
            return Some(category);
        }
        if let Ok(n) = text.trim_end_matches('.').parse::<usize>() {
            return ResourceCategory::ALL.get(n.checked_sub(1)?).copied();
        }
        if text.is_empty() {
            return None;
        }
        let lower = text.to_lowercase();
        ResourceCategory::ALL.iter().copied().find(|c| {
            // "ด้านข้อมูล", "ด้านการดำเนินงาน", ...: the label up to its first space.
            let th = c.label_th();
            let head = th.split([' ', '(']).next().unwrap_or(th);
            lower.starts_with(head) || c.label_en().to_lowercase().starts_with(&lower)
        })
    }
}

impl ProblemSeverity {
    /// The Thai label a group writes.
    pub fn label_th(self) -> &'static str {
        match self {
            ProblemSeverity::High => "สูง",
            ProblemSeverity::Medium => "กลาง",
            ProblemSeverity::Low => "ต่ำ",
        }
    }

    /// Reads a severity by its word or its Thai label (สูง, กลาง, ต่ำ; มาก, ปานกลาง,
    /// น้อย too).
    pub fn read(text: &str) -> Option<ProblemSeverity> {
        let text = text.trim();
        text.to_lowercase().parse().ok().or(match text {
            "สูง" | "มาก" => Some(ProblemSeverity::High),
            "กลาง" | "ปานกลาง" => Some(ProblemSeverity::Medium),
            "ต่ำ" | "น้อย" => Some(ProblemSeverity::Low),
            _ => None,
        })
    }
}

impl ProblemStatus {
    /// The Thai label a workbook writes.
    pub fn label_th(self) -> &'static str {
        match self {
            ProblemStatus::Open => "เปิด",
            ProblemStatus::BeingAddressed => "กำลังดำเนินการ",
            ProblemStatus::Closed => "ปิดแล้ว",
        }
    }

    /// Reads a status by its word (`being addressed` and `being-addressed` too) or its
    /// Thai label.
    pub fn read(text: &str) -> Option<ProblemStatus> {
        let text = text.trim();
        text.to_lowercase()
            .replace([' ', '-'], "_")
            .parse()
            .ok()
            .or_else(|| {
                ProblemStatus::ALL
                    .iter()
                    .copied()
                    .find(|s| s.label_th() == text)
            })
    }
}

impl ResourceUnit {
    /// The Thai label a workbook writes.
    pub fn label_th(self) -> &'static str {
        match self {
            ResourceUnit::Baht => "บาท",
            ResourceUnit::People => "คน",
            ResourceUnit::Places => "ที่",
            ResourceUnit::Items => "ชิ้น",
            ResourceUnit::Hours => "ชั่วโมง",
        }
    }

    /// Reads a unit by its word or its Thai label.
    pub fn read(text: &str) -> Option<ResourceUnit> {
        let text = text.trim();
        text.to_lowercase().parse().ok().or_else(|| {
            ResourceUnit::ALL
                .iter()
                .copied()
                .find(|u| u.label_th() == text)
        })
    }
}

/// Splits a list cell (`9001; 9002`, `a,b`) into its trimmed, non-empty items.
pub fn split_list(text: &str) -> impl Iterator<Item = &str> {
    text.split([';', ',', '\n'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Whether a stored list holds `item`.
pub fn list_contains(list: &str, item: &str) -> bool {
    split_list(list).any(|i| i == item)
}

/// Whether a stored list of area codes covers `area`: names it or an area above it.
pub fn list_covers(list: &str, area: &str) -> bool {
    split_list(list).any(|a| area.starts_with(a))
}

/// Whether a stored list of area codes names `area` or an area under it.
pub fn list_reaches_into(list: &str, area: &str) -> bool {
    split_list(list).any(|a| a.starts_with(area))
}

/// The SQL LIKE pattern (escape character `\`) that finds `item` in a stored list:
/// the database's side of [`list_contains`].
pub fn like_list_item(item: &str) -> String {
    format!("%;{};%", escape_like(item))
}

/// The SQL LIKE pattern (escape `\`) that finds a list naming `area` or an area under
/// it: the database's side of [`list_reaches_into`].
pub fn like_list_reaching_into(area: &str) -> String {
    format!("%;{}%", escape_like(area))
}

/// `text` with LIKE's wildcards and the escape character escaped by `\`.
pub fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// Joins list items as stored: `;` between, and around, so that `;9001;` finds an item
/// and `;90` every item under province 90 with one LIKE on either database.
pub fn join_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let mut out = String::from(";");
    for item in items {
        out.push_str(item);
        out.push(';');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_read_as_people_write_them() {
        assert_eq!(
            ResourceCategory::read("2"),
            Some(ResourceCategory::Operations)
        );
        assert_eq!(ResourceCategory::read("data"), Some(ResourceCategory::Data));
        assert_eq!(
            ResourceCategory::read("ด้านนโยบาย / ทุนทางสังคม"),
            Some(ResourceCategory::Policy)
        );
        assert_eq!(
            ResourceCategory::read("ด้านข้อมูล"),
            Some(ResourceCategory::Data)
        );
        assert_eq!(
            ResourceCategory::read("Knowledge"),
            Some(ResourceCategory::Knowledge)
        );
        assert_eq!(ResourceCategory::read("5"), None);
        assert_eq!(ResourceCategory::read("0"), None);
        assert_eq!(ResourceCategory::read("money"), None);
        assert_eq!(ResourceCategory::read(" "), None);
        assert_eq!(
            ResourceCategory::read("ด้านการดำเนินงาน"),
            Some(ResourceCategory::Operations)
        );
    }

    #[test]
    fn every_subcategory_code_is_unique_within_its_category() {
        for c in ResourceCategory::ALL {
            let mut codes: Vec<_> = c.subcategories().iter().map(|s| s.code).collect();
            let n = codes.len();
            codes.sort();
            codes.dedup();
            assert_eq!(codes.len(), n, "{c}");
            assert!(codes.iter().all(|code| is_code(code)));
        }
    }

    #[test]
    fn lists_are_searched_alike_in_rust_and_in_sql() {
        let list = join_list(["90", "9101"]);
        assert!(list_covers(&list, "900101") && list_covers(&list, "9101"));
        assert!(
            !list_covers(&list, "91"),
            "91 is above 9101, not covered by it"
        );
        assert!(list_reaches_into(&list, "91") && !list_reaches_into(&list, "92"));
        assert!(list_contains(";out_of_school;", "out_of_school"));
        assert!(!list_contains(";out_of_school;", "out"));
        assert_eq!(like_list_item("out_of_school"), "%;out\\_of\\_school;%");
        assert_eq!(like_list_reaching_into("91"), "%;91%");
        assert_eq!(escape_like("100%\\"), "100\\%\\\\");
    }

    #[test]
    fn lists_split_and_join() {
        let items: Vec<_> = split_list(" 9001; 9002 ,,\n90 ").collect();
        assert_eq!(items, ["9001", "9002", "90"]);
        assert_eq!(join_list(items), ";9001;9002;90;");
        assert_eq!(join_list([]), ";");
    }

    #[test]
    fn units_read_in_thai_and_english() {
        assert_eq!(ResourceUnit::read("บาท"), Some(ResourceUnit::Baht));
        assert_eq!(ResourceUnit::read(" Hours "), Some(ResourceUnit::Hours));
        assert_eq!(ResourceUnit::read("ครั้ง"), None);
        for u in ResourceUnit::ALL {
            assert_eq!(ResourceUnit::read(u.label_th()), Some(*u));
        }
    }

    #[test]
    fn statuses_read_in_thai_and_english() {
        assert_eq!(
            ProblemStatus::read("being addressed"),
            Some(ProblemStatus::BeingAddressed)
        );
        assert_eq!(
            ProblemStatus::read("กำลังดำเนินการ"),
            Some(ProblemStatus::BeingAddressed)
        );
        assert_eq!(ProblemStatus::read(" Closed "), Some(ProblemStatus::Closed));
        assert_eq!(ProblemStatus::read("ค้าง"), None);
    }

    #[test]
    fn severities_read_in_thai() {
        assert_eq!(ProblemSeverity::read("สูง"), Some(ProblemSeverity::High));
        assert_eq!(
            ProblemSeverity::read("Medium"),
            Some(ProblemSeverity::Medium)
        );
        assert_eq!(ProblemSeverity::read("urgent"), None);
    }

    #[test]
    fn topic_codes_are_checked() {
        let topic = |code: &str| Topic {
            code: code.into(),
            name_th: "เด็กนอกระบบ".into(),
            name_en: "Out-of-school children".into(),
        };
        assert!(topic("out_of_school").check().is_ok());
        assert!(topic("Out of school").check().is_err());
        assert!(topic("").check().is_err());
    }
}
