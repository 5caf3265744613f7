//! `facecloak protect` end to end on the public-domain astronaut: a batch with one good photo
//! and one corrupt one writes the protected photo and its JSON report, says which prompt words
//! it did not understand, leaves no partial files, and exits non-zero because one photo failed.

use std::process::Command;

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
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("astronaut.png.json")).unwrap()).unwrap();
    assert_eq!(report, lines[0]["report"]);
    let face = &report["faces"][0];
    assert_eq!(face["steps"], 3);
    assert_eq!(report["settings"]["max_steps"], 3);
    assert_eq!(report["settings"]["eot"], true);
    assert_eq!(face["recognizers"][0]["name"], "mobileface");
    assert!(face["recognizers"][0]["similarity_after"].as_f64().unwrap() < 1.0);
    assert!(report["ssim"].as_f64().unwrap() > 0.9, "{report}");
    // The makeup applied and how natural it measured are in the sidecar.
    let lipstick = &face["look"]["pigments"][0];
    assert_eq!((lipstick["name"].as_str(), lipstick["requested"].as_bool()), (Some("lipstick"), Some(true)));
    assert!(lipstick["delta_e"].as_f64().unwrap() <= report["faces"][0]["colour_budget_delta_e"].as_f64().unwrap());
    for measure in ["symmetry", "bare_skin_hue", "lip_spill", "eye_spill", "fine_energy", "mean_change"] {
        assert!(face["naturalness"][measure].as_f64().is_some(), "{measure} missing: {}", face["naturalness"]);
    }
    assert!(
        face["naturalness"]["symmetry"].as_f64().unwrap() <= face["naturalness_limits"]["symmetry"].as_f64().unwrap()
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
    assert_eq!(gpu["backend"], "wgpu/vulkan");
    let similarity =
        |r: &serde_json::Value| r["report"]["faces"][0]["recognizers"][0]["similarity_after"].as_f64().unwrap();
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
