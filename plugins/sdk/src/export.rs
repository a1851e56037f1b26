//! The macros that bind a plugin type to the WIT contract.

/// Exports a [`Transform`](crate::Transform) implementation as a `transform`
/// world component. Compiles to nothing outside WebAssembly, so the same
/// crate can be tested and benchmarked natively.
#[macro_export]
macro_rules! export_transform {
    ($plugin:ty) => {
        // Natively (tests, benches) nothing is exported; keep the type "used".
        #[cfg(not(target_arch = "wasm32"))]
        const _: () = {
            let _ = <$plugin as $crate::Transform>::init;
        };
        #[cfg(target_arch = "wasm32")]
        #[doc(hidden)]
        mod __sluice_export {
            #![allow(missing_docs, unsafe_code, clippy::all)]
            use super::*;
            $crate::__sluice_generate!("transform");

            use ::std::cell::RefCell;
            use exports::sluice::plugin::{plugin, transformer};
            use $crate::Transform as _;

            ::std::thread_local! {
                static STATE: RefCell<Option<$plugin>> = const { RefCell::new(None) };
            }

            struct Export;

            impl plugin::Guest for Export {
                fn about() -> $crate::Info {
                    <$plugin as $crate::Transform>::about()
                }
                fn init(config: Vec<(String, String)>) -> Result<(), $crate::Error> {
                    let mut config = $crate::Config::new(config);
                    let plugin = <$plugin as $crate::Transform>::init(&mut config)?;
                    let known: Vec<String> = <$plugin as $crate::Transform>::about()
                        .config
                        .into_iter()
                        .map(|k| k.name)
                        .collect();
                    config.reject_unknown(&known)?;
                    STATE.with(|s| *s.borrow_mut() = Some(plugin));
                    Ok(())
                }
                fn schema() -> Option<Vec<$crate::Field>> {
                    STATE.with(|s| s.borrow().as_ref().and_then(|p| p.schema()))
                }
            }

            impl transformer::Guest for Export {
                fn process(
                    input: $crate::Batch,
                ) -> Result<$crate::wit::types::Output, $crate::Error> {
                    STATE.with(|s| {
                        let mut state = s.borrow_mut();
                        let plugin = state.as_mut().ok_or_else(|| {
                            $crate::Error::Fatal("process called before init".to_string())
                        })?;
                        let mut output = $crate::Output::new();
                        plugin.process_batch(&input, &mut output)?;
                        Ok(output.finish())
                    })
                }
            }

            export!(Export);
        }
    };
}

/// Exports a [`Generator`](crate::Generator) implementation as a `generator`
/// world component.
#[macro_export]
macro_rules! export_generator {
    ($plugin:ty) => {
        #[cfg(not(target_arch = "wasm32"))]
        const _: () = {
            let _ = <$plugin as $crate::Generator>::init;
        };
        #[cfg(target_arch = "wasm32")]
        #[doc(hidden)]
        mod __sluice_export {
            #![allow(missing_docs, unsafe_code, clippy::all)]
            use super::*;
            $crate::__sluice_generate!("generator");

            use ::std::cell::RefCell;
            use exports::sluice::plugin::{plugin, producer};
            use $crate::Generator as _;

            ::std::thread_local! {
                static STATE: RefCell<Option<$plugin>> = const { RefCell::new(None) };
            }

            struct Export;

            impl plugin::Guest for Export {
                fn about() -> $crate::Info {
                    <$plugin as $crate::Generator>::about()
                }
                fn init(config: Vec<(String, String)>) -> Result<(), $crate::Error> {
                    let mut config = $crate::Config::new(config);
                    let plugin = <$plugin as $crate::Generator>::init(&mut config)?;
                    let known: Vec<String> = <$plugin as $crate::Generator>::about()
                        .config
                        .into_iter()
                        .map(|k| k.name)
                        .collect();
                    config.reject_unknown(&known)?;
                    STATE.with(|s| *s.borrow_mut() = Some(plugin));
                    Ok(())
                }
                fn schema() -> Option<Vec<$crate::Field>> {
                    STATE.with(|s| s.borrow().as_ref().and_then(|p| p.schema()))
                }
            }

            impl producer::Guest for Export {
                fn next_batch(max: u32) -> Result<Option<$crate::Batch>, $crate::Error> {
                    STATE.with(|s| {
                        let mut state = s.borrow_mut();
                        let plugin = state.as_mut().ok_or_else(|| {
                            $crate::Error::Fatal("next-batch called before init".to_string())
                        })?;
                        let mut out = $crate::BatchBuilder::new();
                        let more = plugin.next_batch(max, &mut out)?;
                        Ok(if more || !out.is_empty() {
                            Some(out.finish())
                        } else {
                            None
                        })
                    })
                }
            }

            export!(Export);
        }
    };
}
