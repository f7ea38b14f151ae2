//! Parsed values. `parse` is the only way in, so a value of these types is always valid.

mod identifiers;
mod password;
mod reference;

pub use identifiers::{DisplayName, Email, Identifier, PhoneNumber, Slug, Username};
#[cfg(feature = "ssr")]
pub use password::NewPassword;
pub use password::{PASSWORD_MAX_CHARS, PASSWORD_MIN_CHARS, PasswordStrength, SignInPassword};
#[cfg(feature = "strength")]
pub use password::{account_words, password_strength};
pub use reference::SupportReference;

/// True for characters no name, email or identifier may hold: controls, and the Unicode
/// formatting marks that make two strings look alike (bidi overrides, zero-width joiners), and
/// U+FFFD, which is what bytes that were not UTF-8 turn into on the way in.
pub fn is_forbidden_char(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}' | '\u{FFFD}')
}
