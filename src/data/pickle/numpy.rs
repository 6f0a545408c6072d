//! Numpy arrays and scalars inside an unpickled [`Value`] tree, turned into [`NdArray`].
//!
//! What numpy writes (numpy 1.x names its module `numpy.core`, numpy 2 `numpy._core`):
//! * an array: `REDUCE(multiarray._reconstruct, (numpy.ndarray, (0,), b'b'))` then `BUILD`
//!   with `(version, shape, dtype, is_fortran, data)` (older: without `version`);
//! * a dtype: `REDUCE(numpy.dtype, ('f8', False, True))` then `BUILD` with
//!   `(3, '<', None, None, None, -1, -1, 0)` — the byte order is the second item;
//! * raw data: `bytes`, a latin1-decoded `str` (Python-2 pickles loaded with
//!   `encoding='latin1'`), `REDUCE(_codecs.encode, (str, 'latin1'))` (Python 3, protocol 2),
//!   or a list of objects for dtype `O`;
//! * a scalar: `REDUCE(multiarray.scalar, (dtype, bytes))`;
//! * protocol 5: `REDUCE(numeric._frombuffer, (buffer, dtype, shape, order))`.
//!
//! May depend on: std and [`super::value`].

use std::borrow::Cow;

use super::value::Value;

const MULTIARRAY: [&str; 2] = ["numpy.core.multiarray", "numpy._core.multiarray"];
const NUMERIC: [&str; 2] = ["numpy.core.numeric", "numpy._core.numeric"];

/// The element data of an array, in C (row-major) order.
#[derive(Clone, Debug)]
pub enum ArrayData {
    F64(Vec<f64>),
    F32(Vec<f32>),
    I64(Vec<i64>),
    I32(Vec<i32>),
    I16(Vec<i16>),
    I8(Vec<i8>),
    U8(Vec<u8>),
    Bool(Vec<bool>),
    /// dtype `O`: the pickled Python objects.
    Object(Vec<Value>),
}

/// A numpy array read from a pickle (always C order).
#[derive(Clone, Debug)]
pub struct NdArray {
    pub shape: Vec<usize>,
    pub data: ArrayData,
    /// The numpy dtype string, e.g. `<f8` (for messages).
    pub dtype: String,
}

