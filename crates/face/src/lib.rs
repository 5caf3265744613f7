//! # facecloak-face: from a photo to the crops the recognizers want
//!
//! Every later stage — the attack, the evaluation, the web app — needs the same few facts about
//! a photo: where the faces are ([`detect`], blazeface), where each face's 468 landmarks are
//! ([`mesh`], facemesh), and the crop each recognizer was trained on ([`align`]: ArcFace
//! five-point 112×112 for mobileface, the loose square 224×224 for faceres). Getting these
//! conventions wrong fails silently — a recognizer still returns embeddings, just useless ones —
//! so they live here once, and the recognizer-sanity test checks them on real faces.
//!
//! Images are [`Image`]s: RGB, f32 in 0–255, row-major, decoded by [`Image::decode`] with a
//! pixel limit checked before any pixel is allocated.

pub mod align;
pub mod detect;
mod image;
pub mod mesh;

pub use crate::image::{Image, ImageError};
pub use align::{Point, Similarity};
pub use detect::{Detector, Face};
pub use mesh::Landmarker;

/// A model failed to load or run.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The model files are not a valid TFJS graph model.
    #[error(transparent)]
    Load(#[from] facecloak_tfjs::LoadError),
    /// The model could not run.
    #[error(transparent)]
    Exec(#[from] facecloak_tfjs::ExecError),
    /// The model's outputs are not what this stage expects.
    #[error("{model}: {problem}")]
    Outputs {
        /// Which model.
        model: &'static str,
        /// What is wrong.
        problem: String,
    },
}
