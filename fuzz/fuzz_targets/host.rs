//! Host header → workspace: never panics, and a workspace label is always a valid slug.
#![no_main]
use app::domain::Slug;
use app::server::services::hosts::{HostTarget, classify};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(host) = std::str::from_utf8(data) else { return };
    for base in ["localhost:3000", "latchkey.example.com", "[::1]:8080"] {
        if let Ok(HostTarget::Tenant(label)) = classify(host, base) {
            assert!(Slug::is_valid_label(&label), "{host:?} gave {label:?}");
        }
    }
});
