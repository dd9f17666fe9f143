//! What a connection keeps of its receive buffer once it has gone quiet,
//! counted by a global allocator (this file is its own test binary, with
//! one test, so nothing else allocates meanwhile).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Instant;

use weft_proto::{Config, Connection, Event, EventRef};

mod common;

struct Counting;

static HELD: AtomicIsize = AtomicIsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        HELD.fetch_add(layout.size() as isize, Ordering::SeqCst);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        HELD.fetch_sub(layout.size() as isize, Ordering::SeqCst);
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

fn held() -> isize {
    HELD.load(Ordering::SeqCst)
}

/// Feeds `reads` to a fresh server, draining and dropping every event after
/// each (owned, or lent when `lend`); returns what the connection holds
/// afterwards, in bytes.
fn held_after(reads: &[Vec<u8>], lend: bool) -> isize {
    let now = Instant::now();
    let before = held();
    let mut conn = Connection::server(Config::default(), now);
    let mut messages = 0;
    for read in reads {
        conn.handle_data(now, read);
        if lend {
            while let Some(event) = conn.poll_event_ref() {
                assert!(matches!(event, EventRef::Binary(_)), "{event:?}");
                messages += 1;
            }
        } else {
            while let Some(event) = conn.poll_event() {
                assert!(matches!(event, Event::Binary(_)), "{event:?}");
                messages += 1;
            }
        }
    }
    assert!(messages > 0);
    let kept = held() - before;
    drop(conn);
    kept
}

#[test]
fn a_quiet_connection_keeps_no_receive_buffer() {
    let frame = |len: usize| common::raw_frame(0x82, &vec![7u8; len], Some([1, 2, 3, 4]));
    // A 64 KiB read of whole frames, then a small one.
    let big: Vec<u8> = (0..65).flat_map(|_| frame(1000)).collect();
    let small = frame(10);
    // A large frame cut across two reads (the buffer grows to hold it).
    let straddling = frame(100_000);
    let (first, second) = straddling.split_at(60_000);
    for (name, reads) in [
        ("whole frames", vec![big.clone(), small.clone()]),
        // One read only: its buffer is reserved to its size, and taking
        // every frame off it leaves no capacity but the allocation.
        ("one read of whole frames", vec![big.clone()]),
        (
            "a frame across reads",
            vec![first.to_vec(), second.to_vec(), small],
        ),
    ] {
        for lend in [false, true] {
            let kept = held_after(&reads, lend);
            // The connection's own state, none of the 64 KiB or more read.
            assert!(
                kept < 8 * 1024,
                "{name} (lent: {lend}): {kept} bytes held by a quiet connection"
            );
        }
    }
}
