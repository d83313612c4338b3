#!/usr/bin/env bash
# bench.sh: context hashing against coreutils over the same directory, then
# the package benchmarks. Run from anywhere (`make bench` runs it from the
# repo root); needs only Go and coreutils (openssl is used when present).
#
# Knobs (environment): BENCH_BYTES (default 1 GiB), BENCH_FILES (20000),
# BENCH_RUNS (warm runs averaged, 5), BENCH_KEEP_TREE=1 to keep the tree.
set -euo pipefail

cd "$(dirname "$0")/.."
GO=${GO:-go}
# The e2e and reliability packages start versd and terraform only under
# TF_ACC (acceptance tests skip without it); their benchmarks need it too.
export TF_ACC=1
BYTES=${BENCH_BYTES:-1073741824}
FILES=${BENCH_FILES:-20000}
RUNS=${BENCH_RUNS:-5}

work=$(mktemp -d "${TMPDIR:-/tmp}/vers-bench.XXXXXX")
cleanup() { [[ ${BENCH_KEEP_TREE:-0} == 1 ]] && echo "tree kept in $work/tree" || rm -rf "$work"; }
trap cleanup EXIT
tree=$work/tree

echo "== machine"
echo "cpus: $(nproc)  model: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
echo "go: $($GO env GOVERSION)  load average: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "== building the test binary and generating the tree ($FILES files, $BYTES bytes)"
$GO test -c -o "$work/buildcontext.test" ./internal/buildcontext/
bin=$work/buildcontext.test
"$bin" -vers.generate-tree "$tree" -vers.tree-bytes "$BYTES" -vers.tree-files "$FILES"
total_bytes=$(find "$tree" -type f -printf '%s\n' | awk '{s += $1} END {print s}')
total_files=$(find "$tree" -type f | wc -l)
echo "tree: $tree ($total_files files, $total_bytes bytes, $(du -sh "$tree" | cut -f1) on disk)"

# Cold cache: drop_caches when we may (root), else ask the kernel to drop
# this tree's pages (posix_fadvise through the test binary).
cold_method=""
drop_cache() {
	sync
	if { echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null; then
		cold_method="drop_caches"
	else
		"$bin" -vers.evict "$tree"
		cold_method="fadvise(DONTNEED) per file"
	fi
}

now_ns() { date +%s%N; }

# go_bench NAME COUNT: mean seconds per hash of the tree by a Go benchmark,
# each run a fresh open/walk/hash of the directory.
go_bench() {
	local out
	out=$(VERS_BENCH_TREE=$tree "$bin" -test.run '^$' -test.bench "^$1\$" -test.benchtime "$2x" -test.count 1)
	echo "$out" | awk -v name="$1" '$1 ~ "^"name"(-[0-9]+)?$" { printf "%.3f", $3 / 1e9; found = 1 } END { if (!found) exit 1 }'
	echo "$out" | awk -v name="$1" '$1 ~ "^"name"(-[0-9]+)?$" { for (i = 4; i < NF; i++) if ($(i+1) == "peak-RSS-MiB") printf " %s", $i }' >>"$work/rss-$1"
}

# shell_once CMD: seconds for one run of a pipeline over the tree.
shell_once() {
	local t0 t1
	t0=$(now_ns)
	bash -c "$1" >/dev/null
	t1=$(now_ns)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'
}

# shell_warm CMD: mean of RUNS runs after one warm-up run.
shell_warm() {
	local sum=0 t
	bash -c "$1" >/dev/null
	for ((i = 0; i < RUNS; i++)); do
		t=$(shell_once "$1")
		sum=$(awk -v s="$sum" -v t="$t" 'BEGIN { print s + t }')
	done
	awk -v s="$sum" -v n="$RUNS" 'BEGIN { printf "%.3f", s / n }'
}

q=$(printf '%q' "$tree")
sha256sum_cmd="cd $q && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum"
openssl_cmd="cd $q && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 cat | openssl dgst -sha256"

declare -A cold warm labels
names=(ours sequential sha256sum)
labels+=([ours]="buildcontext.Hash (2 workers)" [sequential]="sequential Go baseline" [sha256sum]="find|sort|xargs sha256sum|sha256sum")
if command -v openssl >/dev/null; then
	names+=(openssl)
	labels[openssl]="find|sort|xargs cat|openssl dgst"
fi

echo "== cold runs (page cache dropped before each)"
for n in "${names[@]}"; do
	drop_cache
	case $n in
	ours) cold[$n]=$(go_bench BenchmarkHashTree 1) ;;
	sequential) cold[$n]=$(go_bench BenchmarkHashTreeSequential 1) ;;
	sha256sum) cold[$n]=$(shell_once "$sha256sum_cmd") ;;
	openssl) cold[$n]=$(shell_once "$openssl_cmd") ;;
	esac
	echo "  $n: ${cold[$n]} s"
