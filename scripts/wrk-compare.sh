#!/usr/bin/env bash
# wrk-compare.sh measures GET /healthz, GET /healthz sent a bearer token,
# gated GET /api/me and GET /api/projects (a page of 10) side by side, with
# the server in its own process and wrk (https://github.com/wg/wrk, Debian
# package "wrk") as the client.
#
#   scripts/wrk-compare.sh [rounds] [seconds per round]    # default 10 rounds of 2 s
#   DATABASE_URL=postgres://... scripts/wrk-compare.sh     # on PostgreSQL (a scratch database: it adds 10 projects)
#
# It builds and starts the server with its built-in mock IdP on loopback
# ports 18480 and 18481 (APP_ADDR, IDP_ADDR change them), asks the mock for a demo user's access token, runs the
# four requests in rotating order each round, and prints each round's
# throughput and the medians of the per-round ratios. Everything stays on
# 127.0.0.1 and stops at the end.
set -euo pipefail

rounds=${1:-10}
secs=${2:-2}
command -v wrk >/dev/null || { echo "wrk-compare: wrk is not installed (Debian: apt-get install wrk)" >&2; exit 2; }

dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
cd "$(dirname "$0")/.."
go build -o "$dir/server" ./cmd/server

app=${APP_ADDR:-127.0.0.1:18480} # change them if these ports are taken
idp=${IDP_ADDR:-127.0.0.1:18481}
if [ -n "${DATABASE_URL:-}" ]; then
	engine=PostgreSQL
	db=(DATABASE_URL="$DATABASE_URL" SESSION_SECRET="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')")
else
	engine=SQLite
	db=(DATABASE_PATH="$dir/app.db")
fi
env -u DATABASE_URL ADDR=$app MOCK_IDP_ADDR=$idp "${db[@]}" "$dir/server" >"$dir/server.log" 2>&1 &
pid=$!
for _ in $(seq 50); do curl -fs "http://$app/healthz" >/dev/null 2>&1 && break; sleep 0.2; done
curl -fs "http://$app/healthz" >/dev/null || { echo "wrk-compare: the server did not start:" >&2; cat "$dir/server.log" >&2; exit 1; }

token=$(curl -fs -d email=bob@acme.example "http://$idp/dev/token" | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
auth="Authorization: Bearer $token"
for i in $(seq 10); do # a page of projects to list
	curl -fs -o /dev/null -H "$auth" -H 'Content-Type: application/json' -d "{\"name\":\"wrk $i\"}" "http://$app/api/projects"
done

rate() { # rate <path> [header]: requests per second of one wrk run
	local args=(-t2 -c32 "-d${secs}s")
	[ $# -gt 1 ] && args+=(-H "$2")
	wrk "${args[@]}" "http://$app$1" | awk '/Requests\/sec/ {print $2}'
}

echo "wrk -t2 -c32 -d${secs}s, $rounds rounds in rotating order; server: go build ./cmd/server (mock IdP) on $engine, $(nproc) CPUs shared"
printf '%-6s %12s %16s %12s %12s %10s %10s %10s\n' round healthz healthz+token api/me api/projects me/healthz me/h+token proj/healthz
results=()
for r in $(seq "$rounds"); do
	for i in 0 1 2 3; do # rotating order, so drift hits all four alike
		case $(( (r + i) % 4 )) in
			0) h=$(rate /healthz) ;;
			1) ht=$(rate /healthz "$auth") ;;
			2) me=$(rate /api/me "$auth") ;;
			3) pr=$(rate /api/projects "$auth") ;;
		esac
	done
	line=$(awk -v h="$h" -v ht="$ht" -v me="$me" -v pr="$pr" -v r="$r" \
		'BEGIN { printf "%-6s %12.0f %16.0f %12.0f %12.0f %10.3f %10.3f %10.3f", r, h, ht, me, pr, me/h, me/ht, pr/h }')
	echo "$line"
	results+=("$line")
done
printf '%s\n' "${results[@]}" | awk -v engine="$engine" '
	{ a[NR] = $6; b[NR] = $7; c[NR] = $8; h[NR] = $2; me[NR] = $4; pr[NR] = $5 }
	function median(x, n,   i, j, t) {
		for (i = 2; i <= n; i++) for (j = i; j > 1 && x[j-1] > x[j]; j--) { t = x[j]; x[j] = x[j-1]; x[j-1] = t }
		return n % 2 ? x[(n+1)/2] : (x[n/2] + x[n/2+1]) / 2
	}
	END {
		printf "median on %s: /healthz %.0f req/s, /api/me %.0f, /api/projects %.0f\n", engine, median(h, NR), median(me, NR), median(pr, NR)
		printf "median: gated GET /api/me at %.2fx of /healthz, %.2fx of /healthz sent the same token header; GET /api/projects at %.2fx of /healthz\n", median(a, NR), median(b, NR), median(c, NR)
	}'
