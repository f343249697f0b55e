#!/bin/sh
# The services image's entrypoint (Sysroot/services-image.sh): the official postgres and
# redis images' first-start behaviour, reduced to what the compose tests use.
set -e
PATH=/usr/lib/postgresql/15/bin:$PATH
export PATH
case "$1" in
postgres)
    : "${PGDATA:=/var/lib/postgresql/data}"
    mkdir -p "$PGDATA" && chown postgres:postgres "$PGDATA" && chmod 700 "$PGDATA"
    if [ ! -s "$PGDATA/PG_VERSION" ]; then
        : "${POSTGRES_USER:=postgres}"
        [ -n "${POSTGRES_PASSWORD:-}" ] || { echo "error: POSTGRES_PASSWORD is not set" >&2; exit 1; }
        printf '%s\n' "$POSTGRES_PASSWORD" > /tmp/pwfile && chown postgres /tmp/pwfile
        su postgres -s /bin/sh -c "initdb -D '$PGDATA' -U '$POSTGRES_USER' --pwfile=/tmp/pwfile --auth-host=scram-sha-256 --auth-local=trust" >/dev/null
        rm -f /tmp/pwfile
        echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
        # As the official image: a database named POSTGRES_DB (default: the user's name).
        : "${POSTGRES_DB:=$POSTGRES_USER}"
        if [ "$POSTGRES_DB" != "postgres" ]; then
            echo "CREATE DATABASE \"$POSTGRES_DB\" OWNER \"$POSTGRES_USER\";" |
                su postgres -s /bin/sh -c "postgres --single -D '$PGDATA' postgres" >/dev/null
        fi
        echo "PostgreSQL init process complete; ready for start up."
    fi
    shift
    exec su postgres -s /bin/sh -c "exec postgres -D '$PGDATA' -c listen_addresses='*' $*"
    ;;
redis-server)
    shift
    cd /data
    exec su redis -s /bin/sh -c "exec redis-server --protected-mode no --dir /data $*"
    ;;
esac
exec "$@"
