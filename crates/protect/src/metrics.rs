//! Image-quality measures of a protected photo against the original: PSNR and SSIM, over the
//! whole photo, on the 8-bit values that are written out.

use facecloak_face::Image;

/// Peak signal-to-noise ratio in dB over all pixels and channels (8-bit values); infinite for
/// identical images.
pub fn psnr(a: &Image, b: &Image) -> f64 {
    let (a, b) = (a.to_rgb8(), b.to_rgb8());
    let mse = a.iter().zip(&b).map(|(x, y)| (*x as f64 - *y as f64).powi(2)).sum::<f64>() / a.len().max(1) as f64;
    if mse == 0.0 { f64::INFINITY } else { 10.0 * (255.0f64 * 255.0 / mse).log10() }
}

/// Mean structural similarity (Wang et al. 2004: Gaussian window σ = 1.5, K1 = 0.01,
/// K2 = 0.03) of the luma (BT.601) of the 8-bit images. 1 for identical images.
pub fn ssim(a: &Image, b: &Image) -> f64 {
    let luma = |img: &Image| -> Vec<f64> {
        img.to_rgb8().chunks_exact(3).map(|p| 0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64).collect()
    };
    let (w, h) = (a.width, a.height);
    let (x, y) = (luma(a), luma(b));
    let blur = |v: &[f64]| gaussian(v, w, h);
    let (mx, my) = (blur(&x), blur(&y));
    let xx: Vec<f64> = x.iter().map(|v| v * v).collect();
    let yy: Vec<f64> = y.iter().map(|v| v * v).collect();
    let xy: Vec<f64> = x.iter().zip(&y).map(|(a, b)| a * b).collect();
    let (sxx, syy, sxy) = (blur(&xx), blur(&yy), blur(&xy));
    let (c1, c2) = ((0.01 * 255.0f64).powi(2), (0.03 * 255.0f64).powi(2));
    let total: f64 = (0..w * h)
        .map(|i| {
            let (vx, vy, cov) = (sxx[i] - mx[i] * mx[i], syy[i] - my[i] * my[i], sxy[i] - mx[i] * my[i]);
            ((2.0 * mx[i] * my[i] + c1) * (2.0 * cov + c2)) / ((mx[i] * mx[i] + my[i] * my[i] + c1) * (vx + vy + c2))
        })
        .sum();
    total / (w * h).max(1) as f64
}

/// Separable Gaussian (σ 1.5, radius 5), borders replicated.
fn gaussian(v: &[f64], w: usize, h: usize) -> Vec<f64> {
    let taps: Vec<f64> = (-5i64..=5).map(|i| (-(i * i) as f64 / 4.5).exp()).collect();
    let total: f64 = taps.iter().sum();
    let pass = |input: &[f64], horizontal: bool| {
        let mut out = vec![0.0; input.len()];
        for yy in 0..h as i64 {
            for xx in 0..w as i64 {
                let mut acc = 0.0;
                for (j, t) in taps.iter().enumerate() {
                    let o = j as i64 - 5;
                    let (sx, sy) = if horizontal {
                        ((xx + o).clamp(0, w as i64 - 1), yy)
                    } else {
                        (xx, (yy + o).clamp(0, h as i64 - 1))
                    };
                    acc += t * input[(sy * w as i64 + sx) as usize];
                }
                out[(yy * w as i64 + xx) as usize] = acc / total;
            }
        }
        out
    };
    pass(&pass(v, true), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_noisy_and_shifted_images() {
        let img = Image { width: 40, height: 30, data: (0..40 * 30 * 3).map(|i| ((i * 31) % 200) as f32).collect() };
        assert_eq!(psnr(&img, &img), f64::INFINITY);
        assert!((ssim(&img, &img) - 1.0).abs() < 1e-12);
        let brighter = Image { data: img.data.iter().map(|v| v + 10.0).collect(), ..img.clone() };
        assert!((psnr(&img, &brighter) - 28.13).abs() < 0.01, "{}", psnr(&img, &brighter));
        let noisy = Image {
            data: img.data.iter().enumerate().map(|(i, v)| v + ((i * 7919) % 41) as f32 - 20.0).collect(),
            ..img.clone()
        };
        let s = ssim(&img, &noisy);
        assert!(s < 0.99 && s > 0.3, "{s}");
    }
}
