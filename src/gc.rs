//! `executor gc`: collect what crashed or killed jobs left behind. Safe from cron while jobs
//! run: a job whose job container runs is live and never touched (unless older than
//! `gc.max_age`, longer than any job may run), and a job without one is collected only once its
//! newest resource is older than `gc.grace`, so a prepare in progress is left alone.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::cli::GcArgs;
use crate::docker::{self, sweep, Engine};
use crate::outcome::{say, Failure, StageResult};
use crate::settings::{parse_duration, Settings};

pub async fn gc(settings: &Settings, args: GcArgs) -> StageResult {
    let grace = duration(args.grace.as_deref(), settings.gc_grace, "--grace")?;
    let max_age = duration(args.max_age.as_deref(), settings.gc_max_age, "--max-age")?;
    let engine = Engine::connect(settings)?;
    let jobs = sweep::footprints(&engine, args.runner_id.as_deref()).await?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let (mut collected, mut kept) = (0, 0);
    for (key, job) in jobs {
        let age = Duration::from_secs((now - job.newest).max(0) as u64);
        let why = if age >= max_age {
            format!("newest resource {} old, past gc.max_age", human(age))
        } else if !job.live && age >= grace {
            format!(
                "job container not running, newest resource {} old",
                human(age)
            )
        } else {
            kept += 1;
            continue;
        };
        if args.dry_run {
            say(&format!("would remove {key} ({why})"));
        } else {
            let removed = docker::remove_job_resources(&engine, &key).await?;
            say(&format!("removed {key}: {removed} ({why})"));
        }
        collected += 1;
    }
    let verb = if args.dry_run {
        "would collect"
    } else {
        "collected"
    };
    say(&format!(
        "gc {verb} {collected} jobs; left {kept} live or recent jobs alone"
    ));
    Ok(())
}

fn duration(flag: Option<&str>, configured: Duration, name: &str) -> Result<Duration, Failure> {
    match flag {
        Some(text) => parse_duration(text).map_err(|e| Failure::User(format!("{name}: {e}"))),
        None => Ok(configured),
    }
}

fn human(age: Duration) -> String {
    let secs = age.as_secs();
    match secs {
        0..=119 => format!("{secs} s"),
        120..=7199 => format!("{} min", secs / 60),
        _ => format!("{} h", secs / 3600),
    }
}
