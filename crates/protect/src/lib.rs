//! # facecloak-protect: the adversarial latent search
//!
//! What facecloak exists for: for each face, a search in the makeup generator's latent space
//! for makeup that the surrogate recognizers no longer match to the person (dodging) or do
//! match to someone else (impersonation), robust to what upload sites do to photos, then
//! pasted into the full-resolution photo. This crate holds the surrogates with their
//! calibrated thresholds ([`surrogate`], [`thresholds`]), the random transformations
//! ([`eot`]), the search itself ([`search`]), the photo-level driver ([`protect()`]) and the
//! image-quality measures its reports use ([`metrics`]). Above them sit the application's one
//! typed request and report ([`request`], [`report`]), which the CLI and the browser only pass
//! through, the check of a result against the person's other photos ([`verify`]), and the
//! TypeScript types generated from them ([`typescript`]). It knows nothing of files or command
//! lines.

pub mod eot;
mod host;
pub mod metrics;
mod protect;
pub mod report;
pub mod request;
mod rng;
pub mod run;
pub mod search;
pub mod step_time;
pub mod surrogate;
pub mod thresholds;
pub mod typescript;
pub mod verify;
pub mod wardrobe;

#[cfg(not(target_family = "wasm"))]
pub use protect::protect;
pub use protect::{Comparison, FaceResult, ProtectError, Protected, protect_async};
pub use report::{ProtectReport, StepProgress};
pub use request::{Attack, Expert, Makeup, ProtectRequest, RequestError, ResolvedMakeup};
pub use rng::Rng;
#[cfg(not(target_family = "wasm"))]
pub use run::run;
pub use run::{Job, run_async};
pub use search::{Goal, Mode, Settings, Step, Strength, UnknownGoal, UnknownStrength};
pub use surrogate::{
    Crop, DEFAULT_SURROGATES, INDEPENDENT_JUDGE, RECOGNIZERS, Recognizer, Surrogate, SurrogateError, cosine,
};
pub use verify::{MAX_REFERENCES, Reference, ReferenceError, Verification};
pub use wardrobe::Wardrobe;
