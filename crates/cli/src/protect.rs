//! `facecloak protect`: every face in every photo, protected, written next to a JSON sidecar.
//!
//! Each output is written to a temporary file in the output directory and renamed into place,
//! so a failure never leaves a partial photo. A photo that cannot be read (or has no face) is
//! reported and the batch goes on; the exit code is non-zero when any photo failed.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use burn::tensor::Device;
use facecloak_device::{Backend, BackendChoice, BackendInfo, BackendKind, CpuBackend};
use facecloak_face::{Detector, Face, Framed, Image, Landmarker, Mesh, find_faces};
use facecloak_makeup::{presets, reference};
use facecloak_protect::report::Role;
use facecloak_protect::{
    Attack, DEFAULT_SURROGATES, Expert, Goal, INDEPENDENT_JUDGE, Job, MAX_REFERENCES, Makeup, ProtectReport,
    ProtectRequest, Reference, ResolvedMakeup, Strength, Surrogate, Wardrobe,
};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;

use crate::batch::{self, Failure, Item, Log};
use crate::{load_model, models_dir};

#[derive(clap::Args)]
pub struct Args {
    /// Photos to protect (JPEG, PNG or WebP).
    #[arg(required_unless_present = "manifest")]
    inputs: Vec<PathBuf>,
    /// A CSV of photos instead: a header naming the photo's column (`file`, `photo` or `path`,
    /// relative to the CSV), `identity` and optionally `target` (a photo to impersonate, with
    /// --mode impersonate). Outputs keep the manifest's folders under --out, each photo is
    /// protected on its own (no shared look: shards must not depend on each other), and
    /// `pairs.csv` for `facecloak eval --pairs` is written beside them.
    #[arg(long, conflicts_with = "inputs")]
    manifest: Option<PathBuf>,
    /// Protect only the K-th of N shares (K from 0): photos by a stable hash of their path, so
    /// shards never overlap and a re-run picks the same ones (`--shard $SLURM_ARRAY_TASK_ID/N`).
    #[arg(long, value_name = "K/N")]
    shard: Option<crate::batch::Shard>,
    /// Skip photos whose protected copy and report are already in --out (a killed run goes on
    /// where it stopped).
    #[arg(long)]
    resume: bool,
    /// Where protected photos (same name and format, no metadata) and their NAME.json go.
    #[arg(short, long)]
    out: PathBuf,
    /// The makeup, in words: "berry lipstick, smoky eyeshadow", "pink eyeshadows with red lipstick".
    #[arg(long, conflicts_with_all = ["preset", "reference"])]
    makeup: Option<String>,
    /// A named look: natural, berry (the default), smoky, coral, glam, plum.
    #[arg(long, conflicts_with = "reference")]
    preset: Option<String>,
    /// Take the makeup colours from the face in this photo.
    #[arg(long)]
    reference: Option<PathBuf>,
    /// Dodge (not recognised as yourself) or impersonate (recognised as --target).
    #[arg(long, default_value = "dodge", value_parser = crate::goal_parser())]
    mode: Goal,
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
    seed: u32,
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
    /// Where the search runs: the CPU, wgpu on Vulkan, or `auto`: whichever of the two runs one
    /// search step's recognizer passes faster here, timed on both before the batch (the choice
    /// and its numbers are printed and in every report).
    #[arg(long, value_enum, default_value_t = BackendArg::Cpu)]
    backend: BackendArg,
    /// The surrogate recognizers to attack (leave one out to test transfer to it). The
    /// independent judge, face-recognition-net, only scores the result unless --attack-all.
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_SURROGATES.map(str::to_string))]
    surrogates: Vec<String>,
    /// Attack the independent judge (face-recognition-net) too: then no score is independent.
    #[arg(long)]
    attack_all: bool,
    /// Another photo of the person (up to 3, repeat the flag): the report then says, per
    /// recognizer, whether it matched the original to it and whether it matches the protected
    /// face ("does it still recognise me?").
    #[arg(long = "verify-with", value_name = "IMG")]
    verify_with: Vec<PathBuf>,
    /// Directory with the face models.
    #[arg(long)]
    models: Option<PathBuf>,
    /// Print each photo's report on stdout, one JSON line per photo, instead of text: the same
    /// document as its NAME.EXT.json sidecar (`{input, error}` for a photo that failed).
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
enum BackendArg {
    Cpu,
    Wgpu,
    Auto,
}

