//! Where makeup goes on one face, as fields over generator space computed once from the 468
//! landmarks: coordinates along and across anatomical lines (lash lines, brows, the
//! cheekbones, the jaw), distances to the lip outline, the two sides' mirrored frames, and the
//! bare-skin guard that keeps pigment off beards, hair, glasses, teeth and the eyes.
//!
//! The makeup model ([`crate::Cosmetics`]) evaluates its few shape parameters on these fields,
//! so a shape's position and width stay differentiable while its anatomy is fixed. Paired
//! places (the two cheeks, the two lids) are built from paired landmarks, each side from its
//! own, so that one parameter set lands symmetrically on a face turned a little.

use facecloak_face::regions::{BROWS_LOWER, BROWS_UPPER, EYES, LIPS_INNER, LIPS_OUTER, UPPER_LIDS};
use facecloak_face::{Image, Point, Region, Regions, blur};

use crate::lab;

/// facemesh landmarks named for what they are (MediaPipe's canonical mesh; image-left first
/// for pairs, as everywhere in facecloak).
pub(crate) mod mark {
    /// Top of the forehead on the midline.
    pub const FOREHEAD: usize = 10;
    /// Between the eyes.
    pub const BETWEEN_EYES: usize = 168;
    /// Tip of the nose.
    pub const NOSE_TIP: usize = 1;
    /// Bottom of the chin.
    pub const CHIN: usize = 152;
    /// Top of the upper lip, middle.
    pub const UPPER_LIP_TOP: usize = 0;
    /// Bottom of the lower lip, middle.
    pub const LOWER_LIP_BOTTOM: usize = 17;
    /// Upper lip's outline either side of the middle (the cupid's bow peaks).
    pub const CUPIDS_BOW: [usize; 2] = [37, 267];
    /// Outer eye corners.
    pub const EYE_OUTER: [usize; 2] = [33, 263];
    /// Inner eye corners.
    pub const EYE_INNER: [usize; 2] = [133, 362];
    /// Mouth corners.
    pub const MOUTH: [usize; 2] = [61, 291];
    /// Face oval at cheekbone height.
    pub const CHEEKBONE_EDGE: [usize; 2] = [234, 454];
    /// Face oval a little below the cheekbone, where the cheek hollows.
    pub const HOLLOW_EDGE: [usize; 2] = [93, 323];
    /// The jaw along the face oval, from below the ear to the chin's side.
    pub const JAW: [[usize; 5]; 2] = [[132, 58, 172, 136, 150], [361, 288, 397, 365, 379]];
    /// The temples along the face oval.
    pub const TEMPLE: [[usize; 2]; 2] = [[54, 162], [284, 389]];
    /// Cheek centres (where blush is centred).
    pub const CHEEK: [usize; 2] = [50, 280];
    /// Outer corners of the nostrils.
    pub const NOSTRIL: [usize; 2] = [98, 327];
}

/// Blur that separates a face's tone (what makeup changes) from its detail (what it keeps), in
/// generator pixels (the eyes are 64 apart).
pub(crate) const TONE_SIGMA: f32 = 2.0;

/// A field over the generator grid, row-major.
pub(crate) type Field = Vec<f32>;

/// Where a pixel lies relative to a polyline: `along` its length from the first point (past
/// the ends the end segments are extended), `across` it (signed, positive towards a chosen
/// side), and the fraction of the polyline's vertices passed (`fraction`, 0 at the first, 1 at
/// the last, beyond at the extensions), all in generator pixels.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Projection {
    pub along: f32,
    pub across: f32,
    pub fraction: f32,
    pub length: f32,
}

/// Projects `p` onto `line` (at least two points), `across` positive on the side of `towards`.
pub(crate) fn project(p: Point, line: &[Point], towards: Point) -> Projection {
    let lengths: Vec<f32> = line.windows(2).map(|s| (s[1].x - s[0].x).hypot(s[1].y - s[0].y).max(1e-4)).collect();
    let total: f32 = lengths.iter().sum();
    let last = lengths.len() - 1;
    let mut best = (f32::MAX, 0.0f32, 0.0f32, 0.0f32); // distance², along, across, fraction
    let mut start = 0.0;
    for (i, s) in line.windows(2).enumerate() {
        let (dx, dy) = ((s[1].x - s[0].x) / lengths[i], (s[1].y - s[0].y) / lengths[i]);
        let t = (p.x - s[0].x) * dx + (p.y - s[0].y) * dy;
        // End segments extend the line; inner ones are clipped to themselves.
        let lo = if i == 0 { f32::MIN } else { 0.0 };
        let hi = if i == last { f32::MAX } else { lengths[i] };
        let t = t.clamp(lo, hi);
        let (qx, qy) = (s[0].x + t * dx, s[0].y + t * dy);
        let d2 = (p.x - qx).powi(2) + (p.y - qy).powi(2);
        if d2 < best.0 {
            let cross = dx * (p.y - s[0].y) - dy * (p.x - s[0].x);
            let side = dx * (towards.y - s[0].y) - dy * (towards.x - s[0].x);
            let across = d2.sqrt() * if (cross >= 0.0) == (side >= 0.0) { 1.0 } else { -1.0 };
            best = (d2, start + t, across, (i as f32 + t / lengths[i]) / lengths.len() as f32);
        }
        start += lengths[i];
    }
    Projection { along: best.1, across: best.2, fraction: best.3, length: total }
}

