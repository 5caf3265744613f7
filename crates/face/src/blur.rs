//! The one separable Gaussian blur: feathering region masks, separating a face's tone from
//! its detail, and SSIM's windows all use it.
//!
//! Each pass adds one tap at a time over a whole row (`out += t · shifted input`), which the
//! compiler turns into SIMD, and the rows are spread over the cores (`parallel::rows`). A
//! protection blurs the whole photo for SSIM and every face's masks several times: written as
//! a loop over pixels, then taps, then channels, with a bounds test per tap, the blur was a
//! second of a browser protection's eight steps on one thread.

use crate::parallel;

/// What lies beyond the image's edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Border {
    /// Zeros (a mask fades out at the edge).
    Zero,
    /// The edge pixel repeated (a photo keeps its tone up to the edge).
    Replicate,
}

/// `data` (`width`×`height`, `channels` interleaved) blurred by a Gaussian of standard
/// deviation `sigma` pixels, truncated at 3σ. Data of another length comes back unchanged.
///
/// Every output value sums its taps in order, from the leftmost (topmost) one, so the result
/// does not depend on how the rows are shared out.
pub fn gaussian(data: &[f32], width: usize, height: usize, channels: usize, sigma: f32, border: Border) -> Vec<f32> {
    if data.len() != width * height * channels || sigma <= 0.0 || data.is_empty() {
        return data.to_vec();
    }
    let radius = (sigma * 3.0).ceil().max(1.0) as usize;
    let taps: Vec<f32> =
        (0..=2 * radius).map(|j| (-(j.abs_diff(radius).pow(2) as f32) / (2.0 * sigma * sigma)).exp()).collect();
    let total: f32 = taps.iter().sum();
    let taps: Vec<f32> = taps.iter().map(|t| t / total).collect();
    let row = width * channels;

    let mut across = vec![0.0; data.len()];
    parallel::rows(&mut across, row, |y, out| {
        horizontal(&data[y * row..(y + 1) * row], out, channels, &taps, border);
    });
    let mut blurred = vec![0.0; data.len()];
    parallel::rows(&mut blurred, row, |y, out| {
        for (j, &t) in taps.iter().enumerate() {
            // Output row y reads input row y + j − radius.
            let from = match ((y + j).checked_sub(radius).filter(|&from| from < height), border) {
                (Some(inside), _) => inside,
                (None, Border::Zero) => continue,
                (None, Border::Replicate) => (y + j).saturating_sub(radius).min(height - 1),
            };
            add_scaled(out, &across[from * row..(from + 1) * row], t);
        }
    });
    blurred
}

/// One row blurred along itself: for each tap, the row shifted by the tap's offset and scaled,
/// with the pixels it shifts in from beyond the edge either skipped (zero) or the edge pixel.
fn horizontal(input: &[f32], out: &mut [f32], channels: usize, taps: &[f32], border: Border) {
    let width = input.len() / channels;
    let radius = taps.len() / 2;
    for (j, &t) in taps.iter().enumerate() {
        // Output pixel x reads input pixel x + j − radius; these x read inside the row.
        let first = radius.saturating_sub(j).min(width);
        let end = (width + radius).saturating_sub(j).min(width).max(first);
        if end > first {
            let from = first + j - radius;
            add_scaled(
                &mut out[first * channels..end * channels],
                &input[from * channels..(from + end - first) * channels],
                t,
            );
        }
        if border == Border::Replicate {
            for x in (0..first).chain(end..width) {
                let edge = if x < first { 0 } else { width - 1 };
                for c in 0..channels {
                    out[x * channels + c] += t * input[edge * channels + c];
                }
            }
        }
    }
}

/// `out += t · input`, element by element (equal lengths).
fn add_scaled(out: &mut [f32], input: &[f32], t: f32) {
    for (o, i) in out.iter_mut().zip(input) {
        *o += t * i;
    }
}

#[cfg(test)]
mod tests {
    use super::{Border, gaussian};

    /// The blur as its definition reads, one output value at a time, taps in order: the
    /// reference the fast one must match exactly.
    fn by_definition(data: &[f32], w: usize, h: usize, channels: usize, sigma: f32, border: Border) -> Vec<f32> {
        let radius = (sigma * 3.0).ceil().max(1.0) as i64;
        let taps: Vec<f32> = (-radius..=radius).map(|i| (-((i * i) as f32) / (2.0 * sigma * sigma)).exp()).collect();
        let total: f32 = taps.iter().sum();
        let taps: Vec<f32> = taps.iter().map(|t| t / total).collect();
        let (w, h) = (w as i64, h as i64);
        let pass = |input: &[f32], horizontal: bool| {
            let mut out = vec![0.0; input.len()];
            for y in 0..h {
                for x in 0..w {
                    for (j, t) in taps.iter().enumerate() {
                        let o = j as i64 - radius;
                        let (mut sx, mut sy) = if horizontal { (x + o, y) } else { (x, y + o) };
                        if sx < 0 || sy < 0 || sx >= w || sy >= h {
                            match border {
                                Border::Zero => continue,
                                Border::Replicate => (sx, sy) = (sx.clamp(0, w - 1), sy.clamp(0, h - 1)),
                            }
                        }
                        let (from, to) = (((sy * w + sx) as usize) * channels, ((y * w + x) as usize) * channels);
                        for c in 0..channels {
                            out[to + c] += t * input[from + c];
                        }
                    }
                }
            }
            out
        };
        pass(&pass(data, true), false)
    }

    #[test]
    fn matches_the_definition_exactly_at_every_size_border_and_channel_count() {
        // Sizes below, at and above the kernel's width (radius 3 at σ 1, 5 at σ 1.5, 9 at σ 3),
        // so that rows where every pixel is near an edge are covered too.
        let mut seed = 7u32;
        for &(w, h) in &[(1, 1), (2, 5), (7, 3), (16, 16), (37, 23), (300, 9)] {
            for channels in [1, 3] {
                let data: Vec<f32> = (0..w * h * channels)
                    .map(|_| {
                        seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                        (seed >> 8) as f32 / (1u32 << 24) as f32
                    })
                    .collect();
                for sigma in [0.4, 1.0, 1.5, 3.0] {
                    for border in [Border::Zero, Border::Replicate] {
                        let fast = gaussian(&data, w, h, channels, sigma, border);
                        let reference = by_definition(&data, w, h, channels, sigma, border);
                        assert_eq!(fast, reference, "{w}x{h}x{channels}, sigma {sigma}, {border:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn keeps_a_constant_image_under_replicate_and_fades_it_at_the_edges_under_zero() {
        let (w, h) = (20, 12);
        let flat = vec![0.5; w * h];
        let kept = gaussian(&flat, w, h, 1, 2.0, Border::Replicate);
        assert!(kept.iter().all(|v| (v - 0.5).abs() < 1e-6));
        let faded = gaussian(&flat, w, h, 1, 2.0, Border::Zero);
        assert!(faded[0] < 0.2 && (faded[6 * w + 10] - 0.5).abs() < 0.05, "{} {}", faded[0], faded[6 * w + 10]);
    }

    #[test]
    fn data_of_the_wrong_length_or_no_blur_comes_back_unchanged() {
        let data = vec![1.0, 2.0, 3.0];
        assert_eq!(gaussian(&data, 2, 2, 1, 1.0, Border::Zero), data);
        assert_eq!(gaussian(&data, 3, 1, 1, 0.0, Border::Zero), data);
    }
}
