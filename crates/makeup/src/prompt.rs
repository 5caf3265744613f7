//! Text prompts → per-region makeup targets.
//!
//! CLIP2Protect steers its makeup with a CLIP text loss; facecloak has no CLIP, and a prompt
//! such as "pink eyeshadows with red lipstick" says plainly what goes where. So it is parsed:
//! the prompt splits into clauses ("with", "and", commas…), each clause names regions
//! (lipstick, eyeshadow, eyeliner, blush, brows, foundation, and their synonyms), colours (CSS
//! names, makeup words such as nude, berry, plum, smoky, `#hex`) and an intensity word (subtle …
//! heavy). Every word that is none of these — nor a harmless filler such as "a" or "look" — is
//! reported back in [`Parsed::unknown`], never silently dropped; so is a colour that names no
//! region.

use facecloak_face::Region;

use crate::{DEFAULT_INTENSITY, INTENSITIES, Target, Targets, colours};

/// A parsed prompt.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Parsed {
    /// What each region should look like.
    pub targets: Targets,
    /// Words not understood, in prompt order.
    pub unknown: Vec<String>,
    /// Clauses that name a colour but no region to put it on ("red", alone).
    pub unplaced: Vec<String>,
}

/// A prompt that asks for nothing that goes on a face.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the makeup prompt {0:?} names no region (lipstick, eyeshadow, eyeliner, blush, brows, foundation, contour, highlight)"
)]
pub struct NoRegion(pub String);

impl Parsed {
    /// The one rule for a usable prompt: it names at least one region or shaping freedom.
    /// `prompt` is the text it was parsed from, for the message.
    pub fn check(&self, prompt: &str) -> Result<(), NoRegion> {
        if self.targets.is_empty() { Err(NoRegion(prompt.to_owned())) } else { Ok(()) }
    }
}

const EYELIDS: &[Region] = &[Region::EyelidLeft, Region::EyelidRight];
const CHEEKS: &[Region] = &[Region::CheekLeft, Region::CheekRight];

/// Region words and the regions they name.
const REGION_WORDS: [(&str, &[Region]); 24] = [
    ("lipstick", &[Region::Lips]),
    ("lips", &[Region::Lips]),
    ("lip", &[Region::Lips]),
    ("lipgloss", &[Region::Lips]),
    ("gloss", &[Region::Lips]),
    ("mouth", &[Region::Lips]),
    ("eyeshadow", EYELIDS),
    ("shadow", EYELIDS),
    ("eyelids", EYELIDS),
    ("eyelid", EYELIDS),
    ("lids", EYELIDS),
    ("eyes", EYELIDS),
    ("eyeliner", &[Region::Eyeliner]),
    ("liner", &[Region::Eyeliner]),
    ("blush", CHEEKS),
    ("blusher", CHEEKS),
    ("rouge", CHEEKS),
    ("cheeks", CHEEKS),
    ("brows", &[Region::Brows]),
    ("eyebrows", &[Region::Brows]),
    ("brow", &[Region::Brows]),
    ("foundation", &[Region::Skin]),
    ("skin", &[Region::Skin]),
    ("complexion", &[Region::Skin]),
];

/// The freedoms of light and line that a word asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Contour,
    Highlight,
    Wing,
    Mascara,
    Overline,
}

/// Words for light and line, the shape they ask for, and the region they also imply.
const SHAPING_WORDS: [(&str, Shape, Option<Region>); 17] = [
    ("contour", Shape::Contour, None),
    ("contoured", Shape::Contour, None),
    ("contouring", Shape::Contour, None),
    ("sculpted", Shape::Contour, None),
    ("highlight", Shape::Highlight, None),
    ("highlighter", Shape::Highlight, None),
    ("highlighted", Shape::Highlight, None),
    ("glow", Shape::Highlight, None),
    ("glowing", Shape::Highlight, None),
    ("strobing", Shape::Highlight, None),
    ("winged", Shape::Wing, Some(Region::Eyeliner)),
    ("wing", Shape::Wing, Some(Region::Eyeliner)),
    ("cat-eye", Shape::Wing, Some(Region::Eyeliner)),
    ("mascara", Shape::Mascara, None),
    ("lashes", Shape::Mascara, None),
    ("overlined", Shape::Overline, Some(Region::Lips)),
    ("overline", Shape::Overline, Some(Region::Lips)),
];

