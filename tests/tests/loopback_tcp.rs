//! weft-proto over real loopback TCP: both handshakes, messages large enough
//! to arrive in many reads, and the closing handshake with the server
//! closing the transport first.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use weft_proto::handshake::{Accept, ClientHandshake, OutgoingRequest, ServerHandshake};
use weft_proto::{CloseCode, CloseReason, Config, Event};
use weft_tests::run;

fn echo_server(listener: TcpListener) -> std::thread::JoinHandle<Vec<Event>> {
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut hs = ServerHandshake::new(Config::default(), Instant::now());
        let mut buf = [0u8; 1024];
        loop {
            let n = stream.read(&mut buf).unwrap();
            if hs.handle_data(&buf[..n]).unwrap().is_some() {
                break;
            }
        }
        let mut out = Vec::new();
        hs.accept(Accept::new(), &mut out).unwrap();
        stream.write_all(&out).unwrap();
        let mut conn = hs.into_connection(Instant::now()).unwrap();
        let mut seen = Vec::new();
        run(&mut conn, &mut stream, |conn, event| {
            match event {
                Event::Text(t) => conn.send_text(t.clone()).unwrap(),
                Event::Binary(b) => conn.send_binary(b.clone()).unwrap(),
                _ => {}
            }
            seen.push(event.clone());
        })
        .unwrap();
        seen
    })
}

#[test]
fn client_and_server_exchange_messages_and_close_over_tcp() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = echo_server(listener);

    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let request = OutgoingRequest::new(addr.to_string(), "/");
    let mut hs = ClientHandshake::new(request, Config::default(), [3; 16], Instant::now()).unwrap();
    let mut out = Vec::new();
    hs.write_request(&mut out);
    stream.write_all(&out).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0);
        if hs.handle_data(&buf[..n]).unwrap().is_some() {
            break;
        }
    }
    let mut key = 1u32;
    let keys = move || {
        key = key.wrapping_mul(747_796_405).wrapping_add(2_891_336_453);
        key.to_be_bytes()
    };
    let mut conn = hs.into_connection(keys, Instant::now()).unwrap();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    conn.send_text("first").unwrap();
    conn.send_binary(big.clone()).unwrap();
    conn.ping("p").unwrap();

    let mut received = Vec::new();
    run(&mut conn, &mut stream, |conn, event| {
        received.push(event.clone());
        if matches!(event, Event::Binary(_)) {
            conn.close(Instant::now(), CloseCode::NORMAL, "done")
                .unwrap();
        }
    })
    .unwrap();

    assert_eq!(received.len(), 4, "{received:?}");
    assert_eq!(received[0], Event::Text("first".into()));
    assert_eq!(received[1], Event::Binary(big.clone().into()));
    assert_eq!(received[2], Event::Pong("p".into()));
    assert!(
        matches!(&received[3], Event::Closed(CloseReason::Clean(f)) if f.code == CloseCode::NORMAL)
    );

    let seen = server.join().unwrap();
    assert_eq!(seen.len(), 5, "{seen:?}");
    assert_eq!(seen[1], Event::Binary(big.into()));
    assert!(matches!(&seen[4], Event::Closed(CloseReason::Clean(f)) if f.reason == "done"));
}
