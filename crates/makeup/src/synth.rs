//! The default generator: a weight-free, StyleGAN-like makeup synthesiser.
//!
//! The latent is one style-code grid per scale — 1×1, 4×4, 16×16 and 64×64 cells — each cell
//! holding, for every makeup region, a colour code (3) and an opacity code (1): the coarse grid
//! sets a region's overall colour and strength (StyleGAN's coarse styles), the finer grids let
//! them vary across the region (its fine styles). Decoding upsamples every grid bilinearly to
//! the finest, sums them, and upsamples the sum to generator space; per region, colour = target + range·tanh(code) and opacity =
//! mask·cap·clamp(code, 0, 1). The layers are composited, skin first and lips last, onto the
//! *blurred* face, and only the change of that blurred face is returned: added to the face, it
//! changes colour and tone while the detail (face minus blur: pores, lashes, edges) stays as it
//! was. The all-zero latent has zero opacity everywhere, so it changes nothing, exactly.

use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor, TensorData};
use facecloak_face::{Image, Region, Regions, Warp};

use crate::{Generator, Latent, Targets, index};

/// The style-code grids, coarse to fine (cells per side).
pub const SCALES: [usize; 4] = [1, 4, 16, 64];
/// Codes per region and cell: colour (3), opacity (1).
const CHANNELS: usize = 4;
const REGIONS: usize = Region::ALL.len();
/// Layers are composited in this order: broad ones first, so that lips and liner sit on top.
const COMPOSITE_ORDER: [Region; 8] = [
    Region::Skin,
    Region::CheekLeft,
    Region::CheekRight,
    Region::Brows,
    Region::EyelidLeft,
    Region::EyelidRight,
    Region::Eyeliner,
    Region::Lips,
];
/// Blur that separates tone (kept for makeup to change) from detail (kept as it is), in
/// generator pixels (the eyes are 64 apart).
const TONE_SIGMA: f32 = 2.0;
/// Opacity code where a search starts in regions without a target: small, so nothing shows,
/// but above 0, where the clamp would give no gradient.
const UNTARGETED_START: f32 = 0.1;
/// Weights of the unnaturalness terms per scale: coarse codes are free, fine ones cost.
const SCALE_COST: [f32; 4] = [0.0, 0.05, 0.2, 1.0];

/// How opaque each region may get, and how far (± per channel, 0–255) its colour may move
/// from the target.
fn bounds(region: Region) -> (f32, f32) {
    match region {
        Region::Lips => (0.95, 60.0),
        Region::EyelidLeft | Region::EyelidRight => (0.85, 70.0),
        Region::Eyeliner => (0.9, 45.0),
        Region::Brows => (0.6, 30.0),
        Region::CheekLeft | Region::CheekRight => (0.6, 45.0),
        Region::Skin => (0.5, 28.0),
    }
}

/// A face that is not on the generator's grid.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the face is {face:?} (width, height) but its regions are {regions}×{regions}: both must be one square")]
pub struct WrongFaceSize {
    /// The face's size.
    pub face: (usize, usize),
    /// The regions' grid side.
    pub regions: usize,
}

/// The makeup synthesiser for one face.
pub struct Synthesiser {
    size: usize,
    device: Device,
    face: Tensor<4>,
    /// The face's tone (blurred), channels first, `[3, S, S]`.
    tone: Tensor<3>,
    /// Per region: its mask times its opacity cap, `[1, S, S]`.
    masks: Vec<Tensor<3>>,
    /// Target colours, `[R, 1, 1, 3]`.
    colours: Tensor<4>,
    /// Colour ranges, `[R, 1, 1, 1]`.
    ranges: Tensor<4>,
    /// Where the search starts: each region's opacity code.
    start: [f32; REGIONS],
    /// Per scale: the bilinear upsampling of its grid to the finest grid.
    to_finest: Vec<Warp>,
    /// Bilinear upsampling from the finest grid to generator space along one axis,
    /// `[1, S, finest]`, and its transpose: a layer upsamples as `U · layer · Uᵀ` — two
    /// matmuls, whose backward is two more (a gather's is a scatter-add, 5× slower here).
    upsample: Tensor<3>,
    upsample_t: Tensor<3>,
}

