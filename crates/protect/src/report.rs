//! What a protection did, as one typed document: the CLI's JSON sidecar and `--json` lines, the
//! browser's result card and the `<face-cloak>` events all are a [`ProtectReport`], and the
//! TypeScript types of the page are generated from these ([`crate::typescript`]).
//!
//! Similarities are mode-aware: each recognizer's `before` and `after` compare the face with the
//! mode's reference (the person's own face in the original photo when dodging, the target's face
//! when impersonating), and its verdict says whether the protection worked against it.

use facecloak_device::BackendInfo;
use facecloak_face::Face;
use facecloak_makeup::Look;
use facecloak_makeup::naturalness::{LIMITS, Limits, Naturalness};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::request::{MakeupReport, ProtectRequest};
use crate::search::{Goal, Settings, Step};
use crate::verify::Verification;
use crate::{Comparison, FaceResult, Surrogate, thresholds};

/// A face's box in photo pixels (top-left corner and size) with its detection score.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, TS)]
pub struct FaceBox {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Width.
    pub width: f32,
    /// Height.
    pub height: f32,
    /// Detection confidence in 0–1.
    pub score: f32,
}

impl From<&Face> for FaceBox {
    fn from(face: &Face) -> FaceBox {
        FaceBox {
            x: face.center.x - face.width / 2.0,
            y: face.center.y - face.height / 2.0,
            width: face.width,
            height: face.height,
            score: face.score,
        }
    }
}

/// The search settings a protection ran with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct SettingsUsed {
    /// Most steps per face.
    pub max_steps: usize,
    /// Margin past each threshold, as a share of 1 − τ.
    pub margin: f32,
    /// Adam's learning rate.
    pub learning_rate: f32,
    /// Weight of the makeup's unnaturalness.
    pub naturalness: f32,
    /// Weight of (1 − SSIM).
    pub structure: f32,
    /// Steps past every threshold before stopping early.
    pub patience: usize,
    /// Whether random transformations were used.
    pub eot: bool,
    /// The colour budget: most CIEDE2000 of a pigment from the colour asked for.
    pub colour_budget_delta_e: f32,
}

impl From<&Settings> for SettingsUsed {
    fn from(settings: &Settings) -> SettingsUsed {
        SettingsUsed {
            max_steps: settings.steps,
            margin: settings.margin,
            learning_rate: settings.learning_rate,
            naturalness: settings.naturalness,
            structure: settings.structure,
            patience: settings.patience,
            eot: settings.eot != crate::eot::EotSettings::none(),
            colour_budget_delta_e: settings.bounds.colour,
        }
    }
}

/// Whether the protection worked against one recognizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    /// Dodging: it no longer matches the person. Impersonating: it takes the face for the target.
    Protected,
    /// It still matches the person (dodging), or does not match the target (impersonating).
    Unprotected,
}

/// What a recognizer was to the search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The search attacked it: it saw the makeup's every step, so its scores are white-box.
    Attacked,
    /// It only judges the result: the makeup was never optimised against it, so it stands in
    /// for a recognizer nobody here knows ([`crate::surrogate::INDEPENDENT_JUDGE`]).
    Judge,
}

/// One recognizer's similarity to the mode's reference, before and after, against its
/// threshold at a 1 % false-accept rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct RecognizerScore {
    /// The recognizer.
    pub name: String,
    /// Attacked by the search, or only judging.
    pub role: Role,
    /// Its threshold at FAR 1 % ([`thresholds::PROVENANCE`]).
    pub threshold: f32,
    /// Cosine to the reference before protection (1 when dodging: the reference is this very
    /// face in the original photo).
    pub before: f32,
    /// Cosine to the reference in the protected photo.
    pub after: f32,
    /// Whether the protection worked against it.
    pub verdict: Verdict,
}

