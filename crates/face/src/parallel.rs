//! Independent model runs, and the rows of image passes, spread over the CPU's cores.
//!
//! burn's CPU backend runs one op at a time on one core for the small tensors of blazeface,
//! facemesh and the recognizers at batch 1, so a group photo's ten detector looks, its faces'
//! landmark passes and a search step's recognizer passes leave the other cores idle. They are
//! independent, so they run on rayon's pool: every core natively, the web workers of
//! wasm-bindgen-rayon's pool in the threaded web build (the engine's worker waits for them,
//! which a worker may), and in order in the single-thread web build.

/// `f` applied to every item on rayon's pool, each free thread taking the next item in the
/// order given (the caller's choice); the results in the items' order; the first error wins.
pub fn map<T: Sync, R: Send, E: Send>(items: &[T], f: impl Fn(&T) -> Result<R, E> + Sync) -> Result<Vec<R>, E> {
    #[cfg(any(not(target_arch = "wasm32"), target_feature = "atomics"))]
    if rayon::current_num_threads() > 1 && items.len() > 1 {
        return on_the_pool(items, &f);
    }
    items.iter().map(f).collect()
}

/// `a` and `b` at once on rayon's pool where there is one (each may share out its own work
/// over the pool as well), one after the other otherwise; both results. For two independent
/// jobs of different kinds, such as a face's own embeddings and the encoding of its makeup.
pub fn join<A: Send, B: Send>(a: impl FnOnce() -> A + Send, b: impl FnOnce() -> B + Send) -> (A, B) {
    #[cfg(any(not(target_arch = "wasm32"), target_feature = "atomics"))]
    if rayon::current_num_threads() > 1 {
        return rayon::join(a, b);
    }
    (a(), b())
}

/// `f(y, row)` for every row of `out` (rows of `row_len` values), in bands of rows spread over
/// rayon's pool where there is one and the work is worth sharing; in order otherwise. For
/// image passes whose rows are independent (the blur's).
pub fn rows<T: Send>(out: &mut [T], row_len: usize, f: impl Fn(usize, &mut [T]) + Sync) {
    if row_len == 0 {
        return;
    }
    #[cfg(any(not(target_arch = "wasm32"), target_feature = "atomics"))]
    if rayon::current_num_threads() > 1 && out.len() >= 2 * BAND {
        use rayon::prelude::*;
        let band = (BAND / row_len).max(1);
        out.par_chunks_mut(band * row_len).enumerate().for_each(|(b, chunk)| {
            for (i, row) in chunk.chunks_mut(row_len).enumerate() {
                f(b * band + i, row);
            }
        });
        return;
    }
    for (y, row) in out.chunks_mut(row_len).enumerate() {
        f(y, row);
    }
}

/// Values per band of [`rows`]: enough work (tens of microseconds) that handing a band to
/// another thread, which in the browser means waking a web worker, costs little beside it.
#[cfg(any(not(target_arch = "wasm32"), target_feature = "atomics"))]
const BAND: usize = 1 << 15;