/// `a + t (b − a)`.
pub(crate) fn lerp(a: Point, b: Point, t: f32) -> Point {
    Point::new(a.x + t * (b.x - a.x), a.y + t * (b.y - a.y))
}

/// The point at `t` (0–1) along `line`, by vertex index.
pub(crate) fn along(line: &[Point], t: f32) -> Point {
    let s = t.clamp(0.0, 1.0) * (line.len() - 1) as f32;
    let i = (s.floor() as usize).min(line.len() - 2);
    lerp(line[i], line[i + 1], s - i as f32)
}

/// 1 at pixel centres inside `polygon` (even-odd), else 0; and the signed distance to its
/// outline (negative inside), in pixels, up to `reach` beyond the polygon's box.
pub(crate) fn signed_distance(polygon: &[Point], size: usize, reach: f32) -> Field {
    let (x0, x1) = polygon.iter().fold((f32::MAX, f32::MIN), |(lo, hi), p| (lo.min(p.x), hi.max(p.x)));
    let (y0, y1) = polygon.iter().fold((f32::MAX, f32::MIN), |(lo, hi), p| (lo.min(p.y), hi.max(p.y)));
    let mut field = vec![reach; size * size];
    let clip = |v: f32| v.clamp(0.0, size as f32 - 1.0) as usize;
    for y in clip(y0 - reach)..=clip(y1 + reach) {
        for x in clip(x0 - reach)..=clip(x1 + reach) {
            let p = Point::new(x as f32, y as f32);
            let mut inside = false;
            let mut best = f32::MAX;
            for (i, a) in polygon.iter().enumerate() {
                let b = polygon[(i + 1) % polygon.len()];
                if (a.y <= p.y) != (b.y <= p.y) && p.x < a.x + (p.y - a.y) / (b.y - a.y) * (b.x - a.x) {
                    inside = !inside;
                }
                best = best.min(segment_distance(p, *a, b));
            }
            field[y * size + x] = if inside { -best } else { best.min(reach) };
        }
    }
    field
}

fn segment_distance(p: Point, a: Point, b: Point) -> f32 {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 { (((p.x - a.x) * dx + (p.y - a.y) * dy) / len2).clamp(0.0, 1.0) } else { 0.0 };
    (p.x - a.x - t * dx).hypot(p.y - a.y - t * dy)
}

/// Logistic step, for soft edges of the fixed fields.
pub(crate) fn step(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// The face's geometry in generator space, and the pixel statistics the makeup needs.
pub(crate) struct Anatomy<'a> {
    pub size: usize,
    pub landmarks: &'a [Point],
    /// Eye distance in pixels: every width is a fraction of it.
    pub eye_distance: f32,
    /// Unit vector from chin to forehead.
    pub up: Point,
    /// Unit vector towards the image's right, across the face.
    pub right: Point,
    /// Per pixel: 0 for the image-left half of the face, 1 for the other (split at the
    /// midline through the point between the eyes).
    pub side: Vec<u8>,
    /// The eyes, grown by a pixel and a half: shadow and skin products keep off them.
    pub eyes: Field,
    /// The eyes themselves (their contour, softened by a quarter pixel): liner and mascara
    /// hug the lash line up to here, and nothing is ever drawn inside.
    pub eye_core: Field,
    /// Per side, how wide that half of the face looks (midline to the face's edge at the
    /// cheekbones) over the mean of both: below 1 on the far side of a turned face.
    pub half_width: [f32; 2],
    /// The face's tone (blurred by [`TONE_SIGMA`]: what makeup changes) in CIELAB, per pixel.
    pub tone_lab: Vec<[f32; 3]>,
    /// Bare skin: 1 where the tone is the face's own skin and smooth, falling to 0 on
    /// beards, stubble, hair, glasses frames and nostrils; times the skin mask.
    pub bare_skin: Field,
}

