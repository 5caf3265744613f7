//! The adversarial latent search for one face.
//!
//! Each step: render the generator's change, add it to the generator-space face, warp the
//! result into every surrogate's crop (through a randomly jittered transform, the photo
//! filling what the generator square does not cover), put each crop through random pixel
//! transformations, embed, and take the loss
//!
//!   adversarial + naturalness · generator's unnaturalness + structure · (1 − SSIM to the face),
//!
//! where the adversarial term sums, over surrogates, a hinge on the cosine similarity scaled by
//! the surrogate's threshold (`(cos − τ) / (1 − τ) + margin` when dodging; towards the target
//! when impersonating), so that no model dominates and none is pushed further once it is past
//! its threshold with margin. Both are in units of the surrogate's own `1 − τ`: recognizers'
//! cosines live on different scales (different people score 0.2–0.6 on faceres, 0.85–0.96 on
//! FaceRecognitionNet, whose descriptors are not centred). Adam updates the latent. The search stops early once every
//! surrogate has stayed past its threshold with margin for `patience` steps, or when the
//! progress callback asks it to.

use std::ops::ControlFlow;

use web_time::Instant;

use burn::tensor::module::avg_pool2d;
use burn::tensor::ops::AvgPoolOptions;
use burn::tensor::{Tensor, TensorData};
use facecloak_face::{Image, Similarity, Warp};
use facecloak_makeup::{Bounds, Generator, Latent};

use crate::eot::{EotSettings, PixelEot};
use crate::host::read;
use crate::rng::Rng;
use crate::{Surrogate, SurrogateError};

/// What the search is after.
#[derive(Debug, Clone, PartialEq)]
pub enum Mode {
    /// Away from the person: every surrogate's similarity to the person's own embedding below
    /// its threshold.
    Dodge,
    /// Towards someone else: every surrogate's similarity to the target's embedding (one per
    /// surrogate, in the surrogates' order) above its threshold.
    Impersonate {
        /// The target's embedding for each surrogate.
        targets: Vec<Vec<f32>>,
    },
}

impl Mode {
    /// Which way it goes, without the target.
    pub fn goal(&self) -> Goal {
        match self {
            Mode::Dodge => Goal::Dodge,
            Mode::Impersonate { .. } => Goal::Impersonate,
        }
    }
}

/// Which way a protection goes, as requests and reports name it (the target, when there is
/// one, travels separately: it is an embedding, not a word).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum Goal {
    /// Not recognised as yourself.
    #[default]
    Dodge,
    /// Recognised as the target.
    Impersonate,
}

/// A goal's name that is none of [`Goal::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown mode {0:?} (dodge or impersonate)")]
pub struct UnknownGoal(pub String);

impl std::str::FromStr for Goal {
    type Err = UnknownGoal;

    /// The one reading of a mode's name, for the command line and the browser alike.
    fn from_str(name: &str) -> Result<Goal, UnknownGoal> {
        Goal::ALL.into_iter().find(|g| g.name() == name).ok_or_else(|| UnknownGoal(name.to_owned()))
    }
}

impl Goal {
    /// Both goals.
    pub const ALL: [Goal; 2] = [Goal::Dodge, Goal::Impersonate];

    /// Its name in requests, on the command line (`--mode`) and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Goal::Dodge => "dodge",
            Goal::Impersonate => "impersonate",
        }
    }

    /// The noun, for prose and evaluation tables: "dodging", "impersonation".
    pub fn noun(self) -> &'static str {
        match self {
            Goal::Dodge => "dodging",
            Goal::Impersonate => "impersonation",
        }
    }

    /// Whether a recognizer's similarity `after` (to the person when dodging, to the target
    /// when impersonating) means the protection worked against it, at threshold `tau`.
    pub fn achieved(self, after: f32, tau: f32) -> bool {
        match self {
            Goal::Dodge => after <= tau,
            Goal::Impersonate => after > tau,
        }
    }
}

/// The three strengths a person chooses from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum Strength {
    /// Lighter makeup, fewer steps, a smaller margin.
    Low,
    /// The default.
    #[default]
    Medium,
    /// More steps, a larger margin, makeup allowed to go further.
    High,
}

