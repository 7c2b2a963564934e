//! Web sources for connector tests, served on 127.0.0.1 by the test itself.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A paged JSON API at `/areas` (`?page=N`, from 1) that answers each request after
/// `delay`: pages 1 to `pages` hold one record each (a province `code` and `name`, and an
/// observation of area 9011: `year` 2560 + N in the Buddhist era, `n` = N), later pages
/// are empty. Spawned on the current runtime; returns its URL and a count of its hits.
pub async fn slow_pages(delay: Duration, pages: u64) -> (String, Arc<AtomicUsize>) {
    use axum::extract::Query;
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&hits);
    let app = axum::Router::new().route(
        "/areas",
        axum::routing::get(move |Query(q): Query<HashMap<String, String>>| {
            let counted = Arc::clone(&counted);
            async move {
                counted.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(delay).await;
                let page: u64 = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
                if page > pages {
                    return axum::Json(serde_json::json!([]));
                }
                axum::Json(serde_json::json!([{
                    "code": format!("{}", 10 + page),
                    "name": "จังหวัด",
                    "area": "9011",
                    "year": format!("{}", 2560 + page),
                    "n": page,
                }]))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{address}/areas"), hits)
}
