//! The self-check: a 3×3 convolution and its gradient with respect to the input, on the chosen
//! device, compared with a plain-Rust f64 reference.
//!
//! Why this computation: the protection engine's inner loop is exactly "run convolutions
//! forward, differentiate a scalar loss back to the image". If a device gets either direction
//! wrong (a shader miscompiled by a driver, a missing backward kernel, a CPU backend whose input
//! gradient is unusably slow), this is the cheapest place to find out, and it finds out with
//! numbers, not with a crash deep inside a face model.
//!
//! The loss is `L = ½ Σ y²` with `y = conv2d(x, w) + b` (stride 1, zero padding 1), so
//! `∂L/∂y = y` and `∂L/∂x` is the convolution's adjoint applied to `y`. The reference computes
//! both directly in f64; its own gradient is checked against finite differences in the tests.

use burn::tensor::{Tensor, TensorData, module::conv2d, ops::ConvOptions};
use serde::Serialize;
use web_time::Instant;

use crate::{Backend, BackendInfo};

/// Input channels (RGB).
pub const CHANNELS_IN: usize = 3;
/// Output channels: two edge detectors (shown on the page) and six pseudo-random filters.
pub const CHANNELS_OUT: usize = 8;
/// Kernel size.
pub const KERNEL: usize = 3;
/// Smallest and largest image side the self-check accepts.
pub const SIZE_RANGE: std::ops::RangeInclusive<usize> = 8..=512;
/// Default image side.
pub const DEFAULT_SIZE: usize = 64;
/// Largest accepted relative error (max abs error ÷ max abs reference value). f32 sums of at
/// most 72 terms stay far below this; a wrong kernel lands far above it.
pub const TOLERANCE: f64 = 1e-4;

/// Steps of the self-check, reported as they start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Copying the input and weights to the device.
    Upload,
    /// The convolution.
    Forward,
    /// The gradient with respect to the input.
    Backward,
    /// The f64 reference and the comparison.
    Compare,
}

impl Phase {
    /// All phases, in order.
    pub const ALL: [Phase; 4] = [Phase::Upload, Phase::Forward, Phase::Backward, Phase::Compare];
}

/// What went wrong in a self-check.
#[derive(Debug, thiserror::Error)]
pub enum SelfCheckError {
    /// The requested image side is outside [`SIZE_RANGE`].
    #[error("self-check size must be between {} and {} pixels, got {got}", SIZE_RANGE.start(), SIZE_RANGE.end())]
    InvalidSize {
        /// The size that was asked for.
        got: usize,
    },
    /// The device failed while computing or reading back a result.
    #[error("the {backend} backend failed during the {phase:?} phase: {message}")]
    Execution {
        /// Which backend.
        backend: String,
        /// Which phase.
        phase: Phase,
        /// The backend's explanation.
        message: String,
    },
    /// The GPU device was lost before or during the self-check.
    #[error("the {backend} device was lost ({message})")]
    DeviceLost {
        /// Which backend.
        backend: String,
        /// wgpu's reason.
        message: String,
    },
    /// The device returned no gradient for the input (autodiff was not in effect).
    #[error("the {backend} backend returned no gradient for the input")]
    NoGradient {
        /// Which backend.
        backend: String,
    },
}

/// Progress of a self-check, as each phase starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct CheckProgress {
    /// The phase starting.
    pub phase: Phase,
    /// Its 1-based number.
    pub step: usize,
    /// How many phases there are.
    pub total: usize,
}

impl CheckProgress {
    /// The progress of `phase` starting.
    pub fn of(phase: Phase) -> CheckProgress {
        let step = Phase::ALL.iter().position(|p| *p == phase).map_or(0, |i| i + 1);
        CheckProgress { phase, step, total: Phase::ALL.len() }
    }
}

