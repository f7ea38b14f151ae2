//! Cookie headers and signed cookie values: never panic; a forged signature never verifies.
#![no_main]
use app::server::crypto::Signer;
use app::server::services::sessions::{SESSION_COOKIE, cookie_value};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(header) = std::str::from_utf8(data) else { return };
    if let Some(value) = cookie_value(header, SESSION_COOKIE) {
        assert!(!value.contains(';'));
    }
    let signer = Signer::new(b"fuzzing key");
    if let Some(payload) = signer.verify(header) {
        // Only what this key signed verifies: the input must be its own signature.
        assert_eq!(signer.sign(payload), header);
    }
});
