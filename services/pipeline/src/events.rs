//! Run events: each is one type that emits its log line in one place, so every
//! message about runs has one home (and, later, its metric beside it).

use crate::RunReport;

/// A run began.
pub(crate) struct RunStarted<'a> {
    pub connector: &'a str,
    pub run_id: i64,
    pub trigger: &'a str,
}

impl RunStarted<'_> {
    pub fn emit(&self) {
        tracing::info!(
            connector = self.connector,
            run_id = self.run_id,
            trigger = self.trigger,
            "run started"
        );
    }
}

/// A run committed.
pub(crate) struct RunSucceeded<'a>(pub &'a RunReport);

impl RunSucceeded<'_> {
    pub fn emit(&self) {
        let r = self.0;
        let c = &r.counts;
        tracing::info!(
            connector = %r.connector,
            run_id = r.run_id,
            read = c.read,
            inserted = c.inserted,
            updated = c.updated,
            unchanged = c.unchanged,
            deleted = c.deleted,
            rejected = c.rejected,
            duplicates = c.duplicates,
            read_ms = r.read_ms,
            load_ms = r.load_ms,
            "run succeeded"
        );
    }
}

/// A run failed and was rolled back. The log line holds the whole error, which callers
/// without the right to see it are pointed to by the run's id.
pub(crate) struct RunFailed<'a> {
    pub connector: &'a str,
    pub run_id: i64,
    pub code: abe_schema::Code,
    pub error: &'a dyn std::fmt::Display,
}

impl RunFailed<'_> {
    pub fn emit(&self) {
        tracing::warn!(
            connector = self.connector,
            run_id = self.run_id,
            code = %self.code,
            error = %self.error,
            "run failed; previous data kept"
        );
    }
}
