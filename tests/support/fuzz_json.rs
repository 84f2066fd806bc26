//! JSON-aware edits for the fuzz suites of the JSON readers (`checkpoint.json`, report shards),
//! included with `#[path]` next to `fuzz.rs`.
//!
//! Byte edits of JSON mostly produce syntax errors, which serde_json rejects before any of our
//! types see the document. Edits of the parsed document keep it well-formed and so reach the
//! deserialisers and whatever is built from their output: a size replaced by 2^64 − 1, a
//! field removed, an unknown key added, an array nested beyond serde_json's depth limit.

// Each suite uses the part of this file it needs.
#![allow(dead_code)]

use proptest::prelude::*;
use serde_json::{Map, Value, json};

/// What to do at the node an edit reaches.
#[derive(Clone, Debug)]
pub enum JsonAction {
    /// Replace the node.
    Replace(Value),
    /// Remove the node from its object or array.
    Remove,
    /// Add a key to an object (or an element to an array; elsewhere, replace the node with a
    /// one-key object).
    Add(String, Value),
    /// Wrap the node in this many one-element arrays.
    Nest(usize),
    /// Repeat an array's elements (lengths that disagree with their neighbours).
    Grow(usize),
}

/// One edit: from the top-level field `at` (the root if absent or missing), walk `path` (each
/// step picks a child modulo the number of children), then act.
#[derive(Clone, Debug)]
pub struct JsonEdit {
    at: Option<String>,
    path: Vec<usize>,
    action: JsonAction,
}

/// Values that break code trusting them: sizes near 2^31, 2^32, 2^53 and 2^64, negative and
/// fractional numbers where whole ones are expected, wrong types, empty containers.
pub fn interesting_json() -> impl Strategy<Value = Value> {
    let fixed = proptest::sample::select(vec![
        Value::Null,
        json!(true),
        json!(0),
        json!(1),
        json!(2),
        json!(-1),
        json!(1u64 << 31),
        json!(1u64 << 32),
        json!(1u64 << 53),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(1e308),
        json!(-0.0),
        json!(0.5),
        json!(5e-324),
        json!(""),
        json!("8/255"),
        json!("1/0"),
        json!("nan"),
        json!([]),
        json!({}),
        json!([u64::MAX, 1u64 << 31]),
        json!([1u64 << 32, 1u64 << 32, 1u64 << 32]),
    ]);
    prop_oneof![
        4 => fixed,
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(Value::from),
        1 => "[a-z0-9_/.-]{0,12}".prop_map(Value::from),
    ]
}

/// Up to `max` edits anywhere in the document.
pub fn json_edits(max: usize) -> impl Strategy<Value = Vec<JsonEdit>> {
    json_edits_within(max, &[])
}

/// Up to `max` edits, most of them inside one of the top-level fields `focus`: the fields a
/// reader builds something from, which a uniform walk of a large document rarely reaches.
pub fn json_edits_within(max: usize, focus: &[&str]) -> impl Strategy<Value = Vec<JsonEdit>> {
    let mut starts: Vec<Option<String>> = focus.iter().map(|f| Some((*f).to_owned())).collect();
    starts.push(None);
    let action = prop_oneof![
        6 => interesting_json().prop_map(JsonAction::Replace),
        2 => Just(JsonAction::Remove),
        1 => ("[a-z_]{1,8}", interesting_json()).prop_map(|(k, v)| JsonAction::Add(k, v)),
        1 => (1usize..200).prop_map(JsonAction::Nest),
        1 => (1usize..4).prop_map(JsonAction::Grow),
    ];
    let edit = (
        proptest::sample::select(starts),
        proptest::collection::vec(any::<usize>(), 0..6),
        action,
    )
        .prop_map(|(at, path, action)| JsonEdit { at, path, action });
    proptest::collection::vec(edit, 0..=max)
}

/// Applies `edits` in order to a copy of `doc`.
pub fn edit_json(doc: &Value, edits: &[JsonEdit]) -> Value {
    let mut out = doc.clone();
    for edit in edits {
        let key = edit.at.as_deref().filter(|k| out.get(k).is_some());
        let node = match key {
            Some(k) => out.get_mut(k).expect("checked present just above"),
            None => &mut out,
        };
        apply_at(node, &edit.path, &edit.action);
    }
    out
}

fn is_container(v: &Value) -> bool {
    matches!(v, Value::Object(m) if !m.is_empty()) || matches!(v, Value::Array(a) if !a.is_empty())
}

/// Walks down from `node`; a parent handles `Remove` of its chosen child, every other action
/// happens at the node where the path or the tree ends.
fn apply_at(node: &mut Value, path: &[usize], action: &JsonAction) {
    if let Some((&step, rest)) = path.split_first() {
        match node {
            Value::Object(map) if !map.is_empty() => {
                let key = map
                    .keys()
                    .nth(step % map.len())
                    .cloned()
                    .unwrap_or_default();
                let target_here = rest.is_empty() || !map.get(&key).is_some_and(is_container);
                if target_here && matches!(action, JsonAction::Remove) {
                    map.remove(&key);
                } else if let Some(child) = map.get_mut(&key) {
                    apply_at(child, if target_here { &[] } else { rest }, action);
                }
                return;
            }
            Value::Array(items) if !items.is_empty() => {
                let i = step % items.len();
                let target_here = rest.is_empty() || !is_container(&items[i]);
                if target_here && matches!(action, JsonAction::Remove) {
                    items.remove(i);
                } else {
                    apply_at(&mut items[i], if target_here { &[] } else { rest }, action);
                }
                return;
            }
            _ => {}
        }
    }
    match action {
        JsonAction::Replace(v) => *node = v.clone(),
        JsonAction::Remove => *node = Value::Null,
        JsonAction::Add(key, v) => match node {
            Value::Object(map) => {
                map.insert(key.clone(), v.clone());
            }
            Value::Array(items) => items.push(v.clone()),
            other => {
                let mut map = Map::new();
                map.insert(key.clone(), v.clone());
                *other = Value::Object(map);
            }
        },
        JsonAction::Nest(depth) => {
            for _ in 0..*depth {
                *node = Value::Array(vec![node.take()]);
            }
        }
        JsonAction::Grow(times) => {
            if let Value::Array(items) = node {
                let copy = items.clone();
                for _ in 0..*times {
                    items.extend(copy.iter().cloned());
                }
            }
        }
    }
}

/// Text fragments that make JSON wrong in the ways a hand edit or a cut-off write does, for
/// [`crate::fuzz::Mutation::Insert`]: numbers out of range for every type, bare NaN, stray
/// delimiters, escapes.
pub fn json_tokens() -> impl Strategy<Value = Vec<u8>> {
    proptest::sample::select(vec![
        "1e999",
        "-1e999",
        "NaN",
        "Infinity",
        "18446744073709551616",
        "-9223372036854775809",
        "0.1e-400",
        "\"",
        "\\u0000",
        "\\ud800",
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "null",
        "\u{feff}",
        "\u{0}",
    ])
    .prop_map(|t| t.as_bytes().to_vec())
}
