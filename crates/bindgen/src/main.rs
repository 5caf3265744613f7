//! # facecloak-bindgen: the web build's JS bindings, without installing the wasm-bindgen CLI
//!
//! `scripts/build.mjs` turns the compiled `facecloak-wasm` module into an ES module with its
//! JS glue. That is wasm-bindgen's job, and the usual way to get it is
//! `cargo install wasm-bindgen-cli`: about eight minutes on two cores, because the CLI also
//! carries the test runner with its web server, HTTP client and TLS stack. A newcomer who only
//! wants to start the app waits for all of that. This binary calls the very library the CLI
//! calls (`wasm-bindgen-cli-support`, pinned to the wasm-bindgen crate's version) with the
//! handful of options the build uses, and builds in about a minute in the workspace's target
//! dir. The test runner (`wasm-bindgen-test-runner`, for `cargo test --target wasm32…`) still
//! comes from the CLI, which `scripts/setup` installs for the test suite only.
//!
//! Usage: `facecloak-bindgen --target web --out-dir DIR [--out-name NAME]
//! [--remove-name-section] [--remove-producers-section] INPUT.wasm` — the CLI's spelling, so that the arguments in
//! `wasm-pack.toml` mean what they say in wasm-bindgen's own documentation.

use std::path::PathBuf;
use std::process::ExitCode;

use wasm_bindgen_cli_support::Bindgen;

/// What one run does: the subset of the CLI's options that facecloak's web build uses.
#[derive(Debug, PartialEq, Eq)]
struct Options {
    input: PathBuf,
    out_dir: PathBuf,
    /// The output files' stem (`--out-name`): the threaded build's module sits beside the
    /// single-thread one under another name. Without it, the input's stem.
    out_name: Option<String>,
    remove_name_section: bool,
    remove_producers_section: bool,
}

const USAGE: &str = "usage: facecloak-bindgen --target web --out-dir DIR [--out-name NAME] \
                     [--remove-name-section] [--remove-producers-section] INPUT.wasm";

/// Reads the arguments. Anything the build does not use is refused by name rather than ignored:
/// a flag that silently did nothing would ship a module that differs from what the settings say.
fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
    let mut args = args.into_iter();
    let (mut input, mut out_dir, mut target, mut out_name) = (None, None, None, None);
    let (mut remove_name_section, mut remove_producers_section) = (false, false);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--target" => target = Some(args.next().ok_or("--target needs a value")?),
            "--out-dir" => out_dir = Some(PathBuf::from(args.next().ok_or("--out-dir needs a value")?)),
            "--out-name" => out_name = Some(args.next().ok_or("--out-name needs a value")?),
            "--remove-name-section" => remove_name_section = true,
            "--remove-producers-section" => remove_producers_section = true,
            flag if flag.starts_with('-') => {
                return Err(format!("{flag} is not an option of facecloak-bindgen\n{USAGE}"));
            }
            path if input.is_none() => input = Some(PathBuf::from(path)),
            extra => return Err(format!("one input only, and {extra} is a second\n{USAGE}")),
        }
    }
    // `--target web`: an ES module with an explicit `init()`, which a module worker wants. The
    // build uses no other target, and refusing the others keeps the options honest.
    match target.as_deref() {
        Some("web") => {}
        Some(other) => return Err(format!("--target {other}: only `web` is supported\n{USAGE}")),
        None => return Err(format!("--target is missing\n{USAGE}")),
    }
    Ok(Options {
        input: input.ok_or_else(|| format!("the input .wasm is missing\n{USAGE}"))?,
        out_dir: out_dir.ok_or_else(|| format!("--out-dir is missing\n{USAGE}"))?,
        out_name,
        remove_name_section,
        remove_producers_section,
    })
}

fn main() -> ExitCode {
    let options = match parse(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("facecloak-bindgen: {message}");
            return ExitCode::from(2);
        }
    };
    let mut bindgen = Bindgen::new();
    let generated = bindgen
        .web(true)
        .map(|bindgen| {
            bindgen.input_path(&options.input);
            if let Some(name) = &options.out_name {
                bindgen.out_name(name);
            }
            bindgen
                .remove_name_section(options.remove_name_section)
                .remove_producers_section(options.remove_producers_section)
                .typescript(true)
                // The CLI's default: without `--omit-default-module-path`, `init()` called
                // with no argument fetches `<stem>_bg.wasm` beside the glue
                // (`new URL(…, import.meta.url)`). The library's own default omits it.
                .omit_default_module_path(false)
        })
        .and_then(|bindgen| bindgen.generate(&options.out_dir));
    match generated {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("facecloak-bindgen: {}: {error:?}", options.input.display());
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn reads_the_release_builds_arguments() {
        let options =
            parse(args("--target web --out-dir web/pkg --out-name m_threads --remove-name-section --remove-producers-section m.wasm"))
                .unwrap();
        assert_eq!(
            options,
            Options {
                input: "m.wasm".into(),
                out_dir: "web/pkg".into(),
                out_name: Some("m_threads".into()),
                remove_name_section: true,
                remove_producers_section: true,
            }
        );
    }

    #[test]
    fn refuses_what_it_would_not_do() {
        for (line, says) in [
            ("--target web --out-dir o --debug m.wasm", "--debug is not an option"),
            ("--target bundler --out-dir o m.wasm", "only `web`"),
            ("--out-dir o m.wasm", "--target is missing"),
            ("--target web m.wasm", "--out-dir is missing"),
            ("--target web --out-dir o", "input .wasm is missing"),
            ("--target web --out-dir o a.wasm b.wasm", "b.wasm is a second"),
            ("--target web --out-dir", "--out-dir needs a value"),
            ("--target web --out-dir o m.wasm --out-name", "--out-name needs a value"),
        ] {
            let error = parse(args(line)).unwrap_err();
            assert!(error.contains(says), "{line}: {error}");
        }
    }
}
