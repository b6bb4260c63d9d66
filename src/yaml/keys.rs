//! Keys written twice in one mapping, with their lines. GitLab reads YAML with Ruby's Psych,
//! where a repeated key is no error: the last one wins ([`super::load_document_within`] reads
//! them that way). This walk finds them in the text so a local run can say so, naming both
//! lines. It reads the parser's events (the same libyaml that serde_yaml and Psych use), so it
//! sees exactly the mappings the loader sees, each written mapping once however often an alias
//! repeats it.

use std::collections::HashMap;
use std::mem::MaybeUninit;

use unsafe_libyaml as unsafe_yaml;

use super::Value;

/// A key written again in the same mapping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepeatedKey {
    /// The key as written (`<<` for a merge key).
    pub key: String,
    /// 1-based line of its first occurrence.
    pub first_line: usize,
    /// 1-based line of this occurrence.
    pub line: usize,
}

/// The repeated keys of the first YAML document in `text`, in the order they appear. A text
/// the parser rejects yields what was found before the error: the loader reports the error.
pub fn repeated_keys(text: &str) -> Vec<RepeatedKey> {
    let mut found = Vec::new();
    let mut frames: Vec<Frame> = Vec::new();
    let mut events = Events::new(text);
    while let Some(event) = events.next() {
        let node = match event {
            Event::DocumentEnd | Event::StreamEnd => break,
            Event::End => {
                frames.pop();
                continue;
            }
            Event::Other => continue,
            Event::Node(node) => node,
        };
        if let Some(Frame::Mapping { seen, key_next }) = frames.last_mut() {
            if *key_next {
                if let Some((identity, shown)) = key_identity(&node) {
                    match seen.get(&identity) {
                        Some(&first_line) => found.push(RepeatedKey {
                            key: shown,
                            first_line,
                            line: node.line,
                        }),
                        None => {
                            seen.insert(identity, node.line);
                        }
                    }
                }
            }
            *key_next = !*key_next;
        }
        match node.kind {
            NodeKind::MappingStart => frames.push(Frame::Mapping {
                seen: HashMap::new(),
                key_next: true,
            }),
            NodeKind::SequenceStart => frames.push(Frame::Sequence),
            NodeKind::Scalar { .. } | NodeKind::Alias => {}
        }
    }
    found
}

enum Frame {
    Mapping {
        /// Each key written so far, with its line.
        seen: HashMap<Value, usize>,
        /// Whether the next node is a key (else it is the value of the last key).
        key_next: bool,
    },
    Sequence,
}

/// What makes two written keys the same key for the loader, and how to show it. `None` for
/// keys that are not scalars (or carry a tag other than `!!str`), which are left alone.
fn key_identity(node: &Node) -> Option<(Value, String)> {
    let NodeKind::Scalar {
        value,
        plain,
        tagged,
    } = &node.kind
    else {
        return None;
    };
    let identity = match tagged {
        Some(tag) if tag != "tag:yaml.org,2002:str" => return None,
        Some(_) => Value::String(value.clone()),
        // `<<` is the merge key however it is quoted, as Psych reads it.
        None if value == "<<" => Value::String(value.clone()),
        // A plain key resolves as the loader resolves it: `1` and `"1"` are different keys.
        // An implicit key is one line with no `: ` or ` #`, so it reads back as itself.
        None if *plain => serde_yaml::from_str(value).unwrap_or(Value::String(value.clone())),
        None => Value::String(value.clone()),
    };
    Some((identity, value.clone()))
}

struct Node {
    /// 1-based.
    line: usize,
    kind: NodeKind,
}

enum NodeKind {
    Scalar {
        value: String,
        plain: bool,
        tagged: Option<String>,
    },
    Alias,
    MappingStart,
    SequenceStart,
}

enum Event {
    Node(Node),
    /// The end of a mapping or a sequence.
    End,
    DocumentEnd,
    StreamEnd,
    Other,
}

/// libyaml's parser over one text, as a safe iterator of the events this walk needs.
struct Events<'a> {
    /// Boxed so it never moves: libyaml keeps a pointer to it once its input is set.
    parser: Box<MaybeUninit<unsafe_yaml::yaml_parser_t>>,
    _text: &'a str,
    /// Whether libyaml set the parser up (it is deleted only then).
    initialised: bool,
    failed: bool,
}

