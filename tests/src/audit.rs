//! The reliability tests' checker, after Jepsen's: every input record carries
//! a unique key; what each must become is computed by the test from the input
//! alone; the audit holds every output and dead letter against it, and each
//! fault's moment against what Kafka held at that moment.

use crate::{Broker, Record};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A producer thread sending `chunk(next)` (the records from number `next`
/// on) to a topic at every pause, until [`SteadyLoad::finish`]: the load the
/// faults happen under.
pub struct SteadyLoad {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<usize>,
}

impl SteadyLoad {
    /// Starts the load into `topic`, a chunk at every `pause`.
    pub fn start(
        broker: &Broker,
        topic: &str,
        pause: Duration,
        chunk: impl Fn(usize) -> Vec<Record> + Send + 'static,
    ) -> SteadyLoad {
        let stop = Arc::new(AtomicBool::new(false));
        let (addr, flag, topic) = (broker.addr.clone(), stop.clone(), topic.to_string());
        let thread = std::thread::spawn(move || {
            let producer = Broker::attach(&addr).producer();
            let mut next = 0;
            while !flag.load(Ordering::Relaxed) {
                let records = chunk(next);
                producer.send(&topic, &records);
                next += records.len();
                std::thread::sleep(pause);
            }
            next
        });
        SteadyLoad { stop, thread }
    }

    /// Stops the load; returns how many records were sent.
    pub fn finish(self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().expect("the load thread")
    }
}

/// What an input record must become.
pub enum Fate {
    /// This output record (key, value, headers, timestamp; its partition is not checked).
    Output(Record),
    /// A dead letter: the input itself plus `sluice.error`, `sluice.plugin` and
    /// `sluice.source.{topic,partition,offset}`.
    DeadLetter,
}

/// Where the tests' pipeline reads and writes.
pub struct Topics<'a> {
    /// The topic read.
    pub input: &'a str,
    /// The topic the outputs go to.
    pub output: &'a str,
    /// The dead-letter topic, if the run has one.
    pub dlq: Option<&'a str>,
    /// The plugin a dead letter names.
    pub plugin: &'a str,
}

/// What Kafka held at one fault's moment (read after the process was gone):
/// each input partition's committed offset, and how many copies of each key
/// had reached the output and dead-letter topics.
pub struct Moment {
    /// What the fault was, for messages.
    pub what: String,
    committed: BTreeMap<i32, i64>,
    delivered: BTreeMap<Vec<u8>, usize>,
    /// For a fault whose moment cannot be read: at most what it may repeat.
    bound: Option<usize>,
}

impl Moment {
    /// A fault whose moment cannot be read from Kafka (the broker itself
    /// went down): the audit allows it `bound` repeated records.
    pub fn unread(what: &str, bound: usize) -> Moment {
        Moment {
            what: what.to_string(),
            committed: BTreeMap::new(),
            delivered: BTreeMap::new(),
            bound: Some(bound),
        }
    }

    /// Records delivered (outputs and dead letters, with duplicates).
    pub fn delivered(&self) -> usize {
        self.delivered.values().sum()
    }

    /// The committed offsets, added up (the records committed).
    pub fn committed(&self) -> i64 {
        self.committed.values().sum()
    }
}

/// The audit's figures.
#[derive(Debug, Default)]
pub struct Audited {
    /// Input records.
    pub records: usize,
    /// Copies beyond the first, outputs and dead letters.
    pub duplicates: usize,
    /// Inputs that became dead letters.
    pub dead_letters: usize,
    /// Per fault, the records delivered but not committed at its moment: at
    /// most what a restart can repeat because of it.
    pub exposed: Vec<usize>,
}

