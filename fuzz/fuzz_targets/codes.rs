//! Code entry (authenticator codes, recovery codes, support references): never panics, and
//! what is accepted has the shape the checks expect.
#![no_main]
use app::domain::SupportReference;
use app::server::services::mfa::{CodeShape, parse_code};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else { return };
    match parse_code(input) {
        Ok(CodeShape::Totp(code)) => assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit())),
        Ok(CodeShape::Recovery(code)) => assert!(code.len() == 8 && code.bytes().all(|b| b.is_ascii_alphanumeric())),
        Err(_) => {}
    }
    if let Some(reference) = SupportReference::parse(input) {
        assert_eq!(SupportReference::parse(reference.as_str()).map(|r| r.as_str().to_owned()), Some(reference.as_str().to_owned()));
    }
});
