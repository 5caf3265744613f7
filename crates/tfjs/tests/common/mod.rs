//! Helpers shared by the integration tests: a tiny model written by hand, and the real models.
#![allow(dead_code, unused_imports)] // each test file uses a different subset

use facecloak_tfjs::{LoadError, Model};
use serde_json::{Value, json};

pub fn b64(s: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = s.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | (b as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn const_node(name: &str, dtype: &str, shape: &[usize]) -> Value {
    let dims: Vec<Value> = shape.iter().map(|d| json!({ "size": d.to_string() })).collect();
    json!({ "name": name, "op": "Const", "attr": {
        "dtype": { "type": dtype },
        "value": { "tensor": { "dtype": dtype, "tensorShape": { "dim": dims } } } } })
}

/// input [1,4,4,2] → _FusedConv2D[BiasAdd,Relu] 3×3×2×3 (fp16 weights) → Mean over [1,2]
/// → Mul by a uint8-quantized scale, with the weights in two shard files.
pub fn tiny_model() -> (Value, Vec<Vec<u8>>) {
    let filter: Vec<f32> = (0..54).map(|i| (i as f32 - 27.0) / 16.0).collect();
    let bias = [0.5f32, -0.25, 1.0];
    let scale_q = [0u8, 128, 255]; // scale 0.01, min -1 → -1.0, 0.28, 1.55
    let axes = [1i32, 2];
    let mut bytes = Vec::new();
    for v in &filter {
        bytes.extend(half::f16::from_f32(*v).to_bits().to_le_bytes());
    }
    for v in &bias {
        bytes.extend(v.to_le_bytes());
    }
    bytes.extend(scale_q);
    for v in &axes {
        bytes.extend(v.to_le_bytes());
    }
    let split = bytes.len() / 2;
    let shards = vec![bytes[..split].to_vec(), bytes[split..].to_vec()];
    let model = json!({
        "format": "graph-model",
        "modelTopology": { "node": [
            // Out of order on purpose: the loader sorts.
            { "name": "scaled", "op": "Mul", "input": ["pooled", "scale"] },
            { "name": "input", "op": "Placeholder", "attr": {
                "dtype": { "type": "DT_FLOAT" },
                "shape": { "shape": { "dim": [{ "size": "-1" }, { "size": "4" }, { "size": "4" }, { "size": "2" }] } } } },
            const_node("filter", "DT_FLOAT", &[3, 3, 2, 3]),
            const_node("bias", "DT_FLOAT", &[3]),
            const_node("scale", "DT_FLOAT", &[3]),
            const_node("axes", "DT_INT32", &[2]),
            { "name": "conv", "op": "_FusedConv2D", "input": ["input", "filter", "bias", "^input"], "attr": {
                "strides": { "list": { "i": ["1", "2", "2", "1"] } },
                "padding": { "s": b64("SAME") },
                "data_format": { "s": b64("NHWC") },
                "dilations": { "list": { "i": ["1", "1", "1", "1"] } },
                "fused_ops": { "list": { "s": [b64("BiasAdd"), b64("Relu")] } },
                "num_args": { "i": "1" } } },
            { "name": "pooled", "op": "Mean", "input": ["conv", "axes"], "attr": { "keep_dims": { "b": false } } }
        ] },
        "weightsManifest": [{ "paths": ["tiny.bin", "tiny.2.bin"], "weights": [
            { "name": "filter", "shape": [3, 3, 2, 3], "dtype": "float32", "quantization": { "dtype": "float16", "original_dtype": "float32" } },
            { "name": "bias", "shape": [3], "dtype": "float32" },
            { "name": "scale", "shape": [3], "dtype": "float32", "quantization": { "dtype": "uint8", "scale": 0.01, "min": -1.0 } },
            { "name": "axes", "shape": [2], "dtype": "int32" }
        ] }],
        "signature": { "outputs": { "scaled:0": { "name": "scaled:0" } } }
    });
    (model, shards)
}

pub use facecloak_testdata::{human_models, load_model as load_file};

pub fn try_load_value(model: &Value, shards: &[Vec<u8>]) -> Result<Model, LoadError> {
    let bytes = serde_json::to_vec(model).unwrap();
    let shards: Vec<&[u8]> = shards.iter().map(Vec::as_slice).collect();
    Model::load(&bytes, &shards)
}

pub fn load_value(model: &Value, shards: &[Vec<u8>]) -> Model {
    try_load_value(model, shards).expect("loads")
}
