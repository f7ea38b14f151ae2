use serde::{Deserialize, Serialize};
use std::fmt;

/// Crockford's base32 without I, L, O, U: easy to read out over the phone.
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A short reference shown on an error page and stored with the security event it names
/// (DESIGN.md, "Support reference on every user-facing error"), e.g. `7F3K-Q2M9`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SupportReference(String);

impl SupportReference {
    /// Builds a reference from 40 random bits.
    pub fn from_bits(bits: u64) -> Self {
        let mut out = String::with_capacity(9);
        for i in 0..8 {
            if i == 4 {
                out.push('-');
            }
            let index = (bits >> (35 - 5 * i)) & 0x1F;
            out.push(ALPHABET[index as usize] as char);
        }
        Self(out)
    }

    /// Accepts what a person pastes: any case, with or without the dash, O read as 0, I and L as 1.
    pub fn parse(input: &str) -> Option<Self> {
        let cleaned: String = input
            .trim()
            .trim_start_matches("Ref")
            .trim_start_matches("ref")
            .chars()
            .filter(|c| !matches!(c, '-' | ' ' | ':'))
            .map(|c| match c.to_ascii_uppercase() {
                'O' => '0',
                'I' | 'L' => '1',
                other => other,
            })
            .collect();
        if cleaned.len() != 8 || !cleaned.bytes().all(|b| ALPHABET.contains(&b)) {
            return None;
        }
        Some(Self(format!("{}-{}", &cleaned[..4], &cleaned[4..])))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SupportReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_is_two_groups_of_four() {
        let r = SupportReference::from_bits(0xFF_FFFF_FFFF);
        assert_eq!(r.as_str(), "ZZZZ-ZZZZ");
        assert_eq!(SupportReference::from_bits(0).as_str(), "0000-0000");
    }

    #[test]
    fn pasted_forms_parse_back() {
        let r = SupportReference::from_bits(0x12_3456_789A);
        assert_eq!(SupportReference::parse(r.as_str()), Some(r.clone()));
        assert_eq!(
            SupportReference::parse(&format!("Ref {}", r.as_str().to_lowercase())),
            Some(r.clone())
        );
        assert_eq!(SupportReference::parse("oooo-iiii").unwrap().as_str(), "0000-1111");
        assert_eq!(SupportReference::parse("ABCD"), None);
        assert_eq!(SupportReference::parse("UUUU-UUUU"), None);
    }
}
