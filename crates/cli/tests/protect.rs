//! `facecloak protect` end to end on the public-domain astronaut: a batch with one good photo
//! and one corrupt one writes the protected photo and its JSON report, says which prompt words
//! it did not understand, leaves no partial files, and exits non-zero because one photo failed.

use std::process::Command;

use facecloak_protect::report::Role;
use facecloak_protect::verify::Outcome;
use facecloak_testdata::{human_models, repo_root};

#[test]
fn protect_writes_photo_and_report_and_reports_failures() {
    let Some(models) = human_models() else { return };
    let scratch = std::env::temp_dir().join(format!("facecloak-protect-test-{}", std::process::id()));
    let out = scratch.join("out");
    std::fs::create_dir_all(&scratch).unwrap();
    let astronaut = repo_root().join("fixtures/astronaut.png");
    let corrupt = scratch.join("corrupt.jpg");
    std::fs::write(&corrupt, b"\xff\xd8\xff\xe0 not really a jpeg").unwrap();

    let run = Command::new(env!("CARGO_BIN_EXE_facecloak"))
        .args(["protect", "--models"])
        .arg(&models)
        .arg("-o")
        .arg(&out)
        .args(["--makeup", "sparkly berry lipstick, purple eyeshadow", "--strength", "low", "--steps", "3"])
        .args(["--surrogates", "mobileface", "--seed", "3", "--json"])
        .arg(&astronaut)
        .arg(&corrupt)
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(!run.status.success(), "one photo failed, so the exit code must say so\n{stdout}\n{stderr}");
    assert!(stderr.contains("not understood: sparkly"), "{stderr}");
    assert!(stderr.contains("1 of 2 photos could not be protected"), "{stderr}");
    let lines: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(lines[1]["error"].as_str().unwrap().contains("corrupt.jpg"), "{stdout}");

    let protected = std::fs::read(out.join("astronaut.png")).unwrap();
    let image = facecloak_face::Image::decode(&protected, 1 << 24).unwrap();
    assert_eq!((image.width, image.height), (512, 512));
    let sidecar = std::fs::read(out.join("astronaut.png.json")).unwrap();
    let report: serde_json::Value = serde_json::from_slice(&sidecar).unwrap();
    // The sidecar, the --json line and the browser's report are one document, one type.
    assert_eq!(report, lines[0]);
    let typed: facecloak_protect::ProtectReport = serde_json::from_slice(&sidecar).unwrap();
    // Text to type and back to text loses nothing (f32s print as their shortest exact form).
    let again: serde_json::Value = serde_json::from_str(&serde_json::to_string(&typed).unwrap()).unwrap();
    assert_eq!(again, report, "the report round-trips through its type");
    assert_eq!(typed.request.seed, 3);
    assert_eq!(typed.makeup.not_understood, ["sparkly"]);
    assert_eq!(report["input"], astronaut.display().to_string());
    let face = &report["faces"][0];
    assert_eq!(face["steps"], 3);
    assert_eq!(report["settings"]["max_steps"], 3);
    assert_eq!(report["settings"]["eot"], true);
    let mobileface = &face["recognizers"][0];
    assert_eq!(mobileface["name"], "mobileface");
    assert_eq!(mobileface["before"], 1.0, "dodging compares with the face itself");
    let after = mobileface["after"].as_f64().unwrap();
    assert!(after < 1.0);
    let protected = after <= mobileface["threshold"].as_f64().unwrap();
    assert_eq!(mobileface["verdict"], if protected { "protected" } else { "unprotected" });
    assert_eq!(mobileface["role"], "attacked");
    // The independent judge scores the result too, never attacked.
    let judge = &face["recognizers"][1];
    assert_eq!((judge["name"].as_str(), judge["role"].as_str()), (Some("face-recognition-net"), Some("judge")));
    assert_eq!(judge["before"], 1.0);
    assert!(face["verification"].is_null(), "no other photos were given");
    assert!(report["transfer"]["held_out"].as_array().unwrap().len() >= 4, "{}", report["transfer"]);
    assert!(report["ssim"].as_f64().unwrap() > 0.9, "{report}");
    // The makeup applied and how natural it measured are in the sidecar.
    let lipstick = &face["look"]["pigments"][0];
    assert_eq!((lipstick["name"].as_str(), lipstick["requested"].as_bool()), (Some("lipstick"), Some(true)));
    assert!(lipstick["delta_e"].as_f64().unwrap() <= report["settings"]["colour_budget_delta_e"].as_f64().unwrap());
    for measure in ["symmetry", "bare_skin_hue", "lip_spill", "eye_spill", "fine_energy", "mean_change"] {
        assert!(face["naturalness"][measure].as_f64().is_some(), "{measure} missing: {}", face["naturalness"]);
    }
    assert!(
        face["naturalness"]["symmetry"].as_f64().unwrap() <= report["naturalness_limits"]["symmetry"].as_f64().unwrap()
    );
    let leftovers: Vec<_> = std::fs::read_dir(&out).unwrap().filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
    assert_eq!(leftovers.len(), 2, "only the photo and its report: {leftovers:?}");
    std::fs::remove_dir_all(&scratch).unwrap();
}

