//! Small helpers over the `hdf5` crate shared by the dataset and feature stores: typed
//! attributes, a file-kind check with a readable error, and atomic creation (write to a
//! temporary file beside the target, then rename).

use std::path::{Path, PathBuf};

use hdf5::types::VarLenUnicode;
use hdf5::Location;

use super::error::DataError;

/// The 8-byte HDF5 signature; it sits at offset 0, 512, 1024, 2048, … of a file.
const HDF5_SIGNATURE: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

/// Wraps an `hdf5::Error` with the file it is about.
pub fn h5err(path: &Path) -> impl Fn(hdf5::Error) -> DataError + '_ {
    move |source| DataError::Hdf5 {
        path: path.to_path_buf(),
        source,
    }
}

/// Opens an existing HDF5 file for reading, with clear errors for a missing file and for a
/// file that is not HDF5 at all.
pub fn open_read(path: &Path) -> Result<hdf5::File, DataError> {
    let meta = std::fs::metadata(path).map_err(|e| DataError::io(path, e))?;
    if meta.is_dir() {
        return Err(DataError::format(
            path,
            "is a directory, expected an HDF5 file",
        ));
    }
    if !has_hdf5_signature(path)? {
        return Err(DataError::format(
            path,
            "not an HDF5 file (no HDF5 signature); expected a file written by `dpwear data import`, `data simulate` or `features`",
        ));
    }
    hdf5::File::open(path).map_err(h5err(path))
}

/// True when the file carries the HDF5 signature at one of its possible offsets.
pub fn has_hdf5_signature(path: &Path) -> Result<bool, DataError> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let len = f.metadata().map_err(|e| DataError::io(path, e))?.len();
    let mut offset = 0u64;
    let mut buf = [0u8; 8];
    while offset + 8 <= len {
        f.seek(SeekFrom::Start(offset))
            .map_err(|e| DataError::io(path, e))?;
        f.read_exact(&mut buf).map_err(|e| DataError::io(path, e))?;
        if &buf == HDF5_SIGNATURE {
            return Ok(true);
        }
        offset = if offset == 0 { 512 } else { offset * 2 };
    }
    Ok(false)
}

/// An HDF5 file being written to a temporary path; [`AtomicH5::commit`] renames it into place,
/// dropping it without commit removes the temporary file, so a crash never leaves a
/// half-written file under the final name.
pub struct AtomicH5 {
    file: Option<hdf5::File>,
    tmp: PathBuf,
    target: PathBuf,
}

impl AtomicH5 {
    /// Creates the temporary file beside `target` (creating parent directories).
    pub fn create(target: &Path) -> Result<Self, DataError> {
        let write_err = |reason: String| DataError::Write {
            path: target.to_path_buf(),
            reason,
        };
        if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                write_err(format!("cannot create directory {}: {e}", parent.display()))
            })?;
        }
        if target.file_name().is_none() {
            return Err(write_err("the output path has no file name".into()));
        }
        crate::atomic_file::clean_stale_temporaries(
            target.parent().unwrap_or_else(|| Path::new(".")),
        );
        let tmp = crate::atomic_file::temp_path(target);
        let file = hdf5::File::create(&tmp).map_err(|e| write_err(e.to_string()))?;
        Ok(Self {
            file: Some(file),
            tmp,
            target: target.to_path_buf(),
        })
    }

    /// The file being written.
    pub fn file(&self) -> &hdf5::File {
        self.file.as_ref().expect("AtomicH5 used after commit")
    }

    /// Wraps an `hdf5::Error` raised while writing as a [`DataError::Write`] on the target.
    pub fn err(&self) -> impl Fn(hdf5::Error) -> DataError + 'static {
        let path = self.target.clone();
        move |e| DataError::Write {
            path: path.clone(),
            reason: e.to_string(),
        }
    }

    /// Closes the file and renames it to the target path.
    pub fn commit(mut self) -> Result<(), DataError> {
        if let Some(file) = self.file.take() {
            file.close().map_err(|e| {
                let _ = std::fs::remove_file(&self.tmp);
                DataError::Write {
                    path: self.target.clone(),
                    reason: e.to_string(),
                }
            })?;
        }
        crate::atomic_file::rename_into_place(&self.tmp, &self.target).map_err(|e| {
            DataError::Write {
                path: self.target.clone(),
                reason: format!("cannot rename {} into place: {e}", self.tmp.display()),
            }
        })
    }
}

impl Drop for AtomicH5 {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Writes a string attribute.
pub fn set_str(loc: &Location, name: &str, value: &str) -> hdf5::Result<()> {
    let v: VarLenUnicode = value
        .parse()
        .map_err(|e| hdf5::Error::from(format!("attribute {name}: {e}")))?;
    loc.new_attr::<VarLenUnicode>()
        .shape(())
        .create(name)?
        .write_scalar(&v)
}

/// Writes an `f64` attribute.
pub fn set_f64(loc: &Location, name: &str, value: f64) -> hdf5::Result<()> {
    loc.new_attr::<f64>()
        .shape(())
        .create(name)?
        .write_scalar(&value)
}

/// Writes an `i64` attribute.
pub fn set_i64(loc: &Location, name: &str, value: i64) -> hdf5::Result<()> {
    loc.new_attr::<i64>()
        .shape(())
        .create(name)?
        .write_scalar(&value)
}

/// Writes a 1-D `i64` array attribute.
pub fn set_i64_array(loc: &Location, name: &str, values: &[i64]) -> hdf5::Result<()> {
    loc.new_attr_builder().with_data(values).create(name)?;
    Ok(())
}

/// Writes a 1-D string array attribute.
pub fn set_str_array(loc: &Location, name: &str, values: &[&str]) -> hdf5::Result<()> {
    let v: Vec<VarLenUnicode> = values
        .iter()
        .map(|s| s.parse().map_err(|e| hdf5::Error::from(format!("{e}"))))
        .collect::<hdf5::Result<_>>()?;
    loc.new_attr_builder().with_data(&v).create(name)?;
    Ok(())
}

/// Reads a string attribute, with an error naming the attribute when it is missing.
pub fn get_str(loc: &Location, path: &Path, name: &str) -> Result<String, DataError> {
    let attr = loc.attr(name).map_err(|_| missing(path, loc, name))?;
    let v: VarLenUnicode = attr.read_scalar().map_err(h5err(path))?;
    Ok(v.as_str().to_string())
}

/// Reads an `f64` attribute.
pub fn get_f64(loc: &Location, path: &Path, name: &str) -> Result<f64, DataError> {
    let attr = loc.attr(name).map_err(|_| missing(path, loc, name))?;
    attr.read_scalar().map_err(h5err(path))
}

/// Reads an `i64` attribute.
pub fn get_i64(loc: &Location, path: &Path, name: &str) -> Result<i64, DataError> {
    let attr = loc.attr(name).map_err(|_| missing(path, loc, name))?;
    attr.read_scalar().map_err(h5err(path))
}

/// Reads a 1-D `i64` array attribute.
pub fn get_i64_array(loc: &Location, path: &Path, name: &str) -> Result<Vec<i64>, DataError> {
    let attr = loc.attr(name).map_err(|_| missing(path, loc, name))?;
    attr.read_raw().map_err(h5err(path))
}

fn missing(path: &Path, loc: &Location, name: &str) -> DataError {
    DataError::format(
        path,
        format!("attribute `{name}` missing on `{}`", loc.name()),
    )
}
