//! Where output files go: every report, figure and weights file is written through
//! [`write_atomic`], and commands call [`check_output`] before they start their work.
//!
//! A rename replaces whatever the destination path names. So a destination that is a
//! symbolic link is resolved first (the link stays and its target gets the new contents, as
//! `cp` and shell redirection do), and one that exists but is not a regular file (a FIFO, a
//! device, a directory, a socket) is refused: renaming over `/dev/full` would put a JSON file
//! where the device was.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Symbolic links followed before a path is declared a loop (Linux's own limit).
const MAX_LINKS: usize = 40;

/// The path a write to `path` really replaces: `path` itself, or the final target of the
/// chain of symbolic links it names (dangling links included: their target is created).
///
/// # Errors
/// [`Error::Output`] when that target exists and is not a regular file, or the links loop.
pub fn resolve_output(path: &Path) -> Result<PathBuf> {
    let mut current = path.to_owned();
    for _ in 0..MAX_LINKS {
        let meta = match std::fs::symlink_metadata(&current) {
            Ok(m) => m,
            // A missing path, or one below a file: the parent checks name the problem.
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
                ) =>
            {
                return Ok(current);
            }
            Err(source) => {
                return Err(Error::Io {
                    path: current,
                    source,
                });
            }
        };
        let kind = meta.file_type();
        if kind.is_symlink() {
            let target = std::fs::read_link(&current).map_err(|source| Error::Io {
                path: current.clone(),
                source,
            })?;
            current = match current.parent() {
                Some(dir) if target.is_relative() => dir.join(target),
                _ => target,
            };
            continue;
        }
        if kind.is_file() {
            return Ok(current);
        }
        let what = if kind.is_dir() {
            "a directory"
        } else {
            special_kind(&kind)
        };
        let via = if current == path {
            String::new()
        } else {
            format!(" (the target of the link {})", path.display())
        };
        return Err(Error::output(
            &current,
            format!("is {what}{via}; an output must be a regular file or a new path"),
        ));
    }
    Err(Error::output(
        path,
        format!("more than {MAX_LINKS} symbolic links in a row (a loop?)"),
    ))
}

#[cfg(unix)]
fn special_kind(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_fifo() {
        "a FIFO"
    } else if kind.is_char_device() || kind.is_block_device() {
        "a device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::FileType) -> &'static str {
    "not a regular file"
}

/// The directory a file at `path` lives in (`.` for a bare file name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// Creates the directory `dir` and its parents, naming an ancestor that is a file rather than
/// the bare "File exists" or "Not a directory" the system reports.
///
/// # Errors
/// [`Error::Output`] for an ancestor that is a file; [`Error::Io`] naming the directory.
pub fn create_dir(dir: &Path) -> Result<()> {
    create_parent(dir, dir)
}

/// [`create_dir`] for the directory of `output` (named in the error).
fn create_parent(dir: &Path, output: &Path) -> Result<()> {
    if let Some(file) = dir.ancestors().find(|a| a.is_file()) {
        return Err(Error::output(
            output,
            format!("its parent {} is a file, not a directory", file.display()),
        ));
    }
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.to_owned(),
        source,
    })
}

/// A new, exclusively created temporary file next to `target` (same file system, so the
/// final rename is atomic).
fn temp_file(target: &Path) -> Result<(PathBuf, std::fs::File)> {
    let dir = parent_dir(target);
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let pid = std::process::id();
    let mut last = None;
    for attempt in 0..100u32 {
        let tmp = dir.join(format!(".{name}.{pid}.{attempt}.tmp"));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
        {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(source) => {
                return Err(Error::Io {
                    path: target.to_owned(),
                    source,
                });
            }
        }
    }
    Err(Error::Io {
        path: target.to_owned(),
        source: last.unwrap_or_else(|| std::io::Error::other("no free temporary name")),
    })
}