impl NdArray {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match &self.data {
            ArrayData::F64(v) => v.len(),
            ArrayData::F32(v) => v.len(),
            ArrayData::I64(v) => v.len(),
            ArrayData::I32(v) => v.len(),
            ArrayData::I16(v) => v.len(),
            ArrayData::I8(v) => v.len(),
            ArrayData::U8(v) => v.len(),
            ArrayData::Bool(v) => v.len(),
            ArrayData::Object(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True for float dtypes.
    pub fn is_float(&self) -> bool {
        matches!(self.data, ArrayData::F64(_) | ArrayData::F32(_))
    }

    /// True for integer and bool dtypes.
    pub fn is_integer(&self) -> bool {
        matches!(
            self.data,
            ArrayData::I64(_)
                | ArrayData::I32(_)
                | ArrayData::I16(_)
                | ArrayData::I8(_)
                | ArrayData::U8(_)
                | ArrayData::Bool(_)
        )
    }

    /// All elements as f64 (any numeric dtype; object arrays of numbers too).
    pub fn as_f64_vec(&self) -> Result<Vec<f64>, String> {
        Ok(match &self.data {
            ArrayData::F64(v) => v.clone(),
            ArrayData::F32(v) => v.iter().map(|&x| x as f64).collect(),
            ArrayData::I64(v) => v.iter().map(|&x| x as f64).collect(),
            ArrayData::I32(v) => v.iter().map(|&x| x as f64).collect(),
            ArrayData::I16(v) => v.iter().map(|&x| x as f64).collect(),
            ArrayData::I8(v) => v.iter().map(|&x| x as f64).collect(),
            ArrayData::U8(v) => v.iter().map(|&x| x as f64).collect(),
            ArrayData::Bool(v) => v.iter().map(|&x| x as u8 as f64).collect(),
            ArrayData::Object(v) => v
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    x.as_f64().ok_or_else(|| {
                        format!(
                            "object array element {i} is a {}, not a number",
                            x.kind_name()
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        })
    }

    /// Elements of an object array as text (`str`, or Python-2 `str` bytes as latin1).
    pub fn as_strings(&self) -> Result<Vec<String>, String> {
        match &self.data {
            ArrayData::Object(v) => v
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    x.as_text().map(Cow::into_owned).ok_or_else(|| {
                        format!("object array element {i} is a {}, not a str", x.kind_name())
                    })
                })
                .collect(),
            _ => Err(format!(
                "expected an object array of str, found dtype {}",
                self.dtype
            )),
        }
    }
}

/// True when `v` looks like a pickled numpy array or scalar.
pub fn is_numpy(v: &Value) -> bool {
    v.object_of(&MULTIARRAY, "_reconstruct").is_some()
        || v.object_of(&MULTIARRAY, "scalar").is_some()
        || v.object_of(&NUMERIC, "_frombuffer").is_some()
}

/// Shape and dtype of a pickled numpy array, checked against the size of its data, without
/// decoding the elements.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArrayInfo {
    pub shape: Vec<usize>,
    pub dtype: DType,
    pub fortran: bool,
}

impl ArrayInfo {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The dtype string, e.g. `<f8`.
    pub fn dtype_name(&self) -> String {
        self.dtype.name()
    }
}

/// Shape, dtype and the data value of a pickled array, scalar or `_frombuffer` call.
fn parts(v: &Value) -> Result<(Vec<usize>, DType, bool, Value), String> {
    if let Some(o) = v.object_of(&MULTIARRAY, "_reconstruct") {
        let state = o
            .state()
            .ok_or("numpy array without BUILD state (truncated or not an ndarray)")?;
        let st = state
            .items()
            .ok_or_else(|| format!("numpy array state is a {}, not a tuple", state.kind_name()))?;
        // (version, shape, dtype, is_fortran, data) or, before version 1, without version.
        let st = match st.len() {
            5 => &st[1..],
            4 => &st[..],
            n => return Err(format!("numpy array state has {n} items, expected 4 or 5")),
        };
        let shape = shape_of(&st[0])?;
        let dtype = dtype_of(&st[1])?;
        let fortran = st[2]
            .as_bool()
            .ok_or("numpy array state: is_fortran is not a bool")?;
        return Ok((shape, dtype, fortran, st[3].clone()));
    }
    if let Some(o) = v.object_of(&MULTIARRAY, "scalar") {
        let args = o
            .args()
            .items()
            .ok_or("numpy scalar arguments are not a tuple")?;
        if args.len() != 2 {
            return Err(format!(
                "numpy scalar has {} arguments, expected 2",
                args.len()
            ));
        }
        let dtype = dtype_of(&args[0])?;
        return Ok((Vec::new(), dtype, false, args[1].clone()));
    }
    if let Some(o) = v.object_of(&NUMERIC, "_frombuffer") {
        let args = o
            .args()
            .items()
            .ok_or("numpy _frombuffer arguments are not a tuple")?;
        if args.len() != 4 {
            return Err(format!(
                "numpy _frombuffer has {} arguments, expected 4",
                args.len()
            ));
        }
        let dtype = dtype_of(&args[1])?;
        let shape = shape_of(&args[2])?;
        let fortran = args[3].as_text().is_some_and(|o| o == "F");
        return Ok((shape, dtype, fortran, args[0].clone()));
    }
    Err(format!("expected a numpy array, found {}", v.describe(2)))
}

fn element_count(shape: &[usize]) -> Result<usize, String> {
    shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| "numpy shape overflows".to_string())
}

/// Shape and dtype of a pickled numpy array (or scalar), with the data size checked, without
/// decoding the elements.
pub fn array_info(v: &Value) -> Result<ArrayInfo, String> {
    let (shape, dtype, fortran, data) = parts(v)?;
    let n = element_count(&shape)?;
    if dtype.kind == 'O' {
        let len = data.items().map(|i| i.len());
        if len != Some(n) {
            return Err(format!(
                "object array of shape {shape:?} has data {}",
                data.describe(0)
            ));
        }
    } else {
        let want = n
            .checked_mul(dtype.itemsize)
            .ok_or("numpy array size overflows")?;
        let got = raw_bytes(&data)?.len();
        if got != want {
            return Err(format!(
                "numpy array of shape {shape:?} and dtype {} needs {want} bytes, found {got}",
                dtype.name()
            ));
        }
    }
    Ok(ArrayInfo {
        shape,
        dtype,
        fortran,
    })
}

/// Converts a pickled numpy array (or scalar, shape `[]`) to an [`NdArray`].
pub fn to_ndarray(v: &Value) -> Result<NdArray, String> {
    let (shape, dtype, fortran, data) = parts(v)?;
    let arr = decode(&dtype, shape, &data)?;
    Ok(if fortran { to_c_order(arr) } else { arr })
}

fn shape_of(v: &Value) -> Result<Vec<usize>, String> {
    let items = v
        .items()
        .ok_or_else(|| format!("numpy shape is a {}, not a tuple", v.kind_name()))?;
    items
        .iter()
        .map(|d| {
            d.as_i64()
                .and_then(|d| usize::try_from(d).ok())
                .ok_or_else(|| format!("bad numpy dimension {}", d.describe(0)))
        })
        .collect()
}

/// A numpy dtype: kind (`f`, `i`, `u`, `b`, `O`), item size in bytes, byte order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DType {
    pub kind: char,
    pub itemsize: usize,
    pub big_endian: bool,
}

