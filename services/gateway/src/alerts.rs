//! Early-warning alerts and the rules that raise them: queries by area (with its
//! sub-areas), indicator, topic, severity and status, worst first; acknowledging and
//! resolving by hand; rules saved through the API.
//!
//! Audience: alerts and rules are public (a rule's webhook URL only to admins); every
//! change needs the admin token.

use crate::areas::Area;
use crate::error::{failure, CodeExt};
use crate::indicators::ValueSource;
use crate::loaders::{load_node, Loaders};
use crate::observations::Indicator;
use crate::{store, Caller};
use abe_schema::Code;
use abe_store::{AlertFilter, AlertRecord};
use async_graphql::{Context, Enum, InputObject, Json, Object, Result, SimpleObject, ID};
use chrono::{DateTime, Utc};

/// How urgent an alert is.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "abe_schema::AlertSeverity")]
pub enum AlertSeverity {
    /// Watch it.
    Warning,
    /// Act on it.
    Critical,
}

/// Where an alert is in its lifecycle.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "abe_schema::AlertStatus")]
pub enum AlertStatus {
    /// Raised, not yet seen to.
    Open,
    /// Taken up by someone; still firing.
    Acknowledged,
    /// Back in range, or closed by hand.
    Resolved,
}

/// What an alert rule checks.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(remote = "abe_schema::RuleKind")]
pub enum RuleKind {
    /// The indicator's warning or critical threshold at the area's level.
    Threshold,
    /// Worse than the parent area by more than a share.
    WorseThanParent,
    /// Worse than the previous period several periods in a row.
    Worsening,
    /// Outside the area's own past mean plus or minus k standard deviations.
    Jump,
    /// No value for the latest period where the area reported before.
    Missing,
}

/// One step of an alert's history.
#[derive(SimpleObject)]
pub struct AlertEvent {
    /// When.
    pub at: DateTime<Utc>,
    /// The status it moved to (or kept, when only the value changed).
    pub status: AlertStatus,
    /// Who (none for the hub's own evaluation).
    pub by: Option<String>,
    /// Their comment.
    pub comment: Option<String>,
    /// The period evaluated.
    pub period: Option<String>,
    /// The value then.
    pub value: Option<f64>,
}

/// An early-warning alert: an indicator's value in an area that a rule finds wrong.
pub struct Alert(pub(crate) AlertRecord);

/// An early-warning alert.
#[Object]
impl Alert {
    /// Id.
    async fn id(&self) -> ID {
        ID(self.0.id.to_string())
    }

    /// Indicator code.
    async fn indicator_code(&self) -> &str {
        &self.0.indicator
    }

    /// The indicator.
    async fn indicator(&self, ctx: &Context<'_>) -> Result<Option<Indicator>> {
        load_node(&ctx.data::<Loaders>()?.indicators, self.0.indicator.clone()).await
    }

    /// Area code.
    async fn area_code(&self) -> &str {
        &self.0.area_code
    }

    /// The area.
    async fn area(&self, ctx: &Context<'_>) -> Result<Option<Area>> {
        load_node(&ctx.data::<Loaders>()?.areas, self.0.area_code.clone()).await
    }

    /// The rule's name.
    async fn rule(&self) -> &str {
        &self.0.rule
    }

    /// What the rule checks.
    async fn kind(&self) -> RuleKind {
        self.0.kind.into()
    }

    /// The period of the value that fired it (the latest evaluated while it fires).
    async fn period(&self) -> &str {
        &self.0.period
    }

    /// Severity.
    async fn severity(&self) -> AlertSeverity {
        self.0.severity.into()
    }

    /// The value (null for a missing value).
    async fn value(&self) -> Option<f64> {
        self.0.value
    }

    /// The threshold or limit crossed, where there is one number.
    async fn threshold(&self) -> Option<f64> {
        self.0.threshold
    }

    /// What was expected, in words.
    async fn expected(&self) -> &str {
        &self.0.expected
    }

    /// The sources behind the value.
    async fn sources(&self) -> Vec<ValueSource> {
        self.0.sources().into_iter().map(Into::into).collect()
    }

    /// Where it is in its lifecycle.
    async fn status(&self) -> AlertStatus {
        self.0.status.into()
    }

