//! What the web-source tests share: a real HTTP server on loopback, and draining a
//! source into records, rejects and the fatal error.

// Each test binary uses its own part of this module.
#![allow(dead_code)]

use abe_connectors::{Cell, Record, RecordStream, SourceError, SourceItem};
use abe_schema::Reject;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// Serves `app` on 127.0.0.1 (a port the OS picks) from a background thread with its
/// own Tokio runtime, so the blocking source can be driven from the test thread.
/// Returns `http://127.0.0.1:PORT`.
pub fn serve(app: axum::Router) -> String {
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .expect("bind loopback");
            sender
                .send(listener.local_addr().expect("local address"))
                .expect("send address");
            axum::serve(listener, app).await.expect("serve");
        });
    });
    format!("http://{}", receiver.recv().expect("server address"))
}

/// A request counter the handlers share with the test.
#[derive(Clone, Default)]
pub struct Hits(Arc<AtomicUsize>);

impl Hits {
    /// Counts one request and returns its 1-based number.
    pub fn hit(&self) -> usize {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Requests so far.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Everything a source yielded.
#[derive(Debug, Default)]
pub struct Drained {
    /// Records in order.
    pub records: Vec<Record>,
    /// Rejects in order.
    pub rejects: Vec<Reject>,
    /// The fatal error, from `open` or from the stream.
    pub error: Option<String>,
}

impl Drained {
    /// The error text, failing the test when the source succeeded.
    pub fn error(&self) -> &str {
        match &self.error {
            Some(e) => e,
            None => panic!(
                "expected an error, got {} records and {} rejects",
                self.records.len(),
                self.rejects.len()
            ),
        }
    }

    /// The records, failing the test on an error.
    pub fn ok(self) -> Self {
        if let Some(e) = &self.error {
            panic!("unexpected error: {e}");
        }
        self
    }
}

/// Reads a source to its end or its first error.
pub fn drain(opened: Result<RecordStream, SourceError>) -> Drained {
    let mut drained = Drained::default();
    let stream = match opened {
        Ok(stream) => stream,
        Err(e) => {
            drained.error = Some(e.to_string());
            return drained;
        }
    };
    for item in stream {
        match item {
            Ok(SourceItem::Record(r)) => drained.records.push(r),
            Ok(SourceItem::Reject(r)) => drained.rejects.push(r),
            Err(e) => {
                drained.error = Some(e.to_string());
                break;
            }
        }
    }
    drained
}

/// The text of `record`'s cell in `column`.
pub fn text<'r>(record: &'r Record, column: &str) -> &'r str {
    let i = record
        .header
        .position(column)
        .unwrap_or_else(|| panic!("no column {column} in {:?}", record.header.names()));
    match record.cells.get(i) {
        Some(Cell::Text(t)) => t,
        Some(Cell::Error(e)) => panic!("error cell {e}"),
        None => "",
    }
}