/// Checks, before any work is done, that a report can later be written to `path`: the path
/// resolves to a regular file or a new one, no ancestor is a file, and the nearest existing
/// directory accepts a new file (probed with a temporary file that is removed at once).
/// Creates nothing that stays.
///
/// # Errors
/// [`Error::Output`] or [`Error::Io`] naming the path and the rule.
pub fn check_output(path: &Path) -> Result<()> {
    let target = resolve_output(path)?;
    let dir = parent_dir(&target);
    if let Some(file) = dir.ancestors().find(|a| a.is_file()) {
        return Err(Error::output(
            path,
            format!("its parent {} is a file, not a directory", file.display()),
        ));
    }
    let existing = dir
        .ancestors()
        .find(|a| a.is_dir())
        .map_or_else(|| PathBuf::from("."), Path::to_owned);
    let (tmp, file) = temp_file(&existing.join("advland-write-check"))
        .map_err(|e| Error::output(path, format!("cannot be written: {e}")))?;
    drop(file);
    let _ = std::fs::remove_file(tmp);
    Ok(())
}

/// Writes bytes to `path` through a temporary file in the same directory and a rename, so a
/// reader never sees a half-written file. Creates the parent directory. A symbolic link is
/// written through to its target ([`resolve_output`]).
///
/// # Errors
/// [`Error::Output`] for a destination that is not a regular file or whose parent is a file;
/// [`Error::Io`] naming the file. Nothing is left behind then.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let target = resolve_output(path)?;
    create_parent(&parent_dir(&target), path)?;
    let (tmp, mut file) = temp_file(&target)?;
    let result = file
        .write_all(bytes)
        .and_then(|()| file.sync_data())
        .and_then(|()| {
            drop(file);
            std::fs::rename(&tmp, &target)
        });
    if let Err(source) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::Io {
            path: path.to_owned(),
            source,
        });
    }
    Ok(())
}

/// An exclusive advisory lock on a file that holds the holder's process id. The kernel
/// releases the lock of a killed process, so a file left by one never blocks the next run.
#[derive(Debug)]
pub struct LockFile {
    path: PathBuf,
    remove_on_drop: bool,
    // Held for its lock; closing it (after `drop` removed the path) releases the lock.
    _file: std::fs::File,
}

