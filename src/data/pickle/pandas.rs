//! A pandas `DataFrame` inside an unpickled [`Value`] tree, as pandas 1.4–3.x pickle it:
//!
//! ```text
//! NEWOBJ(pandas[.core.frame].DataFrame) + BUILD {'_mgr': mgr, ...}
//! mgr     = REDUCE(BlockManager, ((block, ...), [columns_index, row_index]))
//! block   = REDUCE(pandas._libs.internals._unpickle_block,
//!                  (values ndarray (ncols_in_block, nrows), placement, ndim))
//! placement = REDUCE(builtins.slice, (start, stop, step)) | int ndarray
//! columns = REDUCE(pandas.core.indexes.base._new_Index, (Index, {'data': object ndarray, ...}))
//!           (pandas 3: 'data' is a StringArray wrapping the object ndarray)
//! rows    = REDUCE(_new_Index, (RangeIndex, {'start', 'stop', 'step', 'name'}))
//! ```
//!
//! Only numeric columns are supported; they all become f64. Anything else is an error that
//! says what was found.
//!
//! May depend on: std, [`super::value`], [`super::numpy`].

use super::numpy::{is_numpy, to_ndarray, NdArray};
use super::value::Value;

/// A numeric DataFrame, column by column.
#[derive(Clone, Debug, PartialEq)]
pub struct DataFrame {
    pub columns: Vec<String>,
    /// One vector per column, in column order, each `nrows` long.
    pub data: Vec<Vec<f64>>,
    pub nrows: usize,
}

impl DataFrame {
    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&[f64]> {
        let i = self.columns.iter().position(|c| c == name)?;
        self.data.get(i).map(Vec::as_slice)
    }
}

fn global_is(v: &Value, module_prefix: &str, name: &str) -> bool {
    v.as_global()
        .is_some_and(|(m, n)| n == name && m.starts_with(module_prefix))
}

/// True when `v` looks like a pickled DataFrame.
pub fn is_dataframe(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|o| global_is(o.callable(), "pandas", "DataFrame"))
}

/// Converts a pickled DataFrame with numeric columns.
pub fn to_dataframe(v: &Value) -> Result<DataFrame, String> {
    let o = v
        .as_object()
        .filter(|o| global_is(o.callable(), "pandas", "DataFrame"))
        .ok_or_else(|| format!("expected a pandas DataFrame, found {}", v.describe(1)))?;
    let state = o.state().ok_or("DataFrame without state (BUILD missing)")?;
    let mgr = state
        .dict_get("_mgr")
        .or_else(|| state.dict_get("_data"))
        .ok_or_else(|| {
            format!(
                "DataFrame state has no '_mgr': {} (pandas older than 1.x is not supported)",
                state.describe(1)
            )
        })?;
    let mgr_o = mgr
        .as_object()
        .filter(|m| m.is_reduce() && global_is(m.callable(), "pandas", "BlockManager"))
        .ok_or_else(|| {
            format!(
                "DataFrame manager is {}, expected REDUCE(BlockManager, (blocks, axes))",
                mgr.describe(1)
            )
        })?;
    let args = mgr_o.args().items().unwrap_or_default();
    let (blocks, axes) = match args.as_slice() {
        [b, a] => (
            b.items().ok_or("BlockManager blocks are not a tuple")?,
            a.items().ok_or("BlockManager axes are not a list")?,
        ),
        _ => {
            return Err(format!(
                "BlockManager has {} arguments, expected 2",
                args.len()
            ))
        }
    };
    if axes.len() != 2 {
        return Err(format!("BlockManager has {} axes, expected 2", axes.len()));
    }
    let columns = index_labels(&axes[0]).map_err(|e| format!("column index: {e}"))?;
    let index_len = index_len(&axes[1]).map_err(|e| format!("row index: {e}"))?;

    let ncols = columns.len();
    let mut data: Vec<Option<Vec<f64>>> = vec![None; ncols];
    let mut nrows: Option<usize> = index_len;
    for (bi, b) in blocks.iter().enumerate() {
        let (values, placement) = block(b).map_err(|e| format!("block {bi}: {e}"))?;
        let (k, n) = match values.shape.as_slice() {
            [k, n] => (*k, *n),
            s => return Err(format!("block {bi}: values of shape {s:?}, expected 2-D")),
        };
        if *nrows.get_or_insert(n) != n {
            return Err(format!(
                "block {bi} has {n} rows, the frame has {}",
                nrows.unwrap_or(0)
            ));
        }
        let flat = values
            .as_f64_vec()
            .map_err(|e| format!("block {bi} (dtype {}): {e}", values.dtype))?;
        let cols = placement_indices(&placement, k).map_err(|e| format!("block {bi}: {e}"))?;
        for (j, &c) in cols.iter().enumerate() {
            let slot = data
                .get_mut(c)
                .ok_or_else(|| format!("block {bi} places a column at {c}, beyond {ncols}"))?;
            if slot.is_some() {
                return Err(format!("column {c} is placed twice"));
            }
            *slot = Some(flat[j * n..(j + 1) * n].to_vec());
        }
    }
    let nrows = nrows.unwrap_or(0);
    let data = data
        .into_iter()
        .enumerate()
        .map(|(i, c)| c.ok_or_else(|| format!("column {:?} is in no block", columns[i])))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(DataFrame {
        columns,
        data,
        nrows,
    })
}

