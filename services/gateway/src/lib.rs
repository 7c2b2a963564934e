//! The GraphQL gateway: schema, resolvers and the axum router that serves them with
//! GraphiQL and the health endpoints. Resolvers are thin: arguments in, one store call
//! or a batched loader, output types out. No SQL lives here.

mod areas;
mod connection;
mod connectors;
pub mod error;
mod loaders;
mod observations;

use abe_store::Store;
use async_graphql::http::GraphiQLSource;
use async_graphql::{Context, EmptySubscription, MergedObject, Schema};
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::time::Duration;

/// The root query: each domain file contributes its part.
#[derive(MergedObject, Default)]
pub struct Query(
    areas::AreaQuery,
    observations::ObservationQuery,
    connectors::ConnectorQuery,
);

/// The root mutation.
#[derive(MergedObject, Default)]
pub struct Mutation(connectors::ConnectorMutation);

/// The hub's GraphQL schema.
pub type AbeSchema = Schema<Query, Mutation, EmptySubscription>;

/// Deepest query accepted; deep enough for area > parent > parent chains.
const MAX_DEPTH: usize = 16;
/// Largest query complexity accepted (fields counted, lists weighted by page size).
const MAX_COMPLEXITY: usize = 100_000;

/// Builds the schema over `store`; `operations` runs, previews and saves connectors.
pub fn schema(store: Store, operations: Operations) -> AbeSchema {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .data(store)
        .data(operations)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .finish()
}

/// The schema in SDL, as published in `schema/schema.graphql`.
pub fn sdl() -> String {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .finish()
        .sdl()
}

pub(crate) fn store<'a>(ctx: &'a Context<'_>) -> async_graphql::Result<&'a Store> {
    ctx.data::<Store>()
}

/// What the gateway needs to act on connectors, beyond reading the store.
pub struct Operations {
    /// Previews against the hub's store.
    pub pipeline: abe_pipeline::Pipeline,
    /// The connectors, provisioned and saved; saves them and their schedules.
    pub registry: abe_pipeline::Registry,
    /// The bearer token that allows changes through the API (`ABE_ADMIN_TOKEN`); with
    /// none set, the API changes nothing.
    pub admin_token: Option<String>,
}

impl Operations {
    /// Refuses the request unless it carries the admin token.
    pub(crate) fn authorize(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        let Some(expected) = &self.admin_token else {
            return Err(error::ErrorCode::Forbidden.error(
                "changes through the API are switched off on this hub (set ABE_ADMIN_TOKEN to allow them)",
            ));
        };
        let given = ctx.data_opt::<BearerToken>().and_then(|t| t.0.as_deref());
        match given {
            Some(token) if same_secret(token.as_bytes(), expected.as_bytes()) => Ok(()),
            Some(_) => {
                Err(error::ErrorCode::Unauthenticated.error("the bearer token is not valid"))
            }
            None => Err(error::ErrorCode::Unauthenticated
                .error("this needs the admin token: send `Authorization: Bearer <token>`")),
        }
    }
}

/// The `Authorization: Bearer` token of a request, if it carried one.
struct BearerToken(Option<String>);

/// Compares secrets in time that does not depend on where they differ.
fn same_secret(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[derive(Clone)]
struct AppState {
    schema: AbeSchema,
    store: Store,
}

/// The HTTP routes: `/graphql` (POST queries, GET GraphiQL), `/healthz`, `/readyz`.
pub fn router(store: Store, operations: Operations) -> Router {
    let state = AppState {
        schema: schema(store.clone(), operations),
        store,
    };
    Router::new()
        .route("/graphql", get(graphiql).post(graphql))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .with_state(state)
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
}

async fn graphql(
    State(state): State<AppState>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> GraphQLResponse {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_string());
    let request = request
        .into_inner()
        .data(loaders::Loaders::new(&state.store))
        .data(BearerToken(token));
    state.schema.execute(request).await.into()
}

async fn graphiql() -> Html<String> {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .title("abe-hub GraphQL")
            .finish(),
    )
}

async fn readyz(State(state): State<AppState>) -> Response {
    match state.store.ping().await {
        Ok(()) => "ready".into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable").into_response()
        }
    }
}
