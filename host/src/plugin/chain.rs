//! A chain of transforms: each maps a batch to a batch, and every output
//! keeps the index of the source record it came from, through every stage.

use super::bindings::{Batch, Field};
use super::engine::Plugin;
use super::instance::Stage;
use anyhow::Result;
use std::sync::Arc;

/// A record that failed in some stage.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainError {
    /// Index of the source record in the batch given to [`Chain::process`].
    pub input: u32,
    /// The plugin that rejected (or trapped on) it.
    pub plugin: Arc<str>,
    /// Why.
    pub message: String,
}

/// What a batch becomes after the whole chain.
pub struct ChainOutput {
    /// The final records.
    pub batch: Batch,
    /// For each final record, the index of the source record it came from.
    pub origin: Vec<u32>,
    /// Source records that failed, in the order they failed.
    pub errors: Vec<ChainError>,
}

/// The transforms of a pipeline, in order, each with its live instance.
pub struct Chain {
    stages: Vec<Stage>,
}

impl Chain {
    /// Instantiates and initialises every plugin.
    pub fn new(plugins: &[Arc<Plugin>]) -> Result<Chain> {
        let stages = plugins
            .iter()
            .map(|p| Stage::new(p.clone()))
            .collect::<Result<Vec<_>>>()?;
        Ok(Chain { stages })
    }

    /// The stages, in order.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// The columns of the chain's output: the last stage's declared schema.
    pub fn schema(&self) -> Option<&[Field]> {
        self.stages.last().and_then(Stage::schema)
    }

    /// Runs one batch through every stage.
    pub fn process(&mut self, input: &Batch) -> Result<ChainOutput> {
        let mut origin: Vec<u32> = (0..input.records.len() as u32).collect();
        let mut errors = Vec::new();
        let mut owned: Option<Batch> = None;
        for stage in &mut self.stages {
            let output = stage.process(owned.as_ref().unwrap_or(input))?;
            let plugin = stage.plugin().name.clone();
            errors.extend(output.errors.into_iter().map(|e| ChainError {
                input: origin[e.input as usize],
                plugin: plugin.clone(),
                message: e.message,
            }));
            let mut next = output.batch;
            origin = next
                .records
                .iter()
                .map(|r| origin[r.input as usize])
                .collect();
            for (i, r) in next.records.iter_mut().enumerate() {
                r.input = i as u32;
            }
            owned = Some(next);
        }
        Ok(ChainOutput {
            batch: owned.unwrap_or_else(|| input.clone()),
            origin,
            errors,
        })
    }
}
