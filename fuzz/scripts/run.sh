#!/bin/sh
# Run one already-built fuzz target on its corpus: scripts/run.sh TARGET SECONDS [extra libFuzzer flags]
# (run from fuzz/; build first with: RUSTC_BOOTSTRAP=1 cargo fuzz build -s none -a)
t=$1; secs=$2; shift 2
mkdir -p corpus/$t artifacts/$t
exec target/x86_64-unknown-linux-gnu/release/$t -artifact_prefix=artifacts/$t/ \
  -max_total_time=$secs -rss_limit_mb=2048 -timeout=10 -report_slow_units=2 -print_final_stats=1 "$@" corpus/$t
