// `sqlx::migrate!` embeds the migration files at compile time but cannot tell cargo about them: without this, an
// edited or added migration would not reach an incremental build.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
