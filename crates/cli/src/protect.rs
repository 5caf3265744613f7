//! `facecloak protect`: every face in every photo, protected, written next to a JSON sidecar.
//!
//! Each output is written to a temporary file in the output directory and renamed into place,
//! so a failure never leaves a partial photo. A photo that cannot be read (or has no face) is
//! reported and the batch goes on; the exit code is non-zero when any photo failed.

use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use burn::tensor::Device;
use facecloak_device::{Backend, CpuBackend};
use facecloak_face::{Detector, Face, Framed, Image, Landmarker, Mesh, find_faces};
use facecloak_makeup::{Targets, presets, prompt, reference};
use facecloak_protect::{DEFAULT_SURROGATES, Mode, Strength, Surrogate, metrics, protect};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::{load_model, models_dir};

#[derive(clap::Args)]
pub struct Args {
    /// Photos to protect (JPEG, PNG or WebP).
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    /// Where protected photos (same name and format, no metadata) and their NAME.json go.
    #[arg(short, long)]
    out: PathBuf,
    /// The makeup, in words: "berry lipstick, smoky eyeshadow", "pink eyeshadows with red lipstick".
    #[arg(long, conflicts_with_all = ["preset", "reference"])]
    makeup: Option<String>,
    /// A named look: natural, berry, smoky, coral, glam, plum.
    #[arg(long, conflicts_with = "reference")]
    preset: Option<String>,
    /// Take the makeup colours from the face in this photo.
    #[arg(long)]
    reference: Option<PathBuf>,
    /// Dodge (not recognised as yourself) or impersonate (recognised as --target).
    #[arg(long, value_enum, default_value_t = crate::ModeChoice::Dodge)]
    mode: crate::ModeChoice,
    /// The face to impersonate (with --mode impersonate).
    #[arg(long, required_if_eq("mode", "impersonate"))]
    target: Option<PathBuf>,
    /// How hard to try: more steps and a larger margin past each recognizer's threshold.
    #[arg(long, default_value = "medium", value_parser = crate::strength_parser())]
    strength: Strength,
    /// Most search steps per face (default: the strength's).
    #[arg(long)]
    steps: Option<usize>,
    /// Seed of the search's random draws: the same seed gives the same photo.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// how far past each recognizer's threshold to push, as a share of 1 − its threshold (default: the strength's).
    #[arg(long, help_heading = "Expert")]
    margin: Option<f32>,
    /// Adam's learning rate on the latent codes.
    #[arg(long, help_heading = "Expert")]
    learning_rate: Option<f32>,
    /// weight of the makeup's unnaturalness (rough or large fine-scale codes).
    #[arg(long, help_heading = "Expert")]
    naturalness: Option<f32>,
    /// weight of (1 − SSIM) between made-up and original face.
    #[arg(long, help_heading = "Expert")]
    structure: Option<f32>,
    /// steps every recognizer must stay past its threshold before stopping early.
    #[arg(long, help_heading = "Expert")]
    patience: Option<usize>,
    /// no random transformations during the search (faster, less robust).
    #[arg(long, help_heading = "Expert")]
    no_eot: bool,
    /// Where the search runs.
    #[arg(long, value_enum, default_value_t = BackendChoice::Cpu)]
    backend: BackendChoice,
    /// The surrogate recognizers to attack (leave one out to test transfer to it).
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_SURROGATES.map(str::to_string))]
    surrogates: Vec<String>,
    /// Directory with the face models.
    #[arg(long)]
    models: Option<PathBuf>,
    /// Print one JSON object per photo on stdout instead of text.
    #[arg(long)]
    json: bool,
    /// JPEG quality of JPEG outputs.
    #[arg(long, default_value_t = 95)]
    quality: u8,
    /// Refuse photos with more pixels than this.
    #[arg(long, default_value_t = Image::DEFAULT_MAX_PIXELS)]
    max_pixels: u64,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum BackendChoice {
    Cpu,
    Wgpu,
}

/// The face pipeline on the CPU (small models, read back at once).
struct Finder {
    detector: Detector,
    landmarker: Landmarker,
}

impl Finder {
    fn largest(&self, path: &Path, max_pixels: u64) -> anyhow::Result<(Image, Face, Mesh)> {
        let image = read(path, max_pixels)?;
        let found = find_faces(&self.detector, &self.landmarker, &image)?;
        let (face, mesh) = found.into_largest().with_context(|| format!("{}: no face found", path.display()))?;
        Ok((image, face, mesh))
    }
}

