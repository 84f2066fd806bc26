//! Content hashes that tie results to their inputs (checkpoints, surface directions), so that
//! `merge` and `compare` refuse to join results computed on different things.

use std::path::Path;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Lower-case hex SHA-256 of the f32 little-endian bytes of `values`, in order.
pub fn sha256_f32(values: impl IntoIterator<Item = f32>) -> String {
    let mut h = Sha256::new();
    for v in values {
        h.update(v.to_le_bytes());
    }
    hex(&h.finalize())
}

/// Lower-case hex SHA-256 of a file's contents.
///
/// # Errors
/// The file cannot be read.
pub fn file_sha256(path: &Path) -> Result<String> {
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    // Streamed, so hashing a large file (weights, the executable) does not hold it in memory.
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut h = Sha256::new();
    std::io::copy(&mut file, &mut h).map_err(io)?;
    Ok(hex(&h.finalize()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digest() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(sha256_f32([1.0f32]), sha256_hex(&1.0f32.to_le_bytes()));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![7u8; 100_000]).unwrap();
        assert_eq!(file_sha256(&path).unwrap(), sha256_hex(&[7u8; 100_000]));
    }
}
