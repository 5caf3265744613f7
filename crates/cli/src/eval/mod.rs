//! `facecloak eval`: how well protection transfers to recognizers, measured honestly.
//!
//! Protocol. Each protected photo of person P is compared, by each recognizer, with every
//! *other* photo of P in the gallery (a labelled manifest, default `../shared/faces`). A pair
//! counts when the original photo matched that gallery photo (cosine above the recognizer's
//! threshold at the stated FAR); protection succeeds on the pair when the protected photo no
//! longer matches. PSR = successes ÷ counted pairs, at FAR 1 % and 0.1 % (thresholds from
//! `facecloak_protect::thresholds`, calibrated on the same gallery's different-person pairs).
//! Impersonation rows (with a target identity) count pairs with the target's photos instead,
//! success meaning a match. Robustness rows repeat the scoring after a JPEG round trip at
//! quality 75 and at quality 50 and after a 0.5× resize. SSIM and PSNR compare each protected
//! photo with its original.
//!
//! `--leave-one-out` makes the protected photos itself: for each model *family* of the default
//! surrogates (faceres and faceres-deep share one graph and are one family; every other
//! recognizer is one alone; recognizers that are not attacked score every fold), every colour photo
//! of the gallery is protected with the surrogates of the *other* families and scored by the
//! held-out family's recognizers, so no held-out model is attacked through its twin. With
//! `--mode impersonate` each person (with two or more photos) aims at the next such person by
//! name: the target's first photo gives the attack its embeddings and is never scored, the
//! target's other photos score it.
//!
//! Every protected photo is also measured for naturalness (`facecloak_makeup::naturalness`,
//! on the original's landmarks): symmetry, bare-skin hue shift, spill, fine-scale colour; the
//! report shows the means, the worst faces, and before/after face crops at 256 px.
//!
//! Writes `results.csv`, `results.json` and a self-contained `report.html` (PSR bars,
//! similarity histograms before/after, naturalness, before/after face crops).

use std::fmt::Write as _;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use burn::tensor::Device;
use facecloak_device::{Backend, CpuBackend};
use facecloak_face::{Detector, Face, Framed, Image, Landmarker, Mesh, find_faces};
use facecloak_makeup::naturalness;
use facecloak_protect::{
    DEFAULT_SURROGATES, Expert, Goal, Makeup, Mode, ProtectRequest, RECOGNIZERS, Recognizer, Strength, Surrogate,
    metrics, protect, thresholds,
};
use indicatif::{ProgressBar, ProgressStyle};

use crate::psr::{self, Pair};
use crate::{load_model, manifest, models_dir};

mod html;
mod scores;
mod summary;

use scores::{CONDITIONS, Exact, PairRecord, Quality, Scores};
use summary::{NaturalnessSummary, Summary};

#[derive(clap::Args)]
pub struct Args {
    /// CSV of `original,protected,identity[,target]` rows (paths relative to the CSV).
    #[arg(long, required_unless_present_any = ["leave_one_out", "merge"])]
    pairs: Option<PathBuf>,
    /// One report from the `scores.json` that earlier runs wrote into these directories (shards
    /// of one evaluation, e.g. one per Ray task or Slurm array job): pairs and photos joined,
    /// PSR counted over all of them — the report one run over every photo writes.
    #[arg(long, num_args = 1.., value_name = "DIR", conflicts_with_all = ["pairs", "leave_one_out"])]
    merge: Vec<PathBuf>,
    /// Protect the gallery's colour photos once per recognizer, holding that recognizer out of
    /// the attack, and score each with the held-out one.
    #[arg(long)]
    leave_one_out: bool,
    /// The labelled gallery (default: ../shared/faces/MANIFEST.csv beside the repository).
    #[arg(long)]
    gallery: Option<PathBuf>,
    /// Where results.csv, results.json and report.html go (and, with --leave-one-out, the
    /// protected photos).
    #[arg(short, long)]
    out: PathBuf,
    /// With --leave-one-out: at most this many photos.
    #[arg(long)]
    limit: Option<usize>,
    /// With --leave-one-out: the makeup prompt (default: the default look, the berry preset).
    #[arg(long)]
    makeup: Option<String>,
    /// With --leave-one-out: strength.
    #[arg(long, default_value = "medium", value_parser = crate::strength_parser())]
    strength: Strength,
    /// With --leave-one-out: most steps per face (default: the strength's).
    #[arg(long)]
    steps: Option<usize>,
    /// With --leave-one-out: dodge, or impersonate — each person's photos then aim at the next
    /// person of the gallery (by name, among people with at least two photos), whose first
    /// photo gives the target and whose other photos score it.
    #[arg(long, default_value = "dodge", value_parser = crate::goal_parser())]
    mode: Goal,
    /// With --leave-one-out: the surrogates the protections attack (each fold leaves out the
    /// held-out family); recognizers not among them score every fold.
    #[arg(long, value_delimiter = ',', default_values_t = DEFAULT_SURROGATES.map(str::to_string), help_heading = "Expert")]
    surrogates: Vec<String>,

