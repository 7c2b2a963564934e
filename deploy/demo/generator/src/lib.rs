//! Generator of the abe-hub demo data: two provinces (Songkhla 90, Phitsanulok 65) with
//! their real district codes and names, and three agencies' source files in the shapes
//! such agencies really send: a UTF-8 CSV of areas and schools, an Excel workbook with
//! title rows, a TIS-620 CSV with Thai digits and thousands separators, and a semicolon
//! CSV with a byte-order mark. Every file carries a few deliberately bad rows.
//!
//! Output is byte-identical on every run: values come from a fixed-seed PRNG and the
//! workbook's document properties carry a fixed creation time.

use std::fs;
use std::path::Path;

use anyhow::{bail, Context, Result};
use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};

/// A province of the demo.
pub struct Province {
    /// 2-digit DOPA code.
    pub code: &'static str,
    /// Thai name.
    pub name_th: &'static str,
    /// English name.
    pub name_en: &'static str,
}

/// A district of the demo, with a rough population (thousands) that scales its values.
pub struct District {
    /// 4-digit DOPA code.
    pub code: &'static str,
    /// Thai name.
    pub name_th: &'static str,
    /// English name.
    pub name_en: &'static str,
    /// Approximate population in thousands; only used to make values plausible.
    pub pop_k: u32,
    /// Deep-south-bordering districts with higher poverty and out-of-school rates.
    pub high_need: bool,
}

/// The two demo provinces (real DOPA codes).
pub const PROVINCES: [Province; 2] = [
    Province {
        code: "90",
        name_th: "สงขลา",
        name_en: "Songkhla",
    },
    Province {
        code: "65",
        name_th: "พิษณุโลก",
        name_en: "Phitsanulok",
    },
];

const fn d(
    code: &'static str,
    name_th: &'static str,
    name_en: &'static str,
    pop_k: u32,
    high_need: bool,
) -> District {
    District {
        code,
        name_th,
        name_en,
        pop_k,
        high_need,
    }
}

/// The 25 real districts of the two provinces (codes and names as in the
/// kongvut/thai-province-data set).
pub const DISTRICTS: [District; 25] = [
    d("9001", "เมืองสงขลา", "Mueang Songkhla", 170, false),
    d("9002", "สทิงพระ", "Sathing Phra", 50, false),
    d("9003", "จะนะ", "Chana", 100, true),
    d("9004", "นาทวี", "Na Thawi", 65, true),
    d("9005", "เทพา", "Thepha", 70, true),
    d("9006", "สะบ้าย้อย", "Saba Yoi", 70, true),
    d("9007", "ระโนด", "Ranot", 65, false),
    d("9008", "กระแสสินธุ์", "Krasae Sin", 16, false),
    d("9009", "รัตภูมิ", "Rattaphum", 80, false),
    d("9010", "สะเดา", "Sadao", 130, false),
    d("9011", "หาดใหญ่", "Hat Yai", 400, false),
    d("9012", "นาหม่อม", "Na Mom", 25, false),
    d("9013", "ควนเนียง", "Khuan Niang", 38, false),
    d("9014", "บางกล่ำ", "Bang Klam", 37, false),
    d("9015", "สิงหนคร", "Singhanakhon", 85, false),
    d("9016", "คลองหอยโข่ง", "Khlong Hoi Khong", 30, false),
    d("6501", "เมืองพิษณุโลก", "Mueang Phitsanulok", 280, false),
    d("6502", "นครไทย", "Nakhon Thai", 85, false),
    d("6503", "ชาติตระการ", "Chat Trakan", 45, false),
    d("6504", "บางระกำ", "Bang Rakam", 95, false),
    d("6505", "บางกระทุ่ม", "Bang Krathum", 40, false),
    d("6506", "พรหมพิราม", "Phrom Phiram", 85, false),
    d("6507", "วัดโบสถ์", "Wat Bot", 40, false),
    d("6508", "วังทอง", "Wang Thong", 120, false),
    d("6509", "เนินมะปราง", "Noen Maprang", 55, false),
];

/// Academic / fiscal years of the demo, Buddhist era.
pub const YEARS_BE: [u32; 3] = [2564, 2565, 2566];

pub mod workshop;

/// File names written by [`generate`].
pub const FILES: [&str; 7] = [
    "areas.csv",
    "schools.csv",
    "education-office.xlsx",
    "local-government.tis620.csv",
    "ngo-screening.csv",
    "civil-registration.csv",
    "workshop.xlsx",
];