impl<'a> Events<'a> {
    fn new(text: &'a str) -> Events<'a> {
        let mut parser = Box::new(MaybeUninit::<unsafe_yaml::yaml_parser_t>::uninit());
        // SAFETY: `parser` is heap memory that outlives every use (dropped in `Drop`), and the
        // input is `text`, borrowed for the iterator's whole life.
        let initialised = unsafe {
            let raw = parser.as_mut_ptr();
            if unsafe_yaml::yaml_parser_initialize(raw).fail {
                false
            } else {
                unsafe_yaml::yaml_parser_set_encoding(raw, unsafe_yaml::YAML_UTF8_ENCODING);
                unsafe_yaml::yaml_parser_set_input_string(raw, text.as_ptr(), text.len() as _);
                true
            }
        };
        Events {
            parser,
            _text: text,
            initialised,
            failed: !initialised,
        }
    }

    fn next(&mut self) -> Option<Event> {
        if self.failed {
            return None;
        }
        let mut event = MaybeUninit::<unsafe_yaml::yaml_event_t>::uninit();
        // SAFETY: the parser was initialised in `new`; a parsed event is read, copied out and
        // deleted before the next call.
        unsafe {
            let raw = self.parser.as_mut_ptr();
            if unsafe_yaml::yaml_parser_parse(raw, event.as_mut_ptr()).fail {
                self.failed = true;
                return None;
            }
            let event = event.as_mut_ptr();
            let line = (*event).start_mark.line as usize + 1;
            let converted = match (*event).type_ {
                unsafe_yaml::YAML_SCALAR_EVENT => {
                    let scalar = (*event).data.scalar;
                    let bytes = std::slice::from_raw_parts(scalar.value, scalar.length as usize);
                    Event::Node(Node {
                        line,
                        kind: NodeKind::Scalar {
                            value: String::from_utf8_lossy(bytes).into_owned(),
                            plain: scalar.style == unsafe_yaml::YAML_PLAIN_SCALAR_STYLE,
                            tagged: c_string(scalar.tag),
                        },
                    })
                }
                unsafe_yaml::YAML_ALIAS_EVENT => Event::Node(Node {
                    line,
                    kind: NodeKind::Alias,
                }),
                unsafe_yaml::YAML_MAPPING_START_EVENT => Event::Node(Node {
                    line,
                    kind: NodeKind::MappingStart,
                }),
                unsafe_yaml::YAML_SEQUENCE_START_EVENT => Event::Node(Node {
                    line,
                    kind: NodeKind::SequenceStart,
                }),
                unsafe_yaml::YAML_MAPPING_END_EVENT | unsafe_yaml::YAML_SEQUENCE_END_EVENT => {
                    Event::End
                }
                unsafe_yaml::YAML_DOCUMENT_END_EVENT => Event::DocumentEnd,
                unsafe_yaml::YAML_STREAM_END_EVENT => Event::StreamEnd,
                _ => Event::Other,
            };
            unsafe_yaml::yaml_event_delete(event);
            Some(converted)
        }
    }
}

/// A NUL-terminated string from libyaml, when there is one.
///
/// # Safety
/// `ptr` is null or points at a NUL-terminated string that lives while this runs.
unsafe fn c_string(ptr: *const u8) -> Option<String> {
    if ptr.is_null() {
        return None;
    }
    let text = std::ffi::CStr::from_ptr(ptr.cast());
    Some(text.to_string_lossy().into_owned())
}

impl Drop for Events<'_> {
    fn drop(&mut self) {
        if self.initialised {
            // SAFETY: set up by `yaml_parser_initialize` in `new`, and deleted once, here.
            unsafe { unsafe_yaml::yaml_parser_delete(self.parser.as_mut_ptr()) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<(String, usize, usize)> {
        repeated_keys(text)
            .into_iter()
            .map(|r| (r.key, r.first_line, r.line))
            .collect()
    }

    #[test]
    fn repeated_keys_are_found_in_each_mapping_with_both_lines() {
        let text = "a: 1\nb:\n  x: 1\n  x: 2\na: 3\nc: {y: 1, y: 2}\n";
        assert_eq!(
            found(text),
            [("x".into(), 3, 4), ("a".into(), 1, 5), ("y".into(), 6, 6)]
        );
    }

    #[test]
    fn keys_resolve_as_the_loader_resolves_them() {
        // `1` is a number and `"1"` a string; `a` and `'a'` are one key.
        assert_eq!(found("1: x\n\"1\": y\n"), []);
        assert_eq!(found("a: x\n'a': y\n"), [("a".into(), 1, 2)]);
    }

    #[test]
    fn merge_keys_and_keys_inside_values_and_aliases() {
        let text =
            "base: &b\n  k: 1\n  k: 2\njob:\n  <<: *b\n  <<: {k: 3}\n  list:\n    - {z: 1, z: 2}\n";
        assert_eq!(
            found(text),
            [("k".into(), 2, 3), ("<<".into(), 5, 6), ("z".into(), 8, 8)]
        );
    }

    #[test]
    fn only_the_first_document_and_broken_text_is_no_panic() {
        assert_eq!(found("a: 1\n---\na: 1\na: 2\n"), []);
        assert_eq!(found("a: 1\na: 2\nb: [\n"), [("a".into(), 1, 2)]);
        assert_eq!(found(""), []);
    }
}
