//! `facecloak eval` keeps its protocol: an unprotected copy breaks no pair (PSR 0), a photo
//! whose face is gone breaks every pair (PSR 1), and the CSV, JSON and HTML report are written.

use std::path::Path;
use std::process::{Command, Output};

use facecloak_face::Image;
use facecloak_testdata::{human_models, shared};

/// `facecloak eval --pairs CSV` against the shared gallery.
fn eval(models: &Path, shared: &Path, pairs: &Path, out: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_facecloak"))
        .args(["eval", "--models"])
        .arg(models)
        .arg("--gallery")
        .arg(shared.join("faces/MANIFEST.csv"))
        .arg("--pairs")
        .arg(pairs)
        .arg("-o")
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn eval_scores_unprotected_and_faceless_photos_as_it_should() {
    let Some(models) = human_models() else { return };
    let Some(shared) = shared() else { return };
    let faces = shared.join("faces/face_recognition");
    let scratch = std::env::temp_dir().join(format!("facecloak-eval-test-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    // "Protected" obama: an exact copy. "Protected" biden: a grey photo of the same size.
    std::fs::copy(faces.join("obama.jpg"), scratch.join("obama-copy.jpg")).unwrap();
    let biden = Image::decode(&std::fs::read(faces.join("biden.jpg")).unwrap(), Image::DEFAULT_MAX_PIXELS).unwrap();
    let grey = Image { width: biden.width, height: biden.height, data: vec![128.0; biden.data.len()] };
    std::fs::write(scratch.join("biden-gone.png"), grey.encode_png().unwrap()).unwrap();
    let csv = format!(
        "original,protected,identity\n{},obama-copy.jpg,barack_obama\n{},biden-gone.png,joe_biden\n",
        faces.join("obama.jpg").display(),
        faces.join("biden.jpg").display()
    );
    std::fs::write(scratch.join("pairs.csv"), csv).unwrap();
    let out = scratch.join("report");
    let run = eval(&models, &shared, &scratch.join("pairs.csv"), &out);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    let rows = std::fs::read_to_string(out.join("results.csv")).unwrap();
    let psr = summary["psr"].as_array().unwrap();
    // As written, JPEG q75, JPEG q50, resized 0.5×.
    let conditions = 4;
    assert_eq!(psr.len(), facecloak_protect::RECOGNIZERS.len() * conditions, "every recognizer × every condition");
    // The headline is the lowest PSR as written at FAR 1 %.
    let lowest = psr
        .iter()
        .filter(|e| e["condition"] == "as written")
        .filter_map(|e| e["psr_far_1"].as_f64())
        .fold(f64::INFINITY, f64::min);
    let headline = |far: &str| {
        summary["hardest"].as_array().unwrap().iter().find(|h| h["goal"] == "dodging" && h["far"] == far).cloned()
    };
    assert_eq!(headline("1 %").unwrap()["psr"].as_f64(), Some(lowest), "{}", summary["hardest"]);
    let lowest_01 = psr
        .iter()
        .filter(|e| e["condition"] == "as written")
        .filter_map(|e| e["psr_far_01"].as_f64())
        .fold(f64::INFINITY, f64::min);
    assert_eq!(headline("0.1 %").unwrap()["psr"].as_f64(), Some(lowest_01), "{}", summary["hardest"]);
    for entry in psr {
        // Obama's copy matches his other photos as before (0 broken); Biden's face is gone
        // (every counted pair broken). So PSR = Biden's counted pairs ÷ all counted pairs.
        let (name, condition) = (entry["recognizer"].as_str().unwrap(), entry["condition"].as_str().unwrap());
        let counted = |who: &str| {
            rows.lines()
                .filter(|l| l.contains(who) && l.contains(&format!(",{name},{condition},")))
                .filter(|l| {
                    let before: f32 = l.split(',').nth(4).unwrap().parse().unwrap();
                    before > facecloak_protect::thresholds::far_1(name).unwrap()
                })
                .count()
        };
        let (obama, biden) = (counted("obama-copy"), counted("biden-gone"));
        if condition == "as written" && obama + biden > 0 {
            let expected = biden as f64 / (obama + biden) as f64;
            let got = entry["psr_far_1"].as_f64().unwrap();
            assert!((got - expected).abs() < 1e-9, "{name}: PSR {got}, expected {expected} ({obama} + {biden} pairs)");
        }
    }
    assert!(rows.contains("no face found"));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("data:image/png;base64,") && html.contains("FAR 1 %"));
    std::fs::remove_dir_all(&scratch).unwrap();
}

/// Impersonation rows (with a target) are scored against the target's photos, success meaning
/// a match: an unprotected Biden "impersonating" Obama succeeds on no pair the recognizers
/// get right, and the PSR is the share of pairs that match. In the same file, a dodging row
/// (an unprotected copy of Obama) is scored as dodging: it still matches his other photos, so
/// its PSR is 0 — before, one target in the file made every row count as impersonation and
/// this row scored a near-perfect "success".
#[test]
fn eval_scores_impersonation_against_the_target_and_dodging_rows_as_dodging() {
    let Some(models) = human_models() else { return };
    let Some(shared) = shared() else { return };
    let faces = shared.join("faces/face_recognition");
    let scratch = std::env::temp_dir().join(format!("facecloak-eval-imp-test-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).unwrap();
    std::fs::copy(faces.join("biden.jpg"), scratch.join("biden-copy.jpg")).unwrap();
    let csv = format!(
        "original,protected,identity,target\n{},biden-copy.jpg,joe_biden,barack_obama\n{},obama-copy.jpg,barack_obama,\n",
        faces.join("biden.jpg").display(),
        faces.join("obama.jpg").display()
    );
    std::fs::copy(faces.join("obama.jpg"), scratch.join("obama-copy.jpg")).unwrap();
    std::fs::write(scratch.join("pairs.csv"), csv).unwrap();
    let out = scratch.join("report");
    let run = eval(&models, &shared, &scratch.join("pairs.csv"), &out);
    assert!(run.status.success(), "{}", String::from_utf8_lossy(&run.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(summary["mode"], "dodging and impersonation");
    let all_rows = std::fs::read_to_string(out.join("results.csv")).unwrap();
    let rows: String = all_rows
        .lines()
        // Protected photos are named as the pairs file writes them (relative to it).
        .filter(|l| l.starts_with("biden-copy.jpg,"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(
        !rows.is_empty() && rows.lines().all(|l| l.contains("obama") && l.ends_with(",impersonation")),
        "compared with the target's photos only"
    );
    let psr = summary["psr"].as_array().unwrap();
    // Rows whose original matched none of Obama's other photos count no pair (mobileface's
    // do not); every row that counts some must show the copy as not dodged.
    let dodging: Vec<&serde_json::Value> = psr
        .iter()
        .filter(|e| e["condition"] == "as written" && e["goal"] == "dodging" && e["pairs_far_1"].as_u64() > Some(0))
        .collect();
    assert!(!dodging.is_empty(), "no dodging row counted a pair: {psr:?}");
    for entry in dodging {
        assert_eq!(entry["psr_far_1"].as_f64(), Some(0.0), "an unprotected copy dodged: {entry}");
    }
    for entry in psr.iter().filter(|e| e["condition"] == "as written" && e["goal"] == "impersonation") {
        let name = entry["recognizer"].as_str().unwrap();
        let tau = facecloak_protect::thresholds::far_1(name).unwrap();
        let afters: Vec<f32> = rows
            .lines()
            .filter(|l| l.contains(&format!(",{name},as written,")))
            .map(|l| l.split(',').nth(5).unwrap().parse().unwrap())
            .collect();
        let expected = afters.iter().filter(|&&a| a > tau).count() as f64 / afters.len() as f64;
        assert_eq!(entry["pairs_far_1"].as_u64().unwrap() as usize, afters.len());
        assert!((entry["psr_far_1"].as_f64().unwrap() - expected).abs() < 1e-9, "{name}");
        assert!(expected < 0.5, "{name}: Biden passes for Obama on {expected} of the pairs");
    }
    std::fs::remove_dir_all(&scratch).unwrap();
}
