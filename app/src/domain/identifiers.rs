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

#[cfg(test)]
mod tests {
    use super::*;

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
    fn slugs() {
        assert_eq!(Slug::parse("Acme").unwrap().as_str(), "acme");
        for bad in ["", "a", "-acme", "acme-", "ac_me", "acmé", "admin", &"a".repeat(64)] {
            assert!(Slug::parse(bad).is_err(), "{bad:?} was accepted");
        }
        assert!(Slug::is_valid_label("admin"));
        assert!(!Slug::is_valid_label("bad_label"));
    }
}
