//! Running a loaded [`Model`] on any burn device, with autodiff when the device has it.
//!
//! TFJS graphs are NHWC; burn's convolutions are NCHW. Inside, a rank-4 activation produced by
//! a convolution or pooling stays NCHW (so consecutive convolutions never transpose), and every
//! other tensor is kept "plain": its logical TF shape, left-padded with 1s to rank 4. Ops that
//! care about layout (broadcasting, reductions, padding, reshapes, softmax) translate axes;
//! everything returned to the caller is plain NHWC. Filters are transposed to burn's layout once,
//! in [`Executor::new`].
//!
//! Semantics follow TensorFlow: `SAME` padding puts the odd pixel at the end, `Mean`/`Sum`
//! honour `keep_dims`, `Reshape` is row-major over the NHWC order.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use burn::tensor::{
    Device, Tensor, TensorData,
    activation::{relu, sigmoid, softmax},
    module::{avg_pool2d, conv2d, max_pool2d},
    ops::{AvgPoolOptions, ConvOptions, MaxPoolOptions, PadMode},
};

use crate::flex_conv;
use crate::{Activation, BinaryOp, Conv, HostData, HostTensor, Model, Node, Op, Padding, ReduceKind, UnaryOp};

/// What can go wrong while running a model: shapes that do not fit (the wrong input size, a
/// tensor of a rank we do not handle). The graph itself was validated at load.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ExecError {
    /// An input the model has was not given, or a given one does not exist.
    #[error("input {name:?}: {problem}")]
    Input {
        /// The input's name.
        name: String,
        /// What is wrong.
        problem: String,
    },
    /// A node got tensors it cannot work on.
    #[error("node {node:?} ({op}): {problem}")]
    Node {
        /// The node's name.
        node: String,
        /// Its op.
        op: String,
        /// What is wrong.
        problem: String,
    },
}

/// A model's output: the tensor (rank 4, left-padded with 1s) and its logical shape.
#[derive(Debug, Clone)]
pub struct Output {
    /// The output's public name.
    pub name: String,
    /// Logical (TF) shape.
    pub shape: Vec<usize>,
    /// The values, stored `[1, …, 1, shape…]` (rank 4).
    pub tensor: Tensor<4>,
}

impl Output {
    /// The output at its logical rank `D`, e.g. `[N, 1024]` embeddings as `Tensor<2>`.
    pub fn into_rank<const D: usize>(self) -> Result<Tensor<D>, ExecError> {
        if self.shape.len() != D {
            return Err(ExecError::Node {
                node: self.name,
                op: "output".into(),
                problem: format!("has rank {}, not {D}", self.shape.len()),
            });
        }
        let mut dims = [0usize; D];
        dims.copy_from_slice(&self.shape);
        Ok(self.tensor.reshape(dims))
    }
}

/// A value flowing along an edge.
#[derive(Clone)]
#[allow(clippy::large_enum_variant)] // nearly every value is a Float; boxing would cost more
enum Value {
    Float { t: Tensor<4>, shape: Vec<usize>, nchw: bool },
    Int(HostTensor),
}

/// NHWC axis → NCHW axis.
const NHWC_TO_NCHW: [usize; 4] = [0, 2, 3, 1];

fn padded4(shape: &[usize]) -> Option<[usize; 4]> {
    if shape.len() > 4 {
        return None;
    }
    let mut dims = [1usize; 4];
    dims[4 - shape.len()..].copy_from_slice(shape);
    Some(dims)
}

/// A model bound to a device: constants uploaded and filters in burn's layout, ready to run.
pub struct Executor {
    model: Model,
    device: Device,
    values: HashMap<usize, Value>,
    /// Conv filters (node index of the *conv*) in burn's `[out, in/groups, kh, kw]` layout.
    filters: HashMap<usize, Tensor<4>>,
    /// On burn's CPU backend (Flex): each convolution's filter and activation for the fused
    /// single-node convolution of `flex_conv`.
    flex: HashMap<usize, (flex_conv::Filter, flex_conv::Activation)>,
    /// Multiply-adds of the convolutions and matmuls of the latest run (for GFLOP/s figures).
    multiply_adds: AtomicU64,
}

