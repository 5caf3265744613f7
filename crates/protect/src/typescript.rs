//! The TypeScript types of the page, the worker and the `<face-cloak>` widget, generated from
//! the Rust types they exchange with the engine, so that the two sides cannot drift apart.
//!
//! [`bindings`] writes every type reachable from the engine's requests, reports and progress
//! into one module (`web/src/engine/generated/types.ts`); [`example`] writes a complete report
//! as a typed TypeScript constant (`example-report.ts`), which `tsc` then checks against those
//! types field by field. The test `crates/protect/tests/typescript.rs` fails when either file
//! is not what this module writes now (`FACECLOAK_WRITE_TYPES=1` rewrites them).
//!
//! ts-rs was chosen over tsify and specta: it is a plain derive that reads the serde attributes
//! we already have (renames, optional fields, lowercase enums) and depends on neither
//! wasm-bindgen nor a runtime, so the core crates that own the types stay free of both.

use std::any::TypeId;

use facecloak_device::selfcheck::{CheckProgress, Phase, SelfCheckReport};
use facecloak_device::{BackendInfo, BackendKind};
use facecloak_makeup::naturalness::{LIMITS, Naturalness};
use facecloak_makeup::{AppliedPigment, Look};
use ts_rs::{Config, TS, TypeVisitor};

use crate::report::{
    Analysis, FaceBox, FaceReport, Preset, PromptPreview, ProtectReport, RecognizerScore, Role, SettingsUsed,
    StepProgress, Transfer, Verdict,
};
use crate::request::{Attack, Expert, Makeup, MakeupReport, ProtectRequest};
use crate::search::{Goal, Strength};
use crate::verify::{RecognizerCheck, Verification};

/// Where the generated files live, from the repository root.
pub const DIRECTORY: &str = "web/src/engine/generated";

const HEADER: &str = "// Generated from the Rust types by facecloak_protect::typescript; do not edit.\n\
// `FACECLOAK_WRITE_TYPES=1 cargo test --workspace --test typescript` writes it again.\n";

/// Collects each exportable type once, with everything it refers to.
struct Collect {
    config: Config,
    seen: Vec<TypeId>,
    declarations: Vec<(String, String)>,
}

impl TypeVisitor for Collect {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        if T::output_path().is_none() || self.seen.contains(&TypeId::of::<T>()) {
            return;
        }
        self.seen.push(TypeId::of::<T>());
        let mut declaration = T::docs().unwrap_or_default();
        declaration.push_str("export ");
        declaration.push_str(&T::decl(&self.config));
        self.declarations.push((T::ident(&self.config), declaration));
        T::visit_dependencies(self);
    }
}

/// `types.ts`: every type the engine's methods take or give, sorted by name.
pub fn bindings() -> String {
    let mut collect = Collect { config: Config::new(), seen: Vec::new(), declarations: Vec::new() };
    collect.visit::<ProtectRequest>();
    collect.visit::<ProtectReport>();
    collect.visit::<StepProgress>();
    collect.visit::<Analysis>();
    collect.visit::<PromptPreview>();
    collect.visit::<Preset>();
    collect.visit::<SelfCheckReport>();
    collect.visit::<CheckProgress>();
    collect.visit::<Phase>();
    collect.declarations.sort();
    let mut out = String::from(HEADER);
    for (_, declaration) in &collect.declarations {
        out.push('\n');
        out.push_str(declaration);
        out.push('\n');
    }
    out
}

