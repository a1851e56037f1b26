//! `stock_generator`: stock ticks like the tutorial's Python producer.
//!
//! Each record is `json.dumps({"event_time": datetime.now().isoformat(),
//! "ticker": random.choice(tickers), "price": round(random.random() * 100, 2)})`,
//! byte for byte in shape: `{"event_time": "2026-11-25T13:10:31.123456",
//! "ticker": "AAPL", "price": 42.17}`. With a `seed`, the tickers and prices
//! are the same on every run. The host paces the output; this plugin only
//! needs the wall clock (a grant generators get).

use sluice_sdk::{BatchBuilder, Config, Error, Field, FieldType, Generator, Info, key};
use std::time::{SystemTime, UNIX_EPOCH};
use time::{OffsetDateTime, UtcOffset};

/// The tutorial's tickers.
pub const DEFAULT_TICKERS: &str = "AAPL,AMZN,MSFT,INTC,TBV";

/// The generator state.
pub struct StockGenerator {
    rng: fastrand::Rng,
    remaining: u64,
    tickers: Vec<String>,
    offset: UtcOffset,
}

fn parse_offset(raw: &str) -> Result<UtcOffset, Error> {
    let bad = || {
        Error::BadConfig(format!(
            "config utc_offset={raw:?}: expected +HH:MM or -HH:MM, e.g. +01:00"
        ))
    };
    let (sign, rest) = match raw.as_bytes().first() {
        Some(b'+') => (1, &raw[1..]),
        Some(b'-') => (-1, &raw[1..]),
        _ => return Err(bad()),
    };
    let (h, m) = rest.split_once(':').ok_or_else(bad)?;
    let (h, m): (i8, i8) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    UtcOffset::from_hms(sign * h, sign * m, 0).map_err(|_| bad())
}

impl StockGenerator {
    /// A generator of `count` ticks; `seed` makes tickers and prices repeatable.
    pub fn new(seed: Option<u64>, count: u64, tickers: Vec<String>, offset: UtcOffset) -> Self {
        let seed = seed.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0)
        });
        StockGenerator {
            rng: fastrand::Rng::with_seed(seed),
            remaining: count,
            tickers,
            offset,
        }
    }

    /// Appends one tick, in Python `json.dumps` layout, to `buf`.
    pub fn write_tick(&mut self, buf: &mut Vec<u8>) {
        let ticker = &self.tickers[self.rng.usize(..self.tickers.len())];
        let price = (self.rng.f64() * 100.0 * 100.0).round() / 100.0;
        let now = OffsetDateTime::now_utc().to_offset(self.offset);
        let micros = now.microsecond();
        let mut time = format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            now.year(),
            now.month() as u8,
            now.day(),
            now.hour(),
            now.minute(),
            now.second()
        );
        if micros != 0 {
            time.push_str(&format!(".{micros:06}"));
        }
        buf.extend_from_slice(b"{\"event_time\": ");
        serde_json::to_writer(&mut *buf, &time).expect("writing to a Vec");
        buf.extend_from_slice(b", \"ticker\": ");
        serde_json::to_writer(&mut *buf, ticker).expect("writing to a Vec");
        buf.extend_from_slice(b", \"price\": ");
        serde_json::to_writer(&mut *buf, &price).expect("writing to a Vec");
        buf.push(b'}');
    }
}

impl Generator for StockGenerator {
    fn about() -> Info {
        sluice_sdk::info(
            "stock ticks like the tutorial's producer: event_time, ticker, price",
            vec![
                key(
                    "count",
                    "number of records, then the generator ends",
                    Some("20000"),
                ),
                key(
                    "seed",
                    "random seed: the same seed gives the same tickers and prices",
                    None,
                ),
                key(
                    "tickers",
                    "comma-separated tickers to choose from",
                    Some(DEFAULT_TICKERS),
                ),
                key(
                    "utc_offset",
                    "time zone of event_time as +HH:MM; the host passes its local zone (UTC when run elsewhere)",
                    Some("+00:00"),
                ),
            ],
        )
    }

    fn init(config: &mut Config) -> Result<Self, Error> {
        let count = config.parse_or("count", 20_000u64)?;
        let seed = match config.get("seed") {
            None => None,
            Some(_) => Some(config.parse_or("seed", 0u64)?),
        };
        let tickers: Vec<String> = config
            .get_or("tickers", DEFAULT_TICKERS)
            .split(',')
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
            .collect();
        if tickers.is_empty() {
            return Err(Error::BadConfig(
                "config tickers: give at least one ticker, e.g. AAPL,MSFT".into(),
            ));
        }
        let offset = parse_offset(config.get_or("utc_offset", "+00:00"))?;
        Ok(StockGenerator::new(seed, count, tickers, offset))
    }

    fn schema(&self) -> Option<Vec<Field>> {
        let field = sluice_sdk::field;
        Some(vec![
            field("event_time", FieldType::String),
            field("ticker", FieldType::String),
            field("price", FieldType::Double),
        ])
    }

    fn next_batch(&mut self, max: u32, out: &mut BatchBuilder) -> Result<bool, Error> {
        let n = self.remaining.min(u64::from(max));
        for _ in 0..n {
            out.push_with(|buf| self.write_tick(buf));
        }
        self.remaining -= n;
        Ok(self.remaining > 0)
    }
}

sluice_sdk::export_generator!(StockGenerator);
