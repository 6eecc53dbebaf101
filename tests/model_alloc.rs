//! Predicting every backend for one feature vector allocates nothing (a counting allocator
//! watches this test's thread).

#![allow(unsafe_code)] // The allocator hook: the only unsafe code in qroute.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::path::Path;

use qroute::features::{Features, NUM_FEATURES};
use qroute::model::{ModelSet, Prediction};

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        ALLOCS.with(|c| c.set(c.get() + 1));
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn predict_into_allocates_nothing() {
    let set =
        ModelSet::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/model_v2"))
            .unwrap();
    let f = Features::from_values(vec![3.0; NUM_FEATURES]).unwrap();
    let mut out = vec![Prediction::default(); set.backends.len()];
    set.predict_into(&f, 1024, 1, &mut out).unwrap();
    let before = ALLOCS.with(Cell::get);
    for _ in 0..100 {
        set.predict_into(&f, 1024, 1, &mut out).unwrap();
    }
    assert_eq!(ALLOCS.with(Cell::get), before);
    assert!(out.iter().all(|p| p.latency_ms > 0.0));
}