impl RecognizerScore {
    /// The score of `comparison`, by a recognizer in `role`, for a protection towards `goal`.
    pub fn new(comparison: &Comparison, role: Role, goal: Goal) -> RecognizerScore {
        RecognizerScore {
            name: comparison.recognizer.clone(),
            role,
            threshold: comparison.threshold,
            before: comparison.before,
            after: comparison.after,
            verdict: if goal.achieved(comparison.after, comparison.threshold) {
                Verdict::Protected
            } else {
                Verdict::Unprotected
            },
        }
    }
}

/// What happened to one face.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct FaceReport {
    /// Where it is.
    #[serde(rename = "box")]
    #[ts(rename = "box")]
    pub face: FaceBox,
    /// Steps the search took.
    pub steps: usize,
    /// Whether every recognizer went past its threshold with margin.
    pub converged: bool,
    /// Whether the search was cancelled.
    pub cancelled: bool,
    /// Whether the face was left alone (degenerate landmarks, or cancelled before it).
    pub skipped: bool,
    /// Seconds spent on it.
    pub seconds: f32,
    /// Per recognizer: the attacked ones, then the judges.
    pub recognizers: Vec<RecognizerScore>,
    /// The protected face checked against the person's other photos, when any were given.
    pub verification: Option<Verification>,
    /// Whether it wears the pigments this person wore on an earlier photo of the set.
    pub wore_again: bool,
    /// The makeup applied; absent when skipped.
    pub look: Option<Look>,
    /// How natural the result measured; absent when skipped.
    pub naturalness: Option<Naturalness>,
    /// The naturalness limits this face breaks, in words (empty: none).
    pub over_limits: Vec<String>,
}

impl FaceReport {
    /// The report of one face protected towards `goal` (its recognizers all attacked; judges
    /// and a verification are added by [`crate::run`]).
    pub fn new(result: &FaceResult, goal: Goal) -> FaceReport {
        FaceReport {
            face: FaceBox::from(&result.face),
            steps: result.steps,
            converged: result.converged,
            cancelled: result.cancelled,
            skipped: result.skipped,
            seconds: result.seconds,
            recognizers: result.similarities.iter().map(|s| RecognizerScore::new(s, Role::Attacked, goal)).collect(),
            verification: None,
            wore_again: false,
            look: result.look.clone(),
            naturalness: result.naturalness,
            over_limits: result.naturalness.map(|n| n.breaks(&LIMITS)).unwrap_or_default(),
        }
    }
}

/// What a protection did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ProtectReport {
    /// The photo read (the CLI's input file; absent in the browser).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<String>,
    /// The protected photo written (the CLI's output file; absent in the browser).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Photo width, pixels.
    pub width: usize,
    /// Photo height, pixels.
    pub height: usize,
    /// The request as carried out.
    pub request: ProtectRequest,
    /// The makeup it resolved to.
    pub makeup: MakeupReport,
    /// The search settings used.
    pub settings: SettingsUsed,
    /// What the search ran on.
    pub backend: BackendInfo,
    /// Per face protected, in the order chosen.
    pub faces: Vec<FaceReport>,
    /// Faces found but too small to protect.
    pub too_small: Vec<FaceBox>,
    /// Whole-photo SSIM between original and protected.
    pub ssim: f64,
    /// Whole-photo PSNR, dB (absent when nothing changed).
    pub psnr_db: Option<f64>,
    /// Seconds the whole protection took.
    pub seconds: f32,
    /// The naturalness limits the faces were measured against.
    pub naturalness_limits: Limits,
    /// How the similarities are measured, in words, for printing beside them.
    pub protocol: String,
    /// What this version's protection measured on recognizers it did not attack, and what no
    /// measurement can promise.
    pub transfer: Transfer,
}

/// What the protection this version ships measured against recognizers held out of the search
/// (`facecloak eval --leave-one-out`), with its protocol, and its limits in words: shipped in
/// every report so that the result card, the widget's events and the CLI's sidecar say the same.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Transfer {
    /// When and on what it was measured.
    pub measured: String,
    /// How.
    pub protocol: String,
    /// Per held-out recognizer.
    pub held_out: Vec<HeldOut>,
    /// What it cannot promise.
    pub caveat: String,
}

