//! The run directory a training run writes: who may write it, what it may already hold, and
//! what a failed run leaves in it.
//!
//! - One writer: [`RunDir::open`] takes an advisory lock on `advland.lock` inside the directory
//!   (and writes its pid there, so a refused process can say who holds it). The OS drops the
//!   lock with the process, so a killed run never leaves the directory locked.
//! - One run: a new run starts only in a new or empty directory ([`RunDirMode::Fresh`]);
//!   otherwise it continues the run there ([`RunDirMode::Resume`]) or deletes it first
//!   ([`RunDirMode::Overwrite`], only for what looks like a run directory).
//! - No debris: a new run that ends before its first checkpoint removes what it created when
//!   its [`RunDir`] is dropped without [`RunDir::finish`] (a directory that existed stays, empty).

use std::path::{Path, PathBuf};

use advland_schema::LockFile;

use crate::checkpoint::{CHECKPOINT_FILE, CHECKPOINTS_DIR, is_temporary, last_checkpoint};
use crate::error::{Error, Result, RunDirIssue};

use super::TRAIN_LOG_FILE;

/// File name of the lock inside a run directory; it holds the writing process's pid.
pub const LOCK_FILE: &str = "advland.lock";
/// File name of the run's resolved settings inside a run directory.
pub const CONFIG_FILE: &str = "config.resolved.json";

/// What a training run may find in its directory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunDirMode {
    /// A new run: the directory must be absent or empty.
    Fresh,
    /// A new run in place of the one there: the directory is cleared first, if it is empty or
    /// looks like a run directory (never an arbitrary directory).
    Overwrite,
    /// Continue the run there from its last checkpoint; nothing is removed.
    Resume,
}

/// A run directory held by this process (see the module docs).
#[derive(Debug)]
pub struct RunDir {
    path: PathBuf,
    mode: RunDirMode,
    /// Holds the advisory lock until dropped.
    _lock: LockFile,
    created: bool,
    finished: bool,
}

impl RunDir {
    /// Checks `path` against the rules of `mode`, creates it if needed, locks it and, under
    /// [`RunDirMode::Overwrite`], clears it. A refused directory is left exactly as it was.
    ///
    /// # Errors
    /// [`Error::RunDir`] naming the directory, what it holds and the rule; IO errors.
    pub fn open(path: &Path, mode: RunDirMode) -> Result<Self> {
        let existed = path.is_dir();
        // Read-only checks first, so that a refused directory is not touched at all.
        Self::check(path, mode)?;
        if !existed {
            advland_schema::create_dir(path)?;
        }
        let lock = lock(path)?;
        // Again under the lock: another process may have written between the first look and
        // taking the lock.
        admit(path, mode)?;
        match mode {
            RunDirMode::Fresh => {}
            RunDirMode::Overwrite => clear(path, false)?,
            // Checkpoints a killed run was writing; nobody else writes here while we hold the lock.
            RunDirMode::Resume => remove_temporary_checkpoints(path)?,
        }
        Ok(Self {
            path: path.to_owned(),
            mode,
            _lock: lock,
            created: !existed,
            finished: false,
        })
    }

