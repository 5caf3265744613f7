//! Whatever bytes a user hands us as `model.json` and weight shards, the loader returns a model
//! or a typed error, never a panic, and never allocates beyond its limits.
//!
//! The input is split in three: a 4-byte length, then that many bytes of `model.json`, and the
//! rest as the shards — cut in two at a point the fuzzer chooses, so shard-count and
//! shard-boundary checks are reached as well as JSON and graph validation.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 5 {
        return;
    }
    let json_len = (u32::from_le_bytes([data[0], data[1], data[2], data[3]]) as usize).min(data.len() - 4);
    let (json, rest) = data[4..].split_at(json_len);
    let _ = facecloak_tfjs::shard_paths(json);
    let _ = facecloak_tfjs::Model::load(json, &[rest]);
    let cut = rest.first().map_or(0, |&b| b as usize).min(rest.len());
    let (a, b) = rest.split_at(cut);
    let _ = facecloak_tfjs::Model::load(json, &[a, b]);
});
