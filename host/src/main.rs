//! The `host` binary: everything is in the library ([`host::main`]).

fn main() -> std::process::ExitCode {
    host::main()
}
