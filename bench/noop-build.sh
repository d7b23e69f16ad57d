#!/usr/bin/env bash
# The no-op `hlb build` of the example lab (everything already in the store),
# measured on the real binary with hyperfine. Target (issue 3): under 50 ms.
# Also times `hlb build --json` of the same, and prints the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v hyperfine >/dev/null || { echo "install hyperfine (apt-get install hyperfine)" >&2; exit 1; }
cargo build --release --quiet
hlb="$PWD/target/release/hlb"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A copy of the example lab, locked here: its container's packages are
# resolved against the machine's apt sources (no lock is committed).
cp -r recipes "$work/recipes"
rm -f "$work/recipes/hlb.lock"
export HLB_STORE="$work/store" HLB_STATE="$work/state" HLB_RECIPES="$work/recipes"
export HLB_AGE_IDENTITY="$PWD/demo/age-identity.txt"   # the example lab's public demo identity
"$hlb" lock 2>/dev/null
"$hlb" build >/dev/null 2>&1
hyperfine --warmup 5 --runs 50 -N \
  --command-name "hlb build (no-op, example lab)" "$hlb build" \
  --command-name "hlb build --json (no-op, example lab)" "$hlb build --json"
