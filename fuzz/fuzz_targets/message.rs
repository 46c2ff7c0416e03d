//! The whole engine on arbitrary message bytes: every checker reachable from MIME.
#![no_main]
use fumidai_engine::{Config, Engine, Envelope};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static ENGINE: LazyLock<Engine> = LazyLock::new(|| Engine::new(Config::default()).unwrap());

fuzz_target!(|data: &[u8]| {
    // A panic inside is caught by the engine and returned as an error; the fuzzer must see it.
    ENGINE.scan(data, &Envelope::default()).expect("engine panicked");
});
