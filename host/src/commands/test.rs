//! `host test`: records from a file or stdin (or a generator) through a
//! chain of plugins, printed as JSON lines, a Spark table or a schema.
//! Record errors go to stderr as JSON lines naming the input line.

use super::load_plugins;
use crate::cli::{TestArgs, TestFormat};
use crate::data::batch::empty_batch;
use crate::data::batch::{BatchBuilder, InputRecord};
use crate::offsets::Tracker;
use crate::plugin::bindings::Batch;
use crate::plugin::{Chain, Stage, World};
use crate::sink::Sink;
use crate::sink::console::{
    ConsoleSink, RunFormat, columns, json_lines, schema_tree, shown_columns, table_rows,
    write_stdout,
};
use anyhow::{Context, Result, bail};
use std::io::{BufRead, Write};
use std::sync::Arc;

/// Where the records come from: input lines, or a generator plugin.
enum Source {
    Lines {
        reader: Box<dyn BufRead>,
        next_line: u64,
    },
    Generator(Box<Stage>),
}

impl Source {
    /// The next batch and the number (1-based line, or record index) of its first record.
    fn next(&mut self, max: u32) -> Result<Option<(Batch, u64)>> {
        match self {
            Source::Generator(stage) => Ok(stage.next_batch(max)?.map(|b| (b, 0))),
            Source::Lines { reader, next_line } => {
                let first = *next_line;
                let mut lines: Vec<Vec<u8>> = Vec::new();
                while lines.len() < max as usize {
                    let mut line = Vec::new();
                    if reader
                        .read_until(b'\n', &mut line)
                        .context("reading the input")?
                        == 0
                    {
                        break;
                    }
                    if line.last() == Some(&b'\n') {
                        line.pop();
                        if line.last() == Some(&b'\r') {
                            line.pop();
                        }
                    }
                    lines.push(line);
                }
                if lines.is_empty() {
                    return Ok(None);
                }
                let mut builder =
                    BatchBuilder::with_capacity(lines.len(), lines.iter().map(Vec::len).sum());
                for (i, line) in lines.iter().enumerate() {
                    builder.push(&InputRecord {
                        value: Some(line),
                        offset: (first + i as u64 - 1) as i64,
                        ..Default::default()
                    });
                }
                *next_line += lines.len() as u64;
                Ok(Some((builder.finish(), first)))
            }
        }
    }
}

/// Runs `host test`.
pub fn run(args: TestArgs) -> Result<()> {
    let (_runtime, plugins) = load_plugins(&args.runtime, &args.plugins)?;
    let (generator, transforms) = match plugins.split_first() {
        Some((first, rest)) if first.world == World::Generator => {
            (Some(first.clone()), rest.to_vec())
        }
        _ => (None, plugins.clone()),
    };
    for p in &transforms {
        p.expect(World::Transform, "a `host test` --plugin after the first")?;
    }
    let mut chain = Chain::new(&transforms)?;
    let generator = generator.map(Stage::new).transpose()?;
    let schema = chain.schema().map(<[_]>::to_vec).or_else(|| {
        if transforms.is_empty() {
            generator
                .as_ref()
                .and_then(|g| g.schema().map(<[_]>::to_vec))
        } else {
            None
        }
    });
    let mut fields = columns(schema.as_deref());
    let mut declared = schema.is_some();
    if args.format == TestFormat::Schema {
        return write_stdout(schema_tree(&fields).as_bytes());
    }
    let mut source = match generator {
        Some(stage) => Source::Generator(Box::new(stage)),
        None => {
            let reader: Box<dyn BufRead> = if args.input == "-" {
                if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                    eprintln!(
                        "reading record values from stdin, one per line (end with Ctrl-D; --input FILE reads a file)"
                    );
                }
                Box::new(std::io::BufReader::new(std::io::stdin()))
            } else {
                let file = std::fs::File::open(&args.input)
                    .with_context(|| format!("cannot open input file {:?}; give a file with one record value per line, or - for stdin", args.input))?;
                Box::new(std::io::BufReader::new(file))
            };
            Source::Lines {
                reader,
                next_line: 1,
            }
        }
    };
    let from_lines = matches!(source, Source::Lines { .. });
    let console = match args.format {
        TestFormat::Console => Some(ConsoleSink::open(
            RunFormat::Table,
            args.table.style(),
            schema.as_deref(),
        )?),
        _ => None,
    };
    // Nothing to commit: the console's tickets only need a tracker.
    let tickets = Arc::new(Tracker::default());
    let mut rows = Vec::new();
    let mut generated = 0u64;
    let mut rejected = 0usize;
    while let Some((batch, first_line)) = source.next(args.batch_size)? {
        let count = u64::from(batch.len);
        // In parts where a plugin's output is more than the host holds at once.
        chain.process_parts(&batch, 0, &mut |_, first, out| {
            let mut stderr = std::io::stderr().lock();
            rejected += out.errors.len();
            for e in &out.errors {
                let (key, n) = if from_lines {
                    ("line", first_line)
                } else {
                    ("record", generated)
                };
                let position = format!(
                    "{{{}:{},\"plugin\":{},\"error\":{}}}",
                    serde_json::to_string(key)?,
                    n + first as u64 + u64::from(e.input),
                    serde_json::to_string(&*e.plugin)?,
                    serde_json::to_string(&e.message)?
                );
                writeln!(stderr, "{position}")?;
            }
            match args.format {
                TestFormat::Json => {
                    write_stdout(&json_lines(&out))?;
                }
                TestFormat::Table => {
                    if !declared && out.batch().rows.is_some() {
                        fields = shown_columns(&fields, declared, &out);
                        declared = true;
                    }
                    let wanted = (args.table.num_rows + 1).saturating_sub(rows.len());
                    rows.extend(table_rows(&out, &fields, declared, wanted));
                }
                TestFormat::Console => {
                    let sink = console.as_ref().expect("opened for this format");
                    sink.write(&out, &tickets.open(&[]))?;
                }
                TestFormat::Schema => unreachable!("handled above"),
            }
            Ok(())
        })?;
        generated += count;
    }
    // Spark's last no-data batch: windows the final watermark closes.
    let empty = empty_batch();
    if let Some(out) = chain.tick(&empty)? {
        match (&console, args.format) {
            (Some(sink), _) => {
                sink.write(&out, &tickets.open(&[]))?;
            }
            (None, TestFormat::Json) => write_stdout(&json_lines(&out))?,
            (None, _) => {
                let wanted = (args.table.num_rows + 1).saturating_sub(rows.len());
                rows.extend(table_rows(&out, &fields, declared, wanted));
            }
        }
    }
    if args.format == TestFormat::Table {
        write_stdout(args.table.style().render(&fields, &rows).as_bytes())?;
    }
    if rejected > 0 {
        let records = if rejected == 1 {
            "record was"
        } else {
            "records were"
        };
        if args.fail_on_error {
            bail!(
                "{rejected} {records} rejected (their errors are above); failing as --fail-on-error says"
            );
        }
        eprintln!(
            "{rejected} {records} rejected (their errors are above; --fail-on-error makes this an error)"
        );
    }
    Ok(())
}