    /// Directory with the face models.
    #[arg(long)]
    models: Option<PathBuf>,
}

/// One photo to score.
struct Case {
    original: PathBuf,
    protected: PathBuf,
    /// The protected photo as the report names it: as the pairs file writes it (relative to
    /// the file), so that where a run's outputs sit does not change its report.
    label: String,
    identity: String,
    target: Option<String>,
    /// A gallery photo never to score against: the one the attack aimed at.
    aimed_at: Option<PathBuf>,
    /// Which recognizers score it (all, or the held-out one).
    scorers: Vec<String>,
}

/// A gallery photo with each recognizer's embedding.
struct GalleryPhoto {
    path: PathBuf,
    /// `path` resolved ([`canonical`]): how a pairs file's original is recognised in the gallery.
    canonical: PathBuf,
    identity: String,
    embeddings: Embeddings,
}

/// Each loaded recognizer's embedding of one face, by the recognizer's name (never by position:
/// which recognizers are loaded, and in what order, is the models' business).
#[derive(Default)]
struct Embeddings(Vec<(String, Vec<f32>)>);

impl Embeddings {
    fn of(&self, recognizer: &str) -> Option<&[f32]> {
        self.0.iter().find(|(name, _)| name == recognizer).map(|(_, e)| e.as_slice())
    }
}

struct Models {
    detector: Detector,
    landmarker: Landmarker,
    recognizers: Vec<Surrogate>,
}

impl Models {
    fn largest(&self, image: &Image) -> anyhow::Result<Option<(Face, Mesh)>> {
        Ok(find_faces(&self.detector, &self.landmarker, image)?.into_largest())
    }

    /// Each recognizer's embedding of the largest face (None: no face found).
    fn embed(&self, image: &Image) -> anyhow::Result<Option<Embeddings>> {
        let Some((face, mesh)) = self.largest(image)? else { return Ok(None) };
        let each = self.recognizers.iter().map(|r| Ok((r.name().to_owned(), r.embed_face(image, &face, &mesh)?)));
        Ok(Some(Embeddings(each.collect::<anyhow::Result<_>>()?)))
    }
}

fn read(path: &Path) -> anyhow::Result<Image> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Image::decode(&bytes, Image::DEFAULT_MAX_PIXELS).with_context(|| path.display().to_string())
}

