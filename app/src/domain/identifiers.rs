use super::is_forbidden_char;
use crate::AppError;
use serde::{Deserialize, Serialize};
use std::fmt;

/// RFC 5321 limits a path to 256 octets, so an address is at most 254 characters.
const EMAIL_MAX: usize = 254;

/// A normalised email address: trimmed, lower-case, one `@`, a dotted domain.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str, field: &str) -> Result<Self, AppError> {
        let value = input.trim().to_lowercase();
        if value.is_empty() {
            return Err(AppError::invalid(field, "Enter an email address."));
        }
        if value.chars().count() > EMAIL_MAX {
            return Err(AppError::invalid(field, "An email address has at most 254 characters."));
        }
        let valid = value.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains("..")
        }) && !value.chars().any(|c| c.is_whitespace() || is_forbidden_char(c));
        if !valid {
            return Err(AppError::invalid(
                field,
                "Enter a valid email address, like name@example.com.",
            ));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a person types in the sign-in box: an email or a username, normalised so that
/// `Alice@Acme.test ` and `alice@acme.test` are one identifier (and share one failure count).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Identifier(String);

impl Identifier {
    pub fn parse(input: &str) -> Result<Self, AppError> {
        let value = input.trim().to_lowercase();
        if value.is_empty() {
            return Err(AppError::invalid("identifier", "Enter your email or username."));
        }
        if value.chars().count() > EMAIL_MAX {
            return Err(AppError::invalid(
                "identifier",
                "An email or username has at most 254 characters.",
            ));
        }
        if value.chars().any(is_forbidden_char) {
            return Err(AppError::invalid(
                "identifier",
                "The email or username contains characters that are not allowed.",
            ));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_email(&self) -> bool {
        self.0.contains('@')
    }
}

/// Names a subdomain cannot take, because the product or DNS conventions use them.
const RESERVED_SLUGS: &[&str] = &["admin", "api", "www", "app", "static", "assets", "mail", "localhost"];

/// A tenant's subdomain label: 2 to 63 of `a-z 0-9 -`, not starting or ending with `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Slug(String);

impl Slug {
    pub fn parse(input: &str) -> Result<Self, AppError> {
        let value = input.trim().to_lowercase();
        let well_formed = (2..=63).contains(&value.len())
            && value
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !value.starts_with('-')
            && !value.ends_with('-');
        if !well_formed {
            return Err(AppError::invalid(
                "slug",
                "A workspace address has 2 to 63 letters, digits or hyphens, and does not start or end with a hyphen.",
            ));
        }
        if RESERVED_SLUGS.contains(&value.as_str()) {
            return Err(AppError::invalid(
                "slug",
                format!("\"{value}\" is reserved. Choose another address."),
            ));
        }
        Ok(Self(value))
    }

    /// The label as it appears in a Host header; not checked against the reserved list, since
    /// `admin` is a valid host label but not a tenant slug.
    pub fn is_valid_label(label: &str) -> bool {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A sign-in name other than the email: 3 to 64 of `a-z 0-9 . _ -`, stored lower-case. It never
/// contains `@`, so an identifier with one is always an email.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Username(String);

impl Username {
    pub fn parse(input: &str) -> Result<Self, AppError> {
        let value = input.trim().to_lowercase();
        let length = value.chars().count();
        if !(3..=64).contains(&length) {
            return Err(AppError::invalid("username", "A username has 3 to 64 characters."));
        }
        if !value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        {
            return Err(AppError::invalid(
                "username",
                "A username may hold only letters a-z, digits, dots, dashes and underscores.",
            ));
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A person's name as lists and emails show it: 1 to 100 characters, trimmed, no control or
/// look-alike formatting characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DisplayName(String);

impl DisplayName {
    pub fn parse(input: &str) -> Result<Self, AppError> {
        let value = input.trim();
        if value.is_empty() {
            return Err(AppError::invalid("displayName", "Enter the person's name."));
        }
        if value.chars().count() > 100 {
            return Err(AppError::invalid("displayName", "A name has at most 100 characters."));
        }
        if value.chars().any(is_forbidden_char) {
            return Err(AppError::invalid(
                "displayName",
                "The name contains characters that are not allowed.",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    /// A name an identity provider sent: characters a typed name may not hold (controls, line
    /// breaks, bidi overrides, zero-width marks) are taken out, runs of spaces become one, and
    /// it is cut to 100 characters; then the same rules as a typed name. `None` when nothing is
    /// left.
    pub fn from_provider(input: &str) -> Option<Self> {
        let kept: String = input
            .chars()
            .map(|c| if c.is_whitespace() { ' ' } else { c })
            .filter(|c| !crate::domain::is_forbidden_char(*c))
            .collect();
        let words: Vec<&str> = kept.split_whitespace().collect();
        let name: String = words.join(" ").chars().take(100).collect();
        Self::parse(&name).ok()
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A phone number for text messages, in E.164 form (`+` and 8 to 15 digits); spaces, dashes,
/// dots and brackets people type are dropped.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(input: &str) -> Result<Self, AppError> {
        let kept: String = input
            .trim()
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
            .collect();
        let digits = kept.strip_prefix('+').unwrap_or("");
        if !(8..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) || digits.starts_with('0') {
            return Err(AppError::invalid(
                "phone",
                "Enter the number with its country code, like +1 415 555 0100.",
            ));
        }
        Ok(Self(kept))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number as shown back to its owner: only the last digits.
    pub fn masked(number: &str) -> String {
        let tail: String = number
            .chars()
            .rev()
            .take(4)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("••• {tail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_identity_providers_follow_the_typed_rules() {
        let from = |raw: &str| DisplayName::from_provider(raw).map(|n| n.as_str().to_owned());
        assert_eq!(from("  Ada\n Lovelace\t").as_deref(), Some("Ada Lovelace"));
        assert_eq!(from("Eve\u{202E}gnp.exe").as_deref(), Some("Evegnp.exe"));
        assert_eq!(from("Zero\u{200B}Width\u{0007}").as_deref(), Some("ZeroWidth"));
        assert_eq!(from(&"n".repeat(300)).map(|n| n.chars().count()), Some(100));
        assert_eq!(from("\u{202E}\n\t "), None);
    }

    #[test]
    fn email_is_normalised() {
        assert_eq!(
            Email::parse("  Alice@Acme.Test ", "email").unwrap().as_str(),
            "alice@acme.test"
        );
    }

    #[test]
    fn bad_emails_are_refused() {
        for bad in [
            "",
            "   ",
            "alice",
            "alice@",
            "@acme.test",
            "a@b",
            "a@@b.c",
            "a b@c.d",
            "a@b..c",
            "a@.b",
            "a\u{0}@b.c",
            "a\u{202E}@b.c",
        ] {
            assert!(Email::parse(bad, "email").is_err(), "{bad:?} was accepted");
        }
        assert!(Email::parse(&format!("{}@b.co", "a".repeat(260)), "email").is_err());
    }

    #[test]
    fn identifier_keeps_usernames_and_refuses_controls() {
        assert_eq!(Identifier::parse(" JDoe ").unwrap().as_str(), "jdoe");
        assert!(!Identifier::parse("jdoe").unwrap().is_email());
        assert!(Identifier::parse("").is_err());
        assert!(Identifier::parse("j\u{7}doe").is_err());
        assert!(Identifier::parse(&"x".repeat(255)).is_err());
    }

    #[test]
    fn usernames_and_names() {
        assert_eq!(Username::parse(" Alain_Sirois ").unwrap().as_str(), "alain_sirois");
        for bad in ["", "ab", "a@b.c", "al ain", "alaïn", &"a".repeat(65)] {
            assert!(Username::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert_eq!(DisplayName::parse("  Zoë Ng ").unwrap().as_str(), "Zoë Ng");
        for bad in ["", "  ", "a\u{202E}b", &"x".repeat(101)] {
            assert!(DisplayName::parse(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn phone_numbers() {
        assert_eq!(
            PhoneNumber::parse(" +1 (415) 555-0100 ").unwrap().as_str(),
            "+14155550100"
        );
        for bad in [
            "",
            "4155550100",
            "+1",
            "+0123456789",
            "+1415555010x",
            &format!("+{}", "1".repeat(16)),
        ] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(PhoneNumber::masked("+14155550100"), "••• 0100");
    }

    #[test]
    fn slugs() {
        assert_eq!(Slug::parse("Acme").unwrap().as_str(), "acme");
        for bad in ["", "a", "-acme", "acme-", "ac_me", "acmé", "admin", &"a".repeat(64)] {
            assert!(Slug::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(Slug::is_valid_label("admin"));
        assert!(!Slug::is_valid_label("bad_label"));
    }
}
