#!/usr/bin/env bash
# The StateKit benchmark command. Builds in Release, starts Redis and a throw-away PostgreSQL cluster exactly as the
# test command does (tests/servers.sh), runs
#   1. a short BenchmarkDotNet job of every benchmark (in-process, 250 ms iterations),
#   2. the paired StateKit-vs-raw run of the server stores (alternating calls, medians),
#   3. the load test (benchmarks/StateKit.LoadTest),
# and writes the markdown tables to benchmarks/results/<UTC time>/. Takes about 25 minutes on 2 cores.
#
#   bash benchmarks/run.sh                      # everything
#   bash benchmarks/run.sh --quick              # a smoke run: one invocation per benchmark, a 5 s load test
#   bash benchmarks/run.sh '*Sqlite*' '*Memory*'  # only the BenchmarkDotNet classes matching these filters
#
# Export STATEKIT_POSTGRES / STATEKIT_REDIS to use your own servers instead. Benchmarks are not part of the tests.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
work="$(mktemp -d "${TMPDIR:-/tmp}/statekit-bench.XXXXXX")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
source "$repo/tests/servers.sh"  # also stops the servers and removes $work on exit

quick=""; filters=()
for arg in "$@"; do
  if [[ "$arg" == "--quick" ]]; then quick=1; else filters+=("$arg"); fi
done
if (( ${#filters[@]} == 0 )); then filters=('*'); fi

echo "==> build (Release)"
dotnet build benchmarks/StateKit.Benchmarks -c Release -nologo -v q
dotnet build benchmarks/StateKit.LoadTest -c Release -nologo -v q
start_servers

out="benchmarks/results/$(date -u +%Y-%m-%dT%H%MZ)"
mkdir -p "$out"
bench="benchmarks/StateKit.Benchmarks/bin/Release/net10.0/StateKit.Benchmarks.dll"
load="benchmarks/StateKit.LoadTest/bin/Release/net10.0/StateKit.LoadTest.dll"

echo "==> BenchmarkDotNet (${filters[*]})"
job=(--job short --iterationTime 250)
if [[ -n "$quick" ]]; then job=(--job dry); fi
dotnet "$bench" --filter "${filters[@]}" "${job[@]}" --inProcess --exporters github --artifacts "$work/bdn" | tee "$work/bdn.log" | grep -E '^(// \*\*\*\*\*|// Benchmark:|Run time|Global total)' || true
if grep -q "TargetInvocationException\|No Workload Results" "$work/bdn.log"; then
  echo "a benchmark failed; see its output:" >&2
  grep -B2 -A12 "TargetInvocationException" "$work/bdn.log" | head -n 60 >&2
  exit 1
fi
{
  echo "# BenchmarkDotNet ($(date -u '+%Y-%m-%d %H:%M') UTC${quick:+, dry run: not a measurement})"
  echo
  echo "Ratio = this row ÷ the baseline row of the same category and parameters (StateKit ÷ hand-written code)."
  for report in "$work"/bdn/results/*-report-github.md; do
    echo
    echo "## $(basename "$report" -report-github.md | sed 's/^StateKit\.Benchmarks\.//')"
    echo
    cat "$report"
  done
} > "$out/benchmarks.md"

echo "==> paired StateKit vs raw driver"
dotnet "$bench" --paired "$([[ -n "$quick" ]] && echo 200 || echo 3000)" | tee "$out/paired.md"

echo "==> session requests, paired (in process, and on Redis)"
dotnet "$bench" --session-memory "$([[ -n "$quick" ]] && echo 500 || echo 20000)" | tee "$out/sessions.md"
dotnet "$bench" --session-redis "$([[ -n "$quick" ]] && echo 200 || echo 2000)" | tee -a "$out/sessions.md"

echo "==> PostgreSQL write-through vs a hand-written UPSERT at 1, 16 and 64 clients"
dotnet "$bench" --pg-writes "$([[ -n "$quick" ]] && echo 1 || echo 3)" "$([[ -n "$quick" ]] && echo 1 || echo 3)" | tee "$out/pg-writes.md"

echo "==> statekit tool: export / import per store, and a SQLite → PostgreSQL copy"
dotnet "$bench" --transfer "$([[ -n "$quick" ]] && echo 5000 || echo 100000)" "$([[ -n "$quick" ]] && echo 10000 || echo 1000000)" | tee "$out/transfer.md"

echo "==> load test"
load_status=0
dotnet "$load" ${quick:+--quick} | tee "$out/loadtest.md" || load_status=$?

echo "==> results in $out"
exit "$load_status"
