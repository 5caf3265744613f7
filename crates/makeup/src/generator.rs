//! The interface between a generator and the search.

use std::ops::Range;

use burn::tensor::Tensor;

/// A point in a generator's latent space: a list of tensors, each one optimisation variable
/// (for [`crate::Synthesiser`]: one style-code grid per scale, coarse to fine; for a StyleGAN2
/// it would be the W+ codes and noise maps).
#[derive(Debug, Clone)]
pub struct Latent {
    /// The codes, in the generator's order.
    pub codes: Vec<Tensor<4>>,
}

impl Latent {
    /// The same values, cut from any autodiff graph.
    pub fn detach(&self) -> Latent {
        Latent { codes: self.codes.iter().map(|c| c.clone().detach()).collect() }
    }

    /// The same values as fresh leaves that collect gradients.
    pub fn require_grad(&self) -> Latent {
        Latent { codes: self.codes.iter().map(|c| c.clone().detach().require_grad()).collect() }
    }

    /// The number of scalar values.
    pub fn len(&self) -> usize {
        self.codes.iter().map(|c| c.shape().num_elements()).sum()
    }

    /// Whether the latent holds no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A generator of face edits in generator space, for one face (an encoder has already inverted
/// the face into it).
///
/// Everything is in generator space: `size`×`size` NHWC RGB on 0–255. The search optimises a
/// [`Latent`] through [`Generator::render`] and pastes the resulting change onto the photo.
pub trait Generator {
    /// The side of generator space.
    fn size(&self) -> usize;

    /// The face as the generator reconstructs it, `[1, size, size, 3]`.
    fn face(&self) -> Tensor<4>;

    /// The encoder's latent of the face itself: renders to no change at all (exactly zero).
    fn neutral(&self) -> Latent;

    /// Where a search starts: the requested makeup, before any adversarial change.
    fn initial(&self) -> Latent;

    /// The change the latent makes to the face, `[1, size, size, 3]` (made-up face minus face);
    /// differentiable with respect to the latent's codes.
    fn render(&self, latent: &Latent) -> Tensor<4>;

    /// How far the latent strays from natural makeup: a non-negative scalar (`[1]`) that the
    /// search adds to its loss — roughness and size of the fine scales, distance of the colours
    /// from their targets.
    fn unnaturalness(&self, latent: &Latent) -> Tensor<1>;

    /// The render in bands that can be computed apart, where the generator has them.
    fn banded(&self) -> Option<&dyn Banded> {
        None
    }
}

/// A generator whose change splits into horizontal bands of rows that depend on the latent
/// only through one short vector, the *controls*: each band is then a graph of its own that
/// starts at the controls, so the bands (forward and backward) can run on different cores,
/// and their gradients with respect to the controls, summed, carry the rest of the way back
/// to the latent (the chain rule, as the search's recognizer terms do). The bands side by
/// side, from [`Banded::controls`] of a latent, are [`Generator::render`] of it.
pub trait Banded: Sync {
    /// How many bands there are.
    fn bands(&self) -> usize;

    /// The rows of `band`, top to bottom: together the bands cover every row once.
    fn rows(&self, band: usize) -> Range<usize>;

    /// The controls of `latent`, `[C]`, differentiable with respect to its codes.
    fn controls(&self, latent: &Latent) -> Tensor<1>;

    /// Band `band`'s change, `[1, rows, size, 3]`, from `controls`.
    fn band(&self, controls: Tensor<1>, band: usize) -> Tensor<4>;
}
