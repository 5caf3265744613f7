//! "Does it still recognise me?": the protected face compared with the person's *other*
//! photos, the way a recognizer that finds people online compares a new photo with the ones it
//! already has of them.
//!
//! Comparing the protected face with the same photo unprotected (the report's own
//! `recognizers`) says how far the makeup moved it; it cannot say whether a recognizer still
//! matches the person, because the photo it compares with is not one a recognizer would hold.
//! Here each recognizer compares the face before and after protection with each of up to
//! [`MAX_REFERENCES`] other photos of the person, against its threshold at FAR 1 %, and the
//! verdict follows from whether any of them matched before and whether any still does.
//!
//! The photos never leave the caller: a [`Reference`] keeps only their embeddings.

use facecloak_face::{Face, Faces, Image, Mesh};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::report::Role;
use crate::{Surrogate, SurrogateError, cosine};

/// The most other photos of the person a check compares with: one to three is what a person
/// has at hand, and each adds an embedding per recognizer to every protection.
pub const MAX_REFERENCES: usize = 3;

/// Why a photo cannot serve as one of the person's other photos.
#[derive(Debug, thiserror::Error)]
pub enum ReferenceError {
    /// No face in it.
    #[error("no face was found in {0}")]
    NoFace(String),
    /// Already [`MAX_REFERENCES`] photos.
    #[error("at most {MAX_REFERENCES} of your other photos can be compared with")]
    TooMany,
    /// A recognizer failed.
    #[error(transparent)]
    Surrogate(#[from] SurrogateError),
}

/// One of the person's other photos, as each recognizer sees its largest face.
#[derive(Debug, Clone)]
pub struct Reference {
    /// What the person called it (its file name).
    pub name: String,
    /// Per recognizer, by name, its embedding of the face.
    embeddings: Vec<(String, Vec<f32>)>,
}

impl Reference {
    /// The largest face of `photo` (with `found`, its faces) embedded by every recognizer.
    pub async fn embed_async(
        name: &str,
        photo: &Image,
        found: &Faces,
        recognizers: &[&Surrogate],
    ) -> Result<Reference, ReferenceError> {
        let (face, mesh) = found.largest().ok_or_else(|| ReferenceError::NoFace(name.to_owned()))?;
        Ok(Reference { name: name.to_owned(), embeddings: embed_all(photo, face, mesh, recognizers).await? })
    }

    /// [`embed_async`](Self::embed_async), blocking (natively).
    #[cfg(not(target_family = "wasm"))]
    pub fn embed(
        name: &str,
        photo: &Image,
        found: &Faces,
        recognizers: &[&Surrogate],
    ) -> Result<Reference, ReferenceError> {
        pollster::block_on(Reference::embed_async(name, photo, found, recognizers))
    }

    /// A reference from embeddings already made, per recognizer name.
    pub fn from_embeddings(name: &str, embeddings: Vec<(String, Vec<f32>)>) -> Reference {
        Reference { name: name.to_owned(), embeddings }
    }

    /// The embedding by the recognizer called `recognizer`, if it embedded this photo.
    pub fn embedding(&self, recognizer: &str) -> Option<&[f32]> {
        self.embeddings.iter().find(|(name, _)| name == recognizer).map(|(_, e)| e.as_slice())
    }
}

/// `face` of `photo` embedded by each recognizer, by name, in the recognizers' order. The
/// passes are independent, so natively and in the threaded web build they run on every core
/// at once (as a search step's do); in the single-thread web build one after the other, each
/// read awaited.
pub(crate) async fn embed_all(
    photo: &Image,
    face: &Face,
    mesh: &Mesh,
    recognizers: &[&Surrogate],
) -> Result<Vec<(String, Vec<f32>)>, SurrogateError> {
    #[cfg(any(not(target_family = "wasm"), target_feature = "atomics"))]
    let embeddings = facecloak_face::parallel::map(recognizers, |recognizer| {
        crate::host::now(recognizer.embed_face_async(photo, face, mesh)).map(|e| (recognizer.name().to_owned(), e))
    })?;
    #[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
    let embeddings = {
        let mut embeddings = Vec::with_capacity(recognizers.len());
        for recognizer in recognizers {
            embeddings.push((recognizer.name().to_owned(), recognizer.embed_face_async(photo, face, mesh).await?));
        }
        embeddings
    };
    Ok(embeddings)
}

/// The face compared with one of the person's other photos by one recognizer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ReferenceMatch {
    /// The other photo.
    pub photo: String,
    /// Cosine between it and the face in the original photo.
    pub before: f32,
    /// Cosine between it and the face in the protected photo.
    pub after: f32,
}

