//! The `host` binary: everything is in the library ([`host::main`]), except a
//! guard around one librdkafka function (below), which only the binary links.

fn main() -> std::process::ExitCode {
    host::main()
}

/// librdkafka 2.12.1 dereferences a null topic name when a fetch response
/// carries a partition error with a `CurrentLeader` (KIP-951 leader discovery)
/// under an all-zero topic id: `rd_kafka_fetch_reply` builds a metadata update
/// with no name for it, and `rd_kafka_metadata_update_op` looks that name up
/// with `strcmp`. tansu 0.6 answers a fetch of a deleted topic exactly so, and
/// the process died with SIGSEGV (RELIABILITY.md, "A topic deleted while it is
/// read"). build.rs links the binary with
/// `-Wl,--wrap=rd_kafka_metadata_cache_find`, so every call from another
/// librdkafka object file comes here: a missing name is "not in the cache",
/// which the caller already handles (it logs and skips the topic).
mod librdkafka_guard {
    use std::ffi::{c_char, c_int, c_void};

    #[allow(unsafe_code)]
    unsafe extern "C" {
        fn __real_rd_kafka_metadata_cache_find(
            rk: *mut c_void,
            topic: *const c_char,
            valid: c_int,
        ) -> *mut c_void;
    }

    #[allow(unsafe_code)]
    #[unsafe(no_mangle)]
    extern "C" fn __wrap_rd_kafka_metadata_cache_find(
        rk: *mut c_void,
        topic: *const c_char,
        valid: c_int,
    ) -> *mut c_void {
        if topic.is_null() {
            return std::ptr::null_mut();
        }
        // SAFETY: the arguments are librdkafka's own, passed on unchanged to
        // the function they were meant for.
        unsafe { __real_rd_kafka_metadata_cache_find(rk, topic, valid) }
    }
}
