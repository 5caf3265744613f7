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
//!
//! Every surrogate's term (warp, pixel transformations, recognizer) and the structure term are
//! computed in graphs of their own that start at the made-up face, so on the CPU they run on
//! every core at once (costliest first, but the very costliest last): they are most of a step.
//! On the CPU the makeup is rendered, and its gradient taken, in bands of rows ([`Banded`]),
//! each a graph of its own, on every core too. The random draws are made in surrogate order before any of it, and the
//! bands are fixed by the generator, so the result does not depend on the number of threads.

use std::ops::ControlFlow;

use web_time::Instant;

use burn::tensor::module::avg_pool2d;
use burn::tensor::ops::AvgPoolOptions;
use burn::tensor::{Gradients, Tensor, TensorData};
use facecloak_face::{Image, Similarity, Warp};
use facecloak_makeup::{Banded, Bounds, Generator, Latent};

use crate::eot::{Draw, EotSettings, PixelEot};
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
    // What each task (the surrogates', then the structure term where it is on) cost on the last
    // step; before the first, its crop's pixels, a rough guess. One per task of every step.
    #[cfg(any(not(target_family = "wasm"), target_feature = "atomics"))]
    let mut costs: Vec<f32> = surrogates
        .iter()
        .map(|s| (s.crop().side() * s.crop().side()) as f32)
        .chain((settings.structure > 0.0).then_some(0.0))
        .collect();
    // On the CPU the render runs in bands, on every core at once; on a GPU as one graph.
    let banded = generator.banded().filter(|_| facecloak_device::on_flex(&device));
    for step in 1..=settings.steps {
        let codes = latent.require_grad();
        let render = Render::forward(generator, banded, &codes).await?;
        let made = original.clone() + render.change();
        // Every surrogate's view of this step: its crop's random jitter and its random pixel
        // transformations, drawn in surrogate order (the seed's stream), before any tensor work.
        let views: Vec<View> = surrogates
            .iter()
            .enumerate()
            .map(|(k, surrogate)| {
                let to_crop = face.crops[k].then(&jitter(surrogate.crop().side(), &settings.eot, &mut rng));
                View { k, to_crop, draw: Draw::new(&settings.eot, &mut rng) }
            })
            .collect();
        // Each recognizer's term, and the structure term, in graphs of their own that start at
        // the made-up face: each gives its value and its gradient with respect to that face. The
        // generator's graph then carries ⟨made-up face, Σ gradients⟩, whose gradient with
        // respect to the latent is the same as if they were all in it (the chain rule, with
        // their part precomputed). Independent, so natively and in the threaded web build they
        // run on every core: the warps, pixel transformations and recognizers are most of a step.
        let tasks: Vec<Task> = views
            .into_iter()
            .map(Task::Recognizer)
            .chain((settings.structure > 0.0).then_some(Task::Structure))
            .collect();
        let job = Job {
            face,
            surrogates,
            references: &references,
            pixel_eot: &pixel_eot,
            mode,
            settings,
            made: &made,
            original: &original,
            size,
        };
        #[cfg(any(not(target_family = "wasm"), target_feature = "atomics"))]
        let terms = {
            // The pool's threads take the tasks in the order `task_order` picks from the last
            // step's times: two threads on the astronaut run faceres, then mobileface and the
            // structure term, beside mobilefacenet then faceres-deep, whose large convolutions
            // the first thread shares when it is out of tasks. The order before (the costliest
            // first, except the very costliest, which went last) put mobilefacenet, mobileface
            // and the structure term ahead of faceres-deep on one thread (83 + 116 ms against
            // 116). Production threaded web build, astronaut at medium, A/B alternating: median
            // step 176-179 ms against 180-184 (2 runs each), 193.6 against 195.4 (5 each, the
            // machine slower then). The order changes no result (largest difference 0).
            let order = task_order(&costs, facecloak_device::cpu_threads() as usize);
            let timed = facecloak_face::parallel::map(&order, |&i| {
                let begun = Instant::now();
                crate::host::now(job.run(&tasks[i])).map(|term| (i, term, begun.elapsed().as_secs_f32()))
            })?;
            let mut terms: Vec<Option<Term>> = tasks.iter().map(|_| None).collect();
            for (i, term, seconds) in timed {
                costs[i] = seconds;
                terms[i] = Some(term);
            }
            terms.into_iter().flatten().collect::<Vec<Term>>()
        };
        // One thread in the single-thread web build (the WebGPU one): one after the other, each
        // read awaited.
        #[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
        let terms = {
            let mut terms = Vec::with_capacity(tasks.len());
            for task in &tasks {
                terms.push(job.run(task).await?);
            }
            terms
        };
        let mut adversarial_value = 0.0;
        let (mut structure_value, mut similarities, mut all_past) = (0.0, Vec::with_capacity(surrogates.len()), true);
        let mut gradient = vec![0.0f32; made.shape().num_elements()];
        for (task, term) in tasks.iter().zip(terms) {
            match task {
                Task::Recognizer(view) => {
                    adversarial_value += term.value;
                    all_past &= term.past;
                    similarities.push((surrogates[view.k].name().to_owned(), term.similarity));
                }
                Task::Structure => structure_value = term.value,
            }
            for (sum, g) in gradient.iter_mut().zip(&term.gradient) {
                *sum += g;
            }
        }
        let unnatural = generator.unnaturalness(&codes) * settings.naturalness;
        let preview = match settings.preview_every {
            0 => None,
            every if step % every == 1 || every == 1 => Some(picture(made.clone(), size).await?),
            _ => None,
        };
        let unnaturalness = read(unnatural.clone().detach()).await?.first().copied().unwrap_or(0.0);
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
        let gradients = render.backward(gradient, unnatural, &codes).await?;
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

/// The order in which the pool's `threads` threads take tasks of these `costs` (each free
/// thread taking the next): of the orders that finish soonest, when each thread takes the next
/// task as it comes free, the one that ends on the costliest task. Whatever a thread finishes
/// early with, it then spends on that task's large convolutions, which Flex shares out over the
/// pool, where a small last task leaves it waiting.
#[cfg(any(not(target_family = "wasm"), target_feature = "atomics"))]
fn task_order(costs: &[f32], threads: usize) -> Vec<usize> {
    let n = costs.len();
    let mut best: Option<((f32, f32), Vec<usize>)> = None;
    let mut order: Vec<usize> = (0..n).collect();
    // Every order, while there are few enough (5 tasks: 120); costliest first beyond that.
    if n > MAX_ORDERED_TASKS || threads < 2 {
        order.sort_by(|&a, &b| costs[b].total_cmp(&costs[a]));
        return order;
    }
    let mut consider = |order: &[usize]| {
        let (end, last) = list_schedule(costs, order, threads);
        let key = (end, -last.map_or(0.0, |t| costs[t]));
        if best.as_ref().is_none_or(|(k, _)| key < *k) {
            best = Some((key, order.to_vec()));
        }
    };
    permutations(&mut order, 0, &mut consider);
    best.map(|(_, order)| order).unwrap_or(order)
}

/// When each of `threads` threads takes the next task of `order` as it comes free: when the
/// last one ends, and which task that is (of those ending then, the costliest; none for no
/// tasks).
#[cfg(any(not(target_family = "wasm"), target_feature = "atomics"))]
fn list_schedule(costs: &[f32], order: &[usize], threads: usize) -> (f32, Option<usize>) {
    let mut free: Vec<(f32, Option<usize>)> = vec![(0.0, None); threads.clamp(1, order.len().max(1))];
    for &t in order {
        let Some(thread) = (0..free.len()).min_by(|&a, &b| free[a].0.total_cmp(&free[b].0)) else { break };
        free[thread] = (free[thread].0 + costs[t], Some(t));
    }
    let cost = |last: Option<usize>| last.map_or(0.0, |t| costs[t]);
    free.into_iter().max_by(|a, b| a.0.total_cmp(&b.0).then(cost(a.1).total_cmp(&cost(b.1)))).unwrap_or((0.0, None))
}

/// Orders [`task_order`] tries them all for.
#[cfg(any(not(target_family = "wasm"), target_feature = "atomics"))]
const MAX_ORDERED_TASKS: usize = 7;

/// `f` on every ordering of `items[k..]`, with `items[..k]` kept in front.
#[cfg(any(not(target_family = "wasm"), target_feature = "atomics"))]
fn permutations(items: &mut [usize], k: usize, f: &mut dyn FnMut(&[usize])) {
    if k + 1 >= items.len() {
        f(items);
        return;
    }
    for i in k..items.len() {
        items.swap(k, i);
        permutations(items, k + 1, f);
        items.swap(k, i);
    }
}

/// A step's render, kept for its backward.
enum Render<'a> {
    /// One graph from the codes to the change.
    Whole { change: Tensor<4> },
    /// The bands' graphs, each from its own copy of the controls, and the controls' graph from
    /// the codes.
    Bands { banded: &'a dyn Banded, controls: Tensor<1>, bands: Vec<Band> },
}

/// One band of a banded render.
struct Band {
    /// The controls, as this band's leaf.
    controls: Tensor<1>,
    /// The band's change, `[1, rows, size, 3]`.
    change: Tensor<4>,
}

impl<'a> Render<'a> {
    /// The change `codes` make: one graph, or (`banded`) the bands, on every core where the
    /// build has threads.
    async fn forward(
        generator: &dyn Generator,
        banded: Option<&'a dyn Banded>,
        codes: &Latent,
    ) -> Result<Render<'a>, SurrogateError> {
        let Some(banded) = banded else { return Ok(Render::Whole { change: generator.render(codes) }) };
        let controls = banded.controls(codes);
        let band = |b: &usize| {
            // A leaf of its own: `detach` makes a new autodiff node, where `require_grad` on
            // clones of one detached tensor would give every band the same node — and so one
            // graph, whose lock would let only one band at a time record or go back.
            let leaf = controls.clone().detach().require_grad();
            Ok::<Band, SurrogateError>(Band { change: banded.band(leaf.clone(), *b), controls: leaf })
        };
        let indices: Vec<usize> = (0..banded.bands()).collect();
        #[cfg(any(not(target_family = "wasm"), target_feature = "atomics"))]
        let bands = facecloak_face::parallel::map(&indices, band)?;
        #[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
        let bands = indices.iter().map(band).collect::<Result<Vec<Band>, SurrogateError>>()?;
        Ok(Render::Bands { banded, controls, bands })
    }

    /// The change, as a constant, `[1, size, size, 3]`.
    fn change(&self) -> Tensor<4> {
        match self {
            Render::Whole { change } => change.clone().detach(),
            Render::Bands { bands, .. } => Tensor::cat(bands.iter().map(|b| b.change.clone().detach()).collect(), 1),
        }
    }

    /// The gradient with respect to `codes` of ⟨change, `gradient`⟩ + `extra` (`gradient`:
    /// NHWC, the change's shape; `extra`: a term of the codes' own).
    async fn backward(
        self,
        gradient: Vec<f32>,
        extra: Tensor<1>,
        codes: &Latent,
    ) -> Result<Vec<Vec<f32>>, SurrogateError> {
        let device = extra.device();
        let loss = match self {
            Render::Whole { change } => {
                let gradient = Tensor::<4>::from_data(TensorData::new(gradient, change.shape()), &device);
                (change * gradient).sum().reshape([1]) + extra
            }
            Render::Bands { banded, controls, bands } => {
                // Each band's ⟨change, gradient⟩ back to its controls, on every core; their
                // sum (in band order, whatever the threads) carries on back to the codes.
                let items: Vec<(usize, &Band)> = bands.iter().enumerate().collect();
                let back = |&(b, band): &(usize, &Band)| {
                    let shape = band.change.shape();
                    let rows = banded.rows(b);
                    let per_row = shape.num_elements() / rows.len().max(1);
                    let part = gradient.get(rows.start * per_row..rows.end * per_row).unwrap_or_default().to_vec();
                    let part = Tensor::<4>::from_data(TensorData::new(part, shape), &device);
                    let grads = (band.change.clone() * part).sum().backward();
                    let d = band.controls.grad(&grads).map(|g| g.detach());
                    let reached = band.controls.shape().num_elements();
                    async move {
                        match d {
                            Some(d) => read(d).await,
                            None => Ok(vec![0.0; reached]),
                        }
                    }
                };
                #[cfg(any(not(target_family = "wasm"), target_feature = "atomics"))]
                let parts = facecloak_face::parallel::map(&items, |item| crate::host::now(back(item)))?;
                #[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
                let parts = {
                    let mut parts = Vec::with_capacity(items.len());
                    for item in &items {
                        parts.push(back(item).await?);
                    }
                    parts
                };
                let mut sum = vec![0.0f32; controls.shape().num_elements()];
                for part in parts {
                    for (s, d) in sum.iter_mut().zip(part) {
                        *s += d;
                    }
                }
                let n = sum.len();
                (controls * Tensor::<1>::from_data(TensorData::new(sum, [n]), &device)).sum().reshape([1]) + extra
            }
        };
        let grads = loss.backward();
        code_gradients(codes, &grads).await
    }
}

