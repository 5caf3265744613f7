//! `model.json` nodes → a validated, topologically sorted graph of ops we implement.
//!
//! Everything an executor would otherwise discover at run time is checked here, at load: every
//! op is one we implement (with its attributes: NHWC only, no dilations, known fused-op lists),
//! every input exists, every node has the inputs its op takes, and the graph has no cycle.

use std::collections::{BTreeMap, HashMap};

use crate::LoadError;
use crate::json::{AttrValue, RawNode};

/// Spatial padding of convolutions and pooling, with TensorFlow's semantics: `Same` pads so
/// that `out = ceil(in / stride)`, putting the odd pixel at the end (bottom/right).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// TF `SAME`.
    Same,
    /// TF `VALID`: no padding.
    Valid,
    /// Explicit `(before, after)` pixels for the vertical and horizontal axes: what a `Pad` node
    /// in front of a `VALID` convolution becomes when it is fused into it.
    Explicit([(usize, usize); 2]),
}

/// An activation fused into a convolution or matmul (`_FusedConv2D[BiasAdd, Relu]`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// Bias only.
    None,
    /// `max(x, 0)`.
    Relu,
    /// `min(max(x, 0), 6)`.
    Relu6,
    /// `max(x, 0) + alpha · min(x, 0)`, alpha per channel (the node's last input).
    Prelu,
}

/// A 2-D convolution, plain or depthwise, with an optional fused bias and activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv {
    /// Depthwise (`DepthwiseConv2dNative`, filter `[kh, kw, in, multiplier]`) or dense
    /// (`Conv2D`, filter `[kh, kw, in, out]`).
    pub depthwise: bool,
    /// Vertical and horizontal stride.
    pub strides: [usize; 2],
    /// Padding.
    pub padding: Padding,
    /// Whether a bias (input 2) is added.
    pub bias: bool,
    /// The fused activation.
    pub activation: Activation,
}

/// The ops we implement, with their attributes parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// A graph input.
    Placeholder {
        /// Declared shape, -1 for unknown dimensions (empty when not declared).
        shape: Vec<i64>,
    },
    /// A weight.
    Const,
    /// Passes its input through.
    Identity,
    /// `Conv2D`, `_FusedConv2D`, `DepthwiseConv2dNative`, `FusedDepthwiseConv2dNative`.
    Conv2d(Conv),
    /// `MatMul`, `_FusedMatMul`.
    MatMul {
        /// Transpose the first operand.
        transpose_a: bool,
        /// Transpose the second operand.
        transpose_b: bool,
        /// Whether a bias (input 2) is added.
        bias: bool,
        /// The fused activation.
        activation: Activation,
    },
    /// `MaxPool`.
    MaxPool {
        /// Window height and width.
        kernel: [usize; 2],
        /// Vertical and horizontal stride.
        strides: [usize; 2],
        /// Padding.
        padding: Padding,
    },
    /// `AvgPool` (TF's: padding is not counted in the mean).
    AvgPool {
        /// Window height and width.
        kernel: [usize; 2],
        /// Vertical and horizontal stride.
        strides: [usize; 2],
        /// Padding.
        padding: Padding,
    },
    /// Element-wise with broadcasting.
    Binary(BinaryOp),
    /// Element-wise.
    Unary(UnaryOp),
    /// Softmax over the last axis.
    Softmax,
    /// `Prelu(x, alpha)`.
    Prelu,
    /// `Mean(x, axes)` / `Sum(x, axes)`.
    Reduce {
        /// Mean or sum.
        kind: ReduceKind,
        /// Keep reduced axes with size 1.
        keep_dims: bool,
    },
    /// `Pad(x, paddings)` with zeros.
    Pad,
    /// `Reshape(x, shape)`.
    Reshape,
    /// `Squeeze`: drop the listed size-1 axes (all size-1 axes when none are listed).
    Squeeze {
        /// Axes to drop; may be negative.
        dims: Vec<i64>,
    },
    /// `ConcatV2(x₁, …, xₙ, axis)`: joins the inputs along `axis` (may be negative).
    Concat,
}

/// Binary element-wise ops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    /// `Add`, `AddV2`.
    Add,
    /// `Sub`.
    Sub,
    /// `Mul`.
    Mul,
    /// `Maximum`.
    Maximum,
    /// `Minimum`.
    Minimum,
}

/// Unary element-wise ops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `Abs`.
    Abs,
    /// `Relu`.
    Relu,
    /// `Rsqrt`: `1 / √x`.
    Rsqrt,
    /// `Sigmoid`.
    Sigmoid,
    /// `Square`.
    Square,
}

