//! Constant folding: a node whose inputs are all constants is computed once, at load, on the
//! host, and becomes a constant itself.
//!
//! Converters usually fold these already (the face models have none left), but any TFJS graph
//! may carry `Reshape(Const)`, `Rsqrt(Add(var, eps))` batch-norm chains and the like; folding
//! them keeps the executor's per-run work to what depends on the input. Only the cheap ops
//! that are exact on the host are folded (element-wise, `Identity`, `Reshape`, `Squeeze`);
//! anything else on constants simply runs with the graph, with the same result.

use std::collections::BTreeMap;

use crate::LoadError;
use crate::graph::{BinaryOp, Graph, Op, UnaryOp};
use crate::weights::{HostData, HostTensor};

/// Folds every foldable node whose inputs are all constants, in topological order (so chains
/// fold completely), then drops the constants that only folded nodes read (unless they are
/// among `outputs`). Node indices do not change. Returns how many nodes were folded.
pub(crate) fn fold_constants(
    graph: &mut Graph,
    constants: &mut BTreeMap<usize, HostTensor>,
    outputs: &[usize],
) -> Result<usize, LoadError> {
    let mut folded = 0;
    let mut fed = Vec::new();
    for index in 0..graph.nodes.len() {
        let node = &graph.nodes[index];
        if node.inputs.is_empty() || !node.inputs.iter().all(|p| constants.contains_key(&p.node)) {
            continue;
        }
        let args: Vec<&HostTensor> = node.inputs.iter().map(|p| &constants[&p.node]).collect();
        let fail = |problem: String| LoadError::Fold { node: node.name.clone(), problem };
        let value = match &node.op {
            Op::Identity => args[0].clone(),
            Op::Unary(op) => unary(*op, args[0]).map_err(fail)?,
            Op::Binary(op) => binary(*op, args[0], args[1]).map_err(fail)?,
            Op::Reshape => reshape(args[0], args[1]).map_err(fail)?,
            Op::Squeeze { dims } => squeeze(args[0], dims).map_err(fail)?,
            _ => continue,
        };
        let node = &mut graph.nodes[index];
        fed.extend(node.inputs.iter().map(|p| p.node));
        node.op = Op::Const;
        node.inputs.clear();
        constants.insert(index, value);
        folded += 1;
    }
    let read: std::collections::HashSet<usize> =
        graph.nodes.iter().flat_map(|n| n.inputs.iter().map(|p| p.node)).collect();
    for index in fed {
        if !read.contains(&index) && !outputs.contains(&index) {
            constants.remove(&index);
        }
    }
    Ok(folded)
}

fn floats(t: &HostTensor) -> Result<&[f32], String> {
    match &t.data {
        HostData::F32(v) => Ok(v),
        HostData::I32(_) => Err(format!("expects float32, got {}", t.describe())),
    }
}

fn unary(op: UnaryOp, x: &HostTensor) -> Result<HostTensor, String> {
    let f: fn(f32) -> f32 = match op {
        UnaryOp::Abs => f32::abs,
        UnaryOp::Relu => |v| v.max(0.0),
        UnaryOp::Rsqrt => |v| 1.0 / v.sqrt(),
        UnaryOp::Sigmoid => |v| 1.0 / (1.0 + (-v).exp()),
        UnaryOp::Square => |v| v * v,
    };
    Ok(HostTensor { shape: x.shape.clone(), data: HostData::F32(floats(x)?.iter().map(|&v| f(v)).collect()) })
}

