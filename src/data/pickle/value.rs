//! The tree a pickle turns into. Nothing is ever executed: a `GLOBAL` stays a symbolic
//! [`Global`], a `REDUCE`/`NEWOBJ` stays an [`Object`] that records the callable and its
//! arguments, and `BUILD` records the state on that object (in place, as Python's
//! `__setstate__` does, so that memo references see the built object).
//!
//! Containers are reference counted, so memo hits (`GET`/`BINGET`) are cheap and share data;
//! bytes are zero-copy slices of the input buffer.
//!
//! May depend on: std only.

use std::borrow::Cow;
use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

/// A byte string: a range of a shared buffer (usually the pickle's own bytes), never copied.
#[derive(Clone)]
pub struct ByteBuf {
    src: Rc<Vec<u8>>,
    start: usize,
    end: usize,
}

impl ByteBuf {
    /// A view of `src[start..end]`; callers guarantee the range is inside `src`.
    pub(crate) fn slice(src: Rc<Vec<u8>>, start: usize, end: usize) -> Self {
        debug_assert!(start <= end && end <= src.len());
        ByteBuf { src, start, end }
    }

    /// Bytes that own their storage (e.g. text encoded to latin1).
    pub fn owned(v: Vec<u8>) -> Self {
        let end = v.len();
        ByteBuf {
            src: Rc::new(v),
            start: 0,
            end,
        }
    }

    /// The bytes.
    pub fn as_slice(&self) -> &[u8] {
        self.src.get(self.start..self.end).unwrap_or(&[])
    }

    pub fn len(&self) -> usize {
        self.end - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

/// A symbolic reference to a Python global (`module.name`). Never resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Global {
    pub module: String,
    pub name: String,
}

/// How an [`Object`] was created.
#[derive(Clone)]
pub enum ObjectKind {
    /// `REDUCE` (also `INST`/`OBJ`): `callable(*args)`.
    Reduce { callable: Value, args: Value },
    /// `NEWOBJ`/`NEWOBJ_EX`: `cls.__new__(cls, *args, **kwargs)`.
    NewObj {
        cls: Value,
        args: Value,
        kwargs: Option<Value>,
    },
}

/// An object that Python would have created by calling something, plus the state `BUILD`
/// gave it.
pub struct Object {
    pub kind: ObjectKind,
    pub state: RefCell<Option<Value>>,
}

impl Object {
    /// The callable of a `REDUCE`, or the class of a `NEWOBJ`.
    pub fn callable(&self) -> &Value {
        match &self.kind {
            ObjectKind::Reduce { callable, .. } => callable,
            ObjectKind::NewObj { cls, .. } => cls,
        }
    }

    /// The positional arguments (normally a tuple).
    pub fn args(&self) -> &Value {
        match &self.kind {
            ObjectKind::Reduce { args, .. } | ObjectKind::NewObj { args, .. } => args,
        }
    }

    /// True for `REDUCE` objects.
    pub fn is_reduce(&self) -> bool {
        matches!(self.kind, ObjectKind::Reduce { .. })
    }

