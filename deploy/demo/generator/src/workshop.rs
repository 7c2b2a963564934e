//! The workshop workbook: what a provincial working group fills in during a World Café
//! session, one sheet of problems and one of resources, Thai labels first and English
//! second, with dropdowns (data validation) for the province, the topic, the category,
//! the severity and the unit. The empty template ships in `deploy/workshop/`; the filled
//! demo lists about 30 problems and 40 resources of Songkhla and Phitsanulok, with a few
//! deliberately bad rows.
//!
//! The dropdown lists come from a hidden sheet, `รายการ (Lists)`. The topics are the
//! demo config's (`deploy/demo/hub.toml`), read from there so that the list lives in
//! one place.

use abe_schema::{ProblemSeverity, ProblemStatus, ResourceCategory, ResourceUnit, Topic};
use anyhow::{Context, Result};
use rust_xlsxwriter::{
    DataValidation, DataValidationErrorStyle, DocProperties, ExcelDateTime, Format, FormatBorder,
    Workbook, Worksheet,
};
use std::path::Path;

/// Name of the problems sheet.
pub const PROBLEMS_SHEET: &str = "ปัญหา (Problems)";
/// Name of the resources sheet.
pub const RESOURCES_SHEET: &str = "ทรัพยากร (Resources)";
/// Name of the hidden sheet of dropdown lists.
pub const LISTS_SHEET: &str = "รายการ (Lists)";

/// Column headers of the problems sheet.
pub const PROBLEM_HEADERS: [&str; 11] = [
    "ลำดับ (No.)",
    "จังหวัด (Province)",
    "อำเภอ (District)",
    "ประเด็น (Topic)",
    "สภาพปัญหา (Problem)",
    "Problem (English)",
    "ระดับความรุนแรง (Severity)",
    "จำนวนเด็ก (Children)",
    "กลุ่ม (Group)",
    "วันที่ (Date)",
    "สถานะ (Status)",
];

/// Column headers of the resources sheet.
pub const RESOURCE_HEADERS: [&str; 14] = [
    "ลำดับ (No.)",
    "จังหวัด (Province)",
    "อำเภอ (District)",
    "ด้าน (Category)",
    "ประเภทย่อย (Subcategory)",
    "ประเด็น (Topics)",
    "ชื่อทรัพยากร (Resource)",
    "Resource (English)",
    "รายละเอียด (Description)",
    "หน่วยงานเจ้าของ (Agency)",
    "ผู้ประสานงาน (Contact)",
    "จำนวน (Amount)",
    "หน่วย (Unit)",
    "ใช้ได้ถึง (Valid until)",
];

/// The demo's provinces.
pub const PROVINCE_NAMES: [&str; 2] = ["สงขลา", "พิษณุโลก"];

/// The four categories as the workshops label them, in EEF's order.
fn categories() -> Vec<&'static str> {
    ResourceCategory::ALL.iter().map(|c| c.label_th()).collect()
}

/// Every subcategory label, in category order.
fn subcategories() -> Vec<&'static str> {
    ResourceCategory::ALL
        .iter()
        .flat_map(|c| c.subcategories().iter().map(|s| s.label_th))
        .collect()
}

/// Severities as a group writes them, most serious first.
fn severities() -> Vec<&'static str> {
    ProblemSeverity::ALL
        .iter()
        .rev()
        .map(|s| s.label_th())
        .collect()
}

/// Statuses as a group writes them.
fn statuses() -> Vec<&'static str> {
    ProblemStatus::ALL.iter().map(|s| s.label_th()).collect()
}

/// Units as a group writes them.
fn units() -> Vec<&'static str> {
    ResourceUnit::ALL.iter().map(|u| u.label_th()).collect()
}

/// Reads the `[[topics]]` of a hub config.
pub fn config_topics(config: &Path) -> Result<Vec<Topic>> {
    #[derive(serde::Deserialize)]
    struct Config {
        #[serde(default)]
        topics: Vec<Topic>,
    }
    let text =
        std::fs::read_to_string(config).with_context(|| format!("reading {}", config.display()))?;
    let parsed: Config =
        toml::from_str(&text).with_context(|| format!("parsing {}", config.display()))?;
    Ok(parsed.topics)
}

fn topic_name<'a>(topics: &'a [Topic], code: &'a str) -> &'a str {
    topics
        .iter()
        .find(|t| t.code == code)
        .map(|t| t.name_th.as_str())
        .unwrap_or(code)
}

/// A problem of the filled demo: province, district (blank: the whole province), topic
/// code, Thai and English statements, severity, children, group, date (BE).
type ProblemLine = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<u32>,
    &'static str,
    &'static str,
);

const GROUP_A: &str = "กลุ่ม 1 โต๊ะการศึกษา";
const GROUP_B: &str = "กลุ่ม 2 โต๊ะสาธารณสุข";
const GROUP_C: &str = "กลุ่ม 3 โต๊ะท้องถิ่น";

