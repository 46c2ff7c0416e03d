//! Query parameters, checked before anything reaches the store: unknown or repeated names, control characters
//! (PostgreSQL refuses NUL in text) and values that do not parse are 400s that say what is wrong.

use std::str::FromStr;

use crate::ApiError;

/// Longest parameter value accepted, in characters (addresses, substrings, finding ids are far shorter).
const MAX_VALUE: usize = 1_000;

pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    /// Parses `query`, allowing only the names in `known`; those in `repeatable` may appear more than once.
    pub fn parse(
        query: Option<&str>,
        known: &[&str],
        repeatable: &[&str],
    ) -> Result<Params, ApiError> {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(query.unwrap_or("").as_bytes())
            .into_owned()
            .collect();
        for (i, (name, value)) in pairs.iter().enumerate() {
            if !known.contains(&name.as_str()) {
                return Err(ApiError::bad_request(if known.is_empty() {
                    format!("unknown parameter {name:?}: this endpoint takes none")
                } else {
                    format!("unknown parameter {name:?}; expected: {}", known.join(", "))
                }));
            }
            if !repeatable.contains(&name.as_str()) && pairs[..i].iter().any(|(n, _)| n == name) {
                return Err(ApiError::bad_request(format!(
                    "parameter {name:?} given more than once"
                )));
            }
            check_text(name, value)?;
        }
        Ok(Params(pairs))
    }

    /// The value of `name`, if given.
    pub fn text(&self, name: &str) -> Option<String> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    }

    /// Every value of a repeatable `name`, in order.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// `name` parsed as `T` (integers, `true`/`false`), if given.
    pub fn parsed<T: FromStr>(&self, name: &str, what: &str) -> Result<Option<T>, ApiError> {
        self.text(name)
            .map(|v| {
                v.parse().map_err(|_| {
                    ApiError::bad_request(format!("parameter {name:?}: {v:?} is not {what}"))
                })
            })
            .transpose()
    }

    /// `limit`: 1 to `max`, `default` when not given.
    pub fn limit(&self, default: u32, max: u32) -> Result<u32, ApiError> {
        let limit = self.parsed::<u32>("limit", "a count")?.unwrap_or(default);
        if limit == 0 || limit > max {
            return Err(ApiError::bad_request(format!(
                "parameter \"limit\": {limit} is not between 1 and {max}"
            )));
        }
        Ok(limit)
    }
}

/// Refuses text the store cannot take or nobody means: control characters, over-long values.
pub(crate) fn check_text(name: &str, value: &str) -> Result<(), ApiError> {
    if value.chars().any(char::is_control) {
        return Err(ApiError::bad_request(format!(
            "{name:?} contains control characters"
        )));
    }
    if value.chars().count() > MAX_VALUE {
        return Err(ApiError::bad_request(format!(
            "{name:?} is longer than {MAX_VALUE} characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_checked() {
        let p = Params::parse(
            Some("sender=a%40b.jp&local=x&local=y&limit=5"),
            &["sender", "local", "limit"],
            &["local"],
        )
        .unwrap();
        assert_eq!(p.text("sender").as_deref(), Some("a@b.jp"));
        assert_eq!(p.all("local"), vec!["x", "y"]);
        assert_eq!(p.limit(100, 1000).unwrap(), 5);
        assert_eq!(p.text("none"), None);
        for (query, why) in [
            ("limit=0", "between"),
            ("limit=1001", "between"),
            ("limit=-1", "not a count"),
            ("limit=1&limit=2", "more than once"),
            ("other=1", "unknown parameter"),
            ("sender=a%00b", "control"),
        ] {
            let err = Params::parse(Some(query), &["sender", "limit"], &[])
                .and_then(|p| p.limit(100, 1000))
                .unwrap_err();
            assert_eq!(err.status, 400, "{query}");
            assert!(err.message.contains(why), "{query}: {}", err.message);
        }
    }
}
