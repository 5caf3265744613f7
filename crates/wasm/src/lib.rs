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
use facecloak_face::{Face, Mesh, Region};
use facecloak_makeup::{presets, prompt};
use facecloak_protect::{Mode, RECOGNIZERS, Strength, Surrogate, UnknownStrength, cosine, metrics};
use js_sys::{Array, Function, Promise, Reflect, Uint8Array};
use serde::{Deserialize, Serialize};
use session::{Analysis, FaceBox, Session, SessionError};
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
    session: Rc<RefCell<Session>>,
}

#[wasm_bindgen]
impl Engine {
    /// Starts on the browser's WebGPU. `adapter` describes the adapter as `GPUAdapter.info`
    /// reported it. Rejects (never panics) when WebGPU cannot be initialised, so the worker can
    /// fall back to the CPU and say why.
    #[wasm_bindgen(js_name = startWebgpu)]
    pub async fn start_webgpu(adapter: String) -> Result<Engine, JsError> {
        let backend = Backend::webgpu(adapter).await.map_err(to_js_error)?;
        Ok(Engine { backend: Rc::new(backend), session: Rc::default() })
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

#[wasm_bindgen]
impl Engine {
    /// Loads one TFJS graph model (its `model.json` and weight shards in manifest order):
    /// `blazeface` or `blazeface-front` (detector), `facemesh` (landmarks) and `iris` (refined
    /// eyes, in either order with facemesh) run on the CPU;
    /// the recognizers (`faceres`, `faceres-deep`, `mobileface`, `mobilefacenet` — repaired at
    /// load, see `facecloak_tfjs::load_named`) on this engine's backend,
    /// with gradients. Malformed files are rejected with the loader's typed error.
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
                session.surrogates.retain(|s| s.name() != name);
                session.surrogates.push(Rc::new(surrogate));
                let order = |s: &Rc<Surrogate>| RECOGNIZERS.iter().position(|(n, _)| *n == s.name());
                session.surrogates.sort_by_key(order);
            }
        }
        Ok(())
    }

    /// Decodes a photo (JPEG, PNG or WebP; at most `maxPixels`) and finds its faces. The photo
    /// stays in the engine for `protect`. Resolves to `{ width, height, faces, too_small }`.
    pub fn analyse(&self, bytes: &[u8], max_pixels: f64) -> Result<JsValue, JsError> {
        let photo = session::analyse(&self.session, bytes, max_pixels.max(1.0) as u64).map_err(to_js_error)?;
        let analysis = Analysis {
            width: photo.image.width,
            height: photo.image.height,
            faces: photo.faces.iter().map(|(face, _)| FaceBox::from(face)).collect(),
            too_small: photo.too_small.iter().map(FaceBox::from).collect(),
            min_face_size: facecloak_face::MIN_FACE_SIZE,
        };
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
            other => return Err(to_js_error(SessionError::Invalid(format!("unknown format {other:?} (png or jpeg)")))),
        };
        bytes.map_err(to_js_error)
    }

    /// What a makeup prompt asks for: `{ targets: [{ region, colour, intensity }], unknown,
    /// unplaced }` (`colour`: `#rrggbb`, or null for the face's own tone).
    #[wasm_bindgen(js_name = parsePrompt)]
    pub fn parse_prompt(text: &str) -> Result<JsValue, JsError> {
        to_js(&ParsedPrompt::from(prompt::parse(text)))
    }

    /// The named looks: `[{ name, prompt }]`.
    pub fn presets() -> Result<JsValue, JsError> {
        let list: Vec<Preset> = presets::PRESETS.iter().map(|(name, prompt)| Preset { name, prompt }).collect();
        to_js(&list)
    }

    /// Sets the person to impersonate from a photo of them (its largest face); resolves to
    /// `{ faces }`, the number of faces found.
    #[wasm_bindgen(js_name = setTarget)]
    pub fn set_target(&self, bytes: Vec<u8>, max_pixels: f64) -> Promise {
        let session = Rc::clone(&self.session);
        future_to_promise(async move {
            let run = async {
                let photo = session::analyse(&session, &bytes, max_pixels.max(1.0) as u64)?;
                let (face, mesh) = session::largest(&photo).ok_or(SessionError::NoTargetFace)?;
                let surrogates = session.try_borrow().map_err(|_| SessionError::Busy)?.surrogates.clone();
                let mut target = Vec::with_capacity(surrogates.len());
                for surrogate in &surrogates {
                    target.push(surrogate.embed_face_async(&photo.image, face, mesh).await?);
                }
                session.try_borrow_mut().map_err(|_| SessionError::Busy)?.target = Some(Rc::new(target));
                Ok::<_, SessionError>(photo.faces.len())
            };
            let faces = run.await.map_err(|e| JsValue::from(to_js_error(e)))?;
            to_js(&serde_json::json!({ "faces": faces })).map_err(JsValue::from)
        })
    }

    /// Protects the faces of the analysed photo. `options`: `{ prompt, strength: "low" |
    /// "medium" | "high", mode: "dodge" | "impersonate", faces?: number[], steps?, seed?,
    /// previewEvery? }`. `onProgress(step)` sees every search step (with a preview picture of
    /// the made-up face every `previewEvery` steps). Resolves to the report; the protected
    /// photo stays in the engine (`protectedPixels`, `encode`).
    pub fn protect(&self, options: JsValue, on_progress: Option<Function>) -> Promise {
        let session = Rc::clone(&self.session);
        let backend = Rc::clone(&self.backend);
        future_to_promise(async move {
            let options: ProtectOptions = serde_wasm_bindgen::from_value(options)
                .map_err(|e| JsValue::from(JsError::new(&format!("invalid protect options: {e}"))))?;
            {
                let mut s = session.try_borrow_mut().map_err(|_| JsValue::from(to_js_error(SessionError::Busy)))?;
                if s.busy {
                    return Err(to_js_error(SessionError::Busy).into());
                }
                s.busy = true;
            }
            let result = run_protect(&session, &backend, options, on_progress.as_ref()).await;
            if let Ok(mut s) = session.try_borrow_mut() {
                s.busy = false;
            }
            result.map_err(|e| JsValue::from(to_js_error(e)))
        })
    }
}

