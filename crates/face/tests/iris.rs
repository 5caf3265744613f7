//! Refined eyes on real faces: the iris model's lids lie where facemesh's do (to within a small
//! part of the eye), each iris sits inside its own eye's opening with a plausible size, and the
//! refined mesh keeps facemesh's other points. A crop taken on the wrong eye, mirrored the
//! wrong way or mapped back through the wrong frame puts the lids across the eye (corners
//! swapped) or off it, and fails here.

use facecloak_device::{Backend, CpuBackend};
use facecloak_face::iris::REFINED_LANDMARKS;
use facecloak_face::mesh::LANDMARKS;
use facecloak_face::regions::EYES;
use facecloak_face::{Detector, Image, Landmarker, Point, find_faces};
use facecloak_testdata::{human_models, labelled_faces, load_model, repo_root};

fn distance(a: Point, b: Point) -> f32 {
    (a.x - b.x).hypot(a.y - b.y)
}

/// Whether `p` is inside the polygon `ring`.
fn inside(p: Point, ring: &[Point]) -> bool {
    let mut inside = false;
    for (i, a) in ring.iter().enumerate() {
        let b = ring[(i + 1) % ring.len()];
        if (a.y > p.y) != (b.y > p.y) && p.x < a.x + (p.y - a.y) * (b.x - a.x) / (b.y - a.y) {
            inside = !inside;
        }
    }
    inside
}

#[test]
fn refined_eyes_sit_on_the_eyes() {
    let Some(models) = human_models() else { return };
    let device = Backend::cpu(CpuBackend::Flex).device().clone();
    let detector = Detector::new(load_model(&models, "blazeface"), &device).unwrap();
    let landmarker = Landmarker::new(load_model(&models, "facemesh"), &device)
        .unwrap()
        .with_iris(load_model(&models, "iris"), &device)
        .unwrap();
    let mut photos = vec![repo_root().join("fixtures/astronaut.png")];
    photos.extend(labelled_faces().unwrap_or_default().into_iter().step_by(4).take(8).map(|f| f.path));
    let mut checked = 0;
    for path in photos {
        let image = Image::decode(&std::fs::read(&path).unwrap(), Image::DEFAULT_MAX_PIXELS).unwrap();
        let found = find_faces(&detector, &landmarker, &image).unwrap();
        for (_, mesh) in &found.faces {
            let eyes = mesh.eyes.as_ref().expect("the landmarker has the iris model");
            let refined = mesh.refined();
            assert_eq!(refined.len(), REFINED_LANDMARKS);
            for (k, contour) in EYES.iter().enumerate() {
                let raw: Vec<Point> = contour.iter().map(|&i| mesh.points[i]).collect();
                let new: Vec<Point> = contour.iter().map(|&i| refined[i]).collect();
                let width = distance(raw[0], raw[8]);
                let moved = raw.iter().zip(&new).map(|(&a, &b)| distance(a, b)).fold(0f32, f32::max);
                // The iris of this eye: 473–477 for the first (33/133) eye, 468–472 for the other.
                let iris = &refined[if k == 0 { LANDMARKS + 5 } else { LANDMARKS }..][..5];
                let radius = iris[1..].iter().map(|&p| distance(p, iris[0])).sum::<f32>() / 4.0;
                println!(
                    "{} eye {k}: width {width:.1} px, lid points moved ≤ {moved:.2} px ({:.0} %), iris radius {:.2} of the width, depth Δ {:.1}",
                    path.file_name().unwrap().to_string_lossy(),
                    100.0 * moved / width,
                    radius / width,
                    eyes.depth_difference
                );
                assert!(
                    moved < 0.25 * width,
                    "{}: eye {k}'s refined lids are {moved:.1} px off facemesh's",
                    path.display()
                );
                assert!(inside(iris[0], &new), "{}: eye {k}'s iris centre is outside its eye", path.display());
                assert!(
                    (0.12..0.32).contains(&(radius / width)),
                    "{}: eye {k}'s iris radius {radius:.1} px",
                    path.display()
                );
            }
            // The points the iris model does not refine are facemesh's.
            for i in [1, 10, 61, 152, 291] {
                assert_eq!(refined[i], mesh.points[i]);
            }
            checked += 1;
        }
    }
    assert!(checked >= 1, "no face was checked");
}
