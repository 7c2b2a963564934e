//! Typed rows of the unified schema and the closed vocabularies they use. Each
//! vocabulary converts to and from the snake_case word stored in the database.

use serde::{Deserialize, Serialize};

/// Declares a closed vocabulary: an enum with its database word for each variant.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $word:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The word stored in the database and written in config files.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $word),+ }
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownWord;
            fn from_str(word: &str) -> Result<Self, UnknownWord> {
                match word {
                    $($word => Ok($name::$variant),)+
                    other => Err(UnknownWord {
                        vocabulary: stringify!($name),
                        word: other.to_string(),
                    }),
                }
            }
        }

        impl TryFrom<String> for $name {
            type Error = UnknownWord;
            fn try_from(word: String) -> Result<Self, UnknownWord> {
                word.parse()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A word that is not in a closed vocabulary.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("\"{word}\" is not a known {vocabulary}")]
pub struct UnknownWord {
    /// Which vocabulary was asked.
    pub vocabulary: &'static str,
    /// The word that did not match.
    pub word: String,
}

vocabulary! {
    /// Level of an area in the Thai administrative hierarchy.
    AreaLevel {
        /// จังหวัด, 2-digit code.
        Province = "province",
        /// อำเภอ / เขต, 4-digit code.
        District = "district",
        /// ตำบล / แขวง, 6-digit code.
        Subdistrict = "subdistrict",
    }
}

vocabulary! {
    /// What kind of organisation an agency is.
    AgencyKind {
        /// A ministry, department or provincial office.
        Government = "government",
        /// A school acting as a data owner.
        School = "school",
        /// A non-governmental organisation.
        Ngo = "ngo",
        /// A company or private foundation.
        Private = "private",
        /// A civil-society network.
        CivilSociety = "civil_society",
        /// A community organisation.
        Community = "community",
        /// Local government (อปท.): PAO, municipality, SAO.
        LocalGovernment = "local_government",
    }
}

vocabulary! {
    /// How an indicator's values combine up the area hierarchy.
    #[derive(Default)]
    IndicatorKind {
        /// A count that sums up the area hierarchy (school > subdistrict > district >
        /// province).
        #[default]
        Count = "count",
        /// Numerator indicator / denominator indicator x multiplier, from summed
        /// numerators and denominators (never an average of ratios).
        Ratio = "ratio",
        /// A mean weighted by a weight indicator (unweighted without one).
        Mean = "mean",
        /// Not aggregated: each area's own reported value only.
        Latest = "latest",
    }
}

vocabulary! {
    /// Which way an indicator gets worse.
    #[derive(Default)]
    Direction {
        /// Higher values are worse (out-of-school children).
        #[default]
        HigherIsWorse = "higher_is_worse",
        /// Lower values are worse (enrolment rate).
        LowerIsWorse = "lower_is_worse",
    }
}

vocabulary! {
    /// What rows a connector's mapping produces.
    #[derive(Default)]
    Target {
        /// Values of indicators.
        #[default]
        Observations = "observations",
        /// Provinces, districts and subdistricts.
        Areas = "areas",
        /// Schools.
        Schools = "schools",
        /// The province's resource capital.
        Resources = "resources",
        /// Problems recorded at workshops.
        Problems = "problems",
    }
}

vocabulary! {
    /// State of a connector run.
    RunStatus {
        /// Reading and loading now.
        Running = "running",
        /// Committed.
        Succeeded = "succeeded",
        /// Rolled back; the previous data stands.
        Failed = "failed",
        /// The process running it stopped answering and its lease expired; rolled back.
        Abandoned = "abandoned",
        /// Stopped on request (Ctrl-C, SIGTERM) and rolled back.
        Cancelled = "cancelled",
    }
}

vocabulary! {
    /// What an alert rule checks (see [`AlertRule`](crate::alerting::AlertRule)).
    RuleKind {
        /// The indicator's warning or critical threshold at the area's level.
        Threshold = "threshold",
        /// Worse than the parent area by more than a share.
        WorseThanParent = "worse_than_parent",
        /// Worse than the previous period, several periods in a row.
        Worsening = "worsening",
        /// Outside the area's own past mean plus or minus k standard deviations.
        Jump = "jump",
        /// No value for the latest period where the area reported before.
        Missing = "missing",
    }
}

vocabulary! {
    /// How urgent an alert is.
    AlertSeverity {
        /// Watch it.
        Warning = "warning",
        /// Act on it.
        Critical = "critical",
    }
}

vocabulary! {
    /// Where an alert is in its lifecycle.
    AlertStatus {
        /// Raised and not yet seen to.
        Open = "open",
        /// Someone took it up (with a comment); still firing.
        Acknowledged = "acknowledged",
        /// Back in range (or closed by hand); kept with its history.
        Resolved = "resolved",
    }
}

vocabulary! {
    /// The colour band of a computed value by its indicator's thresholds: every
    /// dashboard colours the same way.
    Band {
        /// Within range.
        Normal = "normal",
        /// At or past the warning threshold.
        Warning = "warning",
        /// At or past the critical threshold.
        Critical = "critical",
        /// The indicator has no threshold at this level.
        None = "none",
    }
}

/// Row counts of a run, as its journal keeps them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunCounts {
    /// Rows read from the source, rejects included.
    pub read: u64,
    /// New rows.
    pub inserted: u64,
    /// Rows whose values changed.
    pub updated: u64,
    /// Rows already up to date.
    pub unchanged: u64,
    /// Rows removed because the source no longer has them (full refresh).
    pub deleted: u64,
    /// Rows refused.
    pub rejected: u64,
    /// Rows whose key an earlier row of the same run already gave, merged into it as
    /// the connector's `on_duplicate` chose (each is also a warning). Rows refused as
    /// duplicates count as rejected instead.
    #[serde(default)]
    pub duplicates: u64,
}

