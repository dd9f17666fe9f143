//! What the echo server examples share, so that every engine is started,
//! bound and announced the same way.
//!
//! Each server binds `127.0.0.1` on the port given as `--port P` or as a
//! positional `P` (default 9001), prints `listening on 127.0.0.1:P` once the
//! socket is bound, and sets `TCP_NODELAY` on every accepted connection:
//! an echo answers one message at a time, and without it Nagle's algorithm
//! would hold back the last partial segment of a large echo until the
//! client's delayed acknowledgement.

use std::io::Write;
use std::net::SocketAddr;

/// The port to listen on, from `--port P`, `--port=P` or a positional `P`
/// among the process arguments; 9001 if none is given. Exits with a usage
/// message on anything else.
pub fn port_from_args() -> u16 {
    match parse_port(std::env::args().skip(1)) {
        Ok(port) => port,
        Err(e) => {
            let name = std::env::args().next().unwrap_or_else(|| "echo".into());
            eprintln!("{e}\nusage: {name} [--port] PORT");
            std::process::exit(2);
        }
    }
}

/// Parses the port arguments (the arguments after the program name).
fn parse_port(mut args: impl Iterator<Item = String>) -> Result<u16, String> {
    let mut port = None;
    while let Some(arg) = args.next() {
        let value = match arg.as_str() {
            "--port" | "-p" => args.next().ok_or("--port needs a value")?,
            a if a.starts_with("--port=") => a["--port=".len()..].to_owned(),
            a if !a.starts_with('-') => a.to_owned(),
            a => return Err(format!("unknown argument {a:?}")),
        };
        port = Some(
            value
                .parse::<u16>()
                .map_err(|_| format!("invalid port {value:?}"))?,
        );
    }
    Ok(port.unwrap_or(9001))
}

/// The address the servers bind: loopback, on `port`.
pub fn bind_addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// Prints `listening on ADDR` and flushes, so that a script reading the
/// server's output through a pipe sees it at once.
pub fn announce(addr: SocketAddr) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "listening on {addr}");
    let _ = stdout.flush();
}

/// Reports a failed `accept` and pauses briefly: running out of file
/// descriptors makes `accept` fail at once, again and again, and the pause
/// keeps that from spinning the server's only thread.
pub fn accept_failed(e: &std::io::Error) -> std::time::Duration {
    eprintln!("accept failed: {e}");
    std::time::Duration::from_millis(10)
}

/// The tokio servers' main loop: binds the port from the arguments,
/// announces it, and spawns `serve(tcp)` for every accepted connection,
/// with `TCP_NODELAY` set. Returns only if binding fails.
pub async fn serve_tokio<F, Fut>(serve: F) -> std::io::Result<()>
where
    F: Fn(tokio::net::TcpStream) -> Fut,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind(bind_addr(port_from_args())).await?;
    announce(listener.local_addr()?);
    loop {
        match listener.accept().await {
            Ok((tcp, _)) => {
                let _ = tcp.set_nodelay(true);
                tokio::spawn(serve(tcp));
            }
            Err(e) => tokio::time::sleep(accept_failed(&e)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_port;

    fn parse(args: &[&str]) -> Result<u16, String> {
        parse_port(args.iter().map(|a| a.to_string()))
    }

    #[test]
    fn port_forms() {
        assert_eq!(parse(&[]), Ok(9001));
        assert_eq!(parse(&["9100"]), Ok(9100));
        assert_eq!(parse(&["--port", "9101"]), Ok(9101));
        assert_eq!(parse(&["--port=9102"]), Ok(9102));
        assert!(parse(&["--port"]).is_err());
        assert!(parse(&["--bogus"]).is_err());
        assert!(parse(&["70000"]).is_err());
    }
}
