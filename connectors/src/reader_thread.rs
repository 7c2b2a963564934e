//! A reader thread for sources whose library reads on its own terms (a workbook parser,
//! a database driver with its own runtime): the thread owns the reader and sends
//! batches through a bounded channel, so reading overlaps with mapping and loading and
//! memory stays flat. The thread stops, quietly, as soon as the run stops listening; a
//! panic in the library becomes a failure, not a crash of the hub.

use std::panic::AssertUnwindSafe;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

/// Batches in flight between a reader thread and the run.
const IN_FLIGHT: usize = 4;

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
}

/// The run's side of a reader thread; `E` says why a reader failed.
pub(crate) struct ReaderThread<M, E = String> {
    receiver: Receiver<Envelope<M, E>>,
    /// Said when the thread died without a word (a panic caught too late, say).
    crashed: &'static str,
}

impl<M: Send + 'static, E: From<&'static str> + Send + 'static> ReaderThread<M, E> {
    /// Starts `body` on a thread named `name`. Its `Err` is sent as the failure, a panic
    /// as `crashed`.
    pub(crate) fn spawn(
        name: &str,
        crashed: &'static str,
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
        Ok(ReaderThread { receiver, crashed })
    }

    /// Waits for the next message.
    pub(crate) fn next(&self) -> Next<M, E> {
        match self.receiver.recv() {
            Ok(Envelope::Message(message)) => Next::Message(message),
            Ok(Envelope::Failed(reason)) => Next::Failed(reason),
            Ok(Envelope::Done) => Next::Done,
            Err(_) => Next::Failed(self.crashed.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_then_the_end_and_panics_become_failures() {
        let reader = ReaderThread::spawn("t", "crashed", |feed: &Feed<u32>| {
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
                Next::Done => panic!("it failed"),
            }
        }
        assert_eq!(got, [0, 1, 2]);
        let panicking =
            ReaderThread::<u32>::spawn("t", "crashed", |_| panic!("boom")).expect("spawns");
        assert!(matches!(panicking.next(), Next::Failed(r) if r == "crashed"));
    }

    #[test]
    fn a_reader_stops_when_the_run_stops_listening() {
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        let reader = ReaderThread::spawn("t", "crashed", move |feed: &Feed<u32>| {
            let mut sent = 0;
            while feed.send(sent) {
                sent += 1;
            }
            let _ = done_tx.send(sent);
            Ok(())
        })
        .expect("spawns");
        assert!(matches!(reader.next(), Next::Message(0)));
        drop(reader);
        let sent = done_rx
            .recv_timeout(std::time::Duration::from_secs(5))
            .expect("the reader stopped");
        assert!(sent <= IN_FLIGHT as u32 + 2, "{sent}");
    }
}
