//! Every training settings file committed under `analysis/` must parse and validate.

// A test helper that unwraps fails the test, which is what it is for.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use advland_schema::TrainSettings;

#[test]
fn committed_settings_files_parse_and_validate() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../analysis");
    let mut seen = 0;
    for entry in fs_err::read_dir(&root).unwrap() {
        let path = entry.unwrap().path().join("train.toml");
        if path.exists() {
            let s = TrainSettings::from_toml_file(&path).unwrap();
            s.check()
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            seen += 1;
        }
    }
    assert!(seen > 0, "no settings files under {}", root.display());
}
