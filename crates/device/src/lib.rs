//! # facecloak-device: where facecloak's math runs, and proof that it runs right
//!
//! Every model facecloak runs is plain burn code that takes a [`burn::tensor::Device`]. This
//! crate is the one place that decides *which* device that is and tells the user what it
//! decided: WebGPU in the browser, Vulkan natively (lavapipe in tests), or burn's CPU backend
//! as the fallback everywhere. A choice is never silent: a [`Backend`] carries a
//! [`BackendInfo`] naming the backend, the adapter, and — when the GPU was wanted but not had —
//! the reason it fell back.
//!
//! It also owns the [`selfcheck`]: a small convolution and its gradient with respect to the
//! input, computed on the chosen device and compared against a plain-Rust f64 reference. It is
//! the first real computation through the whole stack (CLI, worker, page) and the warm-up that
//! proves a device computes forward *and* backward passes correctly before we trust it with a
//! face.
//!
//! What it refuses to do: know anything of faces, files, wasm-bindgen or JavaScript. The
//! browser-specific part is one async constructor ([`Backend::webgpu`]); everything else builds
//! and is tested natively.

pub mod choice;
#[cfg(not(all(target_family = "wasm", target_feature = "atomics")))]
pub mod dispatches;
pub mod selfcheck;

pub use choice::BackendChoice;

use std::fmt;
use std::sync::{Arc, Mutex};

use burn::tensor::Device;
use serde::Serialize;

/// Which family of burn backend a [`Backend`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// A GPU (or a software GPU such as SwiftShader or lavapipe) through wgpu.
    Gpu,
    /// burn's CPU backend.
    Cpu,
}

/// burn's CPU backends that facecloak can run on.
///
/// Flex is the default: it is burn's maintained pure-Rust CPU backend, it runs in wasm, and
/// the `cpu_backends` bench measures it against ndarray on the operations our networks use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CpuBackend {
    /// `burn-flex`: pure Rust, SIMD, multi-threaded natively.
    #[default]
    Flex,
    /// `burn-ndarray` (deprecated by burn 0.22; native only, kept for comparison).
    #[cfg(not(target_family = "wasm"))]
    NdArray,
}

/// What a [`Backend`] is, in words a person (and a test) can check.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, ts_rs::TS)]
pub struct BackendInfo {
    /// GPU or CPU.
    pub kind: BackendKind,
    /// Short name of the burn backend and graphics API, e.g. `wgpu/vulkan`, `wgpu/webgpu`, `flex`.
    pub name: String,
    /// The adapter as the driver names it (e.g. `llvmpipe (LLVM 15.0.6, 256 bits)`), or the
    /// CPU backend's description.
    pub adapter: String,
    /// Set when a GPU was wanted but this backend is the fallback: why the GPU was not used.
    pub fallback_reason: Option<String>,
    /// The threads CPU work runs on (rayon's pool): every core natively, the browser's worker
    /// pool in the threaded web build, 1 in the single-thread web build. Face finding is CPU
    /// work on every backend.
    pub threads: u32,
    /// Set when the backend was chosen by measuring it against the other (`auto` where both
    /// start): the times and the choice.
    pub choice: Option<BackendChoice>,
}

/// The size of rayon's global pool, which burn's CPU backend and our kernels compute on.
///
/// In the threaded web build this must not run before the worker has built the pool
/// (`initThreadPool`): rayon's first use would settle on a pool of one thread for good.
pub fn cpu_threads() -> u32 {
    u32::try_from(rayon::current_num_threads()).unwrap_or(u32::MAX)
}

/// Whether `device` (or the device its autodiff wraps) is burn's Flex CPU backend: where work
/// split into independent graphs runs on the cores at once, while on a GPU one graph is fewer
/// dispatches.
pub fn on_flex(device: &Device) -> bool {
    device.clone().inner() == Device::flex()
}

