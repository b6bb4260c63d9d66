//! What a running job needs, or takes artifacts from, that this ref's pipeline lacks: a
//! mistake GitLab reports only when the pipeline is created, shown before any push.

use std::collections::BTreeSet;

use super::JobView;
use crate::local::gitlab_ci::Need;

/// The jobs a running job needs, or takes artifacts from, that this ref's pipeline does not
/// have; `names` are all the file's jobs, `running` those in this ref's pipeline. A need or a
/// `dependencies:` name stands for the jobs GitLab expands it to ([`Need::expand`]: all those
/// `parallel:` made of a job, or the combinations a need's `parallel: matrix:` names), and
/// each must be there. GitLab refuses to create a pipeline whose job needs a missing job
/// (unless the need is `optional:`), but runs a job whose `dependencies:` name one, without
/// those artifacts.
pub(super) fn notes(job: &JobView, names: &[&str], running: &BTreeSet<&str>) -> Vec<String> {
    let mut notes = Vec::new();
    // Another project's or pipeline's jobs are not here.
    let needs = job.needs.iter().flatten();
    for need in needs.filter(|n| !n.optional && n.from.is_none()) {
        let expanded = need.expand(names);
        for unknown in &expanded.unknown {
            notes.push(match (&need.matrix, expanded.made.is_empty()) {
                (Some(_), false) => format!(
                    "`needs:` names `{unknown}` by its `parallel: matrix:`, a combination \
                     `parallel:` does not make of `{}`: GitLab would not create the pipeline",
                    need.job
                ),
                _ => refused(unknown),
            });
        }
        let gone = expanded
            .jobs
            .iter()
            .filter(|n| !running.contains(n.as_str()));
        notes.extend(gone.map(|name| refused(name)));
    }
    for dependency in job.dependencies.iter().flatten() {
        let expanded = Need::plain(dependency).expand(names);
        let gone = expanded
            .jobs
            .iter()
            .filter(|n| !running.contains(n.as_str()))
            .chain(&expanded.unknown);
        notes.extend(gone.map(|name| {
            format!(
                "`dependencies:` names `{name}`, which is not in this ref's pipeline: the job \
                 gets no artifacts from it"
            )
        }));
    }
    notes
}

fn refused(name: &str) -> String {
    format!(
        "`needs:` names `{name}`, which is not in this ref's pipeline: GitLab would not \
         create the pipeline (`optional: true` on the need allows it)"
    )
}
