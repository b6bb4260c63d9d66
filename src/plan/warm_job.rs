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

use super::{ContainerSpec, Plan, LABEL_JOB_ID, LABEL_JOB_KEY, LABEL_PIPELINE_ID};

/// What stands for the job's key in a template.
const KEY_MARK: &str = "{key}";

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
}
