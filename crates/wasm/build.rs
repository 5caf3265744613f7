//! Sets `cfg(has_face_models)` when scripts/setup has unpacked the face models, so that the
//! browser test that runs faceres (its files compiled into the test) builds only where they are.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(has_face_models)");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/human-models");
    println!("cargo::rerun-if-changed={}", dir.join("faceres.bin").display());
    if dir.join("faceres.json").exists() && dir.join("faceres.bin").exists() {
        println!("cargo::rustc-cfg=has_face_models");
    }
}
