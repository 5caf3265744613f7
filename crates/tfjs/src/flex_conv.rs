//! A convolution with its bias and activation as *one* autodiff node on burn's CPU backend
//! (Flex), with a backward pass written for what the attack needs: the gradient with respect
//! to the input image, never the weights.
//!
//! Built from burn's generic ops, a fused layer is three or more autodiff nodes (convolution,
//! bias, activation), each a full pass over the activation forward and again backward, and
//! burn's convolution backward is a transposed convolution that goes through columns and a
//! scatter even for 1×1 kernels and depthwise filters. Measured on faceres (`facecloak bench`),
//! that scatter and the element-wise passes were most of the forward+backward time. Here:
//!
//! - forward: Flex's own convolution (its 1×1 GEMM and depthwise fast paths), then the
//!   activation in place, in one pass;
//! - backward: the activation's derivative applied in one pass, then the input gradient as a
//!   1×1 convolution with the transposed filter (GEMM), as a direct depthwise scatter for
//!   depthwise filters, and through burn's generic transposed convolution otherwise (the first
//!   layer of a network, with 3 input channels).
//!
//! Any other backend (wgpu, ndarray) gets `None` and the executor builds the layer from
//! generic burn ops, with the same result.

use std::borrow::Cow;
use std::sync::Arc;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind, unary};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::ModuleOps;
use burn::backend::{Autodiff, Flex, Shape, TensorMetadata};
use burn::tensor::{Tensor, TensorData, ops::ConvOptions};

/// The activation fused into the convolution.
#[derive(Debug, Clone)]
pub(crate) enum Activation {
    None,
    Relu,
    Relu6,
    /// PReLU with one slope per output channel.
    Prelu(Arc<[f32]>),
}

/// The filter in the layouts the backward pass wants, made once per convolution.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    /// burn's `[out, in / groups, kh, kw]`.
    pub weight: FlexTensor,
    /// For a dense 1×1 convolution: `[in, out, 1, 1]`, so that its input gradient is a 1×1
    /// convolution too.
    pub transposed: Option<FlexTensor>,
}

impl Filter {
    /// `None` when `filter` does not live on Flex.
    pub(crate) fn new(filter: &Tensor<4>, depthwise: bool) -> Option<Filter> {
        // The executor's filters are permuted views of TF's layout; Flex would copy them into
        // place on every call (4 MB for faceres's last layer), so they are copied once here.
        let weight = primitive(filter)?;
        let weight = if weight.is_contiguous() { weight } else { weight.to_contiguous() };
        let [cout, cin, kh, kw] = filter.dims();
        let transposed = (!depthwise && kh == 1 && kw == 1).then(|| {
            let w = slice(&weight);
            let mut t = vec![0f32; cout * cin];
            for o in 0..cout {
                for i in 0..cin {
                    t[i * cout + o] = w[o * cin + i];
                }
            }
            FlexTensor::from_data(TensorData::new(t, [cin, cout, 1, 1]))
        });
        Some(Filter { weight, transposed })
    }
}

/// The Flex primitive behind a tensor that is plain Flex or an (untracked) autodiff Flex one.
fn primitive<const D: usize>(t: &Tensor<D>) -> Option<FlexTensor> {
    if let Ok(p) = t.clone().try_into_primitive::<Flex>() {
        return Some(p);
    }
    t.clone().try_into_primitive::<Autodiff<Flex>>().ok().map(|a| a.into_primitive())
}

/// The values of an f32 tensor in row-major order: borrowed when it is contiguous.
fn slice(t: &FlexTensor) -> Cow<'_, [f32]> {
    match t.as_slice::<f32>() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(t.to_contiguous().as_slice::<f32>().map(<[f32]>::to_vec).unwrap_or_default()),
    }
}

/// `conv2d(x, filter) + bias`, then `activation`, on Flex; `None` on any other backend (or
/// dtype), for the caller to build from generic ops.
pub(crate) fn conv(
    x: &Tensor<4>,
    filter: &Filter,
    bias: Option<&Tensor<1>>,
    options: &ConvOptions<2>,
    activation: &Activation,
) -> Option<Tensor<4>> {
    let bias = match bias {
        Some(b) => Some(primitive(b)?),
        None => None,
    };
    if x.dtype() != burn::tensor::DType::F32 {
        return None;
    }
    if let Ok(x) = x.clone().try_into_primitive::<Flex>() {
        let (y, _) = forward(x, filter, bias, options, activation, false);
        return Some(Tensor::from_primitive::<Flex>(y));
    }
    let x = x.clone().try_into_primitive::<Autodiff<Flex>>().ok()?;
    let (x, guard) = x.into_parts();
    let output = match FusedConv.prepare::<NoCheckpointing>([guard]).compute_bound().stateful() {
        OpsKind::Tracked(prep) => {
            let x_shape = x.shape();
            let (y, saved) = forward(x, filter, bias, options, activation, true);
            let state = State {
                saved,
                filter: filter.clone(),
                x_shape: x_shape.dims(),
                options: options.clone(),
                activation: activation.clone(),
            };
            prep.finish(state, y)
        }
        OpsKind::UnTracked(prep) => prep.finish(forward(x, filter, bias, options, activation, false).0),
    };
    Some(Tensor::from_primitive::<Autodiff<Flex>>(output))
}

