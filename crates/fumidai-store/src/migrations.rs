//! Versioned schema migrations, one SQL file per step and backend under `src/migrations/{sqlite,postgres}/`.
//! Both lists must have the same versions and names (a test checks it): a version means the same schema on
//! both backends. To add tables (quarantine, events, alert cases), add `NNNN_name.sql` to both folders and one
//! line to each list; never edit a file that has shipped.

/// One migration step.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! migration {
    ($backend:literal, $version:literal, $file:literal, $name:literal) => {
        Migration {
            version: $version,
            name: $name,
            sql: include_str!(concat!(
                "migrations/",
                $backend,
                "/",
                $file,
                "_",
                $name,
                ".sql"
            )),
        }
    };
}

pub const SQLITE: &[Migration] = &[
    migration!("sqlite", 1, "0001", "exchange_history"),
    migration!("sqlite", 2, "0002", "whitelist"),
];

pub const POSTGRES: &[Migration] = &[
    migration!("postgres", 1, "0001", "exchange_history"),
    migration!("postgres", 2, "0002", "whitelist"),
];

/// Highest version in a list.
pub fn latest(list: &[Migration]) -> u32 {
    list.iter().map(|m| m.version).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_have_the_same_steps_in_order() {
        assert_eq!(SQLITE.len(), POSTGRES.len());
        for (s, p) in SQLITE.iter().zip(POSTGRES) {
            assert_eq!((s.version, s.name), (p.version, p.name));
            assert!(!s.sql.trim().is_empty() && !p.sql.trim().is_empty());
        }
        for list in [SQLITE, POSTGRES] {
            assert!(list.windows(2).all(|w| w[0].version < w[1].version));
        }
        assert_eq!(latest(SQLITE), 2);
    }
}
