//! # facecloak-wasm: the worker's door into the Rust core
//!
//! This crate only binds: it turns JavaScript calls into calls of the core crates and their
//! results and errors into JavaScript values. It holds no algorithm, so that everything it
//! exposes is also built and tested natively, and the CLI and the browser run the same code.
//!
//! It is loaded by exactly one module worker (`web/src/engine/worker.ts`), which owns the
//! module and the GPU; the page never calls it directly.
//!
//! **No panic crosses this boundary.** A Rust panic in wasm aborts the whole instance and with
//! it the worker, so every fallible core call returns `Result` and is mapped to a thrown
//! JavaScript `Error` here. The panic hook is installed anyway, so that a bug we missed at least
//! names itself in the console instead of dying as `unreachable`.

#![cfg(target_family = "wasm")]

mod session;

use std::cell::RefCell;
use std::ops::ControlFlow;
use std::rc::Rc;

use facecloak_device::{Backend, selfcheck};
use facecloak_protect::report::{Analysis, Preset, PromptPreview};
use facecloak_protect::{ProtectRequest, RECOGNIZERS, StepProgress, Surrogate};
use js_sys::{Array, Function, Promise, Reflect, Uint8Array};
use serde::Serialize;
use session::{Session, SessionError};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

// The types the signatures below name, generated from the Rust types (see
// `facecloak_protect::typescript`): the worker gets typed results, not `any`.
#[wasm_bindgen(typescript_custom_section)]
const TYPES: &str = r#"
import type { Analysis, BackendChoice, BackendInfo, CheckProgress, Preset, PromptPreview, ProtectReport, ProtectRequest, SelfCheckReport, StepProgress } from '../src/engine/generated/types';
"#;

/// `initThreadPool(threads)` in the threaded build: starts that many web workers on this
/// module's shared memory as rayon's global pool, on which burn's CPU backend and our kernels
/// run. The worker awaits it before anything else runs (see `facecloak_device::cpu_threads`).
#[cfg(target_feature = "atomics")]
pub use wasm_bindgen_rayon::init_thread_pool;

#[wasm_bindgen(start)]
fn on_load() {
    // Also run by every backend's constructor: wasm-bindgen-test skips start functions.
    facecloak_device::run_constructors_once();
    console_error_panic_hook::set_once();
}

/// The compute engine of one worker: a chosen backend and the operations that run on it.
#[wasm_bindgen]
pub struct Engine {
    // Shared with the futures of calls in flight, which must be `'static` for JavaScript.
    backend: Rc<Backend>,
    session: Rc<RefCell<Session>>,
}

#[wasm_bindgen]
impl Engine {
    /// Starts on the browser's WebGPU. `adapter` describes the adapter as `GPUAdapter.info`
    /// reported it. Rejects (never panics) when WebGPU cannot be initialised, so the worker can
    /// fall back to the CPU and say why.
    #[wasm_bindgen(js_name = startWebgpu)]
    pub async fn start_webgpu(adapter: String) -> Result<Engine, JsError> {
        #[cfg(not(target_feature = "atomics"))]
        {
            let backend = Backend::webgpu(adapter).await.map_err(to_js_error)?;
            Ok(Engine { backend: Rc::new(backend), session: Rc::default() })
        }
        // The threaded build has no WebGPU (see facecloak-device's Cargo.toml); the worker
        // loads the single-thread build to use the GPU, so this only answers a caller that did not.
        #[cfg(target_feature = "atomics")]
        {
            let _ = adapter;
            Err(JsError::new(
                "the threaded build of the engine runs on the CPU only; WebGPU needs the single-thread build",
            ))
        }
    }

    /// Starts on burn's CPU backend. `fallbackReason`, when given, says why the GPU is not used.
    #[wasm_bindgen(js_name = startCpu)]
    pub fn start_cpu(fallback_reason: Option<String>) -> Engine {
        let backend = match fallback_reason {
            Some(reason) => Backend::cpu_fallback(reason),
            None => Backend::cpu(Default::default()),
        };
        Engine { backend: Rc::new(backend), session: Rc::default() }
    }

    /// What this engine runs on: `{ kind, name, adapter, fallback_reason }`.
    #[wasm_bindgen(getter, unchecked_return_type = "BackendInfo")]
    pub fn backend(&self) -> Result<JsValue, JsError> {
        to_js(self.backend.info())
    }

    /// The size of this module's memory in bytes: it only grows, so after a protection it is
    /// the most the protection needed (with what the engine held before). In 32-bit wasm it
    /// can never pass 4 GiB, and an allocation past what the browser grants aborts the
    /// instance: the pixel limit is set from this.
    #[wasm_bindgen(getter, js_name = memoryBytes)]
    pub fn memory_bytes(&self) -> f64 {
        let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
        memory.buffer().unchecked_into::<js_sys::ArrayBuffer>().byte_length() as f64
    }