impl Synthesiser {
    /// The encoder: inverts `face` (a generator-space crop, see `facecloak_face::Framed`) with
    /// its `regions` into the synthesiser, steered towards `targets`. Regions without a target
    /// aim at the face's own colour there.
    pub fn encode(
        face: &Image,
        regions: &Regions,
        targets: &Targets,
        device: &Device,
    ) -> Result<Synthesiser, WrongFaceSize> {
        let size = regions.size();
        if face.width != size || face.height != size {
            return Err(WrongFaceSize { face: (face.width, face.height), regions: size });
        }
        let tone = face.blurred(TONE_SIGMA);
        let mut masks = Vec::with_capacity(REGIONS);
        let mut colours = Vec::with_capacity(REGIONS * 3);
        let mut ranges = Vec::with_capacity(REGIONS);
        let mut start = [0.0; REGIONS];
        for region in Region::ALL {
            let (cap, range) = bounds(region);
            let mask = regions.mask(region);
            let scaled: Vec<f32> = mask.iter().map(|m| m * cap).collect();
            masks.push(Tensor::<3>::from_data(TensorData::new(scaled, [1, size, size]), device));
            let own = mean_colour(&tone, mask);
            match targets.get(region) {
                Some(target) => {
                    colours.extend(target.colour.unwrap_or(own));
                    start[index(region)] = target.intensity.clamp(0.0, 1.0);
                }
                None => {
                    colours.extend(own);
                    start[index(region)] = UNTARGETED_START;
                }
            }
            ranges.push(range);
        }
        let nhwc = |data: Vec<f32>, shape: [usize; 4]| Tensor::<4>::from_data(TensorData::new(data, shape), device);
        // Coarse grids are summed on the finest grid, which alone is upsampled to pixels (the two
        // matmuls of `upsample`) instead of every scale on its own.
        let upsample = |from: usize, to: usize| {
            let step = from as f32 / to as f32;
            let to_cell = move |v: f32| ((v + 0.5) * step - 0.5).clamp(0.0, (from - 1) as f32);
            Warp::new((from, from), (to, to), move |x, y| (to_cell(x), to_cell(y)), device)
        };
        let finest = SCALES[SCALES.len() - 1];
        let to_finest = SCALES.iter().map(|&g| upsample(g, finest)).collect();
        let mut weights = vec![0.0f32; size * finest];
        let step = finest as f32 / size as f32;
        for (i, row) in weights.chunks_mut(finest).enumerate() {
            let at = ((i as f32 + 0.5) * step - 0.5).clamp(0.0, (finest - 1) as f32);
            let (lo, frac) = (at.floor() as usize, at - at.floor());
            row[lo] += 1.0 - frac;
            row[(lo + 1).min(finest - 1)] += frac;
        }
        let upsample = Tensor::<3>::from_data(TensorData::new(weights, [1, size, finest]), device);
        let tone_chw: Vec<f32> =
            (0..3).flat_map(|c| tone.data.iter().skip(c).step_by(3).copied().collect::<Vec<_>>()).collect();
        Ok(Synthesiser {
            size,
            device: device.clone(),
            face: nhwc(face.data.clone(), [1, size, size, 3]),
            tone: Tensor::<3>::from_data(TensorData::new(tone_chw, [3, size, size]), device),
            masks,
            colours: nhwc(colours, [REGIONS, 1, 1, 3]),
            ranges: nhwc(ranges, [REGIONS, 1, 1, 1]),
            start,
            to_finest,
            upsample_t: upsample.clone().swap_dims(1, 2),
            upsample,
        })
    }

    fn zeros(&self) -> Vec<Vec<f32>> {
        SCALES.iter().map(|&g| vec![0.0; REGIONS * g * g * CHANNELS]).collect()
    }

    fn latent(&self, codes: Vec<Vec<f32>>) -> Latent {
        let codes = codes
            .into_iter()
            .zip(SCALES)
            .map(|(data, g)| Tensor::<4>::from_data(TensorData::new(data, [REGIONS, g, g, CHANNELS]), &self.device))
            .collect();
        Latent { codes }
    }

