#!/usr/bin/env bash
# LXC template builds, hlb side by side with mmdebstrap (issue: "cold
# template build and no-op rebuild; at least 2x faster than mmdebstrap cold,
# under 100 ms no-op"), on two containers of bench/lxc-template/lab.kdl: a
# minimal systemd container and the dnsdist container.
#
#   bench/lxc-template.sh [--runs N] [--mmdebstrap-runs N] [--noop-runs N]
#                         [--containers "minimal dns"] [--unsafe-io] [WORKDIR]
#
# Needs root (mmdebstrap --mode=root, unshare), hyperfine, mmdebstrap,
# apt-ftparchive (apt-utils), jq and zstd; the network once, for `hlb lock`
# and the first `hlb build` (the machine's apt sources: no mirror is named
# here). WORKDIR (default: a fresh directory in $TMPDIR, removed at the end)
# is kept when given, so a second run reuses its lock and store. The hlb
# measured is this checkout's `cargo build --release`, or $HLB_BIN if set.
#
# What is measured, per container:
# - hlb cold: `hlb build --offline NAME` after deleting the template's store
#   entry (hyperfine --prepare), every .deb already in the store.
# - mmdebstrap cold: the same package set, every package of hlb's locked
#   closure pinned at its locked version (--variant=custom
#   --include=name=version,…), from the very same .deb files (hard links to
#   hlb's store entries) served by a local flat file:// repository, to a
#   fresh rootfs.tar.zst (zstd's default level 3, one thread, as hlb). It
#   runs in a fresh network namespace (`unshare --net`: no interface but a
#   down loopback) and mount namespace (the file-mirror-automount hook's bind
#   mount dies with it), with apt's proxy pointed at a closed port besides.
#   Merged /usr is set up the debootstrap way (the merged-usr hook), as
#   bookworm's usr-is-merged requires. With --unsafe-io, dpkg runs with
#   --force-unsafe-io (no fsync per unpacked file); the default is
#   mmdebstrap as shipped.
# - hlb no-op: `hlb build NAME` with everything built.
# Then both results are checked to hold the same packages (hlb's SBOM
# against the dpkg status in mmdebstrap's tarball), and a table is printed.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

hlb_runs=5 mm_runs=3 noop_runs=50 containers="minimal dns" unsafe_io=0 work_arg=""
while (($#)); do
  case $1 in
    --runs) hlb_runs=$2; shift 2 ;;
    --mmdebstrap-runs) mm_runs=$2; shift 2 ;;
    --noop-runs) noop_runs=$2; shift 2 ;;
    --containers) containers=$2; shift 2 ;;
    --unsafe-io) unsafe_io=1; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "error: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) work_arg=$1; shift ;;
  esac
done

missing=()
for pair in hyperfine:hyperfine mmdebstrap:mmdebstrap apt-ftparchive:apt-utils \
  jq:jq zstd:zstd unshare:util-linux sha256sum:coreutils; do
  command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
