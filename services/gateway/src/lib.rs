//! The GraphQL gateway: schema, resolvers and the axum router that serves them over
//! HTTP as the GraphQL-over-HTTP spec says, with an offline GraphiQL and the health
//! endpoints. Resolvers are thin: arguments in, one store call or a batched loader,
//! output types out. No SQL lives here.

mod alerts;
mod areas;
mod connection;
mod connectors;
pub mod error;
mod gaps;
mod http;
mod indicators;
mod limits;
mod loaders;
mod observations;
mod registry;

pub use http::HttpSettings;
pub use limits::{MAX_COMPLEXITY, MAX_DEPTH, MAX_FIELDS};

use abe_store::Store;
use async_graphql::{Context, EmptySubscription, MergedObject, Schema};
use error::CodeExt;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The root query: each domain file contributes its part.
#[derive(MergedObject, Default)]
pub struct Query(
    areas::AreaQuery,
    observations::ObservationQuery,
    indicators::IndicatorValueQuery,
    alerts::AlertQuery,
    registry::RegistryQuery,
    gaps::GapQuery,
    gaps::ResourceTotalsQuery,
    connectors::ConnectorQuery,
);

/// The root mutation.
#[derive(MergedObject, Default)]
pub struct Mutation(
    connectors::ConnectorMutation,
    areas::ReferenceMutation,
    indicators::IndicatorMutation,
    alerts::AlertMutation,
    registry::RegistryMutation,
);

/// The hub's GraphQL schema.
pub type AbeSchema = Schema<Query, Mutation, EmptySubscription>;

/// Builds the schema over `store`; `operations` runs, previews and saves connectors.
pub fn schema(store: Store, operations: Operations) -> AbeSchema {
    Schema::build(Query::default(), Mutation::default(), EmptySubscription)
        .data(store)
        .data(operations)
        .limit_depth(MAX_DEPTH)
        .limit_complexity(MAX_COMPLEXITY)
        .extension(limits::ValidationCodes)
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
    /// Computes indicator values and evaluates alerts on demand.
    pub analytics: abe_analytics::Analytics,
    /// The bearer token that allows changes through the API (`ABE_ADMIN_TOKEN`); with
    /// none set, the API changes nothing.
    pub admin_token: Option<String>,
}

/// Who is asking, resolved once per request from its `Authorization` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Caller {
    /// No credentials: the public.
    Public,
    /// The admin token.
    Admin,
    /// A bearer token that is not the admin token (a mistake, or a guess).
    Unknown,
}

impl Caller {
    /// Resolves the caller of a request bearing `token`.
    fn from_token(token: Option<&str>, admin_token: Option<&str>) -> Caller {
        match (token, admin_token) {
            (None, _) => Caller::Public,
            // Digests of equal length, compared in constant time: neither where the
            // token differs nor how long it is shows in the time of the answer.
            (Some(given), Some(expected))
                if bool::from(Sha256::digest(given).ct_eq(&Sha256::digest(expected))) =>
            {
                Caller::Admin
            }
            (Some(_), _) => Caller::Unknown,
        }
    }

    /// The caller of the request a resolver serves (the public when unknown).
    pub(crate) fn of(ctx: &Context<'_>) -> Caller {
        ctx.data_opt::<Caller>().copied().unwrap_or(Caller::Public)
    }

    /// Whether the caller may see and change everything.
    pub(crate) fn is_admin(self) -> bool {
        self == Caller::Admin
    }
}

impl Operations {
    /// Refuses the request unless it carries the admin token.
    pub(crate) fn authorize(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        if self.admin_token.is_none() {
            return Err(abe_schema::Code::Forbidden.error(
                "changes through the API are switched off on this hub (set ABE_ADMIN_TOKEN to allow them)",
            ));
        }
        match Caller::of(ctx) {
            Caller::Admin => Ok(()),
            Caller::Unknown => {
                Err(abe_schema::Code::Unauthenticated.error("the bearer token is not valid"))
            }
            Caller::Public => Err(abe_schema::Code::Unauthenticated
                .error("this needs the admin token: send `Authorization: Bearer <token>`")),
        }
    }
}

/// The HTTP routes: `/graphql` (GraphQL over HTTP; GraphiQL for a browser),
/// `/healthz`, `/readyz`.
pub fn router(store: Store, operations: Operations, settings: HttpSettings) -> axum::Router {
    http::router(store, operations, settings)
}
