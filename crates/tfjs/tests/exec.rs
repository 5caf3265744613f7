//! Running models: the hand-written tiny model against a direct f64 reference (TF's asymmetric
//! SAME padding, fused bias + ReLU, Mean without keep-dims, broadcast Mul), its input gradient
//! against finite differences, and every real face model end to end with a gradient.

mod common;

use burn::tensor::{Device, Distribution, Tensor, TensorData};
use common::{human_models, load_file, load_value, tiny_model};
use facecloak_device::{Backend, CpuBackend};
use facecloak_tfjs::{ExecError, Executor, HostData};

fn cpu() -> Device {
    Backend::cpu(CpuBackend::Flex).device().clone()
}

/// input [1,4,4,2] NHWC, a smooth ramp away from ReLU's kink.
fn tiny_input() -> Vec<f32> {
    (0..32).map(|i| ((i * 7) % 32) as f32 / 8.0 - 1.5).collect()
}

/// The tiny model computed directly in f64: conv 3×3 stride 2 SAME (pad top/left 0,
/// bottom/right 1), + bias, ReLU, mean over H and W, × scale.
fn tiny_reference(x: &[f64]) -> Vec<f64> {
    let (json, shards) = tiny_model();
    let model = load_value(&json, &shards);
    let get = |name: &str| match &model.constants[&model.graph.find(name).unwrap()].data {
        HostData::F32(v) => v.iter().map(|&x| x as f64).collect::<Vec<f64>>(),
        HostData::I32(_) => unreachable!(),
    };
    let (filter, bias, scale) = (get("filter"), get("bias"), get("scale"));
    let mut out = [0.0; 3];
    for oy in 0..2 {
        for ox in 0..2 {
            for o in 0..3 {
                let mut acc = bias[o];
                for ky in 0..3 {
                    for kx in 0..3 {
                        let (iy, ix) = (oy * 2 + ky, ox * 2 + kx); // pad begin = 0
                        if iy < 4 && ix < 4 {
                            for c in 0..2 {
                                acc += x[(iy * 4 + ix) * 2 + c] * filter[((ky * 3 + kx) * 2 + c) * 3 + o];
                            }
                        }
                    }
                }
                out[o] += acc.max(0.0) / 4.0;
            }
        }
    }
    out.iter().zip(&scale).map(|(m, s)| m * s).collect()
}

#[test]
fn the_tiny_model_matches_a_direct_f64_computation() {
    let (json, shards) = tiny_model();
    let executor = Executor::new(load_value(&json, &shards), &cpu()).unwrap();
    let x = tiny_input();
    let input = Tensor::<4>::from_data(TensorData::new(x.clone(), [1, 4, 4, 2]), executor.device());
    let outputs = executor.run(&[("input", input)]).unwrap();
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0].name, "scaled");
    assert_eq!(outputs[0].shape, [1, 3]);
    let got = outputs[0].clone().into_rank::<2>().unwrap().into_data();
    let got = got.as_slice::<f32>().unwrap();
    let want = tiny_reference(&x.iter().map(|&v| v as f64).collect::<Vec<_>>());
    for (g, w) in got.iter().zip(&want) {
        assert!((*g as f64 - w).abs() <= 1e-5 * w.abs().max(1.0), "got {got:?}, want {want:?}");
    }
}

#[test]
fn the_input_gradient_matches_finite_differences() {
    let (json, shards) = tiny_model();
    let device = cpu().autodiff();
    let executor = Executor::new(load_value(&json, &shards), &device).unwrap();
    let x = tiny_input();
    let input = Tensor::<4>::from_data(TensorData::new(x.clone(), [1, 4, 4, 2]), &device).require_grad();
    let out = executor.run(&[("input", input.clone())]).unwrap().remove(0).into_rank::<2>().unwrap();
    // A scalar with different weights per output, so that a swapped channel would show.
    let weights = Tensor::<2>::from_data(TensorData::new(vec![1.0f32, -2.0, 0.5], [1, 3]), &device);
    let grads = (out * weights).sum().backward();
    let analytic = input.grad(&grads).unwrap().into_data();
    let analytic = analytic.as_slice::<f32>().unwrap();

    let loss = |x: &[f64]| {
        let y = tiny_reference(x);
        y[0] - 2.0 * y[1] + 0.5 * y[2]
    };
    let x64: Vec<f64> = x.iter().map(|&v| v as f64).collect();
    let h = 1e-5;
    for i in 0..x64.len() {
        let (mut plus, mut minus) = (x64.clone(), x64.clone());
        plus[i] += h;
        minus[i] -= h;
        let numeric = (loss(&plus) - loss(&minus)) / (2.0 * h);
        assert!(
            (analytic[i] as f64 - numeric).abs() <= 1e-4 * numeric.abs().max(0.1),
            "d/dx[{i}]: autodiff {}, finite difference {numeric}",
            analytic[i]
        );
    }
}

