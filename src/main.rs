//! Entry point: parse, build the runtime, run the stage, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;
use executor::cli::Cli;
use executor::env::JobEnv;
use executor::outcome::{self, Failure, Outcome};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let env = JobEnv::from_process();
    // One thread: the driver waits on I/O and should cost the machine as little as possible.
    let result = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(executor::app::run(cli, &env)),
        Err(e) => Outcome::Stage(Err(Failure::system("start the async runtime", e))),
    };
    outcome::finish(result, &env)
}
