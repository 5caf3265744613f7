//! What one `facecloak protect` run works through: the photos named on the command line or in
//! a manifest, this shard's share of them, and the log that lets a killed run resume.
//!
//! - A manifest is a CSV with a header naming its columns: the photo (`file`, `photo` or
//!   `path`, relative to the CSV), `identity`, and optionally `target` (a photo to impersonate,
//!   relative to the CSV). `../shared/faces/MANIFEST.csv` is one.
//! - `--shard K/N` keeps the photos whose path, as the manifest writes it, hashes (64-bit
//!   FNV-1a) to K modulo N: shards never overlap, together they are the whole set, and a re-run
//!   picks the same photos on any machine.
//! - Outputs of a manifest keep its folders under `--out`, so that photos of the same name in
//!   different folders never overwrite each other.
//! - `--resume` skips a photo whose output and report are both there (each is written whole,
//!   through a temporary file and a rename, the report last); what a killed run left half
//!   written is a temporary file, removed before the photo is done again.
//! - A manifest, shard or resumed run keeps a log (`protect-log.K-of-N.json`, or
//!   `protect-log.json`) of the photos done, skipped and failed (with the reason), rewritten
//!   after every photo; a manifest run also writes `pairs.K-of-N.csv` (`pairs.csv`): what
//!   `facecloak eval --pairs` scores.

use std::path::{Component, Path, PathBuf};

use anyhow::{Context, bail};
use serde::Serialize;

/// One photo to protect.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Where it is read from.
    pub input: PathBuf,
    /// How the manifest (or the command line) names it: the key of its shard.
    pub name: String,
    /// Where its protected copy goes (its report beside it, `NAME.EXT.json`).
    pub output: PathBuf,
    /// Who it shows (manifest runs).
    pub identity: Option<String>,
    /// The photo it should be recognised as (manifest column `target`).
    pub target: Option<PathBuf>,
}

impl Item {
    /// Its report's path.
    pub fn sidecar(&self) -> PathBuf {
        let extension = self.output.extension().map(|e| e.to_string_lossy().to_lowercase()).unwrap_or_default();
        self.output.with_extension(format!("{extension}.json"))
    }

    /// Whether an earlier run finished it: output and report both there.
    pub fn done(&self) -> bool {
        self.output.is_file() && self.sidecar().is_file()
    }
}

/// `K/N`: the K-th of N shares, K from 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let (k, n) = text.split_once('/').ok_or_else(|| format!("{text:?}: a shard is K/N, e.g. 0/4"))?;
        let parse = |v: &str| v.trim().parse::<u64>().map_err(|_| format!("{text:?}: K and N are whole numbers"));
        let (index, count) = (parse(k)?, parse(n)?);
        if count == 0 || index >= count {
            return Err(format!("{text:?}: K must be 0 to N − 1 (shards are counted from 0)"));
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Whether the photo named `name` is this shard's.
    pub fn holds(&self, name: &str) -> bool {
        fnv1a(name.as_bytes()) % self.count == self.index
    }

    /// How this shard's files are suffixed: `K-of-N`.
    pub fn suffix(&self) -> String {
        format!("{}-of-{}", self.index, self.count)
    }
}

/// 64-bit FNV-1a: stable across machines, versions and runs (std's hasher is not).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// The photos of the manifest at `path`, their outputs under `out`.
pub fn from_manifest(path: &Path, out: &Path) -> anyhow::Result<Vec<Item>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<String> =
        lines.next().context("the manifest is empty")?.split(',').map(|h| h.trim().to_lowercase()).collect();
    let column = |names: &[&str]| header.iter().position(|h| names.contains(&h.as_str()));
    let file = column(&["file", "photo", "path"])
        .with_context(|| format!("{}: no column file, photo or path in the header", path.display()))?;
    let (identity, target) = (column(&["identity"]), column(&["target"]));
    let mut items = Vec::new();
    for (n, line) in lines.enumerate() {
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let field = |k: Option<usize>| k.and_then(|k| fields.get(k)).filter(|v| !v.is_empty()).map(|v| v.to_string());
        let name = field(Some(file)).with_context(|| format!("{}: row {} has no photo", path.display(), n + 2))?;
        let relative = Path::new(&name);
        if relative.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir)) {
            bail!("{}: row {}: {name:?} must be a path below the manifest's folder", path.display(), n + 2);
        }
        items.push(Item {
            input: dir.join(relative),
            output: out.join(relative),
            identity: field(identity),
            target: field(target).map(|t| dir.join(t)),
            name,
        });
    }
    Ok(items)
}