/// Expert settings of the search (a [`Strength`] picks them).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Most Adam steps.
    pub steps: usize,
    /// Adam's learning rate on the latent codes.
    pub learning_rate: f32,
    /// How far past its threshold each surrogate is pushed, as a share of the way from its
    /// threshold to a perfect match (`1 − τ`).
    pub margin: f32,
    /// Weight of the generator's unnaturalness.
    pub naturalness: f32,
    /// Weight of (1 − SSIM) between made-up and original face.
    pub structure: f32,
    /// Steps every surrogate must stay past its threshold (with margin) before stopping early.
    pub patience: usize,
    /// Random transformations per step.
    pub eot: EotSettings,
    /// Seed of every random draw: the same seed gives the same result.
    pub seed: u64,
    /// Every how many steps a [`Step`] carries a picture of the made-up face (0: never), for
    /// a live preview.
    pub preview_every: usize,
    /// How far the makeup may go (colour budget, coverage, depth of light and line).
    pub bounds: Bounds,
}

/// A strength's name that is none of [`Strength::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown strength {0:?} (low, medium or high)")]
pub struct UnknownStrength(pub String);

impl std::str::FromStr for Strength {
    type Err = UnknownStrength;

    /// The one reading of a strength's name, for the command line and the browser alike.
    fn from_str(name: &str) -> Result<Strength, UnknownStrength> {
        Strength::ALL.into_iter().find(|s| s.name() == name).ok_or_else(|| UnknownStrength(name.to_owned()))
    }
}

impl Strength {
    /// Every strength, lightest first.
    pub const ALL: [Strength; 3] = [Strength::Low, Strength::Medium, Strength::High];

    /// Its name in requests, on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Strength::Low => "low",
            Strength::Medium => "medium",
            Strength::High => "high",
        }
    }

    /// The settings this strength stands for.
    pub fn settings(self) -> Settings {
        let (steps, margin, naturalness, bounds) = match self {
            // Margins of 0.1 / 0.3 / 0.5 × (1 − τ): 0.04 / 0.13 / 0.22 in faceres's cosine and
            // 0.06 / 0.18 / 0.30 in mobileface's (0.05 / 0.15 / 0.25 for both before they were
            // relative).
            Strength::Low => (30, 0.1, 1.0, Bounds::LOW),
            Strength::Medium => (60, 0.3, 0.5, Bounds::MEDIUM),
            Strength::High => (120, 0.5, 0.25, Bounds::HIGH),
        };
        Settings {
            steps,
            learning_rate: 0.1,
            margin,
            naturalness,
            structure: 2.0,
            patience: 5,
            eot: EotSettings::default(),
            seed: 0,
            preview_every: 0,
            bounds,
        }
    }
}

/// What one step did: the loss terms and each surrogate's similarity (to the person when
/// dodging, to the target when impersonating) on that step's transformed crops.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// 1-based step number.
    pub step: usize,
    /// Most steps.
    pub steps: usize,
    /// The whole loss.
    pub loss: f32,
    /// Its adversarial part.
    pub adversarial: f32,
    /// Its unnaturalness part (weighted).
    pub unnaturalness: f32,
    /// Its structure part (weighted).
    pub structure: f32,
    /// Per surrogate (in order): name and similarity.
    pub similarities: Vec<(String, f32)>,
    /// Seconds since the search began.
    pub elapsed: f32,
    /// The made-up face in generator space on this step, every [`Settings::preview_every`]
    /// steps.
    pub preview: Option<Image>,
}

/// How a search ended.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The latent found.
    pub latent: Latent,
    /// Steps taken.
    pub steps: usize,
    /// Whether it stopped because every surrogate was past its threshold.
    pub converged: bool,
    /// Whether the caller cancelled it.
    pub cancelled: bool,
    /// The last step's report.
    pub last: Option<Step>,
}

/// One face as the search sees it.
pub struct FaceView<'a> {
    /// The photo (fills each crop where generator space does not reach).
    pub photo: &'a Image,
    /// Photo → generator space.
    pub to_generator: Similarity,
    /// Per surrogate (in order): generator space → its crop.
    pub crops: Vec<Similarity>,
    /// Per surrogate: the person's own embedding (from the unchanged photo).
    pub own: Vec<Vec<f32>>,
}

