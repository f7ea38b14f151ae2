//! CSV export cells: whatever a user typed, no cell can start a spreadsheet formula.
#![no_main]
use libfuzzer_sys::fuzz_target;
use server::rest::csv_export::neutralise;

fuzz_target!(|data: &[u8]| {
    let cell = String::from_utf8_lossy(data).into_owned();
    let safe = neutralise(cell.clone());
    assert!(!safe.starts_with(['=', '+', '-', '@', '\t', '\r']), "{safe:?}");
    assert!(safe == cell || safe == format!("'{cell}"));
});