/// The layer's output and, when `keep` is set, what its backward pass reads: the
/// pre-activation for PReLU (whose slope may be negative, so the output's sign says
/// nothing), the output itself otherwise.
fn forward(
    x: FlexTensor,
    filter: &Filter,
    bias: Option<FlexTensor>,
    options: &ConvOptions<2>,
    activation: &Activation,
    keep: bool,
) -> (FlexTensor, Option<FlexTensor>) {
    let x_shape: [usize; 4] = x.shape().dims();
    let [_, _, kh, kw] = filter.weight.shape().dims();
    let out_side = |axis: usize, size: usize, k: usize| {
        let (before, after) = options.padding[axis];
        (size + before + after).checked_sub(k).map(|v| v / options.stride[axis] + 1)
    };
    let depthwise = match (out_side(0, x_shape[2], kh), out_side(1, x_shape[3], kw)) {
        (Some(oh), Some(ow)) => Depthwise::new(&filter.weight, x_shape, [oh, ow], options),
        _ => None,
    };
    let mut z = match depthwise {
        Some(d) => {
            let bias = bias.as_ref().map(slice);
            let y = d.forward(&slice(&x), &slice(&filter.weight), bias.as_deref());
            FlexTensor::from_data(TensorData::new(y, Shape::new([x_shape[0], x_shape[1], d.output[0], d.output[1]])))
        }
        None => Flex::conv2d(x, filter.weight.clone(), bias, options.clone()),
    };
    if !z.is_contiguous() {
        z = z.to_contiguous();
    }
    let [_, channels, h, w] = z.shape().dims();
    let plane = h * w;
    match activation {
        Activation::None => {
            let saved = keep.then(|| z.clone());
            (z, saved)
        }
        Activation::Relu | Activation::Relu6 => {
            let cap = if matches!(activation, Activation::Relu6) { 6.0 } else { f32::INFINITY };
            let mut y = z;
            y.storage_mut::<f32>().iter_mut().for_each(|v| *v = v.clamp(0.0, cap));
            let saved = keep.then(|| y.clone());
            (y, saved)
        }
        Activation::Prelu(alpha) => {
            let values = z.storage::<f32>();
            let mut out = Vec::with_capacity(values.len());
            for (i, chunk) in values.chunks(plane.max(1)).enumerate() {
                let a = alpha.get(i % channels.max(1)).copied().unwrap_or(0.0);
                out.extend(chunk.iter().map(|&v| if v > 0.0 { v } else { a * v }));
            }
            let y = FlexTensor::from_data(TensorData::new(out, z.shape()));
            (y, keep.then_some(z))
        }
    }
}

#[derive(Debug)]
struct FusedConv;

#[derive(Debug, Clone)]
struct State {
    /// See [`forward`].
    saved: Option<FlexTensor>,
    filter: Filter,
    x_shape: [usize; 4],
    options: ConvOptions<2>,
    activation: Activation,
}

impl Backward<Flex, 1> for FusedConv {
    type State = State;

    fn backward(self, ops: Ops<State, 1>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let state = ops.state;
        unary::<Flex, _>(ops.parents, ops.node, grads, |grad| input_gradient(&state, grad));
    }
}

