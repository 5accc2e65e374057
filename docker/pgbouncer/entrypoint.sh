#!/bin/sh
# Writes pgbouncer.ini and the user list from the environment, then runs pgbouncer.
# DB_HOST, DB_PORT, DB_NAME, DB_USER, DB_PASSWORD: the Postgres server and the panel's role;
# POOL_SIZE: server connections per database and user (clients beyond it queue);
# MAX_CLIENT_CONN: client connections accepted (every web/worker process's).
set -eu
dir=/tmp/pgbouncer
mkdir -p "$dir"
printf '"%s" "%s"\n' "$DB_USER" "$DB_PASSWORD" > "$dir/users.txt"
cat > "$dir/pgbouncer.ini" <<INI
[databases]
${DB_NAME} = host=${DB_HOST} port=${DB_PORT:-5432} dbname=${DB_NAME}

[pgbouncer]
listen_addr = 0.0.0.0
listen_port = 6432
unix_socket_dir =
auth_type = scram-sha-256
auth_file = $dir/users.txt
pool_mode = transaction
default_pool_size = ${POOL_SIZE:-20}
max_client_conn = ${MAX_CLIENT_CONN:-500}
; psycopg/libpq may send these; the panel sets nothing per session that must survive.
ignore_startup_parameters = extra_float_digits, options
server_check_query = select 1
INI
exec pgbouncer "$dir/pgbouncer.ini"
