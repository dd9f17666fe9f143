//! `loadgen`: a closed-loop load generator for WebSocket and raw TCP echo
//! servers. See [`weft_benches::load`] for what it measures and how; run
//! with `--help` for the options.
//!
//! ```text
//! loadgen --url ws://127.0.0.1:9000/ --conns 100 --size 1024 --duration 5
//! loadgen --raw 127.0.0.1:9000 --conns 1 --size 16
//! loadgen --url ws://127.0.0.1:9000/ --idle --conns 10000 --duration 3600
//! ```
//!
//! Prints one summary line on stdout (and, with `--idle`, one line once all
//! connections are open). Exits with status 1 if any error occurred, 2 on
//! bad arguments.

use std::io::Write;
use std::process::ExitCode;

use weft_benches::load::{self, Options};

fn main() -> ExitCode {
    let options = match Options::parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(e) if e == load::USAGE => {
            // A closed pipe (`loadgen --help | head`) is not an error.
            let _ = writeln!(std::io::stdout(), "{e}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("{e}\n(loadgen --help shows the options)");
            return ExitCode::from(2);
        }
    };
    match load::run(&options) {
        Ok(summary) => {
            let printed = writeln!(std::io::stdout(), "{summary}");
            if summary.errors == 0 && printed.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            eprintln!("loadgen: cannot start the runtime: {e}");
            ExitCode::FAILURE
        }
    }
}