impl LockFile {
    /// Takes the lock at `path` (created if absent, with its directory), or returns `None`
    /// at once when another process holds it ([`LockFile::holder`] names that process). With
    /// `remove_on_drop`, the file goes when the lock is dropped.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file.
    pub fn try_acquire(path: &Path, remove_on_drop: bool) -> Result<Option<Self>> {
        let io = |source| Error::Io {
            path: path.to_owned(),
            source,
        };
        create_parent(&parent_dir(path), path)?;
        // A holder removes the file as it finishes; a process that opened the old file just
        // before would lock a deleted inode, so the lock counts only if the path still names
        // the file locked.
        for _ in 0..MAX_LINKS {
            let mut file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)
                .map_err(io)?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => return Ok(None),
                Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
            }
            if same_file(&file, path) {
                file.set_len(0).map_err(io)?;
                write!(file, "{}", std::process::id()).map_err(io)?;
                return Ok(Some(Self {
                    path: path.to_owned(),
                    remove_on_drop,
                    _file: file,
                }));
            }
        }
        Err(Error::output(path, "the lock file kept being replaced"))
    }

    /// Takes the lock at `path` like [`LockFile::try_acquire`] (removed on drop), failing when
    /// another process holds it; `what` names what the lock guards in that message.
    ///
    /// # Errors
    /// [`Error::Output`] naming the holder; [`Error::Io`] naming the file.
    pub fn acquire(path: &Path, what: &str) -> Result<Self> {
        Self::try_acquire(path, true)?.ok_or_else(|| {
            Error::output(
                path,
                format!(
                    "{what} is in use by {}; wait for it to finish",
                    Self::holder(path)
                ),
            )
        })
    }

    /// Whether another process holds the lock at `path` now, creating nothing.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file.
    pub fn is_held(path: &Path) -> Result<bool> {
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(source) => {
                return Err(Error::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        // A lock taken here is released when `file` closes.
        match file.try_lock() {
            Ok(()) => Ok(false),
            Err(std::fs::TryLockError::WouldBlock) => Ok(true),
            Err(std::fs::TryLockError::Error(source)) => Err(Error::Io {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// The process a lock file names, in words: "another advland process (pid N)".
    pub fn holder(path: &Path) -> String {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|text| text.trim().parse::<u32>().ok())
            .map_or_else(
                || "another advland process".to_owned(),
                |pid| format!("another advland process (pid {pid})"),
            )
    }
}

impl Drop for LockFile {
    fn drop(&mut self) {
        if self.remove_on_drop {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

#[cfg(unix)]
fn same_file(file: &std::fs::File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &std::fs::File, path: &Path) -> bool {
    path.exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[cfg(unix)]
    #[test]
    fn write_through_a_symlink_keeps_the_link_and_fills_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real.json");
        std::fs::write(&target, b"old").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink("real.json", &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert_eq!(names(dir.path()), ["link.json", "real.json"]);
    }

    #[cfg(unix)]
    #[test]
    fn dangling_symlink_creates_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(dir.path().join("sub/new.json"), &link).unwrap();
        write_atomic(&link, b"x").unwrap();
        assert_eq!(
            std::fs::read(dir.path().join("sub/new.json")).unwrap(),
            b"x"
        );
    }

    #[cfg(unix)]
    #[test]
    fn symlink_loop_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        std::os::unix::fs::symlink("b", &a).unwrap();
        std::os::unix::fs::symlink("a", dir.path().join("b")).unwrap();
        let err = write_atomic(&a, b"x").unwrap_err().to_string();
        assert!(err.contains("symbolic links"), "{err}");
    }

    #[test]
    fn directory_destination_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        for err in [
            write_atomic(&out, b"x").unwrap_err(),
            check_output(&out).unwrap_err(),
        ] {
            let err = err.to_string();
            assert!(err.contains("out") && err.contains("a directory"), "{err}");
        }
        assert!(out.is_dir());
        assert_eq!(names(dir.path()), ["out"]);
    }

    #[cfg(unix)]
    #[test]
    fn device_and_fifo_destinations_are_refused() {
        let err = check_output(Path::new("/dev/null"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("/dev/null") && err.contains("a device"),
            "{err}"
        );
        // write_atomic is not pointed at a real device: a regression would replace it. The
        // FIFO below takes the same path through resolve_output.
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.is_ok_and(|s| s.success()), "mkfifo is needed");
        let err = write_atomic(&fifo, b"x").unwrap_err().to_string();
        assert!(err.contains("a FIFO"), "{err}");
        let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
        assert!(!kind.is_file(), "the FIFO was replaced");
    }

    #[test]
    fn parent_that_is_a_file_is_named() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("f"), b"keep").unwrap();
        let out = dir.path().join("f/sub/r.json");
        for err in [
            check_output(&out).unwrap_err(),
            write_atomic(&out, b"x").unwrap_err(),
        ] {
            let err = err.to_string();
            assert!(err.contains("is a file, not a directory"), "{err}");
        }
        assert_eq!(std::fs::read(dir.path().join("f")).unwrap(), b"keep");
    }

    #[test]
    fn check_output_creates_nothing() {
        let dir = tempfile::tempdir().unwrap();
        check_output(&dir.path().join("a/b/r.json")).unwrap();
        check_output(&dir.path().join("r.json")).unwrap();
        assert!(names(dir.path()).is_empty());
    }

    #[test]
    fn lock_is_exclusive_names_its_holder_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/r.json.lock");
        let held = LockFile::acquire(&path, "the surface r.json").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            std::process::id().to_string()
        );
        let err = LockFile::acquire(&path, "the surface r.json")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("the surface r.json is in use")
                && err.contains(&format!("pid {}", std::process::id())),
            "{err}"
        );
        assert!(LockFile::is_held(&path).unwrap());
        assert!(LockFile::try_acquire(&path, false).unwrap().is_none());
        drop(held);
        assert!(names(&dir.path().join("sub")).is_empty());
        assert!(!LockFile::is_held(&path).unwrap());
        drop(LockFile::try_acquire(&path, false).unwrap().unwrap());
        assert_eq!(names(&dir.path().join("sub")), ["r.json.lock"]);
        assert!(!LockFile::is_held(&path).unwrap());
    }

    #[test]
    fn existing_file_is_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("r.json");
        std::fs::write(&out, b"a much longer old content").unwrap();
        write_atomic(&out, b"new").unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"new");
        assert_eq!(names(dir.path()), ["r.json"]);
    }
}
