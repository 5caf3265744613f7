//! Denormal floats are flushed to zero on the threads that run models, as TensorFlow's own
//! CPU kernels do.
//!
//! Some of a network's activations decay towards zero layer after layer (a channel a PReLU
//! keeps multiplying by a small slope). Once they fall below `f32::MIN_POSITIVE`, x86 handles
//! every operation on them in microcode, 50–100× slower: mobileface's forward pass took 11.6 ms
//! on 2 vCPU with them and 3.8 ms without. Values that small change no output by anything a
//! recognizer or a test can see (TensorFlow flushes them too: `ScopedFlushDenormal`).
//!
//! The flag is per thread, so it is set on the thread that runs a model and, once, on every
//! thread of rayon's global pool, which burn's CPU backend and our kernels compute on. Other
//! targets (wasm, ARM) keep IEEE denormals.

/// Sets flush-to-zero and denormals-are-zero on this thread (x86-64 only; elsewhere a no-op).
pub fn flush_on_this_thread() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: writing MXCSR's FTZ (bit 15) and DAZ (bit 6) only changes how this thread
    // rounds results below f32::MIN_POSITIVE; no memory is involved.
    #[allow(deprecated)] // the intrinsics are deprecated in favour of inline asm, not unsound
    unsafe {
        use std::arch::x86_64::{_mm_getcsr, _mm_setcsr};
        _mm_setcsr(_mm_getcsr() | 0x8040);
    }
}

/// Flushes on this thread and (the first time) on every thread of rayon's global pool.
pub(crate) fn flush_while_running() {
    flush_on_this_thread();
    #[cfg(not(target_family = "wasm"))]
    {
        static POOL: std::sync::Once = std::sync::Once::new();
        flush_on_the_pool(&POOL);
    }
}

/// Asks every thread of the current rayon pool to flush, once per `once`, without waiting.
///
/// Not `rayon::broadcast`, which waits for every thread: models also run *on* the pool's
/// threads (`facecloak_face::parallel`), and a first call made there would wait in the `Once`
/// for threads that are themselves blocked in the same `Once`, never free to take the
/// broadcast job (the CLI hung at 0 % CPU on its first detection). Each thread runs the queued
/// job the next time it looks for work, so at worst a few operations run unflushed: slower,
/// never a result that differs by anything above f32::MIN_POSITIVE.
#[cfg(not(target_family = "wasm"))]
fn flush_on_the_pool(once: &std::sync::Once) {
    once.call_once(|| rayon::spawn_broadcast(|_| flush_on_this_thread()));
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(target_arch = "x86_64")]
    fn a_result_below_the_smallest_normal_becomes_zero() {
        super::flush_while_running();
        let tiny = std::hint::black_box(f32::MIN_POSITIVE);
        assert_eq!(std::hint::black_box(tiny * 0.25), 0.0);
        // …on the pool's threads too.
        let pooled: Vec<f32> = rayon::broadcast(|_| std::hint::black_box(tiny) * 0.25);
        assert!(pooled.iter().all(|&v| v == 0.0), "{pooled:?}");
    }

    #[test]
    #[cfg(not(target_family = "wasm"))]
    fn a_first_call_from_every_pool_thread_at_once_returns() {
        // A pool of its own and a `Once` of its own: a first call, as when a detector's looks
        // start on every thread of the pool together. A waiting broadcast deadlocks here.
        let pool = rayon::ThreadPoolBuilder::new().num_threads(4).build().unwrap();
        let (done, finished) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            static ONCE: std::sync::Once = std::sync::Once::new();
            let barrier = std::sync::Barrier::new(4);
            pool.broadcast(|_| {
                barrier.wait();
                super::flush_on_the_pool(&ONCE);
            });
            done.send(()).ok();
        });
        assert!(
            finished.recv_timeout(std::time::Duration::from_secs(60)).is_ok(),
            "flushing the pool from its own threads never returned"
        );
    }
}
