// Generated from the Rust types by facecloak_protect::typescript; do not edit.
// `FACECLOAK_WRITE_TYPES=1 cargo test --workspace --test typescript` writes it again.

/**
 * What analysing a photo found: for the page to draw and choose from.
 */
export type Analysis = { 
/**
 * Width, pixels (upright).
 */
width: number, 
/**
 * Height, pixels.
 */
height: number, 
/**
 * The faces that can be protected, best detection first.
 */
faces: Array<FaceBox>, 
/**
 * Faces found but too small to protect.
 */
too_small: Array<FaceBox>, 
/**
 * The smallest face protected, pixels.
 */
min_face_size: number, };

/**
 * One pigment as applied.
 */
export type AppliedPigment = { 
/**
 * Which product.
 */
name: string, 
/**
 * Whether the request named it (otherwise it aims at the face's own colour).
 */
requested: boolean, 
/**
 * The colour asked for, sRGB 0–255.
 */
target: [number, number, number], 
/**
 * The colour applied, sRGB 0–255.
 */
applied: [number, number, number], 
/**
 * CIEDE2000 between the two.
 */
delta_e: number, 
/**
 * Its largest opacity.
 */
coverage: number, };

/**
 * Which of the loaded recognizers the search attacks.
 */
export type Attack = "keep_judge" | "all";

/**
 * A measured choice between the GPU and the CPU, and the numbers it rests on.
 */
export type BackendChoice = { 
/**
 * The faster of the two (the CPU on a tie, or when a time is not a number).
 */
chosen: BackendKind, 
/**
 * One search step's recognizer passes on the GPU, in milliseconds.
 */
gpu_ms: number, 
/**
 * The same on the CPU.
 */
cpu_ms: number, 
/**
 * The threads the CPU time was measured with.
 */
cpu_threads: number, 
/**
 * The GPU adapter measured, as its driver names it: a different adapter is measured anew.
 */
adapter: string, 
/**
 * Measured on an earlier visit and remembered (the browser), rather than just now.
 */
remembered: boolean, 
/**
 * The choice and its numbers in words (its `Display`), for pages that cannot call Rust.
 */
summary: string, };

/**
 * What a [`Backend`] is, in words a person (and a test) can check.
 */
export type BackendInfo = { 
/**
 * GPU or CPU.
 */
kind: BackendKind, 
/**
 * Short name of the burn backend and graphics API, e.g. `wgpu/vulkan`, `wgpu/webgpu`, `flex`.
 */
name: string, 
/**
 * The adapter as the driver names it (e.g. `llvmpipe (LLVM 15.0.6, 256 bits)`), or the
 * CPU backend's description.
 */
adapter: string, 
/**
 * Set when a GPU was wanted but this backend is the fallback: why the GPU was not used.
 */
fallback_reason: string | null, 
/**
 * The threads CPU work runs on (rayon's pool): every core natively, the browser's worker
 * pool in the threaded web build, 1 in the single-thread web build. Face finding is CPU
 * work on every backend.
 */
threads: number, 
/**
 * Set when the backend was chosen by measuring it against the other (`auto` where both
 * start): the times and the choice.
 */
choice: BackendChoice | null, };

/**
 * Which family of burn backend a [`Backend`] runs on.
 */
export type BackendKind = "gpu" | "cpu";

/**
 * Progress of a self-check, as each phase starts.
 */
export type CheckProgress = { 
/**
 * The phase starting.
 */
phase: Phase, 
/**
 * Its 1-based number.
 */
step: number, 
/**
 * How many phases there are.
 */
total: number, };

/**
 * Settings a researcher may set; each overrides its strength's value.
 */
