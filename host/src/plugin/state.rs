//! What each plugin instance's `Store` holds: its WASI context (no files, no
//! network, no environment), its memory limits, a bounded tail of its
//! stdout/stderr, and the `host` import.

use super::bindings::{Level, sluice};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use wasmtime::{ResourceLimiter, StoreLimits};
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};
use wasmtime_wasi::{ResourceTable, WasiCtx, WasiCtxView, WasiView};

/// How many bytes of a plugin's stdout/stderr are kept for error messages.
pub const OUTPUT_TAIL_BYTES: usize = 4096;

/// The last bytes a plugin wrote to stdout/stderr: a ring that never blocks
/// or fails the guest, however much it writes.
#[derive(Clone, Default)]
pub struct OutputTail(Arc<Mutex<VecDeque<u8>>>);

impl OutputTail {
    fn push(&self, bytes: &[u8]) {
        let mut ring = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let bytes = &bytes[bytes.len().saturating_sub(OUTPUT_TAIL_BYTES)..];
        let overflow = (ring.len() + bytes.len()).saturating_sub(OUTPUT_TAIL_BYTES);
        ring.drain(..overflow);
        ring.extend(bytes);
    }

    /// The tail as text, trimmed.
    pub fn text(&self) -> String {
        let ring = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let bytes: Vec<u8> = ring.iter().copied().collect();
        String::from_utf8_lossy(&bytes).trim().to_string()
    }

    /// Forgets what was written (after it has been reported).
    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

impl IsTerminal for OutputTail {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for OutputTail {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(TailWriter(self.clone()))
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for OutputTail {
    async fn ready(&mut self) {}
}

impl OutputStream for OutputTail {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(64 * 1024)
    }
}

struct TailWriter(OutputTail);

impl tokio::io::AsyncWrite for TailWriter {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.0.push(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// The store's limits, remembering the largest linear memory the instance
/// was allowed to grow to (its memory high-water mark).
pub struct Limiter {
    limits: StoreLimits,
    /// The largest size, in bytes, a memory of the instance grew to.
    pub memory_high_water: usize,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let allowed = self.limits.memory_growing(current, desired, maximum)?;
        if allowed {
            self.memory_high_water = self.memory_high_water.max(desired);
        }
        Ok(allowed)
    }

    fn memory_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.memory_grow_failed(error)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn table_grow_failed(&mut self, error: wasmtime::Error) -> wasmtime::Result<()> {
        self.limits.table_grow_failed(error)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

/// The data of one plugin instance's `Store`.
pub struct State {
    /// The plugin's name, for log lines.
    pub plugin: Arc<str>,
    wasi: WasiCtx,
    table: ResourceTable,
    /// Memory and instance limits enforced by wasmtime.
    pub limits: Limiter,
    /// What the plugin last wrote to stdout/stderr.
    pub output: OutputTail,
}

impl State {
    /// A fresh state: empty stdin, captured stdout/stderr, no files, no
    /// network, no environment, no arguments.
    pub fn new(plugin: Arc<str>, limits: StoreLimits) -> Self {
        let output = OutputTail::default();
        let wasi = WasiCtx::builder()
            .stdout(output.clone())
            .stderr(output.clone())
            // A constant: hash tables work (std's HashMap seeds from it),
            // and no entropy of the host reaches an ungranted plugin.
            .insecure_random_seed(0)
            .build();
        State {
            plugin,
            wasi,
            table: ResourceTable::new(),
            limits: Limiter {
                limits,
                memory_high_water: 0,
            },
            output,
        }
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl sluice::plugin::types::Host for State {}

impl sluice::plugin::host::Host for State {
    fn log(&mut self, level: Level, message: String) {
        let plugin = &*self.plugin;
        match level {
            Level::Trace => tracing::trace!(plugin, "{message}"),
            Level::Debug => tracing::debug!(plugin, "{message}"),
            Level::Info => tracing::info!(plugin, "{message}"),
            Level::Warn => tracing::warn!(plugin, "{message}"),
            Level::Error => {
                tracing::error!(plugin, "{message}");
                // A plugin's last error line is part of the reason if it then
                // crashes (the Python SDK logs the exception this way).
                self.output.push(format!("{message}\n").as_bytes());
            }
        }
    }
}
