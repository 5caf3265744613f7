//! Image-quality measures of a protected photo against the original: PSNR and SSIM, over the
//! whole photo, on the 8-bit values that are written out.

use facecloak_face::Image;
use facecloak_face::blur::{Border, gaussian};

/// Two images of different sizes cannot be compared.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot compare a {0:?} image with a {1:?} one (width, height)")]
pub struct SizeMismatch(pub (usize, usize), pub (usize, usize));

fn same_size(a: &Image, b: &Image) -> Result<(), SizeMismatch> {
    if (a.width, a.height) == (b.width, b.height) && a.data.len() == b.data.len() {
        Ok(())
    } else {
        Err(SizeMismatch((a.width, a.height), (b.width, b.height)))
    }
}

/// Peak signal-to-noise ratio in dB over all pixels and channels (8-bit values); infinite for
/// identical images.
pub fn psnr(a: &Image, b: &Image) -> Result<f64, SizeMismatch> {
    same_size(a, b)?;
    let (a, b) = (a.to_rgb8(), b.to_rgb8());
    let mse = a.iter().zip(&b).map(|(x, y)| (*x as f64 - *y as f64).powi(2)).sum::<f64>() / a.len().max(1) as f64;
    Ok(if mse == 0.0 { f64::INFINITY } else { 10.0 * (255.0f64 * 255.0 / mse).log10() })
}

/// Mean structural similarity (Wang et al. 2004: Gaussian window σ = 1.5, K1 = 0.01,
/// K2 = 0.03) of the luma (BT.601) of the 8-bit images. 1 for identical images.
pub fn ssim(a: &Image, b: &Image) -> Result<f64, SizeMismatch> {
    same_size(a, b)?;
    let luma = |img: &Image| -> Vec<f32> {
        img.to_rgb8().chunks_exact(3).map(|p| 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32).collect()
    };
    let (w, h) = (a.width, a.height);
    let (x, y) = (luma(a), luma(b));
    let blur = |v: &[f32]| gaussian(v, w, h, 1, 1.5, Border::Replicate);
    let (mx, my) = (blur(&x), blur(&y));
    let xx: Vec<f32> = x.iter().map(|v| v * v).collect();
    let yy: Vec<f32> = y.iter().map(|v| v * v).collect();
    let xy: Vec<f32> = x.iter().zip(&y).map(|(a, b)| a * b).collect();
    let (sxx, syy, sxy) = (blur(&xx), blur(&yy), blur(&xy));
    let (c1, c2) = ((0.01 * 255.0f64).powi(2), (0.03 * 255.0f64).powi(2));
    let total: f64 = (0..w * h)
        .map(|i| {
            let (mx, my) = (mx[i] as f64, my[i] as f64);
            let (vx, vy, cov) = (sxx[i] as f64 - mx * mx, syy[i] as f64 - my * my, sxy[i] as f64 - mx * my);
            ((2.0 * mx * my + c1) * (2.0 * cov + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
        })
        .sum();
    Ok(total / (w * h).max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_noisy_and_shifted_images() {
        let img = Image { width: 40, height: 30, data: (0..40 * 30 * 3).map(|i| ((i * 31) % 200) as f32).collect() };
        assert_eq!(psnr(&img, &img).unwrap(), f64::INFINITY);
        assert!((ssim(&img, &img).unwrap() - 1.0).abs() < 1e-9);
        let brighter = Image { data: img.data.iter().map(|v| v + 10.0).collect(), ..img.clone() };
        assert!((psnr(&img, &brighter).unwrap() - 28.13).abs() < 0.01);
        let noisy = Image {
            data: img.data.iter().enumerate().map(|(i, v)| v + ((i * 7919) % 41) as f32 - 20.0).collect(),
            ..img.clone()
        };
        let s = ssim(&img, &noisy).unwrap();
        let smaller = Image { width: 10, height: 30, data: vec![0.0; 900] };
        assert!(ssim(&img, &smaller).is_err() && psnr(&img, &smaller).is_err());
        assert!(s < 0.99 && s > 0.3, "{s}");
    }
}
