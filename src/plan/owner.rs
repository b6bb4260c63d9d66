//! Who owns a container, read from its name. Labels are no proof: Docker copies an image's
//! `LABEL`s onto its containers, and a socket-mode job can start containers with any labels.
//! Names are chosen by the driver (a job key with the trusted job id, a warm key with a random
//! part), so decisions that remove or adopt another job's resources rest on them.

/// The owner a container's name says it has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// `executor-r<r>-p<p>-c<c>-j<j>-<role>`: the job with this key.
    Job(String),
    /// `executor-r<r>-c<c>-w<nonce>-dind`: the warm set with this key.
    Warm(String),
    /// Anything else: not the driver's.
    Foreign,
}

/// The owner of the container named `name`.
pub fn owner_of(name: &str) -> Owner {
    let Some(rest) = name.strip_prefix("executor-") else {
        return Owner::Foreign;
    };
    let parts: Vec<&str> = rest.splitn(5, '-').collect();
    let numbered = |part: &str, tag: char| {
        part.strip_prefix(tag)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    match parts.as_slice() {
        [r, p, c, j, role]
            if numbered(r, 'r')
                && numbered(p, 'p')
                && numbered(c, 'c')
                && numbered(j, 'j')
                && is_role(role) =>
        {
            Owner::Job(format!("executor-{r}-{p}-{c}-{j}"))
        }
        [r, c, w, "dind"]
            if numbered(r, 'r')
                && numbered(c, 'c')
                && w.strip_prefix('w').is_some_and(|n| {
                    !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric())
                }) =>
        {
            Owner::Warm(format!("executor-{r}-{c}-{w}"))
        }
        _ => Owner::Foreign,
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
        assert_eq!(
            owner_of("executor-r1-c3-wk3x9-dind"),
            Owner::Warm("executor-r1-c3-wk3x9".into())
        );
        for name in [
            "my-container",
            "executor-r1-p2-c3-j44-job-copy",
            "executor-r1-p2-c3-j44-svc",
            "executor-rx-p2-c3-j44-job",
            "executor-r1-p2-c3-j-job",
            "executor-r1-c3-w-dind",
            "executor-r1-c3-wk3x9-job",
            "executor-r1-c3-wk.x-dind",
        ] {
            assert_eq!(owner_of(name), Owner::Foreign, "{name}");
        }
    }
}