done
if ((${#missing[@]})); then
  echo "error: missing tools; install them with: apt-get install ${missing[*]}" >&2
  exit 1
fi
[[ -n ${HLB_BIN:-} ]] || command -v cargo >/dev/null || { echo "error: cargo is not installed (https://rustup.rs)" >&2; exit 1; }
if ((EUID != 0)); then
  echo "error: run as root: mmdebstrap --mode=root and unshare --net --mount need it" >&2
  exit 1
fi
hooks=/usr/share/mmdebstrap/hooks
for h in merged-usr file-mirror-automount; do
  [[ -d $hooks/$h ]] || { echo "error: $hooks/$h is missing (mmdebstrap too old?)" >&2; exit 1; }
done

repo_root=$(cd "$(dirname "$0")/.." && pwd)
here="$repo_root/bench"
if [[ -n ${HLB_BIN:-} ]]; then
  hlb=$(realpath "$HLB_BIN") # a prebuilt hlb instead of this checkout's
else
  (cd "$repo_root" && cargo build --release --quiet)
  hlb="$repo_root/target/release/hlb"
fi

cleanup() {
  # mmdebstrap's bind mounts live in their own mount namespace; this only
  # catches what an interrupted run could have left behind.
  local m
  for m in $(findmnt -rn -o TARGET | grep -F "$work/" | sort -r || true); do
    umount -l "$m" || true
  done
  rm -rf "$work"
}
if [[ -n $work_arg ]]; then
  mkdir -p "$work_arg"
  work=$(cd "$work_arg" && pwd) # kept: a second run reuses the lock and the store
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/hlb-lxc-bench.XXXXXX")
  trap cleanup EXIT
fi
rm -rf "$work/repo" "$work/out" "$work/tmp" "$work/results"
mkdir -p "$work/lab" "$work/repo" "$work/out" "$work/tmp" "$work/results"
cp "$here/lxc-template/lab.kdl" "$work/lab/lab.kdl"
export HLB_STORE="$work/store" HLB_STATE="$work/state" HLB_RECIPES="$work/lab"
lock="$work/lab/hlb.lock"

# Lock against the machine's apt sources and fetch every .deb (once).
quiet() { # run "$@" with its output in a log, shown if it fails
  "$@" >"$work/log" 2>&1 || { cat "$work/log" >&2; echo "error: $* failed" >&2; exit 1; }
}
if ! "$hlb" lock --check >/dev/null 2>&1; then
  echo "hlb lock (resolving against the machine's apt sources)" >&2
  quiet "$hlb" lock
fi
echo "hlb build (fetches every .deb into the store, once)" >&2
quiet "$hlb" build

# Proof that mmdebstrap's namespace has no network: the lock's own mirror
# host must be unreachable from inside it.
mirror_host=$(jq -r '[.debian[].sources[].uri] | first' "$lock" | sed -E 's#^[a-z]+://([^/:]+).*#\1#')
if unshare --net timeout 5 bash -c "exec 3<>/dev/tcp/$mirror_host/80" 2>/dev/null; then
  echo "error: $mirror_host is reachable from a fresh network namespace; refusing to benchmark" >&2
  exit 1
fi
echo "network namespace check: $mirror_host unreachable inside unshare --net (as intended)" >&2

q() { printf '%q' "$1"; }

for c in $containers; do
  show=$("$hlb" show "$c" --json)
  out=$(jq -r .out <<<"$show")
  [[ $out == /* ]] || out="$PWD/$out"
  entry=$(dirname "$out")

  # The local repository: hard links to the very .debs hlb's template uses.
  repo="$work/repo/$c"
  mkdir -p "$repo/pool"
  declare -A deb_entry=()
  while IFS=$'\t' read -r name ent; do
    deb_entry[$name]=$ent
  done < <(jq -r '.inputs | to_entries[] | select(.key | startswith("deb:"))
                  | [(.key | ltrimstr("deb:")), "\(.value.id)-\(.value.name)"] | @tsv' <<<"$show")
  include=()
  : >"$work/$c.sha256"
  while IFS=$'\t' read -r name version filename sha; do
    ent=${deb_entry[$name]:-}
    [[ -n $ent ]] || { echo "error: $c: locked package $name is not an input of hlb's template" >&2; exit 1; }
    dst="$repo/pool/${filename##*/}"
    ln -f "$HLB_STORE/entries/$ent/out" "$dst" 2>/dev/null || cp "$HLB_STORE/entries/$ent/out" "$dst"
    printf '%s  %s\n' "$sha" "$dst" >>"$work/$c.sha256"
    include+=("$name=$version")
  done < <(jq -r --arg c "$c" '.debian[$c].packages[] | [.name, .version, .filename, .sha256] | @tsv' "$lock")
  if ((${#include[@]} != ${#deb_entry[@]})); then
    echo "error: $c: ${#include[@]} locked packages but ${#deb_entry[@]} .deb inputs" >&2
    exit 1
  fi
  unset deb_entry
  sha256sum --quiet -c "$work/$c.sha256"
  (cd "$repo" && apt-ftparchive packages pool >Packages && apt-ftparchive release . >Release)
  echo "$c: ${#include[@]} packages; local repository $repo" >&2

  # mmdebstrap, as a script so hyperfine runs it verbatim.
  mm_out="$work/out/$c.tar.zst"
  mm_script="$work/mmdebstrap-$c.sh"
  incl=$(IFS=,; echo "${include[*]}")
  unsafe=""
  ((unsafe_io)) && unsafe="--dpkgopt=force-unsafe-io"
  cat >"$mm_script" <<EOF
#!/bin/sh
TMPDIR=$(q "$work/tmp") exec unshare --net --mount --propagation private \\
  mmdebstrap --mode=root --variant=custom $unsafe \\
  --include=$(q "$incl") \\
  --hook-dir=$hooks/merged-usr --hook-dir=$hooks/file-mirror-automount \\
  --aptopt='Acquire::http::Proxy "http://127.0.0.1:9"' \\
  bookworm $(q "$mm_out") $(q "deb [trusted=yes] file://$repo ./")
EOF
  chmod +x "$mm_script"

  echo >&2
  hyperfine --warmup 1 --runs "$hlb_runs" --export-json "$work/results/$c-hlb.json" \
    --prepare "rm -rf $(q "$entry")" \
    --command-name "hlb build $c (cold, .debs in the store)" "$(q "$hlb") build --offline $c"
  if ! hyperfine --warmup 1 --runs "$mm_runs" --export-json "$work/results/$c-mm.json" \
    --prepare "rm -f $(q "$mm_out")" \
    --command-name "mmdebstrap $c (cold, local file:// repository)" "$(q "$mm_script")"; then
    echo "mmdebstrap failed for $c; its output:" >&2
    "$mm_script" >&2 || true
    exit 1
  fi
  hyperfine -N --warmup 3 --runs "$noop_runs" --export-json "$work/results/$c-noop.json" \
    --command-name "hlb build $c (no-op)" "$hlb build $c"

  # Same packages on both sides? hlb's SBOM against mmdebstrap's dpkg status.
  jq -r '.components[] | "\(.name)=\(.version)"' "$out/sbom.cdx.json" | sort >"$work/$c.hlb.pkgs"
  admin="$work/out/$c.dpkg"
  mkdir -p "$admin/info"
  tar --zstd -xOf "$mm_out" ./var/lib/dpkg/status >"$admin/status"
  dpkg-query --admindir="$admin" -W -f '${db:Status-Status} ${Package}=${Version}\n' |
    awk '$1 == "installed" { print $2 }' | sort >"$work/$c.mm.pkgs"
  printf '%s\n' "${include[@]}" | sort >"$work/$c.lock.pkgs"
  same=1
  for side in hlb mm; do
    if ! diff -u "$work/$c.lock.pkgs" "$work/$c.$side.pkgs" >"$work/$c.$side.diff"; then
      echo "warning: $c: $side's packages differ from the lock:" >&2
      cat "$work/$c.$side.diff" >&2
      same=0
    fi
  done
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$same" "$(wc -l <"$work/$c.lock.pkgs")" \
    "$(wc -l <"$work/$c.hlb.pkgs")" "$(wc -l <"$work/$c.mm.pkgs")" \
    "$(stat -c %s "$out/rootfs.tar.zst")" "$(stat -c %s "$mm_out")" >>"$work/results/sizes.tsv"
done

hyperfine -N --warmup 3 --runs "$noop_runs" --export-json "$work/results/lab-noop.json" \
  --command-name "hlb build (no-op, whole lab)" "$hlb build"

# The table.
mean() { jq -r '.results[0].mean' "$1"; }
sd() { jq -r '.results[0].stddev // 0' "$1"; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
echo
echo "LXC template builds: hlb vs mmdebstrap (same .debs, same package set)"
echo "machine: $(nproc) CPUs ($(lscpu | sed -n 's/^Model name: *//p' | head -1)), $(free -g | awk '/^Mem:/ {print $2}') GiB, kernel $(uname -r)"
echo "versions: $("$hlb" --version 2>/dev/null || echo "hlb (no --version)"), $(mmdebstrap --version), $(dpkg-query -W -f='host apt ${Version}' apt), $(zstd --version | sed -E 's/.*(v[0-9.]+).*/zstd \1/'), $(hyperfine --version)"
echo "runs (+ warmup): hlb cold $hlb_runs (+1), mmdebstrap cold $mm_runs (+1), hlb no-op $noop_runs (+3)$( ((unsafe_io)) && echo '; mmdebstrap with dpkg --force-unsafe-io')"
echo
fmt="%-9s %-14s %-18s %-20s %-14s %-16s %-12s %-12s\n"
# shellcheck disable=SC2059
printf "$fmt" container "packages h/m" "hlb cold" "mmdebstrap cold" speedup "hlb no-op" "rootfs hlb" "rootfs mmdeb"
pass=1
while IFS=$'\t' read -r c same nlock nhlb nmm shlb smm; do
  r=$work/results
  hm=$(mean "$r/$c-hlb.json") hs=$(sd "$r/$c-hlb.json")
  mm=$(mean "$r/$c-mm.json") ms=$(sd "$r/$c-mm.json")
  nm=$(mean "$r/$c-noop.json") ns=$(sd "$r/$c-noop.json")
  speed=$(awk -v a="$hm" -v as="$hs" -v b="$mm" -v bs="$ms" \
    'BEGIN { r = b / a; printf "%.1fx ± %.1f", r, r * sqrt((as/a)^2 + (bs/b)^2) }')
  # shellcheck disable=SC2059
  printf "$fmt" "$c" "$nhlb/$nmm" \
    "$(awk -v m="$hm" -v s="$hs" 'BEGIN { printf "%.2f s ± %.2f", m, s }')" \
    "$(awk -v m="$mm" -v s="$ms" 'BEGIN { printf "%.2f s ± %.2f", m, s }')" \
    "$speed" \
    "$(awk -v m="$nm" -v s="$ns" 'BEGIN { printf "%.1f ms ± %.1f", m * 1000, s * 1000 }')" \
    "$(mib "$shlb")" "$(mib "$smm")"
  awk -v a="$hm" -v b="$mm" 'BEGIN { exit !(b / a >= 2) }' || pass=0
  awk -v n="$nm" 'BEGIN { exit !(n < 0.1) }' || pass=0
  ((same)) && [[ $nlock == "$nhlb" && $nlock == "$nmm" ]] || pass=0
done <"$work/results/sizes.tsv"
lm=$(mean "$work/results/lab-noop.json") ls_=$(sd "$work/results/lab-noop.json")
echo
echo "whole-lab no-op \`hlb build\`: $(awk -v m="$lm" -v s="$ls_" 'BEGIN { printf "%.1f ms ± %.1f", m * 1000, s * 1000 }')"
echo "packages h/m: hlb's SBOM components / packages installed in mmdebstrap's tarball (name=version sets both compared to the lock)"
if ((pass)); then
  echo "targets (>= 2x faster than mmdebstrap cold, no-op under 100 ms, same package set): met"
else
  echo "targets (>= 2x faster than mmdebstrap cold, no-op under 100 ms, same package set): NOT met"
fi
