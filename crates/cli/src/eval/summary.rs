//! `results.json`: the evaluation's summary as typed rows, which the terminal table and the
//! HTML report both read (never a JSON value read back with defaults).

use facecloak_makeup::naturalness::{LIMITS, Naturalness};
use serde::Serialize;

use crate::psr::{Headline, Psr};

/// What `results.json` holds.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// How the pairs were made and scored, in words.
    pub protocol: String,
    /// The goals present: "dodging", "impersonation" or "dodging and impersonation".
    pub mode: String,
    /// Protected photos scored.
    pub photos: usize,
    /// PSR per goal, recognizer and condition.
    pub psr: Vec<Psr>,
    /// The recognizer transferred to worst, per goal and FAR.
    pub hardest: Vec<Headline>,
    /// Mean whole-photo SSIM.
    pub ssim_mean: f64,
    /// Mean whole-photo PSNR, dB.
    pub psnr_mean_db: f64,
    /// How natural the protected faces measured.
    pub naturalness: NaturalnessSummary,
}

/// The naturalness measures over every protected face.
#[derive(Debug, Clone, Serialize)]
pub struct NaturalnessSummary {
    /// Faces measured.
    pub faces_measured: usize,
    /// Per measure: mean, worst, limit, faces over it.
    pub measures: Vec<Measure>,
    /// Per face.
    pub per_face: Vec<FaceMeasures>,
}

/// One naturalness measure over the faces.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Measure {
    /// What it measures, with its unit.
    pub name: &'static str,
    /// Mean over the faces.
    pub mean: f32,
    /// The largest value.
    pub worst: f32,
    /// The limit a natural look keeps, if it has one.
    pub limit: Option<f32>,
    /// Faces over the limit.
    pub over: usize,
}

/// One protected face's measures.
#[derive(Debug, Clone, Serialize)]
pub struct FaceMeasures {
    /// The protected photo.
    pub protected: String,
    /// Its measures.
    pub measures: Naturalness,
}

impl NaturalnessSummary {
    /// Mean, worst and how many faces are over the limit, per measure.
    pub fn of(natural: &[(String, Naturalness)]) -> NaturalnessSummary {
        let measures: [(&str, fn(&Naturalness) -> f32, Option<f32>); 6] = [
            ("left/right mismatch (ΔE)", |m| m.symmetry, Some(LIMITS.symmetry)),
            ("bare-skin hue shift (|Δa*b*|)", |m| m.bare_skin_hue, Some(LIMITS.bare_skin_hue)),
            ("lip spill (÷ lips)", |m| m.lip_spill, Some(LIMITS.spill)),
            ("spill into the eyes (÷ lids)", |m| m.eye_spill, Some(LIMITS.spill)),
            ("fine-scale colour (RMS ΔE)", |m| m.fine_energy, None),
            ("mean change over the face (ΔE)", |m| m.mean_change, None),
        ];
        NaturalnessSummary {
            faces_measured: natural.len(),
            measures: measures
                .into_iter()
                .map(|(name, get, limit)| {
                    let values: Vec<f32> = natural.iter().map(|(_, m)| get(m)).collect();
                    Measure {
                        name,
                        mean: values.iter().sum::<f32>() / values.len().max(1) as f32,
                        worst: values.iter().copied().fold(0.0f32, f32::max),
                        limit,
                        over: limit.map_or(0, |l| values.iter().filter(|v| **v > l).count()),
                    }
                })
                .collect(),
            per_face: natural
                .iter()
                .map(|(protected, measures)| FaceMeasures { protected: protected.clone(), measures: *measures })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_are_means_worsts_and_counts_over_the_limits() {
        let face = |symmetry: f32| Naturalness {
            symmetry,
            symmetry_cheeks: 0.0,
            symmetry_eyelids: 0.0,
            asymmetry: 0.0,
            bare_skin_hue: 0.0,
            lip_spill: 0.0,
            eye_spill: 0.0,
            fine_energy: 0.0,
            mean_change: 0.0,
        };
        let summary = NaturalnessSummary::of(&[("a".into(), face(1.0)), ("b".into(), face(3.0))]);
        let symmetry = &summary.measures[0];
        assert_eq!(
            (symmetry.mean, symmetry.worst, symmetry.limit, symmetry.over),
            (2.0, 3.0, Some(LIMITS.symmetry), 1)
        );
        assert_eq!(summary.measures[4].over, 0, "a measure without a limit has no face over it");
        assert_eq!((summary.faces_measured, summary.per_face[1].protected.as_str()), (2, "b"));
    }
}
