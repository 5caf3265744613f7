//! Refined eyes: MediaPipe Iris on a 64×64 crop of each eye.
//!
//! facemesh places the eye contours from a 192-pixel crop of the whole face, so on a portrait
//! its lid line can sit a pixel or two off the lashes — enough for eyeliner to land on the
//! eyeball or shadow to stop short of the lash line. The iris model sees each eye alone, at
//! about three times facemesh's resolution, and returns 71 contour points (lids, the rings
//! around them, the brow) and 5 iris points (centre, then its right, top, left and bottom
//! edge). As MediaPipe and TensorFlow.js's facemesh pipeline do it: the crop is a square
//! [`ENLARGE`]× the eye's corner-to-corner width, centred between the corners and level with
//! the eyes, in 0–1 pixels; the model knows one eye, so the other eye's crop is mirrored going
//! in and its points mirrored coming out. [`Eyes::refine`] moves facemesh's lid points by the
//! refined lids' correction, the same on both eyes (the nearer eye's alone when the head is
//! turned: the corners' depths differ by [`TURNED_DEPTH`] or more).

use burn::tensor::{Device, Tensor, TensorData};
use facecloak_tfjs::{Executor, Model};

use crate::mesh::LANDMARKS;
use crate::{Image, ModelError, Point, Similarity};

/// The model's input side.
pub const SIDE: usize = 64;
/// Contour points per eye (MediaPipe Iris's first 71 outputs).
pub const CONTOUR: usize = 71;
/// Iris points per eye: centre, right, top, left, bottom.
pub const IRIS: usize = 5;
/// Landmarks of a refined mesh: facemesh's 468, then the iris of the eye whose corners are
/// 263/362 (indices 468–472), then the other's (473–477) — MediaPipe's 478-point topology.
pub const REFINED_LANDMARKS: usize = LANDMARKS + 2 * IRIS;

/// Crop side over the corner-to-corner width (MediaPipe's `ENLARGE_EYE_RATIO`).
const ENLARGE: f32 = 2.3;
/// facemesh depth (crop units) between the two eyes' outer corners at which the head counts as
/// turned (MediaPipe's threshold).
const TURNED_DEPTH: f32 = 30.0;

/// The eyes as facemesh numbers them: first the eye with corners 33 (outer) and 133 (inner),
/// on the image's left for a frontal face, then the one with 263/362, which the model sees
/// mirrored. Per eye, its upper and lower lid (MediaPipe's `MESH_ANNOTATIONS` `EyeUpper0`,
/// `EyeLower0`), outer end first.
const LIDS: [[&[usize]; 2]; 2] = [
    [&[246, 161, 160, 159, 158, 157, 173], &[33, 7, 163, 144, 145, 153, 154, 155, 133]],
    [&[466, 388, 387, 386, 385, 384, 398], &[263, 249, 390, 373, 374, 380, 381, 382, 362]],
];
/// For each lid of [`LIDS`], the iris model's points that stand for it (MediaPipe's
/// `MESH_TO_IRIS_INDICES_MAP`; its other entries, rings and brows, are not used).
const REFINED_LIDS: [&[usize]; 2] = [&[9, 10, 11, 12, 13, 14, 15], &[0, 1, 2, 3, 4, 5, 6, 7, 8]];
/// Outer and inner corner of each eye, in [`LIDS`]' order.
const CORNERS: [[usize; 2]; 2] = [[33, 133], [263, 362]];

/// What the iris model found for both eyes, in image coordinates, in [`LIDS`]' eye order.
#[derive(Debug, Clone, PartialEq)]
pub struct Eyes {
    /// The 71 contour points of each eye.
    pub contours: [Vec<Point>; 2],
    /// The 5 iris points of each eye.
    pub irises: [[Point; IRIS]; 2],
    /// facemesh's depth of the first eye's outer corner minus the other's: how turned the head
    /// is (negative when the first eye is nearer the camera).
    pub depth_difference: f32,
}