impl DType {
    /// The dtype string, e.g. `<f8`, `|u1`.
    pub fn name(&self) -> String {
        let order = match (self.kind, self.itemsize) {
            ('O', _) | (_, 1) => '|',
            _ if self.big_endian => '>',
            _ => '<',
        };
        format!("{order}{}{}", self.kind, self.itemsize)
    }
}

/// Reads a pickled `numpy.dtype(...)` object.
pub fn dtype_of(v: &Value) -> Result<DType, String> {
    let o = v
        .object_of(&["numpy"], "dtype")
        .ok_or_else(|| format!("expected a numpy dtype, found {}", v.describe(1)))?;
    let args = o
        .args()
        .items()
        .ok_or("numpy dtype arguments are not a tuple")?;
    let name = args
        .first()
        .and_then(Value::as_text)
        .ok_or("numpy dtype without a type name")?
        .into_owned();
    let mut order: Option<char> = None;
    if let Some(state) = o.state() {
        let st = state.items().ok_or("numpy dtype state is not a tuple")?;
        if let Some(bo) = st.get(1).and_then(Value::as_text) {
            order = bo.chars().next();
        }
        // Structured dtypes have field names at index 3.
        if st.len() >= 5 && !matches!(st[3], Value::None) {
            return Err(format!("structured numpy dtype {name:?} is not supported"));
        }
    }
    let mut chars = name.chars().peekable();
    if let Some(&c) = chars.peek() {
        if matches!(c, '<' | '>' | '|' | '=') {
            order.get_or_insert(c);
            chars.next();
        }
    }
    let kind = chars.next().ok_or("empty numpy dtype name")?;
    let size: String = chars.collect();
    let itemsize: usize = size
        .parse()
        .map_err(|_| format!("unsupported numpy dtype {name:?}"))?;
    let big_endian = match order.unwrap_or('=') {
        '>' => true,
        '<' | '|' => false,
        '=' => cfg!(target_endian = "big"),
        c => return Err(format!("unknown numpy byte order {c:?}")),
    };
    let ok = matches!(
        (kind, itemsize),
        ('f', 4 | 8) | ('i', 1 | 2 | 4 | 8) | ('u', 1 | 2 | 4) | ('b', 1) | ('O', 4 | 8)
    );
    if !ok {
        return Err(format!("unsupported numpy dtype {name:?}"));
    }
    Ok(DType {
        kind,
        itemsize,
        big_endian,
    })
}

/// The raw bytes of array data in any of the forms numpy pickles use.
fn raw_bytes(v: &Value) -> Result<Cow<'_, [u8]>, String> {
    match v {
        Value::Bytes(b) => Ok(Cow::Borrowed(b.as_slice())),
        Value::Str(s) => latin1(s).map(Cow::Owned),
        _ => {
            if let Some(o) = v.object_of(&["_codecs"], "encode") {
                let args = o
                    .args()
                    .items()
                    .ok_or("_codecs.encode arguments are not a tuple")?;
                let enc = args.get(1).and_then(Value::as_text);
                if !matches!(enc.as_deref(), Some("latin1") | Some("latin-1")) {
                    return Err(format!(
                        "_codecs.encode with encoding {enc:?}, expected latin1"
                    ));
                }
                return match args.first() {
                    Some(Value::Str(s)) => latin1(s).map(Cow::Owned),
                    _ => Err("_codecs.encode of something that is not a str".into()),
                };
            }
            Err(format!(
                "numpy array data is a {}, not bytes",
                v.describe(1)
            ))
        }
    }
}

fn latin1(s: &str) -> Result<Vec<u8>, String> {
    s.chars()
        .map(|c| u8::try_from(c as u32).map_err(|_| format!("character {c:?} is not latin1")))
        .collect()
}

