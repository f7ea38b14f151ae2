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

pub use crate::types::PasswordStrength;

#[cfg(feature = "strength")]
/// zxcvbn score 3 means "safely unguessable: moderate protection from offline attacks".
const MIN_SCORE: u8 = 3;

/// Judges a new password. `user_inputs` are the account's own words (email, name, username),
/// which make a password weak when it contains them. The browser runs this same function for
/// the strength meter (compiled to WASM, in a web worker loaded only by pages that set a
/// password, so its dictionaries stay out of the main bundle), so the meter never disagrees
/// with the server.
#[cfg(feature = "strength")]
pub fn password_strength(password: &str, user_inputs: &[&str]) -> PasswordStrength {
    let chars = password.chars().count();
    let (score, warning, suggestions) = if password.is_empty() {
        (0, None, Vec::new())
    } else {
        let entropy = zxcvbn::zxcvbn(password, user_inputs);
        let feedback = entropy.feedback();
        (
            entropy.score() as u8,
            feedback.and_then(|f| f.warning()).map(|w| w.to_string()),
            feedback
                .map(|f| f.suggestions().iter().map(ToString::to_string).collect())
                .unwrap_or_default(),
        )
    };
    let problem = if chars < PASSWORD_MIN_CHARS {
        Some(format!(
            "Use at least {PASSWORD_MIN_CHARS} characters ({chars} so far)."
        ))
    } else if chars > PASSWORD_MAX_CHARS {
        Some(format!("Use at most {PASSWORD_MAX_CHARS} characters."))
    } else if password.contains('\u{FFFD}') {
        Some("The password could not be read. Type it again.".to_owned())
    } else if built_from(password, user_inputs) {
        Some(
            "This password is made of your account's details (name, email, username or workspace) and numbers or symbols: add words of your own."
                .to_owned(),
        )
    } else if score < MIN_SCORE {
        Some(match warning {
            Some(w) => format!(
                "This password is too easy to guess: {}",
                w.trim_end_matches('.').to_lowercase() + "."
            ),
            None => "This password is too easy to guess. Add another word or two.".to_owned(),
        })
    } else {
        None
    };
    let label = match score {
        0 | 1 => "Weak",
        2 => "Fair",
        3 => "Good",
        _ => "Strong",
    };
    PasswordStrength {
        score,
        label: label.to_owned(),
        problem,
        suggestions,
    }
}

/// Whether the password is nothing but the account's own words with digits and symbols around
/// them (`margaret.hamilton2026`, `apollo-guidance-2026`): take every word out, longest first,
/// and see whether any letter is left.
#[cfg(feature = "strength")]
fn built_from(password: &str, account_words: &[&str]) -> bool {
    let mut rest = password.to_lowercase();
    let mut words: Vec<String> = account_words
        .iter()
        .map(|w| w.to_lowercase())
        .filter(|w| w.chars().count() >= 3)
        .collect();
    words.sort_by_key(|w| std::cmp::Reverse(w.len()));
    let mut took_any = false;
    for word in &words {
        if rest.contains(word.as_str()) {
            rest = rest.replace(word.as_str(), " ");
            took_any = true;
        }
    }
    took_any && !rest.chars().any(char::is_alphabetic)
}

