use crate::AppError;

/// DESIGN.md, "password length": at least 12, at most 128 characters of any Unicode.
pub const PASSWORD_MIN_CHARS: usize = 12;
pub const PASSWORD_MAX_CHARS: usize = 128;

/// A password as typed at sign-in. Over-long input is refused before it reaches the hasher,
/// so nobody can make the server hash megabytes; nothing is ever truncated.
pub struct SignInPassword(String);

impl SignInPassword {
    pub fn parse(input: String) -> Result<Self, AppError> {
        if input.is_empty() {
            return Err(AppError::invalid("password", "Enter your password."));
        }
        if input.chars().count() > PASSWORD_MAX_CHARS {
            return Err(AppError::invalid("password", "A password has at most 128 characters."));
        }
        // Any Unicode is allowed, but a replacement character means the bytes sent were not
        // UTF-8: checking them would test a different password from the one the user typed.
        if input.contains('\u{FFFD}') {
            return Err(AppError::invalid(
                "password",
                "The password could not be read. Type it again.",
            ));
        }
        Ok(Self(input))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SignInPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SignInPassword(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_characters_not_bytes() {
        assert!(SignInPassword::parse("é".repeat(128)).is_ok());
        assert!(SignInPassword::parse("é".repeat(129)).is_err());
        assert!(SignInPassword::parse(String::new()).is_err());
    }

    #[test]
    fn debug_never_shows_the_password() {
        let p = SignInPassword::parse("hunter2hunter2".into()).unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
    }
}
