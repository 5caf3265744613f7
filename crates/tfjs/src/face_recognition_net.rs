//! face-api.js's `FaceRecognitionNet`, written out as a TFJS graph.
//!
//! The network (dlib's ResNet-29 face descriptor, ported to TensorFlow.js by face-api.js) ships
//! in the npm package `@vladmandic/face-api` (MIT) as a *layers weights manifest* — weights
//! without a graph: the architecture lives in the package's JavaScript
//! (`src/faceRecognitionNet/*.ts`). Here it is rebuilt as the graph those functions trace, so
//! that [`Model::load`] validates, folds and fuses it like any graph model and the
//! [`crate::Executor`] runs it, with gradients, on every backend:
//!
//! - input `input` [N, 150, 150, 3], RGB 0–255; `(x − mean RGB) / 255` with face-api's mean
//!   (122.782, 117.001, 104.298);
//! - a "conv layer" is `conv2d` → `+ conv/bias` → `· scale/weights + scale/biases` [→ ReLU]
//!   (the fusing pass folds all of it into one convolution);
//! - stem: 7×7 stride 2 `VALID` conv + ReLU, 3×3 stride 2 `VALID` max pool (150 → 72 → 35);
//! - residual block: conv 3×3 + ReLU, conv 3×3, + input, ReLU;
//! - down block: conv 3×3 stride 2 **`VALID`** + ReLU, conv 3×3; the shortcut is a 2×2 stride
//!   2 average pool with zero channels appended when the width doubles; where the main path
//!   came out a pixel smaller than the shortcut (8 → 3 against 4, and 4 → 1 against 2) a zero
//!   row and column are appended at its bottom and right; + shortcut, ReLU;
//! - 32 ×3, 64 down + ×3, 128 down + ×2, 256 down + ×2, 256 down; mean over H and W; `· fc`
//!   (no bias): the 128-d descriptor, not normalised (face-api compares Euclidean distances,
//!   0.6 being its same-person threshold).

use serde_json::{Value, json};

use crate::written::{Constants, const_node};
use crate::{LoadError, Model};

/// The recognizer's name across facecloak (surrogates, thresholds, model loading).
pub const NAME: &str = "face-recognition-net";
/// The weights manifest's file name in `@vladmandic/face-api`'s `model/`.
pub const MANIFEST: &str = "face_recognition_model-weights_manifest.json";

/// The input's side (face-api's `toBatchTensor(150)`).
pub const SIDE: usize = 150;
/// The descriptor's output name.
pub const OUTPUT: &str = "descriptor";
/// Descriptor length.
pub const DIMENSIONS: usize = 128;

/// face-api.js's per-channel mean, in 0–255 RGB (`FaceRecognitionNet.ts`).
const MEAN_RGB: [f32; 3] = [122.782, 117.001, 104.298];

/// The blocks after the stem: weight prefix, and for down blocks the zero channels appended to
/// the shortcut and whether the main path needs its zero row and column (shapes for a 150²
/// input, as face-api.js computes them at run time).
const BLOCKS: [(&str, Block); 15] = [
    ("conv32_1", Block::Residual),
    ("conv32_2", Block::Residual),
    ("conv32_3", Block::Residual),
    ("conv64_down", Block::Down { extra_channels: 32, grow: false }),
    ("conv64_1", Block::Residual),
    ("conv64_2", Block::Residual),
    ("conv64_3", Block::Residual),
    ("conv128_down", Block::Down { extra_channels: 64, grow: false }),
    ("conv128_1", Block::Residual),
    ("conv128_2", Block::Residual),
    ("conv256_down", Block::Down { extra_channels: 128, grow: true }),
    ("conv256_1", Block::Residual),
    ("conv256_2", Block::Residual),
    ("conv256_down_out", Block::Down { extra_channels: 0, grow: true }),
    ("", Block::Head),
];

#[derive(Clone, Copy)]
enum Block {
    Residual,
    Down { extra_channels: i32, grow: bool },
    Head,
}

// TFJS graph attributes are base64 strings.
const VALID: &str = "VkFMSUQ="; // "VALID"
const SAME: &str = "U0FNRQ=="; // "SAME"
const NHWC: &str = "TkhXQw=="; // "NHWC"

/// The name of the shard this module adds for its own constants (mean, paddings, axes).
const CONSTANTS_SHARD: &str = "facecloak-face-recognition-net-constants";

