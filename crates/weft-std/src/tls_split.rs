//! A client TLS stream split into halves for two threads.
//!
//! rustls's connection is one state machine for both directions, so it
//! sits behind a mutex held only to feed it records or take records from
//! it, never across socket I/O. Each half owns a clone of the TCP socket:
//! the reader blocks on its clone with no lock held. Outgoing TLS records
//! are taken and written under one write lock, so their sequence numbers
//! reach the wire in order whichever half produced them.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::Duration;

use rustls::ClientConnection;

use crate::Transport;

#[derive(Debug)]
struct Shared {
    tls: Mutex<ClientConnection>,
    out: Mutex<TcpStream>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    /// Writes every record rustls has ready, in order. The caller holds `out`.
    fn drain(&self, out: &mut TcpStream) -> io::Result<()> {
        loop {
            let mut records = Vec::new();
            {
                let mut tls = lock(&self.tls);
                if !tls.wants_write() {
                    return out.flush();
                }
                tls.write_tls(&mut records)?;
            }
            out.write_all(&records)?;
        }
    }

    /// The writing half's path: waits for `out`, writes every record, then
    /// writes what the reader produced meanwhile.
    fn send_records(&self) -> io::Result<()> {
        let mut out = lock(&self.out);
        self.drain(&mut out)?;
        drop(out);
        self.send_owed_records()
    }

    /// The reading half's path: writes records only if no one else is
    /// writing (the writing half then writes them, and looks again after
    /// releasing `out`), so the reader never blocks on a write.
    fn send_owed_records(&self) -> io::Result<()> {
        loop {
            let mut out = match self.out.try_lock() {
                Ok(out) => out,
                Err(TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
                Err(TryLockError::WouldBlock) => return Ok(()),
            };
            self.drain(&mut out)?;
            drop(out);
            if !lock(&self.tls).wants_write() {
                return Ok(());
            }
        }
    }
}

/// The reading half of a split `wss://` stream.
#[derive(Debug)]
pub struct TlsReadHalf {
    tcp: TcpStream,
    shared: Arc<Shared>,
    /// Ciphertext read but not yet taken by rustls.
    pending: Vec<u8>,
}

/// The writing half of a split `wss://` stream.
#[derive(Debug)]
pub struct TlsWriteHalf {
    shared: Arc<Shared>,
}

pub(crate) fn split(
    stream: rustls::StreamOwned<ClientConnection, TcpStream>,
) -> io::Result<(TlsReadHalf, TlsWriteHalf)> {
    let (tls, tcp) = stream.into_parts();
    let out = tcp.try_clone()?;
    let shared = Arc::new(Shared {
        tls: Mutex::new(tls),
        out: Mutex::new(out),
    });
    let reader = TlsReadHalf {
        tcp,
        shared: shared.clone(),
        pending: Vec::new(),
    };
    Ok((reader, TlsWriteHalf { shared }))
}

impl Read for TlsReadHalf {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let (result, wants_write) = {
                let mut tls = lock(&self.shared.tls);
                // Feed what was read; rustls may take it in several bites.
                while !self.pending.is_empty() {
                    let taken = tls.read_tls(&mut &self.pending[..])?;
                    self.pending.drain(..taken);
                    tls.process_new_packets()
                        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                    if taken == 0 {
                        // Its plaintext buffer is full: hand that out first.
                        break;
                    }
                }
                (tls.reader().read(buf), tls.wants_write())
            };
            if wants_write {
                self.shared.send_owed_records()?;
            }
            match result {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e),
            }
            let mut ciphertext = [0u8; 16 * 1024];
            // No lock is held while this blocks.
            match self.tcp.read(&mut ciphertext)? {
                0 => {
                    // The end of the TCP stream: let rustls tell a clean
                    // close_notify (Ok(0)) from a truncation (UnexpectedEof).
                    let mut tls = lock(&self.shared.tls);
                    tls.read_tls(&mut &[][..])?;
                    return tls.reader().read(buf);
                }
                n => self.pending.extend_from_slice(&ciphertext[..n]),
            }
        }
    }
}

impl Write for TlsWriteHalf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = lock(&self.shared.tls).writer().write(buf)?;
        self.shared.send_records()?;
        Ok(n)
    }

    fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
        let n = lock(&self.shared.tls).writer().write_vectored(bufs)?;
        self.shared.send_records()?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.shared.send_records()
    }
}

impl Write for TlsReadHalf {
    /// The reading half does not write.
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::ErrorKind::Unsupported.into())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for TlsWriteHalf {
    /// The writing half does not read.
    fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
        Err(io::ErrorKind::Unsupported.into())
    }
}

impl Transport for TlsReadHalf {
    fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.tcp.set_read_timeout(timeout)
    }

    fn abort(&self) -> io::Result<()> {
        Transport::abort(&self.tcp)
    }
}

impl Transport for TlsWriteHalf {
    fn shutdown_write(&mut self) -> io::Result<()> {
        lock(&self.shared.tls).send_close_notify();
        self.shared.send_records()?;
        match lock(&self.shared.out).shutdown(Shutdown::Write) {
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        }
    }
}
