//! A small, safe pickle reader in pure Rust (no Python at run time): a VM that executes
//! protocols 0–5 into a symbolic [`Value`] tree ([`vm`], [`value`]), and interpreters for the
//! two library layouts dpwear needs, numpy arrays ([`numpy`]) and pandas DataFrames
//! ([`pandas`]). Nothing in a pickle is ever executed.
//!
//! May depend on: std, [`super::error`] (for [`load_file`]). Must never call Python.
pub mod numpy;
pub mod pandas;
pub mod value;
pub mod vm;

use std::path::Path;
use std::rc::Rc;

pub use numpy::{array_info, to_ndarray, ArrayData, ArrayInfo, NdArray};
pub use pandas::{to_dataframe, DataFrame};
pub use value::{ByteBuf, Global, Object, ObjectKind, Value};
pub use vm::{loads, PickleError};

use super::error::DataError;

/// Reads and unpickles a whole file. A file that is evidently something else (HDF5, npy,
/// zip/npz, gzip, text such as CSV) gives a one-line [`DataError::Format`] that says so.
pub fn load_file(path: &Path) -> Result<Value, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    load_bytes(path, bytes)
}

/// Unpickles `bytes` read from `path` (used for messages).
pub fn load_bytes(path: &Path, bytes: Vec<u8>) -> Result<Value, DataError> {
    load_shared(path, Rc::new(bytes))
}

/// Like [`load_bytes`], for a buffer the caller keeps using (bytes values are views into it).
pub fn load_shared(path: &Path, bytes: Rc<Vec<u8>>) -> Result<Value, DataError> {
    if let Some(what) = sniff_not_pickle(&bytes) {
        return Err(DataError::format(
            path,
            format!("not a pickle file: it looks like {what}"),
        ));
    }
    loads(bytes).map_err(|e| DataError::Pickle {
        path: path.to_path_buf(),
        offset: e.offset,
        reason: e.reason,
    })
}

/// Recognises common non-pickle formats from their first bytes.
pub fn sniff_not_pickle(b: &[u8]) -> Option<&'static str> {
    if b.is_empty() {
        return Some("an empty file");
    }
    const MAGIC: [(&[u8], &str); 6] = [
        (b"\x89HDF\r\n\x1a\n", "an HDF5 file"),
        (b"\x93NUMPY", "a numpy .npy file"),
        (b"PK\x03\x04", "a zip archive (e.g. .npz)"),
        (b"\x1f\x8b", "a gzip-compressed file"),
        (b"\xef\xbb\xbf", "a UTF-8 text file"),
        (b"%PDF", "a PDF file"),
    ];
    if let Some((_, what)) = MAGIC.iter().find(|(m, _)| b.starts_with(m)) {
        return Some(what);
    }
    // Protocol 2+ pickles start with PROTO; protocol 0/1 ones with an opcode that is also
    // printable, so only call it text when the start is not a plausible protocol-0 opening.
    let first = b[0];
    if first == 0x80 {
        return None;
    }
    let p0_openers = b"(}])NIJKLMFGSTUVXcdlt.";
    let looks_text = b
        .iter()
        .take(256)
        .all(|&c| c == b'\n' || c == b'\r' || c == b'\t' || (0x20..0x7f).contains(&c));
    if looks_text && !p0_openers.contains(&first) {
        return Some("a text file (e.g. CSV)");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_common_formats() {
        assert_eq!(
            sniff_not_pickle(b"\x89HDF\r\n\x1a\nxxxx"),
            Some("an HDF5 file")
        );
        assert!(sniff_not_pickle(b",BVP,EDA\n0,0.1,0.2\n")
            .unwrap()
            .contains("text"));
        assert_eq!(sniff_not_pickle(b"\x80\x04N."), None);
        assert_eq!(sniff_not_pickle(b"(dp0\n."), None);
    }

    #[test]
    fn load_bytes_names_the_file() {
        let e = load_bytes(Path::new("/x/y.pickle"), b"\x80\x04\x8c\x05ab".to_vec()).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("/x/y.pickle: not a readable pickle: unexpected end of data"),
            "{msg}"
        );
        let e = load_bytes(Path::new("/x/y.csv"), b"a,b\n1,2\n".to_vec()).unwrap_err();
        assert!(e.to_string().contains("/x/y.csv: not a pickle file"), "{e}");
    }
}
