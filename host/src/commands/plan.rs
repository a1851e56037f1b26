//! What `host run` resolves from its flags (and pipeline file) before it
//! starts, shared by `run` and `run --check` so that both read them alike.

use crate::cli::{OnError, RunArgs, SinkKind};
use anyhow::{Result, bail};

/// The error policy in force: `--on-error`, or dlq when there is a
/// dead-letter topic and fail when there is none.
pub fn on_error(args: &RunArgs) -> Result<OnError> {
    match (args.on_error, &args.dlq_topic) {
        (Some(OnError::Dlq), None) => {
            bail!("--on-error dlq needs --dlq-topic TOPIC (where rejected records go)")
        }
        (Some(policy @ (OnError::Drop | OnError::Fail)), Some(dlq)) => bail!(
            "--dlq-topic {dlq:?} is only used with --on-error dlq, not {}",
            if policy == OnError::Drop {
                "drop"
            } else {
                "fail"
            }
        ),
        (Some(policy), _) => Ok(policy),
        (None, Some(_)) => Ok(OnError::Dlq),
        (None, None) => Ok(OnError::Fail),
    }
}

/// `--workers`, or its default: one per core for Kafka, 1 for the console.
pub fn workers(args: &RunArgs) -> usize {
    args.workers.map_or_else(
        || match args.sink {
            SinkKind::Console => 1,
            SinkKind::Kafka => std::thread::available_parallelism().map_or(1, |n| n.get()),
        },
        |n| n as usize,
    )
}

/// The topic `--sink kafka` writes to; `None` for the console.
pub fn output_topic(args: &RunArgs) -> Result<Option<String>> {
    match (args.sink, &args.output_topic) {
        (SinkKind::Kafka, None) => bail!("--sink kafka needs --output-topic TOPIC"),
        (SinkKind::Console, Some(t)) => bail!(
            "--output-topic {t:?} is for --sink kafka; add --sink kafka, or drop it to print to the console"
        ),
        (_, t) => Ok(t.clone()),
    }
}
