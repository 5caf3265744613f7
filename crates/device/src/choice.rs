//! Which backend to run on when both work: the faster one, by measurement.
//!
//! A GPU is not always the faster: a software GPU (SwiftShader in a browser, lavapipe natively)
//! is many times slower than burn's CPU backend on the same cores, and a weak integrated GPU may
//! be too. So where both start, the engine times the same work on each
//! (`facecloak_protect::step_time`: one search step's recognizer passes) and runs on the faster.
//! The rule is here, once, for the CLI (`--backend auto`) and the browser's worker, which
//! remembers the choice per adapter.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::BackendKind;

/// A measured choice between the GPU and the CPU, and the numbers it rests on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
pub struct BackendChoice {
    /// The faster of the two (the CPU on a tie, or when a time is not a number).
    pub chosen: BackendKind,
    /// One search step's recognizer passes on the GPU, in milliseconds.
    pub gpu_ms: f64,
    /// The same on the CPU.
    pub cpu_ms: f64,
    /// The threads the CPU time was measured with.
    pub cpu_threads: u32,
    /// The GPU adapter measured, as its driver names it: a different adapter is measured anew.
    pub adapter: String,
    /// Measured on an earlier visit and remembered (the browser), rather than just now.
    pub remembered: bool,
    /// The choice and its numbers in words (its `Display`), for pages that cannot call Rust.
    pub summary: String,
}

impl BackendChoice {
    /// The choice the two times make.
    pub fn between(adapter: impl Into<String>, gpu_ms: f64, cpu_ms: f64, cpu_threads: u32) -> BackendChoice {
        // `<` is false for NaN: a time that could not be taken never wins.
        let chosen = if gpu_ms < cpu_ms { BackendKind::Gpu } else { BackendKind::Cpu };
        BackendChoice {
            chosen,
            gpu_ms,
            cpu_ms,
            cpu_threads,
            adapter: adapter.into(),
            remembered: false,
            summary: String::new(),
        }
        .summarised()
    }

    /// The same choice, said to be remembered from an earlier measurement (or not).
    pub fn remembered(mut self, remembered: bool) -> BackendChoice {
        self.remembered = remembered;
        self.summarised()
    }

    fn summarised(mut self) -> BackendChoice {
        self.summary = self.to_string();
        self
    }
}

fn seconds(ms: f64) -> String {
    if ms < 1000.0 { format!("{ms:.0} ms") } else { format!("{:.1} s", ms / 1000.0) }
}

impl fmt::Display for BackendChoice {
    /// Why, in words: "the CPU: a search step's recognizer passes took 0.8 s on it (2 threads)
    /// and 15.3 s on the GPU (SwiftShader …), measured on this device".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let cpu = format!(
            "{} on the CPU ({} thread{})",
            seconds(self.cpu_ms),
            self.cpu_threads,
            if self.cpu_threads == 1 { "" } else { "s" }
        );
        let gpu = format!("{} on the GPU ({})", seconds(self.gpu_ms), self.adapter);
        let (winner, first, second) = match self.chosen {
            BackendKind::Gpu => ("the GPU", gpu, cpu),
            BackendKind::Cpu => ("the CPU", cpu, gpu),
        };
        let when = if self.remembered { "measured on an earlier visit" } else { "just measured" };
        write!(f, "{winner}, the faster here: a search step's recognizer passes took {first} and {second} ({when})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_faster_wins_and_a_missing_time_never_does() {
        assert_eq!(BackendChoice::between("a", 10.0, 20.0, 2).chosen, BackendKind::Gpu);
        assert_eq!(BackendChoice::between("a", 30.0, 20.0, 2).chosen, BackendKind::Cpu);
        assert_eq!(BackendChoice::between("a", 20.0, 20.0, 2).chosen, BackendKind::Cpu);
        assert_eq!(BackendChoice::between("a", f64::NAN, 20.0, 2).chosen, BackendKind::Cpu);
        assert_eq!(BackendChoice::between("a", 10.0, f64::NAN, 2).chosen, BackendKind::Cpu);
    }

    #[test]
    fn says_why_with_both_numbers() {
        let choice = BackendChoice::between("SwiftShader Device", 15_300.0, 812.0, 2);
        assert_eq!(choice.summary, choice.to_string());
        assert!(choice.clone().remembered(true).summary.ends_with("(measured on an earlier visit)"));
        assert_eq!(
            choice.to_string(),
            "the CPU, the faster here: a search step's recognizer passes took 812 ms on the CPU (2 threads) \
             and 15.3 s on the GPU (SwiftShader Device) (just measured)"
        );
    }
}
