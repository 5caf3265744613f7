//! The protection success rate of `facecloak eval`, apart from files and models: scored pairs
//! in, typed PSR rows and headlines out.
//!
//! A pair is one protected photo against one gallery photo, by one recognizer, under one
//! condition (as written, after JPEG, after resizing). Each pair carries its own goal, so a
//! pairs file that mixes dodging and impersonation rows is scored row by row:
//! - dodging: the pair counts when the original matched the gallery photo (cosine above the
//!   threshold; pairs whose original was not embedded count too), and succeeds when the
//!   protected photo no longer matches (a protected photo where no face is found succeeds);
//! - impersonation: every pair with the target's photos counts, and succeeds when the
//!   protected photo matches (no face found: a failure).

use facecloak_protect::Goal;
use serde::Serialize;

/// Eval's tables name goals by their nouns ("dodging", "impersonation").
fn noun<S: serde::Serializer>(goal: &Goal, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(goal.noun())
}

/// One scored pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    /// The protected photo.
    pub protected: String,
    /// The recognizer that scored it.
    pub recognizer: &'static str,
    /// What was done to the protected photo before scoring.
    pub condition: &'static str,
    /// The gallery photo it was compared with.
    pub gallery: String,
    /// What the protected photo is after.
    pub goal: Goal,
    /// Cosine of the original with the gallery photo (NaN: the original was not embedded).
    pub before: f32,
    /// Cosine of the protected photo with the gallery photo (None: no face found in it).
    pub after: Option<f32>,
}

impl Pair {
    /// Whether the pair counts towards the PSR at threshold `tau`.
    fn counts(&self, tau: f32) -> bool {
        match self.goal {
            Goal::Dodge => self.before.is_nan() || self.before > tau,
            Goal::Impersonate => true,
        }
    }

    /// Whether the protection succeeded on the pair at threshold `tau`.
    fn succeeds(&self, tau: f32) -> bool {
        match (self.goal, self.after) {
            (Goal::Dodge, None) => true,
            (Goal::Dodge, Some(after)) => after <= tau,
            (Goal::Impersonate, None) => false,
            (Goal::Impersonate, Some(after)) => after > tau,
        }
    }
}

/// The PSR of one goal, recognizer and condition, at both FARs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Psr {
    /// Dodging or impersonation.
    #[serde(serialize_with = "noun")]
    pub goal: Goal,
    /// The recognizer.
    pub recognizer: &'static str,
    /// The condition.
    pub condition: &'static str,
    /// Successes ÷ counted pairs at the FAR 1 % threshold (None: no pair counted).
    pub psr_far_1: Option<f64>,
    /// Counted pairs at FAR 1 %.
    pub pairs_far_1: usize,
    /// The same at FAR 0.1 %.
    pub psr_far_01: Option<f64>,
    /// Counted pairs at FAR 0.1 %.
    pub pairs_far_01: usize,
}

/// Successes ÷ counted pairs among `pairs` at `tau`, and the count.
fn rate(pairs: &[&Pair], tau: f32) -> (Option<f64>, usize) {
    let counted: Vec<&&Pair> = pairs.iter().filter(|p| p.counts(tau)).collect();
    let successes = counted.iter().filter(|p| p.succeeds(tau)).count();
    let rate = (!counted.is_empty()).then(|| successes as f64 / counted.len() as f64);
    (rate, counted.len())
}

