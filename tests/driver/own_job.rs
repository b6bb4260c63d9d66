//! Helpers for tests whose jobs keep volumes by design (an admin's named volume, the project's
//! `cache_dir`): a job of a project of the test's own, [`OwnJob`] removing those volumes after
//! the job however the test ends, and reading `docker inspect` and capability masks.

use serde_json::Value;

use crate::harness::{assert_volume_gone, docker, Job};

/// A job of a project only this test uses (`tag` tells the tests that use this apart).
pub fn own_job(mode: &str, config: &str, tag: u32) -> Job {
    let project = format!("66{tag}{:04}", std::process::id() % 10_000);
    Job::with_config(mode, config).project(&project)
}

/// `docker inspect` of a container: its whole JSON.
pub fn inspect(name: &str) -> Value {
    let text = docker(&["inspect", name]);
    let mut all: Vec<Value> = serde_json::from_str(&text).unwrap();
    all.remove(0)
}

pub fn strings(value: &Value) -> Vec<String> {
    let list = value.as_array().cloned().unwrap_or_default();
    list.iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// A job and the volumes no cleanup removes by design (the admin's named ones, the project's
/// `cache_dir`): when it goes, passed or failed, the job goes first (its own drop cleans up
/// after a failure), then those volumes, which a container still using them would keep.
pub struct OwnJob {
    job: Option<Job>,
    volumes: Vec<String>,
}

impl OwnJob {
    pub fn new(job: Job, named: &[&str]) -> OwnJob {
        let key = job.key();
        let (slot_stem, _) = key.rsplit_once("-j").unwrap();
        let mut volumes: Vec<String> = named.iter().map(|v| v.to_string()).collect();
        volumes.push(format!("{slot_stem}-cache"));
        OwnJob {
            job: Some(job),
            volumes,
        }
    }
}

impl std::ops::Deref for OwnJob {
    type Target = Job;
    fn deref(&self) -> &Job {
        self.job.as_ref().unwrap()
    }
}

impl Drop for OwnJob {
    fn drop(&mut self) {
        drop(self.job.take());
        for volume in &self.volumes {
            let rm = ["volume", "rm", "-f", volume.as_str()];
            let _ = std::process::Command::new("docker").args(rm).output();
        }
    }
}

/// After cleanup: nothing labelled with the job remains and the named volumes survive it (the
/// admin's); then they and the project's kept `cache_dir` volume go, and nothing is left.
#[track_caller]
pub fn cleaned_up(job: OwnJob, named: &[&str]) {
    job.cleanup().ok();
    job.assert_nothing_left();
    // Made by the engine without labels: gc, which removes only what carries a job's
    // labels, leaves it as cleanup did.
    for volume in named {
        let labels = docker(&["volume", "inspect", "--format", "{{json .Labels}}", volume]);
        assert!(matches!(labels.trim(), "null" | "{}"), "{volume}: {labels}");
    }
    let volumes = job.volumes.clone();
    drop(job);
    for volume in volumes {
        assert_volume_gone(&volume);
    }
}

/// Whether bit `n` of the hex capability mask on the line `field` of /proc/self/status is set,
/// as the stage printed `field:\t<hex>`.
pub fn capability(output: &str, field: &str, n: u32) -> bool {
    let line = output
        .lines()
        .find(|l| l.starts_with(field))
        .unwrap_or_else(|| panic!("{field}: {output}"));
    let hex = line.split_whitespace().last().unwrap();
    (u64::from_str_radix(hex, 16).unwrap() >> n) & 1 == 1
}
