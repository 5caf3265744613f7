//! Carrying out a [`ProtectRequest`]: the photo's chosen faces searched and pasted back, and
//! the [`ProtectReport`] of what happened, with the independent judges' scores and the check
//! against the person's other photos. The one entry point the CLI and the browser share.

use std::cell::RefCell;
use std::ops::ControlFlow;

use facecloak_device::BackendInfo;
use facecloak_face::{Faces, Image};
use web_time::Instant;

use crate::protect::protect_onto;
use crate::report::{
    FaceBox, FaceReport, ProtectReport, RecognizerScore, Role, SettingsUsed, StepProgress, Transfer, protocol,
};
use crate::request::{ProtectRequest, RequestError, ResolvedMakeup};
use crate::verify::{RecognizerCheck, Reference, Verification, embed_all};
use crate::wardrobe::{MATCHER, Wardrobe};
use crate::{Comparison, FaceResult, Goal, ProtectError, Protected, Surrogate, cosine, metrics};

/// What [`run_async`] works on besides the request: the photo, what was found in it, the
/// recognizers, the impersonation target, the person's other photos, and where it runs.
pub struct Job<'a> {
    /// The photo, upright.
    pub photo: &'a Image,
    /// Its faces (`facecloak_face::find_faces`).
    pub found: &'a Faces,
    /// The recognizers loaded, on an autodiff device: the request's [`crate::request::Attack`]
    /// says which the search attacks; the others only judge.
    pub recognizers: &'a [&'a Surrogate],
    /// The target's embedding per recognizer (in `recognizers` order), when impersonating.
    pub target: Option<&'a [Vec<f32>]>,
    /// The person's other photos, to check the result against (none: no check).
    pub references: &'a [Reference],
    /// The looks worn so far in the set the request names (`ProtectRequest::set`), which this
    /// protection wears again for the same people and adds its new ones to; none: every face
    /// chooses its own.
    pub wardrobe: Option<&'a RefCell<Wardrobe>>,
    /// What the search runs on, for the report.
    pub backend: &'a BackendInfo,
}