/// `(values, placement)` of one `_unpickle_block` call.
fn block(b: &Value) -> Result<(NdArray, Value), String> {
    let o = b
        .as_object()
        .filter(|o| global_is(o.callable(), "pandas", "_unpickle_block"))
        .ok_or_else(|| format!("expected _unpickle_block(...), found {}", b.describe(1)))?;
    let args = o.args().items().unwrap_or_default();
    if args.len() < 2 {
        return Err(format!("_unpickle_block has {} arguments", args.len()));
    }
    if !is_numpy(&args[0]) {
        return Err(format!(
            "block values are {}, not a numpy array (extension dtypes are not supported)",
            args[0].describe(1)
        ));
    }
    Ok((to_ndarray(&args[0])?, args[1].clone()))
}

/// Column positions of a block placement (`slice` or int array) holding `k` columns.
fn placement_indices(p: &Value, k: usize) -> Result<Vec<usize>, String> {
    let idx: Vec<i64> = if let Some(o) = p.object_of(&["builtins", "__builtin__"], "slice") {
        let a = o.args().items().unwrap_or_default();
        let get = |i: usize| a.get(i).and_then(Value::as_i64);
        let start = get(0).unwrap_or(0);
        let step = get(2).unwrap_or(1);
        if step <= 0 || start < 0 {
            return Err(format!("unsupported placement {}", p.describe(2)));
        }
        (0..k as i64).map(|j| start + j * step).collect()
    } else if is_numpy(p) {
        to_ndarray(p)?
            .as_f64_vec()?
            .into_iter()
            .map(|x| x as i64)
            .collect()
    } else {
        return Err(format!("unsupported placement {}", p.describe(2)));
    };
    if idx.len() != k {
        return Err(format!(
            "placement has {} positions for {k} columns",
            idx.len()
        ));
    }
    idx.into_iter()
        .map(|i| usize::try_from(i).map_err(|_| format!("negative column position {i}")))
        .collect()
}

/// The `d` of `_new_Index(cls, d)`, with the class name.
fn new_index(v: &Value) -> Result<(String, Value), String> {
    let o = v
        .as_object()
        .filter(|o| global_is(o.callable(), "pandas", "_new_Index"))
        .ok_or_else(|| format!("expected _new_Index(...), found {}", v.describe(1)))?;
    let args = o.args().items().unwrap_or_default();
    match args.as_slice() {
        [cls, d] => {
            let name = cls
                .as_global()
                .map(|(_, n)| n.to_string())
                .unwrap_or_default();
            Ok((name, d.clone()))
        }
        _ => Err(format!("_new_Index has {} arguments", args.len())),
    }
}

/// The array behind an index's `data`: a numpy array, or (pandas 3) an extension array
/// that wraps one in its state.
fn index_array(data: &Value) -> Result<NdArray, String> {
    if is_numpy(data) {
        return to_ndarray(data);
    }
    if let Some(st) = data.as_object().and_then(|o| o.state()) {
        if let Some(inner) = st.items().and_then(|s| s.into_iter().find(is_numpy)) {
            return to_ndarray(&inner);
        }
    }
    Err(format!("index data is {}", data.describe(2)))
}

fn index_labels(v: &Value) -> Result<Vec<String>, String> {
    let (cls, d) = new_index(v)?;
    if cls == "RangeIndex" {
        let n = range_len(&d)?;
        return Ok((0..n).map(|i| i.to_string()).collect());
    }
    let data = d
        .dict_get("data")
        .ok_or_else(|| format!("{cls} without 'data'"))?;
    let arr = index_array(&data)?;
    match arr.as_strings() {
        Ok(s) => Ok(s),
        Err(_) => Ok(arr
            .as_f64_vec()?
            .into_iter()
            .map(|x| format!("{x}"))
            .collect()),
    }
}

fn range_len(d: &Value) -> Result<usize, String> {
    let get = |k: &str, def: i64| d.dict_get(k).and_then(|v| v.as_i64()).unwrap_or(def);
    let (start, stop, step) = (get("start", 0), get("stop", 0), get("step", 1));
    if step == 0 {
        return Err("RangeIndex with step 0".into());
    }
    let n = if step > 0 {
        (stop - start + step - 1).div_euclid(step)
    } else {
        (start - stop - step - 1).div_euclid(-step)
    };
    Ok(n.max(0) as usize)
}

