//! Every validator of user input: never panics, and what passes is within its documented limits.
#![no_main]
use app::domain::{DisplayName, Email, Identifier, NewPassword, SignInPassword, Slug};
use app::server::services::sso::{parse_client_id, parse_domains, parse_issuer};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = std::str::from_utf8(data) else { return };
    if let Ok(email) = Email::parse(input, "email") {
        assert!(email.as_str().len() <= 254 * 4 && email.as_str().contains('@'));
    }
    let _ = Identifier::parse(input);
    if let Ok(slug) = Slug::parse(input) {
        assert!(Slug::is_valid_label(slug.as_str()));
    }
    let _ = DisplayName::parse(input);
    if let Ok(password) = SignInPassword::parse(input.to_owned()) {
        assert!(password.expose().chars().count() <= 128);
    }
    // zxcvbn is slow on long inputs; the length check comes first and is what is fuzzed there.
    if input.len() <= 64 {
        let _ = NewPassword::parse(input.to_owned(), &["user@example.com"]);
    }
    let _ = parse_issuer(input);
    let _ = parse_client_id(input);
    let _ = parse_domains(&input.split(',').map(str::to_owned).collect::<Vec<_>>());
});
