//! Carrying out a [`ProtectRequest`]: the photo's chosen faces searched and pasted back, and
//! the [`ProtectReport`] of what happened. The one entry point the CLI and the browser share.

use std::ops::ControlFlow;

use facecloak_device::BackendInfo;
use facecloak_face::{Faces, Image};
use web_time::Instant;

use crate::report::{FaceBox, FaceReport, ProtectReport, SettingsUsed, StepProgress, protocol};
use crate::request::{ProtectRequest, RequestError, ResolvedMakeup};
use crate::{Surrogate, metrics, protect_async};

/// What [`run_async`] works on besides the request: the photo, what was found in it, the
/// recognizers, the impersonation target, and where it runs.
pub struct Job<'a> {
    /// The photo, upright.
    pub photo: &'a Image,
    /// Its faces (`facecloak_face::find_faces`).
    pub found: &'a Faces,
    /// The recognizers to attack, on an autodiff device.
    pub surrogates: &'a [&'a Surrogate],
    /// The target's embedding per surrogate, when impersonating.
    pub target: Option<&'a [Vec<f32>]>,
    /// What the search runs on, for the report.
    pub backend: &'a BackendInfo,
}

/// Carries out `request` with the makeup it resolved to: every chosen face searched and pasted
/// back. `progress` sees each step (and, every `preview_every` steps, the made-up face);
/// breaking cancels the rest. Returns the protected photo and its report.
pub async fn run_async(
    request: &ProtectRequest,
    makeup: &ResolvedMakeup,
    job: &Job<'_>,
    progress: &mut dyn FnMut(&StepProgress, Option<&Image>) -> ControlFlow<()>,
) -> Result<(Image, ProtectReport), RequestError> {
    let started = Instant::now();
    let settings = request.settings()?;
    let chosen = request.choose(job.found)?;
    let mode = request.search_mode(job.target)?;
    let faces = chosen.len();
    let protected =
        protect_async(job.photo, &chosen, job.surrogates, &makeup.targets, &mode, &settings, &mut |face, step| {
            progress(&StepProgress::new(face, faces, step, job.surrogates), step.preview.as_ref())
        })
        .await?;
    let ssim = metrics::ssim(job.photo, &protected.image)?;
    let psnr = metrics::psnr(job.photo, &protected.image)?;
    let report = ProtectReport {
        input: None,
        output: None,
        width: job.photo.width,
        height: job.photo.height,
        request: request.clone(),
        makeup: makeup.report.clone(),
        settings: SettingsUsed::from(&settings),
        backend: job.backend.clone(),
        faces: protected.faces.iter().map(|face| FaceReport::new(face, request.mode)).collect(),
        too_small: job.found.too_small.iter().map(FaceBox::from).collect(),
        ssim,
        psnr_db: psnr.is_finite().then_some(psnr),
        seconds: started.elapsed().as_secs_f32(),
        naturalness_limits: facecloak_makeup::naturalness::LIMITS,
        protocol: protocol(request.mode),
    };
    Ok((protected.image, report))
}

/// [`run_async`], blocking (natively).
#[cfg(not(target_family = "wasm"))]
pub fn run(
    request: &ProtectRequest,
    makeup: &ResolvedMakeup,
    job: &Job<'_>,
    progress: &mut dyn FnMut(&StepProgress, Option<&Image>) -> ControlFlow<()>,
) -> Result<(Image, ProtectReport), RequestError> {
    pollster::block_on(run_async(request, makeup, job, progress))
}
