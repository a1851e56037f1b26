//! Opens a TCP connection: must be refused at load.
use sluice_sdk::{Config, Error, Fail, Out, Row, Transform};

struct OpensSocket;
impl Transform for OpensSocket {
    fn init(_: &mut Config) -> Result<Self, Error> {
        Ok(OpensSocket)
    }
    fn process(&mut self, _: &Row, out: &mut Out) -> Result<(), Fail> {
        let reached = std::net::TcpStream::connect("127.0.0.1:9").is_ok();
        out.emit(if reached { b"reached" } else { b"not reached" });
        Ok(())
    }
}
sluice_sdk::export_transform!(OpensSocket);
