//! The page's TypeScript types are the Rust types: `web/src/engine/generated/` must be exactly
//! what `facecloak_protect::typescript` writes now, so a change to a report or request type
//! that is not carried to the page fails here (and `tsc` then checks the page against it).
//! `FACECLOAK_WRITE_TYPES=1 cargo test --workspace --test typescript` writes them again.

use facecloak_protect::ProtectReport;
use facecloak_protect::typescript::{DIRECTORY, bindings, example, example_report};
use facecloak_testdata::repo_root;

fn check(file: &str, want: String) {
    let path = repo_root().join(DIRECTORY).join(file);
    if std::env::var_os("FACECLOAK_WRITE_TYPES").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &want).unwrap();
    }
    let have = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        have == want,
        "{} is not what the Rust types give now; run FACECLOAK_WRITE_TYPES=1 cargo test --workspace --test typescript",
        path.display()
    );
}

#[test]
fn the_generated_typescript_types_are_current() {
    check("types.ts", bindings());
    check("example-report.ts", example());
}

#[test]
fn the_types_name_every_report_field_the_page_reads() {
    let types = bindings();
    for declaration in [
        "export type ProtectReport = {",
        "export type ProtectRequest = {",
        "export type StepProgress = {",
        "export type Goal = \"dodge\" | \"impersonate\";",
        "export type Strength = \"low\" | \"medium\" | \"high\";",
        "export type Verdict = \"protected\" | \"unprotected\";",
    ] {
        assert!(types.contains(declaration), "{declaration} is missing from:\n{types}");
    }
    // Large integers would become bigint, which JSON cannot carry.
    assert!(!types.contains("bigint"), "{types}");
}

#[test]
fn a_report_survives_json_both_ways() {
    let report = example_report();
    let json = serde_json::to_string(&report).unwrap();
    let back: ProtectReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, report);
    // Fields the browser leaves out are absent, not null: TypeScript has them as optional.
    let browser = ProtectReport { input: None, output: None, ..report };
    let value: serde_json::Value = serde_json::to_value(&browser).unwrap();
    assert!(value.get("input").is_none() && value.get("output").is_none());
    assert_eq!(serde_json::from_value::<ProtectReport>(value).unwrap(), browser);
}
