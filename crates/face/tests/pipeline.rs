//! The face pipeline end to end on real photos: generator-space framing, makeup regions on the
//! right features, gradients from each recognizer's crop back into generator space, and
//! paste-back that touches each face's region and nothing else.

use burn::tensor::{Device, Tensor, TensorData};
use facecloak_device::{Backend, CpuBackend};
use facecloak_face::align::{arcface_similarity, loose_similarity};
use facecloak_face::mesh::five_points;
use facecloak_face::{Detector, Framed, GENERATOR_SIZE, Image, Landmarker, Region, Warp, find_faces, paste};
use facecloak_testdata::{human_models, load_model, repo_root, shared};
use facecloak_tfjs::Executor;

fn cpu() -> Device {
    Backend::cpu(CpuBackend::Flex).device().clone()
}

fn decode(path: &std::path::Path) -> Image {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Image::decode(&bytes, Image::DEFAULT_MAX_PIXELS).unwrap()
}

fn astronaut() -> Image {
    decode(&repo_root().join("fixtures/astronaut.png"))
}

struct Pipeline {
    detector: Detector,
    landmarker: Landmarker,
}

impl Pipeline {
    fn new(models: &std::path::Path, device: &Device) -> Pipeline {
        Pipeline {
            detector: Detector::new(load_model(models, "blazeface"), device).unwrap(),
            landmarker: Landmarker::new(load_model(models, "facemesh"), device).unwrap(),
        }
    }

    fn faces(&self, image: &Image) -> Vec<(facecloak_face::Face, Framed)> {
        let found = find_faces(&self.detector, &self.landmarker, image).unwrap();
        found.faces.into_iter().map(|(face, mesh)| (face, Framed::new(&mesh).unwrap())).collect()
    }
}

/// Weighted centroid of a mask.
fn centroid(mask: &[f32], size: usize) -> (f32, f32, f32) {
    let (mut sx, mut sy, mut total) = (0.0, 0.0, 0.0);
    for (i, m) in mask.iter().enumerate() {
        sx += m * (i % size) as f32;
        sy += m * (i / size) as f32;
        total += m;
    }
    (sx / total, sy / total, total)
}

/// On real faces each region sits on its feature, in generator space: lips between the mouth
/// corners, eyeshadow above its own eye, brows above the eyeshadow, blush below and outside the
/// eyes, skin away from eyes and lips; every mask is soft (0–1, with values in between).
#[test]
fn makeup_regions_sit_on_their_features() {
    let Some(models) = human_models() else { return };
    let pipeline = Pipeline::new(&models, &cpu());
    let mut photos = vec![("astronaut".to_string(), astronaut())];
    if let Some(shared) = shared() {
        for name in ["barack1.jpg", "hillary2.jpg", "leonard2.jpg"] {
            let path = shared.join("faces").join(name);
            if path.exists() {
                photos.push((name.to_string(), decode(&path)));
            }
        }
    }
    for (name, photo) in photos {
        let (_, framed) = pipeline.faces(&photo).into_iter().next().unwrap_or_else(|| panic!("{name}: no face"));
        let regions = &framed.regions;
        let n = GENERATOR_SIZE;
        let five = five_points(&framed.landmarks);
        let [eye_l, eye_r, nose, mouth_l, mouth_r] = five;
        for region in Region::ALL {
            let mask = regions.mask(region);
            assert!(mask.iter().all(|m| (0.0..=1.0).contains(m)), "{name}: {} outside 0-1", region.name());
            assert!(mask.iter().any(|m| *m > 0.05 && *m < 0.95), "{name}: {} is not feathered", region.name());
        }
        let at = |region: Region| centroid(regions.mask(region), n);
        let (lx, ly, _) = at(Region::Lips);
        assert!(
            lx > mouth_l.x && lx < mouth_r.x && (ly - (mouth_l.y + mouth_r.y) / 2.0).abs() < 12.0,
            "{name}: lips at ({lx}, {ly})"
        );
        for (region, eye) in [(Region::EyelidLeft, eye_l), (Region::EyelidRight, eye_r)] {
            let (x, y, _) = at(region);
            assert!(
                (x - eye.x).abs() < 12.0 && y < eye.y && y > eye.y - 20.0,
                "{name}: {} at ({x}, {y}), eye {eye:?}",
                region.name()
            );
        }
        let (_, brows_y, _) = at(Region::Brows);
        assert!(brows_y < at(Region::EyelidLeft).1, "{name}: brows below the eyeshadow");
        let (_, liner_y, _) = at(Region::Eyeliner);
        assert!(
            liner_y < eye_l.y + 2.0 && liner_y > eye_l.y - 12.0,
            "{name}: eyeliner at y {liner_y}, eyes at {}",
            eye_l.y
        );
        for (region, outside) in [(Region::CheekLeft, eye_l.x + 8.0), (Region::CheekRight, eye_r.x - 8.0)] {
            let (x, y, _) = at(region);
            let beside = if region == Region::CheekLeft { x < outside } else { x > outside };
            assert!(beside && y > eye_l.y && y < mouth_l.y, "{name}: {} at ({x}, {y})", region.name());
        }
        let skin = regions.mask(Region::Skin);
        let value = |p: facecloak_face::Point| skin[p.y.round() as usize * n + p.x.round() as usize];
        assert!(value(eye_l) < 0.1 && value(eye_r) < 0.1, "{name}: foundation on the eyes");
        assert!(value(nose) > 0.8, "{name}: no foundation on the nose ({})", value(nose));
        let lips_middle = facecloak_face::Point::new(lx, ly);
        assert!(value(lips_middle) < 0.1, "{name}: foundation on the lips");
        // Paste-back's region holds every makeup region.
        for region in Region::ALL {
            assert!(
                regions.mask(region).iter().zip(regions.face()).all(|(m, f)| f >= m),
                "{name}: {} outside the face",
                region.name()
            );
        }
    }
}

