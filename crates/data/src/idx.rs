//! The IDX format of MNIST and Fashion-MNIST, raw or gzip-compressed.
//!
//! An IDX file is a big-endian magic number `0x0000_08NN` (`08` = unsigned byte, `NN` = number
//! of dimensions), one big-endian `u32` per dimension, then the bytes. Files on disk and bytes
//! embedded in the binary go through the same parser, so both are validated identically.

use std::path::Path;

use crate::dataset::Dataset;
use crate::error::{Error, Result};
use crate::storage::{decompress, read_file, write_gz_atomic};

/// Magic number of unsigned-byte, 3-D IDX data (images `[n, h, w]`).
pub const IDX_IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of unsigned-byte, 1-D IDX data (labels `[n]`).
pub const IDX_LABELS_MAGIC: u32 = 0x0000_0801;

/// Reads an IDX images file: pixels and `[n, h, w]`.
pub fn read_idx_images(path: &Path) -> Result<(Vec<u8>, [usize; 3])> {
    parse_idx_images(&read_file(path)?, path)
}

/// Reads an IDX labels file.
pub fn read_idx_labels(path: &Path) -> Result<Vec<u8>> {
    parse_idx_labels(&read_file(path)?, path)
}

/// Parses IDX image bytes (raw or gzip); `origin` is only used to name the data in errors.
pub fn parse_idx_images(bytes: &[u8], origin: &Path) -> Result<(Vec<u8>, [usize; 3])> {
    let bytes = decompress(bytes, origin)?;
    let (dims, body) = parse_idx(
        &bytes,
        origin,
        IDX_IMAGES_MAGIC,
        "IDX unsigned-byte 3-D images",
    )?;
    let [n, h, w] = [dims[0], dims[1], dims[2]];
    if h == 0 || w == 0 {
        return Err(Error::format(
            origin,
            format!("image size {h}x{w} must be non-zero"),
        ));
    }
    Ok((body.to_vec(), [n, h, w]))
}

/// Parses IDX label bytes (raw or gzip); `origin` is only used to name the data in errors.
pub fn parse_idx_labels(bytes: &[u8], origin: &Path) -> Result<Vec<u8>> {
    let bytes = decompress(bytes, origin)?;
    let (_, body) = parse_idx(
        &bytes,
        origin,
        IDX_LABELS_MAGIC,
        "IDX unsigned-byte 1-D labels",
    )?;
    Ok(body.to_vec())
}

/// Checks magic, header and exact body length; returns the dimensions and the body.
fn parse_idx<'a>(
    bytes: &'a [u8],
    origin: &Path,
    magic: u32,
    what: &'static str,
) -> Result<(Vec<usize>, &'a [u8])> {
    let ndims = (magic & 0xff) as usize;
    let header_len = 4 + 4 * ndims;
    let word = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    if bytes.len() < 4 {
        return Err(truncated(origin, "magic number", 4, bytes.len()));
    }
    let found = word(0);
    if found != magic {
        return Err(Error::BadMagic {
            path: origin.to_path_buf(),
            found,
            expected: magic,
            what,
        });
    }
    if bytes.len() < header_len {
        return Err(truncated(origin, "IDX header", header_len, bytes.len()));
    }
    let dims: Vec<usize> = (0..ndims).map(|d| word(4 + 4 * d) as usize).collect();
    let body_len = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| {
            Error::format(
                origin,
                format!("dimensions {dims:?} overflow the address space"),
            )
        })?;
    let body = &bytes[header_len..];
    if body.len() < body_len {
        return Err(truncated(
            origin,
            "data declared by the header",
            body_len,
            body.len(),
        ));
    }
    if body.len() > body_len {
        return Err(Error::format(
            origin,
            format!(
                "{} trailing bytes after the {body_len} data bytes declared by dimensions {dims:?}",
                body.len() - body_len
            ),
        ));
    }
    Ok((dims, body))
}

fn truncated(origin: &Path, what: &'static str, expected: usize, actual: usize) -> Error {
    Error::Truncated {
        path: origin.to_path_buf(),
        what,
        expected: expected as u64,
        actual: actual as u64,
    }
}

/// Writes `n` images of `h x w` pixels as a gzip IDX file (temp file + rename, fixed level).
pub fn write_idx_images_gz(path: &Path, pixels: &[u8], n: usize, h: usize, w: usize) -> Result<()> {
    let expected = n.checked_mul(h).and_then(|v| v.checked_mul(w));
    if expected != Some(pixels.len()) {
        return Err(Error::format(
            path,
            format!(
                "{} pixels given, but {n} images of {h}x{w} need n*h*w",
                pixels.len()
            ),
        ));
    }
    let header = idx_header(path, IDX_IMAGES_MAGIC, &[n, h, w])?;
    write_gz_atomic(path, &[&header, pixels])
}

