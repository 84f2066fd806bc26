//! The processor a report's numbers were computed on. On one processor advland's results are
//! the same bit for bit whatever the thread count; across processors they are not, because
//! the CPU kernels (burn-flex's matrix products through the `gemm` crate, its SIMD reductions)
//! size their blocks by the caches and pick their instructions when the process starts, so sums
//! run in another order. Differences at rounding level in the first steps then grow through
//! training. A report names its processor so that a reader comparing numbers can tell which
//! kind of difference they are looking at.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The processor and the share of it a process computed on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Host {
    /// The processor's model name (`model name` of `/proc/cpuinfo`); absent where the system
    /// does not say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// Of the instruction sets the CPU kernels choose between at run time, those the processor
    /// has (x86-64: `fma`, `avx2`, `avx512f`; aarch64: `neon`).
    #[serde(default)]
    pub simd: Vec<String>,
    /// The first core's caches in KiB by level (`l1d`, `l1i`, `l2`, `l3`: sysfs's
    /// `cpu0/cache`); empty where the system does not say.
    #[serde(default)]
    pub cache_kib: BTreeMap<String, u64>,
    /// Threads the process computed on (its thread pool's size).
    pub threads: usize,
}

const CPU_INFO: &str = "/proc/cpuinfo";
const CACHES: &str = "/sys/devices/system/cpu/cpu0/cache";

impl Host {
    /// This machine, computing on `threads` threads.
    pub fn detect(threads: usize) -> Self {
        Self {
            cpu: std::fs::read_to_string(CPU_INFO)
                .ok()
                .and_then(|text| cpu_model(&text)),
            simd: simd(),
            cache_kib: caches(Path::new(CACHES)),
            threads,
        }
    }
}

/// The first `model name` of a `/proc/cpuinfo` text (x86), or its `Model`/`Hardware` line
/// (ARM boards name no `model name`).
fn cpu_model(cpuinfo: &str) -> Option<String> {
    ["model name", "Model", "Hardware"].iter().find_map(|key| {
        cpuinfo.lines().find_map(|line| {
            let (k, v) = line.split_once(':')?;
            (k.trim() == *key && !v.trim().is_empty()).then(|| v.trim().to_owned())
        })
    })
}

#[cfg(target_arch = "x86_64")]
fn simd() -> Vec<String> {
    [
        ("fma", std::arch::is_x86_feature_detected!("fma")),
        ("avx2", std::arch::is_x86_feature_detected!("avx2")),
        ("avx512f", std::arch::is_x86_feature_detected!("avx512f")),
    ]
    .into_iter()
    .filter(|(_, has)| *has)
    .map(|(name, _)| name.to_owned())
    .collect()
}

#[cfg(target_arch = "aarch64")]
fn simd() -> Vec<String> {
    if std::arch::is_aarch64_feature_detected!("neon") {
        vec!["neon".to_owned()]
    } else {
        Vec::new()
    }
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn simd() -> Vec<String> {
    Vec::new()
}

/// The caches sysfs lists under `dir` (`index*/{level,type,size}`), by level name.
fn caches(dir: &Path) -> BTreeMap<String, u64> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return BTreeMap::new();
    };
    let read = |index: &Path, file: &str| {
        std::fs::read_to_string(index.join(file)).map(|s| s.trim().to_owned())
    };
    entries
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("index"))
        .filter_map(|e| {
            let index = e.path();
            let level = read(&index, "level").ok()?;
            let kind = read(&index, "type").ok()?;
            let size = cache_size_kib(&read(&index, "size").ok()?)?;
            Some((cache_name(&level, &kind), size))
        })
        .collect()
}

/// `l1d`, `l1i`, `l2`: a cache's level with `d`/`i` for a data or instruction cache.
fn cache_name(level: &str, kind: &str) -> String {
    let suffix = match kind {
        "Data" => "d",
        "Instruction" => "i",
        _ => "",
    };
    format!("l{level}{suffix}")
}

