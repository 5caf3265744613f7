//! Named looks. Each is a prompt, so a preset means exactly what its text says and the prompt
//! parser stays the one place where words become colours, light and line. Each pairs its
//! colours with the light or line that suits them (a soft contour under berry, a glow with
//! coral, a wing with glam), so that the search starts from a look, not from flat colour.

use crate::prompt::{self, Parsed};

/// The presets: name, prompt.
pub const PRESETS: [(&str, &str); 6] = [
    ("natural", "natural nude lipstick, subtle taupe eyeshadow, subtle peach blush, soft highlight"),
    ("berry", "bold berry lipstick, natural mauve eyeshadow, subtle rose blush, soft contour"),
    ("smoky", "heavy smoky eyeshadow, bold black eyeliner, mascara, natural nude lipstick"),
    ("coral", "coral lipstick, natural peach blush, subtle champagne eyeshadow, glowing highlight"),
    (
        "glam",
        "bold red lipstick, heavy black winged liner, natural gold eyeshadow, soft rose blush, contour, highlight",
    ),
    ("plum", "bold plum lipstick, natural plum eyeshadow, subtle mauve blush, mascara"),
];

/// The look everything starts from when nothing is asked for: the CLI, the app, the widget and
/// `facecloak eval`. Berry, because its soft contour gives the search light as well as colour.
pub const DEFAULT: &str = "berry";

/// The presets' names.
pub fn names() -> Vec<&'static str> {
    PRESETS.iter().map(|(name, _)| *name).collect()
}

/// The prompt of the preset called `name` (case-insensitive).
pub fn prompt_of(name: &str) -> Option<&'static str> {
    PRESETS.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, text)| *text)
}

/// The preset called `name` (case-insensitive), parsed.
pub fn preset(name: &str) -> Option<Parsed> {
    prompt_of(name).map(prompt::parse)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_parses_cleanly() {
        for (name, text) in PRESETS {
            let parsed = preset(name).unwrap();
            assert!(parsed.unknown.is_empty() && parsed.unplaced.is_empty(), "{name}: {text}: {parsed:?}");
            assert!(parsed.targets.iter().count() >= 3, "{name}");
        }
        assert!(preset("Berry").is_some() && preset("disco").is_none());
        assert!(names().contains(&DEFAULT));
    }
}
