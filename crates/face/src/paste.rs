//! Paste-back: a change computed in generator space, put onto the full-resolution photo.
//!
//! The change (edited minus original, in generator space) is what gets warped back, not the
//! edited generator-space image itself: the photo keeps its own full-resolution detail and only
//! gains the low-frequency colour and tone the change carries. Pixels where the face's feathered
//! alpha is 0 are not touched at all, so they stay bit-identical; each face is pasted on its own,
//! touching only its region.

use crate::{Image, Point, Similarity};

/// A change and its alpha that do not fit together.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the change is {change:?} (width, height) but the alpha mask holds {alpha} values; both must be one square")]
pub struct MismatchedChange {
    /// The change's size.
    pub change: (usize, usize),
    /// The alpha mask's length.
    pub alpha: usize,
}

/// Adds `change` (a square generator-space image of differences), weighted by the soft `alpha`
/// mask of the same grid, to `photo`, mapping each photo pixel into generator space through
/// `to_generator`. Returns how many photo pixels were touched. Values stay within 0–255.
pub fn paste(
    photo: &mut Image,
    to_generator: &Similarity,
    change: &Image,
    alpha: &[f32],
) -> Result<usize, MismatchedChange> {
    let size = change.width;
    if change.height != size || alpha.len() != size * size {
        return Err(MismatchedChange { change: (change.width, change.height), alpha: alpha.len() });
    }
    // Only photo pixels whose generator-space position is near a non-zero alpha can change:
    // the bounding box of those alpha pixels, mapped back to the photo.
    let Some((lo, hi)) = support(alpha, size) else { return Ok(0) };
    let from_generator = to_generator.inverse();
    let corners = [(lo.0, lo.1), (hi.0, lo.1), (lo.0, hi.1), (hi.0, hi.1)]
        .map(|(x, y)| from_generator.apply(Point::new(x as f32, y as f32)));
    let margin = 1.0 + from_generator.scale();
    let span = |v: &dyn Fn(&Point) -> f32, limit: usize| {
        let lo = corners.iter().map(v).fold(f32::MAX, f32::min) - margin;
        let hi = corners.iter().map(v).fold(f32::MIN, f32::max) + margin;
        (lo.floor().clamp(0.0, limit as f32) as usize, hi.ceil().clamp(0.0, limit as f32) as usize)
    };
    let (x0, x1) = span(&|p| p.x, photo.width);
    let (y0, y1) = span(&|p| p.y, photo.height);
    let mut touched = 0;
    for y in y0..y1 {
        for x in x0..x1 {
            let g = to_generator.apply(Point::new(x as f32, y as f32));
            let a = sample_mask(alpha, size, g);
            if a <= 0.0 {
                continue;
            }
            let d = change.sample(g.x, g.y);
            let pixel = &mut photo.data[(y * photo.width + x) * 3..][..3];
            for c in 0..3 {
                pixel[c] = (pixel[c] + a * d[c]).clamp(0.0, 255.0);
            }
            touched += 1;
        }
    }
    Ok(touched)
}

/// The inclusive bounding box of the mask's non-zero pixels.
fn support(mask: &[f32], size: usize) -> Option<((usize, usize), (usize, usize))> {
    let mut bounds: Option<((usize, usize), (usize, usize))> = None;
    for (i, _) in mask.iter().enumerate().filter(|(_, v)| **v > 0.0) {
        let (x, y) = (i % size, i / size);
        bounds = Some(match bounds {
            None => ((x, y), (x, y)),
            Some((lo, hi)) => ((lo.0.min(x), lo.1.min(y)), (hi.0.max(x), hi.1.max(y))),
        });
    }
    bounds
}

/// Bilinear sample of a one-channel square mask (pixel centres at integers; 0 outside).
fn sample_mask(mask: &[f32], size: usize, p: Point) -> f32 {
    let (xf, yf) = (p.x.floor(), p.y.floor());
    let (wx, wy) = (p.x - xf, p.y - yf);
    let at = |x: f32, y: f32| {
        if x < 0.0 || y < 0.0 || x >= size as f32 || y >= size as f32 {
            0.0
        } else {
            mask[y as usize * size + x as usize]
        }
    };
    let top = at(xf, yf) * (1.0 - wx) + at(xf + 1.0, yf) * wx;
    let bottom = at(xf, yf + 1.0) * (1.0 - wx) + at(xf + 1.0, yf + 1.0) * wx;
    top * (1.0 - wy) + bottom * wy
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A change confined to a disc in generator space lands on the photo, at the transformed
    /// place; every pixel outside the disc's image keeps its exact value.
    #[test]
    fn only_the_masked_region_changes() {
        let photo: Vec<f32> = (0..64 * 48 * 3).map(|i| ((i * 37) % 256) as f32).collect();
        let original = Image { width: 64, height: 48, data: photo };
        let size = 32;
        let alpha: Vec<f32> = (0..size * size)
            .map(|i| {
                let (x, y) = ((i % size) as f32 - 15.5, (i / size) as f32 - 15.5);
                if x.hypot(y) < 8.0 { 1.0 } else { 0.0 }
            })
            .collect();
        let change = Image { width: size, height: size, data: vec![-40.0; size * size * 3] };
        // The generator square covers photo (20..36, 10..26), turned a little.
        let to_gen = Similarity::estimate(
            &[Point::new(20.0, 10.0), Point::new(36.0, 10.5), Point::new(19.5, 26.0)],
            &[Point::new(0.0, 0.0), Point::new(31.0, 0.0), Point::new(0.0, 31.0)],
        )
        .unwrap();
        let mut pasted = original.clone();
        let touched = paste(&mut pasted, &to_gen, &change, &alpha).unwrap();
        assert!(touched > 40 && touched < 120, "{touched} pixels touched");
        let (a, b) = (original.to_rgb8(), pasted.to_rgb8());
        let changed: Vec<usize> = (0..64 * 48).filter(|&i| a[i * 3..][..3] != b[i * 3..][..3]).collect();
        assert!(!changed.is_empty());
        for i in changed {
            let g = to_gen.apply(Point::new((i % 64) as f32, (i / 64) as f32));
            assert!((g.x - 15.5).hypot(g.y - 15.5) < 9.5, "pixel {i} changed outside the disc ({g:?})");
        }
        let wrong = Image { width: 8, height: 8, data: vec![0.0; 192] };
        assert!(paste(&mut pasted, &to_gen, &wrong, &alpha).is_err());
    }
}
