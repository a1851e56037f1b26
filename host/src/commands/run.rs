//! `host run`: a Kafka topic through a chain of plugins to the console,
//! printed per micro-batch as Spark's console sink prints it. Offsets are
//! committed after a batch's output is written (at-least-once).

use super::load_plugins;
use super::test::write_stdout;
use crate::cli::{RunArgs, RunFormat};
use crate::plugin::batch::value;
use crate::plugin::{Chain, World};
use crate::sink::console::{batch_header, columns, json_lines, row, schema_tree};
use crate::source::kafka::{KafkaSource, SourceConfig};
use anyhow::{Result, bail};
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Runs `host run` until SIGINT/SIGTERM, or until the topics are drained with `--available-now`.
pub fn run(args: RunArgs) -> Result<()> {
    let (_runtime, plugins) = load_plugins(&args.runtime, &args.plugins)?;
    if let Some(p) = plugins.iter().find(|p| p.world == World::Generator) {
        bail!(
            "plugin {:?} is a generator; `host run` takes transforms (use `host generate` for generators)",
            p.name
        );
    }
    let mut chain = Chain::new(&plugins)?;
    let schema = chain.schema().map(<[_]>::to_vec);
    let fields = columns(schema.as_deref());
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(signal, stop.clone())?;
    }
    let group = args
        .group
        .clone()
        .unwrap_or_else(|| format!("sluice-{}", plugins[0].name));
    let mut source = KafkaSource::connect(SourceConfig {
        brokers: args.kafka.brokers.clone(),
        topics: args.topic.clone(),
        group,
        starting_offsets: args.starting_offsets.clone(),
        max_records: args.max_records_per_batch as usize,
        linger: Duration::from_millis(args.batch_linger_ms),
        properties: args.kafka.properties()?,
    })?;
    if args.format == RunFormat::Table {
        write_stdout(schema_tree(&fields).as_bytes())?;
    }
    let mut targets: Option<BTreeMap<(String, i32), i64>> = None;
    let mut next: BTreeMap<(String, i32), i64> = BTreeMap::new();
    let mut batch_id = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let input = source.next_batch()?;
        if args.available_now && targets.is_none() && !source.assignment()?.is_empty() {
            // What "available now" means: the end offsets once we own the partitions,
            // counted from where the group stands.
            let ends = source.end_offsets()?;
            for (topic, partition, committed) in source.committed()? {
                if let Some(offset) = committed {
                    next.entry((topic, partition)).or_insert(offset);
                }
            }
            if args.starting_offsets == "latest" {
                // A new group starting at the end has nothing available now.
                for (tp, end) in &ends {
                    next.entry(tp.clone()).or_insert(*end);
                }
            }
            targets = Some(ends);
        }
        if !input.positions.is_empty() {
            let out = chain.process(input.batch)?;
            let mut stderr = std::io::stderr().lock();
            for e in &out.errors {
                let (topic, partition, offset) = &input.positions[e.input as usize];
                let line = serde_json::json!({
                    "topic": topic, "partition": partition, "offset": offset,
                    "plugin": &*e.plugin, "error": e.message,
                });
                writeln!(stderr, "{line}")?;
            }
            let mut text = Vec::new();
            match args.format {
                RunFormat::Table => {
                    let rows: Vec<_> = (0..out.batch.records.len().min(args.table.num_rows + 1))
                        .map(|i| row(&fields, value(&out.batch, i), schema.is_some()))
                        .collect();
                    text.extend_from_slice(batch_header(batch_id).as_bytes());
                    text.extend_from_slice(args.table.render(&fields, &rows).as_bytes());
                }
                RunFormat::Json => text = json_lines(&out.batch),
            }
            write_stdout(&text)?;
            source.commit(&input.positions)?;
            for (topic, partition, offset) in input.positions {
                let n = next.entry((topic, partition)).or_insert(0);
                *n = (*n).max(offset + 1);
            }
            batch_id += 1;
        }
        if let Some(targets) = &targets {
            let drained = targets
                .iter()
                .all(|(tp, end)| *end == 0 || next.get(tp).is_some_and(|n| n >= end));
            if drained {
                break;
            }
        }
    }
    Ok(())
}