/// The demo's problems (fictional, for demonstration only).
pub const PROBLEMS: [ProblemLine; 30] = [
    (
        "สงขลา",
        "",
        "out_of_school",
        "เด็กนอกระบบการศึกษายังไม่มีระบบติดตามร่วมกันระหว่างหน่วยงาน",
        "No shared tracking of out-of-school children across agencies",
        "สูง",
        Some(2400),
        GROUP_A,
        "20/11/2569",
    ),
    (
        "สงขลา",
        "จะนะ",
        "out_of_school",
        "เด็กวัยเรียนในชุมชนชายฝั่งไม่ได้เข้าเรียนต่อหลังจบประถม",
        "Children in coastal villages do not continue after primary school",
        "สูง",
        Some(310),
        GROUP_A,
        "20/11/2569",
    ),
    (
        "สงขลา",
        "เทพา",
        "out_of_school",
        "เด็กช่วยครอบครัวทำสวนยางจนขาดเรียนต่อเนื่อง",
        "Children miss school to tap rubber with their families",
        "กลาง",
        Some(180),
        GROUP_C,
        "20/11/2569",
    ),
    (
        "สงขลา",
        "สะบ้าย้อย",
        "dropout",
        "นักเรียนมัธยมต้นออกกลางคันสูงกว่าค่าเฉลี่ยจังหวัด",
        "Lower-secondary dropout above the provincial average",
        "สูง",
        Some(95),
        GROUP_A,
        "20/11/2569",
    ),
    (
        "สงขลา",
        "หาดใหญ่",
        "dropout",
        "นักเรียนย้ายตามผู้ปกครองที่ทำงานรับจ้างแล้วหลุดจากระบบ",
        "Pupils who move with labouring parents drop out",
        "กลาง",
        Some(140),
        GROUP_A,
        "20/11/2569",
    ),
    (
        "สงขลา",
        "นาทวี",
        "poverty",
        "ครัวเรือนยากจนพิเศษไม่มีค่าเดินทางไปโรงเรียน",
        "Extremely poor households cannot pay for the trip to school",
        "สูง",
        Some(420),
        GROUP_C,
        "20/11/2569",
    ),
    (
        "สงขลา",
        "สะเดา",
        "migrant_stateless",
        "เด็กข้ามชาติตามแนวชายแดนไม่มีเอกสารเข้าเรียน",
        "Migrant children along the border lack papers to enrol",
        "สูง",
        Some(260),
        GROUP_B,
        "20/11/2569",
    ),
    (
        "สงขลา",
        "สทิงพระ",
        "early_childhood",
        "ศูนย์พัฒนาเด็กเล็กขาดครูผู้ดูแลที่ผ่านการอบรม",
        "Child development centres lack trained carers",
        "กลาง",
        Some(120),
        GROUP_C,
        "20/11/2569",
    ),
    (
        "สงขลา",
        "ระโนด",
        "nutrition_health",
        "เด็กปฐมวัยมีภาวะเตี้ยและน้ำหนักต่ำกว่าเกณฑ์",
        "Stunting and underweight among young children",
        "กลาง",
        Some(75),
        GROUP_B,
        "20/11/2569",
    ),
    (
        "สงขลา",
        "กระแสสินธุ์",
        "digital_access",
        "นักเรียนไม่มีอุปกรณ์และอินเทอร์เน็ตสำหรับเรียนออนไลน์",
        "Pupils have no device or internet for online learning",
        "ต่ำ",
        Some(150),
        GROUP_A,
        "20/11/2569",
    ),
    (
        "สงขลา",
        "รัตภูมิ",
        "teenage_pregnancy",
        "นักเรียนหญิงตั้งครรภ์แล้วไม่กลับมาเรียน",
        "Pregnant schoolgirls do not return to school",
        "กลาง",
        Some(22),
        GROUP_B,
        "20/11/2569",
    ),
    (
        "สงขลา",
        "เมืองสงขลา",
        "learning_outcomes",
        "ผลการอ่านออกเขียนได้ของนักเรียน ป.1 ต่ำ",
        "Low early-grade reading among grade 1 pupils",
        "กลาง",
        Some(300),
        GROUP_A,
        "20/11/2569",
    ),
    (
        "สงขลา",
        "นาหม่อม",
        "disability",
        "เด็กพิการไม่ได้รับการคัดกรองและส่งต่อ",
        "Children with disabilities are not screened or referred",
        "กลาง",
        Some(35),
        GROUP_B,
        "20/11/2569",
    ),
    (
        "สงขลา",
        "ควนเนียง",
        "vocational",
        "เยาวชนนอกระบบไม่มีเส้นทางฝึกอาชีพที่ได้วุฒิ",
        "Out-of-school youth have no certified vocational path",
        "ต่ำ",
        Some(60),
        GROUP_C,
        "20/11/2569",
    ),
    (
        "สงขลา",
        "บางกล่ำ",
        "poverty",
        "ผู้ปกครองตกงานหลังน้ำท่วม รายได้ครัวเรือนลดลง",
        "Parents lost work after the floods",
        "กลาง",
        Some(90),
        GROUP_C,
        "20/11/2569",
    ),
    (
        "สงขลา",
        "สิงหนคร",
        "dropout",
        "นักเรียนประมงพื้นบ้านขาดเรียนช่วงฤดูจับปลา",
        "Fishing families' children miss school in the fishing season",
        "ต่ำ",
        Some(40),
        GROUP_C,
        "20/11/2569",
    ),
    (
        "สงขลา",
        "คลองหอยโข่ง",
        "out_of_school",
        "เด็กที่ย้ายเข้ามาใหม่ไม่มีข้อมูลในทะเบียนโรงเรียน",
        "Newly arrived children are in no school register",
        "กลาง",
        Some(55),
        GROUP_A,
        "20/11/2569",
    ),
    (
        "พิษณุโลก",
        "",
        "out_of_school",
        "ข้อมูลเด็กนอกระบบของแต่ละหน่วยงานไม่ตรงกัน",
        "Agencies' counts of out-of-school children disagree",
        "สูง",
        Some(1800),
        GROUP_A,
        "27/11/2569",
    ),
    (
        "พิษณุโลก",
        "นครไทย",
        "out_of_school",
        "เด็กบนพื้นที่สูงเดินทางไกลไปโรงเรียน",
        "Highland children travel far to school",
        "สูง",
        Some(230),
        GROUP_C,
        "27/11/2569",
    ),
    (
        "พิษณุโลก",
        "ชาติตระการ",
        "poverty",
        "ครัวเรือนเกษตรกรยากจนเรื้อรัง บุตรหลานต้องช่วยทำงาน",
        "Chronically poor farming households need their children's labour",
        "สูง",
        Some(380),
        GROUP_C,
        "27/11/2569",
    ),
    (
        "พิษณุโลก",
        "บางระกำ",
        "dropout",
        "นักเรียนออกกลางคันช่วงน้ำท่วมซ้ำซาก",
        "Dropout during recurrent floods",
        "สูง",
        Some(120),
        GROUP_A,
        "27/11/2569",
    ),
    (
        "พิษณุโลก",
        "บางกระทุ่ม",
        "early_childhood",
        "เด็กเล็กไม่ได้เข้าศูนย์พัฒนาเด็กเล็กเพราะอยู่ไกล",
        "Young children live too far from a centre",
        "กลาง",
        Some(85),
        GROUP_C,
        "27/11/2569",
    ),
    (
        "พิษณุโลก",
        "พรหมพิราม",
        "learning_outcomes",
        "คะแนนคณิตศาสตร์ ม.3 ต่ำกว่าระดับประเทศ",
        "Grade 9 mathematics below the national level",
        "กลาง",
        Some(410),
        GROUP_A,
        "27/11/2569",
    ),
    (
        "พิษณุโลก",
        "วัดโบสถ์",
        "digital_access",
        "โรงเรียนขนาดเล็กไม่มีอินเทอร์เน็ตความเร็วสูง",
        "Small schools have no broadband",
        "ต่ำ",
        None,
        GROUP_A,
        "27/11/2569",
    ),
    (
        "พิษณุโลก",
        "วังทอง",
        "teenage_pregnancy",
        "การตั้งครรภ์ในวัยรุ่นเพิ่มขึ้นต่อเนื่อง",
        "Teenage pregnancies keep rising",
        "กลาง",
        Some(30),
        GROUP_B,
        "27/11/2569",
    ),
    (
        "พิษณุโลก",
        "เนินมะปราง",
        "nutrition_health",
        "เด็กนักเรียนขาดอาหารเช้า",
        "Pupils go without breakfast",
        "กลาง",
        Some(160),
        GROUP_B,
        "27/11/2569",
    ),
    (
        "พิษณุโลก",
        "เมืองพิษณุโลก",
        "vocational",
        "นักเรียน ม.3 ไม่มีข้อมูลแนะแนวสายอาชีพ",
        "Grade 9 pupils get no vocational guidance",
        "ต่ำ",
        Some(500),
        GROUP_A,
        "27/11/2569",
    ),
    (
        "พิษณุโลก",
        "เมืองพิษณุโลก",
        "disability",
        "ขาดครูการศึกษาพิเศษในโรงเรียนเรียนร่วม",
        "Inclusive schools lack special-education teachers",
        "กลาง",
        Some(70),
        GROUP_B,
        "27/11/2569",
    ),
    (
        "พิษณุโลก",
        "",
        "migrant_stateless",
        "เด็กไร้สัญชาติในโรงงานไม่ได้รับการศึกษา",
        "Stateless children in factories get no schooling",
        "กลาง",
        Some(45),
        GROUP_B,
        "27/11/2569",
    ),
    (
        "พิษณุโลก",
        "นครไทย",
        "dropout",
        "นักเรียนชาติพันธุ์ออกกลางคันเมื่อต้องย้ายไปเรียนในเมือง",
        "Ethnic-minority pupils drop out when they must move to town",
        "สูง",
        Some(65),
        GROUP_A,
        "27/11/2569",
    ),
];