#[test]
fn wrong_inputs_are_typed_errors() {
    let (json, shards) = tiny_model();
    let executor = Executor::new(load_value(&json, &shards), &cpu()).unwrap();
    let wrong = Tensor::<4>::zeros([1, 5, 4, 2], executor.device());
    assert!(matches!(executor.run(&[("input", wrong)]), Err(ExecError::Input { .. })));
    let right = Tensor::<4>::zeros([1, 4, 4, 2], executor.device());
    assert!(matches!(executor.run(&[("nope", right)]), Err(ExecError::Input { .. })));
    assert!(matches!(executor.run(&[]), Err(ExecError::Input { .. })));
}

/// Each real model runs at its input size with pixel values in its range, produces outputs of
/// the documented shapes with finite values, and passes a finite, non-zero gradient back to the
/// image. (Numerical parity with tfjs is checked against golden files.)
#[test]
fn every_face_model_runs_forward_and_backward() {
    let Some(dir) = human_models() else { return };
    let device = cpu().autodiff();
    /// (model, input, side, pixel range, expected outputs with shapes)
    type Case<'a> = (&'a str, &'a str, usize, f64, &'a [(&'a str, &'a [usize])]);
    let cases: [Case; 5] = [
        (
            "faceres",
            "input_1",
            224,
            255.0,
            &[("global_pooling/Mean", &[1, 1024]), ("age_pred/Softmax", &[1, 100]), ("gender_pred/Sigmoid", &[1, 1])],
        ),
        ("mobileface", "data", 112, 255.0, &[("batchnorm0/add_1", &[1, 256])]),
        (
            "blazeface",
            "input",
            256,
            1.0,
            &[
                ("Identity", &[1, 512, 1]),
                ("Identity_2", &[1, 512, 16]),
                ("Identity_1", &[1, 384, 1]),
                ("Identity_3", &[1, 384, 16]),
            ],
        ),
        ("blazeface-front", "input", 128, 1.0, &[("Identity", &[1, 512, 1])]),
        (
            "facemesh",
            "input_1",
            192,
            1.0,
            &[("output_mesh", &[1, 1404]), ("output_faceflag", &[1, 1]), ("output_contours", &[1, 266])],
        ),
    ];
    for (name, input_name, size, range, expected) in cases {
        let executor = Executor::new(load_file(&dir, name), &device).unwrap();
        let x = Tensor::<4>::random([1, size, size, 3], Distribution::Uniform(0.0, range), &device).require_grad();
        let outputs = executor.run(&[(input_name, x.clone())]).unwrap_or_else(|e| panic!("{name}: {e}"));
        for (out_name, shape) in expected {
            let out = outputs
                .iter()
                .find(|o| o.name == *out_name)
                .unwrap_or_else(|| panic!("{name} has no output {out_name}"));
            assert_eq!(&out.shape[..], *shape, "{name}/{out_name}");
            let data = out.tensor.clone().into_data();
            assert!(data.as_slice::<f32>().unwrap().iter().all(|v| v.is_finite()), "{name}/{out_name} is finite");
        }
        let first = outputs[0].tensor.clone();
        let grads = first.square().sum().backward();
        let g = x.grad(&grads).unwrap().into_data();
        let g = g.as_slice::<f32>().unwrap();
        assert!(
            g.iter().all(|v| v.is_finite()) && g.iter().any(|&v| v != 0.0),
            "{name}: gradient is finite and non-zero"
        );
    }
}

/// The recognizers on wgpu pinned to Vulkan (lavapipe in CI) agree with the CPU, forward
/// (embedding within 1e-3 relative) and backward (input-gradient cosine > 0.999).
#[test]
fn recognizers_on_vulkan_match_the_cpu_forward_and_backward() {
    let Some(dir) = human_models() else { return };
    let vulkan = Backend::vulkan().unwrap_or_else(|e| panic!("{e} (apt-get install -y mesa-vulkan-drivers)"));
    for (name, input, size, output) in
        [("mobileface", "data", 112, "batchnorm0/add_1"), ("faceres", "input_1", 224, "global_pooling/Mean")]
    {
        let run = |device: &Device| {
            let device = device.clone().autodiff();
            let executor = Executor::new(load_file(&dir, name), &device).unwrap();
            let data: Vec<f32> = (0..size * size * 3).map(|i| ((i * 37) % 256) as f32).collect();
            let x = Tensor::<4>::from_data(TensorData::new(data, [1, size, size, 3]), &device).require_grad();
            let outputs = executor.run(&[(input, x.clone())]).unwrap();
            let y = outputs.into_iter().find(|o| o.name == output).unwrap().into_rank::<2>().unwrap();
            let embedding = y.clone().into_data().as_slice::<f32>().unwrap().to_vec();
            let grads = y.square().sum().backward();
            let gradient = x.grad(&grads).unwrap().into_data().as_slice::<f32>().unwrap().to_vec();
            (embedding, gradient)
        };
        let (gpu_y, gpu_g) = run(vulkan.device());
        let (cpu_y, cpu_g) = run(&cpu());
        let scale = cpu_y.iter().fold(0f32, |m, v| m.max(v.abs()));
        let worst = gpu_y.iter().zip(&cpu_y).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(worst / scale < 1e-3, "{name}: embedding differs by {:.2e} (relative)", worst / scale);
        let dot: f64 = gpu_g.iter().zip(&cpu_g).map(|(a, b)| *a as f64 * *b as f64).sum();
        let norm = |v: &[f32]| v.iter().map(|a| (*a as f64).powi(2)).sum::<f64>().sqrt();
        let cosine = dot / (norm(&gpu_g) * norm(&cpu_g));
        assert!(cosine > 0.999, "{name}: gradient cosine {cosine}");
        println!(
            "{name} on {}: embedding error {:.1e}, gradient cosine {cosine:.6}",
            vulkan.info().adapter,
            worst / scale
        );
    }
}

