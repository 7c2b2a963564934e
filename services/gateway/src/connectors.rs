//! Connectors, their runs and the rejects of each run: what a data steward watches.

use crate::areas::Agency;
use crate::connection::{connection, int_cursor, page_args, text_cursor, Conn};
use crate::error::{corrupt, internal, ErrorCode};
use crate::{loaders::Loaders, store};
use abe_pipeline::SaveError;
use abe_store::{ConnectorRecord, RejectRecord, RunRecord};
use async_graphql::{ComplexObject, Context, Enum, Json, Object, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};

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
    /// The whole definition as JSON, in the shape `saveConnector` takes (secrets are
    /// only ever names of environment variables).
    pub definition: String,
    #[graphql(skip)]
    pub agency_code: Option<String>,
}

impl TryFrom<ConnectorRecord> for Connector {
    type Error = async_graphql::Error;
    fn try_from(r: ConnectorRecord) -> Result<Self> {
        let target: abe_schema::Target =
            r.target.parse().map_err(|_| corrupt("target", &r.target))?;
        Ok(Connector {
            name: r.name,
            kind: r.kind,
            target: target.into(),
            schedule: r.schedule,
            provisioned: r.provisioned,
            updated_at: r.updated_at,
            definition: r.config,
            agency_code: r.agency,
        })
    }
}

#[ComplexObject]
impl Connector {
    /// The agency that owns the source.
    async fn agency(&self, ctx: &Context<'_>) -> Result<Option<Agency>> {
        match &self.agency_code {
            Some(code) => ctx
                .data::<Loaders>()?
                .agencies
                .load_one(code.clone())
                .await?
                .map(Agency::try_from)
                .transpose(),
            None => Ok(None),
        }
    }

    /// The most recent run.
    async fn latest_run(&self, ctx: &Context<'_>) -> Result<Option<Run>> {
        ctx.data::<Loaders>()?
            .latest_runs
            .load_one(self.name.clone())
            .await?
            .map(Run::try_from)
            .transpose()
    }

    /// Runs, newest first.
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
    /// Why a failed run failed.
    pub error: Option<String>,
    #[graphql(skip)]
    pub run_id: i64,
}

impl TryFrom<RunRecord> for Run {
    type Error = async_graphql::Error;
    fn try_from(r: RunRecord) -> Result<Self> {
        let status: abe_schema::RunStatus = r
            .status
            .parse()
            .map_err(|_| corrupt("run status", &r.status))?;
        Ok(Run {
            id: ID(r.id.to_string()),
            run_id: r.id,
            connector: r.connector,
            trigger: r.trigger,
            status: status.into(),
            started_at: r.started_at,
            finished_at: r.finished_at,
            counts: RunCounts {
                read: r.rows_read,
                inserted: r.rows_inserted,
                updated: r.rows_updated,
                unchanged: r.rows_unchanged,
                deleted: r.rows_deleted,
                rejected: r.rows_rejected,
            },
            read_ms: r.read_ms,
            load_ms: r.load_ms,
            error: r.error,
        })
    }
}