/// The outcome of a self-check: numbers to trust the device by, and pictures to look at.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct SelfCheckReport {
    /// The backend that computed.
    pub backend: BackendInfo,
    /// Image side in pixels.
    pub size: usize,
    /// The loss `½ Σ y²` as the device computed it.
    pub loss: f64,
    /// The same loss in the f64 reference.
    pub reference_loss: f64,
    /// Relative error of the convolution output against the reference.
    pub forward_error: f64,
    /// Relative error of the input gradient against the reference.
    pub gradient_error: f64,
    /// The tolerance both errors are held to.
    pub tolerance: f64,
    /// Whether both errors are within tolerance.
    pub passed: bool,
    /// Wall time of upload + forward + readback, in milliseconds.
    pub forward_ms: f64,
    /// Wall time of the backward pass + readback, in milliseconds.
    pub backward_ms: f64,
    /// The input image, `size × size` RGB, row-major, interleaved, in 0..=1.
    pub input_rgb: Vec<f32>,
    /// Edge response `√(y₀² + y₁²)` of the two edge filters, `size × size`, scaled to 0..=1.
    pub response: Vec<f32>,
    /// Gradient magnitude `Σ_c |∂L/∂x_c|`, `size × size`, scaled to 0..=1.
    pub gradient: Vec<f32>,
}

/// The problem the self-check solves: input and weights, deterministic for a given size.
#[derive(Debug, Clone)]
pub struct Problem {
    /// Image side.
    pub size: usize,
    /// Input, `[1, CHANNELS_IN, size, size]` (NCHW), in 0..=1.
    pub input: Vec<f32>,
    /// Weights, `[CHANNELS_OUT, CHANNELS_IN, KERNEL, KERNEL]`.
    pub weight: Vec<f32>,
    /// Bias, `[CHANNELS_OUT]`.
    pub bias: Vec<f32>,
}

impl Problem {
    /// A colourful synthetic image with edges of every orientation, two Sobel filters on its
    /// luminance, and pseudo-random filters drawn from a fixed-seed generator.
    pub fn new(size: usize) -> Result<Self, SelfCheckError> {
        if !SIZE_RANGE.contains(&size) {
            return Err(SelfCheckError::InvalidSize { got: size });
        }
        let mut rng = SplitMix64(0xface_c10a_u64);
        let n = size as f32;
        let mut input = vec![0.0f32; CHANNELS_IN * size * size];
        for y in 0..size {
            for x in 0..size {
                let (u, v) = (x as f32 / n, y as f32 / n);
                let (du, dv) = (u - 0.5, v - 0.45);
                let inside = (du * du / 0.09 + dv * dv / 0.14) < 1.0;
                let rgb = [
                    0.5 + 0.45 * (std::f32::consts::TAU * (2.0 * u + v)).sin(),
                    if inside { 0.85 } else { 0.2 + 0.3 * v },
                    if ((x * 8 / size) + (y * 8 / size)).is_multiple_of(2) { 0.7 } else { 0.25 },
                ];
                for (c, value) in rgb.into_iter().enumerate() {
                    let noise = (rng.next_f32() - 0.5) * 0.02;
                    input[(c * size + y) * size + x] = (value + noise).clamp(0.0, 1.0);
                }
            }
        }

        // ITU-R BT.601 luma weights, so the first two filters are Sobel on luminance.
        const LUMA: [f32; 3] = [0.299, 0.587, 0.114];
        const SOBEL_X: [f32; 9] = [-1.0, 0.0, 1.0, -2.0, 0.0, 2.0, -1.0, 0.0, 1.0];
        const SOBEL_Y: [f32; 9] = [-1.0, -2.0, -1.0, 0.0, 0.0, 0.0, 1.0, 2.0, 1.0];
        let taps = KERNEL * KERNEL;
        let mut weight = vec![0.0f32; CHANNELS_OUT * CHANNELS_IN * taps];
        for (o, chunk) in weight.chunks_mut(CHANNELS_IN * taps).enumerate() {
            for c in 0..CHANNELS_IN {
                for k in 0..taps {
                    chunk[c * taps + k] = match o {
                        0 => SOBEL_X[k] * LUMA[c],
                        1 => SOBEL_Y[k] * LUMA[c],
                        _ => rng.next_f32() - 0.5,
                    };
                }
            }
        }
        let bias = (0..CHANNELS_OUT).map(|o| if o < 2 { 0.0 } else { 0.1 * (rng.next_f32() - 0.5) }).collect();
        Ok(Problem { size, input, weight, bias })
    }

