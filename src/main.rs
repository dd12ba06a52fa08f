use clap::Parser;

fn main() {
    latch::allocator::limit_arenas();
    let cli = latch::cli::Cli::parse();
    std::process::exit(latch::cli::run(cli));
}
