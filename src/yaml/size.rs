//! What a loaded YAML value costs in memory, and a way to learn it before loading. Aliases
//! copy what their anchor holds, so 21 KB of `*a` can load into gigabytes (serde_yaml's own
//! repetition limit lets 3,000 aliases of a 3,000-item anchor through); [`load_value_within`]
//! counts first, without building anything, and loads only when the count fits.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};

use super::{Error, Value};

/// The slot every value takes, whatever its kind.
pub const NODE_BYTES: usize = std::mem::size_of::<Value>();

/// The cost of `value` itself, not counting what it contains: its slot plus its text.
pub fn node_cost(value: &Value) -> usize {
    NODE_BYTES
        + match value {
            Value::String(s) => s.len(),
            Value::Tagged(tagged) => tagged.tag.to_string().len(),
            _ => 0,
        }
}

/// Parse YAML text into a generic value like [`super::load_value`], unless its aliases would
/// make it cost more than `limit` bytes (the [`node_cost`] of every value in it): then
/// `Ok(None)`, found while counting, before any of it is built.
pub fn load_value_within(text: &str, limit: usize) -> Result<Option<Value>, Error> {
    let count = Count {
        left: &Cell::new(limit),
        over: &Cell::new(false),
    };
    let over = count.over;
    let counted = Count::deserialize(count, serde_yaml::Deserializer::from_str(text));
    if over.get() {
        return Ok(None);
    }
    counted?;
    super::load_value(text).map(Some)
}

/// Whether the first YAML document of `text` costs at most `limit` bytes, counted without
/// building anything; later documents are not read. An empty text fits.
pub(super) fn count_first_document(text: &str, limit: usize) -> Result<bool, Error> {
    let Some(document) = serde_yaml::Deserializer::from_str(text).next() else {
        return Ok(true);
    };
    let count = Count {
        left: &Cell::new(limit),
        over: &Cell::new(false),
    };
    let over = count.over;
    let counted = Count::deserialize(count, document);
    if over.get() {
        return Ok(false);
    }
    counted.map(|()| true)
}

/// A visitor that builds nothing: it charges each value's cost and fails once `left` runs out.
#[derive(Clone, Copy)]
struct Count<'a> {
    left: &'a Cell<usize>,
    over: &'a Cell<bool>,
}

impl Count<'_> {
    fn charge<E: de::Error>(self, text: usize) -> Result<(), E> {
        let cost = NODE_BYTES + text;
        match self.left.get().checked_sub(cost) {
            Some(left) => {
                self.left.set(left);
                Ok(())
            }
            None => {
                self.over.set(true);
                Err(E::custom("the YAML expands past the size limit"))
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for Count<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Count<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        self.charge(0)
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        self.charge(0)
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        self.charge(0)
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        self.charge(0)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<(), E> {
        self.charge(text.len())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        self.charge(0)
    }

    fn visit_none<E: de::Error>(self) -> Result<(), E> {
        self.charge(0)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        self.charge(0)?;
        while seq.next_element_seed(self)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        self.charge(0)?;
        while map.next_key_seed(self)?.is_some() {
            map.next_value_seed(self)?;
        }
        Ok(())
    }

    /// A tagged value (`!reference [a, b]`): the tag, then what it tags.
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<(), A::Error> {
        let ((), content) = data.variant_seed(self)?;
        de::VariantAccess::newtype_variant_seed(content, self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cost of `value` and everything in it.
    fn cost(value: &Value) -> usize {
        node_cost(value)
            + match value {
                Value::Sequence(items) => items.iter().map(cost).sum(),
                Value::Mapping(map) => map.iter().map(|(k, v)| cost(k) + cost(v)).sum(),
                Value::Tagged(tagged) => cost(&tagged.value),
                _ => 0,
            }
    }

    #[test]
    fn the_count_matches_the_loaded_value() {
        let text = "a: &a [x, 1, true, null, {k: v}]\nb: [*a, *a]\nc: !reference [a, b]\n";
        let value = load_value_within(text, usize::MAX).unwrap().unwrap();
        // Tags are counted with or without their `!`: a byte each.
        let exact = cost(&value);
        assert_eq!(load_value_within(text, exact + 1).unwrap(), Some(value));
        assert_eq!(load_value_within(text, exact - NODE_BYTES).unwrap(), None);
    }

    /// 300 aliases of a 300-item anchor: 90,000 values from 2 KB, within serde_yaml's own
    /// repetition limit.
    #[test]
    fn many_aliases_of_a_big_anchor_are_refused_before_they_are_built() {
        let items = vec!["x"; 300].join(", ");
        let aliases = vec!["*a"; 300].join(", ");
        let text = format!("a: &a [{items}]\nb: [{aliases}]\n");
        assert_eq!(load_value_within(&text, 1 << 20).unwrap(), None);
        let fits = load_value_within(&text, 302 * 301 * (NODE_BYTES + 1));
        assert!(fits.unwrap().is_some());
    }

    #[test]
    fn broken_yaml_is_still_an_error() {
        assert!(load_value_within("a: [b\n", 1 << 20).is_err());
    }
}