    /// Milliseconds that one search step's recognizer passes take on this engine's backend, warm
    /// (`facecloak_protect::step_time`): what `auto` compares. The default surrogates must be
    /// loaded.
    #[wasm_bindgen(js_name = measureStep, unchecked_return_type = "Promise<number>")]
    pub fn measure_step(&self) -> Promise {
        let session = Rc::clone(&self.session);
        future_to_promise(async move {
            let recognizers: Vec<Rc<Surrogate>> = {
                let session = session.try_borrow().map_err(|_| JsValue::from(to_js_error(SessionError::Busy)))?;
                session
                    .recognizers
                    .iter()
                    .filter(|s| facecloak_protect::DEFAULT_SURROGATES.contains(&s.name()))
                    .cloned()
                    .collect()
            };
            if recognizers.len() < facecloak_protect::DEFAULT_SURROGATES.len() {
                return Err(to_js_error(SessionError::NotLoaded("a surrogate recognizer")).into());
            }
            let refs: Vec<&Surrogate> = recognizers.iter().map(Rc::as_ref).collect();
            let ms = facecloak_protect::step_time::recognizer_step_ms_async(&refs)
                .await
                .map_err(|e| JsValue::from(to_js_error(e)))?;
            Ok(JsValue::from_f64(ms))
        })
    }

    /// The choice two measured times make (`facecloak_device::BackendChoice`: the one rule, for
    /// the worker as for the CLI).
    #[wasm_bindgen(js_name = chooseBackend, unchecked_return_type = "BackendChoice")]
    pub fn choose_backend(adapter: String, gpu_ms: f64, cpu_ms: f64, cpu_threads: u32) -> Result<JsValue, JsError> {
        to_js(&facecloak_device::BackendChoice::between(adapter, gpu_ms, cpu_ms, cpu_threads))
    }

    /// Marks this engine as the one `choice` chose (`remembered`: measured on an earlier visit
    /// and kept by the page), so that its backend, and every report, says so.
    #[wasm_bindgen(js_name = setChoice)]
    pub fn set_choice(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "BackendChoice")] choice: JsValue,
        remembered: bool,
    ) -> Result<(), JsError> {
        let choice: facecloak_device::BackendChoice =
            serde_wasm_bindgen::from_value(choice).map_err(|e| JsError::new(&format!("not a backend choice: {e}")))?;
        self.backend = Rc::new(self.backend.as_ref().clone().with_choice(choice.remembered(remembered)));
        Ok(())
    }

    /// Why the GPU device was lost, once it has been (then the worker moves to the CPU).
    #[wasm_bindgen(getter, js_name = deviceLost)]
    pub fn device_lost(&self) -> Option<String> {
        self.backend.lost()
    }

    /// Runs the conv2d + input-gradient self-check on `size × size` pixels and resolves to its
    /// report. `onProgress({ phase, step, total })` is called as each phase starts.
    #[wasm_bindgen(js_name = selfCheck, unchecked_return_type = "Promise<SelfCheckReport>")]
    pub fn self_check(
        &self,
        size: u32,
        #[wasm_bindgen(unchecked_param_type = "((progress: CheckProgress) => void) | undefined")] on_progress: Option<
            Function,
        >,
    ) -> Promise {
        let backend = Rc::clone(&self.backend);
        future_to_promise(async move {
            let report = selfcheck::run(&backend, size as usize, |phase| {
                if let Some(callback) = &on_progress {
                    // A failing progress callback must not abort the computation it reports on.
                    if let Ok(value) = to_js(&selfcheck::CheckProgress::of(phase)) {
                        let _ = callback.call1(&JsValue::NULL, &value);
                    }
                }
            })
            .await
            .map_err(|e| JsValue::from(to_js_error(e)))?;
            to_js(&report).map_err(JsValue::from)
        })
    }
}

