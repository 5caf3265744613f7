//! `scores.json`: everything one evaluation measured, per pair and per photo, before any
//! summary. `facecloak eval --merge` joins many shards' scores into one report; because every
//! report is summarised from its scores in one canonical order ([`Scores::canonical`]), the
//! merged report of N shards is the report one run over all their photos writes, bit for bit.

use anyhow::{Context, bail};
use facecloak_makeup::naturalness::Naturalness;
use facecloak_protect::{Goal, RECOGNIZERS};
use serde::{Deserialize, Serialize};

use crate::psr::Pair;

/// What the pairs are scored under: as written, then after each robustness transform.
pub const CONDITIONS: [&str; 4] = ["as written", "JPEG q75", "JPEG q50", "resized 0.5x"];

/// One evaluation's measurements.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Scores {
    /// How the pairs were made and scored, in words; shards merge only under one protocol.
    pub protocol: String,
    /// Every scored pair.
    pub pairs: Vec<PairRecord>,
    /// Per protected photo: whole-photo SSIM and PSNR (dB, infinite when identical: `null`).
    pub quality: Vec<Quality>,
    /// Per protected face: how natural its makeup measured.
    pub naturalness: Vec<(String, Naturalness)>,
    /// Before/after face crops (data URLs) with the protected photo's name, for the report.
    pub thumbnails: Vec<(String, String, String)>,
}

/// [`Pair`] as stored: names as text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairRecord {
    pub protected: String,
    pub recognizer: String,
    pub condition: String,
    pub gallery: String,
    pub goal: Goal,
    /// NaN (the original was not embedded) is stored as `null`.
    pub before: Option<f32>,
    pub after: Option<f32>,
}

/// One protected photo's whole-photo quality.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quality {
    pub protected: String,
    pub ssim: Exact,
    pub psnr_db: Option<Exact>,
}

/// An f64 stored as the shortest text that reads back as exactly it (Rust's own `Display`):
/// serde_json's default float parsing can be one ulp off, and a merged report's means must be
/// the single run's to the bit. (Its `float_roundtrip` feature would do, but would rebuild
/// every crate of the workspace that uses serde_json, burn among them.)
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Exact(pub f64);

impl Serialize for Exact {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Exact {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Exact, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map(Exact).map_err(serde::de::Error::custom)
    }
}

/// The report shows at most this many before/after crops.
pub const THUMBNAILS: usize = 12;

impl PairRecord {
    pub fn of(pair: &Pair) -> PairRecord {
        PairRecord {
            protected: pair.protected.clone(),
            recognizer: pair.recognizer.to_owned(),
            condition: pair.condition.to_owned(),
            gallery: pair.gallery.clone(),
            goal: pair.goal,
            before: (!pair.before.is_nan()).then_some(pair.before),
            after: pair.after,
        }
    }

    /// The pair, its recognizer and condition among the known ones.
    pub fn pair(&self) -> anyhow::Result<Pair> {
        let recognizer = RECOGNIZERS
            .iter()
            .map(|r| r.name)
            .find(|n| *n == self.recognizer)
            .with_context(|| format!("unknown recognizer {:?}", self.recognizer))?;
        let condition = CONDITIONS
            .into_iter()
            .find(|c| *c == self.condition)
            .with_context(|| format!("unknown condition {:?}", self.condition))?;
        Ok(Pair {
            protected: self.protected.clone(),
            recognizer,
            condition,
            gallery: self.gallery.clone(),
            goal: self.goal,
            before: self.before.unwrap_or(f32::NAN),
            after: self.after,
        })
    }

    /// The canonical order: photo, recognizer, condition (as listed), gallery photo.
    fn key(&self) -> (String, usize, usize, String) {
        let rank = |name: &str, names: &[&str]| names.iter().position(|n| *n == name).unwrap_or(usize::MAX);
        (
            self.protected.clone(),
            rank(&self.recognizer, &RECOGNIZERS.map(|r| r.name)),
            rank(&self.condition, &CONDITIONS),
            self.gallery.clone(),
        )
    }
}

impl Scores {
    /// The same measurements in the one order every report is summarised in (so that sums, and
    /// the crops shown, do not depend on which shard measured what).
    pub fn canonical(mut self) -> Scores {
        self.pairs.sort_by_cached_key(PairRecord::key);
        self.quality.sort_by(|a, b| a.protected.cmp(&b.protected));
        self.naturalness.sort_by(|a, b| a.0.cmp(&b.0));
        self.thumbnails.sort_by(|a, b| a.2.cmp(&b.2));
        self.thumbnails.truncate(THUMBNAILS);
        self
    }

