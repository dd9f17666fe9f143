//! The lines `weft connect` sends: stdin split at each `\n` (a `\r`
//! before it dropped), as bytes, so that a line that is not UTF-8 is
//! reported as such (and sent as is with `--binary`) instead of ending the
//! input. Lines that could not be sent are counted: a piped run with any
//! exits 1, so that a script learns that not everything went.

use tokio::io::{AsyncBufReadExt, BufReader, Split, Stdin};

use crate::exit::Exit;

/// Stdin, a line at a time.
pub(crate) struct StdinLines {
    split: Split<BufReader<Stdin>>,
    /// The number of the last line read, from 1.
    pub(crate) number: u64,
    /// Lines read and not sent (malformed, not UTF-8, an unknown command).
    pub(crate) unsent: u64,
    /// Whether reading stdin failed (a failure, not its end).
    pub(crate) failed: bool,
}

impl StdinLines {
    pub(crate) fn new() -> StdinLines {
        StdinLines {
            split: BufReader::new(tokio::io::stdin()).split(b'\n'),
            number: 0,
            unsent: 0,
            failed: false,
        }
    }

    /// The next line; `None` at the end of stdin, or when reading it
    /// failed (said on stderr, and remembered).
    pub(crate) async fn next(&mut self) -> Option<Vec<u8>> {
        match self.split.next_segment().await {
            Ok(Some(mut line)) => {
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                self.number += 1;
                Some(line)
            }
            Ok(None) => None,
            Err(e) => {
                eprintln!("weft: cannot read stdin: {e}");
                self.failed = true;
                None
            }
        }
    }

    /// A line that could not be sent: why, on stderr.
    pub(crate) fn not_sent(&mut self, why: &str) {
        eprintln!("weft: line {} not sent: {why}", self.number);
        self.unsent += 1;
    }

    /// A line queued and then dropped by the reconnecting client (its
    /// queue full, or the client giving up): counted as not sent.
    pub(crate) fn dropped(&mut self, id: &str) {
        eprintln!("weft: message {id} dropped");
        self.unsent += 1;
    }

    /// How the command ends, given how the connection did: a clean end
    /// is a failure (1) if lines were left unsent.
    pub(crate) fn exit(&self, connection: Exit) -> Exit {
        if connection != Exit::Ok || (self.unsent == 0 && !self.failed) {
            return connection;
        }
        if self.unsent > 0 {
            let lines = if self.unsent == 1 {
                "line was"
            } else {
                "lines were"
            };
            eprintln!("weft: {} {lines} not sent", self.unsent);
        }
        Exit::Other
    }
}