/// NumPy broadcasting, as TensorFlow's element-wise ops do it.
fn binary(op: BinaryOp, a: &HostTensor, b: &HostTensor) -> Result<HostTensor, String> {
    let (av, bv) = (floats(a)?, floats(b)?);
    let rank = a.shape.len().max(b.shape.len());
    let padded =
        |s: &[usize]| -> Vec<usize> { std::iter::repeat_n(1, rank - s.len()).chain(s.iter().copied()).collect() };
    let (sa, sb) = (padded(&a.shape), padded(&b.shape));
    let mut shape = Vec::with_capacity(rank);
    for (&x, &y) in sa.iter().zip(&sb) {
        shape.push(match (x, y) {
            _ if x == y => x,
            (1, _) => y,
            (_, 1) => x,
            _ => return Err(format!("cannot broadcast {:?} with {:?}", a.shape, b.shape)),
        });
    }
    let strides = |s: &[usize]| -> Vec<usize> {
        let mut strides = vec![0; rank];
        let mut step = 1;
        for axis in (0..rank).rev() {
            strides[axis] = if s[axis] == 1 { 0 } else { step };
            step *= s[axis];
        }
        strides
    };
    let (ta, tb) = (strides(&sa), strides(&sb));
    let f: fn(f32, f32) -> f32 = match op {
        BinaryOp::Add => |x, y| x + y,
        BinaryOp::Sub => |x, y| x - y,
        BinaryOp::Mul => |x, y| x * y,
        BinaryOp::Maximum => f32::max,
        BinaryOp::Minimum => f32::min,
    };
    let total: usize = shape.iter().product();
    let mut out = Vec::with_capacity(total);
    let mut index = vec![0usize; rank];
    for _ in 0..total {
        let ia: usize = index.iter().zip(&ta).map(|(i, s)| i * s).sum();
        let ib: usize = index.iter().zip(&tb).map(|(i, s)| i * s).sum();
        out.push(f(av[ia], bv[ib]));
        for axis in (0..rank).rev() {
            index[axis] += 1;
            if index[axis] < shape[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
    Ok(HostTensor { shape, data: HostData::F32(out) })
}

fn reshape(x: &HostTensor, target: &HostTensor) -> Result<HostTensor, String> {
    let HostData::I32(target) = &target.data else {
        return Err("the shape must be int32".into());
    };
    let total = x.len();
    let known: usize = target.iter().filter(|&&d| d >= 0).map(|&d| d as usize).product();
    let unknown = target.iter().filter(|&&d| d < 0).count();
    let shape: Vec<usize> = target.iter().map(|&d| if d < 0 { total / known.max(1) } else { d as usize }).collect();
    if unknown > 1 || shape.iter().product::<usize>() != total {
        return Err(format!("cannot reshape {:?} to {target:?}", x.shape));
    }
    Ok(HostTensor { shape, data: x.data.clone() })
}

fn squeeze(x: &HostTensor, dims: &[i64]) -> Result<HostTensor, String> {
    let rank = x.shape.len() as i64;
    let drop: Vec<i64> = if dims.is_empty() {
        (0..rank).filter(|&a| x.shape[a as usize] == 1).collect()
    } else {
        dims.iter().map(|&d| if d < 0 { d + rank } else { d }).collect()
    };
    if drop.iter().any(|&a| a < 0 || a >= rank || x.shape[a as usize] != 1) {
        return Err(format!("cannot squeeze axes {dims:?} of {:?}", x.shape));
    }
    let shape = (0..rank).filter(|a| !drop.contains(a)).map(|a| x.shape[a as usize]).collect();
    Ok(HostTensor { shape, data: x.data.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32s(shape: &[usize], v: &[f32]) -> HostTensor {
        HostTensor { shape: shape.to_vec(), data: HostData::F32(v.to_vec()) }
    }

    #[test]
    fn broadcasting_follows_numpy() {
        let a = f32s(&[2, 1], &[1.0, 2.0]);
        let b = f32s(&[3], &[10.0, 20.0, 30.0]);
        let sum = binary(BinaryOp::Add, &a, &b).unwrap();
        assert_eq!(sum.shape, [2, 3]);
        assert_eq!(sum.data, HostData::F32(vec![11.0, 21.0, 31.0, 12.0, 22.0, 32.0]));
        assert!(binary(BinaryOp::Mul, &f32s(&[2], &[1.0, 2.0]), &b).is_err());
    }

    #[test]
    fn reshape_infers_one_axis_and_squeeze_checks_sizes() {
        let x = f32s(&[1, 6], &[0.0; 6]);
        let shape = HostTensor { shape: vec![2], data: HostData::I32(vec![-1, 3]) };
        assert_eq!(reshape(&x, &shape).unwrap().shape, [2, 3]);
        assert_eq!(squeeze(&x, &[]).unwrap().shape, [6]);
        assert!(squeeze(&x, &[1]).is_err());
        assert_eq!(unary(UnaryOp::Rsqrt, &f32s(&[1], &[4.0])).unwrap().data, HostData::F32(vec![0.5]));
    }
}
