//! Resumable surfaces: the points of a [`SurfaceRun`] stream to a partial file next to the
//! report (`<out>.partial`: a header that fingerprints the whole computation, then one JSON
//! line per grid point), so a killed run continues where it stopped when the same computation
//! is started again; the report itself is written only when the shard is complete.
//!
//! ```text
//! {"advland_surface_partial":2,"fingerprint":"…","shard":"0/1"}
//! {"k":3,"v":[[0.52,0.81]]}          (loss, accuracy) per objective, in completion order
//! ```
//!
//! [`SurfaceOutput`] holds `<out>.lock` from before the partial file is read until the report
//! is written, so two processes never interleave points into one partial file or rename
//! their reports over each other.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

use advland_schema::{LockFile, Report, Shard, SurfaceReport, write_atomic, write_json};
use advland_train::Observer;
use serde::{Deserialize, Serialize};

use super::{PointValues, SurfaceConfig, SurfaceRun};
use crate::error::{Error, Result};
use crate::subject::Measured;

/// Version of the partial-file layout (2: the shard is recorded beside the fingerprint).
const PARTIAL_VERSION: u32 = 2;

/// The phase [`compute_resumable`] reports progress under.
pub const PROGRESS_PHASE: &str = "surface";

/// The partial file of the report `out`: `<out>.partial`.
pub fn partial_path(out: &Path) -> PathBuf {
    sibling(out, ".partial")
}

/// The lock file of the report `out`: `<out>.lock`.
pub fn lock_path(out: &Path) -> PathBuf {
    sibling(out, ".lock")
}

/// `out` with `suffix` appended to its file name.
fn sibling(out: &Path, suffix: &str) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    out.with_file_name(name)
}

#[derive(Serialize, Deserialize)]
struct Header {
    advland_surface_partial: u32,
    fingerprint: String,
    shard: Shard,
}

#[derive(Serialize, Deserialize)]
struct Line {
    k: usize,
    /// (loss, accuracy) per objective; accuracy absent for objectives without one.
    v: Vec<(f64, Option<f64>)>,
}

/// `path`'s IO failure. fs_err's messages name the file already; the reason keeps only what
/// went wrong, as [`Error::File`] names the file itself.
fn io_error(path: &Path, e: &std::io::Error) -> Error {
    let reason = std::error::Error::source(e).map_or_else(|| e.to_string(), ToString::to_string);
    Error::File {
        path: path.to_owned(),
        reason,
    }
}

/// A schema failure (writing, locking) as an analysis error.
fn schema_error(e: advland_schema::Error) -> Error {
    Error::Train(e.into())
}

/// A partial file open for appending points.
#[derive(Debug)]
pub struct PartialFile {
    path: PathBuf,
    stream: std::io::BufWriter<fs_err::File>,
}

impl PartialFile {
    /// Points already computed by an interrupted run with the same `fingerprint` and `shard`,
    /// each with `objectives` values; none when `path` does not exist or holds no header. A
    /// last line cut short by the interruption is ignored (that point is recomputed).
    ///
    /// # Errors
    /// [`Error::File`]: a file left by a computation with other settings (it is neither
    /// continued nor overwritten: restart to discard it), or a read failure.
    pub fn read(
        path: &Path,
        fingerprint: &str,
        shard: Shard,
        objectives: usize,
    ) -> Result<BTreeMap<usize, PointValues>> {
        let mut done = BTreeMap::new();
        let Ok(file) = fs_err::File::open(path) else {
            return Ok(done);
        };
        let mut lines = std::io::BufReader::new(file).lines();
        let header: Option<Header> = lines
            .next()
            .transpose()
            .map_err(|e| io_error(path, &e))?
            .and_then(|l| serde_json::from_str(&l).ok());
        match header {
            Some(h)
                if h.advland_surface_partial == PARTIAL_VERSION
                    && h.fingerprint == fingerprint
                    && h.shard == shard => {}
            Some(_) => {
                return Err(Error::File {
                    path: path.to_owned(),
                    reason: "left by an interrupted run with other settings; run the same \
                             command to continue it, or add --restart to discard it"
                        .to_owned(),
                });
            }
            None => return Ok(done),
        }
        for line in lines {
            let line = line.map_err(|e| io_error(path, &e))?;
            match serde_json::from_str::<Line>(&line) {
                Ok(l) if l.v.len() == objectives && shard.owns(l.k) => {
                    done.insert(l.k, l.v);
                }
                _ => break,
            }
        }
        Ok(done)
    }