    /// The period whose value resolved it.
    async fn resolved_period(&self) -> Option<&str> {
        self.0.resolved_period.as_deref()
    }

    /// When it was raised.
    async fn raised_at(&self) -> DateTime<Utc> {
        self.0.raised_at
    }

    /// When it last changed.
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }

    /// Its history, oldest first.
    async fn history(&self) -> Vec<AlertEvent> {
        self.0
            .history()
            .into_iter()
            .map(|e| AlertEvent {
                at: e.at,
                status: e.status.into(),
                by: e.by,
                comment: e.comment,
                period: e.period,
                value: e.value,
            })
            .collect()
    }
}

/// An early-warning rule.
pub struct AlertRule(abe_schema::AlertRule);

impl From<abe_schema::AlertRule> for AlertRule {
    fn from(rule: abe_schema::AlertRule) -> Self {
        AlertRule(rule)
    }
}

/// An early-warning rule of one indicator.
#[Object]
impl AlertRule {
    /// Unique name.
    async fn name(&self) -> &str {
        &self.0.name
    }

    /// The indicator it watches.
    async fn indicator_code(&self) -> &str {
        &self.0.indicator
    }

    /// What it checks.
    async fn kind(&self) -> RuleKind {
        self.0.kind.into()
    }

    /// Severity of its alerts (a threshold rule's come from the threshold reached).
    async fn severity(&self) -> Option<AlertSeverity> {
        (self.0.kind != abe_schema::RuleKind::Threshold).then(|| self.0.severity().into())
    }

    /// Levels it looks at (every level when empty).
    async fn levels(&self) -> Vec<crate::areas::AreaLevel> {
        self.0.levels.iter().map(|&l| l.into()).collect()
    }

    /// The whole rule as JSON, as the config writes it; the webhook URL (which may hold
    /// a token) only for admins.
    async fn definition(&self, ctx: &Context<'_>) -> Json<serde_json::Value> {
        let mut rule = self.0.clone();
        if !Caller::of(ctx).is_admin() && rule.webhook.is_some() {
            rule.webhook = Some("(set; shown to admins)".into());
        }
        Json(serde_json::to_value(rule).unwrap_or_default())
    }
}

/// Which alerts to list.
#[derive(InputObject, Default)]
pub struct AlertFilterInput {
    /// This area and every area under it.
    pub area: Option<String>,
    /// Indicator codes.
    pub indicators: Option<Vec<String>>,
    /// The indicators' topic.
    pub topic: Option<String>,
    /// Severities.
    pub severities: Option<Vec<AlertSeverity>>,
    /// Statuses (open and acknowledged when omitted).
    pub statuses: Option<Vec<AlertStatus>>,
}

/// Queries of alerts and rules.
#[derive(Default)]
pub struct AlertQuery;

#[Object]
impl AlertQuery {
    /// Alerts matching `filter`, worst first: critical before warning, open before
    /// acknowledged before resolved, newest first; at most 1,000. Without statuses, the
    /// unresolved ones.
    async fn alerts(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] filter: AlertFilterInput,
    ) -> Result<Vec<Alert>> {
        let statuses = filter
            .statuses
            .unwrap_or_else(|| vec![AlertStatus::Open, AlertStatus::Acknowledged]);
        let filter = AlertFilter {
            area: filter.area,
            indicators: filter.indicators.unwrap_or_default(),
            topic: filter.topic,
            severities: filter
                .severities
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            statuses: statuses.into_iter().map(Into::into).collect(),
        };
        let rows = store(ctx)?.alerts(&filter).await.map_err(failure)?;
        Ok(rows.into_iter().map(Alert).collect())
    }

    /// One alert by id.
    async fn alert(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Alert>> {
        let Ok(id) = id.parse::<i64>() else {
            return Ok(None);
        };
        Ok(store(ctx)?.alert(id).await.map_err(failure)?.map(Alert))
    }

    /// Every alert rule, by name.
    async fn alert_rules(&self, ctx: &Context<'_>) -> Result<Vec<AlertRule>> {
        let rules = store(ctx)?.alert_rules(None).await.map_err(failure)?;
        Ok(rules.into_iter().map(AlertRule).collect())
    }
}

/// Changes to alerts and rules. Each needs the admin token.
#[derive(Default)]
pub struct AlertMutation;