/// Carries out `request` with the makeup it resolved to: every chosen face searched and pasted
/// back, scored by the judges, and checked against the person's other photos. `progress` sees
/// each step (and, every `preview_every` steps, the made-up face); breaking cancels the rest.
/// Returns the protected photo and its report.
pub async fn run_async(
    request: &ProtectRequest,
    makeup: &ResolvedMakeup,
    job: &Job<'_>,
    progress: &mut dyn FnMut(&StepProgress, Option<&Image>) -> ControlFlow<()>,
) -> Result<(Image, ProtectReport), RequestError> {
    let started = Instant::now();
    let settings = request.settings()?;
    let chosen = request.choose(job.found)?;
    let (attacked, judges) = request.attack.split(job.recognizers);
    if attacked.is_empty() {
        return Err(RequestError::NoSurrogate);
    }
    if let Some(target) = job.target
        && target.len() != job.recognizers.len()
    {
        return Err(RequestError::Targets { recognizers: job.recognizers.len(), embeddings: target.len() });
    }
    let surrogates: Vec<&Surrogate> = attacked.iter().map(|&(_, s)| s).collect();
    let target: Option<Vec<Vec<f32>>> = job.target.map(|t| attacked.iter().map(|&(i, _)| t[i].clone()).collect());
    let mode = request.search_mode(target.as_deref())?;
    let faces = chosen.len();
    // In a set, who is who decides the pigments: one look per person.
    let matcher = job.recognizers.iter().find(|r| r.name() == MATCHER).or(job.recognizers.first()).copied();
    let wardrobe = match (request.set, job.wardrobe, matcher) {
        (Some(set), Some(wardrobe), Some(matcher)) => {
            wardrobe.borrow_mut().for_set(set);
            Some((wardrobe, matcher))
        }
        _ => None,
    };
    // One face at a time, each with its own makeup, onto one copy of the photo.
    let mut canvas = job.photo.clone();
    let mut results = Vec::with_capacity(faces);
    let mut wore_again = Vec::with_capacity(faces);
    for (index, pair) in chosen.iter().enumerate() {
        if results.last().is_some_and(|r: &FaceResult| r.cancelled) {
            results.push(FaceResult::untouched(pair.0.clone(), true));
            wore_again.push(false);
            continue;
        }
        let mut targets = makeup.targets.clone();
        let mut identity = None;
        if let Some((wardrobe, matcher)) = wardrobe {
            let embedding = matcher.embed_face_async(job.photo, &pair.0, &pair.1).await.map_err(ProtectError::from)?;
            if let Some(look) = wardrobe.borrow().find(matcher.name(), &embedding, matcher.threshold()) {
                targets = targets.wearing(look.clone());
            }
            identity = Some(embedding);
        }
        let worn = targets.worn.is_some();
        let done = protect_onto(
            job.photo,
            canvas,
            std::slice::from_ref(pair),
            &surrogates,
            &targets,
            &mode,
            &settings,
            &mut |_, step| progress(&StepProgress::new(index, faces, step, &surrogates), step.preview.as_ref()),
        )
        .await?;
        canvas = done.image;
        let Some(result) = done.faces.into_iter().next() else { continue };
        if let (Some((wardrobe, matcher)), Some(embedding), Some(look), false) =
            (wardrobe, identity, &result.look, worn)
        {
            wardrobe.borrow_mut().add(matcher.name(), embedding, look.clone());
        }
        results.push(result);
        wore_again.push(worn);
    }
    let protected = Protected { image: canvas, faces: results };
    let mut reports: Vec<FaceReport> = protected.faces.iter().map(|face| FaceReport::new(face, request.mode)).collect();
    for (report, wore) in reports.iter_mut().zip(wore_again) {
        report.wore_again = wore;
    }
    for ((report, result), (face, mesh)) in reports.iter_mut().zip(&protected.faces).zip(&chosen) {
        if result.skipped {
            continue;
        }
        // The judges need their own embeddings; a check against the person's photos needs
        // every recognizer's.
        let needed: Vec<&Surrogate> =
            if job.references.is_empty() { judges.iter().map(|&(_, j)| j).collect() } else { job.recognizers.to_vec() };
        // Before and after are independent: at once where the build has threads.
        #[cfg(any(not(target_family = "wasm"), target_feature = "atomics"))]
        let (before, after) = facecloak_face::parallel::join(
            || crate::host::now(embed_all(job.photo, face, mesh, &needed)),
            || crate::host::now(embed_all(&protected.image, face, mesh, &needed)),
        );
        #[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
        let (before, after) =
            (embed_all(job.photo, face, mesh, &needed).await, embed_all(&protected.image, face, mesh, &needed).await);
        let (before, after) = (before.map_err(ProtectError::from)?, after.map_err(ProtectError::from)?);
        let embedding = |of: &[(String, Vec<f32>)], name: &str| {
            of.iter().find(|(n, _)| n == name).map(|(_, e)| e.clone()).unwrap_or_default()
        };
        for &(index, judge) in &judges {
            let (own, now) = (embedding(&before, judge.name()), embedding(&after, judge.name()));
            let reference = match &job.target {
                Some(target) if request.mode == Goal::Impersonate => target[index].clone(),
                _ => own.clone(),
            };
            let comparison = Comparison {
                recognizer: judge.name().to_owned(),
                threshold: judge.threshold(),
                before: cosine(&own, &reference),
                after: cosine(&now, &reference),
            };
            report.recognizers.push(RecognizerScore::new(&comparison, Role::Judge, request.mode));
        }
        if !job.references.is_empty() {
            let checks = job
                .recognizers
                .iter()
                .map(|recognizer| {
                    let name = recognizer.name();
                    let role = if judges.iter().any(|(_, j)| j.name() == name) { Role::Judge } else { Role::Attacked };
                    let photos: Vec<(&str, &[f32])> =
                        job.references.iter().filter_map(|r| Some((r.name.as_str(), r.embedding(name)?))).collect();
                    let (own, now) = (embedding(&before, name), embedding(&after, name));
                    RecognizerCheck::new(name, role, recognizer.threshold(), &own, &now, &photos)
                })
                .collect();
            let photos = job.references.iter().map(|r| r.name.clone()).collect();
            report.verification = Some(Verification::new(photos, sorted_by_role(checks)));
        }
    }
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
        faces: reports,
        too_small: job.found.too_small.iter().map(FaceBox::from).collect(),
        ssim,
        psnr_db: psnr.is_finite().then_some(psnr),
        seconds: started.elapsed().as_secs_f32(),
        naturalness_limits: facecloak_makeup::naturalness::LIMITS,
        protocol: protocol(request.mode),
        transfer: Transfer::measured(),
    };
    Ok((protected.image, report))
}

/// The attacked recognizers' checks first, then the judges', each in the order given.
fn sorted_by_role(mut checks: Vec<RecognizerCheck>) -> Vec<RecognizerCheck> {
    checks.sort_by_key(|c| c.role == Role::Judge);
    checks
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
