//! Similarity transforms, and the crops each recognizer was trained on.

use crate::Image;

/// A point in pixel coordinates (pixel centres at integers).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Point {
    /// Horizontal, rightwards.
    pub x: f32,
    /// Vertical, downwards.
    pub y: f32,
}

impl Point {
    /// A point.
    pub const fn new(x: f32, y: f32) -> Point {
        Point { x, y }
    }

    /// The mean of `points`.
    pub fn mean(points: &[Point]) -> Point {
        let n = points.len().max(1) as f32;
        Point::new(points.iter().map(|p| p.x).sum::<f32>() / n, points.iter().map(|p| p.y).sum::<f32>() / n)
    }
}

/// Scale, rotation and translation: `(x, y) ↦ (a·x − b·y + tx, b·x + a·y + ty)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    /// scale · cos(angle)
    pub a: f32,
    /// scale · sin(angle)
    pub b: f32,
    /// Horizontal translation.
    pub tx: f32,
    /// Vertical translation.
    pub ty: f32,
}

impl Similarity {
    /// Maps `p`.
    pub fn apply(&self, p: Point) -> Point {
        Point::new(self.a * p.x - self.b * p.y + self.tx, self.b * p.x + self.a * p.y + self.ty)
    }

    /// The inverse transform.
    pub fn inverse(&self) -> Similarity {
        let d = self.a * self.a + self.b * self.b;
        let (a, b) = (self.a / d, -self.b / d);
        Similarity { a, b, tx: -(a * self.tx - b * self.ty), ty: -(b * self.tx + a * self.ty) }
    }

    /// `after ∘ self`: first this transform, then `after`.
    pub fn then(&self, after: &Similarity) -> Similarity {
        Similarity {
            a: after.a * self.a - after.b * self.b,
            b: after.b * self.a + after.a * self.b,
            tx: after.a * self.tx - after.b * self.ty + after.tx,
            ty: after.b * self.tx + after.a * self.ty + after.ty,
        }
    }

    /// The scale factor.
    pub fn scale(&self) -> f32 {
        self.a.hypot(self.b)
    }

    /// The least-squares similarity taking `from[i]` to `to[i]` (Umeyama's method; no
    /// reflection). `None` when the points are all the same.
    pub fn estimate(from: &[Point], to: &[Point]) -> Option<Similarity> {
        let (mf, mt) = (Point::mean(from), Point::mean(to));
        let (mut sxx, mut sxy, mut var) = (0f64, 0f64, 0f64);
        for (f, t) in from.iter().zip(to) {
            let (fx, fy) = ((f.x - mf.x) as f64, (f.y - mf.y) as f64);
            let (tx, ty) = ((t.x - mt.x) as f64, (t.y - mt.y) as f64);
            sxx += fx * tx + fy * ty; // Σ f·t
            sxy += fx * ty - fy * tx; // Σ f×t
            var += fx * fx + fy * fy;
        }
        if var <= f64::EPSILON {
            return None;
        }
        let (a, b) = ((sxx / var) as f32, (sxy / var) as f32);
        Some(Similarity { a, b, tx: mt.x - (a * mf.x - b * mf.y), ty: mt.y - (b * mf.x + a * mf.y) })
    }

    /// The `width`×`height` image whose pixels are `image` seen through this transform
    /// (which maps image coordinates to output coordinates).
    pub fn warp(&self, image: &Image, width: usize, height: usize) -> Image {
        let inv = self.inverse();
        image.warp(width, height, |x, y| {
            let p = inv.apply(Point::new(x, y));
            (p.x, p.y)
        })
    }
}

/// The ArcFace 112×112 five-point template: the eye on the image's left, the other eye, the
/// nose tip, the mouth corner on the image's left, the other mouth corner.
pub const ARCFACE_112: [Point; 5] = [
    Point::new(38.2946, 51.6963),
    Point::new(73.5318, 51.5014),
    Point::new(56.0252, 71.7366),
    Point::new(41.5493, 92.3655),
    Point::new(70.7299, 92.2041),
];

