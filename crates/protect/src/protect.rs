//! Protecting a photo: every face, one search each, pasted back into the full-resolution photo.

use std::ops::ControlFlow;

use web_time::Instant;

use facecloak_face::{Face, Framed, Image, Mesh, paste};
use facecloak_makeup::naturalness::{self, Naturalness};
use facecloak_makeup::{Cosmetics, Generator, Look, Targets};

use crate::host::read;
use crate::search::{self, FaceView, Mode, Settings, Step};
use crate::verify::embed_all;
use crate::{Surrogate, SurrogateError, cosine};

/// Why a photo could not be protected.
#[derive(Debug, thiserror::Error)]
pub enum ProtectError {
    /// A recognizer failed.
    #[error(transparent)]
    Surrogate(#[from] SurrogateError),
    /// The generator's change does not fit the face's paste-back mask.
    #[error(transparent)]
    Paste(#[from] paste::MismatchedChange),
    /// Impersonation needs one target embedding per surrogate.
    #[error("impersonation needs a target embedding for each of the {0} surrogates")]
    Targets(usize),
}

/// What happened to one face.
#[derive(Debug, Clone)]
pub struct FaceResult {
    /// The face.
    pub face: Face,
    /// Steps the search took.
    pub steps: usize,
    /// Whether every surrogate went past its threshold.
    pub converged: bool,
    /// Whether the search was cancelled.
    pub cancelled: bool,
    /// Whether the face was skipped (its landmarks are degenerate), with no change made.
    pub skipped: bool,
    /// Per surrogate, the face compared with the mode's reference before and after (crops
    /// straight from each photo).
    pub similarities: Vec<Comparison>,
    /// Seconds spent on this face.
    pub seconds: f32,
    /// The makeup applied (pigments and their distance to the colours asked for, light and
    /// line), if the face was protected.
    pub look: Option<Look>,
    /// How natural the result is, measured on the protected photo, if the face was protected.
    pub naturalness: Option<Naturalness>,
}

impl FaceResult {
    /// A face left as it was (`cancelled`: because the protection was cancelled before it).
    pub fn untouched(face: Face, cancelled: bool) -> FaceResult {
        FaceResult {
            face,
            steps: 0,
            converged: false,
            cancelled,
            skipped: true,
            similarities: Vec::new(),
            seconds: 0.0,
            look: None,
            naturalness: None,
        }
    }
}

/// One surrogate's similarity to the mode's reference: the face's own embedding in the
/// original photo when dodging (so `before` is 1), the target's when impersonating.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The surrogate.
    pub recognizer: String,
    /// Its threshold at FAR 1 %.
    pub threshold: f32,
    /// Cosine to the reference in the original photo.
    pub before: f32,
    /// Cosine to the reference in the protected photo.
    pub after: f32,
}

/// A protected photo.
#[derive(Debug, Clone)]
pub struct Protected {
    /// The photo with every face's makeup pasted in.
    pub image: Image,
    /// Per face, in the order given.
    pub faces: Vec<FaceResult>,
}

/// Protects every face of `photo` (`faces`: from `facecloak_face::find_faces`) against
/// `surrogates` (on an autodiff device), with makeup aimed at `makeup`. `progress` sees each
/// step with the face's index; breaking cancels the rest (faces done so far stay protected).
#[cfg(not(target_family = "wasm"))]
pub fn protect(
    photo: &Image,
    faces: &[(Face, Mesh)],
    surrogates: &[&Surrogate],
    makeup: &Targets,
    mode: &Mode,
    settings: &Settings,
    progress: &mut dyn FnMut(usize, &Step) -> ControlFlow<()>,
) -> Result<Protected, ProtectError> {
    pollster::block_on(protect_async(photo, faces, surrogates, makeup, mode, settings, progress))
}

/// [`protect`], reading results back asynchronously (as a browser's WebGPU requires).
pub async fn protect_async(
    photo: &Image,
    faces: &[(Face, Mesh)],
    surrogates: &[&Surrogate],
    makeup: &Targets,
    mode: &Mode,
    settings: &Settings,
    progress: &mut dyn FnMut(usize, &Step) -> ControlFlow<()>,
) -> Result<Protected, ProtectError> {
    protect_onto(photo, photo.clone(), faces, surrogates, makeup, mode, settings, progress).await
}

/// [`protect_async`], pasting into `canvas` (`photo` with other faces already protected)
/// rather than a fresh copy of `photo`; the faces are searched and measured on `photo`, the
/// original. Lets a caller protect a photo's faces one at a time, each with its own makeup,
/// holding no more copies of the photo than one protection does.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn protect_onto(
    photo: &Image,
    canvas: Image,
    faces: &[(Face, Mesh)],
    surrogates: &[&Surrogate],
    makeup: &Targets,
    mode: &Mode,
    settings: &Settings,
    progress: &mut dyn FnMut(usize, &Step) -> ControlFlow<()>,
) -> Result<Protected, ProtectError> {
    if let Mode::Impersonate { targets } = mode
        && targets.len() != surrogates.len()
    {
        return Err(ProtectError::Targets(surrogates.len()));
    }
    let mut image = canvas;
    let mut results = Vec::with_capacity(faces.len());
    let mut cancelled = false;
    let device = surrogates.first().map(|s| s.device().clone());
    // Each face's embedding by each surrogate in the unchanged photo: what dodging moves away
    // from, and what the final similarities compare with.
    let mut own: Vec<Vec<Vec<f32>>> = Vec::with_capacity(faces.len());
    for (index, (face, mesh)) in faces.iter().enumerate() {
        let start = Instant::now();
        let mut result = FaceResult::untouched(face.clone(), cancelled);
        // The face's framing and makeup, which its own embeddings do not depend on: beside them,
        // on every core at once, where the build has threads (threaded web build, production,
        // astronaut: a warm protection's first step comes 70-90 ms sooner; a cold one's not, as
        // V8 compiles the hot code then and takes the core this frees).
        let prepare = || {
            let framed = Framed::new(mesh)?;
            let crops: Vec<_> = surrogates.iter().map(|s| s.crop().from_photo(face, mesh)).collect::<Option<_>>()?;
            let device = device.as_ref().filter(|_| !cancelled)?;
            let generator_face = framed.crop(photo);
            // The crop, the landmarks and the regions come from the same Framed: sizes agree.
            let cosmetics = Cosmetics::encode(
                &generator_face,
                &framed.landmarks,
                &framed.regions,
                makeup,
                &settings.bounds,
                device,
            )
            .ok()?;
            Some((framed, crops, generator_face, cosmetics))
        };
        #[cfg(any(not(target_family = "wasm"), target_feature = "atomics"))]
        let (embeddings, prepared) =
            facecloak_face::parallel::join(|| crate::host::now(embed_all(photo, face, mesh, surrogates)), prepare);
        #[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
        let (embeddings, prepared) = (embed_all(photo, face, mesh, surrogates).await, prepare());
        own.push(embeddings?.into_iter().map(|(_, e)| e).collect());
        let Some((framed, crops, generator_face, cosmetics)) = prepared else {
            results.push(result);
            continue;
        };
        let from_generator = framed.to_generator.inverse();
        let view = FaceView {
            photo,
            to_generator: framed.to_generator,
            crops: crops.iter().map(|to_crop| from_generator.then(to_crop)).collect(),
            own: own[index].clone(),
        };
        let outcome =
            search::search_async(&cosmetics, &view, surrogates, mode, settings, &mut |step| progress(index, step))
                .await?;
        let change = cosmetics.render(&outcome.latent);
        let size = cosmetics.size();
        let change = Image { width: size, height: size, data: read(change).await? };
        paste::paste(&mut image, &framed.to_generator, &change, framed.regions.face())?;
        let mut codes = Vec::with_capacity(outcome.latent.codes.len());
        for code in &outcome.latent.codes {
            codes.push(read(code.clone()).await?);
        }
        result.look = Some(cosmetics.look(&codes));
        result.naturalness =
            naturalness::measure(&generator_face, &framed.crop(&image), &framed.landmarks, &framed.regions);
        cancelled = outcome.cancelled;
        result.steps = outcome.steps;
        result.converged = outcome.converged;
        result.cancelled = outcome.cancelled;
        result.skipped = false;
        result.seconds = start.elapsed().as_secs_f32();
        results.push(result);
    }
    // Similarities on the finished photo: what a recognizer sees after paste-back.
    for ((result, (face, mesh)), own) in results.iter_mut().zip(faces).zip(&own) {
        let after = embed_all(&image, face, mesh, surrogates).await?;
        for (index, ((surrogate, own), (_, after))) in surrogates.iter().zip(own).zip(after).enumerate() {
            let reference = match mode {
                Mode::Dodge => own,
                Mode::Impersonate { targets } => targets.get(index).ok_or(ProtectError::Targets(surrogates.len()))?,
            };
            result.similarities.push(Comparison {
                recognizer: surrogate.name().to_owned(),
                threshold: surrogate.threshold(),
                before: cosine(own, reference),
                after: cosine(&after, reference),
            });
        }
    }
    Ok(Protected { image, faces: results })
}
