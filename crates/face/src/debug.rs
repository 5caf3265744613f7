//! Pictures for people: boxes, keypoints and landmarks drawn over a photo, so that a person can
//! check at a glance what the pipeline found.

use crate::{Face, Framed, Image, Point, Region, Regions, paste};

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

/// Each region's overlay colour and opacity.
pub fn region_colour(region: Region) -> ([f32; 3], f32) {
    match region {
        Region::Lips => ([230.0, 20.0, 70.0], 0.7),
        Region::EyelidLeft => ([160.0, 60.0, 230.0], 0.7),
        Region::EyelidRight => ([60.0, 110.0, 240.0], 0.7),
        Region::Eyeliner => ([20.0, 230.0, 120.0], 0.9),
        Region::Brows => ([240.0, 140.0, 20.0], 0.7),
        Region::CheekLeft | Region::CheekRight => ([255.0, 90.0, 200.0], 0.6),
        Region::Skin => ([255.0, 235.0, 90.0], 0.3),
    }
}

/// `generator` (a generator-space face) with every makeup region tinted in its
/// [`region_colour`], skin first, so a person sees what each region covers.
pub fn tint(generator: &Image, regions: &Regions) -> Image {
    let mut out = generator.clone();
    for region in [Region::Skin].into_iter().chain(Region::ALL.into_iter().filter(|&r| r != Region::Skin)) {
        let (colour, opacity) = region_colour(region);
        for (i, m) in regions.mask(region).iter().enumerate() {
            let pixel = &mut out.data[i * 3..][..3];
            for c in 0..3 {
                pixel[c] += m * opacity * (colour[c] - pixel[c]);
            }
        }
    }
    out
}

/// `photo` with each face's makeup regions tinted, through the same paste-back the makeup
/// uses: what shows is where makeup can land on the photo.
pub fn regions(photo: &Image, faces: &[Framed]) -> Image {
    let mut out = photo.clone();
    for face in faces {
        let generator = face.crop(photo);
        let tinted = tint(&generator, &face.regions);
        let change = Image {
            width: generator.width,
            height: generator.height,
            data: tinted.data.iter().zip(&generator.data).map(|(t, g)| t - g).collect(),
        };
        // Sizes agree by construction (both come from the same Framed).
        let _ = paste::paste(&mut out, &face.to_generator, &change, face.regions.face());
    }
    out
}

/// `images` side by side on grey, top-aligned, 8 pixels apart; a small grey square when there
/// are none.
pub fn gallery(images: &[Image]) -> Image {
    const GAP: usize = 8;
    let width = images.iter().map(|i| i.width + GAP).sum::<usize>() + GAP;
    let height = images.iter().map(|i| i.height).max().unwrap_or(0) + 2 * GAP;
    let mut out = Image { width, height, data: vec![96.0; width * height * 3] };
    let mut x0 = GAP;
    for image in images {
        for y in 0..image.height {
            let row = &image.data[y * image.width * 3..][..image.width * 3];
            out.data[((y + GAP) * width + x0) * 3..][..image.width * 3].copy_from_slice(row);
        }
        x0 += image.width + GAP;
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
