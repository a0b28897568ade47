#[cfg(feature = "ssr")]
fn main() -> std::process::ExitCode {
    // Server-side rendering of deeply nested views needs more than tokio's 2 MiB default stack in debug builds.
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().thread_stack_size(8 << 20).build();
    match runtime {
        Ok(rt) => rt.block_on(integration_hub::server::cli::main()),
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(not(feature = "ssr"))]
pub fn main() {}
