//! GraphQL over HTTP, as the spec says: POST with a JSON body, GET for queries (a
//! mutation over GET is 405), the response media type negotiated from `Accept`
//! (`application/graphql-response+json` gets 400 and no `data` for a request that fails
//! before execution), bodies above a limit refused with 413 before they are read, every
//! request bounded in time, and every error with a code from the closed list. A
//! browser's GET without a query gets GraphiQL, whose scripts and styles the hub serves
//! itself.

use crate::error::{withheld, CodeExt};
use crate::{limits, loaders::Loaders, AbeSchema, Caller, Operations};
use abe_schema::Code;
use abe_store::Store;
use async_graphql::parser::types::{DocumentOperations, OperationType};
use async_graphql::Variables;
use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

/// Limits of the HTTP layer.
#[derive(Debug, Clone, Copy)]
pub struct HttpSettings {
    /// Largest request body read; larger ones get 413 unread.
    pub max_body_bytes: usize,
    /// Longest a GraphQL request may take; its work stops then.
    pub request_timeout: Duration,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            max_body_bytes: 1024 * 1024,
            request_timeout: Duration::from_secs(30),
        }
    }
}

#[derive(Clone)]
struct AppState {
    schema: AbeSchema,
    store: Store,
    admin_token: Option<Arc<str>>,
    settings: HttpSettings,
}

/// The routes; see [`crate::router`].
pub(crate) fn router(store: Store, operations: Operations, settings: HttpSettings) -> Router {
    let admin_token = operations.admin_token.as_deref().map(Arc::from);
    let state = AppState {
        schema: crate::schema(store.clone(), operations),
        store,
        admin_token,
        settings,
    };
    Router::new()
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/graphql/assets/{file}", get(graphiql_asset))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(state)
        .layer(tower_http::trace::TraceLayer::new_for_http())
        // A backstop for every route; GraphQL requests stop at their own, shorter,
        // limit with an answer that says so.
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            settings.request_timeout + Duration::from_secs(5),
        ))
}

/// The media type of a GraphQL response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MediaType {
    /// `application/json`: every GraphQL response is 200.
    Json,
    /// `application/graphql-response+json`: a request that fails before execution is
    /// 400.
    GraphqlResponse,
}

impl MediaType {
    fn content_type(self) -> &'static str {
        match self {
            MediaType::Json => "application/json; charset=utf-8",
            MediaType::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
        }
    }

    /// The first type in `Accept` the hub can give; `application/json` without an
    /// `Accept`; `None` when nothing acceptable is listed.
    fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
        let Some(accept) = headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.trim().is_empty())
        else {
            return Some(MediaType::Json);
        };
        accept.split(',').find_map(|item| {
            let mut parts = item.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .and_then(|q| q.trim().parse::<f32>().ok())
                    == Some(0.0)
            });
            match media.as_str() {
                _ if refused => None,
                "application/graphql-response+json" => Some(MediaType::GraphqlResponse),
                "application/json" | "application/*" | "*/*" => Some(MediaType::Json),
                _ => None,
            }
        })
    }
}

/// An answer with an error and no `data`, for requests that never reached execution.
fn error_response(status: StatusCode, media: MediaType, error: async_graphql::Error) -> Response {
    let body = json!({ "errors": [{ "message": error.message, "extensions": error.extensions }] });
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media.content_type()),
    );
    response
}

/// A request the HTTP layer refuses: the status and the code that goes with it.
fn refuse(code: Code, media: MediaType, message: impl Into<String>) -> Response {
    let status = StatusCode::from_u16(code.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
    error_response(status, media, code.error(message))
}

/// The GraphQL parameters of a request, from a GET's query string or a POST's body.
struct Params {
    query: String,
    variables: Option<Value>,
    operation_name: Option<String>,
}

impl Params {
    /// Reads the parameters from a JSON object, refusing wrong types by name.
    fn from_json(body: Value) -> Result<Params, String> {
        let Value::Object(mut body) = body else {
            return Err("the body must be a JSON object".into());
        };
        let query = match body.remove("query") {
            Some(Value::String(query)) => query,
            None | Some(Value::Null) => return Err("the request has no `query`".into()),
            Some(_) => return Err("`query` must be a string".into()),
        };
        let variables = match body.remove("variables") {
            None | Some(Value::Null) => None,
            Some(object @ Value::Object(_)) => Some(object),
            Some(_) => return Err("`variables` must be an object".into()),
        };
        let operation_name = match body.remove("operationName") {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) => Some(name),
            Some(_) => return Err("`operationName` must be a string".into()),
        };
        match body.remove("extensions") {
            None | Some(Value::Null) | Some(Value::Object(_)) => {}
            Some(_) => return Err("`extensions` must be an object".into()),
        }
        Ok(Params {
            query,
            variables,
            operation_name,
        })
    }

    /// Reads the parameters of a GET; `None` without a `query`.
    fn from_query_string(raw: &str) -> Result<Option<Params>, String> {
        let mut object = serde_json::Map::new();
        for (name, value) in form_urlencoded::parse(raw.as_bytes()) {
            let value = match name.as_ref() {
                "variables" | "extensions" => {
                    serde_json::from_str(&value).map_err(|_| format!("`{name}` is not JSON"))?
                }
                _ => Value::String(value.into_owned()),
            };
            object.insert(name.into_owned(), value);
        }
        if !object.contains_key("query") {
            return Ok(None);
        }
        Params::from_json(Value::Object(object)).map(Some)
    }
}

