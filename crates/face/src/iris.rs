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
//! in and its points mirrored coming out. The refined points replace facemesh's per
//! [`REPLACED`]; when the head is turned (the corners' depths differ by [`TURNED_DEPTH`] or
//! more) only the nearer eye's lid lines are replaced, because the far eye's other rings
//! diverge from the mesh.

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
/// mirrored. Per eye and lid/ring/brow line (MediaPipe's `MESH_ANNOTATIONS`), the mesh indices
/// the iris model's points replace.
const LINES: [[&[usize]; 9]; 2] = [
    [
        &[246, 161, 160, 159, 158, 157, 173],
        &[247, 30, 29, 27, 28, 56, 190],
        &[113, 225, 224, 223, 222, 221, 189],
        &[33, 7, 163, 144, 145, 153, 154, 155, 133],
        &[130, 25, 110, 24, 23, 22, 26, 112, 243],
        &[226, 31, 228, 229, 230, 231, 232, 233, 244],
        &[143, 111, 117, 118, 119, 120, 121, 128, 245],
        &[156, 70, 63, 105, 66, 107, 55, 193],
        &[35, 124, 46, 53, 52, 65],
    ],
    [
        &[466, 388, 387, 386, 385, 384, 398],
        &[467, 260, 259, 257, 258, 286, 414],
        &[342, 445, 444, 443, 442, 441, 413],
        &[263, 249, 390, 373, 374, 380, 381, 382, 362],
        &[359, 255, 339, 254, 253, 252, 256, 341, 463],
        &[446, 261, 448, 449, 450, 451, 452, 453, 464],
        &[372, 340, 346, 347, 348, 349, 350, 357, 465],
        &[383, 300, 293, 334, 296, 336, 285, 417],
        &[265, 353, 276, 283, 282, 295],
    ],
];
/// For each line of [`LINES`], the iris model's points that replace it (MediaPipe's
/// `MESH_TO_IRIS_INDICES_MAP`): upper lid, its two outer rings, lower lid, its three outer
/// rings, brow top, brow bottom.
const REPLACED: [&[usize]; 9] = [
    &[9, 10, 11, 12, 13, 14, 15],
    &[25, 26, 27, 28, 29, 30, 31],
    &[41, 42, 43, 44, 45, 46, 47],
    &[0, 1, 2, 3, 4, 5, 6, 7, 8],
    &[16, 17, 18, 19, 20, 21, 22, 23, 24],
    &[32, 33, 34, 35, 36, 37, 38, 39, 40],
    &[54, 55, 56, 57, 58, 59, 60, 61, 62],
    &[63, 64, 65, 66, 67, 68, 69, 70],
    &[48, 49, 50, 51, 52, 53],
];
/// The lid lines among [`LINES`] (upper and lower lid): all that is replaced on a turned head.
const LID_LINES: [usize; 2] = [0, 3];
/// Outer and inner corner of each eye, in [`LINES`]' order.
const CORNERS: [[usize; 2]; 2] = [[33, 133], [263, 362]];

/// What the iris model found for both eyes, in image coordinates, in [`LINES`]' eye order.
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
    /// facemesh's `points` with the refined eye lines put in and the irises appended: the
    /// [`REFINED_LANDMARKS`]-point mesh.
    pub fn refine(&self, points: &[Point]) -> Vec<Point> {
        let mut refined = points.to_vec();
        let turned = self.depth_difference.abs() >= TURNED_DEPTH;
        for (eye, lines) in LINES.iter().enumerate() {
            // Turned: only the nearer eye's lids (MediaPipe's rule).
            let nearer = if self.depth_difference < 0.0 { 0 } else { 1 };
            for (line, mesh) in lines.iter().enumerate() {
                if turned && (eye != nearer || !LID_LINES.contains(&line)) {
                    continue;
                }
                for (&m, &k) in mesh.iter().zip(REPLACED[line]) {
                    if let Some(slot) = refined.get_mut(m) {
                        *slot = self.contours[eye][k];
                    }
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
        let values = out
            .tensor
            .clone()
            .into_data()
            .convert::<f32>()
            .try_to_vec::<f32>()
            .map_err(|e| ModelError::Outputs { model: "iris", problem: format!("{e:?}") })?;
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
