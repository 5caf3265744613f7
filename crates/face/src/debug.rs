//! Pictures for people: boxes, keypoints and landmarks drawn over a photo, so that a person can
//! check at a glance what the pipeline found.

use crate::{Face, Image, Point};

const BOX: [f32; 3] = [40.0, 255.0, 80.0];
const KEYPOINT: [f32; 3] = [255.0, 60.0, 60.0];
const LANDMARK: [f32; 3] = [60.0, 220.0, 255.0];

/// `image` with each face's box (green, line width scaled to the photo), its six keypoints
/// (red) and, where given, its landmarks (cyan) drawn on top.
pub fn overlay(image: &Image, faces: &[Face], landmarks: &[Vec<Point>]) -> Image {
    let mut out = image.clone();
    let line = (image.width.max(image.height) as f32 / 400.0).max(1.0);
    for face in faces {
        let (x0, y0) = (face.center.x - face.width / 2.0, face.center.y - face.height / 2.0);
        let (x1, y1) = (x0 + face.width, y0 + face.height);
        fill(&mut out, x0 - line, y0 - line, x1 + line, y0, BOX);
        fill(&mut out, x0 - line, y1, x1 + line, y1 + line, BOX);
        fill(&mut out, x0 - line, y0, x0, y1, BOX);
        fill(&mut out, x1, y0, x1 + line, y1, BOX);
        for p in face.keypoints {
            fill(&mut out, p.x - 1.5 * line, p.y - 1.5 * line, p.x + 1.5 * line, p.y + 1.5 * line, KEYPOINT);
        }
    }
    let dot = (line / 2.0).max(0.5);
    for p in landmarks.iter().flatten() {
        fill(&mut out, p.x - dot, p.y - dot, p.x + dot, p.y + dot, LANDMARK);
    }
    out
}

/// Paints the pixels whose centres lie in [x0, x1] × [y0, y1].
fn fill(image: &mut Image, x0: f32, y0: f32, x1: f32, y1: f32, colour: [f32; 3]) {
    let clamp = |v: f32, hi: usize| (v.round().max(0.0) as usize).min(hi);
    let (xa, xb) = (clamp(x0, image.width), clamp(x1 + 1.0, image.width));
    let (ya, yb) = (clamp(y0, image.height), clamp(y1 + 1.0, image.height));
    for y in ya..yb {
        for x in xa..xb {
            image.data[(y * image.width + x) * 3..][..3].copy_from_slice(&colour);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_box_is_drawn_and_the_rest_is_untouched() {
        let image = Image { width: 20, height: 20, data: vec![0.0; 1200] };
        let face = Face {
            center: Point::new(10.0, 10.0),
            width: 8.0,
            height: 8.0,
            keypoints: [Point::new(10.0, 10.0); 6],
            score: 1.0,
        };
        let out = overlay(&image, &[face], &[]);
        let at = |x: usize, y: usize| &out.data[(y * 20 + x) * 3..][..3];
        assert_eq!(at(6, 6), BOX);
        assert_eq!(at(10, 10), KEYPOINT);
        assert_eq!(at(8, 8), [0.0; 3]);
        assert_eq!(at(0, 0), [0.0; 3]);
    }
}
