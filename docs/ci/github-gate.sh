#!/usr/bin/env bash
# The gate step of evallock's GitHub Action (action.yml), kept apart so it can be tested.
#
# In:  EVALLOCK_COMMAND (run | ab), EVALLOCK_CASES, EVALLOCK_ARGS (split on spaces, never
#      evaluated), EVALLOCK_BRANCH (this branch), EVALLOCK_BASE_BRANCH (a pull request's base).
# Out: evallock.md (and evallock-junit.xml for run); "code=<exit code>" in $GITHUB_OUTPUT.
#
# A gate run is keyed with its branch (branch=<name>), and on a pull request it is compared
# with the base branch's last passing run (--baseline last-pass:branch=<base>) unless the
# args name a baseline.
set -u -f  # -f: an argument like "*" stays a "*"
case "${EVALLOCK_COMMAND:-}" in
  run | ab) ;;
  *)
    echo "evallock action: command must be run or ab, got '${EVALLOCK_COMMAND:-}'" >&2
    echo "code=2" >> "$GITHUB_OUTPUT"
    exit 0
    ;;
esac
read -r -a extra <<< "${EVALLOCK_ARGS:-}"
args=("$EVALLOCK_COMMAND" "$EVALLOCK_CASES" "${extra[@]}" --markdown evallock.md)
if [ "$EVALLOCK_COMMAND" = run ]; then
  args+=(--junit evallock-junit.xml)
  if [ -n "${EVALLOCK_BRANCH:-}" ]; then
    args+=(--key "branch=$EVALLOCK_BRANCH")
  fi
  if [ -n "${EVALLOCK_BASE_BRANCH:-}" ] && [[ " ${EVALLOCK_ARGS:-} " != *" --baseline"* ]]; then
    args+=(--baseline "last-pass:branch=$EVALLOCK_BASE_BRANCH")
  fi
fi
evallock "${args[@]}"
echo "code=$?" >> "$GITHUB_OUTPUT"
