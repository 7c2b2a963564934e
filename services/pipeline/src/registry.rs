//! The connectors a hub runs: those provisioned from its config file, and those saved
//! through the API, which the store keeps as the same JSON documents; saving one puts
//! it on the schedule at once.

use crate::{ConnectorConfig, ConnectorDef, Scheduler};
use abe_store::Store;
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
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaveError {
    /// The definition is wrong; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// A connector of that name is declared in the config file.
    #[error("connector {0} is provisioned from the config file; change it there")]
    Provisioned(String),
    /// The store or the scheduler failed.
    #[error("{0}")]
    Failed(String),
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
    /// the config file is held to, its files must lie below the base folder.
    pub fn define(&self, definition: serde_json::Value) -> Result<ConnectorDef, String> {
        let config = ConnectorConfig::from_json(definition)?;
        config.source.check_confined()?;
        config.to_def(self.base_dir.clone())
    }

    /// Checks a definition sent through the API, saves it (a new connector, or one saved
    /// earlier under that name) and schedules it.
    pub async fn save(&self, definition: serde_json::Value) -> Result<ConnectorDef, SaveError> {
        let def = self.define(definition).map_err(SaveError::Invalid)?;
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
                    .await
                    .map_err(|e| SaveError::Failed(e.to_string()))?;
                if !saved {
                    return Err(SaveError::Provisioned(def.name));
                }
                if let Some(scheduler) = scheduler {
                    scheduler.schedule(&def).await.map_err(SaveError::Failed)?;
                }
                Ok(())
            })
        };
        task.await
            .map_err(|e| SaveError::Failed(format!("saving a connector: {e}")))??;
        tracing::info!(connector = %def.name, "connector saved through the API");
        Ok(def)
    }

    /// Refuses a definition that names an agency or a constant indicator the catalogue
    /// does not have: every row of its runs would be rejected.
    async fn check_catalogue(&self, def: &ConnectorDef) -> Result<(), SaveError> {
        let failed = |e: abe_store::StoreError| SaveError::Failed(e.to_string());
        if let Some(agency) = &def.agency {
            let found = self
                .store
                .agencies(Some(std::slice::from_ref(agency)), None, 1)
                .await
                .map_err(failed)?;
            if found.items.is_empty() {
                return Err(SaveError::Invalid(format!(
                    "agency: {agency} is not in the catalogue"
                )));
            }
        }
        let constant_indicator = def
            .mapping_config
            .fields
            .get("indicator")
            .and_then(|spec| spec.constant.as_ref());
        if let Some(code) = constant_indicator {
            if !self
                .store
                .indicator_codes()
                .await
                .map_err(failed)?
                .contains(code)
            {
                return Err(SaveError::Invalid(format!(
                    "mapping.fields.indicator: indicator {code} is not in the catalogue"
                )));
            }
        }
        Ok(())
    }

    /// The connector named `name`: the config file's, else one saved through the API.
    pub async fn find(&self, name: &str) -> Result<Option<ConnectorDef>, String> {
        if let Some(def) = self.provisioned.get(name) {
            return Ok(Some(def.clone()));
        }
        let saved = self
            .store
            .connectors(Some(&[name.to_string()]), None, 1)
            .await
            .map_err(|e| e.to_string())?;
        saved
            .items
            .into_iter()
            .find(|r| !r.provisioned)
            .map(|r| self.read_saved(&r.name, &r.config))
            .transpose()
    }

    /// Every connector: the config file's, then those saved through the API. A saved
    /// definition this hub can no longer read is logged and left out, not fatal.
    pub async fn all(&self) -> Result<Vec<ConnectorDef>, String> {
        let mut defs: Vec<ConnectorDef> = self.provisioned.values().cloned().collect();
        defs.sort_by(|a, b| a.name.cmp(&b.name));
        for record in self
            .store
            .saved_connectors()
            .await
            .map_err(|e| e.to_string())?
        {
            if self.is_provisioned(&record.name) {
                continue;
            }
            match self.read_saved(&record.name, &record.config) {
                Ok(def) => defs.push(def),
                Err(e) => tracing::error!(connector = %record.name, error = %e,
                    "a saved connector cannot be read; it is not scheduled"),
            }
        }
        Ok(defs)
    }

    fn read_saved(&self, name: &str, config: &str) -> Result<ConnectorDef, String> {
        serde_json::from_str(config)
            .map_err(|e| e.to_string())
            .and_then(|value| self.define(value))
            .map_err(|e| format!("saved connector {name}: {e}"))
    }
}