impl Eyes {
    /// facemesh's `points` with the refined lids put in and the irises appended: the
    /// [`REFINED_LANDMARKS`]-point mesh the makeup is drawn on.
    ///
    /// Symmetric by construction, as the makeup is: each lid point moves by the mean of the
    /// two eyes' corrections, taken in the face's own frame (along the line between the outer
    /// corners, mirrored for the second eye, and across it) in units of each eye's width; on a
    /// turned head, by the nearer eye's correction alone (the far eye's is unreliable,
    /// MediaPipe's rule). Taking each eye's refined lids as they come made makeup that is the
    /// same on both sides land differently on a deep-set, side-lit pair of eyes: left/right
    /// mismatch 6.0 ΔE on `kit_harington_john2.jpeg` at medium, 1.3 with facemesh's lids alone.
    /// Only the lids are refined; the model's rings and brows, seen from an eye crop that
    /// barely holds the brow, are no better than facemesh's.
    pub fn refine(&self, points: &[Point]) -> Vec<Point> {
        let mut refined = points.to_vec();
        if points.len() < LANDMARKS {
            return refined;
        }
        let (a, b) = (points[CORNERS[0][0]], points[CORNERS[1][0]]);
        let n = (b.x - a.x).hypot(b.y - a.y).max(1e-3);
        let (across, down) =
            (Point::new((b.x - a.x) / n, (b.y - a.y) / n), Point::new(-(b.y - a.y) / n, (b.x - a.x) / n));
        let width = |e: usize| {
            let [outer, inner] = CORNERS[e];
            (points[outer].x - points[inner].x).hypot(points[outer].y - points[inner].y).max(1e-3)
        };
        // The mirror: the second eye's "outwards" runs the other way along the corner line.
        let mirror = |e: usize| if e == 0 { 1.0 } else { -1.0 };
        let turned = self.depth_difference.abs() >= TURNED_DEPTH;
        let nearer = if self.depth_difference < 0.0 { 0 } else { 1 };
        let eyes: Vec<usize> = if turned { vec![nearer] } else { vec![0, 1] };
        for (lid, refined_lid) in REFINED_LIDS.iter().enumerate() {
            for (j, &k) in refined_lid.iter().enumerate() {
                // This point's correction, per eye used, in eye widths: (outwards, down).
                let (mut out, mut dn) = (0.0, 0.0);
                for &e in &eyes {
                    let m = LIDS[e][lid][j];
                    let d = Point::new(self.contours[e][k].x - points[m].x, self.contours[e][k].y - points[m].y);
                    out += mirror(e) * (d.x * across.x + d.y * across.y) / width(e);
                    dn += (d.x * down.x + d.y * down.y) / width(e);
                }
                let (out, dn) = (out / eyes.len() as f32, dn / eyes.len() as f32);
                for e in 0..2 {
                    let m = LIDS[e][lid][j];
                    let (u, v) = (mirror(e) * out * width(e), dn * width(e));
                    refined[m] =
                        Point::new(points[m].x + u * across.x + v * down.x, points[m].y + u * across.y + v * down.y);
                }
            }
        }
        // MediaPipe's order: the 263/362 eye's iris first.
        refined.extend(self.irises[1]);
        refined.extend(self.irises[0]);
        refined
    }
}

/// MediaPipe Iris on a burn device.
pub struct IrisModel {
    executor: Executor,
    input: String,
}

impl IrisModel {
    /// Wraps a loaded `iris` model.
    pub fn new(model: Model, device: &Device) -> Result<IrisModel, ModelError> {
        let Some(input) = model.image_input().map(|(name, _)| name.to_owned()) else {
            return Err(ModelError::Outputs { model: "iris", problem: "the model has no input".into() });
        };
        Ok(IrisModel { executor: Executor::new(model, device)?, input })
    }

