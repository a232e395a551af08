# Shared by the test command (tests/run.sh) and the benchmark command (benchmarks/run.sh): functions that
# start Redis and a throw-away PostgreSQL cluster on free 127.0.0.1 ports and stop them again.
# Source it after setting $work to a scratch directory, then call start_servers: when the script exits (or is
# interrupted) the servers it started are stopped and $work is removed, keeping the script's exit status.

# Server-backed tests read these variables. Set them yourself to use your own servers (then nothing is
# started here, and the tests that restart a server are skipped outside CI):
#   STATEKIT_POSTGRES  Npgsql connection string, e.g. "Host=127.0.0.1;Port=5432;Username=me;Password=…;Database=statekit"
#   STATEKIT_REDIS     StackExchange.Redis configuration, e.g. "127.0.0.1:6379"
# For the servers started here the script also exports STATEKIT_POSTGRES_STOP/START and
# STATEKIT_REDIS_STOP/START: commands the crash tests run to take a server down and bring it back, and
# STATEKIT_REDIS_SERVER: the redis-server binary, for the tests that start a Redis Cluster of their own.
#   STATEKIT_REDIS_CLUSTER  the endpoints of a Redis Cluster (3 primaries, 3 replicas here), e.g. "127.0.0.1:7000,127.0.0.1:7001"
#   STATEKIT_PGBOUNCER  Npgsql connection string of a PgBouncer in transaction mode in front of that PostgreSQL
started_postgres=""; started_redis=""; started_cluster=""; started_pgbouncer=""

free_port() {
  local port
  for _ in $(seq 1 200); do
    port=$(( 20000 + RANDOM % 30000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return 0; fi
  done
  echo "no free port found" >&2; return 1
}

# Runs a command as an unprivileged user when we are root (PostgreSQL refuses to run as root).
as_server_user() {
  if [[ "$(id -u)" == "0" ]]; then runuser -u nobody -- "$@"; else "$@"; fi
}

start_postgres() {
  if [[ -n "${STATEKIT_POSTGRES:-}" ]]; then echo "==> PostgreSQL: using STATEKIT_POSTGRES from the environment"; return 0; fi
  local bin
  bin="$(dirname "$(command -v initdb || ls /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1)")"
  if [[ ! -x "$bin/initdb" ]]; then echo "PostgreSQL (initdb, pg_ctl) is not installed" >&2; return 1; fi
  local dir="$work/postgres" port password
  port="$(free_port)"; password="sk$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
  mkdir -p "$dir"; printf '%s\n' "$password" > "$work/pgpass"
  chmod 755 "$work"; chmod 644 "$work/pgpass"
  if [[ "$(id -u)" == "0" ]]; then chown nobody "$dir"; fi
  as_server_user "$bin/initdb" -D "$dir/data" -U statekit --pwfile="$work/pgpass" --auth=scram-sha-256 -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; return 1; }
  rm -f "$work/pgpass"
  local opts="-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200"
  local prefix; prefix="$(as_server_prefix)"
  export STATEKIT_POSTGRES_START="$prefix $(printf '%q ' "$bin/pg_ctl" -D "$dir/data" -o "$opts" -l "$dir/server.log" -w -t 60 start)"
  export STATEKIT_POSTGRES_STOP="$prefix $(printf '%q ' "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop)"
  bash -c "$STATEKIT_POSTGRES_START" >/dev/null || { cat "$dir/server.log" >&2; return 1; }
  started_postgres="$bin/pg_ctl -D $dir/data"
  export STATEKIT_POSTGRES="Host=127.0.0.1;Port=$port;Username=statekit;Password=$password;Database=postgres"
  echo "==> PostgreSQL started on 127.0.0.1:$port"
}

as_server_prefix() {
  if [[ "$(id -u)" == "0" ]]; then echo "runuser -u nobody --"; else echo ""; fi
}

