//! Operator fusion at load: the element-wise tails that converters leave after a convolution
//! are folded into the convolution itself.
//!
//! Keras exports batch norm and clipped ReLU as separate nodes, and MXNet exports PReLU as four
//! (`max(0, x) + γ · min(0, x)`) and padding as an explicit `Pad`. Each such node is a full pass
//! over the activation in the forward *and* in the backward pass, and the attack runs both
//! every step: in faceres they were ten element-wise passes per convolution. Folded, a layer
//! is one convolution with a bias and an activation, which the executor can run as one node
//! (see `flex_conv`). The rewrites are exact up to float rounding (a scale folded into the
//! filter rounds once instead of twice):
//!
//! - `Mul(conv, k)` with a per-channel constant `k`: the filter (and bias) scaled by `k`;
//! - `Add(conv, b)` with a per-channel constant `b`: `b` added to (or becoming) the bias;
//! - `Relu`, then optionally `Minimum(·, 6)` and `Maximum(·, 0)`: a fused `Relu` or `Relu6`;
//! - `Maximum(conv, 0) + γ · Minimum(conv, 0)`: a fused `Prelu` with slope `γ`;
//! - `Pad` (zeros, spatial axes only) feeding a `VALID` convolution: explicit padding.
//!
//! A rewrite only happens when every node it removes is read by nothing else and is not a
//! model output, and when every constant it changes belongs to that convolution alone; the
//! removed nodes stay in place as dead `Identity` nodes without inputs (node indices never
//! change), and their readers read the convolution directly.

use std::collections::BTreeMap;

use crate::graph::{Activation, BinaryOp, Conv, Graph, Op, Padding, Port, UnaryOp};
use crate::weights::{HostData, HostTensor};

/// Applies the rewrites until none applies. Returns how many were made.
pub(crate) fn fuse(
    graph: &mut Graph,
    constants: &mut BTreeMap<usize, HostTensor>,
    outputs: &mut [(String, usize)],
) -> usize {
    let mut total = 0;
    loop {
        let mut made = 0;
        for index in 0..graph.nodes.len() {
            if matches!(graph.nodes[index].op, Op::Conv2d(_)) {
                let mut fusion = Fusion { graph, constants, outputs };
                while fusion.step(index) {
                    made += 1;
                }
            }
        }
        if made == 0 {
            return total;
        }
        total += made;
    }
}

struct Fusion<'a> {
    graph: &'a mut Graph,
    constants: &'a mut BTreeMap<usize, HostTensor>,
    outputs: &'a mut [(String, usize)],
}