/// The similarity taking a photo to mobileface's 112×112 crop: the one that puts `five` (in
/// [`ARCFACE_112`]'s order) on the template. `None` if the points are degenerate.
pub fn arcface_similarity(five: &[Point; 5]) -> Option<Similarity> {
    Similarity::estimate(five, &ARCFACE_112)
}

/// mobileface's input: the 112×112 crop that puts `five` (in [`ARCFACE_112`]'s order) on the
/// template. `None` if the points are degenerate.
pub fn arcface_crop(image: &Image, five: &[Point; 5]) -> Option<Image> {
    Some(arcface_similarity(five)?.warp(image, 112, 112))
}

/// Side of FaceRecognitionNet's input (face-api.js's `toBatchTensor(150)`).
pub const CHIP_SIDE: usize = 150;

/// How much larger the face sits in FaceRecognitionNet's 150×150 chip than in the ArcFace
/// framing scaled to 150. Chosen by same- vs different-person ROC AUC on the 52 labelled
/// single-person photos of `../shared/faces` (87 same-person, 1,239 different-person pairs;
/// `examples/chip_zoom.rs`): zoom 0.8 → 0.906, 0.9 → 0.951, 1.0 → 0.977, **1.1 → 0.981**,
/// 1.2 → 0.965, 1.3 → 0.950.
pub const CHIP_ZOOM: f32 = 1.1;

/// The similarity taking a photo to FaceRecognitionNet's crop: the five points put on the
/// ArcFace template scaled to [`CHIP_SIDE`] and by `zoom` ([`CHIP_ZOOM`]) about the crop's
/// centre. `None` if the points are degenerate.
pub fn chip_similarity(five: &[Point; 5], zoom: f32) -> Option<Similarity> {
    let (c, half) = (55.5, (CHIP_SIDE as f32 - 1.0) / 2.0);
    let k = zoom * CHIP_SIDE as f32 / 112.0;
    let template = ARCFACE_112.map(|p| Point::new((p.x - c) * k + half, (p.y - c) * k + half));
    Similarity::estimate(five, &template)
}

/// The similarity taking a photo to faceres's "loose 224" crop: the detector's box grown 1.4×
/// about its centre, made square on its longer side, no rotation, scaled to 224×224.
pub fn loose_similarity(center: Point, width: f32, height: f32) -> Similarity {
    let side = width.max(height) * 1.4;
    let scale = 224.0 / side;
    // The square's left edge, at centre.x − side/2, lands on the crop's left edge (−0.5).
    Similarity {
        a: scale,
        b: 0.0,
        tx: -(center.x - side / 2.0) * scale - 0.5,
        ty: -(center.y - side / 2.0) * scale - 0.5,
    }
}

/// faceres's input: the "loose 224" crop of [`loose_similarity`].
pub fn loose_crop(image: &Image, center: Point, width: f32, height: f32) -> Image {
    loose_similarity(center, width, height).warp(image, 224, 224)
}

/// Side of the generator space: the square, FFHQ-framed face on which makeup is computed.
pub const GENERATOR_SIZE: usize = 256;

