//! The `newshound` binary: parse the command line, set up logging, run, map errors to exit codes.

use std::process::ExitCode;

fn main() -> ExitCode {
    newshound::cli::main()
}
