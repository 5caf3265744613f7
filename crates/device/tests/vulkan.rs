//! The GPU path natively: wgpu pinned to Vulkan (Mesa's lavapipe on machines without a GPU, as
//! in CI), running the same self-check the browser runs on WebGPU, with the same tolerance.
//!
//! Vulkan is required here, not optional: `scripts/setup` installs lavapipe
//! (`mesa-vulkan-drivers`), and a silently skipped GPU test would hide the very regressions it
//! exists for.

use facecloak_device::{Backend, BackendKind, CpuBackend, selfcheck};

fn vulkan() -> Backend {
    Backend::vulkan().unwrap_or_else(|e| {
        panic!("{e}\nInstall a Vulkan driver; on Debian: apt-get install -y mesa-vulkan-drivers libvulkan1")
    })
}

#[test]
fn vulkan_backend_is_pinned_and_named() {
    let backend = vulkan();
    let info = backend.info();
    assert_eq!(info.kind, BackendKind::Gpu);
    assert_eq!(info.name, "wgpu/vulkan", "the graphics API is pinned, never a silent GL fallback");
    assert!(!info.adapter.is_empty());
    assert_eq!(backend.lost(), None);
    println!("Vulkan adapter: {}", info.adapter);
}

#[test]
fn vulkan_computes_conv_and_input_gradient_like_the_reference_and_the_cpu() {
    let gpu = pollster::block_on(selfcheck::run(&vulkan(), 48, |_| {})).expect("self-check on Vulkan");
    assert!(gpu.passed, "Vulkan: forward error {:.2e}, gradient error {:.2e}", gpu.forward_error, gpu.gradient_error);
    let cpu = pollster::block_on(selfcheck::run(&Backend::cpu(CpuBackend::Flex), 48, |_| {})).unwrap();
    let relative = (gpu.loss - cpu.loss).abs() / cpu.loss;
    assert!(relative < 1e-5, "GPU loss {} vs CPU loss {}", gpu.loss, cpu.loss);
}
