//! CIELAB: the colour space in which makeup's bounds are stated.
//!
//! A pigment's freedom is a perceptual budget around the requested colour (CIEDE2000), and
//! foundation, contour and highlight change lightness alone, so the generator works in CIELAB
//! (D65, sRGB primaries, as CSS Color 4 defines them). The host functions convert single
//! colours and measure CIEDE2000 (Sharma, Wu & Dalal 2005, whose test pairs the tests use);
//! [`lab_to_srgb`] is the same conversion on burn tensors, differentiable, for the render.

use burn::tensor::Tensor;
use burn::tensor::activation::relu;

/// D65 reference white (CIE 1931 2°), as CSS Color 4 uses.
const WHITE: [f32; 3] = [0.950_47, 1.0, 1.088_83];
/// Linear sRGB → XYZ (IEC 61966-2-1).
const RGB_TO_XYZ: [[f32; 3]; 3] = [
    [0.412_456_4, 0.357_576_1, 0.180_437_5],
    [0.212_672_9, 0.715_152_2, 0.072_175],
    [0.019_333_9, 0.119_192, 0.950_304_1],
];
/// XYZ → linear sRGB (its inverse).
const XYZ_TO_RGB: [[f32; 3]; 3] = [
    [3.240_454_2, -1.537_138_5, -0.498_531_4],
    [-0.969_266, 1.876_010_8, 0.041_556],
    [0.055_643_4, -0.204_025_9, 1.057_225_2],
];
/// CIELAB's break between the cube root and its linear toe: δ = 6/29.
const DELTA: f32 = 6.0 / 29.0;
/// sRGB's break between its linear toe and its power curve, in linear light.
const SRGB_TOE: f32 = 0.003_130_8;

fn to_linear(c: f32) -> f32 {
    let c = (c / 255.0).clamp(0.0, 1.0);
    if c <= 0.040_45 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
}

fn from_linear(c: f32) -> f32 {
    let c = c.clamp(0.0, 1.0);
    255.0 * if c <= SRGB_TOE { 12.92 * c } else { 1.055 * c.powf(1.0 / 2.4) - 0.055 }
}

fn f(t: f32) -> f32 {
    if t > DELTA.powi(3) { t.cbrt() } else { t / (3.0 * DELTA * DELTA) + 4.0 / 29.0 }
}

fn f_inverse(t: f32) -> f32 {
    if t > DELTA { t.powi(3) } else { 3.0 * DELTA * DELTA * (t - 4.0 / 29.0) }
}

