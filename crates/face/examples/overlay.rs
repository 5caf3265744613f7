//! Draws what the face pipeline finds — boxes, keypoints, the 478 refined landmarks — over a photo.
//!
//!   cargo run -p facecloak-face --example overlay -- PHOTO OUT.png
//!
//! Models come from `models/human-models` (scripts/setup) or `FACECLOAK_HUMAN_MODELS`.

use std::path::PathBuf;

use facecloak_device::{Backend, CpuBackend};
use facecloak_face::{Detector, Image, Landmarker, debug, find_faces};
use facecloak_testdata::{human_models, load_model};

fn main() {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [photo, out] = &args[..] else {
        eprintln!("usage: overlay PHOTO OUT.png");
        std::process::exit(2);
    };
    let Some(models) = human_models() else { std::process::exit(1) };
    let device = Backend::cpu(CpuBackend::Flex).device().clone();
    let detector = Detector::new(load_model(&models, "blazeface"), &device).expect("blazeface");
    let landmarker = Landmarker::new(load_model(&models, "facemesh"), &device)
        .expect("facemesh")
        .with_iris(load_model(&models, "iris"), &device)
        .expect("iris");
    let bytes = std::fs::read(photo).unwrap_or_else(|e| panic!("{}: {e}", photo.display()));
    let image = Image::decode(&bytes, Image::DEFAULT_MAX_PIXELS).unwrap_or_else(|e| panic!("{}: {e}", photo.display()));
    let start = std::time::Instant::now();
    let found = find_faces(&detector, &landmarker, &image).expect("the models run");
    for small in &found.too_small {
        println!("  too small to protect: {:.0} px at ({:.0}, {:.0})", small.width, small.center.x, small.center.y);
    }
    let (faces, meshes): (Vec<_>, Vec<_>) = found.faces.into_iter().map(|(face, mesh)| (face, mesh.refined())).unzip();
    println!("{}: {} faces in {:.0} ms", photo.display(), faces.len(), start.elapsed().as_secs_f64() * 1e3);
    for f in &faces {
        println!("  centre ({:.0}, {:.0}) size {:.0} score {:.2}", f.center.x, f.center.y, f.width, f.score);
    }
    let drawn = debug::overlay(&image, &faces, &meshes);
    let png = drawn.encode_png().unwrap_or_else(|e| panic!("{}: {e}", out.display()));
    std::fs::write(out, png).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
}
