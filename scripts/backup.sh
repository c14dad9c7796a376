#!/bin/sh
# Back up the INDIGO database: a custom-format pg_dump of $DATABASE_URL (docs/OPERATIONS.md, Backup).
#
#   DATABASE_URL=postgres://indigo:...@db-host:5432/indigo scripts/backup.sh [FILE]
#
# FILE defaults to indigo-<UTC time>.dump in the current directory. The dump is written to FILE.partial and
# renamed only once pg_dump succeeded and pg_restore can read its table of contents, so a FILE that exists is
# a complete archive. Prints the file name.
set -eu
: "${DATABASE_URL:?set DATABASE_URL to the database to back up}"
out="${1:-indigo-$(date -u +%Y%m%dT%H%M%SZ).dump}"
pg_dump --format=custom --file="$out.partial" --dbname="$DATABASE_URL"
pg_restore --list "$out.partial" >/dev/null
mv "$out.partial" "$out"
echo "$out"
