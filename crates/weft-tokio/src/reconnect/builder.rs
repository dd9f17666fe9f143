//! [`ReconnectBuilder`]: what a reconnecting client connects to, what it
//! runs on each connection, and how it recovers.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tokio::sync::mpsc;
use weft_io::reconnect::ReconnectOptions;
use weft_io::{ClientOptions, Error};

use super::client::ReconnectingClient;
use super::run::{run, Parts};
use super::{ReconnectingSender, Shared, TaskWake, Ws};

/// What an `on_connect` hook returns: its work on the new connection.
pub type HookFuture<'a> = Pin<Box<dyn Future<Output = Result<(), Error>> + Send + 'a>>;

pub(super) type Hook = Box<dyn for<'a> FnMut(&'a mut Ws) -> HookFuture<'a> + Send>;
pub(super) type Provider = Box<dyn FnMut(u32) -> (String, ClientOptions) + Send>;

/// Builds a [`ReconnectingClient`]; made by
/// [`reconnect::connect`](super::connect).
pub struct ReconnectBuilder {
    url: String,
    options: ClientOptions,
    reconnect: ReconnectOptions,
    hook: Option<Hook>,
    provider: Option<Provider>,
    events: usize,
}

impl fmt::Debug for ReconnectBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReconnectBuilder")
            .field("url", &self.url)
            .field("options", &self.options)
            .field("reconnect", &self.reconnect)
            .field("hook", &self.hook.is_some())
            .field("provider", &self.provider.is_some())
            .finish()
    }
}

impl ReconnectBuilder {
    pub(super) fn new(url: String) -> ReconnectBuilder {
        ReconnectBuilder {
            url,
            options: ClientOptions::default(),
            reconnect: ReconnectOptions::default(),
            hook: None,
            provider: None,
            events: 64,
        }
    }

    /// How each connection is opened (default: `ClientOptions::default()`).
    pub fn options(mut self, options: ClientOptions) -> Self {
        self.options = options;
        self
    }

    /// The backoff policy, queue limits, retry decision and jitter.
    pub fn reconnect(mut self, reconnect: ReconnectOptions) -> Self {
        self.reconnect = reconnect;
        self
    }

    /// Runs `hook` on every new connection before anything queued is
    /// written (authenticate, resubscribe). The hook may send and read on
    /// the connection; messages it reads are its own. An error from it
    /// counts as a failed attempt, classified like any other.
    pub fn on_connect<F>(mut self, hook: F) -> Self
    where
        F: for<'a> FnMut(&'a mut Ws) -> HookFuture<'a> + Send + 'static,
    {
        self.hook = Some(Box::new(hook));
        self
    }

    /// Gives the URL and options of each attempt (numbered from 1 in the
    /// current streak of failures), in place of the fixed ones: a
    /// refreshed token in a header, another server.
    pub fn request_with<F>(mut self, provider: F) -> Self
    where
        F: FnMut(u32) -> (String, ClientOptions) + Send + 'static,
    {
        self.provider = Some(Box::new(provider));
        self
    }

    /// How many events may wait unread before the connection stops
    /// reading (default 64): a slow application slows the peer rather
    /// than filling memory.
    pub fn event_capacity(mut self, capacity: usize) -> Self {
        self.events = capacity.max(1);
        self
    }

    /// Starts connecting in a task of its own and returns the handle at
    /// once; the first connection's progress arrives as events.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub fn start(self) -> ReconnectingClient {
        let shared = Arc::new(Shared::new(self.reconnect.outbox, TaskWake::default()));
        let (events, receiver) = mpsc::channel(self.events);
        let parts = Parts {
            url: self.url,
            options: self.options,
            supervisor: self.reconnect.into_supervisor(),
            hook: self.hook,
            provider: self.provider,
        };
        let task = tokio::spawn(run(parts, shared.clone(), events));
        ReconnectingClient {
            sender: ReconnectingSender::new(shared),
            events: receiver,
            task: Some(task),
        }
    }
}
