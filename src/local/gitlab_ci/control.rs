//! A job's `rules:`, `only:`, `except:`, `when:`, `start_in:` and `allow_failure:`, read and
//! checked together: GitLab refuses `only:`/`except:`/`start_in:` next to `rules:`, `when:
//! never` outside `rules:`, and a `when: delayed` job without `start_in:`.

use crate::yaml::{Mapping, Value};

use super::error::{GitlabCiError, Locator};
use super::rules::set;
use super::rules::{
    read_allow_failure, read_job_when, read_policy, read_rules, AllowFailure, Policy, Rule,
    RulesOf, When,
};

/// What a job says about when it runs.
pub(super) struct Control {
    pub when: When,
    pub start_in: Option<String>,
    pub allow_failure: Option<AllowFailure>,
    pub rules: Option<Vec<Rule>>,
    pub only: Option<Policy>,
    pub except: Option<Policy>,
}

/// Read job `name`'s keys; errors point at the key's line.
pub(super) fn read(name: &str, map: &Mapping, at: &Locator) -> Result<Control, GitlabCiError> {
    let fail = |key: &str, m: String| at.key_error(name, key, format!("job `{name}`: {m}"));
    let rules = match set(map, "rules") {
        None => None,
        Some(v) => Some(read_rules(v, RulesOf::Job).map_err(|m| fail("rules", m))?),
    };
    if rules.is_some() {
        if let Some(key) = ["only", "except", "start_in"]
            .into_iter()
            .find(|k| set(map, k).is_some())
        {
            return Err(fail(
                key,
                format!(
                    "`{key}:` cannot be used with `rules:` (GitLab: \"config key may not be \
                     used with `rules`: {key}\"); express it as a rule instead"
                ),
            ));
        }
    }
    let when = match set(map, "when") {
        None => When::OnSuccess,
        Some(v) => read_job_when(v).map_err(|m| fail("when", m))?,
    };
    let start_in = match (set(map, "start_in"), when) {
        (Some(Value::String(s)), When::Delayed) if !s.trim().is_empty() => Some(s.clone()),
        (Some(Value::Number(n)), When::Delayed) => Some(n.to_string()),
        (_, When::Delayed) if rules.is_none() => {
            return Err(fail(
                "when",
                "`when: delayed` needs `start_in:`, a duration such as `30 minutes`".into(),
            ))
        }
        (Some(_), _) => {
            return Err(fail(
                "start_in",
                "`start_in:` only goes with `when: delayed`".into(),
            ))
        }
        (None, _) => None,
    };
    let allow_failure = match set(map, "allow_failure") {
        None => None,
        Some(v) => Some(read_allow_failure(v).map_err(|m| fail("allow_failure", m))?),
    };
    let policy = |key: &str| match set(map, key) {
        None => Ok(None),
        Some(v) => read_policy(v, key).map(Some).map_err(|m| fail(key, m)),
    };
    Ok(Control {
        when,
        start_in,
        allow_failure,
        rules,
        only: policy("only")?,
        except: policy("except")?,
    })
}