start_redis() {
  if [[ -n "${STATEKIT_REDIS:-}" ]]; then
    echo "==> Redis: using STATEKIT_REDIS from the environment"
    if command -v redis-server >/dev/null 2>&1; then export STATEKIT_REDIS_SERVER="$(command -v redis-server)"; fi
    return 0
  fi
  if ! command -v redis-server >/dev/null 2>&1; then
    if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
      echo "==> installing redis-server"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || echo "apt-get update reported errors; trying the install anyway" >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
    else
      echo "redis-server is not installed (and this script can only install it as root with apt-get)" >&2; return 1
    fi
  fi
  local dir="$work/redis" port
  port="$(free_port)"; mkdir -p "$dir"
  # The binary, for tests that start servers of their own (the Redis Cluster tests start three cluster nodes).
  export STATEKIT_REDIS_SERVER="$(command -v redis-server)"
  export STATEKIT_REDIS_START="$(printf '%q ' "$(command -v redis-server)" --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" --dir "$dir")"
  export STATEKIT_REDIS_STOP="pkill -9 -f '[r]edis-server 127.0.0.1:$port' && sleep 0.2"
  bash -c "$STATEKIT_REDIS_START"
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi; sleep 0.1
  done
  started_redis="$port"
  export STATEKIT_REDIS="127.0.0.1:$port"
  echo "==> Redis started on 127.0.0.1:$port"
}

