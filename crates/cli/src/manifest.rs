//! Labelled photo sets: a CSV whose first two columns are the photo's path (relative to the
//! CSV) and who it shows (`../shared/faces/MANIFEST.csv`: `file,identity,source`). Rows without
//! an identity (group photos) are not labelled.

use std::path::{Path, PathBuf};

use anyhow::Context;

/// A labelled photo.
pub struct Labelled {
    /// The photo.
    pub path: PathBuf,
    /// Who it shows.
    pub identity: String,
}

/// The labelled rows of the manifest at `path` (header skipped).
pub fn read(path: &Path) -> anyhow::Result<Vec<Labelled>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    Ok(text
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.splitn(3, ',');
            let (file, identity) = (fields.next()?.trim(), fields.next()?.trim());
            (!file.is_empty() && !identity.is_empty())
                .then(|| Labelled { path: dir.join(file), identity: identity.to_owned() })
        })
        .collect())
}

/// `../shared/faces/MANIFEST.csv` beside the repository.
pub fn default_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/faces/MANIFEST.csv")
}
