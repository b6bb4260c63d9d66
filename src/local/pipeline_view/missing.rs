//! What a running job needs, or takes artifacts from, that this ref's pipeline lacks: a
//! mistake GitLab reports only when the pipeline is created, shown before any push.

use std::collections::BTreeSet;

use super::JobView;

/// The jobs a running job needs, or takes artifacts from, that this ref's pipeline does not
/// have. GitLab refuses to create a pipeline whose job needs a missing job (unless the need
/// is `optional:`), but runs a job whose `dependencies:` name one, without those artifacts.
pub(super) fn notes(job: &JobView, running: &BTreeSet<&str>) -> Vec<String> {
    let gone = |name: &&str| !running.iter().any(|r| same_job(r, name));
    // A matrix need names the jobs by their variables; another project's are not here.
    let needed = job
        .needs
        .iter()
        .flatten()
        .filter(|n| !n.optional && !n.matrix && n.from.is_none())
        .map(|n| n.job.as_str())
        .filter(gone)
        .map(|name| {
            format!(
                "`needs:` names `{name}`, which is not in this ref's pipeline: GitLab would not \
                 create the pipeline (`optional: true` on the need allows it)"
            )
        });
    let taken = job
        .dependencies
        .iter()
        .flatten()
        .map(String::as_str)
        .filter(gone)
        .map(|name| {
            format!(
                "`dependencies:` names `{name}`, which is not in this ref's pipeline: the job \
                 gets no artifacts from it"
            )
        });
    needed.chain(taken).collect()
}

/// Whether `name` (a job of the pipeline) is `wanted` or one of the jobs `parallel:` makes of
/// it (`build 1/3`, `test: [linux, amd64]`), which a need of the plain name waits for.
pub(super) fn same_job(name: &str, wanted: &str) -> bool {
    let Some(rest) = name.strip_prefix(wanted) else {
        return false;
    };
    let numbered = rest.strip_prefix(' ').and_then(|r| r.split_once('/'));
    let is_number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    rest.is_empty()
        || numbered.is_some_and(|(i, n)| is_number(i) && is_number(n))
        || (rest.starts_with(": [") && rest.ends_with(']'))
}
