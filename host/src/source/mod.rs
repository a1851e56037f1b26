//! Where records come from.
//!
//! - `kafka`: a consumer in a consumer group, read in batches spread over workers.
//! - `offsets`: which offsets may be committed (at-least-once bookkeeping).

pub mod kafka;
pub mod offsets;
