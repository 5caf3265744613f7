//! `facecloak faces`: what the face pipeline finds in photos, with `--debug` pictures to check it
//! at a glance.
//!
//! Per photo it prints every face (box, score), the faces too small to protect, or that there is
//! none; a photo that cannot be read is reported and the batch goes on. With `--debug DIR` it
//! writes, per photo, `NAME.faces.png` (boxes, keypoints, the 468 landmarks),
//! `NAME.regions.png` (the makeup regions, tinted, pasted back onto the photo the way makeup
//! will be) and `NAME.generator.png` (each face in generator space with its regions tinted).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use facecloak_device::{Backend, CpuBackend};
use facecloak_face::{Detector, Framed, Image, debug, find_faces};

use crate::{load_model, models_dir};

#[derive(clap::Args)]
pub struct Args {
    /// Photos (JPEG, PNG or WebP).
    #[arg(required = true)]
    photos: Vec<PathBuf>,
    /// Directory with the face models (NAME.json + shards).
    #[arg(long)]
    models: Option<PathBuf>,
    /// Write debug pictures into this directory.
    #[arg(long)]
    debug: Option<PathBuf>,
    /// Use the 128×128 front-camera detector (selfies: one large face).
    #[arg(long)]
    selfie: bool,
    /// Refuse photos with more pixels than this.
    #[arg(long, default_value_t = Image::DEFAULT_MAX_PIXELS)]
    max_pixels: u64,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let dir = models_dir(args.models);
    let device = Backend::cpu(CpuBackend::Flex).device().clone();
    let detector =
        Detector::new(load_model(&dir, if args.selfie { "blazeface-front" } else { "blazeface" })?, &device)?;
    let landmarker = crate::load_landmarker(&dir, &device)?;
    if let Some(out) = &args.debug {
        std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    }
    let (mut failed, total) = (0, args.photos.len());
    for (i, photo) in args.photos.iter().enumerate() {
        print!("[{}/{total}] {}: ", i + 1, photo.display());
        let image = match std::fs::read(photo)
            .map_err(anyhow::Error::from)
            .and_then(|bytes| Image::decode(&bytes, args.max_pixels).map_err(anyhow::Error::from))
        {
            Ok(image) => image,
            Err(e) => {
                println!("skipped: {e}");
                failed += 1;
                continue;
            }
        };
        let start = Instant::now();
        let found = find_faces(&detector, &landmarker, &image)?;
        let ms = start.elapsed().as_secs_f64() * 1e3;
        if found.no_face() {
            println!("no face found ({}×{}, {ms:.0} ms)", image.width, image.height);
        } else {
            println!("{} face(s) ({}×{}, {ms:.0} ms)", found.faces.len(), image.width, image.height);
        }
        for (face, mesh) in &found.faces {
            println!(
                "  face at ({:.0}, {:.0}), {:.0}×{:.0} px, score {:.2}, landmark presence {:.2}",
                face.center.x, face.center.y, face.width, face.height, face.score, mesh.presence
            );
        }
        for face in &found.too_small {
            println!("  {}", crate::too_small(face));
        }
        if let Some(out) = &args.debug {
            write_debug(out, photo, &image, &found)?;
        }
    }
    if failed > 0 {
        println!("{failed} of {total} photos could not be read");
    }
    Ok(())
}

fn write_debug(out: &Path, photo: &Path, image: &Image, found: &facecloak_face::Faces) -> anyhow::Result<()> {
    let stem = photo.file_stem().unwrap_or_default().to_string_lossy();
    let (faces, meshes): (Vec<_>, Vec<_>) = found.faces.iter().map(|(f, m)| (f.clone(), m.points.clone())).unzip();
    let mut boxes: Vec<_> = faces.clone();
    boxes.extend(found.too_small.iter().cloned());
    let framed: Vec<Framed> = found.faces.iter().filter_map(|(_, mesh)| Framed::new(mesh)).collect();
    let pictures = [
        ("faces", debug::overlay(image, &boxes, &meshes)),
        ("regions", debug::regions(image, &framed)),
        (
            "generator",
            debug::gallery(&framed.iter().map(|f| debug::tint(&f.crop(image), &f.regions)).collect::<Vec<_>>()),
        ),
    ];
    for (kind, picture) in pictures {
        let path = out.join(format!("{stem}.{kind}.png"));
        std::fs::write(&path, picture.encode_png()?).with_context(|| format!("writing {}", path.display()))?;
        println!("  wrote {}", path.display());
    }
    Ok(())
}
