//! Counting the GPU kernels a computation launches.
//!
//! On a GPU, what a search step costs beyond its arithmetic is mostly the number of kernels it
//! dispatches: each is a pipeline bind and a `dispatch_workgroups`, and on WebGPU a round
//! through the browser's GPU process. burn's fusion merges chains of element-wise operations
//! into one generated kernel each; this is how we see what that buys.
//!
//! The count comes from cubecl's launch observer, which the runtime calls on the issuing thread
//! for every kernel launch, before it is submitted (and never for buffer copies or uploads). It
//! is process-wide: launches from every thread are counted while a [`Watch`] lives. With no
//! watch installed it costs the runtime one relaxed atomic load per launch. It asks for no
//! timing, so it changes neither the order nor the speed of what runs.
//!
//! With fusion, burn queues operations and launches them only when something is read back or
//! the queue is full, so count across whole units of work that end in a read (a search step
//! ends in reading the gradients).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cubecl_runtime::logging::{LaunchObservation, LaunchObserver};

/// Counts every kernel launched on any GPU device of this process while it lives.
pub struct Watch {
    counter: Arc<Counter>,
    // Uninstalls the observer when the watch is dropped.
    _observation: LaunchObservation,
}

struct Counter(AtomicU64);

impl LaunchObserver for Counter {
    fn launched(&self, _kernel: &'static str) {
        self.0.fetch_add(1, Ordering::Relaxed);
    }
}

impl Watch {
    /// Starts counting. Only one observer is installed at a time (cubecl's rule): a second
    /// watch replaces the first, which then stops counting.
    pub fn start() -> Watch {
        let counter = Arc::new(Counter(AtomicU64::new(0)));
        let observation = LaunchObservation::new(counter.clone());
        Watch { counter, _observation: observation }
    }

    /// Kernels launched since [`Watch::start`].
    pub fn launched(&self) -> u64 {
        self.counter.0.load(Ordering::Relaxed)
    }
}

/// Whether burn was told to run every operation as its own kernel (the environment variable
/// `BURN_FUSION_MAX_EXPLORATIONS=0`, read once per process natively): the baseline that
/// `facecloak bench` compares fusion against in the same binary.
pub fn fusion_disabled() -> bool {
    std::env::var("BURN_FUSION_MAX_EXPLORATIONS").is_ok_and(|v| v.trim() == "0")
}