vocabulary! {
    /// What a run does with rows of its source that repeat a key (two rows for one
    /// school code, or for one indicator, area, period and breakdown).
    #[derive(Default)]
    OnDuplicate {
        /// Every row of a repeated key is refused: the source must decide.
        Reject = "reject",
        /// The last row wins (the default, as a later correction in a sheet would).
        #[default]
        Last = "last",
        /// The first row wins; later ones are left out.
        First = "first",
        /// The rows' values are added up (observations: counts split over rows).
        Sum = "sum",
    }
}

vocabulary! {
    /// What a run of reference data (areas, schools) does with rows it would change
    /// that another connector wrote last (an older list's spellings over a newer one's).
    #[derive(Default)]
    OnOwnedElsewhere {
        /// The run fails and changes nothing; its warnings list the rows (the default).
        #[default]
        Fail = "fail",
        /// Those rows stay as the other connector wrote them; each is a warning.
        Keep = "keep",
        /// Those rows are changed and now belong to this connector; each is a warning.
        Overwrite = "overwrite",
    }
}

vocabulary! {
    /// Whether a remark about a row refused it or only flagged it.
    Severity {
        /// The row was not loaded.
        Reject = "reject",
        /// The row was loaded, merged or kept out by the connector's choice, and the
        /// steward should know: a repeated key, a row another connector owns.
        Warning = "warning",
        /// What the connector asked for, counted: records its `skip_if` left out, rows
        /// it aggregated. Only in the summary.
        Info = "info",
    }
}

vocabulary! {
    /// The four categories of a province's resource capital (ต้นทุนทรัพยากร) that EEF's
    /// workshops pool; see [`crate::registry`] for their labels and subcategories.
    ResourceCategory {
        /// ด้านข้อมูล / สารสนเทศ: data and information.
        Data = "data",
        /// ด้านการดำเนินงาน: budget, people, agencies, organisations.
        Operations = "operations",
        /// ด้านองค์ความรู้ / ชุดความรู้ / นวัตกรรม: knowledge, know-how, innovations.
        Knowledge = "knowledge",
        /// ด้านนโยบาย / ทุนทางสังคม: policy and social capital.
        Policy = "policy",
    }
}

vocabulary! {
    /// What a resource's amount counts.
    ResourceUnit {
        /// Thai baht.
        Baht = "baht",
        /// People.
        People = "people",
        /// Places (seats, beds, school places).
        Places = "places",
        /// Items (devices, sets, books).
        Items = "items",
        /// Hours (of teaching, of counselling).
        Hours = "hours",
    }
}