    fn out_len(&self) -> usize {
        CHANNELS_OUT * self.size * self.size
    }
}

/// The f64 reference: convolution output and input gradient of `½ Σ y²`.
#[derive(Debug, Clone)]
pub struct Reference {
    /// `[CHANNELS_OUT, size, size]`.
    pub output: Vec<f64>,
    /// `[CHANNELS_IN, size, size]`.
    pub gradient: Vec<f64>,
    /// `½ Σ y²`.
    pub loss: f64,
}

impl Reference {
    /// Direct (loop) convolution and its adjoint, in f64.
    pub fn compute(p: &Problem) -> Self {
        let s = p.size as isize;
        let pad = (KERNEL / 2) as isize;
        let at_w = |o: usize, c: usize, ky: usize, kx: usize| {
            p.weight[((o * CHANNELS_IN + c) * KERNEL + ky) * KERNEL + kx] as f64
        };
        let mut output = vec![0.0f64; p.out_len()];
        for o in 0..CHANNELS_OUT {
            for y in 0..s {
                for x in 0..s {
                    let mut acc = p.bias[o] as f64;
                    for c in 0..CHANNELS_IN {
                        for ky in 0..KERNEL {
                            for kx in 0..KERNEL {
                                let (iy, ix) = (y + ky as isize - pad, x + kx as isize - pad);
                                if (0..s).contains(&iy) && (0..s).contains(&ix) {
                                    let xi = p.input[(c * p.size + iy as usize) * p.size + ix as usize];
                                    acc += xi as f64 * at_w(o, c, ky, kx);
                                }
                            }
                        }
                    }
                    output[(o * p.size + y as usize) * p.size + x as usize] = acc;
                }
            }
        }
        // ∂L/∂y = y, and ∂L/∂x[c, iy, ix] = Σ over the outputs that read x[c, iy, ix].
        let mut gradient = vec![0.0f64; p.input.len()];
        for o in 0..CHANNELS_OUT {
            for y in 0..s {
                for x in 0..s {
                    let g = output[(o * p.size + y as usize) * p.size + x as usize];
                    for c in 0..CHANNELS_IN {
                        for ky in 0..KERNEL {
                            for kx in 0..KERNEL {
                                let (iy, ix) = (y + ky as isize - pad, x + kx as isize - pad);
                                if (0..s).contains(&iy) && (0..s).contains(&ix) {
                                    gradient[(c * p.size + iy as usize) * p.size + ix as usize] +=
                                        g * at_w(o, c, ky, kx);
                                }
                            }
                        }
                    }
                }
            }
        }
        let loss = 0.5 * output.iter().map(|y| y * y).sum::<f64>();
        Reference { output, gradient, loss }
    }
}

