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
    /// Whether an indicator counts things or relates two counts.
    IndicatorKind {
        /// A count that sums up the area hierarchy.
        Count = "count",
        /// A ratio of a numerator to a denominator indicator.
        Ratio = "ratio",
    }
}

vocabulary! {
    /// Which way an indicator gets worse.
    Direction {
        /// Higher values are worse (out-of-school children).
        HigherIsWorse = "higher_is_worse",
        /// Lower values are worse (enrolment rate).
        LowerIsWorse = "lower_is_worse",
    }
}

vocabulary! {
    /// What rows a connector's mapping produces.
    Target {
        /// Values of indicators.
        Observations = "observations",
        /// Provinces, districts and subdistricts.
        Areas = "areas",
        /// Schools.
        Schools = "schools",
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

/// An indicator of the catalogue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Indicator {
    /// Stable code, e.g. `out_of_school_children`.
    pub code: String,
    /// Thai name.
    pub name_th: String,
    /// English name.
    pub name_en: Option<String>,
    /// Unit of the value, e.g. `persons` or `percent`.
    pub unit: String,
    /// Count or ratio.
    pub kind: IndicatorKind,
    /// For ratios: the numerator indicator.
    pub numerator: Option<String>,
    /// For ratios: the denominator indicator.
    pub denominator: Option<String>,
    /// Which way is worse.
    pub direction: Direction,
    /// Topic used to match problems and resources, e.g. `access`.
    pub topic: Option<String>,
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
