//! How long one search step's recognizer work takes on a device: what `auto` measures on each
//! backend that starts, to run on the faster (`facecloak_device::BackendChoice`).
//!
//! Every search step runs each attacked recognizer forward on the made-up face and back to the
//! image. That is what is timed here, on inputs of each recognizer's own size: the forward
//! pass, the gradient of Σ embedding² with respect to the input, and the read-back of that
//! gradient to the host (which a step also waits for), the recognizers at once where the build
//! has threads, as the search runs them. Twice: the first run compiles shaders and allocates,
//! so only the second is reported. The generator and the paste are left out, to
//! keep the measurement short: the choice rests on the recognizers alone.

use burn::tensor::{Tensor, TensorData};
use web_time::Instant;

use crate::{Surrogate, SurrogateError};

/// Milliseconds that `surrogates`' forward and backward passes take together, warm.
#[cfg(not(target_family = "wasm"))]
pub fn recognizer_step_ms(surrogates: &[&Surrogate]) -> Result<f64, SurrogateError> {
    pollster::block_on(recognizer_step_ms_async(surrogates))
}

/// [`recognizer_step_ms`], read back asynchronously (as a browser's WebGPU requires).
pub async fn recognizer_step_ms_async(surrogates: &[&Surrogate]) -> Result<f64, SurrogateError> {
    let mut warm = f64::NAN;
    for _ in 0..2 {
        let started = Instant::now();
        // As a search step runs them, so that `auto` weighs the CPU as the search will use it:
        // at once over the pool where the build has threads, one after the other otherwise.
        #[cfg(any(not(target_family = "wasm"), target_feature = "atomics"))]
        facecloak_face::parallel::map(surrogates, |s| crate::host::now(forward_backward(s)))?;
        #[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
        for surrogate in surrogates {
            forward_backward(surrogate).await?;
        }
        warm = started.elapsed().as_secs_f64() * 1e3;
    }
    Ok(warm)
}

async fn forward_backward(surrogate: &Surrogate) -> Result<(), SurrogateError> {
    let side = surrogate.crop().side();
    // A fixed, face-like range of values (0–255); the numbers do not change the work.
    let pixels: Vec<f32> = (0..side * side * 3).map(|i| ((i * 7919) % 256) as f32).collect();
    let x = Tensor::<4>::from_data(TensorData::new(pixels, [1, side, side, 3]), surrogate.device()).require_grad();
    let loss = surrogate.embed(x.clone())?.square().sum();
    let grads = loss.backward();
    let gradient = x
        .grad(&grads)
        .ok_or_else(|| SurrogateError::Readback(format!("{}: no gradient for the input", surrogate.name())))?;
    crate::host::read(gradient).await.map(drop)
}