/// Runs the search. `progress` sees every step and may stop the search
/// ([`ControlFlow::Break`] cancels; the latent so far is returned).
#[cfg(not(target_family = "wasm"))]
pub fn search(
    generator: &dyn Generator,
    face: &FaceView,
    surrogates: &[&Surrogate],
    mode: &Mode,
    settings: &Settings,
    progress: &mut dyn FnMut(&Step) -> ControlFlow<()>,
) -> Result<Outcome, SurrogateError> {
    pollster::block_on(search_async(generator, face, surrogates, mode, settings, progress))
}

/// [`search`], reading results back asynchronously: the only way a browser's WebGPU can.
/// Natively every read is ready at once and [`search`] simply blocks on it.
pub async fn search_async(
    generator: &dyn Generator,
    face: &FaceView<'_>,
    surrogates: &[&Surrogate],
    mode: &Mode,
    settings: &Settings,
    progress: &mut dyn FnMut(&Step) -> ControlFlow<()>,
) -> Result<Outcome, SurrogateError> {
    let references = match mode {
        Mode::Dodge => &face.own,
        Mode::Impersonate { targets } => targets,
    };
    if face.crops.len() != surrogates.len() || references.len() != surrogates.len() {
        return Err(SurrogateError::Mismatch {
            surrogates: surrogates.len(),
            crops: face.crops.len(),
            references: references.len(),
        });
    }
    let start = Instant::now();
    let device = generator.face().device();
    let size = generator.size();
    let mut rng = Rng::new(settings.seed);
    let references: Vec<Tensor<2>> =
        references.iter().map(|e| Tensor::<2>::from_data(TensorData::new(e.clone(), [1, e.len()]), &device)).collect();
    let pixel_eot: Vec<PixelEot> = surrogates.iter().map(|s| PixelEot::new(s.crop().side(), &device)).collect();
    let original = generator.face();

    let mut latent = generator.initial();
    let mut adam = Adam::new(&latent, settings.learning_rate).await?;
    let (mut past, mut last, mut taken, mut converged, mut cancelled) = (0, None, 0, false, false);
    for step in 1..=settings.steps {
        let codes = latent.require_grad();
        let made_up = original.clone() + generator.render(&codes);
        // Every surrogate's (randomly transformed) crop of the made-up face, in this graph.
        let mut crops = Vec::with_capacity(surrogates.len());
        for (k, surrogate) in surrogates.iter().enumerate() {
            let side = surrogate.crop().side();
            let to_crop = face.crops[k].then(&jitter(side, &settings.eot, &mut rng));
            let warp = Warp::similarity((size, size), (side, side), &to_crop, &device);
            let fill = face.to_generator.then(&to_crop).warp(face.photo, side, side);
            let fill: Vec<f32> =
                fill.data.iter().enumerate().map(|(i, v)| v * (1.0 - warp.coverage()[i / 3])).collect();
            let fill = Tensor::<4>::from_data(TensorData::new(fill, [1, side, side, 3]), &device);
            // A face that does not fit the warp is the generator's fault, and an error: a
            // surrogate skipped here could no longer keep the search from "converging".
            let crop = warp.apply(made_up.clone())?;
            crops.push((k, pixel_eot[k].apply(crop + fill, &settings.eot, &mut rng)));
        }
        // The recognizers run in graphs of their own, one per core: each gives its loss term
        // and that term's gradient with respect to its crop. The crops' graph then carries
        // Σ ⟨crop, gradient⟩, whose gradient with respect to the latent is the same as if the
        // recognizers were in it (the chain rule, with their part precomputed).
        let term = |k: usize, crop: &Tensor<4>| {
            adversarial_term(surrogates[k], crop.clone().detach(), references[k].clone(), mode, settings.margin)
        };
        #[cfg(not(target_family = "wasm"))]
        let terms = facecloak_face::parallel::map(&crops, |(k, crop)| pollster::block_on(term(*k, crop)))?;
        // One thread in a browser's worker: one after the other, each read awaited.
        #[cfg(target_family = "wasm")]
        let terms = {
            let mut terms = Vec::with_capacity(crops.len());
            for (k, crop) in &crops {
                terms.push(term(*k, crop).await?);
            }
            terms
        };
        let mut adversarial = Tensor::<1>::zeros([1], &device);
        let (mut adversarial_value, mut similarities, mut all_past) = (0.0, Vec::with_capacity(crops.len()), true);
        for ((k, crop), term) in crops.into_iter().zip(terms) {
            let gradient = Tensor::<4>::from_data(term.gradient, &device);
            adversarial = adversarial + (crop * gradient).sum().reshape([1]);
            adversarial_value += term.value;
            all_past &= term.past;
            similarities.push((surrogates[k].name().to_owned(), term.similarity));
        }
        let unnatural = generator.unnaturalness(&codes) * settings.naturalness;
        let structure = (ssim(made_up.clone(), original.clone()).neg() + 1.0) * settings.structure;
        let preview = match settings.preview_every {
            0 => None,
            every if step % every == 1 || every == 1 => Some(picture(made_up.clone().detach(), size).await?),
            _ => None,
        };
        let loss = adversarial.clone() + unnatural.clone() + structure.clone();
        let unnaturalness = read(unnatural.detach()).await?.first().copied().unwrap_or(0.0);
        let structure_value = read(structure.detach()).await?.first().copied().unwrap_or(0.0);
        let report = Step {
            step,
            steps: settings.steps,
            loss: adversarial_value + unnaturalness + structure_value,
            adversarial: adversarial_value,
            unnaturalness,
            structure: structure_value,
            similarities,
            elapsed: start.elapsed().as_secs_f32(),
            preview,
        };
        let grads = loss.backward();
        let mut gradients = Vec::with_capacity(codes.codes.len());
        for code in &codes.codes {
            gradients.push(match code.grad(&grads) {
                Some(g) => read(g).await?,
                None => vec![0.0; code.shape().num_elements()],
            });
        }
        latent = adam.step(&gradients, &device);
        taken = step;
        past = if all_past { past + 1 } else { 0 };
        let stop = progress(&report);
        last = Some(report);
        if stop.is_break() {
            cancelled = true;
            break;
        }
        if past >= settings.patience {
            converged = true;
            break;
        }
    }
    Ok(Outcome { latent: latent.detach(), steps: taken, converged, cancelled, last })
}