/// The demo config, whose topic list the workshop workbook's dropdown offers.
pub fn demo_config() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../hub.toml")
}

/// The empty workshop workbook, relative to the repository root.
pub const TEMPLATE: &str = "deploy/workshop/workshop-template.xlsx";

/// Writes the empty workshop workbook to `path` (its folder created if missing).
pub fn generate_template(path: &Path) -> Result<()> {
    let topics = workshop::config_topics(&demo_config())?;
    let (bytes, _) = workshop::workbook(&topics, false)?;
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// Tiny deterministic PRNG (SplitMix64); no `rand` dependency, same numbers everywhere.
pub struct Rng(u64);

impl Rng {
    /// A generator with a fixed seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform integer in `lo..=hi`.
    pub fn range(&mut self, lo: u32, hi: u32) -> u32 {
        lo + (self.next_u64() % u64::from(hi - lo + 1)) as u32
    }
}

/// Writes every demo file into `out_dir` (created if missing) and returns, per file,
/// its name and the number of good data rows it holds.
pub fn generate(out_dir: &Path) -> Result<Vec<(&'static str, usize)>> {
    fs::create_dir_all(out_dir).with_context(|| format!("creating {}", out_dir.display()))?;
    let mut counts = Vec::new();
    let topics = workshop::config_topics(&demo_config())?;
    for (name, (bytes, good)) in FILES.iter().zip([
        areas_csv(),
        schools_csv(),
        education_office_xlsx()?,
        local_government_csv()?,
        ngo_screening_csv(),
        civil_registration_csv(),
        workshop::workbook(&topics, true)?,
    ]) {
        let path = out_dir.join(name);
        fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
        counts.push((*name, good));
    }
    Ok(counts)
}

// ---------------------------------------------------------------------------------
// CSV helpers

fn csv_field(field: &str, delimiter: char) -> String {
    if field.contains([delimiter, '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_string()
    }
}

fn csv_line(fields: &[&str], delimiter: char, eol: &str) -> String {
    let mut line = fields
        .iter()
        .map(|f| csv_field(f, delimiter))
        .collect::<Vec<_>>()
        .join(&delimiter.to_string());
    line.push_str(eol);
    line
}

/// Writes an integer with ASCII digits replaced by Thai digits (123 -> "๑๒๓").
pub fn to_thai_digits(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(0x0E50 + (c as u32 - '0' as u32)).unwrap(),
            other => other,
        })
        .collect()
}

/// Writes an integer with a comma every three digits (1234 -> "1,234").
pub fn with_thousands(n: u32) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------------
// 1. areas.csv

fn areas_csv() -> (Vec<u8>, usize) {
    let mut out = csv_line(&["code", "name_th", "name_en"], ',', "\n");
    let mut good = 0;
    for p in &PROVINCES {
        out += &csv_line(&[p.code, p.name_th, p.name_en], ',', "\n");
        good += 1;
    }
    for d in &DISTRICTS {
        out += &csv_line(&[d.code, d.name_th, d.name_en], ',', "\n");
        good += 1;
    }
    (out.into_bytes(), good)
}

// ---------------------------------------------------------------------------------
// 2. schools.csv (fictional schools; the 99 in the code marks them as demo data)

/// The fictional demo schools: code, Thai name, English name, district, affiliation.
pub const SCHOOLS: [(&str, &str, &str, &str, &str); 12] = [
    (
        "9099000001",
        "โรงเรียนบ้านตัวอย่าง ๑",
        "Ban Tua Yang Demo School 1",
        "9001",
        "OBEC",
    ),
    (
        "9099000002",
        "โรงเรียนบ้านตัวอย่าง ๒",
        "Ban Tua Yang Demo School 2",
        "9003",
        "OBEC",
    ),
    (
        "9099000003",
        "โรงเรียนบ้านตัวอย่าง ๓",
        "Ban Tua Yang Demo School 3",
        "9006",
        "OBEC",
    ),
    (
        "9099000004",
        "โรงเรียนเทศบาลตัวอย่าง ๔",
        "Tessaban Tua Yang Demo School 4",
        "9011",
        "LAO",
    ),
    (
        "9099000005",
        "โรงเรียนตำรวจตระเวนชายแดนตัวอย่าง ๕",
        "BPP Tua Yang Demo School 5",
        "9010",
        "BPP",
    ),
    (
        "9099000006",
        "โรงเรียนบ้านตัวอย่าง ๖",
        "Ban Tua Yang Demo School 6",
        "9016",
        "OBEC",
    ),
    (
        "6599000001",
        "โรงเรียนบ้านตัวอย่าง ๑",
        "Ban Tua Yang Demo School 1",
        "6501",
        "OBEC",
    ),
    (
        "6599000002",
        "โรงเรียนบ้านตัวอย่าง ๒",
        "Ban Tua Yang Demo School 2",
        "6502",
        "OBEC",
    ),
    (
        "6599000003",
        "โรงเรียนบ้านตัวอย่าง ๓",
        "Ban Tua Yang Demo School 3",
        "6504",
        "OBEC",
    ),
    (
        "6599000004",
        "โรงเรียนเทศบาลตัวอย่าง ๔",
        "Tessaban Tua Yang Demo School 4",
        "6501",
        "LAO",
    ),
    (
        "6599000005",
        "โรงเรียนบ้านตัวอย่าง ๕",
        "Ban Tua Yang Demo School 5",
        "6508",
        "OBEC",
    ),
    (
        "6599000006",
        "โรงเรียนเอกชนตัวอย่าง ๖",
        "Private Tua Yang Demo School 6",
        "6506",
        "OPEC",
    ),
];