/// Whether a photo is grey (R = G = B everywhere): the face-api.js crops of the gallery are.
fn is_grey(image: &Image) -> bool {
    image.data.chunks_exact(3).all(|p| p[0] == p[1] && p[1] == p[2])
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if !args.merge.is_empty() {
        return merge(&args.merge, &args.out);
    }
    let dir = models_dir(args.models.clone());
    let device: Device = Backend::cpu(CpuBackend::Flex).device().clone();
    let models = Models {
        detector: Detector::new(load_model(&dir, "blazeface")?, &device)?,
        landmarker: crate::load_landmarker(&dir, &device)?,
        recognizers: RECOGNIZERS
            .iter()
            .map(|r| Ok(Surrogate::new(r.name, load_model(&dir, r.name)?, &device)?))
            .collect::<anyhow::Result<_>>()?,
    };
    let gallery_path = args.gallery.clone().unwrap_or_else(manifest::default_path);
    let labelled = manifest::read(&gallery_path)?;
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    // A pairs file needs only its people's (and targets') photos embedded: a shard of a large
    // dataset then embeds its own share of the gallery, not all of it.
    let pairs = match (&args.pairs, args.leave_one_out) {
        (Some(path), false) => Some(read_pairs(path)?),
        _ => None,
    };
    let needed = |identity: &str| {
        pairs
            .as_ref()
            .is_none_or(|cases| cases.iter().any(|c| c.identity == identity || c.target.as_deref() == Some(identity)))
    };
    let people = {
        let mut ids: Vec<&str> = labelled.iter().map(|g| g.identity.as_str()).collect();
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    };
    let bar = bar(labelled.len(), "embedding the gallery");
    let mut gallery = Vec::new();
    let mut colour = Vec::new();
    for photo in labelled.iter().filter(|p| needed(&p.identity)) {
        bar.inc(1);
        let image = read(&photo.path)?;
        let Some(embeddings) = models.embed(&image)? else { bail!("{}: no face found", photo.path.display()) };
        if !is_grey(&image) {
            colour.push(gallery.len());
        }
        gallery.push(GalleryPhoto {
            path: photo.path.clone(),
            canonical: canonical(&photo.path),
            identity: photo.identity.clone(),
            embeddings,
        });
    }
    bar.finish_and_clear();

    let cases = match pairs {
        Some(cases) => cases,
        None => protect_leave_one_out(&args, &dir, &models, &gallery, &colour)?,
    };
    let protocol = format!(
        "{} · gallery {} ({} photos, {} people) · thresholds at FAR 1 % and 0.1 % from {} · PSR = share of \
         same-person pairs (protected vs the person's other gallery photos) that matched before protection \
         and no longer match (impersonation: pairs with the target's photos that match after)",
        if args.leave_one_out {
            let never = never_attacked(&args.surrogates);
            format!(
                "leave-one-out by model family (faceres with faceres-deep; each other recognizer alone) over the \
                 attacked surrogates {}: each family scores only photos protected without any of its members{}",
                args.surrogates.join(", "),
                if never.is_empty() {
                    String::new()
                } else {
                    format!("; {}, never attacked, score every protected photo", never.join(", "))
                }
            ) + match args.mode {
                Goal::Dodge => "",
                Goal::Impersonate => {
                    "; impersonation: each person with two or more photos aims at the next such person by name, \
                     the target's first photo giving the attack's embedding and never scored"
                }
            }
        } else {
            "all recognizers score every photo".to_owned()
        },
        gallery_path.display(),
        labelled.len(),
        people,
        thresholds::PROVENANCE
    );
    write_report(&args.out, score(&models, &gallery, &cases, &protocol)?)
}

fn bar(len: usize, message: &str) -> ProgressBar {
    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        ProgressBar::new(len as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len}, ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(message.to_owned());
    bar
}

fn read_pairs(path: &Path) -> anyhow::Result<Vec<Case>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut cases = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() < 3 || (n == 0 && fields[0] == "original") || line.trim().is_empty() {
            continue;
        }
        cases.push(Case {
            original: dir.join(fields[0]),
            protected: dir.join(fields[1]),
            label: fields[1].to_owned(),
            identity: fields[2].to_owned(),
            target: fields.get(3).filter(|t| !t.is_empty()).map(|t| t.to_string()),
            aimed_at: None,
            scorers: RECOGNIZERS.iter().map(|r| r.name.to_owned()).collect(),
        });
    }
    if cases.is_empty() {
        bail!("{}: no rows of original,protected,identity[,target]", path.display());
    }
    Ok(cases)
}

