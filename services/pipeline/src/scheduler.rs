//! Cron schedules (Asia/Bangkok) for provisioned connectors, and the first run of
//! connectors that have never run. A tick that finds its connector still running is
//! skipped, not queued.

use crate::run::target_order;
use crate::{ConnectorDef, Pipeline, RunError, Trigger};
use tokio_cron_scheduler::{Job, JobScheduler};

/// Checks a 6-field cron expression (seconds first) the way the scheduler reads it.
pub(crate) fn check_schedule(schedule: &str) -> Result<(), String> {
    Job::new_async_tz(
        schedule,
        chrono_tz::Asia::Bangkok,
        |_, _| Box::pin(async {}),
    )
    .map(|_| ())
    .map_err(|_| {
        format!(
            "schedule \"{schedule}\" is not a 6-field cron expression \
                 (sec min hour day-of-month month day-of-week), e.g. \"0 30 2 * * *\""
        )
    })
}

/// The running scheduler; dropping it does not stop jobs, [`Scheduler::shutdown`] does.
pub struct Scheduler {
    inner: JobScheduler,
}

impl Scheduler {
    /// Schedules every connector that has a schedule, and starts (in the background)
    /// one run of each connector the database has no run for, reference data first.
    pub async fn start(
        pipeline: Pipeline,
        connectors: Vec<ConnectorDef>,
    ) -> Result<Scheduler, String> {
        let inner = JobScheduler::new()
            .await
            .map_err(|e| format!("starting the scheduler: {e}"))?;
        for def in connectors.iter().filter(|d| d.schedule.is_some()) {
            let schedule = def.schedule.clone().unwrap_or_default();
            let name = def.name.clone();
            let pipeline = pipeline.clone();
            let def = def.clone();
            let job =
                Job::new_async_tz(schedule.as_str(), chrono_tz::Asia::Bangkok, move |_, _| {
                    let pipeline = pipeline.clone();
                    let def = def.clone();
                    Box::pin(async move { run_logged(&pipeline, &def, Trigger::Schedule).await })
                })
                .map_err(|e| format!("connector {name}: schedule {schedule}: {e}"))?;
            inner
                .add(job)
                .await
                .map_err(|e| format!("scheduling {name}: {e}"))?;
        }
        inner
            .start()
            .await
            .map_err(|e| format!("starting the scheduler: {e}"))?;

        let mut first_runs = connectors;
        first_runs.sort_by_key(|d| (target_order(d.target), d.name.clone()));
        tokio::spawn(async move {
            for def in first_runs {
                match pipeline.store().has_runs(&def.name).await {
                    Ok(false) => run_logged(&pipeline, &def, Trigger::Startup).await,
                    Ok(true) => {}
                    Err(e) => {
                        tracing::error!(connector = %def.name, error = %e, "cannot read the run journal")
                    }
                }
            }
        });
        Ok(Scheduler { inner })
    }

    /// Stops scheduling new runs.
    pub async fn shutdown(self) {
        let mut inner = self.inner;
        if let Err(e) = inner.shutdown().await {
            tracing::warn!(error = %e, "stopping the scheduler");
        }
    }
}

/// Runs and logs the outcome; the run journal holds the details.
async fn run_logged(pipeline: &Pipeline, def: &ConnectorDef, trigger: Trigger) {
    match pipeline.run(def, trigger).await {
        Ok(_) | Err(RunError::Failed { .. }) => {}
        Err(RunError::AlreadyRunning(name)) => {
            tracing::info!(connector = %name, "still running; this tick is skipped")
        }
        Err(e) => tracing::error!(connector = %def.name, error = %e, "run could not be journaled"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_are_checked_with_a_helpful_message() {
        assert!(check_schedule("0 30 2 * * *").is_ok());
        assert!(check_schedule("0 0 3 * * Mon").is_ok());
        let err = check_schedule("30 2 * * *").expect_err("5 fields");
        assert!(err.contains("6-field cron"), "{err}");
    }
}