/// The gradient with respect to the layer's input, given the one with respect to its output.
fn input_gradient(state: &State, grad: FlexTensor) -> FlexTensor {
    let shape = grad.shape();
    let [_, channels, h, w] = shape.dims();
    let plane = (h * w).max(1);
    // Through the activation: one pass.
    let grad = match (&state.activation, &state.saved) {
        (Activation::None, _) | (_, None) => grad,
        (activation, Some(saved)) => {
            let (g, s) = (slice(&grad), slice(saved));
            let mut out = Vec::with_capacity(g.len());
            for (p, (g, s)) in g.chunks(plane).zip(s.chunks(plane)).enumerate() {
                match activation {
                    Activation::Relu => out.extend(g.iter().zip(s).map(|(&g, &y)| if y > 0.0 { g } else { 0.0 })),
                    Activation::Relu6 => {
                        out.extend(g.iter().zip(s).map(|(&g, &y)| if y > 0.0 && y < 6.0 { g } else { 0.0 }))
                    }
                    Activation::Prelu(alpha) => {
                        let a = alpha.get(p % channels.max(1)).copied().unwrap_or(0.0);
                        out.extend(g.iter().zip(s).map(|(&g, &z)| if z > 0.0 { g } else { a * g }))
                    }
                    Activation::None => out.extend_from_slice(g),
                }
            }
            FlexTensor::from_data(TensorData::new(out, shape))
        }
    };
    let options = &state.options;
    let [n, cin, ih, iw] = state.x_shape;
    // Through the convolution.
    if let Some(transposed) = &state.filter.transposed {
        if options.stride == [1, 1] && options.padding == [(0, 0), (0, 0)] {
            let plain = ConvOptions::new([1, 1], [0, 0], [1, 1], 1);
            return Flex::conv2d(grad, transposed.clone(), None, plain);
        }
    }
    if let Some(depthwise) = Depthwise::new(&state.filter.weight, state.x_shape, [h, w], options) {
        let gx = depthwise.input_gradient(&slice(&grad), &slice(&state.filter.weight));
        return FlexTensor::from_data(TensorData::new(gx, Shape::new([n, cin, ih, iw])));
    }
    // burn's generic transposed convolution reads only the shape of `x`.
    let x = FlexTensor::zeros(Shape::new(state.x_shape), burn::tensor::DType::F32);
    Flex::conv2d_x_backward(x, state.filter.weight.clone(), grad, options.clone())
}

/// A depthwise convolution's geometry: `[n, channels, h, w]` in, `[oh, ow]` out.
struct Depthwise {
    input: [usize; 4],
    output: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
    /// Padding before the first row and column.
    begin: [usize; 2],
}

impl Depthwise {
    /// `None` unless `weight` is one `kh × kw` filter per input channel.
    fn new(
        weight: &FlexTensor,
        x_shape: [usize; 4],
        output: [usize; 2],
        options: &ConvOptions<2>,
    ) -> Option<Depthwise> {
        let [cout, per_group, kh, kw] = weight.shape().dims();
        let channels = x_shape[1];
        (options.groups == channels && cout == channels && per_group == 1 && options.dilation == [1, 1]).then(|| {
            Depthwise {
                input: x_shape,
                output,
                kernel: [kh, kw],
                stride: options.stride,
                begin: [options.padding[0].0, options.padding[1].0],
            }
        })
    }

    /// For one channel plane: every (output row, input row, filter tap) that meets inside the
    /// image, with the output columns `first..last` whose input column, `start + j · sw` for
    /// the `j`-th of them, lies inside the row.
    fn taps(&self, mut f: impl FnMut(usize, usize, usize, usize, usize, usize)) {
        let [_, _, h, w] = self.input;
        let [oh, ow] = self.output;
        let [kh, kw] = self.kernel;
        let [sh, sw] = self.stride;
        let [top, left] = self.begin;
        for oy in 0..oh {
            for ky in 0..kh {
                let Some(iy) = (oy * sh + ky).checked_sub(top).filter(|&iy| iy < h) else { continue };
                for kx in 0..kw {
                    // Output columns whose tap `kx` lands inside the row: ox·sw + kx − left ∈ [0, w).
                    let first = left.saturating_sub(kx).div_ceil(sw);
                    let Some(last) = (w + left).checked_sub(kx + 1).map(|v| (v / sw + 1).min(ow)) else { continue };
                    if first < last {
                        f(oy, iy, ky * kw + kx, first, last, first * sw + kx - left);
                    }
                }
            }
        }
    }

    /// Runs `plane(index, out)` on each `len`-sized chunk of `out`, on every thread of rayon's
    /// pool (one, inline, in the single-thread web build).
    fn planes(out: &mut [f32], len: usize, plane: impl Fn(usize, &mut [f32]) + Sync + Send) {
        use rayon::prelude::*;
        out.par_chunks_mut(len.max(1)).enumerate().for_each(|(p, out)| plane(p, out));
    }