fn protect_leave_one_out(
    args: &Args,
    dir: &Path,
    models: &Models,
    gallery: &[GalleryPhoto],
    colour: &[usize],
) -> anyhow::Result<Vec<Case>> {
    let autodiff = Backend::cpu(CpuBackend::Flex).device().clone().autodiff();
    let attackers: Vec<Surrogate> = args
        .surrogates
        .iter()
        .map(|name| Ok(Surrogate::new(name, load_model(dir, name)?, &autodiff)?))
        .collect::<anyhow::Result<_>>()?;
    let never_attacked = never_attacked(&args.surrogates);
    let request = ProtectRequest {
        makeup: args.makeup.clone().map_or_else(Makeup::default, Makeup::Prompt),
        strength: args.strength,
        expert: Expert { steps: args.steps, ..Expert::default() },
        ..ProtectRequest::default()
    };
    let makeup = request.makeup.resolve()?;
    if !makeup.report.not_understood.is_empty() {
        eprintln!("makeup: not understood: {}", makeup.report.not_understood.join(", "));
    }
    let targets = makeup.targets;
    let settings = request.settings()?;
    let photos: Vec<usize> = colour.iter().copied().take(args.limit.unwrap_or(usize::MAX)).collect();
    let aims = aims(gallery);
    let bar = bar(photos.len() * attackers.len(), "protecting (leave-one-out)");
    let mut cases = Vec::new();
    let mut csv = String::from("original,protected,identity,target,held_out\n");
    let mut families: Vec<&str> = attackers.iter().map(|s| Recognizer::family_of(s.name())).collect();
    families.dedup();
    for held_out in families {
        let surrogates: Vec<&Surrogate> =
            attackers.iter().filter(|s| Recognizer::family_of(s.name()) != held_out).collect();
        let scorers: Vec<String> = attackers
            .iter()
            .filter(|s| Recognizer::family_of(s.name()) == held_out)
            .map(|s| s.name().to_owned())
            .chain(never_attacked.iter().map(|n| n.to_string()))
            .collect();
        // Each target's embeddings by this fold's surrogates, made once per target.
        let mut aimed: std::collections::HashMap<PathBuf, Mode> = std::collections::HashMap::new();
        let folder = args.out.join(format!("without-{held_out}"));
        std::fs::create_dir_all(&folder)?;
        for &index in &photos {
            bar.inc(1);
            let photo = &gallery[index];
            let image = read(&photo.path)?;
            let Some(face) = models.largest(&image)? else { continue };
            let aim = match args.mode {
                Goal::Dodge => None,
                Goal::Impersonate => match aims.iter().find(|(who, _)| *who == photo.identity) {
                    Some((_, target)) => Some(*target),
                    None => continue, // a person with one photo has no one to aim at here
                },
            };
            let mode = match aim {
                None => Mode::Dodge,
                Some(target) => match aimed.get(&target.path) {
                    Some(mode) => mode.clone(),
                    None => {
                        let image = read(&target.path)?;
                        let (face, mesh) = models
                            .largest(&image)?
                            .with_context(|| format!("{}: no face found", target.path.display()))?;
                        let targets = surrogates
                            .iter()
                            .map(|s| s.embed_face(&image, &face, &mesh))
                            .collect::<Result<Vec<_>, _>>()?;
                        let mode = Mode::Impersonate { targets };
                        aimed.insert(target.path.clone(), mode.clone());
                        mode
                    }
                },
            };
            let done = protect(&image, &[face], &surrogates, &targets, &mode, &settings, &mut |_, _| {
                ControlFlow::Continue(())
            })?;
            let name = format!("{}.png", photo.path.file_stem().unwrap_or_default().to_string_lossy());
            let protected = folder.join(&name);
            std::fs::write(&protected, done.image.encode_png()?)?;
            let target = aim.map(|t| t.identity.clone());
            let _ = writeln!(
                csv,
                "{},{},{},{},{}",
                photo.path.display(),
                protected.display(),
                photo.identity,
                target.as_deref().unwrap_or(""),
                held_out
            );
            cases.push(Case {
                original: photo.path.clone(),
                label: protected.display().to_string(),
                protected,
                identity: photo.identity.clone(),
                target,
                aimed_at: aim.map(|t| t.path.clone()),
                scorers: scorers.clone(),
            });
        }
    }
    bar.finish_and_clear();
    std::fs::write(args.out.join("protected.csv"), csv)?;
    Ok(cases)
}

/// Impersonation's targets: each person (with at least two gallery photos) aims at the next
/// such person by name, at that person's first photo; their other photos score it.
fn aims(gallery: &[GalleryPhoto]) -> Vec<(String, &GalleryPhoto)> {
    let mut people: Vec<&str> = gallery.iter().map(|g| g.identity.as_str()).collect();
    people.sort_unstable();
    people.dedup();
    people.retain(|p| gallery.iter().filter(|g| g.identity == *p).count() >= 2);
    if people.len() < 2 {
        return Vec::new();
    }
    let first = |who: &str| gallery.iter().filter(|g| g.identity == who).min_by(|a, b| a.path.cmp(&b.path));
    (0..people.len()).filter_map(|k| Some((people[k].to_owned(), first(people[(k + 1) % people.len()])?))).collect()
}

/// The recognizers that none of the protections attacks: they judge every fold.
fn never_attacked(surrogates: &[String]) -> Vec<&'static str> {
    RECOGNIZERS.iter().map(|r| r.name).filter(|n| !surrogates.iter().any(|s| s == n)).collect()
}

