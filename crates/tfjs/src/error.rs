//! Everything that can be wrong with a model a user hands us, as a value.

/// Why a TFJS graph model could not be loaded. Every variant names what it is about (the node,
/// its op, the weight), so the message alone says where to look.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum LoadError {
    /// `model.json` is not valid JSON, or not shaped like a TFJS model.
    #[error("model.json is malformed at line {line}, column {column}: {message}")]
    Json {
        /// serde_json's explanation.
        message: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// A file is larger than we accept to read at all.
    #[error("{what} is {got} bytes, more than the {limit} bytes accepted")]
    TooLarge {
        /// Which file.
        what: &'static str,
        /// Its size.
        got: usize,
        /// The limit.
        limit: usize,
    },
    /// `format` is not `graph-model` (e.g. a Keras layers model).
    #[error("model.json is a {format:?} model; only TFJS graph models are supported")]
    NotAGraphModel {
        /// What `format` said.
        format: String,
    },
    /// A node uses an op the executor does not implement.
    #[error("node {node:?} uses op {op:?}, which is not supported")]
    UnsupportedOp {
        /// The node's name.
        node: String,
        /// The op.
        op: String,
    },
    /// A node has an attribute value the executor does not implement (a dilation, a data
    /// format, a fused op list…), or an attribute is missing or malformed.
    #[error("node {node:?} ({op}): attribute {attr:?} {problem}")]
    Attribute {
        /// The node's name.
        node: String,
        /// Its op.
        op: String,
        /// The attribute.
        attr: &'static str,
        /// What is wrong with it.
        problem: String,
    },
    /// A node reads a tensor that no node produces.
    #[error("node {node:?} reads {input:?}, which no node produces")]
    MissingInput {
        /// The node's name.
        node: String,
        /// The input reference.
        input: String,
    },
    /// A node has the wrong number of inputs for its op.
    #[error("node {node:?} ({op}) has {got} inputs, expected {expected}")]
    Arity {
        /// The node's name.
        node: String,
        /// Its op.
        op: String,
        /// How many it has.
        got: usize,
        /// How many the op takes.
        expected: String,
    },
    /// The graph has a cycle through this node.
    #[error("the graph has a cycle through node {node:?}")]
    Cycle {
        /// A node on the cycle.
        node: String,
    },
    /// Two nodes share a name.
    #[error("two nodes are named {node:?}")]
    DuplicateNode {
        /// The name.
        node: String,
    },
    /// A `Const` node has no weight in the manifest.
    #[error("constant node {node:?} has no weight in the weights manifest")]
    MissingWeight {
        /// The node's name.
        node: String,
    },
    /// The number of shard files given differs from the manifest's.
    #[error("the weights manifest lists {expected} shard files, but {got} were given")]
    ShardCount {
        /// Listed.
        expected: usize,
        /// Given.
        got: usize,
    },
    /// The shards hold fewer or more bytes than the manifest describes.
    #[error("the weight shards hold {got} bytes, but the manifest describes {expected} ({})", if got < expected { "truncated" } else { "oversized" })]
    ShardSize {
        /// Described by the manifest.
        expected: usize,
        /// Present in the shards.
        got: usize,
    },
    /// A weight has a dtype or quantization we cannot decode.
    #[error("weight {weight:?}: {problem}")]
    WeightFormat {
        /// The weight's name.
        weight: String,
        /// What is wrong.
        problem: String,
    },
    /// A constant's shape or dtype in the graph disagrees with the manifest.
    #[error("node {node:?}: the graph says {graph}, the weights manifest says {manifest}")]
    ConstMismatch {
        /// The node's name.
        node: String,
        /// What the node's attributes say.
        graph: String,
        /// What the manifest says.
        manifest: String,
    },
    /// A node computed from constants alone cannot be computed (its shapes disagree).
    #[error("node {node:?}, computed from constants at load: {problem}")]
    Fold {
        /// The node's name.
        node: String,
        /// What is wrong.
        problem: String,
    },
    /// A requested input or output name is not in the graph.
    #[error("the model has no {kind} named {name:?} (it has: {known})")]
    UnknownName {
        /// "input" or "output".
        kind: &'static str,
        /// The name asked for.
        name: String,
        /// The names it does have.
        known: String,
    },
    /// A model facecloak repairs at load (`mobilefacenet`) is not shaped as the file it knows.
    #[error("{model}: not the conversion facecloak knows how to repair: {problem}")]
    NotRepairable {
        /// The model.
        model: &'static str,
        /// What differs.
        problem: String,
    },
}

impl From<serde_json::Error> for LoadError {
    fn from(e: serde_json::Error) -> Self {
        LoadError::Json { message: e.to_string(), line: e.line(), column: e.column() }
    }
}