impl Executor {
    /// Uploads `model`'s constants to `device`. Use an autodiff device to take gradients.
    pub fn new(model: Model, device: &Device) -> Result<Self, ExecError> {
        let mut values = HashMap::new();
        for (&index, host) in &model.constants {
            let value = match &host.data {
                HostData::I32(_) => Value::Int(host.clone()),
                HostData::F32(data) => {
                    let dims = padded4(&host.shape)
                        .ok_or_else(|| node_error(&model, index, "constants above rank 4 are not supported"))?;
                    Value::Float {
                        t: Tensor::from_data(TensorData::new(data.clone(), dims), device),
                        shape: host.shape.clone(),
                        nchw: false,
                    }
                }
            };
            values.insert(index, value);
        }
        let mut filters = HashMap::new();
        for (index, node) in model.graph.nodes.iter().enumerate() {
            let Op::Conv2d(conv) = node.op else { continue };
            let Some(Value::Float { t, shape, .. }) = values.get(&node.inputs[1].node) else {
                return Err(node_error(&model, index, "the filter must be a constant float tensor"));
            };
            let [kh, kw, cin, cout] = shape[..] else {
                return Err(node_error(&model, index, &format!("filter shape {shape:?} is not [kh, kw, in, out]")));
            };
            // TF: [kh, kw, in, out] (dense) or [kh, kw, in, multiplier] (depthwise).
            // burn: [out, in / groups, kh, kw]; depthwise output channel = in · mult + m.
            let filter = if conv.depthwise {
                t.clone().permute([2, 3, 0, 1]).reshape([cin * cout, 1, kh, kw])
            } else {
                t.clone().permute([3, 2, 0, 1])
            };
            filters.insert(index, filter);
        }
        // A filter constant read by nothing but its convolutions now lives only in burn's
        // layout; keeping the NHWC copy too would hold every conv weight twice on the device.
        let read_elsewhere: std::collections::HashSet<usize> = model.graph.nodes.iter().flat_map(run_inputs).collect();
        for node in model.graph.nodes.iter().filter(|n| matches!(n.op, Op::Conv2d(_))) {
            let filter = node.inputs[1].node;
            if !read_elsewhere.contains(&filter) {
                values.remove(&filter);
            }
        }
        let mut flex = HashMap::new();
        for (&index, filter) in &filters {
            let Op::Conv2d(conv) = model.graph.nodes[index].op else { continue };
            let Some(prepared) = flex_conv::Filter::new(filter, conv.depthwise) else { continue };
            let activation = match conv.activation {
                Activation::None => flex_conv::Activation::None,
                Activation::Relu => flex_conv::Activation::Relu,
                Activation::Relu6 => flex_conv::Activation::Relu6,
                Activation::Prelu => {
                    let slot = if conv.bias { 3 } else { 2 };
                    let alpha = model.graph.nodes[index].inputs.get(slot).and_then(|p| model.constants.get(&p.node));
                    match alpha.map(|a| &a.data) {
                        Some(HostData::F32(alpha)) => flex_conv::Activation::Prelu(alpha.as_slice().into()),
                        _ => continue, // a computed slope: the generic path handles it
                    }
                }
            };
            flex.insert(index, (prepared, activation));
        }
        Ok(Executor { model, device: device.clone(), values, filters, flex, multiply_adds: AtomicU64::new(0) })
    }

    /// The model this executor runs.
    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Multiply-adds done by the convolutions and matrix products of the latest [`run`](Self::run)
    /// (the forward pass; a backward pass costs about twice that again).
    pub fn last_run_multiply_adds(&self) -> u64 {
        self.multiply_adds.load(Ordering::Relaxed)
    }

