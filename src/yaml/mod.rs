//! The one place that names `serde_yaml`. The crate is archived (`0.9.34+deprecated`); keeping
//! it behind these functions lets a maintained fork replace it in one place (`design.md`).

pub use serde_yaml::value::{Tag, TaggedValue};
pub use serde_yaml::{Error, Mapping, Value};

/// Parse YAML text into a typed value (used for the driver's own config).
pub fn from_str<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, Error> {
    serde_yaml::from_str(text)
}

/// Parse YAML text into a generic value, with anchors and aliases resolved and `<<` merge keys
/// applied, as GitLab reads `.gitlab-ci.yml`. Tags such as `!reference` are kept as
/// [`Value::Tagged`].
pub fn load_value(text: &str) -> Result<Value, Error> {
    let mut value: Value = serde_yaml::from_str(text)?;
    value.apply_merge()?;
    Ok(value)
}

mod keys;
mod load;
mod locate;
mod size;

pub use keys::{repeated_keys, RepeatedKey};
pub use load::load_document_within;
pub use locate::line_of;
pub use size::{load_value_within, node_cost, NODE_BYTES};