done
echo "  (cold cache by $cold_method)"

echo "== warm runs (mean of $RUNS after a warm-up)"
for n in "${names[@]}"; do
	case $n in
	ours) warm[$n]=$(go_bench BenchmarkHashTree "$RUNS") ;;
	sequential) warm[$n]=$(go_bench BenchmarkHashTreeSequential "$RUNS") ;;
	sha256sum) warm[$n]=$(shell_warm "$sha256sum_cmd") ;;
	openssl) warm[$n]=$(shell_warm "$openssl_cmd") ;;
	esac
	echo "  $n: ${warm[$n]} s"
done

echo
echo "== context hashing, $total_files files / $((total_bytes >> 20)) MiB, $(nproc) CPUs"
printf '%-40s %9s %9s %10s %14s %14s\n' "hasher" "cold s" "warm s" "warm MB/s" "cold: ours is" "warm: ours is"
for n in "${names[@]}"; do
	awk -v l="${labels[$n]}" -v c="${cold[$n]}" -v w="${warm[$n]}" -v oc="${cold[ours]}" -v ow="${warm[ours]}" -v b="$total_bytes" \
		'BEGIN { printf "%-40s %9.3f %9.3f %10.0f %13.2fx %13.2fx\n", l, c, w, b / w / 1e6, c / oc, w / ow }'
done
for n in BenchmarkHashTree BenchmarkHashTreeSequential; do
	echo "peak RSS of the $n process (MiB, per run):$(cat "$work/rss-$n")"
done

echo
echo "== go test -bench . -benchmem -run '^\$' ./internal/dockerfile/ ./internal/buildcontext/"
echo "   (buildcontext tree benchmarks use the same tree through VERS_BENCH_TREE)"
VERS_BENCH_TREE=$tree $GO test -bench . -benchmem -run '^$' ./internal/dockerfile/ ./internal/buildcontext/

# The provider end to end: the terraform CLI drives the freshly built
# provider against an in-process versd (internal/e2e/bench_test.go). Each
# benchmark sets up its own objects; BENCH_E2E_TIME (default 1x) repeats
# only the measured part. BENCH_E2E=0 skips this section.
if [[ ${BENCH_E2E:-1} != 0 ]]; then
	e2e_time=${BENCH_E2E_TIME:-1x}
	echo
	echo "== go test -run '^\$' -bench . -benchtime $e2e_time ./internal/e2e/"
	echo "   (terraform $(${TF_ACC_TERRAFORM_PATH:-terraform} version 2>/dev/null | head -1 | cut -d' ' -f2), load average: $(cut -d' ' -f1-3 /proc/loadavg))"
	$GO test -run '^$' -bench . -benchtime "$e2e_time" -timeout 60m ./internal/e2e/ | tee "$work/e2e.txt"
	echo
	echo "== versd and the build engine (per op = one terraform run; metrics as reported)"
	awk '
	/^Benchmark[A-Za-z0-9_]+(-[0-9]+)? / {
		name = $1; sub(/^Benchmark/, "", name); sub(/-[0-9]+$/, "", name)
		metrics = ""
		for (i = 5; i < NF; i += 2) metrics = metrics sprintf("  %s %s", $i, $(i+1))
		printf "%-22s %6s %10.2f  %s\n", name, $2, $3 / 1e9, metrics
	}' "$work/e2e.txt" | { printf '%-22s %6s %10s  %s\n' "benchmark" "runs" "s/op" "metrics"; cat; }
fi

