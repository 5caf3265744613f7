//! # facecloak-face: from a photo to the crops the recognizers want
//!
//! Every later stage — the attack, the evaluation, the web app — needs the same few facts about
//! a photo: where the faces are ([`detect`], blazeface), where each face's 468 landmarks are
//! ([`mesh`], facemesh), and the crop each recognizer was trained on ([`align`]: ArcFace
//! five-point 112×112 for mobileface, the loose square 224×224 for faceres). Getting these
//! conventions wrong fails silently — a recognizer still returns embeddings, just useless ones —
//! so they live here once, and the recognizer-sanity test checks them on real faces.
//!
//! Images are [`Image`]s: RGB, f32 in 0–255, row-major, decoded by [`Image::decode`] with a
//! pixel limit checked before any pixel is allocated.

pub mod align;
pub mod blur;
pub mod debug;
pub mod detect;
mod image;
pub mod iris;
pub mod mesh;
pub mod parallel;
pub mod paste;
pub mod regions;
pub mod warp;

pub use crate::image::{Image, ImageError};
pub use align::{GENERATOR_SIZE, Point, Similarity};
pub use detect::{Detector, Face};
pub use mesh::{Landmarker, Mesh};
pub use regions::{Region, Regions};
pub use warp::Warp;

/// facemesh presence below this means the detector fired on something that is not a face.
pub const MIN_PRESENCE: f32 = 0.5;

/// Landmark boxes overlapping more than this are the same face.
const SAME_FACE_IOU: f32 = 0.5;

/// Faces whose box is narrower than this many photo pixels are reported as too small rather
/// than protected: the recognizers' crops would magnify them 3.5–7× (to 112 or 224 pixels),
/// so neither the attack nor its evaluation means much on them.
pub const MIN_FACE_SIZE: f32 = 32.0;

/// What a photo holds.
#[derive(Debug, Clone, Default)]
pub struct Faces {
    /// The faces, with their landmarks, best detection first.
    pub faces: Vec<(Face, Mesh)>,
    /// Faces found but smaller than [`MIN_FACE_SIZE`]: reported, never silently dropped.
    pub too_small: Vec<Face>,
}

impl Faces {
    /// Whether the photo has no face at all (not even a too-small one).
    pub fn no_face(&self) -> bool {
        self.faces.is_empty() && self.too_small.is_empty()
    }

    /// The face with the largest box (see [`largest`]).
    pub fn largest(&self) -> Option<&(Face, Mesh)> {
        largest(&self.faces)
    }

    /// [`Faces::largest`], taken out.
    pub fn into_largest(self) -> Option<(Face, Mesh)> {
        let index = largest_index(&self.faces)?;
        self.faces.into_iter().nth(index)
    }
}

/// The face with the largest detection box: the subject of a portrait, and the one face that
/// eval, calibration, a reference look and an impersonation target are taken from.
pub fn largest(faces: &[(Face, Mesh)]) -> Option<&(Face, Mesh)> {
    faces.get(largest_index(faces)?)
}

fn largest_index(faces: &[(Face, Mesh)]) -> Option<usize> {
    (0..faces.len()).max_by(|&a, &b| {
        let area = |k: usize| faces[k].0.width * faces[k].0.height;
        area(a).total_cmp(&area(b))
    })
}

/// Every face in `image` with its landmarks.
///
/// Each blazeface detection is confirmed by facemesh: its face-presence score on the region
/// rejects what blazeface alone takes for a face (a chair, a patch of wallpaper), and two
/// detections whose landmarks land on the same face are one face (blazeface fires twice on a
/// face that fills the frame: once on the face, once on an offset half of it). A photo without
/// faces is not an error: it comes back with [`Faces::no_face`] true, so that a batch goes on.
pub fn find_faces(detector: &Detector, landmarker: &Landmarker, image: &Image) -> Result<Faces, ModelError> {
    let mut found = Faces::default();
    let detections = detector.detect(image)?;
    let meshes = parallel::map(&detections, |face| landmarker.landmarks(image, face))?;
    for (face, mesh) in detections.into_iter().zip(meshes) {
        let duplicate = found.faces.iter().any(|(_, kept)| landmark_iou(&kept.points, &mesh.points) > SAME_FACE_IOU);
        if mesh.presence < MIN_PRESENCE || duplicate {
            continue;
        }
        if face.width.max(face.height) < MIN_FACE_SIZE {
            found.too_small.push(face);
        } else {
            found.faces.push((face, mesh));
        }
    }
    Ok(found)
}

/// A face seen in generator space: how the photo maps there, its landmarks there, and its
/// makeup regions.
#[derive(Debug, Clone, PartialEq)]
pub struct Framed {
    /// Photo → generator space ([`align::generator_space`]).
    pub to_generator: Similarity,
    /// The landmarks in generator-space pixels ([`Mesh::refined`]: 468, or 478 with irises).
    pub landmarks: Vec<Point>,
    /// The makeup regions on the [`GENERATOR_SIZE`] grid.
    pub regions: Regions,
}

impl Framed {
    /// Frames the face whose landmarks are `mesh`. `None` if its landmarks are degenerate.
    pub fn new(mesh: &Mesh) -> Option<Framed> {
        let to_generator = align::generator_space(&mesh::five_points(&mesh.points))?;
        // The makeup is drawn on the refined eyes where there are some.
        let landmarks: Vec<Point> = mesh.refined().iter().map(|&p| to_generator.apply(p)).collect();
        let regions = Regions::new(&landmarks, GENERATOR_SIZE)?;
        Some(Framed { to_generator, landmarks, regions })
    }

    /// The face in generator space: `photo` resampled to [`GENERATOR_SIZE`]².
    pub fn crop(&self, photo: &Image) -> Image {
        self.to_generator.warp(photo, GENERATOR_SIZE, GENERATOR_SIZE)
    }
}

/// Intersection over union of the bounding boxes of two landmark sets.
fn landmark_iou(a: &[Point], b: &[Point]) -> f32 {
    let bounds = |p: &[Point]| {
        p.iter().fold((f32::MAX, f32::MAX, f32::MIN, f32::MIN), |(x0, y0, x1, y1), q| {
            (x0.min(q.x), y0.min(q.y), x1.max(q.x), y1.max(q.y))
        })
    };
    let (a, b) = (bounds(a), bounds(b));
    let inter = (a.2.min(b.2) - a.0.max(b.0)).max(0.0) * (a.3.min(b.3) - a.1.max(b.1)).max(0.0);
    let area = |r: (f32, f32, f32, f32)| (r.2 - r.0).max(0.0) * (r.3 - r.1).max(0.0);
    let union = area(a) + area(b) - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}

/// A model's output read back to the host as f32s; a failed read is the model's error, never
/// an empty list that a caller would then index.
pub(crate) fn read_output(model: &'static str, tensor: &burn::tensor::Tensor<4>) -> Result<Vec<f32>, ModelError> {
    tensor
        .clone()
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .map_err(|e| ModelError::Outputs { model, problem: format!("its output could not be read: {e:?}") })
}

/// A model failed to load or run.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The model files are not a valid TFJS graph model.
    #[error(transparent)]
    Load(#[from] facecloak_tfjs::LoadError),
    /// The model could not run.
    #[error(transparent)]
    Exec(#[from] facecloak_tfjs::ExecError),
    /// The model's outputs are not what this stage expects.
    #[error("{model}: {problem}")]
    Outputs {
        /// Which model.
        model: &'static str,
        /// What is wrong.
        problem: String,
    },
}
