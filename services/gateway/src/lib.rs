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
use async_graphql::{Context, EmptyMutation, EmptySubscription, MergedObject, Schema};
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::extract::State;
use axum::http::StatusCode;
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

/// The hub's GraphQL schema.
pub type AbeSchema = Schema<Query, EmptyMutation, EmptySubscription>;

/// Deepest query accepted; deep enough for area > parent > parent chains.
const MAX_DEPTH: usize = 16;
/// Largest query complexity accepted (fields counted, lists weighted by page size).
const MAX_COMPLEXITY: usize = 100_000;

/// Builds the schema over `store`, previewing the `connectors` given.
pub fn schema(store: Store, connectors: Vec<abe_pipeline::ConnectorDef>) -> AbeSchema {
    let runnable = Runnable {
        pipeline: abe_pipeline::Pipeline::new(store.clone()),
        connectors: connectors
            .into_iter()
            .map(|c| (c.name.clone(), c))
            .collect(),
    };
    Schema::build(Query::default(), EmptyMutation, EmptySubscription)
        .data(store)
        .data(runnable)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .finish()
}

/// The schema in SDL, as published in `schema/schema.graphql`.
pub fn sdl() -> String {
    Schema::build(Query::default(), EmptyMutation, EmptySubscription)
        .finish()
        .sdl()
}

pub(crate) fn store<'a>(ctx: &'a Context<'_>) -> async_graphql::Result<&'a Store> {
    ctx.data::<Store>()
}

/// Connectors the hub can run (provisioned from the config), for previews.
pub struct Runnable {
    /// Runs and previews against the hub's store.
    pub pipeline: abe_pipeline::Pipeline,
    /// Definitions by name.
    pub connectors: std::collections::HashMap<String, abe_pipeline::ConnectorDef>,
}

#[derive(Clone)]
struct AppState {
    schema: AbeSchema,
    store: Store,
}

/// The HTTP routes: `/graphql` (POST queries, GET GraphiQL), `/healthz`, `/readyz`.
pub fn router(store: Store, connectors: Vec<abe_pipeline::ConnectorDef>) -> Router {
    let state = AppState {
        schema: schema(store.clone(), connectors),
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

async fn graphql(State(state): State<AppState>, request: GraphQLRequest) -> GraphQLResponse {
    let request = request
        .into_inner()
        .data(loaders::Loaders::new(&state.store));
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
