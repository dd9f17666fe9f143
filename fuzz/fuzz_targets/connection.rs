//! A server or a client connection fed arbitrary bytes in arbitrary chunks,
//! with or without permessage-deflate and a stream threshold, draining
//! every event (owned, lent, or each way in turn) and every outgoing byte
//! after each chunk.
//!
//! Invariants: no panic; `poll_event` goes quiet; at most one `Closed`,
//! last; unparsed input never exceeds what was fed; the bytes sent are
//! valid frames, masked only by a client, and a protocol failure's close
//! frame carries its code; after `handle_eof` the connection ends.

#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use weft_proto::deflate::DeflateParams;
use weft_proto::{CloseReason, Config, Connection};

fuzz_target!(|input: &[u8]| {
    let [flags, s0, s1, s2, polling, data @ ..] = input else {
        return;
    };
    let client = flags & 1 != 0;
    let mut config = Config::default()
        .max_frame_size(4096)
        .max_message_size(16384);
    if flags & 2 != 0 {
        config = config.stream_threshold(Some(256));
    }
    if flags & 4 != 0 {
        config = config.auto_close(false);
    }
    let now = common::now();
    let mut conn = if client {
        Connection::client(config, || [0x12, 0x34, 0x56, 0x78], now)
    } else {
        Connection::server(config, now)
    };
    if flags & 8 != 0 {
        conn.enable_deflate(DeflateParams {
            server_no_context_takeover: flags & 16 != 0,
            client_no_context_takeover: flags & 32 != 0,
            server_max_window_bits: 9 + (flags >> 6),
            client_max_window_bits: 15 - (flags >> 6),
        });
    }
    let mut drain = common::Drain::polling(common::Polling::from_byte(*polling));
    let mut fed = 0usize;
    for chunk in common::chunks(data, &[*s0, *s1, *s2]) {
        conn.handle_data(now, chunk);
        fed += chunk.len();
        assert!(
            conn.buffered_received() <= fed + 16384 + 4,
            "buffered more than fed"
        );
        drain.drain(&mut conn);
    }
    conn.handle_eof(now);
    drain.drain(&mut conn);
    assert!(drain.closed.is_some(), "no terminal event after EOF");
    assert!(conn.poll_timeout().is_none());
    let close = common::check_sent(&drain.sent, client);
    if let Some(CloseReason::Protocol(e)) = &drain.closed {
        assert_eq!(close, Some(e.close_code().0), "close code for {e}");
    }
});
