//! The committed thresholds are what `facecloak calibrate` computes on `../shared/faces`.

use std::process::Command;

use facecloak_protect::thresholds::CALIBRATED;
use facecloak_testdata::{human_models, shared};

#[test]
fn committed_thresholds_are_reproduced_by_the_calibrate_command() {
    let Some(models) = human_models() else { return };
    let Some(shared) = shared() else { return };
    let run = Command::new(env!("CARGO_BIN_EXE_facecloak"))
        .args(["calibrate", "--models"])
        .arg(&models)
        .arg("--manifest")
        .arg(shared.join("faces/MANIFEST.csv"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
    assert!(stdout.contains("52 labelled photos") && stdout.contains("1239 different-person pairs"), "{stdout}");
    for committed in CALIBRATED {
        let line =
            stdout.lines().find(|l| l.contains(&format!("{:?}", committed.recognizer))).expect(committed.recognizer);
        let number = |key: &str| -> f32 {
            let rest = &line[line.find(key).unwrap() + key.len()..];
            rest.trim_start_matches([':', ' ']).split([',', ' ']).next().unwrap().parse().unwrap()
        };
        let (far_1, far_01) = (number("far_1"), number("far_01"));
        assert!(
            (far_1 - committed.far_1).abs() < 2e-3 && (far_01 - committed.far_01).abs() < 2e-3,
            "{}: computed {far_1}/{far_01}, committed {}/{}",
            committed.recognizer,
            committed.far_1,
            committed.far_01
        );
    }
}
