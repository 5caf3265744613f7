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

/// mobileface's input: the 112×112 crop that puts `five` (in [`ARCFACE_112`]'s order) on the
/// template. `None` if the points are degenerate.
pub fn arcface_crop(image: &Image, five: &[Point; 5]) -> Option<Image> {
    Some(Similarity::estimate(five, &ARCFACE_112)?.warp(image, 112, 112))
}

/// faceres's input: the detector's box grown 1.4× about its centre, made square on its longer
/// side, no rotation, resized to 224×224 ("loose 224").
pub fn loose_crop(image: &Image, center: Point, width: f32, height: f32) -> Image {
    let side = width.max(height) * 1.4;
    image.crop_square(center.x - side / 2.0 + 0.5, center.y - side / 2.0 + 0.5, side, 224)
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
    }
}