impl fmt::Display for BackendInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}; {} CPU thread{})",
            self.name,
            self.adapter,
            self.threads,
            if self.threads == 1 { "" } else { "s" }
        )?;
        if let Some(reason) = &self.fallback_reason {
            write!(f, "; fell back to the CPU because {reason}")?;
        }
        if let Some(choice) = &self.choice {
            write!(f, "; chose {choice}")?;
        }
        Ok(())
    }
}

/// Why a GPU backend could not be started.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// wgpu found no adapter, or refused the device we asked for.
    #[error("could not start the {api} GPU backend: {message}")]
    GpuUnavailable {
        /// The graphics API that was asked for.
        api: &'static str,
        /// wgpu's own explanation.
        message: String,
    },
}

/// A burn device together with what it is.
#[derive(Debug, Clone)]
pub struct Backend {
    device: Device,
    info: BackendInfo,
    /// Set by wgpu when the GPU device is lost (driver reset, tab in the background too long,
    /// `destroy()`): every later operation on it would fail, so callers check this and move to
    /// the CPU. Always `None` on the CPU.
    lost: Arc<Mutex<Option<String>>>,
}

/// Runs the module's static constructors, once (single-thread web build; elsewhere nothing).
///
/// That build links crates that register themselves from constructors (`inventory`, through
/// burn's GPU compiler: ~4,900 of them). wasm-ld calls a module a command unless its code calls
/// `__wasm_call_ctors` itself, and then wraps every export in a call of all of them: every
/// `__wbindgen_malloc`, every JavaScript value handed to Rust. In the dev web build a search
/// step's progress report took 70 ms that way, a tenth of the step; in the production build,
/// where wasm-opt makes the constructors cheaper, the work after the last step took ~80 ms
/// longer (headless Chromium, 2 cores). The call here is what keeps the linker from wrapping
/// (`scripts/build.mjs` refuses a module whose exports are wrapped), so the constructors must
/// then run before anything needs them: the web module's start function calls this, and so
/// does every [`Backend`] constructor, for wasm-bindgen-test, which skips start functions. The threaded build's exports were never wrapped (it is linked
/// with shared memory), and there this does nothing.
pub fn run_constructors_once() {
    #[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
    {
        unsafe extern "C" {
            fn __wasm_call_ctors();
        }
        static ONCE: std::sync::Once = std::sync::Once::new();
        // SAFETY: the linker's own function, which nothing else calls now, run once per instance.
        ONCE.call_once(|| unsafe { __wasm_call_ctors() });
    }
}

impl Backend {
    /// burn's CPU backend. Always available.
    pub fn cpu(which: CpuBackend) -> Self {
        run_constructors_once();
        let (device, name, adapter) = match which {
            CpuBackend::Flex => (Device::flex(), "flex", "burn-flex (pure Rust, SIMD)"),
            #[cfg(not(target_family = "wasm"))]
            #[allow(deprecated)] // kept on purpose, see `CpuBackend::NdArray`
            CpuBackend::NdArray => (Device::ndarray(), "ndarray", "burn-ndarray"),
        };
        Backend {
            device,
            info: BackendInfo {
                kind: BackendKind::Cpu,
                name: name.to_owned(),
                adapter: adapter.to_owned(),
                fallback_reason: None,
                threads: cpu_threads(),
                choice: None,
            },
            lost: Arc::default(),
        }
    }

    /// The CPU backend, standing in for a GPU that could not be had, and saying why.
    pub fn cpu_fallback(reason: impl Into<String>) -> Self {
        let mut backend = Self::cpu(CpuBackend::default());
        backend.info.fallback_reason = Some(reason.into());
        backend
    }