/// Reductions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceKind {
    /// `Mean`.
    Mean,
    /// `Sum`.
    Sum,
}

/// A reference to one output of a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Port {
    /// Index of the producing node in [`Graph::nodes`].
    pub node: usize,
    /// Which of its outputs (all our ops have one, so 0).
    pub output: usize,
}

/// One node of the graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The node's name in `model.json`.
    pub name: String,
    /// What it computes.
    pub op: Op,
    /// Its data inputs (control dependencies dropped).
    pub inputs: Vec<Port>,
}

/// A validated graph, nodes in an order where every node comes after its inputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Graph {
    /// Topologically sorted nodes.
    pub nodes: Vec<Node>,
}

impl Graph {
    /// Index of the node called `name`.
    pub fn find(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }

    pub(crate) fn parse(raw: &[RawNode]) -> Result<Graph, LoadError> {
        let mut index = HashMap::with_capacity(raw.len());
        for (i, node) in raw.iter().enumerate() {
            if index.insert(node.name.as_str(), i).is_some() {
                return Err(LoadError::DuplicateNode { node: node.name.clone() });
            }
        }
        // Parse ops and resolve inputs against the file's order first.
        let mut parsed = Vec::with_capacity(raw.len());
        for node in raw {
            let op = parse_op(node)?;
            let mut inputs = Vec::new();
            for reference in &node.input {
                if reference.starts_with('^') {
                    continue; // a control dependency: ordering only, no data
                }
                let (name, output) = split_port(reference);
                let producer = *index
                    .get(name)
                    .ok_or_else(|| LoadError::MissingInput { node: node.name.clone(), input: reference.clone() })?;
                if output != 0 {
                    return Err(LoadError::MissingInput { node: node.name.clone(), input: reference.clone() });
                }
                inputs.push(Port { node: producer, output });
            }
            check_arity(node, &op, inputs.len())?;
            parsed.push(Node { name: node.name.clone(), op, inputs });
        }
        topological_order(parsed)
    }
}

/// `"name:1"` → `("name", 1)`; `"name"` → `("name", 0)`.
pub(crate) fn split_port(reference: &str) -> (&str, usize) {
    match reference.rsplit_once(':') {
        Some((name, index)) if !index.is_empty() && index.bytes().all(|b| b.is_ascii_digit()) => {
            (name, index.parse().unwrap_or(usize::MAX))
        }
        _ => (reference, 0),
    }
}

/// Kahn's algorithm; keeps the file's order among independent nodes, so results are stable.
fn topological_order(nodes: Vec<Node>) -> Result<Graph, LoadError> {
    let n = nodes.len();
    let mut pending: Vec<usize> = nodes.iter().map(|node| node.inputs.len()).collect();
    let mut consumers: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, node) in nodes.iter().enumerate() {
        for port in &node.inputs {
            consumers[port.node].push(i);
        }
    }
    let mut ready: std::collections::BTreeSet<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &c in &consumers[i] {
            pending[c] -= 1;
            if pending[c] == 0 {
                ready.insert(c);
            }
        }
    }
    if order.len() < n {
        let stuck = (0..n).find(|&i| pending[i] > 0).unwrap_or(0);
        return Err(LoadError::Cycle { node: nodes[stuck].name.clone() });
    }
    let mut new_index = vec![0; n];
    for (new, &old) in order.iter().enumerate() {
        new_index[old] = new;
    }
    let mut slots: Vec<Option<Node>> = nodes.into_iter().map(Some).collect();
    let sorted = order
        .iter()
        .filter_map(|&old| slots[old].take())
        .map(|mut node| {
            for port in &mut node.inputs {
                port.node = new_index[port.node];
            }
            node
        })
        .collect();
    Ok(Graph { nodes: sorted })
}

struct Attrs<'a> {
    node: &'a RawNode,
}

impl<'a> Attrs<'a> {
    fn error(&self, attr: &'static str, problem: impl Into<String>) -> LoadError {
        LoadError::Attribute { node: self.node.name.clone(), op: self.node.op.clone(), attr, problem: problem.into() }
    }

