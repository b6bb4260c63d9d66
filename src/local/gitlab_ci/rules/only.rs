//! `only:` and `except:` checked against a pipeline: `only:` lets a job in when EVERY key it
//! sets has a condition that holds; `except:` keeps it out when ANY key does
//! (<https://docs.gitlab.com/ci/yaml/#only--except>). Each check answers with the key and
//! what decided, for the decision's message.

use super::decide::{Changes, Context};
use super::glob::{self, POLICY};
use super::policy::PipelineRef;
use super::vars::Layers;
use super::Policy;

/// The first key of `only` that does not hold, described; `None` when the job is let in.
pub(super) fn failing_only(
    only: &Policy,
    pipeline: &PipelineRef,
    layers: &Layers,
    cx: &Context,
    notes: &mut Vec<String>,
) -> Option<String> {
    only.keys.iter().find_map(|key| match *key {
        "refs" if pipeline.first_match(&only.refs).is_none() => Some(format!(
            "refs: {} matches none of {}",
            pipeline.describe(),
            only.refs.join(", ")
        )),
        "variables" if !only.variables.iter().any(|e| e.holds(&|n| layers.get(n))) => {
            Some(format!(
                "variables: none of {} holds",
                only.variables
                    .iter()
                    .map(|e| format!("`{}`", e.text()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }
        "changes" if changed_match(&only.changes, cx, notes, "only").is_none() => Some(format!(
            "changes: no changed file matches {}",
            only.changes.join(", ")
        )),
        "kubernetes" => Some(
            "kubernetes: active: a local run has no Kubernetes integration to be active".into(),
        ),
        _ => None,
    })
}

/// The first key of `except` that holds, described; `None` when it keeps nothing out.
pub(super) fn matching_except(
    except: &Policy,
    pipeline: &PipelineRef,
    layers: &Layers,
    cx: &Context,
    notes: &mut Vec<String>,
) -> Option<String> {
    except.keys.iter().find_map(|key| match *key {
        "refs" => pipeline
            .first_match(&except.refs)
            .map(|r| format!("refs: {} matches `{r}`", pipeline.describe())),
        "variables" => except
            .variables
            .iter()
            .find(|e| e.holds(&|n| layers.get(n)))
            .map(|e| format!("variables: `{}` holds", e.text())),
        "changes" => changed_match(&except.changes, cx, notes, "except")
            .map(|what| format!("changes: {what}")),
        "kubernetes" => {
            notes.push(
                "except:kubernetes: a local run has no Kubernetes integration, so it is not \
                 active"
                    .into(),
            );
            None
        }
        _ => None,
    })
}

/// Which changed file matches which glob (`only:changes` globs: no dot files, no braces);
/// with no change set known GitLab counts it as matched.
fn changed_match(
    globs: &[String],
    cx: &Context,
    notes: &mut Vec<String>,
    key: &str,
) -> Option<String> {
    let paths = match (cx.changes)(None) {
        Changes::Known(paths) => paths,
        Changes::Unknown | Changes::BadRef(_) => {
            notes.push(format!(
                "{key}:changes: no change set to compare with (a new branch, a tag, no push): \
                 counted as changed, as on GitLab"
            ));
            return Some("no change set known, counted as changed".into());
        }
    };
    paths.iter().find_map(|path| {
        globs
            .iter()
            .find(|g| glob::matches(g, path, POLICY))
            .map(|g| format!("`{path}` matches `{g}`"))
    })
}
