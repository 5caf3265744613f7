//! Expectation over transformation: what upload sites and cameras do to a photo, applied at
//! random to every crop at every step, differentiably, so the protection found survives them.
//!
//! Geometry (a small random shift, scale and rotation of each recognizer's crop) is drawn into
//! the crop's warp itself (see `search`); the pixel-level transformations live here: down-up
//! resize, Gaussian blur, brightness/contrast, and a differentiable JPEG approximation.

use burn::tensor::module::conv2d;
use burn::tensor::ops::ConvOptions;
use burn::tensor::{Device, Tensor, TensorData};
use facecloak_face::Warp;

use crate::rng::Rng;

/// How strong the random transformations are.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EotSettings {
    /// Largest shift of a crop, as a fraction of its side.
    pub shift: f32,
    /// Largest relative change of a crop's scale.
    pub scale: f32,
    /// Largest rotation of a crop, radians.
    pub rotation: f32,
    /// Probability of a down-up resize (to half size and back).
    pub resize: f32,
    /// Probability of a Gaussian blur (σ 0.4–1.0 px).
    pub blur: f32,
    /// Probability of a JPEG round trip (quality 60–90).
    pub jpeg: f32,
    /// Largest brightness offset (grey levels) and relative contrast change.
    pub brightness: f32,
    /// See `brightness`.
    pub contrast: f32,
}

impl Default for EotSettings {
    fn default() -> EotSettings {
        EotSettings {
            shift: 0.02,
            scale: 0.05,
            rotation: 0.06,
            resize: 0.3,
            blur: 0.3,
            jpeg: 0.3,
            brightness: 10.0,
            contrast: 0.1,
        }
    }
}

impl EotSettings {
    /// No transformation at all (for measuring, not attacking).
    pub fn none() -> EotSettings {
        EotSettings {
            shift: 0.0,
            scale: 0.0,
            rotation: 0.0,
            resize: 0.0,
            blur: 0.0,
            jpeg: 0.0,
            brightness: 0.0,
            contrast: 0.0,
        }
    }
}

/// The pixel-level transformations for crops of one side.
pub struct PixelEot {
    side: usize,
    down: Warp,
    up: Warp,
    jpeg: Jpeg,
}

impl PixelEot {
    /// Transformations for `side`×`side` crops (side a multiple of 16).
    pub fn new(side: usize, device: &Device) -> PixelEot {
        let half = side / 2;
        // Down: each half-size pixel is the mean of a 2×2 block (bilinear at the block centre).
        let down = Warp::new((side, side), (half, half), |x, y| (2.0 * x + 0.5, 2.0 * y + 0.5), device);
        let up = Warp::new(
            (half, half),
            (side, side),
            move |x, y| {
                let back = |v: f32| ((v + 0.5) / 2.0 - 0.5).clamp(0.0, (half - 1) as f32);
                (back(x), back(y))
            },
            device,
        );
        PixelEot { side, down, up, jpeg: Jpeg::new(side, device) }
    }

    /// `crops` (`[N, side, side, 3]`, 0–255) through one random draw of the transformations.
    pub fn apply(&self, crops: Tensor<4>, settings: &EotSettings, rng: &mut Rng) -> Tensor<4> {
        self.apply_drawn(crops, &Draw::new(settings, rng))
    }

    /// `crops` through the transformations of `draw`: the random numbers are drawn apart from
    /// the tensor work, so that the search can draw every crop's in order and then transform
    /// the crops on several threads with the same result.
    pub fn apply_drawn(&self, crops: Tensor<4>, draw: &Draw) -> Tensor<4> {
        let mut x = crops;
        if draw.resize {
            // Sizes match by construction.
            if let Ok(up) = self.down.apply(x.clone()).and_then(|down| self.up.apply(down)) {
                x = up;
            }
        }
        if let Some(sigma) = draw.blur {
            x = blur(x, sigma);
        }
        if let Some((contrast, brightness)) = draw.tone {
            x = (x - 128.0) * contrast + (128.0 + brightness);
        }
        if let Some(quality) = draw.jpeg {
            x = self.jpeg.apply(x, quality);
        }
        x
    }

    /// The crop side these transformations are for.
    pub fn side(&self) -> usize {
        self.side
    }
}

/// One random draw of the pixel-level transformations.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Draw {
    /// Down to half size and back up.
    resize: bool,
    /// Gaussian blur of this standard deviation (px).
    blur: Option<f32>,
    /// Contrast factor and brightness offset.
    tone: Option<(f32, f32)>,
    /// JPEG round trip at this quality.
    jpeg: Option<f32>,
}

