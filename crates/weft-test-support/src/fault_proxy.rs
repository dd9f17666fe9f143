//! A fault-injecting TCP proxy for tests: it sits on loopback between a
//! client and a server and forwards bytes unchanged until a test tells it
//! to misbehave — close or reset every connection, go silent, delay or
//! split what it forwards, or accept and drop new connections.
//!
//! It is built on std threads and blocking `std::net` sockets only, so the
//! same proxy serves blocking tests and tokio tests alike: nothing in it
//! needs a runtime, and no method blocks for long (only [`Drop`] joins its
//! threads, which exit promptly once told to).
//!
//! Each accepted connection gets an upstream connection and two forwarding
//! threads, one per direction. A forwarding thread reads a chunk, waits
//! while the proxy is stalled or the chunk is delayed (on a [`Condvar`],
//! so a fault changed meanwhile wakes it), then writes it on. A thread
//! blocked in a read is woken by shutting the socket down; one blocked in
//! a write (its peer not reading) looks for an ending every 100 ms, the
//! only timeout in the proxy.
//!
//! ```no_run
//! # use std::net::TcpStream;
//! # use weft_test_support::FaultProxy;
//! # fn server_addr() -> std::net::SocketAddr { unimplemented!() }
//! let proxy = FaultProxy::start(server_addr())?;
//! let client = TcpStream::connect(proxy.addr())?;
//! // ... the client talks to the server through the proxy, then:
//! proxy.reset(); // the client and the server both see ConnectionReset
//! # Ok::<(), std::io::Error>(())
//! ```

use std::collections::HashMap;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use socket2::SockRef;

/// How much a forwarding thread reads at once: also how much it holds back
/// while stalled, beyond which the sender's socket buffers fill up.
const CHUNK: usize = 16 * 1024;

/// The pause between the pieces of a split write, long enough for each
/// piece to leave as its own segment and arrive as its own read.
const PIECE_PAUSE: Duration = Duration::from_millis(1);

/// How often a forwarding thread blocked in a write (its peer not reading)
/// looks whether its connection was ended: writes are the one place that
/// shutting the socket down cannot wake without sending a FIN, which a
/// reset must not send.
const WRITE_POLL: Duration = Duration::from_millis(100);

