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
        Ok(find_faces(&self.0, &self.1, image)?.into_iter().map(|(face, _)| face).collect())
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