    /// Whether [`RunDir::open`] would accept `path` as `mode` now, without creating, locking
    /// or writing anything.
    ///
    /// # Errors
    /// As [`RunDir::open`].
    pub fn check(path: &Path, mode: RunDirMode) -> Result<()> {
        match std::fs::metadata(path) {
            Ok(m) if m.is_dir() => {
                check_not_held(path)?;
                admit(path, mode)
            }
            Ok(_) => Err(refuse(
                path,
                RunDirIssue::NotADirectory,
                "exists and is not a directory".into(),
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
                let file = path
                    .ancestors()
                    .skip(1)
                    .find(|a| a.is_file())
                    .unwrap_or(path);
                Err(refuse(
                    path,
                    RunDirIssue::NotADirectory,
                    format!("cannot be created: its parent {} is a file", file.display()),
                ))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match mode {
                RunDirMode::Resume => Err(refuse(
                    path,
                    RunDirIssue::NothingToResume,
                    "does not exist, so there is no run to resume".into(),
                )),
                RunDirMode::Fresh | RunDirMode::Overwrite => Ok(()),
            },
            Err(source) => Err(io_error(path, source)),
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The run ended as it should: keep everything and release the lock.
    pub fn finish(mut self) {
        self.finished = true;
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        // A checkpoint makes the run resumable, so whatever holds one is kept.
        if self.finished || self.mode == RunDirMode::Resume || last_checkpoint(&self.path).is_ok() {
            return;
        }
        // Best effort: the error that ended the run is the one to report, and Drop cannot
        // report a second. Everything inside is ours: the directory was empty (or cleared)
        // when we locked it and nobody else writes while we hold the lock.
        if self.created {
            let _ = std::fs::remove_dir_all(&self.path);
        } else {
            let _ = clear(&self.path, true);
        }
    }
}

fn refuse(path: &Path, issue: RunDirIssue, reason: String) -> Error {
    Error::RunDir {
        path: path.to_owned(),
        issue,
        reason,
    }
}

fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_owned(),
        source,
    }
}

/// The names in `path` other than the lock file, sorted.
fn entries(path: &Path) -> Result<Vec<String>> {
    let mut names = std::fs::read_dir(path)
        .map_err(|source| io_error(path, source))?
        .map(|entry| {
            entry
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .map_err(|source| io_error(path, source))
        })
        .filter(|name| !matches!(name, Ok(n) if n == LOCK_FILE))
        .collect::<Result<Vec<_>>>()?;
    names.sort();
    Ok(names)
}

/// `a, b, c and 4 more`, directories marked with a slash.
fn describe(path: &Path, names: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut shown: Vec<String> = names
        .iter()
        .take(SHOWN)
        .map(|n| {
            if path.join(n).is_dir() {
                format!("{n}/")
            } else {
                n.clone()
            }
        })
        .collect();
    if names.len() > SHOWN {
        shown.push(format!("and {} more", names.len() - SHOWN));
    }
    shown.join(", ")
}

/// Whether `path` holds what only advland writes. `checkpoints/` alone is too common a name
/// to count: it must hold a checkpoint.
fn looks_like_run(path: &Path, names: &[String]) -> bool {
    names
        .iter()
        .any(|n| n == CONFIG_FILE || n == TRAIN_LOG_FILE)
        || last_checkpoint(path).is_ok()
}

/// The rules of `mode` for what `path` holds.
fn admit(path: &Path, mode: RunDirMode) -> Result<()> {
    let names = entries(path)?;
    match mode {
        RunDirMode::Fresh if !names.is_empty() => Err(refuse(
            path,
            RunDirIssue::NotEmpty,
            format!(
                "is not empty (it holds {}); a new run starts only in a new or empty directory, \
                 so that its checkpoints and log never mix with another run's",
                describe(path, &names)
            ),
        )),
        RunDirMode::Overwrite if !names.is_empty() && !looks_like_run(path, &names) => Err(refuse(
            path,
            RunDirIssue::NotARun,
            format!(
                "holds {} but none of {CONFIG_FILE}, {TRAIN_LOG_FILE} or \
                     {CHECKPOINTS_DIR}/epoch-NNNN/{CHECKPOINT_FILE}, so it does not look like an \
                     advland run directory and is not deleted",
                describe(path, &names)
            ),
        )),
        RunDirMode::Resume if last_checkpoint(path).is_err() => Err(refuse(
            path,
            RunDirIssue::NothingToResume,
            format!(
                "holds no finished checkpoint ({CHECKPOINTS_DIR}/epoch-NNNN/{CHECKPOINT_FILE}): \
                 no epoch of its run finished, so there is nothing to resume"
            ),
        )),
        _ => Ok(()),
    }
}

/// Fails if another process holds the lock of `path`, without creating anything.
fn check_not_held(path: &Path) -> Result<()> {
    if LockFile::is_held(&path.join(LOCK_FILE))? {
        return Err(in_use(path));
    }
    Ok(())
}

/// Takes the lock of `path`; the lock file (with this process's pid) stays after the run,
/// since removing it would race with the next run's open.
fn lock(path: &Path) -> Result<LockFile> {
    LockFile::try_acquire(&path.join(LOCK_FILE), false)?.ok_or_else(|| in_use(path))
}

fn in_use(path: &Path) -> Error {
    let lock_path = path.join(LOCK_FILE);
    refuse(
        path,
        RunDirIssue::InUse,
        format!(
            "is in use by {}, which holds the lock {}; wait for it to finish or stop it",
            LockFile::holder(&lock_path),
            lock_path.display()
        ),
    )
}

/// Removes everything in `path` (symbolic links themselves, not their targets), keeping the
/// lock file unless `lock_too`.
fn clear(path: &Path, lock_too: bool) -> Result<()> {
    let mut names = entries(path)?;
    if lock_too {
        names.push(LOCK_FILE.to_owned());
    }
    for name in names {
        let entry = path.join(name);
        let removed = match std::fs::symlink_metadata(&entry) {
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(&entry),
            Ok(_) => std::fs::remove_file(&entry),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(e),
        };
        removed.map_err(|source| io_error(&entry, source))?;
    }
    Ok(())
}

fn remove_temporary_checkpoints(path: &Path) -> Result<()> {
    let checkpoints = path.join(CHECKPOINTS_DIR);
    let Ok(read) = std::fs::read_dir(&checkpoints) else {
        return Ok(());
    };
    for entry in read {
        let entry = entry.map_err(|source| io_error(&checkpoints, source))?;
        if is_temporary(&entry.file_name().to_string_lossy()) {
            let p = entry.path();
            std::fs::remove_dir_all(&p).map_err(|source| io_error(&p, source))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(path: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(path)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn issue(err: &Error) -> RunDirIssue {
        match err {
            Error::RunDir { issue, .. } => *issue,
            other => panic!("not a run directory error: {other}"),
        }
    }

    #[test]
    fn a_new_run_refuses_a_non_empty_directory_and_touches_nothing() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), b"mine").unwrap();
        let err = RunDir::open(dir.path(), RunDirMode::Fresh).unwrap_err();
        assert_eq!(issue(&err), RunDirIssue::NotEmpty);
        assert!(err.to_string().contains("notes.txt"), "{err}");
        assert_eq!(listing(dir.path()), ["notes.txt"]);
        let err = RunDir::open(dir.path(), RunDirMode::Overwrite).unwrap_err();
        assert_eq!(issue(&err), RunDirIssue::NotARun);
        let err = RunDir::open(dir.path(), RunDirMode::Resume).unwrap_err();
        assert_eq!(issue(&err), RunDirIssue::NothingToResume);
        assert_eq!(listing(dir.path()), ["notes.txt"]);
    }

    #[test]
    fn a_second_holder_is_refused_naming_the_pid() {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        let held = RunDir::open(&run, RunDirMode::Fresh).unwrap();
        for mode in [RunDirMode::Fresh, RunDirMode::Overwrite, RunDirMode::Resume] {
            let err = RunDir::open(&run, mode).unwrap_err();
            assert_eq!(issue(&err), RunDirIssue::InUse, "{mode:?}");
            let text = err.to_string();
            assert!(
                text.contains(&format!("pid {}", std::process::id())) && text.contains(LOCK_FILE),
                "{text}"
            );
        }
        drop(held);
        assert!(
            !run.exists(),
            "a run without checkpoints left its directory"
        );
    }

    #[test]
    fn a_failed_run_empties_a_directory_it_did_not_create() {
        let dir = tempfile::tempdir().unwrap();
        let run = RunDir::open(dir.path(), RunDirMode::Fresh).unwrap();
        std::fs::write(dir.path().join(CONFIG_FILE), b"{}").unwrap();
        std::fs::create_dir_all(dir.path().join("checkpoints/.tmp-epoch-0001-1")).unwrap();
        drop(run);
        assert!(dir.path().is_dir());
        assert_eq!(listing(dir.path()), Vec::<String>::new());
    }

    #[test]
    fn overwrite_clears_a_run_directory_but_keeps_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(TRAIN_LOG_FILE), b"{}").unwrap();
        std::fs::create_dir_all(dir.path().join("checkpoints/epoch-0001")).unwrap();
        let run = RunDir::open(dir.path(), RunDirMode::Overwrite).unwrap();
        assert_eq!(listing(dir.path()), [LOCK_FILE]);
        run.finish();
        assert_eq!(listing(dir.path()), [LOCK_FILE]);
        // The lock file alone does not make a directory non-empty.
        RunDir::open(dir.path(), RunDirMode::Fresh)
            .unwrap()
            .finish();
    }
}