/// How long connecting upstream may take before the client is reset.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A TCP proxy on loopback that forwards each connection to an upstream
/// address and injects faults on command.
///
/// Faults set with [`stall`](Self::stall), [`delay`](Self::delay),
/// [`split_writes`](Self::split_writes) and [`refuse`](Self::refuse) stay
/// in force, for open and new connections, until set back;
/// [`cut`](Self::cut) and [`reset`](Self::reset) act once, on the
/// connections open at the time.
///
/// Dropping the proxy closes its listener and every open connection (FIN
/// both ways) and joins all its threads.
pub struct FaultProxy {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accept: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Starts a proxy listening on `127.0.0.1` on a port of the system's
    /// choosing, forwarding each connection it accepts to `upstream`.
    pub fn start(upstream: SocketAddr) -> io::Result<FaultProxy> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                upstream,
                stalled: false,
                delay: Duration::ZERO,
                split: None,
                refuse: false,
                stopping: false,
                accepted: 0,
                next_id: 0,
                conns: HashMap::new(),
                threads: Vec::new(),
            }),
            changed: Condvar::new(),
        });
        let accept = {
            let shared = Arc::clone(&shared);
            thread::Builder::new()
                .name("fault-proxy-accept".into())
                .spawn(move || shared.accept_loop(listener))?
        };
        Ok(FaultProxy {
            shared,
            addr,
            accept: Some(accept),
        })
    }

    /// The address the proxy listens on: connect here instead of upstream.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends new connections to `upstream` from now on (a server restarted
    /// on another port); open connections stay where they are.
    pub fn set_upstream(&self, upstream: SocketAddr) {
        self.shared.lock().upstream = upstream;
    }

    /// Closes every open connection cleanly: both the client and the
    /// server read EOF (a FIN each), and bytes held back are dropped.
    /// Bytes a peer sent that the proxy had not read yet (a stall) make the
    /// kernel follow the FIN with a RST at close, as for any socket closed
    /// with unread input.
    pub fn cut(&self) {
        let mut state = self.shared.lock();
        for conn in state.conns.values_mut() {
            conn.end(Ending::Cut);
        }
        self.shared.changed.notify_all();
    }

    /// Aborts every open connection: both the client and the server get a
    /// RST (SO_LINGER 0, then close) and read `ConnectionReset`.
    pub fn reset(&self) {
        let mut state = self.shared.lock();
        for conn in state.conns.values_mut() {
            conn.end(Ending::Reset);
        }
        self.shared.changed.notify_all();
    }

    /// While `true`, forwards nothing in either direction and closes
    /// nothing, as a peer that went silent without going away: bytes stay
    /// unread in the sockets (up to one chunk per direction is held by the
    /// proxy), so the sender's buffers eventually fill. New connections are
    /// accepted and connected upstream, and stall too. `false` forwards
    /// everything held and resumes.
    pub fn stall(&self, stalled: bool) {
        self.shared.lock().stalled = stalled;
        self.shared.changed.notify_all();
    }

    /// Holds each chunk read `delay` before forwarding it, in both
    /// directions; `Duration::ZERO` forwards at once. Applies to chunks
    /// read from now on.
    pub fn delay(&self, delay: Duration) {
        self.shared.lock().delay = delay;
    }

    /// With `Some(n)`, forwards each chunk in pieces of at most `n` bytes
    /// (`Some(0)` counts as 1), each its own write with a 1 ms pause
    /// between them, so that they arrive as separate segments and the peer
    /// reads a message in several pieces. `None` forwards each chunk in
    /// one write. Applies to chunks read from now on.
    pub fn split_writes(&self, max: Option<usize>) {
        self.shared.lock().split = max.map(|n| n.max(1));
    }

    /// While `true`, accepts new connections and closes them at once
    /// without connecting upstream, as a server that accepts and drops:
    /// the client reads EOF (or, if it wrote first, may get a reset, as the
    /// kernel answers unread bytes at close with RST). Open connections are
    /// untouched.
    pub fn refuse(&self, refuse: bool) {
        self.shared.lock().refuse = refuse;
    }

    /// How many connections the proxy has accepted so far, refused ones
    /// included.
    pub fn connections(&self) -> usize {
        self.shared.lock().accepted
    }

    /// How many connections are open now: connected upstream and not yet
    /// closed on both sides.
    pub fn open(&self) -> usize {
        self.shared.lock().conns.len()
    }

    /// Waits up to `timeout` until [`connections`](Self::connections) is at
    /// least `n`; true if it is. A connect returns before the proxy has
    /// accepted, so a test that counts waits here.
    pub fn wait_connections(&self, n: usize, timeout: Duration) -> bool {
        self.shared.wait_for(timeout, |state| state.accepted >= n)
    }

    /// Waits up to `timeout` until [`open`](Self::open) is exactly `n`;
    /// true if it is. Connections close asynchronously, after their
    /// forwarding threads notice, so a test that counts waits here.
    pub fn wait_open(&self, n: usize, timeout: Duration) -> bool {
        self.shared
            .wait_for(timeout, |state| state.conns.len() == n)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        {
            let mut state = self.shared.lock();
            state.stopping = true;
            for conn in state.conns.values_mut() {
                conn.end(Ending::Cut);
            }
            self.shared.changed.notify_all();
        }
        if let Some(accept) = self.accept.take() {
            // The accept thread is blocked in accept(), which nothing in
            // std can interrupt: a connection of our own wakes it, and it
            // sees `stopping`. Connecting to a live loopback listener
            // succeeds once it is in the backlog; retry only on failure.
            while !accept.is_finished() {
                if TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_ok() {
                    break;
                }
                thread::sleep(Duration::from_millis(10));
            }
            let _ = accept.join();
        }
        // No thread is spawned after the accept thread has exited.
        let threads = std::mem::take(&mut self.shared.lock().threads);
        for handle in threads {
            let _ = handle.join();
        }
    }
}

/// What the proxy's threads share.
struct Shared {
    state: Mutex<State>,
    /// Notified on every change a waiting thread may care about: faults
    /// set or cleared, connections ended, accepted, opened or closed.
    changed: Condvar,
}

/// The faults in force, the counts, and the open connections.
struct State {
    upstream: SocketAddr,
    stalled: bool,
    delay: Duration,
    split: Option<usize>,
    refuse: bool,
    /// Set by `Drop`: accept nothing more, end everything.
    stopping: bool,
    accepted: usize,
    next_id: u64,
    conns: HashMap<u64, Conn>,
    /// Every forwarding thread not yet joined; finished ones are pruned as
    /// new ones start, the rest joined by `Drop`.
    threads: Vec<JoinHandle<()>>,
}

/// An open connection: the proxy's copies of both sockets (the forwarding
/// threads hold their own), and how it is being ended.
struct Conn {
    client: TcpStream,
    server: TcpStream,
    ending: Option<Ending>,
    /// Forwarding threads still running; the entry, and with it the last
    /// copies of the sockets, goes when this reaches zero.
    running: u8,
}