    /// The device it runs on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// Runs the graph on NHWC `inputs` (by input name) and returns every declared output.
    ///
    /// Denormal floats are flushed to zero on this thread and burn's CPU threads from here on
    /// ([`crate::denormals`]), so a backward pass run on this thread afterwards has it too.
    pub fn run(&self, inputs: &[(&str, Tensor<4>)]) -> Result<Vec<Output>, ExecError> {
        crate::denormals::flush_while_running();
        self.multiply_adds.store(0, Ordering::Relaxed);
        let mut values: Vec<Option<Value>> = vec![None; self.model.graph.nodes.len()];
        for (name, tensor) in inputs {
            let index =
                self.model.inputs.iter().copied().find(|&i| self.model.graph.nodes[i].name == *name).ok_or_else(
                    || ExecError::Input {
                        name: name.to_string(),
                        problem: format!("the model's inputs are {:?}", self.model.input_names()),
                    },
                )?;
            if let Op::Placeholder { shape } = &self.model.graph.nodes[index].op {
                let dims = tensor.dims();
                let fits =
                    shape.len() == 4 && shape.iter().zip(dims).all(|(&want, got)| want < 0 || want as usize == got);
                if !shape.is_empty() && !fits {
                    return Err(ExecError::Input {
                        name: name.to_string(),
                        problem: format!("has shape {dims:?}, the model wants {shape:?} (NHWC)"),
                    });
                }
            }
            values[index] = Some(Value::Float { t: tensor.clone(), shape: tensor.dims().to_vec(), nchw: false });
        }
        // Only what the outputs need is computed.
        let mut needed = vec![false; values.len()];
        for &(_, index) in &self.model.outputs {
            needed[index] = true;
        }
        for index in (0..needed.len()).rev() {
            if needed[index] {
                for input in run_inputs(&self.model.graph.nodes[index]) {
                    needed[input] = true;
                }
            }
        }
        // Constants first: a rewrite at load (fuse.rs) may have a node read a constant that
        // comes after it in the file's order.
        for (&index, value) in &self.values {
            if needed[index] {
                values[index] = Some(value.clone());
            }
        }
        for index in 0..values.len() {
            if !needed[index] || values[index].is_some() {
                continue;
            }
            let node = &self.model.graph.nodes[index];
            let value = match &node.op {
                Op::Const => {
                    self.values.get(&index).cloned().ok_or_else(|| self.error(index, "constant was not uploaded"))?
                }
                Op::Placeholder { .. } => {
                    return Err(ExecError::Input { name: node.name.clone(), problem: "was not given".into() });
                }
                op => {
                    let args: Vec<&Value> = run_inputs(node)
                        .map(|i| values[i].as_ref().ok_or_else(|| self.error(index, "an input was not computed")))
                        .collect::<Result<_, _>>()?;
                    self.eval(index, op, &args)?
                }
            };
            values[index] = Some(value);
        }
        self.model
            .outputs
            .iter()
            .map(|(name, index)| match values[*index].clone() {
                Some(Value::Float { t, shape, nchw }) => {
                    Ok(Output { name: name.clone(), tensor: to_plain(t, nchw), shape })
                }
                _ => Err(self.error(*index, "output is not a float tensor")),
            })
            .collect()
    }

    fn padding(
        &self,
        index: usize,
        padding: Padding,
        axis: usize,
        size: usize,
        kernel: usize,
        stride: usize,
    ) -> Result<((usize, usize), usize), ExecError> {
        tf_padding(padding, axis, size, kernel, stride)
            .ok_or_else(|| self.error(index, &format!("a {kernel}-pixel window does not fit {size} pixels")))
    }

    fn error(&self, index: usize, problem: &str) -> ExecError {
        node_error(&self.model, index, problem)
    }