/// `f` on every item, on rayon's pool: each of its threads takes the next item not yet taken,
/// in the order given, until none are left — so a caller that lists the costliest items first
/// gets the longest-first schedule, which leaves the least idle time at the end when no item
/// can use more than one thread (the search puts its very costliest item last instead, whose
/// large operations the idle threads then share). The results come back in the items' order;
/// the first error (in that order) wins.
///
/// Rayon's pool rather than threads of our own: burn's CPU backend splits large operations over
/// the same pool, and threads beside it would compete with it for the cores (natively that cost
/// a search step 25 %); in the browser the pool is the only way to other threads there is.
#[cfg(any(not(target_arch = "wasm32"), target_feature = "atomics"))]
fn on_the_pool<T: Sync, R: Send, E: Send>(items: &[T], f: &(impl Fn(&T) -> Result<R, E> + Sync)) -> Result<Vec<R>, E> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};

    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<Result<R, E>>>> = items.iter().map(|_| Mutex::new(None)).collect();
    let workers = rayon::current_num_threads().min(items.len());
    rayon::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|_| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let result = f(item);
                    // A poisoned slot means a panic in `f`, which rayon re-raises from the scope.
                    if let Ok(mut slot) = results[i].lock() {
                        *slot = Some(result);
                    }
                }
            });
        }
    });
    let mut out = Vec::with_capacity(items.len());
    for (slot, item) in results.into_iter().zip(items) {
        // Every slot is filled by the time the scope ends (a panic in `f` is re-raised by the
        // scope before this point); an empty one would simply be computed here.
        let result = match slot.into_inner() {
            Ok(Some(result)) => result,
            _ => f(item),
        };
        out.push(result?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::map;

    #[test]
    fn results_come_back_in_the_items_order_and_the_first_error_wins() {
        // Uneven work, so that the threads finish out of order.
        let items: Vec<u64> = (0..12).collect();
        let squares = map(&items, |&i| {
            std::thread::sleep(Duration::from_millis(if i % 3 == 0 { 30 } else { 1 }));
            Ok::<u64, String>(i * i)
        });
        assert_eq!(squares, Ok(items.iter().map(|i| i * i).collect()));
        let failed = map(&items, |&i| if i == 4 || i == 9 { Err(i) } else { Ok(i) });
        assert_eq!(failed, Err(4));
    }

    #[test]
    fn join_gives_both_results_and_runs_them_at_once_where_there_are_threads() {
        // Each side waits for the other to have started: with two threads both finish; one
        // after the other, the first gives up waiting.
        use std::sync::atomic::{AtomicBool, Ordering};
        let started = [AtomicBool::new(false), AtomicBool::new(false)];
        let side = |me: usize| {
            started[me].store(true, Ordering::SeqCst);
            let waited = std::time::Instant::now();
            while !started[1 - me].load(Ordering::SeqCst) {
                if waited.elapsed() > Duration::from_secs(5) {
                    return (me, false);
                }
                std::thread::yield_now();
            }
            (me, true)
        };
        let (a, b) = super::join(|| side(0), || side(1));
        assert_eq!((a.0, b.0), (0, 1));
        if rayon::current_num_threads() > 1 {
            assert!(a.1 && b.1, "the two sides did not run at once");
        } else {
            eprintln!("rayon's pool has one thread here: only the results are checked");
        }
    }

    #[test]
    fn every_row_is_passed_once_with_its_own_index() {
        // Long enough to be shared out in bands, with a last band that is not full.
        for (rows, row_len) in [(3, 5), (1000, 97), (7, 40_000)] {
            let mut out = vec![(usize::MAX, 0usize); rows * row_len];
            super::rows(&mut out, row_len, |y, row| {
                for (x, cell) in row.iter_mut().enumerate() {
                    *cell = (y, cell.1 + x + 1);
                }
            });
            for (i, &(y, visits)) in out.iter().enumerate() {
                assert_eq!((y, visits), (i / row_len, i % row_len + 1), "value {i} of {rows}x{row_len}");
            }
        }
    }

    #[test]
    fn items_are_taken_in_the_order_given_and_spread_over_the_pool() {
        if rayon::current_num_threads() < 2 {
            eprintln!("skipping: rayon's pool has one thread here");
            return;
        }
        let started = Mutex::new(Vec::new());
        let threads = Mutex::new(std::collections::HashSet::new());
        let items: Vec<usize> = (0..6).collect();
        map(&items, |&i| {
            started.lock().map(|mut s| s.push(i)).ok();
            threads.lock().map(|mut t| t.insert(std::thread::current().id())).ok();
            std::thread::sleep(Duration::from_millis(20));
            Ok::<(), ()>(())
        })
        .ok();
        let started = started.into_inner().unwrap_or_default();
        // Each thread takes the next item when it is free: the first two start together, and
        // no item starts before one listed ahead of it has been taken.
        assert_eq!(started.len(), 6);
        for (position, &item) in started.iter().enumerate() {
            assert!(item <= position + 1, "item {item} started {position}th: {started:?}");
        }
        assert!(threads.into_inner().map_or(0, |t| t.len()) >= 2, "everything ran on one thread");
    }
}
