//! The core, through the very bindings the web worker uses, in headless Chromium: on WebGPU
//! (SwiftShader, with `--enable-unsafe-webgpu` from `webdriver.json`) and on the CPU fallback.
//! Run by `scripts/test` as `cargo test -p facecloak-wasm --target wasm32-unknown-unknown`.

#![cfg(target_family = "wasm")]

use facecloak_wasm::Engine;
use js_sys::{Array, Function, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

// Where the app runs it: a dedicated worker, not the page.
wasm_bindgen_test_configure!(run_in_dedicated_worker);

fn field(object: &JsValue, name: &str) -> JsValue {
    Reflect::get(object, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

fn number(object: &JsValue, name: &str) -> f64 {
    field(object, name).as_f64().unwrap_or(f64::NAN)
}

async fn self_check(engine: &Engine, size: u32) -> (JsValue, Vec<String>) {
    let phases = Array::new();
    let record = Function::new_with_args("phases", "return (p) => phases.push(p.phase)")
        .call1(&JsValue::NULL, &phases)
        .unwrap()
        .unchecked_into::<Function>();
    let report = JsFuture::from(engine.self_check(size, Some(record))).await.expect("self-check resolves");
    let phases = phases.iter().filter_map(|p| p.as_string()).collect();
    (report, phases)
}

fn assert_passed(report: &JsValue) {
    let (forward, gradient) = (number(report, "forward_error"), number(report, "gradient_error"));
    assert!(field(report, "passed").as_bool() == Some(true), "forward error {forward:e}, gradient error {gradient:e}");
}

#[wasm_bindgen_test]
async fn webgpu_engine_computes_conv_and_its_gradient() {
    let adapter = gpu_adapter_description().await;
    let engine = Engine::start_webgpu(adapter.clone())
        .await
        .unwrap_or_else(|_| panic!("WebGPU did not start (adapter: {adapter})"));
    let backend = engine.backend().ok().unwrap();
    assert_eq!(field(&backend, "kind").as_string().as_deref(), Some("gpu"));
    assert_eq!(field(&backend, "name").as_string().as_deref(), Some("wgpu/webgpu"));

    let (report, phases) = self_check(&engine, 48).await;
    assert_passed(&report);
    assert_eq!(phases, ["upload", "forward", "backward", "compare"]);
}

#[wasm_bindgen_test]
async fn cpu_engine_computes_conv_and_its_gradient_and_says_why_it_is_used() {
    let engine = Engine::start_cpu(Some("test asked for the CPU".into()));
    let backend = engine.backend().ok().unwrap();
    assert_eq!(field(&backend, "kind").as_string().as_deref(), Some("cpu"));
    assert_eq!(field(&backend, "fallback_reason").as_string().as_deref(), Some("test asked for the CPU"));
    let (report, _) = self_check(&engine, 48).await;
    assert_passed(&report);
}

#[wasm_bindgen_test]
async fn a_bad_size_rejects_with_a_message_instead_of_killing_the_worker() {
    let engine = Engine::start_cpu(None);
    let error = JsFuture::from(engine.self_check(100_000, None)).await.expect_err("rejects");
    let message = field(&error, "message").as_string().unwrap_or_default();
    assert!(message.contains("between 8 and 512"), "{message}");
    // The engine is still usable afterwards.
    let (report, _) = self_check(&engine, 16).await;
    assert_passed(&report);
}

/// The report the page gets is the CLI's sidecar document: a complete report through the
/// engine's conversion and the page's `JSON.stringify` is the JSON the CLI writes — the same
/// keys, `null` where the CLI writes `null`, the same numbers (JavaScript prints an f32 as the
/// f64 it became, 0.1 → 0.10000000149011612, so numbers compare as f32) — and it reads back as
/// the type.
#[wasm_bindgen_test]
fn a_report_is_one_document_in_the_browser_and_the_cli() {
    use facecloak_protect::ProtectReport;
    use serde_json::Value;

    fn same(page: &Value, cli: &Value, at: &str) {
        match (page, cli) {
            (Value::Number(a), Value::Number(b)) => {
                let (a, b) = (a.as_f64().unwrap_or(f64::NAN) as f32, b.as_f64().unwrap_or(f64::NAN) as f32);
                assert!(a == b, "{at}: {a} in the page, {b} from the CLI");
            }
            (Value::Array(a), Value::Array(b)) => {
                assert_eq!(a.len(), b.len(), "{at}: lengths");
                for (i, (a, b)) in a.iter().zip(b).enumerate() {
                    same(a, b, &format!("{at}[{i}]"));
                }
            }
            (Value::Object(a), Value::Object(b)) => {
                let keys = |o: &serde_json::Map<String, Value>| o.keys().cloned().collect::<Vec<_>>();
                assert_eq!(keys(a), keys(b), "{at}: keys");
                for (key, a) in a {
                    same(a, &b[key], &format!("{at}.{key}"));
                }
            }
            _ => assert_eq!(page, cli, "{at}"),
        }
    }

    let report = facecloak_protect::typescript::example_report();
    let cli = serde_json::to_value(&report).expect("the CLI's document");
    let in_page = facecloak_wasm::to_js(&report).ok().expect("converts for JavaScript");
    let text = js_sys::JSON::stringify(&in_page).ok().and_then(|t| t.as_string()).expect("JSON.stringify");
    let page: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    same(&page, &cli, "report");
    let parsed = js_sys::JSON::parse(&text).ok().expect("JSON.parse");
    let back: ProtectReport = serde_wasm_bindgen::from_value(parsed).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(serde_json::to_value(&back).unwrap(), cli, "the page's JSON reads back as the type");
}

/// `navigator.gpu.requestAdapter()` as the worker does it; the adapter's architecture proves
/// which WebGPU implementation ran (SwiftShader in headless Chromium).
async fn gpu_adapter_description() -> String {
    let describe = Function::new_no_args(
        "return (async () => {
            if (!self.navigator.gpu) throw new Error('navigator.gpu is missing: is --enable-unsafe-webgpu set?');
            const adapter = await self.navigator.gpu.requestAdapter();
            if (!adapter) throw new Error('no WebGPU adapter');
            return `${adapter.info.vendor} ${adapter.info.architecture}`.trim();
        })()",
    );
    let promise = describe.call0(&JsValue::NULL).unwrap().unchecked_into::<js_sys::Promise>();
    let description = JsFuture::from(promise).await.expect("a WebGPU adapter");
    description.as_string().unwrap_or_default()
}

/// faceres, the attack's main surrogate, gives the same embedding on the browser's WebGPU as
/// on the CPU in the same worker (within 1e-3 relative). Its files are compiled into the test
/// (build.rs: only where scripts/setup has unpacked them).
#[cfg(has_face_models)]
#[wasm_bindgen_test]
async fn faceres_on_webgpu_matches_the_cpu() {
    use burn::tensor::{Device, Tensor, TensorData};
    use facecloak_device::{Backend, CpuBackend};
    use facecloak_tfjs::{Executor, Model};

    static JSON: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/human-models/faceres.json"));
    static BIN: &[u8] = include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/human-models/faceres.bin"));

    async fn embed(device: &Device) -> Vec<f32> {
        let executor = Executor::new(Model::load(JSON, &[BIN]).expect("faceres loads"), device).expect("uploads");
        let data: Vec<f32> = (0..224 * 224 * 3).map(|i| ((i * 37) % 256) as f32).collect();
        let x = Tensor::<4>::from_data(TensorData::new(data, [1, 224, 224, 3]), device);
        let outputs = executor.run(&[("input_1", x)]).expect("runs");
        let embedding = outputs.into_iter().find(|o| o.name == "global_pooling/Mean").expect("has the embedding");
        embedding.tensor.into_data_async().await.expect("reads back").try_to_vec::<f32>().expect("f32")
    }

    let adapter = gpu_adapter_description().await;
    let gpu = Backend::webgpu(adapter.clone()).await.unwrap_or_else(|e| panic!("WebGPU ({adapter}): {e}"));
    let on_gpu = embed(gpu.device()).await;
    let on_cpu = embed(Backend::cpu(CpuBackend::Flex).device()).await;
    assert_eq!(on_gpu.len(), 1024);
    let scale = on_cpu.iter().fold(0f32, |m, v| m.max(v.abs()));
    let worst = on_gpu.iter().zip(&on_cpu).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        scale > 0.0 && worst / scale <= 1e-3,
        "faceres on WebGPU ({adapter}) differs from the CPU by {:.2e} relative",
        worst / scale
    );
}