/// The photos given on the command line, their outputs in `out` under their own names.
pub fn from_inputs(inputs: &[PathBuf], out: &Path) -> anyhow::Result<Vec<Item>> {
    inputs
        .iter()
        .map(|input| {
            let name = input.file_name().with_context(|| format!("{} has no file name", input.display()))?;
            Ok(Item {
                input: input.clone(),
                name: input.display().to_string(),
                output: out.join(name),
                identity: None,
                target: None,
            })
        })
        .collect()
}

/// What happened to each photo of a run.
#[derive(Debug, Default, Serialize)]
pub struct Log {
    /// `K/N`, or absent for the whole set.
    pub shard: Option<String>,
    /// Photos this run protected.
    pub done: Vec<String>,
    /// Photos an earlier run had finished (`--resume`).
    pub skipped: Vec<String>,
    /// Photos that could not be protected, with the reason.
    pub failed: Vec<Failure>,
}

/// A photo that failed.
#[derive(Debug, Serialize)]
pub struct Failure {
    pub photo: String,
    pub reason: String,
}

/// Removes what a killed run left of `path`'s temporary files (`.NAME.PID.partial`).
pub fn remove_partials(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else { return };
    let prefix = format!(".{}.", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().into_owned();
        if file.starts_with(&prefix) && file.ends_with(".partial") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_split_the_set_without_overlap_and_the_same_way_every_time() {
        let names: Vec<String> = (0..1000).map(|i| format!("people/p{}/photo{i}.jpg", i % 37)).collect();
        let shards: Vec<Shard> = (0..4).map(|k| format!("{k}/4").parse().unwrap()).collect();
        let mut sizes = [0; 4];
        for name in &names {
            let holders: Vec<usize> = (0..4).filter(|&k| shards[k].holds(name)).collect();
            assert_eq!(holders.len(), 1, "{name} in {holders:?}");
            sizes[holders[0]] += 1;
        }
        // Roughly even (a hash, not a round robin), and fixed: FNV-1a of a fixed string.
        assert!(sizes.iter().all(|&s| (200..300).contains(&s)), "{sizes:?}");
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c, "FNV-1a's published value for \"a\"");
    }

    #[test]
    fn shard_text() {
        assert_eq!("2/5".parse::<Shard>(), Ok(Shard { index: 2, count: 5 }));
        assert_eq!("2/5".parse::<Shard>().unwrap().to_string(), "2/5");
        for bad in ["5/5", "1/0", "1", "a/2", "-1/2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn manifests_keep_their_folders_and_refuse_paths_outside_them() {
        let dir = std::env::temp_dir().join(format!("facecloak-batch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let csv = dir.join("m.csv");
        std::fs::write(&csv, "file,identity,source\na/x.jpg,ann,\nb/x.jpg,bob,web\n").unwrap();
        let items = from_manifest(&csv, Path::new("/out")).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].output, Path::new("/out/b/x.jpg"));
        assert_eq!(items[1].sidecar(), Path::new("/out/b/x.jpg.json"));
        assert_eq!((items[0].identity.as_deref(), items[0].name.as_str()), (Some("ann"), "a/x.jpg"));
        std::fs::write(&csv, "photo,identity,target\n../x.jpg,ann,t.jpg\n").unwrap();
        assert!(format!("{:#}", from_manifest(&csv, Path::new("/out")).unwrap_err()).contains("below"));
        std::fs::write(&csv, "name,who\nx.jpg,ann\n").unwrap();
        assert!(from_manifest(&csv, Path::new("/out")).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
