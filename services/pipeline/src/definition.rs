//! A connector as a data steward writes it: a `[[connectors]]` entry of the config file,
//! or the JSON document the GraphQL mutation `saveConnector` takes and the store keeps.
//! One type reads all three, so a definition means the same wherever it comes from.

use crate::{ConnectorDef, SyncMode};
use abe_connectors::mapping::{Mapping, MappingConfig, MappingError};
use abe_connectors::{ConfineError, SourceConfig};
use abe_schema::{Code, ColumnType, ErrorCode, OnDuplicate, OnOwnedElsewhere, Target};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Why a connector definition cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DefinitionError {
    /// The JSON (or TOML) does not read as a definition; the message names the field.
    #[error("{0}")]
    Malformed(String),
    /// A name that does not fit in commands, logs and URLs.
    #[error("connector name {0:?}: use 1 to 64 letters, digits, `_`, `-` or `.`")]
    BadName(String),
    /// The mapping does not fit the target.
    #[error("connector {name}: {error}")]
    Mapping {
        /// Connector name.
        name: String,
        /// What is wrong.
        error: MappingError,
    },
    /// The schedule is not a cron expression the scheduler reads.
    #[error(
        "connector {name}: schedule \"{schedule}\" is not a 6-field cron expression \
         (sec min hour day-of-month month day-of-week), e.g. \"0 30 2 * * *\""
    )]
    Schedule {
        /// Connector name.
        name: String,
        /// The schedule as written.
        schedule: String,
    },
    /// An incremental connector without a cursor field.
    #[error("connector {0}: sync_mode incremental needs a cursor_field")]
    MissingCursorField(String),
    /// A cursor field on a connector that is not incremental.
    #[error("connector {0}: cursor_field only applies to sync_mode incremental")]
    UnexpectedCursorField(String),
    /// A reject share outside 0-1.
    #[error("connector {name}: max_reject_share must be between 0 and 1, not {share}")]
    RejectShare {
        /// Connector name.
        name: String,
        /// The share as written.
        share: f64,
    },
    /// `on_duplicate = "sum"` for a target without a number.
    #[error(
        "connector {name}: on_duplicate = \"sum\" adds up values, and {target} have none; \
         use \"reject\", \"first\" or \"last\""
    )]
    NothingToSum {
        /// Connector name.
        name: String,
        /// The target.
        target: Target,
    },
    /// `on_duplicate` beside a mapping that aggregates.
    #[error(
        "connector {0}: the mapping's aggregate combines rows of one key itself; leave \
         on_duplicate out"
    )]
    AggregateRepeats(String),
    /// Adding rows up in an incremental connector, which reads only new records.
    #[error(
        "connector {0}: an incremental run reads only the new records, so a sum or count \
         of them would replace the stored total; use sync_mode \"full_refresh\" to add \
         rows up"
    )]
    IncrementalSum(String),
    /// A connector saved through the API reaches outside what it may.
    #[error(transparent)]
    Confined(#[from] ConfineError),
}

impl ErrorCode for DefinitionError {
    fn error_code(&self) -> Code {
        Code::BadInput
    }
}

/// A connector definition: where to read, how to map, when and how to load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorConfig {
    /// Unique name, used by `abe-hub run NAME`.
    pub name: String,
    /// Code of the agency that owns the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agency: Option<String>,
    /// What the mapping produces: `observations`, `areas` or `schools`.
    pub target: Target,
    /// 6-field cron schedule, seconds first, in Asia/Bangkok time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// `full_refresh` (default), `upsert` or `incremental`.
    #[serde(default)]
    pub sync_mode: SyncMode,
    /// Largest share of rejected rows (0.0-1.0) a run may have; above it the run fails
    /// and nothing of it loads. Absent: any share loads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_reject_share: Option<f64>,
    /// For `sync_mode = "incremental"`: the source field (column, JSON key) whose
    /// value only grows, such as an update time or a serial number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cursor_field: Option<String>,
    /// For `full_refresh`: lets a run that finds no rows to load succeed and delete
    /// the connector's rows. By default such a run fails and keeps them, since an
    /// emptied export is likelier than data that really vanished.
    #[serde(default)]
    pub allow_empty: bool,
    /// Rows of the source that repeat a key: `last` (default) loads the last, `first`
    /// the first, `sum` adds their values up (observations), `reject` refuses them
    /// all. Every repeat is reported.
    #[serde(default, skip_serializing_if = "is_default")]
    pub on_duplicate: OnDuplicate,
    /// For areas and schools: rows this connector would change that another connector
    /// wrote. `fail` (default) fails the run, `keep` leaves them, `overwrite` changes
    /// them; every such row is reported.
    #[serde(default, skip_serializing_if = "is_default")]
    pub on_owned_elsewhere: OnOwnedElsewhere,
    /// Where to read.
    pub source: SourceConfig,
    /// How source columns become unified rows.
    pub mapping: MappingConfig,
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

