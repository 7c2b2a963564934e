//! Preview: map the first rows of a source without writing anything, so a data steward
//! sees the target rows and the rejects side by side before a connector runs. A
//! preview reads through the same loop as a run, a bounded number of rows for a bounded
//! time, and stops reading as soon as its caller goes away.

use crate::read::{read_source, Flow, Item, ReadError, ReferenceData};
use crate::{ConnectorDef, Pipeline};
use abe_connectors::Cancel;
use abe_schema::{with_target_row, Code, ErrorCode, Reject, SourcePosition, TargetRow};
use abe_store::StoreError;
use std::sync::Arc;
use std::time::Duration;

/// Rows a preview shows at most.
pub const MAX_PREVIEW_ROWS: usize = 1_000;

/// Longest a preview reads; a source slower than this is stopped.
pub const MAX_PREVIEW_TIME: Duration = Duration::from_secs(20);

/// One mapped row of a preview.
#[derive(Debug, Clone, PartialEq)]
pub struct PreviewRow {
    /// Where it came from.
    pub position: SourcePosition,
    /// Target field names and values, in the target's column order.
    pub fields: Vec<(String, String)>,
}

/// The first rows of a source, mapped and checked, and the rejects among them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Preview {
    /// Rows that would load.
    pub rows: Vec<PreviewRow>,
    /// Rows that would be refused.
    pub rejects: Vec<Reject>,
}

/// Why a preview has no rows to show.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    /// The source cannot be read.
    #[error(transparent)]
    Read(#[from] ReadError),
    /// The reference data cannot be loaded.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The source did not give its rows within the time a preview has.
    #[error("the source did not answer within {} s, the time a preview has", .0.as_secs())]
    TimedOut(Duration),
    /// The reading thread panicked.
    #[error("reading the source crashed: {0}")]
    Crashed(String),
}

impl ErrorCode for PreviewError {
    fn error_code(&self) -> Code {
        match self {
            PreviewError::Read(e) => e.error_code(),
            PreviewError::Store(e) => e.error_code(),
            PreviewError::TimedOut(_) => Code::Timeout,
            PreviewError::Crashed(_) => Code::Internal,
        }
    }
}

/// Cancels the read when dropped: when the preview's caller goes away (a request that
/// ended), its future is dropped and the blocking read stops at its next record.
struct CancelOnDrop(Cancel);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

impl Pipeline {
    /// Maps up to `limit` rows (loadable and rejected together, at most
    /// [`MAX_PREVIEW_ROWS`]) of `def`'s source, reading for `time` at most (at most
    /// [`MAX_PREVIEW_TIME`]). Nothing is written.
    pub async fn preview(
        &self,
        def: &ConnectorDef,
        limit: usize,
        time: Duration,
    ) -> Result<Preview, PreviewError> {
        self.preview_declaring(def, limit, time, &[]).await
    }

    /// Like [`Pipeline::preview`], checking rows against the indicators of the
    /// database and `declared` (a config file's, not provisioned: a preview writes
    /// nothing).
    pub async fn preview_declaring(
        &self,
        def: &ConnectorDef,
        limit: usize,
        time: Duration,
        declared: &[String],
    ) -> Result<Preview, PreviewError> {
        let time = time.min(MAX_PREVIEW_TIME);
        let cancel = CancelOnDrop(Cancel::default());
        let mut references = ReferenceData::load(self.store(), def).await?;
        references.declare_indicators(declared);
        let references = Arc::new(references);
        let read = {
            let (def, flag) = (def.clone(), cancel.0.clone());
            let limit = limit.min(MAX_PREVIEW_ROWS);
            tokio::task::spawn_blocking(
                move || with_target_row!(def.target, Row => preview_source::<Row>(&def, &references, limit, &flag)),
            )
        };
        match tokio::time::timeout(time, read).await {
            Ok(Ok(preview)) => preview,
            Ok(Err(e)) => Err(PreviewError::Crashed(e.to_string())),
            // `cancel` is dropped on return, which stops the read.
            Err(_) => Err(PreviewError::TimedOut(time)),
        }
    }
}

fn preview_source<R: TargetRow>(
    def: &ConnectorDef,
    references: &ReferenceData,
    limit: usize,
    cancel: &Cancel,
) -> Result<Preview, PreviewError> {
    let mut preview = Preview::default();
    let read = read_source::<R>(def, references, None, cancel, |item| {
        if preview.rows.len() + preview.rejects.len() >= limit {
            return Flow::Stop;
        }
        match item {
            Item::Row { row, position, .. } => preview.rows.push(PreviewRow {
                position,
                fields: fields_of(&row),
            }),
            Item::Reject(reject) => preview.rejects.push(reject),
            Item::Skipped { .. } => {}
        }
        Flow::Continue
    });
    match read {
        Ok(_) => Ok(preview),
        Err((error, _)) => Err(error.into()),
    }
}

/// The row's fields as text, named as in the mapping (derived columns by their own
/// name), in the target's column order.
fn fields_of<R: TargetRow>(row: &R) -> Vec<(String, String)> {
    R::DESC
        .columns
        .iter()
        .enumerate()
        .map(|(i, column)| (column.label().to_string(), row.value(i).to_text()))
        .collect()
}
