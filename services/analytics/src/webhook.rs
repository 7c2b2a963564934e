//! Alert notifications: each raised or resolved alert is posted as JSON to its rule's
//! webhook, retried with exponential backoff, in the background so that a slow
//! receiver never holds up a computation.

use abe_schema::AlertRule;
use abe_store::{AlertChanges, AlertRecord, ValueSource};
use backon::{ExponentialBuilder, Retryable};
use std::collections::HashMap;
use std::time::Duration;

/// What a webhook receives.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WebhookEvent {
    /// `raised` or `resolved`.
    pub event: String,
    /// Alert id.
    pub id: i64,
    /// Rule name.
    pub rule: String,
    /// Indicator code.
    pub indicator: String,
    /// Area code.
    pub area: String,
    /// Period of the value (for a resolution, the period that resolved it).
    pub period: String,
    /// `warning` or `critical`.
    pub severity: String,
    /// The value (none for a missing one).
    pub value: Option<f64>,
    /// What was expected.
    pub expected: String,
    /// The sources behind the value.
    pub sources: Vec<ValueSource>,
}

impl WebhookEvent {
    fn of(event: &str, alert: &AlertRecord) -> WebhookEvent {
        WebhookEvent {
            event: event.to_string(),
            id: alert.id,
            rule: alert.rule.clone(),
            indicator: alert.indicator.clone(),
            area: alert.area_code.clone(),
            period: alert
                .resolved_period
                .clone()
                .unwrap_or_else(|| alert.period.clone()),
            severity: alert.severity.to_string(),
            value: alert.value,
            expected: alert.expected.clone(),
            sources: alert.sources(),
        }
    }
}

/// Posts alert changes to webhooks.
#[derive(Clone)]
pub struct Notifier {
    client: reqwest::Client,
    attempts: usize,
    first_delay: Duration,
}

impl Default for Notifier {
    fn default() -> Self {
        Notifier::new(5, Duration::from_secs(1))
    }
}

impl Notifier {
    /// Tries each post up to `attempts` times, waiting `first_delay`, then twice as
    /// long each time.
    pub fn new(attempts: usize, first_delay: Duration) -> Notifier {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("abe-hub/", env!("CARGO_PKG_VERSION")))
            .build()
            .unwrap_or_default();
        Notifier {
            client,
            attempts: attempts.max(1),
            first_delay,
        }
    }

    /// Posts every raised and resolved alert of `changes` whose rule has a webhook.
    pub fn notify(&self, rules: &[AlertRule], changes: &AlertChanges) {
        let hooks: HashMap<&str, &str> = rules
            .iter()
            .filter_map(|r| Some((r.name.as_str(), r.webhook.as_deref()?)))
            .collect();
        let events = changes
            .raised
            .iter()
            .map(|a| ("raised", a))
            .chain(changes.resolved.iter().map(|a| ("resolved", a)));
        for (event, alert) in events {
            let Some(url) = hooks.get(alert.rule.as_str()) else {
                continue;
            };
            let body = WebhookEvent::of(event, alert);
            let notifier = self.clone();
            let url = url.to_string();
            tokio::spawn(async move { notifier.post(&url, &body).await });
        }
    }

    async fn post(&self, url: &str, body: &WebhookEvent) {
        let send = || async {
            self.client
                .post(url)
                .json(body)
                .send()
                .await?
                .error_for_status()
                .map(drop)
        };
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.first_delay)
            .with_max_times(self.attempts - 1);
        let result = send.retry(backoff).sleep(tokio::time::sleep).await;
        // The URL is the steward's own setting; its query may hold a token, so only
        // the host is logged.
        let host = reqwest::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string))
            .unwrap_or_default();
        match result {
            Ok(()) => {
                tracing::info!(alert = body.id, event = %body.event, %host, "webhook delivered")
            }
            Err(error) => tracing::warn!(
                alert = body.id,
                event = %body.event,
                %host,
                status = ?error.status(),
                "webhook not delivered after {} attempts",
                self.attempts
            ),
        }
    }
}
