//! Colour words: the 148 CSS named colours, and makeup's own words for colours.

/// Makeup colour words (cosmetics names, not in CSS or meaning something else there), RGB.
/// Words that also name a region ("blush") are regions, not colours.
const MAKEUP: [(&str, [u8; 3]); 26] = [
    ("nude", [196, 138, 120]),
    ("berry", [142, 38, 78]),
    ("wine", [114, 28, 48]),
    ("mauve", [170, 110, 130]),
    ("rose", [200, 90, 110]),
    ("peach", [240, 150, 120]),
    ("bronze", [160, 100, 55]),
    ("copper", [184, 100, 60]),
    ("champagne", [230, 200, 160]),
    ("burgundy", [128, 0, 32]),
    ("cherry", [190, 20, 45]),
    ("ruby", [155, 17, 50]),
    ("scarlet", [235, 30, 30]),
    ("fuchsia", [220, 30, 140]),
    ("mocha", [120, 80, 60]),
    ("taupe", [140, 115, 100]),
    ("espresso", [70, 45, 35]),
    ("smoky", [70, 66, 70]),
    ("charcoal", [54, 54, 58]),
    ("caramel", [190, 120, 70]),
    ("cinnamon", [170, 90, 50]),
    ("emerald", [20, 140, 90]),
    ("lilac", [190, 150, 200]),
    // CSS's brown is a brick red (165, 42, 42) and its gold a pure yellow (255, 215, 0):
    // "dark brown brows" came out red and a gold eyeshadow yellow. These are the cosmetics
    // shades (a mid brow-pencil brown; a metallic gold shadow's mean colour).
    ("brown", [112, 74, 52]),
    // CSS's red is the display primary (255, 0, 0), which on lips reads as neon orange; a red
    // lipstick is a deep blue-red.
    ("red", [196, 26, 48]),
    ("gold", [196, 152, 74]),
];

