//! `facecloak calibrate`: each recognizer's threshold at FAR 1 % and 0.1 % on all
//! different-person pairs of a labelled photo set, printed as the table that
//! `crates/protect/src/thresholds.rs` commits.

use std::path::PathBuf;

use anyhow::Context;
use facecloak_device::{Backend, CpuBackend};
use facecloak_face::{Detector, Image, Landmarker, find_faces};
use facecloak_protect::{RECOGNIZERS, Surrogate, thresholds};

use crate::{load_model, manifest, models_dir};

#[derive(clap::Args)]
pub struct Args {
    /// The labelled photo set (default: ../shared/faces/MANIFEST.csv beside the repository).
    #[arg(long)]
    manifest: Option<PathBuf>,
    /// Directory with the face models.
    #[arg(long)]
    models: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let manifest_path = args.manifest.unwrap_or_else(manifest::default_path);
    let photos = manifest::read(&manifest_path)?;
    let dir = models_dir(args.models);
    let device = Backend::cpu(CpuBackend::Flex).device().clone();
    let detector = Detector::new(load_model(&dir, "blazeface")?, &device)?;
    let landmarker = Landmarker::new(load_model(&dir, "facemesh")?, &device)?;
    let recognizers = RECOGNIZERS
        .iter()
        .map(|r| Ok(Surrogate::uncalibrated(r.name, load_model(&dir, r.name)?, &device)?))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut embeddings: Vec<Vec<(String, Vec<f32>)>> = vec![Vec::new(); recognizers.len()];
    for (i, photo) in photos.iter().enumerate() {
        let name = photo.path.file_name().unwrap_or_default().to_string_lossy();
        eprint!("\r[{}/{}] {name:<40}", i + 1, photos.len());
        let bytes = std::fs::read(&photo.path).with_context(|| photo.path.display().to_string())?;
        let image = Image::decode(&bytes, Image::DEFAULT_MAX_PIXELS)?;
        let found = find_faces(&detector, &landmarker, &image)?;
        let Some((face, mesh)) =
            found.faces.iter().max_by(|a, b| (a.0.width * a.0.height).total_cmp(&(b.0.width * b.0.height)))
        else {
            anyhow::bail!("{}: no face found", photo.path.display());
        };
        for (k, recognizer) in recognizers.iter().enumerate() {
            embeddings[k].push((photo.identity.clone(), recognizer.embed_face(&image, face, mesh)?));
        }
    }
    eprintln!();
    let people = {
        let mut ids: Vec<&str> = photos.iter().map(|p| p.identity.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    };
    let pairs = thresholds::different_person_scores(&embeddings[0]).len();
    println!(
        "// {} labelled photos of {} ({people} people, {pairs} different-person pairs)",
        photos.len(),
        manifest_path.display()
    );
    println!("pub const CALIBRATED: [Calibrated; {}] = [", recognizers.len());
    for (k, recognizer) in recognizers.iter().enumerate() {
        let scores = thresholds::different_person_scores(&embeddings[k]);
        let far_1 = thresholds::at_far(&scores, 0.01).context("no different-person pairs")?;
        let far_01 = thresholds::at_far(&scores, 0.001).context("no different-person pairs")?;
        println!("    Calibrated {{ recognizer: {:?}, far_1: {far_1:.4}, far_01: {far_01:.4} }},", recognizer.name());
    }
    println!("];");
    Ok(())
}
