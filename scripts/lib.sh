# Shared steps of scripts/run and scripts/test. Each step installs only what is missing,
# says what it is doing, and stops the script with a clear message when it fails.
# Sourced, not run: the caller sets `set -euo pipefail`.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LOCAL="$ROOT/.local"            # tools and data of this checkout (git-ignored)
SECANTUS_VERSION="0.7.0b3"      # MongoDB-wire-compatible server used when no mongod is installed
SECANTUS_RS_VERSION="0.5.3-beta.196"  # its Rust server (SOLSTICE_DB_SERVER=secantus-rs), for benchmarks
mkdir -p "$LOCAL"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
note() { printf '    %s\n' "$*"; }
fail() { printf '\n\033[31mERROR: %s\033[0m\n' "$*" >&2; exit 1; }

# Runs a command as root (directly, or through sudo when there is one).
as_root() {
    if [ "$(id -u)" = 0 ]; then "$@"
    elif command -v sudo >/dev/null; then sudo "$@"
    else fail "'$*' needs root and sudo is not available"; fi
}

APT_UPDATED=0
apt_install() {
    if [ "$APT_UPDATED" = 0 ]; then
        note "apt-get update"
        as_root apt-get update -qq >/dev/null || fail "apt-get update failed"
        APT_UPDATED=1
    fi
    note "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null || fail "could not install $* with apt-get"
}

ensure_rust() {
    step "Checking the Rust toolchain"
    command -v cargo >/dev/null || fail "cargo not found: install Rust (https://rustup.rs) first"
    if ! rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$'; then
        note "adding the wasm32-unknown-unknown target"
        rustup target add wasm32-unknown-unknown || fail "could not add the wasm32 target"
    fi
    # wasm-bindgen's CLI must match the wasm-bindgen crate exactly.
    local want have
    want="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock")"
    have="$(wasm-bindgen --version 2>/dev/null | awk '{ print $2 }' || true)"
    if [ "$have" != "$want" ]; then
        note "installing wasm-bindgen-cli $want (a few minutes, once)"
        cargo install wasm-bindgen-cli --version "$want" --quiet || fail "could not install wasm-bindgen-cli $want"
    fi
    note "cargo $(cargo --version | awk '{ print $2 }'), wasm-bindgen $want"
}

