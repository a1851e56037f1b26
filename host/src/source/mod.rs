//! Where records come from.
//!
//! - `kafka`: a consumer in a consumer group, read in batches spread over workers.
//!
//! Which offsets may be committed is `crate::offsets`: a source opens a
//! ticket per batch, a sink acknowledges it, and neither knows the other.

pub mod kafka;