# A Redis Cluster of 3 primaries and 3 replicas on free loopback ports (each with its bus port, port + 10000, free).
start_redis_cluster() {
  if [[ -n "${STATEKIT_REDIS_CLUSTER:-}" ]]; then echo "==> Redis Cluster: using STATEKIT_REDIS_CLUSTER from the environment"; return 0; fi
  local dir="$work/redis-cluster" port endpoints=() cli info
  cli="$(dirname "$(command -v redis-server)")/redis-cli"
  mkdir -p "$dir"
  for _ in 1 2 3 4 5 6; do
    for _ in $(seq 1 50); do
      port="$(free_port)"
      if (( port + 10000 < 65536 )) && ! (exec 3<>"/dev/tcp/127.0.0.1/$((port + 10000))") 2>/dev/null \
        && [[ " ${endpoints[*]} " != *":$port "* ]]; then break; fi
    done
    redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes --cluster-enabled yes \
      --cluster-config-file "$dir/nodes-$port.conf" --cluster-node-timeout 5000 \
      --pidfile "$dir/$port.pid" --logfile "$dir/$port.log" --dir "$dir"
    started_cluster="$started_cluster $port"
    endpoints+=("127.0.0.1:$port")
  done
  for endpoint in "${endpoints[@]}"; do
    for _ in $(seq 1 100); do
      if [[ "$("$cli" -p "${endpoint#*:}" PING 2>/dev/null)" == "PONG" ]]; then break; fi; sleep 0.1
    done
  done
  "$cli" --cluster create "${endpoints[@]}" --cluster-replicas 1 --cluster-yes >"$dir/create.log" 2>&1 \
    || { cat "$dir/create.log" >&2; return 1; }
  for endpoint in "${endpoints[@]}"; do
    for _ in $(seq 1 300); do
      if "$cli" -p "${endpoint#*:}" CLUSTER INFO 2>/dev/null | grep -q "cluster_state:ok"; then break; fi; sleep 0.1
    done
  done
  # Replicas acknowledge writes (WAIT) only once their first sync is done.
  for endpoint in "${endpoints[@]}"; do
    for _ in $(seq 1 300); do
      info="$("$cli" -p "${endpoint#*:}" INFO replication 2>/dev/null)"
      if grep -q "role:master" <<<"$info" || grep -q "master_link_status:up" <<<"$info"; then break; fi; sleep 0.1
    done
  done
  export STATEKIT_REDIS_CLUSTER="$(IFS=,; echo "${endpoints[*]}")"
  echo "==> Redis Cluster (3 primaries, 3 replicas) started on $STATEKIT_REDIS_CLUSTER"
}

# PgBouncer in transaction mode in front of the PostgreSQL started above (Debian's pgbouncer, installed like
# redis-server when missing), for the pooler tests: STATEKIT_PGBOUNCER is its connection string.
start_pgbouncer() {
  if [[ -n "${STATEKIT_PGBOUNCER:-}" ]]; then echo "==> PgBouncer: using STATEKIT_PGBOUNCER from the environment"; return 0; fi
  if [[ -z "$started_postgres" ]]; then echo "==> PgBouncer: not started (PostgreSQL comes from the environment; set STATEKIT_PGBOUNCER)"; return 0; fi
  local bin; bin="$(command -v pgbouncer || echo /usr/sbin/pgbouncer)"
  if [[ ! -x "$bin" ]]; then
    if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
      echo "==> installing pgbouncer"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || echo "apt-get update reported errors; trying the install anyway" >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pgbouncer >/dev/null
      bin="$(command -v pgbouncer || echo /usr/sbin/pgbouncer)"
    else
      # Only the pooler tests need it: they are skipped without it (and fail under CI=true).
      echo "==> PgBouncer: not installed (this script can only install it as root with apt-get); the pooler tests will not run" >&2; return 0
    fi
  fi
  local dir="$work/pgbouncer" port pg_port password
  port="$(free_port)"; mkdir -p "$dir"
  pg_port="$(sed 's/.*Port=\([0-9]*\).*/\1/' <<<"$STATEKIT_POSTGRES")"
  password="$(sed 's/.*Password=\([^;]*\).*/\1/' <<<"$STATEKIT_POSTGRES")"
  printf '"statekit" "%s"\n' "$password" > "$dir/userlist.txt"
  cat > "$dir/pgbouncer.ini" <<INI
[databases]
postgres = host=127.0.0.1 port=$pg_port dbname=postgres
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir = $dir
auth_type = scram-sha-256
auth_file = $dir/userlist.txt
pool_mode = transaction
max_client_conn = 400
default_pool_size = 40
ignore_startup_parameters = extra_float_digits,search_path
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
  if [[ "$(id -u)" == "0" ]]; then chown -R nobody "$dir"; chmod 600 "$dir/userlist.txt"; fi
  as_server_user "$bin" -d "$dir/pgbouncer.ini" || { cat "$dir/pgbouncer.log" >&2 2>/dev/null; return 1; }
  for _ in $(seq 1 50); do [[ -s "$dir/pgbouncer.pid" ]] && break; sleep 0.1; done
  started_pgbouncer="$dir/pgbouncer.pid"
  export STATEKIT_PGBOUNCER="Host=127.0.0.1;Port=$port;Username=statekit;Password=$password;Database=postgres"
  echo "==> PgBouncer (transaction pooling) started on 127.0.0.1:$port"
}

# Chromium and ChromeDriver for the browser tests (Debian's packages), installed like redis-server when missing.
ensure_chromium() {
  if [[ -n "${STATEKIT_CHROMEDRIVER:-}" ]]; then echo "==> Chromium: using STATEKIT_CHROMEDRIVER from the environment"; return 0; fi
  if ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then
    if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
      echo "==> installing chromium and chromium-driver"
      DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || echo "apt-get update reported errors; trying the install anyway" >&2
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
    else
      echo "chromium and chromium-driver are not installed (and this script can only install them as root with apt-get)" >&2; return 1
    fi
  fi
  export STATEKIT_CHROMEDRIVER="$(command -v chromedriver)" STATEKIT_CHROMIUM="$(command -v chromium)"
  echo "==> Chromium: $("$STATEKIT_CHROMIUM" --version 2>/dev/null | head -n 1)"
}

start_servers() {
  start_postgres
  start_pgbouncer
  start_redis
  start_redis_cluster
  ensure_chromium
}

stop_servers() {
  if [[ -n "$started_pgbouncer" && -s "$started_pgbouncer" ]]; then kill "$(cat "$started_pgbouncer")" 2>/dev/null || true; fi
  if [[ -n "$started_redis" ]]; then pkill -f "[r]edis-server 127.0.0.1:$started_redis" 2>/dev/null || true; fi
  for port in $started_cluster; do pkill -f "[r]edis-server 127.0.0.1:$port" 2>/dev/null || true; done
  if [[ -n "$started_postgres" ]]; then as_server_user $started_postgres -m immediate stop >/dev/null 2>&1 || true; fi
}

cleanup() {
  local status=$?
  stop_servers || true
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT INT TERM