/// One surrogate's part of the adversarial loss on one crop.
struct Term {
    /// The term's value.
    value: f32,
    /// The cosine similarity to the reference.
    similarity: f32,
    /// Whether the similarity is past the threshold with margin.
    past: bool,
    /// d term / d crop.
    gradient: TensorData,
}

/// The hinge on `surrogate`'s cosine similarity between `crop` and `reference`, scaled by its
/// threshold (`(cos − (τ − margin · (1 − τ))) / (1 − τ)` when dodging, mirrored when
/// impersonating), with
/// its gradient with respect to the crop, from a graph of its own.
async fn adversarial_term(
    surrogate: &Surrogate,
    crop: Tensor<4>,
    reference: Tensor<2>,
    mode: &Mode,
    margin: f32,
) -> Result<Term, SurrogateError> {
    let crop = crop.require_grad();
    let cos = cosine(surrogate.embed(crop.clone())?, reference);
    let similarity = read(cos.clone().detach()).await?.first().copied().unwrap_or(0.0);
    let tau = surrogate.threshold();
    let room = (1.0 - tau).max(0.01);
    let (scale, margin) = (1.0 / room, margin * room);
    let (term, past) = match mode {
        Mode::Dodge => (burn::tensor::activation::relu(cos - (tau - margin)) * scale, similarity < tau - margin),
        Mode::Impersonate { .. } => {
            (burn::tensor::activation::relu((cos - (tau + margin)).neg()) * scale, similarity > tau + margin)
        }
    };
    let value = read(term.clone().detach()).await?.first().copied().unwrap_or(0.0);
    let grads = term.backward();
    let shape = crop.shape();
    let gradient = match crop.grad(&grads) {
        Some(g) => TensorData::new(read(g).await?, shape),
        None => TensorData::new(vec![0.0f32; shape.num_elements()], shape),
    };
    Ok(Term { value, similarity, past, gradient })
}

/// A random similarity about the centre of a `side` crop: shift, scale, rotation.
fn jitter(side: usize, eot: &EotSettings, rng: &mut Rng) -> Similarity {
    let c = (side as f32 - 1.0) / 2.0;
    let scale = 1.0 + rng.uniform(-eot.scale, eot.scale);
    let angle = rng.uniform(-eot.rotation, eot.rotation);
    let (dx, dy) = (rng.uniform(-eot.shift, eot.shift) * side as f32, rng.uniform(-eot.shift, eot.shift) * side as f32);
    let (a, b) = (scale * angle.cos(), scale * angle.sin());
    Similarity { a, b, tx: c - (a * c - b * c) + dx, ty: c - (b * c + a * c) + dy }
}

