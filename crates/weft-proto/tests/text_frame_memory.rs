//! What a text message in one frame longer than a read costs once it has
//! arrived: its pieces are checked and collected as they come, and the
//! text delivered is held in about its own size, not in a buffer grown by
//! doubling. Counted by a global allocator (this file is its own test
//! binary, with one test, so nothing else allocates meanwhile).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Instant;

use weft_proto::{Config, Connection, Event};

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

#[test]
fn a_text_frame_in_pieces_is_held_in_about_its_own_size() {
    let now = Instant::now();
    for (len, read) in [
        (1 << 20, 64 * 1024),
        (3 << 20, 64 * 1024),
        (1 << 20, 16 * 1024),
    ] {
        let text = "weft é ∑ 𝄞 ".repeat(len / 16);
        let wire = common::client_frame(0x81, text.as_bytes());
        let before = held();
        let mut conn = Connection::server(Config::default(), now);
        let mut events = Vec::new();
        for piece in wire.chunks(read) {
            conn.handle_data(now, piece);
            while let Some(event) = conn.poll_event() {
                events.push(event);
            }
        }
        // The text delivered is still held, and so is the connection.
        let kept = held() - before;
        assert_eq!(events.len(), 1);
        let Event::Text(got) = &events[0] else {
            panic!("{:?}", events[0]);
        };
        assert!(*got == *text, "the text changed on the way");
        let bound = text.len() as isize + text.len() as isize / 8 + 16 * 1024;
        assert!(
            kept <= bound,
            "{} bytes of text in {read}-byte reads: {kept} bytes held, more than {bound}",
            text.len()
        );
        drop(events);
        drop(conn);
    }
}
