//! Constants that facecloak adds to a graph it writes or repairs (a mean, a scale, paddings):
//! `Const` nodes with their weights-manifest entries, and the bytes of the extra shard that
//! holds them, so that [`crate::Model::load`] reads them like any other weight.

use serde_json::{Value, json};

/// The constants written so far.
pub(crate) struct Constants {
    /// The extra shard's file name in the manifest (it is never read from disk).
    shard: &'static str,
    /// Manifest entries, in shard order.
    entries: Vec<Value>,
    /// The shard's bytes.
    pub(crate) bytes: Vec<u8>,
}

impl Constants {
    pub(crate) fn new(shard: &'static str) -> Constants {
        Constants { shard, entries: Vec::new(), bytes: Vec::new() }
    }

    /// A `Const` node named `name` holding f32 `values` (shape `[values.len()]`).
    pub(crate) fn floats(&mut self, name: &str, values: &[f32]) -> Value {
        self.entries.push(json!({ "name": name, "shape": [values.len()], "dtype": "float32" }));
        self.bytes.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        const_node(name, "DT_FLOAT", &[values.len() as u64])
    }

    /// A `Const` node named `name` holding i32 `values` in `shape`.
    pub(crate) fn ints(&mut self, name: &str, values: &[i32], shape: &[u64]) -> Value {
        self.entries.push(json!({ "name": name, "shape": shape, "dtype": "int32" }));
        self.bytes.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        const_node(name, "DT_INT32", shape)
    }

    /// The weight group to append to the model's manifest.
    pub(crate) fn manifest_group(&self) -> Value {
        json!({ "paths": [self.shard], "weights": self.entries })
    }
}

/// A `Const` node declaring `dtype` and `shape` (its values come from the manifest).
pub(crate) fn const_node(name: &str, dtype: &str, shape: &[u64]) -> Value {
    let dims: Vec<Value> = shape.iter().map(|d| json!({ "size": d.to_string() })).collect();
    json!({ "name": name, "op": "Const", "attr": {
        "dtype": { "type": dtype },
        "value": { "tensor": { "dtype": dtype, "tensorShape": { "dim": dims } } } } })
}