/// One held-out recognizer's protection success rate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct HeldOut {
    /// The recognizer.
    pub recognizer: String,
    /// Share of counted pairs it no longer matched, 0–1.
    pub psr: f32,
    /// Pairs counted (those it matched before protection).
    pub pairs: usize,
}

/// The leave-one-out run behind [`Transfer`]: commit 0d9f47a of 2026-12-04, `facecloak eval
/// --leave-one-out --strength medium` with the berry preset and the four default surrogates
/// (the session note of that day has the whole table, also at FAR 0.1 % and after JPEG).
/// FaceRecognitionNet, the independent judge, was never attacked in any fold.
const HELD_OUT: [(&str, f32, usize); 5] = [
    ("faceres", 0.286, 14),
    ("faceres-deep", 0.30, 10),
    ("mobileface", 0.333, 6),
    ("mobilefacenet", 0.0, 14),
    ("face-recognition-net", 0.367, 30),
];

impl Transfer {
    /// This version's measurement.
    pub fn measured() -> Transfer {
        Transfer {
            measured: "2026-12-04, facecloak commit 0d9f47a, on the 12 colour face photos of the team's test set, \
                       each protected once per fold (36 protections)"
                .into(),
            protocol: "leave-one-out by model family: each family is held out of the search in turn and scores \
                       only the photos protected against the others (faceres and faceres-deep are one family; \
                       face-recognition-net, never attacked, scores every fold); medium strength, the berry look, \
                       dodging; a pair is a protected photo and another photo of the same person, counted when the \
                       recognizer matched them before protection, protected when it no longer does at its \
                       FAR 1 % threshold"
                .into(),
            held_out: HELD_OUT
                .iter()
                .map(|&(recognizer, psr, pairs)| HeldOut { recognizer: recognizer.into(), psr, pairs })
                .collect(),
            caveat: "These are small counts on a few dozen photos, not a promise. A recognizer this version never \
                     saw may still match you, and one trained later, or trained on protected photos, may match \
                     you even where these did not; the ArcFace-trained model (mobilefacenet), the kind real \
                     services resemble, was the hardest to fool."
                .into(),
        }
    }
}

/// How a report's similarities are measured, in words.
pub fn protocol(goal: Goal) -> String {
    let comparison = match goal {
        Goal::Dodge => {
            "cosine similarity between the face in the original and in the protected photo, per recognizer; \
             below the threshold, the recognizer no longer takes them for the same person"
        }
        Goal::Impersonate => {
            "cosine similarity between the face and the target's face, per recognizer, before and after \
             protection; above the threshold, the recognizer takes them for the same person"
        }
    };
    format!("{comparison}. Thresholds at a 1 % false-accept rate: {}", thresholds::PROVENANCE)
}

/// One recognizer's similarity on a search step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct StepScore {
    /// The recognizer.
    pub name: String,
    /// Its threshold at FAR 1 %.
    pub threshold: f32,
    /// Cosine to the mode's reference on this step's transformed crops.
    pub similarity: f32,
}

/// One search step, as progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct StepProgress {
    /// Which face (0-based) of how many.
    pub face: usize,
    /// Faces in this protection.
    pub faces: usize,
    /// 1-based step.
    pub step: usize,
    /// Most steps.
    pub steps: usize,
    /// The whole loss.
    pub loss: f32,
    /// Seconds since this face's search began.
    pub elapsed: f32,
    /// Per recognizer.
    pub similarities: Vec<StepScore>,
}

impl StepProgress {
    /// Step `step` of face `face` (of `faces`) against `surrogates`.
    pub fn new(face: usize, faces: usize, step: &Step, surrogates: &[&Surrogate]) -> StepProgress {
        StepProgress {
            face,
            faces,
            step: step.step,
            steps: step.steps,
            loss: step.loss,
            elapsed: step.elapsed,
            similarities: step
                .similarities
                .iter()
                .zip(surrogates)
                .map(|((name, similarity), s)| StepScore {
                    name: name.clone(),
                    threshold: s.threshold(),
                    similarity: *similarity,
                })
                .collect(),
        }
    }
}

