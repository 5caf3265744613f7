//! Where makeup goes: soft masks of the makeup regions in generator space, from the 468
//! landmarks.
//!
//! Each region is a polygon (or band, or ellipse) through facemesh landmarks, filled at pixel
//! centres and feathered with a Gaussian whose width scales with the face (the eye distance), so
//! that makeup fades out as it does on skin instead of ending at a pixel edge. Left and right
//! are as seen in the photo (image-left first), like everywhere in this crate.

use crate::Point;

/// A makeup region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Region {
    /// Lipstick: the lips, without the mouth opening.
    Lips,
    /// Eyeshadow on the upper eyelid of the eye on the image's left.
    EyelidLeft,
    /// Eyeshadow on the other upper eyelid.
    EyelidRight,
    /// Eyeliner: a band along both upper lash lines, with a short wing at the outer corners.
    Eyeliner,
    /// Both eyebrows.
    Brows,
    /// Blush on the cheek on the image's left.
    CheekLeft,
    /// Blush on the other cheek.
    CheekRight,
    /// Foundation: the face oval minus eyes, brows and lips.
    Skin,
}

impl Region {
    /// Every region, in a fixed order (the order of [`Regions`]' masks).
    pub const ALL: [Region; 8] = [
        Region::Lips,
        Region::EyelidLeft,
        Region::EyelidRight,
        Region::Eyeliner,
        Region::Brows,
        Region::CheekLeft,
        Region::CheekRight,
        Region::Skin,
    ];

    /// A short lower-case name ("lips", "eyelid-left", …).
    pub fn name(self) -> &'static str {
        match self {
            Region::Lips => "lips",
            Region::EyelidLeft => "eyelid-left",
            Region::EyelidRight => "eyelid-right",
            Region::Eyeliner => "eyeliner",
            Region::Brows => "brows",
            Region::CheekLeft => "cheek-left",
            Region::CheekRight => "cheek-right",
            Region::Skin => "skin",
        }
    }

    fn index(self) -> usize {
        Region::ALL.iter().position(|&r| r == self).unwrap_or(0)
    }
}

// facemesh landmark indices (MediaPipe's canonical face mesh), public so that the makeup model
// and its measures draw on the very same anatomy.
/// The outer contour of the lips.
pub const LIPS_OUTER: [usize; 20] =
    [61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185];
/// The inner contour of the lips (the mouth opening).
pub const LIPS_INNER: [usize; 20] =
    [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191];
/// The whole contour of each eye (image-left eye first).
pub const EYES: [[usize; 16]; 2] = [
    [33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246],
    [263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466],
];
/// Each eye's upper lid, outer corner to inner corner.
pub const UPPER_LIDS: [[usize; 9]; 2] =
    [[33, 246, 161, 160, 159, 158, 157, 173, 133], [263, 466, 388, 387, 386, 385, 384, 398, 362]];
/// Each brow's lower edge, outer end to inner end.
pub const BROWS_LOWER: [[usize; 5]; 2] = [[46, 53, 52, 65, 55], [276, 283, 282, 295, 285]];
/// Each brow's upper edge, outer end to inner end.
pub const BROWS_UPPER: [[usize; 5]; 2] = [[70, 63, 105, 66, 107], [300, 293, 334, 296, 336]];
/// The face oval, clockwise from the forehead's top (image-right side first).
pub const FACE_OVAL: [usize; 36] = [
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152, 148, 176, 149, 150,
    136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
];
/// The cheekbone point under each eye, where blush is centred (image-left first).
pub const CHEEKS: [usize; 2] = [50, 280];
/// Eye centres as in [`crate::mesh::five_points`]: two contour points per eye suffice here.
pub const EYE_CORNERS: [[usize; 2]; 2] = [[33, 133], [263, 362]];

/// How far up towards the brow eyeshadow reaches (0 = lash line, 1 = brow).
const EYESHADOW_HEIGHT: f32 = 0.55;