/// `ConcatV2` in each layout the executor keeps: two plain tensors along a negative axis, a
/// pooled (NCHW) image with a plain one along channels, two pooled images along height — each
/// against the values joined by hand; inputs that do not fit are a typed error.
#[test]
fn concat_joins_in_every_layout() {
    use common::const_node;
    use serde_json::json;
    // In manifest order: the axis -1, the flat shape [-1, 12], the axes 3 and 1.
    let ints = [-1i32, -1, 12, 3, 1];
    let bytes: Vec<u8> = ints.iter().flat_map(|v| v.to_le_bytes()).collect();
    let pool = json!({ "ksize": { "list": { "i": ["1", "1", "1", "1"] } }, "strides": { "list": { "i": ["1", "1", "1", "1"] } },
        "padding": { "s": common::b64("VALID") }, "data_format": { "s": common::b64("NHWC") } });
    let model = json!({
        "format": "graph-model",
        "modelTopology": { "node": [
            { "name": "input", "op": "Placeholder", "attr": { "dtype": { "type": "DT_FLOAT" },
                "shape": { "shape": { "dim": [{ "size": "1" }, { "size": "2" }, { "size": "2" }, { "size": "3" }] } } } },
            const_node("minus_one", "DT_INT32", &[]),
            const_node("flat_shape", "DT_INT32", &[2]),
            const_node("channels", "DT_INT32", &[]),
            const_node("height", "DT_INT32", &[]),
            { "name": "flat", "op": "Reshape", "input": ["input", "flat_shape"] },
            { "name": "pooled", "op": "MaxPool", "input": ["input"], "attr": pool },
            { "name": "rows", "op": "ConcatV2", "input": ["flat", "flat", "minus_one"] },
            { "name": "mixed", "op": "ConcatV2", "input": ["pooled", "input", "channels"] },
            { "name": "tall", "op": "ConcatV2", "input": ["pooled", "pooled", "height"] },
            { "name": "misfit", "op": "ConcatV2", "input": ["flat", "input", "minus_one"] }
        ] },
        "weightsManifest": [{ "paths": ["c.bin"], "weights": [
            { "name": "minus_one", "shape": [], "dtype": "int32" },
            { "name": "flat_shape", "shape": [2], "dtype": "int32" },
            { "name": "channels", "shape": [], "dtype": "int32" },
            { "name": "height", "shape": [], "dtype": "int32" }
        ] }],
        "signature": { "outputs": { "rows:0": { "name": "rows:0" }, "mixed:0": { "name": "mixed:0" }, "tall:0": { "name": "tall:0" } } }
    });
    let executor = Executor::new(load_value(&model, &[bytes]), &cpu()).unwrap();
    let x: Vec<f32> = (0..12).map(|i| i as f32).collect();
    let input = Tensor::<4>::from_data(TensorData::new(x.clone(), [1, 2, 2, 3]), executor.device());
    let outputs = executor.run(&[("input", input)]).unwrap();
    let get = |name: &str| {
        let o = outputs.iter().find(|o| o.name.starts_with(name)).unwrap();
        // Outputs come back in NHWC / row-major order.
        (o.shape.clone(), o.tensor.clone().into_data().convert::<f32>().try_to_vec::<f32>().unwrap())
    };
    let twice: Vec<f32> = x.iter().chain(&x).copied().collect();
    assert_eq!(get("rows"), (vec![1, 24], twice.clone()));
    let per_pixel: Vec<f32> = x.chunks(3).flat_map(|p| p.iter().chain(p).copied().collect::<Vec<_>>()).collect();
    assert_eq!(get("mixed"), (vec![1, 2, 2, 6], per_pixel));
    assert_eq!(get("tall"), (vec![1, 4, 2, 3], twice));

    let misfit = json!({ "format": "graph-model", "modelTopology": model["modelTopology"], "weightsManifest": model["weightsManifest"],
        "signature": { "outputs": { "misfit:0": { "name": "misfit:0" } } } });
    let executor =
        Executor::new(load_value(&misfit, &[ints.iter().flat_map(|v| v.to_le_bytes()).collect()]), &cpu()).unwrap();
    let input = Tensor::<4>::from_data(TensorData::new(x, [1, 2, 2, 3]), executor.device());
    assert!(matches!(executor.run(&[("input", input)]), Err(ExecError::Node { .. })), "a misfit is a typed error");
}