/// A sysfs cache size (`48K`, `2048K`, `480M`, or bytes) in KiB.
fn cache_size_kib(size: &str) -> Option<u64> {
    let (digits, scale) = match size.as_bytes().last()? {
        b'K' => (&size[..size.len() - 1], 1),
        b'M' => (&size[..size.len() - 1], 1024),
        b'G' => (&size[..size.len() - 1], 1024 * 1024),
        _ => return size.parse::<u64>().ok().map(|bytes| bytes / 1024),
    };
    digits.parse::<u64>().ok().map(|n| n * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cpu_model_is_the_first_model_name() {
        let x86 = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel\t\t: 143\nmodel name\t: Intel(R) \
                   Xeon(R) Processor\nprocessor\t: 1\nmodel name\t: Other\n";
        assert_eq!(
            cpu_model(x86).as_deref(),
            Some("Intel(R) Xeon(R) Processor")
        );
        let arm = "processor\t: 0\nBogoMIPS\t: 108.00\n\nHardware\t: BCM2835\nModel\t\t: \
                   Raspberry Pi 4 Model B Rev 1.4\n";
        assert_eq!(
            cpu_model(arm).as_deref(),
            Some("Raspberry Pi 4 Model B Rev 1.4")
        );
        assert_eq!(cpu_model("processor\t: 0\nmodel name\t:\n"), None);
        assert_eq!(cpu_model(""), None);
    }

    #[test]
    fn cache_sizes_read_in_kib() {
        assert_eq!(cache_size_kib("48K"), Some(48));
        assert_eq!(cache_size_kib("480M"), Some(480 * 1024));
        assert_eq!(cache_size_kib("1G"), Some(1024 * 1024));
        assert_eq!(cache_size_kib("65536"), Some(64));
        assert_eq!(cache_size_kib("K"), None);
        assert_eq!(cache_size_kib(""), None);
        assert_eq!(cache_size_kib("big"), None);
    }

    #[test]
    fn caches_are_named_by_level_and_kind_from_a_sysfs_tree() {
        let dir = tempfile::tempdir().unwrap();
        for (index, level, kind, size) in [
            ("index0", "1", "Data", "48K"),
            ("index1", "1", "Instruction", "32K"),
            ("index2", "2", "Unified", "2048K"),
            ("index3", "3", "Unified", "480M"),
        ] {
            let d = dir.path().join(index);
            std::fs::create_dir(&d).unwrap();
            std::fs::write(d.join("level"), format!("{level}\n")).unwrap();
            std::fs::write(d.join("type"), format!("{kind}\n")).unwrap();
            std::fs::write(d.join("size"), format!("{size}\n")).unwrap();
        }
        // Not a cache, and a cache whose size cannot be read: both left out.
        std::fs::create_dir(dir.path().join("uevent")).unwrap();
        let broken = dir.path().join("index4");
        std::fs::create_dir(&broken).unwrap();
        std::fs::write(broken.join("level"), "4\n").unwrap();
        std::fs::write(broken.join("type"), "Unified\n").unwrap();
        let found = caches(dir.path());
        let expected: BTreeMap<String, u64> =
            [("l1d", 48), ("l1i", 32), ("l2", 2048), ("l3", 480 * 1024)]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect();
        assert_eq!(found, expected);
        assert!(caches(&dir.path().join("absent")).is_empty());
    }

    #[test]
    fn a_host_round_trips_through_json_and_may_say_little() {
        let host = Host::detect(3);
        assert_eq!(host.threads, 3);
        let json = serde_json::to_string(&host).unwrap();
        assert_eq!(serde_json::from_str::<Host>(&json).unwrap(), host);
        let sparse: Host = serde_json::from_str(r#"{"threads": 1}"#).unwrap();
        assert_eq!(
            (sparse.cpu, sparse.simd.len(), sparse.threads),
            (None, 0, 1)
        );
        assert!(serde_json::from_str::<Host>(r#"{"threads": 1, "gpu": "x"}"#).is_err());
    }
}
