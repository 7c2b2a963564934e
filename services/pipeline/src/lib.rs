//! A connector run: read the source, map each record, check it against the reference
//! tables, stage it, merge it, and journal the run, all in one transaction per run,
//! under a lease in the database that keeps one run of a connector at a time across
//! processes. Also previews (the same read, nothing written) and the scheduler that
//! starts runs on their cron schedules.

mod definition;
mod duplicates;
mod entry;
mod events;
mod preview;
mod read;
mod registry;
mod run;
mod scheduler;

pub use definition::{ConnectorConfig, DefinitionError};
pub use entry::{check_entry, EntryError};
pub use preview::{Preview, PreviewError, PreviewRow, MAX_PREVIEW_ROWS, MAX_PREVIEW_TIME};
pub use read::{check_source, ReadError, SourceCheck};
pub use registry::{Registry, RegistryError, SaveError};
pub use run::{Pipeline, RunError, RunFailure, RunOptions, RunReport, Trigger, DEFAULT_LEASE};
pub use scheduler::{Scheduler, SchedulerError};

use abe_connectors::mapping::Mapping;
use abe_connectors::SourceConfig;
use abe_schema::{OnDuplicate, OnOwnedElsewhere, Target};
use std::path::PathBuf;

/// How a run treats the connector's rows that the source no longer has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SyncMode {
    /// The source is the whole truth: observations it no longer has are deleted in the
    /// run's transaction. Areas and schools are shared reference data that other rows
    /// point at, so for them a full refresh only inserts and updates.
    #[default]
    FullRefresh,
    /// Rows are inserted or updated; none are deleted.
    Upsert,
    /// Only records whose `cursor_field` is above the last successful run's cursor are
    /// read (sources that can, filter at the origin); rows are inserted or updated, none
    /// deleted. The run stores the largest value it saw as the next cursor.
    Incremental,
}

/// A connector ready to run: where to read, how to map, where to load.
#[derive(Debug, Clone)]
pub struct ConnectorDef {
    /// Unique name.
    pub name: String,
    /// Owning agency code.
    pub agency: Option<String>,
    /// What the mapping produces.
    pub target: Target,
    /// 6-field cron schedule (seconds first), Asia/Bangkok time.
    pub schedule: Option<String>,
    /// How rows gone from the source are treated.
    pub sync_mode: SyncMode,
    /// Where to read.
    pub source: SourceConfig,
    /// The checked mapping.
    pub mapping: Mapping,
    /// Folder that relative source paths start from.
    pub base_dir: PathBuf,
    /// Largest share of rejected rows (0.0-1.0) a run may have and still load; above it
    /// the run fails and nothing of it loads. `None` accepts any share.
    pub max_reject_share: Option<f64>,
    /// For incremental connectors: the source field whose value only grows.
    pub cursor_field: Option<String>,
    /// Lets a full-refresh run with no rows to load succeed, deleting the connector's
    /// rows; by default such a run fails and keeps them.
    pub allow_empty: bool,
    /// What a run does with rows that repeat a key.
    pub on_duplicate: OnDuplicate,
    /// What a run of reference data does with rows another connector wrote.
    pub on_owned_elsewhere: OnOwnedElsewhere,
    /// Saved through the API: its local paths are checked again, symbolic links
    /// followed, before each read (see [`SourceConfig::check_confined`]).
    pub confined: bool,
}

impl ConnectorDef {
    /// The store's view of this connector; `config` is the whole definition as JSON,
    /// in the shape [`ConnectorConfig`] reads.
    pub fn spec(&self) -> abe_store::ConnectorSpec {
        let config = serde_json::to_string(&self.config()).unwrap_or_default();
        abe_store::ConnectorSpec {
            name: self.name.clone(),
            agency: self.agency.clone(),
            kind: self.source.kind().to_string(),
            target: self.target.as_str().to_string(),
            schedule: self.schedule.clone(),
            config,
        }
    }
}
