//! The HTTP endpoints, served by the host itself on a small tokio runtime
//! of their own: `/metrics` (OpenMetrics text), `/api/progress` (JSON), `/`
//! (the live page, one self-contained file) and `/healthz`. Read-only.

use super::{ObservePlan, Observer};
use anyhow::{Result, anyhow};
use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::sync::Arc;

/// The live page.
const PAGE: &str = include_str!("ui.html");

/// The running endpoints; dropping this stops them.
pub struct Servers {
    runtime: Option<tokio::runtime::Runtime>,
    /// Where the page is served, if it is.
    pub ui: Option<SocketAddr>,
    /// Where `/metrics` is served, if it is.
    pub metrics: Option<SocketAddr>,
}

/// Binds `addr`; with `next_free`, a busy port moves on to the next ones,
/// as Spark's UI does from 4040.
fn bind(addr: &str, flag: &str, next_free: bool) -> Result<TcpListener> {
    let resolved: SocketAddr = addr
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or_else(|| {
            anyhow!("{flag} {addr:?} is not a HOST:PORT address (e.g. 127.0.0.1:4040)")
        })?;
    let tries = if next_free { 16 } else { 1 };
    let mut last = None;
    for i in 0..tries {
        let mut at = resolved;
        at.set_port(resolved.port().saturating_add(i));
        match TcpListener::bind(at) {
            Ok(l) => return Ok(l),
            Err(e) => last = Some(e),
        }
    }
    let e = last.expect("tried at least once");
    Err(anyhow!(
        "cannot listen on {addr} for {flag}: {e}; pass another {flag} HOST:PORT (port 0 picks a free one)"
    ))
}

impl Servers {
    /// Binds every address the plan names (before any record is read, so a
    /// busy port fails the start) and serves them.
    pub fn start(observer: Arc<Observer>, plan: &ObservePlan) -> Result<Servers> {
        let mut listeners = Vec::new();
        let ui = match &plan.ui_addr {
            Some(addr) => {
                let l = bind(addr, "--ui", plan.ui_next_free_port)?;
                let at = l.local_addr()?;
                listeners.push(l);
                Some(at)
            }
            None => None,
        };
        let metrics = match (&plan.metrics_addr, &plan.ui_addr) {
            (Some(m), Some(u)) if m == u => ui,
            (Some(addr), _) => {
                let l = bind(addr, "--metrics-addr", false)?;
                let at = l.local_addr()?;
                listeners.push(l);
                Some(at)
            }
            (None, _) => None,
        };
        if listeners.is_empty() {
            return Ok(Servers {
                runtime: None,
                ui,
                metrics,
            });
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("sluice-http")
            .enable_io()
            .enable_time()
            .build()?;
        let app = Router::new()
            .route("/", get(page))
            .route("/metrics", get(metrics_text))
            .route("/api/progress", get(api))
            .route("/healthz", get(|| async { "ok\n" }))
            .with_state(observer);
        for listener in listeners {
            listener.set_nonblocking(true)?;
            let app = app.clone();
            runtime.spawn(async move {
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => {
                        if let Err(e) = axum::serve(l, app).await {
                            tracing::warn!("the HTTP endpoint stopped: {e}");
                        }
                    }
                    Err(e) => tracing::warn!("serving HTTP: {e}"),
                }
            });
        }
        Ok(Servers {
            runtime: Some(runtime),
            ui,
            metrics,
        })
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

async fn page() -> Html<&'static str> {
    Html(PAGE)
}

async fn metrics_text(State(o): State<Arc<Observer>>) -> impl IntoResponse {
    (
        [(
            CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        o.metrics_text(),
    )
}

async fn api(State(o): State<Arc<Observer>>) -> axum::Json<serde_json::Value> {
    axum::Json(o.api())
}
