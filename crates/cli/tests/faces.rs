//! `facecloak faces` as a researcher runs it: a batch with a good photo, a corrupt one and an
//! empty one goes through; `--debug` writes the three pictures.

use std::process::Command;

use facecloak_testdata::{human_models, repo_root};

#[test]
fn faces_reports_each_photo_and_writes_debug_pictures() {
    let Some(models) = human_models() else { return };
    let scratch = std::env::temp_dir().join(format!("facecloak-faces-test-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    let astronaut = repo_root().join("fixtures/astronaut.png");
    let corrupt = scratch.join("corrupt.jpg");
    let bytes = std::fs::read(&astronaut).unwrap();
    std::fs::write(&corrupt, &bytes[..bytes.len() / 3]).unwrap();
    let empty = scratch.join("empty.png");
    std::fs::write(&empty, b"").unwrap();
    let blank = scratch.join("blank.png");
    std::fs::write(
        &blank,
        facecloak_face::Image { width: 64, height: 48, data: vec![200.0; 64 * 48 * 3] }.encode_png().unwrap(),
    )
    .unwrap();
    let out = scratch.join("debug");

    let run = Command::new(env!("CARGO_BIN_EXE_facecloak"))
        .arg("faces")
        .arg("--models")
        .arg(&models)
        .arg("--debug")
        .arg(&out)
        .args([&corrupt, &astronaut, &empty, &blank])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
    assert!(stdout.contains("[1/4]") && stdout.contains("corrupt.jpg: skipped: cannot decode"), "{stdout}");
    assert!(stdout.contains("astronaut.png: 1 face(s)"), "{stdout}");
    assert!(stdout.contains("empty.png: skipped:"), "{stdout}");
    assert!(stdout.contains("blank.png: no face found"), "{stdout}");
    assert!(stdout.contains("2 of 4 photos could not be read"), "{stdout}");
    for kind in ["faces", "regions", "generator"] {
        let path = out.join(format!("astronaut.{kind}.png"));
        let picture = facecloak_face::Image::decode(&std::fs::read(&path).unwrap(), 1 << 24).unwrap();
        if kind == "generator" {
            // One 256² face on an 8-pixel grey frame.
            assert_eq!((picture.width, picture.height), (256 + 16, 256 + 16));
        } else {
            assert_eq!((picture.width, picture.height), (512, 512), "{kind}");
        }
    }
    std::fs::remove_dir_all(&scratch).unwrap();
}
