//! Who owns a container, read from its name. Labels are no proof: Docker copies an image's
//! `LABEL`s onto its containers, and a socket-mode job can start containers with any labels.
//! Names are chosen by the driver (a job key with the trusted job id, a warm key with a random
//! part), so decisions that remove or adopt another job's resources rest on them.

/// The owner a container's name says it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// `executor-r<r>[-m<manager>]-p<p>-c<c>-j<j>-<role>`: the job with this key.
    Job(String),
    /// `executor-r<r>[-m<manager>]-c<c>-w<nonce>-{dind,job,helper}`: the warm set with this key.
    Warm(String),
    /// Anything else: not the driver's.
    Foreign,
}

/// The owner of the container named `name`. The manager part (`runner.manager_id`: lower-case
/// letters and digits, at most 16) is part of the key when the name has one.
pub fn owner_of(name: &str) -> Owner {
    let Some(rest) = name.strip_prefix("executor-") else {
        return Owner::Foreign;
    };
    let parts: Vec<&str> = rest.split('-').collect();
    let numbered = |part: &str, tag: char| {
        part.strip_prefix(tag)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    let manager = |part: &str| {
        part.strip_prefix('m').is_some_and(|m| {
            !m.is_empty()
                && m.len() <= 16
                && m.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
    };
    // The runner part, with the manager's when there is one; the rest of the name after it.
    let (stem, rest) = match parts.as_slice() {
        [r, m, rest @ ..] if numbered(r, 'r') && manager(m) => (format!("{r}-{m}"), rest),
        [r, rest @ ..] if numbered(r, 'r') => (r.to_string(), rest),
        _ => return Owner::Foreign,
    };
    match rest {
        [p, c, j, role]
            if numbered(p, 'p') && numbered(c, 'c') && numbered(j, 'j') && is_role(role) =>
        {
            Owner::Job(format!("executor-{stem}-{p}-{c}-{j}"))
        }
        [c, w, "dind" | "job" | "helper"]
            if numbered(c, 'c')
                && w.strip_prefix('w').is_some_and(|n| {
                    !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric())
                }) =>
        {
            Owner::Warm(format!("executor-{stem}-{c}-{w}"))
        }
        _ => Owner::Foreign,
    }
}

/// The manager part of a name the driver made (`executor-r7-mbuild1-…`: `build1`), or `""`
/// for a name without one.
pub fn manager_of(name: &str) -> &str {
    let mut parts = name.split('-');
    let (Some("executor"), Some(_), Some(part)) = (parts.next(), parts.next(), parts.next()) else {
        return "";
    };
    match part.strip_prefix('m') {
        Some(m)
            if !m.is_empty()
                && m.len() <= 16
                && m.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()) =>
        {
            m
        }
        _ => "",
    }
}

fn is_role(role: &str) -> bool {
    matches!(role, "job" | "helper" | "dind")
        || role
            .strip_prefix("svc")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_driver_chose_tell_the_owner() {
        let job = Owner::Job("executor-r1-p2-c3-j44".into());
        for name in [
            "executor-r1-p2-c3-j44-job",
            "executor-r1-p2-c3-j44-helper",
            "executor-r1-p2-c3-j44-dind",
            "executor-r1-p2-c3-j44-svc0",
        ] {
            assert_eq!(owner_of(name), job, "{name}");
        }
        for role in ["dind", "job", "helper"] {
            assert_eq!(
                owner_of(&format!("executor-r1-c3-wk3x9-{role}")),
                Owner::Warm("executor-r1-c3-wk3x9".into())
            );
        }
        for name in [
            "my-container",
            "executor-r1-p2-c3-j44-job-copy",
            "executor-r1-p2-c3-j44-svc",
            "executor-rx-p2-c3-j44-job",
            "executor-r1-p2-c3-j-job",
            "executor-r1-c3-w-dind",
            "executor-r1-c3-wk3x9-svc0",
            "executor-r1-c3-wk.x-dind",
        ] {
            assert_eq!(owner_of(name), Owner::Foreign, "{name}");
        }
    }

    /// Names with a manager part (`runner.manager_id`) are the key with it, exactly as
    /// `JobIdentity::key` and `warm_key` make them; a malformed manager part is no one's.
    #[test]
    fn names_with_a_manager_part_tell_the_owner() {
        use crate::plan::identity::runner_stem;
        use crate::plan::warm::{warm_key, warm_sidecar_name};
        let key = format!("{}-p2-c3-j44", runner_stem("1", "0f3a9c21"));
        assert_eq!(key, "executor-r1-m0f3a9c21-p2-c3-j44");
        for role in ["job", "helper", "dind", "svc0"] {
            assert_eq!(
                owner_of(&format!("{key}-{role}")),
                Owner::Job(key.clone()),
                "{role}"
            );
        }
        let warm = warm_key("1", "build7", "3", "k3x9");
        assert_eq!(
            owner_of(&warm_sidecar_name(&warm)),
            Owner::Warm(warm.clone())
        );
        for name in [
            "executor-r1-m-p2-c3-j44-job",
            "executor-r1-mAB-p2-c3-j44-job",
            "executor-r1-m12345678901234567-p2-c3-j44-job",
            "executor-r1-m0f3a9c21-x-p2-c3-j44-job",
            "executor-r1-m0f3a9c21-p2-c3-j44-job-copy",
            "executor-r1-m0f3a9c21-c3-wk3x9-svc0",
            "executor-m0f3a9c21-p2-c3-j44-job",
        ] {
            assert_eq!(owner_of(name), Owner::Foreign, "{name}");
        }
        assert_eq!(manager_of(&warm), "build7");
        assert_eq!(manager_of(&key), "0f3a9c21");
        assert_eq!(manager_of("executor-r1-c3-wk3x9"), "");
        assert_eq!(manager_of("executor-r1-p2-c3-j44"), "");
    }
}
