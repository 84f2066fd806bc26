//! A strict reader for the few pickles a dataset ships: CIFAR's Python version.
//!
//! Those files are dicts of byte strings, integer lists and `uint8` numpy arrays, written by
//! Python 2's `cPickle` with protocol 2. The reader runs the pickle machine for that subset
//! only, builds numpy arrays itself instead of calling anything, and refuses every other opcode
//! or global by name, so a file can describe data but never run code. Python 3 re-dumps of the
//! same data (protocols 2–4: `_codecs.encode` bytes, `SHORT_BINUNICODE`, `FRAME`, `MEMOIZE`)
//! read too. Every length is checked against the bytes left before anything is allocated.

use std::collections::HashMap;
use std::path::Path;
use std::rc::Rc;

use crate::error::{Error, Result};

/// A value of the subset.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Value {
    None,
    Bool(bool),
    Int(i64),
    /// Python 2 `str` or Python 3 `bytes`: CIFAR's keys and pixels are byte strings.
    Bytes(Rc<[u8]>),
    Str(Rc<str>),
    List(Vec<Value>),
    Tuple(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    /// A global the subset knows (`numpy.ndarray`, `numpy.dtype`, …).
    Global(Global),
    /// `numpy.dtype(...)`, with its type string (`u1`).
    Dtype(String),
    /// A numpy array: after `_reconstruct` it is empty, and `BUILD` gives it its contents.
    Array(Array),
}

/// The globals a CIFAR pickle names; anything else is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Global {
    Reconstruct,
    NdArray,
    Dtype,
    CodecsEncode,
}

/// A `uint8` numpy array.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Array {
    pub shape: Vec<usize>,
    pub data: Rc<[u8]>,
}

impl Value {
    /// The entry of a dict under `key`, written as a byte string (Python 2) or text (Python 3).
    pub fn get(&self, key: &str) -> Option<&Value> {
        let Value::Dict(entries) = self else {
            return None;
        };
        entries.iter().find_map(|(k, v)| match k {
            Value::Bytes(b) if **b == *key.as_bytes() => Some(v),
            Value::Str(s) if **s == *key => Some(v),
            _ => None,
        })
    }

    /// What kind of value this is, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "a bool",
            Value::Int(_) => "an int",
            Value::Bytes(_) => "a byte string",
            Value::Str(_) => "a string",
            Value::List(_) => "a list",
            Value::Tuple(_) => "a tuple",
            Value::Dict(_) => "a dict",
            Value::Global(_) => "a class",
            Value::Dtype(_) => "a numpy dtype",
            Value::Array(_) => "a numpy array",
        }
    }
}

/// Stack entries: values and the marks that `MARK` pushes.
enum Slot {
    Value(Value),
    Mark,
}

/// Parses `bytes`, the contents of `path` (named in errors), to the value `STOP` returns.
pub(crate) fn parse(bytes: &[u8], path: &Path) -> Result<Value> {
    Machine {
        bytes,
        pos: 0,
        path,
        stack: Vec::new(),
        memo: HashMap::new(),
    }
    .run()
}

struct Machine<'a> {
    bytes: &'a [u8],
    pos: usize,
    path: &'a Path,
    stack: Vec<Slot>,
    memo: HashMap<u32, Memo>,
}

