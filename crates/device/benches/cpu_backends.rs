//! Which of burn's CPU backends should facecloak fall back to? Times the operations that
//! dominate its networks, forward and forward + gradient with respect to the input, on flex and
//! on ndarray in the same run, and prints the ratio.
//!
//! `cargo bench -p facecloak-device --bench cpu_backends` (add `-- --quick` for one repeat).

use std::time::{Duration, Instant};

use burn::tensor::{Device, Distribution, Tensor, module::conv2d, ops::ConvOptions};
use facecloak_device::{Backend, CpuBackend};

struct Case {
    name: &'static str,
    channels: usize,
    side: usize,
    kernel: usize,
    groups: usize,
}

const CASES: [Case; 3] = [
    Case { name: "conv 3x3, 64->64 @ 56x56", channels: 64, side: 56, kernel: 3, groups: 1 },
    Case { name: "depthwise 3x3, 256 @ 28x28", channels: 256, side: 28, kernel: 3, groups: 256 },
    Case { name: "conv 1x1, 256->256 @ 28x28", channels: 256, side: 28, kernel: 1, groups: 1 },
];

fn time(repeats: usize, mut f: impl FnMut()) -> Duration {
    f(); // warm-up: allocations, thread pools
    let mut times: Vec<Duration> = (0..repeats)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

fn run(case: &Case, device: &Device, backward: bool) {
    let device = device.clone().autodiff();
    let x = Tensor::<4>::random([1, case.channels, case.side, case.side], Distribution::Default, &device);
    let x = if backward { x.require_grad() } else { x };
    let w = Tensor::<4>::random(
        [case.channels, case.channels / case.groups, case.kernel, case.kernel],
        Distribution::Default,
        &device,
    );
    let pad = case.kernel / 2;
    let y = conv2d(x.clone(), w, None, ConvOptions::new([1, 1], [pad, pad], [1, 1], case.groups));
    if backward {
        let grads = y.sum().backward();
        let _ = x.grad(&grads).expect("input gradient").into_data();
    } else {
        let _ = y.into_data();
    }
}

fn main() {
    let repeats = if std::env::args().any(|a| a == "--quick") { 1 } else { 5 };
    let backends = [Backend::cpu(CpuBackend::Flex), Backend::cpu(CpuBackend::NdArray)];
    println!("median of {repeats}, batch 1, f32; ratio = ndarray time / flex time\n");
    println!("{:<30} {:>12} {:>12} {:>12} {:>8}", "operation", "pass", "flex ms", "ndarray ms", "ratio");
    for case in &CASES {
        for backward in [false, true] {
            let ms: Vec<f64> = backends
                .iter()
                .map(|b| time(repeats, || run(case, b.device(), backward)).as_secs_f64() * 1e3)
                .collect();
            let pass = if backward { "fwd+bwd(x)" } else { "forward" };
            println!("{:<30} {:>12} {:>12.2} {:>12.2} {:>7.1}x", case.name, pass, ms[0], ms[1], ms[1] / ms[0]);
        }
    }
}