/// Runs the self-check on `backend`, calling `progress` as each [`Phase`] starts.
///
/// Async because a browser can only read GPU results back asynchronously; natively, drive it
/// with any executor (`pollster::block_on`).
pub async fn run(
    backend: &Backend,
    size: usize,
    mut progress: impl FnMut(Phase),
) -> Result<SelfCheckReport, SelfCheckError> {
    let problem = Problem::new(size)?;
    let name = backend.info().name.clone();
    // A lost device explains any failure better than the failure itself does.
    let lost = || backend.lost().map(|message| SelfCheckError::DeviceLost { backend: name.clone(), message });
    if let Some(error) = lost() {
        return Err(error);
    }
    let failed = |phase: Phase| {
        let backend = name.clone();
        move |e: burn::tensor::ExecutionError| {
            lost().unwrap_or(SelfCheckError::Execution { backend, phase, message: e.to_string() })
        }
    };

    progress(Phase::Upload);
    let started = Instant::now();
    let device = backend.device().clone().autodiff();
    let s = problem.size;
    let x: Tensor<4> =
        Tensor::from_data(TensorData::new(problem.input.clone(), [1, CHANNELS_IN, s, s]), &device).require_grad();
    let w: Tensor<4> = Tensor::from_data(
        TensorData::new(problem.weight.clone(), [CHANNELS_OUT, CHANNELS_IN, KERNEL, KERNEL]),
        &device,
    );
    let b: Tensor<1> = Tensor::from_data(TensorData::new(problem.bias.clone(), [CHANNELS_OUT]), &device);

    progress(Phase::Forward);
    let pad = KERNEL / 2;
    let y = conv2d(x.clone(), w, Some(b), ConvOptions::new([1, 1], [pad, pad], [1, 1], 1));
    let loss = y.clone().square().sum().mul_scalar(0.5);
    let output = y.into_data_async().await.map_err(failed(Phase::Forward))?;
    let forward_ms = started.elapsed().as_secs_f64() * 1e3;

    progress(Phase::Backward);
    let started = Instant::now();
    let grads = loss.backward();
    let gradient = x
        .grad(&grads)
        .ok_or_else(|| SelfCheckError::NoGradient { backend: name.clone() })?
        .into_data_async()
        .await
        .map_err(failed(Phase::Backward))?;
    let backward_ms = started.elapsed().as_secs_f64() * 1e3;

    progress(Phase::Compare);
    let output = floats(&output, &name, Phase::Forward)?;
    let gradient = floats(&gradient, &name, Phase::Backward)?;
    let reference = Reference::compute(&problem);
    let forward_error = relative_error(&output, &reference.output);
    let gradient_error = relative_error(&gradient, &reference.gradient);
    let loss = 0.5 * output.iter().map(|&y| (y as f64) * (y as f64)).sum::<f64>();

    let plane = s * s;
    let response = normalised((0..plane).map(|i| output[i].hypot(output[plane + i])));
    let gradient_map = normalised((0..plane).map(|i| (0..CHANNELS_IN).map(|c| gradient[c * plane + i].abs()).sum()));
    let input_rgb = (0..plane)
        .flat_map(|i| (0..CHANNELS_IN).map(move |c| (c, i)))
        .map(|(c, i)| problem.input[c * plane + i])
        .collect();

    Ok(SelfCheckReport {
        backend: backend.info().clone(),
        size: s,
        loss,
        reference_loss: reference.loss,
        forward_error,
        gradient_error,
        tolerance: TOLERANCE,
        passed: forward_error <= TOLERANCE && gradient_error <= TOLERANCE,
        forward_ms,
        backward_ms,
        input_rgb,
        response,
        gradient: gradient_map,
    })
}

fn floats(data: &TensorData, backend: &str, phase: Phase) -> Result<Vec<f32>, SelfCheckError> {
    data.as_slice::<f32>().map(<[f32]>::to_vec).map_err(|e| SelfCheckError::Execution {
        backend: backend.to_owned(),
        phase,
        message: format!("result is not f32: {e:?}"),
    })
}

/// `max |a − b| / max |b|`: the error relative to the scale of the reference, so that it means
/// the same for outputs near zero and far from it.
pub fn relative_error(actual: &[f32], reference: &[f64]) -> f64 {
    if actual.len() != reference.len() {
        return f64::INFINITY;
    }
    let scale = reference.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(f64::MIN_POSITIVE);
    // `f64::max` skips NaN, so a NaN (a kernel reading garbage) is caught explicitly.
    let mut worst = 0.0f64;
    for (&a, &r) in actual.iter().zip(reference) {
        let error = (a as f64 - r).abs();
        if error.is_nan() {
            return f64::INFINITY;
        }
        worst = worst.max(error);
    }
    worst / scale
}

