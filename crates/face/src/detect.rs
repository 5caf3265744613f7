//! Face detection with blazeface: anchors, box and keypoint decoding, weighted NMS.
//!
//! blazeface predicts, for each of 896 anchors on a 16×16 and an 8×8 grid (2 and 6 anchors per
//! cell), a score logit and 16 regressors: box centre offset and size, then six keypoints (the
//! eye on the image's left, the other eye, nose tip, mouth centre, the two ear tragions), all in
//! input pixels relative to the anchor centre.

use burn::tensor::{Device, Tensor, TensorData};
use facecloak_tfjs::{Executor, Model};

use crate::{Image, ModelError, Point};

/// A face found in a photo, in the photo's pixel coordinates.
#[derive(Debug, Clone, PartialEq)]
pub struct Face {
    /// Centre of the box.
    pub center: Point,
    /// Box width.
    pub width: f32,
    /// Box height.
    pub height: f32,
    /// Eye on the image's left, other eye, nose tip, mouth centre, left ear, right ear.
    pub keypoints: [Point; 6],
    /// Detection confidence in 0–1.
    pub score: f32,
}

/// The default minimum score (MediaPipe's short-range value). It lets through some things that
/// are not faces — on the shared photos, half faces in tight crops and a chair scored 0.50–0.78 —
/// which [`crate::find_faces`] then rejects by facemesh's presence score.
pub const DEFAULT_MIN_SCORE: f32 = 0.5;

/// Detections whose boxes overlap more than this are one face.
const NMS_IOU: f32 = 0.3;

/// blazeface on a burn device.
pub struct Detector {
    executor: Executor,
    input: String,
    size: usize,
    anchors: Vec<Point>,
    /// Minimum score for a face.
    pub min_score: f32,
}

impl Detector {
    /// Wraps a loaded blazeface model (256×256 `blazeface` or 128×128 `blazeface-front`).
    pub fn new(model: Model, device: &Device) -> Result<Detector, ModelError> {
        let Some((input, Some(size))) = model.image_input().map(|(name, side)| (name.to_owned(), side)) else {
            return Err(ModelError::Outputs {
                model: "blazeface",
                problem: "no square image input of fixed size".into(),
            });
        };
        let executor = Executor::new(model, device)?;
        Ok(Detector { executor, input, size, anchors: anchors(size), min_score: DEFAULT_MIN_SCORE })
    }

    /// The model's input side.
    pub fn input_size(&self) -> usize {
        self.size
    }

    /// Faces in `image`, best first.
    ///
    /// blazeface sees a 256×256 (or 128×128) picture, so one look at a whole 12 MP group photo
    /// shrinks its faces to a few pixels. It looks at the whole photo, letterboxed, and — for
    /// photos more than twice its input — at 3×3 overlapping tiles of half the photo's side,
    /// which see faces at twice the resolution; all candidates are merged by one weighted NMS.
    /// When that finds nothing it looks again with a wide black margin, for photos that are
    /// already tight crops of a face (blazeface was trained on faces smaller than the frame).
    pub fn detect(&self, image: &Image) -> Result<Vec<Face>, ModelError> {
        let side = image.width.max(image.height) as f32;
        let centred = |side: f32| ((image.width as f32 - side) / 2.0, (image.height as f32 - side) / 2.0, side);
        let mut looks = vec![(centred(side), false)];
        if side > 2.0 * self.size as f32 {
            let tile = side / 2.0;
            for ty in 0..3 {
                for tx in 0..3 {
                    let square = (tx as f32 * tile / 2.0, ty as f32 * tile / 2.0, tile);
                    if square.0 < image.width as f32 && square.1 < image.height as f32 {
                        looks.push((square, true));
                    }
                }
            }
        }
        let candidates: Vec<Face> =
            crate::parallel::map(&looks, |&(square, tile)| self.candidates(image, square, tile))?.concat();
        let faces = weighted_nms(candidates);
        if !faces.is_empty() {
            return Ok(faces);
        }
        Ok(weighted_nms(self.candidates(image, centred(side * 2.0), false)?))
    }

    /// Faces in the square with top-left corner (x0, y0) (pixel edges at integers) and side
    /// `side`, in image coordinates.
    pub fn detect_in_square(&self, image: &Image, x0: f32, y0: f32, side: f32) -> Result<Vec<Face>, ModelError> {
        Ok(weighted_nms(self.candidates(image, (x0, y0, side), false)?))
    }

