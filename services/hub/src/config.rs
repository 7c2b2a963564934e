//! The TOML config file: the catalogue (agencies, indicators, thresholds) and the
//! provisioned connectors. Relative source paths start at the config file's folder.

use abe_pipeline::{ConnectorConfig, ConnectorDef, Registry};
use abe_schema::{Agency, AlertRule, Indicator, Threshold, Topic};
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The whole config file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HubConfig {
    /// Organisations that own sources.
    #[serde(default)]
    pub agencies: Vec<Agency>,
    /// The topic list that links indicators, alerts, problems and resources.
    #[serde(default)]
    pub topics: Vec<Topic>,
    /// The indicator catalogue.
    #[serde(default)]
    pub indicators: Vec<Indicator>,
    /// Warning and critical values per indicator and level.
    #[serde(default)]
    pub thresholds: Vec<Threshold>,
    /// Early-warning rules per indicator.
    #[serde(default)]
    pub alert_rules: Vec<AlertRule>,
    /// Connectors provisioned from this file (read-only through the API).
    #[serde(default)]
    pub connectors: Vec<ConnectorConfig>,
    #[serde(skip)]
    base_dir: PathBuf,
}

impl HubConfig {
    /// Reads and checks the config at `path`.
    pub fn load(path: &Path) -> Result<HubConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config {}", path.display()))?;
        let mut config: HubConfig =
            toml::from_str(&text).with_context(|| format!("parsing config {}", path.display()))?;
        config.base_dir = path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        config
            .check()
            .with_context(|| format!("checking config {}", path.display()))?;
        Ok(config)
    }

    /// An empty config, for running the hub with no file.
    pub fn empty() -> HubConfig {
        HubConfig {
            agencies: Vec::new(),
            topics: Vec::new(),
            indicators: Vec::new(),
            thresholds: Vec::new(),
            alert_rules: Vec::new(),
            connectors: Vec::new(),
            base_dir: PathBuf::from("."),
        }
    }

    fn check(&self) -> Result<()> {
        let mut agencies = HashSet::new();
        for a in &self.agencies {
            if !agencies.insert(a.code.as_str()) {
                bail!("agency {} is declared twice", a.code);
            }
        }
        let mut topics = HashSet::new();
        for t in &self.topics {
            t.check().map_err(anyhow::Error::msg)?;
            if !topics.insert(t.code.as_str()) {
                bail!("topic {} is declared twice", t.code);
            }
        }
        let mut indicators = HashSet::new();
        for i in &self.indicators {
            if !indicators.insert(i.code.as_str()) {
                bail!("indicator {} is declared twice", i.code);
            }
            // With a topic list, an indicator's topic must be on it (the gap analysis
            // matches alerts to resources by topic).
            if let Some(topic) = &i.topic {
                if !self.topics.is_empty() && !topics.contains(topic.as_str()) {
                    bail!(
                        "indicator {} has topic {topic}, which is not in the topic list",
                        i.code
                    );
                }
            }
        }
        for i in &self.indicators {
            i.check(&|code| indicators.contains(code))
                .map_err(anyhow::Error::msg)?;
        }
        for t in &self.thresholds {
            if !indicators.contains(t.indicator.as_str()) {
                bail!(
                    "a threshold refers to indicator {}, which is not declared",
                    t.indicator
                );
            }
        }
        let mut rules = HashSet::new();
        for r in &self.alert_rules {
            r.check().map_err(anyhow::Error::msg)?;
            if !rules.insert(r.name.as_str()) {
                bail!("alert rule {} is declared twice", r.name);
            }
            if !indicators.contains(r.indicator.as_str()) {
                bail!(
                    "alert rule {} watches indicator {}, which is not declared",
                    r.name,
                    r.indicator
                );
            }
        }
        let mut names = HashSet::new();
        for c in &self.connectors {
            if !names.insert(c.name.as_str()) {
                bail!("connector {} is declared twice", c.name);
            }
            if let Some(agency) = &c.agency {
                if !agencies.contains(agency.as_str()) {
                    bail!(
                        "connector {} names agency {agency}, which is not declared",
                        c.name
                    );
                }
            }
            if let Some(spec) = c.mapping.fields.get("indicator") {
                if let Some(code) = &spec.constant {
                    if !indicators.contains(code.as_str()) {
                        bail!(
                            "connector {} loads indicator {code}, which is not declared",
                            c.name
                        );
                    }
                }
            }
        }
        self.connector_defs().map(|_| ())
    }

    /// The connectors, checked and ready to run.
    pub fn connector_defs(&self) -> Result<Vec<ConnectorDef>> {
        self.connectors
            .iter()
            .map(|c| c.to_def(self.base_dir.clone()).map_err(anyhow::Error::from))
            .collect()
    }

    /// The folder relative source paths start from: the config file's, or the current
    /// one without a file. Connectors saved through the API read files only below it.
    pub fn base_dir(&self) -> &Path {
        &self.base_dir
    }

    /// The hub's connectors over `store`: this file's, and those saved through the API.
    pub fn registry(&self, store: &abe_store::Store) -> Result<Registry> {
        Ok(Registry::new(
            store.clone(),
            self.connector_defs()?,
            self.base_dir.clone(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demo() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/demo/hub.toml")
    }

    #[test]
    fn the_demo_config_loads() {
        let config = HubConfig::load(&demo()).expect("demo config is valid");
        assert!(config.connectors.len() >= 3);
        assert_eq!(
            config.connector_defs().expect("defs").len(),
            config.connectors.len()
        );
    }

    #[test]
    fn stored_definitions_read_back_as_the_same_connectors() {
        let config = HubConfig::load(&demo()).expect("demo config is valid");
        for def in config.connector_defs().expect("defs") {
            let stored: serde_json::Value =
                serde_json::from_str(&def.spec().config).expect("stored JSON");
            let again = ConnectorConfig::from_json(stored)
                .and_then(|c| c.to_def(config.base_dir().to_path_buf()))
                .unwrap_or_else(|e| panic!("{}: {e}", def.name));
            // Against the definition read from the TOML: a field the stored JSON drops
            // would differ here.
            let declared = config
                .connectors
                .iter()
                .find(|c| c.name == def.name)
                .expect("declared");
            assert_eq!(&again.config(), declared);
        }
    }

    #[test]
    fn mistakes_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("hub.toml");
        let cases = [
            ("[[agencies]]\ncode='A'\nname_th='ก'\nkind='government'\n[[agencies]]\ncode='A'\nname_th='ข'\nkind='ngo'\n", "agency A is declared twice"),
            ("[[thresholds]]\nindicator='x'\nlevel='district'\n", "indicator x, which is not declared"),
            ("[[connectors]]\nname='c'\ntarget='areas'\nschedule='bad'\nsource={kind='csv', path='a.csv'}\n[connectors.mapping.fields]\ncode={column='c'}\nname_th={column='n'}\n", "6-field cron"),
            ("[[connectors]]\nname='c'\ntarget='areas'\nsource={kind='csv', path='a.csv', colour='red'}\n[connectors.mapping.fields]\ncode={column='c'}\n", "unknown field `colour`"),
            ("colour = 1\n", "unknown field `colour`"),
        ];
        for (text, expect) in cases {
            std::fs::write(&path, text).expect("write");
            let err = format!("{:#}", HubConfig::load(&path).expect_err("refused"));
            assert!(err.contains(expect), "{err}");
        }
    }
}
