//! A reader thread for sources whose library reads on its own terms (a workbook parser,
//! a database driver with its own runtime): the thread owns the reader and sends
//! batches through a bounded channel, so reading overlaps with mapping and loading and
//! memory stays flat. The thread stops, quietly, as soon as the run stops listening; a
//! panic in the library becomes a failure, not a crash of the hub. A run cancelled while
//! it waits (a slow query, a huge sheet) stops waiting at once.

use crate::Cancel;
use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::time::Duration;

/// Batches in flight between a reader thread and the run.
const IN_FLIGHT: usize = 4;

/// How often a run waiting for its reader looks at its cancel flag.
const CANCEL_POLL: Duration = Duration::from_millis(100);

/// What a reader thread sends: its messages, then how it ended.
enum Envelope<M, E> {
    Message(M),
    Failed(E),
    Done,
}

/// The reader thread's side: sends messages while the run listens.
pub(crate) struct Feed<M, E = String> {
    sender: SyncSender<Envelope<M, E>>,
}

impl<M, E> Feed<M, E> {
    /// Sends a message; `false` when the run no longer listens, and the reader should
    /// stop.
    pub(crate) fn send(&self, message: M) -> bool {
        self.sender.send(Envelope::Message(message)).is_ok()
    }
}

/// What the run receives next from a reader thread.
pub(crate) enum Next<M, E = String> {
    /// A message.
    Message(M),
    /// The reader failed, and why.
    Failed(E),
    /// Every message was sent.
    Done,
    /// The run was cancelled while it waited; the thread stops at its next send.
    Cancelled,
}

/// The run's side of a reader thread; `E` says why a reader failed.
pub(crate) struct ReaderThread<M, E = String> {
    receiver: Receiver<Envelope<M, E>>,
    /// Said when the thread died without a word (a panic caught too late, say).
    crashed: &'static str,
    cancel: Cancel,
}

impl<M: Send + 'static, E: From<&'static str> + Send + 'static> ReaderThread<M, E> {
    /// Starts `body` on a thread named `name`. Its `Err` is sent as the failure, a panic
    /// as `crashed`; `cancel` ends the run's waiting.
    pub(crate) fn spawn(
        name: &str,
        crashed: &'static str,
        cancel: &Cancel,
        body: impl FnOnce(&Feed<M, E>) -> Result<(), E> + Send + 'static,
    ) -> std::io::Result<Self> {
        let (sender, receiver) = sync_channel(IN_FLIGHT);
        std::thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let feed = Feed { sender };
                let last = match std::panic::catch_unwind(AssertUnwindSafe(|| body(&feed))) {
                    Ok(Ok(())) => Envelope::Done,
                    Ok(Err(reason)) => Envelope::Failed(reason),
                    Err(_) => Envelope::Failed(crashed.into()),
                };
                // The run may have stopped listening; nothing is left to tell it then.
                let _ = feed.sender.send(last);
            })?;
        Ok(ReaderThread {
            receiver,
            crashed,
            cancel: cancel.clone(),
        })
    }

    /// Waits for the next message, or until the run is cancelled.
    pub(crate) fn next(&self) -> Next<M, E> {
        loop {
            if self.cancel.is_cancelled() {
                return Next::Cancelled;
            }
            match self.receiver.recv_timeout(CANCEL_POLL) {
                Ok(Envelope::Message(message)) => return Next::Message(message),
                Ok(Envelope::Failed(reason)) => return Next::Failed(reason),
                Ok(Envelope::Done) => return Next::Done,
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => return Next::Failed(self.crashed.into()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_then_the_end_and_panics_become_failures() {
        let reader = ReaderThread::spawn("t", "crashed", &Cancel::default(), |feed: &Feed<u32>| {
            for i in 0..3 {
                if !feed.send(i) {
                    return Ok(());
                }
            }
            Err("broken at 3".into())
        })
        .expect("spawns");
        let mut got = Vec::new();
        loop {
            match reader.next() {
                Next::Message(m) => got.push(m),
                Next::Failed(reason) => {
                    assert_eq!(reason, "broken at 3");
                    break;
                }
                Next::Done | Next::Cancelled => panic!("it failed"),
            }
        }
        assert_eq!(got, [0, 1, 2]);
        let panicking =
            ReaderThread::<u32>::spawn("t", "crashed", &Cancel::default(), |_| panic!("boom"))
                .expect("spawns");
        assert!(matches!(panicking.next(), Next::Failed(r) if r == "crashed"));
    }

    #[test]
    fn a_reader_stops_when_the_run_stops_listening() {
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let reader = ReaderThread::spawn(
            "t",
            "crashed",
            &Cancel::default(),
            move |feed: &Feed<u32>| {
                let mut sent = 0;
                while feed.send(sent) {
                    sent += 1;
                }
                let _ = done_tx.send(sent);
                Ok(())
            },
        )
        .expect("spawns");
        assert!(matches!(reader.next(), Next::Message(0)));
        drop(reader);
        let sent = done_rx
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("the reader stopped");
        assert!(sent <= IN_FLIGHT as u32 + 2, "{sent}");
    }

    #[test]
    fn a_cancelled_run_stops_waiting_for_a_slow_reader() {
        let cancel = Cancel::default();
        let reader = ReaderThread::spawn("t", "crashed", &cancel, |feed: &Feed<u32>| {
            // A query that takes its time before its first row.
            std::thread::sleep(Duration::from_secs(3));
            feed.send(1);
            Ok(())
        })
        .expect("spawns");
        let stopper = cancel.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(200));
            stopper.cancel();
        });
        let started = std::time::Instant::now();
        assert!(matches!(reader.next(), Next::Cancelled));
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
    }
}
