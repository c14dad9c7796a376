#!/bin/sh
# Restore a dump made by scripts/backup.sh into a NEW, EMPTY database, then verify the protocol chain
# (docs/OPERATIONS.md, Restore).
#
#   createdb -h db-host -U indigo indigo_restored
#   DATABASE_URL=postgres://indigo:...@db-host:5432/indigo_restored scripts/restore.sh FILE
#
# All or nothing (one transaction, stop at the first error). Exits non-zero when the restore fails or when
# verify_protocols finds a bad day. PYTHON names the interpreter of the application (default: python).
set -eu
dump="${1:?usage: DATABASE_URL=postgres://.../NEW_DATABASE scripts/restore.sh FILE}"
: "${DATABASE_URL:?set DATABASE_URL to the new, empty database to restore into}"
pg_restore --exit-on-error --single-transaction --no-owner --dbname="$DATABASE_URL" "$dump"
"${PYTHON:-python}" "$(dirname "$0")/../manage.py" verify_protocols