    /// The `BUILD` state, if any (a cheap clone).
    pub fn state(&self) -> Option<Value> {
        self.state.borrow().clone()
    }
}

/// One node of an unpickled tree.
#[derive(Clone)]
pub enum Value {
    None,
    Bool(bool),
    Int(i64),
    /// An integer that does not fit in i64 (from `LONG`, `LONG1`, `LONG4`; at most 128 bits).
    BigInt(i128),
    Float(f64),
    Str(Rc<str>),
    /// `bytes`, `bytearray`, and Python-2 `str` (read as bytes; see [`Value::as_text`]).
    Bytes(ByteBuf),
    List(Rc<RefCell<Vec<Value>>>),
    Tuple(Rc<[Value]>),
    /// A dict as an ordered list of pairs; keys may be any value. Repeated keys (never written
    /// by Python) are kept; lookups take the last.
    Dict(Rc<RefCell<Vec<(Value, Value)>>>),
    /// `set` and `frozenset`.
    Set(Rc<RefCell<Vec<Value>>>),
    Global(Rc<Global>),
    /// `REDUCE`, `NEWOBJ`, `NEWOBJ_EX`, `INST`, `OBJ` (with the `BUILD` state, if any).
    Object(Rc<Object>),
}

impl Value {
    /// Short name of the variant, for error messages.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::None => "None",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::BigInt(_) => "int",
            Value::Float(_) => "float",
            Value::Str(_) => "str",
            Value::Bytes(_) => "bytes",
            Value::List(_) => "list",
            Value::Tuple(_) => "tuple",
            Value::Dict(_) => "dict",
            Value::Set(_) => "set",
            Value::Global(_) => "global",
            Value::Object(_) => "object",
        }
    }

    /// Text of a `str`, or of Python-2 `str` bytes decoded as latin1 (what
    /// `pickle.load(f, encoding="latin1")` does).
    pub fn as_text(&self) -> Option<Cow<'_, str>> {
        match self {
            Value::Str(s) => Some(Cow::Borrowed(s)),
            Value::Bytes(b) => Some(Cow::Owned(
                b.as_slice().iter().map(|&c| c as char).collect(),
            )),
            _ => None,
        }
    }

    /// An integer (bools count, as in Python).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Bool(b) => Some(*b as i64),
            _ => None,
        }
    }

    /// A number as f64 (ints, bools and floats).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            Value::Int(i) => Some(*i as f64),
            Value::BigInt(i) => Some(*i as f64),
            Value::Bool(b) => Some(*b as i64 as f64),
            _ => None,
        }
    }

    /// A bool (ints 0/1 count, as Python 2 pickles wrote them).
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            Value::Int(0) => Some(false),
            Value::Int(1) => Some(true),
            _ => None,
        }
    }

    /// The items of a tuple or list (cheap clones).
    pub fn items(&self) -> Option<Vec<Value>> {
        match self {
            Value::Tuple(t) => Some(t.to_vec()),
            Value::List(l) => Some(l.borrow().clone()),
            _ => None,
        }
    }

    /// The pairs of a dict (cheap clones).
    pub fn dict_pairs(&self) -> Option<Vec<(Value, Value)>> {
        match self {
            Value::Dict(d) => Some(d.borrow().clone()),
            _ => None,
        }
    }

    /// Looks up a dict entry whose key is the text `key` (`str` or Python-2 `str` bytes); with
    /// repeated keys the last one wins, as in Python.
    pub fn dict_get(&self, key: &str) -> Option<Value> {
        match self {
            Value::Dict(d) => d
                .borrow()
                .iter()
                .rev()
                .find(|(k, _)| k.as_text().is_some_and(|t| t == key))
                .map(|(_, v)| v.clone()),
            _ => None,
        }
    }

    /// `(module, name)` of a global.
    pub fn as_global(&self) -> Option<(&str, &str)> {
        match self {
            Value::Global(g) => Some((g.module.as_str(), g.name.as_str())),
            _ => None,
        }
    }

    /// The object node, if this is one.
    pub fn as_object(&self) -> Option<&Rc<Object>> {
        match self {
            Value::Object(o) => Some(o),
            _ => None,
        }
    }

    /// If this is an object created by calling the global `module.name` (one of `modules`),
    /// returns it.
    pub fn object_of(&self, modules: &[&str], name: &str) -> Option<&Rc<Object>> {
        let o = self.as_object()?;
        let (m, n) = o.callable().as_global()?;
        (n == name && modules.contains(&m)).then_some(o)
    }

    /// A one-line description, at most `depth` levels deep, for error messages.
    pub fn describe(&self, depth: usize) -> String {
        let mut s = String::new();
        self.describe_into(&mut s, depth);
        s
    }

    fn describe_into(&self, out: &mut String, depth: usize) {
        use fmt::Write as _;
        const MAX_ITEMS: usize = 4;
        let seq = |out: &mut String, items: &[Value], open: &str, close: &str| {
            out.push_str(open);
            if depth == 0 {
                let _ = write!(out, "{} items", items.len());
            } else {
                for (i, v) in items.iter().take(MAX_ITEMS).enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    v.describe_into(out, depth - 1);
                }
                if items.len() > MAX_ITEMS {
                    let _ = write!(out, ", … ({} items)", items.len());
                }
            }
            out.push_str(close);
        };
        match self {
            Value::None => out.push_str("None"),
            Value::Bool(b) => out.push_str(if *b { "True" } else { "False" }),
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::BigInt(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Float(f) => {
                let _ = write!(out, "{f}");
            }
            Value::Str(s) => {
                let t: String = s.chars().take(40).collect();
                let _ = write!(out, "{t:?}");
            }
            Value::Bytes(b) => {
                let _ = write!(out, "bytes[{}]", b.len());
            }
            Value::List(l) => match l.try_borrow() {
                Ok(l) => seq(out, &l, "[", "]"),
                Err(_) => out.push_str("[…]"),
            },
            Value::Tuple(t) => seq(out, t, "(", ")"),
            Value::Set(l) => match l.try_borrow() {
                Ok(l) => seq(out, &l, "{", "}"),
                Err(_) => out.push_str("{…}"),
            },
            Value::Dict(d) => match d.try_borrow() {
                Ok(d) => {
                    out.push('{');
                    if depth == 0 {
                        let _ = write!(out, "{} items", d.len());
                    } else {
                        for (i, (k, v)) in d.iter().take(MAX_ITEMS).enumerate() {
                            if i > 0 {
                                out.push_str(", ");
                            }
                            k.describe_into(out, depth - 1);
                            out.push_str(": ");
                            v.describe_into(out, depth - 1);
                        }
                        if d.len() > MAX_ITEMS {
                            let _ = write!(out, ", … ({} items)", d.len());
                        }
                    }
                    out.push('}');
                }
                Err(_) => out.push_str("{…}"),
            },
            Value::Global(g) => {
                let _ = write!(out, "{}.{}", g.module, g.name);
            }
            Value::Object(o) => {
                if depth == 0 {
                    out.push_str("<object>");
                    return;
                }
                out.push_str(if o.is_reduce() { "call " } else { "new " });
                o.callable().describe_into(out, depth - 1);
                o.args().describe_into(out, depth - 1);
                if let Ok(st) = o.state.try_borrow() {
                    if let Some(st) = st.as_ref() {
                        out.push_str(" with state ");
                        st.describe_into(out, depth - 1);
                    }
                }
            }
        }
    }
}