/// The search on the GPU path (wgpu on Vulkan; lavapipe in CI) finds the same makeup as on the
/// CPU: same seed, two steps, mobileface; the two protected photos agree to within a grey level
/// on average and the reported similarities to 0.01.
#[test]
fn protect_on_wgpu_matches_the_cpu() {
    let Some(models) = human_models() else { return };
    let scratch = std::env::temp_dir().join(format!("facecloak-protect-wgpu-test-{}", std::process::id()));
    let astronaut = repo_root().join("fixtures/astronaut.png");
    let run = |backend: &str| {
        let out = scratch.join(backend);
        let run = Command::new(env!("CARGO_BIN_EXE_facecloak"))
            .args(["protect", "--models"])
            .arg(&models)
            .arg("-o")
            .arg(&out)
            .args(["--makeup", "red lipstick", "--steps", "2", "--seed", "1", "--surrogates", "mobileface"])
            .args(["--backend", backend, "--json"])
            .arg(&astronaut)
            .output()
            .unwrap();
        assert!(run.status.success(), "{backend}: {}", String::from_utf8_lossy(&run.stderr));
        let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
        let image = facecloak_face::Image::decode(&std::fs::read(out.join("astronaut.png")).unwrap(), 1 << 24).unwrap();
        (report, image)
    };
    let (cpu, cpu_image) = run("cpu");
    let (gpu, gpu_image) = run("wgpu");
    assert_eq!(gpu["backend"]["name"], "wgpu/vulkan");
    let similarity = |r: &serde_json::Value| r["faces"][0]["recognizers"][0]["after"].as_f64().unwrap();
    assert!(
        (similarity(&cpu) - similarity(&gpu)).abs() < 0.01,
        "cpu {} vs wgpu {}",
        similarity(&cpu),
        similarity(&gpu)
    );
    let mean_difference = cpu_image.data.iter().zip(&gpu_image.data).map(|(a, b)| (a - b).abs()).sum::<f32>()
        / cpu_image.data.len() as f32;
    assert!(mean_difference < 1.0, "the photos differ by {mean_difference} grey levels on average");
    std::fs::remove_dir_all(&scratch).unwrap();
}

/// Impersonation reports what impersonation means: each recognizer's similarity to the
/// *target* before and after (not to the original), and a verdict that is a match to the target.
#[test]
fn impersonation_reports_similarity_to_the_target() {
    let Some(models) = human_models() else { return };
    let Some(shared) = facecloak_testdata::shared() else { return };
    let scratch = std::env::temp_dir().join(format!("facecloak-protect-impersonate-{}", std::process::id()));
    let astronaut = repo_root().join("fixtures/astronaut.png");
    let target = shared.join("faces/face_recognition/obama.jpg");
    let run = Command::new(env!("CARGO_BIN_EXE_facecloak"))
        .args(["protect", "--models"])
        .arg(&models)
        .arg("-o")
        .arg(&scratch)
        .args(["--mode", "impersonate", "--target"])
        .arg(&target)
        .args(["--steps", "2", "--surrogates", "mobileface", "--no-eot", "--json"])
        .arg(&astronaut)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let report: facecloak_protect::ProtectReport = serde_json::from_slice(&run.stdout).unwrap();
    assert_eq!(report.request.mode, facecloak_protect::Goal::Impersonate);
    let score = &report.faces[0].recognizers[0];
    // Eileen Collins and Barack Obama: far apart before, and two steps do not make them one.
    assert!(score.before < score.threshold, "before {} ≥ threshold {}", score.before, score.threshold);
    assert!(score.after < 0.9, "after {} is a similarity to the original, not to the target", score.after);
    assert_eq!(score.verdict == facecloak_protect::report::Verdict::Protected, score.after > score.threshold);
    assert!(report.protocol.contains("target"), "{}", report.protocol);
    std::fs::remove_dir_all(&scratch).unwrap();
}