export type Expert = { 
/**
 * Most search steps per face (1 to [`MAX_STEPS`]).
 */
steps?: number | null, 
/**
 * How far past each recognizer's threshold to push, as a share of 1 − its threshold.
 */
margin?: number | null, 
/**
 * Adam's learning rate on the latent codes.
 */
learning_rate?: number | null, 
/**
 * Weight of the makeup's unnaturalness.
 */
naturalness?: number | null, 
/**
 * Weight of (1 − SSIM) between made-up and original face.
 */
structure?: number | null, 
/**
 * Steps every recognizer must stay past its threshold before stopping early.
 */
patience?: number | null, 
/**
 * No random transformations during the search (faster, less robust).
 */
no_eot: boolean, };

/**
 * A face's box in photo pixels (top-left corner and size) with its detection score.
 */
export type FaceBox = { 
/**
 * Left edge.
 */
x: number, 
/**
 * Top edge.
 */
y: number, 
/**
 * Width.
 */
width: number, 
/**
 * Height.
 */
height: number, 
/**
 * Detection confidence in 0–1.
 */
score: number, };

/**
 * What happened to one face.
 */
export type FaceReport = { 
/**
 * Where it is.
 */
box: FaceBox, 
/**
 * Steps the search took.
 */
steps: number, 
/**
 * Whether every recognizer went past its threshold with margin.
 */
converged: boolean, 
/**
 * Whether the search was cancelled.
 */
cancelled: boolean, 
/**
 * Whether the face was left alone (degenerate landmarks, or cancelled before it).
 */
skipped: boolean, 
/**
 * Seconds spent on it.
 */
seconds: number, 
/**
 * Per recognizer: the attacked ones, then the judges.
 */
recognizers: Array<RecognizerScore>, 
/**
 * The protected face checked against the person's other photos, when any were given.
 */
verification: Verification | null, 
/**
 * Whether it wears the pigments this person wore on an earlier photo of the set.
 */
wore_again: boolean, 
/**
 * The makeup applied; absent when skipped.
 */
look: Look | null, 
/**
 * How natural the result measured; absent when skipped.
 */
naturalness: Naturalness | null, 
/**
 * The naturalness limits this face breaks, in words (empty: none).
 */
over_limits: Array<string>, };

/**
 * Which way a protection goes, as requests and reports name it (the target, when there is
 * one, travels separately: it is an embedding, not a word).
 */
export type Goal = "dodge" | "impersonate";

/**
 * One held-out recognizer's protection success rate.
 */
export type HeldOut = { 
/**
 * The recognizer.
 */
recognizer: string, 
/**
 * Share of counted pairs it no longer matched, 0–1.
 */
psr: number, 
/**
 * Pairs counted (those it matched before protection).
 */
pairs: number, };

/**
 * The limits of a natural look. Strength moves colours further within
 * [`crate::Bounds::colour`] and light deeper, not asymmetry or spill; at high, foundation's
 * warmer range and deeper light took the bare-skin hue shift to 1.2 on 2 of 24 protected faces
 * (`facecloak eval --leave-one-out --strength high`), so these limits are stated for low and
 * medium.
 */
export type Limits = { 
/**
 * Most [`Naturalness::symmetry`].
 */
symmetry: number, 
/**
 * Most [`Naturalness::bare_skin_hue`].
 */
bare_skin_hue: number, 
/**
 * Most spill, either kind.
 */
spill: number, };

/**
 * What the makeup is, in numbers: for reports and the naturalness measures.
 */
export type Look = { 
/**
 * Per pigment.
 */
pigments: Array<AppliedPigment>, 
/**
 * Contour and highlight per place: ΔL\* at the band's centre (negative for contour).
 */
light: Array<[string, number]>, 
/**
 * Foundation's ΔL\* and Δb\*.
 */
foundation: [number, number], 
/**
 * How far the lip outline moved, generator pixels (positive: overlined).
 */
lip_line: number, 
/**
 * The eyeliner wing's length, generator pixels.
 */
wing: number, };

/**
 * How the makeup is asked for.
 */
export type Makeup = { "prompt": string } | { "preset": string } | { "reference": string };

