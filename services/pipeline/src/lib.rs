//! A connector run: read the source, map each record, check it against the reference
//! tables, stage it, merge it, and journal the run, all in one transaction per run.
//! Also the scheduler that starts runs on their cron schedules.

mod definition;
mod events;
mod preview;
mod registry;
mod run;
mod scheduler;

pub use definition::ConnectorConfig;
pub use preview::{Preview, PreviewRow, MAX_PREVIEW_ROWS};
pub use registry::{Registry, SaveError};
pub use run::{Pipeline, RunError, RunReport, Trigger};
pub use scheduler::Scheduler;

use abe_connectors::mapping::{Mapping, MappingConfig};
use abe_connectors::SourceConfig;
use abe_schema::Target;
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
    /// The mapping config, checked into `mapping`.
    pub mapping_config: MappingConfig,
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
}

impl ConnectorDef {
    /// Checks the mapping against the target and builds the definition.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: String,
        agency: Option<String>,
        target: Target,
        schedule: Option<String>,
        sync_mode: SyncMode,
        source: SourceConfig,
        mapping_config: MappingConfig,
        base_dir: PathBuf,
    ) -> Result<Self, String> {
        let name_ok = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !name_ok {
            // Names appear in commands, logs and URLs: keep them plain.
            return Err(format!(
                "connector name {name:?}: use 1 to 64 letters, digits, `_`, `-` or `.`"
            ));
        }
        let mapping = Mapping::new(target, mapping_config.clone())
            .map_err(|e| format!("connector {name}: {e}"))?;
        if let Some(schedule) = &schedule {
            scheduler::check_schedule(schedule).map_err(|e| format!("connector {name}: {e}"))?;
        }
        Ok(ConnectorDef {
            name,
            agency,
            target,
            schedule,
            sync_mode,
            source,
            mapping_config,
            mapping,
            base_dir,
            max_reject_share: None,
            cursor_field: None,
            allow_empty: false,
        })
    }

    /// Sets the cursor field; an incremental connector needs one, others take none.
    pub fn with_cursor_field(mut self, field: Option<String>) -> Result<Self, String> {
        match (self.sync_mode, &field) {
            (SyncMode::Incremental, None) => {
                return Err(format!(
                    "connector {}: sync_mode incremental needs a cursor_field",
                    self.name
                ))
            }
            (SyncMode::FullRefresh | SyncMode::Upsert, Some(_)) => {
                return Err(format!(
                    "connector {}: cursor_field only applies to sync_mode incremental",
                    self.name
                ))
            }
            _ => {}
        }
        self.cursor_field = field;
        Ok(self)
    }

    /// Lets a full refresh from an empty source delete the connector's rows.
    pub fn with_allow_empty(mut self, allow_empty: bool) -> Self {
        self.allow_empty = allow_empty;
        self
    }

    /// Sets the largest share of rejected rows a run may have (0.0-1.0).
    pub fn with_max_reject_share(mut self, share: Option<f64>) -> Result<Self, String> {
        if let Some(s) = share {
            if !(0.0..=1.0).contains(&s) {
                return Err(format!(
                    "connector {}: max_reject_share must be between 0 and 1, not {s}",
                    self.name
                ));
            }
        }
        self.max_reject_share = share;
        Ok(self)
    }

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