impl<'a> Anatomy<'a> {
    pub fn new(face: &Image, landmarks: &'a [Point], regions: &'a Regions) -> Anatomy<'a> {
        let size = regions.size();
        let tone = face.blurred(TONE_SIGMA);
        let tone_lab: Vec<[f32; 3]> = tone.data.chunks_exact(3).map(|p| lab::srgb_to_lab([p[0], p[1], p[2]])).collect();
        let at = |i: usize| landmarks[i];
        let eye_centre = |k: usize| lerp(at(mark::EYE_OUTER[k]), at(mark::EYE_INNER[k]), 0.5);
        let eye_distance = {
            let (l, r) = (eye_centre(0), eye_centre(1));
            (r.x - l.x).hypot(r.y - l.y).max(1.0)
        };
        let (top, chin) = (at(mark::FOREHEAD), at(mark::CHIN));
        let n = (top.x - chin.x).hypot(top.y - chin.y).max(1e-3);
        let up = Point::new((top.x - chin.x) / n, (top.y - chin.y) / n);
        let right = Point::new(-up.y, up.x);
        let mid = at(mark::BETWEEN_EYES);
        let side = (0..size * size)
            .map(|i| {
                let (x, y) = ((i % size) as f32, (i / size) as f32);
                u8::from((x - mid.x) * right.x + (y - mid.y) * right.y >= 0.0)
            })
            .collect();
        let (mut eyes, mut eye_core) = (vec![0.0; size * size], vec![0.0; size * size]);
        for eye in EYES {
            let polygon: Vec<Point> = eye.iter().map(|&i| at(i)).collect();
            for (i, d) in signed_distance(&polygon, size, 8.0).into_iter().enumerate() {
                eyes[i] = f32::max(eyes[i], 1.0 - step((d - 1.5) / 0.5));
                eye_core[i] = f32::max(eye_core[i], 1.0 - step(d / 0.25));
            }
        }
        let half_width = {
            let reach = |k: usize| {
                let e = at(mark::CHEEKBONE_EDGE[k]);
                ((e.x - mid.x) * right.x + (e.y - mid.y) * right.y).abs().max(1.0)
            };
            let (l, r) = (reach(0), reach(1));
            [2.0 * l / (l + r), 2.0 * r / (l + r)]
        };
        let bare_skin = mirrored_min(&bare_skin(face, &tone, &tone_lab, regions), size, mid, up, right, half_width);
        Anatomy { size, landmarks, eye_distance, up, right, side, eyes, eye_core, half_width, tone_lab, bare_skin }
    }

    pub fn at(&self, i: usize) -> Point {
        self.landmarks[i]
    }

    pub fn points(&self, ids: &[usize]) -> Vec<Point> {
        ids.iter().map(|&i| self.landmarks[i]).collect()
    }

    /// The outer lip polygon's signed distance (negative inside), pixels.
    pub fn lip_distance(&self) -> Field {
        signed_distance(&self.points(&LIPS_OUTER), self.size, 3.0 * self.eye_distance)
    }

    /// The mouth opening (inside the inner lip contour), softened by half a pixel.
    pub fn mouth(&self) -> Field {
        signed_distance(&self.points(&LIPS_INNER), self.size, 8.0).into_iter().map(|d| 1.0 - step(d / 0.4)).collect()
    }

    /// Upper lid line of eye `k`, outer corner to inner corner.
    pub fn lid(&self, k: usize) -> Vec<Point> {
        self.points(&UPPER_LIDS[k])
    }

    /// Lower brow edge of side `k`, outer end to inner end.
    pub fn brow_lower(&self, k: usize) -> Vec<Point> {
        self.points(&BROWS_LOWER[k])
    }

    /// Upper brow edge of side `k`, outer end to inner end.
    pub fn brow_upper(&self, k: usize) -> Vec<Point> {
        self.points(&BROWS_UPPER[k])
    }
}

/// Largest colour distance at which a pixel still counts fully as the face's skin, and the
/// falloff beyond. The distance weighs hue (CIE ΔH\*) fully, chroma by a half and lightness by
/// an eighth: light and shadow change lightness and chroma, so the shadowed cheek of a face lit
/// from one side and its washed-out lit cheek both stay skin (and get the same makeup), while
/// hair, stubble and glasses frames, which are also coarse, fall to the detail test below.
const SKIN_COLOUR_TOLERANCE: (f32, f32) = (8.0, 4.0);
/// Local detail (standard deviation of the face minus its tone, 0–255) that skin keeps at
/// most — pores, fine lines, JPEG noise — and the falloff beyond; hair and stubble are coarser.
const SKIN_DETAIL_TOLERANCE: (f32, f32) = (5.0, 3.0);

