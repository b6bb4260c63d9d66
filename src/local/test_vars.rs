//! Helpers the local-run unit tests share for variables, which the code keeps as ordered
//! `(name, value)` pairs.

/// `(name, value)` pairs as the code holds them, from string literals.
pub fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The value of the first `key` in `vars`.
pub fn get<'a>(vars: &'a [(String, String)], key: &str) -> Option<&'a str> {
    vars.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}