/// Why a connection is going away, once something ended it; a direction
/// that just reached EOF is not an ending, the other may go on.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ending {
    /// FIN both ways ([`FaultProxy::cut`], or the proxy dropped).
    Cut,
    /// RST both ways ([`FaultProxy::reset`], or one side failed).
    Reset,
}

/// The two directions of a connection.
#[derive(Clone, Copy)]
enum Direction {
    /// Client to server.
    Up,
    /// Server to client.
    Down,
}

/// How a forwarding thread stopped.
enum Stop {
    /// Its source reached EOF: half-close the destination.
    Eof,
    /// Reading or writing failed: reset the whole connection.
    Failed,
    /// The connection was ended (cut, reset, proxy dropped).
    Ended,
}

impl Conn {
    /// Ends the connection as `ending`, unless something already did.
    /// Shutting down the reading side wakes a forwarding thread blocked in
    /// a read (it reads 0 and finds the ending); a cut also shuts down the
    /// writing side, which sends the FIN and wakes a blocked write.
    fn end(&mut self, ending: Ending) {
        if self.ending.is_some() {
            return;
        }
        self.ending = Some(ending);
        for socket in [&self.client, &self.server] {
            match ending {
                Ending::Cut => {
                    let _ = socket.shutdown(Shutdown::Both);
                }
                Ending::Reset => {
                    // No FIN: the RST goes when the last copy of the
                    // socket is closed, as the forwarding threads exit.
                    let _ = SockRef::from(socket).set_linger(Some(Duration::ZERO));
                    let _ = socket.shutdown(Shutdown::Read);
                }
            }
        }
    }
}

impl Shared {
    /// The state, even if a thread panicked holding it: what it protects
    /// stays consistent, and one failed test must not hang the others.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits up to `timeout` for `done` to hold; whether it does.
    fn wait_for(&self, timeout: Duration, mut done: impl FnMut(&State) -> bool) -> bool {
        let state = self.lock();
        let (state, _) = self
            .changed
            .wait_timeout_while(state, timeout, |state| !done(state))
            .unwrap_or_else(PoisonError::into_inner);
        done(&state)
    }

    /// Accepts connections until the proxy is dropped.
    fn accept_loop(self: Arc<Self>, listener: TcpListener) {
        loop {
            let accepted = listener.accept();
            let (client, upstream) = {
                let mut state = self.lock();
                if state.stopping {
                    return;
                }
                let Ok((client, _)) = accepted else {
                    drop(state);
                    // Out of descriptors, or the like: wait rather than
                    // spin, and try again.
                    thread::sleep(Duration::from_millis(10));
                    continue;
                };
                state.accepted += 1;
                self.changed.notify_all();
                if state.refuse {
                    drop(client);
                    continue;
                }
                (client, state.upstream)
            };
            match TcpStream::connect_timeout(&upstream, CONNECT_TIMEOUT) {
                Ok(server) => Arc::clone(&self).open(client, server),
                // Upstream is down: reset the client, the nearest to the
                // refused connection it would get without the proxy.
                Err(_) => abort(&client),
            }
        }
    }

    /// Registers a connection and starts its two forwarding threads.
    fn open(self: Arc<Self>, client: TcpStream, server: TcpStream) {
        let copies = (|| {
            for socket in [&client, &server] {
                // The proxy must not add Nagle's delay, and split pieces
                // must leave at once.
                socket.set_nodelay(true)?;
                socket.set_write_timeout(Some(WRITE_POLL))?;
            }
            Ok::<_, io::Error>([
                (client.try_clone()?, server.try_clone()?),
                (server.try_clone()?, client.try_clone()?),
            ])
        })();
        let Ok([up, down]) = copies else {
            abort(&client);
            abort(&server);
            return;
        };
        let mut state = self.lock();
        if state.stopping {
            // Dropped with the copies: every copy closes, FIN both ways.
            return;
        }
        let id = state.next_id;
        state.next_id += 1;
        state.conns.insert(
            id,
            Conn {
                client,
                server,
                ending: None,
                running: 0,
            },
        );
        state.threads.retain(|handle| !handle.is_finished());
        for (direction, (from, to)) in [(Direction::Up, up), (Direction::Down, down)] {
            let shared = Arc::clone(&self);
            let spawned = thread::Builder::new()
                .name("fault-proxy-forward".into())
                .spawn(move || shared.forward(id, direction, from, to));
            let conn = state.conns.get_mut(&id).expect("just inserted");
            match spawned {
                Ok(handle) => {
                    conn.running += 1;
                    state.threads.push(handle);
                }
                Err(_) => {
                    // Without both directions the connection is no use.
                    conn.end(Ending::Reset);
                    if conn.running == 0 {
                        state.conns.remove(&id);
                    }
                    break;
                }
            }
        }
        self.changed.notify_all();
    }

