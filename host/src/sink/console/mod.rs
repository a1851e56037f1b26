//! The console sink: each micro-batch as Spark's console sink prints it (a
//! `Batch: N` header and a `show()` table, after the `printSchema` tree), or
//! as JSON lines. It owns stdout: a reader that went away is
//! [`ClosedStdout`], which `main` turns into a quiet exit 0.

mod show;

pub use show::{TableStyle, columns, row, schema_tree, shown_columns, table, table_rows};

use super::Sink;
use crate::data::processed::ChainOutput;
use crate::data::{Field, rows};
use crate::offsets::Ticket;
use anyhow::Result;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What the console prints for `host run`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunFormat {
    /// Spark's console sink: a `Batch: N` header and a table per micro-batch.
    Table,
    /// One line per output record.
    Json,
}

/// Stdout was closed by its reader (`host … | head`): not a failure, the
/// output is simply no longer wanted; `main` exits 0 on it.
#[derive(Debug, thiserror::Error)]
#[error("stdout was closed by its reader")]
pub struct ClosedStdout;

/// Writes to stdout and flushes; a closed pipe is [`ClosedStdout`].
pub fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(ClosedStdout.into()),
        other => Ok(other?),
    }
}

/// Prints outputs on stdout.
pub struct ConsoleSink {
    format: RunFormat,
    table: TableStyle,
    /// The table's columns.
    fields: Vec<Field>,
    /// Whether the chain declared a schema (else one `value` column).
    declared: bool,
    /// The next `Batch: N`.
    batches: AtomicU64,
}

impl ConsoleSink {
    /// A console for a chain whose output columns are `schema` (`None`:
    /// undeclared, shown as one `value` column); a table console prints the
    /// `printSchema` tree first, as Spark's console sink does.
    pub fn open(format: RunFormat, table: TableStyle, schema: Option<&[Field]>) -> Result<Self> {
        let fields = columns(schema);
        if format == RunFormat::Table {
            write_stdout(schema_tree(&fields).as_bytes())?;
        }
        Ok(ConsoleSink {
            format,
            table,
            fields,
            declared: schema.is_some(),
            batches: AtomicU64::new(0),
        })
    }
}

impl Sink for ConsoleSink {
    /// Printed is acknowledged: the ticket is not kept.
    fn write(&self, out: &ChainOutput<'_>, _ticket: &Arc<Ticket>) -> Result<Vec<(usize, String)>> {
        let text = match self.format {
            RunFormat::Table => {
                let fields = shown_columns(&self.fields, self.declared, out);
                let declared = self.declared || out.batch().rows.is_some();
                let rows = table_rows(out, &fields, declared, self.table.num_rows + 1);
                let id = self.batches.fetch_add(1, Ordering::SeqCst);
                let mut text = show::batch_header(id).into_bytes();
                text.extend_from_slice(self.table.render(&fields, &rows).as_bytes());
                text
            }
            RunFormat::Json => json_lines(out),
        };
        write_stdout(&text)?;
        Ok(Vec::new())
    }

    fn flush(&self, _limit: Duration) -> Result<()> {
        Ok(())
    }
}

/// A chain's output as JSON lines: a typed row as one JSON object (Spark's
/// `to_json`); a raw value itself when it is one line of JSON, else as a
/// JSON string; `null` for null.
pub fn json_lines(chain: &ChainOutput<'_>) -> Vec<u8> {
    let b = chain.batch();
    let mut out = Vec::with_capacity(b.data.len() + chain.len() * 64);
    if let Some(typed) = &b.rows {
        let json = rows::JsonRows::new(&typed.fields);
        for i in 0..chain.len() {
            json.write(&mut out, typed, i);
            out.push(b'\n');
        }
        return out;
    }
    for i in 0..chain.len() {
        match crate::data::batch::value(b, i) {
            None => out.extend_from_slice(b"null"),
            Some(v)
                if !v.contains(&b'\n')
                    && serde_json::from_slice::<serde::de::IgnoredAny>(v).is_ok() =>
            {
                out.extend_from_slice(v)
            }
            Some(v) => serde_json::to_writer(&mut out, &String::from_utf8_lossy(v))
                .expect("writing to a Vec"),
        }
        out.push(b'\n');
    }
    out
}