impl Topics<'_> {
    /// What has reached Kafka now, with the group's committed offsets:
    /// called once the faulted process has exited, so nothing of it is
    /// still on its way (asked until two readings agree).
    pub fn moment(&self, broker: &Broker, group: &str, what: &str) -> Moment {
        let partitions = broker.partitions(self.input);
        let read = || {
            let committed: BTreeMap<i32, i64> = (0..partitions)
                .zip(broker.offsets(group, self.input, partitions))
                .map(|(p, (c, _))| (p, c.unwrap_or(0)))
                .collect();
            let mut delivered = BTreeMap::new();
            for r in self.delivered(broker, Broker::read_to_end) {
                *delivered.entry(r.key.unwrap_or_default()).or_insert(0) += 1;
            }
            (committed, delivered)
        };
        let mut last = read();
        loop {
            let again = read();
            if again == last {
                break;
            }
            last = again;
        }
        Moment {
            what: what.to_string(),
            committed: last.0,
            delivered: last.1,
            bound: None,
        }
    }

    fn delivered(
        &self,
        broker: &Broker,
        read: impl Fn(&Broker, &str) -> Vec<Record>,
    ) -> Vec<Record> {
        let mut all = read(broker, self.output);
        if let Some(dlq) = self.dlq {
            all.extend(read(broker, dlq));
        }
        all
    }

    /// Reads the input, output and dead-letter topics to their ends (once
    /// every run is over) and holds them against `fate` and the `moments`:
    /// every input is delivered, as `fate` says, exactly; a duplicate is
    /// byte for byte its first copy; at each moment every offset below the
    /// committed one had been delivered (nothing is committed before it is
    /// delivered), and every duplicate is one a moment exposed (delivered,
    /// not committed). Panics with the first ten differences.
    pub fn audit(
        &self,
        broker: &Broker,
        moments: &[Moment],
        fate: impl Fn(&Record) -> Fate,
    ) -> Audited {
        let input = broker.read_to_end(self.input);
        let output = broker.read_to_end(self.output);
        let dlq = self.dlq.map(|t| broker.read_to_end(t)).unwrap_or_default();
        let mut wrong = Vec::new();
        let mut by_key: BTreeMap<&[u8], &Record> = BTreeMap::new();
        for r in &input {
            let key = r.key.as_deref().expect("each input record has a key");
            if by_key.insert(key, r).is_some() {
                panic!("the test's input repeats the key {:?}", r.key_str());
            }
        }
        let fates: BTreeMap<&[u8], Fate> = by_key.iter().map(|(k, r)| (*k, fate(r))).collect();
        let mut first: BTreeMap<&[u8], &Record> = BTreeMap::new();
        let mut copies: BTreeMap<&[u8], usize> = BTreeMap::new();
        let received = output
            .iter()
            .map(|r| (r, true))
            .chain(dlq.iter().map(|r| (r, false)));
        for (got, is_output) in received {
            let key = got.key.as_deref().unwrap_or_default();
            let Some(source) = by_key.get(key) else {
                wrong.push(format!("{:?} was never input", got.key_str()));
                continue;
            };
            *copies.entry(key).or_insert(0) += 1;
            if let Some(earlier) = first.get(key) {
                if !same(earlier, got) {
                    wrong.push(format!(
                        "{:?}: a duplicate differs from its first copy:\n  {earlier:?}\n  {got:?}",
                        got.key_str()
                    ));
                }
                continue;
            }
            first.insert(key, got);
            let where_ = |o: bool| if o { "the output" } else { "the dead letters" };
            match (&fates[key], is_output) {
                (Fate::Output(want), true) => {
                    if !same(want, got) {
                        wrong.push(format!(
                            "{:?}: output\n  {got:?}\nwanted\n  {want:?}",
                            got.key_str()
                        ));
                    }
                }
                (Fate::DeadLetter, false) => {
                    if let Some(why) = self.not_its_dead_letter(source, got) {
                        wrong.push(format!("{:?}: dead letter {why}: {got:?}", got.key_str()));
                    }
                }
                (fate, _) => wrong.push(format!(
                    "{:?} reached {}, wanted in {}",
                    got.key_str(),
                    where_(is_output),
                    where_(matches!(fate, Fate::Output(_)))
                )),
            }
        }
        for (key, source) in &by_key {
            if !copies.contains_key(key) {
                wrong.push(format!(
                    "{:?} ({}[{}]@{}) is lost",
                    source.key_str(),
                    self.input,
                    source.partition.unwrap(),
                    source.offset
                ));
            }
        }
        // Each moment: committed ⊆ delivered, and what it exposed.
        let mut exposed = Vec::new();
        for m in moments {
            if let Some(bound) = m.bound {
                exposed.push(bound);
                continue;
            }
            let mut n = 0;
            for (key, source) in &by_key {
                let committed = m.committed.get(&source.partition.unwrap()).copied();
                let below = source.offset < committed.unwrap_or(0);
                let delivered = m.delivered.get(*key).copied().unwrap_or(0);
                if below && delivered == 0 {
                    wrong.push(format!(
                        "{}: {}[{}]@{} was committed before it was delivered",
                        m.what,
                        self.input,
                        source.partition.unwrap(),
                        source.offset
                    ));
                }
                if !below && delivered > 0 {
                    n += 1;
                }
            }
            exposed.push(n);
        }
        let duplicates: usize = copies.values().map(|c| c - 1).sum();
        let allowed: usize = exposed.iter().sum();
        if duplicates > allowed {
            wrong.push(format!(
                "{duplicates} duplicates, but only {allowed} records were delivered and not committed at the faults"
            ));
        }
        if !wrong.is_empty() {
            let mut text = String::new();
            for w in wrong.iter().take(10) {
                let _ = writeln!(text, "{w}");
            }
            if wrong.len() > 10 {
                let _ = writeln!(text, "… and {} more", wrong.len() - 10);
            }
            panic!("the audit of {}:\n{text}", self.input);
        }
        Audited {
            records: input.len(),
            duplicates,
            dead_letters: fates
                .values()
                .filter(|f| matches!(f, Fate::DeadLetter))
                .count(),
            exposed,
        }
    }

    /// Why `got` is not `source`'s dead letter (`None` when it is).
    fn not_its_dead_letter(&self, source: &Record, got: &Record) -> Option<String> {
        let mut want_headers = source.headers.clone();
        let added: Vec<_> = got
            .headers
            .iter()
            .filter(|(k, _)| k.starts_with("sluice."))
            .cloned()
            .collect();
        want_headers.extend(added);
        let want = Record {
            headers: want_headers,
            ..source.clone()
        };
        if !same(&want, got) {
            return Some("is not the input with sluice.* headers added".into());
        }
        let expect = [
            ("sluice.plugin", Some(self.plugin.to_string())),
            ("sluice.source.topic", Some(self.input.to_string())),
            (
                "sluice.source.partition",
                Some(source.partition.unwrap().to_string()),
            ),
            ("sluice.source.offset", Some(source.offset.to_string())),
        ];
        for (name, value) in expect {
            if got.header(name) != value {
                return Some(format!(
                    "has {name} {:?}, wanted {value:?}",
                    got.header(name)
                ));
            }
        }
        got.header("sluice.error")
            .filter(|e| !e.is_empty())
            .map_or(Some("has no sluice.error".into()), |_| None)
    }
}

/// The same record as the user sees it: key, value, headers, timestamp.
fn same(a: &Record, b: &Record) -> bool {
    (&a.key, &a.value, &a.headers, a.timestamp) == (&b.key, &b.value, &b.headers, b.timestamp)
}