    /// Rewrites the partial file at `path` as its header plus the points `done` (read back by
    /// [`PartialFile::read`], so a cut-short last line is dropped), then keeps it open for
    /// appending.
    ///
    /// # Errors
    /// [`Error::File`] or the schema's output errors, naming the file.
    pub fn open(
        path: &Path,
        fingerprint: &str,
        shard: Shard,
        done: &BTreeMap<usize, PointValues>,
    ) -> Result<Self> {
        let json = |e: serde_json::Error| Error::File {
            path: path.to_owned(),
            reason: e.to_string(),
        };
        let mut text = serde_json::to_string(&Header {
            advland_surface_partial: PARTIAL_VERSION,
            fingerprint: fingerprint.to_owned(),
            shard,
        })
        .map_err(json)?;
        text.push('\n');
        for (&k, v) in done {
            text.push_str(&serde_json::to_string(&Line { k, v: v.clone() }).map_err(json)?);
            text.push('\n');
        }
        write_atomic(path, text.as_bytes()).map_err(schema_error)?;
        let file = fs_err::OpenOptions::new()
            .append(true)
            .open(path)
            .map_err(|e| io_error(path, &e))?;
        Ok(Self {
            path: path.to_owned(),
            stream: std::io::BufWriter::new(file),
        })
    }