/// The CSS Color Module Level 4 named colours.
const CSS: [(&str, [u8; 3]); 148] = [
    ("aliceblue", [240, 248, 255]),
    ("antiquewhite", [250, 235, 215]),
    ("aqua", [0, 255, 255]),
    ("aquamarine", [127, 255, 212]),
    ("azure", [240, 255, 255]),
    ("beige", [245, 245, 220]),
    ("bisque", [255, 228, 196]),
    ("black", [0, 0, 0]),
    ("blanchedalmond", [255, 235, 205]),
    ("blue", [0, 0, 255]),
    ("blueviolet", [138, 43, 226]),
    ("brown", [165, 42, 42]),
    ("burlywood", [222, 184, 135]),
    ("cadetblue", [95, 158, 160]),
    ("chartreuse", [127, 255, 0]),
    ("chocolate", [210, 105, 30]),
    ("coral", [255, 127, 80]),
    ("cornflowerblue", [100, 149, 237]),
    ("cornsilk", [255, 248, 220]),
    ("crimson", [220, 20, 60]),
    ("cyan", [0, 255, 255]),
    ("darkblue", [0, 0, 139]),
    ("darkcyan", [0, 139, 139]),
    ("darkgoldenrod", [184, 134, 11]),
    ("darkgray", [169, 169, 169]),
    ("darkgreen", [0, 100, 0]),
    ("darkgrey", [169, 169, 169]),
    ("darkkhaki", [189, 183, 107]),
    ("darkmagenta", [139, 0, 139]),
    ("darkolivegreen", [85, 107, 47]),
    ("darkorange", [255, 140, 0]),
    ("darkorchid", [153, 50, 204]),
    ("darkred", [139, 0, 0]),
    ("darksalmon", [233, 150, 122]),
    ("darkseagreen", [143, 188, 143]),
    ("darkslateblue", [72, 61, 139]),
    ("darkslategray", [47, 79, 79]),
    ("darkslategrey", [47, 79, 79]),
    ("darkturquoise", [0, 206, 209]),
    ("darkviolet", [148, 0, 211]),
    ("deeppink", [255, 20, 147]),
    ("deepskyblue", [0, 191, 255]),
    ("dimgray", [105, 105, 105]),
    ("dimgrey", [105, 105, 105]),
    ("dodgerblue", [30, 144, 255]),
    ("firebrick", [178, 34, 34]),
    ("floralwhite", [255, 250, 240]),
    ("forestgreen", [34, 139, 34]),
    ("fuchsia", [255, 0, 255]),
    ("gainsboro", [220, 220, 220]),
    ("ghostwhite", [248, 248, 255]),
    ("gold", [255, 215, 0]),
    ("goldenrod", [218, 165, 32]),
    ("gray", [128, 128, 128]),
    ("green", [0, 128, 0]),
    ("greenyellow", [173, 255, 47]),
    ("grey", [128, 128, 128]),
    ("honeydew", [240, 255, 240]),
    ("hotpink", [255, 105, 180]),
    ("indianred", [205, 92, 92]),
    ("indigo", [75, 0, 130]),
    ("ivory", [255, 255, 240]),
    ("khaki", [240, 230, 140]),
    ("lavender", [230, 230, 250]),
    ("lavenderblush", [255, 240, 245]),
    ("lawngreen", [124, 252, 0]),
    ("lemonchiffon", [255, 250, 205]),
    ("lightblue", [173, 216, 230]),
    ("lightcoral", [240, 128, 128]),
    ("lightcyan", [224, 255, 255]),
    ("lightgoldenrodyellow", [250, 250, 210]),
    ("lightgray", [211, 211, 211]),
    ("lightgreen", [144, 238, 144]),
    ("lightgrey", [211, 211, 211]),
    ("lightpink", [255, 182, 193]),
    ("lightsalmon", [255, 160, 122]),
    ("lightseagreen", [32, 178, 170]),
    ("lightskyblue", [135, 206, 250]),
    ("lightslategray", [119, 136, 153]),
    ("lightslategrey", [119, 136, 153]),
    ("lightsteelblue", [176, 196, 222]),
    ("lightyellow", [255, 255, 224]),
    ("lime", [0, 255, 0]),
    ("limegreen", [50, 205, 50]),
    ("linen", [250, 240, 230]),
    ("magenta", [255, 0, 255]),
    ("maroon", [128, 0, 0]),
    ("mediumaquamarine", [102, 205, 170]),
    ("mediumblue", [0, 0, 205]),
    ("mediumorchid", [186, 85, 211]),
    ("mediumpurple", [147, 112, 219]),
    ("mediumseagreen", [60, 179, 113]),
    ("mediumslateblue", [123, 104, 238]),
    ("mediumspringgreen", [0, 250, 154]),
    ("mediumturquoise", [72, 209, 204]),
    ("mediumvioletred", [199, 21, 133]),
    ("midnightblue", [25, 25, 112]),
    ("mintcream", [245, 255, 250]),
    ("mistyrose", [255, 228, 225]),
    ("moccasin", [255, 228, 181]),
    ("navajowhite", [255, 222, 173]),
    ("navy", [0, 0, 128]),
    ("oldlace", [253, 245, 230]),
    ("olive", [128, 128, 0]),
    ("olivedrab", [107, 142, 35]),
    ("orange", [255, 165, 0]),
    ("orangered", [255, 69, 0]),
    ("orchid", [218, 112, 214]),
    ("palegoldenrod", [238, 232, 170]),
    ("palegreen", [152, 251, 152]),
    ("paleturquoise", [175, 238, 238]),
    ("palevioletred", [219, 112, 147]),
    ("papayawhip", [255, 239, 213]),
    ("peachpuff", [255, 218, 185]),
    ("peru", [205, 133, 63]),
    ("pink", [255, 192, 203]),
    ("plum", [221, 160, 221]),
    ("powderblue", [176, 224, 230]),
    ("purple", [128, 0, 128]),
    ("rebeccapurple", [102, 51, 153]),
    ("red", [255, 0, 0]),
    ("rosybrown", [188, 143, 143]),
    ("royalblue", [65, 105, 225]),
    ("saddlebrown", [139, 69, 19]),
    ("salmon", [250, 128, 114]),
    ("sandybrown", [244, 164, 96]),
    ("seagreen", [46, 139, 87]),
    ("seashell", [255, 245, 238]),
    ("sienna", [160, 82, 45]),
    ("silver", [192, 192, 192]),
    ("skyblue", [135, 206, 235]),
    ("slateblue", [106, 90, 205]),
    ("slategray", [112, 128, 144]),
    ("slategrey", [112, 128, 144]),
    ("snow", [255, 250, 250]),
    ("springgreen", [0, 255, 127]),
    ("steelblue", [70, 130, 180]),
    ("tan", [210, 180, 140]),
    ("teal", [0, 128, 128]),
    ("thistle", [216, 191, 216]),
    ("tomato", [255, 99, 71]),
    ("turquoise", [64, 224, 208]),
    ("violet", [238, 130, 238]),
    ("wheat", [245, 222, 179]),
    ("white", [255, 255, 255]),
    ("whitesmoke", [245, 245, 245]),
    ("yellow", [255, 255, 0]),
    ("yellowgreen", [154, 205, 50]),
];

