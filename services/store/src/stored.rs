//! Rows of the database read as the unified model's own types ([`AreaRow`],
//! [`SchoolRow`], [`ResourceRow`], [`ProblemRow`], [`Agency`], [`Indicator`],
//! [`Threshold`]), so that the read side has
//! no record types of its own repeating them. A stored word that is not in its
//! vocabulary fails the read, naming the column.

use abe_schema::{Agency, AreaRow, Indicator, ProblemRow, ResourceRow, SchoolRow, Threshold};
use sqlx::{ColumnIndex, Decode, FromRow, Row, Type};

/// A model type decoded from a row of either database.
pub(crate) struct Stored<T>(pub T);

/// Reads a column of `row` that holds a word of a closed vocabulary.
pub(crate) fn word<'r, R, T>(row: &'r R, column: &'r str) -> sqlx::Result<T>
where
    R: Row,
    &'r str: ColumnIndex<R>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    T: std::str::FromStr<Err = abe_schema::UnknownWord>,
{
    let text: String = row.try_get(column)?;
    text.parse().map_err(|e| sqlx::Error::ColumnDecode {
        index: column.to_string(),
        source: Box::new(e),
    })
}

/// Reads a column of `row` that holds a word of a closed vocabulary, or NULL.
pub(crate) fn opt_word<'r, R, T>(row: &'r R, column: &'r str) -> sqlx::Result<Option<T>>
where
    R: Row,
    &'r str: ColumnIndex<R>,
    Option<String>: Decode<'r, R::Database> + Type<R::Database>,
    T: std::str::FromStr<Err = abe_schema::UnknownWord>,
{
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| t.parse())
        .transpose()
        .map_err(|e| sqlx::Error::ColumnDecode {
            index: column.to_string(),
            source: Box::new(e),
        })
}

/// Implements `FromRow` for `Stored<$model>` on both databases, each field read from
/// the column of its name; fields marked `word` hold a vocabulary word.
macro_rules! stored {
    ($model:ident { $($field:ident $(: $how:ident)?),+ $(,)? }) => {
        impl<'r, R> FromRow<'r, R> for Stored<$model>
        where
            R: Row,
            &'r str: ColumnIndex<R>,
            String: Decode<'r, R::Database> + Type<R::Database>,
            Option<String>: Decode<'r, R::Database> + Type<R::Database>,
            Option<f64>: Decode<'r, R::Database> + Type<R::Database>,
            Option<i32>: Decode<'r, R::Database> + Type<R::Database>,
        {
            fn from_row(row: &'r R) -> sqlx::Result<Self> {
                Ok(Stored($model {
                    $($field: stored!(@read row, $field $(, $how)?),)+
                }))
            }
        }
    };
    (@read $row:ident, $field:ident, word) => { word($row, stringify!($field))? };
    (@read $row:ident, $field:ident, opt_word) => { opt_word($row, stringify!($field))? };
    (@read $row:ident, $field:ident, list) => { list($row.try_get(stringify!($field))?) };
    (@read $row:ident, $field:ident, count) => {{
        let n: Option<i32> = $row.try_get(stringify!($field))?;
        n.and_then(|n| u32::try_from(n).ok())
    }};
    (@read $row:ident, $field:ident) => { $row.try_get(stringify!($field))? };
}

stored!(AreaRow {
    code,
    level: word,
    parent_code,
    name_th,
    name_en,
});

stored!(SchoolRow {
    code,
    name_th,
    name_en,
    area_code,
    affiliation,
    levels,
});

stored!(ResourceRow {
    code,
    title_th,
    title_en,
    description_th,
    description_en,
    category: word,
    subcategory,
    agency,
    contact,
    areas,
    topics,
    amount,
    unit: opt_word,
    valid_from,
    valid_to,
    origin: word,
});

stored!(ProblemRow {
    code,
    area_code,
    topic,
    statement_th,
    statement_en,
    group_name,
    workshop,
    raised_on,
    severity: word,
    status: word,
    children,
    origin: word,
});

stored!(Agency {
    code,
    name_th,
    name_en,
    kind: word,
});

stored!(Indicator {
    code,
    name_th,
    name_en,
    description_th,
    description_en,
    unit,
    kind: word,
    numerator,
    denominator,
    multiplier,
    denominator_lag: count,
    weight,
    direction: word,
    decimals: count,
    topic,
    breakdowns: list,
    sources: list,
});

/// A list stored as comma-separated text (codes and names have no commas).
pub(crate) fn list(text: String) -> Vec<String> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

stored!(Threshold {
    indicator,
    level: word,
    warning,
    critical,
});
