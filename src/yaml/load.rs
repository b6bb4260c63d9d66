//! Load a YAML document as GitLab does, with Ruby's Psych rather than by the YAML spec's
//! letter. Where they differ it is on mappings:
//!
//! - a key written twice is no error: the last value wins, in the place of the first;
//! - a `<<` merge key applies where it is written: its entries replace the keys set so far and
//!   later keys replace its entries (Psych's `hash.merge!`); a mapping may have several, each
//!   applied in turn; a list of mappings merges with the earlier ones winning among them;
//! - a `<<` whose value is not a mapping (or a list of mappings) stays an ordinary key.
//!
//! Anchors and aliases are expanded as serde_yaml replays them; what that can grow to is
//! counted before anything is built ([`super::size`]).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, Visitor};

use super::{Error, Mapping, Tag, TaggedValue, Value};

/// The first YAML document of `text`, read as GitLab reads it (see the module docs), unless its
/// aliases would make it cost more than `limit` bytes ([`super::node_cost`] of every value):
/// then `Ok(None)`, found before any of it is built. Further documents are not read, as Psych's
/// `safe_load` reads only the first; an empty text is `Null`.
pub fn load_document_within(text: &str, limit: usize) -> Result<Option<Value>, Error> {
    match super::size::count_first_document(text, limit)? {
        false => Ok(None),
        true => match serde_yaml::Deserializer::from_str(text).next() {
            Some(document) => Build.deserialize(document).map(Some),
            None => Ok(Some(Value::Null)),
        },
    }
}

/// Builds a [`Value`] with Psych's mapping rules.
#[derive(Clone, Copy)]
struct Build;

impl<'de> DeserializeSeed<'de> for Build {
    type Value = Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Build {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Number(i.into()))
    }

    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Value, E> {
        Ok(Value::Number(u.into()))
    }

    fn visit_f64<E: de::Error>(self, f: f64) -> Result<Value, E> {
        Ok(Value::Number(f.into()))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        Ok(Value::String(s.to_owned()))
    }

    fn visit_string<E: de::Error>(self, s: String) -> Result<Value, E> {
        Ok(Value::String(s))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Sequence(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Mapping::new();
        while let Some(key) = map.next_key_seed(self)? {
            let value = map.next_value_seed(self)?;
            if key.as_str() == Some("<<") {
                merge(&mut out, value);
            } else {
                // An existing key keeps its place and takes the new value, as in a Ruby Hash.
                out.insert(key, value);
            }
        }
        Ok(Value::Mapping(out))
    }

    /// A tagged value (`!reference [a, b]`): the tag, then what it tags.
    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        let (tag, content) = data.variant_seed(TagName)?;
        let value = de::VariantAccess::newtype_variant_seed(content, self)?;
        Ok(Value::Tagged(Box::new(TaggedValue { tag, value })))
    }
}

/// Apply one `<<` key to the mapping built so far, as Psych's `revive_hash` does.
fn merge(out: &mut Mapping, value: Value) {
    match value {
        Value::Mapping(entries) => out.extend(entries),
        Value::Sequence(items) if items.iter().all(Value::is_mapping) => {
            // `h = {}; list.reverse_each { |m| h.merge!(m) }; hash.merge!(h)`.
            let mut merged = Mapping::new();
            for item in items.into_iter().rev() {
                if let Value::Mapping(entries) = item {
                    merged.extend(entries);
                }
            }
            out.extend(merged);
        }
        // Psych keeps `<<` as a plain key when it cannot merge (its TypeError branch).
        other => {
            out.insert(Value::String("<<".into()), other);
        }
    }
}

/// A tag's name, as serde_yaml hands it to `visit_enum`.
struct TagName;

impl<'de> DeserializeSeed<'de> for TagName {
    type Value = Tag;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Tag, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for TagName {
    type Value = Tag;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a YAML tag")
    }

    fn visit_str<E: de::Error>(self, tag: &str) -> Result<Tag, E> {
        if tag.is_empty() {
            return Err(E::custom("empty YAML tag is not allowed"));
        }
        Ok(Tag::new(tag))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Value {
        load_document_within(text, usize::MAX).unwrap().unwrap()
    }

    fn yaml(text: &str) -> Value {
        serde_yaml::from_str(text).unwrap()
    }

    #[test]
    fn the_last_of_repeated_keys_wins_in_the_place_of_the_first() {
        let value = load("a: 1\nb: 2\na: 3\n");
        assert_eq!(value, yaml("{a: 3, b: 2}"));
        let keys: Vec<_> = value.as_mapping().unwrap().keys().cloned().collect();
        assert_eq!(keys, [yaml("a"), yaml("b")]);
    }

    /// The duplicated-keys case: the anchor of an overwritten value can still be used.
    #[test]
    fn an_overwritten_anchor_still_resolves() {
        let value = load("v: &foo {FOO: '1'}\nv: &bar {BAR: '2'}\nj: {<<: *foo}\nk: {<<: *bar}\n");
        assert_eq!(value, yaml("{v: {BAR: '2'}, j: {FOO: '1'}, k: {BAR: '2'}}"));
    }

    #[test]
    fn merge_keys_apply_where_written_as_psych_merges() {
        // A merge replaces keys set before it; keys after it replace its entries.
        let text = "b: &b {x: 1, y: 1}\nj:\n  x: 0\n  <<: *b\n  y: 2\n";
        assert_eq!(load(text)["j"], yaml("{x: 1, y: 2}"));
        // Two merge keys (as in GitLab's Auto-DevOps template): both apply, the later winning.
        let text = "a: &a {x: a, y: a}\nb: &b {y: b, z: b}\nj:\n  <<: *a\n  <<: *b\n";
        assert_eq!(load(text)["j"], yaml("{x: a, y: b, z: b}"));
        // A list: earlier mappings win among themselves.
        let text = "a: &a {x: a, y: a}\nb: &b {y: b, z: b}\nj:\n  <<: [*a, *b]\n";
        let j = load(text)["j"].clone();
        assert_eq!(j, yaml("{y: a, z: b, x: a}"));
        let keys: Vec<_> = j.as_mapping().unwrap().keys().cloned().collect();
        assert_eq!(keys, [yaml("y"), yaml("z"), yaml("x")]);
    }

    #[test]
    fn a_merge_of_a_scalar_stays_a_key_and_tags_are_kept() {
        assert_eq!(load("j: {<<: 1}")["j"], yaml("{'<<': 1}"));
        let value = load("j: !reference [a, b]\n");
        match &value["j"] {
            Value::Tagged(t) => assert_eq!(t.tag, Tag::new("reference")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn only_the_first_document_is_read() {
        assert_eq!(load("a: 1\n---\nb: [\n"), yaml("{a: 1}"));
        assert_eq!(load(""), Value::Null);
        assert_eq!(load("# only a comment\n"), Value::Null);
    }

    #[test]
    fn aliases_past_the_limit_are_refused() {
        let items = vec!["x"; 300].join(", ");
        let aliases = vec!["*a"; 300].join(", ");
        let text = format!("a: &a [{items}]\nb: [{aliases}]\n");
        assert_eq!(load_document_within(&text, 1 << 20).unwrap(), None);
    }
}