    /// wgpu pinned to Vulkan (native only).
    ///
    /// Pinned, not `Auto`: with no Vulkan driver cubecl would otherwise quietly settle on GL,
    /// and a test meant to cover Vulkan would cover something else. wgpu's runtime can be
    /// initialised once per process, so the first successful call is remembered and later
    /// calls return the same device; a failed one can be retried.
    #[cfg(not(target_family = "wasm"))]
    pub fn vulkan() -> Result<Self, DeviceError> {
        use burn::tensor::wgpu::WgpuBackend;

        // Held across initialisation, so that two threads asking at once get one device
        // rather than one device and an "already initialized" error.
        static VULKAN: Mutex<Option<Backend>> = Mutex::new(None);
        let mut slot = VULKAN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(backend) = slot.as_ref() {
            return Ok(backend.clone());
        }
        let (device, setup) = Device::wgpu_options()
            .graphics_api(WgpuBackend::Vulkan)
            .init_with_setup()
            .map_err(|e| DeviceError::GpuUnavailable { api: "Vulkan", message: e.to_string() })?;
        let adapter = setup.adapter.get_info();
        let backend = Backend {
            device,
            info: BackendInfo {
                kind: BackendKind::Gpu,
                name: format!("wgpu/{}", adapter.backend.to_str()),
                adapter: format!("{} ({})", adapter.name, adapter.driver_info).trim().to_owned(),
                fallback_reason: None,
                threads: cpu_threads(),
                choice: None,
            },
            lost: watch_for_loss(&setup.device),
        };
        *slot = Some(backend.clone());
        Ok(backend)
    }

    /// wgpu on the browser's WebGPU, initialised asynchronously as the browser requires.
    ///
    /// `adapter` is the description that JavaScript read from `GPUAdapter.info` (wgpu does not
    /// expose it on the web), so the page can say which adapter really ran.
    #[cfg(all(target_family = "wasm", not(target_feature = "atomics")))]
    pub async fn webgpu(adapter: String) -> Result<Self, DeviceError> {
        use burn::tensor::wgpu::WgpuBackend;
        run_constructors_once();

        // burn registers one runtime per device for the life of the module: a second
        // initialisation fails ("a server is still registered"), so later callers share the first.
        static WEBGPU: Mutex<Option<Backend>> = Mutex::new(None);
        if let Some(backend) = WEBGPU.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).as_ref() {
            return Ok(backend.clone());
        }
        let (device, setup) = Device::wgpu_options()
            .graphics_api(WgpuBackend::WebGpu)
            .init_with_setup_async()
            .await
            .map_err(|e| DeviceError::GpuUnavailable { api: "WebGPU", message: e.to_string() })?;
        let backend = Backend {
            device,
            info: BackendInfo {
                kind: BackendKind::Gpu,
                name: "wgpu/webgpu".to_owned(),
                adapter,
                fallback_reason: None,
                threads: cpu_threads(),
                choice: None,
            },
            lost: watch_for_loss(&setup.device),
        };
        *WEBGPU.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(backend.clone());
        Ok(backend)
    }

    /// This backend, marked as the one `choice` chose.
    pub fn with_choice(mut self, choice: BackendChoice) -> Self {
        self.info.choice = Some(choice);
        self
    }

    /// The burn device (without autodiff; call `.autodiff()` where gradients are needed).
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// What this backend is.
    pub fn info(&self) -> &BackendInfo {
        &self.info
    }

    /// Why the GPU device was lost, once it has been; `None` while it is usable.
    pub fn lost(&self) -> Option<String> {
        self.lost.lock().map(|lost| lost.clone()).unwrap_or_else(|poisoned| poisoned.into_inner().clone())
    }
}

/// Registers wgpu's device-lost callback, which records why.
#[cfg(not(all(target_family = "wasm", target_feature = "atomics")))]
fn watch_for_loss(device: &burn::tensor::wgpu::wgpu::Device) -> Arc<Mutex<Option<String>>> {
    let lost = Arc::new(Mutex::new(None));
    let record = Arc::clone(&lost);
    device.set_device_lost_callback(move |reason, message| {
        let why = format!("{reason:?}: {message}");
        match record.lock() {
            Ok(mut slot) => *slot = Some(why),
            Err(poisoned) => *poisoned.into_inner() = Some(why),
        }
    });
    lost
}