/// A memo entry. The memo holds copies, not shared objects, so only values that are cheap to
/// copy and never change after being stored are kept: a list, dict or array stored may be
/// filled later, and copying nested tuples on every fetch would let a small file grow
/// exponentially. Fetching any other kind is refused (CIFAR files never do it).
enum Memo {
    Value(Value),
    Refused(&'static str),
}

/// Tuples up to this many scalars stay fetchable (numpy's shapes and arguments).
const MEMO_TUPLE_MAX: usize = 8;

fn memoizable(value: &Value) -> bool {
    match value {
        Value::None
        | Value::Bool(_)
        | Value::Int(_)
        | Value::Bytes(_)
        | Value::Str(_)
        | Value::Global(_)
        | Value::Dtype(_) => true,
        Value::Tuple(items) => {
            items.len() <= MEMO_TUPLE_MAX
                && items
                    .iter()
                    .all(|v| !matches!(v, Value::Tuple(_)) && memoizable(v))
        }
        Value::List(_) | Value::Dict(_) | Value::Array(_) => false,
    }
}

impl<'a> Machine<'a> {
    fn error(&self, at: usize, reason: impl std::fmt::Display) -> Error {
        Error::format(self.path, format!("pickle at byte {at}: {reason}"))
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let bytes: &'a [u8] = self.bytes;
        let left = self.bytes.len() - self.pos;
        if n > left {
            return Err(self.error(
                self.pos,
                format!("{what} needs {n} bytes, the file has {left} left"),
            ));
        }
        let out = &bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn array<const N: usize>(&mut self, what: &str) -> Result<[u8; N]> {
        let bytes = self.take(N, what)?;
        Ok(bytes.try_into().expect("take returns N bytes"))
    }

    fn u32_len(&mut self, what: &str) -> Result<usize> {
        let n = u32::from_le_bytes(self.array(what)?);
        usize::try_from(n).map_err(|_| self.error(self.pos, format!("{what}: length {n}")))
    }

    fn line(&mut self, what: &str) -> Result<String> {
        let rest = &self.bytes[self.pos..];
        let end = rest
            .iter()
            .position(|&b| b == b'\n')
            .ok_or_else(|| self.error(self.pos, format!("{what} has no end of line")))?;
        let text = std::str::from_utf8(&rest[..end])
            .map_err(|_| self.error(self.pos, format!("{what} is not UTF-8")))?
            .to_owned();
        self.pos += end + 1;
        Ok(text)
    }

    fn push(&mut self, value: Value) {
        self.stack.push(Slot::Value(value));
    }

    fn pop(&mut self, at: usize) -> Result<Value> {
        match self.stack.pop() {
            Some(Slot::Value(v)) => Ok(v),
            Some(Slot::Mark) => Err(self.error(at, "a mark where a value was expected")),
            None => Err(self.error(at, "the stack is empty")),
        }
    }

    fn top(&mut self, at: usize) -> Result<&mut Value> {
        match self.stack.last_mut() {
            Some(Slot::Value(v)) => Ok(v),
            _ => Err(Error::format(
                self.path,
                format!("pickle at byte {at}: no value on the stack"),
            )),
        }
    }

    /// The values above the topmost mark, which is removed.
    fn pop_to_mark(&mut self, at: usize) -> Result<Vec<Value>> {
        let mark = self
            .stack
            .iter()
            .rposition(|s| matches!(s, Slot::Mark))
            .ok_or_else(|| self.error(at, "no mark on the stack"))?;
        let items = self.stack.split_off(mark + 1);
        self.stack.pop();
        Ok(items
            .into_iter()
            .map(|s| match s {
                Slot::Value(v) => v,
                Slot::Mark => unreachable!("the topmost mark is at `mark`"),
            })
            .collect())
    }

    fn pop_n(&mut self, n: usize, at: usize) -> Result<Vec<Value>> {
        let mut items = (0..n).map(|_| self.pop(at)).collect::<Result<Vec<_>>>()?;
        items.reverse();
        Ok(items)
    }

    fn memo_get(&self, index: u32, at: usize) -> Result<Value> {
        match self.memo.get(&index) {
            Some(Memo::Value(value)) => Ok(value.clone()),
            Some(Memo::Refused(kind)) => Err(self.error(
                at,
                format!("a second reference to {kind} (outside the subset)"),
            )),
            None => Err(self.error(at, format!("memo entry {index} was never stored"))),
        }
    }

    fn memo_put(&mut self, index: u32, at: usize) -> Result<()> {
        let top = self.top(at)?;
        let entry = if memoizable(top) {
            Memo::Value(top.clone())
        } else {
            Memo::Refused(top.kind())
        };
        self.memo.insert(index, entry);
        Ok(())
    }

    #[allow(clippy::too_many_lines)]
    fn run(mut self) -> Result<Value> {
        loop {
            let at = self.pos;
            let [op] = self.array("an opcode")?;
            match op {
                // PROTO: versions 2 to 4 use no opcode outside the subset below.
                0x80 => {
                    let [version] = self.array("PROTO")?;
                    if !(2..=4).contains(&version) {
                        return Err(self.error(at, format!("pickle protocol {version}")));
                    }
                }
                // FRAME: a length hint only.
                0x95 => {
                    self.array::<8>("FRAME")?;
                }
                b'.' => {
                    let value = self.pop(at)?;
                    return if self.stack.is_empty() {
                        Ok(value)
                    } else {
                        Err(self.error(at, "STOP with values left on the stack"))
                    };
                }
                b'(' => self.stack.push(Slot::Mark),
                b'N' => self.push(Value::None),
                0x88 => self.push(Value::Bool(true)),
                0x89 => self.push(Value::Bool(false)),
                b'K' => {
                    let [v] = self.array("BININT1")?;
                    self.push(Value::Int(i64::from(v)));
                }
                b'M' => {
                    let v = u16::from_le_bytes(self.array("BININT2")?);
                    self.push(Value::Int(i64::from(v)));
                }
                b'J' => {
                    let v = i32::from_le_bytes(self.array("BININT")?);
                    self.push(Value::Int(i64::from(v)));
                }
                0x8a => {
                    let [n] = self.array("LONG1")?;
                    if n > 8 {
                        return Err(self.error(at, format!("LONG1 of {n} bytes (over 64 bits)")));
                    }
                    let digits = self.take(usize::from(n), "LONG1")?;
                    let mut buf = if digits.last().is_some_and(|&b| b & 0x80 != 0) {
                        [0xff; 8]
                    } else {
                        [0; 8]
                    };
                    buf[..digits.len()].copy_from_slice(digits);
                    self.push(Value::Int(i64::from_le_bytes(buf)));
                }
                b'U' | b'C' => {
                    let [n] = self.array("SHORT_BINSTRING")?;
                    let b = self.take(usize::from(n), "a short byte string")?;
                    self.push(Value::Bytes(b.into()));
                }
                b'T' | b'B' => {
                    let n = self.u32_len("BINSTRING")?;
                    let b = self.take(n, "a byte string")?;
                    self.push(Value::Bytes(b.into()));
                }
                0x8c | b'X' => {
                    let n = if op == b'X' {
                        self.u32_len("BINUNICODE")?
                    } else {
                        usize::from(self.array::<1>("SHORT_BINUNICODE")?[0])
                    };
                    let b = self.take(n, "a string")?;
                    let s = std::str::from_utf8(b)
                        .map_err(|_| self.error(at, "a string that is not UTF-8"))?;
                    self.push(Value::Str(s.into()));
                }
                b'}' => self.push(Value::Dict(Vec::new())),
                b']' => self.push(Value::List(Vec::new())),
                b')' => self.push(Value::Tuple(Vec::new())),
                b't' => {
                    let items = self.pop_to_mark(at)?;
                    self.push(Value::Tuple(items));
                }
                0x85..=0x87 => {
                    let items = self.pop_n(usize::from(op - 0x84), at)?;
                    self.push(Value::Tuple(items));
                }
                b'a' | b'e' => {
                    let items = if op == b'a' {
                        vec![self.pop(at)?]
                    } else {
                        self.pop_to_mark(at)?
                    };
                    match self.top(at)? {
                        Value::List(list) => list.extend(items),
                        other => {
                            let kind = other.kind();
                            return Err(self.error(at, format!("APPENDS to {kind}")));
                        }
                    }
                }
                b's' | b'u' => {
                    let items = if op == b's' {
                        self.pop_n(2, at)?
                    } else {
                        self.pop_to_mark(at)?
                    };
                    if !items.len().is_multiple_of(2) {
                        return Err(self.error(at, "SETITEMS with a key but no value"));
                    }
                    let mut items = items.into_iter();
                    match self.top(at)? {
                        Value::Dict(dict) => {
                            while let (Some(k), Some(v)) = (items.next(), items.next()) {
                                dict.push((k, v));
                            }
                        }
                        other => {
                            let kind = other.kind();
                            return Err(self.error(at, format!("SETITEMS on {kind}")));
                        }
                    }
                }
                b'c' | 0x93 => {
                    let (module, name) = if op == b'c' {
                        (self.line("GLOBAL module")?, self.line("GLOBAL name")?)
                    } else {
                        let name = self.pop(at)?;
                        let module = self.pop(at)?;
                        match (module, name) {
                            (Value::Str(m), Value::Str(n)) => (m.to_string(), n.to_string()),
                            _ => return Err(self.error(at, "STACK_GLOBAL without two strings")),
                        }
                    };
                    let global = match (module.as_str(), name.as_str()) {
                        ("numpy.core.multiarray" | "numpy._core.multiarray", "_reconstruct") => {
                            Global::Reconstruct
                        }
                        ("numpy", "ndarray") => Global::NdArray,
                        ("numpy", "dtype") => Global::Dtype,
                        ("_codecs", "encode") => Global::CodecsEncode,
                        _ => {
                            return Err(self.error(
                                at,
                                format!("refusing the global {module}.{name} (not CIFAR data)"),
                            ));
                        }
                    };
                    self.push(Value::Global(global));
                }
                b'R' => {
                    let args = self.pop(at)?;
                    let callable = self.pop(at)?;
                    let value = self.reduce(&callable, args, at)?;
                    self.push(value);
                }
                b'b' => {
                    let state = self.pop(at)?;
                    let path = self.path;
                    let target = self.top(at)?;
                    build(target, state).map_err(|why| {
                        Error::format(path, format!("pickle at byte {at}: BUILD {why}"))
                    })?;
                }
                b'q' => {
                    let [i] = self.array("BINPUT")?;
                    self.memo_put(u32::from(i), at)?;
                }
                b'r' => {
                    let i = u32::from_le_bytes(self.array("LONG_BINPUT")?);
                    self.memo_put(i, at)?;
                }
                0x94 => {
                    let i = u32::try_from(self.memo.len()).expect("fewer memo entries than bytes");
                    self.memo_put(i, at)?;
                }
                b'h' => {
                    let [i] = self.array("BINGET")?;
                    let v = self.memo_get(u32::from(i), at)?;
                    self.push(v);
                }
                b'j' => {
                    let i = u32::from_le_bytes(self.array("LONG_BINGET")?);
                    let v = self.memo_get(i, at)?;
                    self.push(v);
                }
                other => {
                    return Err(self.error(
                        at,
                        format!(
                            "opcode 0x{other:02x} ({}) is outside the subset CIFAR files use",
                            opcode_name(other)
                        ),
                    ));
                }
            }
        }
    }

    fn reduce(&self, callable: &Value, args: Value, at: usize) -> Result<Value> {
        let Value::Tuple(args) = args else {
            return Err(self.error(at, format!("REDUCE with {} as arguments", args.kind())));
        };
        match (callable, args.as_slice()) {
            (Value::Global(Global::Reconstruct), [Value::Global(Global::NdArray), _, _]) => {
                Ok(Value::Array(Array {
                    shape: vec![0],
                    data: Rc::from([]),
                }))
            }
            (Value::Global(Global::Dtype), [Value::Bytes(_) | Value::Str(_), ..]) => {
                let descr = match &args[0] {
                    Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
                    Value::Str(s) => s.to_string(),
                    _ => unreachable!("matched above"),
                };
                Ok(Value::Dtype(descr))
            }
            // Python 3 pickles bytes as `_codecs.encode(text, 'latin1')`.
            (Value::Global(Global::CodecsEncode), [Value::Str(text), Value::Str(codec)])
                if &**codec == "latin1" =>
            {
                let bytes = text
                    .chars()
                    .map(|c| u8::try_from(u32::from(c)))
                    .collect::<std::result::Result<Vec<u8>, _>>()
                    .map_err(|_| self.error(at, "latin1 text with a character above U+00FF"))?;
                Ok(Value::Bytes(bytes.into()))
            }
            _ => Err(self.error(
                at,
                format!(
                    "REDUCE of {} on {} argument(s)",
                    callable.kind(),
                    args.len()
                ),
            )),
        }
    }
}

/// numpy's `__setstate__` for the two objects CIFAR builds: a dtype (accepted if it is one
/// byte unsigned) and an array `(version, shape, dtype, fortran, raw bytes)`.
fn build(target: &mut Value, state: Value) -> std::result::Result<(), String> {
    let Value::Tuple(state) = state else {
        return Err(format!("with {} as state", state.kind()));
    };
    match target {
        Value::Dtype(descr) => {
            if descr.trim_start_matches('|') != "u1" {
                return Err(format!("of numpy dtype `{descr}` (only uint8 is CIFAR's)"));
            }
            Ok(())
        }
        Value::Array(array) => {
            let [
                _,
                Value::Tuple(shape),
                Value::Dtype(descr),
                Value::Bool(fortran),
                raw,
            ] = state.as_slice()
            else {
                return Err("of an array with a state other than numpy's 5-tuple".into());
            };
            if descr.trim_start_matches('|') != "u1" || *fortran {
                return Err(format!(
                    "of a `{descr}`{} array (only C-ordered uint8 is CIFAR's)",
                    if *fortran { " Fortran-ordered" } else { "" }
                ));
            }
            let Value::Bytes(data) = raw else {
                return Err(format!("of an array whose data is {}", raw.kind()));
            };
            let shape = shape
                .iter()
                .map(|d| match d {
                    Value::Int(n) => usize::try_from(*n).map_err(|_| format!("dimension {n}")),
                    other => Err(format!("dimension that is {}", other.kind())),
                })
                .collect::<std::result::Result<Vec<usize>, _>>()?;
            let len = shape
                .iter()
                .try_fold(1usize, |acc, &d| acc.checked_mul(d))
                .ok_or("of an array whose size overflows")?;
            if len != data.len() {
                return Err(format!(
                    "of a {shape:?} array from {} bytes of data",
                    data.len()
                ));
            }
            *array = Array {
                shape,
                data: Rc::clone(data),
            };
            Ok(())
        }
        other => Err(format!("on {}", other.kind())),
    }
}

fn opcode_name(op: u8) -> &'static str {
    match op {
        b'I' => "INT",
        b'L' => "LONG",
        b'F' => "FLOAT",
        b'G' => "BINFLOAT",
        b'S' => "STRING",
        b'V' => "UNICODE",
        b'd' => "DICT",
        b'l' => "LIST",
        b'i' => "INST",
        b'o' => "OBJ",
        b'p' => "PUT",
        b'g' => "GET",
        b'P' => "PERSID",
        b'Q' => "BINPERSID",
        0x81 => "NEWOBJ",
        0x82..=0x84 => "EXT",
        0x8b => "LONG4",
        0x8d => "BINUNICODE8",
        0x8e => "BINBYTES8",
        0x8f => "EMPTY_SET",
        0x90 => "ADDITEMS",
        0x91 => "FROZENSET",
        0x92 => "NEWOBJ_EX",
        0x96 => "BYTEARRAY8",
        0x97 => "NEXT_BUFFER",
        0x98 => "READONLY_BUFFER",
        _ => "unknown",
    }
}