/// One surrogate's crop on one step: which surrogate, the jittered transform from generator
/// space to its crop, and its pixel transformations.
struct View {
    k: usize,
    to_crop: Similarity,
    draw: Draw,
}

/// One part of a step's loss that is computed apart from the generator's graph.
enum Task {
    /// A surrogate's adversarial term on its view.
    Recognizer(View),
    /// The structure term: `structure · (1 − SSIM)` between the made-up and the original face.
    Structure,
}

/// A part of the loss with its gradient with respect to the made-up face.
struct Term {
    /// Its value.
    value: f32,
    /// A recognizer's cosine similarity to its reference (0 for the structure term).
    similarity: f32,
    /// Whether that similarity is past the threshold with margin (true for the structure term).
    past: bool,
    /// d term / d made-up face, NHWC.
    gradient: Vec<f32>,
}

/// What every task of a step reads.
struct Job<'a> {
    face: &'a FaceView<'a>,
    surrogates: &'a [&'a Surrogate],
    references: &'a [Tensor<2>],
    pixel_eot: &'a [PixelEot],
    mode: &'a Mode,
    settings: &'a Settings,
    /// The made-up face of this step, as a constant.
    made: &'a Tensor<4>,
    /// The face without makeup.
    original: &'a Tensor<4>,
    /// The side of generator space, as the generator states it.
    size: usize,
}