/// What analysing a photo found: for the page to draw and choose from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Analysis {
    /// Width, pixels (upright).
    pub width: usize,
    /// Height, pixels.
    pub height: usize,
    /// The faces that can be protected, best detection first.
    pub faces: Vec<FaceBox>,
    /// Faces found but too small to protect.
    pub too_small: Vec<FaceBox>,
    /// The smallest face protected, pixels.
    pub min_face_size: f32,
}

impl Analysis {
    /// The analysis of a `width × height` photo in which `found` was found.
    pub fn new(width: usize, height: usize, found: &facecloak_face::Faces) -> Analysis {
        Analysis {
            width,
            height,
            faces: found.faces.iter().map(|(face, _)| FaceBox::from(face)).collect(),
            too_small: found.too_small.iter().map(FaceBox::from).collect(),
            min_face_size: facecloak_face::MIN_FACE_SIZE,
        }
    }
}

/// A named look, for the page's menu.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Preset {
    /// Its name.
    pub name: String,
    /// What it says.
    pub prompt: String,
    /// Whether it is the look chosen when nothing is asked for.
    pub default: bool,
}

impl Preset {
    /// Every preset, in menu order.
    pub fn all() -> Vec<Preset> {
        facecloak_makeup::presets::PRESETS
            .iter()
            .map(|(name, prompt)| Preset {
                name: (*name).to_owned(),
                prompt: (*prompt).to_owned(),
                default: *name == facecloak_makeup::presets::DEFAULT,
            })
            .collect()
    }
}

/// One region a prompt puts colour on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct PromptTarget {
    /// The region's name.
    pub region: String,
    /// `#rrggbb`, or absent for the face's own tone.
    pub colour: Option<String>,
    /// How much, 0–1.
    pub intensity: f32,
}

/// One light-and-line freedom a prompt asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct PromptShaping {
    /// "contour", "highlight", "winged liner", "mascara" or "overlined lips".
    pub name: String,
    /// How much, 0–1.
    pub intensity: f32,
}

/// What a makeup prompt asks for, as the page previews it while the person types.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct PromptPreview {
    /// Colour per region.
    pub targets: Vec<PromptTarget>,
    /// Light and line.
    pub shaping: Vec<PromptShaping>,
    /// Words not understood.
    pub unknown: Vec<String>,
    /// Clauses naming a colour but no region.
    pub unplaced: Vec<String>,
    /// Why this prompt cannot be used (it names no region), if it cannot.
    pub problem: Option<String>,
}

impl PromptPreview {
    /// The preview of `text`.
    pub fn of(text: &str) -> PromptPreview {
        let parsed = facecloak_makeup::prompt::parse(text);
        let hex = |c: [f32; 3]| format!("#{:02x}{:02x}{:02x}", c[0] as u8, c[1] as u8, c[2] as u8);
        let s = parsed.targets.shaping;
        PromptPreview {
            problem: parsed.check(text).err().map(|e| e.to_string()),
            targets: parsed
                .targets
                .iter()
                .map(|(region, target)| PromptTarget {
                    region: region.name().to_owned(),
                    colour: target.colour.map(hex),
                    intensity: target.intensity,
                })
                .collect(),
            shaping: [
                ("contour", s.contour),
                ("highlight", s.highlight),
                ("winged liner", s.wing),
                ("mascara", s.mascara),
                ("overlined lips", s.overline),
            ]
            .into_iter()
            .filter_map(|(name, v)| Some(PromptShaping { name: name.to_owned(), intensity: v? }))
            .collect(),
            unknown: parsed.unknown,
            unplaced: parsed.unplaced,
        }
    }
}
