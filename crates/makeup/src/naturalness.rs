//! Does it look like makeup? Measures of a made-up face against the same face before, in
//! generator space, from the face's own landmarks — what a person would notice first:
//!
//! - **symmetry**: the two cheeks, and the two eyelids, should change alike. The CIELAB
//!   distance (ΔE\*ab) between the mean change of the left and of the right one; the larger of
//!   the two pairs. Cheeks count where they are bare skin on both sides in the original (the
//!   makeup model's own definition, mirrored across the midline: hair, a beard or the face's
//!   own edge may hide part of one), and not at all when either shows less than a quarter of
//!   its area as bare skin.
//! - **bare-skin hue shift**: forehead, nose bridge and chin may get lighter or darker, never
//!   another hue: the mean per-pixel |Δa\*b\*| there.
//! - **spill**: pigment just outside where it belongs — the chromatic change (|Δa\*b\*|) in a
//!   band outside the lip outline (from 0.08 to 0.3 eye distances away, past what paste-back and
//!   resampling smear on small faces) over the change on
//!   the lips; and any change inside the eyes over the change on the eyelids. Lightness-only
//!   contour and highlight next to the lips are makeup, not spill, hence chroma alone there.
//!   Foundation's warmth, which changes all bare skin alike, is taken off the band's change
//!   first (the bare-skin hue shift below). Lips whose chroma changed by under 2 ΔE wore no
//!   lipstick to spill (and whatever changed below them shows as bare-skin hue); eyelids that
//!   barely changed count as 2 ΔE, so that nothing divides by zero.
//! - **fine-scale colour energy**: the root mean square of the change's chroma minus its own
//!   blur (σ = 3 px) over the face: mottling, blotches, grid texture.
//! - **mean change** over the face, ΔE\*ab, for scale.
//!
//! Colour fidelity, the CIEDE2000 of each pigment to the colour asked for, comes from the
//! generator's [`crate::Look`].

use facecloak_face::regions::{EYES, LIPS_OUTER};
use facecloak_face::{Image, Point, Region, Regions, blur};

use crate::anatomy::{lerp, mark, signed_distance};
use crate::lab::srgb_to_lab;

/// The measures of one made-up face.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct Naturalness {
    /// ΔE\*ab between the left and right mean change (worse of cheeks and eyelids).
    pub symmetry: f32,
    /// The same for the cheeks alone.
    pub symmetry_cheeks: f32,
    /// The same for the eyelids alone.
    pub symmetry_eyelids: f32,
    /// The worse pair's mismatch relative to its larger mean change (at least 2 ΔE): how
    /// unlike the two sides changed, whatever the strength.
    pub asymmetry: f32,
    /// Mean |Δa\*b\*| on the forehead, nose bridge and chin.
    pub bare_skin_hue: f32,
    /// Chromatic change just outside the lips ÷ change on the lips.
    pub lip_spill: f32,
    /// Change inside the eyes ÷ change on the eyelids.
    pub eye_spill: f32,
    /// RMS of the change's fine-scale chroma, ΔE units.
    pub fine_energy: f32,
    /// Mean ΔE\*ab over the face.
    pub mean_change: f32,
}

/// The limits of a natural look. Strength moves colours further within
/// [`crate::Bounds::colour`] and light deeper, not asymmetry or spill; at high, foundation's
/// warmer range and deeper light took the bare-skin hue shift to 1.2 on 2 of 24 protected faces
/// (`facecloak eval --leave-one-out --strength high`), so these limits are stated for low and
/// medium.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct Limits {
    /// Most [`Naturalness::symmetry`].
    pub symmetry: f32,
    /// Most [`Naturalness::bare_skin_hue`].
    pub bare_skin_hue: f32,
    /// Most spill, either kind.
    pub spill: f32,
}

/// The limits, as the issue "Makeup a person would wear" states them; plain painted makeup
/// (one colour per region, symmetric, soft edges) measured 1.6 / 0.5 / 0.07.
pub const LIMITS: Limits = Limits { symmetry: 2.0, bare_skin_hue: 1.0, spill: 0.10 };

impl Naturalness {
    /// The limits this face breaks, in words (empty: none).
    pub fn breaks(&self, limits: &Limits) -> Vec<String> {
        let mut broken = Vec::new();
        if self.symmetry > limits.symmetry {
            broken.push(format!("left/right mismatch {:.2} ΔE > {}", self.symmetry, limits.symmetry));
        }
        if self.bare_skin_hue > limits.bare_skin_hue {
            broken.push(format!("bare-skin hue shift {:.2} > {}", self.bare_skin_hue, limits.bare_skin_hue));
        }
        if self.lip_spill > limits.spill {
            broken.push(format!("lip spill {:.0} % > {:.0} %", self.lip_spill * 100.0, limits.spill * 100.0));
        }
        if self.eye_spill > limits.spill {
            broken.push(format!("spill into the eyes {:.0} % > {:.0} %", self.eye_spill * 100.0, limits.spill * 100.0));
        }
        broken
    }
}