    /// Per region (in [`Region::ALL`]'s order), the colour `[3, S, S]` and opacity `[1, S, S]`
    /// layers of `latent`. The codes of all scales are summed on the finest grid and turned
    /// into colour and opacity there (tanh, clamps: smooth fields need no per-pixel
    /// non-linearity); each region's layer is then upsampled on its own, so that slicing a
    /// region out happens on the small grid, not on `[R, S, S]` tensors.
    fn layers(&self, latent: &Latent) -> Vec<(Tensor<3>, Tensor<3>)> {
        let (r, f) = (REGIONS, SCALES[SCALES.len() - 1]);
        let mut sum = Tensor::<4>::zeros([r, f, f, CHANNELS], &self.device);
        for (code, warp) in latent.codes.iter().zip(&self.to_finest) {
            // Latents come from this synthesiser, so every code fits its warp.
            if let Ok(up) = warp.apply(code.clone()) {
                sum = sum + up;
            }
        }
        let colour = self.colours.clone() + sum.clone().slice([0..r, 0..f, 0..f, 0..3]).tanh() * self.ranges.clone();
        // Clamped to 0–255 and the opacity code to 0–1 with ReLUs: their backward is a mask
        // (burn's clamp goes through a three-way select).
        let colour = relu(colour.clone()) - relu(colour - 255.0);
        let opacity = sum.slice([0..r, 0..f, 0..f, 3..4]);
        let opacity = relu(opacity.clone()) - relu(opacity - 1.0);
        let fields = Tensor::cat(vec![colour, opacity], 3).permute([0, 3, 1, 2]); // [R, 4, f, f]
        (0..r)
            .map(|k| {
                let field = fields.clone().slice([k..k + 1, 0..CHANNELS, 0..f, 0..f]).reshape([CHANNELS, f, f]);
                let pixels = self.upsample.clone().matmul(field).matmul(self.upsample_t.clone());
                let s = self.size;
                let colour = pixels.clone().slice([0..3, 0..s, 0..s]);
                let opacity = pixels.slice([3..4, 0..s, 0..s]) * self.masks[k].clone();
                (colour, opacity)
            })
            .collect()
    }

    /// Each region's makeup as a picture: its colour where it is opaque, over grey, side by
    /// side in [`Region::ALL`]'s order (for reports and debugging).
    pub fn layer_pictures(&self, latent: &Latent) -> Vec<(Region, Image)> {
        let s = self.size;
        Region::ALL
            .into_iter()
            .zip(self.layers(latent))
            .map(|(region, (colour, opacity))| {
                let shown = (colour - 128.0) * opacity + 128.0; // [3, S, S]
                let planar = shown.into_data().convert::<f32>().try_to_vec::<f32>().unwrap_or_default();
                let data =
                    (0..s * s * 3).map(|i| planar.get((i % 3) * s * s + i / 3).copied().unwrap_or(128.0)).collect();
                (region, Image { width: s, height: s, data })
            })
            .collect()
    }
}

impl Generator for Synthesiser {
    fn size(&self) -> usize {
        self.size
    }

    fn face(&self) -> Tensor<4> {
        self.face.clone()
    }

    fn neutral(&self) -> Latent {
        self.latent(self.zeros())
    }

    fn initial(&self) -> Latent {
        let mut codes = self.zeros();
        for (r, start) in self.start.iter().enumerate() {
            codes[0][r * CHANNELS + 3] = *start;
        }
        self.latent(codes)
    }

    fn render(&self, latent: &Latent) -> Tensor<4> {
        let layers = self.layers(latent);
        let mut tone = self.tone.clone();
        for region in COMPOSITE_ORDER {
            let (colour, opacity) = layers[index(region)].clone();
            tone = tone.clone() + opacity * (colour - tone);
        }
        let s = self.size;
        (tone - self.tone.clone()).permute([1, 2, 0]).reshape([1, s, s, 3])
    }

    fn unnaturalness(&self, latent: &Latent) -> Tensor<1> {
        let mut total = Tensor::<1>::zeros([1], &self.device);
        for ((code, &g), cost) in latent.codes.iter().zip(&SCALES).zip(SCALE_COST) {
            if cost > 0.0 {
                total = total + code.clone().square().mean().reshape([1]) * cost;
            }
            if g > 1 {
                // Roughness: squared differences of neighbouring cells, scaled like the codes.
                let dx = code.clone().slice([0..REGIONS, 0..g, 1..g, 0..CHANNELS])
                    - code.clone().slice([0..REGIONS, 0..g, 0..g - 1, 0..CHANNELS]);
                let dy = code.clone().slice([0..REGIONS, 1..g, 0..g, 0..CHANNELS])
                    - code.clone().slice([0..REGIONS, 0..g - 1, 0..g, 0..CHANNELS]);
                total = total + (dx.square().mean() + dy.square().mean()).reshape([1]) * (cost * 4.0);
            }
        }
        total
    }
}

/// The mean colour of `image` weighted by `mask` (mid-grey where the mask is empty).
fn mean_colour(image: &Image, mask: &[f32]) -> [f32; 3] {
    let mut sum = [0f64; 3];
    let mut weight = 0f64;
    for (i, &m) in mask.iter().enumerate() {
        for (total, value) in sum.iter_mut().zip(&image.data[i * 3..i * 3 + 3]) {
            *total += (m * value) as f64;
        }
        weight += m as f64;
    }
    if weight < 1e-6 { [128.0; 3] } else { sum.map(|s| (s / weight) as f32) }
}
