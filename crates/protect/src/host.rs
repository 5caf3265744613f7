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
