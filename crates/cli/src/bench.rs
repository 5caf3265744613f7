//! `facecloak bench`: our executor against TensorFlow.js, same machine, same invocation.
//!
//! For each recognizer, at batch 1 on the CPU: the median time of a forward pass and of a
//! forward+backward pass (the gradient of Σ embedding² with respect to the input image, which
//! is what the attack computes every step). The peer is tfjs 4.22 in Node on the very same
//! model files and input bytes: its wasm backend (SIMD) forward — the in-browser CPU
//! competitor — and its cpu backend forward+backward, since the wasm backend cannot take
//! these gradients (../shared/MODELS.md). Forward+backward is compared against twice
//! tfjs-wasm's forward, the least it would need if it could.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, bail};
use burn::tensor::{Device, Tensor, TensorData};
use facecloak_device::dispatches::Watch;
use facecloak_device::{Backend, BackendKind, CpuBackend};
use facecloak_face::{Detector, Image, find_faces};
use facecloak_tfjs::{Executor, Model};

#[derive(clap::Args)]
pub struct Args {
    /// Directory with the face models (NAME.json + shards).
    #[arg(long)]
    models: Option<PathBuf>,
    /// Timed runs per measurement (after one warm-up); the median is reported.
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Our CPU backend.
    #[arg(long, value_enum, default_value_t = CpuChoice::Flex)]
    backend: CpuChoice,
    /// Recognizers to time.
    #[arg(long, value_delimiter = ',', default_values_t = ["faceres".to_string(), "faceres-deep".into(), "mobileface".into()])]
    only: Vec<String>,
    /// Skip the tfjs peer (no Node needed).
    #[arg(long)]
    no_peer: bool,
    /// Also time finding the faces (detection + landmarks) in this photo, e.g. a 12 MP group
    /// photo; `--only none` times only that.
    #[arg(long)]
    photo: Option<PathBuf>,
    /// Also time protecting this photo end to end (medium strength, the default surrogates,
    /// `--protect-steps` steps per face), with the time per search step.
    #[arg(long)]
    protect: Option<PathBuf>,
    /// Search steps per face for `--protect` (medium strength runs at most 60).
    #[arg(long, default_value_t = 60)]
    protect_steps: usize,
    /// Where `--protect`'s search runs: the CPU backend, or wgpu on Vulkan (the GPU path, with
    /// the same WGSL kernels as the browser's WebGPU; faces are found on the CPU either way).
    #[arg(long, value_enum, default_value_t = SearchOn::Cpu)]
    protect_on: SearchOn,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum SearchOn {
    Cpu,
    Vulkan,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum CpuChoice {
    Flex,
    Ndarray,
}

struct Ours {
    model: String,
    size: usize,
    forward_ms: f64,
    forward_backward_ms: f64,
    multiply_adds: u64,
}

/// The model's square input side, from its placeholder.
fn input_size(model: &Model) -> anyhow::Result<usize> {
    match model.image_input() {
        Some((_, Some(side))) => Ok(side),
        _ => bail!("the model has no square image input of fixed size"),
    }
}

/// The public-domain astronaut's face, resized to `size`: a real photo, the same bytes for both.
fn input(size: usize) -> anyhow::Result<Vec<f32>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/astronaut.png");
    let image =
        Image::decode(&std::fs::read(&path).with_context(|| path.display().to_string())?, Image::DEFAULT_MAX_PIXELS)?;
    Ok(image.crop_square(125.0, 30.0, 200.0, size).data)
}

fn median(runs: usize, mut f: impl FnMut() -> anyhow::Result<()>) -> anyhow::Result<f64> {
    f()?;
    let mut times = Vec::with_capacity(runs);
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        f()?;
        times.push(start.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

/// The widest output (the embedding; faceres also has age and gender heads).
fn embedding(executor: &Executor, x: Tensor<4>) -> anyhow::Result<Tensor<2>> {
    let name = executor.model().image_input().context("the model has no input")?.0.to_owned();
    let outputs = executor.run(&[(&name, x)])?;
    let out =
        outputs.into_iter().max_by_key(|o| o.shape.iter().product::<usize>()).context("the model has no outputs")?;
    Ok(out.into_rank::<2>()?)
}

fn time_ours(dir: &Path, name: &str, device: &Device, runs: usize, data: &[f32]) -> anyhow::Result<Ours> {
    let model = crate::load_model(dir, name)?;
    let size = input_size(&model)?;
    let shape = [1, size, size, 3];
    let plain = Executor::new(model.clone(), device)?;
    let x = Tensor::<4>::from_data(TensorData::new(data.to_vec(), shape), device);
    let forward_ms = median(runs, || {
        embedding(&plain, x.clone())?.into_data();
        Ok(())
    })?;
    let multiply_adds = plain.last_run_multiply_adds();

    let autodiff = device.clone().autodiff();
    let differentiable = Executor::new(model, &autodiff)?;
    let forward_backward_ms = median(runs, || {
        let x = Tensor::<4>::from_data(TensorData::new(data.to_vec(), shape), &autodiff).require_grad();
        let grads = embedding(&differentiable, x.clone())?.square().sum().backward();
        x.grad(&grads).context("no gradient reached the input")?.into_data();
        Ok(())
    })?;
    Ok(Ours { model: name.to_owned(), size, forward_ms, forward_backward_ms, multiply_adds })
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let dir = crate::models_dir(args.models);
    let backend = match args.backend {
        CpuChoice::Flex => CpuBackend::Flex,
        CpuChoice::Ndarray => CpuBackend::NdArray,
    };
    let device = Backend::cpu(backend).device().clone();
    // burn's CPU backend computes on rayon's pool: RAYON_NUM_THREADS=1 times one core.
    let threads = std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|n| n.parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let scratch = std::env::temp_dir().join(format!("facecloak-bench-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;

    if let Some(photo) = &args.photo {
        time_pipeline(&dir, &device, photo, args.runs)?;
    }
    if let Some(photo) = &args.protect {
        let search = match args.protect_on {
            SearchOn::Cpu => Backend::cpu(backend),
            SearchOn::Vulkan => Backend::vulkan().context("starting wgpu on Vulkan")?,
        };
        time_protect(&dir, &device, &search, photo, args.protect_steps)?;
    }
    let only: Vec<&String> = args.only.iter().filter(|n| n.as_str() != "none").collect();
    if only.is_empty() {
        return Ok(());
    }
    let mut ours = Vec::new();
    let mut cases = Vec::new();
    for name in only {
        let size = input_size(&crate::load_model(&dir, name)?)?;
        let data = input(size)?;
        eprintln!("timing {name} ({size}×{size}) on burn {backend:?}, {} runs…", args.runs);
        ours.push(time_ours(&dir, name, &device, args.runs, &data)?);
        let file = scratch.join(format!("{name}.f32"));
        std::fs::write(&file, data.iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>())?;
        cases.push(format!("{name}:{}:{size}", file.display()));
    }

    let peer = if args.no_peer {
        None
    } else {
        eprintln!("timing tfjs on the same files and inputs (node scripts/bench-tfjs.mjs)…");
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/bench-tfjs.mjs");
        let mut command = Command::new("node");
        command.arg(&script).arg("--models").arg(&dir).arg("--runs").arg(args.runs.to_string());
        for case in &cases {
            command.arg("--case").arg(case);
        }
        let output = command.output().context("starting node (install Node.js 20+, then npm ci)")?;
        if !output.status.success() {
            bail!("the tfjs peer failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        Some(serde_json::from_slice::<serde_json::Value>(&output.stdout).context("reading the tfjs peer's report")?)
    };
    let _ = std::fs::remove_dir_all(&scratch);

    println!(
        "facecloak bench: batch 1, CPU, {threads} threads; ours = facecloak-tfjs on burn {backend:?}; median of {} runs after a warm-up",
        args.runs
    );
    if let Some(peer) = &peer {
        println!(
            "peer = tfjs {} in Node {} (wasm backend: SIMD {}, threads {}); forward+backward = gradient of Σ embedding² w.r.t. the input",
            peer["tfjs"].as_str().unwrap_or("?"),
            node_version(),
            peer["wasm_simd"],
            peer["wasm_threads"]
        );
    }
    println!();
    println!(
        "| model | MACs | ours fwd | GFLOP/s | tfjs-wasm fwd | speed-up | ours fwd+bwd | GFLOP/s | 2× tfjs-wasm fwd | speed-up | tfjs-cpu fwd+bwd |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for o in &ours {
        let gflops = |flops: f64, ms: f64| flops / (ms * 1e6);
        let fwd_flops = 2.0 * o.multiply_adds as f64;
        let peer_row = peer
            .as_ref()
            .and_then(|p| p["results"].as_array()?.iter().find(|r| r["model"] == o.model.as_str()).cloned());
        let wasm = peer_row.as_ref().and_then(|r| r["wasm_forward_ms"].as_f64());
        let cpu_fb = peer_row.as_ref().and_then(|r| r["cpu_forward_backward_ms"].as_f64());
        let ms = |v: Option<f64>| v.map_or("–".to_string(), |v| format!("{v:.1} ms"));
        let ratio = |peer: Option<f64>, ours: f64| peer.map_or("–".to_string(), |p| format!("{:.2}×", p / ours));
        println!(
            "| {} ({}²) | {:.2} G | {:.1} ms | {:.1} | {} | {} | {:.1} ms | {:.1} | {} | {} | {} |",
            o.model,
            o.size,
            o.multiply_adds as f64 / 1e9,
            o.forward_ms,
            gflops(fwd_flops, o.forward_ms),
            ms(wasm),
            ratio(wasm, o.forward_ms),
            o.forward_backward_ms,
            gflops(2.0 * fwd_flops, o.forward_backward_ms),
            ms(wasm.map(|w| 2.0 * w)),
            ratio(wasm.map(|w| 2.0 * w), o.forward_backward_ms),
            ms(cpu_fb),
        );
    }
    println!();
    println!(
        "speed-up = peer time ÷ ours (above 1: we are faster). GFLOP/s counts 2 FLOPs per multiply-add of the convolutions and matmuls; fwd+bwd counts twice the forward's (input gradient only: weights are constants)."
    );
    Ok(())
}

/// Median time of `find_faces` on `photo` (blazeface looks + facemesh and iris passes), split into
/// detection and landmarks.
fn time_pipeline(dir: &Path, device: &Device, photo: &Path, runs: usize) -> anyhow::Result<()> {
    let detector = Detector::new(crate::load_model(dir, "blazeface")?, device)?;
    let landmarker = crate::load_landmarker(dir, device)?;
    let bytes = std::fs::read(photo).with_context(|| photo.display().to_string())?;
    let decode_start = Instant::now();
    let image = Image::decode(&bytes, Image::DEFAULT_MAX_PIXELS)?;
    let decode_ms = decode_start.elapsed().as_secs_f64() * 1e3;
    eprintln!("timing face finding on {} ({}×{}), {runs} runs…", photo.display(), image.width, image.height);
    let mut faces = 0;
    let detect_ms = median(runs, || {
        faces = detector.detect(&image)?.len();
        Ok(())
    })?;
    let total_ms = median(runs, || {
        faces = find_faces(&detector, &landmarker, &image)?.faces.len();
        Ok(())
    })?;
    println!(
        "find_faces on {} ({:.1} MP, {faces} faces; median of {runs}): {total_ms:.0} ms = detection {detect_ms:.0} ms \
         (whole photo + 3×3 tiles) + landmarks {:.0} ms (4 facemesh passes and one iris pass per face); decoding took {decode_ms:.0} ms more",
        photo.display(),
        (image.width * image.height) as f64 / 1e6,
        total_ms - detect_ms
    );
    Ok(())
}

/// One end-to-end protection of `photo`: decode, find faces (on `device`), search on `search`
/// (medium strength, every step timed), paste back, encode.
fn time_protect(dir: &Path, device: &Device, search: &Backend, photo: &Path, steps: usize) -> anyhow::Result<()> {
    use facecloak_protect::{DEFAULT_SURROGATES, Mode, Strength, Surrogate, protect};
    let detector = Detector::new(crate::load_model(dir, "blazeface")?, device)?;
    let landmarker = crate::load_landmarker(dir, device)?;
    let autodiff = search.device().clone().autodiff();
    let surrogates = DEFAULT_SURROGATES
        .iter()
        .map(|name| Ok(Surrogate::new(name, crate::load_model(dir, name)?, &autodiff)?))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let refs: Vec<&Surrogate> = surrogates.iter().collect();
    let targets = facecloak_protect::Makeup::default().resolve()?.targets;
    let mut settings = Strength::Medium.settings();
    settings.steps = steps;
    // Early stopping would make the time depend on how easy the face is: time every step.
    settings.patience = usize::MAX;
    eprintln!(
        "timing protect on {} ({steps} steps per face, medium, {} surrogates, search on {})…",
        photo.display(),
        refs.len(),
        search.info()
    );
    let start = Instant::now();
    let bytes = std::fs::read(photo).with_context(|| photo.display().to_string())?;
    let image = Image::decode(&bytes, Image::DEFAULT_MAX_PIXELS)?;
    let found = find_faces(&detector, &landmarker, &image)?;
    let found_at = start.elapsed().as_secs_f64();
    let mut step_times = Vec::new();
    let mut last = 0.0f32;
    // On a GPU, also the kernels each step dispatches (a step ends in reading its gradients,
    // so every launch it queued has been issued when the next step's report comes).
    let watch = (search.info().kind == BackendKind::Gpu).then(Watch::start);
    let (mut step_kernels, mut launched_before) = (Vec::new(), 0);
    let protected = protect(&image, &found.faces, &refs, &targets, &Mode::Dodge, &settings, &mut |_, step| {
        step_times.push(step.elapsed - last);
        last = if step.step == step.steps { 0.0 } else { step.elapsed };
        if let Some(watch) = &watch {
            let launched = watch.launched();
            // The first step of a face also holds its set-up (embedding the unchanged face).
            if step.step > 1 {
                step_kernels.push(launched - launched_before);
            }
            launched_before = launched;
        }
        std::ops::ControlFlow::Continue(())
    })?;
    let _ = protected.image.encode_jpeg(95)?;
    let total = start.elapsed().as_secs_f64();
    step_times.sort_by(f32::total_cmp);
    let median = step_times.get(step_times.len() / 2).copied().unwrap_or(0.0);
    println!(
        "protect {} ({:.1} MP, {} faces, {steps} steps each, medium, {} surrogates, EOT on, search on {}): \
         {total:.1} s end to end (decode + faces {found_at:.1} s); median step {:.0} ms{}",
        photo.display(),
        (image.width * image.height) as f64 / 1e6,
        found.faces.len(),
        DEFAULT_SURROGATES.join(" + "),
        search.info().name,
        median * 1e3,
        kernels_per_step(&mut step_kernels)
    );
    Ok(())
}

/// ", N kernels per step (fusion on|off)": the median over steps after each face's first, or
/// nothing where none were counted (the CPU, or a single step).
fn kernels_per_step(counts: &mut [u64]) -> String {
    counts.sort_unstable();
    match counts.get(counts.len() / 2) {
        Some(median) => format!(
            ", {median} kernels per step (fusion {})",
            if facecloak_device::dispatches::fusion_disabled() { "off" } else { "on" }
        ),
        None => String::new(),
    }
}

fn node_version() -> String {
    Command::new("node")
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}