fn read(path: &Path, max_pixels: u64) -> anyhow::Result<Image> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Image::decode(&bytes, max_pixels).with_context(|| path.display().to_string())
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let dir = models_dir(args.models.clone());
    let cpu = Backend::cpu(CpuBackend::Flex);
    let search_backend = match args.backend {
        BackendChoice::Cpu => cpu.clone(),
        BackendChoice::Wgpu => Backend::vulkan().context("starting wgpu on Vulkan")?,
    };
    let device: Device = search_backend.device().clone().autodiff();
    let finder = Finder {
        detector: Detector::new(load_model(&dir, "blazeface")?, cpu.device())?,
        landmarker: crate::load_landmarker(&dir, cpu.device())?,
    };
    let surrogates = args
        .surrogates
        .iter()
        .map(|name| Ok(Surrogate::new(name, load_model(&dir, name)?, &device)?))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let surrogate_refs: Vec<&Surrogate> = surrogates.iter().collect();

    // What the makeup should look like; every word not understood is said, not dropped.
    let (targets, makeup_note): (Targets, serde_json::Value) = if let Some(text) = &args.makeup {
        let parsed = prompt::parse(text);
        if !parsed.unknown.is_empty() {
            eprintln!("makeup: not understood: {}", parsed.unknown.join(", "));
        }
        if !parsed.unplaced.is_empty() {
            eprintln!("makeup: no region named for: {}", parsed.unplaced.join("; "));
        }
        let note = json!({"prompt": text, "not_understood": parsed.unknown, "no_region": parsed.unplaced});
        if parsed.targets.is_empty() {
            bail!(
                "the makeup prompt {text:?} names no region (lipstick, eyeshadow, eyeliner, blush, brows, foundation, contour, highlight)"
            );
        }
        (parsed.targets, note)
    } else if let Some(reference) = &args.reference {
        let (image, _, mesh) = finder.largest(reference, args.max_pixels)?;
        let framed = Framed::new(&mesh).context("the reference face's landmarks are degenerate")?;
        let targets =
            reference::from_reference(&framed.crop(&image), &framed.regions, facecloak_makeup::DEFAULT_INTENSITY);
        (targets, json!({"reference": reference.display().to_string()}))
    } else {
        let name = args.preset.as_deref().unwrap_or("natural");
        let Some(parsed) = presets::preset(name) else {
            bail!("unknown preset {name:?}; presets: {}", presets::PRESETS.map(|(n, _)| n).join(", "));
        };
        (parsed.targets, json!({"preset": name}))
    };

    let mode = match args.mode {
        crate::ModeChoice::Dodge => Mode::Dodge,
        crate::ModeChoice::Impersonate => {
            let path = args.target.as_ref().context("--mode impersonate needs --target IMG")?;
            let (image, face, mesh) = finder.largest(path, args.max_pixels)?;
            let targets =
                surrogates.iter().map(|s| s.embed_face(&image, &face, &mesh)).collect::<Result<Vec<_>, _>>()?;
            Mode::Impersonate { targets }
        }
    };
    let strength = args.strength;
    let mut settings = strength.settings();
    settings.seed = args.seed;
    if let Some(steps) = args.steps {
        settings.steps = steps;
    }
    settings.margin = args.margin.unwrap_or(settings.margin);
    settings.learning_rate = args.learning_rate.unwrap_or(settings.learning_rate);
    settings.naturalness = args.naturalness.unwrap_or(settings.naturalness);
    settings.structure = args.structure.unwrap_or(settings.structure);
    settings.patience = args.patience.unwrap_or(settings.patience);
    if args.no_eot {
        settings.eot = facecloak_protect::eot::EotSettings::none();
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;

    let mut failures = 0;
    for (i, input) in args.inputs.iter().enumerate() {
        let label = format!("[{}/{}] {}", i + 1, args.inputs.len(), input.display());
        match protect_one(&args, input, &finder, &surrogate_refs, &targets, &mode, &settings, &label) {
            Ok(report) => {
                let report = json!({"input": input.display().to_string(), "makeup": makeup_note, "strength": strength.name(), "backend": search_backend.info().name, "report": report});
                if args.json {
                    println!("{report}");
                }
            }
            Err(e) => {
                failures += 1;
                if args.json {
                    println!("{}", json!({"input": input.display().to_string(), "error": format!("{e:#}")}));
                } else {
                    eprintln!("{label}: failed: {e:#}");
                }
            }
        }
    }
    if failures > 0 {
        bail!("{failures} of {} photos could not be protected", args.inputs.len());
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn protect_one(
    args: &Args,
    input: &Path,
    finder: &Finder,
    surrogates: &[&Surrogate],
    targets: &Targets,
    mode: &Mode,
    settings: &facecloak_protect::Settings,
    label: &str,
) -> anyhow::Result<serde_json::Value> {
    let start = Instant::now();
    let photo = read(input, args.max_pixels)?;
    let found = find_faces(&finder.detector, &finder.landmarker, &photo)?;
    for small in &found.too_small {
        eprintln!("{label}: {}", crate::too_small(small));
    }
    if found.faces.is_empty() {
        bail!("no face found{}", if found.too_small.is_empty() { "" } else { " large enough to protect" });
    }
    let faces = found.faces.len();
    let bar = if args.json || !std::io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        ProgressBar::new((faces * settings.steps) as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} steps, ETA {eta} · {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(label.to_owned());
    let protected = protect(&photo, &found.faces, surrogates, targets, mode, settings, &mut |face, step| {
        bar.set_position((face * settings.steps + step.step) as u64);
        let sims: Vec<String> = step.similarities.iter().map(|(n, s)| format!("{n} {s:.2}")).collect();
        bar.set_message(format!("face {}/{faces}: {}", face + 1, sims.join(", ")));
        ControlFlow::Continue(())
    })?;
    bar.finish_and_clear();

    let name = input.file_name().context("the input has no file name")?;
    let output = args.out.join(name);
    let extension = input.extension().map(|e| e.to_string_lossy().to_lowercase()).unwrap_or_default();
    let bytes = match extension.as_str() {
        "jpg" | "jpeg" => protected.image.encode_jpeg(args.quality)?,
        "webp" => protected.image.encode_webp()?,
        _ => protected.image.encode_png()?,
    };
    let ssim = metrics::ssim(&photo, &protected.image)?;
    let psnr = metrics::psnr(&photo, &protected.image)?;
    let report = json!({
        "output": output.display().to_string(),
        "width": photo.width,
        "height": photo.height,
        "ssim": ssim,
        "psnr_db": if psnr.is_finite() { json!(psnr) } else { json!(null) },
        "seconds": start.elapsed().as_secs_f64(),
        "seed": settings.seed,
        "settings": {
            "max_steps": settings.steps, "margin": settings.margin, "learning_rate": settings.learning_rate,
            "naturalness": settings.naturalness, "structure": settings.structure, "patience": settings.patience,
            "eot": settings.eot != facecloak_protect::eot::EotSettings::none(),
        },
        "too_small": found.too_small.iter().map(|f| json!({"x": f.center.x, "y": f.center.y, "size": f.width.max(f.height)})).collect::<Vec<_>>(),
        "faces": protected.faces.iter().map(|f| json!({
            "box": {"x": f.face.center.x, "y": f.face.center.y, "width": f.face.width, "height": f.face.height},
            "steps": f.steps,
            "converged": f.converged,
            "skipped": f.skipped,
            "seconds": f.seconds,
            "recognizers": f.similarities.iter().map(|(n, t, s)| json!({
                "name": n, "threshold_far_1": t, "similarity_after": s, "still_matches": s > t,
            })).collect::<Vec<_>>(),
            "look": f.look,
            "naturalness": f.naturalness,
            "naturalness_limits": facecloak_makeup::naturalness::LIMITS,
            "colour_budget_delta_e": settings.bounds.colour,
        })).collect::<Vec<_>>(),
    });
    write_atomically(&output, &bytes)?;
    let sidecar = output.with_extension(format!("{extension}.json"));
    write_atomically(&sidecar, serde_json::to_string_pretty(&report)?.as_bytes())?;
    if !args.json {
        println!(
            "{label}: {faces} face(s) protected in {:.1} s, SSIM {ssim:.4}, PSNR {psnr:.1} dB → {}",
            start.elapsed().as_secs_f64(),
            output.display()
        );
        for (k, f) in protected.faces.iter().enumerate() {
            let sims: Vec<String> = f
                .similarities
                .iter()
                .map(|(n, t, s)| format!("{n} {s:.3}{}", if s > t { " (still matches)" } else { "" }))
                .collect();
            println!(
                "  face {}: {} steps{}: similarity to the original {}",
                k + 1,
                f.steps,
                if f.converged { ", converged" } else { "" },
                sims.join(", ")
            );
            if let Some(n) = &f.naturalness {
                let broken = n.breaks(&facecloak_makeup::naturalness::LIMITS);
                println!(
                    "    makeup: left/right {:.1} ΔE, bare-skin hue {:.2}, lip spill {:.0} %, mean change {:.1} ΔE{}",
                    n.symmetry,
                    n.bare_skin_hue,
                    n.lip_spill * 100.0,
                    n.mean_change,
                    if broken.is_empty() { String::new() } else { format!(" — over a limit: {}", broken.join("; ")) }
                );
            }
        }
    }
    Ok(report)
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so
/// that `path` is either the old file or the whole new one.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().context("no file name")?.to_string_lossy();
    let temporary = dir.join(format!(".{name}.{}.partial", std::process::id()));
    let result = std::fs::write(&temporary, bytes).and_then(|()| std::fs::rename(&temporary, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    result.with_context(|| format!("writing {}", path.display()))
}