/// The makeup regions of one face: `size`×`size` soft masks in 0–1, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Regions {
    size: usize,
    masks: Vec<Vec<f32>>,
    face: Vec<f32>,
}

impl Regions {
    /// The regions of the face whose landmarks (468, or 478 refined), in generator-space
    /// pixels, are `landmarks`, on a `size`×`size` grid. `None` if they are not a whole mesh.
    pub fn new(landmarks: &[Point], size: usize) -> Option<Regions> {
        if !crate::mesh::is_whole(landmarks) {
            return None;
        }
        let at = |ids: &[usize]| ids.iter().map(|&i| landmarks[i]).collect::<Vec<Point>>();
        let eye_centre = |k: usize| Point::mean(&at(&EYE_CORNERS[k]));
        let (l, r) = (eye_centre(0), eye_centre(1));
        // Every feather and band width is a fraction of the eye distance (64 px in FFHQ framing
        // at 256), so regions look the same at any generator size.
        let d = (r.x - l.x).hypot(r.y - l.y).max(1.0);
        let canvas = Canvas { size };

        let lips_whole = canvas.blur(&canvas.polygon(&at(&LIPS_OUTER)), 0.02 * d);
        let lips = canvas.sub(&lips_whole, &canvas.polygon(&at(&LIPS_INNER)));
        let eyes: Vec<Vec<f32>> = (0..2).map(|k| canvas.polygon(&at(&EYES[k]))).collect();
        let eyelid = |k: usize| {
            let lid = at(&UPPER_LIDS[k]);
            let brow = at(&BROWS_LOWER[k]);
            let crease: Vec<Point> = lid
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let b = along(&brow, i as f32 / (lid.len() - 1) as f32);
                    Point::new(p.x + EYESHADOW_HEIGHT * (b.x - p.x), p.y + EYESHADOW_HEIGHT * (b.y - p.y))
                })
                .collect();
            let outline: Vec<Point> = lid.iter().chain(crease.iter().rev()).copied().collect();
            // Feathered upwards, but never onto the eye itself: shadow stops at the lash line.
            canvas.sub(&canvas.blur(&canvas.polygon(&outline), 0.05 * d), &eyes[k])
        };
        let eyeliner = {
            let mut band = vec![0.0; size * size];
            for k in 0..2 {
                let mut line = at(&UPPER_LIDS[k]);
                line.reverse(); // inner → outer
                // The wing: on past the outer corner, a little upwards.
                let (end, before) = (line[line.len() - 1], line[line.len() - 2]);
                let (dx, dy) = (end.x - before.x, end.y - before.y);
                let n = dx.hypot(dy).max(1e-3);
                let (ux, uy) = (dx / n, dy / n);
                let wing = 0.12 * d;
                line.push(Point::new(
                    end.x + (ux * 0.9 + uy * 0.45) * wing,
                    end.y + (uy * 0.9 - ux.abs() * 0.45) * wing,
                ));
                let drawn = canvas.sub(&canvas.blur(&canvas.band(&line, 0.022 * d), 0.012 * d), &eyes[k]);
                band = canvas.max(&band, &drawn);
            }
            band
        };
        let brows = (0..2).fold(vec![0.0; size * size], |acc, k| {
            let outline: Vec<Point> =
                at(&BROWS_UPPER[k]).into_iter().chain(at(&BROWS_LOWER[k]).into_iter().rev()).collect();
            canvas.max(&acc, &canvas.blur(&canvas.polygon(&outline), 0.02 * d))
        });
        let cheek = |k: usize| canvas.blur(&canvas.ellipse(landmarks[CHEEKS[k]], 0.26 * d, 0.19 * d), 0.1 * d);
        let oval = at(&FACE_OVAL);
        let skin = {
            let face = canvas.blur(&canvas.polygon(&oval), 0.04 * d);
            // Eyes grown a little (the blur, doubled and clipped) so foundation keeps off the lashes.
            let eyes = canvas.max(&eyes[0], &eyes[1]);
            let eyes: Vec<f32> = canvas.blur(&eyes, 0.04 * d).iter().map(|v| (v * 2.0).min(1.0)).collect();
            [eyes, brows.clone(), lips_whole.clone()].iter().fold(face, |acc, hole| canvas.sub(&acc, hole))
        };
        let masks = vec![lips, eyelid(0), eyelid(1), eyeliner, brows, cheek(0), cheek(1), skin];
        // Where paste-back may change the photo: the oval grown by 6% about its centre, feathered,
        // joined with every region (the eyeliner's wing and brow ends can reach past the oval).
        let centre = Point::mean(&oval);
        let grown: Vec<Point> = oval
            .iter()
            .map(|p| Point::new(centre.x + (p.x - centre.x) * 1.06, centre.y + (p.y - centre.y) * 1.06))
            .collect();
        let face = masks.iter().fold(canvas.blur(&canvas.polygon(&grown), 0.06 * d), |acc, m| canvas.max(&acc, m));
        Some(Regions { size, masks, face })
    }

    /// The grid's side.
    pub fn size(&self) -> usize {
        self.size
    }

    /// `region`'s soft mask, `size`×`size`, row-major, 0–1.
    pub fn mask(&self, region: Region) -> &[f32] {
        &self.masks[region.index()]
    }

    /// The whole face region: the feathered face oval and every makeup region. Paste-back
    /// changes the photo only where this is above 0.
    pub fn face(&self) -> &[f32] {
        &self.face
    }
}