    fn float<'a>(&self, index: usize, value: &'a Value) -> Result<(&'a Tensor<4>, &'a [usize], bool), ExecError> {
        match value {
            Value::Float { t, shape, nchw } => Ok((t, shape, *nchw)),
            Value::Int(_) => Err(self.error(index, "expected a float tensor, got an integer one")),
        }
    }

    fn ints<'a>(&self, index: usize, value: &'a Value) -> Result<&'a [i32], ExecError> {
        match value {
            Value::Int(HostTensor { data: HostData::I32(v), .. }) => Ok(v),
            _ => Err(self.error(index, "expected a constant integer tensor (shape, axes or paddings)")),
        }
    }

    /// A rank-4 value in NCHW.
    fn nchw(&self, index: usize, value: &Value) -> Result<(Tensor<4>, [usize; 4]), ExecError> {
        let (t, shape, nchw) = self.float(index, value)?;
        let [n, h, w, c] = shape[..] else {
            return Err(self.error(index, &format!("expected an NHWC image tensor, got shape {shape:?}")));
        };
        let t = if nchw { t.clone() } else { t.clone().permute([0, 3, 1, 2]) };
        Ok((t, [n, h, w, c]))
    }

    fn eval(&self, index: usize, op: &Op, args: &[&Value]) -> Result<Value, ExecError> {
        Ok(match op {
            Op::Identity => args[0].clone(),
            Op::Conv2d(conv) => self.conv(index, conv, args)?,
            Op::MaxPool { kernel, strides, padding } | Op::AvgPool { kernel, strides, padding } => {
                let (x, [n, h, w, c]) = self.nchw(index, args[0])?;
                let (ph, oh) = self.padding(index, *padding, 0, h, kernel[0], strides[0])?;
                let (pw, ow) = self.padding(index, *padding, 1, w, kernel[1], strides[1])?;
                let (kernel_size, stride, padding) = (*kernel, *strides, [ph, pw]);
                let t = if matches!(op, Op::MaxPool { .. }) {
                    max_pool2d(x, MaxPoolOptions { kernel_size, stride, padding, dilation: [1, 1], ceil_mode: false })
                } else {
                    // TF's average leaves the padding out of the count.
                    let options =
                        AvgPoolOptions { kernel_size, stride, padding, count_include_pad: false, ceil_mode: false };
                    avg_pool2d(x, options)
                };
                Value::Float { t, shape: vec![n, oh, ow, c], nchw: true }
            }
            Op::MatMul { transpose_a, transpose_b, bias, activation } => {
                let a = self.matrix(index, args[0], *transpose_a)?;
                let b = self.matrix(index, args[1], *transpose_b)?;
                let [n, k] = a.dims();
                let [k2, m] = b.dims();
                if k != k2 {
                    return Err(self.error(index, &format!("cannot multiply [{n}, {k}] by [{k2}, {m}]")));
                }
                self.multiply_adds.fetch_add((n * k * m) as u64, Ordering::Relaxed);
                let mut y = a.matmul(b);
                if *bias {
                    let (bias, _, _) = self.float(index, args[2])?;
                    y = y + bias.clone().reshape([1, m]);
                }
                let y = self.activate(index, *activation, y.reshape([1, 1, n, m]), args.get(3).copied(), false)?;
                Value::Float { t: y, shape: vec![n, m], nchw: false }
            }
            Op::Binary(op) => self.binary(index, *op, args[0], args[1])?,
            Op::Unary(op) => {
                let (t, shape, nchw) = self.float(index, args[0])?;
                let t = t.clone();
                let t = match op {
                    UnaryOp::Abs => t.abs(),
                    UnaryOp::Relu => relu(t),
                    UnaryOp::Rsqrt => t.sqrt().recip(),
                    UnaryOp::Sigmoid => sigmoid(t),
                    UnaryOp::Square => t.clone() * t,
                };
                Value::Float { t, shape: shape.to_vec(), nchw }
            }
            Op::Prelu => {
                let (x, shape, nchw) = self.float(index, args[0])?;
                let t = self.activate(index, Activation::Prelu, x.clone(), Some(args[1]), nchw)?;
                Value::Float { t, shape: shape.to_vec(), nchw }
            }
            Op::Softmax => {
                let (t, shape, nchw) = self.float(index, args[0])?;
                let axis = if nchw { 1 } else { 3 };
                Value::Float { t: softmax(t.clone(), axis), shape: shape.to_vec(), nchw }
            }
            Op::Reduce { kind, keep_dims } => self.reduce(index, *kind, *keep_dims, args)?,
            Op::Pad => {
                let (t, shape, nchw) = self.float(index, args[0])?;
                let pads = self.ints(index, args[1])?;
                if pads.len() != 2 * shape.len() || pads.iter().any(|&p| p < 0) {
                    return Err(self.error(index, &format!("paddings {pads:?} do not fit shape {shape:?}")));
                }
                let mut pairs = [(0usize, 0usize); 4];
                let mut out = shape.to_vec();
                let offset = 4 - shape.len();
                for axis in 0..shape.len() {
                    let pair = (pads[2 * axis] as usize, pads[2 * axis + 1] as usize);
                    out[axis] += pair.0 + pair.1;
                    let stored = if nchw { NHWC_TO_NCHW[axis] } else { offset + axis };
                    pairs[stored] = pair;
                }
                Value::Float { t: t.clone().pad(pairs, PadMode::Constant(0.0)), shape: out, nchw }
            }
            Op::Reshape => {
                let (t, shape, nchw) = self.float(index, args[0])?;
                let target = self.ints(index, args[1])?;
                let total: usize = shape.iter().product();
                let known: usize = target.iter().filter(|&&d| d >= 0).map(|&d| d as usize).product();
                let unknown = target.iter().filter(|&&d| d < 0).count();
                let out: Vec<usize> =
                    target.iter().map(|&d| if d < 0 { total / known.max(1) } else { d as usize }).collect();
                if unknown > 1 || out.iter().product::<usize>() != total {
                    return Err(self.error(index, &format!("cannot reshape {shape:?} to {target:?}")));
                }
                let dims = padded4(&out).ok_or_else(|| self.error(index, "reshapes above rank 4 are not supported"))?;
                Value::Float { t: to_plain(t.clone(), nchw).reshape(dims), shape: out, nchw: false }
            }
            Op::Squeeze { dims } => {
                let (t, shape, nchw) = self.float(index, args[0])?;
                let rank = shape.len() as i64;
                let drop: Vec<usize> = if dims.is_empty() {
                    (0..shape.len()).filter(|&a| shape[a] == 1).collect()
                } else {
                    dims.iter().map(|&d| (if d < 0 { d + rank } else { d }) as usize).collect()
                };
                if drop.iter().any(|&a| a >= shape.len() || shape[a] != 1) {
                    return Err(self.error(index, &format!("cannot squeeze axes {dims:?} of {shape:?}")));
                }
                let out: Vec<usize> = (0..shape.len()).filter(|a| !drop.contains(a)).map(|a| shape[a]).collect();
                let dims4 = padded4(&out).ok_or_else(|| self.error(index, "rank above 4"))?;
                Value::Float { t: to_plain(t.clone(), nchw).reshape(dims4), shape: out, nchw: false }
            }
            Op::Concat => self.concat(index, args)?,
            Op::Const | Op::Placeholder { .. } => return Err(self.error(index, "is not computed")),
        })
    }

    /// `ConcatV2`: the last argument is the axis. Inputs that all hold NCHW images are joined
    /// in that layout (the iris model joins two heads' channels); anything else in plain layout.
    fn concat(&self, index: usize, args: &[&Value]) -> Result<Value, ExecError> {
        let (axis, parts) = args.split_last().ok_or_else(|| self.error(index, "has no inputs"))?;
        let axis = match self.ints(index, axis)? {
            [a] => *a as i64,
            other => return Err(self.error(index, &format!("axis {other:?} is not one integer"))),
        };
        let parts: Vec<_> = parts.iter().map(|v| self.float(index, v)).collect::<Result<_, _>>()?;
        let rank = parts[0].1.len();
        let axis = if axis < 0 { axis + rank as i64 } else { axis };
        if axis < 0 || axis as usize >= rank {
            return Err(self.error(index, &format!("axis {axis} is outside rank {rank}")));
        }
        let axis = axis as usize;
        let mut shape = parts[0].1.to_vec();
        shape[axis] = 0;
        for (_, s, _) in &parts {
            let fits = s.len() == rank && (0..rank).all(|a| a == axis || s[a] == parts[0].1[a]);
            if !fits {
                return Err(self.error(index, &format!("cannot join {s:?} to {:?} along axis {axis}", parts[0].1)));
            }
            shape[axis] += s[axis];
        }
        let nchw = rank == 4 && parts.iter().all(|(_, _, nchw)| *nchw);
        let (tensors, stored) = if nchw {
            (parts.iter().map(|(t, _, _)| (*t).clone()).collect(), NHWC_TO_NCHW[axis])
        } else {
            (parts.iter().map(|(t, _, n)| to_plain((*t).clone(), *n)).collect(), 4 - rank + axis)
        };
        Ok(Value::Float { t: Tensor::cat(tensors, stored), shape, nchw })
    }

    fn conv(&self, index: usize, conv: &Conv, args: &[&Value]) -> Result<Value, ExecError> {
        let (x, [n, h, w, c]) = self.nchw(index, args[0])?;
        let filter = self.filters.get(&index).ok_or_else(|| self.error(index, "filter was not prepared"))?;
        let [cout, cin_per_group, kh, kw] = filter.dims();
        let groups = if conv.depthwise { c } else { 1 };
        if cin_per_group * groups != c {
            return Err(self
                .error(index, &format!("the input has {c} channels, the filter expects {}", cin_per_group * groups)));
        }
        let (ph, oh) = self.padding(index, conv.padding, 0, h, kh, conv.strides[0])?;
        let (pw, ow) = self.padding(index, conv.padding, 1, w, kw, conv.strides[1])?;
        let options = ConvOptions { stride: conv.strides, padding: [ph, pw], dilation: [1, 1], groups };
        let bias = if conv.bias {
            let (b, _, _) = self.float(index, args[1])?;
            Some(b.clone().reshape([cout]))
        } else {
            None
        };
        self.multiply_adds.fetch_add((n * oh * ow * cout * cin_per_group * kh * kw) as u64, Ordering::Relaxed);
        if let Some((prepared, activation)) = self.flex.get(&index) {
            if let Some(y) = flex_conv::conv(&x, prepared, bias.as_ref(), &options, activation) {
                return Ok(Value::Float { t: y, shape: vec![n, oh, ow, cout], nchw: true });
            }
        }
        let y = conv2d(x, filter.clone(), bias, options);
        let alpha = args.get(if conv.bias { 2 } else { 1 }).copied();
        let y = self.activate(index, conv.activation, y, alpha, true)?;
        Ok(Value::Float { t: y, shape: vec![n, oh, ow, cout], nchw: true })
    }

    /// Applies a (fused) activation. `alpha` is PReLU's per-channel slope.
    fn activate(
        &self,
        index: usize,
        activation: Activation,
        y: Tensor<4>,
        alpha: Option<&Value>,
        nchw: bool,
    ) -> Result<Tensor<4>, ExecError> {
        Ok(match activation {
            Activation::None => y,
            // burn's relu, not clamp_min: its backward is one compare and fill, where clamp's
            // goes through a three-way select (13% of a faceres forward+backward on flex).
            Activation::Relu => relu(y),
            Activation::Relu6 => y.clamp(0.0, 6.0),
            Activation::Prelu => {
                let alpha = alpha.ok_or_else(|| self.error(index, "PReLU has no alpha"))?;
                let (a, shape, a_nchw) = self.float(index, alpha)?;
                let a = if nchw && !a_nchw {
                    a.clone().reshape(padded4(shape).unwrap_or([1; 4])).permute([0, 3, 1, 2])
                } else {
                    a.clone()
                };
                let dims = y.dims();
                let a = a.expand(dims);
                // max(y, 0) + a·min(y, 0), with min(y, 0) = y − relu(y).
                let positive = relu(y.clone());
                positive.clone() + a * (y - positive)
            }
        })
    }

    fn matrix(&self, index: usize, value: &Value, transpose: bool) -> Result<Tensor<2>, ExecError> {
        let (t, shape, nchw) = self.float(index, value)?;
        let [r, c] = shape[..] else {
            return Err(self.error(index, &format!("MatMul needs rank-2 operands, got {shape:?}")));
        };
        let m: Tensor<2> = to_plain(t.clone(), nchw).reshape([r, c]);
        Ok(if transpose { m.transpose() } else { m })
    }

    /// The value of input `k` of node `index` when it is a constant holding one float.
    fn scalar_constant(&self, index: usize, k: usize) -> Option<f32> {
        let input = self.model.graph.nodes[index].inputs.get(k)?;
        match &self.model.constants.get(&input.node)?.data {
            HostData::F32(v) if v.len() == 1 => Some(v[0]),
            _ => None,
        }
    }

    fn binary(&self, index: usize, op: BinaryOp, a: &Value, b: &Value) -> Result<Value, ExecError> {
        // Maximum/Minimum against a scalar constant are clamps (ReLU6 is Relu → Minimum(6) →
        // Maximum(0)). As max(x, c) = relu(x − c) + c and min(x, c) = x − relu(x − c) their
        // backward is relu's single multiply-by-mask, where max_pair/min_pair's goes through a
        // three-way select: 15% of a faceres forward+backward on flex.
        if matches!(op, BinaryOp::Maximum | BinaryOp::Minimum) {
            let scalar =
                [(0, b), (1, a)].into_iter().find_map(|(k, other)| Some((self.scalar_constant(index, k)?, other)));
            if let Some((c, x)) = scalar {
                let (t, shape, nchw) = self.float(index, x)?;
                if !shape.is_empty() {
                    let above = relu(t.clone() - c);
                    let t = if op == BinaryOp::Maximum { above + c } else { t.clone() - above };
                    return Ok(Value::Float { t, shape: shape.to_vec(), nchw });
                }
            }
        }
        let (ta, sa, na) = self.float(index, a)?;
        let (tb, sb, nb) = self.float(index, b)?;
        let rank = sa.len().max(sb.len());
        let (pa, pb) = (left_pad(sa, rank), left_pad(sb, rank));
        let mut out = Vec::with_capacity(rank);
        for (&x, &y) in pa.iter().zip(&pb) {
            out.push(match (x, y) {
                (x, y) if x == y => x,
                (1, y) => y,
                (x, 1) => x,
                _ => {
                    return Err(self.error(index, &format!("shapes {sa:?} and {sb:?} do not broadcast")));
                }
            });
        }
        // Bring both into the same storage: NCHW when either is, plain otherwise.
        let nchw = na || nb;
        let store = |t: &Tensor<4>, is_nchw: bool| {
            if nchw && !is_nchw { t.clone().permute([0, 3, 1, 2]) } else { t.clone() }
        };
        let target = padded4(&out).ok_or_else(|| self.error(index, "rank above 4"))?;
        let target = if nchw { [target[0], target[3], target[1], target[2]] } else { target };
        let (x, y) = (store(ta, na).expand(target), store(tb, nb).expand(target));
        let t = match op {
            BinaryOp::Add => x + y,
            BinaryOp::Sub => x - y,
            BinaryOp::Mul => x * y,
            BinaryOp::Maximum => x.max_pair(y),
            BinaryOp::Minimum => x.min_pair(y),
        };
        Ok(Value::Float { t, shape: out, nchw })
    }

    fn reduce(&self, index: usize, kind: ReduceKind, keep_dims: bool, args: &[&Value]) -> Result<Value, ExecError> {
        let (t, shape, nchw) = self.float(index, args[0])?;
        let rank = shape.len() as i32;
        let mut axes: Vec<usize> = Vec::new();
        for &a in self.ints(index, args[1])? {
            let a = if a < 0 { a + rank } else { a };
            if !(0..rank).contains(&a) {
                return Err(self.error(index, &format!("axis {a} is out of range for shape {shape:?}")));
            }
            axes.push(a as usize);
        }
        let offset = 4 - shape.len();
        let stored: Vec<usize> = axes.iter().map(|&a| if nchw { NHWC_TO_NCHW[a] } else { offset + a }).collect();
        let reduced = match kind {
            ReduceKind::Mean => t.clone().mean_dims(&stored),
            ReduceKind::Sum => t.clone().sum_dims(&stored),
        };
        let kept: Vec<usize> = shape.iter().enumerate().map(|(a, &d)| if axes.contains(&a) { 1 } else { d }).collect();
        if keep_dims {
            return Ok(Value::Float { t: reduced, shape: kept, nchw });
        }
        let out: Vec<usize> = shape.iter().enumerate().filter(|(a, _)| !axes.contains(a)).map(|(_, &d)| d).collect();
        let dims = padded4(&out).ok_or_else(|| self.error(index, "rank above 4"))?;
        Ok(Value::Float { t: to_plain(reduced, nchw).reshape(dims), shape: out, nchw: false })
    }
}

