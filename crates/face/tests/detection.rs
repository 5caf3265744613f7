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
