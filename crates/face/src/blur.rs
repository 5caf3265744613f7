//! The one separable Gaussian blur: feathering region masks, separating a face's tone from
//! its detail, and SSIM's windows all use it.

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
pub fn gaussian(data: &[f32], width: usize, height: usize, channels: usize, sigma: f32, border: Border) -> Vec<f32> {
    if data.len() != width * height * channels || sigma <= 0.0 {
        return data.to_vec();
    }
    let radius = (sigma * 3.0).ceil().max(1.0) as i64;
    let taps: Vec<f32> = (-radius..=radius).map(|i| (-((i * i) as f32) / (2.0 * sigma * sigma)).exp()).collect();
    let total: f32 = taps.iter().sum();
    let taps: Vec<f32> = taps.iter().map(|t| t / total).collect();
    let (w, h) = (width as i64, height as i64);
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
