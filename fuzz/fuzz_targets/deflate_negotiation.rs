//! permessage-deflate negotiation on arbitrary offer and response strings.
//!
//! Invariants: no panic; what a server agrees to is within RFC 7692's
//! ranges and its own limits; a client accepts the response a server
//! makes to that client's own offer, with the same parameters.

#![no_main]

use libfuzzer_sys::fuzz_target;
use weft_proto::deflate::DeflateConfig;

fn config(bits: u8) -> DeflateConfig {
    DeflateConfig::default()
        .server_no_context_takeover(bits & 1 != 0)
        .client_no_context_takeover(bits & 2 != 0)
        .server_max_window_bits(9 + (bits >> 2) % 7)
        .client_max_window_bits(9 + (bits >> 5) % 7)
}

fuzz_target!(|input: &[u8]| {
    let [a, b, text @ ..] = input else { return };
    let text = String::from_utf8_lossy(text);
    let server = config(*a);
    let client = config(*b);
    // Arbitrary offers, split as a header list would be.
    if let Some((agreed, _response)) = server.negotiate(text.split(',')) {
        assert!((8..=15).contains(&agreed.server_max_window_bits));
        assert!((8..=15).contains(&agreed.client_max_window_bits));
        assert!(agreed.server_max_window_bits <= server.server_max_window_bits);
    }
    // An arbitrary response.
    if let Ok(agreed) = client.accept_response(&text) {
        assert!(agreed.client_max_window_bits <= client.client_max_window_bits);
        assert!(agreed.server_max_window_bits <= client.server_max_window_bits);
    }
    // The client's own offer, answered by the server, is accepted as agreed.
    let offer = client.offer();
    let (agreed, response) = server.negotiate([offer.as_str()]).expect("a valid offer");
    assert_eq!(
        client.accept_response(&response).expect("a valid response"),
        agreed
    );
});