/// A resource of the filled demo: province, district (blank: the whole province),
/// category number (1-4), subcategory label, topic codes, Thai and English titles,
/// description, agency code, contact, amount, unit, valid until (BE).
type ResourceLine = (
    &'static str,
    &'static str,
    usize,
    &'static str,
    &'static [&'static str],
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    Option<f64>,
    &'static str,
    &'static str,
);

/// The demo's resources (fictional, for demonstration only).
pub const RESOURCES: [ResourceLine; 40] = [
    (
        "สงขลา",
        "",
        1,
        "ระบบสารสนเทศ",
        &["out_of_school", "dropout"],
        "ระบบติดตามเด็กนอกระบบของจังหวัด",
        "Provincial out-of-school tracking system",
        "ฐานข้อมูลเด็กรายบุคคลที่เชื่อมทะเบียนราษฎรกับทะเบียนนักเรียน",
        "PEO-SKA",
        "งานข้อมูล สำนักงานศึกษาธิการจังหวัด",
        None,
        "",
        "",
    ),
    (
        "สงขลา",
        "",
        1,
        "ชุดข้อมูล",
        &["poverty"],
        "ข้อมูลนักเรียนยากจนพิเศษรายโรงเรียน",
        "Extremely poor students by school",
        "ผลคัดกรองนักเรียนยากจนพิเศษทุกภาคเรียน",
        "NGO-DEMO",
        "",
        None,
        "",
        "",
    ),
    (
        "สงขลา",
        "",
        2,
        "งบประมาณ",
        &["poverty", "dropout"],
        "ทุนเสมอภาคสำหรับนักเรียนยากจนพิเศษ",
        "Equity scholarships for extremely poor students",
        "ทุนรายหัวช่วยค่าเดินทางและอุปกรณ์การเรียน",
        "NGO-DEMO",
        "มูลนิธิฯ โทร 074-000-000",
        Some(2_400_000.0),
        "บาท",
        "30/09/2570",
    ),
    (
        "สงขลา",
        "",
        2,
        "บุคลากร",
        &["out_of_school"],
        "ครูผู้ดูแลเด็กนอกระบบ",
        "Teachers for out-of-school children",
        "ครูอาสาที่ติดตามเด็กถึงบ้าน",
        "PEO-SKA",
        "",
        Some(24.0),
        "คน",
        "",
    ),
    (
        "สงขลา",
        "จะนะ",
        2,
        "องค์กร",
        &["out_of_school"],
        "ศูนย์การเรียนชุมชนชายฝั่งจะนะ",
        "Chana coastal community learning centre",
        "ศูนย์การเรียนรู้ที่รับเด็กนอกระบบเข้าเรียนแบบยืดหยุ่น",
        "PAO-SKA",
        "",
        Some(60.0),
        "ที่",
        "",
    ),
    (
        "สงขลา",
        "สะบ้าย้อย",
        3,
        "ชุดความรู้",
        &["dropout"],
        "คู่มือระบบดูแลช่วยเหลือนักเรียน",
        "Student support system handbook",
        "แนวทางคัดกรองนักเรียนเสี่ยงออกกลางคันและการเยี่ยมบ้าน",
        "PEO-SKA",
        "",
        None,
        "",
        "",
    ),
    (
        "สงขลา",
        "หาดใหญ่",
        2,
        "หน่วยงาน",
        &["dropout", "migrant_stateless"],
        "ศูนย์ประสานการย้ายโรงเรียน หาดใหญ่",
        "Hat Yai school transfer centre",
        "ติดตามนักเรียนที่ย้ายตามผู้ปกครองให้ได้เรียนต่อ",
        "PAO-SKA",
        "",
        None,
        "",
        "",
    ),
    (
        "สงขลา",
        "นาทวี",
        2,
        "งบประมาณ",
        &["poverty"],
        "กองทุนค่าเดินทางนักเรียน อบต.",
        "Subdistrict fund for pupils' travel",
        "ค่ารถรับส่งนักเรียนยากจน",
        "PAO-SKA",
        "",
        Some(350_000.0),
        "บาท",
        "30/09/2570",
    ),
    (
        "สงขลา",
        "สะเดา",
        4,
        "ข้อตกลงความร่วมมือ",
        &["migrant_stateless"],
        "บันทึกข้อตกลงรับเด็กข้ามชาติเข้าเรียน",
        "Agreement to enrol migrant children",
        "ข้อตกลงระหว่างโรงเรียน อำเภอ และเครือข่ายแรงงานข้ามชาติ",
        "PEO-SKA",
        "",
        None,
        "",
        "",
    ),
    (
        "สงขลา",
        "สะเดา",
        2,
        "บุคลากร",
        &["migrant_stateless"],
        "ครูพี่เลี้ยงภาษาเมียนมา",
        "Myanmar-speaking teaching assistants",
        "ผู้ช่วยครูสองภาษาในโรงเรียนชายแดน",
        "NGO-DEMO",
        "",
        Some(8.0),
        "คน",
        "",
    ),
    (
        "สงขลา",
        "สทิงพระ",
        3,
        "หลักสูตร / การฝึกอบรม",
        &["early_childhood"],
        "หลักสูตรอบรมครูผู้ดูแลเด็ก",
        "Training course for carers",
        "อบรม 60 ชั่วโมงสำหรับครูศูนย์พัฒนาเด็กเล็ก",
        "PAO-SKA",
        "",
        Some(60.0),
        "ชั่วโมง",
        "",
    ),
    (
        "สงขลา",
        "",
        3,
        "นวัตกรรม",
        &["learning_outcomes"],
        "ชุดฝึกอ่านออกเขียนได้ ป.1",
        "Grade 1 reading kit",
        "สื่อฝึกอ่านเขียนที่ใช้ได้ทั้งในห้องเรียนและที่บ้าน",
        "PEO-SKA",
        "",
        Some(500.0),
        "ชิ้น",
        "",
    ),
    (
        "สงขลา",
        "ระโนด",
        2,
        "งบประมาณ",
        &["nutrition_health"],
        "งบอาหารเสริมเด็กปฐมวัย",
        "Supplementary food for young children",
        "นมและอาหารเสริมสำหรับเด็กที่มีภาวะทุพโภชนาการ",
        "PAO-SKA",
        "",
        Some(180_000.0),
        "บาท",
        "30/09/2570",
    ),
    (
        "สงขลา",
        "",
        4,
        "เครือข่าย",
        &["teenage_pregnancy", "nutrition_health"],
        "เครือข่ายสาธารณสุขกับโรงเรียน",
        "Health-school network",
        "โรงพยาบาลส่งเสริมสุขภาพตำบลจับคู่กับโรงเรียน",
        "NGO-DEMO",
        "",
        None,
        "",
        "",
    ),
    (
        "สงขลา",
        "เมืองสงขลา",
        1,
        "การสำรวจ / รายงาน",
        &["learning_outcomes"],
        "รายงานผลการประเมินการอ่าน",
        "Reading assessment report",
        "ผลการประเมินการอ่านรายโรงเรียน",
        "PEO-SKA",
        "",
        None,
        "",
        "",
    ),
    (
        "สงขลา",
        "หาดใหญ่",
        2,
        "สถานที่ / อุปกรณ์",
        &["digital_access"],
        "ห้องคอมพิวเตอร์ชุมชน หาดใหญ่",
        "Hat Yai community computer room",
        "เปิดให้นักเรียนใช้หลังเลิกเรียน",
        "PAO-SKA",
        "",
        Some(40.0),
        "ชิ้น",
        "",
    ),
    (
        "สงขลา",
        "นาหม่อม",
        2,
        "บุคลากร",
        &["disability"],
        "นักกายภาพบำบัดเยี่ยมบ้าน",
        "Home-visiting physiotherapists",
        "ทีมสหวิชาชีพดูแลเด็กพิการ",
        "NGO-DEMO",
        "",
        Some(3.0),
        "คน",
        "",
    ),
    (
        "สงขลา",
        "",
        4,
        "นโยบาย / แผน",
        &["out_of_school", "dropout", "poverty"],
        "แผนพัฒนาการศึกษาจังหวัดสงขลา",
        "Songkhla provincial education plan",
        "ยุทธศาสตร์ลดความเหลื่อมล้ำทางการศึกษา",
        "PEO-SKA",
        "",
        None,
        "",
        "",
    ),
    (
        "สงขลา",
        "บางกล่ำ",
        2,
        "งบประมาณ",
        &["poverty"],
        "เงินช่วยเหลือผู้ประสบภัยน้ำท่วม",
        "Flood relief for families",
        "เงินช่วยเหลือครัวเรือนที่มีบุตรวัยเรียน",
        "PAO-SKA",
        "",
        Some(120_000.0),
        "บาท",
        "31/03/2570",
    ),
    (
        "สงขลา",
        "ควนเนียง",
        3,
        "หลักสูตร / การฝึกอบรม",
        &["vocational"],
        "หลักสูตรช่างซ่อมเครื่องยนต์เล็ก",
        "Small-engine repair course",
        "หลักสูตรระยะสั้นที่เทียบโอนหน่วยกิตได้",
        "PEO-SKA",
        "",
        Some(30.0),
        "ที่",
        "",
    ),
    (
        "สงขลา",
        "เทพา",
        4,
        "ผู้นำชุมชน",
        &["out_of_school"],
        "อาสาสมัครผู้นำชุมชนติดตามเด็ก",
        "Community leaders who follow up children",
        "ผู้ใหญ่บ้านและอาสาสมัครที่ช่วยพาเด็กกลับมาเรียน",
        "PAO-SKA",
        "",
        Some(16.0),
        "คน",
        "",
    ),
    (
        "สงขลา",
        "สิงหนคร",
        2,
        "องค์กร",
        &["dropout"],
        "กลุ่มประมงพื้นบ้านสิงหนคร",
        "Singhanakhon small-scale fishers' group",
        "จัดตารางออกเรือให้เด็กไม่ต้องขาดเรียน",
        "NGO-DEMO",
        "",
        None,
        "",
        "",
    ),
    (
        "พิษณุโลก",
        "",
        1,
        "ระบบสารสนเทศ",
        &["out_of_school"],
        "ระบบข้อมูลเด็กรายบุคคลจังหวัดพิษณุโลก",
        "Phitsanulok child-level data system",
        "เชื่อมข้อมูลทะเบียนราษฎร โรงเรียน และท้องถิ่น",
        "PEO-PLK",
        "",
        None,
        "",
        "",
    ),
    (
        "พิษณุโลก",
        "นครไทย",
        2,
        "งบประมาณ",
        &["out_of_school", "poverty"],
        "ทุนที่พักสำหรับนักเรียนพื้นที่สูง",
        "Boarding grants for highland pupils",
        "ค่าที่พักและอาหารสำหรับเด็กที่บ้านไกล",
        "NGO-DEMO",
        "",
        Some(800_000.0),
        "บาท",
        "30/09/2570",
    ),
    (
        "พิษณุโลก",
        "นครไทย",
        2,
        "สถานที่ / อุปกรณ์",
        &["out_of_school"],
        "หอพักนักเรียนโรงเรียนนครไทย",
        "Nakhon Thai school dormitory",
        "หอพักสำหรับนักเรียนพื้นที่สูง",
        "PEO-PLK",
        "",
        Some(80.0),
        "ที่",
        "",
    ),
    (
        "พิษณุโลก",
        "ชาติตระการ",
        2,
        "งบประมาณ",
        &["poverty"],
        "กองทุนสวัสดิการชุมชนชาติตระการ",
        "Chat Trakan community welfare fund",
        "ช่วยค่าใช้จ่ายการเรียนของบุตรเกษตรกร",
        "PAO-PLK",
        "",
        Some(250_000.0),
        "บาท",
        "",
    ),
    (
        "พิษณุโลก",
        "บางระกำ",
        3,
        "ชุดความรู้",
        &["dropout"],
        "แนวทางเรียนต่อเนื่องช่วงน้ำท่วม",
        "Learning through floods guide",
        "การจัดการเรียนการสอนทางไกลและใบงานเมื่อโรงเรียนปิด",
        "PEO-PLK",
        "",
        None,
        "",
        "",
    ),
    (
        "พิษณุโลก",
        "บางระกำ",
        2,
        "บุคลากร",
        &["dropout"],
        "ครูเยี่ยมบ้านบางระกำ",
        "Bang Rakam home-visit teachers",
        "ครูที่ติดตามนักเรียนเสี่ยงออกกลางคัน",
        "PEO-PLK",
        "",
        Some(12.0),
        "คน",
        "",
    ),
    (
        "พิษณุโลก",
        "บางกระทุ่ม",
        2,
        "องค์กร",
        &["early_childhood"],
        "ศูนย์พัฒนาเด็กเล็กเคลื่อนที่",
        "Mobile child development centre",
        "รถศูนย์เด็กเล็กที่เวียนไปตามหมู่บ้าน",
        "PAO-PLK",
        "",
        Some(1.0),
        "ชิ้น",
        "",
    ),
    (
        "พิษณุโลก",
        "",
        3,
        "งานวิจัย",
        &["learning_outcomes"],
        "งานวิจัยการสอนคณิตศาสตร์แบบ Active Learning",
        "Research on active-learning mathematics",
        "ผลการทดลองในโรงเรียน 20 แห่ง",
        "PEO-PLK",
        "",
        None,
        "",
        "",
    ),
    (
        "พิษณุโลก",
        "พรหมพิราม",
        2,
        "บุคลากร",
        &["learning_outcomes"],
        "ครูพี่เลี้ยงคณิตศาสตร์",
        "Mathematics mentor teachers",
        "ครูแกนนำที่ช่วยโรงเรียนขนาดเล็ก",
        "PEO-PLK",
        "",
        Some(6.0),
        "คน",
        "",
    ),
    (
        "พิษณุโลก",
        "วังทอง",
        4,
        "เครือข่าย",
        &["teenage_pregnancy"],
        "เครือข่ายเยาวชนวังทอง",
        "Wang Thong youth network",
        "เพื่อนช่วยเพื่อนเรื่องเพศศึกษาและการกลับมาเรียน",
        "NGO-DEMO",
        "",
        Some(25.0),
        "คน",
        "",
    ),
    (
        "พิษณุโลก",
        "เนินมะปราง",
        2,
        "งบประมาณ",
        &["nutrition_health"],
        "โครงการอาหารเช้าในโรงเรียน",
        "School breakfast programme",
        "อาหารเช้าสำหรับนักเรียนทุกคนในโรงเรียนขนาดเล็ก",
        "PAO-PLK",
        "",
        Some(300_000.0),
        "บาท",
        "30/09/2570",
    ),
    (
        "พิษณุโลก",
        "เมืองพิษณุโลก",
        3,
        "หลักสูตร / การฝึกอบรม",
        &["vocational"],
        "หลักสูตรแนะแนวอาชีพร่วมกับวิทยาลัยเทคนิค",
        "Career guidance with the technical college",
        "ค่ายแนะแนวสายอาชีพสำหรับนักเรียน ม.3",
        "PEO-PLK",
        "",
        Some(200.0),
        "ที่",
        "",
    ),
    (
        "พิษณุโลก",
        "",
        4,
        "นโยบาย / แผน",
        &["out_of_school", "dropout"],
        "ข้อตกลงจังหวัดพิษณุโลกเพื่อเด็กทุกคนได้เรียน",
        "Phitsanulok compact for every child in school",
        "ข้อตกลงของส่วนราชการ ท้องถิ่น และภาคประชาสังคม",
        "PEO-PLK",
        "",
        None,
        "",
        "",
    ),
    (
        "พิษณุโลก",
        "",
        1,
        "การสำรวจ / รายงาน",
        &["poverty", "nutrition_health"],
        "ข้อมูล จปฐ. ด้านการศึกษา",
        "Basic minimum needs data, education",
        "ข้อมูลความจำเป็นพื้นฐานระดับครัวเรือน",
        "PEO-PLK",
        "",
        None,
        "",
        "",
    ),
    (
        "พิษณุโลก",
        "วัดโบสถ์",
        2,
        "สถานที่ / อุปกรณ์",
        &["learning_outcomes"],
        "ห้องสมุดเคลื่อนที่วัดโบสถ์",
        "Wat Bot mobile library",
        "รถห้องสมุดเวียนโรงเรียนขนาดเล็ก",
        "PAO-PLK",
        "",
        Some(1.0),
        "ชิ้น",
        "",
    ),
    (
        "พิษณุโลก",
        "",
        4,
        "ผู้นำชุมชน",
        &["dropout"],
        "สภาเด็กและเยาวชนจังหวัด",
        "Provincial children and youth council",
        "แกนนำเยาวชนที่ติดตามเพื่อนกลับมาเรียน",
        "PAO-PLK",
        "",
        Some(40.0),
        "คน",
        "",
    ),
    (
        "พิษณุโลก",
        "ชาติตระการ",
        3,
        "นวัตกรรม",
        &["early_childhood"],
        "ชุดของเล่นพัฒนาการจากวัสดุท้องถิ่น",
        "Development toys from local materials",
        "นวัตกรรมของศูนย์เด็กเล็กที่ผู้ปกครองทำเองได้",
        "PAO-PLK",
        "",
        Some(120.0),
        "ชิ้น",
        "",
    ),
    (
        "พิษณุโลก",
        "เมืองพิษณุโลก",
        2,
        "หน่วยงาน",
        &["disability"],
        "ศูนย์การศึกษาพิเศษประจำจังหวัด",
        "Provincial special education centre",
        "คัดกรอง ส่งต่อ และอบรมครูเรียนร่วม",
        "PEO-PLK",
        "",
        None,
        "",
        "",
    ),
];

