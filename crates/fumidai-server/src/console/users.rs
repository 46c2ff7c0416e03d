//! Console users as the CLI and the users page both make them.

use fumidai_store::{ConsoleUser, Role};

use super::password::{hash_password, PasswordError};

/// Longest user name (as the store allows).
pub const MAX_NAME_LEN: usize = fumidai_store::console::MAX_USER_NAME_LEN;

#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("user name {0:?}: expected 1 to {MAX_NAME_LEN} characters of a-z, 0-9, '.', '_', '@' and '-'")]
    Name(String),
    #[error(transparent)]
    Password(#[from] PasswordError),
}

/// The name as stored: trimmed, lower case, checked.
pub fn user_name(raw: &str) -> Result<String, UserError> {
    let name = raw.trim().to_lowercase();
    let ok = (1..=MAX_NAME_LEN).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._@-".contains(&b));
    if ok {
        Ok(name)
    } else {
        Err(UserError::Name(raw.to_owned()))
    }
}

/// A new user with `password` hashed (argon2id; slow on purpose: call it off the async threads).
pub fn new_user(
    name: &str,
    password: &str,
    role: Role,
    now: i64,
) -> Result<ConsoleUser, UserError> {
    Ok(ConsoleUser {
        name: user_name(name)?,
        password_hash: hash_password(password)?,
        role,
        created_at: now,
        password_changed_at: now,
        last_login_at: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_lower_cased_and_checked() {
        assert_eq!(
            user_name(" Alice@Corp.example ").unwrap(),
            "alice@corp.example"
        );
        for bad in ["", "a b", "<script>", "ユーザー", &"a".repeat(65)] {
            assert!(user_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_new_user_has_a_hash_not_the_password() {
        let user = new_user("alice", "long enough password", Role::Operator, 7).unwrap();
        assert!(user.password_hash.starts_with("$argon2id$"));
        assert!(!user.password_hash.contains("long enough"));
        assert!(matches!(
            new_user("alice", "short", Role::Viewer, 7),
            Err(UserError::Password(PasswordError::TooShort))
        ));
    }
}
