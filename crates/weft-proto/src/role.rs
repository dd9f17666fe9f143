//! [`Role`]: which end of a connection this is.

use std::fmt;

/// Which end of the connection this is. It decides masking (RFC 6455 5.1:
/// clients mask, servers do not) and who closes the transport first (7.1.1:
/// the server).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The end that opened the connection and sent the handshake request.
    Client,
    /// The end that accepted the connection and answered the handshake.
    Server,
}

impl fmt::Display for Role {
    /// `client` or `server`, as logs and span fields show it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Client => "client",
            Role::Server => "server",
        })
    }
}