fn score(models: &Models, gallery: &[GalleryPhoto], cases: &[Case], protocol: &str) -> anyhow::Result<Scores> {
    let mut scores = Scores { protocol: protocol.to_owned(), ..Scores::default() };
    let bar = bar(cases.len(), "scoring");
    for case in cases {
        bar.inc(1);
        let (original, protected) = (read(&case.original)?, read(&case.protected)?);
        if (original.width, original.height) != (protected.width, protected.height) {
            bail!("{} and {} differ in size", case.original.display(), case.protected.display());
        }
        let psnr = metrics::psnr(&original, &protected)?;
        scores.quality.push(Quality {
            protected: case.label.clone(),
            ssim: Exact(metrics::ssim(&original, &protected)?),
            psnr_db: psnr.is_finite().then_some(Exact(psnr)),
        });
        // Naturalness and the face crops, on the original's landmarks.
        if let Some(framed) = models.largest(&original)?.and_then(|(_, mesh)| Framed::new(&mesh)) {
            let (before, after) = (framed.crop(&original), framed.crop(&protected));
            if let Some(measured) = naturalness::measure(&before, &after, &framed.landmarks, &framed.regions) {
                scores.naturalness.push((case.label.clone(), measured));
            }
            scores.thumbnails.push((html::data_url(&before), html::data_url(&after), case.label.clone()));
            // Only the first few (in the canonical order) are shown.
            scores.thumbnails.sort_by(|a, b| a.2.cmp(&b.2));
            scores.thumbnails.truncate(scores::THUMBNAILS);
        }
        let jpeg = Image::decode(&protected.encode_jpeg(75)?, Image::DEFAULT_MAX_PIXELS)?;
        let jpeg_50 = Image::decode(&protected.encode_jpeg(50)?, Image::DEFAULT_MAX_PIXELS)?;
        let half = protected
            .warp(protected.width.div_ceil(2), protected.height.div_ceil(2), |x, y| (2.0 * x + 0.5, 2.0 * y + 0.5));
        let original_at = canonical(&case.original);
        let own = gallery.iter().find(|g| g.canonical == original_at);
        for (condition, image) in CONDITIONS.iter().zip([&protected, &jpeg, &jpeg_50, &half]) {
            let after = models.embed(image)?;
            let compare_with = case.target.as_deref().unwrap_or(&case.identity);
            for name in RECOGNIZERS.map(|r| r.name) {
                if !case.scorers.iter().any(|s| s == name) {
                    continue;
                }
                let scored = |g: &&GalleryPhoto| {
                    g.identity == compare_with && g.canonical != original_at && Some(&g.path) != case.aimed_at.as_ref()
                };
                for g in gallery.iter().filter(scored) {
                    let Some(theirs) = g.embeddings.of(name) else { continue };
                    let before = own
                        .and_then(|o| o.embeddings.of(name))
                        .map_or(f32::NAN, |o| facecloak_protect::cosine(o, theirs));
                    scores.pairs.push(PairRecord::of(&Pair {
                        protected: case.label.clone(),
                        recognizer: name,
                        condition,
                        gallery: g.path.display().to_string(),
                        goal: if case.target.is_some() { Goal::Impersonate } else { Goal::Dodge },
                        before,
                        after: after.as_ref().and_then(|e| e.of(name)).map(|e| facecloak_protect::cosine(e, theirs)),
                    }));
                }
            }
        }
    }
    bar.finish_and_clear();
    Ok(scores)
}

/// The path with every link and `..` resolved (as given when it cannot be): one photo is one
/// path however a manifest, a pairs file or a shard spells it.
fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
}