/// Length of the row index, when it can be told without reading it.
fn index_len(v: &Value) -> Result<Option<usize>, String> {
    let (cls, d) = new_index(v)?;
    if cls == "RangeIndex" {
        return Ok(Some(range_len(&d)?));
    }
    match d.dict_get("data") {
        Some(data) => Ok(Some(index_array(&data)?.len())),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::super::vm::loads;
    use super::*;
    use std::rc::Rc;

    // Written by pandas 3.1.1 / numpy 2.4.6 (protocol 4):
    //   pd.DataFrame({'a': [1.0, 2.0], 'b': [3, 4], 'c': [5.0, 6.0]})
    // Two blocks (float placement slice(0, 4, 2), int slice(1, 2, 1)); StringArray columns.
    const DF_PANDAS3: &[u8] = b"\x80\x04\x95y\x03\x00\x00\x00\x00\x00\x00\x8c\x06pandas\x94\x8c\x09DataFrame\x94\x93\x94)\x81\x94}\x94(\x8c\x04_mgr\x94\x8c\x1epandas.core.internals.managers\x94\x8c\x0cBlockManager\x94\x93\x94\x8c\x16pandas._libs.internals\x94\x8c\x0f_unpickle_block\x94\x93\x94\x8c\x16numpy._core.multiarray\x94\x8c\x0c_reconstruct\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94K\x00\x85\x94C\x01b\x94\x87\x94R\x94(K\x01K\x02K\x02\x86\x94h\x0f\x8c\x05dtype\x94\x93\x94\x8c\x02f8\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x89C \x00\x00\x00\x00\x00\x00\xf0?\x00\x00\x00\x00\x00\x00\x00@\x00\x00\x00\x00\x00\x00\x14@\x00\x00\x00\x00\x00\x00\x18@\x94t\x94b\x8c\x08builtins\x94\x8c\x05slice\x94\x93\x94K\x00K\x04K\x02\x87\x94R\x94K\x02\x87\x94R\x94h\x0bh\x0eh\x11K\x00\x85\x94h\x13\x87\x94R\x94(K\x01K\x01K\x02\x86\x94h\x18\x8c\x02i8\x94\x89\x88\x87\x94R\x94(K\x03h\x1cNNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x89C\x10\x03\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x94t\x94bh\"K\x01K\x02K\x01\x87\x94R\x94K\x02\x87\x94R\x94\x86\x94]\x94(\x8c\x18pandas.core.indexes.base\x94\x8c\x0a_new_Index\x94\x93\x94h\x00\x8c\x05Index\x94\x93\x94}\x94(\x8c\x04data\x94\x8c\x13pandas._libs.arrays\x94\x8c\x1c__pyx_unpickle_NDArrayBacked\x94\x93\x94\x8c\x0dpandas.arrays\x94\x8c\x0bStringArray\x94\x93\x94J\x1f\x06\xf1\x04N\x87\x94R\x94h\x00\x8c\x0bStringDtype\x94\x93\x94\x8c\x06python\x94G\x7f\xf8\x00\x00\x00\x00\x00\x00\x86\x94R\x94h\x0eh\x11K\x00\x85\x94h\x13\x87\x94R\x94(K\x01K\x03\x85\x94h\x18\x8c\x02O8\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01|\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK?t\x94b\x89]\x94(\x8c\x01a\x94\x8c\x01b\x94\x8c\x01c\x94et\x94b\x86\x94b\x8c\x04name\x94Nu\x86\x94R\x94h9h\x00\x8c\x0aRangeIndex\x94\x93\x94}\x94(hZN\x8c\x05start\x94K\x00\x8c\x04stop\x94K\x02\x8c\x04step\x94K\x01u\x86\x94R\x94e\x86\x94R\x94\x8c\x04_typ\x94\x8c\x09dataframe\x94\x8c\x09_metadata\x94]\x94\x8c\x05attrs\x94}\x94\x8c\x06_flags\x94}\x94\x8c\x17allows_duplicate_labels\x94\x88sub.";

    #[test]
    fn mixed_dtype_frame_with_interleaved_blocks() {
        let v = loads(Rc::new(DF_PANDAS3.to_vec())).unwrap();
        assert!(is_dataframe(&v));
        let df = to_dataframe(&v).unwrap();
        assert_eq!(df.columns, vec!["a", "b", "c"]);
        assert_eq!(df.nrows, 2);
        assert_eq!(df.column("a").unwrap(), &[1.0, 2.0]);
        assert_eq!(df.column("b").unwrap(), &[3.0, 4.0]);
        assert_eq!(df.column("c").unwrap(), &[5.0, 6.0]);
    }

    #[test]
    fn not_a_frame_says_what_it_found() {
        let e = to_dataframe(&Value::Int(1)).unwrap_err();
        assert!(e.contains("expected a pandas DataFrame, found 1"), "{e}");
    }
}
