//! Each recognizer's decision threshold, calibrated at a stated false-accept rate on a stated
//! image set, and the calibration itself.
//!
//! A protected face "no longer matches" when its cosine similarity to the person falls below
//! the recognizer's threshold; the attack scales each surrogate's loss by it, and the
//! evaluation counts with it. The committed values below come from `facecloak calibrate`
//! (which prints this table); a test recomputes them when `../shared/faces` is present.

/// Where the committed thresholds come from.
pub const PROVENANCE: &str = "cosine of embeddings of all different-person pairs among the 52 labelled single-person \
photos of ../shared/faces (MANIFEST.csv; 14 people, 1,239 pairs); crops straight from the photo (faceres: loose 224 \
around the blazeface box; mobileface and mobilefacenet: ArcFace 112 from facemesh's five points; face-recognition-net: the 150 chip from \
the same five points); threshold = the score that at most \
FAR × pairs exceed; `facecloak calibrate` recomputes";

/// A recognizer's thresholds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibrated {
    /// Recognizer name.
    pub recognizer: &'static str,
    /// Threshold at FAR 1 %.
    pub far_1: f32,
    /// Threshold at FAR 0.1 %.
    pub far_01: f32,
}

/// The committed thresholds (see [`PROVENANCE`]).
pub const CALIBRATED: [Calibrated; 5] = [
    Calibrated { recognizer: "faceres", far_1: 0.5670, far_01: 0.6055 },
    Calibrated { recognizer: "faceres-deep", far_1: 0.6785, far_01: 0.7316 },
    Calibrated { recognizer: "mobileface", far_1: 0.3986, far_01: 0.4382 },
    Calibrated { recognizer: "mobilefacenet", far_1: 0.3187, far_01: 0.3790 },
    Calibrated { recognizer: "face-recognition-net", far_1: 0.9568, far_01: 0.9640 },
];

/// `recognizer`'s threshold at FAR 1 %.
pub fn far_1(recognizer: &str) -> Option<f32> {
    CALIBRATED.iter().find(|c| c.recognizer == recognizer).map(|c| c.far_1)
}

/// `recognizer`'s threshold at FAR 0.1 %.
pub fn far_01(recognizer: &str) -> Option<f32> {
    CALIBRATED.iter().find(|c| c.recognizer == recognizer).map(|c| c.far_01)
}

/// The threshold at false-accept rate `far` for these different-person scores: the score that
/// at most `far × n` of them exceed (a pair matches when its score is above the threshold).
/// `None` without scores.
pub fn at_far(different: &[f32], far: f64) -> Option<f32> {
    let mut sorted: Vec<f32> = different.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    let allowed = (far * sorted.len() as f64).floor() as usize;
    sorted.get(allowed.min(sorted.len().checked_sub(1)?)).copied()
}

/// All different-person scores among labelled embeddings.
pub fn different_person_scores(embeddings: &[(String, Vec<f32>)]) -> Vec<f32> {
    let mut out = Vec::new();
    for i in 0..embeddings.len() {
        for j in i + 1..embeddings.len() {
            if embeddings[i].0 != embeddings[j].0 {
                out.push(crate::cosine(&embeddings[i].1, &embeddings[j].1));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_far_lets_through_at_most_the_allowed_share() {
        let scores: Vec<f32> = (0..1000).map(|i| i as f32 / 1000.0).collect();
        let t = at_far(&scores, 0.01).unwrap();
        assert_eq!(scores.iter().filter(|&&s| s > t).count(), 10);
        let t = at_far(&scores, 0.001).unwrap();
        assert_eq!(scores.iter().filter(|&&s| s > t).count(), 1);
        assert_eq!(at_far(&[], 0.01), None);
        assert_eq!(at_far(&[0.5], 0.01), Some(0.5));
    }
}