    /// The convolution (plus `bias`), row by row: for stride 1 each filter tap is one
    /// contiguous multiply-add along a row, which the compiler vectorises.
    fn forward(&self, x: &[f32], filter: &[f32], bias: Option<&[f32]>) -> Vec<f32> {
        let [n, channels, h, w] = self.input;
        let [oh, ow] = self.output;
        let taps = self.kernel[0] * self.kernel[1];
        let sw = self.stride[1];
        let mut y = vec![0f32; n * channels * oh * ow];
        Self::planes(&mut y, oh * ow, |p, out| {
            let c = p % channels;
            if let Some(b) = bias.and_then(|b| b.get(c)) {
                out.iter_mut().for_each(|v| *v = *b);
            }
            let x = &x[p * h * w..(p + 1) * h * w];
            let k = &filter[c * taps..(c + 1) * taps];
            self.taps(|oy, iy, tap, first, last, start| {
                let (weight, x_row) = (k[tap], &x[iy * w..(iy + 1) * w]);
                let y_row = &mut out[oy * ow + first..oy * ow + last];
                if sw == 1 {
                    let len = y_row.len();
                    for (y, &x) in y_row.iter_mut().zip(&x_row[start..start + len]) {
                        *y += weight * x;
                    }
                } else {
                    for (j, y) in y_row.iter_mut().enumerate() {
                        *y += weight * x_row[start + j * sw];
                    }
                }
            });
        });
        y
    }

