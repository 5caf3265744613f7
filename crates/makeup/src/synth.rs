//! The default generator: a weight-free, StyleGAN-like makeup synthesiser.
//!
//! The latent is one style-code grid per scale — 1×1, 4×4, 16×16 and 64×64 cells — each cell
//! holding, for every makeup region, a colour code (3) and an opacity code (1): the coarse grid
//! sets a region's overall colour and strength (StyleGAN's coarse styles), the finer grids let
//! them vary across the region (its fine styles). Decoding upsamples every grid bilinearly to
//! generator space and sums them; per region, colour = target + range·tanh(code) and opacity =
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
        Region::Lips => (0.85, 55.0),
        Region::EyelidLeft | Region::EyelidRight => (0.75, 65.0),
        Region::Eyeliner => (0.9, 45.0),
        Region::Brows => (0.55, 30.0),
        Region::CheekLeft | Region::CheekRight => (0.45, 40.0),
        Region::Skin => (0.3, 18.0),
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
    /// The face's tone (blurred), `[1, S, S, 3]`.
    tone: Tensor<4>,
    /// Region masks times each region's opacity cap, `[R, S, S, 1]`.
    masks: Tensor<4>,
    /// Target colours, `[R, 1, 1, 3]`.
    colours: Tensor<4>,
    /// Colour ranges, `[R, 1, 1, 1]`.
    ranges: Tensor<4>,
    /// Where the search starts: each region's opacity code.
    start: [f32; REGIONS],
    /// Per scale: the bilinear upsampling of its grid to generator space.
    upsample: Vec<Warp>,
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
        let mut masks = Vec::with_capacity(REGIONS * size * size);
        let mut colours = Vec::with_capacity(REGIONS * 3);
        let mut ranges = Vec::with_capacity(REGIONS);
        let mut start = [0.0; REGIONS];
        for region in Region::ALL {
            let (cap, range) = bounds(region);
            let mask = regions.mask(region);
            masks.extend(mask.iter().map(|m| m * cap));
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
        let upsample = SCALES
            .iter()
            .map(|&g| {
                let step = g as f32 / size as f32;
                let to_cell = move |v: f32| ((v + 0.5) * step - 0.5).clamp(0.0, (g - 1) as f32);
                Warp::new((g, g), (size, size), move |x, y| (to_cell(x), to_cell(y)), device)
            })
            .collect();
        Ok(Synthesiser {
            size,
            device: device.clone(),
            face: nhwc(face.data.clone(), [1, size, size, 3]),
            tone: nhwc(tone.data, [1, size, size, 3]),
            masks: nhwc(masks, [REGIONS, size, size, 1]),
            colours: nhwc(colours, [REGIONS, 1, 1, 3]),
            ranges: nhwc(ranges, [REGIONS, 1, 1, 1]),
            start,
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

    /// Per region, the colour and opacity layers of `latent`: `[R, S, S, 3]` and `[R, S, S, 1]`.
    fn layers(&self, latent: &Latent) -> (Tensor<4>, Tensor<4>) {
        let (r, s) = (REGIONS, self.size);
        let mut codes: Option<Tensor<4>> = None;
        for (code, warp) in latent.codes.iter().zip(&self.upsample) {
            // Latents come from this synthesiser, so every code fits its warp.
            let Ok(up) = warp.apply(code.clone()) else { continue };
            codes = Some(match codes {
                Some(sum) => sum + up,
                None => up,
            });
        }
        let codes = codes.unwrap_or_else(|| Tensor::<4>::zeros([r, s, s, CHANNELS], &self.device));
        let colour = self.colours.clone() + codes.clone().slice([0..r, 0..s, 0..s, 0..3]).tanh() * self.ranges.clone();
        // Clamped to 0–255 and the opacity code to 0–1 with ReLUs: their backward is a mask
        // (burn's clamp goes through a three-way select).
        let colour = relu(colour.clone()) - relu(colour - 255.0);
        let opacity = codes.slice([0..r, 0..s, 0..s, 3..4]);
        let opacity = (relu(opacity.clone()) - relu(opacity - 1.0)) * self.masks.clone();
        (colour, opacity)
    }

    /// Each region's makeup as a picture: its colour where it is opaque, over grey, side by
    /// side in [`Region::ALL`]'s order (for reports and debugging).
    pub fn layer_pictures(&self, latent: &Latent) -> Vec<(Region, Image)> {
        let (colour, opacity) = self.layers(latent);
        let grey = Tensor::<4>::full([1, self.size, self.size, 3], 128.0, &self.device);
        let shown = grey.clone() + opacity * (colour - grey);
        let values = shown.into_data().convert::<f32>().try_to_vec::<f32>().unwrap_or_default();
        let plane = self.size * self.size * 3;
        Region::ALL
            .into_iter()
            .enumerate()
            .filter_map(|(i, region)| {
                let data = values.get(i * plane..(i + 1) * plane)?.to_vec();
                Some((region, Image { width: self.size, height: self.size, data }))
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
        let (colour, opacity) = self.layers(latent);
        let (s, mut tone) = (self.size, self.tone.clone());
        for region in COMPOSITE_ORDER {
            let r = index(region);
            let o = opacity.clone().slice([r..r + 1, 0..s, 0..s, 0..1]);
            let c = colour.clone().slice([r..r + 1, 0..s, 0..s, 0..3]);
            tone = tone.clone() + o * (c - tone);
        }
        tone - self.tone.clone()
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