/// The RGB colour a word names, case-insensitively; spaces and hyphens inside a name are
/// ignored ("hot pink" = "hotpink"). Makeup words win over CSS where both exist: in a makeup
/// prompt "plum" or "fuchsia" mean the lipstick shades, not CSS's pale plum and pure magenta.
/// `#rgb` and `#rrggbb` hex colours are understood too.
pub fn named(word: &str) -> Option<[f32; 3]> {
    let key: String = word.chars().filter(|c| !matches!(c, ' ' | '-' | '_')).flat_map(char::to_lowercase).collect();
    if let Some(hex) = key.strip_prefix('#') {
        return parse_hex(hex);
    }
    let plum = (key == "plum").then_some([120u8, 50, 90]);
    plum.or_else(|| MAKEUP.iter().chain(CSS.iter()).find(|(name, _)| *name == key).map(|(_, rgb)| *rgb))
        .map(|rgb| rgb.map(f32::from))
}

fn parse_hex(hex: &str) -> Option<[f32; 3]> {
    let digits: Vec<u8> = hex.chars().map(|c| c.to_digit(16).map(|d| d as u8)).collect::<Option<_>>()?;
    match digits[..] {
        [r, g, b] => Some([r, g, b].map(|d| f32::from(d * 17))),
        [r1, r2, g1, g2, b1, b2] => Some([r1 * 16 + r2, g1 * 16 + g2, b1 * 16 + b2].map(f32::from)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve() {
        assert_eq!(named("crimson"), Some([220.0, 20.0, 60.0]));
        assert_eq!(named("Hot Pink"), Some([255.0, 105.0, 180.0]));
        assert_eq!(named("rebecca-purple"), Some([102.0, 51.0, 153.0]));
        assert_eq!(named("berry"), Some([142.0, 38.0, 78.0]));
        assert_eq!(named("#f00"), Some([255.0, 0.0, 0.0]));
        assert_eq!(named("#80a0ff"), Some([128.0, 160.0, 255.0]));
        assert_eq!(named("plum").map(|c| c[0] < 200.0), Some(true), "makeup plum, not CSS's pale one");
        assert!(named("lipstick").is_none() && named("#12").is_none());
        // Makeup's brown, gold and red, not CSS's brick red, pure yellow and display primary.
        assert!(named("red").unwrap()[0] < 220.0 && named("red").unwrap()[2] > 20.0);
        let [r, g, b] = named("brown").unwrap();
        assert!(r > g && g > b && r - g < 60.0, "{:?}", [r, g, b]);
        assert!(named("gold").unwrap()[2] > 40.0);
        assert_eq!(CSS.len(), 148);
        let mut names: Vec<&str> = CSS.iter().map(|(n, _)| *n).collect();
        names.dedup();
        assert_eq!(names.len(), 148, "sorted and unique");
    }
}