fn schools_csv() -> (Vec<u8>, usize) {
    let mut out = csv_line(
        &[
            "school_code",
            "name_th",
            "name_en",
            "area_code",
            "affiliation",
        ],
        ',',
        "\n",
    );
    for (code, th, en, area, aff) in &SCHOOLS {
        out += &csv_line(&[code, th, en, area, aff], ',', "\n");
    }
    (out.into_bytes(), SCHOOLS.len())
}

// ---------------------------------------------------------------------------------
// 3. education-office.xlsx

/// Sex labels as the education office writes them.
pub const SEXES: [&str; 2] = ["ชาย", "หญิง"];
/// Indicator labels as the education office writes them.
pub const PEO_INDICATORS: [&str; 2] = ["นักเรียนทั้งหมด", "นักเรียนออกกลางคัน"];

/// One good row of the education-office sheet.
pub struct PeoRow {
    /// Academic year, BE.
    pub year: u32,
    /// District index into [`DISTRICTS`].
    pub district: usize,
    /// Index into [`SEXES`].
    pub sex: usize,
    /// Index into [`PEO_INDICATORS`].
    pub indicator: usize,
    /// The count.
    pub value: u32,
}

/// The good rows of the education-office sheet, in sheet order
/// (year, district, sex, indicator).
pub fn peo_rows() -> Vec<PeoRow> {
    let mut rng = Rng::new(0xABE_0001);
    let mut rows = Vec::new();
    for (yi, &year) in YEARS_BE.iter().enumerate() {
        for (di, d) in DISTRICTS.iter().enumerate() {
            for (si, _) in SEXES.iter().enumerate() {
                // Enrolment: 800 + 20 per thousand inhabitants, girls ~3% fewer,
                // falling ~1.5% a year, +-4% noise.
                let base = 800 + d.pop_k * 20;
                let base = if si == 1 { base * 97 / 100 } else { base };
                let base = base * (1000 - 15 * yi as u32) / 1000;
                let enrolled = base * rng.range(960, 1040) / 1000;
                // Dropouts: 0.4-1.2% of enrolment, higher in high-need districts.
                let per_mille = rng.range(4, 12) + if d.high_need { 4 } else { 0 };
                let dropouts = (enrolled * per_mille / 1000).max(7);
                for (ii, value) in [enrolled, dropouts].into_iter().enumerate() {
                    rows.push(PeoRow {
                        year,
                        district: di,
                        sex: si,
                        indicator: ii,
                        value,
                    });
                }
            }
        }
    }
    rows
}