/// A report with every field and variant filled in, as a protection would write it.
pub fn example_report() -> ProtectReport {
    let face = FaceBox { x: 120.0, y: 80.0, width: 240.0, height: 300.0, score: 0.98 };
    let look = Look {
        pigments: vec![AppliedPigment {
            name: "lipstick".into(),
            requested: true,
            target: [142.0, 38.0, 78.0],
            applied: [150.0, 40.0, 80.0],
            delta_e: 3.5,
            coverage: 0.75,
        }],
        light: vec![("cheekbones".into(), -4.0)],
        foundation: [1.0, 0.5],
        lip_line: 0.5,
        wing: 0.0,
    };
    let naturalness = Naturalness {
        symmetry: 1.25,
        symmetry_cheeks: 1.0,
        symmetry_eyelids: 1.25,
        asymmetry: 0.25,
        bare_skin_hue: 0.5,
        lip_spill: 0.0625,
        eye_spill: 0.03125,
        fine_energy: 0.5,
        mean_change: 3.0,
    };
    let request = ProtectRequest {
        makeup: Makeup::Prompt("berry lipstick, sparkly".into()),
        strength: Strength::High,
        mode: Goal::Impersonate,
        faces: Some(vec![0]),
        seed: 7,
        preview_every: 10,
        expert: Expert { steps: Some(40), margin: Some(0.25), no_eot: true, ..Expert::default() },
        attack: Attack::All,
        set: Some(3),
    };
    let settings = {
        let mut settings = request.strength.settings();
        settings.steps = 40;
        SettingsUsed::from(&settings)
    };
    ProtectReport {
        input: Some("portrait.jpg".into()),
        output: Some("protected/portrait.jpg".into()),
        width: 640,
        height: 480,
        makeup: MakeupReport {
            asked: request.makeup.clone(),
            prompt: Some("berry lipstick, sparkly".into()),
            not_understood: vec!["sparkly".into()],
            no_region: vec![],
        },
        request,
        settings,
        backend: BackendInfo {
            kind: BackendKind::Cpu,
            name: "flex".into(),
            adapter: "burn-flex".into(),
            fallback_reason: Some("the CPU was asked for".into()),
            threads: 1,
            choice: None,
        },
        faces: vec![FaceReport {
            face,
            steps: 40,
            converged: true,
            cancelled: false,
            skipped: false,
            seconds: 8.5,
            recognizers: vec![
                RecognizerScore {
                    name: "mobileface".into(),
                    role: Role::Attacked,
                    threshold: 0.5,
                    before: 0.125,
                    after: 0.625,
                    verdict: Verdict::Protected,
                },
                RecognizerScore {
                    name: "face-recognition-net".into(),
                    role: Role::Judge,
                    threshold: 0.75,
                    before: 0.25,
                    after: 0.5,
                    verdict: Verdict::Unprotected,
                },
            ],
            verification: Some(Verification::new(
                vec!["me-at-work.jpg".into()],
                vec![
                    RecognizerCheck::new(
                        "mobileface",
                        Role::Attacked,
                        0.5,
                        &[1.0, 0.0],
                        &[0.0, 1.0],
                        &[("me-at-work.jpg", &[1.0, 0.0])],
                    ),
                    RecognizerCheck::new(
                        "face-recognition-net",
                        Role::Judge,
                        0.75,
                        &[1.0, 0.0],
                        &[1.0, 0.0],
                        &[("me-at-work.jpg", &[1.0, 0.0])],
                    ),
                ],
            )),
            wore_again: true,
            look: Some(look),
            naturalness: Some(naturalness),
            over_limits: vec![],
        }],
        too_small: vec![face],
        ssim: 0.984375,
        psnr_db: Some(41.5),
        seconds: 9.25,
        naturalness_limits: LIMITS,
        protocol: crate::report::protocol(Goal::Impersonate),
        transfer: Transfer::measured(),
    }
}

/// `example-report.ts`: [`example_report`] as a constant of type `ProtectReport`, for `tsc` to
/// check (an object literal gets excess-property checks too: a field TypeScript does not know
/// is an error, as is one it lacks).
pub fn example() -> String {
    // Serialising plain data to a String cannot fail.
    let json = serde_json::to_string_pretty(&example_report()).unwrap_or_default();
    format!(
        "{HEADER}\nimport type {{ ProtectReport }} from './types';\n\nexport const exampleReport: ProtectReport = {json};\n"
    )
}
