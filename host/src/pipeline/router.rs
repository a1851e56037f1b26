//! Where each outcome of a processed batch goes: outputs to the console or
//! a Kafka topic (or the topic a plugin names), rejected records to the
//! dead-letter topic, stderr, or a stop, as `--on-error` says.

use crate::data::Field;
use crate::data::batch::{bytes, headers, value};
use crate::offsets::Ticket;
use crate::plugin::ChainOutput;
use crate::sink::console::{
    RunFormat, TableStyle, batch_header, json_lines, table_rows, write_stdout,
};
use crate::sink::kafka::KafkaSink;
use crate::source::kafka::SourceBatch;
use anyhow::{Result, bail};
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// What a record a plugin rejects does (`--on-error`).
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnError {
    /// Send the original record to `--dlq-topic` with `sluice.*` headers saying why.
    Dlq,
    /// Skip it, logging one JSON line on stderr.
    Drop,
    /// Stop, committing only the offsets before it.
    Fail,
}

/// Where the chain's outputs go.
pub enum Output {
    /// Printed as Spark's console sink prints, or as JSON lines.
    Console {
        /// Table or JSON lines.
        format: RunFormat,
        /// How tables are shown.
        table: TableStyle,
        /// The table's columns.
        fields: Vec<Field>,
        /// Whether the chain declared a schema (else one `value` column).
        declared: bool,
        /// The next `Batch: N`.
        batches: AtomicU64,
    },
    /// Produced to a topic (or the topic a plugin names per record).
    Kafka {
        /// The producer.
        sink: Arc<KafkaSink>,
        /// The default topic.
        topic: String,
    },
}

/// Sends each outcome of a batch where it belongs.
pub struct Router {
    /// Where outputs go.
    pub output: Output,
    /// The dead-letter producer and topic, when there is one.
    pub dlq: Option<(Arc<KafkaSink>, String)>,
    /// What a failed record does.
    pub on_error: OnError,
}

impl Router {
    /// Routes one processed batch. Returns an error only for what must stop
    /// the pipeline (`--on-error fail`, a producer that refuses a record).
    pub fn deliver(
        &self,
        input: &SourceBatch,
        out: ChainOutput<'_>,
        ticket: &Arc<Ticket>,
    ) -> Result<()> {
        for e in &out.errors {
            let (topic, partition, offset) = &input.positions[e.input as usize];
            match (self.on_error, &self.dlq) {
                (OnError::Fail, _) => bail!(
                    "record {topic}[{partition}]@{offset} failed in plugin {:?}: {}; stopping as --on-error fail says (offsets before it are committed, so a restart reads it again); pass --dlq-topic to keep bad records in a dead-letter topic, or --on-error drop",
                    &*e.plugin,
                    e.message
                ),
                (OnError::Dlq, Some((sink, dlq))) => {
                    let i = e.input as usize;
                    let meta = &input.batch.records[i];
                    let (partition, offset) = (partition.to_string(), offset.to_string());
                    let sluice = [
                        (&b"sluice.error"[..], Some(e.message.as_bytes())),
                        (b"sluice.plugin", Some(e.plugin.as_bytes())),
                        (b"sluice.source.topic", Some(topic.as_bytes())),
                        (b"sluice.source.partition", Some(partition.as_bytes())),
                        (b"sluice.source.offset", Some(offset.as_bytes())),
                    ];
                    sink.send(
                        dlq,
                        meta.key.map(|k| bytes(&input.batch, k)),
                        value(&input.batch, i),
                        headers(&input.batch, i).chain(sluice),
                        meta.timestamp,
                        ticket,
                    )?;
                }
                _ => {
                    let line = serde_json::json!({
                        "topic": &**topic, "partition": partition, "offset": offset,
                        "plugin": &*e.plugin, "error": e.message, "dropped": true,
                    });
                    writeln!(std::io::stderr().lock(), "{line}")?;
                }
            }
        }
        match &self.output {
            Output::Console {
                format,
                table,
                fields,
                declared,
                batches,
            } => {
                let text = match format {
                    RunFormat::Table => {
                        let rows = table_rows(&out, fields, *declared, table.num_rows + 1);
                        let id = batches.fetch_add(1, Ordering::SeqCst);
                        let mut text = batch_header(id).into_bytes();
                        text.extend_from_slice(table.render(fields, &rows).as_bytes());
                        text
                    }
                    RunFormat::Json => json_lines(&out),
                };
                write_stdout(&text)?;
            }
            Output::Kafka { sink, topic } => {
                let mut values = out.values();
                for i in 0..out.len() {
                    sink.send(
                        out.topic(i).unwrap_or(topic),
                        out.key(i),
                        values.get(i),
                        out.headers(i),
                        out.timestamp(i),
                        ticket,
                    )?;
                }
            }
        }
        Ok(())
    }
}
