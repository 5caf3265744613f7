//! # facecloak-protect: the adversarial latent search
//!
//! What facecloak exists for: for each face, a search in the makeup generator's latent space
//! for makeup that the surrogate recognizers no longer match to the person (dodging) or do
//! match to someone else (impersonation), robust to what upload sites do to photos, then
//! pasted into the full-resolution photo. This crate holds the surrogates with their
//! calibrated thresholds ([`surrogate`], [`thresholds`]), the random transformations
//! ([`eot`]), the search itself ([`search`]), the photo-level driver ([`protect()`]) and the
//! image-quality measures its reports use ([`metrics`]). It knows nothing of files or
//! command lines.

pub mod eot;
mod host;
pub mod metrics;
mod protect;
mod rng;
pub mod search;
pub mod surrogate;
pub mod thresholds;

#[cfg(not(target_family = "wasm"))]
pub use protect::protect;
pub use protect::{FaceResult, ProtectError, Protected, protect_async};
pub use rng::Rng;
pub use search::{Mode, Settings, Step, Strength, UnknownStrength};
pub use surrogate::{Crop, DEFAULT_SURROGATES, RECOGNIZERS, Surrogate, SurrogateError, cosine};
