#!/usr/bin/env bash
# The quick start: three tenants, four people, one command.
#
# Builds the provider and mto-sandbox, starts the sandbox with tenants A, B
# and C, applies main.tf (organization, joins, templates, and a share plus an
# acceptance plus a sync job for every ordered pair of tenants), waits for
# the synchronization, prints who People Search finds in each tenant, and
# checks that a second plan is empty.
#
#   examples/quickstart/run.sh [--keep] [--json] [--faults SPEC]
#
#   --keep         leave the sandbox running and say how to reach it (and its dashboard)
#   --json         print the People Search matrix as JSON
#   --faults SPEC  inject Graph faults, e.g. 'throttle=0.2,unavailable=0.05,lag=2s'
#
# Exits non-zero if a tenant misses a shared person, finds an unshared one,
# or the second plan is not empty. Nothing outside a temporary directory is
# written: your Terraform CLI configuration is left alone.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
keep=0 json=0 faults=""
while [ $# -gt 0 ]; do
  case "$1" in
    --keep) keep=1 ;;
    --json) json=1 ;;
    --faults) faults="${2:?--faults needs a spec}"; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

step() { printf '==> %s\n' "$*" >&2; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

command -v cargo >/dev/null 2>&1 || die "cargo not found: install Rust from https://rustup.rs"
TERRAFORM=${TERRAFORM:-terraform}
command -v "$TERRAFORM" >/dev/null 2>&1 || die "terraform not found: install Terraform >= 1.8 (or set TERRAFORM)"
command -v curl >/dev/null 2>&1 || die "curl not found"

started=$(date +%s)
if [ -n "${MTO_BIN_DIR:-}" ]; then
  # Prebuilt binaries (the end-to-end test uses the debug build).
  bin=$MTO_BIN_DIR
  [ -x "$bin/terraform-provider-mto" ] && [ -x "$bin/mto-sandbox" ] || die "no binaries in MTO_BIN_DIR=$bin"
else
  step "building terraform-provider-mto and mto-sandbox (release)"
  (cd "$root" && cargo build --release --quiet -p terraform-provider-mto -p mto-sandbox)
  bin="${CARGO_TARGET_DIR:-$root/target}/release"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mto-quickstart.XXXXXX")
sandbox_pid=""
cleanup() {
  if [ -n "$sandbox_pid" ] && [ "$keep" = 0 ]; then
    kill "$sandbox_pid" 2>/dev/null || true
    wait "$sandbox_pid" 2>/dev/null || true
  fi
  [ "$keep" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT

step "starting mto-sandbox with tenants A, B and C"
args=(serve --addr 127.0.0.1:0 --data "$work/sandbox" --seed "$here/seed.json" --join-delay 1s --sync-interval 10s)
[ -n "$faults" ] && args+=(--faults "$faults")
mkfifo "$work/ready"
"$bin/mto-sandbox" "${args[@]}" >"$work/ready" 2>"$work/sandbox.log" &
sandbox_pid=$!
url=""
exec 3<"$work/ready"
while IFS= read -r -t 30 line <&3; do
  case "$line" in *"listening on "*) url=${line##*listening on }; break ;; esac
done
[ -n "$url" ] || die "mto-sandbox did not start (see $work/sandbox.log)"
# Keep draining the sandbox's stdout so it never blocks.
cat <&3 >/dev/null &
step "sandbox at $url"

cp "$here/main.tf" "$work/"
cat >"$work/cli.tfrc" <<CFG
provider_installation {
  dev_overrides {
    "registry.terraform.io/mto-provider/mto" = "$bin"
  }
  direct {}
}
CFG
export TF_CLI_CONFIG_FILE="$work/cli.tfrc" TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
export TF_VAR_sandbox_url="$url"
tf() { (cd "$work" && "$TERRAFORM" "$@" -no-color); }

step "terraform apply (organization, joins, 6 acceptances, 6 shares, 6 sync jobs)"
apply_started=$(date +%s)
tf apply -auto-approve >"$work/apply.log" 2>&1 || { cat "$work/apply.log" >&2; die "apply failed"; }
step "applied in $(( $(date +%s) - apply_started )) s"

step "running a synchronization cycle"
curl -fsS -X POST "$url/_sandbox/sync/run" -H 'content-type: application/json' -d '{}' >"$work/sync.json" \
  || die "the sync run failed (see $work/sandbox.log)"

step "reading what People Search finds in each tenant"
tf apply -refresh-only -auto-approve >"$work/refresh.log" 2>&1 || { cat "$work/refresh.log" >&2; die "refresh failed"; }

step "second plan"
set +e
tf plan -detailed-exitcode >"$work/plan2.log" 2>&1
plan_code=$?
set -e

if [ "$json" = 1 ]; then
  (cd "$work" && "$TERRAFORM" output -json people_search)
else
  printf '\n'
  (cd "$work" && "$TERRAFORM" output -raw matrix)
  printf '\n\n'
fi
problems=$(cd "$work" && "$TERRAFORM" output -json problems)
matrix_ok=0
if [ "$problems" != "[]" ]; then
  matrix_ok=1
  printf 'PROBLEM: %s\n' "$problems" >&2
fi

if [ "$plan_code" = 0 ]; then
  step "second plan is empty: no changes"
else
  cat "$work/plan2.log" >&2
  step "second plan is NOT empty (exit code $plan_code)"
fi
step "done in $(( $(date +%s) - started )) s"

if [ "$keep" = 1 ]; then
  cat >&2 <<MSG

The sandbox keeps running (pid $sandbox_pid) with its data in $work/sandbox.
  Dashboard:  $url/   (tenants, shares, who finds whom, recent requests)
  Graph:      $url/v1.0   (token: POST $url/<tenant>/oauth2/v2.0/token)
  Terraform:  cd $work && TF_CLI_CONFIG_FILE=$work/cli.tfrc TF_VAR_sandbox_url=$url terraform plan
  Stop it:    kill $sandbox_pid
MSG
fi
[ "$matrix_ok" = 0 ] && [ "$plan_code" = 0 ]