/**
 * The makeup a request resolved to.
 */
export type MakeupReport = { 
/**
 * The makeup as asked for.
 */
asked: Makeup, 
/**
 * The words the search followed (a preset's prompt); absent for a reference photo's look.
 */
prompt: string | null, 
/**
 * Words not understood, in prompt order.
 */
not_understood: Array<string>, 
/**
 * Clauses that name a colour but no region to put it on.
 */
no_region: Array<string>, };

/**
 * The measures of one made-up face.
 */
export type Naturalness = { 
/**
 * ΔE\*ab between the left and right mean change (worse of cheeks and eyelids).
 */
symmetry: number, 
/**
 * The same for the cheeks alone.
 */
symmetry_cheeks: number, 
/**
 * The same for the eyelids alone.
 */
symmetry_eyelids: number, 
/**
 * The worse pair's mismatch relative to its larger mean change (at least 2 ΔE): how
 * unlike the two sides changed, whatever the strength.
 */
asymmetry: number, 
/**
 * Mean |Δa\*b\*| on the forehead, nose bridge and chin.
 */
bare_skin_hue: number, 
/**
 * Chromatic change just outside the lips ÷ change on the lips.
 */
lip_spill: number, 
/**
 * Change inside the eyes ÷ change on the eyelids.
 */
eye_spill: number, 
/**
 * RMS of the change's fine-scale chroma, ΔE units.
 */
fine_energy: number, 
/**
 * Mean ΔE\*ab over the face.
 */
mean_change: number, };

/**
 * What one recognizer makes of the protection, judged by the person's other photos.
 */
export type Outcome = "protected" | "still_matches" | "never_matched";

/**
 * Steps of the self-check, reported as they start.
 */
export type Phase = "upload" | "forward" | "backward" | "compare";

/**
 * A named look, for the page's menu.
 */
export type Preset = { 
/**
 * Its name.
 */
name: string, 
/**
 * What it says.
 */
prompt: string, 
/**
 * Whether it is the look chosen when nothing is asked for.
 */
default: boolean, };

/**
 * What a makeup prompt asks for, as the page previews it while the person types.
 */
export type PromptPreview = { 
/**
 * Colour per region.
 */
targets: Array<PromptTarget>, 
/**
 * Light and line.
 */
shaping: Array<PromptShaping>, 
/**
 * Words not understood.
 */
unknown: Array<string>, 
/**
 * Clauses naming a colour but no region.
 */
unplaced: Array<string>, 
/**
 * Why this prompt cannot be used (it names no region), if it cannot.
 */
problem: string | null, };

/**
 * One light-and-line freedom a prompt asks for.
 */
export type PromptShaping = { 
/**
 * "contour", "highlight", "winged liner", "mascara" or "overlined lips".
 */
name: string, 
/**
 * How much, 0–1.
 */
intensity: number, };

/**
 * One region a prompt puts colour on.
 */
export type PromptTarget = { 
/**
 * The region's name.
 */
region: string, 
/**
 * `#rrggbb`, or absent for the face's own tone.
 */
colour: string | null, 
/**
 * How much, 0–1.
 */
intensity: number, };

/**
 * What a protection did.
 */
