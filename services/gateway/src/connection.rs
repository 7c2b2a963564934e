//! Relay connections built from the store's pages: edges, node, pageInfo, totalCount.

use crate::error::{failure, CodeExt};
use abe_schema::Code;
use abe_store::Page;
use async_graphql::connection::{Connection, CursorType, Edge, EmptyFields, OpaqueCursor};
use async_graphql::{OutputType, Result, SimpleObject};

/// Page size when a client does not say.
pub const DEFAULT_PAGE: i32 = 100;

/// Extra field of every connection.
#[derive(SimpleObject)]
pub struct TotalCount {
    /// Items matching the filter over all pages.
    pub total_count: i64,
}

/// The connection type of every list.
pub type Conn<N> = Connection<String, N, TotalCount, EmptyFields>;

/// The complexity of a list field: its fields count once for each item it may return,
/// so a list nested in a list is weighed as the rows it can produce.
pub fn page_complexity(first: Option<i32>, child_complexity: usize) -> usize {
    let items = first
        .unwrap_or(DEFAULT_PAGE)
        .clamp(0, abe_store::MAX_PAGE as i32) as usize;
    items.max(1).saturating_mul(child_complexity)
}

/// Checked `first` and `after` of a forward page.
pub struct PageArgs<A> {
    /// Items wanted.
    pub first: usize,
    /// Cursor decoded.
    pub after: Option<A>,
}

/// Validates `first` (0..=1000) and decodes `after` with `parse`.
pub fn page_args<A>(
    first: Option<i32>,
    after: Option<String>,
    parse: impl Fn(&str) -> Option<A>,
) -> Result<PageArgs<A>> {
    let first = first.unwrap_or(DEFAULT_PAGE);
    if !(0..=abe_store::MAX_PAGE as i32).contains(&first) {
        return Err(Code::BadInput.error(format!(
            "first must be between 0 and {}",
            abe_store::MAX_PAGE
        )));
    }
    let after = match after {
        Some(cursor) => Some(
            parse(&cursor)
                .ok_or_else(|| Code::BadInput.error("after is not a cursor of this list"))?,
        ),
        None => None,
    };
    Ok(PageArgs {
        first: first as usize,
        after,
    })
}

/// Parses an integer cursor.
pub fn int_cursor(cursor: &str) -> Option<i64> {
    cursor.parse().ok()
}

/// Parses an opaque cursor made by [`encode_key`].
pub fn key_cursor<K: serde::de::DeserializeOwned + serde::Serialize>(cursor: &str) -> Option<K> {
    OpaqueCursor::<K>::decode_cursor(cursor).ok().map(|c| c.0)
}

/// Encodes a composite sort key as an opaque cursor (base64 of its JSON).
pub fn encode_key<K: serde::de::DeserializeOwned + serde::Serialize>(key: K) -> String {
    OpaqueCursor(key).encode_cursor()
}

/// Parses a text cursor.
pub fn text_cursor(cursor: &str) -> Option<String> {
    Some(cursor.to_string())
}

/// A forward page of a list: checks `first` and `after` (decoded with `parse`), asks
/// `fetch` for the page, and builds the connection with each item's cursor from `key`.
pub async fn paged<A, T, N, Fut>(
    first: Option<i32>,
    after: Option<String>,
    parse: impl Fn(&str) -> Option<A>,
    fetch: impl FnOnce(Option<A>, usize) -> Fut,
    key: impl Fn(&T) -> String,
    node: impl Fn(T) -> Result<N>,
) -> Result<Conn<N>>
where
    N: OutputType,
    Fut: std::future::Future<Output = Result<Page<T>, abe_store::StoreError>>,
{
    let args = page_args(first, after, parse)?;
    let had_cursor = args.after.is_some();
    let page = fetch(args.after, args.first).await.map_err(failure)?;
    connection(page, had_cursor, key, node)
}

/// Builds a connection from a page; `cursor` gives each item's sort key.
pub fn connection<T, N: OutputType>(
    page: Page<T>,
    had_cursor: bool,
    cursor: impl Fn(&T) -> String,
    node: impl Fn(T) -> Result<N>,
) -> Result<Conn<N>> {
    let mut conn = Connection::with_additional_fields(
        had_cursor,
        page.has_next_page,
        TotalCount {
            total_count: page.total_count,
        },
    );
    for item in page.items {
        let key = cursor(&item);
        conn.edges.push(Edge::new(key, node(item)?));
    }
    Ok(conn)
}
