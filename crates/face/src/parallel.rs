//! Independent model runs spread over the CPU's cores.
//!
//! burn's CPU backend runs one op at a time on one core for the small tensors of blazeface and
//! facemesh, so a group photo's ten detector looks and its faces' landmark passes leave the
//! other cores idle. They are independent, so natively they run on scoped threads; in wasm (one
//! thread per worker) they run in order.

/// `f` applied to every item, in order, on up to `available_parallelism` threads natively;
/// the first error wins.
pub(crate) fn map<T: Sync, R: Send, E: Send>(items: &[T], f: impl Fn(&T) -> Result<R, E> + Sync) -> Result<Vec<R>, E> {
    #[cfg(not(target_arch = "wasm32"))]
    {
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(items.len());
        if threads > 1 {
            let chunk = items.len().div_ceil(threads);
            let results: Vec<Result<Vec<R>, E>> = std::thread::scope(|scope| {
                let handles: Vec<_> =
                    items.chunks(chunk).map(|part| scope.spawn(|| part.iter().map(&f).collect())).collect();
                // A panicking worker is a bug in a model op; re-raise it where it belongs.
                handles.into_iter().map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))).collect()
            });
            let mut out = Vec::with_capacity(items.len());
            for part in results {
                out.extend(part?);
            }
            return Ok(out);
        }
    }
    items.iter().map(f).collect()
}
