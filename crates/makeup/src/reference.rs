//! Makeup taken from another face: per region, the colour the reference face wears there.

use facecloak_face::{Image, Region, Regions};

use crate::{Target, Targets};

/// Mask weight above which a pixel counts as inside a region (the feathered edge mixes in
/// the colours around it).
const CORE: f32 = 0.5;

/// Per-region targets from a reference face: `face` is its generator-space crop and
/// `regions` its regions (`facecloak_face::Framed`). Each makeup region gets the mean colour
/// of the reference's core of that region at `intensity`; skin is left to each face's own
/// tone (foundation copied from another face's skin would recolour the person, not make
/// them up). Regions the reference does not show (an empty core) get no target.
pub fn from_reference(face: &Image, regions: &Regions, intensity: f32) -> Targets {
    let mut targets = Targets::default();
    let tone = face.blurred(1.0);
    for region in Region::ALL.into_iter().filter(|&r| r != Region::Skin) {
        let mut sum = [0f64; 3];
        let mut count = 0usize;
        for (i, &m) in regions.mask(region).iter().enumerate() {
            if m > CORE {
                for (total, value) in sum.iter_mut().zip(&tone.data[i * 3..i * 3 + 3]) {
                    *total += *value as f64;
                }
                count += 1;
            }
        }
        if count > 0 {
            let colour = sum.map(|s| (s / count as f64) as f32);
            targets.set(region, Target { colour: Some(colour), intensity });
        }
    }
    targets
}