impl Job<'_> {
    /// `task`'s value and its gradient with respect to the made-up face, from a graph that
    /// starts there.
    async fn run(&self, task: &Task) -> Result<Term, SurrogateError> {
        // A leaf of its own (`detach` makes a new autodiff node): a clone keeps the node's id,
        // and burn-autodiff puts every tensor grown from one id into one graph behind one
        // mutex, which a backward pass holds throughout. With one shared leaf every task's
        // forward waited for the others' backward passes: natively on 2 cores a step took
        // 580–740 ms that way and 420–460 ms this way (one core: 720–760 ms).
        let made = self.made.clone().detach().require_grad();
        let device = made.device();
        let (term, similarity) = match task {
            Task::Recognizer(view) => {
                let surrogate = self.surrogates[view.k];
                let side = surrogate.crop().side();
                let warp = Warp::similarity((self.size, self.size), (side, side), &view.to_crop, &device);
                // The photo fills what the generator square does not cover.
                let fill = self.face.to_generator.then(&view.to_crop).warp(self.face.photo, side, side);
                let fill: Vec<f32> =
                    fill.data.iter().enumerate().map(|(i, v)| v * (1.0 - warp.coverage()[i / 3])).collect();
                let fill = Tensor::<4>::from_data(TensorData::new(fill, [1, side, side, 3]), &device);
                // A face that does not fit the warp is the generator's fault, and an error: a
                // surrogate skipped here could no longer keep the search from "converging".
                let crop = self.pixel_eot[view.k].apply_drawn(warp.apply(made.clone())? + fill, &view.draw);
                let cos = cosine(surrogate.embed(crop)?, self.references[view.k].clone());
                (hinge(cos.clone(), surrogate.threshold(), self.mode, self.settings.margin), Some((surrogate, cos)))
            }
            Task::Structure => {
                ((ssim(made.clone(), self.original.clone()).neg() + 1.0) * self.settings.structure, None)
            }
        };
        // Two reads per task, the term with its similarity and then the gradient: on WebGPU
        // every read is a round trip through the browser's GPU process.
        let values = match &similarity {
            Some((_, cos)) => Tensor::cat(vec![term.clone().detach(), cos.clone().detach()], 0),
            None => term.clone().detach(),
        };
        let grads = term.backward();
        let values = read(values).await?;
        let gradient = match made.grad(&grads) {
            Some(g) => read(g).await?,
            None => vec![0.0f32; made.shape().num_elements()],
        };
        let value = values.first().copied().unwrap_or(0.0);
        let (similarity, past) = match similarity {
            Some((surrogate, _)) => {
                let similarity = values.get(1).copied().unwrap_or(0.0);
                (similarity, is_past(similarity, surrogate.threshold(), self.mode, self.settings.margin))
            }
            None => (0.0, true),
        };
        Ok(Term { value, similarity, past, gradient })
    }
}

