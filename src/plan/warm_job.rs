//! Warm job containers (the pure part, first step): what a job container started ahead of time
//! must be for a job to adopt it.
//!
//! Everything the engine fixes when it creates a container (image, command, environment,
//! mounts, labels, limits, options) is in the template, with the job's own key written as
//! `{key}`: a warm container is made under a key of its own, and the adopting job supplies
//! what must be per job at adoption (its environment through the stage scripts, its names by
//! renaming). So two jobs of one runner, slot, project and ref protection under the same
//! settings have one template, and any other difference gives another: the project's
//! `cache_dir` volume and the labels tie a warm container to one project and protection, the
//! slot is in the volume's name. What the job's labels alone say of one job (its key, id and
//! pipeline) is left out; the image's id is compared apart, as for warm sidecars.

use std::collections::BTreeMap;

use super::warm::{warm_labels, warm_token_name};
use super::{
    ContainerSpec, Mount, Plan, VolumeSpec, LABEL_JOB_ID, LABEL_JOB_KEY, LABEL_PIPELINE_ID,
    LABEL_ROLE,
};
use crate::settings::Mode;

/// What stands for the job's key in a template.
const KEY_MARK: &str = "{key}";

/// Label of a warm job container: the [`Plan::warm_job_template`] it was made for.
pub const LABEL_WARM_JOB_TEMPLATE: &str = "io.executor.warm-job-template";

/// A warm job set to create: what a job of the slot would have, made under a warm key
/// ([`super::warm::warm_key`]) for no job yet.
#[derive(Debug, Clone)]
pub struct WarmJobSet {
    pub key: String,
    pub network: String,
    pub network_labels: BTreeMap<String, String>,
    /// The builds volume (none mode); socket mode's builds directory is made by the engine.
    pub volumes: Vec<VolumeSpec>,
    /// Created last, removed by whoever takes the set (see `super::warm::WarmSet::token`).
    pub token: VolumeSpec,
    pub job: ContainerSpec,
    pub helper: Option<ContainerSpec>,
    /// Socket mode: the set's builds directory on the engine's host.
    pub builds_host_dir: Option<String>,
}

/// The job container's name in the warm set `key`.
pub fn warm_job_name(key: &str) -> String {
    format!("{key}-job")
}

/// The helper container's name in the warm set `key`.
pub fn warm_helper_name(key: &str) -> String {
    format!("{key}-helper")
}

/// How a warm job set is made from a plan beyond what the plan says (socket mode: the set's
/// directory mounted at the builds root). Raised whenever that changes, so a set another
/// version of the driver made (before an upgrade, or after a rollback) is replaced, not
/// adopted with a layout this version does not expect.
const WARM_JOB_LAYOUT: u32 = 2;

impl Plan {
    /// What the job container (and the helper container, with `helper.mode: container`) must
    /// be for this job to adopt ones started ahead of time; see the module's comment.
    pub fn warm_job_template(&self) -> String {
        let key = self.identity.key();
        let fixed = |spec: &ContainerSpec| {
            let mut spec = spec.clone();
            for job_only in [LABEL_JOB_KEY, LABEL_JOB_ID, LABEL_PIPELINE_ID] {
                spec.labels.remove(job_only);
            }
            // Every field, so one added later counts too: a difference keeps a job cold.
            format!("{spec:?}")
        };
        let template = serde_json::json!({
            "layout": WARM_JOB_LAYOUT,
            "mode": self.mode.as_str(),
            "mtu": self.mtu,
            "job": fixed(&self.job),
            "job_start": format!("{:?}", self.job_start),
            "helper": self.helper.as_ref().map(fixed),
            "helper_start": format!("{:?}", self.helper_start),
            "builds_host_dir": self.builds_host_dir,
            "login_dir": self.login_dir,
        });
        template.to_string().replace(&key, KEY_MARK)
    }
}