    /// The shards' scores as one: the same protocol, no protected photo in two of them.
    pub fn merge(shards: Vec<(String, Scores)>) -> anyhow::Result<Scores> {
        let Some(protocol) = shards.first().map(|(_, s)| s.protocol.clone()) else { bail!("nothing to merge") };
        let mut merged = Scores { protocol, ..Scores::default() };
        let mut seen = std::collections::HashMap::new();
        for (from, shard) in shards {
            if shard.protocol != merged.protocol {
                bail!("{from} was scored under another protocol:\n  {}\nnot\n  {}", shard.protocol, merged.protocol);
            }
            for q in &shard.quality {
                if let Some(other) = seen.insert(q.protected.clone(), from.clone()) {
                    bail!("{} is in both {other} and {from}: shards must not overlap", q.protected);
                }
            }
            merged.pairs.extend(shard.pairs);
            merged.quality.extend(shard.quality);
            merged.naturalness.extend(shard.naturalness);
            merged.thumbnails.extend(shard.thumbnails);
        }
        Ok(merged.canonical())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shard(photos: &[&str]) -> Scores {
        let pair = |photo: &str, recognizer: &str, after: f32| PairRecord {
            protected: photo.to_owned(),
            recognizer: recognizer.to_owned(),
            condition: "as written".to_owned(),
            gallery: "g.jpg".to_owned(),
            goal: Goal::Dodge,
            before: Some(0.9),
            after: Some(after),
        };
        Scores {
            protocol: "p".to_owned(),
            pairs: photos.iter().flat_map(|p| [pair(p, "mobileface", 0.2), pair(p, "faceres", 0.5)]).collect(),
            quality: photos
                .iter()
                .map(|p| Quality { protected: p.to_string(), ssim: Exact(0.99), psnr_db: None })
                .collect(),
            naturalness: Vec::new(),
            thumbnails: Vec::new(),
        }
    }

    #[test]
    fn merged_shards_are_the_whole_run_in_canonical_order() {
        let whole = shard(&["a.png", "b.png", "c.png"]).canonical();
        let merged =
            Scores::merge(vec![("2".into(), shard(&["c.png", "a.png"])), ("1".into(), shard(&["b.png"]))]).unwrap();
        assert_eq!(merged.pairs, whole.pairs);
        assert_eq!(merged.quality, whole.quality);
        // Recognizers in RECOGNIZERS' order, not as measured.
        assert_eq!(merged.pairs[0].recognizer, "faceres");
        assert_eq!(merged.pairs[0].pair().unwrap().recognizer, "faceres");
    }

    #[test]
    fn overlapping_shards_and_other_protocols_are_refused() {
        let overlap = Scores::merge(vec![("1".into(), shard(&["a.png"])), ("2".into(), shard(&["a.png"]))]);
        assert!(format!("{:#}", overlap.unwrap_err()).contains("must not overlap"));
        let other = Scores { protocol: "q".into(), ..shard(&["b.png"]) };
        let mixed = Scores::merge(vec![("1".into(), shard(&["a.png"])), ("2".into(), other)]);
        assert!(format!("{:#}", mixed.unwrap_err()).contains("another protocol"));
    }

    #[test]
    fn a_pair_survives_storage() {
        let pair = Pair {
            protected: "a.png".into(),
            recognizer: "mobilefacenet",
            condition: "JPEG q50",
            gallery: "g.jpg".into(),
            goal: Goal::Impersonate,
            before: f32::NAN,
            after: None,
        };
        let stored: PairRecord = serde_json::from_str(&serde_json::to_string(&PairRecord::of(&pair)).unwrap()).unwrap();
        let back = stored.pair().unwrap();
        assert!(back.before.is_nan() && back.after.is_none() && back.recognizer == "mobilefacenet");
        assert!(PairRecord { recognizer: "nobody".into(), ..stored }.pair().is_err());
        // f64s read back to the bit (serde_json's own parse of this one is an ulp off).
        let q = Quality {
            protected: "a".into(),
            ssim: Exact(0.9979924365099149),
            psnr_db: Some(Exact(47.053680203629476)),
        };
        assert_eq!(serde_json::from_str::<Quality>(&serde_json::to_string(&q).unwrap()).unwrap(), q);
    }
}