    /// Both eyes of the face whose facemesh landmarks are `points` (with their depths
    /// `depths`), refined on `image`.
    pub fn eyes(&self, image: &Image, points: &[Point], depths: &[f32]) -> Result<Eyes, ModelError> {
        if points.len() < LANDMARKS || depths.len() < LANDMARKS {
            return Err(ModelError::Outputs { model: "iris", problem: format!("{} landmarks given", points.len()) });
        }
        // Level with the line through both outer corners, as facemesh's own crop.
        let (a, b) = (points[CORNERS[0][0]], points[CORNERS[1][0]]);
        let rotation = (b.y - a.y).atan2(b.x - a.x);
        let frames = CORNERS.map(|[outer, inner]| eye_frame(points[outer], points[inner], rotation));
        let mut data = Vec::with_capacity(2 * SIDE * SIDE * 3);
        for (eye, to_crop) in frames.iter().enumerate() {
            data.extend(crop(image, to_crop, eye == 1).data.iter().map(|&v| v / 255.0));
        }
        let input = Tensor::<4>::from_data(TensorData::new(data, [2, SIDE, SIDE, 3]), self.executor.device());
        let outputs = self.executor.run(&[(&self.input, input)])?;
        let per_eye = (CONTOUR + IRIS) * 3;
        let out = outputs.iter().find(|o| o.shape.iter().product::<usize>() == 2 * per_eye).ok_or_else(|| {
            ModelError::Outputs { model: "iris", problem: format!("no output of {per_eye} values per eye") }
        })?;
        let values = crate::read_output("iris", &out.tensor)?;
        let mut eyes = [Vec::new(), Vec::new()];
        for (eye, chunk) in values.chunks_exact(per_eye).enumerate() {
            let back = frames[eye].inverse();
            eyes[eye] = chunk
                .chunks_exact(3)
                .map(|p| {
                    // The model's coordinates have pixel edges at integers; ours have centres.
                    let (x, y) = (p[0] - 0.5, p[1] - 0.5);
                    let x = if eye == 1 { (SIDE - 1) as f32 - x } else { x };
                    back.apply(Point::new(x, y))
                })
                .collect();
        }
        let [first, second] = eyes;
        let iris = |e: &[Point]| -> [Point; IRIS] { std::array::from_fn(|k| e[CONTOUR + k]) };
        let irises = [iris(&first), iris(&second)];
        let contours = [first[..CONTOUR].to_vec(), second[..CONTOUR].to_vec()];
        Ok(Eyes { contours, irises, depth_difference: depths[CORNERS[0][0]] - depths[CORNERS[1][0]] })
    }
}

/// Image → crop of one eye: centred between its corners, turned by −`rotation`, its side
/// [`ENLARGE`]× the corners' extent in that level frame.
fn eye_frame(outer: Point, inner: Point, rotation: f32) -> Similarity {
    let (c, s) = (rotation.cos(), rotation.sin());
    let (dx, dy) = (inner.x - outer.x, inner.y - outer.y);
    let extent = (dx * c + dy * s).abs().max((-dx * s + dy * c).abs()).max(1.0);
    let scale = SIDE as f32 / (ENLARGE * extent);
    let center = Point::new((outer.x + inner.x) / 2.0, (outer.y + inner.y) / 2.0);
    let (a, b) = (scale * c, -scale * s);
    let mid = (SIDE - 1) as f32 / 2.0;
    Similarity { a, b, tx: mid - (a * center.x - b * center.y), ty: mid - (b * center.x + a * center.y) }
}