/// The words a new password may not be built from (docs/design.md, "password blocklist"): the
/// email and its parts (the local part split on `. _ - +`, the domain's name and its parts), the
/// username, the display name's words, the workspace's name, its words and its slug, and the
/// product's name. Lowercased, without repeats.
pub fn account_words(
    email: &str,
    username: Option<&str>,
    display_name: &str,
    (workspace_name, workspace_slug): (&str, &str),
) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    let mut add = |word: &str| {
        let word = word.trim().to_lowercase();
        if !word.is_empty() && !words.contains(&word) {
            words.push(word);
        }
    };
    add(email);
    let (local, domain) = email.rsplit_once('@').unwrap_or((email, ""));
    add(local);
    local.split(['.', '_', '-', '+']).for_each(&mut add);
    // The domain's name: every label but the last (`apollo-guidance` of `apollo-guidance.test`).
    let labels: Vec<&str> = domain.split('.').collect();
    for label in labels.iter().take(labels.len().saturating_sub(1)) {
        add(label);
        label.split('-').for_each(&mut add);
    }
    if let Some(username) = username {
        add(username);
        username.split(['.', '_', '-', '+']).for_each(&mut add);
    }
    add(display_name);
    display_name.split_whitespace().for_each(&mut add);
    add(workspace_name);
    workspace_name.split_whitespace().for_each(&mut add);
    add(workspace_slug);
    workspace_slug.split('-').for_each(&mut add);
    add("latchkey");
    words
}

#[cfg(feature = "ssr")]
/// A password that may be set: 12 to 128 characters of any Unicode, not common, breached or
/// built from the account's own details (DESIGN.md, "password length", "password blocklist").
pub struct NewPassword(String);

#[cfg(feature = "ssr")]
impl NewPassword {
    pub fn parse(input: String, account_words: &[String]) -> Result<Self, AppError> {
        let words: Vec<&str> = account_words.iter().map(String::as_str).collect();
        match password_strength(&input, &words).problem {
            Some(problem) => Err(AppError::invalid("password", problem)),
            None => Ok(Self(input)),
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

#[cfg(feature = "ssr")]
impl std::fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NewPassword(<redacted>)")
    }
}

#[cfg(all(test, feature = "ssr"))]
mod new_password_tests {
    use super::*;

    #[test]
    fn length_limits() {
        assert!(NewPassword::parse("Short1!".into(), &[]).is_err());
        assert!(NewPassword::parse("correct horse battery staple".into(), &[]).is_ok());
        let long = "word ".repeat(30);
        assert!(NewPassword::parse(long, &[]).is_err());
    }

    #[test]
    fn passwords_built_from_the_account_are_refused_with_the_reason() {
        let words = account_words(
            "margaret.hamilton@apollo-guidance.test",
            Some("mhamilton"),
            "Margaret Hamilton",
            ("Apollo Guidance", "apollo"),
        );
        for word in [
            "margaret",
            "hamilton",
            "apollo-guidance",
            "apollo",
            "guidance",
            "mhamilton",
            "latchkey",
        ] {
            assert!(words.iter().any(|w| w == word), "{word} in {words:?}");
        }
        for built in [
            "margaret.hamilton2026",
            "apollo-guidance-2026",
            "Hamilton.Margaret!!99",
            "latchkey-apollo-2026",
            "mhamilton_2026_2026",
        ] {
            let error = NewPassword::parse(built.into(), &words).unwrap_err();
            assert!(
                error.field_messages("password")[0].contains("account's details"),
                "{built}: {error:?}"
            );
        }
        // Words of one's own beside them are fine.
        assert!(NewPassword::parse("margaret plants violet quartz lanterns".into(), &words).is_ok());
    }

    #[test]
    fn common_passwords_are_refused_with_a_reason() {
        for common in ["password1234", "qwertyuiop123", "123456789012", "iloveyou1234"] {
            let error = NewPassword::parse(common.into(), &[]).unwrap_err();
            assert!(
                error.field_messages("password")[0].contains("too easy to guess"),
                "{common}: {error:?}"
            );
        }
    }

    #[test]
    fn the_accounts_own_details_make_a_password_weak() {
        let words = ["bob@acme.test".to_owned(), "Bob Builder".to_owned()];
        assert!(NewPassword::parse("bob@acme.test2024".into(), &words).is_err());
    }

    #[test]
    fn any_unicode_counts_by_character() {
        assert!(NewPassword::parse("日本語のとても長いパスワードです".into(), &[]).is_ok());
        assert_eq!(password_strength("", &[]).score, 0);
        assert!(password_strength("correct horse battery staple", &[]).problem.is_none());
    }
}