impl Fusion<'_> {
    fn conv(&self, index: usize) -> Option<Conv> {
        match self.graph.nodes[index].op {
            Op::Conv2d(conv) => Some(conv),
            _ => None,
        }
    }

    fn set_conv(&mut self, index: usize, conv: Conv) {
        self.graph.nodes[index].op = Op::Conv2d(conv);
    }

    /// The nodes that read `index`, each once.
    fn readers(&self, index: usize) -> Vec<usize> {
        (0..self.graph.nodes.len()).filter(|&n| self.graph.nodes[n].inputs.iter().any(|p| p.node == index)).collect()
    }

    fn is_output(&self, index: usize) -> bool {
        self.outputs.iter().any(|&(_, o)| o == index)
    }

    /// `index`'s only reader, when it has exactly one and is not an output.
    fn sole_reader(&self, index: usize) -> Option<usize> {
        match self.readers(index)[..] {
            [reader] if !self.is_output(index) => Some(reader),
            _ => None,
        }
    }

    /// Whether `constant` is read by `reader` alone (so it may be changed in place).
    fn owned_by(&self, constant: usize, reader: usize) -> bool {
        self.readers(constant) == [reader] && !self.is_output(constant)
    }

    /// The number of output channels of a convolution, from its filter.
    fn channels(&self, conv_index: usize) -> Option<usize> {
        let filter = self.constants.get(&self.graph.nodes[conv_index].inputs.get(1)?.node)?;
        let [_, _, cin, last] = filter.shape[..] else { return None };
        Some(if self.conv(conv_index)?.depthwise { cin * last } else { last })
    }

    /// For a binary node reading `from` and a float constant: that constant's index and values,
    /// expanded to `channels` values when it is per-channel (`[C]`, `[1, 1, 1, C]`) or a scalar.
    fn channel_constant(&self, binary: usize, from: usize, channels: usize) -> Option<(usize, Vec<f32>)> {
        let inputs = &self.graph.nodes[binary].inputs;
        let [a, b] = inputs[..] else { return None };
        let other = if a.node == from && b.node != from {
            b.node
        } else if b.node == from && a.node != from {
            a.node
        } else {
            return None;
        };
        let tensor = self.constants.get(&other)?;
        let HostData::F32(values) = &tensor.data else { return None };
        let per_channel = tensor.shape.iter().rev().skip(1).all(|&d| d == 1) && tensor.shape.len() <= 4;
        match values.len() {
            1 if tensor.shape.len() <= 4 => Some((other, vec![values[0]; channels])),
            n if n == channels && per_channel => Some((other, values.clone())),
            _ => None,
        }
    }

    /// The scalar `Maximum`/`Minimum` constant a binary node compares `from` against.
    fn scalar_operand(&self, binary: usize, from: usize) -> Option<f32> {
        let (_, values) = self.channel_constant(binary, from, 1)?;
        Some(values[0])
    }

    fn binary(&self, index: usize) -> Option<BinaryOp> {
        match self.graph.nodes[index].op {
            Op::Binary(op) => Some(op),
            _ => None,
        }
    }

    /// `index` is no longer part of the graph: an `Identity` of nothing, which nothing reads.
    fn kill(&mut self, index: usize) {
        self.graph.nodes[index].op = Op::Identity;
        self.graph.nodes[index].inputs.clear();
    }

    /// Every reader of `tail` now reads `conv`, the outputs too, and `tail` is dead.
    fn bypass(&mut self, tail: usize, conv: usize) {
        for node in &mut self.graph.nodes {
            for port in &mut node.inputs {
                if port.node == tail {
                    *port = Port { node: conv, output: 0 };
                }
            }
        }
        for (_, output) in self.outputs.iter_mut() {
            if *output == tail {
                *output = conv;
            }
        }
        self.kill(tail);
    }

    fn floats_mut(&mut self, index: usize) -> Option<&mut Vec<f32>> {
        match &mut self.constants.get_mut(&index)?.data {
            HostData::F32(values) => Some(values),
            HostData::I32(_) => None,
        }
    }

    /// One rewrite of the convolution at `index`, if any applies.
    fn step(&mut self, index: usize) -> bool {
        self.fold_pad(index) || self.fold_tail(index) || self.fold_prelu(index)
    }

    fn fold_pad(&mut self, index: usize) -> bool {
        let Some(conv) = self.conv(index) else { return false };
        let pad = self.graph.nodes[index].inputs[0].node;
        if conv.padding != Padding::Valid || self.graph.nodes[pad].op != Op::Pad || self.sole_reader(pad) != Some(index)
        {
            return false;
        }
        let Some(paddings) = self.graph.nodes[pad].inputs.get(1).and_then(|p| self.constants.get(&p.node)) else {
            return false;
        };
        let HostData::I32(p) = &paddings.data else { return false };
        // [[0, 0], [top, bottom], [left, right], [0, 0]] in NHWC.
        let [0, 0, top, bottom, left, right, 0, 0] = p[..] else { return false };
        if [top, bottom, left, right].iter().any(|&v| v < 0) {
            return false;
        }
        let explicit = [(top as usize, bottom as usize), (left as usize, right as usize)];
        self.set_conv(index, Conv { padding: Padding::Explicit(explicit), ..conv });
        self.graph.nodes[index].inputs[0] = self.graph.nodes[pad].inputs[0];
        self.kill(pad);
        true
    }

    /// `Mul`/`Add` by per-channel constants, then `Relu` [`Minimum(6)`] [`Maximum(0)`].
    fn fold_tail(&mut self, index: usize) -> bool {
        let Some(conv) = self.conv(index) else { return false };
        let Some(tail) = self.sole_reader(index) else { return false };
        let Some(channels) = self.channels(index) else { return false };
        let filter = self.graph.nodes[index].inputs[1].node;
        let bias = conv.bias.then(|| self.graph.nodes[index].inputs[2].node);
        match (&self.graph.nodes[tail].op, conv.activation) {
            (Op::Binary(BinaryOp::Mul), Activation::None) => {
                let Some((_, scale)) = self.channel_constant(tail, index, channels) else { return false };
                if !self.owned_by(filter, index) || bias.is_some_and(|b| !self.owned_by(b, index)) {
                    return false;
                }
                let Some(weights) = self.floats_mut(filter) else { return false };
                // The output channel is the fastest-varying index of a TF filter once its last
                // two axes are flattened ([kh, kw, in, out], or [kh, kw, in, multiplier]).
                for (i, w) in weights.iter_mut().enumerate() {
                    *w *= scale[i % channels];
                }
                if let Some(bias) = bias {
                    let Some(values) = self.floats_mut(bias) else { return false };
                    values.iter_mut().zip(&scale).for_each(|(b, s)| *b *= s);
                }
            }
            (Op::Binary(BinaryOp::Add), Activation::None) => {
                let Some((constant, add)) = self.channel_constant(tail, index, channels) else { return false };
                match bias {
                    Some(bias) => {
                        if !self.owned_by(bias, index) {
                            return false;
                        }
                        let Some(values) = self.floats_mut(bias) else { return false };
                        values.iter_mut().zip(&add).for_each(|(b, a)| *b += a);
                    }
                    None => {
                        if !self.owned_by(constant, tail) {
                            return false;
                        }
                        self.constants.insert(constant, HostTensor { shape: vec![channels], data: HostData::F32(add) });
                        self.graph.nodes[index].inputs.insert(2, Port { node: constant, output: 0 });
                        self.set_conv(index, Conv { bias: true, ..conv });
                    }
                }
            }
            (Op::Unary(UnaryOp::Relu), Activation::None) => {
                self.set_conv(index, Conv { activation: Activation::Relu, ..conv });
            }
            (Op::Binary(BinaryOp::Minimum), Activation::Relu) if self.scalar_operand(tail, index) == Some(6.0) => {
                self.set_conv(index, Conv { activation: Activation::Relu6, ..conv });
            }
            // A ReLU's output is never negative: Maximum(·, 0) changes neither value nor gradient.
            (Op::Binary(BinaryOp::Maximum), Activation::Relu | Activation::Relu6)
                if self.scalar_operand(tail, index) == Some(0.0) => {}
            _ => return false,
        }
        self.bypass(tail, index);
        true
    }

    /// `Maximum(conv, 0) + γ · Minimum(conv, 0)` → PReLU with slope `γ`.
    fn fold_prelu(&mut self, index: usize) -> bool {
        let Some(conv) = self.conv(index) else { return false };
        if conv.activation != Activation::None || self.is_output(index) {
            return false;
        }
        let Some(channels) = self.channels(index) else { return false };
        let readers = self.readers(index);
        let [a, b] = readers[..] else { return false };
        let (max, min) = match (self.binary(a), self.binary(b)) {
            (Some(BinaryOp::Maximum), Some(BinaryOp::Minimum)) => (a, b),
            (Some(BinaryOp::Minimum), Some(BinaryOp::Maximum)) => (b, a),
            _ => return false,
        };
        if self.scalar_operand(max, index) != Some(0.0) || self.scalar_operand(min, index) != Some(0.0) {
            return false;
        }
        let Some(mul) = self.sole_reader(min) else { return false };
        if self.binary(mul) != Some(BinaryOp::Mul) {
            return false;
        }
        let Some((gamma, _)) = self.channel_constant(mul, min, channels) else { return false };
        let Some(add) = self.sole_reader(mul) else { return false };
        if self.binary(add) != Some(BinaryOp::Add) || self.sole_reader(max) != Some(add) {
            return false;
        }
        let inputs = &self.graph.nodes[add].inputs;
        if !(inputs.iter().any(|p| p.node == max) && inputs.iter().any(|p| p.node == mul)) {
            return false;
        }
        let slot = if conv.bias { 3 } else { 2 };
        self.graph.nodes[index].inputs.insert(slot, Port { node: gamma, output: 0 });
        self.set_conv(index, Conv { activation: Activation::Prelu, ..conv });
        self.bypass(add, index);
        for dead in [max, min, mul] {
            self.kill(dead);
        }
        true
    }
}
