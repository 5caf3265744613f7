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

use std::rc::Rc;

use facecloak_device::{Backend, selfcheck};
use js_sys::{Function, Promise};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

#[wasm_bindgen(start)]
fn on_load() {
    console_error_panic_hook::set_once();
}

/// The compute engine of one worker: a chosen backend and the operations that run on it.
#[wasm_bindgen]
pub struct Engine {
    // Shared with the futures of calls in flight, which must be `'static` for JavaScript.
    backend: Rc<Backend>,
}

#[wasm_bindgen]
impl Engine {
    /// Starts on the browser's WebGPU. `adapter` describes the adapter as `GPUAdapter.info`
    /// reported it. Rejects (never panics) when WebGPU cannot be initialised, so the worker can
    /// fall back to the CPU and say why.
    #[wasm_bindgen(js_name = startWebgpu)]
    pub async fn start_webgpu(adapter: String) -> Result<Engine, JsError> {
        let backend = Backend::webgpu(adapter).await.map_err(to_js_error)?;
        Ok(Engine { backend: Rc::new(backend) })
    }

    /// Starts on burn's CPU backend. `fallbackReason`, when given, says why the GPU is not used.
    #[wasm_bindgen(js_name = startCpu)]
    pub fn start_cpu(fallback_reason: Option<String>) -> Engine {
        let backend = match fallback_reason {
            Some(reason) => Backend::cpu_fallback(reason),
            None => Backend::cpu(Default::default()),
        };
        Engine { backend: Rc::new(backend) }
    }

    /// What this engine runs on: `{ kind, name, adapter, fallback_reason }`.
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> Result<JsValue, JsError> {
        to_js(self.backend.info())
    }

    /// Why the GPU device was lost, once it has been (then the worker moves to the CPU).
    #[wasm_bindgen(getter, js_name = deviceLost)]
    pub fn device_lost(&self) -> Option<String> {
        self.backend.lost()
    }

    /// Runs the conv2d + input-gradient self-check on `size × size` pixels and resolves to its
    /// report. `onProgress({ phase, step, total })` is called as each phase starts.
    #[wasm_bindgen(js_name = selfCheck)]
    pub fn self_check(&self, size: u32, on_progress: Option<Function>) -> Promise {
        let backend = Rc::clone(&self.backend);
        future_to_promise(async move {
            let total = selfcheck::Phase::ALL.len();
            let report = selfcheck::run(&backend, size as usize, |phase| {
                if let Some(callback) = &on_progress {
                    let step = selfcheck::Phase::ALL.iter().position(|p| *p == phase).unwrap_or(0) + 1;
                    let progress = Progress { phase, step, total };
                    // A failing progress callback must not abort the computation it reports on.
                    if let Ok(value) = to_js(&progress) {
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

#[derive(Serialize)]
struct Progress {
    phase: selfcheck::Phase,
    step: usize,
    total: usize,
}

fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsError> {
    value
        .serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(|e| JsError::new(&format!("could not convert a result for JavaScript: {e}")))
}

fn to_js_error(error: impl std::error::Error) -> JsError {
    JsError::new(&error.to_string())
}
