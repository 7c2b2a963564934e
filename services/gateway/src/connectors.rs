//! Connectors, their runs and the rejects of each run: what a data steward watches.

use crate::areas::Agency;
use crate::connection::{int_cursor, paged, text_cursor, Conn};
use crate::error::{corrupt, failure, CodeExt};
use crate::error::{failure_for, internal};
use crate::loaders::load_node;
use crate::{loaders::Loaders, store, Caller};
use abe_pipeline::MAX_PREVIEW_TIME;
use abe_schema::redact::REDACTED;
use abe_schema::Code;
use abe_store::{ConnectorRecord, RejectRecord, RunRecord};
use async_graphql::{ComplexObject, Context, Enum, Json, Object, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};
use std::sync::atomic::{AtomicBool, Ordering};

/// State of a run.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "abe_schema::RunStatus")]
pub enum RunStatus {
    /// Reading and loading now.
    Running,
    /// Committed.
    Succeeded,
    /// Rolled back; the previous data stands.
    Failed,
    /// Its process stopped answering and its lease expired; rolled back.
    Abandoned,
    /// Stopped on request and rolled back.
    Cancelled,
}

/// The closed list of error codes, as `Run.errorCode` and `extensions.code` give them.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "abe_schema::Code")]
pub enum ErrorCode {
    /// The named thing does not exist.
    NotFound,
    /// An argument or a definition is invalid.
    BadInput,
    /// The HTTP request is not a GraphQL request.
    BadRequest,
    /// The query does not parse or validate.
    QueryInvalid,
    /// The query is too deep, complex or large.
    TooComplex,
    /// Credentials are missing or wrong.
    Unauthenticated,
    /// Not allowed.
    Forbidden,
    /// A mutation over GET.
    MethodNotAllowed,
    /// No acceptable response media type.
    NotAcceptable,
    /// The request body is too large.
    PayloadTooLarge,
    /// The request's content type is not JSON.
    UnsupportedMediaType,
    /// The request took too long and was stopped.
    Timeout,
    /// The database is unavailable.
    Unavailable,
    /// A connector's source could not be read.
    SourceUnreadable,
    /// A connector's source does not have the shape its mapping expects.
    SourceInvalid,
    /// A connector's configuration cannot run.
    ConfigInvalid,
    /// Too many rows were rejected; nothing was loaded.
    TooManyRejects,
    /// The source gave no rows to load.
    EmptySource,
    /// The run would change reference rows another connector loaded.
    OwnedElsewhere,
    /// The row to remove is still referred to.
    InUse,
    /// The connector was already running.
    AlreadyRunning,
    /// The run's process stopped; its lease expired.
    Abandoned,
    /// The run was cancelled.
    Cancelled,
    /// The hub failed.
    Internal,
}

/// What a connector's mapping produces.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "abe_schema::Target")]
pub enum Target {
    /// Indicator values.
    Observations,
    /// Areas.
    Areas,
    /// Schools.
    Schools,
    /// The province's resource capital.
    Resources,
    /// Problems recorded at workshops.
    Problems,
}

/// A source the hub pulls from on a schedule.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Connector {
    /// Unique name.
    pub name: String,
    /// Source kind: csv, excel, ...
    pub kind: String,
    /// What the mapping produces.
    pub target: Target,
    /// 6-field cron schedule (Asia/Bangkok), if any.
    pub schedule: Option<String>,
    /// Declared in the config file; read-only through the API.
    pub provisioned: bool,
    /// Last change of the definition.
    pub updated_at: DateTime<Utc>,
    #[graphql(skip)]
    pub config: String,
    #[graphql(skip)]
    pub agency_code: Option<String>,
}

impl TryFrom<ConnectorRecord> for Connector {
    type Error = async_graphql::Error;
    fn try_from(r: ConnectorRecord) -> Result<Self> {
        let spec = r.spec;
        let target: abe_schema::Target = spec
            .target
            .parse()
            .map_err(|_| corrupt("target", &spec.target))?;
        Ok(Connector {
            name: spec.name,
            kind: spec.kind,
            target: target.into(),
            schedule: spec.schedule,
            provisioned: r.provisioned,
            updated_at: r.updated_at,
            config: spec.config,
            agency_code: spec.agency,
        })
    }
}

