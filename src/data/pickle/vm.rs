//! A small, safe pickle virtual machine: executes the opcodes of protocols 0–5 into a
//! [`Value`] tree. Globals are symbolic; nothing is imported or called. Every failure
//! (unknown opcode, truncated data, stack underflow, bad memo index, malformed argument) is a
//! [`PickleError`] with the byte offset of the opcode, never a panic; no allocation is sized
//! from a length field before checking that the bytes are there.
//!
//! May depend on: std and [`super::value`] only.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use super::value::{ByteBuf, Global, Object, ObjectKind, Value};

/// Why a pickle could not be read, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PickleError {
    /// Byte offset of the opcode that failed (or of the end of the data).
    pub offset: usize,
    pub reason: String,
}

impl std::fmt::Display for PickleError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (at byte {})", self.reason, self.offset)
    }
}

impl std::error::Error for PickleError {}

/// Highest protocol understood.
pub const HIGHEST_PROTOCOL: u8 = 5;

/// Unpickles `data` (the whole pickle; trailing bytes after `STOP` are ignored, as Python
/// does). Bytes values in the result are views into `data`.
pub fn loads(data: Rc<Vec<u8>>) -> Result<Value, PickleError> {
    Vm {
        data,
        pos: 0,
        op_pos: 0,
        stack: Vec::new(),
        marks: Vec::new(),
        memo: HashMap::new(),
    }
    .run()
}

struct Vm {
    data: Rc<Vec<u8>>,
    pos: usize,
    op_pos: usize,
    stack: Vec<Value>,
    /// Stack heights at each MARK.
    marks: Vec<usize>,
    memo: HashMap<u64, Value>,
}

type R<T> = Result<T, PickleError>;

fn tuple(items: Vec<Value>) -> Value {
    Value::Tuple(Rc::from(items))
}

fn object(kind: ObjectKind) -> Value {
    Value::Object(Rc::new(Object {
        kind,
        state: RefCell::new(None),
    }))
}

impl Vm {
    fn err<T>(&self, reason: impl Into<String>) -> R<T> {
        Err(PickleError {
            offset: self.op_pos,
            reason: reason.into(),
        })
    }

    fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }

    /// Checks that `n` bytes remain and advances; returns the start offset.
    fn take(&mut self, n: u64) -> R<usize> {
        if n > self.remaining() as u64 {
            return Err(PickleError {
                offset: self.op_pos,
                reason: format!(
                    "unexpected end of data (need {n} bytes, {} left)",
                    self.remaining()
                ),
            });
        }
        let start = self.pos;
        self.pos += n as usize;
        Ok(start)
    }

    fn bytes(&mut self, n: u64) -> R<&[u8]> {
        let start = self.take(n)?;
        Ok(&self.data[start..self.pos])
    }

    fn u8(&mut self) -> R<u8> {
        Ok(self.bytes(1)?[0])
    }

    fn fixed<const N: usize>(&mut self) -> R<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.bytes(N as u64)?);
        Ok(a)
    }

    fn u16(&mut self) -> R<u16> {
        Ok(u16::from_le_bytes(self.fixed()?))
    }

    fn u32(&mut self) -> R<u32> {
        Ok(u32::from_le_bytes(self.fixed()?))
    }

    fn i32(&mut self) -> R<i32> {
        Ok(i32::from_le_bytes(self.fixed()?))
    }

    fn u64(&mut self) -> R<u64> {
        Ok(u64::from_le_bytes(self.fixed()?))
    }

    /// A protocol-0 argument line, without the trailing newline.
    fn line(&mut self) -> R<Vec<u8>> {
        let rest = &self.data[self.pos.min(self.data.len())..];
        match rest.iter().position(|&b| b == b'\n') {
            Some(i) => {
                let l = rest[..i].to_vec();
                self.pos += i + 1;
                Ok(l)
            }
            None => self.err("unexpected end of data (no newline after a text argument)"),
        }
    }

    fn line_str(&mut self) -> R<String> {
        let l = self.line()?;
        match String::from_utf8(l) {
            Ok(s) => Ok(s),
            Err(_) => self.err("text argument is not UTF-8"),
        }
    }

    fn view(&mut self, n: u64) -> R<ByteBuf> {
        let start = self.take(n)?;
        Ok(ByteBuf::slice(self.data.clone(), start, self.pos))
    }

    fn utf8(&mut self, n: u64) -> R<Value> {
        let start = self.take(n)?;
        match std::str::from_utf8(&self.data[start..self.pos]) {
            Ok(s) => Ok(Value::Str(Rc::from(s))),
            Err(e) => self.err(format!("string is not valid UTF-8: {e}")),
        }
    }

    fn len_i32(&mut self) -> R<u64> {
        let n = self.i32()?;
        if n < 0 {
            return self.err(format!("negative length {n}"));
        }
        Ok(n as u64)
    }

    fn push(&mut self, v: Value) {
        self.stack.push(v);
    }

    fn floor(&self) -> usize {
        self.marks.last().copied().unwrap_or(0)
    }

    fn pop(&mut self) -> R<Value> {
        if self.stack.len() <= self.floor() {
            return self.err("stack underflow");
        }
        match self.stack.pop() {
            Some(v) => Ok(v),
            None => self.err("stack underflow"),
        }
    }

    fn top(&self) -> R<&Value> {
        if self.stack.len() <= self.floor() {
            return self.err("stack underflow");
        }
        match self.stack.last() {
            Some(v) => Ok(v),
            None => self.err("stack underflow"),
        }
    }

    fn pop_mark(&mut self) -> R<Vec<Value>> {
        match self.marks.pop() {
            Some(m) => Ok(self.stack.split_off(m.min(self.stack.len()))),
            None => self.err("MARK not found"),
        }
    }

    fn memo_get(&self, idx: u64) -> R<Value> {
        match self.memo.get(&idx) {
            Some(v) => Ok(v.clone()),
            None => self.err(format!("memo index {idx} not defined")),
        }
    }

    fn memo_put(&mut self, idx: u64) -> R<()> {
        let v = self.top()?.clone();
        self.memo.insert(idx, v);
        Ok(())
    }

    fn parse_int_line(&mut self) -> R<i128> {
        let l = self.line_str()?;
        let t = l.trim().trim_end_matches('L');
        match t.parse::<i128>() {
            Ok(i) => Ok(i),
            Err(_) => self.err(format!("bad integer {l:?} (or wider than 128 bits)")),
        }
    }

    fn int_value(&self, i: i128) -> Value {
        match i64::try_from(i) {
            Ok(i) => Value::Int(i),
            Err(_) => Value::BigInt(i),
        }
    }

    /// Little-endian two's-complement integer of `n` bytes (LONG1/LONG4).
    fn long_bytes(&mut self, n: u64) -> R<Value> {
        if n > 16 {
            // Check the bytes exist first so truncation is reported as such.
            self.take(n)?;
            return self.err(format!("integer of {n} bytes is wider than 128 bits"));
        }
        let b = self.bytes(n)?;
        if b.is_empty() {
            return Ok(Value::Int(0));
        }
        let neg = b[b.len() - 1] & 0x80 != 0;
        let mut buf = [if neg { 0xffu8 } else { 0 }; 16];
        buf[..b.len()].copy_from_slice(b);
        let i = i128::from_le_bytes(buf);
        Ok(self.int_value(i))
    }

    fn set_items(&mut self, items: Vec<Value>) -> R<()> {
        if !items.len().is_multiple_of(2) {
            return self.err("odd number of items for SETITEMS");
        }
        let target = self.top()?.clone();
        match &target {
            Value::Dict(d) => {
                let mut d = d.borrow_mut();
                let mut it = items.into_iter();
                while let (Some(k), Some(v)) = (it.next(), it.next()) {
                    dict_insert(&mut d, k, v);
                }
                Ok(())
            }
            other => self.err(format!("SETITEM(S) on a {}", other.kind_name())),
        }
    }

    fn append_items(&mut self, items: Vec<Value>) -> R<()> {
        let target = self.top()?.clone();
        match &target {
            Value::List(l) => {
                l.borrow_mut().extend(items);
                Ok(())
            }
            other => self.err(format!("APPEND(S) on a {}", other.kind_name())),
        }
    }

    fn global(&self, module: String, name: String) -> Value {
        Value::Global(Rc::new(Global { module, name }))
    }

    fn run(mut self) -> R<Value> {
        loop {
            self.op_pos = self.pos;
            if self.pos >= self.data.len() {
                return self.err("unexpected end of data (no STOP opcode)");
            }
            let op = self.u8()?;
            match op {
                // --- framing and protocol ---
                0x80 => {
                    let p = self.u8()?;
                    if p > HIGHEST_PROTOCOL {
                        return self.err(format!("unsupported pickle protocol {p}"));
                    }
                }
                0x95 => {
                    let n = self.u64()?;
                    if n > self.remaining() as u64 {
                        return self.err(format!(
                            "unexpected end of data (frame of {n} bytes, {} left)",
                            self.remaining()
                        ));
                    }
                }
                b'.' => {
                    let v = self.pop()?;
                    return Ok(v);
                }
                // --- stack manipulation ---
                b'(' => self.marks.push(self.stack.len()),
                b'0' => {
                    if self.stack.len() > self.floor() {
                        self.stack.pop();
                    } else {
                        self.pop_mark()?;
                    }
                }
                b'1' => {
                    self.pop_mark()?;
                }
                b'2' => {
                    let v = self.top()?.clone();
                    self.push(v);
                }
                // --- constants ---
                b'N' => self.push(Value::None),
                0x88 => self.push(Value::Bool(true)),
                0x89 => self.push(Value::Bool(false)),
                b'I' => {
                    let l = self.line_str()?;
                    let v = match l.trim() {
                        "00" => Value::Bool(false),
                        "01" => Value::Bool(true),
                        t => match t.parse::<i128>() {
                            Ok(i) => self.int_value(i),
                            Err(_) => return self.err(format!("bad INT argument {l:?}")),
                        },
                    };
                    self.push(v);
                }
                b'J' => {
                    let i = self.i32()?;
                    self.push(Value::Int(i as i64));
                }
                b'K' => {
                    let i = self.u8()?;
                    self.push(Value::Int(i as i64));
                }
                b'M' => {
                    let i = self.u16()?;
                    self.push(Value::Int(i as i64));
                }
                b'L' => {
                    let i = self.parse_int_line()?;
                    let v = self.int_value(i);
                    self.push(v);
                }
                0x8a => {
                    let n = self.u8()? as u64;
                    let v = self.long_bytes(n)?;
                    self.push(v);
                }
                0x8b => {
                    let n = self.len_i32()?;
                    let v = self.long_bytes(n)?;
                    self.push(v);
                }
                b'F' => {
                    let l = self.line_str()?;
                    match parse_py_float(l.trim()) {
                        Some(f) => self.push(Value::Float(f)),
                        None => return self.err(format!("bad FLOAT argument {l:?}")),
                    }
                }
                b'G' => {
                    let f = f64::from_be_bytes(self.fixed()?);
                    self.push(Value::Float(f));
                }
                // --- strings and bytes ---
                b'S' => {
                    let l = self.line()?;
                    match unquote_py2_string(&l) {
                        Some(b) => self.push(Value::Bytes(ByteBuf::owned(b))),
                        None => return self.err("bad STRING argument (not a quoted literal)"),
                    }
                }
                b'T' => {
                    let n = self.len_i32()?;
                    let b = self.view(n)?;
                    self.push(Value::Bytes(b));
                }
                b'U' => {
                    let n = self.u8()? as u64;
                    let b = self.view(n)?;
                    self.push(Value::Bytes(b));
                }
                b'V' => {
                    let l = self.line()?;
                    match raw_unicode_escape(&l) {
                        Some(s) => self.push(Value::Str(Rc::from(s))),
                        None => return self.err("bad UNICODE argument"),
                    }
                }
                b'X' => {
                    let n = self.u32()? as u64;
                    let v = self.utf8(n)?;
                    self.push(v);
                }
                0x8c => {
                    let n = self.u8()? as u64;
                    let v = self.utf8(n)?;
                    self.push(v);
                }
                0x8d => {
                    let n = self.u64()?;
                    let v = self.utf8(n)?;
                    self.push(v);
                }
                b'B' => {
                    let n = self.u32()? as u64;
                    let b = self.view(n)?;
                    self.push(Value::Bytes(b));
                }
                b'C' => {
                    let n = self.u8()? as u64;
                    let b = self.view(n)?;
                    self.push(Value::Bytes(b));
                }
                0x8e | 0x96 => {
                    let n = self.u64()?;
                    let b = self.view(n)?;
                    self.push(Value::Bytes(b));
                }
                // --- containers ---
                b')' => self.push(tuple(Vec::new())),
                b't' => {
                    let items = self.pop_mark()?;
                    self.push(tuple(items));
                }
                0x85..=0x87 => {
                    let n = (op - 0x84) as usize;
                    if self.stack.len() < self.floor() + n {
                        return self.err("stack underflow");
                    }
                    let items = self.stack.split_off(self.stack.len() - n);
                    self.push(tuple(items));
                }
                b']' => self.push(Value::List(Rc::new(RefCell::new(Vec::new())))),
                b'l' => {
                    let items = self.pop_mark()?;
                    self.push(Value::List(Rc::new(RefCell::new(items))));
                }
                b'a' => {
                    let v = self.pop()?;
                    self.append_items(vec![v])?;
                }
                b'e' => {
                    let items = self.pop_mark()?;
                    self.append_items(items)?;
                }
                b'}' => self.push(Value::Dict(Rc::new(RefCell::new(Vec::new())))),
                b'd' => {
                    let items = self.pop_mark()?;
                    if !items.len().is_multiple_of(2) {
                        return self.err("odd number of items for DICT");
                    }
                    let mut d = Vec::with_capacity(items.len() / 2);
                    let mut it = items.into_iter();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        dict_insert(&mut d, k, v);
                    }
                    self.push(Value::Dict(Rc::new(RefCell::new(d))));
                }
                b's' => {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    self.set_items(vec![k, v])?;
                }
                b'u' => {
                    let items = self.pop_mark()?;
                    self.set_items(items)?;
                }
                0x8f => self.push(Value::Set(Rc::new(RefCell::new(Vec::new())))),
                0x90 => {
                    let items = self.pop_mark()?;
                    match &self.top()?.clone() {
                        Value::Set(s) => s.borrow_mut().extend(items),
                        other => return self.err(format!("ADDITEMS on a {}", other.kind_name())),
                    }
                }
                0x91 => {
                    let items = self.pop_mark()?;
                    self.push(Value::Set(Rc::new(RefCell::new(items))));
                }
                // --- globals and objects (symbolic) ---
                b'c' => {
                    let module = self.line_str()?;
                    let name = self.line_str()?;
                    let g = self.global(module, name);
                    self.push(g);
                }
                0x93 => {
                    let name = self.pop()?;
                    let module = self.pop()?;
                    match (&module, &name) {
                        (Value::Str(m), Value::Str(n)) => {
                            let g = self.global(m.to_string(), n.to_string());
                            self.push(g);
                        }
                        _ => return self.err("STACK_GLOBAL needs two str"),
                    }
                }
                b'R' => {
                    let args = self.pop()?;
                    let callable = self.pop()?;
                    self.push(object(ObjectKind::Reduce { callable, args }));
                }
                0x81 => {
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    self.push(object(ObjectKind::NewObj {
                        cls,
                        args,
                        kwargs: None,
                    }));
                }
                0x92 => {
                    let kwargs = self.pop()?;
                    let args = self.pop()?;
                    let cls = self.pop()?;
                    self.push(object(ObjectKind::NewObj {
                        cls,
                        args,
                        kwargs: Some(kwargs),
                    }));
                }
                b'i' => {
                    let module = self.line_str()?;
                    let name = self.line_str()?;
                    let args = self.pop_mark()?;
                    let callable = self.global(module, name);
                    self.push(object(ObjectKind::Reduce {
                        callable,
                        args: tuple(args),
                    }));
                }
                b'o' => {
                    let mut items = self.pop_mark()?;
                    if items.is_empty() {
                        return self.err("OBJ without a class");
                    }
                    let callable = items.remove(0);
                    self.push(object(ObjectKind::Reduce {
                        callable,
                        args: tuple(items),
                    }));
                }
                b'b' => {
                    let state = self.pop()?;
                    match self.top()? {
                        Value::Object(o) => {
                            *o.state.borrow_mut() = Some(state);
                        }
                        other => {
                            return self.err(format!("BUILD on a {}", other.kind_name()));
                        }
                    }
                }
                // --- memo ---
                b'p' => {
                    let l = self.line_str()?;
                    match l.trim().parse::<u64>() {
                        Ok(i) => self.memo_put(i)?,
                        Err(_) => return self.err(format!("bad PUT index {l:?}")),
                    }
                }
                b'q' => {
                    let i = self.u8()? as u64;
                    self.memo_put(i)?;
                }
                b'r' => {
                    let i = self.u32()? as u64;
                    self.memo_put(i)?;
                }
                0x94 => {
                    let i = self.memo.len() as u64;
                    self.memo_put(i)?;
                }
                b'g' => {
                    let l = self.line_str()?;
                    match l.trim().parse::<u64>() {
                        Ok(i) => {
                            let v = self.memo_get(i)?;
                            self.push(v);
                        }
                        Err(_) => return self.err(format!("bad GET index {l:?}")),
                    }
                }
                b'h' => {
                    let i = self.u8()? as u64;
                    let v = self.memo_get(i)?;
                    self.push(v);
                }
                b'j' => {
                    let i = self.u32()? as u64;
                    let v = self.memo_get(i)?;
                    self.push(v);
                }
                // --- unsupported ---
                b'P' | b'Q' => return self.err("persistent IDs are not supported"),
                0x82..=0x84 => return self.err("extension registry codes are not supported"),
                0x97 | 0x98 => return self.err("out-of-band buffers are not supported"),
                other => {
                    return self.err(format!(
                        "unknown opcode 0x{other:02x}{}",
                        if other.is_ascii_graphic() {
                            format!(" ({:?})", other as char)
                        } else {
                            String::new()
                        }
                    ))
                }
            }
        }
    }
}

