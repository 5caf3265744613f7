//! Prints the ops a model runs, unfused and fused: `cargo run -p facecloak-tfjs --example ops -- DIR NAME`.
use std::collections::BTreeMap;

use facecloak_tfjs::{LoadOptions, Model, shard_paths};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (dir, name) = (std::path::Path::new(&args[1]), &args[2]);
    let json = std::fs::read(dir.join(format!("{name}.json")))?;
    let shards: Vec<Vec<u8>> =
        shard_paths(&json)?.iter().map(|p| std::fs::read(dir.join(p))).collect::<Result<_, _>>()?;
    let shards: Vec<&[u8]> = shards.iter().map(Vec::as_slice).collect();
    for fuse in [false, true] {
        let model = Model::load_with(&json, &shards, LoadOptions { fuse })?;
        let mut counts = BTreeMap::new();
        for node in model.graph.nodes.iter().filter(|n| !n.inputs.is_empty()) {
            let op = format!("{:?}", node.op);
            *counts.entry(op.chars().take(60).collect::<String>()).or_insert(0) += 1;
        }
        println!("fuse = {fuse}:");
        for (op, n) in counts {
            println!("  {n:4}  {op}");
        }
    }
    Ok(())
}