#[ComplexObject]
impl Connector {
    /// The whole definition as JSON, in the shape `saveConnector` takes. Secrets are
    /// only ever names of environment variables; callers without the admin token see
    /// whatever may still hold one redacted (passwords in URLs, values of secret-looking
    /// query parameters, header values, request bodies, a database query).
    async fn definition(&self, ctx: &Context<'_>) -> String {
        if Caller::of(ctx).is_admin() {
            self.config.clone()
        } else {
            redacted_definition(&self.config)
        }
    }

    /// The agency that owns the source.
    async fn agency(&self, ctx: &Context<'_>) -> Result<Option<Agency>> {
        match &self.agency_code {
            Some(code) => load_node(&ctx.data::<Loaders>()?.agencies, code.clone()).await,
            None => Ok(None),
        }
    }

    /// The most recent run.
    async fn latest_run(&self, ctx: &Context<'_>) -> Result<Option<Run>> {
        load_node(&ctx.data::<Loaders>()?.latest_runs, self.name.clone()).await
    }

    /// Runs, newest first.
    #[graphql(complexity = "crate::connection::page_complexity(first, child_complexity)")]
    async fn runs(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<Run>> {
        runs_page(ctx, Some(&self.name), first, after).await
    }
}

/// Row counts of a run.
#[derive(SimpleObject)]
pub struct RunCounts {
    /// Rows read, rejects included.
    pub read: i64,
    /// New rows.
    pub inserted: i64,
    /// Rows whose value changed.
    pub updated: i64,
    /// Rows already up to date.
    pub unchanged: i64,
    /// Rows removed because the source no longer has them.
    pub deleted: i64,
    /// Rows refused.
    pub rejected: i64,
    /// Rows whose key an earlier row of the run gave, merged into it as the connector
    /// chose (each is a warning). read = inserted + updated + unchanged + duplicates +
    /// rejected.
    pub duplicates: i64,
}

/// Whether a remark refused its row or only flagged it.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "abe_schema::Severity")]
pub enum Severity {
    /// The row was not loaded.
    Reject,
    /// The row was loaded, merged or kept out by the connector's choice.
    Warning,
    /// What the connector asked for, counted (records skipped, rows aggregated).
    Info,
}

/// A place in a source.
#[derive(SimpleObject)]
pub struct Place {
    /// File or URL.
    pub file: String,
    /// Sheet of a workbook.
    pub sheet: Option<String>,
    /// Row as a spreadsheet numbers it (the header counts).
    pub row: Option<i64>,
    /// Column header, or JSON path.
    pub column: Option<String>,
}

/// Rows a run refused or flagged for one reason.
#[derive(SimpleObject)]
pub struct ReasonCount {
    /// Reject or warning.
    pub severity: Severity,
    /// The reason, the rows' own values left out (`area … is not known`).
    pub reason: String,
    /// Rows with this reason.
    pub count: i64,
    /// Where the first three are.
    pub positions: Vec<Place>,
}

impl From<&abe_schema::ReasonCount> for ReasonCount {
    fn from(line: &abe_schema::ReasonCount) -> Self {
        ReasonCount {
            severity: line.severity.into(),
            reason: line.reason.clone(),
            count: i64::try_from(line.count).unwrap_or(i64::MAX),
            positions: line
                .positions
                .iter()
                .map(|p| Place {
                    file: p.file.clone(),
                    sheet: p.sheet.clone(),
                    row: p.row.and_then(|n| i64::try_from(n).ok()),
                    column: p.column.clone(),
                })
                .collect(),
        }
    }
}

/// One run of a connector.
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Run {
    /// Run id.
    pub id: ID,
    /// Connector name.
    pub connector: String,
    /// What started it: schedule, startup or manual.
    pub trigger: String,
    /// State.
    pub status: RunStatus,
    /// Start.
    pub started_at: DateTime<Utc>,
    /// End, once ended.
    pub finished_at: Option<DateTime<Utc>>,
    /// Row counts.
    pub counts: RunCounts,
    /// Milliseconds reading and mapping.
    pub read_ms: i64,
    /// Milliseconds loading.
    pub load_ms: i64,
    /// Why a run that did not succeed did not: its code in the closed list.
    pub error_code: Option<ErrorCode>,
    #[graphql(skip)]
    pub detail: Option<String>,
    #[graphql(skip)]
    pub run_id: i64,
    #[graphql(skip)]
    pub summary: abe_schema::ReasonSummary,
}

impl From<RunRecord> for Run {
    fn from(r: RunRecord) -> Self {
        let figure = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let counts = &r.end.counts;
        Run {
            id: ID(r.id.to_string()),
            run_id: r.id,
            connector: r.connector,
            trigger: r.trigger,
            status: r.status.into(),
            started_at: r.started_at,
            finished_at: r.finished_at,
            counts: RunCounts {
                read: figure(counts.read),
                inserted: figure(counts.inserted),
                updated: figure(counts.updated),
                unchanged: figure(counts.unchanged),
                deleted: figure(counts.deleted),
                rejected: figure(counts.rejected),
                duplicates: figure(counts.duplicates),
            },
            read_ms: figure(r.end.read_ms),
            load_ms: figure(r.end.load_ms),
            error_code: r.end.error_code.map(Into::into),
            detail: r.end.error,
            summary: r.summary,
        }
    }
}

#[ComplexObject]
impl Run {
    /// Why a run that did not succeed did not, as anyone may read it: the error itself
    /// when its code allows (counts of rejects, say), else the code's message with the
    /// run's id, under which the hub's log has the details.
    async fn error(&self) -> Option<String> {
        let code: abe_schema::Code = self.error_code?.into();
        Some(match &self.detail {
            Some(detail) if code.detail_is_public() => detail.clone(),
            _ => format!(
                "{} (run {}; the hub's log has the details)",
                code.public_message(),
                self.run_id
            ),
        })
    }

