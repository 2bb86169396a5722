#!/bin/sh
# Compiles the package, then runs the migration CLI (what `pnpm db:*` runs). A build that fails prints the
# compiler's own `file(line,col): error` lines and exits 2; nothing else, so the failure reads as itself.
cd "$(dirname "$0")/.." || exit 2
tsc -p tsconfig.build.json --pretty false >&2 || exit 2
exec node dist/ops/cli.js "$@"