# COPY and whole builds with the API and SSH gateway behind a proxy adding
# RTT (internal/build/bench_test.go), the tar stream ("tar") beside the
# per-file SFTP path it replaced ("sftp", still the fallback for images
# without tar). BENCH_COPY=0 skips this section; BENCH_COPY_SFTP=0 skips the
# sftp rows; BENCH_COPY_RTT (default 0,20ms) sets the RTTs, the first being
# the baseline of the ratio columns.
if [[ ${BENCH_COPY:-1} != 0 ]]; then
	echo
	echo "== go test -run '^\$' -bench BenchmarkCopyRTT -benchtime 1x ./internal/build/"
	echo "   (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
	$GO test -run '^$' -bench BenchmarkCopyRTT -benchtime 1x -timeout 30m ./internal/build/ | tee "$work/copy.txt"
	echo
	echo "== COPY and build time at added RTT (s; ratio = time at RTT / time at the first RTT)"
	awk '
	function metric(name,   i) { for (i = 3; i < NF; i++) if ($(i+1) == name) return $i; return "" }
	/^BenchmarkCopyRTT\// {
		split($1, p, "/"); w = p[2]; r = p[3]; sub(/^rtt=/, "", r); t = p[4]; sub(/-[0-9]+$/, "", t)
		key = w "/" t
		if (!(key in seen)) { seen[key] = 1; keys[++nk] = key }
		if (!(r in rseen)) { rseen[r] = 1; rtts[++nr] = r }
		copy[key, r] = metric("copy-s"); build[key, r] = metric("build-s"); mbs[key, r] = metric("copy-MB/s"); req[key, r] = metric("api-requests")
	}
	END {
		printf "%-30s", "workload/transport"
		for (i = 1; i <= nr; i++) printf " %9s", "copy@" rtts[i]
		for (i = 1; i <= nr; i++) printf " %9s", "build@" rtts[i]
		printf " %7s %7s %9s %9s %5s\n", "copy x", "build x", "MB/s@" rtts[1], "MB/s@" rtts[nr], "reqs"
		for (k = 1; k <= nk; k++) {
			key = keys[k]; printf "%-30s", key
			for (i = 1; i <= nr; i++) printf " %9.2f", copy[key, rtts[i]]
			for (i = 1; i <= nr; i++) printf " %9.2f", build[key, rtts[i]]
			printf " %6.2fx %6.2fx %9.1f %9.1f %5d\n", copy[key, rtts[nr]] / copy[key, rtts[1]], build[key, rtts[nr]] / build[key, rtts[1]], mbs[key, rtts[1]], mbs[key, rtts[nr]], req[key, rtts[nr]]
		}
	}' "$work/copy.txt"
fi

# versd through the real client on loopback, against the issue's targets
# (VM from commit p50 <= 100 ms, exec round trip p50 <= 20 ms, commit of a
# 100 MB diff <= 2 s). BENCH_VERSD=0 skips this section.
if [[ ${BENCH_VERSD:-1} != 0 ]]; then
	echo
	echo "== go test -run '^\$' -bench 'VMFromCommit|ExecRoundTrip|Commit100MBDiff|ConcurrentVMs|TunnelThroughput|TerminalRoundTrip' -benchtime 20x ./internal/versd/"
	$GO test -run '^$' -bench 'VMFromCommit|ExecRoundTrip|Commit100MBDiff|ConcurrentVMs|TunnelThroughput|TerminalRoundTrip' -benchtime 20x ./internal/versd/ | tee "$work/versd.txt"
	echo
	echo "== versd against its targets (p50; ratio = target / measured, above 1 is within target)"
	awk '
	function metric(name,   i) { for (i = 3; i < NF; i++) if ($(i+1) == name) return $i; return "" }
	/^BenchmarkVMFromCommit/   { printf "%-28s p50 %8.1f ms  target %6d ms  ratio %5.1fx\n", "VM from commit", metric("p50-ms"), 100, 100 / metric("p50-ms") }
	/^BenchmarkExecRoundTrip/  { printf "%-28s p50 %8.1f ms  target %6d ms  ratio %5.1fx\n", "exec round trip", metric("p50-ms"), 20, 20 / metric("p50-ms") }
	/^BenchmarkCommit100MBDiff/ { printf "%-28s p50 %8.1f ms  target %6d ms  ratio %5.1fx\n", "commit of a 100 MB diff", metric("p50-ms"), 2000, 2000 / metric("p50-ms") }
	' "$work/versd.txt"
fi