/// The bare-skin guard: the skin mask times how much each pixel looks like this face's own
/// skin (its colour near the median of the cheeks, its detail as fine as skin's).
fn bare_skin(face: &Image, tone: &Image, lab: &[[f32; 3]], regions: &Regions) -> Field {
    let n = regions.size() * regions.size();
    let cheeks: Vec<usize> = (0..n)
        .filter(|&i| regions.mask(Region::CheekLeft)[i].max(regions.mask(Region::CheekRight)[i]) > 0.5)
        .filter(|&i| regions.mask(Region::Skin)[i] > 0.5)
        .collect();
    let reference = median_lab(lab, &cheeks);
    let luma = |data: &[f32], i: usize| 0.299 * data[i * 3] + 0.587 * data[i * 3 + 1] + 0.114 * data[i * 3 + 2];
    let detail: Vec<f32> = (0..n).map(|i| (luma(&face.data, i) - luma(&tone.data, i)).powi(2)).collect();
    let side = regions.size();
    let energy = blur::gaussian(&detail, side, side, 1, 2.0, blur::Border::Replicate);
    let falloff = |excess: f32, (at, width): (f32, f32)| {
        let over = (excess - at).max(0.0);
        (-(over * over) / (2.0 * width * width)).exp()
    };
    let likeness: Vec<f32> = (0..n)
        .map(|i| {
            let d = skin_distance(lab[i], reference);
            falloff(d, SKIN_COLOUR_TOLERANCE) * falloff(energy[i].sqrt(), SKIN_DETAIL_TOLERANCE)
        })
        .collect();
    // Decided (what is mostly skin is skin: both cheeks of a side-lit face get the same
    // makeup), then smoothed, so that the guard never writes the texture of stubble into it.
    let decided: Vec<f32> = likeness.iter().map(|g| ((g - 0.25) / 0.5).clamp(0.0, 1.0)).collect();
    let likeness = blur::gaussian(&decided, side, side, 1, 1.5, blur::Border::Replicate);
    likeness.iter().zip(regions.mask(Region::Skin)).map(|(g, m)| g * m).collect()
}

/// The guard made symmetric: each pixel keeps the smaller of its own value and its mirror
/// image's across the face's midline (the far half compressed by its [`Anatomy::half_width`]),
/// so both sides get makeup where both show skin — one cheek in the shadow of stubble or
/// under hair does not leave the other with makeup alone in the same place.
fn mirrored_min(guard: &[f32], size: usize, mid: Point, up: Point, right: Point, half_width: [f32; 2]) -> Field {
    let sample = |x: f32, y: f32| {
        if x < 0.0 || y < 0.0 || x > (size - 1) as f32 || y > (size - 1) as f32 {
            return 0.0;
        }
        let (x0, y0) = (x.floor() as usize, y.floor() as usize);
        let (x1, y1) = ((x0 + 1).min(size - 1), (y0 + 1).min(size - 1));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let at = |x: usize, y: usize| guard[y * size + x];
        (1.0 - fy) * ((1.0 - fx) * at(x0, y0) + fx * at(x1, y0)) + fy * ((1.0 - fx) * at(x0, y1) + fx * at(x1, y1))
    };
    (0..size * size)
        .map(|i| {
            let (dx, dy) = ((i % size) as f32 - mid.x, (i / size) as f32 - mid.y);
            let (u, v) = (dx * right.x + dy * right.y, dx * up.x + dy * up.y);
            let (this, other) = if u >= 0.0 { (half_width[1], half_width[0]) } else { (half_width[0], half_width[1]) };
            let m = -u * other / this;
            let mirror = sample(mid.x + m * right.x + v * up.x, mid.y + m * right.y + v * up.y);
            guard[i].min(mirror)
        })
        .collect()
}

/// The colour distance of [`SKIN_COLOUR_TOLERANCE`] between a pixel and the face's skin.
fn skin_distance([l, a, b]: [f32; 3], [lr, ar, br]: [f32; 3]) -> f32 {
    let (c, cr) = (a.hypot(b), ar.hypot(br));
    let hue = b.atan2(a) - br.atan2(ar);
    let delta_h = 2.0 * (c * cr).sqrt() * (hue / 2.0).sin();
    (((l - lr) / 8.0).powi(2) + ((c - cr) / 2.0).powi(2) + delta_h * delta_h).sqrt()
}

/// Per-channel median of `lab` over `pixels` (mid skin if there are none).
pub(crate) fn median_lab(lab: &[[f32; 3]], pixels: &[usize]) -> [f32; 3] {
    if pixels.is_empty() {
        return [65.0, 15.0, 18.0];
    }
    [0, 1, 2].map(|c| {
        let mut v: Vec<f32> = pixels.iter().map(|&i| lab[i][c]).collect();
        v.sort_by(f32::total_cmp);
        v[v.len() / 2]
    })
}