/// One row per goal × recognizer × condition that has pairs, in the order given;
/// `thresholds` gives a recognizer's thresholds at FAR 1 % and 0.1 %.
pub fn table(
    pairs: &[Pair],
    recognizers: &[&'static str],
    conditions: &[&'static str],
    thresholds: impl Fn(&str) -> (f32, f32),
) -> Vec<Psr> {
    let mut rows = Vec::new();
    for goal in Goal::ALL {
        for &recognizer in recognizers {
            let (far_1, far_01) = thresholds(recognizer);
            for &condition in conditions {
                let selected: Vec<&Pair> = pairs
                    .iter()
                    .filter(|p| p.goal == goal && p.recognizer == recognizer && p.condition == condition)
                    .collect();
                if selected.is_empty() {
                    continue;
                }
                let (psr_far_1, pairs_far_1) = rate(&selected, far_1);
                let (psr_far_01, pairs_far_01) = rate(&selected, far_01);
                rows.push(Psr { goal, recognizer, condition, psr_far_1, pairs_far_1, psr_far_01, pairs_far_01 });
            }
        }
    }
    rows
}

/// The headline of a goal at one FAR: the recognizer the protection transferred to worst.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Headline {
    /// Dodging or impersonation.
    #[serde(serialize_with = "noun")]
    pub goal: Goal,
    /// "1 %" or "0.1 %".
    pub far: &'static str,
    /// The recognizer with the lowest PSR.
    pub recognizer: &'static str,
    /// Its PSR.
    pub psr: f64,
    /// Its counted pairs.
    pub pairs: usize,
}

/// Per goal present and per FAR, the lowest PSR under `condition` (eval uses "as written").
/// Under leave-one-out every scorer is held out, so this is the hardest held-out model.
pub fn headlines(table: &[Psr], condition: &str) -> Vec<Headline> {
    let mut headlines = Vec::new();
    for goal in Goal::ALL {
        let rows: Vec<&Psr> = table.iter().filter(|r| r.goal == goal && r.condition == condition).collect();
        let fars: [(&'static str, fn(&Psr) -> (Option<f64>, usize)); 2] =
            [("1 %", |r| (r.psr_far_1, r.pairs_far_1)), ("0.1 %", |r| (r.psr_far_01, r.pairs_far_01))];
        for (far, pick) in fars {
            let lowest =
                rows.iter().filter_map(|r| pick(r).0.map(|psr| (r, psr, pick(r).1))).min_by(|a, b| a.1.total_cmp(&b.1));
            if let Some((r, psr, pairs)) = lowest {
                headlines.push(Headline { goal, far, recognizer: r.recognizer, psr, pairs });
            }
        }
    }
    headlines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(recognizer: &'static str, goal: Goal, before: f32, after: Option<f32>) -> Pair {
        Pair {
            protected: "p.png".into(),
            recognizer,
            condition: "as written",
            gallery: "g.png".into(),
            goal,
            before,
            after,
        }
    }

    /// Thresholds 0.4 at FAR 1 % and 0.6 at FAR 0.1 %, for every recognizer.
    fn thresholds(_: &str) -> (f32, f32) {
        (0.4, 0.6)
    }

    #[test]
    fn dodging_counts_only_pairs_that_matched_before() {
        let pairs = [
            pair("a", Goal::Dodge, 0.7, Some(0.3)),  // counted at both; broken at both
            pair("a", Goal::Dodge, 0.7, Some(0.5)),  // counted at both; broken at 0.1 % only
            pair("a", Goal::Dodge, 0.5, Some(0.45)), // counted at 1 % only; not broken there
            pair("a", Goal::Dodge, 0.2, Some(0.9)),  // never matched: never counted
            pair("a", Goal::Dodge, 0.9, None),       // no face any more: broken
        ];
        let rows = table(&pairs, &["a"], &["as written"], thresholds);
        assert_eq!(rows.len(), 1);
        assert_eq!((rows[0].psr_far_1, rows[0].pairs_far_1), (Some(2.0 / 4.0), 4));
        assert_eq!((rows[0].psr_far_01, rows[0].pairs_far_01), (Some(3.0 / 3.0), 3));
    }

    /// The bug this module fixed: one impersonation row made every row of the file count as
    /// impersonation, so a dodge that worked (no match) was scored a failure.
    #[test]
    fn a_file_mixing_both_goals_is_scored_row_by_row() {
        let pairs = [
            pair("a", Goal::Dodge, 0.8, Some(0.1)),       // dodged
            pair("a", Goal::Dodge, 0.8, Some(0.7)),       // still matches
            pair("a", Goal::Impersonate, 0.1, Some(0.5)), // matches the target
            pair("a", Goal::Impersonate, 0.1, Some(0.2)), // does not
            pair("a", Goal::Impersonate, f32::NAN, None), // no face: a failure
        ];
        let rows = table(&pairs, &["a"], &["as written"], thresholds);
        let of = |goal| rows.iter().find(|r| r.goal == goal).unwrap();
        assert_eq!((of(Goal::Dodge).psr_far_1, of(Goal::Dodge).pairs_far_1), (Some(0.5), 2));
        assert_eq!((of(Goal::Impersonate).psr_far_1, of(Goal::Impersonate).pairs_far_1), (Some(1.0 / 3.0), 3));
        assert_eq!((of(Goal::Impersonate).psr_far_01, of(Goal::Impersonate).pairs_far_01), (Some(0.0), 3));
    }

    #[test]
    fn headlines_are_the_lowest_psr_per_goal_and_far() {
        let pairs = [
            pair("easy", Goal::Dodge, 0.9, Some(0.1)),
            pair("hard", Goal::Dodge, 0.9, Some(0.5)), // broken at FAR 0.1 % only
            pair("hard", Goal::Dodge, 0.9, Some(0.1)),
            pair("easy", Goal::Dodge, 0.9, Some(0.1)),
        ];
        let rows = table(&pairs, &["easy", "hard"], &["as written"], thresholds);
        let heads = headlines(&rows, "as written");
        assert_eq!(heads.len(), 2, "{heads:?}");
        assert_eq!((heads[0].far, heads[0].recognizer, heads[0].psr, heads[0].pairs), ("1 %", "hard", 0.5, 2));
        assert_eq!((heads[1].far, heads[1].psr), ("0.1 %", 1.0));
        assert!(headlines(&rows, "resized 0.5x").is_empty());
    }
}
