#!/usr/bin/env bash
# Installs the build tools the hub needs, offline-safe (registries only, never GitHub), into a
# cache outside the clone keyed by version, so a second run (and CI on the same machine) is instant.
# Prints the bin directory to put on PATH as its last line.
set -euo pipefail

CARGO_LEPTOS_VERSION=0.3.11
# Must equal the wasm-bindgen crate version in Cargo.lock (Cargo.toml pins it with "=").
WASM_BINDGEN_VERSION=0.2.130

CACHE="${HUB_TOOLS_CACHE:-$HOME/.cache/integration-hub/tools}"
BIN="$CACHE/bin"
WORK="$CACHE/src"
mkdir -p "$BIN" "$WORK"
log() { echo "install-tools: $*" >&2; }

# Build tools fast: they run for seconds per build, so their compile time is what counts. opt-level 1
# without LTO keeps them quick enough at run time (wasm-bindgen, JS minify) and compiles far faster than
# their default LTO release profile.
export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_DEBUG=false
export CARGO_PROFILE_RELEASE_OPT_LEVEL=1
# Keep tool builds out of the project's target dir.
unset CARGO_TARGET_DIR

rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown || {
  log "adding wasm32-unknown-unknown"; rustup target add wasm32-unknown-unknown >&2; }

# $1 crate, $2 version, $3 binary, $4 "crate@version" to pin back (the published lockfiles name crates
# that are missing here or need a newer rustc), $5 extra install flags.
install_crate() {
  local krate=$1 version=$2 binary=$3 pin=$4 flags=${5:-}
  local stamp="$BIN/.$krate-$version"
  if [[ -f $stamp && -x $BIN/$binary ]]; then return; fi
  log "building $krate $version"
  local crate_file
  crate_file=$(ls "$HOME"/.cargo/registry/cache/*/"$krate-$version.crate" 2>/dev/null | head -n1 || true)
  if [[ -z $crate_file ]]; then
    # Fetch the .crate through cargo itself (the registry works; GitHub does not).
    local probe="$WORK/fetch-$krate"
    rm -rf "$probe"; mkdir -p "$probe/src"; echo 'fn main(){}' >"$probe/src/main.rs"
    printf '[package]\nname="fetch-probe"\nversion="0.0.0"\nedition="2021"\n[dependencies]\n%s="=%s"\n' \
      "$krate" "$version" >"$probe/Cargo.toml"
    (cd "$probe" && cargo fetch -q >&2) || true
    crate_file=$(ls "$HOME"/.cargo/registry/cache/*/"$krate-$version.crate" | head -n1)
  fi
  rm -rf "$WORK/$krate-$version"
  tar xzf "$crate_file" -C "$WORK"
  (
    cd "$WORK/$krate-$version"
    cargo update -q -p "${pin%@*}" --precise "${pin#*@}" >&2
    # shellcheck disable=SC2086
    cargo install -q --path . --locked --root "$CACHE" $flags >&2
  )
  touch "$stamp"
}

# Both at once: each build has long single-threaded stretches (build scripts, links) the other fills.
install_crate cargo-leptos "$CARGO_LEPTOS_VERSION" cargo-leptos cargo-util-schemas@0.14.1 "--features no_downloads" &
leptos_pid=$!
install_crate wasm-bindgen-cli "$WASM_BINDGEN_VERSION" wasm-bindgen webpki-roots@1.0.10 &
bindgen_pid=$!
wait "$leptos_pid"
wait "$bindgen_pid"

echo "$BIN"
