//! One look per person across a set of photos: a person protecting an album wears one look on
//! one day, not a different lipstick in every photo. The first face of a person in the set
//! chooses its pigments as usual; every later face that a recognizer takes for the same person
//! wears those pigments again ([`facecloak_makeup::Targets::worn`], within
//! [`facecloak_makeup::WORN_BUDGET`]), while coverage, shapes and light adapt to each photo.

use facecloak_makeup::Look;

use crate::cosine;

/// The recognizer that decides who is who in a set: the ArcFace-trained MobileFaceNet, which
/// separates the team's test faces perfectly (ROC AUC 1.000 on 87 same / 1,239 different
/// pairs, see the mobilefacenet calibration); the first recognizer loaded when it is not.
pub const MATCHER: &str = facecloak_tfjs::mobilefacenet::NAME;

/// The looks worn so far in one set, each with the face that wore it.
#[derive(Debug, Clone, Default)]
pub struct Wardrobe {
    /// The set these looks belong to (`crate::ProtectRequest::set`).
    set: Option<u32>,
    worn: Vec<Worn>,
}

#[derive(Debug, Clone)]
struct Worn {
    recognizer: String,
    embedding: Vec<f32>,
    look: Look,
}

impl Wardrobe {
    /// The wardrobe for `set`: this one if it is that set's, else an empty one for it.
    pub fn for_set(&mut self, set: u32) -> &mut Wardrobe {
        if self.set != Some(set) {
            *self = Wardrobe { set: Some(set), worn: Vec::new() };
        }
        self
    }

    /// The look worn by the person whose face `recognizer` embeds as `embedding`: that of the
    /// most similar face worn so far, if `recognizer` takes the two for one person (cosine above
    /// `threshold`, its FAR 1 % threshold).
    pub fn find(&self, recognizer: &str, embedding: &[f32], threshold: f32) -> Option<&Look> {
        self.worn
            .iter()
            .filter(|w| w.recognizer == recognizer)
            .map(|w| (cosine(&w.embedding, embedding), w))
            .filter(|(similarity, _)| *similarity > threshold)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, w)| &w.look)
    }

    /// Records that the face `recognizer` embeds as `embedding` wore `look`.
    pub fn add(&mut self, recognizer: &str, embedding: Vec<f32>, look: Look) {
        self.worn.push(Worn { recognizer: recognizer.to_owned(), embedding, look });
    }

    /// How many looks it holds.
    pub fn len(&self) -> usize {
        self.worn.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.worn.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn look(lipstick: [f32; 3]) -> Look {
        Look {
            pigments: vec![facecloak_makeup::AppliedPigment {
                name: "lipstick".into(),
                requested: true,
                target: lipstick,
                applied: lipstick,
                delta_e: 0.0,
                coverage: 0.5,
            }],
            light: vec![],
            foundation: [0.0, 0.0],
            lip_line: 0.0,
            wing: 0.0,
        }
    }

    #[test]
    fn a_face_wears_the_look_of_the_most_similar_person_above_the_threshold() {
        let mut wardrobe = Wardrobe::default();
        let wardrobe = wardrobe.for_set(1);
        wardrobe.add(MATCHER, vec![1.0, 0.0], look([200.0, 0.0, 0.0]));
        wardrobe.add(MATCHER, vec![0.0, 1.0], look([0.0, 0.0, 200.0]));
        // cos 0.8 to the first, 0.6 to the second: the first's look.
        let found = wardrobe.find(MATCHER, &[0.8, 0.6], 0.5).unwrap();
        assert_eq!(found.pigments[0].applied, [200.0, 0.0, 0.0]);
        // Nobody above 0.9: a new person.
        assert!(wardrobe.find(MATCHER, &[0.8, 0.6], 0.9).is_none());
        // Another recognizer's embeddings are not comparable.
        assert!(wardrobe.find("mobileface", &[1.0, 0.0], 0.5).is_none());
        // Another set starts empty.
        assert!(wardrobe.for_set(2).is_empty());
    }
}
