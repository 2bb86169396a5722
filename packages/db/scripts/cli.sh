#!/bin/sh
# What `pnpm db:*` runs: compiles what changed, then runs the migration CLI. A build that fails prints the
# compiler's own `file(line,col): error` lines and exits 2; nothing else, so the failure reads as itself.
#
# When nothing changed since the last successful build it does not even load the compiler: the stamp
# dist/.cli-build-ok is written only after a build that succeeded, and any file or folder under src/ (an added
# or deleted file changes its folder's time), a tsconfig, package.json or the compiled contract newer than it
# means "build". The build itself is `tsc -b` with incremental build info: it recompiles only what changed.
cd "$(dirname "$0")/.." || exit 2
stamp=dist/.cli-build-ok
if [ ! -f "$stamp" ] || [ -n "$(find src tsconfig.json tsconfig.build.json package.json \
  node_modules/@tradeos/contract/dist -newer "$stamp" -print 2>/dev/null | head -1)" ]; then
  rm -f "$stamp"
  mkdir -p dist && : > "$stamp.next"   # stamped before the build: an edit made during it is newer than the stamp
  tsc -b tsconfig.build.json --pretty false >&2 || exit 2
  mv "$stamp.next" "$stamp"
fi
exec node dist/ops/cli.js "$@"