/// `--verify-with`: Obama's protected photo compared with two of his other photos by every
/// recognizer, the attacked one and the independent judge; the outcome follows from the numbers.
/// The judge, named as a surrogate without `--attack-all`, is refused.
#[test]
fn verify_with_compares_the_result_with_other_photos_of_the_person() {
    let Some(models) = human_models() else { return };
    let Some(shared) = facecloak_testdata::shared() else { return };
    let faces = shared.join("faces/face_recognition");
    let scratch = std::env::temp_dir().join(format!("facecloak-protect-verify-{}", std::process::id()));
    let protect = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_facecloak"))
            .args(["protect", "--models"])
            .arg(&models)
            .arg("-o")
            .arg(&scratch)
            .args(["--verify-with"])
            .arg(faces.join("obama2.jpg"))
            .args(["--verify-with"])
            .arg(faces.join("obama3.jpg"))
            .args(["--steps", "2", "--no-eot", "--json"])
            .args(extra)
            .arg(faces.join("obama.jpg"))
            .output()
            .unwrap()
    };
    let run = protect(&["--surrogates", "mobilefacenet"]);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let report: facecloak_protect::ProtectReport = serde_json::from_slice(&run.stdout).unwrap();
    let check = report.faces[0].verification.as_ref().expect("a verification");
    assert_eq!(check.photos, ["obama2.jpg", "obama3.jpg"]);
    let names: Vec<(&str, Role)> = check.recognizers.iter().map(|r| (r.name.as_str(), r.role)).collect();
    assert_eq!(names, [("mobilefacenet", Role::Attacked), ("face-recognition-net", Role::Judge)]);
    // Obama's photos are Obama to the ArcFace model before protection (its same-person cosines
    // on the team's faces average 0.73 against a threshold of 0.32), so the check says something.
    assert!(check.recognizers[0].references.iter().all(|m| m.before > check.recognizers[0].threshold), "{check:?}");
    for r in &check.recognizers {
        assert_eq!(r.references.len(), 2);
        let before = r.references.iter().any(|m| m.before > r.threshold);
        let still = r.references.iter().any(|m| m.after > r.threshold);
        let expected = match (before, still) {
            (_, true) => Outcome::StillMatches,
            (true, false) => Outcome::Protected,
            (false, false) => Outcome::NeverMatched,
        };
        assert_eq!(r.outcome, expected, "{r:?}");
        assert!(r.references.iter().all(|m| m.after != m.before), "the protected face is another face: {r:?}");
    }
    assert!(
        check.judges.is_some() && check.says.contains("The independent judge face-recognition-net"),
        "{}",
        check.says
    );

    let refused = protect(&["--surrogates", "mobilefacenet,face-recognition-net"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--attack-all"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    std::fs::remove_dir_all(&scratch).ok();
}

/// `--backend auto` times a search step's recognizer passes on Vulkan and on the CPU and runs on
/// the faster. Here Vulkan is lavapipe, a software rasteriser on the same two cores, which burn's
/// CPU backend beats: the report says so, with both times.
#[test]
fn backend_auto_measures_both_and_picks_the_cpu_over_lavapipe() {
    let Some(models) = human_models() else { return };
    let out = std::env::temp_dir().join(format!("facecloak-protect-auto-{}", std::process::id()));
    let run = Command::new(env!("CARGO_BIN_EXE_facecloak"))
        .args(["protect", "--models"])
        .arg(&models)
        .arg("-o")
        .arg(&out)
        .args(["--backend", "auto", "--steps", "1", "--surrogates", "mobileface", "--json"])
        .arg(repo_root().join("fixtures/astronaut.png"))
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&run.stdout), String::from_utf8_lossy(&run.stderr));
    assert!(run.status.success(), "{stdout}\n{stderr}");
    let report: facecloak_protect::ProtectReport = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    let choice = report.backend.choice.clone().unwrap_or_else(|| panic!("auto records its choice\n{stderr}"));
    assert!(choice.adapter.contains("llvmpipe"), "lavapipe was measured: {choice:?}");
    assert!(choice.gpu_ms > 0.0 && choice.cpu_ms > 0.0, "{choice:?}");
    assert_eq!(choice.chosen, facecloak_device::BackendKind::Cpu, "{choice:?}");
    assert_eq!(report.backend.name, "flex");
    assert!(stderr.contains("backend auto: the CPU, the faster here"), "{stderr}");
    let _ = std::fs::remove_dir_all(&out);
}
