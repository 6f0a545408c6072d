//! The `dpwear` binary: parses the command line and maps outcomes to documented exit codes
//! (see `dpwear --help` and README.md).

use clap::Parser;

fn main() {
    let cli = match dpwear::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = match e.kind() {
                clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
                _ => dpwear::cli::exit::USAGE,
            };
            let _ = e.print();
            std::process::exit(code);
        }
    };
    std::process::exit(dpwear::cli::run(cli));
}
