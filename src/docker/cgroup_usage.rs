//! A container's memory and CPU use read from its cgroup's files, for an engine on this host.
//! The engine's stats call answers at its collector's next tick, up to a second away, and a
//! second container's answer waits for the tick after the first's: the usage report at the end
//! of every job would cost about a second. The files answer at once. Paths are built from the
//! container's id as the engine gives it (64 hex digits, checked) under the cgroup roots the
//! engine's two cgroup drivers use; anything else (another cgroup parent, a rootless or VM
//! engine, files missing) gives `None`, and the caller asks the engine.

use std::path::{Path, PathBuf};

/// What the files say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Read {
    pub memory_peak: Option<u64>,
    pub memory_now: u64,
    pub cpu_ns: u64,
}

const ROOT: &str = "/sys/fs/cgroup";

/// The usage of container `id`, from the cgroup files under `root` (normally [`ROOT`]).
pub fn read(id: &str) -> Option<Read> {
    read_under(Path::new(ROOT), id)
}

fn read_under(root: &Path, id: &str) -> Option<Read> {
    if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let places = [
        format!("docker/{id}"),
        format!("system.slice/docker-{id}.scope"),
    ];
    places
        .iter()
        .find_map(|place| unified(&root.join(place)).or_else(|| per_controller(root, place)))
}

/// cgroup v2: one directory with every controller's files.
fn unified(dir: &Path) -> Option<Read> {
    let memory_now = number(&dir.join("memory.current"))?;
    let usage_usec = field(&dir.join("cpu.stat"), "usage_usec")?;
    Some(Read {
        // memory.peak came with Linux 5.19.
        memory_peak: number(&dir.join("memory.peak")),
        memory_now,
        cpu_ns: usage_usec.saturating_mul(1000),
    })
}

/// cgroup v1: a directory per controller.
fn per_controller(root: &Path, place: &str) -> Option<Read> {
    let memory: PathBuf = root.join("memory").join(place);
    let cpu: PathBuf = root.join("cpuacct").join(place);
    Some(Read {
        memory_peak: number(&memory.join("memory.max_usage_in_bytes")),
        memory_now: number(&memory.join("memory.usage_in_bytes"))?,
        cpu_ns: number(&cpu.join("cpuacct.usage"))?,
    })
}

/// The most of a cgroup file read: these hold a number or a few lines of them.
const FILE_READ: u64 = 4096;

fn text(path: &Path) -> Option<String> {
    use std::io::Read as _;
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(FILE_READ)
        .read_to_end(&mut bytes)
        .ok()?;
    String::from_utf8(bytes).ok()
}

fn number(path: &Path) -> Option<u64> {
    text(path)?.trim().parse().ok()
}

/// `name VALUE` from a flat-keyed file such as `cpu.stat`.
fn field(path: &Path, name: &str) -> Option<u64> {
    text(path)?.lines().find_map(|line| {
        line.strip_prefix(name)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "644131dd840f697719e47ff01ab260f921374b17b9cf7977d1d24cc992e2519f";

    fn write(path: PathBuf, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn v1_cgroupfs_files_are_read() {
        let root = tempfile::tempdir().unwrap();
        let memory = root.path().join(format!("memory/docker/{ID}"));
        write(memory.join("memory.max_usage_in_bytes"), "3776512\n");
        write(memory.join("memory.usage_in_bytes"), "1024\n");
        write(
            root.path()
                .join(format!("cpuacct/docker/{ID}/cpuacct.usage")),
            "123456789\n",
        );
        let read = read_under(root.path(), ID).unwrap();
        assert_eq!(
            read,
            Read {
                memory_peak: Some(3776512),
                memory_now: 1024,
                cpu_ns: 123456789
            }
        );
    }

    #[test]
    fn v2_systemd_files_are_read_and_a_missing_peak_is_none() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join(format!("system.slice/docker-{ID}.scope"));
        write(dir.join("memory.current"), "2048\n");
        write(
            dir.join("cpu.stat"),
            "usage_usec 1500\nuser_usec 1000\nsystem_usec 500\n",
        );
        let read = read_under(root.path(), ID).unwrap();
        assert_eq!(
            read,
            Read {
                memory_peak: None,
                memory_now: 2048,
                cpu_ns: 1_500_000
            }
        );
        write(dir.join("memory.peak"), "4096\n");
        assert_eq!(read_under(root.path(), ID).unwrap().memory_peak, Some(4096));
    }

    /// Only a 64-hex id names a place; no files, no answer (the engine is asked then).
    #[test]
    fn other_ids_and_missing_files_give_none() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(read_under(root.path(), ID), None);
        for id in ["../../etc", "abc", &format!("{}/..", &ID[..61])] {
            assert_eq!(read_under(root.path(), id), None, "{id}");
        }
    }
}
