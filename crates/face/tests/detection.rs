//! Finding faces in real photos (blazeface, confirmed by facemesh's presence score): one face
//! in each single-person photo of `../shared/faces`, and in the group photos the number of
//! faces a person counts in them.

use facecloak_device::{Backend, CpuBackend};
use facecloak_face::{Detector, Face, Image, Landmarker, find_faces};
use facecloak_testdata::{human_models, labelled_faces, load_model, shared};

struct Finder(Detector, Landmarker);

impl Finder {
    fn new() -> Option<Finder> {
        let models = human_models()?;
        let device = Backend::cpu(CpuBackend::Flex).device().clone();
        Some(Finder(
            Detector::new(load_model(&models, "blazeface"), &device).unwrap(),
            Landmarker::new(load_model(&models, "facemesh"), &device).unwrap(),
        ))
    }

    fn detect(&self, image: &Image) -> Result<Vec<Face>, facecloak_face::ModelError> {
        Ok(find_faces(&self.0, &self.1, image)?.faces.into_iter().map(|(face, _)| face).collect())
    }
}

fn decode(path: &std::path::Path) -> Image {
    Image::decode(&std::fs::read(path).unwrap(), Image::DEFAULT_MAX_PIXELS)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_single_person_photo_has_exactly_one_face() {
    let Some(detector) = Finder::new() else { return };
    let Some(faces) = labelled_faces() else { return };
    let mut wrong = Vec::new();
    for face in &faces {
        let found = detector.detect(&decode(&face.path)).unwrap();
        if found.len() != 1 {
            wrong.push(format!(
                "{}: {} faces (scores {:?})",
                face.path.display(),
                found.len(),
                found.iter().map(|f| f.score).collect::<Vec<_>>()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

/// Counted by looking at each photo (and at the overlay example's drawing of what was found):
/// sample1 three people (and a chair that blazeface takes for a face), sample2 three, sample3
/// three (and a hand), sample4 four, sample5 five on a staircase, sample6 four.
#[test]
fn group_photos_have_the_faces_a_person_counts() {
    let Some(detector) = Finder::new() else { return };
    let Some(shared) = shared() else { return };
    for (photo, people) in [(1, 3), (2, 3), (3, 3), (4, 4), (5, 5), (6, 4)] {
        let path = shared.join(format!("faces/groups/sample{photo}.jpg"));
        let found = detector.detect(&decode(&path)).unwrap();
        assert_eq!(
            found.len(),
            people,
            "{}: scores {:?}",
            path.display(),
            found.iter().map(|f| f.score).collect::<Vec<_>>()
        );
    }
}

/// No face is an outcome, not an error; a face below the minimum size is reported, not dropped.
#[test]
fn no_face_and_too_small_faces_are_reported() {
    let Some(finder) = Finder::new() else { return };
    let blank = Image { width: 300, height: 200, data: vec![128.0; 300 * 200 * 3] };
    let found = find_faces(&finder.0, &finder.1, &blank).unwrap();
    assert!(found.no_face(), "{found:?}");

    // The astronaut shrunk to 128×128 (her face ~26 px) in the middle of a grey 200×200 photo.
    let astronaut = decode(&facecloak_testdata::repo_root().join("fixtures/astronaut.png"));
    let small = astronaut.crop_square(0.0, 0.0, 512.0, 128);
    let mut photo = Image { width: 200, height: 200, data: vec![128.0; 200 * 200 * 3] };
    for y in 0..128 {
        let (from, to) = (y * 128 * 3, ((y + 36) * 200 + 36) * 3);
        photo.data[to..to + 128 * 3].copy_from_slice(&small.data[from..from + 128 * 3]);
    }
    let found = find_faces(&finder.0, &finder.1, &photo).unwrap();
    assert!(found.faces.is_empty() && found.too_small.len() == 1, "{found:?}");
    assert!(!found.no_face());
}

/// A crowd: 36 faces in one photo, a 6×6 grid of the astronaut's face at 150 px, alternately
/// mirrored and at three sizes (48 to 72 px faces), each found once, at its own cell.
#[test]
fn a_photo_with_36_faces_yields_36() {
    let Some(finder) = Finder::new() else { return };
    let astronaut = decode(&facecloak_testdata::repo_root().join("fixtures/astronaut.png"));
    let (cell, grid) = (150usize, 6usize);
    let side = cell * grid;
    let mut photo = Image { width: side, height: side, data: vec![90.0; side * side * 3] };
    for row in 0..grid {
        for col in 0..grid {
            let k = row * grid + col;
            // Her face is about 105 px of the 512 portrait around (224, 126): vary the zoom.
            let region = [230.0, 270.0, 320.0][k % 3];
            let tile = astronaut.crop_square(224.0 - region / 2.0, 140.0 - region / 2.0, region, cell);
            for y in 0..cell {
                for x in 0..cell {
                    let sx = if k % 2 == 1 { cell - 1 - x } else { x };
                    let to = ((row * cell + y) * side + col * cell + x) * 3;
                    photo.data[to..to + 3].copy_from_slice(&tile.data[(y * cell + sx) * 3..][..3]);
                }
            }
        }
    }
    let found = finder.detect(&photo).unwrap();
    let mut cells: Vec<usize> =
        found.iter().map(|f| (f.center.y as usize / cell) * grid + f.center.x as usize / cell).collect();
    cells.sort_unstable();
    cells.dedup();
    assert_eq!((found.len(), cells.len()), (36, 36), "faces found per cell: {cells:?}");
}