/// Writes labels as a gzip IDX file (temp file + rename, fixed level).
pub fn write_idx_labels_gz(path: &Path, labels: &[u8]) -> Result<()> {
    let header = idx_header(path, IDX_LABELS_MAGIC, &[labels.len()])?;
    write_gz_atomic(path, &[&header, labels])
}

fn idx_header(path: &Path, magic: u32, dims: &[usize]) -> Result<Vec<u8>> {
    let mut header = magic.to_be_bytes().to_vec();
    for &d in dims {
        let d = u32::try_from(d).map_err(|_| {
            Error::format(
                path,
                format!("dimension {d} does not fit the IDX u32 header field"),
            )
        })?;
        header.extend_from_slice(&d.to_be_bytes());
    }
    Ok(header)
}

/// Images + labels files -> [`Dataset`] of shape `[1, h, w]`.
///
/// Checks that the counts match, that there is at least one example, and that every label is
/// `< class_names.len()`.
pub fn load_idx_dataset(
    images: &Path,
    labels: &Path,
    name: &str,
    class_names: Vec<String>,
) -> Result<Dataset> {
    dataset_from_idx_bytes(
        &read_file(images)?,
        images,
        &read_file(labels)?,
        labels,
        name,
        class_names,
    )
}

/// The in-memory core of [`load_idx_dataset`], shared with the bundled loader.
pub(crate) fn dataset_from_idx_bytes(
    image_bytes: &[u8],
    images: &Path,
    label_bytes: &[u8],
    labels: &Path,
    name: &str,
    class_names: Vec<String>,
) -> Result<Dataset> {
    let (pixels, [n, h, w]) = parse_idx_images(image_bytes, images)?;
    let label_values = parse_idx_labels(label_bytes, labels)?;
    if label_values.len() != n {
        return Err(Error::CountMismatch {
            images: images.to_path_buf(),
            labels: labels.to_path_buf(),
            n_images: n,
            n_labels: label_values.len(),
        });
    }
    if n == 0 {
        return Err(Error::format(images, "holds no examples"));
    }
    let num_classes = class_names.len();
    if let Some((index, &label)) = label_values
        .iter()
        .enumerate()
        .find(|&(_, &l)| usize::from(l) >= num_classes)
    {
        return Err(Error::LabelOutOfRange {
            path: labels.to_path_buf(),
            index,
            label,
            num_classes,
        });
    }
    Dataset::from_u8(name, &pixels, label_values, [1, h, w], class_names)
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn names(k: usize) -> Vec<String> {
        (0..k).map(|c| c.to_string()).collect()
    }

    fn raw_images(n: u32, h: u32, w: u32, body: &[u8]) -> Vec<u8> {
        let mut v = IDX_IMAGES_MAGIC.to_be_bytes().to_vec();
        for d in [n, h, w] {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v.extend_from_slice(body);
        v
    }

    fn raw_labels(labels: &[u8]) -> Vec<u8> {
        let mut v = IDX_LABELS_MAGIC.to_be_bytes().to_vec();
        v.extend_from_slice(&(labels.len() as u32).to_be_bytes());
        v.extend_from_slice(labels);
        v
    }

    #[test]
    fn read_idx_roundtrips_gz_and_raw() {
        let dir = tempfile::tempdir().unwrap();
        let pixels: Vec<u8> = (0..3 * 2 * 4).map(|v| v as u8 * 10).collect();
        let gz = dir.path().join("images.gz");
        write_idx_images_gz(&gz, &pixels, 3, 2, 4).unwrap();
        assert_eq!(read_idx_images(&gz).unwrap(), (pixels.clone(), [3, 2, 4]));

        let raw = dir.path().join("images.gz.but-not-really");
        fs::write(&raw, raw_images(3, 2, 4, &pixels)).unwrap();
        assert_eq!(read_idx_images(&raw).unwrap(), (pixels, [3, 2, 4]));

        let lgz = dir.path().join("labels");
        write_idx_labels_gz(&lgz, &[1, 0, 2]).unwrap();
        assert_eq!(read_idx_labels(&lgz).unwrap(), vec![1, 0, 2]);
        let lraw = dir.path().join("labels.raw");
        fs::write(&lraw, raw_labels(&[1, 0, 2])).unwrap();
        assert_eq!(read_idx_labels(&lraw).unwrap(), vec![1, 0, 2]);
    }

    #[test]
    fn load_idx_dataset_scales_pixels() {
        let dir = tempfile::tempdir().unwrap();
        let (img, lbl) = (dir.path().join("i.gz"), dir.path().join("l.gz"));
        write_idx_images_gz(&img, &[0, 255, 51, 102], 2, 1, 2).unwrap();
        write_idx_labels_gz(&lbl, &[1, 0]).unwrap();
        let ds = load_idx_dataset(&img, &lbl, "toy/train", names(2)).unwrap();
        assert_eq!(ds.name, "toy/train");
        assert_eq!(ds.shape, [1, 1, 2]);
        assert_eq!(ds.images, vec![0.0, 1.0, 0.2, 0.4]);
        assert_eq!(ds.labels, vec![1, 0]);
    }

    #[test]
    fn read_idx_rejects_bad_magic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("train-images-idx3-ubyte");
        fs::write(&path, raw_labels(&[1, 2, 3])).unwrap();
        let err = read_idx_images(&path).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::BadMagic { found: 0x801, .. }), "{msg}");
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(
            msg.contains("bad magic number 0x00000801, expected 0x00000803"),
            "{msg}"
        );

        let zeros = dir.path().join("zeros.gz");
        write_gz_atomic(&zeros, &[&[0u8; 16]]).unwrap();
        let msg = read_idx_labels(&zeros).unwrap_err().to_string();
        assert!(
            msg.contains("zeros.gz") && msg.contains("0x00000000"),
            "{msg}"
        );
    }

    #[test]
    fn read_idx_rejects_truncated_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short.idx");
        fs::write(&path, raw_images(2, 3, 3, &[7; 17])).unwrap();
        let err = read_idx_images(&path).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Truncated {
                    expected: 18,
                    actual: 17,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains(&path.display().to_string()));

        fs::write(&path, &raw_images(2, 3, 3, &[])[..10]).unwrap();
        let err = read_idx_images(&path).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Truncated {
                    what: "IDX header",
                    ..
                }
            ),
            "{err}"
        );

        // A gzip stream cut short is a truncation too, reported by the decoder.
        let gz = dir.path().join("short.gz");
        write_idx_labels_gz(&gz, &[1; 1000]).unwrap();
        let bytes = fs::read(&gz).unwrap();
        fs::write(&gz, &bytes[..bytes.len() / 2]).unwrap();
        assert!(
            read_idx_labels(&gz)
                .unwrap_err()
                .to_string()
                .contains("short.gz")
        );
    }

    #[test]
    fn read_idx_rejects_trailing_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("long.idx");
        fs::write(
            &path,
            raw_labels(&[1, 2])
                .into_iter()
                .chain([9])
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let msg = read_idx_labels(&path).unwrap_err().to_string();
        assert!(
            msg.contains("long.idx") && msg.contains("trailing"),
            "{msg}"
        );
    }

    #[test]
    fn load_idx_rejects_count_mismatch() {
        let dir = tempfile::tempdir().unwrap();
        let (img, lbl) = (dir.path().join("imgs.gz"), dir.path().join("lbls.gz"));
        write_idx_images_gz(&img, &[0; 12], 3, 2, 2).unwrap();
        write_idx_labels_gz(&lbl, &[0, 1]).unwrap();
        let err = load_idx_dataset(&img, &lbl, "t", names(10)).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(
                err,
                Error::CountMismatch {
                    n_images: 3,
                    n_labels: 2,
                    ..
                }
            ),
            "{msg}"
        );
        assert!(msg.contains(&img.display().to_string()), "{msg}");
        assert!(msg.contains(&lbl.display().to_string()), "{msg}");
    }

    #[test]
    fn load_idx_rejects_label_out_of_range() {
        let dir = tempfile::tempdir().unwrap();
        let (img, lbl) = (dir.path().join("imgs.gz"), dir.path().join("lbls.gz"));
        write_idx_images_gz(&img, &[0; 12], 3, 2, 2).unwrap();
        write_idx_labels_gz(&lbl, &[0, 10, 1]).unwrap();
        let err = load_idx_dataset(&img, &lbl, "t", names(10)).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(
                err,
                Error::LabelOutOfRange {
                    index: 1,
                    label: 10,
                    ..
                }
            ),
            "{msg}"
        );
        assert!(msg.contains(&lbl.display().to_string()), "{msg}");
    }

    #[test]
    fn load_idx_rejects_empty_dataset() {
        let dir = tempfile::tempdir().unwrap();
        let (img, lbl) = (dir.path().join("imgs.gz"), dir.path().join("lbls.gz"));
        write_idx_images_gz(&img, &[], 0, 2, 2).unwrap();
        write_idx_labels_gz(&lbl, &[]).unwrap();
        let msg = load_idx_dataset(&img, &lbl, "t", names(10))
            .unwrap_err()
            .to_string();
        assert!(
            msg.contains("imgs.gz") && msg.contains("no examples"),
            "{msg}"
        );
    }

    #[test]
    fn write_idx_rejects_wrong_pixel_count() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.gz");
        let msg = write_idx_images_gz(&path, &[0; 5], 1, 2, 2)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("bad.gz"), "{msg}");
        assert!(!path.exists());
    }
}
