//! Where records come from.
//!
//! - `kafka`: a consumer in a consumer group, read in batches.

pub mod kafka;