impl ConnectorConfig {
    /// Reads a definition from JSON; an error names the field that is wrong
    /// (`mapping.fields.value.transforms[1]: unknown variant ...`).
    pub fn from_json(value: serde_json::Value) -> Result<ConnectorConfig, DefinitionError> {
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            DefinitionError::Malformed(if path == "." {
                e.into_inner().to_string()
            } else {
                format!("{path}: {}", e.into_inner())
            })
        })
    }

    /// Checks the definition and builds the runnable connector; relative source paths
    /// start at `base_dir`.
    pub fn to_def(&self, base_dir: PathBuf) -> Result<ConnectorDef, DefinitionError> {
        ConnectorDef::new(
            self.name.clone(),
            self.agency.clone(),
            self.target,
            self.schedule.clone(),
            self.sync_mode,
            self.source.clone(),
            self.mapping.clone(),
            base_dir,
        )
        .and_then(|def| def.with_max_reject_share(self.max_reject_share))
        .and_then(|def| def.with_cursor_field(self.cursor_field.clone()))
        .and_then(|def| def.with_on_duplicate(self.on_duplicate))
        .map(|def| {
            def.with_allow_empty(self.allow_empty)
                .with_on_owned_elsewhere(self.on_owned_elsewhere)
        })
    }
}

impl ConnectorDef {
    /// Checks the mapping against the target and the schedule, and builds the
    /// definition; the options default as in [`ConnectorConfig`].
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
    ) -> Result<Self, DefinitionError> {
        let name_ok = (1..=64).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
        if !name_ok {
            // Names appear in commands, logs and URLs: keep them plain.
            return Err(DefinitionError::BadName(name));
        }
        let mapping =
            Mapping::new(target, mapping_config).map_err(|error| DefinitionError::Mapping {
                name: name.clone(),
                error,
            })?;
        if let Some(schedule) = &schedule {
            if !crate::scheduler::is_valid_schedule(schedule) {
                return Err(DefinitionError::Schedule {
                    name,
                    schedule: schedule.clone(),
                });
            }
        }
        Ok(ConnectorDef {
            name,
            agency,
            target,
            schedule,
            sync_mode,
            source,
            mapping,
            base_dir,
            max_reject_share: None,
            cursor_field: None,
            allow_empty: false,
            on_duplicate: OnDuplicate::default(),
            on_owned_elsewhere: OnOwnedElsewhere::default(),
            confined: false,
        })
    }

    /// Sets what a run does with rows that repeat a key; `sum` needs a target with a
    /// number to add up.
    pub fn with_on_duplicate(mut self, on_duplicate: OnDuplicate) -> Result<Self, DefinitionError> {
        let has_number = self
            .target
            .desc()
            .value_columns()
            .any(|c| c.ty == ColumnType::Real);
        if on_duplicate == OnDuplicate::Sum && !has_number {
            return Err(DefinitionError::NothingToSum {
                name: self.name,
                target: self.target,
            });
        }
        if on_duplicate != OnDuplicate::Last && self.mapping.config().aggregate.is_some() {
            return Err(DefinitionError::AggregateRepeats(self.name));
        }
        let adds_up = on_duplicate == OnDuplicate::Sum || self.mapping.config().aggregate.is_some();
        if adds_up && self.sync_mode == SyncMode::Incremental {
            return Err(DefinitionError::IncrementalSum(self.name));
        }
        self.on_duplicate = on_duplicate;
        Ok(self)
    }

    /// How the load combines rows of one key: the mapping's aggregate adds them up,
    /// else the connector's `on_duplicate`.
    pub fn combined_as(&self) -> OnDuplicate {
        match self.mapping.config().aggregate {
            Some(_) => OnDuplicate::Sum,
            None => self.on_duplicate,
        }
    }

    /// Sets what a run of reference data does with rows another connector wrote.
    pub fn with_on_owned_elsewhere(mut self, choice: OnOwnedElsewhere) -> Self {
        self.on_owned_elsewhere = choice;
        self
    }

    /// Sets the cursor field; an incremental connector needs one, others take none.
    pub fn with_cursor_field(mut self, field: Option<String>) -> Result<Self, DefinitionError> {
        match (self.sync_mode, &field) {
            (SyncMode::Incremental, None) => {
                return Err(DefinitionError::MissingCursorField(self.name))
            }
            (SyncMode::FullRefresh | SyncMode::Upsert, Some(_)) => {
                return Err(DefinitionError::UnexpectedCursorField(self.name))
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
    pub fn with_max_reject_share(mut self, share: Option<f64>) -> Result<Self, DefinitionError> {
        if let Some(s) = share {
            if !(0.0..=1.0).contains(&s) {
                return Err(DefinitionError::RejectShare {
                    name: self.name,
                    share: s,
                });
            }
        }
        self.max_reject_share = share;
        Ok(self)
    }

    /// The definition this connector was built from.
    pub fn config(&self) -> ConnectorConfig {
        ConnectorConfig {
            name: self.name.clone(),
            agency: self.agency.clone(),
            target: self.target,
            schedule: self.schedule.clone(),
            sync_mode: self.sync_mode,
            max_reject_share: self.max_reject_share,
            cursor_field: self.cursor_field.clone(),
            allow_empty: self.allow_empty,
            on_duplicate: self.on_duplicate,
            on_owned_elsewhere: self.on_owned_elsewhere,
            source: self.source.clone(),
            mapping: self.mapping.config().clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn areas_connector() -> serde_json::Value {
        json!({
            "name": "areas",
            "target": "areas",
            "source": { "kind": "csv", "path": "areas.csv" },
            "mapping": { "fields": { "code": { "column": "code" }, "name_th": { "column": "name" } } }
        })
    }

    #[test]
    fn a_definition_survives_json_both_ways() {
        let config = ConnectorConfig::from_json(areas_connector()).expect("valid");
        let again = ConnectorConfig::from_json(serde_json::to_value(&config).expect("json"))
            .expect("valid again");
        assert_eq!(config, again);
        let def = config.to_def(PathBuf::from(".")).expect("runnable");
        assert_eq!(def.config(), config);
    }

    #[test]
    fn every_source_kind_survives_json_both_ways() {
        let sources = [
            json!({ "kind": "excel", "path": "b.xlsx", "sheet": ["2565", "2566"], "header_rows": 2, "sheet_column": "year" }),
            json!({ "kind": "http_json", "url": "https://example.org/api", "records_path": "data.rows",
                    "auth": { "kind": "bearer", "token_env": "TOKEN" }, "pagination": { "kind": "page", "param": "p" } }),
            json!({ "kind": "ckan", "base_url": "https://data.go.th", "resource_id": "abc" }),
            json!({ "kind": "sql", "url_env": "LAO_DB_URL", "query": "SELECT 1 AS n" }),
        ];
        for source in sources {
            let mut value = areas_connector();
            value["source"] = source.clone();
            let config =
                ConnectorConfig::from_json(value).unwrap_or_else(|e| panic!("{source}: {e}"));
            let stored = serde_json::to_value(&config).expect("json");
            assert_eq!(ConnectorConfig::from_json(stored), Ok(config), "{source}");
        }
    }

    #[test]
    fn a_wrong_field_is_named_with_its_path() {
        let mut value = areas_connector();
        value["source"]["colour"] = json!("red");
        let err = ConnectorConfig::from_json(value)
            .expect_err("refused")
            .to_string();
        assert!(err.starts_with("source: unknown field `colour`"), "{err}");

        let mut value = areas_connector();
        value["mapping"]["fields"]["code"]["transforms"] = json!(["trim", "sparkle"]);
        let err = ConnectorConfig::from_json(value)
            .expect_err("refused")
            .to_string();
        assert!(err.contains("mapping.fields.code.transforms"), "{err}");
    }
}
