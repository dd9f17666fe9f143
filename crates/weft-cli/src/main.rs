//! `weft`: a WebSocket debugging client and test servers, on Weft's engine.
//!
//! ```text
//! weft connect ws://127.0.0.1:9001/chat     # stdin lines out, messages in
//! weft serve 127.0.0.1:9001                 # an echo server
//! weft serve --chat 127.0.0.1:8080          # a chat page at http://127.0.0.1:8080/
//! weft inspect wss://example.com/socket     # DNS, TCP, TLS, upgrade, ping, close
//! weft bench ws://127.0.0.1:9001/ --conns 100 --size 1024   # load an echo server
//! ```
//!
//! Every failure prints the error's message and exits with the code of its
//! class ([`exit`]), so that scripts can tell a server that is down from a
//! certificate problem or a refused upgrade.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod bench;
mod client_flags;
mod client_tls;
mod connect;
mod exit;
mod frame_trace;
mod hex;
mod inspect;
mod jsonl;
mod reconnecting;
mod serve;
mod stdin_lines;

use clap::{Parser, Subcommand};

/// A WebSocket debugging client and test servers, on Weft's engine.
#[derive(Debug, Parser)]
#[command(name = "weft", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Connects to a ws:// or wss:// URL: stdin lines out, messages in.
    Connect(connect::ConnectArgs),
    /// Diagnoses a WebSocket server step by step: DNS, TCP, TLS, the
    /// upgrade, a ping, a clean close.
    Inspect(inspect::InspectArgs),
    /// Serves WebSockets on ADDR: echo, broadcast, or a chat room with its
    /// web page.
    Serve(serve::ServeArgs),
    /// Loads an echo server: N connections, round trips timed, messages/s,
    /// MB/s and latency percentiles at the end.
    Bench(bench::BenchArgs),
}

fn main() -> std::process::ExitCode {
    let code = match Cli::parse().command {
        // The load generator keeps to one thread, leaving the other cores
        // to the server it measures.
        Command::Bench(args) => bench::run(args),
        Command::Connect(args) => on_runtime(connect::run(args)),
        Command::Inspect(args) => on_runtime(inspect::run(args)),
        Command::Serve(args) => on_runtime(serve::run(args)),
    };
    code.into()
}

/// Runs a subcommand on a runtime of two worker threads.
fn on_runtime(command: impl std::future::Future<Output = exit::Exit>) -> exit::Exit {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("weft: cannot start the runtime: {e}");
            return exit::Exit::Other;
        }
    };
    let code = runtime.block_on(command);
    // A read of stdin may still be blocked on its thread (a terminal, a
    // pipe kept open): it must not keep the process alive.
    runtime.shutdown_background();
    code
}