    /// The whole error, with paths and the driver's words: for admins only (null for
    /// everyone else).
    async fn error_detail(&self, ctx: &Context<'_>) -> Option<String> {
        Caller::of(ctx)
            .is_admin()
            .then(|| self.detail.clone())
            .flatten()
    }

    /// Rows refused by this run, in source order, with their positions.
    #[graphql(complexity = "crate::connection::page_complexity(first, child_complexity)")]
    async fn rejects(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<Reject>> {
        self.remarks(ctx, abe_schema::Severity::Reject, first, after)
            .await
    }

    /// Rows this run loaded, merged or kept out by its connector's choice that a
    /// steward should know of: a key repeated in the source, a reference row another
    /// connector loaded.
    #[graphql(complexity = "crate::connection::page_complexity(first, child_complexity)")]
    async fn warnings(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<Reject>> {
        self.remarks(ctx, abe_schema::Severity::Warning, first, after)
            .await
    }

    /// Every reject and warning of the run counted by reason, most frequent first,
    /// with where the first three are.
    async fn reasons(&self) -> Vec<ReasonCount> {
        self.summary.lines().into_iter().map(Into::into).collect()
    }
}

impl Run {
    async fn remarks(
        &self,
        ctx: &Context<'_>,
        severity: abe_schema::Severity,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<Reject>> {
        let store = store(ctx)?;
        paged(
            first,
            after,
            int_cursor,
            |after, first| store.rejects(self.run_id, severity, after, first),
            |r| r.id.to_string(),
            |r| Ok(Reject::from(r)),
        )
        .await
    }
}

/// Where a source row was refused, and why.
#[derive(SimpleObject)]
pub struct Refusal {
    /// File or URL.
    pub file: String,
    /// Sheet of a workbook.
    pub sheet: Option<String>,
    /// Row as a spreadsheet numbers it (the header counts).
    pub row: Option<i64>,
    /// Column header, or JSON path.
    pub column: Option<String>,
    /// The raw value, cut to 200 characters.
    pub value: Option<String>,
    /// Why the row was refused.
    pub reason: String,
}

impl From<abe_schema::Reject> for Refusal {
    fn from(r: abe_schema::Reject) -> Self {
        Refusal {
            file: r.position.file,
            sheet: r.position.sheet,
            row: r.position.row.and_then(|n| i64::try_from(n).ok()),
            column: r.position.column,
            value: r.value,
            reason: r.reason,
        }
    }
}

/// A source row refused by a run, and why.
#[derive(SimpleObject)]
pub struct Reject {
    /// Reject id.
    pub id: ID,
    #[graphql(flatten)]
    pub refusal: Refusal,
}

impl From<RejectRecord> for Reject {
    fn from(r: RejectRecord) -> Self {
        Reject {
            id: ID(r.id.to_string()),
            refusal: Refusal {
                file: r.file,
                sheet: r.sheet,
                row: r.row_number,
                column: r.column_name,
                value: r.value,
                reason: r.reason,
            },
        }
    }
}

async fn runs_page(
    ctx: &Context<'_>,
    connector: Option<&str>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<Conn<Run>> {
    let store = store(ctx)?;
    paged(
        first,
        after,
        int_cursor,
        |after, first| store.runs(connector, None, after, first),
        |r| r.id.to_string(),
        |r| Ok(Run::from(r)),
    )
    .await
}

/// A field of a previewed row.
#[derive(SimpleObject)]
pub struct PreviewField {
    /// Target field name, e.g. `period`.
    pub name: String,
    /// The value it would load.
    pub value: String,
}

/// A row a run would load.
#[derive(SimpleObject)]
pub struct PreviewRow {
    /// File or URL.
    pub file: String,
    /// Sheet of a workbook.
    pub sheet: Option<String>,
    /// Row in the source.
    pub row: Option<i64>,
    /// Mapped fields.
    pub fields: Vec<PreviewField>,
}

/// A row a run would refuse.
#[derive(SimpleObject)]
pub struct PreviewReject {
    #[graphql(flatten)]
    pub refusal: Refusal,
}

/// The first rows of a source, mapped without writing.
#[derive(SimpleObject)]
pub struct ConnectorPreview {
    /// Rows that would load.
    pub rows: Vec<PreviewRow>,
    /// Rows that would be refused.
    pub rejects: Vec<PreviewReject>,
}

/// Marks a request that ran its one preview.
#[derive(Default)]
pub(crate) struct PreviewBudget(AtomicBool);

/// A stored definition with its secrets and partner-private parts redacted.
fn redacted_definition(config: &str) -> String {
    let Ok(mut value) = serde_json::from_str::<serde_json::Value>(config) else {
        return REDACTED.into();
    };
    if let Some(source) = value.get_mut("source") {
        *source = serde_json::from_value::<abe_connectors::SourceConfig>(source.clone())
            .ok()
            .and_then(|s| serde_json::to_value(s.redacted()).ok())
            .unwrap_or_else(|| serde_json::Value::String(REDACTED.into()));
    }
    value.to_string()
}

/// Queries of connectors and runs.
#[derive(Default)]
pub struct ConnectorQuery;

#[Object]
impl ConnectorQuery {
    /// Connectors, by name.
    #[graphql(complexity = "crate::connection::page_complexity(first, child_complexity)")]
    async fn connectors(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<Connector>> {
        let store = store(ctx)?;
        paged(
            first,
            after,
            text_cursor,
            |after, first| store.connectors(None, after, first),
            |c| c.spec.name.clone(),
            Connector::try_from,
        )
        .await
    }

    /// One connector by name.
    async fn connector(&self, ctx: &Context<'_>, name: String) -> Result<Option<Connector>> {
        let page = store(ctx)?
            .connectors(Some(&[name]), None, 1)
            .await
            .map_err(failure)?;
        page.items
            .into_iter()
            .next()
            .map(Connector::try_from)
            .transpose()
    }

    /// Runs of all connectors (or of one), newest first.
    #[graphql(complexity = "crate::connection::page_complexity(first, child_complexity)")]
    async fn runs(
        &self,
        ctx: &Context<'_>,
        connector: Option<String>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<Run>> {
        runs_page(ctx, connector.as_deref(), first, after).await
    }

    /// Maps the first rows of a connector's source without writing, so the rows and
    /// the rejects can be read side by side. Name a connector (provisioned or saved), or
    /// give an unsaved `definition` (as `saveConnector` takes it) to try a mapping before
    /// saving it. Needs the admin token: a preview reads the source with its secrets and
    /// shows raw values. One preview per request; it reads for 20 s at most and stops
    /// when the request ends.
    #[graphql(complexity = "crate::connection::page_complexity(Some(rows), child_complexity)")]
    async fn preview(
        &self,
        ctx: &Context<'_>,
        connector: Option<String>,
        definition: Option<Json<serde_json::Value>>,
        #[graphql(default = 20)] rows: i32,
    ) -> Result<ConnectorPreview> {
        let operations = ctx.data::<crate::Operations>()?;
        operations.authorize(ctx)?;
        if ctx.data::<PreviewBudget>()?.0.swap(true, Ordering::Relaxed) {
            return Err(Code::BadInput.error("one request may run one preview"));
        }
        let def = match (connector, definition) {
            (Some(name), None) => operations
                .registry
                .find(&name)
                .await
                .map_err(|e| failure_for(ctx, e))?
                .ok_or_else(|| Code::NotFound.error(format!("no connector named {name}")))?,
            (None, Some(Json(definition))) => operations
                .registry
                .define(definition)
                .map_err(|e| failure_for(ctx, e))?,
            _ => {
                return Err(Code::BadInput.error("give either connector or definition"));
            }
        };
        let limit = usize::try_from(rows)
            .ok()
            .filter(|n| (1..=abe_pipeline::MAX_PREVIEW_ROWS).contains(n))
            .ok_or_else(|| {
                Code::BadInput.error(format!(
                    "rows must be between 1 and {}",
                    abe_pipeline::MAX_PREVIEW_ROWS
                ))
            })?;
        let preview = operations
            .pipeline
            .preview(&def, limit, MAX_PREVIEW_TIME)
            .await
            .map_err(|e| failure_for(ctx, e))?;
        Ok(ConnectorPreview {
            rows: preview
                .rows
                .into_iter()
                .map(|r| PreviewRow {
                    file: r.position.file,
                    sheet: r.position.sheet,
                    row: r.position.row.and_then(|n| i64::try_from(n).ok()),
                    fields: r
                        .fields
                        .into_iter()
                        .map(|(name, value)| PreviewField { name, value })
                        .collect(),
                })
                .collect(),
            rejects: preview
                .rejects
                .into_iter()
                .map(|r| PreviewReject { refusal: r.into() })
                .collect(),
        })
    }

    /// One run by id.
    async fn run(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Run>> {
        let id: i64 = id
            .parse()
            .map_err(|_| Code::BadInput.error("id is not a run id"))?;
        load_node(&ctx.data::<Loaders>()?.runs, id).await
    }
}

/// Changes to connectors. Each needs the admin token (`Authorization: Bearer ...`).
#[derive(Default)]
pub struct ConnectorMutation;

#[Object]
impl ConnectorMutation {
    /// Creates a connector, or replaces one saved earlier through the API. The
    /// definition is a `[[connectors]]` entry of the config file written as JSON: name,
    /// target, source, mapping, and optionally agency, schedule, sync_mode,
    /// max_reject_share, cursor_field, allow_empty, on_duplicate, on_owned_elsewhere
    /// (every option: docs/reference.md). It is checked as the config is, and
    /// a mistake is refused (BAD_INPUT) naming the field; files must lie below the hub's
    /// data folder. Connectors provisioned from the config file are refused (FORBIDDEN).
    /// A schedule takes effect at once.
    async fn save_connector(
        &self,
        ctx: &Context<'_>,
        definition: Json<serde_json::Value>,
    ) -> Result<Connector> {
        let operations = ctx.data::<crate::Operations>()?;
        operations.authorize(ctx)?;
        let def = operations
            .registry
            .save(definition.0)
            .await
            .map_err(|e| failure_for(ctx, e))?;
        store(ctx)?
            .connectors(Some(std::slice::from_ref(&def.name)), None, 1)
            .await
            .map_err(failure)?
            .items
            .into_iter()
            .next()
            .ok_or_else(|| internal(format!("connector {} vanished after saving", def.name)))
            .and_then(Connector::try_from)
    }
}
