//! Values bound to `$n` placeholders, and the few helpers that run a query on either
//! backend with them. Keeping parameters as data lets one function serve both drivers.

use crate::{on_pool, Context, Result, Store};
use chrono::{DateTime, Utc};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::FromRow;

/// A value bound to a query placeholder.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    /// Text or NULL.
    Text(Option<String>),
    /// Integer or NULL.
    Int(Option<i64>),
    /// Float or NULL.
    Float(Option<f64>),
    /// A point in time, or NULL.
    Time(Option<DateTime<Utc>>),
}

impl From<&str> for Param {
    fn from(v: &str) -> Self {
        Param::Text(Some(v.to_string()))
    }
}
impl From<String> for Param {
    fn from(v: String) -> Self {
        Param::Text(Some(v))
    }
}
impl From<&String> for Param {
    fn from(v: &String) -> Self {
        Param::Text(Some(v.clone()))
    }
}
impl From<Option<String>> for Param {
    fn from(v: Option<String>) -> Self {
        Param::Text(v)
    }
}
impl From<Option<&str>> for Param {
    fn from(v: Option<&str>) -> Self {
        Param::Text(v.map(str::to_string))
    }
}
impl From<i64> for Param {
    fn from(v: i64) -> Self {
        Param::Int(Some(v))
    }
}
impl From<Option<i64>> for Param {
    fn from(v: Option<i64>) -> Self {
        Param::Int(v)
    }
}
impl From<f64> for Param {
    fn from(v: f64) -> Self {
        Param::Float(Some(v))
    }
}
impl From<Option<f64>> for Param {
    fn from(v: Option<f64>) -> Self {
        Param::Float(v)
    }
}
impl From<DateTime<Utc>> for Param {
    fn from(v: DateTime<Utc>) -> Self {
        Param::Time(Some(v))
    }
}
impl From<Option<DateTime<Utc>>> for Param {
    fn from(v: Option<DateTime<Utc>>) -> Self {
        Param::Time(v)
    }
}

/// Builds a `Vec<Param>` from values of mixed types.
#[macro_export]
macro_rules! params {
    ($($value:expr),* $(,)?) => { vec![$($crate::Param::from($value)),*] };
}

/// Binds every parameter to a `sqlx` query or query_as, in order; `$params` yields
/// owned [`Param`]s, whose texts go to the driver without another copy.
macro_rules! bind_all {
    ($query:expr, $params:expr) => {{
        let mut query = $query;
        for param in $params {
            query = match param {
                $crate::Param::Text(v) => query.bind(v),
                $crate::Param::Int(v) => query.bind(v),
                $crate::Param::Float(v) => query.bind(v),
                $crate::Param::Time(v) => query.bind(v),
            };
        }
        query
    }};
}
pub(crate) use bind_all;

/// A row type both drivers can decode.
pub trait AnyRow:
    for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}
impl<T> AnyRow for T where
    T: for<'r> FromRow<'r, SqliteRow> + for<'r> FromRow<'r, PgRow> + Send + Unpin
{
}

impl Store {
    /// Runs a query and decodes every row.
    pub(crate) async fn fetch_all<T: AnyRow>(
        &self,
        sql: &str,
        params: Vec<Param>,
        what: &str,
    ) -> Result<Vec<T>> {
        on_pool!(self, pool => bind_all!(sqlx::query_as::<_, T>(sql), params).fetch_all(pool).await)
            .context(what)
    }

    /// Runs a query returning one integer (a count, an id).
    pub(crate) async fn scalar_i64(
        &self,
        sql: &str,
        params: Vec<Param>,
        what: &str,
    ) -> Result<i64> {
        let (value,): (i64,) =
            on_pool!(self, pool => bind_all!(sqlx::query_as(sql), params).fetch_one(pool).await)
                .context(what)?;
        Ok(value)
    }

    /// Runs a statement and returns the number of rows it touched.
    pub(crate) async fn execute(&self, sql: &str, params: Vec<Param>, what: &str) -> Result<u64> {
        on_pool!(self, pool => bind_all!(sqlx::query(sql), params).execute(pool).await.map(|r| r.rows_affected())).context(what)
    }
}