/// `--backend auto`: Vulkan if it starts and is faster at `surrogates`' passes than the CPU.
fn choose_backend(dir: &Path, surrogates: &[String], cpu: &Backend) -> anyhow::Result<Backend> {
    let gpu = match Backend::vulkan() {
        Ok(gpu) => gpu,
        Err(error) => {
            eprintln!("backend auto: the CPU, because {error}");
            return Ok(Backend::cpu_fallback(error.to_string()));
        }
    };
    // Read and parsed once, put on each device in turn.
    let models =
        surrogates.iter().map(|name| Ok((name, load_model(dir, name)?))).collect::<anyhow::Result<Vec<_>>>()?;
    let time = |backend: &Backend| -> anyhow::Result<f64> {
        let device = backend.device().clone().autodiff();
        let loaded = models
            .iter()
            .map(|(name, model)| Ok(Surrogate::new(name, model.clone(), &device)?))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let refs: Vec<&Surrogate> = loaded.iter().collect();
        Ok(facecloak_protect::step_time::recognizer_step_ms(&refs)?)
    };
    eprintln!("backend auto: timing a search step's recognizer passes on {} and on the CPU…", gpu.info().adapter);
    let choice = BackendChoice::between(gpu.info().adapter.clone(), time(&gpu)?, time(cpu)?, cpu.info().threads);
    eprintln!("backend auto: {choice}");
    Ok(match choice.chosen {
        BackendKind::Gpu => gpu,
        BackendKind::Cpu => cpu.clone(),
    }
    .with_choice(choice))
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
        BackendArg::Cpu => cpu.clone(),
        BackendArg::Wgpu => Backend::vulkan().context("starting wgpu on Vulkan")?,
        BackendArg::Auto => choose_backend(&dir, &args.surrogates, &cpu)?,
    };
    let device: Device = search_backend.device().clone().autodiff();
    let finder = Finder {
        detector: Detector::new(load_model(&dir, "blazeface")?, cpu.device())?,
        landmarker: crate::load_landmarker(&dir, cpu.device())?,
    };
    if args.surrogates.iter().any(|s| s == INDEPENDENT_JUDGE) && !args.attack_all {
        bail!("{INDEPENDENT_JUDGE} is the independent judge: pass --attack-all to attack it too");
    }
    if args.verify_with.len() > MAX_REFERENCES {
        bail!("--verify-with: at most {MAX_REFERENCES} photos, not {}", args.verify_with.len());
    }
    // The surrogates, then the judge: attacked or only judging, as the request's `attack` says.
    let mut names = args.surrogates.clone();
    if !names.iter().any(|s| s == INDEPENDENT_JUDGE) {
        names.push(INDEPENDENT_JUDGE.to_owned());
    }
    let recognizers = names
        .iter()
        .map(|name| Ok(Surrogate::new(name, load_model(&dir, name)?, &device)?))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let recognizer_refs: Vec<&Surrogate> = recognizers.iter().collect();
    let references = args
        .verify_with
        .iter()
        .map(|path| {
            let image = read(path, args.max_pixels)?;
            let found = find_faces(&finder.detector, &finder.landmarker, &image)?;
            let name =
                path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
            Ok(Reference::embed(&name, &image, &found, &recognizer_refs)?)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;

    let request = request(&args);
    // Checked once for the batch (and the steps known for the progress bars).
    let steps = request.settings()?.steps;
    let makeup = match &request.makeup {
        Makeup::Reference(_) => {
            let path = args.reference.as_ref().context("a reference look needs --reference IMG")?;
            let (image, _, mesh) = finder.largest(path, args.max_pixels)?;
            let framed = Framed::new(&mesh).context("the reference face's landmarks are degenerate")?;
            let targets =
                reference::from_reference(&framed.crop(&image), &framed.regions, facecloak_makeup::DEFAULT_INTENSITY);
            ResolvedMakeup::from_reference(&path.display().to_string(), targets)
        }
        _ => request.makeup.resolve()?,
    };
    // Every word not understood is said, not dropped (and is in each report).
    if !makeup.report.not_understood.is_empty() {
        eprintln!("makeup: not understood: {}", makeup.report.not_understood.join(", "));
    }
    if !makeup.report.no_region.is_empty() {
        eprintln!("makeup: no region named for: {}", makeup.report.no_region.join("; "));
    }
    let all = match &args.manifest {
        Some(manifest) => batch::from_manifest(manifest, &args.out)?,
        None => batch::from_inputs(&args.inputs, &args.out)?,
    };
    let total = all.len();
    let items: Vec<Item> = all.into_iter().filter(|item| args.shard.is_none_or(|s| s.holds(&item.name))).collect();
    if let Some(shard) = args.shard {
        eprintln!("shard {shard}: {} of {total} photos", items.len());
    }
    if request.mode == Goal::Impersonate && args.target.is_none() && items.iter().any(|i| i.target.is_none()) {
        bail!("--mode impersonate needs --target IMG (or a target column in the manifest)");
    }
    // Each target embedded once, however many photos aim at it.
    let targets = RefCell::new(std::collections::HashMap::<PathBuf, Vec<Vec<f32>>>::new());
    let target_of = |item: &Item| -> anyhow::Result<Option<Vec<Vec<f32>>>> {
        let Some(path) =
            (request.mode == Goal::Impersonate).then(|| item.target.as_ref().or(args.target.as_ref())).flatten()
        else {
            return Ok(None);
        };
        if let Some(known) = targets.borrow().get(path) {
            return Ok(Some(known.clone()));
        }
        let (image, face, mesh) = finder.largest(path, args.max_pixels)?;
        let embedded = recognizers.iter().map(|s| s.embed_face(&image, &face, &mesh)).collect::<Result<Vec<_>, _>>()?;
        targets.borrow_mut().insert(path.clone(), embedded.clone());
        Ok(Some(embedded))
    };
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let suffix = args.shard.map_or(String::new(), |s| format!(".{}", s.suffix()));
    let log_path = args.out.join(format!("protect-log{suffix}.json"));
    let mut log = Log { shard: args.shard.map(|s| s.to_string()), ..Log::default() };
    // Dataset runs keep a log; a few photos named on the command line get their outputs only.
    let keeps_log = args.manifest.is_some() || args.shard.is_some() || args.resume;

    // One batch is one set: the same person wears the same pigments in every photo of it.
    let wardrobe = RefCell::new(Wardrobe::default());
    let shared = Shared {
        args: &args,
        finder: &finder,
        recognizers: &recognizer_refs,
        references: &references,
        wardrobe: args.manifest.is_none().then_some(&wardrobe),
        backend: search_backend.info(),
        request: &request,
        makeup: &makeup,
        steps,
    };
    for (i, item) in items.iter().enumerate() {
        let label = format!("[{}/{}] {}", i + 1, items.len(), item.input.display());
        if args.resume && item.done() {
            log.skipped.push(item.name.clone());
            if !args.json {
                println!("{label}: done by an earlier run, skipped");
            }
        } else {
            batch::remove_partials(&item.output);
            batch::remove_partials(&item.sidecar());
            match target_of(item).and_then(|target| protect_one(&shared, item, target.as_deref(), &label)) {
                Ok(report) => {
                    log.done.push(item.name.clone());
                    if args.json {
                        println!("{}", serde_json::to_string(&report)?);
                    } else {
                        print_summary(&label, &report);
                    }
                }
                Err(e) => {
                    log.failed.push(Failure { photo: item.name.clone(), reason: format!("{e:#}") });
                    if args.json {
                        println!("{}", json!({"input": item.input.display().to_string(), "error": format!("{e:#}")}));
                    } else {
                        eprintln!("{label}: failed: {e:#}");
                    }
                }
            }
        }
        if keeps_log {
            write_atomically(&log_path, serde_json::to_string_pretty(&log)?.as_bytes())?;
        }
    }
    if args.manifest.is_some() {
        write_pairs(&args.out.join(format!("pairs{suffix}.csv")), &items, &args.out)?;
    }
    if !log.failed.is_empty() {
        let see = if keeps_log { format!(" (see {})", log_path.display()) } else { String::new() };
        bail!("{} of {} photos could not be protected{see}", log.failed.len(), items.len());
    }
    Ok(())
}

/// `pairs.csv` for `facecloak eval --pairs`: each finished photo's original (resolved, so that
/// eval finds it in the gallery), its protected copy (relative to `out`, where the file is), its
/// person and, when impersonating, the target's person (the target photo's stem when the
/// manifest does not list it).
fn write_pairs(path: &Path, items: &[Item], out: &Path) -> anyhow::Result<()> {
    let mut csv = String::from("original,protected,identity,target\n");
    for item in items.iter().filter(|i| i.done()) {
        let original = std::fs::canonicalize(&item.input).unwrap_or_else(|_| item.input.clone());
        let protected = item.output.strip_prefix(out).unwrap_or(&item.output);
        let target = item.target.as_ref().map(|t| {
            items
                .iter()
                .find(|i| i.input == *t)
                .and_then(|i| i.identity.clone())
                .unwrap_or_else(|| t.file_stem().unwrap_or_default().to_string_lossy().into_owned())
        });
        let _ = writeln!(
            csv,
            "{},{},{},{}",
            original.display(),
            protected.display(),
            item.identity.as_deref().unwrap_or(""),
            target.unwrap_or_default()
        );
    }
    write_atomically(path, csv.as_bytes())
}

/// The request the arguments make: the same document the browser sends.
fn request(args: &Args) -> ProtectRequest {
    let makeup = if let Some(text) = &args.makeup {
        Makeup::Prompt(text.clone())
    } else if let Some(path) = &args.reference {
        Makeup::Reference(path.display().to_string())
    } else {
        Makeup::Preset(args.preset.clone().unwrap_or_else(|| presets::DEFAULT.to_owned()))
    };
    ProtectRequest {
        makeup,
        strength: args.strength,
        mode: args.mode,
        faces: None,
        seed: args.seed,
        preview_every: 0,
        expert: Expert {
            steps: args.steps,
            margin: args.margin,
            learning_rate: args.learning_rate,
            naturalness: args.naturalness,
            structure: args.structure,
            patience: args.patience,
            no_eot: args.no_eot,
        },
        attack: if args.attack_all { Attack::All } else { Attack::KeepJudge },
        // A batch is one set (one look per person across it); a single photo, or a manifest's
        // (which shards split between machines), stands alone.
        set: (args.manifest.is_none() && args.inputs.len() > 1).then_some(1),
    }
}

/// What every photo of the batch is protected with.
struct Shared<'a> {
    args: &'a Args,
    finder: &'a Finder,
    recognizers: &'a [&'a Surrogate],
    references: &'a [Reference],
    /// The batch's shared look (none for a manifest's independent photos).
    wardrobe: Option<&'a RefCell<Wardrobe>>,
    backend: &'a BackendInfo,
    request: &'a ProtectRequest,
    makeup: &'a ResolvedMakeup,
    /// Most steps per face.
    steps: usize,
}

