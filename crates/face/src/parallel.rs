//! Independent model runs spread over the CPU's cores.
//!
//! burn's CPU backend runs one op at a time on one core for the small tensors of blazeface and
//! facemesh, so a group photo's ten detector looks and its faces' landmark passes leave the
//! other cores idle. They are independent, so natively they run on scoped threads; in wasm (one
//! thread per worker) they run in order.

/// `f` applied to every item, in order, on up to `available_parallelism` threads natively;
/// the first error wins.
pub fn map<T: Sync, R: Send, E: Send>(items: &[T], f: impl Fn(&T) -> Result<R, E> + Sync) -> Result<Vec<R>, E> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(items.len());
        if threads > 1 {
            // Thread t takes items t, t + threads, …: neighbours often cost alike (two
            // large recognizers, then a small one), so striding spreads the cost better
            // than contiguous chunks.
            let results: Vec<Vec<Result<R, E>>> = std::thread::scope(|scope| {
                let f = &f;
                let handles: Vec<_> = (0..threads)
                    .map(|t| scope.spawn(move || items.iter().skip(t).step_by(threads).map(f).collect()))
                    .collect();
                // A panicking worker is a bug in a model op; re-raise it where it belongs.
                handles.into_iter().map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
            });
            let mut per_thread: Vec<_> = results.into_iter().map(Vec::into_iter).collect();
            let mut out = Vec::with_capacity(items.len());
            for i in 0..items.len() {
                match per_thread[i % threads].next() {
                    Some(result) => out.push(result?),
                    None => break,
                }
            }
            return Ok(out);
        }
    }
    items.iter().map(f).collect()
}