/// The inputs a node reads at run time: all of them, except a convolution's filter, which
/// [`Executor::new`] prepared in burn's layout (so a convolution's args are x, bias, alpha).
fn run_inputs(node: &Node) -> impl Iterator<Item = usize> + '_ {
    let is_conv = matches!(node.op, Op::Conv2d(_));
    node.inputs.iter().enumerate().filter(move |&(slot, _)| !(is_conv && slot == 1)).map(|(_, port)| port.node)
}

fn node_error(model: &Model, index: usize, problem: &str) -> ExecError {
    let node = &model.graph.nodes[index];
    ExecError::Node { node: node.name.clone(), op: format!("{:?}", node.op), problem: problem.to_owned() }
}

fn left_pad(shape: &[usize], rank: usize) -> Vec<usize> {
    let mut padded = vec![1; rank - shape.len()];
    padded.extend_from_slice(shape);
    padded
}

/// A value in plain storage (logical NHWC shape, left-padded to rank 4).
fn to_plain(t: Tensor<4>, nchw: bool) -> Tensor<4> {
    if nchw { t.permute([0, 2, 3, 1]) } else { t }
}

/// TensorFlow's padding for spatial `axis` (0 vertical, 1 horizontal): `(begin, end)` and the
/// output size, `None` when the (padded) input is smaller than the window (or empty). `SAME`
/// gives `ceil(size / stride)` outputs and puts the odd padded pixel at the end.
pub fn tf_padding(
    padding: Padding,
    axis: usize,
    size: usize,
    kernel: usize,
    stride: usize,
) -> Option<((usize, usize), usize)> {
    if size == 0 || stride == 0 {
        return None;
    }
    match padding {
        Padding::Explicit(pads) => {
            let (before, after) = *pads.get(axis)?;
            let padded = size + before + after;
            (padded >= kernel).then(|| ((before, after), (padded - kernel) / stride + 1))
        }
        Padding::Valid => (size >= kernel).then(|| ((0, 0), (size - kernel) / stride + 1)),
        Padding::Same => {
            let out = size.div_ceil(stride);
            let total = ((out - 1) * stride + kernel).saturating_sub(size);
            Some(((total / 2, total - total / 2), out))
        }
    }
}