export type ProtectReport = { 
/**
 * The photo read (the CLI's input file; absent in the browser).
 */
input?: string | null, 
/**
 * The protected photo written (the CLI's output file; absent in the browser).
 */
output?: string | null, 
/**
 * Photo width, pixels.
 */
width: number, 
/**
 * Photo height, pixels.
 */
height: number, 
/**
 * The request as carried out.
 */
request: ProtectRequest, 
/**
 * The makeup it resolved to.
 */
makeup: MakeupReport, 
/**
 * The search settings used.
 */
settings: SettingsUsed, 
/**
 * What the search ran on.
 */
backend: BackendInfo, 
/**
 * Per face protected, in the order chosen.
 */
faces: Array<FaceReport>, 
/**
 * Faces found but too small to protect.
 */
too_small: Array<FaceBox>, 
/**
 * Whole-photo SSIM between original and protected.
 */
ssim: number, 
/**
 * Whole-photo PSNR, dB (absent when nothing changed).
 */
psnr_db: number | null, 
/**
 * Seconds the whole protection took.
 */
seconds: number, 
/**
 * The naturalness limits the faces were measured against.
 */
naturalness_limits: Limits, 
/**
 * How the similarities are measured, in words, for printing beside them.
 */
protocol: string, 
/**
 * What this version's protection measured on recognizers it did not attack, and what no
 * measurement can promise.
 */
transfer: Transfer, };

/**
 * One protection, as asked for.
 */
export type ProtectRequest = { 
/**
 * The look.
 */
makeup: Makeup, 
/**
 * How hard to try.
 */
strength: Strength, 
/**
 * Away from the person, or towards a target (whose embeddings come with the call).
 */
mode: Goal, 
/**
 * Indices of the faces to protect, in the photo's detection order (absent: all).
 */
faces?: Array<number> | null, 
/**
 * Seed of the search's random draws: the same seed gives the same photo.
 */
seed: number, 
/**
 * A preview picture of the made-up face every this many steps (0: none).
 */
preview_every: number, 
/**
 * Overrides of the strength's settings.
 */
expert: Expert, 
/**
 * Which recognizers the search attacks; the rest only judge.
 */
attack: Attack, 
/**
 * The set of photos this one belongs to (any number the caller picks per set): within a
 * set the same person wears the same pigments ([`crate::wardrobe`]); absent: a photo on
 * its own.
 */
set?: number | null, };

/**
 * One recognizer's comparisons with the person's other photos.
 */
export type RecognizerCheck = { 
/**
 * The recognizer.
 */
name: string, 
/**
 * Whether the search attacked it or it only judges.
 */
role: Role, 
/**
 * Its threshold at FAR 1 %: above it, it takes two faces for one person.
 */
threshold: number, 
/**
 * Per other photo.
 */
references: Array<ReferenceMatch>, 
/**
 * What follows.
 */
outcome: Outcome, };

/**
 * One recognizer's similarity to the mode's reference, before and after, against its
 * threshold at a 1 % false-accept rate.
 */
export type RecognizerScore = { 
/**
 * The recognizer.
 */
name: string, 
/**
 * Attacked by the search, or only judging.
 */
role: Role, 
/**
 * Its threshold at FAR 1 % ([`thresholds::PROVENANCE`]).
 */
threshold: number, 
/**
 * Cosine to the reference before protection (1 when dodging: the reference is this very
 * face in the original photo).
 */
before: number, 
/**
 * Cosine to the reference in the protected photo.
 */
after: number, 
/**
 * Whether the protection worked against it.
 */
verdict: Verdict, };

/**
 * The face compared with one of the person's other photos by one recognizer.
 */
export type ReferenceMatch = { 
/**
 * The other photo.
 */
photo: string, 
/**
 * Cosine between it and the face in the original photo.
 */
before: number, 
/**
 * Cosine between it and the face in the protected photo.
 */
after: number, };

/**
 * What a recognizer was to the search.
 */
export type Role = "attacked" | "judge";

/**
 * The outcome of a self-check: numbers to trust the device by, and pictures to look at.
 */