vocabulary! {
    /// Where a resource or a problem came from.
    #[derive(Default)]
    RecordOrigin {
        /// A connector's source other than a workshop workbook.
        #[default]
        Connector = "connector",
        /// A workshop workbook, loaded through a connector.
        Workshop = "workshop",
        /// Entered through the GraphQL API.
        Api = "api",
    }
}

vocabulary! {
    /// How serious a working group judges a problem.
    ProblemSeverity {
        /// Watch it.
        Low = "low",
        /// Plan for it.
        Medium = "medium",
        /// Act on it first.
        High = "high",
    }
}

vocabulary! {
    /// Where a problem stands.
    #[derive(Default)]
    ProblemStatus {
        /// Nobody is on it yet.
        #[default]
        Open = "open",
        /// Someone is working on it.
        BeingAddressed = "being_addressed",
        /// Done, kept in history.
        Closed = "closed",
    }
}

/// An organisation that owns sources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Agency {
    /// Short stable code, e.g. `PEO-SKA`.
    pub code: String,
    /// Thai name.
    pub name_th: String,
    /// English name.
    pub name_en: Option<String>,
    /// Kind of organisation.
    pub kind: AgencyKind,
}

/// An indicator of the catalogue: what it measures and how its values are computed up
/// the area hierarchy.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    /// Stable code, e.g. `out_of_school_children`.
    pub code: String,
    /// Thai name.
    pub name_th: String,
    /// English name.
    pub name_en: Option<String>,
    /// Thai description: what is counted and how.
    #[serde(default)]
    pub description_th: Option<String>,
    /// English description.
    #[serde(default)]
    pub description_en: Option<String>,
    /// Unit of the value, e.g. `persons` or `percent`.
    pub unit: String,
    /// How values combine up the hierarchy.
    pub kind: IndicatorKind,
    /// For ratios: the numerator indicator.
    pub numerator: Option<String>,
    /// For ratios: the denominator indicator.
    pub denominator: Option<String>,
    /// For ratios: what the quotient is multiplied by (100 for a percentage, 1,000 per
    /// thousand); 1 when absent.
    #[serde(default)]
    pub multiplier: Option<f64>,
    /// For ratios: how many years earlier the denominator's period may be when the
    /// numerator's period has none (population figures come out a year late); 0 when
    /// absent (the same period only).
    #[serde(default)]
    pub denominator_lag: Option<u32>,
    /// For means: the indicator that weighs each area or school (enrolment, say).
    #[serde(default)]
    pub weight: Option<String>,
    /// Which way is worse.
    pub direction: Direction,
    /// Decimals to show; the value itself is not rounded.
    #[serde(default)]
    pub decimals: Option<u32>,
    /// Topic used to match problems and resources, e.g. `access`.
    pub topic: Option<String>,
    /// Breakdown dimensions the indicator supports (`sex`, `grade`, `affiliation`), in
    /// the order a total is computed from when a source gives no total row. Empty:
    /// every dimension the sources give.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub breakdowns: Vec<String>,
    /// Source precedence: connector names or agency codes, first wins, when several
    /// connectors give the same indicator, area and period. Unlisted sources come after
    /// the listed ones, the most recently loaded first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
}

impl Indicator {
    /// The multiplier of a ratio (1 when not set).
    pub fn multiplier(&self) -> f64 {
        self.multiplier.unwrap_or(1.0)
    }

    /// The indicators this one is computed from: a ratio's numerator and denominator, a
    /// mean's weight.
    pub fn inputs(&self) -> impl Iterator<Item = &str> {
        [&self.numerator, &self.denominator, &self.weight]
            .into_iter()
            .flatten()
            .map(String::as_str)
    }

