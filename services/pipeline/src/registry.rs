//! The connectors a hub runs: those provisioned from its config file, and those saved
//! through the API, which the store keeps as the same JSON documents; saving one puts
//! it on the schedule at once.

use crate::{ConnectorConfig, ConnectorDef, DefinitionError, Scheduler, SchedulerError};
use abe_schema::{Code, ErrorCode};
use abe_store::{Store, StoreError};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Finds, checks and saves connector definitions, whichever way they were declared.
#[derive(Clone)]
pub struct Registry {
    store: Store,
    provisioned: Arc<HashMap<String, ConnectorDef>>,
    base_dir: PathBuf,
    /// Reschedules a connector when its definition is saved; none when the hub runs no
    /// scheduler.
    scheduler: Option<Scheduler>,
    /// Held while a definition is saved and scheduled, so that two saves of one
    /// connector cannot leave the store with one and the scheduler with the other.
    saving: Arc<tokio::sync::Mutex<()>>,
}

/// Why a definition sent through the API was not saved.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    /// The definition is wrong; the message names the field.
    #[error(transparent)]
    Invalid(#[from] DefinitionError),
    /// The definition names an agency the catalogue does not have.
    #[error("agency: {0} is not in the catalogue")]
    UnknownAgency(String),
    /// The definition loads a constant indicator the catalogue does not have.
    #[error("mapping.fields.indicator: indicator {0} is not in the catalogue")]
    UnknownIndicator(String),
    /// A connector of that name is declared in the config file.
    #[error("connector {0} is provisioned from the config file; change it there")]
    Provisioned(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The scheduler failed.
    #[error(transparent)]
    Scheduler(#[from] SchedulerError),
    /// Saving stopped half-way.
    #[error("saving a connector stopped: {0}")]
    Interrupted(String),
}

impl ErrorCode for SaveError {
    fn error_code(&self) -> Code {
        match self {
            SaveError::Invalid(e) => e.error_code(),
            SaveError::UnknownAgency(_) | SaveError::UnknownIndicator(_) => Code::BadInput,
            SaveError::Provisioned(_) => Code::Forbidden,
            SaveError::Store(e) => e.error_code(),
            SaveError::Scheduler(_) | SaveError::Interrupted(_) => Code::Internal,
        }
    }
}

/// Why connectors could not be listed or found.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A saved definition this hub can no longer read.
    #[error("saved connector {name}: {error}")]
    Unreadable {
        /// Connector name.
        name: String,
        /// Why.
        error: DefinitionError,
    },
}

impl ErrorCode for RegistryError {
    fn error_code(&self) -> Code {
        match self {
            RegistryError::Store(e) => e.error_code(),
            RegistryError::Unreadable { .. } => Code::Internal,
        }
    }
}

impl Registry {
    /// A registry over `store` with the config file's connectors; connectors saved
    /// through the API read files below `base_dir`.
    pub fn new(store: Store, provisioned: Vec<ConnectorDef>, base_dir: PathBuf) -> Self {
        Registry {
            store,
            provisioned: Arc::new(
                provisioned
                    .into_iter()
                    .map(|d| (d.name.clone(), d))
                    .collect(),
            ),
            base_dir,
            scheduler: None,
            saving: Arc::default(),
        }
    }

    /// Lets [`Registry::save`] put saved connectors on `scheduler`'s schedule at once.
    pub fn with_scheduler(mut self, scheduler: Scheduler) -> Self {
        self.scheduler = Some(scheduler);
        self
    }

    /// Whether `name` is declared in the config file (and so read-only through the API).
    pub fn is_provisioned(&self, name: &str) -> bool {
        self.provisioned.contains_key(name)
    }

    /// The folder API-saved connectors read their files from.
    pub fn base_dir(&self) -> &Path {
        &self.base_dir
    }

    /// Checks a definition sent through the API and builds the connector. Beyond what
    /// the config file is held to, its files must lie below the base folder and its
    /// secrets come only from `ABE_SECRET_*` variables.
    pub fn define(&self, definition: serde_json::Value) -> Result<ConnectorDef, DefinitionError> {
        let config = ConnectorConfig::from_json(definition)?;
        config.source.check_confined(&self.base_dir)?;
        let mut def = config.to_def(self.base_dir.clone())?;
        def.confined = true;
        Ok(def)
    }

    /// Checks a definition sent through the API, saves it (a new connector, or one saved
    /// earlier under that name) and schedules it.
    pub async fn save(&self, definition: serde_json::Value) -> Result<ConnectorDef, SaveError> {
        let def = self.define(definition)?;
        if self.is_provisioned(&def.name) {
            return Err(SaveError::Provisioned(def.name));
        }
        self.check_catalogue(&def).await?;
        // Saved and scheduled in a task of its own: a caller dropped halfway (a client
        // gone, a request timeout) cannot leave the two apart.
        let task = {
            let (store, def) = (self.store.clone(), def.clone());
            let (scheduler, saving) = (self.scheduler.clone(), Arc::clone(&self.saving));
            tokio::spawn(async move {
                let _one_at_a_time = saving.lock().await;
                let saved = store
                    .save_connector(&def.spec(), chrono::Utc::now())
                    .await?;
                if !saved {
                    return Err(SaveError::Provisioned(def.name));
                }
                if let Some(scheduler) = scheduler {
                    scheduler.schedule(&def).await?;
                }
                Ok(())
            })
        };
        task.await
            .map_err(|e| SaveError::Interrupted(e.to_string()))??;
        tracing::info!(connector = %def.name, "connector saved through the API");
        Ok(def)
    }

    /// Refuses a definition that names an agency or a constant indicator the catalogue
    /// does not have: every row of its runs would be rejected.
    async fn check_catalogue(&self, def: &ConnectorDef) -> Result<(), SaveError> {
        if let Some(agency) = &def.agency {
            let found = self
                .store
                .agencies(Some(std::slice::from_ref(agency)), None, 1)
                .await?;
            if found.items.is_empty() {
                return Err(SaveError::UnknownAgency(agency.clone()));
            }
        }
        let constant_indicator = def
            .mapping
            .config()
            .fields
            .get("indicator")
            .and_then(|spec| spec.constant.as_ref());
        if let Some(code) = constant_indicator {
            if !self.store.indicator_codes().await?.contains(code) {
                return Err(SaveError::UnknownIndicator(code.clone()));
            }
        }
        Ok(())
    }

    /// The connector named `name`: the config file's, else one saved through the API.
    pub async fn find(&self, name: &str) -> Result<Option<ConnectorDef>, RegistryError> {
        if let Some(def) = self.provisioned.get(name) {
            return Ok(Some(def.clone()));
        }
        let saved = self
            .store
            .connectors(Some(&[name.to_string()]), None, 1)
            .await?;
        saved
            .items
            .into_iter()
            .find(|r| !r.provisioned)
            .map(|r| self.read_saved(&r.spec.name, &r.spec.config))
            .transpose()
    }

    /// Every connector: the config file's, then those saved through the API. A saved
    /// definition this hub can no longer read is logged and left out, not fatal.
    pub async fn all(&self) -> Result<Vec<ConnectorDef>, RegistryError> {
        let mut defs: Vec<ConnectorDef> = self.provisioned.values().cloned().collect();
        defs.sort_by(|a, b| a.name.cmp(&b.name));
        for record in self.store.saved_connectors().await? {
            if self.is_provisioned(&record.spec.name) {
                continue;
            }
            match self.read_saved(&record.spec.name, &record.spec.config) {
                Ok(def) => {
                    // Still listed and scheduled, so that its runs say what is wrong;
                    // the steward hears of it at start too.
                    if let Err(e) = def.source.check_confined(&def.base_dir) {
                        tracing::warn!(connector = %def.name, error = %e,
                            "a saved connector reaches outside what it may; its runs will fail");
                    }
                    defs.push(def);
                }
                Err(e) => tracing::error!(connector = %record.spec.name, error = %e,
                    "a saved connector cannot be read; it is not scheduled"),
            }
        }
        Ok(defs)
    }

    /// A definition saved earlier. What it may reach is checked again before each read
    /// (a link may have appeared since), not here, so that it stays listed and
    /// scheduled and its runs say what is wrong.
    fn read_saved(&self, name: &str, config: &str) -> Result<ConnectorDef, RegistryError> {
        serde_json::from_str(config)
            .map_err(|e| DefinitionError::Malformed(e.to_string()))
            .and_then(ConnectorConfig::from_json)
            .and_then(|config| config.to_def(self.base_dir.clone()))
            .map(|def| ConnectorDef {
                confined: true,
                ..def
            })
            .map_err(|error| RegistryError::Unreadable {
                name: name.to_string(),
                error,
            })
    }
}
