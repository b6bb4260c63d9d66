//! `container:` as the admin writes it: the options gitlab-runner's `[runners.docker]` offers
//! for a job's containers, under the same names and in the same formats, so an admin can carry
//! them over from a `config.toml`. Validated in [`super::container`].

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with volumes, devices, gpus, extra_hosts, dns, dns_search, cap_add, cap_drop, security_opt, sysctls, tmpfs, userns_mode and runtime"
)]
pub struct RawContainer {
    pub volumes: Option<Vec<String>>,
    pub devices: Option<Vec<String>>,
    pub gpus: Option<Scalar>,
    pub extra_hosts: Option<Vec<String>>,
    pub dns: Option<Vec<String>>,
    pub dns_search: Option<Vec<String>>,
    pub cap_add: Option<Vec<String>>,
    pub cap_drop: Option<Vec<String>>,
    pub security_opt: Option<Vec<String>>,
    pub sysctls: Option<BTreeMap<String, Scalar>>,
    pub tmpfs: Option<BTreeMap<String, Scalar>>,
    pub userns_mode: Option<String>,
    pub runtime: Option<String>,
}

/// A YAML scalar read as the text it was written as: `net.ipv4.ip_forward: 1` and `gpus: 2`
/// are numbers to YAML but strings to the engine, and an admin should not have to quote them.
/// An empty value (`/scratch:` in `tmpfs`) is the empty string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Scalar, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl Visitor<'_> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, number or boolean")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(Scalar(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar, E> {
        Ok(Scalar(v.to_string()))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar, E> {
        Ok(Scalar(v.to_string()))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar(String::new()))
    }
}