fn education_office_xlsx() -> Result<(Vec<u8>, usize)> {
    let rows = peo_rows();
    let mut workbook = Workbook::new();
    let created = ExcelDateTime::from_ymd(2024, 1, 15)?.and_hms(9, 0, 0)?;
    let props = DocProperties::new()
        .set_title("จำนวนนักเรียนจำแนกตามอำเภอ (ข้อมูลสาธิต)")
        .set_author("abe-hub demo generator")
        .set_company("สำนักงานศึกษาธิการจังหวัดสงขลา (ข้อมูลสาธิต)")
        .set_creation_datetime(&created);
    workbook.set_properties(&props);

    let title = Format::new().set_bold().set_font_size(14);
    let header = Format::new()
        .set_bold()
        .set_background_color("#DDEBF7")
        .set_border(rust_xlsxwriter::FormatBorder::Thin);
    let sheet = workbook.add_worksheet();
    sheet.set_name("นักเรียน")?;
    sheet.write_string_with_format(0, 0, "จำนวนนักเรียนจำแนกตามอำเภอ ปีการศึกษา 2564-2566", &title)?;
    // Row 2 stays blank, the header is on row 3.
    let headers = ["ปีการศึกษา", "รหัสอำเภอ", "อำเภอ", "เพศ", "ตัวชี้วัด", "จำนวน"];
    for (c, h) in headers.iter().enumerate() {
        sheet.write_string_with_format(2, c as u16, *h, &header)?;
    }
    for (c, w) in [12.0, 11.0, 16.0, 8.0, 20.0, 10.0].iter().enumerate() {
        sheet.set_column_width(c as u16, *w)?;
    }
    let mut r: u32 = 3;
    for row in &rows {
        let d = &DISTRICTS[row.district];
        write_cells(
            sheet,
            r,
            &[
                Number(row.year.into()),
                Text(d.code),
                Text(d.name_th),
                Text(SEXES[row.sex]),
                Text(PEO_INDICATORS[row.indicator]),
                Number(row.value.into()),
            ],
        )?;
        r += 1;
    }
    // Deliberately bad rows (see deploy/demo/README.md): a) the count is text, b) a
    // district code that does not exist, c) a mistyped academic year.
    let bad = [
        [
            Number(2566.0),
            Text("9001"),
            Text("เมืองสงขลา"),
            Text("ชาย"),
            Text("นักเรียนออกกลางคัน"),
            Text("ไม่ทราบ"),
        ],
        [
            Number(2566.0),
            Text("9099"),
            Text("อำเภอตัวอย่าง"),
            Text("หญิง"),
            Text("นักเรียนทั้งหมด"),
            Number(1500.0),
        ],
        [
            Text("25x6"),
            Text("6501"),
            Text("เมืองพิษณุโลก"),
            Text("ชาย"),
            Text("นักเรียนทั้งหมด"),
            Number(6100.0),
        ],
    ];
    for cells in &bad {
        write_cells(sheet, r, cells)?;
        r += 1;
    }

    let bytes = workbook.save_to_buffer()?;
    Ok((bytes, rows.len()))
}

/// A cell of the education office's sheet.
enum Cell<'a> {
    Number(f64),
    Text(&'a str),
}
use Cell::{Number, Text};

