//! Reading tensors back to the host.
//!
//! A browser's WebGPU can only map a buffer for reading asynchronously, and burn's synchronous
//! reads panic there. So the search and the photo-level driver read through this one async
//! helper; natively the read is ready at once and the sync entry points block on it.

use burn::tensor::Tensor;

use crate::SurrogateError;

/// The values of `tensor` as f32, in row-major order.
pub(crate) async fn read<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>, SurrogateError> {
    let data = tensor.into_data_async().await.map_err(|e| SurrogateError::Readback(format!("{e:?}")))?;
    data.convert::<f32>().try_into_vec::<f32>().map_err(|e| SurrogateError::Readback(format!("{e:?}")))
}

/// The result of a future whose reads are ready at once, on this thread: natively by blocking
/// (a GPU read completes when the GPU is done); in the threaded web build, which computes on
/// the CPU only, by polling it once — a read there is never pending, and one that were would
/// be an error, never a thread parked for good.
#[cfg(not(target_family = "wasm"))]
pub(crate) fn now<T>(future: impl Future<Output = Result<T, SurrogateError>>) -> Result<T, SurrogateError> {
    pollster::block_on(future)
}

/// See the native [`now`].
#[cfg(all(target_family = "wasm", target_feature = "atomics"))]
pub(crate) fn now<T>(future: impl Future<Output = Result<T, SurrogateError>>) -> Result<T, SurrogateError> {
    use std::task::{Context, Poll, Waker};
    let mut future = std::pin::pin!(future);
    match future.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(result) => result,
        Poll::Pending => Err(SurrogateError::Readback("a CPU read was not ready at once".to_owned())),
    }
}
