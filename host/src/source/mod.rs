//! Where records come from.
//!
//! - `kafka`: a consumer in a consumer group, read in batches spread over workers.
//! - `starting_offsets`: `--starting-offsets`, and seeding a new group with it.
//!
//! Which offsets may be committed is `crate::offsets`: a source opens a
//! ticket per batch, a sink acknowledges it, and neither knows the other.

pub mod kafka;
mod starting_offsets;