/// `Engine::protect`'s options.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProtectOptions {
    prompt: String,
    #[serde(default)]
    strength: Option<String>,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    faces: Option<Vec<usize>>,
    #[serde(default)]
    steps: Option<usize>,
    #[serde(default)]
    seed: Option<u32>,
    #[serde(default)]
    preview_every: Option<usize>,
}

#[derive(Serialize)]
struct Preset {
    name: &'static str,
    prompt: &'static str,
}

#[derive(Serialize)]
struct PromptTarget {
    region: &'static str,
    colour: Option<String>,
    intensity: f32,
}

#[derive(Serialize)]
struct PromptShaping {
    name: &'static str,
    intensity: f32,
}

#[derive(Serialize)]
struct ParsedPrompt {
    targets: Vec<PromptTarget>,
    /// Light and line asked for (contour, highlight, wing, mascara, overlined lips).
    shaping: Vec<PromptShaping>,
    unknown: Vec<String>,
    unplaced: Vec<String>,
}

impl From<prompt::Parsed> for ParsedPrompt {
    fn from(parsed: prompt::Parsed) -> ParsedPrompt {
        let hex = |c: [f32; 3]| format!("#{:02x}{:02x}{:02x}", c[0] as u8, c[1] as u8, c[2] as u8);
        ParsedPrompt {
            targets: parsed
                .targets
                .iter()
                .map(|(region, target): (Region, _)| PromptTarget {
                    region: region.name(),
                    colour: target.colour.map(hex),
                    intensity: target.intensity,
                })
                .collect(),
            shaping: {
                let s = parsed.targets.shaping;
                [
                    ("contour", s.contour),
                    ("highlight", s.highlight),
                    ("winged liner", s.wing),
                    ("mascara", s.mascara),
                    ("overlined lips", s.overline),
                ]
                .into_iter()
                .filter_map(|(name, v)| Some(PromptShaping { name, intensity: v? }))
                .collect()
            },
            unknown: parsed.unknown,
            unplaced: parsed.unplaced,
        }
    }
}

