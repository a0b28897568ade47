//! The browser's files (the WASM bundle, its JS glue, the CSS, `public/`) and the Leptos runtime options, built
//! into the binary so `integration-hub serve` needs nothing but its environment.
//!
//! A release build embeds `target/site` as cargo-leptos left it: `make` builds with `--precompress`, which also
//! makes cargo-leptos finish the site before it compiles the server, so what is embedded is this build's site,
//! with a `.br` and a `.gz` beside every file. A debug build reads the same folder from disk on each request, so
//! `cargo leptos build` and the tests need no rebuild of the server to see a new bundle.
//!
//! Files under `pkg/` are also served under a name carrying a digest of their content
//! (`/pkg/integration-hub.<digest>.wasm`); pages link only those names, which are cached for a year as
//! immutable, so a second visit fetches only the HTML and data. Every other name is `no-cache` with an ETag.

use axum::body::Body;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

#[derive(rust_embed::Embed)]
#[folder = "target/site"]
// Tests and benchmarks build the server without a site; pages then link files that answer 404.
#[allow_missing = true]
struct Embedded;

/// The Leptos runtime options: Leptos.toml as it was at build time, `LEPTOS_*` variables over it.
pub fn leptos_options() -> Result<leptos::config::LeptosOptions, String> {
    leptos::config::get_config_from_str(include_str!("../../Leptos.toml"))
        .map_err(|e| format!("the Leptos options (Leptos.toml and LEPTOS_* variables) are not valid: {e}"))
}

/// What a page links for `output_name` (the names cargo-leptos gives its outputs under `pkg/`): the JS glue,
/// the WASM and the stylesheet, under their digest names.
pub fn bundle_urls(output_name: &str) -> crate::ui::Bundle {
    let url = |ext: &str| {
        let plain = format!("pkg/{output_name}.{ext}");
        match SITE.digest_names.get(&plain) {
            Some(hashed) => format!("/{hashed}"),
            None => format!("/{plain}"),
        }
    };
    crate::ui::Bundle { js: url("js"), wasm: url("wasm"), css: url("css") }
}

/// The site's files, indexed once.
struct Site {
    /// `pkg/x.js` → `pkg/x.<digest>.js`.
    digest_names: HashMap<String, String>,
    /// `pkg/x.<digest>.js` → `pkg/x.js`.
    by_digest: HashMap<String, String>,
}

static SITE: LazyLock<Site> = LazyLock::new(|| {
    let mut digest_names = HashMap::new();
    let mut by_digest = HashMap::new();
    for path in Embedded::iter() {
        if path.ends_with(".br") || path.ends_with(".gz") || !path.starts_with("pkg/") {
            continue;
        }
        let Some(file) = Embedded::get(&path) else { continue };
        let Some((stem, ext)) = path.rsplit_once('.') else { continue };
        let hashed = format!("{stem}.{}.{ext}", digest(&file));
        digest_names.insert(path.to_string(), hashed.clone());
        by_digest.insert(hashed, path.to_string());
    }
    Site { digest_names, by_digest }
});

/// 16 hex digits of the file's SHA-256: a new bundle gets a new name, so an immutable cached copy is never stale.
fn digest(file: &rust_embed::EmbeddedFile) -> String {
    hex::encode(&file.metadata.sha256_hash()[..8])
}

/// The embedded file at `path` (the request path), or `None` to let the pages answer (404 included).
pub fn serve(method: &Method, path: &str, headers: &HeaderMap) -> Option<Response> {
    if method != Method::GET && method != Method::HEAD {
        return None;
    }
    let path = path.strip_prefix('/')?;
    if path.is_empty() || path.ends_with(".br") || path.ends_with(".gz") {
        return None;
    }
    let (source, immutable) = match SITE.by_digest.get(path) {
        Some(plain) => (plain.as_str(), true),
        None => (path, false),
    };
    let file = Embedded::get(source)?;
    let tag = digest(&file);
    let (body, encoding) = match preferred_encoding(headers) {
        Some(enc) => match Embedded::get(&format!("{source}.{}", enc.suffix)) {
            Some(compressed) => (compressed.data, Some(enc.name)),
            None => (file.data, None),
        },
        None => (file.data, None),
    };
    let etag = format!("\"{tag}{}\"", encoding.map(|e| format!("-{e}")).unwrap_or_default());
    let mut res = if not_modified(headers, &etag) {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let body = match body {
            Cow::Borrowed(b) => Body::from(b),
            Cow::Owned(b) => Body::from(b),
        };
        (StatusCode::OK, body).into_response()
    };
    let h = res.headers_mut();
    if let Ok(v) = HeaderValue::from_str(file.metadata.mimetype()) {
        h.insert(header::CONTENT_TYPE, v);
    }
    if let Some(enc) = encoding {
        h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(enc));
    }
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(if immutable { "public, max-age=31536000, immutable" } else { "no-cache" }),
    );
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    Some(res)
}

struct Encoding {
    name: &'static str,
    suffix: &'static str,
}

const BROTLI: Encoding = Encoding { name: "br", suffix: "br" };
const GZIP: Encoding = Encoding { name: "gzip", suffix: "gz" };

/// Brotli when the client takes it, else gzip, else none; an encoding listed with `q=0` is refused.
fn preferred_encoding(headers: &HeaderMap) -> Option<Encoding> {
    let accepted: Vec<&str> = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|item| {
            let mut parts = item.split(';').map(str::trim);
            let name = parts.next()?;
            let refused =
                parts.any(|p| p.strip_prefix("q=").and_then(|q| q.parse::<f32>().ok()).is_some_and(|q| q <= 0.0));
            (!refused).then_some(name)
        })
        .collect();
    let takes = |name: &str| accepted.iter().any(|a| a.eq_ignore_ascii_case(name));
    if takes("br") {
        Some(BROTLI)
    } else if takes("gzip") {
        Some(GZIP)
    } else {
        None
    }
}

fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(',').map(str::trim).any(|t| t == etag || t == "*" || t.strip_prefix("W/") == Some(etag))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepting(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap());
        h
    }

    #[test]
    fn brotli_is_preferred_then_gzip_and_q0_refuses() {
        let pick = |v: &str| preferred_encoding(&accepting(v)).map(|e| e.name);
        assert_eq!(pick("gzip, deflate, br, zstd"), Some("br"));
        assert_eq!(pick("gzip"), Some("gzip"));
        assert_eq!(pick("br;q=0, gzip;q=0.5"), Some("gzip"));
        assert_eq!(pick("br;q=0,gzip;q=0"), None);
        assert_eq!(pick("identity"), None);
        assert_eq!(preferred_encoding(&HeaderMap::new()).map(|e| e.name), None);
    }

    #[test]
    fn if_none_match_matches_the_exact_tag_a_list_or_a_star() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::IF_NONE_MATCH, HeaderValue::from_str(v).unwrap());
            h
        };
        assert!(not_modified(&with("\"abc-br\""), "\"abc-br\""));
        assert!(not_modified(&with("\"x\", \"abc-br\""), "\"abc-br\""));
        assert!(not_modified(&with("*"), "\"abc\""));
        assert!(!not_modified(&with("\"abc\""), "\"abc-br\""));
        assert!(!not_modified(&HeaderMap::new(), "\"abc\""));
    }
}
