//! 468 facemesh landmarks per face, from a rotation-corrected crop.
//!
//! As MediaPipe does it: a square region 1.5× the face, centred on it and rotated so that the
//! eyes are level, is resized to 192×192; facemesh returns (x, y, z) per landmark in crop
//! pixels, which map back through the same similarity. Further passes re-centre the region on
//! the previous pass's landmarks, which is what makes the points precise enough for
//! mobileface's five-point alignment. With the iris model ([`Landmarker::with_iris`]) each
//! eye is then refined on its own crop ([`crate::iris`]).

use burn::tensor::{Device, Tensor, TensorData};
use facecloak_tfjs::{Executor, Model};

use crate::iris::{Eyes, IrisModel};
use crate::{Face, Image, ModelError, Point, Similarity};

/// Landmarks per face.
pub const LANDMARKS: usize = 468;

/// Whether `points` is a whole mesh: facemesh's [`LANDMARKS`], or the refined
/// [`crate::iris::REFINED_LANDMARKS`] (the same 468 first, then the irises).
pub fn is_whole(points: &[Point]) -> bool {
    points.len() == LANDMARKS || points.len() == crate::iris::REFINED_LANDMARKS
}
/// Outer corners of the eye on the image's left and of the other eye.
const EYE_CORNERS: [usize; 2] = [33, 263];
/// Contour points whose mean is each eye's centre: image-left eye, then the other.
const EYES: [[usize; 4]; 2] = [[33, 133, 159, 145], [263, 362, 386, 374]];
const NOSE_TIP: usize = 1;
/// Mouth corners: image-left, then the other.
const MOUTH_CORNERS: [usize; 2] = [61, 291];
/// Side of the crop relative to the face's size (MediaPipe's; 1.3 and 1.7 both did worse).
const REGION_SCALE: f32 = 1.5;
/// Passes after the first, each re-centred on the previous landmarks. Landmark precision is
/// what mobileface's alignment lives on: on the shared faces its AUC went 0.943, 0.966, 0.970,
/// 0.972 with 0–3 refinements, then flattened (0.973 at 5).
const REFINEMENTS: usize = 3;

/// A face's landmarks.
#[derive(Debug, Clone, PartialEq)]
pub struct Mesh {
    /// The 468 points, in image coordinates.
    pub points: Vec<Point>,
    /// facemesh's face-presence score (0–1) for the detector's region: low when the detector
    /// fired on something that is not a face.
    pub presence: f32,
    /// The eyes refined by the iris model, when the landmarker has it.
    pub eyes: Option<Eyes>,
}

impl Mesh {
    /// The landmarks the makeup is drawn on: with refined eyes, facemesh's points with the
    /// iris model's lids, rings and brows put in and both irises appended (478 points,
    /// [`crate::iris::REFINED_LANDMARKS`]); without, facemesh's 468. The recognizers' crops
    /// are aligned on [`Mesh::points`] alone, as their thresholds were calibrated.
    pub fn refined(&self) -> Vec<Point> {
        match &self.eyes {
            Some(eyes) => eyes.refine(&self.points),
            None => self.points.clone(),
        }
    }
}

/// facemesh on a burn device.
pub struct Landmarker {
    executor: Executor,
    input: String,
    iris: Option<IrisModel>,
}

impl Landmarker {
    /// Wraps a loaded `facemesh` model.
    pub fn new(model: Model, device: &Device) -> Result<Landmarker, ModelError> {
        let Some((input, _)) = model.image_input().map(|(name, side)| (name.to_owned(), side)) else {
            return Err(ModelError::Outputs { model: "facemesh", problem: "the model has no input".into() });
        };
        Ok(Landmarker { executor: Executor::new(model, device)?, input, iris: None })
    }

    /// Refines each face's eyes with a loaded `iris` model ([`Mesh::eyes`]).
    pub fn with_iris(self, model: Model, device: &Device) -> Result<Landmarker, ModelError> {
        Ok(Landmarker { iris: Some(IrisModel::new(model, device)?), ..self })
    }

    /// The 468 landmarks of `face` in image coordinates (x, y; depth dropped), and facemesh's
    /// confidence that the detector's region holds a face.
    pub fn landmarks(&self, image: &Image, face: &Face) -> Result<Mesh, ModelError> {
        let [left_eye, right_eye] = [face.keypoints[0], face.keypoints[1]];
        let (mut points, mut depths, presence) =
            self.pass(image, face.center, face.width.max(face.height), angle(left_eye, right_eye))?;
        for _ in 0..REFINEMENTS {
            let (center, extent, rotation) = region(&points);
            (points, depths, _) = self.pass(image, center, extent, rotation)?;
        }
        let eyes = match &self.iris {
            Some(iris) => Some(iris.eyes(image, &points, &depths)?),
            None => None,
        };
        Ok(Mesh { points, presence, eyes })
    }

