//! Weight shards → named host tensors, dequantized.
//!
//! TFJS stores the weights of each manifest group as the concatenation of that group's shard
//! files, each weight's bytes following the previous one's, little-endian. A weight may be
//! stored quantized: `float16` halves, or `uint8`/`uint16` affine (`q · scale + min`). All of
//! it becomes f32 (or i32 for integer tensors such as shapes and paddings) here, once.

use std::collections::BTreeMap;

use crate::LoadError;
use crate::json::{ManifestGroup, ManifestWeight};

/// Values of a host tensor.
#[derive(Debug, Clone, PartialEq)]
pub enum HostData {
    /// Floating point (TF `DT_FLOAT`, whatever its storage).
    F32(Vec<f32>),
    /// Integers (TF `DT_INT32`): shapes, paddings, axes.
    I32(Vec<i32>),
}

/// A tensor in host memory: a decoded weight.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    /// Dimensions, row-major.
    pub shape: Vec<usize>,
    /// The values; `shape.iter().product()` of them.
    pub data: HostData,
}

impl HostTensor {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.data {
            HostData::F32(v) => v.len(),
            HostData::I32(v) => v.len(),
        }
    }

    /// Whether it has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// "float32[3, 3, 64]"-style description, for messages.
    pub fn describe(&self) -> String {
        let dtype = match self.data {
            HostData::F32(_) => "float32",
            HostData::I32(_) => "int32",
        };
        format!("{dtype}{:?}", self.shape)
    }
}

/// How a weight's values are stored in the shard bytes.
#[derive(Debug, Clone, Copy)]
enum Storage {
    F32,
    I32,
    F16,
    /// `q · scale + min`, one byte per value.
    U8 {
        scale: f32,
        min: f32,
    },
    /// `q · scale + min`, two bytes per value.
    U16 {
        scale: f32,
        min: f32,
    },
}

impl Storage {
    fn bytes_per_element(self) -> usize {
        match self {
            Storage::F32 | Storage::I32 => 4,
            Storage::F16 | Storage::U16 { .. } => 2,
            Storage::U8 { .. } => 1,
        }
    }
}

/// How one weight is laid out in the shard bytes.
struct Layout {
    elements: usize,
    storage: Storage,
    integer: bool,
}

impl Layout {
    fn bytes(&self) -> Option<usize> {
        self.elements.checked_mul(self.storage.bytes_per_element())
    }
}

fn layout(weight: &ManifestWeight) -> Result<Layout, LoadError> {
    let bad = |problem: String| LoadError::WeightFormat { weight: weight.name.clone(), problem };
    let mut elements = 1usize;
    for &d in &weight.shape {
        let d = usize::try_from(d).map_err(|_| bad(format!("shape {:?} has a negative dimension", weight.shape)))?;
        elements = elements
            .checked_mul(d)
            .ok_or_else(|| bad(format!("shape {:?} has more elements than memory can hold", weight.shape)))?;
    }
    let integer = match weight.dtype.as_str() {
        "float32" => false,
        "int32" => true,
        other => {
            return Err(bad(format!("dtype {other:?} is not supported (float32 and int32 are)")));
        }
    };
    let affine = |name: &str| match weight.quantization.as_ref().map(|q| (q.scale, q.min)) {
        Some((Some(scale), Some(min))) if scale.is_finite() && min.is_finite() => Ok((scale, min)),
        _ => Err(bad(format!("{name} quantization needs finite `scale` and `min`"))),
    };
    let storage = match weight.quantization.as_ref().map(|q| q.dtype.as_str()) {
        None if integer => Storage::I32,
        None => Storage::F32,
        Some("float16") if !integer => Storage::F16,
        Some("uint8") => affine("uint8").map(|(scale, min)| Storage::U8 { scale, min })?,
        Some("uint16") => affine("uint16").map(|(scale, min)| Storage::U16 { scale, min })?,
        Some(other) => {
            return Err(bad(format!("quantization {other:?} of a {} weight is not supported", weight.dtype)));
        }
    };
    Ok(Layout { elements, storage, integer })
}

fn decode_one(weight: &ManifestWeight, layout: &Layout, bytes: &[u8]) -> HostTensor {
    let shape = weight.shape.iter().map(|&d| d as usize).collect();
    let data = match layout.storage {
        Storage::I32 => {
            HostData::I32(bytes.chunks_exact(4).map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect())
        }
        storage => {
            let floats: Vec<f32> = match storage {
                Storage::F16 => bytes
                    .chunks_exact(2)
                    .map(|b| half::f16::from_bits(u16::from_le_bytes([b[0], b[1]])).to_f32())
                    .collect(),
                Storage::U8 { scale, min } => bytes.iter().map(|&q| q as f32 * scale + min).collect(),
                Storage::U16 { scale, min } => {
                    bytes.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]]) as f32 * scale + min).collect()
                }
                Storage::F32 | Storage::I32 => {
                    bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
                }
            };
            if layout.integer {
                HostData::I32(floats.iter().map(|v| v.round() as i32).collect())
            } else {
                HostData::F32(floats)
            }
        }
    };
    HostTensor { shape, data }
}

/// Decodes every weight of every group. `shards` are the shard files of all groups, in
/// manifest order (group by group, path by path).
pub(crate) fn decode(groups: &[ManifestGroup], shards: &[&[u8]]) -> Result<BTreeMap<String, HostTensor>, LoadError> {
    let expected_files: usize = groups.iter().map(|g| g.paths.len()).sum();
    if shards.len() != expected_files {
        return Err(LoadError::ShardCount { expected: expected_files, got: shards.len() });
    }
    // Sizes first, all of them: a truncated file is reported as such before anything is
    // allocated for its weights.
    let mut layouts = Vec::with_capacity(groups.len());
    let (mut expected, mut got) = (0usize, 0usize);
    let mut files = shards.iter();
    for group in groups {
        let group_layouts = group.weights.iter().map(layout).collect::<Result<Vec<_>, _>>()?;
        let described = group_layouts
            .iter()
            .try_fold(0usize, |sum, l| sum.checked_add(l.bytes()?))
            .ok_or(LoadError::ShardSize { expected: usize::MAX, got: 0 })?;
        let present: usize = files.by_ref().take(group.paths.len()).map(|f| f.len()).sum();
        expected = expected.saturating_add(described);
        got += present;
        layouts.push((described, present, group_layouts));
    }
    if layouts.iter().any(|(described, present, _)| described != present) {
        return Err(LoadError::ShardSize { expected, got });
    }

    let mut weights = BTreeMap::new();
    let mut files = shards.iter();
    for (group, (_, _, group_layouts)) in groups.iter().zip(layouts) {
        let bytes: Vec<u8> = files.by_ref().take(group.paths.len()).flat_map(|f| f.iter().copied()).collect();
        let mut offset = 0;
        for (weight, l) in group.weights.iter().zip(group_layouts) {
            // Sizes were checked against the shards above, so this slice is in bounds.
            let size = l.elements * l.storage.bytes_per_element();
            weights.insert(weight.name.clone(), decode_one(weight, &l, &bytes[offset..offset + size]));
            offset += size;
        }
    }
    Ok(weights)
}