ensure_node_tools() {
    step "Checking the Node tools (wasm-opt, terser, Playwright)"
    command -v npm >/dev/null || fail "npm not found: install Node.js 20 or later first"
    if [ ! -x "$ROOT/node_modules/.bin/wasm-opt" ] || [ ! -x "$ROOT/node_modules/.bin/playwright" ] \
        || [ ! -x "$ROOT/node_modules/.bin/terser" ] \
        || [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
        note "npm ci"
        (cd "$ROOT" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci failed"
    fi
}

ensure_chromium() {
    step "Checking Chromium (Debian's package, for the browser tests)"
    if [ ! -x /usr/bin/chromium ]; then apt_install chromium; fi
    note "$(/usr/bin/chromium --version 2>/dev/null | head -1)"
}

# Builds the browser bundle into target/site: WASM split per page (size-optimised), its JS
# glue, CSS, icons, the web app manifest, the offline page and the service worker.
build_site() {
    step "Building the web front end (WASM, split per page)"
    local site="$ROOT/target/site" pkg="$ROOT/target/site/pkg" split="$ROOT/target/site-split"
    # The splitter needs the linker's relocations to move each lazy route's code into a module
    # of its own. Source paths in panic messages are shortened: they are bytes on every phone
    # (and the build machine's directories are nobody's business).
    local cargo_home="${CARGO_HOME:-$HOME/.cargo}" remaps="" registry
    # Each registry's folder (`index.crates.io-<hash>`) goes too: a crate's path starts with its
    # name and version.
    for registry in "$cargo_home"/registry/src/*/; do
        [ -d "$registry" ] && remaps="$remaps --remap-path-prefix=${registry%/}/="
    done
    (cd "$ROOT" && CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-Clink-args=--emit-relocs \
        $remaps --remap-path-prefix=$ROOT/=" \
        cargo build -p frontend --lib --target wasm32-unknown-unknown --profile wasm-release) \
        || fail "the WASM build failed"
    (cd "$ROOT" && cargo build --release -p solstice-split --quiet) || fail "the WASM splitter did not build"
    rm -rf "$pkg.new" "$split" && mkdir -p "$pkg.new" "$split"
    "$ROOT/target/release/solstice-split" "$ROOT/target/wasm32-unknown-unknown/wasm-release/frontend.wasm" "$split" \
        || fail "splitting the WASM failed"
    # The chunks link against the main module's own exports: keep them.
    wasm-bindgen --target web --no-typescript --keep-lld-exports --no-demangle --out-name solstice \
        --out-dir "$pkg.new" "$split/solstice.wasm" || fail "wasm-bindgen failed"
    mv "$pkg.new/solstice_bg.wasm" "$pkg.new/solstice.wasm"
    cp "$split"/__wasm_split.*.js "$split/__wasm_split_manifest.json" "$pkg.new/"
    local file
    for file in "$split"/*.wasm; do
        case "$(basename "$file")" in solstice.wasm) ;; *) cp "$file" "$pkg.new/" ;; esac
    done
    # Every module optimised for size, as many at a time as there are cores. (The splitter's name
    # sections are new to this wasm-opt, which warns once per file: those warnings are dropped.)
    # SOLSTICE_WASM_NAMES=1 keeps the functions' names, for a browser's profiler to show.
    local names="--strip-debug"
    [ "${SOLSTICE_WASM_NAMES:-0}" = 1 ] && names="--debuginfo"
    printf '%s\0' "$pkg.new"/*.wasm | xargs -0 -P "$(nproc)" -I{} "$ROOT/node_modules/.bin/wasm-opt" -Oz \
        $names --strip-producers --strip-target-features --enable-bulk-memory --enable-nontrapping-float-to-int \
        --enable-sign-ext --enable-mutable-globals --enable-reference-types {} -o {} 2>"$split/wasm-opt.log" \
        || { grep -v "unknown name subsection" "$split/wasm-opt.log" >&2; fail "wasm-opt failed"; }
    # The JS minified (wasm-bindgen's glue, the split loader, the snippets): names inside each
    # file are shortened, what they export and the properties they set keep theirs. A third of
    # the brotli bytes of a first visit's JS.
    local script
    while IFS= read -r -d '' script; do
        "$ROOT/node_modules/.bin/terser" "$script" --module --compress --mangle -o "$script" || fail "minifying $script failed"
    done < <(find "$pkg.new" -name '*.js' -print0)
    cp "$ROOT/style/main.css" "$pkg.new/solstice.css"
    # Content-hashed names, so that browsers may keep them for a year (the host serves them
    # `immutable`): the host reads the hashes from pkg/hash.txt to name them in its pages, and the
    # route chunks are renamed in the loader that fetches them and in the manifest the host
    # reads to preload them. The loader keeps the name Leptos gives it (its content names the
    # hashed JS, which imports it): it is served `no-cache`.
    local loader manifest stem hash hashes=""
    loader="$(ls "$pkg.new"/__wasm_split.*.js)"
    manifest="$pkg.new/__wasm_split_manifest.json"
    for file in "$pkg.new"/split_*.wasm "$pkg.new"/chunk_*.wasm; do
        [ -e "$file" ] || continue
        stem="$(basename "$file" .wasm)"
        hash="$(sha256sum "$file" | cut -c1-16)"
        mv "$file" "$pkg.new/$stem.$hash.wasm"
        sed -i "s|\./$stem\.wasm|./$stem.$hash.wasm|g" "$loader"
        sed -i "s|\"$stem\"|\"$stem.$hash\"|g" "$manifest"
    done
    for kind in js wasm css; do
        hash="$(sha256sum "$pkg.new/solstice.$kind" | cut -c1-16)"
        mv "$pkg.new/solstice.$kind" "$pkg.new/solstice.$hash.$kind"
        if [ "$kind" = js ]; then sed -i "s|\./solstice\.js|./solstice.$hash.js|g" "$loader"; fi
        hashes="$hashes$kind: $hash"$'\n'
    done
    printf '%s' "$hashes" >"$pkg.new/hash.txt"
    # Precompressed once here (brotli 11, gzip 9) instead of on every request.
    local compressible=("$pkg.new"/*.js "$pkg.new"/*.wasm "$pkg.new"/*.css)
    for file in "${compressible[@]}"; do gzip -9 -k -n "$file"; done
    node -e '
        const zlib = require("zlib"), fs = require("fs");
        for (const file of process.argv.slice(1)) {
            const params = { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: fs.statSync(file).size };
            fs.writeFileSync(file + ".br", zlib.brotliCompressSync(fs.readFileSync(file), { params }));
        }' "${compressible[@]}" || fail "brotli compression failed"
    mkdir -p "$site" && cp "$ROOT/style/favicon.svg" "$ROOT/style/manifest.webmanifest" "$site/"
    # The installable app: PNG icons (drawn again when their script changes), the offline page
    # and the service worker, which lists this build's files to keep on the phone.
    if [ ! -f "$site/icons/icon-512.png" ] || [ "$ROOT/scripts/icons.py" -nt "$site/icons/icon-512.png" ]; then
        python3 "$ROOT/scripts/icons.py" "$site/icons" || fail "drawing the icons failed"
    fi
    local css_hash shell_files version
    css_hash="$(sed -n 's/^css: //p' "$pkg.new/hash.txt")"
    sed "s|__STYLESHEET__|/pkg/solstice.$css_hash.css|" "$ROOT/style/offline.html" >"$site/offline.html"
    # The worker keeps what every page needs at install; a page's own modules are kept when a
    # page first asks for them (a phone on a metered plan does not download every page at once).
    shell_files="$(cd "$pkg.new" && for file in solstice.*.js solstice.*.wasm solstice.*.css __wasm_split.*.js snippets/*/*.js; do
        if [ -e "$file" ]; then printf '"/pkg/%s", ' "$file"; fi
    done)"
    shell_files="[$shell_files\"/offline.html\", \"/favicon.svg\", \"/manifest.webmanifest\", \"/icons/icon-192.png\", \"/icons/icon-512.png\"]"
    version="$(cat "$pkg.new/hash.txt" "$loader" "$site/offline.html" "$ROOT/style/sw.js" "$ROOT/style/manifest.webmanifest" \
        "$ROOT/style/favicon.svg" "$ROOT/scripts/icons.py" | sha256sum | cut -c1-16)"
    sed -e "s|__VERSION__|$version|" -e "s|__SHELL__|$shell_files|" "$ROOT/style/sw.js" >"$site/sw.js"
    rm -rf "$pkg" "$split" && mv "$pkg.new" "$pkg"
    site_sizes
}

# Prints the size of the main JS and WASM (raw, gzip, brotli) and of the route modules in all.
site_sizes() {
    local file pkg="$ROOT/target/site/pkg" count=0 raw=0 br=0
    for file in "$pkg"/solstice.*.wasm "$pkg"/solstice.*.js "$pkg"/__wasm_split.*.js; do
        note "$(printf '%-40s %9s raw %9s gzip %9s brotli' "$(basename "$file")" "$(stat -c %s "$file")" \
            "$(stat -c %s "$file.gz")" "$(stat -c %s "$file.br")")"
    done
    for file in "$pkg"/split_*.wasm "$pkg"/chunk_*.wasm; do
        [ -e "$file" ] || continue
        count=$((count + 1)) raw=$((raw + $(stat -c %s "$file"))) br=$((br + $(stat -c %s "$file.br")))
    done
    note "$(printf '%-40s %9s raw %9s brotli' "$count route modules, in all" "$raw" "$br")"
}

# Waits until something listens on 127.0.0.1:$1, for at most $2 seconds.
wait_for_port() {
    local port="$1" seconds="$2" i
    for ((i = 0; i < seconds * 10; i++)); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    return 1
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Starts a database unless MONGODB_URI is set: a mongod on PATH if there is one (as a
# one-member replica set, since the ledger needs transactions), else SecantusDB (its Python
# server, or its Rust one with SOLSTICE_DB_SERVER=secantus-rs).
# Usage: ensure_database DATA_DIR PORT. Exports MONGODB_URI; DB_PID is the server's pid.
DB_PID=""
ensure_database() {
    step "Checking the database"
    if [ -n "${MONGODB_URI:-}" ]; then
        note "using MONGODB_URI from the environment"
        return
    fi
    start_database "$@"
}

# Starts a database process on 127.0.0.1:PORT with its data in DATA_DIR, whatever MONGODB_URI
# says (starting it again on the same folder is a restart). Usage: start_database DATA_DIR PORT.
start_database() {
    local data="$1" port="$2"
    mkdir -p "$data"
    if command -v mongod >/dev/null; then
        note "starting mongod on port $port (data in $data)"
        mongod --replSet rs0 --bind_ip 127.0.0.1 --port "$port" --dbpath "$data" --quiet \
            >>"$data/mongod.log" 2>&1 &
        DB_PID=$!
        wait_for_port "$port" 60 || fail "mongod did not start: see $data/mongod.log"
        mongosh --quiet --port "$port" --eval \
            'try { rs.status() } catch (e) { rs.initiate({_id: "rs0", members: [{_id: 0, host: "127.0.0.1:'"$port"'"}]}) }' \
            >/dev/null 2>&1 || true
    elif [ "${SOLSTICE_DB_SERVER:-}" = secantus-rs ]; then
        # SecantusDB's Rust server: much faster than its Python one, so the figures benchmarks
        # quote are taken on it. Built from crates.io once (about 7 minutes; WiredTiger needs
        # cmake). The crate asks for rustc 1.98 but builds with this machine's 1.95.
        if [ ! -x "$LOCAL/secantus-rs/bin/secantusd-rs" ]; then
            command -v cmake >/dev/null || apt_install cmake
            note "building SecantusDB's Rust server $SECANTUS_RS_VERSION into .local/secantus-rs (about 7 minutes, once)"
            cargo install --quiet --locked --ignore-rust-version secantus-mdb --version "$SECANTUS_RS_VERSION" \
                --root "$LOCAL/secantus-rs" || fail "could not build secantus-mdb from crates.io"
        fi
        note "starting SecantusDB's Rust server on port $port (data in $data)"
        "$LOCAL/secantus-rs/bin/secantusd-rs" --host 127.0.0.1 --port "$port" --storage-path "$data" --log-level WARNING \
            >>"$data.log" 2>&1 &
        DB_PID=$!
        wait_for_port "$port" 60 || fail "SecantusDB did not start: see $data.log"
    else
        if [ ! -x "$LOCAL/secantus/bin/secantusd-py" ]; then
            note "installing SecantusDB $SECANTUS_VERSION into .local/secantus (about a minute, once)"
            python3 -m venv "$LOCAL/secantus" || fail "could not create a Python venv (apt-get install python3-venv?)"
            "$LOCAL/secantus/bin/pip" install --quiet --disable-pip-version-check "secantusdb==$SECANTUS_VERSION" \
                || fail "could not install SecantusDB from PyPI"
        fi
        note "starting SecantusDB on port $port (data in $data)"
        "$LOCAL/secantus/bin/secantusd-py" --host 127.0.0.1 --port "$port" --storage-path "$data" --log-level WARNING \
            >>"$data.log" 2>&1 &
        DB_PID=$!
        wait_for_port "$port" 60 || fail "SecantusDB did not start: see $data.log"
    fi
    export MONGODB_URI="mongodb://127.0.0.1:$port/?directConnection=true"
    note "database ready at 127.0.0.1:$port"
}

stop_database() {
    if [ -n "$DB_PID" ] && kill -0 "$DB_PID" 2>/dev/null; then
        kill "$DB_PID" 2>/dev/null || true
        wait "$DB_PID" 2>/dev/null || true
    fi
}

# The host's key for signing its requests to the services (SOLSTICE_SIGNING_KEY: 64 hex digits,
# the seed of an Ed25519 key pair) if set, else one generated for this checkout and kept in
# .local/signing-key; and SOLSTICE_TRUSTED_CALLERS, which tells the services its public half.
ensure_signing_key() {
    if [ -z "${SOLSTICE_SIGNING_KEY:-}" ]; then
        if [ ! -s "$LOCAL/signing-key" ]; then
            (umask 077 && python3 -c 'import secrets; print(secrets.token_hex(32))' >"$LOCAL/signing-key")
        fi
        SOLSTICE_SIGNING_KEY="$(cat "$LOCAL/signing-key")"
    fi
    export SOLSTICE_SIGNING_KEY
    command -v openssl >/dev/null || apt_install openssl
    # The public key: openssl derives it from the seed wrapped as a PKCS#8 Ed25519 key.
    local public
    public="$(python3 -c "import sys; sys.stdout.buffer.write(bytes.fromhex('302e020100300506032b657004220420' + sys.argv[1]))" \
        "$SOLSTICE_SIGNING_KEY" | openssl pkey -inform DER -pubout -outform DER \
        | python3 -c 'import sys; print(sys.stdin.buffer.read()[-32:].hex())')" \
        || fail "SOLSTICE_SIGNING_KEY must be 64 hex digits"
    export SOLSTICE_TRUSTED_CALLERS="host=$public"
}

# Starts a service binary in the background, logging to a file, and waits for its port.
# Usage: start_service NAME ADDR_VARIABLE ADDR LOG BINARY. Remembers the pid for stop_services.
SERVICE_PIDS=""
start_service() {
    local name="$1" variable="$2" addr="$3" log="$4" binary="$5"
    # A service gets the host's public key only, never its signing key.
    env -u SOLSTICE_SIGNING_KEY "$variable=$addr" "$binary" >"$log" 2>&1 &
    SERVICE_PIDS="$SERVICE_PIDS $!"
    SERVICE_NAMED_PIDS="${SERVICE_NAMED_PIDS:-} $name=$!"
    wait_for_port "${addr##*:}" 30 || fail "the $name service did not start: see $log"
}

# Starts the market recorder (on RECORDER_ADDR, default a free port; recording the market
# SOLSTICE_MARKET says, default the simulated one) and the portfolio, transfer, swap and stake
# services from the binaries in $1 (a target folder), logging into folder $2, on the addresses
# in PORTFOLIO_ADDR, TRANSFER_ADDR, SWAP_ADDR and STAKE_ADDR; exports the host's SOLSTICE_*_URL
# settings pointing at them.
start_services() {
    local binaries="$1" logs="$2"
    RECORDER_ADDR="${RECORDER_ADDR:-127.0.0.1:$(free_port)}"
    SOLSTICE_MARKET="${SOLSTICE_MARKET:-simulated}" \
        start_service recorder RECORDER_ADDR "$RECORDER_ADDR" "$logs/recorder.log" "$binaries/solstice-recorder"
    start_service portfolio PORTFOLIO_ADDR "$PORTFOLIO_ADDR" "$logs/portfolio.log" "$binaries/solstice-portfolio"
    start_service transfer TRANSFER_ADDR "$TRANSFER_ADDR" "$logs/transfer.log" "$binaries/solstice-transfer"
    start_service swap SWAP_ADDR "$SWAP_ADDR" "$logs/swap.log" "$binaries/solstice-swap"
    start_service stake STAKE_ADDR "$STAKE_ADDR" "$logs/stake.log" "$binaries/solstice-stake"
    export SOLSTICE_PORTFOLIO_URL="http://$PORTFOLIO_ADDR"
    export SOLSTICE_TRANSFER_URL="http://$TRANSFER_ADDR"
    export SOLSTICE_SWAP_URL="http://$SWAP_ADDR"
    export SOLSTICE_STAKE_URL="http://$STAKE_ADDR"
}

# The service binaries, for `cargo build -p ...`.
SERVICE_PACKAGES="-p server -p solstice-recorder -p solstice-portfolio -p solstice-transfer -p solstice-swap -p solstice-stake"

stop_services() {
    for pid in ${SERVICE_PIDS:-}; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
}