export type SelfCheckReport = { 
/**
 * The backend that computed.
 */
backend: BackendInfo, 
/**
 * Image side in pixels.
 */
size: number, 
/**
 * The loss `½ Σ y²` as the device computed it.
 */
loss: number, 
/**
 * The same loss in the f64 reference.
 */
reference_loss: number, 
/**
 * Relative error of the convolution output against the reference.
 */
forward_error: number, 
/**
 * Relative error of the input gradient against the reference.
 */
gradient_error: number, 
/**
 * The tolerance both errors are held to.
 */
tolerance: number, 
/**
 * Whether both errors are within tolerance.
 */
passed: boolean, 
/**
 * Wall time of upload + forward + readback, in milliseconds.
 */
forward_ms: number, 
/**
 * Wall time of the backward pass + readback, in milliseconds.
 */
backward_ms: number, 
/**
 * The input image, `size × size` RGB, row-major, interleaved, in 0..=1.
 */
input_rgb: Array<number>, 
/**
 * Edge response `√(y₀² + y₁²)` of the two edge filters, `size × size`, scaled to 0..=1.
 */
response: Array<number>, 
/**
 * Gradient magnitude `Σ_c |∂L/∂x_c|`, `size × size`, scaled to 0..=1.
 */
gradient: Array<number>, };

/**
 * The search settings a protection ran with.
 */
export type SettingsUsed = { 
/**
 * Most steps per face.
 */
max_steps: number, 
/**
 * Margin past each threshold, as a share of 1 − τ.
 */
margin: number, 
/**
 * Adam's learning rate.
 */
learning_rate: number, 
/**
 * Weight of the makeup's unnaturalness.
 */
naturalness: number, 
/**
 * Weight of (1 − SSIM).
 */
structure: number, 
/**
 * Steps past every threshold before stopping early.
 */
patience: number, 
/**
 * Whether random transformations were used.
 */
eot: boolean, 
/**
 * The colour budget: most CIEDE2000 of a pigment from the colour asked for.
 */
colour_budget_delta_e: number, };

/**
 * One search step, as progress.
 */
export type StepProgress = { 
/**
 * Which face (0-based) of how many.
 */
face: number, 
/**
 * Faces in this protection.
 */
faces: number, 
/**
 * 1-based step.
 */
step: number, 
/**
 * Most steps.
 */
steps: number, 
/**
 * The whole loss.
 */
loss: number, 
/**
 * Seconds since this face's search began.
 */
elapsed: number, 
/**
 * Per recognizer.
 */
similarities: Array<StepScore>, };

/**
 * One recognizer's similarity on a search step.
 */
export type StepScore = { 
/**
 * The recognizer.
 */
name: string, 
/**
 * Its threshold at FAR 1 %.
 */
threshold: number, 
/**
 * Cosine to the mode's reference on this step's transformed crops.
 */
similarity: number, };

/**
 * The three strengths a person chooses from.
 */
export type Strength = "low" | "medium" | "high";

/**
 * The check as a whole, in one word.
 */
export type Summary = "protected" | "partly" | "unprotected" | "inconclusive";

/**
 * What the protection this version ships measured against recognizers held out of the search
 * (`facecloak eval --leave-one-out`), with its protocol, and its limits in words: shipped in
 * every report so that the result card, the widget's events and the CLI's sidecar say the same.
 */
export type Transfer = { 
/**
 * When and on what it was measured.
 */
measured: string, 
/**
 * How.
 */
protocol: string, 
/**
 * Per held-out recognizer.
 */
held_out: Array<HeldOut>, 
/**
 * What it cannot promise.
 */
caveat: string, };

/**
 * Whether the protection worked against one recognizer.
 */
export type Verdict = "protected" | "unprotected";

/**
 * The protected face checked against the person's other photos by every recognizer.
 */
export type Verification = { 
/**
 * The other photos compared with, by name.
 */
photos: Array<string>, 
/**
 * Per recognizer, attacked ones first, then the judges.
 */
recognizers: Array<RecognizerCheck>, 
/**
 * What follows from all of them.
 */
summary: Summary, 
/**
 * What the independent judges (recognizers the search never saw) say, when there are any:
 * the better guess at what an unknown recognizer would do.
 */
judges: Summary | null, 
/**
 * All of it in plain words, as the CLI prints it and the result card shows it.
 */
says: string, };
