#!/usr/bin/env bash
# npm run test:clock [-- LABEL…]: the whole test suite under a shifted clock (Debian's faketime), at the
# hours where the daily rules turn (09:00 reminders, 18:00 checks and digest), at night, and across the
# new year, all Asia/Shanghai. The clock starts at the given moment and then runs at the normal rate, so
# a run that starts at 08:59 crosses 09:00 and one that starts at 23:59 on 31 December crosses the year.
#
# Chromium and throwaway redis-servers run on the real clock: the tests start them without libfaketime
# (test/helpers/real-clock-env.ts), since Chromium dies at start under it and redis-server recurses in
# clock_gettime. The system PostgreSQL and Redis are not our processes either.
set -uo pipefail
cd "$(dirname "$0")/.."

command -v faketime >/dev/null || { echo "faketime is missing: apt-get install -y faketime" >&2; exit 2; }

# label = Shanghai wall time; the value is the same moment in UTC, which is what faketime is given.
declare -A AT=(
  ["2026-12-02T02:00+08"]="2026-12-01 18:00:00"
  ["2026-12-02T08:59+08"]="2026-12-02 00:59:00"
  ["2026-12-02T09:01+08"]="2026-12-02 01:01:00"
  ["2026-12-02T18:01+08"]="2026-12-02 10:01:00"
  ["2026-12-02T23:59+08"]="2026-12-02 15:59:00"
  ["2026-12-31T23:59+08"]="2026-12-31 15:59:00"
)
ORDER=("2026-12-02T02:00+08" "2026-12-02T08:59+08" "2026-12-02T09:01+08" "2026-12-02T18:01+08" "2026-12-02T23:59+08" "2026-12-31T23:59+08")
[ $# -gt 0 ] && ORDER=("$@")

logs=$(mktemp -d)
failed=()
for label in "${ORDER[@]}"; do
  at=${AT[$label]:-}
  [ -n "$at" ] || { echo "unknown time $label; one of: ${!AT[*]}" >&2; exit 2; }
  echo "== the suite with the clock at $label (UTC $at)"
  FAKETIME_DONT_RESET=1 TZ=UTC faketime -f "@$at" npx vitest run > "$logs/$label.log" 2>&1
  rc=$?
  sed 's/\x1b\[[0-9;]*m//g' "$logs/$label.log" | grep -E '^\s*(Test Files|Tests)\s'
  if [ $rc -ne 0 ]; then
    failed+=("$label")
    sed 's/\x1b\[[0-9;]*m//g' "$logs/$label.log" | grep -E '^\s*(FAIL|×)' | head -20
  fi
done
echo "logs: $logs"
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed at: ${failed[*]}"
  exit 1
fi
echo "passed at every time: ${ORDER[*]}"
