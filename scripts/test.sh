#!/usr/bin/env bash
# `npm test`: build what the tests import, then run the SAME test files under Node, Bun and Deno.
# Prints each runtime's counts and a last line `total: N passed, N failed`; exits non-zero when a
# runtime failed or ran no test. Select runtimes with AURADB_RUNTIMES="node bun deno".
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"   # the pinned Node (npm package "node"), bun and deno
export TURBO_TELEMETRY_DISABLED=1 DO_NOT_TRACK=1 NO_COLOR=1 TURBO_NO_UPDATE_NOTIFIER=1
unset FORCE_COLOR   # Deno forces colour when FORCE_COLOR is set to anything, even 0

turbo run build --output-logs=errors-only >/dev/null || { echo "build failed"; turbo run build --output-logs=errors-only; exit 1; }

# Test roots that exist (apps/ and tools/ may not yet).
roots=()
for root in packages apps tools; do [ -d "$root" ] && roots+=("$root"); done
node_globs=()
for root in "${roots[@]}"; do
  case $root in
    tools) node_globs+=("tools/**/*.test.ts") ;;
    *) node_globs+=("$root/*/test/**/*.test.ts") ;;
  esac
done

mkdir -p .ci/out
status=0; total_passed=0; total_failed=0
run() { # name command...
  local name=$1; shift
  "$@" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' > ".ci/out/$name.log"
  local code=${PIPESTATUS[0]}
  local passed failed
  case $name in
    node) passed=$(grep -E '^ℹ pass [0-9]+' ".ci/out/$name.log" | tail -1 | awk '{print $3}')
          failed=$(grep -E '^ℹ fail [0-9]+' ".ci/out/$name.log" | tail -1 | awk '{print $3}') ;;
    bun)  passed=$(grep -E '^ *[0-9]+ pass$' ".ci/out/$name.log" | tail -1 | awk '{print $1}')
          failed=$(grep -E '^ *[0-9]+ fail$' ".ci/out/$name.log" | tail -1 | awk '{print $1}') ;;
    deno) # "ok | 7 passed (30 steps) | 0 failed": count tests + steps
          local line top steps
          line=$(grep -E '^(ok|FAILED) \| ' ".ci/out/$name.log" | tail -1)
          top=$(sed -nE 's/.*\| ([0-9]+) passed.*/\1/p' <<<"$line")
          steps=$(sed -nE 's/.*passed \(([0-9]+) steps?\).*/\1/p' <<<"$line")
          passed=$(( ${top:-0} + ${steps:-0} ))
          failed=$(sed -nE 's/.*\| ([0-9]+) failed.*/\1/p' <<<"$line") ;;
  esac
  passed=${passed:-0}; failed=${failed:-0}
  if [ "$code" -ne 0 ] || [ "$passed" -eq 0 ]; then
    status=1
    [ "$failed" -eq 0 ] && failed=1
    echo "---- $name: last lines of .ci/out/$name.log ----"
    grep -vE '^\s+at ' ".ci/out/$name.log" | tail -n 60
  fi
  echo "$name: $passed passed, $failed failed (exit code $code)"
  total_passed=$((total_passed + passed)); total_failed=$((total_failed + failed))
}

runtimes=${AURADB_RUNTIMES:-node bun deno}
echo "node $(node --version) | bun $(bun --version) | $(deno --version | head -1)"
for runtime in $runtimes; do
  case $runtime in
    node) run node node --test --test-reporter=spec "${node_globs[@]}" ;;
    bun)  run bun bun test --timeout 300000 "${roots[@]/#/./}" ;;
    deno) run deno deno test -A --no-check "${roots[@]}" ;;
    *) echo "unknown runtime $runtime"; exit 2 ;;
  esac
done
echo "total: $total_passed passed, $total_failed failed"
exit $status