impl Draw {
    /// Draws from `rng` in the order the transformations apply (the stream a seed gives is
    /// part of the search's reproducibility).
    pub fn new(settings: &EotSettings, rng: &mut Rng) -> Draw {
        let resize = rng.chance(settings.resize);
        let blur = rng.chance(settings.blur).then(|| rng.uniform(0.4, 1.0));
        let tone = (settings.brightness > 0.0 || settings.contrast > 0.0).then(|| {
            let contrast = 1.0 + rng.uniform(-settings.contrast, settings.contrast);
            let brightness = rng.uniform(-settings.brightness, settings.brightness);
            (contrast, brightness)
        });
        let jpeg = rng.chance(settings.jpeg).then(|| rng.uniform(60.0, 90.0));
        Draw { resize, blur, tone, jpeg }
    }
}

/// Gaussian blur of NHWC images (5×5 kernel, standard deviation `sigma`, zero padding).
pub fn blur(x: Tensor<4>, sigma: f32) -> Tensor<4> {
    let device = x.device();
    let taps: Vec<f32> = (-2..=2).map(|i: i32| (-((i * i) as f32) / (2.0 * sigma * sigma)).exp()).collect();
    let total: f32 = taps.iter().sum();
    let mut kernel = Vec::with_capacity(3 * 25);
    for _ in 0..3 {
        for a in &taps {
            for b in &taps {
                kernel.push(a * b / (total * total));
            }
        }
    }
    let weight = Tensor::<4>::from_data(TensorData::new(kernel, [3, 1, 5, 5]), &device);
    let nchw = x.permute([0, 3, 1, 2]);
    conv2d(nchw, weight, None, ConvOptions::new([1, 1], [2, 2], [1, 1], 3)).permute([0, 2, 3, 1])
}

/// A differentiable approximation of a JPEG round trip: YCbCr, 8×8 block DCT, quantization by
/// the standard tables scaled to the quality, rounding with a straight-through gradient, and
/// back. (No chroma subsampling; the rounding's gradient is the identity, as in BPDA.)
struct Jpeg {
    side: usize,
    /// Block-diagonal DCT-II matrix, `[1, side, side]`.
    dct: Tensor<3>,
}

const LUMA: [f32; 64] = [
    16., 11., 10., 16., 24., 40., 51., 61., 12., 12., 14., 19., 26., 58., 60., 55., 14., 13., 16., 24., 40., 57., 69.,
    56., 14., 17., 22., 29., 51., 87., 80., 62., 18., 22., 37., 56., 68., 109., 103., 77., 24., 35., 55., 64., 81.,
    104., 113., 92., 49., 64., 78., 87., 103., 121., 120., 101., 72., 92., 95., 98., 112., 100., 103., 99.,
];
const CHROMA: [f32; 64] = [
    17., 18., 24., 47., 99., 99., 99., 99., 18., 21., 26., 66., 99., 99., 99., 99., 24., 26., 56., 99., 99., 99., 99.,
    99., 47., 66., 99., 99., 99., 99., 99., 99., 99., 99., 99., 99., 99., 99., 99., 99., 99., 99., 99., 99., 99., 99.,
    99., 99., 99., 99., 99., 99., 99., 99., 99., 99., 99., 99., 99., 99., 99., 99., 99., 99.,
];

impl Jpeg {
    fn new(side: usize, device: &Device) -> Jpeg {
        let mut dct = vec![0.0f32; side * side];
        for block in 0..side / 8 {
            for k in 0..8 {
                for n in 0..8 {
                    let scale = if k == 0 { (1.0f32 / 8.0).sqrt() } else { (2.0f32 / 8.0).sqrt() };
                    let v = scale * (std::f32::consts::PI * (2 * n + 1) as f32 * k as f32 / 16.0).cos();
                    dct[(block * 8 + k) * side + block * 8 + n] = v;
                }
            }
        }
        Jpeg { side, dct: Tensor::<3>::from_data(TensorData::new(dct, [1, side, side]), device) }
    }

    /// The quantization steps for `quality`, tiled over the image: `[1, 3, side, side]`.
    fn steps(&self, quality: f32, device: &Device) -> Tensor<4> {
        let q = quality.clamp(1.0, 100.0);
        let scale = if q < 50.0 { 5000.0 / q } else { 200.0 - 2.0 * q };
        let s = self.side;
        let mut data = Vec::with_capacity(3 * s * s);
        for c in 0..3 {
            let table = if c == 0 { &LUMA } else { &CHROMA };
            for y in 0..s {
                for x in 0..s {
                    data.push(((table[(y % 8) * 8 + x % 8] * scale + 50.0) / 100.0).floor().max(1.0));
                }
            }
        }
        Tensor::<4>::from_data(TensorData::new(data, [1, 3, s, s]), device)
    }