fn decode(dtype: &DType, shape: Vec<usize>, data: &Value) -> Result<NdArray, String> {
    let n = element_count(&shape)?;
    let name = dtype.name();
    if dtype.kind == 'O' {
        let items = data
            .items()
            .ok_or_else(|| format!("object array data is a {}, not a list", data.kind_name()))?;
        if items.len() != n {
            return Err(format!(
                "object array of shape {shape:?} has {} items",
                items.len()
            ));
        }
        return Ok(NdArray {
            shape,
            data: ArrayData::Object(items),
            dtype: name,
        });
    }
    let raw = raw_bytes(data)?;
    let want = n
        .checked_mul(dtype.itemsize)
        .ok_or("numpy array size overflows")?;
    if raw.len() != want {
        return Err(format!(
            "numpy array of shape {shape:?} and dtype {name} needs {want} bytes, found {}",
            raw.len()
        ));
    }
    let be = dtype.big_endian;
    macro_rules! conv {
        ($t:ty, $w:expr) => {
            raw.chunks_exact($w)
                .map(|c| {
                    let mut a = [0u8; $w];
                    a.copy_from_slice(c);
                    if be {
                        <$t>::from_be_bytes(a)
                    } else {
                        <$t>::from_le_bytes(a)
                    }
                })
                .collect::<Vec<$t>>()
        };
    }
    let data = match (dtype.kind, dtype.itemsize) {
        ('f', 8) => ArrayData::F64(conv!(f64, 8)),
        ('f', 4) => ArrayData::F32(conv!(f32, 4)),
        ('i', 8) => ArrayData::I64(conv!(i64, 8)),
        ('i', 4) => ArrayData::I32(conv!(i32, 4)),
        ('i', 2) => ArrayData::I16(conv!(i16, 2)),
        ('i', 1) => ArrayData::I8(raw.iter().map(|&b| b as i8).collect()),
        ('u', 1) => ArrayData::U8(raw.to_vec()),
        ('u', 2) => ArrayData::I32(conv!(u16, 2).into_iter().map(i32::from).collect()),
        ('u', 4) => ArrayData::I64(conv!(u32, 4).into_iter().map(i64::from).collect()),
        ('b', 1) => ArrayData::Bool(raw.iter().map(|&b| b != 0).collect()),
        _ => return Err(format!("unsupported numpy dtype {name}")),
    };
    Ok(NdArray {
        shape,
        data,
        dtype: name,
    })
}

/// Reorders Fortran-order (column-major) data to C order.
fn to_c_order(arr: NdArray) -> NdArray {
    if arr.shape.len() < 2 {
        return arr;
    }
    let shape = arr.shape.clone();
    // Fortran strides (in elements) for each axis.
    let mut fstride = vec![1usize; shape.len()];
    for k in 1..shape.len() {
        fstride[k] = fstride[k - 1] * shape[k - 1];
    }
    let n: usize = shape.iter().product();
    let mut perm = Vec::with_capacity(n);
    let mut idx = vec![0usize; shape.len()];
    for _ in 0..n {
        perm.push(idx.iter().zip(&fstride).map(|(i, s)| i * s).sum::<usize>());
        // Increment the C-order multi-index (last axis fastest).
        for k in (0..shape.len()).rev() {
            idx[k] += 1;
            if idx[k] < shape[k] {
                break;
            }
            idx[k] = 0;
        }
    }
    fn gather<T: Clone>(v: &[T], perm: &[usize]) -> Vec<T> {
        perm.iter().map(|&i| v[i].clone()).collect()
    }
    let data = match &arr.data {
        ArrayData::F64(v) => ArrayData::F64(gather(v, &perm)),
        ArrayData::F32(v) => ArrayData::F32(gather(v, &perm)),
        ArrayData::I64(v) => ArrayData::I64(gather(v, &perm)),
        ArrayData::I32(v) => ArrayData::I32(gather(v, &perm)),
        ArrayData::I16(v) => ArrayData::I16(gather(v, &perm)),
        ArrayData::I8(v) => ArrayData::I8(gather(v, &perm)),
        ArrayData::U8(v) => ArrayData::U8(gather(v, &perm)),
        ArrayData::Bool(v) => ArrayData::Bool(gather(v, &perm)),
        ArrayData::Object(v) => ArrayData::Object(gather(v, &perm)),
    };
    NdArray {
        shape,
        data,
        dtype: arr.dtype,
    }
}

#[cfg(test)]
mod tests {
    use super::super::vm::loads;
    use super::*;
    use std::rc::Rc;

