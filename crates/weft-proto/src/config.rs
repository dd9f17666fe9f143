//! Limits, timers and the opt-outs of automatic behaviour.

use std::time::Duration;

/// Settings for a connection and its handshake.
///
/// Set them with the builder methods, read them from the public fields (each
/// field's setter documents its meaning and default). The defaults suit a
/// public server.
///
/// The limits bound everything the core buffers on its own behalf: a frame,
/// a message, a handshake head. What the caller hands to
/// [`Connection::handle_data`](crate::Connection::handle_data) is kept until
/// [`poll_event`](crate::Connection::poll_event) parses it; an adapter bounds
/// that by reading again only once `poll_event` has returned `None`.
///
/// ```
/// use std::time::Duration;
/// use weft_proto::Config;
///
/// let config = Config::default()
///     .max_message_size(1 << 20)
///     .keepalive(Some(Duration::from_secs(30)), Duration::from_secs(10));
/// assert_eq!(config.max_message_size, 1 << 20);
/// assert_eq!(config.keepalive_interval, Some(Duration::from_secs(30)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// See [`Config::max_frame_size`].
    pub max_frame_size: usize,
    /// See [`Config::max_message_size`].
    pub max_message_size: usize,
    /// See [`Config::stream_threshold`].
    pub stream_threshold: Option<usize>,
    /// See [`Config::auto_pong`].
    pub auto_pong: bool,
    /// See [`Config::auto_close`].
    pub auto_close: bool,
    /// See [`Config::keepalive`].
    pub keepalive_interval: Option<Duration>,
    /// See [`Config::keepalive`].
    pub pong_timeout: Duration,
    /// See [`Config::idle_timeout`].
    pub idle_timeout: Option<Duration>,
    /// See [`Config::close_timeout`].
    pub close_timeout: Duration,
    /// See [`Config::handshake_timeout`].
    pub handshake_timeout: Option<Duration>,
    /// See [`Config::max_handshake_size`].
    pub max_handshake_size: usize,
    /// See [`Config::max_headers`].
    pub max_headers: usize,
    /// See [`Config::deflate`].
    #[cfg(feature = "deflate")]
    pub deflate: Option<crate::deflate::DeflateConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            stream_threshold: None,
            auto_pong: true,
            auto_close: true,
            keepalive_interval: None,
            pong_timeout: Duration::from_secs(20),
            idle_timeout: None,
            close_timeout: Duration::from_secs(10),
            handshake_timeout: Some(Duration::from_secs(10)),
            max_handshake_size: 16 << 10,
            max_headers: 64,
            #[cfg(feature = "deflate")]
            deflate: None,
        }
    }
}

impl Config {
    /// Largest payload of a single received frame. Checked against the frame
    /// header before any payload is buffered; a larger frame fails the
    /// connection with 1009. Default: 16 MiB.
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.max_frame_size = bytes;
        self
    }

    /// Largest received message, summed over its fragments. Checked as each
    /// frame header arrives; a larger message fails the connection with 1009.
    /// Default: 64 MiB.
    pub fn max_message_size(mut self, bytes: usize) -> Self {
        self.max_message_size = bytes;
        self
    }

    /// Streams large messages: a message that grows past `threshold` bytes is
    /// delivered as [`Event::Fragment`](crate::Event::Fragment)s as its bytes
    /// arrive instead of being buffered whole, so memory stays near
    /// `threshold` whatever the message size. Messages up to the threshold
    /// are still delivered whole. Default: `None`, every message whole.
    pub fn stream_threshold(mut self, threshold: Option<usize>) -> Self {
        self.stream_threshold = threshold;
        self
    }

    /// Answer pings with pongs automatically (RFC 6455 5.5.2). Pings are
    /// reported as events either way. Default: `true`.
    pub fn auto_pong(mut self, on: bool) -> Self {
        self.auto_pong = on;
        self
    }

    /// Echo the peer's close frame automatically (RFC 6455 5.5.1). When off,
    /// the application answers [`Event::CloseReceived`](crate::Event::CloseReceived)
    /// by calling [`Connection::close`](crate::Connection::close) itself,
    /// and may send the rest of a message first. Default: `true`.
    pub fn auto_close(mut self, on: bool) -> Self {
        self.auto_close = on;
        self
    }

    /// Keepalive: when nothing has been received for `interval`, send a ping;
    /// if no pong answers it within `pong_timeout`, fail the connection with
    /// 1011 and end with [`Timeout::Pong`](crate::Timeout::Pong). Default:
    /// off (`None`), pong timeout 20 s.
    pub fn keepalive(mut self, interval: Option<Duration>, pong_timeout: Duration) -> Self {
        self.keepalive_interval = interval;
        self.pong_timeout = pong_timeout;
        self
    }

    /// Close the connection (1001, "idle timeout") when nothing has been
    /// received for this long. Default: off.
    pub fn idle_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// How long to wait for the peer's close frame after sending ours, and
    /// for a client, for the server to close the transport after the closing
    /// handshake (RFC 6455 7.1.1). Default: 10 s.
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// How long the opening handshake may take. Default: 10 s. A duration
    /// too long to add to an `Instant` means no timeout, here and in every
    /// other timer.
    pub fn handshake_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Most bytes of a handshake's request or response head (request line or
    /// status line and headers). A server answers a larger request with 431.
    /// Default: 16 KiB.
    pub fn max_handshake_size(mut self, bytes: usize) -> Self {
        self.max_handshake_size = bytes;
        self
    }

    /// Most header lines in a handshake. A server answers more with 431.
    /// Default: 64.
    pub fn max_headers(mut self, count: usize) -> Self {
        self.max_headers = count;
        self
    }

    /// permessage-deflate (RFC 7692): a client offers it, a server accepts
    /// an offer, with these settings. Default: off in the core (the
    /// adapters turn it on).
    #[cfg(feature = "deflate")]
    pub fn deflate(mut self, deflate: Option<crate::deflate::DeflateConfig>) -> Self {
        self.deflate = deflate;
        self
    }
}