    /// One facemesh pass: the points in image coordinates, their depths (crop units), presence.
    fn pass(
        &self,
        image: &Image,
        center: Point,
        size: f32,
        rotation: f32,
    ) -> Result<(Vec<Point>, Vec<f32>, f32), ModelError> {
        let side = size * REGION_SCALE;
        let scale = 192.0 / side;
        let (c, s) = (rotation.cos(), rotation.sin());
        // Image → crop: rotate by −rotation about the centre, scale, centre at pixel 95.5.
        let (a, b) = (scale * c, -scale * s);
        let to_crop =
            Similarity { a, b, tx: 95.5 - (a * center.x - b * center.y), ty: 95.5 - (b * center.x + a * center.y) };
        let crop = to_crop.warp(image, 192, 192);
        let data: Vec<f32> = crop.data.iter().map(|&v| v / 255.0).collect();
        let input = Tensor::<4>::from_data(TensorData::new(data, [1, 192, 192, 3]), self.executor.device());
        let outputs = self.executor.run(&[(&self.input, input)])?;
        let mesh = outputs.iter().find(|o| o.shape == [1, LANDMARKS * 3]).ok_or_else(|| ModelError::Outputs {
            model: "facemesh",
            problem: format!("no output of shape [1, {}]", LANDMARKS * 3),
        })?;
        let values = crate::read_output("facemesh", &mesh.tensor)?;
        let presence = match outputs.iter().find(|o| o.shape == [1, 1]) {
            Some(flag) => crate::read_output("facemesh", &flag.tensor)?,
            None => Vec::new(),
        };
        let (points, depths) = landmarks_from(&values, &to_crop.inverse())?;
        Ok((points, depths, presence.first().copied().unwrap_or(0.0)))
    }
}

/// facemesh's (x, y, z) values in crop pixels → the points in image coordinates (through
/// `back`) and their depths. Anything but all [`LANDMARKS`] is an error: the next pass and
/// every caller index the mesh by landmark number.
fn landmarks_from(values: &[f32], back: &Similarity) -> Result<(Vec<Point>, Vec<f32>), ModelError> {
    if values.len() != LANDMARKS * 3 {
        return Err(ModelError::Outputs {
            model: "facemesh",
            problem: format!("{} values where {LANDMARKS} landmarks need {}", values.len(), LANDMARKS * 3),
        });
    }
    // facemesh's coordinates have pixel edges at integers; ours have centres there.
    let points = values.chunks_exact(3).map(|p| back.apply(Point::new(p[0] - 0.5, p[1] - 0.5))).collect();
    let depths = values.chunks_exact(3).map(|p| p[2]).collect();
    Ok((points, depths))
}

/// The region of the next pass: centre, side and rotation from the previous landmarks.
fn region(mesh: &[Point]) -> (Point, f32, f32) {
    let (lo, hi) = bounds(mesh);
    let center = Point::new((lo.x + hi.x) / 2.0, (lo.y + hi.y) / 2.0);
    let rotation = angle(mesh[EYE_CORNERS[0]], mesh[EYE_CORNERS[1]]);
    // The landmarks' extent, measured in the face's own (rotated) frame.
    let (c, s) = (rotation.cos(), rotation.sin());
    let along = |p: &Point| ((p.x - center.x) * c + (p.y - center.y) * s, -(p.x - center.x) * s + (p.y - center.y) * c);
    let extent = mesh.iter().map(along).fold(0f32, |m, (u, v)| m.max(u.abs()).max(v.abs())) * 2.0;
    (center, extent, rotation)
}

/// The angle of the line from `a` to `b` (0 when level, positive clockwise on screen).
fn angle(a: Point, b: Point) -> f32 {
    (b.y - a.y).atan2(b.x - a.x)
}

fn bounds(points: &[Point]) -> (Point, Point) {
    let lo = points.iter().fold(Point::new(f32::MAX, f32::MAX), |m, p| Point::new(m.x.min(p.x), m.y.min(p.y)));
    let hi = points.iter().fold(Point::new(f32::MIN, f32::MIN), |m, p| Point::new(m.x.max(p.x), m.y.max(p.y)));
    (lo, hi)
}

/// The five ArcFace points (eye centres, nose tip, mouth corners; image-left first) from 468
/// landmarks.
pub fn five_points(mesh: &[Point]) -> [Point; 5] {
    let eye = |k: usize| Point::mean(&EYES[k].map(|i| mesh[i]));
    [eye(0), eye(1), mesh[NOSE_TIP], mesh[MOUTH_CORNERS[0]], mesh[MOUTH_CORNERS[1]]]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A short or failed read is a typed error: before, it became an empty mesh, and the next
    /// pass's `mesh[33]` panicked (in wasm: a dead worker).
    #[test]
    fn a_short_read_is_an_error_not_an_empty_mesh() {
        let identity = Similarity { a: 1.0, b: 0.0, tx: 0.0, ty: 0.0 };
        for len in [0, 3, LANDMARKS * 3 - 1, LANDMARKS * 3 + 3] {
            let err = landmarks_from(&vec![0.0; len], &identity).unwrap_err();
            assert!(err.to_string().contains("facemesh"), "{err}");
        }
        let values: Vec<f32> = (0..LANDMARKS * 3).map(|i| i as f32).collect();
        let (points, depths) = landmarks_from(&values, &identity).unwrap();
        assert_eq!((points.len(), depths.len()), (LANDMARKS, LANDMARKS));
        // Pixel edges → centres, and the third value of each triple is the depth.
        assert_eq!((points[1].x, points[1].y, depths[1]), (2.5, 3.5, 5.0));
    }
}