    fn load(b: &[u8]) -> Value {
        loads(Rc::new(b.to_vec())).unwrap()
    }

    // The byte strings below were written by numpy 2.4 / CPython 3.11:
    //   pickle.dumps(np.array([[1., 2., 3.], [4., 5., 6.]], order='F'), protocol=4)
    const F_ORDER_P4: &[u8] = b"\x80\x04\x95\xbb\x00\x00\x00\x00\x00\x00\x00\x8c\x16numpy._core.multiarray\x94\x8c\x0c_reconstruct\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94K\x00\x85\x94C\x01b\x94\x87\x94R\x94(K\x01K\x02K\x03\x86\x94h\x03\x8c\x05dtype\x94\x93\x94\x8c\x02f8\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x88C0\x00\x00\x00\x00\x00\x00\xf0?\x00\x00\x00\x00\x00\x00\x10@\x00\x00\x00\x00\x00\x00\x00@\x00\x00\x00\x00\x00\x00\x14@\x00\x00\x00\x00\x00\x00\x08@\x00\x00\x00\x00\x00\x00\x18@\x94t\x94b.";

    #[test]
    fn fortran_order_becomes_c_order() {
        let a = to_ndarray(&load(F_ORDER_P4)).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(a.as_f64_vec().unwrap(), vec![1., 2., 3., 4., 5., 6.]);
        assert_eq!(a.dtype, "<f8");
    }

    //   pickle.dumps(np.array([1, -2, 3], dtype='>i2'), protocol=2)  (bytes via _codecs)
    const BIG_ENDIAN_P2: &[u8] = b"\x80\x02cnumpy._core.multiarray\x0a_reconstruct\x0aq\x00cnumpy\x0andarray\x0aq\x01K\x00\x85q\x02c_codecs\x0aencode\x0aq\x03X\x01\x00\x00\x00bq\x04X\x06\x00\x00\x00latin1q\x05\x86q\x06Rq\x07\x87q\x08Rq\x09(K\x01K\x03\x85q\x0acnumpy\x0adtype\x0aq\x0bX\x02\x00\x00\x00i2q\x0c\x89\x88\x87q\x0dRq\x0e(K\x03X\x01\x00\x00\x00>q\x0fNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x10b\x89h\x03X\x08\x00\x00\x00\x00\x01\xc3\xbf\xc3\xbe\x00\x03q\x11h\x05\x86q\x12Rq\x13tq\x14b.";

    #[test]
    fn big_endian_and_codecs_encode_bytes() {
        let a = to_ndarray(&load(BIG_ENDIAN_P2)).unwrap();
        assert_eq!(a.shape, vec![3]);
        assert!(matches!(&a.data, ArrayData::I16(v) if v == &vec![1, -2, 3]));
    }

    //   pickle.dumps(np.float32(2.5), protocol=4)
    const SCALAR_P4: &[u8] = b"\x80\x04\x95f\x00\x00\x00\x00\x00\x00\x00\x8c\x16numpy._core.multiarray\x94\x8c\x06scalar\x94\x93\x94\x8c\x05numpy\x94\x8c\x05dtype\x94\x93\x94\x8c\x02f4\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94bC\x04\x00\x00 @\x94\x86\x94R\x94.";

    #[test]
    fn numpy_scalar() {
        let a = to_ndarray(&load(SCALAR_P4)).unwrap();
        assert!(a.shape.is_empty());
        assert_eq!(a.as_f64_vec().unwrap(), vec![2.5]);
    }

    #[test]
    fn wrong_sizes_are_errors() {
        // Same F-order array with the shape patched to (2, 4): 48 bytes cannot fill 8 f8.
        let mut p = F_ORDER_P4.to_vec();
        let i = p
            .windows(6)
            .position(|w| w == b"K\x02K\x03\x86\x94")
            .unwrap();
        p[i + 3] = 4;
        let e = to_ndarray(&load(&p)).unwrap_err();
        assert!(e.contains("needs 64 bytes, found 48"), "{e}");
        let e = array_info(&load(&p)).unwrap_err();
        assert!(e.contains("needs 64 bytes, found 48"), "{e}");
        let info = array_info(&load(F_ORDER_P4)).unwrap();
        assert_eq!(
            (info.dtype_name(), info.shape, info.fortran),
            ("<f8".to_string(), vec![2, 3], true)
        );
        let e = to_ndarray(&Value::Int(3)).unwrap_err();
        assert!(e.contains("expected a numpy array"), "{e}");
    }
}