/// sRGB on 0–255 → CIELAB (L* 0–100).
pub fn srgb_to_lab(rgb: [f32; 3]) -> [f32; 3] {
    let lin = rgb.map(to_linear);
    let xyz = RGB_TO_XYZ.map(|row| row[0] * lin[0] + row[1] * lin[1] + row[2] * lin[2]);
    let [fx, fy, fz] = [0, 1, 2].map(|i| f(xyz[i] / WHITE[i]));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

/// CIELAB → sRGB on 0–255, clipped to the gamut.
pub fn lab_to_srgb_host(lab: [f32; 3]) -> [f32; 3] {
    let fy = (lab[0] + 16.0) / 116.0;
    let fs = [fy + lab[1] / 500.0, fy, fy - lab[2] / 200.0];
    let xyz = [0, 1, 2].map(|i| WHITE[i] * f_inverse(fs[i]));
    XYZ_TO_RGB.map(|row| from_linear(row[0] * xyz[0] + row[1] * xyz[1] + row[2] * xyz[2]))
}

/// CIEDE2000 colour difference of two CIELAB colours (k_L = k_C = k_H = 1).
pub fn delta_e2000(lab1: [f32; 3], lab2: [f32; 3]) -> f32 {
    let [l1, a1, b1] = lab1.map(f64::from);
    let [l2, a2, b2] = lab2.map(f64::from);
    let pow7 = |c: f64| c.powi(7);
    let c_bar = (a1.hypot(b1) + a2.hypot(b2)) / 2.0;
    let g = 0.5 * (1.0 - (pow7(c_bar) / (pow7(c_bar) + pow7(25.0))).sqrt());
    let (a1p, a2p) = (a1 * (1.0 + g), a2 * (1.0 + g));
    let (c1p, c2p) = (a1p.hypot(b1), a2p.hypot(b2));
    let hue = |b: f64, a: f64| if a == 0.0 && b == 0.0 { 0.0 } else { b.atan2(a).to_degrees().rem_euclid(360.0) };
    let (h1p, h2p) = (hue(b1, a1p), hue(b2, a2p));
    let dl = l2 - l1;
    let dc = c2p - c1p;
    let dh = if c1p * c2p == 0.0 {
        0.0
    } else {
        let d = h2p - h1p;
        if d.abs() <= 180.0 {
            d
        } else if d > 180.0 {
            d - 360.0
        } else {
            d + 360.0
        }
    };
    let dh_big = 2.0 * (c1p * c2p).sqrt() * (dh.to_radians() / 2.0).sin();
    let l_bar = (l1 + l2) / 2.0;
    let cp_bar = (c1p + c2p) / 2.0;
    let hp_bar = if c1p * c2p == 0.0 {
        h1p + h2p
    } else if (h1p - h2p).abs() <= 180.0 {
        (h1p + h2p) / 2.0
    } else if h1p + h2p < 360.0 {
        (h1p + h2p + 360.0) / 2.0
    } else {
        (h1p + h2p - 360.0) / 2.0
    };
    let cos = |deg: f64| deg.to_radians().cos();
    let t = 1.0 - 0.17 * cos(hp_bar - 30.0) + 0.24 * cos(2.0 * hp_bar) + 0.32 * cos(3.0 * hp_bar + 6.0)
        - 0.20 * cos(4.0 * hp_bar - 63.0);
    let d_theta = 30.0 * (-((hp_bar - 275.0) / 25.0).powi(2)).exp();
    let rc = 2.0 * (pow7(cp_bar) / (pow7(cp_bar) + pow7(25.0))).sqrt();
    let sl = 1.0 + 0.015 * (l_bar - 50.0).powi(2) / (20.0 + (l_bar - 50.0).powi(2)).sqrt();
    let sc = 1.0 + 0.045 * cp_bar;
    let sh = 1.0 + 0.015 * cp_bar * t;
    let rt = -(2.0 * d_theta).to_radians().sin() * rc;
    let (x, y, z) = (dl / sl, dc / sc, dh_big / sh);
    (x * x + y * y + z * z + rt * y * z).max(0.0).sqrt() as f32
}

/// CIELAB `[3, N]` (rows L*, a*, b*) → sRGB `[3, N]` on 0–255, clipped to the gamut, on any
/// burn device and differentiable. Both branches of each piecewise curve are evaluated on
/// inputs kept inside their own domain, so neither gives a NaN gradient where it is not used.
pub fn lab_to_srgb(lab: Tensor<2>) -> Tensor<2> {
    let n = lab.dims()[1];
    let device = lab.device();
    let l = lab.clone().slice([0..1, 0..n]);
    let a = lab.clone().slice([1..2, 0..n]);
    let b = lab.slice([2..3, 0..n]);
    let fy = (l + 16.0) / 116.0;
    let fs = Tensor::cat(vec![fy.clone() + a / 500.0, fy.clone(), fy - b / 200.0], 0);
    let cube = fs.clone().powi_scalar(3);
    let toe = (fs.clone() - 4.0 / 29.0) * (3.0 * DELTA * DELTA);
    let relative = toe.mask_where(fs.greater_elem(DELTA), cube);
    let white = Tensor::<2>::from_floats([[WHITE[0]], [WHITE[1]], [WHITE[2]]], &device);
    let xyz = relative * white;
    let matrix = Tensor::<2>::from_floats(XYZ_TO_RGB, &device);
    let linear = matrix.matmul(xyz);
    // Into the gamut with ReLUs (their backward is a mask).
    let linear = relu(linear.clone()) - relu(linear - 1.0);
    let power = (relu(linear.clone() - SRGB_TOE) + SRGB_TOE).powf_scalar(1.0 / 2.4) * 1.055 - 0.055;
    let encoded = (linear.clone() * 12.92).mask_where(linear.greater_elem(SRGB_TOE), power);
    encoded * 255.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Test pairs from Sharma, Wu & Dalal (2005), "The CIEDE2000 colour-difference formula",
    /// table 1: pairs 1, 7, 13, 17, 25 and 34, with their published ΔE00.
    #[test]
    fn ciede2000_matches_sharmas_table() {
        let pairs: [([f32; 3], [f32; 3], f32); 6] = [
            ([50.0, 2.6772, -79.7751], [50.0, 0.0, -82.7485], 2.0425),
            ([50.0, 0.0, 0.0], [50.0, -1.0, 2.0], 2.3669),
            ([50.0, 2.49, -0.001], [50.0, -2.49, 0.0011], 7.2195),
            ([50.0, 2.5, 0.0], [73.0, 25.0, -18.0], 27.1492),
            ([60.2574, -34.0099, 36.2677], [60.4626, -34.1751, 39.4387], 1.2644),
            ([2.0776, 0.0795, -1.1350], [0.9033, -0.0636, -0.5514], 0.9082),
        ];
        for (a, b, want) in pairs {
            let got = delta_e2000(a, b);
            assert!((got - want).abs() < 1e-3, "{a:?} {b:?}: {got} vs {want}");
            assert!((delta_e2000(b, a) - want).abs() < 1e-3, "not symmetric");
        }
    }

    #[test]
    fn the_tensor_conversion_matches_the_host_one_on_both_branches() {
        // L* below 8 puts f(Y) on the linear toe, the others on the cube; the dark colours
        // also reach sRGB's linear toe, the saturated ones its clip.
        let colours = [
            [0.0, 0.0, 0.0],
            [2.0, -1.0, 1.5],
            [7.5, 4.0, -3.0],
            [30.0, 10.0, -20.0],
            [53.24, 80.09, 67.2],
            [70.0, -20.0, 30.0],
            [100.0, 0.0, 0.0],
            [40.0, 60.0, -90.0],
        ];
        let n = colours.len();
        let device = facecloak_device::Backend::cpu(facecloak_device::CpuBackend::Flex).device().clone();
        let planar: Vec<f32> = (0..3).flat_map(|c| colours.iter().map(move |lab| lab[c])).collect();
        let lab = Tensor::<2>::from_data(burn::tensor::TensorData::new(planar, [3, n]), &device);
        let rgb = lab_to_srgb(lab).into_data().try_to_vec::<f32>().unwrap_or_default();
        assert_eq!(rgb.len(), 3 * n);
        for (i, lab) in colours.iter().enumerate() {
            let host = lab_to_srgb_host(*lab);
            for c in 0..3 {
                assert!(
                    (rgb[c * n + i] - host[c]).abs() < 0.01,
                    "{lab:?}: channel {c} {} vs {}",
                    rgb[c * n + i],
                    host[c]
                );
            }
        }
    }

    #[test]
    fn round_trips_and_known_values() {
        // sRGB white is L* 100, a* b* 0; pure red is (53.24, 80.09, 67.20) (CSS Color 4).
        let white = srgb_to_lab([255.0; 3]);
        assert!((white[0] - 100.0).abs() < 0.01 && white[1].abs() < 0.01 && white[2].abs() < 0.01, "{white:?}");
        let red = srgb_to_lab([255.0, 0.0, 0.0]);
        assert!((red[0] - 53.24).abs() < 0.02 && (red[1] - 80.09).abs() < 0.05 && (red[2] - 67.20).abs() < 0.05);
        for rgb in [[0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [200.0, 150.0, 120.0], [20.0, 240.0, 90.0], [255.0, 255.0, 0.0]] {
            let back = lab_to_srgb_host(srgb_to_lab(rgb));
            assert!(back.iter().zip(rgb).all(|(b, r)| (b - r).abs() < 0.02), "{rgb:?} -> {back:?}");
        }
    }
}
