//! A stateful plugin that traps: counts records per `ticker` (state the host
//! checkpoints), writes each updated ticker's running count after every
//! batch, and panics in every third call an instance gets. The host must
//! restore the state into each new instance, so the counts stay exact.
use sluice_sdk::{
    Config, Error, Field, FieldType, Input, NO_INPUT, Output, Stateful, Watermarks, field,
};
use std::collections::BTreeMap;

struct Counter {
    counts: BTreeMap<String, i64>,
    calls: u32,
}

impl Stateful for Counter {
    fn init(_: &mut Config) -> Result<Self, Error> {
        Ok(Counter {
            counts: BTreeMap::new(),
            calls: 0,
        })
    }
    fn schema(&self) -> Option<Vec<Field>> {
        Some(vec![
            field("ticker", FieldType::String),
            field("count", FieldType::Long),
        ])
    }
    fn process_batch(
        &mut self,
        input: &Input<'_>,
        _: Watermarks,
        output: &mut Output,
    ) -> Result<(), Error> {
        self.calls += 1;
        let mut updated = BTreeMap::new();
        for row in input.rows() {
            let ticker = row.str("ticker").unwrap_or_default().into_owned();
            let n = self.counts.entry(ticker.clone()).or_default();
            *n += 1;
            updated.insert(ticker, *n);
        }
        // After counting: a trap here loses this batch's counts with the instance.
        assert!(
            !self.calls.is_multiple_of(3),
            "the third call of this instance"
        );
        for (ticker, n) in updated {
            let rows = output
                .typed_row(NO_INPUT)
                .map_err(|e| Error::Fatal(format!("{e:?}")))?;
            rows.column(0).push_str(&ticker);
            rows.column(1).push_i64(n);
        }
        Ok(())
    }
    fn snapshot(&self) -> Vec<u8> {
        let lines: Vec<String> = self
            .counts
            .iter()
            .map(|(t, n)| format!("{t}\t{n}"))
            .collect();
        lines.join("\n").into_bytes()
    }
    fn restore(&mut self, state: &[u8]) -> Result<(), Error> {
        let text = std::str::from_utf8(state).map_err(|e| Error::Fatal(e.to_string()))?;
        self.counts = text
            .lines()
            .filter_map(|l| l.split_once('\t'))
            .map(|(t, n)| (t.to_string(), n.parse().unwrap_or_default()))
            .collect();
        Ok(())
    }
}
sluice_sdk::export_stateful!(Counter);
