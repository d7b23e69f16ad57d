#!/usr/bin/env bash
# Boot-to-running of LXC templates hlb built (issue 10: "make a container's
# boot-to-running time a benchmark figure, printed beside the minimal
# template's"), on the two containers of bench/lxc-template/lab.kdl: the
# minimal systemd container and the dnsdist container with its own static
# IPv4 address (systemd-networkd, as a deployer boots it).
#
#   bench/lxc-boot.sh [--runs N] [--containers "minimal dns"] [WORKDIR]
#
# Needs root (privileged LXC, a bridge), lxc, zstd, iproute2 and jq; the
# network once, for `hlb lock` and the first `hlb build` (the machine's apt
# sources: no mirror is named here). WORKDIR (default: a fresh directory in
# $TMPDIR, removed at the end) is kept when given, so a second run reuses
# its lock and store. The hlb measured is this checkout's `cargo build
# --release`, or $HLB_BIN if set.
#
# The lab is copied with the dns container's address moved into a
# 10.200.X.0/24 subnet no interface on the machine uses, on a bridge of the
# script's own (host .1, container .2; nothing routes beyond it). Each run
# extracts the template into a fresh container directory (not timed), then
# times, from the host:
# - boot to running: from `lxc-start` to the first answer of `systemctl
#   is-system-running --wait` inside (retried every 50 ms until systemd's
#   bus answers), which is what a deployer's health gate waits for;
# - systemd's own figure: `systemd-analyze`'s userspace time (systemd
#   started to its start-up jobs done);
# - systemd-networkd-wait-online.service's activation time
#   (`systemd-analyze blame`; "-" when it did not run).
# A run that ends anything but `running` (e.g. `degraded`) is reported and
# fails the script. The table gives each figure's median over the runs,
# with the minimum and maximum in brackets.
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

runs=5 containers="minimal dns" work_arg=""
while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --containers) containers=$2; shift 2 ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "error: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) work_arg=$1; shift ;;
  esac
done

missing=()
for pair in lxc-start:lxc zstd:zstd ip:iproute2 jq:jq tar:tar; do
  command -v "${pair%%:*}" >/dev/null || missing+=("${pair#*:}")
