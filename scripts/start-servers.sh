#!/usr/bin/env bash
# Starts the local PostgreSQL and MariaDB the tests run against, and the
# PostgreSQL 18 of the compatibility tests, if they are not answering. Safe
# to run again; used by .ci/run and by developers.
set -euo pipefail

pg_answering() { pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; }
mysql_client() { command -v mariadb-admin || command -v mysqladmin; }
my_answering() { "$(mysql_client)" --protocol=tcp -h 127.0.0.1 -P 3306 -u root status >/dev/null 2>&1; }

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
  echo "PostgreSQL is not installed; install it (apt-get install postgresql) or point STRATA_TEST_POSTGRES_URL at a server" >&2
  exit 2
fi
if ! pg_answering; then
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 1 60); do pg_answering && break; sleep 0.5; done
fi
pg_answering || { echo "PostgreSQL did not start on 127.0.0.1:5432" >&2; exit 2; }
echo "PostgreSQL is answering on 127.0.0.1:5432"

if [ ! -x /usr/sbin/mariadbd ] || [ -z "$(mysql_client)" ]; then
  echo "MariaDB is not installed; install it (apt-get install mariadb-server) or point STRATA_TEST_MYSQL_URL at a server" >&2
  exit 2
fi
if ! my_answering; then
  echo "starting MariaDB"
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  for _ in $(seq 1 60); do my_answering && break; sleep 0.5; done
fi
my_answering || { echo "MariaDB did not start on 127.0.0.1:3306" >&2; exit 2; }
echo "MariaDB is answering on 127.0.0.1:3306"

bash "$(dirname "$0")/start-pg18.sh"