#[wasm_bindgen]
impl Engine {
    /// Loads one TFJS graph model (its `model.json` and weight shards in manifest order):
    /// `blazeface` or `blazeface-front` (detector), `facemesh` (landmarks) and `iris` (refined
    /// eyes, in either order with facemesh) run on the CPU;
    /// the recognizers (`faceres`, `faceres-deep`, `mobileface`, `mobilefacenet` — repaired at
    /// load — and `face-recognition-net`, from face-api.js's weights manifest; see
    /// `facecloak_tfjs::load_named`) on this engine's backend, with gradients. Malformed files are rejected with the loader's typed error.
    #[wasm_bindgen(js_name = loadModel)]
    pub fn load_model(&self, name: &str, json: &[u8], shards: Array) -> Result<(), JsError> {
        let shards: Vec<Vec<u8>> = shards.iter().map(|shard| Uint8Array::new(&shard).to_vec()).collect();
        let refs: Vec<&[u8]> = shards.iter().map(Vec::as_slice).collect();
        let model = facecloak_tfjs::load_named(name, json, &refs).map_err(to_js_error)?;
        let mut session = self.session.try_borrow_mut().map_err(|_| to_js_error(SessionError::Busy))?;
        match name {
            "blazeface" | "blazeface-front" => {
                let detector = facecloak_face::Detector::new(model, &session::cpu()).map_err(to_js_error)?;
                session.detector = Some(Rc::new(detector));
            }
            "facemesh" | "iris" => {
                let slot = if name == "iris" { &mut session.iris_model } else { &mut session.facemesh_model };
                *slot = Some(model);
                if let Some(facemesh) = session.facemesh_model.clone() {
                    let mut landmarker =
                        facecloak_face::Landmarker::new(facemesh, &session::cpu()).map_err(to_js_error)?;
                    if let Some(iris) = session.iris_model.clone() {
                        landmarker = landmarker.with_iris(iris, &session::cpu()).map_err(to_js_error)?;
                    }
                    session.landmarker = Some(Rc::new(landmarker));
                }
            }
            _ => {
                let device = self.backend.device().clone().autodiff();
                let surrogate = Surrogate::new(name, model, &device).map_err(to_js_error)?;
                session.recognizers.retain(|s| s.name() != name);
                session.recognizers.push(Rc::new(surrogate));
                let order = |s: &Rc<Surrogate>| RECOGNIZERS.iter().position(|r| r.name == s.name());
                session.recognizers.sort_by_key(order);
            }
        }
        Ok(())
    }

    /// Decodes a photo (JPEG, PNG or WebP; at most `maxPixels`) and finds its faces. The photo
    /// stays in the engine for `protect`. Resolves to an `Analysis`.
    #[wasm_bindgen(unchecked_return_type = "Analysis")]
    pub fn analyse(&self, bytes: &[u8], max_pixels: f64) -> Result<JsValue, JsError> {
        let photo = session::analyse(&self.session, bytes, max_pixels.max(1.0) as u64).map_err(to_js_error)?;
        let analysis = Analysis::new(photo.image.width, photo.image.height, &photo.found);
        let mut session = self.session.try_borrow_mut().map_err(|_| to_js_error(SessionError::Busy))?;
        session.photo = Some(photo);
        session.protected = None;
        to_js(&analysis)
    }

    /// The analysed photo as RGBA bytes (upright, as the engine sees it).
    #[wasm_bindgen(js_name = photoPixels)]
    pub fn photo_pixels(&self) -> Result<Vec<u8>, JsError> {
        let session = self.session.try_borrow().map_err(|_| to_js_error(SessionError::Busy))?;
        let photo = session.photo.as_ref().ok_or_else(|| to_js_error(SessionError::NoPhoto))?;
        Ok(session::rgba(&photo.image))
    }

    /// The protected photo as RGBA bytes.
    #[wasm_bindgen(js_name = protectedPixels)]
    pub fn protected_pixels(&self) -> Result<Vec<u8>, JsError> {
        let session = self.session.try_borrow().map_err(|_| to_js_error(SessionError::Busy))?;
        let image = session.protected.as_ref().ok_or_else(|| to_js_error(SessionError::NothingProtected))?;
        Ok(session::rgba(image))
    }

    /// The protected photo as a file: `png` or `jpeg` (quality 1–100). Written from the
    /// pixels alone, so no metadata of the original reaches it.
    pub fn encode(&self, format: &str, quality: u8) -> Result<Vec<u8>, JsError> {
        let session = self.session.try_borrow().map_err(|_| to_js_error(SessionError::Busy))?;
        let image = session.protected.as_ref().ok_or_else(|| to_js_error(SessionError::NothingProtected))?;
        let bytes = match format {
            "png" => image.encode_png(),
            "jpeg" => image.encode_jpeg(quality.clamp(1, 100)),
            other => return Err(to_js_error(SessionError::Format(other.to_owned()))),
        };
        bytes.map_err(to_js_error)
    }

    /// What a makeup prompt asks for: a `PromptPreview` (with the reason it cannot be used, if
    /// it cannot).
    #[wasm_bindgen(js_name = parsePrompt, unchecked_return_type = "PromptPreview")]
    pub fn parse_prompt(text: &str) -> Result<JsValue, JsError> {
        to_js(&PromptPreview::of(text))
    }

    /// The named looks: `Preset[]`, the default marked.
    #[wasm_bindgen(unchecked_return_type = "Preset[]")]
    pub fn presets() -> Result<JsValue, JsError> {
        to_js(&Preset::all())
    }