async fn graphql_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let params = match Params::from_query_string(raw.as_deref().unwrap_or("")) {
        Ok(Some(params)) => params,
        Ok(None) if accepts_html(&headers) => return Html(GRAPHIQL_PAGE).into_response(),
        Ok(None) => {
            let media = MediaType::negotiate(&headers).unwrap_or(MediaType::Json);
            return refuse(Code::BadRequest, media, "the request has no `query`");
        }
        Err(problem) => {
            let media = MediaType::negotiate(&headers).unwrap_or(MediaType::Json);
            return refuse(Code::BadRequest, media, problem);
        }
    };
    execute(&state, &headers, Method::GET, params).await
}

async fn graphql_post(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let media = MediaType::negotiate(&headers).unwrap_or(MediaType::Json);
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let is_json = content_type
        .split(';')
        .next()
        .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return refuse(
            Code::UnsupportedMediaType,
            media,
            "send the request as `Content-Type: application/json`",
        );
    }
    let limit = state.settings.max_body_bytes;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return too_large(media, limit);
    }
    let bytes: Bytes = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => bytes,
        Err(_) => return too_large(media, limit),
    };
    let params = match serde_json::from_slice::<Value>(&bytes) {
        Ok(body) => Params::from_json(body),
        Err(e) => Err(format!("the body is not JSON: {e}")),
    };
    match params {
        Ok(params) => execute(&state, &headers, Method::POST, params).await,
        Err(problem) => refuse(Code::BadRequest, media, problem),
    }
}

fn too_large(media: MediaType, limit: usize) -> Response {
    refuse(
        Code::PayloadTooLarge,
        media,
        format!("the request body is larger than the limit of {limit} bytes"),
    )
}

fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// Parses, checks and runs a GraphQL request within the request time limit.
async fn execute(
    state: &AppState,
    headers: &HeaderMap,
    method: Method,
    params: Params,
) -> Response {
    let Some(media) = MediaType::negotiate(headers) else {
        return refuse(
            Code::NotAcceptable,
            MediaType::Json,
            "accept application/graphql-response+json or application/json",
        );
    };
    let mut request = async_graphql::Request::new(params.query);
    if let Some(variables) = params.variables {
        request = request.variables(Variables::from_json(variables));
    }
    if let Some(name) = &params.operation_name {
        request = request.operation_name(name);
    }
    // Parsed here, once, so that the operation's kind and size are known before
    // anything else looks at it.
    let document = match request.parsed_query() {
        Ok(document) => document,
        Err(error) => return before_execution(media, Code::QueryInvalid, error.message),
    };
    let operation = match (&document.operations, params.operation_name.as_deref()) {
        (DocumentOperations::Single(operation), _) => Some(operation),
        (DocumentOperations::Multiple(operations), Some(name)) => operations.get(name),
        (DocumentOperations::Multiple(operations), None) if operations.len() == 1 => {
            operations.values().next()
        }
        (DocumentOperations::Multiple(_), None) => {
            return before_execution(
                media,
                Code::QueryInvalid,
                "the document has several operations; name one in `operationName`".into(),
            )
        }
    };
    let Some(operation) = operation else {
        return before_execution(
            media,
            Code::QueryInvalid,
            format!(
                "the document has no operation named {:?}",
                params.operation_name.unwrap_or_default()
            ),
        );
    };
    if method == Method::GET && operation.node.ty != OperationType::Query {
        let mut refused = refuse(
            Code::MethodNotAllowed,
            media,
            "only queries run over GET; send mutations with POST",
        );
        refused
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return refused;
    }
    // Validation walks every operation and fragment of the document, not only the one
    // that runs: all of them are measured.
    if let Err(problem) = limits::check_document(document) {
        return before_execution(media, Code::TooComplex, problem);
    }
    let token = bearer_token(headers);
    let caller = Caller::from_token(token.as_deref(), state.admin_token.as_deref());
    let request = request
        .data(Loaders::new(&state.store))
        .data(caller)
        .data(crate::connectors::PreviewBudget::default());
    let response = match tokio::time::timeout(
        state.settings.request_timeout,
        state.schema.execute(request),
    )
    .await
    {
        Ok(response) => response,
        Err(_) => {
            return refuse(
                Code::Timeout,
                media,
                format!(
                    "the request took longer than {} s and was stopped",
                    state.settings.request_timeout.as_secs()
                ),
            )
        }
    };
    graphql_response(media, response)
}

/// A request refused before execution: 400 for `application/graphql-response+json`,
/// 200 for `application/json`, never a `data` entry.
fn before_execution(media: MediaType, code: Code, message: String) -> Response {
    let status = match media {
        MediaType::GraphqlResponse => StatusCode::BAD_REQUEST,
        MediaType::Json => StatusCode::OK,
    };
    error_response(status, media, code.error(message))
}

