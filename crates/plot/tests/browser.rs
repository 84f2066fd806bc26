//! Opens the rendered `index.html` in headless Chromium and checks that every figure decoded.
//! Skipped, with a message, where Chromium is not installed (`apt-get install chromium`).

// A test helper that unwraps fails the test, which is what it is for.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    let fixed = PathBuf::from("/usr/bin/chromium");
    if fixed.is_file() {
        return Some(fixed);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("chromium"))
        .find(|p| p.is_file())
}

/// The page after load, as Chromium's DOM dump shows it.
fn dom(chromium: &Path, index: &Path, profile: &Path) -> String {
    let url = format!("file://{}", index.canonicalize().unwrap().display());
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--virtual-time-budget=10000", "--dump-dom"])
        .arg(&url)
        .output()
        .expect("running chromium");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `data-figures` value of the page after load.
fn figures_attribute(chromium: &Path, index: &Path, profile: &Path) -> String {
    let dom = dom(chromium, index, profile);
    let start = dom.find("data-figures=\"").unwrap_or_else(|| {
        panic!(
            "no data-figures in the DOM of {}: {dom:.2000}",
            index.display()
        )
    });
    let rest = &dom[start + "data-figures=\"".len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

#[test]
fn every_figure_renders_in_headless_chromium() {
    let Some(chromium) = chromium() else {
        eprintln!(
            "SKIPPED every_figure_renders_in_headless_chromium: no chromium at /usr/bin/chromium \
             or on PATH (install it with `apt-get install -y chromium`)"
        );
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let inputs = common::write_inputs(tmp.path());
    let out = tmp.path().join("out");
    let summary = advland_plot::render(&[inputs], &out).unwrap();
    let n = summary.figures.len() / 2;
    assert!(n > 10);
    let got = figures_attribute(&chromium, &summary.index, &tmp.path().join("profile"));
    assert_eq!(
        got,
        format!("{n}/{n}"),
        "figures that decoded / figures on the page"
    );

    // The demo's page opens on its results: the first section holds the accuracy table,
    // the headline measures and the L∞-next-to-L2 surfaces; the file list comes after.
    let page = dom(&chromium, &summary.index, &tmp.path().join("profile-order"));
    let at = |needle: &str| {
        page.find(needle)
            .unwrap_or_else(|| panic!("no {needle} in the DOM: {page:.2000}"))
    };
    let first_section = &page[at("<section")..];
    assert!(
        first_section.starts_with("<section id=\"results\">"),
        "the page opens on {:.80}",
        first_section
    );
    let files = at("<section id=\"files\">");
    for needle in [
        "Test accuracy",
        "Headline measures",
        "--compare-2d.svg",
        "--compare-1d.svg",
    ] {
        assert!(at(needle) < files, "{needle} is not above the file list");
    }
    assert!(
        at("<td>linf</td>") < files,
        "the demo's models are not in the results"
    );

    // The check itself must be able to fail: a corrupt SVG is counted as broken.
    let first_svg = summary
        .figures
        .iter()
        .find(|p| p.extension().is_some_and(|e| e == "svg"))
        .unwrap();
    fs_err::write(first_svg, "<svg this is not xml").unwrap();
    let got = figures_attribute(&chromium, &summary.index, &tmp.path().join("profile2"));
    assert_eq!(got, format!("{}/{n}", n - 1));
}
