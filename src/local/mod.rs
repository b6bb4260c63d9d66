//! Local runs: `executor run [JOB]` runs one `.gitlab-ci.yml` job on this machine through the
//! same `prepare`/`run`/`cleanup` code gitlab-runner drives.
//!
//! - [`gitlab_ci`]: the pipeline file, parsed as GitLab reads it (pure);
//! - [`include`]: the files its `include:` names, read or fetched, merged as GitLab merges them;
//! - [`script`]: stage scripts written as gitlab-runner's bash shell writes them (pure);
//! - [`vars`]: predefined, file and `--var` variables, layered in order (pure);
//! - [`expand`]: `$NAME` expansion of those layers, bounded in size (pure);
//! - [`checkout`]: the local git checkout and the archive of its files;
//! - [`report`]: step lines for a person;
//! - [`runner`]: the environment, payload and script files gitlab-runner would provide;
//! - [`decisions`]: which jobs run on this ref (`rules:`, `only`/`except`, `workflow:`);
//! - [`image_names`]: the job's image and services' names expanded and checked, with
//!   messages that name the variables behind them;
//! - [`image_ref`]: whether a name is an image reference Docker accepts (pure);
//! - [`job_vars`]: a job's variables, image and services as the run builds them (pure);
//! - [`kept_vars`]: predefined variables a file sets, which the job sees and the run keeps;
//! - [`job_lines`]: the lines of a job's keys, for those messages;
//! - [`job`]: a job made ready to run, and its `--dry-run` ([`dry_run_view`]: its scripts
//!   and the JSON form);
//! - [`pipeline_view`]: `--dry-run` without a job, the whole pipeline for this ref;
//! - [`carry`]: artifacts, dotenv reports and caches moved between jobs and runs;
//! - [`cache`]: where `cache:` archives are kept between runs, and their keys;
//! - [`chain`]: several jobs in one run (`--needs`, `--stage`);
//! - [`driver`]: plays gitlab-runner with the above.

mod cache;
mod carry;
mod chain;
mod checkout;
mod consent;
mod decisions;
mod driver;
mod dry_run_view;
mod expand;
pub mod gitlab_ci;
mod image_names;
mod image_ref;
pub mod include;
mod job;
mod job_lines;
mod job_vars;
mod kept_vars;
mod masking;
mod pipeline_view;
mod report;
mod runner;
pub mod script;
#[cfg(test)]
mod test_vars;
mod vars;

pub use driver::{run, EXIT_DRIVER, EXIT_INTERRUPTED};