/// Words that shade the colour after them: the change of CIELAB lightness, and the chroma kept.
const SHADES: [(&str, (f32, f32)); 3] = [("dark", (-15.0, 1.0)), ("deep", (-12.0, 1.1)), ("pale", (15.0, 0.6))];

/// `rgb` shaded by `(ΔL*, chroma factor)`, in CIELAB so that the hue stays.
fn shade(rgb: [f32; 3], (dl, chroma): (f32, f32)) -> [f32; 3] {
    let [l, a, b] = crate::lab::srgb_to_lab(rgb);
    crate::lab::lab_to_srgb_host([(l + dl).clamp(0.0, 100.0), a * chroma, b * chroma]).map(|c| c.clamp(0.0, 255.0))
}

/// Words that carry no makeup meaning of their own.
const FILLERS: [&str; 16] = [
    "a", "an", "the", "some", "of", "on", "in", "look", "makeup", "make-up", "shade", "tone", "colour", "color",
    "style", "very",
];

/// Words that split a prompt into clauses.
const SEPARATORS: [&str; 4] = ["with", "and", "plus", "&"];

/// The colour a region gets when a clause names the region but no colour ("bold eyeliner").
/// `None`: the face's own colour (foundation evens the tone rather than recolouring it).
pub(crate) fn default_colour(region: Region) -> Option<[f32; 3]> {
    let name = match region {
        Region::Lips => "rose",
        Region::EyelidLeft | Region::EyelidRight => "taupe",
        Region::Eyeliner => "black",
        // The brows' own hair colour (see `cosmetics`): brow fill is the hair's shade.
        Region::Brows => return None,
        Region::CheekLeft | Region::CheekRight => "palevioletred",
        Region::Skin => return None,
    };
    colours::named(name)
}

/// Parses `prompt`. Later clauses override earlier ones for the same region.
pub fn parse(prompt: &str) -> Parsed {
    let mut parsed = Parsed::default();
    let lowered = prompt.to_lowercase();
    // Clause breaks: separator words, and punctuation (marked "|").
    let mut clauses: Vec<Vec<String>> = vec![Vec::new()];
    let marked: String =
        lowered.chars().map(|c| if matches!(c, ',' | ';' | '+' | '/' | '.' | '!') { '|' } else { c }).collect();
    for token in marked.replace('|', " | ").split_whitespace() {
        if token == "|" || SEPARATORS.contains(&token) {
            clauses.push(Vec::new());
        } else if let Some(clause) = clauses.last_mut() {
            clause.push(token.to_string());
        }
    }
    for clause in clauses.into_iter().filter(|c| !c.is_empty()) {
        parse_clause(&clause, &mut parsed);
    }
    parsed
}