    /// Appends the values of grid point `k` as one line, flushed before returning, so an
    /// interruption loses at most the point being written.
    ///
    /// # Errors
    /// [`Error::File`] naming the file.
    pub fn append(&mut self, k: usize, values: &PointValues) -> Result<()> {
        let mut line = serde_json::to_string(&Line {
            k,
            v: values.clone(),
        })
        .map_err(|e| Error::File {
            path: self.path.clone(),
            reason: e.to_string(),
        })?;
        line.push('\n');
        self.stream
            .write_all(line.as_bytes())
            .and_then(|()| self.stream.flush())
            .map_err(|e| io_error(&self.path, &e))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// A surface computed through a partial file.
#[derive(Clone, Debug, PartialEq)]
pub struct Resumed {
    /// The report payload, its cost (of this process's points only) and data.
    pub measured: Measured<SurfaceReport>,
    /// Points read back from the partial file rather than computed.
    pub resumed: usize,
    /// The computation's fingerprint ([`SurfaceRun::fingerprint`]), which `merge` compares
    /// across shards.
    pub fingerprint: String,
}

impl Resumed {
    /// The configuration a report records (`meta.config`): `config` plus what this run found,
    /// `resumed_points` and the `fingerprint` that `merge` compares across shards.
    ///
    /// # Panics
    /// Never in practice: a [`SurfaceConfig`] is plain data that always serialises.
    pub fn recorded_config(&self, config: &SurfaceConfig) -> serde_json::Value {
        let mut recorded =
            serde_json::to_value(config).expect("a surface configuration serialises to JSON");
        recorded["resumed_points"] = self.resumed.into();
        recorded["fingerprint"] = self.fingerprint.clone().into();
        recorded
    }
}

/// Computes `run`'s points not yet in the partial file at `partial` (all of them when
/// `restart` discards it first), appending each to the file as soon as it is known; `observer`
/// hears [`PROGRESS_PHASE`] progress in points of the shard, resumed ones included. The
/// partial file is left in place: [`SurfaceOutput::write`] removes it with the report written.
///
/// Hold the report's lock ([`SurfaceOutput`]) while calling this: the partial file is not
/// safe against a second process.
///
/// # Errors
/// A partial file of another computation ([`PartialFile::read`]), file failures, and the
/// failures of [`SurfaceRun::evaluate`].
pub fn compute_resumable(
    run: SurfaceRun,
    partial: &Path,
    restart: bool,
    observer: &mut dyn Observer,
) -> Result<Resumed> {
    let fingerprint = run.fingerprint();
    if restart && partial.exists() {
        fs_err::remove_file(partial).map_err(|e| io_error(partial, &e))?;
    }
    let mut done = PartialFile::read(partial, &fingerprint, run.shard(), run.objectives())?;
    let resumed = done.len();
    let pending = run.pending(&done);
    let total = pending.len() + resumed;
    observer.progress(PROGRESS_PHASE, resumed, total);
    let mut stream = PartialFile::open(partial, &fingerprint, run.shard(), &done)?;
    let cost = run.evaluate(&pending, |k, values| {
        stream.append(k, &values)?;
        done.insert(k, values);
        observer.progress(PROGRESS_PHASE, done.len(), total);
        Ok(())
    })?;
    drop(stream);
    Ok(Resumed {
        measured: run.finish(&done, cost),
        resumed,
        fingerprint,
    })
}

/// The output path of one surface report, locked for this process (`<out>.lock`) until the
/// value is dropped, with its partial file.
#[derive(Debug)]
pub struct SurfaceOutput {
    out: PathBuf,
    _lock: LockFile,
}

impl SurfaceOutput {
    /// Takes the lock of the report `out`.
    ///
    /// # Errors
    /// Another process computing the same report (the message names it), or a lock file that
    /// cannot be created.
    pub fn lock(out: &Path) -> Result<Self> {
        let lock = LockFile::acquire(&lock_path(out), &format!("the surface {}", out.display()))
            .map_err(schema_error)?;
        Ok(Self {
            out: out.to_owned(),
            _lock: lock,
        })
    }

    /// The report's path.
    pub fn out(&self) -> &Path {
        &self.out
    }

    /// The partial file ([`partial_path`]).
    pub fn partial(&self) -> PathBuf {
        partial_path(&self.out)
    }

    /// [`compute_resumable`] through this report's partial file.
    ///
    /// # Errors
    /// As [`compute_resumable`].
    pub fn compute(
        &self,
        run: SurfaceRun,
        restart: bool,
        observer: &mut dyn Observer,
    ) -> Result<Resumed> {
        compute_resumable(run, &self.partial(), restart, observer)
    }

    /// Writes `report` atomically, then removes the partial file and releases the lock.
    ///
    /// # Errors
    /// The schema's output errors (the partial file stays, so the points are not lost), or
    /// a partial file that cannot be removed.
    pub fn write(self, report: &Report<SurfaceReport>) -> Result<()> {
        write_json(&self.out, report).map_err(schema_error)?;
        let partial = self.partial();
        fs_err::remove_file(&partial).map_err(|e| io_error(&partial, &e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_files_resume_and_ignore_cut_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json.partial");
        {
            let mut w = PartialFile::open(&path, "abc", Shard::WHOLE, &BTreeMap::new()).unwrap();
            w.append(3, &vec![(0.5, Some(1.0))]).unwrap();
            w.append(1, &vec![(0.25, Some(0.5))]).unwrap();
        }
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"k\":7,\"v\":[[0.1");
        std::fs::write(&path, text).unwrap();
        let done = PartialFile::read(&path, "abc", Shard::WHOLE, 1).unwrap();
        assert_eq!(done.keys().copied().collect::<Vec<_>>(), vec![1, 3]);
        // Reopening drops the cut line, so later appends stay parseable.
        let mut w = PartialFile::open(&path, "abc", Shard::WHOLE, &done).unwrap();
        w.append(7, &vec![(0.1, None)]).unwrap();
        drop(w);
        assert_eq!(
            PartialFile::read(&path, "abc", Shard::WHOLE, 1)
                .unwrap()
                .len(),
            3
        );
        let err = PartialFile::read(&path, "other", Shard::WHOLE, 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("--restart"), "{err}");
        assert!(err.contains("s.json.partial"), "{err}");
        let other_shard = Shard { index: 1, count: 2 };
        assert!(PartialFile::read(&path, "abc", other_shard, 1).is_err());
    }

    #[test]
    fn a_missing_partial_file_holds_no_points() {
        let dir = tempfile::tempdir().unwrap();
        let path = partial_path(&dir.path().join("s.json"));
        assert_eq!(path.file_name().unwrap(), "s.json.partial");
        assert!(
            PartialFile::read(&path, "abc", Shard::WHOLE, 1)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn a_second_lock_on_one_output_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("s.json");
        let held = SurfaceOutput::lock(&out).unwrap();
        let err = SurfaceOutput::lock(&out).unwrap_err().to_string();
        assert!(err.contains("in use"), "{err}");
        drop(held);
        assert!(SurfaceOutput::lock(&out).is_ok());
    }
}