/// Writes and prints the report of `scores`: `scores.json`, `results.csv`, `results.json` and
/// `report.html` in `out`, all summarised from the scores in their canonical order.
fn write_report(out: &Path, scores: Scores) -> anyhow::Result<()> {
    let scores = scores.canonical();
    let rows = scores.pairs.iter().map(PairRecord::pair).collect::<anyhow::Result<Vec<Pair>>>()?;
    let protocol = scores.protocol.as_str();
    let recognizers: Vec<&'static str> = RECOGNIZERS.iter().map(|r| r.name).collect();
    let table = psr::table(&rows, &recognizers, &CONDITIONS, |name| {
        (thresholds::far_1(name).unwrap_or(1.0), thresholds::far_01(name).unwrap_or(1.0))
    });
    let hardest = psr::headlines(&table, "as written");
    let goals: Vec<&str> =
        Goal::ALL.into_iter().filter(|g| rows.iter().any(|r| r.goal == *g)).map(Goal::noun).collect();
    let photos = scores.quality.len();
    let ssim_mean = scores.quality.iter().map(|q| q.ssim.0).sum::<f64>() / photos.max(1) as f64;
    let psnr_mean = scores.quality.iter().filter_map(|q| q.psnr_db).map(|p| p.0).sum::<f64>() / photos.max(1) as f64;

    let mut csv =
        String::from("protected,recognizer,condition,gallery_photo,similarity_before,similarity_after,goal\n");
    for r in &rows {
        let after = r.after.map_or("no face found".to_string(), |a| format!("{a:.5}"));
        let _ = writeln!(
            csv,
            "{},{},{},{},{:.5},{after},{}",
            r.protected,
            r.recognizer,
            r.condition,
            r.gallery,
            r.before,
            r.goal.noun()
        );
    }
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    std::fs::write(out.join("results.csv"), csv)?;
    let summary = Summary {
        protocol: protocol.to_owned(),
        mode: goals.join(" and "),
        photos,
        psr: table,
        hardest,
        ssim_mean,
        psnr_mean_db: psnr_mean,
        naturalness: NaturalnessSummary::of(&scores.naturalness),
    };
    std::fs::write(out.join("results.json"), serde_json::to_string_pretty(&summary)?)?;
    std::fs::write(out.join("report.html"), html::report(&summary, &rows, &scores.thumbnails))?;
    std::fs::write(out.join("scores.json"), serde_json::to_string(&scores)?)?;

    println!("{protocol}");
    println!("| goal | recognizer | condition | PSR @ FAR 1 % (pairs) | PSR @ FAR 0.1 % (pairs) |");
    println!("|---|---|---|---|---|");
    let pct = |v: Option<f64>| v.map_or("–".to_string(), |p| format!("{:.1} %", p * 100.0));
    for t in &summary.psr {
        println!(
            "| {} | {} | {} | {} ({}) | {} ({}) |",
            t.goal.noun(),
            t.recognizer,
            t.condition,
            pct(t.psr_far_1),
            t.pairs_far_1,
            pct(t.psr_far_01),
            t.pairs_far_01
        );
    }
    for h in &summary.hardest {
        println!(
            "hardest recognizer, {} at FAR {}: {} at {:.1} % ({} pairs, as written)",
            h.goal.noun(),
            h.far,
            h.recognizer,
            h.psr * 100.0,
            h.pairs
        );
    }
    println!("SSIM (whole photo) mean {ssim_mean:.4}, PSNR mean {psnr_mean:.1} dB over {photos} photos");
    println!("| naturalness ({} faces) | mean | worst | limit | faces over |", scores.naturalness.len());
    println!("|---|---|---|---|---|");
    for m in &summary.naturalness.measures {
        let limit = m.limit.map_or("–".to_string(), |v| format!("{v:.3}"));
        println!("| {} | {:.3} | {:.3} | {limit} | {} |", m.name, m.mean, m.worst, m.over);
    }
    println!("wrote {}", out.join("report.html").display());
    Ok(())
}

/// `--merge`: one report from the `scores.json` of each directory.
fn merge(dirs: &[PathBuf], out: &Path) -> anyhow::Result<()> {
    let shards = dirs
        .iter()
        .map(|dir| {
            let path = dir.join("scores.json");
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            let scores: Scores = serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))?;
            Ok((dir.display().to_string(), scores))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    write_report(out, Scores::merge(shards)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_person_aims_at_the_next_person_with_two_photos_at_their_first_photo() {
        let photo = |path: &str, identity: &str| GalleryPhoto {
            path: PathBuf::from(path),
            canonical: PathBuf::from(path),
            identity: identity.to_owned(),
            embeddings: Embeddings::default(),
        };
        let gallery = [
            photo("c2.jpg", "c"),
            photo("a1.jpg", "a"),
            photo("b1.jpg", "b"),
            photo("c1.jpg", "c"),
            photo("a2.jpg", "a"),
        ];
        let got: Vec<(String, PathBuf)> = aims(&gallery).into_iter().map(|(who, t)| (who, t.path.clone())).collect();
        // b has one photo: it neither aims nor is aimed at.
        assert_eq!(got, [("a".to_owned(), PathBuf::from("c1.jpg")), ("c".to_owned(), PathBuf::from("a1.jpg"))]);
        // One person alone has no one else to aim at.
        assert!(aims(&[photo("a1.jpg", "a"), photo("a2.jpg", "a")]).is_empty());
    }
}