/// Serializes a response, giving every error without a code one from the closed list.
fn graphql_response(media: MediaType, mut response: async_graphql::Response) -> Response {
    for error in &mut response.errors {
        let coded = error
            .extensions
            .as_ref()
            .is_some_and(|e| e.get("code").is_some());
        if coded {
            continue;
        }
        // async-graphql's own complaints about argument values are the caller's doing.
        let input = error.message.starts_with("Failed to parse")
            || error.message.starts_with("Invalid value");
        if input {
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("code", Code::BadInput.as_str());
        } else {
            let withheld = withheld(Code::Internal, &error.message);
            error.message = withheld.message;
            error
                .extensions
                .get_or_insert_with(Default::default)
                .set("code", Code::Internal.as_str());
        }
    }
    let before_execution = response.data == async_graphql::Value::Null
        && !response.errors.is_empty()
        && response.errors.iter().all(|e| {
            let code = e.extensions.as_ref().and_then(|x| x.get("code"));
            matches!(code, Some(async_graphql::Value::String(c))
                if c == Code::QueryInvalid.as_str() || c == Code::TooComplex.as_str())
        });
    let mut body = serde_json::to_value(&response).unwrap_or_else(|_| json!({}));
    let status = if before_execution {
        if let Value::Object(map) = &mut body {
            map.remove("data");
        }
        match media {
            MediaType::GraphqlResponse => StatusCode::BAD_REQUEST,
            MediaType::Json => StatusCode::OK,
        }
    } else {
        StatusCode::OK
    };
    let mut answer = (status, body.to_string()).into_response();
    answer.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media.content_type()),
    );
    answer
}

/// The `Authorization: Bearer` token of a request, if it carried one.
fn bearer_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_string())
}

/// GraphiQL's page; it loads only the assets below.
const GRAPHIQL_PAGE: &str = include_str!("../vendor/graphiql/index.html");

/// GraphiQL's scripts and styles, served by the hub so that it works offline (see
/// `vendor/graphiql/README.md` for where they come from).
const GRAPHIQL_ASSETS: [(&str, &str, &[u8]); 4] = [
    (
        "graphiql.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../vendor/graphiql/graphiql.min.js"),
    ),
    (
        "graphiql.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../vendor/graphiql/graphiql.min.css"),
    ),
    (
        "react.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../vendor/graphiql/react.production.min.js"),
    ),
    (
        "react-dom.production.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../vendor/graphiql/react-dom.production.min.js"),
    ),
];

async fn graphiql_asset(Path(file): Path<String>) -> Response {
    match GRAPHIQL_ASSETS.iter().find(|(name, _, _)| *name == file) {
        Some((_, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            *bytes,
        )
            .into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// Ready when the database answers within a second.
async fn readyz(State(state): State<AppState>) -> Response {
    match tokio::time::timeout(Duration::from_secs(1), state.store.ping()).await {
        Ok(Ok(())) => "ready".into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
        Err(_) => {
            tracing::warn!("not ready: the database did not answer within 1 s");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: &str) -> Option<MediaType> {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT,
            HeaderValue::from_str(value).expect("header"),
        );
        MediaType::negotiate(&headers)
    }

    #[test]
    fn accept_headers_choose_the_media_type() {
        assert_eq!(
            MediaType::negotiate(&HeaderMap::new()),
            Some(MediaType::Json)
        );
        assert_eq!(accept("application/json"), Some(MediaType::Json));
        assert_eq!(accept("*/*"), Some(MediaType::Json));
        assert_eq!(
            accept("application/graphql-response+json, application/json;q=0.9"),
            Some(MediaType::GraphqlResponse)
        );
        assert_eq!(
            accept("application/json, application/graphql-response+json"),
            Some(MediaType::Json)
        );
        assert_eq!(accept("text/html"), None);
        assert_eq!(accept("application/json;q=0, text/plain"), None);
    }

    #[test]
    fn parameters_of_the_wrong_type_are_named() {
        let err = |body: Value| Params::from_json(body).err().unwrap_or_default();
        assert_eq!(
            err(json!({ "qeury": "{ a }" })),
            "the request has no `query`"
        );
        assert_eq!(err(json!({ "query": 0 })), "`query` must be a string");
        assert_eq!(
            err(json!({ "query": "{ a }", "variables": "x" })),
            "`variables` must be an object"
        );
        assert_eq!(
            err(json!({ "query": "{ a }", "operationName": false })),
            "`operationName` must be a string"
        );
        assert_eq!(
            err(json!({ "query": "{ a }", "extensions": ["x"] })),
            "`extensions` must be an object"
        );
        assert_eq!(err(json!(["x"])), "the body must be a JSON object");
        let get = Params::from_query_string("query=%7B+a+%7D&variables=%7B%22x%22%3A1%7D")
            .expect("reads")
            .expect("has a query");
        assert_eq!(get.query, "{ a }");
        assert_eq!(get.variables, Some(json!({ "x": 1 })));
        assert!(Params::from_query_string("").expect("reads").is_none());
    }
}