    fn get(&self, attr: &'static str) -> Option<&'a AttrValue> {
        self.node.attr.get(attr)
    }

    fn string(&self, attr: &'static str) -> Result<Option<String>, LoadError> {
        match self.get(attr).and_then(|v| v.s.as_deref()) {
            None => Ok(None),
            Some(encoded) => base64(encoded).map(Some).ok_or_else(|| self.error(attr, "is not valid base64 text")),
        }
    }

    fn strings(&self, attr: &'static str) -> Result<Vec<String>, LoadError> {
        let list = self.get(attr).and_then(|v| v.list.as_ref()).map(|l| l.s.as_slice()).unwrap_or(&[]);
        list.iter().map(|s| base64(s).ok_or_else(|| self.error(attr, "is not valid base64 text"))).collect()
    }

    fn ints(&self, attr: &'static str) -> Vec<i64> {
        self.get(attr).and_then(|v| v.list.as_ref()).map(|l| l.i.iter().map(|i| i.0).collect()).unwrap_or_default()
    }

    fn bool(&self, attr: &'static str) -> bool {
        self.get(attr).and_then(|v| v.b).unwrap_or(false)
    }

    fn int(&self, attr: &'static str) -> Option<i64> {
        self.get(attr).and_then(|v| v.i).map(|i| i.0)
    }

    /// NHWC is the only layout TFJS graph models use; anything else is refused, not guessed.
    fn nhwc(&self) -> Result<(), LoadError> {
        match self.string("data_format")?.as_deref() {
            None | Some("NHWC") => Ok(()),
            Some(other) => Err(self.error("data_format", format!("is {other:?}; only NHWC is supported"))),
        }
    }

    fn padding(&self) -> Result<Padding, LoadError> {
        match self.string("padding")?.as_deref() {
            Some("SAME") => Ok(Padding::Same),
            Some("VALID") => Ok(Padding::Valid),
            Some(other) => Err(self.error("padding", format!("is {other:?}; only SAME and VALID are supported"))),
            None => Err(self.error("padding", "is missing")),
        }
    }

    /// `[1, h, w, 1]` → `[h, w]`, all positive.
    fn spatial(&self, attr: &'static str) -> Result<[usize; 2], LoadError> {
        match self.ints(attr).as_slice() {
            [1, h, w, 1] if *h > 0 && *w > 0 => Ok([*h as usize, *w as usize]),
            [] => Err(self.error(attr, "is missing")),
            other => Err(self.error(attr, format!("is {other:?}; expected [1, h, w, 1] with positive h, w"))),
        }
    }

    fn no_dilation(&self) -> Result<(), LoadError> {
        match self.ints("dilations").as_slice() {
            [] | [1, 1, 1, 1] => Ok(()),
            other => Err(self.error("dilations", format!("is {other:?}; dilated convolutions are not supported"))),
        }
    }

    /// `fused_ops` of `_FusedConv2D` & co.: bias, then at most one activation.
    fn fused(&self) -> Result<(bool, Activation), LoadError> {
        let ops = self.strings("fused_ops")?;
        let ops: Vec<&str> = ops.iter().map(String::as_str).collect();
        let fused = match ops.as_slice() {
            [] => (false, Activation::None),
            ["BiasAdd"] => (true, Activation::None),
            ["BiasAdd", "Relu"] => (true, Activation::Relu),
            ["BiasAdd", "Relu6"] => (true, Activation::Relu6),
            ["BiasAdd", "Prelu"] => (true, Activation::Prelu),
            other => {
                return Err(self.error("fused_ops", format!("is {other:?}, which is not supported")));
            }
        };
        let args = match fused {
            (false, _) => 0,
            (true, Activation::Prelu) => 2,
            (true, _) => 1,
        };
        match self.int("num_args") {
            Some(n) if n != args as i64 => Err(self.error("num_args", format!("is {n}, but {ops:?} takes {args}"))),
            _ => Ok(fused),
        }
    }
}

fn parse_op(node: &RawNode) -> Result<Op, LoadError> {
    let a = Attrs { node };
    let conv = |depthwise: bool, fused: bool| -> Result<Op, LoadError> {
        a.nhwc()?;
        a.no_dilation()?;
        let (bias, activation) = if fused { a.fused()? } else { (false, Activation::None) };
        Ok(Op::Conv2d(Conv { depthwise, strides: a.spatial("strides")?, padding: a.padding()?, bias, activation }))
    };
    let matmul = |fused: bool| -> Result<Op, LoadError> {
        let (bias, activation) = if fused { a.fused()? } else { (false, Activation::None) };
        Ok(Op::MatMul { transpose_a: a.bool("transpose_a"), transpose_b: a.bool("transpose_b"), bias, activation })
    };
    Ok(match node.op.as_str() {
        "Placeholder" => Op::Placeholder {
            shape: a
                .get("shape")
                .and_then(|v| v.shape.as_ref())
                .map(|s| s.dim.iter().map(|d| d.size.0).collect())
                .unwrap_or_default(),
        },
        "Const" => Op::Const,
        "Identity" => Op::Identity,
        "Conv2D" => conv(false, false)?,
        "_FusedConv2D" => conv(false, true)?,
        "DepthwiseConv2dNative" => conv(true, false)?,
        "FusedDepthwiseConv2dNative" => conv(true, true)?,
        "MatMul" => matmul(false)?,
        "_FusedMatMul" => matmul(true)?,
        "MaxPool" => {
            a.nhwc()?;
            Op::MaxPool { kernel: a.spatial("ksize")?, strides: a.spatial("strides")?, padding: a.padding()? }
        }
        "AvgPool" => {
            a.nhwc()?;
            Op::AvgPool { kernel: a.spatial("ksize")?, strides: a.spatial("strides")?, padding: a.padding()? }
        }
        "Add" | "AddV2" => Op::Binary(BinaryOp::Add),
        "Sub" => Op::Binary(BinaryOp::Sub),
        "Mul" => Op::Binary(BinaryOp::Mul),
        "Maximum" => Op::Binary(BinaryOp::Maximum),
        "Minimum" => Op::Binary(BinaryOp::Minimum),
        "Abs" => Op::Unary(UnaryOp::Abs),
        "Relu" => Op::Unary(UnaryOp::Relu),
        "Rsqrt" => Op::Unary(UnaryOp::Rsqrt),
        "Sigmoid" => Op::Unary(UnaryOp::Sigmoid),
        "Square" => Op::Unary(UnaryOp::Square),
        "Softmax" => Op::Softmax,
        "Prelu" => Op::Prelu,
        "Mean" => Op::Reduce { kind: ReduceKind::Mean, keep_dims: a.bool("keep_dims") },
        "Sum" => Op::Reduce { kind: ReduceKind::Sum, keep_dims: a.bool("keep_dims") },
        "Pad" => Op::Pad,
        "Reshape" => Op::Reshape,
        "Squeeze" => Op::Squeeze { dims: a.ints("squeeze_dims") },
        "ConcatV2" => Op::Concat,
        other => {
            return Err(LoadError::UnsupportedOp { node: node.name.clone(), op: other.to_owned() });
        }
    })
}

fn check_arity(node: &RawNode, op: &Op, got: usize) -> Result<(), LoadError> {
    let expected: &[usize] = match op {
        Op::Placeholder { .. } | Op::Const => &[0],
        Op::Identity | Op::Unary(_) | Op::Softmax | Op::Squeeze { .. } | Op::MaxPool { .. } | Op::AvgPool { .. } => {
            &[1]
        }
        Op::Binary(_) | Op::Prelu | Op::Reduce { .. } | Op::Pad | Op::Reshape => &[2],
        // At least one tensor, then the axis.
        Op::Concat if got >= 2 => return Ok(()),
        Op::Concat => &[2],
        Op::Conv2d(Conv { bias, activation, .. }) | Op::MatMul { bias, activation, .. } => match (bias, activation) {
            (false, _) => &[2],
            (true, Activation::Prelu) => &[4],
            (true, _) => &[3],
        },
    };
    if expected.contains(&got) {
        Ok(())
    } else {
        Err(LoadError::Arity {
            node: node.name.clone(),
            op: node.op.clone(),
            got,
            expected: expected.iter().map(usize::to_string).collect::<Vec<_>>().join(" or "),
        })
    }
}

/// Standard base64 (protobuf-JSON's encoding of `bytes`), decoded to UTF-8 text.
fn base64(encoded: &str) -> Option<String> {
    let mut bits = 0u32;
    let mut count = 0;
    let mut out = Vec::with_capacity(encoded.len() * 3 / 4);
    for c in encoded.bytes().filter(|&c| c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        bits = (bits << 6) | v as u32;
        count += 6;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Names of the graph's sinks: nodes nobody reads, in graph order (the fallback when a model
/// declares no output signature).
pub(crate) fn sinks(graph: &Graph) -> Vec<String> {
    let mut read = vec![false; graph.nodes.len()];
    for node in &graph.nodes {
        for port in &node.inputs {
            read[port.node] = true;
        }
    }
    graph
        .nodes
        .iter()
        .zip(read)
        .filter(|(node, read)| !read && !matches!(node.op, Op::Const | Op::Placeholder { .. }))
        .map(|(node, _)| node.name.clone())
        .collect()
}

/// Counts of each op, for reports.
pub fn op_histogram(graph: &Graph) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for node in &graph.nodes {
        let name = match &node.op {
            Op::Conv2d(c) if c.depthwise => "DepthwiseConv2d".to_owned(),
            Op::Binary(b) => format!("{b:?}"),
            Op::Unary(u) => format!("{u:?}"),
            Op::Reduce { kind, .. } => format!("{kind:?}"),
            other => format!("{other:?}").split([' ', '(', '{']).next().unwrap_or_default().to_owned(),
        };
        *counts.entry(name).or_default() += 1;
    }
    counts
}
