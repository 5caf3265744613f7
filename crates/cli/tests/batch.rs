//! Work split across machines and resumed after a crash: `protect --manifest`, `--shard K/N`,
//! `--resume` and `eval --merge`, on real photos of `../shared/faces` at two search steps.
//!
//! - Two shards protect exactly the photos of one whole run, each once, to the same bytes.
//! - Their evaluations merged are the whole run's evaluation, bit for bit.
//! - A run killed in the middle leaves whole files only; `--resume` finishes the set without
//!   protecting anything twice.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use facecloak_testdata::{human_models, shared};

/// Five photos of three people, in a folder of their own (the manifest's paths must lie below
/// it: the shared faces are linked in).
fn dataset(scratch: &Path, shared: &Path) -> PathBuf {
    std::fs::create_dir_all(scratch).unwrap();
    let link = scratch.join("faces");
    if !link.exists() {
        std::os::unix::fs::symlink(shared.join("faces"), &link).unwrap();
    }
    let manifest = scratch.join("manifest.csv");
    std::fs::write(
        &manifest,
        "file,identity\n\
         faces/face_recognition/obama.jpg,barack_obama\n\
         faces/face_recognition/obama2.jpg,barack_obama\n\
         faces/face_recognition/biden.jpg,joe_biden\n\
         faces/face_recognition/biden_biden2.jpg,joe_biden\n\
         faces/skimage/astronaut.png,eileen_collins\n",
    )
    .unwrap();
    manifest
}

fn facecloak(models: &Path, args: &[&str], paths: &[&Path]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_facecloak"));
    command.args(&args[..1]).arg("--models").arg(models).args(&args[1..]).args(paths);
    command
}

fn ok(output: Output) -> Output {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    output
}

fn protect(models: &Path, manifest: &Path, out: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["protect", "--steps", "2"];
    args.extend(extra);
    args.push("--manifest");
    let mut command = facecloak(models, &args, &[manifest]);
    ok(command.arg("-o").arg(out).output().unwrap())
}

fn log(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn names(value: &serde_json::Value) -> Vec<String> {
    value.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
}

/// Every file below `dir`, relative, with its bytes (logs and pairs files aside).
fn outputs(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.parent() != Some(dir) {
                found.push((path.strip_prefix(dir).unwrap().to_owned(), std::fs::read(&path).unwrap()));
            }
        }
    }
    found.sort();
    found
}