impl AlertMutation {
    async fn move_alert(
        ctx: &Context<'_>,
        id: ID,
        status: abe_schema::AlertStatus,
        by: String,
        comment: Option<String>,
    ) -> Result<Alert> {
        ctx.data::<crate::Operations>()?.authorize(ctx)?;
        let by = by.trim();
        if by.is_empty() {
            return Err(Code::BadInput.error("`by` names who acts on the alert"));
        }
        let store = store(ctx)?;
        let not_found = || Code::NotFound.error(format!("no alert {}", id.as_str()));
        let id: i64 = id.parse().map_err(|_| not_found())?;
        let current = store
            .alert(id)
            .await
            .map_err(failure)?
            .ok_or_else(not_found)?;
        if current.status == abe_schema::AlertStatus::Resolved {
            return Err(Code::BadInput.error(format!(
                "alert {id} is already resolved; a new alert opens if the rule fires again"
            )));
        }
        let changed = store
            .set_alert_status(id, status, by, comment.as_deref(), Utc::now())
            .await
            .map_err(failure)?
            .ok_or_else(not_found)?;
        Ok(Alert(changed))
    }
}

#[Object]
impl AlertMutation {
    /// Acknowledges an open alert: someone took it up. `by` names them; the comment
    /// says what is being done. It stays acknowledged until the value is back in range.
    async fn acknowledge_alert(
        &self,
        ctx: &Context<'_>,
        id: ID,
        by: String,
        comment: Option<String>,
    ) -> Result<Alert> {
        Self::move_alert(ctx, id, abe_schema::AlertStatus::Acknowledged, by, comment).await
    }

    /// Resolves an alert by hand, with a comment. If its rule still fires at the next
    /// evaluation, a new alert opens.
    async fn resolve_alert(
        &self,
        ctx: &Context<'_>,
        id: ID,
        by: String,
        comment: Option<String>,
    ) -> Result<Alert> {
        Self::move_alert(ctx, id, abe_schema::AlertStatus::Resolved, by, comment).await
    }

    /// Creates or replaces an alert rule. The definition is an `[[alert_rules]]` entry
    /// of the config file as JSON; a mistake is refused (BAD_INPUT) naming the field.
    /// Rules provisioned from the config file are refused (FORBIDDEN). The rule is
    /// evaluated at once.
    async fn save_alert_rule(
        &self,
        ctx: &Context<'_>,
        definition: Json<serde_json::Value>,
    ) -> Result<AlertRule> {
        let operations = ctx.data::<crate::Operations>()?;
        operations.authorize(ctx)?;
        let rule: abe_schema::AlertRule =
            serde_path_to_error::deserialize(definition.0).map_err(|e| {
                Code::BadInput.error(format!(
                    "alert rule definition: {}: {}",
                    e.path(),
                    e.inner()
                ))
            })?;
        rule.check().map_err(|e| Code::BadInput.error(e))?;
        let store = store(ctx)?;
        let known = store.indicator_codes().await.map_err(failure)?;
        if !known.contains(&rule.indicator) {
            return Err(Code::BadInput.error(format!(
                "alert rule {}: indicator {} is not in the catalogue",
                rule.name, rule.indicator
            )));
        }
        if !store.save_alert_rule(&rule).await.map_err(failure)? {
            return Err(Code::Forbidden.error(format!(
                "alert rule {} is provisioned from the config file; change it there",
                rule.name
            )));
        }
        let change = abe_analytics::Change {
            indicators: Some(vec![rule.indicator.clone()]),
            scope: abe_store::Scope::All,
        };
        operations
            .analytics
            .recompute(&change)
            .await
            .map_err(failure)?;
        Ok(AlertRule(rule))
    }

    /// Deletes an alert rule saved through the API; its unresolved alerts are resolved
    /// by `by` (nothing would evaluate them again), and all its alerts stay with their
    /// history. Returns whether one was deleted (provisioned rules are not).
    async fn delete_alert_rule(&self, ctx: &Context<'_>, name: String, by: String) -> Result<bool> {
        ctx.data::<crate::Operations>()?.authorize(ctx)?;
        store(ctx)?
            .delete_alert_rule(&name, by.trim(), Utc::now())
            .await
            .map_err(failure)
    }
}
