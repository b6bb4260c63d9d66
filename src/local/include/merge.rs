//! GitLab's deep merge of included configuration: for a key in both, two mappings merge key by
//! key at any depth; otherwise (lists, strings, a mapping over a list) the later value wins.
//! A key already there keeps its place, a new key goes last, as Ruby's `deep_merge` orders
//! them, so jobs list in the order GitLab shows them. Values move, never copy.

use crate::yaml::{Mapping, Value};

/// Merge `over` into `base`.
pub(super) fn deep_merge(base: &mut Mapping, over: Mapping) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(Value::Mapping(inner)), Value::Mapping(more)) => deep_merge(inner, more),
            (Some(slot), value) => *slot = value,
            (None, value) => {
                base.insert(key, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::load_value;

    fn mapping(text: &str) -> Mapping {
        match load_value(text).unwrap() {
            Value::Mapping(m) => m,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn mappings_merge_deeply_and_everything_else_is_replaced() {
        let cases = [
            // GitLab's documented example (ci/yaml/includes, "Merge method for include").
            (
                "variables:\n  POSTGRES_USER: common_username\n  POSTGRES_PASSWORD: testing_password\n\
                 test:\n  rules:\n    - when: never\n  script:\n    - echo LOGIN\n    - rake spec\n  \
                 artifacts:\n    reports:\n      dotenv: deploy.env\n",
                "variables:\n  POSTGRES_USER: username\n\
                 test:\n  rules:\n    - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"\n      when: manual\n  \
                 artifacts:\n    reports:\n      junit: rspec.xml\n",
                "variables:\n  POSTGRES_USER: username\n  POSTGRES_PASSWORD: testing_password\n\
                 test:\n  rules:\n    - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"\n      when: manual\n  \
                 script:\n    - echo LOGIN\n    - rake spec\n  \
                 artifacts:\n    reports:\n      dotenv: deploy.env\n      junit: rspec.xml\n",
            ),
            // Lists are replaced, not appended ("Override included configuration arrays").
            (
                "production:\n  stage: production\n  script: [install_dependencies, deploy]\n",
                "production:\n  script: [notify_owner]\n",
                "production:\n  stage: production\n  script: [notify_owner]\n",
            ),
            // A mapping over a scalar, and a scalar over a mapping, replace.
            ("a: 1\nb: {x: 1}\n", "a: {y: 2}\nb: 3\n", "a: {y: 2}\nb: 3\n"),
            // New keys go last; keys already there keep their place.
            ("first: 1\nsecond: 2\n", "third: 3\nfirst: 9\n", "first: 9\nsecond: 2\nthird: 3\n"),
        ];
        for (base, over, want) in cases {
            let mut merged = mapping(base);
            deep_merge(&mut merged, mapping(over));
            let want = mapping(want);
            assert_eq!(merged, want, "{over}");
            let order: Vec<_> = merged.keys().collect();
            assert_eq!(order, want.keys().collect::<Vec<_>>());
        }
    }
}