/// The similarity taking a photo to the generator space: FFHQ's framing (the one StyleGAN's
/// FFHQ models were trained on, so that a pretrained generator can later slot in), computed from
/// the eye centres and mouth corners of `five` (in [`ARCFACE_112`]'s order) and scaled to
/// [`GENERATOR_SIZE`]. The square's side is four times the eye distance (or 3.6 times the
/// eye-to-mouth distance, if larger), centred a little below the eyes, rotated so that the eyes
/// are level. `None` if the points are degenerate.
pub fn generator_space(five: &[Point; 5]) -> Option<Similarity> {
    let [eye_l, eye_r, _, mouth_l, mouth_r] = *five;
    let eye_avg = Point::new((eye_l.x + eye_r.x) / 2.0, (eye_l.y + eye_r.y) / 2.0);
    let mouth_avg = Point::new((mouth_l.x + mouth_r.x) / 2.0, (mouth_l.y + mouth_r.y) / 2.0);
    let eye_to_eye = Point::new(eye_r.x - eye_l.x, eye_r.y - eye_l.y);
    let eye_to_mouth = Point::new(mouth_avg.x - eye_avg.x, mouth_avg.y - eye_avg.y);
    // FFHQ's x axis: the eye line, turned towards perpendicular to the eye-mouth line.
    let x = Point::new(eye_to_eye.x + eye_to_mouth.y, eye_to_eye.y - eye_to_mouth.x);
    let length = x.x.hypot(x.y);
    let half_side = (eye_to_eye.x.hypot(eye_to_eye.y) * 2.0).max(eye_to_mouth.x.hypot(eye_to_mouth.y) * 1.8);
    if !(length > 0.0 && half_side > 0.0) {
        return None;
    }
    let x = Point::new(x.x / length * half_side, x.y / length * half_side);
    let y = Point::new(-x.y, x.x);
    let c = Point::new(eye_avg.x + eye_to_mouth.x * 0.1, eye_avg.y + eye_to_mouth.y * 0.1);
    // The square's corners are pixel edges: −0.5 and size − 0.5 in centre coordinates.
    let (lo, hi) = (-0.5, GENERATOR_SIZE as f32 - 0.5);
    let corners = [
        Point::new(c.x - x.x - y.x, c.y - x.y - y.y),
        Point::new(c.x + x.x - y.x, c.y + x.y - y.y),
        Point::new(c.x + x.x + y.x, c.y + x.y + y.y),
    ];
    Similarity::estimate(&corners, &[Point::new(lo, lo), Point::new(hi, lo), Point::new(hi, hi)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_recovers_a_similarity_and_inverse_undoes_it() {
        let truth = Similarity { a: 1.2 * 0.3f32.cos(), b: 1.2 * 0.3f32.sin(), tx: 5.0, ty: -7.0 };
        let from = [Point::new(0.0, 0.0), Point::new(10.0, 3.0), Point::new(-4.0, 8.0)];
        let to: Vec<Point> = from.iter().map(|&p| truth.apply(p)).collect();
        let got = Similarity::estimate(&from, &to).unwrap();
        for (x, y) in [(got.a, truth.a), (got.b, truth.b), (got.tx, truth.tx), (got.ty, truth.ty)] {
            assert!((x - y).abs() < 1e-4, "{got:?} vs {truth:?}");
        }
        let back = got.inverse().apply(got.apply(Point::new(3.0, 4.0)));
        assert!((back.x - 3.0).abs() < 1e-4 && (back.y - 4.0).abs() < 1e-4);
        assert!(Similarity::estimate(&[Point::new(1.0, 1.0); 3], &to).is_none());
        let then = got.then(&got.inverse());
        assert!((then.a - 1.0).abs() < 1e-5 && then.b.abs() < 1e-5 && then.tx.abs() < 1e-3, "{then:?}");
    }

    /// A level face: eyes 64 apart land 64 apart in generator space (side = 4 eye distances),
    /// level, centred horizontally, and the mouth lands below them.
    #[test]
    fn generator_space_frames_the_face_like_ffhq() {
        let five = [
            Point::new(100.0, 200.0),
            Point::new(164.0, 200.0),
            Point::new(132.0, 240.0),
            Point::new(110.0, 270.0),
            Point::new(154.0, 270.0),
        ];
        let to_gen = generator_space(&five).unwrap();
        let [l, r] = [to_gen.apply(five[0]), to_gen.apply(five[1])];
        assert!((r.x - l.x - 64.0).abs() < 1e-3 && (r.y - l.y).abs() < 1e-3, "{l:?} {r:?}");
        assert!(((l.x + r.x) / 2.0 - 127.5).abs() < 1e-3, "{l:?} {r:?}");
        let mouth = to_gen.apply(five[3]);
        assert!(mouth.y > l.y + 50.0 && mouth.y < 256.0, "{mouth:?}");
        // Turning the face turns the frame with it: the eyes stay level.
        let turn = Similarity { a: 0.8f32.cos() * 3.0, b: 0.8f32.sin() * 3.0, tx: 40.0, ty: -9.0 };
        let turned = generator_space(&five.map(|p| turn.apply(p))).unwrap();
        let [tl, tr] = [turned.apply(turn.apply(five[0])), turned.apply(turn.apply(five[1]))];
        assert!((tl.x - l.x).abs() < 1e-2 && (tr.y - r.y).abs() < 1e-2, "{tl:?} {tr:?}");
    }
}