/// Loads FaceRecognitionNet from its weights manifest (`face_recognition_model-weights_manifest.json`,
/// a JSON array of weight groups) and the shards it names, in order.
pub fn load(manifest: &[u8], shards: &[&[u8]]) -> Result<Model, LoadError> {
    let groups: Value = serde_json::from_slice(manifest).map_err(|e| LoadError::Json {
        message: e.to_string(),
        line: e.line(),
        column: e.column(),
    })?;
    let Value::Array(mut groups) = groups else {
        return Err(LoadError::Json {
            message: "a weights manifest is a JSON array of weight groups".into(),
            line: 1,
            column: 1,
        });
    };
    let shapes: Vec<(String, Vec<u64>)> = groups
        .iter()
        .flat_map(|g| g["weights"].as_array().cloned().unwrap_or_default())
        .filter_map(|w| {
            let name = w["name"].as_str()?.to_owned();
            let shape = w["shape"].as_array()?.iter().filter_map(Value::as_u64).collect();
            Some((name, shape))
        })
        .collect();
    let mut graph = Builder { nodes: Vec::new(), shapes, extra: Constants::new(CONSTANTS_SHARD) };
    let output = graph.network();
    groups.push(graph.extra.manifest_group());
    let model = json!({
        "format": "graph-model",
        "generatedBy": "facecloak-tfjs face_recognition_net.rs, after face-api.js's FaceRecognitionNet",
        "modelTopology": { "node": graph.nodes },
        "weightsManifest": groups,
        "signature": { "outputs": { format!("{output}:0"): { "name": format!("{output}:0") } } },
    });
    let bytes =
        serde_json::to_vec(&model).map_err(|e| LoadError::Json { message: e.to_string(), line: 0, column: 0 })?;
    let mut all: Vec<&[u8]> = shards.to_vec();
    all.push(&graph.extra.bytes);
    Model::load(&bytes, &all)
}

/// The paths of the shards a weights manifest names, in order.
pub fn shard_paths(manifest: &[u8]) -> Result<Vec<String>, LoadError> {
    let groups: Value = serde_json::from_slice(manifest).map_err(|e| LoadError::Json {
        message: e.to_string(),
        line: e.line(),
        column: e.column(),
    })?;
    Ok(groups
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|g| g["paths"].as_array().cloned().unwrap_or_default())
        .filter_map(|p| p.as_str().map(str::to_owned))
        .collect())
}

struct Builder {
    nodes: Vec<Value>,
    /// The manifest's weights and their shapes.
    shapes: Vec<(String, Vec<u64>)>,
    /// This module's own constants.
    extra: Constants,
}

impl Builder {
    fn network(&mut self) -> String {
        self.nodes.push(json!({ "name": "input", "op": "Placeholder", "attr": {
            "dtype": { "type": "DT_FLOAT" },
            "shape": { "shape": { "dim": [{ "size": "-1" }, { "size": SIDE.to_string() }, { "size": SIDE.to_string() }, { "size": "3" }] } } } }));
        let mean = self.floats("frnet/mean_rgb", &MEAN_RGB);
        let inv = self.floats("frnet/one_over_255", &[1.0 / 255.0]);
        let centred = self.op("frnet/centred", "Sub", &["input", &mean]);
        let x = self.op("frnet/normalised", "Mul", &[&centred, &inv]);
        let x = self.conv_layer(&x, "conv32_down", 2, VALID, true);
        let mut x = self.pool("conv32_down/max_pool", "MaxPool", &x, 3, 2);
        for (prefix, block) in BLOCKS {
            x = match block {
                Block::Residual => {
                    let a = self.conv_layer(&x, &format!("{prefix}/conv1"), 1, SAME, true);
                    let b = self.conv_layer(&a, &format!("{prefix}/conv2"), 1, SAME, false);
                    let sum = self.op(&format!("{prefix}/add"), "AddV2", &[&b, &x]);
                    self.op(&format!("{prefix}/relu"), "Relu", &[&sum])
                }
                Block::Down { extra_channels, grow } => {
                    let a = self.conv_layer(&x, &format!("{prefix}/conv1"), 2, VALID, true);
                    let mut b = self.conv_layer(&a, &format!("{prefix}/conv2"), 1, SAME, false);
                    if grow {
                        let pads = self.ints(&format!("{prefix}/grow_paddings"), &[0, 0, 0, 1, 0, 1, 0, 0], &[4, 2]);
                        b = self.op(&format!("{prefix}/grow"), "Pad", &[&b, &pads]);
                    }
                    let mut shortcut = self.pool(&format!("{prefix}/avg_pool"), "AvgPool", &x, 2, 2);
                    if extra_channels > 0 {
                        let pads = self.ints(
                            &format!("{prefix}/channel_paddings"),
                            &[0, 0, 0, 0, 0, 0, 0, extra_channels],
                            &[4, 2],
                        );
                        shortcut = self.op(&format!("{prefix}/widen"), "Pad", &[&shortcut, &pads]);
                    }
                    let sum = self.op(&format!("{prefix}/add"), "AddV2", &[&b, &shortcut]);
                    self.op(&format!("{prefix}/relu"), "Relu", &[&sum])
                }
                Block::Head => {
                    let axes = self.ints("frnet/spatial_axes", &[1, 2], &[2]);
                    let pooled = self.node(json!({ "name": "frnet/global_mean", "op": "Mean", "input": [x, axes],
                        "attr": { "keep_dims": { "b": false } } }));
                    let fc = self.weight("fc");
                    self.node(json!({ "name": OUTPUT, "op": "MatMul", "input": [pooled, fc],
                        "attr": { "transpose_a": { "b": false }, "transpose_b": { "b": false } } }))
                }
            };
        }
        x
    }

