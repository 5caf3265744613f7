//! What a person asks for, as one typed request: the CLI builds it from its arguments, the
//! browser from the page's options (the same JSON, through `serde`), and
//! [`crate::run::run_async`] carries it out, returning the one [`crate::ProtectReport`] that
//! both print or show.
//!
//! The rules that used to live in each front end are here once: which faces a request picks,
//! what its makeup resolves to (and when that is an error), how its expert settings override
//! its strength's, and what each mode compares against.

use facecloak_face::{Face, Faces, Mesh};
use facecloak_makeup::{Targets, presets, prompt};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::search::{Goal, Mode, Settings, Strength};
use crate::surrogate::{INDEPENDENT_JUDGE, Surrogate};
use crate::{ProtectError, metrics};

/// How the makeup is asked for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Makeup {
    /// In words: "berry lipstick, smoky eyeshadow".
    Prompt(String),
    /// One of [`presets::PRESETS`], by name.
    Preset(String),
    /// The colours of the face in a reference photo, named here by its file; the caller reads
    /// them ([`ResolvedMakeup::from_reference`]), since only it has the photo.
    Reference(String),
}

impl Default for Makeup {
    /// The one default look, for the CLI, the app, the widget and eval alike.
    fn default() -> Makeup {
        Makeup::Preset(presets::DEFAULT.to_owned())
    }
}

/// Settings a researcher may set; each overrides its strength's value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct Expert {
    /// Most search steps per face (1 to [`MAX_STEPS`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<usize>,
    /// How far past each recognizer's threshold to push, as a share of 1 − its threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub margin: Option<f32>,
    /// Adam's learning rate on the latent codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub learning_rate: Option<f32>,
    /// Weight of the makeup's unnaturalness.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub naturalness: Option<f32>,
    /// Weight of (1 − SSIM) between made-up and original face.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub structure: Option<f32>,
    /// Steps every recognizer must stay past its threshold before stopping early.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patience: Option<usize>,
    /// No random transformations during the search (faster, less robust).
    #[serde(default)]
    pub no_eot: bool,
}

/// The most search steps a request may ask for: ten times the high strength's, far past where
/// any search here stopped improving.
pub const MAX_STEPS: usize = 1200;

/// One protection, as asked for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(deny_unknown_fields)]
pub struct ProtectRequest {
    /// The look.
    #[serde(default)]
    pub makeup: Makeup,
    /// How hard to try.
    #[serde(default)]
    pub strength: Strength,
    /// Away from the person, or towards a target (whose embeddings come with the call).
    #[serde(default)]
    pub mode: Goal,
    /// Indices of the faces to protect, in the photo's detection order (absent: all).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub faces: Option<Vec<usize>>,
    /// Seed of the search's random draws: the same seed gives the same photo.
    #[serde(default)]
    pub seed: u32,
    /// A preview picture of the made-up face every this many steps (0: none).
    #[serde(default)]
    pub preview_every: usize,
    /// Overrides of the strength's settings.
    #[serde(default)]
    pub expert: Expert,
    /// Which recognizers the search attacks; the rest only judge.
    #[serde(default)]
    pub attack: Attack,
    /// The set of photos this one belongs to (any number the caller picks per set): within a
    /// set the same person wears the same pigments ([`crate::wardrobe`]); absent: a photo on
    /// its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<u32>,
}

/// Which of the loaded recognizers the search attacks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Attack {
    /// All but the independent judge ([`INDEPENDENT_JUDGE`]), which only judges the result: so
    /// every report holds one score from a model the makeup was not optimised against.
    #[default]
    KeepJudge,
    /// Every recognizer loaded; then no score in the report is independent.
    All,
}

impl Attack {
    /// `recognizers` split into those the search attacks and those that only judge, each with
    /// its index in `recognizers`.
    pub fn split<'a>(
        self,
        recognizers: &[&'a Surrogate],
    ) -> (Vec<(usize, &'a Surrogate)>, Vec<(usize, &'a Surrogate)>) {
        recognizers.iter().copied().enumerate().partition(|(_, r)| self == Attack::All || r.name() != INDEPENDENT_JUDGE)
    }
}

