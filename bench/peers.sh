#!/usr/bin/env bash
# fumidai side by side with rspamd, SpamAssassin, ClamAV and oletools on the same messages (issue 9).
#
# Installs the peers (Debian packages; oletools from PyPI into a venv), builds fumidai in release mode, then
# runs bench/peers/run.py inside a network namespace with only loopback up: nothing can reach the network,
# so DNS lists, URL checks and updates fail at once instead of waiting. Prints the detection matrix
# (classes of bench/peers/classes.tsv x tool) and the speed ratios of this one run.
#
# Not part of the test suite. Needs root (apt-get, unshare, rspamd and spamd drop to their own users).
#   bench/peers.sh                 install what is missing, build, run
#   PEERS_NO_INSTALL=1 bench/peers.sh   use what is installed
#   PEERS_DETAILS=out.tsv               also write every message's result per tool
# Environment: PEERS_VENV (default ~/.cache/fumidai-peers/venv), CARGO_TARGET_DIR as for cargo.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
venv=${PEERS_VENV:-$HOME/.cache/fumidai-peers/venv}
debs=(rspamd spamassassin spamd spamc clamav libarchive-zip-perl)  # Archive::Zip: SpamAssassin's OLEVBMacro

if [[ -z ${PEERS_NO_INSTALL:-} ]]; then
    missing=()
    for p in "${debs[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
    done
    if ((${#missing[@]})); then
        apt-get update -q
        # The packages' services are not wanted running: the bench starts its own on loopback.
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
    [[ -x $venv/bin/python ]] || python3 -m venv "$venv"
    "$venv/bin/python" -c 'import oletools' 2>/dev/null || "$venv/bin/pip" install -q oletools
fi

(cd "$repo" && cargo build --release -q -p fumidai)
fumidai="${CARGO_TARGET_DIR:-$repo/target}/release/fumidai"

work=$(mktemp -d /tmp/fumidai-peers.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"  # rspamd and spamd run as their own users
# The empty configuration: built-in defaults, whatever /etc/fumidai holds.
: > "$work/fumidai.toml"

{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)" \
        "$(sed -n 's/^cpu MHz\s*: \([0-9]*\).*/\1 MHz/p' /proc/cpuinfo | head -1), $(uname -sr)," \
        "load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
    echo "fumidai: $("$fumidai" --version) ($(git -C "$repo" rev-parse --short HEAD)$(git -C "$repo" diff --quiet HEAD || echo ', modified'))"
    echo "rspamd: $(rspamd --version | head -1 | sed 's/.*version //')"
    echo "SpamAssassin: $(spamassassin --version | sed -n 's/SpamAssassin version //p'), rules of Debian $(dpkg-query -W -f='${Version}' spamassassin)"
    echo "ClamAV: $(clamscan --version | cut -d/ -f1 | sed 's/ClamAV //') (no signature database: built-in heuristics)"
    echo "oletools: $("$venv/bin/python" -c 'import oletools.olevba as o; print(o.__version__)'), Python $("$venv/bin/python" -c 'import platform; print(platform.python_version())')"
    echo
} | tee "$work/header"

unshare -n -- sh -c 'ip link set lo up && exec "$@"' sh \
    "$venv/bin/python" "$repo/bench/peers/run.py" --repo "$repo" --fumidai "$fumidai" \
    --fumidai-config "$work/fumidai.toml" --workdir "$work" ${PEERS_DETAILS:+--details "$PEERS_DETAILS"}
