//! Raw byte access shared by all readers and writers: whole-file reads, transparent gzip
//! decoding (detected by content) and atomic, reproducible gzip writes.

use std::borrow::Cow;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use flate2::{Compression, GzBuilder};

use crate::error::{Error, Result};

/// The two leading bytes of every gzip stream (RFC 1952).
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Fixed compression level so that regenerating a file gives byte-identical output.
pub const GZIP_LEVEL: u32 = 9;

/// Reads a whole file, reporting a missing file as [`Error::Missing`].
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|error| {
        if error.kind() == std::io::ErrorKind::NotFound {
            Error::Missing {
                path: path.to_path_buf(),
                hint: "no such file".to_owned(),
            }
        } else {
            Error::io(path, "cannot read file", error)
        }
    })
}

/// Most bytes a gzip stream may decompress to: 1 GiB, twice the largest file of the formats
/// read here (EMNIST ByClass train images, 547 MB; CIFAR-100 `train.bin` is 150 MB).
///
/// Deflate expands up to about 1000:1, so without a bound a few megabytes of crafted or
/// corrupt gzip would be inflated into memory by the gigabyte before any header is checked.
pub const MAX_DECOMPRESSED_BYTES: u64 = 1 << 30;

/// Returns the decompressed content if `bytes` is a gzip stream, else `bytes` unchanged.
///
/// Detection is by content rather than file name, so a `.gz` that was already unpacked by a
/// browser (a common accident) still loads. A stream that would decompress to more than
/// [`MAX_DECOMPRESSED_BYTES`] is refused as soon as it gets there.
pub(crate) fn decompress<'a>(bytes: &'a [u8], origin: &Path) -> Result<Cow<'a, [u8]>> {
    decompress_at_most(bytes, origin, MAX_DECOMPRESSED_BYTES)
}

fn decompress_at_most<'a>(bytes: &'a [u8], origin: &Path, limit: u64) -> Result<Cow<'a, [u8]>> {
    if !bytes.starts_with(&GZIP_MAGIC) {
        return Ok(Cow::Borrowed(bytes));
    }
    let mut out = Vec::new();
    // One byte past the limit tells a stream of exactly `limit` bytes from a longer one.
    MultiGzDecoder::new(bytes)
        .take(limit.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|error| Error::io(origin, "cannot decompress gzip stream", error))?;
    if out.len() as u64 > limit {
        return Err(Error::format(
            origin,
            format!(
                "gzip stream decompresses to more than {limit} bytes (compressed: {} bytes), \
                 more than any data file of this format",
                bytes.len()
            ),
        ));
    }
    Ok(Cow::Owned(out))
}

/// Gzips the concatenation of `parts` into `path`, via a temporary file in the same directory
/// and a rename, so readers never observe a half-written file.
pub(crate) fn write_gz_atomic(path: &Path, parts: &[&[u8]]) -> Result<()> {
    let tmp = temp_path(path);
    let result = write_gz(&tmp, parts).and_then(|()| {
        fs::rename(&tmp, path)
            .map_err(|error| Error::io(path, "cannot rename temporary file", error))
    });
    if result.is_err() {
        // Best effort: the original error is the one worth reporting.
        let _ = fs::remove_file(&tmp);
    }
    result
}

fn write_gz(tmp: &Path, parts: &[&[u8]]) -> Result<()> {
    let file = fs::File::create(tmp)
        .map_err(|error| Error::io(tmp, "cannot create temporary file", error))?;
    // mtime 0 and no file name keep the header independent of when and where it was written.
    let mut encoder = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(std::io::BufWriter::new(file), Compression::new(GZIP_LEVEL));
    for part in parts {
        encoder
            .write_all(part)
            .map_err(|error| Error::io(tmp, "cannot write", error))?;
    }
    let writer = encoder
        .finish()
        .map_err(|error| Error::io(tmp, "cannot write", error))?;
    let file = writer
        .into_inner()
        .map_err(|error| Error::io(tmp, "cannot write", error.into_error()))?;
    file.sync_all()
        .map_err(|error| Error::io(tmp, "cannot sync", error))
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{}.tmp", std::process::id()));
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gzip_roundtrip_is_detected_by_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-extension");
        write_gz_atomic(&path, &[b"hello ", b"world"]).unwrap();
        let raw = read_file(&path).unwrap();
        assert!(raw.starts_with(&GZIP_MAGIC));
        assert_eq!(&*decompress(&raw, &path).unwrap(), b"hello world");
        assert_eq!(&*decompress(b"plain", &path).unwrap(), b"plain");
    }

    #[test]
    fn gzip_output_is_reproducible() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.gz"), dir.path().join("b.gz"));
        write_gz_atomic(&a, &[b"same bytes"]).unwrap();
        write_gz_atomic(&b, &[b"same bytes"]).unwrap();
        assert_eq!(fs::read(a).unwrap(), fs::read(b).unwrap());
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 2, "temporary files must not be left behind");
    }

    #[test]
    fn corrupt_gzip_error_names_path() {
        let path = Path::new("/x/corrupt.gz");
        let err = decompress(&[0x1f, 0x8b, 8, 0, 1, 2], path).unwrap_err();
        assert!(err.to_string().contains("/x/corrupt.gz"), "{err}");
    }

    #[test]
    fn gzip_expansion_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bomb.gz");
        write_gz_atomic(&path, &[&[0u8; 4097]]).unwrap();
        let bytes = read_file(&path).unwrap();
        assert!(bytes.len() < 100, "zeros compress well");
        assert_eq!(decompress_at_most(&bytes, &path, 4097).unwrap().len(), 4097);
        let err = decompress_at_most(&bytes, &path, 4096).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::Format { .. }), "{msg}");
        assert!(msg.contains("bomb.gz"), "{msg}");
        assert!(msg.contains("more than 4096 bytes"), "{msg}");
    }

    #[test]
    fn missing_file_is_reported_as_missing() {
        let err = read_file(Path::new("/nonexistent/advland/file")).unwrap_err();
        assert!(matches!(err, Error::Missing { .. }), "{err:?}");
        assert!(err.to_string().contains("/nonexistent/advland/file"));
    }
}
