//! Cron schedules (Asia/Bangkok) for connectors, replaced when a definition changes,
//! the first run of connectors that have never run, and the sweep that marks runs
//! abandoned once their lease expires. Every replica schedules every connector: a tick
//! is claimed in the database by the run that records it, so replicas firing the same
//! tick run it once, and a tick that finds its connector still running is skipped.

use crate::{ConnectorDef, Pipeline, RunError, RunOptions, Trigger};
use chrono::{DateTime, SubsecRound, Utc};
use croner::parser::{CronParser, Seconds};
use croner::Cron;
use std::collections::HashMap;
use std::sync::Arc;
use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};

/// The scheduler could not start or change a job.
#[derive(Debug, thiserror::Error)]
#[error("scheduling {what}: {source}")]
pub struct SchedulerError {
    what: String,
    #[source]
    source: JobSchedulerError,
}

fn failed(what: impl Into<String>) -> impl FnOnce(JobSchedulerError) -> SchedulerError {
    let what = what.into();
    move |source| SchedulerError { what, source }
}

/// Reads a 6-field cron expression (seconds first) as the scheduler does: a day of the
/// month and a day of the week must both match (tokio-cron-scheduler's `Job::new_async_tz`
/// sets `dom_and_dow`), so the tick claimed is the one that fired.
fn parse_schedule(schedule: &str) -> Option<Cron> {
    CronParser::builder()
        .seconds(Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(schedule)
        .ok()
}

/// Whether `schedule` is a 6-field cron expression the scheduler accepts.
pub(crate) fn is_valid_schedule(schedule: &str) -> bool {
    parse_schedule(schedule).is_some()
        && Job::new_async_tz(
            schedule,
            chrono_tz::Asia::Bangkok,
            |_, _| Box::pin(async {}),
        )
        .is_ok()
}

/// The tick of `cron` that fired at `now`: its latest time at or before it, in
/// Bangkok time as the schedule is written.
fn tick_of(cron: &Cron, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    // Schedules have whole seconds; the search keeps the fraction it starts from.
    let now = now
        .trunc_subsecs(0)
        .with_timezone(&chrono_tz::Asia::Bangkok);
    cron.find_previous_occurrence(&now, true)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The running scheduler. Clones share it: [`Scheduler::schedule`] on any clone
/// replaces a connector's job, [`Scheduler::shutdown`] stops them all.
#[derive(Clone)]
pub struct Scheduler {
    inner: JobScheduler,
    pipeline: Pipeline,
    /// The job of each scheduled connector, to replace when its definition changes.
    jobs: Arc<tokio::sync::Mutex<HashMap<String, Job>>>,
    sweeper: Arc<tokio::task::JoinHandle<()>>,
}

impl Scheduler {
    /// Schedules every connector that has a schedule, starts (in the background) one run
    /// of each connector the database has no run for, reference data first, and sweeps
    /// runs whose lease expired.
    pub async fn start(
        pipeline: Pipeline,
        connectors: Vec<ConnectorDef>,
    ) -> Result<Scheduler, SchedulerError> {
        let inner = JobScheduler::new().await.map_err(failed("the scheduler"))?;
        let scheduler = Scheduler {
            inner,
            pipeline: pipeline.clone(),
            jobs: Arc::default(),
            sweeper: Arc::new(tokio::spawn(sweep_abandoned(pipeline.clone()))),
        };
        for def in &connectors {
            scheduler.schedule(def).await?;
        }
        scheduler
            .inner
            .start()
            .await
            .map_err(failed("the scheduler"))?;

        let mut first_runs = connectors;
        first_runs.sort_by_key(|d| (d.target.load_order(), d.name.clone()));
        tokio::spawn(async move {
            for def in first_runs {
                match pipeline.store().has_runs(&def.name).await {
                    Ok(false) => {
                        run_logged(&pipeline, &def, RunOptions::new(Trigger::Startup)).await
                    }
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
    pub async fn schedule(&self, def: &ConnectorDef) -> Result<(), SchedulerError> {
        let mut jobs = self.jobs.lock().await;
        let new_job = match def.schedule.clone() {
            Some(schedule) => {
                let pipeline = self.pipeline.clone();
                let job_def = def.clone();
                let cron = parse_schedule(&schedule);
                let job =
                    Job::new_async_tz(schedule.as_str(), chrono_tz::Asia::Bangkok, move |_, _| {
                        let pipeline = pipeline.clone();
                        let def = job_def.clone();
                        let options = RunOptions {
                            scheduled_for: cron.as_ref().and_then(|c| tick_of(c, Utc::now())),
                            ..RunOptions::new(Trigger::Schedule)
                        };
                        Box::pin(async move { run_logged(&pipeline, &def, options).await })
                    })
                    .map_err(failed(format!("{} on \"{schedule}\"", def.name)))?;
                self.inner
                    .add(job.clone())
                    .await
                    .map_err(failed(def.name.clone()))?;
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
                .map_err(failed(format!("the old job of {}", def.name)))?;
        }
        Ok(())
    }

    /// Stops scheduling new runs.
    pub async fn shutdown(self) {
        self.sweeper.abort();
        let mut inner = self.inner;
        if let Err(e) = inner.shutdown().await {
            tracing::warn!(error = %e, "stopping the scheduler");
        }
    }
}

/// Marks runs abandoned once their lease expires, so a run whose process was killed
/// does not stay `running`.
async fn sweep_abandoned(pipeline: Pipeline) {
    let mut ticks = tokio::time::interval(pipeline.lease() / 2);
    loop {
        ticks.tick().await;
        match pipeline
            .store()
            .abandon_expired_runs(None, Utc::now())
            .await
        {
            Ok(abandoned) => {
                for (run_id, connector) in abandoned {
                    tracing::warn!(%connector, run_id, "run abandoned: its process stopped answering and its lease expired");
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot sweep abandoned runs"),
        }
    }
}

/// Runs and logs the outcome; the run journal holds the details.
async fn run_logged(pipeline: &Pipeline, def: &ConnectorDef, options: RunOptions) {
    match pipeline.run_with(def, options).await {
        Ok(_) | Err(RunError::Failed { .. }) => {}
        Err(e @ RunError::AlreadyRunning { .. }) => {
            tracing::info!(connector = %def.name, "{e}; this tick is skipped")
        }
        Err(RunError::TickTaken(_)) => {
            tracing::debug!(connector = %def.name, "another hub runs this tick")
        }
        Err(RunError::Stopping(_)) => {}
        Err(e) => tracing::error!(connector = %def.name, error = %e, "run could not be journaled"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn schedules_are_checked() {
        assert!(is_valid_schedule("0 30 2 * * *"));
        assert!(is_valid_schedule("0 0 3 * * Mon"));
        assert!(!is_valid_schedule("30 2 * * *"));
        assert!(!is_valid_schedule("every night"));
    }

    #[test]
    fn a_tick_is_the_schedule_time_it_fired_for() {
        // 02:30 Bangkok is 19:30 UTC the day before.
        let cron = parse_schedule("0 30 2 * * *").expect("cron");
        let fired = Utc.with_ymd_and_hms(2026, 12, 2, 19, 30, 0).unwrap()
            + chrono::TimeDelta::milliseconds(730);
        assert_eq!(
            tick_of(&cron, fired),
            Some(Utc.with_ymd_and_hms(2026, 12, 2, 19, 30, 0).unwrap())
        );
        let every_second = parse_schedule("* * * * * *").expect("cron");
        let at = Utc.with_ymd_and_hms(2026, 12, 3, 8, 0, 5).unwrap();
        assert_eq!(
            tick_of(&every_second, at + chrono::TimeDelta::milliseconds(400)),
            Some(at)
        );
        // Friday the 13th, both fields matching, as the scheduler fires it: the tick
        // before 2026-12-03 is 2026-11-13 00:00 Bangkok, not the Friday 2026-11-27.
        let friday_13th = parse_schedule("0 0 0 13 * Fri").expect("cron");
        assert_eq!(
            tick_of(
                &friday_13th,
                Utc.with_ymd_and_hms(2026, 12, 3, 0, 0, 0).unwrap()
            ),
            Some(Utc.with_ymd_and_hms(2026, 11, 12, 17, 0, 0).unwrap())
        );
    }
}
