//! OLE2 compound files and VBA projects (dir stream, decompression, module source).
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fumidai_fuzz::inspect_with(fumidai_office::inspect_ole, data));
