//! burn's kernel fusion on the GPU path (Vulkan; lavapipe in CI), counted with
//! [`facecloak_device::dispatches::Watch`].
//!
//! Fusion is chosen once per process (burn reads `BURN_FUSION_MAX_EXPLORATIONS` when its GPU
//! runtime starts), so the comparison runs this binary's counting test twice as a child
//! process: once as it is, once with fusion turned off. Its own binary, so that no other test's
//! kernels land in the count.

use std::process::Command;

use burn::tensor::{Tensor, TensorData};
use facecloak_device::Backend;
use facecloak_device::dispatches::Watch;

/// The kernels that 12 element-wise operations and a sum ending in one read launch, counted
/// after a warm-up run (the first run compiles them). Printed for the parent test.
#[test]
#[ignore = "run by fusion_cuts_the_kernels_of_an_element_wise_chain, in a process of its own"]
fn count_the_kernels_of_an_element_wise_chain() {
    let backend = Backend::vulkan().expect("Vulkan (lavapipe: apt-get install -y mesa-vulkan-drivers libvulkan1)");
    let device = backend.device();
    let x = Tensor::<2>::from_data(TensorData::new((0..4096).map(|i| i as f32 / 4096.0).collect(), [64, 64]), device);
    let run = |x: Tensor<2>| {
        let y = ((x.clone() * 2.0 + 1.0).exp() - x.clone()).sqrt() * 0.5 + x.clone().sin() - 0.25;
        let z = (y.clone() * y).tanh() + x;
        let data = pollster::block_on(z.sum().into_data_async()).expect("read back");
        data.try_into_vec::<f32>().expect("f32")
    };
    let warm = run(x.clone());
    let watch = Watch::start();
    let again = run(x);
    let launched = watch.launched();
    // The same value, to rounding: the warm-up run is where fusion explores (and autotune
    // times) its candidates, so the two runs may execute differently built kernels and sum in
    // another order (5591.2275 against 5591.228 was seen), but never compute something else.
    let close = warm.len() == 1 && again.len() == 1 && (warm[0] - again[0]).abs() <= 1e-5 * warm[0].abs();
    assert!(close, "the same chain gave another sum: {warm:?} then {again:?}");
    println!("launched {launched}");
}

fn launched(fusion: bool) -> u64 {
    let mut child = Command::new(std::env::current_exe().expect("this test binary"));
    child.args(["--exact", "count_the_kernels_of_an_element_wise_chain", "--include-ignored", "--nocapture"]);
    if !fusion {
        child.env("BURN_FUSION_MAX_EXPLORATIONS", "0");
    } else {
        child.env_remove("BURN_FUSION_MAX_EXPLORATIONS");
    }
    let out = child.output().expect("run the counting test");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the counting test failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    stdout
        .lines()
        .find_map(|line| line.strip_prefix("launched ")?.trim().parse().ok())
        .unwrap_or_else(|| panic!("no count in:\n{stdout}"))
}

#[test]
fn fusion_cuts_the_kernels_of_an_element_wise_chain() {
    let (fused, unfused) = (launched(true), launched(false));
    println!("element-wise chain: {fused} kernels fused, {unfused} unfused");
    // Unfused, every operation is a kernel of its own (13, or more where an op takes two).
    assert!(unfused >= 12, "{unfused} kernels unfused: the count misses launches");
    assert!(fused * 3 <= unfused, "{fused} kernels fused against {unfused} unfused: fusion is off");
}
