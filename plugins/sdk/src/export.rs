//! The macros that bind a plugin type to the WIT contract.

/// Exports a [`Transform`](crate::Transform) implementation as a `transform`
/// world component. Compiles to nothing outside WebAssembly, so the same
/// crate can be tested and benchmarked natively.
#[macro_export]
macro_rules! export_transform {
    ($plugin:ty) => {
        $crate::__sluice_export!(
            $plugin,
            Transform,
            "transform",
            [transformer],
            impl transformer::Guest for Export {
                fn process(
                    input: $crate::Batch,
                ) -> Result<$crate::wit::types::Output, $crate::Error> {
                    with_plugin("process", |plugin, schema| {
                        $crate::__private::process(schema, &input, |input, output| {
                            plugin.process_batch(input, output)
                        })
                    })
                }
            }
        );
    };
}

/// Exports a [`Filter`](crate::Filter) implementation as a `transform`
/// world component: the rows it keeps go back to the host as a selection.
#[macro_export]
macro_rules! export_filter {
    ($plugin:ty) => {
        $crate::export_transform!($crate::FilterTransform<$plugin>);
    };
}

/// Exports a [`Generator`](crate::Generator) implementation as a `generator`
/// world component.
#[macro_export]
macro_rules! export_generator {
    ($plugin:ty) => {
        $crate::__sluice_export!(
            $plugin,
            Generator,
            "generator",
            [producer],
            impl producer::Guest for Export {
                fn next_batch(max: u32) -> Result<Option<$crate::Batch>, $crate::Error> {
                    with_plugin("next-batch", |plugin, _| {
                        let mut out = $crate::BatchBuilder::new();
                        let more = plugin.next_batch(max, &mut out)?;
                        Ok(if more || !out.is_empty() { Some(out.finish()) } else { None })
                    })
                }
            }
        );
    };
}

/// Exports a [`Stateful`](crate::Stateful) implementation as a
/// `stateful-transform` world component.
#[macro_export]
macro_rules! export_stateful {
    ($plugin:ty) => {
        $crate::__sluice_export!(
            $plugin,
            Stateful,
            "stateful-transform",
            [transformer, state],
            ::std::thread_local! {
                static WATERMARKS: ::std::cell::Cell<$crate::Watermarks> = const {
                    ::std::cell::Cell::new($crate::Watermarks { eviction: None, late_events: None })
                };
            }
            impl transformer::Guest for Export {
                fn process(
                    input: $crate::Batch,
                ) -> Result<$crate::wit::types::Output, $crate::Error> {
                    let watermarks = WATERMARKS.with(|w| w.get());
                    with_plugin("process", |plugin, schema| {
                        $crate::__private::process(schema, &input, |input, output| {
                            plugin.process_batch(input, watermarks, output)
                        })
                    })
                }
            }
            impl state::Guest for Export {
                fn uses_event_time() -> Option<state::EventTime> {
                    with_plugin("uses-event-time", |plugin, _| {
                        Ok(plugin.event_time().map(|(column, delay)| state::EventTime { column, delay }))
                    })
                    .ok()
                    .flatten()
                }
                fn set_watermarks(w: state::Watermarks) {
                    WATERMARKS.with(|cell| {
                        cell.set($crate::Watermarks { eviction: w.eviction, late_events: w.late_events })
                    });
                }
                fn late_rows() -> u64 {
                    with_plugin("late-rows", |plugin, _| Ok(plugin.late_rows())).unwrap_or_default()
                }
                fn snapshot() -> Vec<u8> {
                    with_plugin("snapshot", |plugin, _| Ok(plugin.snapshot())).unwrap_or_default()
                }
                fn restore(state: Vec<u8>) -> Result<(), $crate::Error> {
                    with_plugin("restore", |plugin, _| plugin.restore(&state))
                }
            }
        );
    };
}

/// What both worlds share: the bindings, the plugin's state, and the
/// `plugin` interface (`about`, `init` rejecting unread keys, `schema`).
/// The world's own interface comes in as `$world_impl`.
#[doc(hidden)]
#[macro_export]
macro_rules! __sluice_export {
    ($plugin:ty, $trait:ident, $world:literal, [$($interface:ident),+], $($world_impl:item)+) => {
        // Natively (tests, benches) nothing is exported; keep the type "used".
        #[cfg(not(target_arch = "wasm32"))]
        const _: () = {
            let _ = <$plugin as $crate::$trait>::init;
        };
        #[cfg(target_arch = "wasm32")]
        #[doc(hidden)]
        mod __sluice_export {
            #![allow(missing_docs, unsafe_code, clippy::all)]
            use super::*;
            $crate::__sluice_generate!($world);

            use ::std::cell::RefCell;
            use exports::sluice::plugin::{$($interface,)+ plugin};
            use $crate::$trait as _;

            ::std::thread_local! {
                static STATE: RefCell<Option<($plugin, Option<Vec<$crate::Field>>)>> =
                    const { RefCell::new(None) };
            }

            struct Export;

            fn with_plugin<R>(
                call: &str,
                f: impl FnOnce(&mut $plugin, &Option<Vec<$crate::Field>>) -> Result<R, $crate::Error>,
            ) -> Result<R, $crate::Error> {
                STATE.with(|s| {
                    let mut state = s.borrow_mut();
                    let (plugin, schema) = state.as_mut().ok_or_else(|| {
                        $crate::Error::Fatal(format!("{call} called before init"))
                    })?;
                    f(plugin, schema)
                })
            }

            impl plugin::Guest for Export {
                fn about() -> $crate::Info {
                    <$plugin as $crate::$trait>::about()
                }
                fn init(config: Vec<(String, String)>) -> Result<(), $crate::Error> {
                    let mut config = $crate::Config::new(config);
                    let plugin = <$plugin as $crate::$trait>::init(&mut config)?;
                    let known: Vec<String> = <$plugin as $crate::$trait>::about()
                        .config
                        .into_iter()
                        .map(|k| k.name)
                        .collect();
                    config.reject_unknown(&known)?;
                    let schema = plugin.schema();
                    STATE.with(|s| *s.borrow_mut() = Some((plugin, schema)));
                    Ok(())
                }
                fn schema() -> Option<Vec<$crate::Field>> {
                    STATE.with(|s| s.borrow().as_ref().and_then(|p| p.1.clone()))
                }
            }

            $($world_impl)+

            export!(Export);
        }
    };
}