/// The [`SIDE`]² crop through `to_crop`, mirrored left to right when `mirror`; each pixel the
/// mean of k×k bilinear samples, k the source pixels per crop pixel, so that a large eye is
/// reduced without aliasing its lashes.
fn crop(image: &Image, to_crop: &Similarity, mirror: bool) -> Image {
    let back = to_crop.inverse();
    let k = (1.0 / to_crop.scale()).ceil().clamp(1.0, 8.0) as usize;
    let mut data = Vec::with_capacity(SIDE * SIDE * 3);
    for y in 0..SIDE {
        for x in 0..SIDE {
            let u = if mirror { SIDE - 1 - x } else { x } as f32;
            let mut sum = [0f32; 3];
            for j in 0..k {
                for i in 0..k {
                    let offset = |n: usize| (n as f32 + 0.5) / k as f32 - 0.5;
                    let p = back.apply(Point::new(u + offset(i), y as f32 + offset(j)));
                    let v = image.sample(p.x, p.y);
                    (0..3).for_each(|c| sum[c] += v[c]);
                }
            }
            data.extend(sum.map(|v| v / (k * k) as f32));
        }
    }
    Image { width: SIDE, height: SIDE, data }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A level face whose second eye is the mirror image of the first about x = 50.
    fn mirrored_face() -> Vec<Point> {
        let mut points = vec![Point::new(50.0, 80.0); LANDMARKS];
        for (lid, y) in [(0, 38.0), (1, 42.0)] {
            for (j, &m) in LIDS[0][lid].iter().enumerate() {
                let x = 20.0 + 10.0 * j as f32 / (LIDS[0][lid].len() - 1) as f32;
                points[m] = Point::new(x, y);
                points[LIDS[1][lid][j]] = Point::new(100.0 - x, y);
            }
        }
        points
    }

    fn eyes(points: &[Point], shift: [Point; 2], depth_difference: f32) -> Eyes {
        let contours = [0, 1].map(|e| {
            let mut c = vec![Point::new(0.0, 0.0); CONTOUR];
            for (lid, refined) in REFINED_LIDS.iter().enumerate() {
                for (j, &k) in refined.iter().enumerate() {
                    let p = points[LIDS[e][lid][j]];
                    c[k] = Point::new(p.x + shift[e].x, p.y + shift[e].y);
                }
            }
            c
        });
        Eyes { contours, irises: [[Point::new(25.0, 40.0); IRIS], [Point::new(75.0, 40.0); IRIS]], depth_difference }
    }

    /// One eye's lids found 2 px lower and 1 px further out, the other's where facemesh put
    /// them: both move by half of that, mirrored; on a turned head, by the nearer eye's.
    #[test]
    fn lid_corrections_are_shared_by_both_eyes() {
        let points = mirrored_face();
        let out_and_down = [Point::new(-1.0, 2.0), Point::new(0.0, 0.0)];
        let refined = eyes(&points, out_and_down, 0.0).refine(&points);
        assert_eq!(refined.len(), REFINED_LANDMARKS);
        for lid in 0..2 {
            for j in 0..LIDS[0][lid].len() {
                let (m0, m1) = (LIDS[0][lid][j], LIDS[1][lid][j]);
                let moved = |m: usize| (refined[m].x - points[m].x, refined[m].y - points[m].y);
                let ((x0, y0), (x1, y1)) = (moved(m0), moved(m1));
                assert!((x0 + 0.5).abs() < 1e-4 && (y0 - 1.0).abs() < 1e-4, "first eye moved ({x0}, {y0})");
                assert!((x1 - 0.5).abs() < 1e-4 && (y1 - 1.0).abs() < 1e-4, "second eye moved ({x1}, {y1})");
            }
        }
        // Turned towards the first eye (it is nearer): its correction, mirrored, for both.
        let refined = eyes(&points, out_and_down, -40.0).refine(&points);
        let m1 = LIDS[1][0][3];
        assert!((refined[m1].x - points[m1].x - 1.0).abs() < 1e-4 && (refined[m1].y - points[m1].y - 2.0).abs() < 1e-4);
        // The irises follow, the 263/362 eye's first; other points stay.
        assert_eq!(refined[LANDMARKS], Point::new(75.0, 40.0));
        assert_eq!(refined[1], points[1]);
    }
}