    /// face-api's `convLayer`: conv, + bias, · scale + shift, optional ReLU.
    fn conv_layer(&mut self, x: &str, prefix: &str, stride: usize, padding: &str, relu: bool) -> String {
        let filters = self.weight(&format!("{prefix}/conv/filters"));
        let s = stride.to_string();
        let conv =
            self.node(json!({ "name": format!("{prefix}/conv2d"), "op": "Conv2D", "input": [x, filters], "attr": {
            "strides": { "list": { "i": ["1", s, s, "1"] } }, "padding": { "s": padding },
            "data_format": { "s": NHWC }, "dilations": { "list": { "i": ["1", "1", "1", "1"] } } } }));
        let bias = self.weight(&format!("{prefix}/conv/bias"));
        let biased = self.op(&format!("{prefix}/bias_add"), "AddV2", &[&conv, &bias]);
        let weights = self.weight(&format!("{prefix}/scale/weights"));
        let scaled = self.op(&format!("{prefix}/scale_mul"), "Mul", &[&biased, &weights]);
        let biases = self.weight(&format!("{prefix}/scale/biases"));
        let out = self.op(&format!("{prefix}/scale_add"), "AddV2", &[&scaled, &biases]);
        if relu { self.op(&format!("{prefix}/relu"), "Relu", &[&out]) } else { out }
    }

    fn pool(&mut self, name: &str, op: &str, x: &str, k: usize, stride: usize) -> String {
        let (k, s) = (k.to_string(), stride.to_string());
        self.node(json!({ "name": name, "op": op, "input": [x], "attr": {
            "ksize": { "list": { "i": ["1", k, k, "1"] } }, "strides": { "list": { "i": ["1", s, s, "1"] } },
            "padding": { "s": VALID }, "data_format": { "s": NHWC } } }))
    }

    fn op(&mut self, name: &str, op: &str, inputs: &[&str]) -> String {
        self.node(json!({ "name": name, "op": op, "input": inputs }))
    }

    fn node(&mut self, node: Value) -> String {
        let name = node["name"].as_str().unwrap_or_default().to_owned();
        self.nodes.push(node);
        name
    }

    /// A `Const` node for the manifest's weight `name` (its shape as the manifest gives it; a
    /// weight the manifest lacks is the loader's `MissingWeight`).
    fn weight(&mut self, name: &str) -> String {
        let shape = self.shapes.iter().find(|(n, _)| n == name).map(|(_, s)| s.clone()).unwrap_or_default();
        self.node(const_node(name, "DT_FLOAT", &shape))
    }

    fn floats(&mut self, name: &str, values: &[f32]) -> String {
        let node = self.extra.floats(name, values);
        self.node(node)
    }

    fn ints(&mut self, name: &str, values: &[i32], shape: &[u64]) -> String {
        let node = self.extra.ints(name, values, shape);
        self.node(node)
    }
}