    /// Forwards one direction of connection `id` until it ends, then
    /// reports how.
    fn forward(&self, id: u64, direction: Direction, mut from: TcpStream, mut to: TcpStream) {
        let mut buf = vec![0; CHUNK];
        let stop = 'forward: loop {
            // While stalled, read nothing: the bytes stay in the socket.
            if !self.wait_until(id, None) {
                break Stop::Ended;
            }
            let n = match from.read(&mut buf) {
                Ok(0) => break Stop::Eof,
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => break Stop::Failed,
            };
            let (delay, split) = {
                let state = self.lock();
                (state.delay, state.split)
            };
            let piece = split.unwrap_or(n);
            let mut deadline = Instant::now() + delay;
            for chunk in buf[..n].chunks(piece) {
                // A stall that began during the read, or during the
                // pieces, holds what was read.
                if !self.wait_until(id, Some(deadline)) {
                    break 'forward Stop::Ended;
                }
                if let Err(stop) = self.write_all(id, &mut to, chunk) {
                    break 'forward stop;
                }
                deadline = Instant::now() + PIECE_PAUSE;
            }
        };
        // The proxy's own copies are the last to close, so that a
        // connection counted closed is closed.
        drop((from, to));
        self.finish(id, direction, stop);
    }

    /// Waits while the proxy is stalled and until `deadline`; false if the
    /// connection was ended meanwhile (then nothing more is forwarded).
    fn wait_until(&self, id: u64, deadline: Option<Instant>) -> bool {
        let mut state = self.lock();
        loop {
            let ended = state
                .conns
                .get(&id)
                .is_none_or(|conn| conn.ending.is_some());
            if ended || state.stopping {
                return false;
            }
            let now = Instant::now();
            state = if state.stalled {
                self.changed
                    .wait(state)
                    .unwrap_or_else(PoisonError::into_inner)
            } else if let Some(wait) = deadline.and_then(|d| d.checked_duration_since(now)) {
                if wait.is_zero() {
                    return true;
                }
                self.changed
                    .wait_timeout(state, wait)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            } else {
                return true;
            };
        }
    }

    /// Writes all of `data` to `to`, looking between write timeouts
    /// whether the connection was ended.
    fn write_all(&self, id: u64, to: &mut TcpStream, mut data: &[u8]) -> Result<(), Stop> {
        while !data.is_empty() {
            match to.write(data) {
                Ok(0) => return Err(Stop::Failed),
                Ok(n) => data = &data[n..],
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) =>
                {
                    if !self.is_live(id) {
                        return Err(Stop::Ended);
                    }
                }
                Err(_) => return Err(Stop::Failed),
            }
        }
        to.flush().map_err(|_| Stop::Failed)
    }

    /// Whether connection `id` is still to be forwarded: not ended, the
    /// proxy not stopping. A stall does not count: a write already under
    /// way finishes.
    fn is_live(&self, id: u64) -> bool {
        let state = self.lock();
        !state.stopping
            && state
                .conns
                .get(&id)
                .is_some_and(|conn| conn.ending.is_none())
    }

    /// One direction of connection `id` stopped: propagate that to the
    /// other side, and close the connection once both directions stopped.
    fn finish(&self, id: u64, direction: Direction, stop: Stop) {
        let mut state = self.lock();
        let Some(conn) = state.conns.get_mut(&id) else {
            return;
        };
        match stop {
            // The source closed its writing side: pass the FIN on and let
            // the other direction run until its own EOF.
            Stop::Eof if conn.ending.is_none() => {
                let to = match direction {
                    Direction::Up => &conn.server,
                    Direction::Down => &conn.client,
                };
                let _ = to.shutdown(Shutdown::Write);
            }
            // One side reset (or went wrong): reset the other.
            Stop::Failed => conn.end(Ending::Reset),
            Stop::Eof | Stop::Ended => {}
        }
        conn.running -= 1;
        if conn.running == 0 {
            state.conns.remove(&id);
        }
        self.changed.notify_all();
    }
}

/// Closes `socket` with a RST rather than a FIN.
fn abort(socket: &TcpStream) {
    let _ = SockRef::from(socket).set_linger(Some(Duration::ZERO));
}