/// The gradient of every code of `latent`, read back at once (zeros for a code the loss does
/// not reach).
async fn code_gradients(latent: &Latent, grads: &Gradients) -> Result<Vec<Vec<f32>>, SurrogateError> {
    let flat: Vec<(usize, Option<Tensor<1>>)> = latent
        .codes
        .iter()
        .map(|code| {
            let n = code.shape().num_elements();
            (n, code.grad(grads).map(|g| g.reshape([n])))
        })
        .collect();
    let reached: Vec<Tensor<1>> = flat.iter().filter_map(|(_, g)| g.clone()).collect();
    let read_back = if reached.is_empty() { Vec::new() } else { read(Tensor::cat(reached, 0)).await? };
    let mut values = read_back.into_iter();
    Ok(flat
        .into_iter()
        .map(|(n, g)| match g {
            Some(_) => values.by_ref().take(n).collect(),
            None => vec![0.0; n],
        })
        .collect())
}

/// The hinge on a surrogate's cosine similarity `cos` scaled by its threshold `tau`
/// (`(cos − (τ − margin · (1 − τ))) / (1 − τ)` when dodging, mirrored when impersonating).
fn hinge(cos: Tensor<1>, tau: f32, mode: &Mode, margin: f32) -> Tensor<1> {
    let room = (1.0 - tau).max(0.01);
    let (scale, margin) = (1.0 / room, margin * room);
    match mode {
        Mode::Dodge => burn::tensor::activation::relu(cos - (tau - margin)) * scale,
        Mode::Impersonate { .. } => burn::tensor::activation::relu((cos - (tau + margin)).neg()) * scale,
    }
}