/// A change pasted into each face of a group photo changes pixels only inside that face's
/// region; everything else stays bit-identical, and faces do not affect one another (pasting in
/// either order gives the same photo).
#[test]
fn paste_back_touches_each_face_and_nothing_else() {
    let Some(models) = human_models() else { return };
    let Some(shared) = shared() else { return };
    let pipeline = Pipeline::new(&models, &cpu());
    let photo = decode(&shared.join("faces/groups/sample5.jpg"));
    let faces: Vec<Framed> = pipeline.faces(&photo).into_iter().map(|(_, f)| f).collect();
    assert_eq!(faces.len(), 5);
    let n = GENERATOR_SIZE;
    // A strong change: +60 red, −60 blue everywhere in generator space.
    let change = Image { width: n, height: n, data: (0..n * n * 3).map(|i| [60.0, 0.0, -60.0][i % 3]).collect() };
    let original = photo.to_rgb8();
    let mut forward = photo.clone();
    let mut changed_by: Vec<Vec<usize>> = Vec::new();
    for face in &faces {
        let before = forward.to_rgb8();
        let touched = paste::paste(&mut forward, &face.to_generator, &change, face.regions.face()).unwrap();
        let after = forward.to_rgb8();
        let changed: Vec<usize> =
            (0..photo.width * photo.height).filter(|&i| before[i * 3..][..3] != after[i * 3..][..3]).collect();
        assert!(
            changed.len() > 1000 && changed.len() <= touched,
            "{} pixels changed, {touched} touched",
            changed.len()
        );
        // Each changed pixel maps into this face's region.
        let from = face.to_generator;
        for &i in &changed {
            let g = from.apply(facecloak_face::Point::new((i % photo.width) as f32, (i / photo.width) as f32));
            let (x, y) =
                (g.x.round().clamp(0.0, (n - 1) as f32) as usize, g.y.round().clamp(0.0, (n - 1) as f32) as usize);
            let inside = (-1..=1).any(|dy: i64| {
                (-1..=1).any(|dx: i64| {
                    let (xx, yy) = (
                        (x as i64 + dx).clamp(0, n as i64 - 1) as usize,
                        (y as i64 + dy).clamp(0, n as i64 - 1) as usize,
                    );
                    face.regions.face()[yy * n + xx] > 0.0
                })
            });
            assert!(inside, "pixel {i} changed outside the face's region");
        }
        changed_by.push(changed);
    }
    let mut backward = photo.clone();
    for face in faces.iter().rev() {
        paste::paste(&mut backward, &face.to_generator, &change, face.regions.face()).unwrap();
    }
    assert_eq!(forward.to_rgb8(), backward.to_rgb8(), "the order of faces matters");
    let pasted = forward.to_rgb8();
    let all_changed: std::collections::HashSet<usize> = changed_by.iter().flatten().copied().collect();
    let mut untouched = 0;
    for i in 0..photo.width * photo.height {
        if !all_changed.contains(&i) {
            assert_eq!(original[i * 3..][..3], pasted[i * 3..][..3], "pixel {i} changed");
            untouched += 1;
        }
    }
    println!(
        "sample5: {} faces, {} pixels changed, {untouched} pixels bit-identical ({:.1}%)",
        faces.len(),
        all_changed.len(),
        100.0 * untouched as f64 / (photo.width * photo.height) as f64
    );
    // No pixel changed twice: the five faces' regions do not overlap on this photo.
    assert_eq!(all_changed.len(), changed_by.iter().map(Vec::len).sum::<usize>());
}