#[derive(Serialize)]
struct StepReport<'a> {
    face: usize,
    faces: usize,
    step: usize,
    steps: usize,
    loss: f32,
    elapsed: f32,
    similarities: Vec<Score<'a>>,
}

#[derive(Serialize)]
struct Score<'a> {
    name: &'a str,
    threshold: f32,
    before: f32,
    after: f32,
}

#[derive(Serialize)]
struct FaceReport<'a> {
    #[serde(rename = "box")]
    face: FaceBox,
    steps: usize,
    converged: bool,
    cancelled: bool,
    skipped: bool,
    seconds: f32,
    similarities: Vec<Score<'a>>,
    look: Option<&'a facecloak_makeup::Look>,
    naturalness: Option<&'a facecloak_makeup::naturalness::Naturalness>,
}

#[derive(Serialize)]
struct Report<'a> {
    width: usize,
    height: usize,
    mode: &'a str,
    strength: &'a str,
    prompt: &'a str,
    backend: &'a facecloak_device::BackendInfo,
    faces: Vec<FaceReport<'a>>,
    ssim: f64,
    psnr_db: Option<f64>,
    seconds: f32,
    /// How each similarity is measured, in words, for the page to print beside the numbers.
    protocol: &'a str,
}

const DODGE_PROTOCOL: &str = "cosine similarity between the face in the original and in the protected photo, \
    per recognizer, against its threshold at a 1% false-accept rate (52 labelled photos, 1,239 different-person \
    pairs); below the threshold, the recognizer no longer takes them for the same person";
const IMPERSONATE_PROTOCOL: &str = "cosine similarity between the face and the target's face, per recognizer, \
    before and after protection, against its threshold at a 1% false-accept rate; above it, the recognizer \
    takes them for the same person";