/// The point at `t` (0–1) along the polyline `line`, by vertex index.
fn along(line: &[Point], t: f32) -> Point {
    let s = t.clamp(0.0, 1.0) * (line.len() - 1) as f32;
    let i = (s.floor() as usize).min(line.len() - 2);
    let f = s - i as f32;
    Point::new(line[i].x + f * (line[i + 1].x - line[i].x), line[i].y + f * (line[i + 1].y - line[i].y))
}

/// Mask drawing on a square grid.
struct Canvas {
    size: usize,
}

impl Canvas {
    /// 1 at pixel centres inside `polygon` (even-odd rule), 0 elsewhere.
    fn polygon(&self, polygon: &[Point]) -> Vec<f32> {
        let mut mask = vec![0.0; self.size * self.size];
        let (y0, y1) = self.rows(polygon.iter().map(|p| p.y), 0.0);
        for y in y0..y1 {
            let yc = y as f32;
            let mut crossings: Vec<f32> = Vec::new();
            for (i, a) in polygon.iter().enumerate() {
                let b = polygon[(i + 1) % polygon.len()];
                if (a.y <= yc) != (b.y <= yc) {
                    crossings.push(a.x + (yc - a.y) / (b.y - a.y) * (b.x - a.x));
                }
            }
            crossings.sort_by(f32::total_cmp);
            for pair in crossings.chunks_exact(2) {
                let xa = pair[0].ceil().max(0.0) as usize;
                let xb = pair[1].ceil().clamp(0.0, self.size as f32) as usize;
                for x in xa..xb.max(xa) {
                    mask[y * self.size + x] = 1.0;
                }
            }
        }
        mask
    }

    /// 1 within `half_width` of the polyline `line`.
    fn band(&self, line: &[Point], half_width: f32) -> Vec<f32> {
        let mut mask = vec![0.0; self.size * self.size];
        let (y0, y1) = self.rows(line.iter().map(|p| p.y), half_width);
        let (x0, x1) = self.rows(line.iter().map(|p| p.x), half_width);
        for y in y0..y1 {
            for x in x0..x1 {
                let p = Point::new(x as f32, y as f32);
                if line.windows(2).any(|s| segment_distance(p, s[0], s[1]) <= half_width) {
                    mask[y * self.size + x] = 1.0;
                }
            }
        }
        mask
    }

