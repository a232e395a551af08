#!/usr/bin/env bash
# The StateKit test command: restore, build and run every test project, then print
#   Tests: N passed, M failed
# from the real result files, and exit non-zero on any failure.
#
# Works on a fresh Debian machine with the .NET SDK and PostgreSQL's binaries: it installs redis-server,
# chromium and chromium-driver (for the browser test) with apt-get when missing (as root), starts Redis and
# a throw-away PostgreSQL cluster on 127.0.0.1 on free ports, runs every test against them and always stops them, even when a test fails or the script
# is interrupted. Users with their own servers export STATEKIT_POSTGRES / STATEKIT_REDIS instead.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
configuration="${CONFIGURATION:-Release}"
work="$(mktemp -d "${TMPDIR:-/tmp}/statekit-tests.XXXXXX")"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# --- servers: start_servers / stop_servers (tests/servers.sh) ---------------------------------------
source "$repo/tests/servers.sh"  # also stops the servers and removes $work on exit

echo "==> restore"
dotnet restore StateKit.sln
echo "==> build ($configuration)"
dotnet build StateKit.sln -c "$configuration" --no-restore -nologo
start_servers

echo "==> test"
test_status=0
dotnet test StateKit.sln -c "$configuration" --no-build --nologo \
  --logger "trx" --logger "console;verbosity=normal" --results-directory "$work/results" || test_status=$?

# The Redis tests again, on the newest StackExchange.Redis: StateKit.Redis stays built on its floor (2.13.23) and the
# tests and the compatibility app load the newer client, as in an app that has it in its graph. Built apart.
redis_client_latest="3.4.35"
echo "==> test (Redis on StackExchange.Redis $redis_client_latest)"
dotnet test tests/StateKit.Tests -c "$configuration" --nologo --artifacts-path "$work/redis-client-latest" \
  -p:RedisClientVersion="$redis_client_latest" --filter "FullyQualifiedName~Redis|Name~redis" \
  --logger "trx" --logger "console;verbosity=normal" --results-directory "$work/results" || test_status=$?

passed=0; failed=0; skipped=0; inconclusive=0
shopt -s nullglob
for trx in "$work"/results/*.trx; do
  counters="$(grep -o '<Counters [^>]*>' "$trx" | head -n 1)"
  value() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<<"$counters"; }
  passed=$((passed + $(value passed)))
  failed=$((failed + $(value failed) + $(value error) + $(value timeout) + $(value aborted)))
  skipped=$((skipped + $(value notExecuted)))
  inconclusive=$((inconclusive + $(value inconclusive)))
done
# In CI a test that could not run (for example a missing server) is a failure, never a skip.
if [[ "${CI:-}" == "true" ]]; then
  failed=$((failed + inconclusive + skipped))
  skipped=0
else
  skipped=$((skipped + inconclusive))
fi

if (( passed + failed == 0 )); then
  echo "no test ran" >&2
  test_status=1
fi
if (( test_status != 0 && failed == 0 )); then
  failed=1  # the runner failed without a result file saying why (crash, build error)
fi

if (( skipped > 0 )); then
  echo "Tests: $passed passed, $failed failed, $skipped skipped"
else
  echo "Tests: $passed passed, $failed failed"
fi
(( failed == 0 && test_status == 0 ))