/// Whether `similarity` is past threshold `tau` with the margin, the way `mode` goes.
fn is_past(similarity: f32, tau: f32, mode: &Mode, margin: f32) -> bool {
    let margin = margin * (1.0 - tau).max(0.01);
    match mode {
        Mode::Dodge => similarity < tau - margin,
        Mode::Impersonate { .. } => similarity > tau + margin,
    }
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
    let pool = box_mean;
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

/// The mean of every 7×7 window of NCHW `x` (no padding): as `avg_pool2d` with stride 1, but
/// as a separable sum of shifted views, whose backward pass is as cheap as its forward one —
/// on the CPU backend, average pooling's backward pass made SSIM a ninth of a search step.
fn box_mean(x: Tensor<4>) -> Tensor<4> {
    const SIDE: usize = 7;
    let [n, c, h, w] = x.dims();
    let rows = (1..SIDE).fold(x.clone().slice([0..n, 0..c, 0..h, 0..w - SIDE + 1]), |sum, i| {
        sum + x.clone().slice([0..n, 0..c, 0..h, i..w - SIDE + 1 + i])
    });
    let all = (1..SIDE).fold(rows.clone().slice([0..n, 0..c, 0..h - SIDE + 1, 0..w - SIDE + 1]), |sum, i| {
        sum + rows.clone().slice([0..n, 0..c, i..h - SIDE + 1 + i, 0..w - SIDE + 1])
    });
    all / (SIDE * SIDE) as f32
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

    #[test]
    fn tasks_are_ordered_to_end_soonest_and_on_a_costly_task() {
        // A search step's tasks on the threaded web build (astronaut, ms): faceres,
        // faceres-deep, mobileface, mobilefacenet, the structure term.
        let costs = [116.5, 115.7, 16.4, 60.6, 6.1];
        // The schedule itself, by hand: 3 on one thread, 2 then 2 on the other.
        assert_eq!(list_schedule(&[3.0, 2.0, 2.0], &[0, 1, 2], 2), (4.0, Some(2)));
        assert_eq!(list_schedule(&costs, &[], 2), (0.0, None));
        let order = task_order(&costs, 2);
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(sorted, [0, 1, 2, 3, 4], "{order:?} is not an order of the tasks");
        // The best two threads can do: {faceres, mobileface, structure} beside
        // {faceres-deep, mobilefacenet}; the costliest last (the last order) took 199.
        let (end, last) = list_schedule(&costs, &order, 2);
        assert_eq!(end, 115.7 + 60.6, "{order:?}");
        assert!(
            last.is_some_and(|t| costs[t] > 100.0),
            "{order:?} ends on task {last:?}, which leaves the other thread little to share"
        );
        // One thread: costliest first. As many threads as tasks: each starts at once.
        assert_eq!(task_order(&costs, 1), [0, 1, 3, 2, 4]);
        assert_eq!(list_schedule(&costs, &task_order(&costs, 8), 5).0, 116.5);
        assert!(task_order(&[], 2).is_empty());
    }
}
