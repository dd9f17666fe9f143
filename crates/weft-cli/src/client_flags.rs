//! The flags `weft connect` and `weft inspect` share: what the client
//! sends in its opening handshake, and how it connects and trusts the
//! server.

use std::path::PathBuf;
use std::time::Duration;

use weft_io::ClientOptions;
use weft_tokio::Config;

use crate::client_tls;

/// How the client opens its connection.
#[derive(Debug, clap::Args)]
pub(crate) struct ClientFlags {
    /// A request header, 'Name: value' (repeatable).
    #[arg(short = 'H', long = "header", value_name = "NAME: VALUE")]
    pub(crate) headers: Vec<String>,
    /// A subprotocol to offer (repeatable, most preferred first).
    #[arg(long = "subprotocol", value_name = "P")]
    pub(crate) subprotocols: Vec<String>,
    /// The Origin header.
    #[arg(long, value_name = "O")]
    pub(crate) origin: Option<String>,
    /// Do not offer permessage-deflate.
    #[arg(long)]
    pub(crate) no_deflate: bool,
    /// Trust the certificates in this PEM file (a private CA, a test certificate).
    #[arg(long, value_name = "FILE")]
    pub(crate) ca: Option<PathBuf>,
    /// Do not verify the server's certificate (the connection is encrypted,
    /// its peer unauthenticated).
    #[arg(long)]
    pub(crate) insecure: bool,
    /// Seconds the TCP connect may take (default 10).
    #[arg(long, value_name = "S")]
    pub(crate) connect_timeout: Option<f64>,
}

/// Seconds from the command line as a duration.
pub(crate) fn seconds(flag: &str, s: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(s).map_err(|_| format!("--{flag} {s}: not a number of seconds"))
}

impl ClientFlags {
    /// The engine's configuration with these flags applied to `config`.
    pub(crate) fn config(&self, config: Config) -> Config {
        if self.no_deflate {
            config.deflate(None)
        } else {
            config
        }
    }

    /// The client options these flags describe, over `config`; the TLS
    /// settings are left to the caller.
    pub(crate) fn options(&self, config: Config) -> Result<ClientOptions, String> {
        let mut options = ClientOptions::new().config(self.config(config));
        for header in &self.headers {
            let (name, value) = header
                .split_once(':')
                .ok_or_else(|| format!("-H {header:?}: expected 'Name: value'"))?;
            options = options.header(name.trim(), value.trim());
        }
        for protocol in &self.subprotocols {
            options = options.subprotocol(protocol.clone());
        }
        if let Some(origin) = &self.origin {
            options = options.origin(origin.clone());
        }
        if let Some(s) = self.connect_timeout {
            options = options.connect_timeout(Some(seconds("connect-timeout", s)?));
        }
        if self.insecure {
            eprintln!("weft: --insecure: the server's certificate is not verified");
        }
        Ok(options)
    }

    /// The connect timeout asked for, or the default.
    pub(crate) fn connect_timeout(&self) -> Result<Duration, String> {
        match self.connect_timeout {
            Some(s) => seconds("connect-timeout", s),
            None => Ok(Duration::from_secs(10)),
        }
    }

    /// The options with the TLS settings too, for a client that connects
    /// by itself.
    pub(crate) fn connecting_options(&self, config: Config) -> Result<ClientOptions, String> {
        let mut options = self.options(config)?;
        if let Some(tls) = client_tls::config(self.ca.as_deref(), self.insecure)? {
            options = options.tls(tls);
        }
        Ok(options)
    }
}
