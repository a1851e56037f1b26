//! A batch after the whole chain of transforms: the rows that came out,
//! which source record each came from, the records that failed, and each
//! row's metadata (its own, where a plugin set it, else its source
//! record's). What a sink writes and a dead-letter route reads.

use super::batch::{self, bytes};
use super::{Batch, RecordMeta, Span};
use std::sync::Arc;

/// A record that failed in some stage.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainError {
    /// Index of the source record in the batch the chain was given.
    pub input: u32,
    /// The plugin that rejected (or trapped on) it.
    pub plugin: Arc<str>,
    /// Why.
    pub message: String,
}

/// What a batch becomes after the whole chain.
pub struct ChainOutput<'s> {
    source: &'s Batch,
    /// The final rows (`None`: the source batch, unchanged).
    batch: Option<Batch>,
    /// For each final row, the index of the source record it came from.
    origin: Vec<u32>,
    /// Source records that failed, in the order they failed.
    pub errors: Vec<ChainError>,
}

impl<'s> ChainOutput<'s> {
    /// The outcome of `source`: `batch` (`None`: the source rows, unchanged),
    /// the source index of each of its rows, and the records that failed.
    pub(crate) fn new(
        source: &'s Batch,
        batch: Option<Batch>,
        origin: Vec<u32>,
        errors: Vec<ChainError>,
    ) -> Self {
        ChainOutput {
            source,
            batch,
            origin,
            errors,
        }
    }

    /// The final rows.
    pub fn batch(&self) -> &Batch {
        self.batch.as_ref().unwrap_or(self.source)
    }

    /// The number of final rows.
    pub fn len(&self) -> usize {
        self.origin.len()
    }

    /// Whether no row came out.
    pub fn is_empty(&self) -> bool {
        self.origin.is_empty()
    }

    /// The index of the source record row `i` came from.
    pub fn origin(&self, i: usize) -> usize {
        self.origin[i] as usize
    }

    /// The record that holds row `i`'s metadata: its own, unless it left
    /// a field to inherit, then the source record's.
    fn meta(&self, i: usize) -> (Option<&RecordMeta>, Option<&RecordMeta>) {
        let own = self.batch().records.get(i);
        (own, self.source.records.get(self.origin(i)))
    }

    /// Row `i`'s key (`None`: a null key).
    pub fn key(&self, i: usize) -> Option<&[u8]> {
        match self.meta(i) {
            (Some(own), _) if own.key.is_some() || !own.keep_metadata => {
                own.key.map(|k| bytes(self.batch(), k))
            }
            (_, source) => source?.key.map(|k| bytes(self.source, k)),
        }
    }

    /// Row `i`'s headers.
    pub fn headers(&self, i: usize) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> + '_ {
        let (batch, range) = match self.meta(i) {
            (Some(own), _) if own.headers.len > 0 || !own.keep_metadata => {
                (self.batch(), own.headers)
            }
            (_, Some(source)) => (self.source, source.headers),
            (_, None) => (self.source, Span { offset: 0, len: 0 }),
        };
        header_list(batch, range)
    }

    /// Row `i`'s timestamp, milliseconds since the Unix epoch.
    pub fn timestamp(&self, i: usize) -> Option<i64> {
        match self.meta(i) {
            (Some(own), _) if own.timestamp.is_some() || !own.keep_metadata => own.timestamp,
            (_, source) => source?.timestamp,
        }
    }

    /// The topic a plugin sent row `i` to, if any.
    pub fn topic(&self, i: usize) -> Option<&str> {
        let own = self.batch().records.get(i)?;
        own.topic
            .and_then(|t| std::str::from_utf8(bytes(self.batch(), t)).ok())
    }

    /// The rows' values as bytes: raw values, or typed rows as one JSON
    /// object each (Spark's `to_json`).
    pub fn values(&self) -> batch::RowValues<'_> {
        batch::RowValues::new(self.batch())
    }
}

fn header_list(batch: &Batch, range: Span) -> impl Iterator<Item = (&[u8], Option<&[u8]>)> {
    batch.headers[range.offset as usize..(range.offset + range.len) as usize]
        .iter()
        .map(move |h| (bytes(batch, h.key), h.value.map(|v| bytes(batch, v))))
}