#[ComplexObject]
impl Run {
    /// Rows refused by this run, in source order, with their positions.
    async fn rejects(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<Reject>> {
        let args = page_args(first, after, int_cursor)?;
        let had = args.after.is_some();
        let page = store(ctx)?
            .rejects(self.run_id, args.after, args.first)
            .await
            .map_err(internal)?;
        connection(page, had, |r| r.id.to_string(), |r| Ok(Reject::from(r)))
    }
}

/// A source row refused by a run, and why.
#[derive(SimpleObject)]
pub struct Reject {
    /// Reject id.
    pub id: ID,
    /// File or URL.
    pub file: String,
    /// Sheet of a workbook.
    pub sheet: Option<String>,
    /// Row as a spreadsheet numbers it (the header counts).
    pub row: Option<i64>,
    /// Column header.
    pub column: Option<String>,
    /// The raw value, cut to 200 characters.
    pub value: Option<String>,
    /// Why the row was refused.
    pub reason: String,
}

impl From<RejectRecord> for Reject {
    fn from(r: RejectRecord) -> Self {
        Reject {
            id: ID(r.id.to_string()),
            file: r.file,
            sheet: r.sheet,
            row: r.row_number,
            column: r.column_name,
            value: r.value,
            reason: r.reason,
        }
    }
}

async fn runs_page(
    ctx: &Context<'_>,
    connector: Option<&str>,
    first: Option<i32>,
    after: Option<String>,
) -> Result<Conn<Run>> {
    let args = page_args(first, after, int_cursor)?;
    let had = args.after.is_some();
    let page = store(ctx)?
        .runs(connector, None, args.after, args.first)
        .await
        .map_err(internal)?;
    connection(page, had, |r| r.id.to_string(), Run::try_from)
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
    /// File or URL.
    pub file: String,
    /// Sheet of a workbook.
    pub sheet: Option<String>,
    /// Row in the source.
    pub row: Option<i64>,
    /// Column or JSON path.
    pub column: Option<String>,
    /// The raw value.
    pub value: Option<String>,
    /// Why it would be refused.
    pub reason: String,
}

/// The first rows of a source, mapped without writing.
#[derive(SimpleObject)]
pub struct ConnectorPreview {
    /// Rows that would load.
    pub rows: Vec<PreviewRow>,
    /// Rows that would be refused.
    pub rejects: Vec<PreviewReject>,
}

/// Queries of connectors and runs.
#[derive(Default)]
pub struct ConnectorQuery;

#[Object]
impl ConnectorQuery {
    /// Connectors, by name.
    async fn connectors(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Conn<Connector>> {
        let args = page_args(first, after, text_cursor)?;
        let had = args.after.is_some();
        let page = store(ctx)?
            .connectors(None, args.after, args.first)
            .await
            .map_err(internal)?;
        connection(page, had, |c| c.name.clone(), Connector::try_from)
    }

    /// One connector by name.
    async fn connector(&self, ctx: &Context<'_>, name: String) -> Result<Option<Connector>> {
        let page = store(ctx)?
            .connectors(Some(&[name]), None, 1)
            .await
            .map_err(internal)?;
        page.items
            .into_iter()
            .next()
            .map(Connector::try_from)
            .transpose()
    }

    /// Runs of all connectors (or of one), newest first.
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
    /// give an unsaved `definition` (as `saveConnector` takes it; needs the admin token)
    /// to try a mapping before saving it.
    async fn preview(
        &self,
        ctx: &Context<'_>,
        connector: Option<String>,
        definition: Option<Json<serde_json::Value>>,
        #[graphql(default = 20)] rows: i32,
    ) -> Result<ConnectorPreview> {
        let operations = ctx.data::<crate::Operations>()?;
        let def = match (connector, definition) {
            (Some(name), None) => operations
                .registry
                .find(&name)
                .await
                .map_err(internal)?
                .ok_or_else(|| ErrorCode::NotFound.error(format!("no connector named {name}")))?,
            (None, Some(Json(definition))) => {
                operations.authorize(ctx)?;
                operations
                    .registry
                    .define(definition)
                    .map_err(|e| ErrorCode::BadInput.error(e))?
            }
            _ => {
                return Err(ErrorCode::BadInput.error("give either connector or definition"));
            }
        };
        let limit = usize::try_from(rows)
            .ok()
            .filter(|n| (1..=abe_pipeline::MAX_PREVIEW_ROWS).contains(n))
            .ok_or_else(|| {
                ErrorCode::BadInput.error(format!(
                    "rows must be between 1 and {}",
                    abe_pipeline::MAX_PREVIEW_ROWS
                ))
            })?;
        let preview = operations
            .pipeline
            .preview(&def, limit)
            .await
            .map_err(|e| ErrorCode::SourceUnreadable.error(e))?;
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
                .map(|r| PreviewReject {
                    file: r.position.file,
                    sheet: r.position.sheet,
                    row: r.position.row.and_then(|n| i64::try_from(n).ok()),
                    column: r.position.column,
                    value: r.value,
                    reason: r.reason,
                })
                .collect(),
        })
    }

    /// One run by id.
    async fn run(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Run>> {
        let id: i64 = id
            .parse()
            .map_err(|_| ErrorCode::BadInput.error("id is not a run id"))?;
        ctx.data::<Loaders>()?
            .runs
            .load_one(id)
            .await?
            .map(Run::try_from)
            .transpose()
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
    /// max_reject_share, cursor_field, allow_empty. It is checked as the config is, and
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
            .map_err(|e| match e {
                SaveError::Invalid(_) => ErrorCode::BadInput.error(e.to_string()),
                SaveError::Provisioned(_) => ErrorCode::Forbidden.error(e.to_string()),
                SaveError::Failed(_) => internal(e),
            })?;
        store(ctx)?
            .connectors(Some(std::slice::from_ref(&def.name)), None, 1)
            .await
            .map_err(internal)?
            .items
            .into_iter()
            .next()
            .ok_or_else(|| internal(format!("connector {} vanished after saving", def.name)))
            .and_then(Connector::try_from)
    }
}
