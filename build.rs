//! Records the git revision the binary is built from, so every report can name the source
//! its numbers came from (`meta.provenance.source_revision`, `-dirty` when tracked files had
//! uncommitted changes). Outside a git checkout (a source archive) nothing is recorded.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

fn main() {
    let (Some(revision), Some(git_dir), Some(common_dir)) = (
        git(&["rev-parse", "HEAD"]),
        git(&["rev-parse", "--git-dir"]),
        git(&["rev-parse", "--git-common-dir"]),
    ) else {
        return;
    };
    // A commit moves HEAD or a branch ref; an edit of a tracked file changes the sources, and
    // staging one the index.
    for path in [
        format!("{git_dir}/HEAD"),
        format!("{git_dir}/index"),
        format!("{common_dir}/refs/heads"),
        format!("{common_dir}/packed-refs"),
        "crates".to_owned(),
        "Cargo.toml".to_owned(),
        "Cargo.lock".to_owned(),
    ] {
        println!("cargo::rerun-if-changed={path}");
    }
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|changes| !changes.is_empty());
    let suffix = if dirty { "-dirty" } else { "" };
    println!("cargo::rustc-env=ADVLAND_SOURCE_REVISION={revision}{suffix}");
}