impl Plan {
    /// Why this job's containers cannot be started ahead of time, or `None` when they can. A
    /// dind job's are part of its warm sidecar's set (`dind.warm` with `warm.jobs`): only the
    /// job and helper containers of [`Plan::warm_job_set`] are used there, named and mounted
    /// as the sidecar's set names its network and volumes.
    pub fn warm_job_refusal(&self) -> Option<&'static str> {
        if self.mode == Mode::Dind && self.sidecar.is_none() {
            return Some("a dind plan without its sidecar");
        }
        None
    }

    /// The warm set this (finished) job's plan makes for the slot's next job, named `key`:
    /// every name, mount and variable that holds the job's key holds `key` instead, the labels
    /// that say which job it was are gone, and the job container carries the template. A
    /// spec that would still name the job is refused: nothing of one job reaches the next.
    pub fn warm_job_set(&self, key: &str) -> Result<WarmJobSet, String> {
        if let Some(why) = self.warm_job_refusal() {
            return Err(why.into());
        }
        let job_key = self.identity.key();
        let swap = |text: &str| text.replace(&job_key, key);
        let relabel = |labels: &BTreeMap<String, String>| warm_labels(labels, key);
        let rekey = |spec: &ContainerSpec, name: String| {
            let mut spec = spec.clone();
            spec.name = name;
            spec.network = swap(&spec.network);
            spec.labels = relabel(&spec.labels);
            for (_, value) in &mut spec.env {
                *value = swap(value);
            }
            for part in spec.cmd.iter_mut().chain(spec.entrypoint.iter_mut()) {
                for arg in part.iter_mut() {
                    *arg = swap(arg);
                }
            }
            for mount in &mut spec.mounts {
                match mount {
                    Mount::Volume { name, .. } => *name = swap(name),
                    // Socket mode's builds directory: the set's own, mounted at the builds
                    // root, where the adopting job's directory is made in it (`take_over`).
                    Mount::HostDir { path }
                        if Some(path.as_str()) == self.builds_host_dir.as_deref() =>
                    {
                        // Never over the container's `/`.
                        let root = match path.rsplit_once('/') {
                            Some((root, _)) if !root.is_empty() => root,
                            _ => return Err("the builds directory is not under a root".into()),
                        };
                        let at = Mount::HostDirAt {
                            source: swap(path),
                            target: root.to_string(),
                        };
                        *mount = at;
                    }
                    Mount::HostDir { path } => *path = swap(path),
                    Mount::HostDirAt { source, target } => {
                        *source = swap(source);
                        *target = swap(target);
                    }
                    Mount::Bind { source, target } | Mount::BindReadOnly { source, target } => {
                        *source = swap(source);
                        *target = swap(target);
                    }
                    Mount::Tmpfs { target } => *target = swap(target),
                }
            }
            let shown = format!("{spec:?}");
            match shown.contains(&job_key) {
                true => Err(format!(
                    "its {} container would still name the job",
                    spec.role.as_str()
                )),
                false => Ok(spec),
            }
        };
        let mut job = rekey(&self.job, warm_job_name(key))?;
        job.labels
            .insert(LABEL_WARM_JOB_TEMPLATE.into(), self.warm_job_template());
        let helper = match &self.helper {
            Some(helper) => Some(rekey(helper, warm_helper_name(key))?),
            None => None,
        };
        let volumes = self
            .volumes
            .iter()
            .map(|v| VolumeSpec {
                name: swap(&v.name),
                labels: relabel(&v.labels),
            })
            .collect();
        let mut token_labels = relabel(&self.network_labels);
        token_labels.insert(LABEL_ROLE.into(), "warm-token".into());
        Ok(WarmJobSet {
            key: key.to_string(),
            network: swap(&self.network),
            network_labels: relabel(&self.network_labels),
            volumes,
            token: VolumeSpec {
                name: warm_token_name(key),
                labels: token_labels,
            },
            job,
            helper,
            builds_host_dir: self.builds_host_dir.as_deref().map(swap),
        })
    }

    /// This plan once it adopts the warm job set `key`: its containers (renamed to the job's
    /// names) are on the set's network, its services join them there, and nothing of its own
    /// network and volumes is made.
    pub fn adopt_job_set(&self, key: &str) -> Plan {
        let mut plan = self.clone();
        plan.network = key.to_string();
        plan.volumes.clear();
        for service in &mut plan.services {
            service.network = key.to_string();
        }
        plan
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{facts, job, mode_var, settings};
    use super::super::{plan, Plan};
    use crate::payload::TrustedFacts;
    use crate::settings::Settings;

    fn socket_plan(settings: &Settings, facts: &TrustedFacts, extra: &[(&str, &str)]) -> Plan {
        let mut vars = vec![mode_var("socket")];
        vars.extend_from_slice(extra);
        plan(settings, &job(&vars), Some(facts)).unwrap()
    }

    /// Two jobs of one project, slot and ref protection under one config differ only in what
    /// is per job, which the template leaves out: one template, holding no job's key or id.
    #[test]
    fn jobs_of_one_project_and_slot_share_a_template_without_their_keys() {
        let settings = settings("");
        let first = socket_plan(&settings, &facts(), &[]);
        let mut later = facts();
        later.job_id = Some(2002);
        later.pipeline_id = Some("66".into());
        let second = socket_plan(&settings, &later, &[("CUSTOM_ENV_CI_JOB_ID", "2002")]);
        assert_ne!(first.identity.key(), second.identity.key());
        assert_eq!(first.warm_job_template(), second.warm_job_template());
        let template = first.warm_job_template();
        assert!(!template.contains(&first.identity.key()), "{template}");
        assert!(!template.contains("1001"), "{template}");
        assert!(template.contains("{key}"), "{template}");
    }

    /// Anything fixed at create that differs keeps a job from adopting: another project, ref
    /// protection, slot, image, mode, or setting.
    #[test]
    fn another_project_protection_slot_image_mode_or_setting_is_another_template() {
        let settings = settings("");
        let base = socket_plan(&settings, &facts(), &[]).warm_job_template();
        let mut project = facts();
        project.project_id = Some(43);
        let mut protected = facts();
        protected.protected = Some(true);
        let slot = [("CUSTOM_ENV_CI_CONCURRENT_ID", "4")];
        let image = [("CUSTOM_ENV_CI_JOB_IMAGE", "alpine:3.20")];
        let limited = crate::plan::tests::settings("limits:\n  job:\n    memory: 1GiB\n");
        let others = [
            ("project", socket_plan(&settings, &project, &[])),
            ("protected", socket_plan(&settings, &protected, &[])),
            ("slot", socket_plan(&settings, &facts(), &slot)),
            ("image", socket_plan(&settings, &facts(), &image)),
            (
                "mode",
                plan(&settings, &job(&[mode_var("none")]), Some(&facts())).unwrap(),
            ),
            ("memory", socket_plan(&limited, &facts(), &[])),
        ];
        for (what, other) in others {
            assert_ne!(other.warm_job_template(), base, "{what}");
        }
    }

    /// A finished job's plan makes a warm set that names no job (no key, id or pipeline
    /// anywhere in it) and that the slot's next job of the same project fits exactly: its
    /// template is the one the set's job container carries; the builds directory (socket
    /// mode) and the builds volume (none mode) are the set's own.
    #[test]
    fn a_warm_set_names_no_job_and_fits_the_next_job() {
        let settings = settings("");
        let warm = "executor-r1-c0-wk3x9";
        let mut later = facts();
        later.job_id = Some(2002);
        later.pipeline_id = Some("66".into());
        for mode in ["socket", "none"] {
            let first = plan(&settings, &job(&[mode_var(mode)]), Some(&facts())).unwrap();
            let next = plan(&settings, &job(&[mode_var(mode)]), Some(&later)).unwrap();
            let set = first.warm_job_set(warm).unwrap();
            let shown = format!("{set:?}");
            assert!(!shown.contains(&first.identity.key()), "{mode}: {shown}");
            assert!(!shown.contains("1001"), "{mode}: {shown}");
            assert_eq!(set.job.name, format!("{warm}-job"));
            assert_eq!(set.job.network, warm);
            assert_eq!(
                set.job.labels.get(super::LABEL_WARM_JOB_TEMPLATE),
                Some(&next.warm_job_template()),
                "{mode}"
            );
            match mode {
                "socket" => {
                    let dir = set.builds_host_dir.clone().unwrap();
                    assert!(dir.ends_with(&format!("/{warm}")), "{dir}");
                    assert!(set.volumes.is_empty());
                    // The set's directory at the builds root, where the adopting job's
                    // directory is made in it and so has its path in the containers.
                    let root = dir.strip_suffix(&format!("/{warm}")).unwrap();
                    let at = super::Mount::HostDirAt {
                        source: dir.clone(),
                        target: root.to_string(),
                    };
                    for spec in std::iter::once(&set.job).chain(set.helper.as_ref()) {
                        assert!(spec.mounts.contains(&at), "{:?}", spec.mounts);
                    }
                }
                _ => assert_eq!(set.volumes[0].name, format!("{warm}-builds")),
            }
            let adopted = next.adopt_job_set(warm);
            assert_eq!(adopted.network, warm);
            assert!(adopted.volumes.is_empty());
            assert_eq!(adopted.job.name, next.job.name);
        }
    }

    /// A dind job's warm job container is made for its warm sidecar's set: it mounts the
    /// set's socket, certificate and builds volumes (as `warm_set` names them) and names no job.
    #[test]
    fn a_dind_jobs_warm_container_mounts_the_warm_sidecars_volumes() {
        let settings = settings("");
        let dind = plan(&settings, &job(&[mode_var("dind")]), Some(&facts())).unwrap();
        let key = "executor-r1-c0-wk3x9";
        let jobs = dind.warm_job_set(key).unwrap();
        let sidecar = dind.warm_set(key).unwrap();
        assert!(!format!("{jobs:?}").contains(&dind.identity.key()));
        for mount in &jobs.job.mounts {
            if let super::Mount::Volume { name, .. } = mount {
                let in_set = sidecar.volumes.iter().any(|v| v.name == *name);
                assert!(in_set || !name.starts_with(key), "{name}");
            }
        }
        assert!(jobs.job.mounts.iter().any(
            |m| matches!(m, super::Mount::Volume { name, .. } if *name == format!("{key}-dind-sock"))
        ));
    }
}