/// Writes the workbook: empty (the template) or filled with the demo's rows and its
/// deliberately bad ones. Returns the bytes and the number of good rows.
pub fn workbook(topics: &[Topic], filled: bool) -> Result<(Vec<u8>, usize)> {
    let mut workbook = Workbook::new();
    let created = ExcelDateTime::from_ymd(2026, 11, 20)?.and_hms(9, 0, 0)?;
    let props = DocProperties::new()
        .set_title(if filled {
            "ผลการระดมความคิดเห็น ปัญหาและทรัพยากร (ข้อมูลสาธิต)"
        } else {
            "แบบบันทึกปัญหาและทรัพยากรของจังหวัด (Workshop workbook)"
        })
        .set_author("abe-hub demo generator")
        .set_creation_datetime(&created);
    workbook.set_properties(&props);
    let header = Format::new()
        .set_bold()
        .set_text_wrap()
        .set_background_color("#DDEBF7")
        .set_border(FormatBorder::Thin);

    guide_sheet(workbook.add_worksheet())?;

    let problems = workbook.add_worksheet();
    problems.set_name(PROBLEMS_SHEET)?;
    write_headers(problems, &PROBLEM_HEADERS, &header)?;
    let mut good = 0;
    if filled {
        let mut r = 1;
        for (i, p) in PROBLEMS.iter().enumerate() {
            let cells = [
                Cell::Number(i as f64 + 1.0),
                Cell::Text(p.0),
                Cell::Text(p.1),
                Cell::Text(topic_name(topics, p.2)),
                Cell::Text(p.3),
                Cell::Text(p.4),
                Cell::Text(p.5),
                p.6.map(|c| Cell::Number(c.into()))
                    .unwrap_or(Cell::Text("")),
                Cell::Text(p.7),
                Cell::Text(p.8),
                // Two problems a partner has taken up since the workshop.
                Cell::Text(if matches!(i, 6 | 19) {
                    ProblemStatus::BeingAddressed.label_th()
                } else {
                    ProblemStatus::Open.label_th()
                }),
            ];
            write_row(problems, r, &cells)?;
            r += 1;
        }
        good += PROBLEMS.len();
        // Deliberately bad (see deploy/demo/README.md): a district name that does not
        // resolve, and a topic that is not in the list.
        let bad: [[Cell<'_>; 11]; 2] = [
            [
                Cell::Number(31.0),
                Cell::Text("สงขลา"),
                Cell::Text("อำเภอตัวอย่าง"),
                Cell::Text(topic_name(topics, "dropout")),
                Cell::Text("ปัญหาในอำเภอที่ไม่มีจริง"),
                Cell::Text("A problem in a district that does not exist"),
                Cell::Text("กลาง"),
                Cell::Number(10.0),
                Cell::Text(GROUP_A),
                Cell::Text("20/11/2569"),
                Cell::Text(""),
            ],
            [
                Cell::Number(32.0),
                Cell::Text("พิษณุโลก"),
                Cell::Text("วังทอง"),
                Cell::Text("ยาเสพติด"),
                Cell::Text("เยาวชนเสี่ยงยาเสพติด"),
                Cell::Text("Youth at risk of drugs"),
                Cell::Text("สูง"),
                Cell::Number(15.0),
                Cell::Text(GROUP_B),
                Cell::Text("27/11/2569"),
                Cell::Text(""),
            ],
        ];
        for cells in &bad {
            write_row(problems, r, cells)?;
            r += 1;
        }
    }

    let resources = workbook.add_worksheet();
    resources.set_name(RESOURCES_SHEET)?;
    write_headers(resources, &RESOURCE_HEADERS, &header)?;
    if filled {
        let mut r = 1;
        for (i, x) in RESOURCES.iter().enumerate() {
            let topic_names: Vec<&str> = x.4.iter().map(|t| topic_name(topics, t)).collect();
            let topic_cell = topic_names.join("; ");
            let cells = [
                Cell::Number(i as f64 + 1.0),
                Cell::Text(x.0),
                Cell::Text(x.1),
                Cell::Text(categories()[x.2 - 1]),
                Cell::Text(x.3),
                Cell::Text(&topic_cell),
                Cell::Text(x.5),
                Cell::Text(x.6),
                Cell::Text(x.7),
                Cell::Text(x.8),
                Cell::Text(x.9),
                x.10.map(Cell::Number).unwrap_or(Cell::Text("")),
                Cell::Text(x.11),
                Cell::Text(x.12),
            ];
            write_row(resources, r, &cells)?;
            r += 1;
        }
        good += RESOURCES.len();
        // Deliberately bad: an amount without its unit.
        let bad = [
            Cell::Number(41.0),
            Cell::Text("สงขลา"),
            Cell::Text("เทพา"),
            Cell::Text(categories()[1]),
            Cell::Text("งบประมาณ"),
            Cell::Text(topic_name(topics, "poverty")),
            Cell::Text("เงินอุดหนุนที่ไม่ระบุหน่วย"),
            Cell::Text("A grant without a unit"),
            Cell::Text(""),
            Cell::Text("PAO-SKA"),
            Cell::Text(""),
            Cell::Number(50_000.0),
            Cell::Text(""),
            Cell::Text(""),
        ];
        write_row(resources, r, &bad)?;
    }

    let lists = workbook.add_worksheet();
    lists.set_name(LISTS_SHEET)?;
    let topic_names: Vec<&str> = topics.iter().map(|t| t.name_th.as_str()).collect();
    let (categories, severities, units, subcategories, statuses) = (
        categories(),
        severities(),
        units(),
        subcategories(),
        statuses(),
    );
    let columns: [(&str, &[&str]); 7] = [
        ("ประเด็น (Topics)", &topic_names),
        ("ด้าน (Categories)", &categories),
        ("ระดับความรุนแรง (Severities)", &severities),
        ("หน่วย (Units)", &units),
        ("จังหวัด (Provinces)", &PROVINCE_NAMES),
        ("ประเภทย่อย (Subcategories)", &subcategories),
        ("สถานะ (Statuses)", &statuses),
    ];
    for (c, (title, items)) in columns.iter().enumerate() {
        lists.write_string_with_format(0, c as u16, *title, &header)?;
        for (r, item) in items.iter().enumerate() {
            lists.write_string(r as u32 + 1, c as u16, *item)?;
        }
        lists.set_column_width(c as u16, 36.0)?;
    }
    lists.set_hidden(true);

    let range =
        |column: char, len: usize| format!("='{LISTS_SHEET}'!${column}$2:${column}${}", len + 1);
    let last = 1000;
    let problems = workbook.worksheet_from_name(PROBLEMS_SHEET)?;
    validate(problems, 1, last, &range('E', PROVINCE_NAMES.len()), true)?;
    validate(problems, 3, last, &range('A', topics.len()), true)?;
    validate(problems, 6, last, &range('C', severities.len()), true)?;
    validate(problems, 10, last, &range('G', statuses.len()), true)?;
    let resources = workbook.worksheet_from_name(RESOURCES_SHEET)?;
    validate(resources, 1, last, &range('E', PROVINCE_NAMES.len()), true)?;
    validate(resources, 3, last, &range('B', categories.len()), true)?;
    validate(resources, 4, last, &range('F', subcategories.len()), false)?;
    // Several topics go in one cell, separated by `;`: a warning, not a refusal.
    validate(resources, 5, last, &range('A', topics.len()), false)?;
    validate(resources, 12, last, &range('D', units.len()), true)?;

    let bytes = workbook.save_to_buffer()?;
    Ok((bytes, good))
}

fn guide_sheet(sheet: &mut Worksheet) -> Result<()> {
    sheet.set_name("คำแนะนำ (Guide)")?;
    let title = Format::new().set_bold().set_font_size(14);
    sheet.write_string_with_format(0, 0, "แบบบันทึกปัญหาและทรัพยากรของจังหวัด", &title)?;
    sheet.write_string(1, 0, "Provincial problems and resources workbook")?;
    let lines = [
        "1. แผ่นงาน \"ปัญหา\": หนึ่งแถวต่อหนึ่งปัญหา เลือกจังหวัด ใส่ชื่ออำเภอ (เว้นว่างหากเป็นปัญหาทั้งจังหวัด) และเลือกประเด็นจากรายการ",
        "   Problems sheet: one row per problem; pick the province, write the district (blank for the whole province), pick the topic.",
        "2. แผ่นงาน \"ทรัพยากร\": หนึ่งแถวต่อหนึ่งทรัพยากร เลือกด้านจาก 4 ด้าน ใส่ประเด็นได้หลายประเด็นคั่นด้วย ;",
        "   Resources sheet: one row per resource; pick one of the four categories; several topics go in one cell, separated by ;.",
        "   สถานะของปัญหา (เปิด กำลังดำเนินการ ปิดแล้ว) แก้ในแบบบันทึกนี้แล้วนำเข้าใหม่",
        "   A problem's status (open, being addressed, closed) is changed here and loaded again.",
        "3. จำนวนต้องมีหน่วยเสมอ วันที่ใช้ปี พ.ศ. เช่น 30/09/2570",
        "   An amount needs its unit; dates may use the Buddhist era, e.g. 30/09/2570.",
        "4. ห้ามใส่ข้อมูลส่วนบุคคลของเด็ก (ชื่อ เลขประจำตัวประชาชน) ในแบบบันทึกนี้",
        "   Never write a child's personal data (name, citizen ID) in this workbook.",
    ];
    for (i, line) in lines.iter().enumerate() {
        sheet.write_string(3 + i as u32, 0, *line)?;
    }
    sheet.set_column_width(0, 120.0)?;
    Ok(())
}

fn write_headers(sheet: &mut Worksheet, headers: &[&str], format: &Format) -> Result<()> {
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *h, format)?;
        sheet.set_column_width(c as u16, 22.0)?;
    }
    sheet.set_freeze_panes(1, 0)?;
    Ok(())
}

/// A list dropdown on `column` for rows 2..=`last`; `strict` refuses other values,
/// otherwise Excel only warns.
fn validate(
    sheet: &mut Worksheet,
    column: u16,
    last: u32,
    source: &str,
    strict: bool,
) -> Result<()> {
    let mut validation = DataValidation::new().allow_list_formula(source.into());
    if !strict {
        validation = validation.set_error_style(DataValidationErrorStyle::Warning);
    }
    sheet.add_data_validation(1, column, last, column, &validation)?;
    Ok(())
}

enum Cell<'a> {
    Number(f64),
    Text(&'a str),
}

fn write_row(sheet: &mut Worksheet, r: u32, cells: &[Cell<'_>]) -> Result<()> {
    for (c, cell) in cells.iter().enumerate() {
        match cell {
            Cell::Number(n) => {
                sheet.write_number(r, c as u16, *n)?;
            }
            Cell::Text("") => {}
            Cell::Text(t) => {
                sheet.write_string(r, c as u16, *t)?;
            }
        }
    }
    Ok(())
}