fn protect_one(
    shared: &Shared,
    item: &Item,
    target: Option<&[Vec<f32>]>,
    label: &str,
) -> anyhow::Result<ProtectReport> {
    let args = shared.args;
    let input = item.input.as_path();
    let photo = read(input, args.max_pixels)?;
    let found = find_faces(&shared.finder.detector, &shared.finder.landmarker, &photo)?;
    for small in &found.too_small {
        eprintln!("{label}: {}", crate::too_small(small));
    }
    let steps = shared.steps;
    let faces = found.faces.len();
    let bar = if args.json || !std::io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        ProgressBar::new((faces * steps) as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} steps, ETA {eta} · {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_prefix(label.to_owned());
    let job = Job {
        photo: &photo,
        found: &found,
        recognizers: shared.recognizers,
        target,
        references: shared.references,
        wardrobe: shared.wardrobe,
        backend: shared.backend,
    };
    let (protected, mut report) = facecloak_protect::run(shared.request, shared.makeup, &job, &mut |step, _| {
        bar.set_position((step.face * steps + step.step) as u64);
        let sims: Vec<String> = step.similarities.iter().map(|s| format!("{} {:.2}", s.name, s.similarity)).collect();
        bar.set_message(format!("face {}/{faces}: {}", step.face + 1, sims.join(", ")));
        ControlFlow::Continue(())
    })?;
    bar.finish_and_clear();

    let output = item.output.clone();
    if let Some(folder) = output.parent() {
        std::fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
    }
    let extension = input.extension().map(|e| e.to_string_lossy().to_lowercase()).unwrap_or_default();
    let bytes = match extension.as_str() {
        "jpg" | "jpeg" => protected.encode_jpeg(args.quality)?,
        "webp" => protected.encode_webp()?,
        _ => protected.encode_png()?,
    };
    report.input = Some(input.display().to_string());
    report.output = Some(output.display().to_string());
    write_atomically(&output, &bytes)?;
    // The report last: a photo counts as done (--resume) only once both are whole.
    write_atomically(&item.sidecar(), serde_json::to_string_pretty(&report)?.as_bytes())?;
    Ok(report)
}

/// The report in words, for a person at a terminal.
fn print_summary(label: &str, report: &ProtectReport) {
    println!(
        "{label}: {} face(s) protected in {:.1} s, SSIM {:.4}, PSNR {} → {}",
        report.faces.len(),
        report.seconds,
        report.ssim,
        report.psnr_db.map_or("∞".to_owned(), |p| format!("{p:.1} dB")),
        report.output.as_deref().unwrap_or("")
    );
    let reference = match report.request.mode {
        Goal::Dodge => "similarity to the original",
        Goal::Impersonate => "similarity to the target",
    };
    for (k, face) in report.faces.iter().enumerate() {
        let sims: Vec<String> = face
            .recognizers
            .iter()
            .map(|r| {
                let verdict = match r.verdict {
                    facecloak_protect::report::Verdict::Protected => "",
                    facecloak_protect::report::Verdict::Unprotected => " (not protected)",
                };
                let judge = if r.role == Role::Judge { " [judge, not attacked]" } else { "" };
                format!("{} {:.3}{verdict}{judge}", r.name, r.after)
            })
            .collect();
        println!(
            "  face {}: {} steps{}: {reference} {}",
            k + 1,
            face.steps,
            if face.converged { ", converged" } else { "" },
            sims.join(", ")
        );
        if let Some(check) = &face.verification {
            println!("    against {}: {}", check.photos.join(", "), check.says);
            for r in &check.recognizers {
                let pairs: Vec<String> =
                    r.references.iter().map(|m| format!("{} {:.3} → {:.3}", m.photo, m.before, m.after)).collect();
                println!("      {} (threshold {:.3}): {}", r.name, r.threshold, pairs.join(", "));
            }
        }
        if let Some(n) = &face.naturalness {
            println!(
                "    makeup: left/right {:.1} ΔE, bare-skin hue {:.2}, lip spill {:.0} %, mean change {:.1} ΔE{}",
                n.symmetry,
                n.bare_skin_hue,
                n.lip_spill * 100.0,
                n.mean_change,
                if face.over_limits.is_empty() {
                    String::new()
                } else {
                    format!(" — over a limit: {}", face.over_limits.join("; "))
                }
            );
        }
    }
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