    /// The input gradient, as a scatter of each output gradient onto the input pixels it was
    /// computed from (the same taps as [`forward`](Self::forward), read the other way).
    fn input_gradient(&self, grad: &[f32], filter: &[f32]) -> Vec<f32> {
        let [n, channels, h, w] = self.input;
        let [oh, ow] = self.output;
        let taps = self.kernel[0] * self.kernel[1];
        let sw = self.stride[1];
        let mut gx = vec![0f32; n * channels * h * w];
        Self::planes(&mut gx, h * w, |p, out| {
            let c = p % channels;
            let g = &grad[p * oh * ow..(p + 1) * oh * ow];
            let k = &filter[c * taps..(c + 1) * taps];
            self.taps(|oy, iy, tap, first, last, start| {
                let (weight, g_row) = (k[tap], &g[oy * ow + first..oy * ow + last]);
                let x_row = &mut out[iy * w..(iy + 1) * w];
                if sw == 1 {
                    for (x, &g) in x_row[start..start + g_row.len()].iter_mut().zip(g_row) {
                        *x += weight * g;
                    }
                } else {
                    for (j, &g) in g_row.iter().enumerate() {
                        x_row[start + j * sw] += weight * g;
                    }
                }
            });
        });
        gx
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::activation::relu;
    use burn::tensor::module::conv2d;
    use burn::tensor::{Device, Tensor, TensorData};
    use facecloak_device::{Backend, CpuBackend};

    use super::*;

    /// Deterministic values in [-scale, scale).
    fn values(len: usize, seed: u64, scale: f32) -> Vec<f32> {
        let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (0..len)
            .map(|_| {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                ((state >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0) * scale
            })
            .collect()
    }

    fn relative_error(a: &[f32], b: &[f32]) -> f32 {
        let worst = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max);
        worst / b.iter().map(|v| v.abs()).fold(1e-12, f32::max)
    }

    /// The same layer from burn's generic ops, as the executor builds it on other backends.
    fn generic(
        x: Tensor<4>,
        w: Tensor<4>,
        b: Option<Tensor<1>>,
        options: &ConvOptions<2>,
        activation: &Activation,
        device: &Device,
    ) -> Tensor<4> {
        let y = conv2d(x, w, b, options.clone());
        match activation {
            Activation::None => y,
            Activation::Relu => relu(y),
            Activation::Relu6 => y.clamp(0.0, 6.0),
            Activation::Prelu(alpha) => {
                let c = alpha.len();
                let a = Tensor::<1>::from_data(TensorData::new(alpha.to_vec(), [c]), device).reshape([1, c, 1, 1]);
                let positive = relu(y.clone());
                positive.clone() + a.expand(y.dims()) * (y - positive)
            }
        }
    }

    /// Every kind of layer the face models have, plus the fallbacks: the fused node's output
    /// and input gradient equal burn's generic ops' on the same device.
    #[test]
    fn fused_layers_match_burn_forward_and_backward() {
        let device = Backend::cpu(CpuBackend::Flex).device().clone().autodiff();
        let (n, c, h, w) = (2, 6, 9, 8);
        let slopes: Arc<[f32]> = values(c, 7, 0.5).into();
        // (name, depthwise, out channels, kernel, stride, padding, bias, activation)
        let cases: Vec<(&str, bool, usize, usize, usize, [(usize, usize); 2], bool, Activation)> = vec![
            ("depthwise 3x3 s1 relu6", true, c, 3, 1, [(1, 1), (1, 1)], true, Activation::Relu6),
            ("depthwise 3x3 s2 SAME prelu", true, c, 3, 2, [(0, 1), (0, 1)], false, Activation::Prelu(slopes.clone())),
            ("depthwise 3x3 s2 explicit", true, c, 3, 2, [(1, 1), (1, 1)], false, Activation::None),
            ("dense 1x1 relu", false, 5, 1, 1, [(0, 0), (0, 0)], true, Activation::Relu),
            ("dense 1x1 s2", false, 5, 1, 2, [(0, 0), (0, 0)], false, Activation::None),
            ("dense 3x3 s2 SAME relu6", false, 4, 3, 2, [(0, 1), (0, 1)], true, Activation::Relu6),
        ];
        for (name, depthwise, cout, k, s, padding, with_bias, activation) in cases {
            let activation = match activation {
                Activation::Prelu(_) if cout != c => Activation::Prelu(values(cout, 9, 0.5).into()),
                a => a,
            };
            let per_group = if depthwise { 1 } else { c };
            let options =
                ConvOptions { stride: [s, s], padding, dilation: [1, 1], groups: if depthwise { c } else { 1 } };
            let x_data = values(n * c * h * w, 1, 4.0);
            let w_data = values(cout * per_group * k * k, 2, 1.0);
            let b_data = values(cout, 3, 2.0);
            let filter = Tensor::<4>::from_data(TensorData::new(w_data, [cout, per_group, k, k]), &device);
            let bias = with_bias.then(|| Tensor::<1>::from_data(TensorData::new(b_data, [cout]), &device));
            let prepared = Filter::new(&filter, depthwise).expect("a Flex filter");

            let run = |fused: bool| {
                let x = Tensor::<4>::from_data(TensorData::new(x_data.clone(), [n, c, h, w]), &device).require_grad();
                let y = if fused {
                    conv(&x, &prepared, bias.as_ref(), &options, &activation).expect("Flex takes the fused path")
                } else {
                    generic(x.clone(), filter.clone(), bias.clone(), &options, &activation, &device)
                };
                let r = Tensor::<4>::from_data(
                    TensorData::new(values(y.dims().iter().product(), 5, 1.0), y.dims()),
                    &device,
                );
                let grads = (y.clone() * r).sum().backward();
                let gx = x.grad(&grads).expect("x has a gradient").into_data().try_to_vec::<f32>().unwrap();
                (y.into_data().try_to_vec::<f32>().unwrap(), gx)
            };
            let (y_fused, gx_fused) = run(true);
            let (y_generic, gx_generic) = run(false);
            assert_eq!(y_fused.len(), y_generic.len(), "{name}: output size");
            let (ey, eg) = (relative_error(&y_fused, &y_generic), relative_error(&gx_fused, &gx_generic));
            assert!(ey < 1e-5, "{name}: output differs by {ey}");
            assert!(eg < 1e-5, "{name}: input gradient differs by {eg}");
            assert!(gx_fused.iter().any(|&g| g != 0.0), "{name}: the gradient is all zero");
        }
    }

    /// Without autodiff the fused path runs forward only; other backends are left to the
    /// generic ops.
    #[test]
    fn plain_flex_runs_forward_and_other_backends_decline() {
        let flex = Backend::cpu(CpuBackend::Flex).device().clone();
        let x = Tensor::<4>::from_data(TensorData::new(values(2 * 3 * 5 * 5, 1, 3.0), [2, 3, 5, 5]), &flex);
        let filter = Tensor::<4>::from_data(TensorData::new(values(3 * 9, 2, 1.0), [3, 1, 3, 3]), &flex);
        let options = ConvOptions { stride: [1, 1], padding: [(1, 1), (1, 1)], dilation: [1, 1], groups: 3 };
        let prepared = Filter::new(&filter, true).expect("a Flex filter");
        let fused = conv(&x, &prepared, None, &options, &Activation::Relu6).expect("plain Flex is fused too");
        let expected = conv2d(x, filter, None, options.clone()).clamp(0.0, 6.0);
        let (a, b) =
            (fused.into_data().try_to_vec::<f32>().unwrap(), expected.into_data().try_to_vec::<f32>().unwrap());
        assert!(relative_error(&a, &b) < 1e-6);

        let ndarray = Backend::cpu(CpuBackend::NdArray).device().clone();
        let filter = Tensor::<4>::from_data(TensorData::new(values(3 * 9, 2, 1.0), [3, 1, 3, 3]), &ndarray);
        assert!(Filter::new(&filter, true).is_none(), "an ndarray filter is not a Flex one");
    }
}
