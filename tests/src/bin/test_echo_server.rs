//! An echo server in a process of its own, so that a test can read its
//! resident memory from /proc while hostile peers talk to it.
//!
//! `test_echo_server std|tokio` serves with `weft_tests::hostile_config()`,
//! prints its address on one line, and runs until killed or until its
//! standard input closes.

use std::io::{BufRead, Write};

fn main() {
    let config = weft_tests::hostile_config();
    let addr = match std::env::args().nth(1).as_deref() {
        Some("std") => weft_tests::std_echo_server(config),
        Some("tokio") => weft_tests::tokio_echo_server(config),
        _ => {
            eprintln!("usage: test_echo_server std|tokio");
            std::process::exit(2);
        }
    };
    let mut stdout = std::io::stdout();
    writeln!(stdout, "{addr}").expect("stdout");
    stdout.flush().expect("stdout");
    // Ends when the parent goes away, whatever the way.
    for line in std::io::stdin().lock().lines() {
        if line.is_err() {
            break;
        }
    }
}
