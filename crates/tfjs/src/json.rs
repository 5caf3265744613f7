//! The parts of TFJS's `model.json` we read, as serde types. Field names follow the file (a
//! TensorFlow `GraphDef` in protobuf-JSON form plus TFJS's `weightsManifest`); nothing here is
//! interpreted yet — that is `graph.rs`'s and `weights.rs`'s job.

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub(crate) struct ModelJson {
    #[serde(default)]
    pub format: Option<String>,
    #[serde(rename = "modelTopology")]
    pub topology: Topology,
    #[serde(rename = "weightsManifest", default)]
    pub weights_manifest: Vec<ManifestGroup>,
    #[serde(default)]
    pub signature: Option<Signature>,
    #[serde(rename = "userDefinedMetadata", default)]
    pub user_defined_metadata: Option<UserDefinedMetadata>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Topology {
    #[serde(default)]
    pub node: Vec<RawNode>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct UserDefinedMetadata {
    #[serde(default)]
    pub signature: Option<Signature>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Signature {
    #[serde(default)]
    pub outputs: BTreeMap<String, TensorInfo>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct TensorInfo {
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct RawNode {
    pub name: String,
    pub op: String,
    #[serde(default)]
    pub input: Vec<String>,
    #[serde(default)]
    pub attr: BTreeMap<String, AttrValue>,
}

/// A TensorFlow `AttrValue` in protobuf-JSON form: exactly one field is set.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct AttrValue {
    /// Strings are base64 in protobuf-JSON.
    pub s: Option<String>,
    pub i: Option<Int>,
    pub b: Option<bool>,
    pub list: Option<AttrList>,
    pub shape: Option<ShapeProto>,
    pub tensor: Option<TensorProto>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct AttrList {
    #[serde(default)]
    pub s: Vec<String>,
    #[serde(default)]
    pub i: Vec<Int>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ShapeProto {
    #[serde(default)]
    pub dim: Vec<Dim>,
    #[serde(rename = "unknownRank", default)]
    pub unknown_rank: bool,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct Dim {
    /// Omitted when 0 (protobuf-JSON drops defaults); -1 for unknown.
    #[serde(default)]
    pub size: Int,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct TensorProto {
    #[serde(default)]
    pub dtype: String,
    #[serde(rename = "tensorShape", default)]
    pub tensor_shape: ShapeProto,
}

/// protobuf-JSON writes int64 as a string ("1"); some converters write a number.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "IntRepr")]
pub(crate) struct Int(pub i64);

#[derive(Deserialize)]
#[serde(untagged)]
enum IntRepr {
    Number(i64),
    Text(String),
}

impl TryFrom<IntRepr> for Int {
    type Error = String;
    fn try_from(value: IntRepr) -> Result<Self, Self::Error> {
        match value {
            IntRepr::Number(n) => Ok(Int(n)),
            IntRepr::Text(s) => s.parse().map(Int).map_err(|_| format!("{s:?} is not an integer")),
        }
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct ManifestGroup {
    pub paths: Vec<String>,
    pub weights: Vec<ManifestWeight>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct ManifestWeight {
    pub name: String,
    pub shape: Vec<i64>,
    pub dtype: String,
    #[serde(default)]
    pub quantization: Option<Quantization>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Quantization {
    pub dtype: String,
    #[serde(default)]
    pub scale: Option<f32>,
    #[serde(default)]
    pub min: Option<f32>,
}
