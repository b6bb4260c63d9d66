//! One bound on how much a pipeline file may grow while it is read. Anchors, `extends:`,
//! `!reference` tags, `default:` and global `variables:` all copy values, and copies of copies
//! grow exponentially: 2.3 KB of `!reference` fan-out comes to more than 1 GiB. GitLab refuses a
//! file whose loaded form passes 2 MB (`max_yaml_size_bytes`,
//! <https://docs.gitlab.com/administration/instance_limits/#maximum-size-and-depth-of-cicd-configuration-yaml-files>);
//! a local run charges every value those steps make to one [`Budget`] per parse, before making
//! it, and stops with an error once [`MAX_BYTES`] are spent: far above what ordinary files use,
//! far below what would hurt the machine.

use crate::yaml::{node_cost, Value};

/// What reading one file may make, in bytes as [`crate::yaml::node_cost`] counts them.
pub(super) const MAX_BYTES: usize = 32 << 20;

/// What is left to spend.
pub(super) struct Budget {
    left: usize,
}

impl Budget {
    pub fn new() -> Budget {
        Budget { left: MAX_BYTES }
    }

    /// A budget with only `left` bytes to spend (what a caller's own count has left).
    pub fn with_left(left: usize) -> Budget {
        Budget {
            left: left.min(MAX_BYTES),
        }
    }

    pub fn left(&self) -> usize {
        self.left
    }

    /// Spend `bytes`; the error is a message fragment for the caller to place.
    pub fn charge(&mut self, bytes: usize) -> Result<(), String> {
        match self.left.checked_sub(bytes) {
            Some(left) => {
                self.left = left;
                Ok(())
            }
            None => {
                self.left = 0;
                Err(too_large())
            }
        }
    }

    /// Spend what a copy of `value` costs, before it is made.
    pub fn charge_value(&mut self, value: &Value) -> Result<(), String> {
        self.charge(cost(value, self.left.saturating_add(1)))
    }
}

/// What `value` and everything in it cost, counted no further than `cap`.
pub(super) fn cost(value: &Value, cap: usize) -> usize {
    let mut total = 0usize;
    let mut pending = vec![value];
    while let Some(value) = pending.pop() {
        total = total.saturating_add(node_cost(value));
        if total > cap {
            break;
        }
        match value {
            Value::Sequence(items) => pending.extend(items),
            Value::Mapping(map) => pending.extend(map.iter().flat_map(|(k, v)| [k, v])),
            Value::Tagged(tagged) => pending.push(&tagged.value),
            _ => {}
        }
    }
    total
}

/// The message when the budget runs out: what happened, and what to do.
pub(super) fn too_large() -> String {
    format!(
        "grows past {} MiB as its anchors, `extends:`, `!reference` tags and `default:` are \
         applied, more than a local run reads; reuse fewer or smaller pieces",
        MAX_BYTES >> 20
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::{load_value, NODE_BYTES};

    #[test]
    fn values_cost_their_nodes_and_text() {
        let value = load_value("a: [bc, 1]").unwrap();
        // The mapping, `a`, the list, `bc`, `1`.
        assert_eq!(cost(&value, usize::MAX), 5 * NODE_BYTES + 3);
        assert!(cost(&value, NODE_BYTES) <= 3 * NODE_BYTES + 3);
    }

    #[test]
    fn a_spent_budget_stays_spent() {
        let mut budget = Budget::new();
        assert_eq!(budget.charge(MAX_BYTES - 1), Ok(()));
        assert_eq!(budget.charge(2), Err(too_large()));
        assert_eq!(budget.charge(1), Err(too_large()));
        assert_eq!(budget.left(), 0);
    }
}