fn normalised(values: impl Iterator<Item = f32>) -> Vec<f32> {
    let values: Vec<f32> = values.collect();
    let max = values.iter().copied().fold(0.0f32, f32::max);
    if max > 0.0 { values.iter().map(|v| v / max).collect() } else { values }
}

/// A tiny, fixed-seed generator (SplitMix64): the self-check must be the same problem on every
/// device and every run, and needs no `rand` for that.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_f32(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 40) as f32 / (1u64 << 24) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CpuBackend;

    fn check(backend: &Backend, size: usize) -> SelfCheckReport {
        let mut phases = Vec::new();
        let report = pollster::block_on(run(backend, size, |p| phases.push(p))).expect("self-check runs");
        assert_eq!(phases, Phase::ALL, "every phase is reported, in order");
        assert!(
            report.passed,
            "{}: forward error {:.2e}, gradient error {:.2e}, tolerance {:.0e}",
            report.backend.name, report.forward_error, report.gradient_error, TOLERANCE
        );
        assert_eq!(report.input_rgb.len(), size * size * 3);
        assert_eq!(report.response.len(), size * size);
        assert_eq!(report.gradient.len(), size * size);
        report
    }

    #[test]
    fn flex_matches_the_f64_reference_forward_and_backward() {
        let report = check(&Backend::cpu(CpuBackend::Flex), 40);
        assert!((report.loss - report.reference_loss).abs() <= 1e-4 * report.reference_loss);
    }

    #[test]
    fn ndarray_matches_the_f64_reference_forward_and_backward() {
        check(&Backend::cpu(CpuBackend::NdArray), 33);
    }

    #[test]
    fn cpu_fallback_says_why() {
        let backend = Backend::cpu_fallback("no adapter");
        assert_eq!(backend.info().kind, crate::BackendKind::Cpu);
        assert_eq!(backend.info().fallback_reason.as_deref(), Some("no adapter"));
        assert!(backend.info().to_string().contains("fell back to the CPU because no adapter"));
    }

    #[test]
    fn sizes_outside_the_range_are_typed_errors() {
        for size in [0, 7, 513, usize::MAX] {
            let err = pollster::block_on(run(&Backend::cpu(CpuBackend::Flex), size, |_| {})).unwrap_err();
            assert!(matches!(err, SelfCheckError::InvalidSize { got } if got == size), "{err}");
        }
    }

    /// The reference's gradient is what the devices are judged by, so it is itself checked
    /// against central finite differences of its own loss, in f64.
    #[test]
    fn reference_gradient_matches_finite_differences() {
        let problem = Problem::new(9).unwrap();
        let analytic = Reference::compute(&problem).gradient;
        let h = 1e-3f32;
        for index in [0, 4, 40, 81 + 13, 2 * 81 + 80] {
            let mut plus = problem.clone();
            plus.input[index] += h;
            let mut minus = problem.clone();
            minus.input[index] -= h;
            let numeric = (Reference::compute(&plus).loss - Reference::compute(&minus).loss)
                / (plus.input[index] as f64 - minus.input[index] as f64);
            let error = (numeric - analytic[index]).abs() / analytic[index].abs().max(1.0);
            assert!(error < 1e-6, "index {index}: numeric {numeric}, analytic {}", analytic[index]);
        }
    }

    #[test]
    fn a_wrong_result_is_caught() {
        let reference = [1.0, -2.0, 4.0];
        assert!(relative_error(&[1.0, -2.0, 4.0], &reference) == 0.0);
        assert!(relative_error(&[1.0, -2.0, 4.1], &reference) > TOLERANCE);
        assert!(relative_error(&[f32::NAN, -2.0, 4.0], &reference).is_infinite());
        assert!(relative_error(&[1.0], &reference).is_infinite());
    }

    #[test]
    fn the_problem_is_deterministic() {
        let (a, b) = (Problem::new(16).unwrap(), Problem::new(16).unwrap());
        assert_eq!(a.input, b.input);
        assert_eq!(a.weight, b.weight);
        assert!(a.input.iter().all(|v| (0.0..=1.0).contains(v)));
    }
}