async fn run_protect(
    session: &Rc<RefCell<Session>>,
    backend: &Backend,
    options: ProtectOptions,
    on_progress: Option<&Function>,
) -> Result<JsValue, SessionError> {
    let started = web_time::Instant::now();
    let (photo, surrogates, target) = {
        let s = session.try_borrow().map_err(|_| SessionError::Busy)?;
        if s.surrogates.is_empty() {
            return Err(SessionError::NotLoaded("a recognizer"));
        }
        (s.photo.clone().ok_or(SessionError::NoPhoto)?, s.surrogates.clone(), s.target.clone())
    };
    let parsed = prompt::parse(&options.prompt);
    if parsed.targets.is_empty() {
        return Err(SessionError::Invalid(format!(
            "the makeup prompt {:?} names no region (lipstick, eyeshadow, eyeliner, blush, brows, foundation, contour, highlight)",
            options.prompt
        )));
    }
    let strength_name = options.strength.as_deref().unwrap_or(Strength::Medium.name());
    let strength: Strength =
        strength_name.parse().map_err(|e: UnknownStrength| SessionError::Invalid(e.to_string()))?;
    let mode_name = options.mode.as_deref().unwrap_or("dodge");
    let mode = match mode_name {
        "dodge" => Mode::Dodge,
        "impersonate" => Mode::Impersonate { targets: target.as_deref().ok_or(SessionError::NoTarget)?.clone() },
        other => return Err(SessionError::Invalid(format!("unknown mode {other:?} (dodge or impersonate)"))),
    };
    let chosen: Vec<(Face, Mesh)> = match &options.faces {
        None => photo.faces.clone(),
        Some(indices) => {
            let mut chosen = Vec::with_capacity(indices.len());
            for &i in indices {
                let face = photo.faces.get(i).ok_or_else(|| {
                    SessionError::Invalid(format!("face {i} does not exist (the photo has {})", photo.faces.len()))
                })?;
                chosen.push(face.clone());
            }
            chosen
        }
    };
    if chosen.is_empty() {
        let why = if photo.faces.is_empty() { "none was found in the photo" } else { "none was chosen" };
        return Err(SessionError::NoFace(why.to_owned()));
    }
    let mut settings = strength.settings();
    if let Some(steps) = options.steps {
        settings.steps = steps.clamp(1, 1000);
    }
    settings.seed = options.seed.unwrap_or(0) as u64;
    settings.preview_every = options.preview_every.unwrap_or(0);
    let refs: Vec<&Surrogate> = surrogates.iter().map(Rc::as_ref).collect();
    let faces = chosen.len();
    let protected = facecloak_protect::protect_async(
        &photo.image,
        &chosen,
        &refs,
        &parsed.targets,
        &mode,
        &settings,
        &mut |face, step| {
            let Some(callback) = on_progress else { return ControlFlow::Continue(()) };
            let report = StepReport {
                face,
                faces,
                step: step.step,
                steps: step.steps,
                loss: step.loss,
                elapsed: step.elapsed,
                similarities: step
                    .similarities
                    .iter()
                    .zip(&refs)
                    .map(|((name, similarity), s)| Score {
                        name,
                        threshold: s.threshold(),
                        before: f32::NAN,
                        after: *similarity,
                    })
                    .collect(),
            };
            // A failing progress callback must not abort the protection it reports on.
            if let Ok(value) = to_js(&report) {
                if let Some(preview) = &step.preview {
                    let picture = js_sys::Object::new();
                    let _ = Reflect::set(&picture, &"width".into(), &(preview.width as u32).into());
                    let _ = Reflect::set(&picture, &"height".into(), &(preview.height as u32).into());
                    let _ =
                        Reflect::set(&picture, &"rgba".into(), &Uint8Array::from(session::rgba(preview).as_slice()));
                    let _ = Reflect::set(&value, &"preview".into(), &picture);
                }
                let _ = callback.call1(&JsValue::NULL, &value);
            }
            ControlFlow::Continue(())
        },
    )
    .await?;

    let mut reports = Vec::with_capacity(protected.faces.len());
    for (result, (face, mesh)) in protected.faces.iter().zip(&chosen) {
        let similarities = match &mode {
            Mode::Dodge => result
                .similarities
                .iter()
                .map(|(name, threshold, after)| Score { name, threshold: *threshold, before: 1.0, after: *after })
                .collect(),
            Mode::Impersonate { targets } => {
                let mut scores = Vec::with_capacity(refs.len());
                for (surrogate, target) in refs.iter().zip(targets) {
                    let before = surrogate.embed_face_async(&photo.image, face, mesh).await?;
                    let after = surrogate.embed_face_async(&protected.image, face, mesh).await?;
                    scores.push(Score {
                        name: surrogate.name(),
                        threshold: surrogate.threshold(),
                        before: cosine(&before, target),
                        after: cosine(&after, target),
                    });
                }
                scores
            }
        };
        reports.push(FaceReport {
            face: FaceBox::from(face),
            steps: result.steps,
            converged: result.converged,
            cancelled: result.cancelled,
            skipped: result.skipped,
            seconds: result.seconds,
            similarities,
            look: result.look.as_ref(),
            naturalness: result.naturalness.as_ref(),
        });
    }
    let ssim = metrics::ssim(&photo.image, &protected.image).map_err(|e| SessionError::Invalid(e.to_string()))?;
    let psnr = metrics::psnr(&photo.image, &protected.image).map_err(|e| SessionError::Invalid(e.to_string()))?;
    let report = Report {
        width: photo.image.width,
        height: photo.image.height,
        mode: mode_name,
        strength: strength_name,
        prompt: &options.prompt,
        backend: backend.info(),
        faces: reports,
        ssim,
        psnr_db: psnr.is_finite().then_some(psnr),
        seconds: started.elapsed().as_secs_f32(),
        protocol: if matches!(mode, Mode::Dodge) { DODGE_PROTOCOL } else { IMPERSONATE_PROTOCOL },
    };
    let value = to_js(&report).map_err(|_| SessionError::Invalid("could not convert the report".into()))?;
    session.try_borrow_mut().map_err(|_| SessionError::Busy)?.protected = Some(Rc::new(protected.image));
    Ok(value)
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