    /// Checks what the kind needs, and that `known` (the catalogue's codes) holds the
    /// indicators it is computed from. The error names the field.
    pub fn check(&self, known: &dyn Fn(&str) -> bool) -> Result<(), String> {
        let code = &self.code;
        if code.is_empty() || !code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(format!(
                "indicator code {code:?}: use letters, digits and underscores"
            ));
        }
        let ratio = self.kind == IndicatorKind::Ratio;
        if ratio && (self.numerator.is_none() || self.denominator.is_none()) {
            return Err(format!(
                "indicator {code}: a ratio needs `numerator` and `denominator`"
            ));
        }
        if !ratio {
            for (field, set) in [
                ("numerator", self.numerator.is_some()),
                ("denominator", self.denominator.is_some()),
                ("multiplier", self.multiplier.is_some()),
                ("denominator_lag", self.denominator_lag.is_some()),
            ] {
                if set {
                    return Err(format!(
                        "indicator {code}: `{field}` is for ratios, and this is a {}",
                        self.kind
                    ));
                }
            }
        }
        if self.weight.is_some() && self.kind != IndicatorKind::Mean {
            return Err(format!(
                "indicator {code}: `weight` is for means, and this is a {}",
                self.kind
            ));
        }
        if let Some(m) = self.multiplier {
            if !(m.is_finite() && m > 0.0) {
                return Err(format!(
                    "indicator {code}: `multiplier` must be a positive number"
                ));
            }
        }
        for part in self.inputs() {
            if part == code {
                return Err(format!("indicator {code} cannot be computed from itself"));
            }
            if !known(part) {
                return Err(format!(
                    "indicator {code} refers to {part}, which is not declared"
                ));
            }
        }
        Ok(())
    }
}

/// A warning/critical pair for an indicator at one area level.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// Indicator code.
    pub indicator: String,
    /// Level the threshold applies to.
    pub level: AreaLevel,
    /// Value at which a warning is raised.
    pub warning: Option<f64>,
    /// Value at which a critical alert is raised.
    pub critical: Option<f64>,
}

/// A breakdown such as sex=female, level=primary, held sorted by dimension so that one
/// breakdown always has one spelling: `level=primary;sex=female`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Breakdown(pub Vec<(String, String)>);

impl Breakdown {
    /// Builds a breakdown from pairs, dropping pairs with an empty value.
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut pairs: Vec<(String, String)> =
            pairs.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        pairs.sort();
        Breakdown(pairs)
    }

    /// The canonical text stored in the database.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        for (i, (dimension, value)) in self.0.iter().enumerate() {
            if i > 0 {
                out.push(';');
            }
            out.push_str(&escape(dimension));
            out.push('=');
            out.push_str(&escape(value));
        }
        out
    }

    /// Reads the canonical text back; malformed parts are skipped.
    pub fn decode(text: &str) -> Self {
        let pairs = text
            .split(';')
            .filter(|p| !p.is_empty())
            .filter_map(|p| p.split_once('='))
            .map(|(d, v)| (unescape(d), unescape(v)));
        Breakdown::new(pairs)
    }
}

/// `;` and `=` separate pairs, so they and `%` are percent-escaped inside values.
fn escape(text: &str) -> String {
    // Nearly every value has none of them: one copy instead of three searches.
    if !text.contains(['%', ';', '=']) {
        return text.to_string();
    }
    text.replace('%', "%25")
        .replace(';', "%3B")
        .replace('=', "%3D")
}

fn unescape(text: &str) -> String {
    text.replace("%3D", "=")
        .replace("%3B", ";")
        .replace("%25", "%")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabulary_words_round_trip() {
        for level in AreaLevel::ALL {
            assert_eq!(level.as_str().parse::<AreaLevel>(), Ok(*level));
        }
        let err = "village".parse::<AreaLevel>().unwrap_err();
        assert_eq!(err.to_string(), "\"village\" is not a known AreaLevel");
    }

    #[test]
    fn breakdown_has_one_spelling_whatever_the_order() {
        let a = Breakdown::new([
            ("sex".into(), "female".into()),
            ("level".into(), "p;1=x".into()),
        ]);
        let b = Breakdown::new([
            ("level".into(), "p;1=x".into()),
            ("sex".into(), "female".into()),
        ]);
        assert_eq!(a.encode(), b.encode());
        assert_eq!(a.encode(), "level=p%3B1%3Dx;sex=female");
        assert_eq!(Breakdown::decode(&a.encode()), a);
        assert_eq!(Breakdown::new([("sex".into(), String::new())]).encode(), "");
    }
}
