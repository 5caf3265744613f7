//! # facecloak-makeup: the generator the attack searches
//!
//! CLIP2Protect searches the latent space of a pretrained StyleGAN2 for a made-up version of a
//! face. No pretrained StyleGAN can be had here, so facecloak's default generator needs no
//! trained weights: [`Synthesiser`] decodes a StyleGAN-like latent — style codes per makeup
//! region and per scale, coarse to fine — into a makeup layer (colour and opacity per pixel)
//! confined to the face's soft region masks, and composites it onto the face so that only colour
//! and tone change, never pores or edges. The search only sees the [`Generator`] trait, so a
//! pretrained StyleGAN2 + encoder can be added beside it without touching the search.
//!
//! What the makeup should look like comes from a text prompt ([`prompt::parse`]), a named
//! [`presets`] entry, or the colours of a reference face ([`reference`]); all three give
//! per-region [`Targets`].

pub mod colours;
mod generator;
pub mod presets;
pub mod prompt;
pub mod reference;
mod synth;

pub use generator::{Generator, Latent};
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

    /// Whether no region has a target.
    pub fn is_empty(&self) -> bool {
        self.targets.iter().all(Option::is_none)
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
