//! The release binary as operators ship it: copied alone into an empty folder, started there on a fresh SQLite
//! file with only its environment, it serves the login page, the CSS and the WASM (precompressed, under names
//! that carry a digest, cached as immutable).
//!
//! It needs the release build `make` makes (`cargo leptos build --release --precompress`), so it is ignored by
//! a plain `cargo test`; `make ship-check` runs it with `HUB_RELEASE_BIN` pointing at that binary.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `/pkg/<name>.<16 hex digits>.<ext>` as linked from `html`.
fn linked(html: &str, ext: &str) -> String {
    let end = html.find(&format!(".{ext}\"")).unwrap_or_else(|| panic!("no .{ext} link in the page:\n{html}"));
    let start = html[..end].rfind("\"/pkg/").expect("link start") + 1;
    let url = &html[start..end + ext.len() + 1];
    let digest = url.trim_end_matches(&format!(".{ext}")).rsplit('.').next().unwrap();
    assert!(digest.len() == 16 && digest.bytes().all(|b| b.is_ascii_hexdigit()), "{url} names no digest");
    url.to_string()
}

#[tokio::test]
#[ignore = "needs the release build: make ship-check"]
async fn the_release_binary_alone_in_an_empty_folder_serves_the_ui() {
    let built = std::env::var("HUB_RELEASE_BIN").expect("HUB_RELEASE_BIN: the release binary to test");
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("integration-hub");
    std::fs::copy(&built, &bin).expect("copy the binary");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = Command::new(&bin)
        .arg("serve")
        .current_dir(dir.path())
        .env_clear()
        .env("HUB_DATABASE_URL", format!("sqlite://{}/hub.db", dir.path().display()))
        .env("HUB_ADDR", format!("127.0.0.1:{port}"))
        .env("HUB_ADMIN_PASSWORD", "shipping-test-password")
        .env("HUB_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the copied binary");
    let _serving = Serving(child);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while http.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(Instant::now() < deadline, "the copied binary did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(!entries.iter().any(|n| n == "target" || n == "Leptos.toml"), "it made no site folder: {entries:?}");

    let page = http.get(format!("{base}/login")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["cache-control"], "no-cache, private");
    let html = page.text().await.unwrap();
    assert!(html.contains("Sign in"), "{html}");

    for (ext, content_type, magic) in
        [("wasm", "application/wasm", &b"\0asm"[..]), ("css", "text/css", &b""[..]), ("js", "javascript", &b""[..])]
    {
        let url = format!("{base}{}", linked(&html, ext));
        let plain = http.get(&url).send().await.unwrap();
        assert_eq!(plain.status(), 200, "{url}");
        assert!(plain.headers()["content-type"].to_str().unwrap().contains(content_type), "{url}");
        assert_eq!(plain.headers()["cache-control"], "public, max-age=31536000, immutable", "{url}");
        assert!(plain.headers().get("content-encoding").is_none(), "{url}: asked for no encoding");
        let raw = plain.bytes().await.unwrap();
        assert!(raw.starts_with(magic) && raw.len() > 1000, "{url}: {} bytes", raw.len());

        for (asked, encoding) in [("br", "br"), ("gzip, deflate", "gzip"), ("gzip, br", "br")] {
            let res = http.get(&url).header("accept-encoding", asked).send().await.unwrap();
            assert_eq!(res.headers()["content-encoding"], encoding, "{url} with {asked}");
            assert_eq!(res.headers()["vary"], "accept-encoding");
            let etag = res.headers()["etag"].clone();
            let body = res.bytes().await.unwrap();
            assert!(body.len() * 2 < raw.len(), "{url}: {encoding} is {} of {} bytes", body.len(), raw.len());
            let again = http.get(&url).header("accept-encoding", asked).header("if-none-match", etag).send().await;
            assert_eq!(again.unwrap().status(), 304, "{url}: revalidation");
        }
    }
    let gone = http.get(format!("{base}/pkg/integration-hub.0123456789abcdef.wasm")).send().await.unwrap();
    assert_eq!(gone.status(), 404, "a digest that is not this build's is not found");
}