/// Cosine similarity of `[1, D]` rows, as `[1]`.
fn cosine(a: Tensor<2>, b: Tensor<2>) -> Tensor<1> {
    let dot = (a.clone() * b.clone()).sum();
    let norms = (a.square().sum() * b.square().sum()).sqrt() + 1e-8;
    (dot / norms).reshape([1])
}

/// Mean SSIM of two NHWC images on 0–255 (7×7 box windows, per channel), as `[1]`, computed
/// at half resolution: makeup changes tone over regions, not single pixels, and the windows'
/// backward pass at full resolution was a tenth of a search step.
pub fn ssim(a: Tensor<4>, b: Tensor<4>) -> Tensor<1> {
    let (c1, c2) = ((0.01f32 * 255.0).powi(2), (0.03f32 * 255.0).powi(2));
    let pool = |x: Tensor<4>| avg_pool2d(x, AvgPoolOptions::new([7, 7]).with_stride([1, 1]));
    let half = |x: Tensor<4>| avg_pool2d(x.permute([0, 3, 1, 2]), AvgPoolOptions::new([2, 2]));
    let (a, b) = (half(a), half(b));
    let (ma, mb) = (pool(a.clone()), pool(b.clone()));
    let va = pool(a.clone().square()) - ma.clone().square();
    let vb = pool(b.clone().square()) - mb.clone().square();
    let cov = pool(a * b) - ma.clone() * mb.clone();
    let numerator = (ma.clone() * mb.clone() * 2.0 + c1) * (cov * 2.0 + c2);
    let denominator = (ma.square() + mb.square() + c1) * (va + vb + c2);
    (numerator / denominator).mean().reshape([1])
}

/// The made-up face as a picture on 0–255.
async fn picture(made_up: Tensor<4>, size: usize) -> Result<Image, SurrogateError> {
    let data = read(made_up.clamp(0.0, 255.0)).await?;
    Ok(Image { width: size, height: size, data })
}

/// Adam on a host copy of the latent (the latent is small; host updates keep the search
/// deterministic and backend-independent, and the latent is read back only once).
struct Adam {
    rate: f32,
    t: i32,
    values: Vec<(Vec<f32>, burn::tensor::Shape)>,
    m: Vec<Vec<f32>>,
    v: Vec<Vec<f32>>,
}

impl Adam {
    async fn new(latent: &Latent, rate: f32) -> Result<Adam, SurrogateError> {
        let mut values = Vec::with_capacity(latent.codes.len());
        for code in &latent.codes {
            values.push((read(code.clone().detach()).await?, code.shape()));
        }
        let zeros: Vec<Vec<f32>> = values.iter().map(|(v, _)| vec![0.0; v.len()]).collect();
        Ok(Adam { rate, t: 0, values, m: zeros.clone(), v: zeros })
    }

    fn step(&mut self, gradients: &[Vec<f32>], device: &burn::tensor::Device) -> Latent {
        const B1: f32 = 0.9;
        const B2: f32 = 0.999;
        self.t += 1;
        let (c1, c2) = (1.0 - B1.powi(self.t), 1.0 - B2.powi(self.t));
        let codes = self
            .values
            .iter_mut()
            .enumerate()
            .map(|(k, (values, shape))| {
                for (i, value) in values.iter_mut().enumerate() {
                    let g = gradients[k].get(i).copied().unwrap_or(0.0);
                    self.m[k][i] = B1 * self.m[k][i] + (1.0 - B1) * g;
                    self.v[k][i] = B2 * self.v[k][i] + (1.0 - B2) * g * g;
                    *value -= self.rate * (self.m[k][i] / c1) / ((self.v[k][i] / c2).sqrt() + 1e-8);
                }
                Tensor::<4>::from_data(TensorData::new(values.clone(), shape.clone()), device)
            })
            .collect();
        Latent { codes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strengths_read_back_from_their_names_and_nothing_else() {
        for strength in Strength::ALL {
            assert_eq!(strength.name().parse::<Strength>(), Ok(strength));
        }
        let err = "Medium".parse::<Strength>().unwrap_err();
        assert_eq!(err.to_string(), "unknown strength \"Medium\" (low, medium or high)");
    }
}
