#!/usr/bin/env bash
# Compare hlb's tree hash (hlb-tree-v1, one BLAKE3 stream, single thread)
# with b3sum over the same files, on a ~1 GiB tree: a few large files and a
# few thousand small ones. Needs b3sum and hyperfine (Debian packages).
#
#   bench/hash-tree.sh [WORKDIR]     (default: a fresh directory in $TMPDIR)
#
# Like with like: hash_tree is single-threaded, so the fair figure is
# `b3sum --num-threads 1`; plain `b3sum` (multi-threaded on large files) is
# shown too. The files are read once before timing (hyperfine --warmup), so
# all three measure hashing from the page cache, not the disk.
set -euo pipefail

for tool in b3sum hyperfine cargo; do
  command -v "$tool" >/dev/null || { echo "error: $tool is not installed" >&2; exit 1; }
done

repo=$(cd "$(dirname "$0")/.." && pwd)
if [[ -n "${1:-}" ]]; then
  work=$1 # kept, so a second run reuses the tree
  mkdir -p "$work"
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/hlb-hash-bench.XXXXXX")
  trap 'rm -rf "$work"' EXIT
fi
tree="$work/tree"

if [[ ! -d "$tree" ]]; then
  echo "creating ~1 GiB test tree in $tree" >&2
  mkdir -p "$tree/big" "$tree/small"
  # 4 x 192 MiB large files.
  for i in 1 2 3 4; do
    head -c $((192 << 20)) /dev/urandom >"$tree/big/blob$i"
  done
  # 4096 small files of 1..128 KiB in 64 directories (~256 MiB), sizes
  # from a fixed sequence so every run builds the same shape.
  head -c $((256 << 20)) /dev/urandom >"$work/pool"
  off=0 # KiB into the pool
  for d in $(seq -w 0 63); do
    mkdir -p "$tree/small/d$d"
    for f in $(seq -w 0 63); do
      kib=$(( (10#$d * 64 + 10#$f) * 7919 % 128 + 1 ))
      dd if="$work/pool" of="$tree/small/d$d/f$f" bs=1K skip="$off" count="$kib" status=none
      off=$(( (off + kib) % (200 << 10) ))
    done
  done
  chmod +x "$tree/small/d00/f00"
  ln -s ../big/blob1 "$tree/small/link"
  rm -f "$work/pool"
fi
echo "tree: $(du -sh --apparent-size "$tree" | cut -f1), $(find "$tree" -type f | wc -l) files" >&2

(cd "$repo" && cargo build --quiet --release -p hlb-cache --example hash_tree)
bin="$repo/target/release/examples/hash_tree"
"$bin" "$tree" >&2

hyperfine --warmup 1 --runs "${RUNS:-5}" --export-markdown "$work/results.md" \
  -n "hlb hash_tree (1 thread)" "$bin $tree" \
  -n "b3sum --num-threads 1" "find $tree -type f -print0 | xargs -0 b3sum --num-threads 1 >/dev/null" \
  -n "b3sum (default threads)" "find $tree -type f -print0 | xargs -0 b3sum >/dev/null"
cat "$work/results.md"