/// What one recognizer makes of the protection, judged by the person's other photos.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It matched the original to one of the photos, and matches the protected face to none.
    Protected,
    /// It still matches the protected face to one of the photos.
    StillMatches,
    /// It matched none of the photos even before protection: this check says nothing about it.
    NeverMatched,
}

/// One recognizer's comparisons with the person's other photos.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct RecognizerCheck {
    /// The recognizer.
    pub name: String,
    /// Whether the search attacked it or it only judges.
    pub role: Role,
    /// Its threshold at FAR 1 %: above it, it takes two faces for one person.
    pub threshold: f32,
    /// Per other photo.
    pub references: Vec<ReferenceMatch>,
    /// What follows.
    pub outcome: Outcome,
}

impl RecognizerCheck {
    /// The check by a recognizer of `threshold` whose embeddings of the face are `before` and
    /// `after` protection, against `references` (photo name, embedding).
    pub fn new(
        name: &str,
        role: Role,
        threshold: f32,
        before: &[f32],
        after: &[f32],
        references: &[(&str, &[f32])],
    ) -> RecognizerCheck {
        let references: Vec<ReferenceMatch> = references
            .iter()
            .map(|(photo, reference)| ReferenceMatch {
                photo: (*photo).to_owned(),
                before: cosine(before, reference),
                after: cosine(after, reference),
            })
            .collect();
        // A recognizer that finds people matches a new photo if any photo it holds matches.
        // Above the threshold is a match, as in `Goal::achieved`.
        let matched_before = references.iter().any(|m| m.before > threshold);
        let matches_after = references.iter().any(|m| m.after > threshold);
        let outcome = match (matched_before, matches_after) {
            (_, true) => Outcome::StillMatches,
            (true, false) => Outcome::Protected,
            (false, false) => Outcome::NeverMatched,
        };
        RecognizerCheck { name: name.to_owned(), role, threshold, references, outcome }
    }
}

/// The check as a whole, in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Summary {
    /// Every recognizer that matched you before no longer does.
    Protected,
    /// Some no longer match you; others still do.
    Partly,
    /// Every recognizer that matched you before still does.
    Unprotected,
    /// None matched your photos even before protection: nothing to conclude.
    Inconclusive,
}

/// The protected face checked against the person's other photos by every recognizer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Verification {
    /// The other photos compared with, by name.
    pub photos: Vec<String>,
    /// Per recognizer, attacked ones first, then the judges.
    pub recognizers: Vec<RecognizerCheck>,
    /// What follows from all of them.
    pub summary: Summary,
    /// What the independent judges (recognizers the search never saw) say, when there are any:
    /// the better guess at what an unknown recognizer would do.
    pub judges: Option<Summary>,
    /// All of it in plain words, as the CLI prints it and the result card shows it.
    pub says: String,
}

impl Verification {
    /// The verification made of `recognizers`' checks against `photos`.
    pub fn new(photos: Vec<String>, recognizers: Vec<RecognizerCheck>) -> Verification {
        let judges: Vec<&RecognizerCheck> = recognizers.iter().filter(|c| c.role == Role::Judge).collect();
        let summary = summarise(recognizers.iter());
        let judged = (!judges.is_empty()).then(|| summarise(judges.iter().copied()));
        let count = |outcome| recognizers.iter().filter(|c| c.outcome == outcome).count();
        let (protected, still) = (count(Outcome::Protected), count(Outcome::StillMatches));
        let of = |n: usize| if n == 1 { "1 recognizer".to_owned() } else { format!("{n} recognizers") };
        let mut says = match summary {
            Summary::Protected => format!(
                "Protected: {} matched you to your other photos before, and none matches you now.",
                of(protected)
            ),
            Summary::Partly => format!(
                "Partly protected: {} that matched you to your other photos no longer {}, but {} still {}.",
                of(protected),
                if protected == 1 { "does" } else { "do" },
                of(still),
                if still == 1 { "does" } else { "do" }
            ),
            Summary::Unprotected => {
                "Not protected: every recognizer that matched you to your other photos still does.".to_owned()
            }
            Summary::Inconclusive => "Inconclusive: no recognizer matched you to your other photos even before \
                                      protection, so this check cannot tell."
                .to_owned(),
        };
        for judge in &judges {
            says.push_str(&format!(
                " The independent judge {}, which the makeup was never optimised against, {}.",
                judge.name,
                match judge.outcome {
                    Outcome::Protected => "no longer matches you",
                    Outcome::StillMatches => "still matches you",
                    Outcome::NeverMatched => "did not match you even before",
                }
            ));
        }
        Verification { photos, summary, judges: judged, says, recognizers }
    }
}