#[test]
fn shards_protect_the_whole_set_once_and_merge_into_the_whole_evaluation() {
    let Some(models) = human_models() else { return };
    let Some(shared) = shared() else { return };
    let scratch = std::env::temp_dir().join(format!("facecloak-batch-test-{}", std::process::id()));
    let manifest = dataset(&scratch, &shared);
    let (whole, split) = (scratch.join("whole"), scratch.join("split"));
    protect(&models, &manifest, &whole, &[]);
    for k in ["0/2", "1/2"] {
        protect(&models, &manifest, &split, &["--shard", k]);
    }
    // The same photos and reports, byte for byte; each photo in exactly one shard's log.
    let strip_paths = |files: Vec<(PathBuf, Vec<u8>)>| -> Vec<(PathBuf, usize)> {
        files.into_iter().map(|(p, b)| (p, b.len())).collect()
    };
    let (a, b) = (outputs(&whole), outputs(&split));
    assert_eq!(a.len(), 10, "five photos and their reports: {:?}", strip_paths(a));
    for ((path, bytes), (path_b, bytes_b)) in a.iter().zip(&b) {
        assert_eq!(path, path_b);
        if path.extension().is_some_and(|e| e != "json") {
            assert!(bytes == bytes_b, "{} differs between the whole run and its shards", path.display());
        }
    }
    let done: Vec<Vec<String>> = ["0-of-2", "1-of-2"]
        .iter()
        .map(|s| names(&log(&split.join(format!("protect-log.{s}.json")))["done"]))
        .collect();
    let mut all: Vec<String> = done.concat();
    all.sort();
    assert_eq!(all, {
        let mut w = names(&log(&whole.join("protect-log.json"))["done"]);
        w.sort();
        w
    });
    assert!(!done[0].is_empty() && !done[1].is_empty(), "both shards got photos: {done:?}");

    // Evaluated per shard and merged = evaluated whole.
    let gallery = shared.join("faces/MANIFEST.csv");
    let eval = |pairs: &Path, out: &Path| {
        ok(facecloak(&models, &["eval", "--gallery"], &[&gallery])
            .arg("--pairs")
            .arg(pairs)
            .arg("-o")
            .arg(out)
            .output()
            .unwrap())
    };
    eval(&whole.join("pairs.csv"), &scratch.join("eval-whole"));
    for s in ["0-of-2", "1-of-2"] {
        eval(&split.join(format!("pairs.{s}.csv")), &scratch.join(format!("eval-{s}")));
    }
    let merged = scratch.join("eval-merged");
    ok(facecloak(&models, &["eval", "--merge"], &[&scratch.join("eval-0-of-2"), &scratch.join("eval-1-of-2")])
        .arg("-o")
        .arg(&merged)
        .output()
        .unwrap());
    for file in ["results.json", "results.csv", "scores.json", "report.html"] {
        let (one, joined) =
            (std::fs::read(scratch.join("eval-whole").join(file)).unwrap(), std::fs::read(merged.join(file)).unwrap());
        assert!(one == joined, "{file}: the merged report is not the whole run's");
    }
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(merged.join("results.json")).unwrap()).unwrap();
    assert_eq!(summary["photos"], 5);
    // A shard merged twice is refused, not counted twice.
    let twice = facecloak(&models, &["eval", "--merge"], &[&scratch.join("eval-0-of-2"), &scratch.join("eval-0-of-2")])
        .arg("-o")
        .arg(scratch.join("eval-twice"))
        .output()
        .unwrap();
    assert!(!twice.status.success() && String::from_utf8_lossy(&twice.stderr).contains("overlap"));

    // Resumed, a finished shard protects nothing again.
    protect(&models, &manifest, &split, &["--shard", "0/2", "--resume"]);
    let again = log(&split.join("protect-log.0-of-2.json"));
    assert_eq!((names(&again["done"]), names(&again["skipped"])), (Vec::<String>::new(), done[0].clone()));
    assert_eq!(outputs(&split), b, "a resumed run rewrote nothing");
    std::fs::remove_dir_all(&scratch).unwrap();
}

#[test]
fn a_killed_run_leaves_whole_files_and_resume_finishes_it_without_repeating_a_photo() {
    let Some(models) = human_models() else { return };
    let Some(shared) = shared() else { return };
    let scratch = std::env::temp_dir().join(format!("facecloak-kill-test-{}", std::process::id()));
    let manifest = dataset(&scratch, &shared);
    let out = scratch.join("out");
    let mut child = facecloak(&models, &["protect", "--steps", "6", "--manifest"], &[&manifest])
        .arg("-o")
        .arg(&out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed (SIGKILL: no clean-up) once the first photo is done, in the middle of the next.
    let start = Instant::now();
    while !out.join("protect-log.json").exists() {
        assert!(start.elapsed() < Duration::from_secs(300), "no photo done in 5 minutes");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    let first = names(&log(&out.join("protect-log.json"))["done"]);
    assert!(!first.is_empty() && first.len() < 5, "killed after {first:?}");
    // Every photo there is whole: it decodes, and its report is there and parses.
    for (path, bytes) in outputs(&out) {
        let name = path.to_string_lossy().into_owned();
        if name.ends_with(".partial") {
            continue; // a temporary file, never a photo's name; resume removes it
        }
        if name.ends_with(".json") {
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        } else {
            facecloak_face::Image::decode(&bytes, 1 << 26).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(out.join(format!("{name}.json")).exists(), "{name} without its report");
        }
    }
    ok(facecloak(&models, &["protect", "--steps", "6", "--resume", "--manifest"], &[&manifest])
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap());
    let resumed = log(&out.join("protect-log.json"));
    let (done, skipped) = (names(&resumed["done"]), names(&resumed["skipped"]));
    assert_eq!(skipped, first, "what the killed run finished is skipped");
    assert_eq!(done.len() + skipped.len(), 5);
    assert!(done.iter().all(|d| !skipped.contains(d)), "nothing protected twice");
    assert!(outputs(&out).iter().all(|(p, _)| !p.to_string_lossy().ends_with(".partial")), "no temporary file left");
    std::fs::remove_dir_all(&scratch).unwrap();
}
