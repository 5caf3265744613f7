//! `facecloak eval`'s self-contained HTML report: PSR bars, similarity histograms before and
//! after, the naturalness table and before/after face crops, with inline SVG and the pictures
//! as data URLs, so the one file can be mailed or archived.

use std::fmt::Write as _;

use base64::Engine as _;
use facecloak_face::Image;

use facecloak_protect::{Goal, RECOGNIZERS, thresholds};

use super::summary::Summary;
use crate::psr::Pair;

/// A PNG data URL of `image` at its own size (the 256 px face crops).
pub fn data_url(image: &Image) -> String {
    let png = image.encode_png().unwrap_or_default();
    format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The report of `summary` (results.json), its pairs and its face crops (before, after, name).
pub fn report(summary: &Summary, rows: &[Pair], thumbnails: &[(String, String, String)]) -> String {
    let mut page = String::from(
        "<!doctype html><meta charset=utf-8><title>facecloak evaluation</title><style>body{font:14px system-ui;margin:2em;max-width:1100px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}figure{display:inline-block;margin:6px}img{display:block}</style>",
    );
    let _ = write!(page, "<h1>facecloak: transfer evaluation</h1><p>{}</p>", escape(&summary.protocol));
    let _ = write!(
        page,
        "<p>Photos: {} · mean SSIM {:.4} · mean PSNR {:.1} dB</p>",
        summary.photos, summary.ssim_mean, summary.psnr_mean_db
    );
    // PSR bars: one group per recognizer, one bar per condition and FAR.
    let psr = &summary.psr;
    let (bar_w, gap, height) = (22.0, 14.0, 200.0);
    let width = psr.len() as f64 * (2.0 * bar_w + gap) + 60.0;
    let _ = write!(
        page,
        "<h2>Protection success rate</h2><svg width='{width}' height='{}' role=img aria-label='PSR bars'>",
        height + 90.0
    );
    for (i, t) in psr.iter().enumerate() {
        let x = 40.0 + i as f64 * (2.0 * bar_w + gap);
        for (j, (far, value, colour)) in
            [("FAR 1 %", t.psr_far_1, "#c2185b"), ("FAR 0.1 %", t.psr_far_01, "#7b1fa2")].into_iter().enumerate()
        {
            let v = value.unwrap_or(0.0);
            let _ = write!(
                page,
                "<rect x='{}' y='{}' width='{bar_w}' height='{}' fill='{colour}'><title>{} {} {}: {:.1} %</title></rect>",
                x + j as f64 * bar_w,
                10.0 + height * (1.0 - v),
                height * v,
                t.recognizer,
                t.condition,
                far,
                v * 100.0
            );
        }
        let _ = write!(
            page,
            "<text x='{}' y='{}' font-size='10' transform='rotate(40 {} {})'>{} · {}{}</text>",
            x,
            height + 24.0,
            x,
            height + 24.0,
            t.recognizer,
            t.condition,
            if t.goal == Goal::Impersonate { " · impersonation" } else { "" }
        );
    }
    let _ = write!(
        page,
        "<line x1='38' x2='{width}' y1='{}' y2='{}' stroke='#333'/><text x='0' y='14' font-size='10'>100 %</text><text x='0' y='{}' font-size='10'>0 %</text></svg><p><span style='color:#c2185b'>■</span> FAR 1 % <span style='color:#7b1fa2'>■</span> FAR 0.1 %</p>",
        height + 10.0,
        height + 10.0,
        height + 10.0
    );
    // Histograms of similarity before/after, per recognizer, as written.
    page.push_str("<h2>Similarity to the person's other photos, before and after</h2>");
    for name in RECOGNIZERS.map(|r| r.name) {
        let selected: Vec<&Pair> =
            rows.iter().filter(|r| r.recognizer == name && r.condition == "as written").collect();
        if selected.is_empty() {
            continue;
        }
        let bins = 24;
        let count = |values: Vec<f32>| {
            let mut h = vec![0usize; bins];
            for v in values.into_iter().filter(|v| v.is_finite()) {
                h[(((v + 0.2) / 1.2 * bins as f32).floor().clamp(0.0, bins as f32 - 1.0)) as usize] += 1;
            }
            h
        };
        let before = count(selected.iter().map(|r| r.before).collect());
        let after = count(selected.iter().filter_map(|r| r.after).collect());
        let top = before.iter().chain(&after).copied().max().unwrap_or(1).max(1) as f64;
        let _ = write!(
            page,
            "<figure><figcaption>{name} (threshold FAR 1 %: {:.3})</figcaption><svg width='300' height='130'>",
            thresholds::far_1(name).unwrap_or(0.0)
        );
        for (b, (nb, na)) in before.iter().zip(&after).enumerate() {
            let x = 10.0 + b as f64 * 11.5;
            let _ = write!(
                page,
                "<rect x='{x}' y='{}' width='5' height='{}' fill='#90a4ae'/><rect x='{}' y='{}' width='5' height='{}' fill='#c2185b'/>",
                110.0 - 100.0 * *nb as f64 / top,
                100.0 * *nb as f64 / top,
                x + 5.0,
                110.0 - 100.0 * *na as f64 / top,
                100.0 * *na as f64 / top
            );
        }
        let t = thresholds::far_1(name).unwrap_or(0.0) as f64;
        let tx = 10.0 + (t + 0.2) / 1.2 * bins as f64 * 11.5;
        let _ = write!(
            page,
            "<line x1='{tx}' x2='{tx}' y1='5' y2='112' stroke='#000' stroke-dasharray='3'/><text x='10' y='125' font-size='10'>−0.2</text><text x='270' y='125' font-size='10'>1.0</text></svg></figure>"
        );
    }
    page.push_str("<p><span style='color:#90a4ae'>■</span> original vs gallery <span style='color:#c2185b'>■</span> protected vs gallery; dashed: threshold at FAR 1 %</p>");
    // Naturalness: means, worst faces, limits.
    let natural = &summary.naturalness;
    let _ = write!(
        page,
        "<h2>Does it look like makeup? ({} faces)</h2><table><tr><th>measure</th><th>mean</th><th>worst</th><th>limit</th><th>faces over</th></tr>",
        natural.faces_measured
    );
    for m in &natural.measures {
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{:.3}</td><td>{:.3}</td><td>{}</td><td>{}</td></tr>",
            escape(m.name),
            m.mean,
            m.worst,
            m.limit.map_or("–".to_string(), |v| format!("{v:.3}")),
            m.over
        );
    }
    page.push_str("</table><h2>Before and after (the face in generator space, 256 px)</h2>");
    for (before, after, name) in thumbnails {
        let _ = write!(
            page,
            "<figure><div style='display:flex;gap:4px'><img src='{before}' width=256 height=256 alt='original'><img src='{after}' width=256 height=256 alt='protected'></div><figcaption>{}</figcaption></figure>",
            escape(name)
        );
    }
    page
}
