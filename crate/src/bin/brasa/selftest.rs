//! `brasa selftest`: the kernel self-test on this machine's GPU (the suites the kernel tests run).

use brasa::generate::Engine;
use brasa::gpu::GpuOptions;
use brasa::selftest::{SelfTest, Suite};
use brasa::{Error, Result};

#[derive(clap::Args)]
pub struct Args {
    /// Suites to run (default: all that need no data files; see `--list`).
    #[arg(long, value_delimiter = ',')]
    suites: Vec<String>,
    /// Print the suites and exit.
    #[arg(long)]
    list: bool,
    /// Print every check, not only those over budget.
    #[arg(long)]
    all: bool,
}

pub async fn selftest(args: Args, verbose: bool) -> Result<()> {
    if args.list {
        for s in Suite::ALL {
            println!("{}", s.name());
        }
        return Ok(());
    }
    // The gguf oracle needs the repository's test data: only when asked for (the native tests
    // run it).
    let suites: Vec<Suite> = if args.suites.is_empty() {
        Suite::ALL.into_iter().filter(|&s| s != Suite::GgufOracle).collect()
    } else {
        args.suites.iter().map(|n| Suite::parse(n)).collect::<Result<_>>()?
    };
    let engine = Engine::new(GpuOptions::default()).await?;
    if verbose {
        eprintln!("GPU: {}", engine.gpu_info());
    }
    let report = SelfTest::new(&engine.ctx, &engine.kernels).run_all(&suites).await;
    for c in report.checks.iter().filter(|c| args.all || !c.passed()) {
        println!("{} {c}", if c.passed() { "ok  " } else { "FAIL" });
    }
    let failed = report.checks.iter().filter(|c| !c.passed()).count();
    println!(
        "{} checks in {} suites on {:?}: {} over budget ({:.1} s)",
        report.checks.len(),
        suites.len(),
        report.variants,
        failed,
        report.seconds
    );
    if failed > 0 {
        return Err(Error::Gpu(format!("{failed} kernel checks over their error budget")));
    }
    Ok(())
}