fn summarise<'a>(checks: impl Iterator<Item = &'a RecognizerCheck>) -> Summary {
    let (mut protected, mut still) = (0, 0);
    for check in checks {
        match check.outcome {
            Outcome::Protected => protected += 1,
            Outcome::StillMatches => still += 1,
            Outcome::NeverMatched => {}
        }
    }
    match (protected, still) {
        (0, 0) => Summary::Inconclusive,
        (_, 0) => Summary::Protected,
        (0, _) => Summary::Unprotected,
        _ => Summary::Partly,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ME: [f32; 2] = [1.0, 0.0];
    // cos 60° = 0.5: a match at threshold 0.4, not at 0.6.
    const NEAR: [f32; 2] = [0.5, 0.866_025_4];
    // Orthogonal to ME, and far from NEAR (cos −0.87).
    const AWAY: [f32; 2] = [0.0, -1.0];

    fn check(threshold: f32, before: &[f32], after: &[f32], role: Role) -> RecognizerCheck {
        RecognizerCheck::new("r", role, threshold, before, after, &[("other.jpg", &ME), ("third.jpg", &AWAY)])
    }

    #[test]
    fn a_recognizer_matches_when_any_photo_does() {
        // Matches other.jpg before (cos 1), and after (cos 0.5 ≥ 0.4) still.
        let still = check(0.4, &ME, &NEAR, Role::Attacked);
        assert_eq!(still.outcome, Outcome::StillMatches);
        assert_eq!(still.references[0], ReferenceMatch { photo: "other.jpg".into(), before: 1.0, after: 0.5 });
        // At 0.6, 0.5 no longer matches: protected.
        assert_eq!(check(0.6, &ME, &NEAR, Role::Attacked).outcome, Outcome::Protected);
        // A face no photo matched before says nothing.
        assert_eq!(check(0.6, &[-1.0, 0.0], &[-1.0, 0.0], Role::Attacked).outcome, Outcome::NeverMatched);
        // Matching only after (third.jpg at 1) is still a match.
        assert_eq!(check(0.6, &[-1.0, 0.0], &AWAY, Role::Attacked).outcome, Outcome::StillMatches);
    }

    #[test]
    fn the_summary_follows_from_the_recognizers_and_the_judges_have_their_own() {
        let protected = check(0.6, &ME, &NEAR, Role::Attacked);
        let still = check(0.4, &ME, &NEAR, Role::Judge);
        let never = check(0.6, &[-1.0, 0.0], &[-1.0, 0.0], Role::Attacked);
        let names = || vec!["other.jpg".to_owned(), "third.jpg".to_owned()];
        let both = Verification::new(names(), vec![protected.clone(), never.clone(), still.clone()]);
        assert_eq!((both.summary, both.judges), (Summary::Partly, Some(Summary::Unprotected)));
        assert_eq!(
            both.says,
            "Partly protected: 1 recognizer that matched you to your other photos no longer does, but 1 recognizer \
             still does. The independent judge r, which the makeup was never optimised against, still matches you."
        );
        let attacked = Verification::new(names(), vec![protected.clone(), never.clone()]);
        assert_eq!((attacked.summary, attacked.judges), (Summary::Protected, None));
        assert_eq!(Verification::new(names(), vec![never.clone()]).summary, Summary::Inconclusive);
        assert_eq!(Verification::new(names(), vec![never, still]).summary, Summary::Unprotected);
    }
}
