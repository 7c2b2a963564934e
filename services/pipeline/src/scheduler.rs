//! Cron schedules (Asia/Bangkok) for connectors, replaced when a definition changes,
//! and the first run of connectors that have never run. A tick that finds its
//! connector still running is skipped, not queued.

use crate::run::target_order;
use crate::{ConnectorDef, Pipeline, RunError, Trigger};
use std::collections::HashMap;
use std::sync::Arc;
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

/// The running scheduler. Clones share it: [`Scheduler::schedule`] on any clone
/// replaces a connector's job, [`Scheduler::shutdown`] stops them all.
#[derive(Clone)]
pub struct Scheduler {
    inner: JobScheduler,
    pipeline: Pipeline,
    /// The job of each scheduled connector, to replace when its definition changes.
    jobs: Arc<tokio::sync::Mutex<HashMap<String, Job>>>,
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
        let scheduler = Scheduler {
            inner,
            pipeline: pipeline.clone(),
            jobs: Arc::default(),
        };
        for def in &connectors {
            scheduler.schedule(def).await?;
        }
        scheduler
            .inner
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
        Ok(scheduler)
    }

    /// Schedules `def` on its cron schedule, replacing the job of an earlier definition
    /// of the same connector; a definition without a schedule only removes that job.
    /// The new job is in place before the old one goes, so a failure keeps the old one.
    pub async fn schedule(&self, def: &ConnectorDef) -> Result<(), String> {
        let mut jobs = self.jobs.lock().await;
        let new_job = match def.schedule.clone() {
            Some(schedule) => {
                let pipeline = self.pipeline.clone();
                let job_def = def.clone();
                let job =
                    Job::new_async_tz(schedule.as_str(), chrono_tz::Asia::Bangkok, move |_, _| {
                        let pipeline = pipeline.clone();
                        let def = job_def.clone();
                        Box::pin(
                            async move { run_logged(&pipeline, &def, Trigger::Schedule).await },
                        )
                    })
                    .map_err(|e| format!("connector {}: schedule {schedule}: {e}", def.name))?;
                self.inner
                    .add(job.clone())
                    .await
                    .map_err(|e| format!("scheduling {}: {e}", def.name))?;
                Some(job)
            }
            None => None,
        };
        let old = match new_job {
            Some(job) => jobs.insert(def.name.clone(), job),
            None => jobs.remove(&def.name),
        };
        if let Some(old) = old {
            self.inner
                .remove(&old.guid())
                .await
                .map_err(|e| format!("unscheduling the old job of {}: {e}", def.name))?;
        }
        Ok(())
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