/// The distance between the eye centres, pixels.
fn eye_distance_of(landmarks: &[Point]) -> f32 {
    let (l, r) = (lerp(landmarks[33], landmarks[133], 0.5), lerp(landmarks[263], landmarks[362], 0.5));
    (r.x - l.x).hypot(r.y - l.y).max(1.0)
}

/// A region's change below this (ΔE) counts as this much when spill is divided by it.
const SMALLEST_CHANGE: f32 = 2.0;

/// Measures `after` against `before`: both the same face in generator space (the crops of
/// `facecloak_face::Framed`), `landmarks` and `regions` its own there. `None` if the images or
/// the landmarks do not fit the regions.
pub fn measure(before: &Image, after: &Image, landmarks: &[Point], regions: &Regions) -> Option<Naturalness> {
    let size = regions.size();
    let n = size * size;
    if before.width != size || before.height != size || after.width != size || after.height != size {
        return None;
    }
    if !facecloak_face::mesh::is_whole(landmarks) {
        return None;
    }
    let lab = |image: &Image| -> Vec<[f32; 3]> {
        (0..n).map(|i| srgb_to_lab([0, 1, 2].map(|c| image.data[i * 3 + c]))).collect()
    };
    let (b, a) = (lab(before), lab(after));
    let change: Vec<[f32; 3]> = (0..n).map(|i| [0, 1, 2].map(|c| a[i][c] - b[i][c])).collect();
    let delta_e: Vec<f32> = change.iter().map(|d| (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt()).collect();
    let chroma: Vec<f32> = change.iter().map(|d| d[1].hypot(d[2])).collect();
    let pick = |keep: &dyn Fn(usize) -> bool| -> Vec<usize> { (0..n).filter(|&i| keep(i)).collect() };
    let mean_of = |values: &[f32], pixels: &[usize]| {
        if pixels.is_empty() { 0.0 } else { pixels.iter().map(|&i| values[i]).sum::<f32>() / pixels.len() as f32 }
    };
    let mean_change = |pixels: &[usize]| {
        let m = pixels.len().max(1) as f32;
        [0, 1, 2].map(|c| pixels.iter().map(|&i| change[i][c]).sum::<f32>() / m)
    };

    // Distance from the nearer eye's outline (negative inside), pixels.
    let eye_distance_field: Vec<f32> = {
        let mut field = vec![f32::MAX; n];
        for eye in EYES {
            let polygon: Vec<Point> = eye.iter().map(|&i| landmarks[i]).collect();
            for (i, dist) in signed_distance(&polygon, size, 16.0).into_iter().enumerate() {
                field[i] = field[i].min(dist);
            }
        }
        field
    };
    // Cheeks where they are bare skin on both sides of the original (the makeup model's own
    // definition, mirrored): a turned face's far cheek ellipse reaches past its edge, hair or a
    // beard may cover one cheek, and makeup goes on neither.
    let bare_skin = crate::anatomy::Anatomy::new(before, landmarks, regions).bare_skin;
    let core = |r: Region| {
        let skin = matches!(r, Region::CheekLeft | Region::CheekRight);
        pick(&|i| regions.mask(r)[i] > 0.5 && (!skin || bare_skin[i] > 0.5))
    };
    // The mismatch of a pair, and its larger mean change.
    let mismatch = |left: Region, right: Region| {
        let (l, r) = (mean_change(&core(left)), mean_change(&core(right)));
        let size = |v: [f32; 3]| (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
        (((l[0] - r[0]).powi(2) + (l[1] - r[1]).powi(2) + (l[2] - r[2]).powi(2)).sqrt(), size(l).max(size(r)))
    };
    // A cheek that is mostly hidden (under hair, turned away, in deep shadow) cannot be
    // compared with the other: the pair then does not count.
    let visible = |r: Region| {
        let all = regions.mask(r).iter().filter(|m| **m > 0.5).count();
        core(r).len() * 4 >= all
    };
    let (symmetry_cheeks, cheeks_change) = if visible(Region::CheekLeft) && visible(Region::CheekRight) {
        mismatch(Region::CheekLeft, Region::CheekRight)
    } else {
        (0.0, 0.0)
    };
    let (symmetry_eyelids, lids_change) = mismatch(Region::EyelidLeft, Region::EyelidRight);
    let symmetry = symmetry_cheeks.max(symmetry_eyelids);
    let asymmetry =
        (symmetry_cheeks / cheeks_change.max(SMALLEST_CHANGE)).max(symmetry_eyelids / lids_change.max(SMALLEST_CHANGE));

    // Forehead, nose bridge and chin: ellipses in the face's own frame, on skin only.
    let at = |i: usize| landmarks[i];
    let eye_distance = eye_distance_of(landmarks);
    let (top, chin) = (at(mark::FOREHEAD), at(mark::CHIN));
    let len = (top.x - chin.x).hypot(top.y - chin.y).max(1e-3);
    let up = Point::new((top.x - chin.x) / len, (top.y - chin.y) / len);
    let right = Point::new(-up.y, up.x);
    let ellipse = |c: Point, across: f32, upwards: f32| {
        move |p: Point| {
            let (dx, dy) = (p.x - c.x, p.y - c.y);
            let (u, v) = ((dx * right.x + dy * right.y) / across, (dx * up.x + dy * up.y) / upwards);
            u * u + v * v <= 1.0
        }
    };
    let d = eye_distance;
    let zones = [
        ellipse(lerp(at(mark::BETWEEN_EYES), top, 0.55), 0.5 * d, 0.18 * d),
        ellipse(lerp(at(mark::BETWEEN_EYES), at(mark::NOSE_TIP), 0.35), 0.07 * d, 0.22 * d),
        ellipse(lerp(at(mark::LOWER_LIP_BOTTOM), chin, 0.55), 0.25 * d, 0.1 * d),
    ];
    let point = |i: usize| Point::new((i % size) as f32, (i / size) as f32);
    let bare = pick(&|i| regions.mask(Region::Skin)[i] > 0.5 && zones.iter().any(|z| z(point(i))));
    let bare_skin_hue = mean_of(&chroma, &bare);

    // Spill outside the lips: a band beyond the outline, on skin, off the blush.
    let lip_outline: Vec<Point> = LIPS_OUTER.iter().map(|&i| at(i)).collect();
    let lip_distance = signed_distance(&lip_outline, size, 0.5 * d);
    let band = pick(&|i| {
        let dist = lip_distance[i];
        dist >= 0.08 * d
            && dist <= 0.3 * d
            && regions.mask(Region::Skin)[i] > 0.3
            && regions.mask(Region::CheekLeft)[i].max(regions.mask(Region::CheekRight)[i]) < 0.1
    });
    let lips = pick(&|i| regions.mask(Region::Lips)[i] > 0.6);
    // Foundation's warmth changes all bare skin alike: spill is what the band changes beyond that.
    // Lips that barely changed wore no lipstick to spill.
    let lips_change = mean_of(&chroma, &lips);
    let lip_spill = if lips_change < SMALLEST_CHANGE {
        0.0
    } else {
        (mean_of(&chroma, &band) - bare_skin_hue).max(0.0) / lips_change
    };

    // Inside the eyes (a pixel in from their outline), against the eyelids.
    let inside_eyes = pick(&|i| eye_distance_field[i] < -1.0);
    let lids = pick(&|i| regions.mask(Region::EyelidLeft)[i].max(regions.mask(Region::EyelidRight)[i]) > 0.5);
    let eye_spill = mean_of(&delta_e, &inside_eyes) / mean_of(&delta_e, &lids).max(SMALLEST_CHANGE);

    // Fine-scale chroma over the face.
    let face = pick(&|i| regions.face()[i] > 0.5);
    let channel = |c: usize| change.iter().map(|d| d[c]).collect::<Vec<f32>>();
    let (da, db) = (channel(1), channel(2));
    let (sa, sb) = (
        blur::gaussian(&da, size, size, 1, 3.0, blur::Border::Replicate),
        blur::gaussian(&db, size, size, 1, 3.0, blur::Border::Replicate),
    );
    let fine: Vec<f32> = (0..n).map(|i| (da[i] - sa[i]).powi(2) + (db[i] - sb[i]).powi(2)).collect();
    let fine_energy = mean_of(&fine, &face).sqrt();

    Some(Naturalness {
        symmetry,
        symmetry_cheeks,
        symmetry_eyelids,
        asymmetry,
        bare_skin_hue,
        lip_spill,
        eye_spill,
        fine_energy,
        mean_change: mean_of(&delta_e, &face),
    })
}