impl Drop for Value {
    /// Iterative, so that a deeply nested pickle (a million `TUPLE1`s is a 1 MB file) cannot
    /// overflow the stack when its tree is dropped: children of nodes this value owns alone
    /// are moved to a work list instead of being dropped recursively.
    fn drop(&mut self) {
        let mut work = Vec::new();
        take_children(self, &mut work);
        while let Some(mut v) = work.pop() {
            take_children(&mut v, &mut work);
        }
    }
}

fn take_children(v: &mut Value, out: &mut Vec<Value>) {
    match v {
        Value::List(rc) | Value::Set(rc) if Rc::strong_count(rc) == 1 => {
            if let Ok(mut items) = rc.try_borrow_mut() {
                out.append(&mut items);
            }
        }
        Value::Dict(rc) if Rc::strong_count(rc) == 1 => {
            if let Ok(mut pairs) = rc.try_borrow_mut() {
                for (k, x) in pairs.drain(..) {
                    out.push(k);
                    out.push(x);
                }
            }
        }
        Value::Tuple(rc) => {
            if let Some(items) = Rc::get_mut(rc) {
                out.extend(items.iter_mut().map(|x| std::mem::replace(x, Value::None)));
            }
        }
        Value::Object(rc) => {
            if let Some(o) = Rc::get_mut(rc) {
                if let Some(st) = o.state.get_mut().take() {
                    out.push(st);
                }
                match &mut o.kind {
                    ObjectKind::Reduce { callable, args } => {
                        out.push(std::mem::replace(callable, Value::None));
                        out.push(std::mem::replace(args, Value::None));
                    }
                    ObjectKind::NewObj { cls, args, kwargs } => {
                        out.push(std::mem::replace(cls, Value::None));
                        out.push(std::mem::replace(args, Value::None));
                        if let Some(k) = kwargs.take() {
                            out.push(k);
                        }
                    }
                }
            }
        }
        _ => {}
    }
}

impl fmt::Debug for Value {
    /// Depth-limited (pickles may contain cycles).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe(3))
    }
}

impl fmt::Debug for ByteBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bytes[{}]", self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_text_of_py2_bytes() {
        let v = Value::Bytes(ByteBuf::owned(vec![b'a', 0xe9]));
        assert_eq!(v.as_text().as_deref(), Some("aé"));
    }

    #[test]
    fn describe_is_bounded_on_cycles() {
        let l = Rc::new(RefCell::new(Vec::new()));
        let v = Value::List(l.clone());
        l.borrow_mut().push(v.clone());
        let d = v.describe(5);
        assert!(d.len() < 100, "{d}");
        // Break the cycle so the test does not leak.
        l.borrow_mut().clear();
    }
}