    /// Every anchor's detection above the score threshold in the square `(x0, y0, side)`, in
    /// image coordinates, before NMS. A `tile` drops boxes that touch its edge: those are faces
    /// cut by the tile, which a neighbouring tile or the whole-photo look sees entire.
    fn candidates(&self, image: &Image, (x0, y0, side): (f32, f32, f32), tile: bool) -> Result<Vec<Face>, ModelError> {
        let n = self.size;
        let crop = image.crop_square(x0, y0, side, n);
        let data: Vec<f32> = crop.data.iter().map(|&v| v / 127.5 - 1.0).collect();
        let input = Tensor::<4>::from_data(TensorData::new(data, [1, n, n, 3]), self.executor.device());
        let outputs = self.executor.run(&[(&self.input, input)])?;
        // Outputs by shape: scores [1,512,1] and [1,384,1], regressors [1,512,16] and [1,384,16].
        let take = |anchors: usize, width: usize| -> Result<Vec<f32>, ModelError> {
            let out = outputs.iter().find(|o| o.shape == [1, anchors, width]).ok_or_else(|| ModelError::Outputs {
                model: "blazeface",
                problem: format!("no output of shape [1, {anchors}, {width}]"),
            })?;
            crate::read_output("blazeface", &out.tensor)
        };
        let scores = [take(512, 1)?, take(384, 1)?].concat();
        let boxes = [take(512, 16)?, take(384, 16)?].concat();
        if scores.len() != self.anchors.len() || boxes.len() != 16 * self.anchors.len() {
            return Err(ModelError::Outputs { model: "blazeface", problem: "unexpected output sizes".into() });
        }
        let scale = side / n as f32;
        // Input pixel (edge coordinates) → image pixel (centre coordinates).
        let to_image = |x: f32, y: f32| Point::new(x0 + x * scale - 0.5, y0 + y * scale - 0.5);
        let mut candidates = Vec::new();
        for (i, anchor) in self.anchors.iter().enumerate() {
            let score = 1.0 / (1.0 + (-scores[i].clamp(-100.0, 100.0)).exp());
            if score < self.min_score {
                continue;
            }
            let r = &boxes[i * 16..(i + 1) * 16];
            let keypoints = std::array::from_fn(|k| to_image(anchor.x + r[4 + 2 * k], anchor.y + r[5 + 2 * k]));
            candidates.push(Face {
                center: to_image(anchor.x + r[0], anchor.y + r[1]),
                width: r[2] * scale,
                height: r[3] * scale,
                keypoints,
                score,
            });
        }
        if tile {
            let inside = |c: f32, size: f32, lo: f32| c - size / 2.0 > lo + 1.0 && c + size / 2.0 < lo + side - 1.0;
            candidates.retain(|f| inside(f.center.x, f.width, x0) && inside(f.center.y, f.height, y0));
        }
        Ok(candidates)
    }
}

/// Anchor centres in input pixels: a grid at stride size/16 with 2 anchors per cell, then one
/// at stride size/8 with 6 (MediaPipe's SSD options for blazeface, fixed anchor size).
fn anchors(size: usize) -> Vec<Point> {
    let mut out = Vec::with_capacity(896);
    for (stride, per_cell) in [(size / 16, 2), (size / 8, 6)] {
        let cells = size.div_ceil(stride);
        for gy in 0..cells {
            for gx in 0..cells {
                let p = Point::new(stride as f32 * (gx as f32 + 0.5), stride as f32 * (gy as f32 + 0.5));
                out.extend(std::iter::repeat_n(p, per_cell));
            }
        }
    }
    out
}

fn iou(a: &Face, b: &Face) -> f32 {
    let overlap = |c1: f32, s1: f32, c2: f32, s2: f32| {
        ((c1 + s1 / 2.0).min(c2 + s2 / 2.0) - (c1 - s1 / 2.0).max(c2 - s2 / 2.0)).max(0.0)
    };
    let inter = overlap(a.center.x, a.width, b.center.x, b.width) * overlap(a.center.y, a.height, b.center.y, b.height);
    let union = a.width * a.height + b.width * b.height - inter;
    if union > 0.0 { inter / union } else { 0.0 }
}

/// MediaPipe's weighted non-maximum suppression: the best remaining detection and everything
/// overlapping it become one face whose box and keypoints are the score-weighted mean, with
/// the best one's score.
fn weighted_nms(mut candidates: Vec<Face>) -> Vec<Face> {
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut faces = Vec::new();
    while !candidates.is_empty() {
        let best = candidates[0].clone();
        let (cluster, rest): (Vec<Face>, Vec<Face>) = candidates.into_iter().partition(|c| iou(&best, c) > NMS_IOU);
        candidates = rest;
        let total: f32 = cluster.iter().map(|f| f.score).sum();
        let mean = |f: &dyn Fn(&Face) -> f32| cluster.iter().map(|c| f(c) * c.score).sum::<f32>() / total;
        faces.push(Face {
            center: Point::new(mean(&|f| f.center.x), mean(&|f| f.center.y)),
            width: mean(&|f| f.width),
            height: mean(&|f| f.height),
            keypoints: std::array::from_fn(|k| Point::new(mean(&|f| f.keypoints[k].x), mean(&|f| f.keypoints[k].y))),
            score: best.score,
        });
    }
    faces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_cover_both_grids() {
        let a = anchors(256);
        assert_eq!(a.len(), 896);
        assert_eq!((a[0], a[1], a[2]), (Point::new(8.0, 8.0), Point::new(8.0, 8.0), Point::new(24.0, 8.0)));
        assert_eq!(a[512], Point::new(16.0, 16.0));
        assert_eq!(anchors(128)[511], Point::new(124.0, 124.0));
    }

    #[test]
    fn overlapping_detections_merge_by_score() {
        let face = |x: f32, score: f32| Face {
            center: Point::new(x, 0.0),
            width: 10.0,
            height: 10.0,
            keypoints: [Point::default(); 6],
            score,
        };
        let merged = weighted_nms(vec![face(0.0, 0.9), face(1.0, 0.3), face(50.0, 0.6)]);
        assert_eq!(merged.len(), 2);
        assert!((merged[0].center.x - 0.25).abs() < 1e-6 && merged[0].score == 0.9);
        assert_eq!(merged[1].center.x, 50.0);
    }
}
