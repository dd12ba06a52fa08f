use clap::Parser;

fn main() {
    let cli = latch::cli::Cli::parse();
    std::process::exit(latch::cli::run(cli));
}