    fn apply(&self, x: Tensor<4>, quality: f32) -> Tensor<4> {
        let device = x.device();
        let [n, h, w, _] = x.dims();
        let to_ycbcr = Tensor::<2>::from_data(
            TensorData::new(vec![0.299f32, -0.168736, 0.5, 0.587, -0.331264, -0.418688, 0.114, 0.5, -0.081312], [3, 3]),
            &device,
        );
        let to_rgb = Tensor::<2>::from_data(
            TensorData::new(vec![1.0f32, 1.0, 1.0, 0.0, -0.344136, 1.772, 1.402, -0.714136, 0.0], [3, 3]),
            &device,
        );
        let ycc = (x.reshape([n * h * w, 3]).matmul(to_ycbcr)).reshape([n, h, w, 3]).permute([0, 3, 1, 2]);
        let ycc = ycc.reshape([n * 3, h, w]);
        let dct_t = self.dct.clone().swap_dims(1, 2);
        let coefficients = self.dct.clone().matmul(ycc).matmul(dct_t.clone()).reshape([n, 3, h, w]);
        let steps = self.steps(quality, &device);
        let q = coefficients / steps.clone();
        let rounded = q.clone() + (q.clone().round() - q).detach();
        let back = (rounded * steps).reshape([n * 3, h, w]);
        let pixels = dct_t.matmul(back).matmul(self.dct.clone()).reshape([n, 3, h, w]).permute([0, 2, 3, 1]);
        pixels.reshape([n * h * w, 3]).matmul(to_rgb).reshape([n, h, w, 3])
    }
}

#[cfg(test)]
mod tests {
    use facecloak_device::{Backend, CpuBackend};

    use super::*;

    fn values(t: Tensor<4>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
    }

    /// The JPEG approximation at quality 100 is nearly the identity; at 75 it lands close to a
    /// real JPEG encoder's round trip of the same picture; its gradient is not zero.
    #[test]
    fn jpeg_approximation_behaves_like_jpeg() {
        let device = Backend::cpu(CpuBackend::Flex).device().clone().autodiff();
        let side = 32;
        let pixels: Vec<f32> = (0..side * side * 3)
            .map(|i| {
                let (x, y, c) = ((i / 3 % side) as f32, (i / 3 / side) as f32, i % 3);
                (128.0 + 60.0 * (x * 0.3 + c as f32).sin() * (y * 0.2).cos() + 2.0 * x).clamp(0.0, 255.0)
            })
            .collect();
        let jpeg = Jpeg::new(side, &device);
        let x = Tensor::<4>::from_data(TensorData::new(pixels.clone(), [1, side, side, 3]), &device);
        let near = values(jpeg.apply(x.clone(), 100.0));
        let worst = near.iter().zip(&pixels).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        assert!(worst < 2.5, "quality 100 changed a pixel by {worst}");

        let approx = values(jpeg.apply(x.clone(), 75.0));
        let mut encoded = Vec::new();
        let rgb: Vec<u8> = pixels.iter().map(|v| v.round() as u8).collect();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut encoded, 75)
            .encode(&rgb, side as u32, side as u32, image::ExtendedColorType::Rgb8)
            .unwrap();
        let real = image::load_from_memory(&encoded).unwrap().into_rgb8().into_raw();
        let error = |a: &[f32]| a.iter().zip(&real).map(|(a, b)| (a - *b as f32).abs()).sum::<f32>() / a.len() as f32;
        let (ours, untouched) = (error(&approx), error(&pixels));
        println!("mean |approx − real JPEG q75| {ours:.2}, |input − real JPEG| {untouched:.2}");
        assert!(ours < untouched, "the approximation is no closer to JPEG than doing nothing");

        let input = x.require_grad();
        let grads = jpeg.apply(input.clone(), 75.0).sum().backward();
        let g = values(input.grad(&grads).unwrap());
        assert!(g.iter().all(|v| v.is_finite()) && g.iter().any(|v| v.abs() > 0.5));
    }

    #[test]
    fn blur_keeps_flat_regions_and_softens_edges() {
        let device = Backend::cpu(CpuBackend::Flex).device().clone();
        let side = 16;
        let pixels: Vec<f32> = (0..side * side * 3).map(|i| if (i / 3 % side) < 8 { 50.0 } else { 200.0 }).collect();
        let x = Tensor::<4>::from_data(TensorData::new(pixels, [1, side, side, 3]), &device);
        let out = values(blur(x, 1.0));
        let at = |x: usize, y: usize| out[(y * side + x) * 3];
        assert!((at(3, 8) - 50.0).abs() < 1e-3 && (at(12, 8) - 200.0).abs() < 1e-3);
        assert!(at(7, 8) > 55.0 && at(8, 8) < 195.0);
    }
}