/// Dict assignment. Keys are not deduplicated (that would be quadratic on hostile input, and
/// Python never writes a dict with repeated keys); [`Value::dict_get`] returns the last entry
/// for a key, which is what Python's dict would hold.
fn dict_insert(d: &mut Vec<(Value, Value)>, k: Value, v: Value) {
    d.push((k, v));
}

/// Python `float()` text: also `inf`, `-inf`, `nan`.
fn parse_py_float(s: &str) -> Option<f64> {
    match s {
        "inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        "nan" => Some(f64::NAN),
        _ => s.parse().ok(),
    }
}

/// A protocol-0 `STRING` argument: a Python-2 quoted literal (`'...'` or `"..."`) with
/// backslash escapes, decoded to bytes.
fn unquote_py2_string(l: &[u8]) -> Option<Vec<u8>> {
    let l = l.strip_suffix(b"\r").unwrap_or(l);
    if l.len() < 2 {
        return None;
    }
    let q = l[0];
    if (q != b'\'' && q != b'"') || l[l.len() - 1] != q {
        return None;
    }
    let body = &l[1..l.len() - 1];
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let c = body[i];
        i += 1;
        if c != b'\\' {
            out.push(c);
            continue;
        }
        let e = *body.get(i)?;
        i += 1;
        match e {
            b'\\' => out.push(b'\\'),
            b'\'' => out.push(b'\''),
            b'"' => out.push(b'"'),
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'a' => out.push(7),
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'v' => out.push(11),
            b'\n' => {}
            b'x' => {
                let h = body.get(i..i + 2)?;
                out.push(u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()?);
                i += 2;
            }
            b'0'..=b'7' => {
                let mut v = (e - b'0') as u32;
                let mut k = 0;
                while k < 2 && i < body.len() && (b'0'..=b'7').contains(&body[i]) {
                    v = v * 8 + (body[i] - b'0') as u32;
                    i += 1;
                    k += 1;
                }
                out.push((v & 0xff) as u8);
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    Some(out)
}

/// Python's `raw-unicode-escape` decoding (protocol-0 `UNICODE`): `\uXXXX` and `\UXXXXXXXX`
/// escapes; every other byte is a latin1 character.
fn raw_unicode_escape(l: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(l.len());
    let mut i = 0;
    while i < l.len() {
        let c = l[i];
        if c == b'\\' && i + 1 < l.len() && (l[i + 1] == b'u' || l[i + 1] == b'U') {
            let n = if l[i + 1] == b'u' { 4 } else { 8 };
            let h = l.get(i + 2..i + 2 + n)?;
            let cp = u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()?;
            out.push(char::from_u32(cp)?);
            i += 2 + n;
        } else {
            out.push(c as char);
            i += 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(b: &[u8]) -> Result<Value, PickleError> {
        loads(Rc::new(b.to_vec()))
    }

    #[test]
    fn protocol2_dict_of_list_and_memo_sharing() {
        // pickle.dumps({'a': [1, 2.5, None, True], 'b': b'xy'}, protocol=2) as written by
        // CPython (bytes via _codecs.encode)
        let p = b"\x80\x02}q\x00(X\x01\x00\x00\x00aq\x01]q\x02(K\x01G@\x04\x00\x00\x00\x00\x00\x00N\x88eX\x01\x00\x00\x00bq\x03h\x02u.";
        let v = load(p).unwrap();
        let a = v.dict_get("a").unwrap().items().unwrap();
        assert_eq!(a.len(), 4);
        assert_eq!(a[0].as_i64(), Some(1));
        assert_eq!(a[1].as_f64(), Some(2.5));
        assert!(matches!(a[2], Value::None));
        assert_eq!(a[3].as_bool(), Some(true));
        // 'b' refers to the same list through the memo and sees the appended items.
        assert_eq!(v.dict_get("b").unwrap().items().unwrap().len(), 4);
    }

    #[test]
    fn protocol0_text_opcodes() {
        // pickle.dumps({'k': (1, 2**70, 'é', 1.5)}, protocol=0) in Python 3
        let p = b"(dp0\nVk\np1\n(I1\nL1180591620717411303424L\nV\\u00e9\np2\nF1.5\ntp3\ns.";
        let v = load(p).unwrap();
        let t = v.dict_get("k").unwrap().items().unwrap();
        assert_eq!(t[0].as_i64(), Some(1));
        assert!(matches!(t[1], Value::BigInt(x) if x == 1i128 << 70));
        assert_eq!(t[2].as_text().as_deref(), Some("é"));
        assert_eq!(t[3].as_f64(), Some(1.5));
    }

    #[test]
    fn py2_string_and_long1() {
        // Python 2: pickle.dumps(('ab', -300L), 2) -> SHORT_BINSTRING and LONG1
        let p = b"\x80\x02U\x02abq\x00\x8a\x02\xd4\xfe\x86q\x01.";
        let v = load(p).unwrap();
        let t = v.items().unwrap();
        assert!(matches!(&t[0], Value::Bytes(b) if b.as_slice() == b"ab"));
        assert_eq!(t[1].as_i64(), Some(-300));
        let s = load(b"S'a\\'b\\x41\\n'\np0\n.").unwrap();
        assert!(matches!(&s, Value::Bytes(b) if b.as_slice() == b"a'bA\n"));
    }

    #[test]
    fn globals_reduce_build_are_symbolic() {
        let p = b"\x80\x04\x8c\x01m\x94\x8c\x01f\x94\x93K\x01\x85R\x94}b0h\x02.";
        let v = load(p).unwrap();
        let o = v.object_of(&["m"], "f").unwrap();
        assert!(o.is_reduce());
        assert!(matches!(o.state(), Some(Value::Dict(_))));
    }

    #[test]
    fn errors_carry_offsets_and_never_panic() {
        let e = load(b"\x80\x04K").unwrap_err();
        assert!(e.reason.contains("unexpected end of data"), "{e}");
        assert_eq!(e.offset, 2);
        let e = load(b"\x80\x04\xff").unwrap_err();
        assert!(e.reason.contains("unknown opcode 0xff"), "{e}");
        let e = load(b"\x80\x04a.").unwrap_err();
        assert!(e.reason.contains("underflow"), "{e}");
        let e = load(b"\x80\x04h\x05.").unwrap_err();
        assert!(e.reason.contains("memo index 5"), "{e}");
        // Huge length fields are refused before allocating.
        let e = load(b"\x80\x04\x8e\xff\xff\xff\xff\xff\xff\xff\x7f").unwrap_err();
        assert!(e.reason.contains("unexpected end of data"), "{e}");
        let e = load(b"\x80\x04\x95\xff\xff\xff\xff\x00\x00\x00\x00N.").unwrap_err();
        assert!(e.reason.contains("frame"), "{e}");
        let e = load(b"(N").unwrap_err();
        assert!(e.reason.contains("no STOP"), "{e}");
        let e = load(b"\x80\x06N.").unwrap_err();
        assert!(e.reason.contains("protocol 6"), "{e}");
        // Underflow across a MARK boundary, as Python reports it.
        let e = load(b"N(0a.").unwrap_err();
        assert!(
            e.reason.contains("underflow") || e.reason.contains("MARK"),
            "{e}"
        );
    }

    #[test]
    fn deep_nesting_does_not_overflow_the_stack() {
        // 1,000,000 nested 1-tuples and 300,000 nested lists/dicts/objects.
        let mut p = b"\x80\x04N".to_vec();
        p.extend(std::iter::repeat_n(0x85u8, 1_000_000));
        p.push(b'.');
        let v = load(&p).unwrap();
        assert!(matches!(v, Value::Tuple(_)));
        drop(v);
        let mut p = b"\x80\x04".to_vec();
        p.extend(std::iter::repeat_n(b'(', 100_000));
        p.push(b'N');
        for i in 0..100_000 {
            p.push(b'l');
            if i % 3 == 0 {
                p.extend_from_slice(b"}\x94\x8c\x01k\x94h\x00s");
            }
        }
        p.push(b'.');
        let _ = load(&p);
        let mut p = b"\x80\x04\x8c\x01m\x8c\x01f\x93".to_vec();
        p.extend_from_slice(b"N");
        for _ in 0..100_000 {
            p.extend_from_slice(b"\x85R");
        }
        p.push(b'.');
        let _ = load(&p);
    }

    #[test]
    fn fuzz_prefixes_and_byte_flips_do_not_panic() {
        let p = b"\x80\x04\x95\x1e\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x01a\x94]\x94(K\x01G@\x04\x00\x00\x00\x00\x00\x00e\x8c\x01b\x94h\x02u.";
        assert!(load(p).is_ok());
        for cut in 0..p.len() {
            let _ = load(&p[..cut]);
        }
        for i in 0..p.len() {
            for x in [0u8, 0x28, 0x2e, 0x61, 0x68, 0x80, 0x94, 0xff] {
                let mut q = p.to_vec();
                q[i] = x;
                let _ = load(&q);
            }
        }
    }
}
