//! Sluice's integration tests: the real `host` binary, the real plugins
//! (compiled to WebAssembly by the build), hostile guests built from
//! `tests/guests/`. One binary, a module per theme.

mod cli;
mod cluster;
mod compose;
mod deploy;
mod docs;
mod fuzz_smoke;
mod generator;
mod kafka;
mod observe;
mod operate;
mod parse_stock;
mod reliability;
mod sandbox;
mod schema_filter;
mod scripted;
mod spark;
mod sql;
mod static_membership;
mod swap;
mod windows;