/// Why a request cannot be carried out.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    /// The prompt asks for nothing that goes on a face.
    #[error(transparent)]
    NoRegion(#[from] prompt::NoRegion),
    /// No preset has this name.
    #[error("unknown preset {0:?}; presets: {list}", list = presets::names().join(", "))]
    UnknownPreset(String),
    /// A reference look needs the caller to read the reference photo.
    #[error("the makeup of a reference photo must be read from that photo")]
    Reference,
    /// A chosen face index is out of range.
    #[error("face {index} does not exist (the photo has {count})")]
    NoSuchFace {
        /// The index asked for.
        index: usize,
        /// How many faces the photo has.
        count: usize,
    },
    /// Nothing to protect.
    #[error("no face to protect: {0}")]
    NoFace(&'static str),
    /// Impersonation without a target.
    #[error("impersonation needs a target photo")]
    NoTarget,
    /// Every recognizer loaded only judges.
    #[error("no recognizer to attack: {INDEPENDENT_JUDGE} only judges unless every recognizer is attacked")]
    NoSurrogate,
    /// The impersonation target was not embedded by every recognizer given.
    #[error("{recognizers} recognizers but {embeddings} target embeddings")]
    Targets {
        /// Recognizers given.
        recognizers: usize,
        /// Target embeddings given.
        embeddings: usize,
    },
    /// More steps than [`MAX_STEPS`], or none.
    #[error("steps must be between 1 and {MAX_STEPS}, not {0}")]
    Steps(usize),
    /// The search or a recognizer failed.
    #[error(transparent)]
    Protect(#[from] ProtectError),
    /// The protected photo lost its size (a bug, reported rather than hidden).
    #[error(transparent)]
    Size(#[from] metrics::SizeMismatch),
}

/// The makeup a request resolved to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct MakeupReport {
    /// The makeup as asked for.
    pub asked: Makeup,
    /// The words the search followed (a preset's prompt); absent for a reference photo's look.
    pub prompt: Option<String>,
    /// Words not understood, in prompt order.
    pub not_understood: Vec<String>,
    /// Clauses that name a colour but no region to put it on.
    pub no_region: Vec<String>,
}

/// A request's makeup made concrete: the search's targets and what the report says of them.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedMakeup {
    /// What each region should look like.
    pub targets: Targets,
    /// The makeup as the report states it.
    pub report: MakeupReport,
}

impl Makeup {
    /// The targets a prompt or preset stands for; a prompt that names no region is an error,
    /// words that are not understood are kept in the report, not dropped.
    pub fn resolve(&self) -> Result<ResolvedMakeup, RequestError> {
        let (text, parsed) = match self {
            Makeup::Prompt(text) => (text.as_str(), prompt::parse(text)),
            Makeup::Preset(name) => {
                let text = presets::prompt_of(name).ok_or_else(|| RequestError::UnknownPreset(name.clone()))?;
                (text, prompt::parse(text))
            }
            Makeup::Reference(_) => return Err(RequestError::Reference),
        };
        parsed.check(text)?;
        Ok(ResolvedMakeup {
            report: MakeupReport {
                asked: self.clone(),
                prompt: Some(text.to_owned()),
                not_understood: parsed.unknown,
                no_region: parsed.unplaced,
            },
            targets: parsed.targets,
        })
    }
}

impl ResolvedMakeup {
    /// A look read from the face of the reference photo called `name`.
    pub fn from_reference(name: &str, targets: Targets) -> ResolvedMakeup {
        ResolvedMakeup {
            targets,
            report: MakeupReport {
                asked: Makeup::Reference(name.to_owned()),
                prompt: None,
                not_understood: Vec::new(),
                no_region: Vec::new(),
            },
        }
    }
}

impl ProtectRequest {
    /// The search settings: the strength's, with the expert overrides and the seed.
    pub fn settings(&self) -> Result<Settings, RequestError> {
        let mut settings = self.strength.settings();
        let expert = &self.expert;
        if let Some(steps) = expert.steps {
            if !(1..=MAX_STEPS).contains(&steps) {
                return Err(RequestError::Steps(steps));
            }
            settings.steps = steps;
        }
        settings.margin = expert.margin.unwrap_or(settings.margin);
        settings.learning_rate = expert.learning_rate.unwrap_or(settings.learning_rate);
        settings.naturalness = expert.naturalness.unwrap_or(settings.naturalness);
        settings.structure = expert.structure.unwrap_or(settings.structure);
        settings.patience = expert.patience.unwrap_or(settings.patience);
        if expert.no_eot {
            settings.eot = crate::eot::EotSettings::none();
        }
        settings.seed = u64::from(self.seed);
        settings.preview_every = self.preview_every;
        Ok(settings)
    }

    /// The faces this request protects among those found (all of them unless it chose some).
    pub fn choose(&self, found: &Faces) -> Result<Vec<(Face, Mesh)>, RequestError> {
        let count = found.faces.len();
        let chosen = match &self.faces {
            None => found.faces.clone(),
            Some(indices) => indices
                .iter()
                .map(|&index| found.faces.get(index).cloned().ok_or(RequestError::NoSuchFace { index, count }))
                .collect::<Result<_, _>>()?,
        };
        if chosen.is_empty() {
            return Err(RequestError::NoFace(match (count, found.too_small.is_empty()) {
                (0, true) => "none was found in the photo",
                (0, false) => "every face found is too small",
                _ => "none was chosen",
            }));
        }
        Ok(chosen)
    }

    /// The search's mode: the request's goal, with the target's embeddings (one per surrogate,
    /// in the surrogates' order) when it impersonates.
    pub fn search_mode(&self, target: Option<&[Vec<f32>]>) -> Result<Mode, RequestError> {
        Ok(match self.mode {
            Goal::Dodge => Mode::Dodge,
            Goal::Impersonate => Mode::Impersonate { targets: target.ok_or(RequestError::NoTarget)?.to_vec() },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_reads_from_the_json_the_page_sends_and_defaults_the_rest() {
        let request: ProtectRequest =
            serde_json::from_str(r#"{"makeup": {"prompt": "berry lipstick"}, "strength": "high", "mode": "impersonate", "faces": [1], "expert": {"steps": 7}}"#)
                .unwrap();
        assert_eq!(request.makeup, Makeup::Prompt("berry lipstick".into()));
        assert_eq!((request.strength, request.mode, request.seed), (Strength::High, Goal::Impersonate, 0));
        assert_eq!(request.settings().unwrap().steps, 7);
        let empty: ProtectRequest = serde_json::from_str("{}").unwrap();
        assert_eq!(empty, ProtectRequest::default());
        assert_eq!(empty.makeup, Makeup::Preset(presets::DEFAULT.into()));
        assert_eq!(empty.settings().unwrap(), Strength::Medium.settings());
    }

    #[test]
    fn misspelt_options_and_unknown_names_are_errors_not_defaults() {
        for bad in [
            r#"{"strenght": "high"}"#,
            r#"{"strength": "extreme"}"#,
            r#"{"mode": "dodging"}"#,
            r#"{"expert": {"step": 3}}"#,
            r#"{"makeup": "berry"}"#,
        ] {
            assert!(serde_json::from_str::<ProtectRequest>(bad).is_err(), "{bad} was accepted");
        }
        let too_many =
            ProtectRequest { expert: Expert { steps: Some(MAX_STEPS + 1), ..Expert::default() }, ..Default::default() };
        assert!(matches!(too_many.settings(), Err(RequestError::Steps(_))));
    }

    #[test]
    fn makeup_resolves_once_with_its_problems_said() {
        let resolved = Makeup::Prompt("berry lipstick, sparkly unicorn".into()).resolve().unwrap();
        assert_eq!(resolved.report.not_understood, ["sparkly", "unicorn"]);
        assert!(matches!(Makeup::Prompt("sparkly".into()).resolve(), Err(RequestError::NoRegion(_))));
        assert!(matches!(Makeup::Preset("disco".into()).resolve(), Err(RequestError::UnknownPreset(_))));
        let preset = Makeup::default().resolve().unwrap();
        assert_eq!(preset.report.prompt.as_deref(), presets::prompt_of(presets::DEFAULT));
    }

    #[test]
    fn face_choice_and_targets_are_checked() {
        let none = Faces::default();
        let request = ProtectRequest::default();
        assert!(matches!(request.choose(&none), Err(RequestError::NoFace("none was found in the photo"))));
        let chosen = ProtectRequest { faces: Some(vec![2]), ..Default::default() };
        assert!(matches!(chosen.choose(&none), Err(RequestError::NoSuchFace { index: 2, count: 0 })));
        let impersonate = ProtectRequest { mode: Goal::Impersonate, ..Default::default() };
        assert!(matches!(impersonate.search_mode(None), Err(RequestError::NoTarget)));
        assert_eq!(impersonate.search_mode(Some(&[vec![1.0]])).unwrap().goal(), Goal::Impersonate);
    }
}