/// The attack's path: generator-space pixels → each recognizer's crop (a burn warp, with the
/// photo filling whatever the generator square does not cover) → embedding → loss. The
/// gradient reaches generator space, sits on the face, and matches a finite difference of the
/// real recognizer along the gradient.
#[test]
fn gradients_flow_from_recognizer_crops_into_generator_space() {
    let Some(models) = human_models() else { return };
    let device = cpu();
    let pipeline = Pipeline::new(&models, &device);
    let photo = astronaut();
    let (face, framed) = pipeline.faces(&photo).into_iter().next().expect("the astronaut's face");
    let n = GENERATOR_SIZE;
    let generator = framed.crop(&photo);
    let five = five_points(&framed.landmarks);
    let gen_to_photo = framed.to_generator.inverse();
    let crops = [
        ("mobileface", 112, arcface_similarity(&five).unwrap()),
        ("faceres", 224, gen_to_photo.then(&loose_similarity(face.center, face.width, face.height))),
    ];
    let autodiff = device.clone().autodiff();
    for (name, side, gen_to_crop) in crops {
        let recognizer = Executor::new(load_model(&models, name), &autodiff).unwrap();
        let input = recognizer.model().image_input().unwrap().0.to_owned();
        let warp = Warp::similarity((n, n), (side, side), &gen_to_crop, &autodiff);
        // Outside the generator square the crop shows the photo, which the attack cannot change.
        let background = framed.to_generator.then(&gen_to_crop).warp(&photo, side, side);
        let uncovered: Vec<f32> = warp.coverage().iter().flat_map(|c| [1.0 - c; 3]).collect();
        let background: Vec<f32> = background.data.iter().zip(&uncovered).map(|(b, u)| b * u).collect();
        let background = Tensor::<4>::from_data(TensorData::new(background, [1, side, side, 3]), &autodiff);
        let embed = |g: Tensor<4>| {
            let crop = warp.apply(g).unwrap() + background.clone();
            let outputs = recognizer.run(&[(&input, crop)]).unwrap();
            let out = outputs.into_iter().max_by_key(|o| o.shape.iter().product::<usize>()).unwrap();
            out.tensor.reshape([1, -1])
        };
        let g0 = Tensor::<4>::from_data(TensorData::new(generator.data.clone(), [1, n, n, 3]), &autodiff);
        let clean = embed(g0.clone()).detach();
        // Loss: squared distance of the embedding to a fixed other point (the clean embedding
        // shifted), so the gradient is not zero at the start.
        let target = clean.clone() * 0.9;
        let loss = |g: Tensor<4>| (embed(g) - target.clone()).square().sum();
        let g = g0.clone().require_grad();
        let grads = loss(g.clone()).backward();
        let grad = g.grad(&grads).unwrap().into_data().convert::<f32>().try_to_vec::<f32>().unwrap();
        let face_mask = framed.regions.face();
        let (mut inside, mut outside) = (0f64, 0f64);
        for (i, v) in grad.iter().enumerate() {
            if face_mask[i / 3] > 0.5 { inside += v.abs() as f64 } else { outside += v.abs() as f64 }
        }
        println!("{name}: |gradient| on the face {inside:.3e}, off it {outside:.3e}");
        assert!(inside > 0.0 && inside > outside, "{name}: the gradient is not on the face");
        // Directional derivative vs central difference, along the gradient itself (scaled to
        // at most one grey level per pixel): a direction where the derivative is large, so that
        // neither f32 rounding nor ReLU kinks swamp it.
        let largest = grad.iter().fold(0f32, |m, g| m.max(g.abs()));
        let v: Vec<f32> = grad.iter().map(|g| g / largest).collect();
        let analytic: f64 = grad.iter().zip(&v).map(|(g, v)| *g as f64 * *v as f64).sum();
        let eps = 0.25f32;
        let at = |sign: f32| {
            let moved: Vec<f32> = generator.data.iter().zip(&v).map(|(g, d)| g + sign * eps * d).collect();
            let t = Tensor::<4>::from_data(TensorData::new(moved, [1, n, n, 3]), &autodiff);
            loss(t).into_scalar::<f32>() as f64
        };
        let numeric = (at(1.0) - at(-1.0)) / (2.0 * eps as f64);
        println!("{name}: directional derivative {analytic:.5e}, finite difference {numeric:.5e}");
        assert!(
            (analytic - numeric).abs() <= 0.05 * numeric.abs().max(analytic.abs()),
            "{name}: {analytic} vs {numeric}"
        );
    }
}
