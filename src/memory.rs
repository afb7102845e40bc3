//! Giving freed heap memory back to the system — the one module with
//! `unsafe` in flightdeck.
//!
//! glibc keeps pages freed in the middle of its heaps resident. A task's
//! emulator frees most of what it allocated once its history fills up
//! (`term::alacritty`), and in a daemon with many tasks those pages would
//! otherwise stay counted against it for good. The emulator only marks that
//! it freed a lot; the supervisor's periodic tick releases, so a burst of
//! tasks filling up at once costs one `malloc_trim`.

use std::sync::atomic::{AtomicBool, Ordering};

static FREED: AtomicBool = AtomicBool::new(false);

/// Something just freed a large amount of heap memory.
pub fn note_freed() {
    FREED.store(true, Ordering::Relaxed);
}

/// Returns freed memory to the system if anything noted it since last time.
pub fn release_freed() {
    if FREED.swap(false, Ordering::Relaxed) {
        trim();
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn trim() {
    // SAFETY: malloc_trim takes no pointers and has no preconditions; it
    // walks glibc's own arenas under their locks and only returns
    // whole free pages to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Other allocators (musl, macOS) manage this themselves.
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn trim() {}