done
if ((${#missing[@]})); then
  echo "error: missing tools; install them with: apt-get install --no-install-recommends ${missing[*]}" >&2
  exit 1
fi
[[ -n ${HLB_BIN:-} ]] || command -v cargo >/dev/null || { echo "error: cargo is not installed (https://rustup.rs)" >&2; exit 1; }
if ((EUID != 0)); then
  echo "error: run as root: privileged LXC containers and a bridge need it" >&2
  exit 1
fi

repo_root=$(cd "$(dirname "$0")/.." && pwd)
here="$repo_root/bench"
if [[ -n ${HLB_BIN:-} ]]; then
  hlb=$(realpath "$HLB_BIN") # a prebuilt hlb instead of this checkout's
else
  (cd "$repo_root" && cargo build --release --quiet --bin hlb)
  hlb="$repo_root/target/release/hlb"
fi

# A free 10.200.X.0/24 subnet and a bridge of our own.
used=$(ip -4 -o addr show)
subnet=""
for _ in $(seq 50); do
  x=$((RANDOM % 250 + 1))
  if ! grep -qF "10.200.$x." <<<"$used"; then subnet=$x; break; fi
done
[[ -n $subnet ]] || { echo "error: no free 10.200.X.0/24 subnet found" >&2; exit 1; }
bridge=$(printf 'hlb-bb%06x' $((RANDOM * 32768 + RANDOM)))

ct_dir=""   # the container directory of the run in progress
ct_name=""
stop_container() {
  if [[ -n $ct_dir ]]; then
    lxc-stop -P "$ct_dir" -n "$ct_name" -k >/dev/null 2>&1 || true
    rm -rf "$ct_dir"
    ct_dir=""
  fi
}
cleanup() {
  stop_container
  ip link del "$bridge" 2>/dev/null || true
  [[ -n $work_arg ]] || rm -rf "$work"
}
if [[ -n $work_arg ]]; then
  mkdir -p "$work_arg"
  work=$(cd "$work_arg" && pwd) # kept: a second run reuses the lock and the store
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/hlb-boot-bench.XXXXXX")
fi
trap cleanup EXIT
rm -rf "$work/results"
mkdir -p "$work/lab" "$work/results"
# The dns container's address, moved onto our bridge's subnet.
sed "s/10\.200\.9\./10.200.$subnet./g" "$here/lxc-template/lab.kdl" >"$work/lab/lab.kdl.new"
cmp -s "$work/lab/lab.kdl.new" "$work/lab/lab.kdl" 2>/dev/null || mv "$work/lab/lab.kdl.new" "$work/lab/lab.kdl"
rm -f "$work/lab/lab.kdl.new"
export HLB_STORE="$work/store" HLB_STATE="$work/state" HLB_RECIPES="$work/lab"

quiet() { # run "$@" with its output in a log, shown if it fails
  "$@" >"$work/log" 2>&1 || { cat "$work/log" >&2; echo "error: $* failed" >&2; exit 1; }
}
if ! "$hlb" lock --check >/dev/null 2>&1; then
  echo "hlb lock (resolving against the machine's apt sources)" >&2
  quiet "$hlb" lock
fi
echo "hlb build (fetches every .deb into the store, once)" >&2
quiet "$hlb" build

ip link add "$bridge" type bridge
ip addr add "10.200.$subnet.1/24" dev "$bridge"
ip link set "$bridge" up

now() { date +%s.%N; }

# One boot of container $1 (template $2); appends a line to results/$1.tsv.
boot_once() {
  local c=$1 archive=$2 own_net=$3
  ct_dir=$(mktemp -d "${TMPDIR:-/tmp}/hlb-boot-ct.XXXXXX")
  ct_name="hlb-bench-$c"
  local rootfs="$ct_dir/$ct_name/rootfs"
  mkdir -p "$rootfs"
  tar --zstd -xpf "$archive" -C "$rootfs" --numeric-owner --exclude='./dev/*'
  {
    echo "lxc.include = /usr/share/lxc/config/common.conf"
    echo "lxc.uts.name = $ct_name"
    echo "lxc.rootfs.path = dir:$rootfs"
    echo "lxc.apparmor.profile = unconfined"
    echo "lxc.net.0.type = veth"
    echo "lxc.net.0.link = $bridge"
    echo "lxc.net.0.flags = up"
    echo "lxc.net.0.name = eth0"
    # A template without its own network config gets its address from LXC.
    ((own_net)) || echo "lxc.net.0.ipv4.address = 10.200.$subnet.2/24"
  } >"$ct_dir/$ct_name/config"
  local lxc=(-P "$ct_dir" -n "$ct_name")
  sync
  local t0 t1 state=""
  t0=$(now)
  lxc-start "${lxc[@]}" -d
  while :; do
    state=$(lxc-attach "${lxc[@]}" --clear-env -- timeout 60 systemctl is-system-running --wait 2>/dev/null || true)
    case $state in running | degraded | maintenance | stopping) break ;; esac
    if awk -v a="$t0" -v b="$(now)" 'BEGIN { exit !(b - a > 90) }'; then
      state="timeout ($state)"
      break
    fi
    sleep 0.05
  done
  t1=$(now)
  # systemd's own view: "Startup finished in 123ms (userspace) = 123ms".
  local analyze userspace wait_online
  analyze=$(lxc-attach "${lxc[@]}" --clear-env -- systemd-analyze 2>/dev/null | head -1 || true)
  userspace=$(sed -nE 's/.*in (.*) \(userspace\).*/\1/p' <<<"$analyze")
  wait_online=$(lxc-attach "${lxc[@]}" --clear-env -- systemd-analyze blame 2>/dev/null |
    awk '$NF == "systemd-networkd-wait-online.service" { $NF = ""; print }' || true)
  if [[ $state != running ]]; then
    echo "error: $c ended $state; failed units and the journal:" >&2
    lxc-attach "${lxc[@]}" --clear-env -- sh -c \
      'systemctl --failed --no-pager --no-legend; journalctl -b --no-pager -p warning | tail -n 20' >&2 || true
    stop_container
    exit 1
  fi
  printf '%s\t%s\t%s\n' "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" \
    "$(seconds "$userspace")" "$(seconds "${wait_online:-}")" >>"$work/results/$c.tsv"
  stop_container
}

# systemd's time spans ("1min 2.5s", "13.204s", "312ms", "870us") in
# seconds; "-" for none.
seconds() {
  local s=${1//[[:space:]]/}
  [[ -n $s ]] || { echo "-"; return; }
  awk -v s="$s" 'BEGIN {
    t = 0
    while (match(s, /^[0-9.]+(min|ms|us|s)/)) {
      tok = substr(s, 1, RLENGTH); s = substr(s, RLENGTH + 1)
      match(tok, /[a-z]+$/); unit = substr(tok, RSTART); n = substr(tok, 1, RSTART - 1)
      t += n * (unit == "min" ? 60 : unit == "s" ? 1 : unit == "ms" ? 0.001 : 0.000001)
    }
    printf "%.3f", t
  }'
}

for c in $containers; do
  show=$("$hlb" show "$c" --json)
  out=$(jq -r .out <<<"$show")
  [[ $out == /* ]] || out="$PWD/$out"
  own_net=$(jq -r 'if .params.network == null then 0 else 1 end' <<<"$show")
  : >"$work/results/$c.tsv"
  echo "$c: $runs boots (+1 warmup)" >&2
  boot_once "$c" "$out/rootfs.tar.zst" "$own_net" # warmup: page cache, lxc
  : >"$work/results/$c.tsv"
  for _ in $(seq "$runs"); do
    boot_once "$c" "$out/rootfs.tar.zst" "$own_net"
  done
done

# The table.
median() { # column $2 of file $1: "median (min..max)", or "-"
  cut -f"$2" "$1" | grep -v '^-$' | sort -g | awk '
    { v[NR] = $1 }
    END {
      if (NR == 0) { print "-"; exit }
      m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%.2f s (%.2f..%.2f)\n", m, v[1], v[NR]
    }'
}
echo
echo "LXC boot to running: templates hlb built, privileged LXC, from the host"
echo "machine: $(nproc) CPUs ($(lscpu | sed -n 's/^Model name: *//p' | head -1)), $(free -g | awk '/^Mem:/ {print $2}') GiB, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "versions: $("$hlb" --version 2>/dev/null || echo "hlb (no --version)"), $(lxc-start --version | sed 's/^/lxc /')"
echo "runs: $runs per container (+1 warmup), median (min..max)"
echo
fmt="%-9s %-24s %-24s %-24s\n"
# shellcheck disable=SC2059
printf "$fmt" container "boot to running" "systemd userspace" "networkd-wait-online"
for c in $containers; do
  f=$work/results/$c.tsv
  # shellcheck disable=SC2059
  printf "$fmt" "$c" "$(median "$f" 1)" "$(median "$f" 2)" "$(median "$f" 3)"
done
