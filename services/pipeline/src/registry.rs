//! The connectors a hub runs: those provisioned from its config file, and those saved
//! through the API, which the store keeps as the same JSON documents.

use crate::{ConnectorConfig, ConnectorDef};
use abe_store::Store;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Finds and checks connector definitions, whichever way they were declared.
#[derive(Clone)]
pub struct Registry {
    store: Store,
    provisioned: Arc<HashMap<String, ConnectorDef>>,
    base_dir: PathBuf,
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
        }
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
