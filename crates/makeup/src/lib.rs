//! # facecloak-makeup: the generator the attack searches
//!
//! CLIP2Protect searches the latent space of a pretrained StyleGAN2 for a made-up version of a
//! face. No pretrained StyleGAN can be had here, and an unconstrained generator gives the search
//! the freedom to paint faces (mottled skin, unmatched eyes), so facecloak's default generator
//! is a makeup model: [`Cosmetics`] has a few dozen parameters — one pigment per product within
//! a perceptual budget of the colour asked for, smooth coverage shapes on the face's anatomy,
//! contour and highlight in lightness only, one parameter set for both sides — so that every
//! point of its latent space is makeup a person could apply ([`naturalness`] measures that).
//! The search only sees the [`Generator`] trait, so a pretrained StyleGAN2 + encoder can be
//! added beside it without touching the search. The first generator, [`Synthesiser`], an
//! adversarial colour field clipped to region masks, stays as the negative control.
//!
//! What the makeup should look like comes from a text prompt ([`prompt::parse`]), a named
//! [`presets`] entry, or the colours of a reference face ([`reference`]); all three give
//! per-region [`Targets`].

mod anatomy;
pub mod colours;
mod cosmetics;
mod generator;
pub mod lab;
pub mod naturalness;
pub mod presets;
pub mod prompt;
pub mod reference;
mod synth;

pub use cosmetics::{
    AppliedPigment, Bounds, Cosmetics, EncodeError, Light, Look, PARAMETERS, Pigment, WORN_BUDGET, colour_offset,
    parameter,
};
pub use generator::{Banded, Generator, Latent};
pub use synth::{SCALES, Synthesiser};

use facecloak_face::Region;

/// A colour and how strongly to apply it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    /// RGB, 0–255; `None`: the face's own colour in the region (foundation that evens the
    /// tone without changing it).
    pub colour: Option<[f32; 3]>,
    /// 0 (none) to 1 (as opaque as the region allows).
    pub intensity: f32,
}

/// What each makeup region should look like; `None` leaves the region to the face's own colour
/// (the search may still use it, within tight bounds).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Targets {
    targets: [Option<Target>; 8],
    /// How much of the shaping freedoms the request asks for (the search may use them
    /// within its bounds either way).
    pub shaping: Shaping,
    /// The pigments this person wore on another photo of the same set, to wear again: each
    /// pigment then aims at the colour applied there, within [`WORN_BUDGET`] instead of the
    /// strength's colour budget (coverage, shapes and light stay the search's).
    pub worn: Option<Look>,
}

/// Requested amounts (0–1) of the freedoms that are light and line rather than colour;
/// `None`: not asked for.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Shaping {
    /// Contour under the cheekbones, along the jaw, beside the nose, at the temples.
    pub contour: Option<f32>,
    /// Highlight on the cheekbones, nose bridge, brow bone, cupid's bow and chin.
    pub highlight: Option<f32>,
    /// A winged eyeliner's wing.
    pub wing: Option<f32>,
    /// Mascara on the lash line.
    pub mascara: Option<f32>,
    /// Lips overlined.
    pub overline: Option<f32>,
}

impl Targets {
    /// The target of `region`.
    pub fn get(&self, region: Region) -> Option<Target> {
        self.targets[index(region)]
    }

    /// Sets the target of `region`.
    pub fn set(&mut self, region: Region, target: Target) {
        self.targets[index(region)] = Some(target);
    }

    /// These targets, worn in the pigments of `look` (another photo of the same person).
    pub fn wearing(mut self, look: Look) -> Targets {
        self.worn = Some(look);
        self
    }

    /// Whether no region has a target and no shaping is asked for.
    pub fn is_empty(&self) -> bool {
        self.targets.iter().all(Option::is_none) && self.shaping == Shaping::default()
    }

    /// The regions that have a target, with it.
    pub fn iter(&self) -> impl Iterator<Item = (Region, Target)> + '_ {
        Region::ALL.into_iter().zip(self.targets).filter_map(|(r, t)| Some((r, t?)))
    }
}

/// `region`'s position in [`Region::ALL`].
pub(crate) fn index(region: Region) -> usize {
    Region::ALL.iter().position(|&r| r == region).unwrap_or(0)
}

/// Intensity words and the intensity they stand for.
pub const INTENSITIES: [(&str, f32); 12] = [
    ("subtle", 0.3),
    ("light", 0.35),
    ("soft", 0.4),
    ("sheer", 0.35),
    ("natural", 0.5),
    ("medium", 0.6),
    ("bold", 0.8),
    ("strong", 0.8),
    ("vivid", 0.85),
    ("intense", 0.9),
    ("heavy", 1.0),
    ("dramatic", 1.0),
];

/// The intensity when a prompt names none.
pub const DEFAULT_INTENSITY: f32 = 0.6;
