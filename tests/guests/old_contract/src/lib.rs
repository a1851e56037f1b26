//! A plugin built against an older contract (`sluice:plugin@0.1.0`): the
//! host must refuse it with a "rebuild with the current SDK" error. Only the
//! export names matter, so the old interface is sketched, not copied.
wit_bindgen::generate!({
    inline: "package sluice:plugin@0.1.0;
             interface transformer { process: func(input: list<u8>) -> list<u8>; }
             world transform { export transformer; }",
    world: "transform",
});

struct Old;
impl exports::sluice::plugin::transformer::Guest for Old {
    fn process(input: Vec<u8>) -> Vec<u8> {
        input
    }
}
export!(Old);