fn parse_clause(words: &[String], parsed: &mut Parsed) {
    let mut regions: Vec<Region> = Vec::new();
    let mut colours_found: Vec<[f32; 3]> = Vec::new();
    let mut colour_names: Vec<String> = Vec::new();
    let mut intensity: Option<f32> = None;
    let mut shapes: Vec<Shape> = Vec::new();
    let mut i = 0;
    while i < words.len() {
        // Longest colour name first: "light goldenrod yellow", "hot pink", "red".
        if let Some((len, rgb)) =
            (1..=3.min(words.len() - i)).rev().find_map(|n| Some((n, colours::named(&words[i..i + n].join(" "))?)))
        {
            colours_found.push(rgb);
            colour_names.push(words[i..i + len].join(" "));
            i += len;
            continue;
        }
        let word = words[i].as_str();
        // "dark brown", "deep plum", "pale pink": a shade of the colour that follows (CSS's own
        // "dark red" and the like were matched whole above).
        if let Some((_, shift)) = SHADES.iter().find(|(w, _)| *w == word)
            && let Some((len, rgb)) = (1..=3.min(words.len() - i - 1))
                .rev()
                .find_map(|n| Some((n, colours::named(&words[i + 1..i + 1 + n].join(" "))?)))
        {
            colours_found.push(shade(rgb, *shift));
            colour_names.push(words[i..i + 1 + len].join(" "));
            i += 1 + len;
            continue;
        }
        let singular = word.strip_suffix('s').unwrap_or(word);
        if let Some((_, named)) = REGION_WORDS.iter().find(|(w, _)| *w == word || *w == singular) {
            regions.extend(named.iter().copied());
        } else if let Some((_, shape, implied)) = SHAPING_WORDS.iter().find(|(w, _, _)| *w == word || *w == singular) {
            shapes.push(*shape);
            regions.extend(implied.iter().copied());
        } else if let Some((_, level)) = INTENSITIES.iter().find(|(w, _)| *w == word) {
            intensity = Some(*level);
        } else if !FILLERS.contains(&word) {
            parsed.unknown.push(word.to_string());
        }
        i += 1;
    }
    let amount = intensity.unwrap_or(DEFAULT_INTENSITY);
    for shape in &shapes {
        let slot = match shape {
            Shape::Contour => &mut parsed.targets.shaping.contour,
            Shape::Highlight => &mut parsed.targets.shaping.highlight,
            Shape::Wing => &mut parsed.targets.shaping.wing,
            Shape::Mascara => &mut parsed.targets.shaping.mascara,
            Shape::Overline => &mut parsed.targets.shaping.overline,
        };
        *slot = Some(amount);
    }
    if regions.is_empty() && !shapes.is_empty() {
        if !colours_found.is_empty() {
            parsed.unplaced.push(words.join(" "));
        }
        return;
    }
    if regions.is_empty() {
        // "smoky" alone means the eyes; any other colour without a region cannot be placed.
        if colour_names.iter().any(|n| n == "smoky") {
            regions.extend(EYELIDS);
        } else {
            if !colour_names.is_empty() {
                parsed.unplaced.push(words.join(" "));
            }
            return;
        }
    }
    let colour = (!colours_found.is_empty()).then(|| {
        let n = colours_found.len() as f32;
        [0, 1, 2].map(|c| colours_found.iter().map(|rgb| rgb[c]).sum::<f32>() / n)
    });
    for region in regions {
        let colour = colour.or_else(|| default_colour(region));
        parsed.targets.set(region, Target { colour, intensity: intensity.unwrap_or(DEFAULT_INTENSITY) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip2protect_prompts() {
        let red = parse("red lipstick");
        assert_eq!(red.targets.get(Region::Lips).unwrap().colour, colours::named("red"));
        assert!(red.unknown.is_empty() && red.targets.get(Region::EyelidLeft).is_none());

        let purple = parse("purple eyeshadows");
        for lid in [Region::EyelidLeft, Region::EyelidRight] {
            assert_eq!(purple.targets.get(lid).unwrap().colour, Some([128.0, 0.0, 128.0]));
        }
        let both = parse("pink eyeshadows with red lipstick");
        assert_eq!(both.targets.get(Region::EyelidRight).unwrap().colour, Some([255.0, 192.0, 203.0]));
        assert_eq!(both.targets.get(Region::Lips).unwrap().colour, colours::named("red"));
        assert_eq!(both.targets.iter().count(), 3);
    }

    #[test]
    fn intensity_defaults_and_unknown_words() {
        let p = parse("Bold berry lipstick, subtle smoky eyeshadow and heavy eyeliner; blush");
        assert_eq!(p.targets.get(Region::Lips).unwrap(), Target { colour: Some([142.0, 38.0, 78.0]), intensity: 0.8 });
        assert_eq!(p.targets.get(Region::EyelidLeft).unwrap().intensity, 0.3);
        assert_eq!(p.targets.get(Region::Eyeliner).unwrap(), Target { colour: Some([0.0; 3]), intensity: 1.0 });
        assert_eq!(p.targets.get(Region::CheekLeft).unwrap().intensity, DEFAULT_INTENSITY);
        assert!(p.unknown.is_empty(), "{:?}", p.unknown);

        let q = parse("sparkly hot pink lipstick with natural foundation and red");
        assert_eq!(q.unknown, ["sparkly"]);
        assert_eq!(q.unplaced, ["red"]);
        assert_eq!(q.targets.get(Region::Lips).unwrap().colour, Some([255.0, 105.0, 180.0]));
        assert_eq!(q.targets.get(Region::Skin).unwrap(), Target { colour: None, intensity: 0.5 });

        let smoky = parse("smoky");
        assert!(smoky.targets.get(Region::EyelidLeft).is_some() && smoky.unplaced.is_empty());
        assert!(parse("").targets.is_empty());
        let nothing = parse("sparkly glitter");
        assert!(nothing.targets.is_empty(), "{nothing:?}");
    }

    #[test]
    fn shades_of_a_colour() {
        let p = parse("dark brown brows, deep plum lipstick, pale pink blush, dark red eyeliner");
        assert!(p.unknown.is_empty() && p.unplaced.is_empty(), "{p:?}");
        let lab = |region| crate::lab::srgb_to_lab(p.targets.get(region).unwrap().colour.unwrap());
        let brown = crate::lab::srgb_to_lab(colours::named("brown").unwrap());
        let brows = lab(Region::Brows);
        assert!((brows[0] - (brown[0] - 15.0)).abs() < 0.5, "dark brown is brown, 15 L* darker: {brows:?}");
        let [r, g, b] = p.targets.get(Region::Brows).unwrap().colour.unwrap();
        assert!(r > g && g > b && r - g < 60.0, "still a brown, not a red: {:?}", [r, g, b]);
        assert!(lab(Region::Lips)[0] < crate::lab::srgb_to_lab(colours::named("plum").unwrap())[0] - 10.0);
        assert!(lab(Region::CheekLeft)[0] > crate::lab::srgb_to_lab(colours::named("pink").unwrap())[0] + 10.0);
        // CSS's own "dark red" is a name, not a shade of red.
        assert_eq!(p.targets.get(Region::Eyeliner).unwrap().colour, colours::named("darkred"));
        // A shade word without a colour after it is not understood.
        assert_eq!(parse("dark lipstick").unknown, ["dark"]);
        // Brows named without a colour take the face's own hair colour (None here).
        assert_eq!(parse("bold brows").targets.get(Region::Brows).unwrap().colour, None);
    }

    #[test]
    fn light_and_line_words() {
        let p = parse("soft contour, highlight, black winged liner, bold brows, overlined nude lips, mascara");
        assert!(p.unknown.is_empty() && p.unplaced.is_empty(), "{p:?}");
        let s = p.targets.shaping;
        assert_eq!((s.contour, s.highlight, s.wing, s.overline), (Some(0.4), Some(0.6), Some(0.6), Some(0.6)));
        assert_eq!(s.mascara, Some(0.6));
        assert_eq!(p.targets.get(Region::Eyeliner).unwrap().colour, Some([0.0; 3]));
        assert_eq!(p.targets.get(Region::Brows).unwrap().intensity, 0.8);
        assert_eq!(p.targets.get(Region::Lips).unwrap().colour, colours::named("nude"));
        // Light alone is a request, not an empty prompt; a colour on it has nowhere to go.
        let light = parse("glowing highlight");
        assert!(!light.targets.is_empty() && light.targets.iter().count() == 0);
        assert_eq!(parse("pink contour").unplaced, ["pink contour"]);
    }
}