    /// Sets the person to impersonate from a photo of them (its largest face); resolves to
    /// `{ faces }`, the number of faces found.
    #[wasm_bindgen(js_name = setTarget, unchecked_return_type = "Promise<{ faces: number }>")]
    pub fn set_target(&self, bytes: Vec<u8>, max_pixels: f64) -> Promise {
        let session = Rc::clone(&self.session);
        future_to_promise(async move {
            let faces = session::set_target(&session, &bytes, max_pixels.max(1.0) as u64)
                .await
                .map_err(|e| JsValue::from(to_js_error(e)))?;
            to_js(&serde_json::json!({ "faces": faces })).map_err(JsValue::from)
        })
    }

    /// Adds another photo of the person (its largest face), called `name`, to check each
    /// protection against ("does it still recognise me?"); at most `MAX_REFERENCES`. Resolves
    /// to `{ faces }`, the number of faces found; rejects when it has none.
    #[wasm_bindgen(js_name = addReference, unchecked_return_type = "Promise<{ faces: number }>")]
    pub fn add_reference(&self, bytes: Vec<u8>, name: String, max_pixels: f64) -> Promise {
        let session = Rc::clone(&self.session);
        future_to_promise(async move {
            let faces = session::add_reference(&session, &bytes, &name, max_pixels.max(1.0) as u64)
                .await
                .map_err(|e| JsValue::from(to_js_error(e)))?;
            to_js(&serde_json::json!({ "faces": faces })).map_err(JsValue::from)
        })
    }

    /// Forgets the person's other photos (their embeddings: the photos were never kept).
    #[wasm_bindgen(js_name = clearReferences)]
    pub fn clear_references(&self) -> Result<(), JsError> {
        let mut session = self.session.try_borrow_mut().map_err(|_| to_js_error(SessionError::Busy))?;
        session.references.clear();
        Ok(())
    }

    /// Protects the faces of the analysed photo as `request` (a `ProtectRequest`) asks.
    /// `onProgress(step)` sees every search step (a `StepProgress`, with a preview picture of
    /// the made-up face every `preview_every` steps). Resolves to the `ProtectReport`; the
    /// protected photo stays in the engine (`protectedPixels`, `encode`).
    #[wasm_bindgen(unchecked_return_type = "Promise<ProtectReport>")]
    pub fn protect(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ProtectRequest")] request: JsValue,
        #[wasm_bindgen(
            unchecked_param_type = "((step: StepProgress & { preview?: { width: number; height: number; rgba: Uint8Array } }) => void) | undefined"
        )]
        on_progress: Option<Function>,
    ) -> Promise {
        let session = Rc::clone(&self.session);
        let backend = Rc::clone(&self.backend);
        future_to_promise(async move {
            let run = async {
                let request: ProtectRequest = serde_wasm_bindgen::from_value(request)
                    .map_err(|e| SessionError::Request(format!("invalid protect request: {e}")))?;
                let _busy = session::Busy::claim(&session)?;
                let (image, report) = session::protect(&session, backend.info(), &request, &mut |step, preview| {
                    if let Some(callback) = &on_progress {
                        report_step(callback, step, preview);
                    }
                    ControlFlow::Continue(())
                })
                .await?;
                let value = to_js(&report).map_err(|_| SessionError::Request("could not convert the report".into()))?;
                session.try_borrow_mut().map_err(|_| SessionError::Busy)?.protected = Some(Rc::new(image));
                Ok::<_, SessionError>(value)
            };
            run.await.map_err(|e| JsValue::from(to_js_error(e)))
        })
    }
}

/// Hands one search step to the page, with its preview picture when it has one. A failing
/// callback must not abort the protection it reports on, so its errors are dropped.
fn report_step(callback: &Function, step: &StepProgress, preview: Option<&facecloak_face::Image>) {
    let Ok(value) = to_js(step) else { return };
    if let Some(preview) = preview {
        let picture = js_sys::Object::new();
        let _ = Reflect::set(&picture, &"width".into(), &(preview.width as u32).into());
        let _ = Reflect::set(&picture, &"height".into(), &(preview.height as u32).into());
        let _ = Reflect::set(&picture, &"rgba".into(), &Uint8Array::from(session::rgba(preview).as_slice()));
        let _ = Reflect::set(&value, &"preview".into(), &picture);
    }
    let _ = callback.call1(&JsValue::NULL, &value);
}

/// The one conversion every result takes to JavaScript: JSON-compatible (maps as plain objects,
/// `None` as `null`), so that what the page holds is the document the CLI writes
/// (`tests/browser.rs` checks it on a complete report).
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&format!("could not convert a result for JavaScript: {e}")))
}

fn to_js_error(error: impl std::error::Error) -> JsError {
    JsError::new(&error.to_string())
}
