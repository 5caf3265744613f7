//! Before/after gallery of the makeup at each strength, to look at with one's own eyes, and
//! the naturalness measures of each face.
//!
//! ```sh
//! cargo run -p facecloak-protect --example gallery -- OUT.png [--old] [--prompt TEXT] PHOTO...
//! ```
//!
//! Each photo's largest face is protected (dodging, the three surrogates, seed 0) at low,
//! medium and high; a row per face shows the face before and at each strength in generator
//! space (256 px each), after paste-back and 8-bit rounding. `--old` uses the first,
//! unconstrained colour-field generator instead of the makeup model, for comparison.

use std::ops::ControlFlow;

use facecloak_device::{Backend, CpuBackend};
use facecloak_face::{Detector, Framed, Image, Landmarker, find_faces, paste};
use facecloak_makeup::naturalness::{self, LIMITS};
use facecloak_makeup::{Cosmetics, Generator, Synthesiser, prompt};
use facecloak_protect::search::{self, FaceView, Mode};
use facecloak_protect::{DEFAULT_SURROGATES, Strength, Surrogate, cosine};
use facecloak_testdata::{human_models, load_model};

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let old = args.iter().position(|a| a == "--old").map(|i| args.remove(i)).is_some();
    let text = match args.iter().position(|a| a == "--prompt") {
        Some(i) => {
            args.remove(i);
            args.remove(i)
        }
        None => "bold berry lipstick, natural mauve eyeshadow, subtle rose blush".to_owned(),
    };
    let (out, photos) = args.split_first().expect("usage: gallery OUT.png [--old] [--prompt TEXT] PHOTO...");
    let models = human_models().expect("the face models (scripts/setup)");
    let cpu = Backend::cpu(CpuBackend::Flex).device().clone();
    let device = cpu.clone().autodiff();
    let detector = Detector::new(load_model(&models, "blazeface"), &cpu).unwrap();
    let landmarker = Landmarker::new(load_model(&models, "facemesh"), &cpu)
        .unwrap()
        .with_iris(load_model(&models, "iris"), &cpu)
        .unwrap();
    let surrogates: Vec<Surrogate> = DEFAULT_SURROGATES
        .iter()
        .map(|name| Surrogate::new(name, load_model(&models, name), &device).unwrap())
        .collect();
    let refs: Vec<&Surrogate> = surrogates.iter().collect();
    let targets = prompt::parse(&text).targets;
    let mut rows: Vec<Vec<Image>> = Vec::new();
    println!("generator: {}; prompt: {text}", if old { "colour field (old)" } else { "makeup model" });
    println!(
        "| photo | strength | steps | symmetry | bare-skin hue | lip spill | eye spill | fine | mean ΔE | max pigment ΔE00 | {} |",
        DEFAULT_SURROGATES.join(" | ")
    );
    println!("|---|---|---|---|---|---|---|---|---|---|{}", "---|".repeat(DEFAULT_SURROGATES.len()));
    for path in photos {
        let photo = Image::decode(&std::fs::read(path).unwrap(), Image::DEFAULT_MAX_PIXELS).unwrap();
        let found = find_faces(&detector, &landmarker, &photo).unwrap();
        let (face, mesh) = found.into_largest().expect("a face");
        let framed = Framed::new(&mesh).unwrap();
        let crop = framed.crop(&photo);
        let own: Vec<Vec<f32>> = refs.iter().map(|s| s.embed_face(&photo, &face, &mesh).unwrap()).collect();
        let from_generator = framed.to_generator.inverse();
        let view = FaceView {
            photo: &photo,
            to_generator: framed.to_generator,
            crops: refs.iter().map(|s| from_generator.then(&s.crop().from_photo(&face, &mesh).unwrap())).collect(),
            own: own.clone(),
        };
        let mut row = vec![crop.clone()];
        for strength in [Strength::Low, Strength::Medium, Strength::High] {
            let settings = strength.settings();
            let cosmetics =
                Cosmetics::encode(&crop, &framed.landmarks, &framed.regions, &targets, &settings.bounds, &device)
                    .unwrap();
            let synth = Synthesiser::encode(&crop, &framed.regions, &targets, &device).unwrap();
            let generator: &dyn Generator = if old { &synth } else { &cosmetics };
            let outcome =
                search::search(generator, &view, &refs, &Mode::Dodge, &settings, &mut |_| ControlFlow::Continue(()))
                    .unwrap();
            let change = generator.render(&outcome.latent).into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
            let mut pasted = photo.clone();
            paste::paste(
                &mut pasted,
                &framed.to_generator,
                &Image { width: 256, height: 256, data: change },
                framed.regions.face(),
            )
            .unwrap();
            let saved = Image::from_rgb8(pasted.width, pasted.height, &pasted.to_rgb8());
            let after = framed.crop(&saved);
            let m = naturalness::measure(&crop, &after, &framed.landmarks, &framed.regions).unwrap();
            let worst_colour = if old {
                f32::NAN
            } else {
                let codes: Vec<Vec<f32>> = outcome
                    .latent
                    .codes
                    .iter()
                    .map(|c| c.clone().into_data().convert::<f32>().try_to_vec::<f32>().unwrap())
                    .collect();
                cosmetics.look(&codes).worst_colour()
            };
            let sims: Vec<String> = refs
                .iter()
                .zip(&own)
                .map(|(s, e)| format!("{:.2}", cosine(e, &s.embed_face(&saved, &face, &mesh).unwrap())))
                .collect();
            println!(
                "| {} | {strength:?} | {} | {:.2} | {:.2} | {:.3} | {:.3} | {:.2} | {:.2} | {worst_colour:.1} | {} |{}",
                std::path::Path::new(path).file_name().unwrap().to_string_lossy(),
                outcome.steps,
                m.symmetry,
                m.bare_skin_hue,
                m.lip_spill,
                m.eye_spill,
                m.fine_energy,
                m.mean_change,
                sims.join(" | "),
                if m.breaks(&LIMITS).is_empty() { "" } else { " over a limit" }
            );
            row.push(after);
        }
        rows.push(row);
    }
    // One row per face: before, low, medium, high.
    let (cols, side) = (4, 256);
    let mut grid =
        Image { width: cols * side, height: rows.len() * side, data: vec![255.0; cols * side * rows.len() * side * 3] };
    for (r, row) in rows.iter().enumerate() {
        for (c, image) in row.iter().enumerate() {
            for y in 0..side {
                for x in 0..side {
                    let to = ((r * side + y) * grid.width + c * side + x) * 3;
                    let from = (y * side + x) * 3;
                    grid.data[to..to + 3].copy_from_slice(&image.data[from..from + 3]);
                }
            }
        }
    }
    std::fs::write(out, grid.encode_png().unwrap()).unwrap();
    println!("wrote {out}: rows are faces; columns: before, low, medium, high");
}
