//! A TCP proxy between the hub and its PostgreSQL that a test can break and restore, to
//! see how the hub answers during a database outage (the idea of crates.io's
//! chaosproxy). Broken, it drops every connection it carries and refuses new ones.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// A proxy to one upstream address.
pub struct ChaosProxy {
    address: SocketAddr,
    broken: Arc<AtomicBool>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
    acceptor: JoinHandle<()>,
}

impl ChaosProxy {
    /// Starts a proxy on 127.0.0.1 to `upstream`.
    pub async fn start(upstream: SocketAddr) -> ChaosProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("proxy binds");
        let address = listener.local_addr().expect("proxy address");
        let broken = Arc::new(AtomicBool::new(false));
        let connections: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let acceptor = {
            let (broken, connections) = (Arc::clone(&broken), Arc::clone(&connections));
            tokio::spawn(async move {
                loop {
                    let Ok((mut client, _)) = listener.accept().await else {
                        return;
                    };
                    if broken.load(Ordering::SeqCst) {
                        drop(client);
                        continue;
                    }
                    let carried = tokio::spawn(async move {
                        if let Ok(mut server) = TcpStream::connect(upstream).await {
                            let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                        }
                    });
                    if let Ok(mut list) = connections.lock() {
                        list.push(carried);
                    }
                }
            })
        };
        ChaosProxy {
            address,
            broken,
            connections,
            acceptor,
        }
    }

    /// The proxy's address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Drops every connection and refuses new ones, as a database that went away.
    pub fn break_networking(&self) {
        self.broken.store(true, Ordering::SeqCst);
        if let Ok(mut list) = self.connections.lock() {
            for connection in list.drain(..) {
                connection.abort();
            }
        }
    }

    /// Carries connections again.
    pub fn restore_networking(&self) {
        self.broken.store(false, Ordering::SeqCst);
    }
}

impl Drop for ChaosProxy {
    fn drop(&mut self) {
        self.acceptor.abort();
        self.break_networking();
    }
}