/// Writes `cells` along row `r` from the first column.
fn write_cells(sheet: &mut rust_xlsxwriter::Worksheet, r: u32, cells: &[Cell<'_>]) -> Result<()> {
    for (c, cell) in cells.iter().enumerate() {
        match cell {
            Number(n) => sheet.write_number(r, c as u16, *n)?,
            Text(t) => sheet.write_string(r, c as u16, *t)?,
        };
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// 4. local-government.tis620.csv

/// One good row of the local-government file: district index, BE year, count.
pub fn out_of_school_rows() -> Vec<(usize, u32, u32)> {
    let mut rng = Rng::new(0xABE_0002);
    let mut rows = Vec::new();
    for &year in &YEARS_BE {
        for (di, d) in DISTRICTS.iter().enumerate() {
            // 100 + 2.5 per thousand inhabitants, x1.5 in high-need districts, a bump in
            // 2565 (school closures), plus noise.
            let mut v = 100 + d.pop_k * 5 / 2;
            if d.high_need {
                v = v * 3 / 2;
            }
            if year == 2565 {
                v = v * 11 / 10;
            }
            v += rng.range(0, 150);
            rows.push((di, year, v));
        }
    }
    rows
}

/// How the local government spells a count: thousands separators from 1000 on, Thai
/// digits on every fourth row, a stray trailing space on every seventh.
pub fn lao_value_text(index: usize, value: u32) -> String {
    let mut text = if value >= 1000 {
        with_thousands(value)
    } else if index % 4 == 1 {
        to_thai_digits(&value.to_string())
    } else {
        value.to_string()
    };
    if index % 7 == 3 {
        text.push(' ');
    }
    text
}

fn encode_tis620(text: &str) -> Result<Vec<u8>> {
    let (bytes, _, had_errors) = encoding_rs::WINDOWS_874.encode(text);
    if had_errors {
        bail!("text cannot be encoded in TIS-620: {text:?}");
    }
    Ok(bytes.into_owned())
}

fn local_government_csv() -> Result<(Vec<u8>, usize)> {
    let rows = out_of_school_rows();
    let eol = "\r\n";
    let mut out = csv_line(
        &["รหัสพื้นที่", "ชื่อพื้นที่", "ปี พ.ศ.", "เด็กนอกระบบการศึกษา"],
        ',',
        eol,
    );
    for (i, &(di, year, value)) in rows.iter().enumerate() {
        let d = &DISTRICTS[di];
        out += &csv_line(
            &[
                d.code,
                d.name_th,
                &year.to_string(),
                &lao_value_text(i, value),
            ],
            ',',
            eol,
        );
        // Deliberately bad row in the middle, after the 2565 block: the value is "-x-".
        if i == 2 * DISTRICTS.len() - 1 {
            out += &csv_line(&["9011", "หาดใหญ่", "2565", "-x-"], ',', eol);
        }
    }
    // Deliberately bad row at the end: letter O in the area code.
    out += &csv_line(&["65O1", "เมืองพิษณุโลก", "2566", "412"], ',', eol);
    Ok((encode_tis620(&out)?, rows.len()))
}

// ---------------------------------------------------------------------------------
// 5. ngo-screening.csv

/// One good row of the NGO file: district index, BE year, count.
pub fn extremely_poor_rows() -> Vec<(usize, u32, u32)> {
    let mut rng = Rng::new(0xABE_0003);
    let mut rows = Vec::new();
    for (yi, &year) in YEARS_BE.iter().enumerate() {
        for (di, d) in DISTRICTS.iter().enumerate() {
            let mut v = 150 + d.pop_k * 6;
            if d.high_need {
                v = v * 9 / 5;
            }
            v = v * (100 + 4 * yi as u32) / 100;
            v = v * rng.range(900, 1100) / 1000;
            rows.push((di, year, v));
        }
    }
    rows
}

fn ngo_screening_csv() -> (Vec<u8>, usize) {
    let rows = extremely_poor_rows();
    let mut out = String::from("\u{FEFF}");
    out += &csv_line(
        &["ปี", "อำเภอรหัส", "จำนวนนักเรียนยากจนพิเศษ", "หมายเหตุ"],
        ';',
        "\n",
    );
    for (i, &(di, year, value)) in rows.iter().enumerate() {
        let note = match i % 5 {
            0 => "คัดกรองโดยครูประจำชั้น",
            3 => "รวมนักเรียนย้ายเข้า",
            _ => "",
        };
        out += &csv_line(
            &[
                &year.to_string(),
                DISTRICTS[di].code,
                &value.to_string(),
                note,
            ],
            ';',
            "\n",
        );
    }
    // Deliberately bad row: the year is missing.
    out += &csv_line(&["", "9003", "980", "ไม่ระบุปี"], ';', "\n");
    (out.into_bytes(), rows.len())
}

// ---------------------------------------------------------------------------------
// 6. civil-registration.csv

/// The district whose registration office did not report for the last year the
/// population is published: the demo's "stopped reporting" case.
pub const UNREPORTED_DISTRICT: &str = "6509";

/// One good row of the civil-registration file: district index, BE year, sex, children
/// aged 3-17. The population is published a year late, so the demo's last year has
/// none (out-of-school rates of that year use the year before's population), and one
/// district did not report the year before either.
pub fn population_rows() -> Vec<(usize, u32, &'static str, u32)> {
    let mut rng = Rng::new(0xABE_0004);
    let mut rows = Vec::new();
    let published = &YEARS_BE[..YEARS_BE.len() - 1];
    for (yi, &year) in published.iter().enumerate() {
        for (di, d) in DISTRICTS.iter().enumerate() {
            if yi + 1 == published.len() && d.code == UNREPORTED_DISTRICT {
                continue;
            }
            // About 18 % of the population are children aged 3-17, fewer each year.
            let children = d.pop_k * 180 * (100 - yi as u32) / 100;
            let boys = children * rng.range(500, 520) / 1000;
            rows.push((di, year, "ชาย", boys));
            rows.push((di, year, "หญิง", children - boys));
        }
    }
    rows
}

fn civil_registration_csv() -> (Vec<u8>, usize) {
    let rows = population_rows();
    let mut out = csv_line(
        &["ปี พ.ศ.", "รหัสอำเภอ", "เพศ", "จำนวนเด็กอายุ 3-17 ปี"],
        ',',
        "\n",
    );
    for &(di, year, sex, value) in &rows {
        out += &csv_line(
            &[
                &year.to_string(),
                DISTRICTS[di].code,
                sex,
                &value.to_string(),
            ],
            ',',
            "\n",
        );
    }
    (out.into_bytes(), rows.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn fresh_dir(tag: &str) -> PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        std::env::temp_dir().join(format!("abe-demo-{tag}-{}-{nanos}", std::process::id()))
    }

    #[test]
    fn committed_files_match_fresh_output() {
        let dir = fresh_dir("drift");
        generate(&dir).unwrap();
        let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../data");
        for name in FILES {
            let fresh = fs::read(dir.join(name)).unwrap();
            let old = fs::read(committed.join(name))
                .unwrap_or_else(|e| panic!("{name} missing in deploy/demo/data: {e}"));
            assert!(
                fresh == old,
                "deploy/demo/data/{name} differs from the generator's output; \
                 run `cargo run -p abe-demo-generator` and commit the result"
            );
        }
        fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn committed_template_matches_fresh_output() {
        let dir = fresh_dir("template");
        let path = dir.join("template.xlsx");
        generate_template(&path).unwrap();
        let committed =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../workshop/workshop-template.xlsx");
        assert!(
            fs::read(&path).unwrap() == fs::read(&committed).expect("the committed template"),
            "{TEMPLATE} differs from the generator's output; run `cargo run -p \
             abe-demo-generator` and commit the result"
        );
        fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn output_is_deterministic() {
        let (a, b) = (fresh_dir("det-a"), fresh_dir("det-b"));
        generate(&a).unwrap();
        generate(&b).unwrap();
        for name in FILES {
            assert_eq!(
                fs::read(a.join(name)).unwrap(),
                fs::read(b.join(name)).unwrap(),
                "{name}"
            );
        }
        fs::remove_dir_all(&a).ok();
        fs::remove_dir_all(&b).ok();
    }

    #[test]
    fn tis620_file_round_trips() {
        let (bytes, good) = local_government_csv().unwrap();
        let text = encoding_rs::WINDOWS_874
            .decode_without_bom_handling_and_without_replacement(&bytes)
            .expect("valid TIS-620");
        let (again, _, had_errors) = encoding_rs::WINDOWS_874.encode(&text);
        assert!(!had_errors);
        assert_eq!(again.as_ref(), bytes.as_slice());
        let lines: Vec<&str> = text.split_terminator("\r\n").collect();
        assert_eq!(lines[0], "รหัสพื้นที่,ชื่อพื้นที่,ปี พ.ศ.,เด็กนอกระบบการศึกษา");
        assert!(
            !text.replace("\r\n", "").contains('\n'),
            "only CRLF line ends"
        );
        assert_eq!(lines.len(), 1 + good + 2);
        assert!(text.contains('๑') || text.contains('๒') || text.contains('๓'));
        assert!(
            text.contains("\"1,"),
            "a quoted value with thousands separator"
        );
        assert!(text.contains(",-x-\r\n") && text.contains("65O1,"));
    }

    #[test]
    fn number_spellings() {
        assert_eq!(with_thousands(999), "999");
        assert_eq!(with_thousands(1234), "1,234");
        assert_eq!(with_thousands(1234567), "1,234,567");
        assert_eq!(to_thai_digits("123"), "๑๒๓");
    }

    #[test]
    fn ngo_file_has_bom_and_semicolons() {
        let (bytes, good) = ngo_screening_csv();
        assert!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]));
        let text = std::str::from_utf8(&bytes[3..]).unwrap();
        assert!(text.starts_with("ปี;อำเภอรหัส;จำนวนนักเรียนยากจนพิเศษ;หมายเหตุ\n"));
        assert_eq!(text.lines().count(), 1 + good + 1);
        assert_eq!(good, DISTRICTS.len() * YEARS_BE.len());
    }

    #[test]
    fn values_are_plausible() {
        for r in peo_rows() {
            match r.indicator {
                0 => assert!((1000..=10_000).contains(&r.value), "enrolled {}", r.value),
                _ => assert!((5..=150).contains(&r.value), "dropouts {}", r.value),
            }
        }
        let oos = out_of_school_rows();
        assert!(oos.iter().all(|r| (100..=1500).contains(&r.2)));
        assert!(
            oos.iter().any(|r| r.2 >= 1000),
            "some values need thousands separators"
        );
        assert!(extremely_poor_rows()
            .iter()
            .all(|r| (100..=5000).contains(&r.2)));
    }
}