    /// 1 inside the axis-aligned ellipse.
    fn ellipse(&self, centre: Point, rx: f32, ry: f32) -> Vec<f32> {
        let mut mask = vec![0.0; self.size * self.size];
        let (y0, y1) = self.rows([centre.y - ry, centre.y + ry].into_iter(), 0.0);
        for y in y0..y1 {
            for x in 0..self.size {
                let (u, v) = ((x as f32 - centre.x) / rx, (y as f32 - centre.y) / ry);
                if u * u + v * v <= 1.0 {
                    mask[y * self.size + x] = 1.0;
                }
            }
        }
        mask
    }

    /// The grid rows (or columns) spanned by `values` ± `margin`, clipped to the grid.
    fn rows(&self, values: impl Iterator<Item = f32>, margin: f32) -> (usize, usize) {
        let (lo, hi) = values.fold((f32::MAX, f32::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
        let clip = |v: f32| v.clamp(0.0, self.size as f32) as usize;
        (clip((lo - margin).floor()), clip((hi + margin).ceil() + 1.0))
    }

    /// Gaussian blur with standard deviation `sigma` pixels (zero outside the grid).
    fn blur(&self, mask: &[f32], sigma: f32) -> Vec<f32> {
        crate::blur::gaussian(mask, self.size, self.size, 1, sigma, crate::blur::Border::Zero)
    }

    /// `a` where `b` is not: `a · (1 − b)`.
    fn sub(&self, a: &[f32], b: &[f32]) -> Vec<f32> {
        a.iter().zip(b).map(|(a, b)| a * (1.0 - b)).collect()
    }

    fn max(&self, a: &[f32], b: &[f32]) -> Vec<f32> {
        a.iter().zip(b).map(|(a, b)| a.max(*b)).collect()
    }
}

/// Distance from `p` to the segment a–b.
fn segment_distance(p: Point, a: Point, b: Point) -> f32 {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 { (((p.x - a.x) * dx + (p.y - a.y) * dy) / len2).clamp(0.0, 1.0) } else { 0.0 };
    (p.x - a.x - t * dx).hypot(p.y - a.y - t * dy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_fill_where_they_should() {
        let canvas = Canvas { size: 20 };
        let square = [Point::new(4.0, 4.0), Point::new(10.0, 4.0), Point::new(10.0, 10.0), Point::new(4.0, 10.0)];
        let filled = canvas.polygon(&square);
        assert_eq!(filled[7 * 20 + 7], 1.0);
        assert_eq!(filled[2 * 20 + 7], 0.0);
        assert_eq!(filled.iter().sum::<f32>(), 36.0, "a 6×6 square holds 36 pixel centres (half-open edges)");
        let blurred = canvas.blur(&filled, 1.5);
        assert!((blurred.iter().sum::<f32>() - 36.0).abs() < 0.5, "blur keeps the mass away from the border");
        assert!(blurred[7 * 20 + 7] > 0.8 && blurred[7 * 20 + 3] > 0.05 && blurred[7 * 20 + 3] < 0.5);
        let band = canvas.band(&[Point::new(2.0, 15.0), Point::new(17.0, 15.0)], 1.0);
        assert_eq!(band.iter().sum::<f32>(), 16.0 * 3.0 + 2.0, "three rows plus the round caps");
        let ellipse = canvas.ellipse(Point::new(10.0, 10.0), 3.0, 2.0);
        assert_eq!((ellipse[10 * 20 + 13], ellipse[10 * 20 + 14], ellipse[12 * 20 + 10]), (1.0, 0.0, 1.0));
    }

    #[test]
    fn along_interpolates_by_vertex() {
        let line = [Point::new(0.0, 0.0), Point::new(10.0, 0.0), Point::new(10.0, 10.0)];
        assert_eq!(along(&line, 0.75), Point::new(10.0, 5.0));
        assert_eq!(along(&line, 1.0), Point::new(10.0, 10.0));
    }
}
