"""Scale benchmarks (bench/run.sh --scale): a 20-tenant organization.

- mesh: the full mesh in one state (examples/mesh/main.tf, about 1,200 resources) against
  mto-sandbox with `latency=100ms` on every request: apply, plan with refresh and no-op apply,
  each against its floor measured or computed in the same run (`terraform_data` with the same
  resource count for plans; writes x latency / parallelism for the apply), and Graph requests
  per refreshed resource;
- per-tenant: the same organization as 20 states of examples/per-tenant/tenant (one per tenant
  admin, its own credentials only), planned concurrently, against 20 `terraform_data` states of
  the same sizes planned concurrently;
- sync: the sandbox's engine on 20 tenants x 1,000 users across the full mesh (380 jobs,
  380,000 B2B members): a full cycle, then an incremental one after 1 % of users change; peak RSS.

Each part can be run alone: bench/run.sh --scale [mesh] [per-tenant] [sync] [--tenants N].
"""

import json
import os
import statistics
import re
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import ROOT, SANDBOX, Bench  # noqa: E402

LATENCY_S = 0.1
PARALLELISM = 10
ROLES = [
    "MultiTenantOrganization.ReadWrite.All",
    "Policy.Read.All",
    "Policy.ReadWrite.CrossTenantAccess",
    "Application.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All",
    "Synchronization.ReadWrite.All",
    "User.Read.All",
    "Organization.Read.All",
]


def arg(name, default):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


TENANTS = int(arg("--tenants", "20"))
RUNS = int(arg("--runs", "3"))


def tenant_id(i):
    return f"{i:08x}-5ca1-4000-8000-{i:012x}"


def client_id(i):
    return f"{i:08x}-c11e-4000-8000-{i:012x}"


def user_id(t, u):
    return f"{t:08x}-0005-4000-8000-{u:012x}"


def key(i):
    return f"t{i:02d}"


class Scale(Bench):
    def start_scale_sandbox(self, faults):
        tenants = []
        for i in range(1, TENANTS + 1):
            domain = f"scale{i}.onmicrosoft.com"
            tenants.append(
                {
                    "id": tenant_id(i),
                    "displayName": f"Scale {i}",
                    "initialDomain": domain,
                    "apps": [{"clientId": client_id(i), "clientSecret": f"secret-{i}", "roles": ROLES}],
                    "users": [
                        {
                            "id": user_id(i, u),
                            "displayName": f"Person {u} of {i}",
                            "userPrincipalName": f"p{u}@{domain}",
                            "mail": f"p{u}@{domain}",
                        }
                        for u in (1, 2)
                    ],
                    "groups": [],
                }
            )
        seed = self.tmp / "scale-seed.json"
        seed.write_text(json.dumps({"tenants": tenants}))
        if self.sandbox:
            self.sandbox.kill()
            self.sandbox.wait()
        self.sandbox = subprocess.Popen(
            [SANDBOX, "serve", "--in-memory", "--addr", "127.0.0.1:0", "--seed", str(seed),
             "--join-delay", "100ms", "--sync-interval", "1h", "--faults", faults],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=dict(os.environ, MTO_SANDBOX_LOG="warn"),
            text=True,
        )
        self.url = self.sandbox.stdout.readline().split("listening on ")[1].strip()

    def credentials(self):
        return {
            key(i): {"id": tenant_id(i), "name": f"Scale {i}", "client_id": client_id(i), "client_secret": f"secret-{i}"}
            for i in range(1, TENANTS + 1)
        }

    def stats(self):
        with urllib.request.urlopen(f"{self.url}/_sandbox/stats") as r:
            s = json.loads(r.read())
        routes = s.get("routes", {})
        tokens = sum(v for k, v in routes.items() if "oauth2" in k)
        writes = sum(v for k, v in routes.items() if not k.startswith("GET") and "oauth2" not in k and "$batch" not in k)
        writes += sum(v for k, v in s.get("batchInner", {}).items() if not k.startswith("GET"))
        return s.get("total", 0), tokens, writes

    def apply_breakdown(self, log, apply_s, round_trips):
        """Where an apply's time went, from the provider's one debug line per
        applied change: Terraform runs at most PARALLELISM changes at once, so
        the slot-seconds each resource type holds, divided by PARALLELISM, is
        the wall time it accounts for."""
        held = {}
        def field(line, name):
            m = re.search(rf"\b{name}=\"?([\w.-]+)", line)
            return m.group(1) if m else None

        for line in log.read_text(errors="replace").splitlines():
            if "provider.terraform-provider-mto: applied:" not in line:
                continue
            action, ms, resource = field(line, "action"), field(line, "ms"), field(line, "resource")
            if action and ms and resource:
                held.setdefault((resource, action), []).append(int(ms) / 1000)
        if not held:
            print("  (no 'applied' lines in the provider's log: breakdown skipped)", flush=True)
            return
        busy = sum(sum(v) for v in held.values())
        print(f"  where the apply's {apply_s:.1f} s went ({PARALLELISM} slots, {busy / (apply_s * PARALLELISM):.0%} of them busy):", flush=True)
        for (resource, action), times in sorted(held.items(), key=lambda kv: -sum(kv[1])):
            share = sum(times) / PARALLELISM
            print(
                f"    {resource} {action}: {len(times)} x median {statistics.median(times):.2f} s, max {max(times):.1f} s"
                f" = {share:.1f} s of wall ({share / apply_s:.0%})",
                flush=True,
            )
        rt_floor = round_trips * LATENCY_S / PARALLELISM
        self.row(
            f"apply, {TENANTS}-tenant mesh, against every round trip it made",
            f"{apply_s:.1f} s",
            f"{rt_floor:.1f} s = {round_trips} Graph round trips (writes and reads, a $batch as one) x 0.1 s / {PARALLELISM}",
            "-",
            f"ratio {apply_s / rt_floor:.2f}x; Terraform's slots busy {busy / (apply_s * PARALLELISM):.0%}",
        )

    def print_routes(self, what):
        """What the requests just counted were, most frequent first (inside $batch too)."""
        with urllib.request.urlopen(f"{self.url}/_sandbox/stats") as r:
            s = json.loads(r.read())
        print(f"  requests of the {what}, by route:", flush=True)
        for kind in ("routes", "batchInner"):
            for k, v in sorted(s.get(kind, {}).items(), key=lambda kv: -kv[1])[:12]:
                print(f"    {v:6d}  {'(in $batch) ' if kind == 'batchInner' else ''}{k}", flush=True)

    def terraform_data_state(self, name, count):
        d = self.workdir(name, f'resource "terraform_data" "r" {{\n  count = {count}\n  input = count.index\n}}\n')
        self.tf(d, "apply", "-auto-approve", f"-parallelism={PARALLELISM}")
        return d

    def shaped_base_state(self, count):
        """terraform_data in the mesh's shape: per ordered pair an acceptance, a share referring to
        it and a job referring to the share (each by `each.key`, as examples/mesh does), and the
        rest as a counted resource. Terraform's own cost of such a graph is far above that of
        `count` instances: every `resource.name[each.key]` reference evaluates the whole
        for_each collection."""
        pairs = [f"{key(a)}_to_{key(b)}" for a in range(1, TENANTS + 1) for b in range(1, TENANTS + 1) if a != b]
        rest = max(count - 3 * len(pairs), 1)
        body = (
            "locals {\n  mesh = { for k in " + json.dumps(pairs) + " : k => { source = k, target = k } }\n}\n"
            'resource "terraform_data" "acceptance" {\n  for_each = local.mesh\n'
            "  input = { tenant_id = each.value.target, source = each.value.source }\n}\n"
            'resource "terraform_data" "share" {\n  for_each = local.mesh\n'
            "  input = { tenant_id = terraform_data.acceptance[each.key].output.source,"
            " target = terraform_data.acceptance[each.key].output.tenant_id, users = [\"a\", \"b\"] }\n}\n"
            'resource "terraform_data" "job" {\n  for_each = local.mesh\n'
            "  input = { tenant_id = terraform_data.share[each.key].output.tenant_id, sp = terraform_data.share[each.key].output.target }\n}\n"
            f'resource "terraform_data" "rest" {{\n  count = {rest}\n  input = count.index\n}}\n'
        )
        d = self.workdir("mesh-shaped-base", body)
        self.tf(d, "apply", "-auto-approve", f"-parallelism={PARALLELISM}")
        return d

    # -- one state, the whole mesh -------------------------------------------

    def mesh(self):
        print(f"{TENANTS}-tenant mesh in one state, latency={LATENCY_S * 1000:.0f}ms", flush=True)
        self.start_scale_sandbox(f"latency={LATENCY_S * 1000:.0f}ms")
        body = (ROOT / "examples/mesh/main.tf").read_text()
        body = body.replace('provider "mto" {', f'provider "mto" {{\n  graph_endpoint = "{self.url}"\n  login_endpoint = "{self.url}"', 1)
        body = body.replace(REQUIRED_BLOCK, "")
        d = self.workdir("mesh", body)
        (d / "terraform.tfvars.json").write_text(
            json.dumps(
                {
                    "tenants": self.credentials(),
                    "members": [key(i) for i in range(1, TENANTS + 1)],
                    "shared_users": {key(i): [user_id(i, 1), user_id(i, 2)] for i in range(1, TENANTS + 1)},
                }
            )
        )
        self.reset_stats()
        log = self.tmp / "mesh-apply.log"
        started = time.perf_counter()
        self.tf(d, "apply", "-auto-approve", f"-parallelism={PARALLELISM}", env={"TF_LOG_PROVIDER": "debug", "TF_LOG_PATH": str(log)})
        apply_s = time.perf_counter() - started
        total, tokens, writes = self.stats()
        count = len(self.tf(d, "state", "list").stdout.split())
        floor = writes * LATENCY_S / PARALLELISM
        self.row(
            f"apply, {TENANTS}-tenant mesh ({count} resources), latency 100 ms, parallelism {PARALLELISM}",
            f"{apply_s:.1f} s",
            f"{floor:.1f} s floor = {writes} writes x 0.1 s / {PARALLELISM}",
            "<= 2x",
            f"ratio {apply_s / floor:.2f}x; {total} requests ({tokens} token), {total / count:.1f} per resource",
        )
        self.apply_breakdown(log, apply_s, total - tokens)
        base = self.terraform_data_state("mesh-base", count)
        t_ours, t_base = self.hyperfine(
            [(d, f"terraform plan -no-color -parallelism={PARALLELISM}"), (base, f"terraform plan -no-color -parallelism={PARALLELISM}")], RUNS
        )
        self.row(
            f"plan with refresh, {TENANTS}-tenant mesh ({count} resources), latency 100 ms",
            f"{t_ours:.1f} s",
            f"{t_base:.1f} s ({count} terraform_data)",
            "<= 1.5x",
            f"ratio {t_ours / t_base:.2f}x",
        )
        shaped = self.shaped_base_state(count)
        t_ours2, t_shaped = self.hyperfine(
            [(d, f"terraform plan -no-color -parallelism={PARALLELISM}"), (shaped, f"terraform plan -no-color -parallelism={PARALLELISM}")], RUNS
        )
        self.row(
            f"plan with refresh, {TENANTS}-tenant mesh, against terraform_data of the same shape",
            f"{t_ours2:.1f} s",
            f"{t_shaped:.1f} s ({count} terraform_data: acceptance, share and job per pair, chained by each.key)",
            "<= 1.5x",
            f"ratio {t_ours2 / t_shaped:.2f}x",
        )
        a_ours, a_base = self.hyperfine(
            [
                (d, f"terraform apply -auto-approve -no-color -parallelism={PARALLELISM}"),
                (base, f"terraform apply -auto-approve -no-color -parallelism={PARALLELISM}"),
            ],
            RUNS,
        )
        self.row(
            f"no-op apply, {TENANTS}-tenant mesh, latency 100 ms",
            f"{a_ours:.1f} s",
            f"{a_base:.1f} s ({count} terraform_data)",
            "-",
            f"ratio {a_ours / a_base:.2f}x",
        )
        self.reset_stats()
        self.tf(d, "plan", f"-parallelism={PARALLELISM}")
        total, tokens, _ = self.stats()
        self.print_routes("mesh's plan")
        self.row(
            f"Graph requests per refreshed resource, {TENANTS}-tenant mesh",
            f"{total / count:.3f}",
            f"{total} requests for {count} resources ({tokens} token)",
            "<= 0.05",
        )
        self.rss_log.write_text("")
        self.tf(d, "plan", f"-parallelism={PARALLELISM}")
        rss = [int(x) for x in self.rss_log.read_text().split() if x.isdigit()]
        if rss:
            self.row(f"provider peak RSS, plan of the {TENANTS}-tenant mesh", f"{max(rss) / 1024:.1f} MiB", "-", "-")
        self.mesh_dir = d

    # -- one state per tenant admin --------------------------------------------

    def per_tenant(self):
        module = ROOT / "examples/per-tenant/tenant"
        if not module.is_dir():
            raise SystemExit("bench: examples/per-tenant/tenant is missing")
        print(f"{TENANTS} per-tenant states, planned concurrently, latency={LATENCY_S * 1000:.0f}ms", flush=True)
        self.start_scale_sandbox(f"latency={LATENCY_S * 1000:.0f}ms")
        organization = {
            "organization": {"display_name": "Scale", "owner": key(1)},
            "tenants": {key(i): {"id": tenant_id(i), "name": f"Scale {i}"} for i in range(1, TENANTS + 1)},
        }
        dirs = []
        for i in range(1, TENANTS + 1):
            d = self.workdir(f"admin-{i}", "")
            (d / "main.tf").write_text((module / "main.tf").read_text())
            inputs = dict(
                organization,
                tenant=key(i),
                shared_users=[user_id(i, 1), user_id(i, 2)],
                client_id=client_id(i),
                client_secret=f"secret-{i}",
                graph_endpoint=self.url,
                login_endpoint=self.url,
            )
            (d / "terraform.tfvars.json").write_text(json.dumps(inputs))
            dirs.append(d)
        # Every admin applies (concurrently) until its plan is empty; the shares and joins that
        # ran ahead of the other admins' states fail in the first round and complete later.
        pending = list(dirs)
        started = time.perf_counter()
        for rnd in range(1, 5):
            with ThreadPoolExecutor(max_workers=10) as pool:
                codes = list(pool.map(lambda d: self.tf(d, "apply", "-auto-approve", check=False).returncode, pending))
            pending = [d for d, c in zip(pending, codes) if c != 0]
            if not pending:
                break
        if pending:
            raise SystemExit(f"bench: {len(pending)} per-tenant states still fail after {rnd} rounds")
        converge_s = time.perf_counter() - started
        counts = [len(self.tf(d, "state", "list").stdout.split()) for d in dirs]
        bases = [self.terraform_data_state(f"admin-base-{i}", n) for i, n in enumerate(counts, 1)]

        def concurrent_plans(ds):
            began = time.perf_counter()
            with ThreadPoolExecutor(max_workers=len(ds)) as pool:
                rs = list(pool.map(lambda d: self.tf(d, "plan", "-detailed-exitcode", check=False), ds))
            bad = [r for r in rs if r.returncode != 0]
            if bad:
                raise SystemExit(f"a per-tenant plan was not empty:\n{bad[0].stdout}\n{bad[0].stderr}")
            return time.perf_counter() - began

        ours, base = [], []
        for _ in range(RUNS):
            ours.append(concurrent_plans(dirs))
            base.append(concurrent_plans(bases))
        t_ours, t_base = statistics.median(ours), statistics.median(base)
        self.row(
            f"{TENANTS} per-tenant states ({min(counts)}-{max(counts)} resources each) planned concurrently, latency 100 ms",
            f"{t_ours:.1f} s",
            f"{t_base:.1f} s ({TENANTS} terraform_data states of the same sizes, concurrently)",
            "-",
            f"ratio {t_ours / t_base:.2f}x; converged in {rnd} rounds of concurrent applies ({converge_s:.0f} s)",
        )
        self.reset_stats()
        concurrent_plans(dirs)
        total, tokens, _ = self.stats()
        self.print_routes("per-tenant plans")
        self.row(
            f"Graph requests per refreshed resource, {TENANTS} per-tenant states",
            f"{total / sum(counts):.3f}",
            f"{total} requests for {sum(counts)} resources ({tokens} token; {total / TENANTS:.1f} per state)",
            "<= 0.05",
        )

    # -- the sandbox's engine over the mesh --------------------------------------

    def sync(self):
        users = int(arg("--users", "1000"))
        print(f"sandbox sync engine: {TENANTS} tenants x {users} users, full mesh", flush=True)
        r = subprocess.run(
            ["bash", str(ROOT / "sandbox/bench/sync.sh"), "mesh", str(TENANTS), str(users)], capture_output=True, text=True
        )
        if r.returncode != 0:
            raise SystemExit(f"sync benchmark failed:\n{r.stdout}\n{r.stderr}")
        print(r.stdout, flush=True)
        walls = {}
        for line in r.stdout.splitlines():
            m = re.match(r"^(first cycle|incremental cycle|steady cycle)[^:]*: jobs=(\d+) wall=([\d.]+)s.*created=(\d+) updated=(\d+)", line)
            if m:
                walls[m.group(1)] = (float(m.group(3)), int(m.group(2)), int(m.group(4)), int(m.group(5)))
        rss = next((ln.split(":", 1)[1].strip() for ln in r.stdout.splitlines() if "Maximum resident set size" in ln), "?")
        members = (TENANTS - 1) * TENANTS * users
        if "first cycle" in walls:
            w, jobs, created, _ = walls["first cycle"]
            self.row(f"sync full cycle, {jobs} jobs, {members:,} B2B members", f"{w:.1f} s", "-", "< 60 s", f"{created:,} created; sandbox peak RSS {rss}")
        if "incremental cycle" in walls:
            w, jobs, _, updated = walls["incremental cycle"]
            self.row(f"sync incremental cycle after 1 % of users changed, {jobs} jobs", f"{w:.1f} s", "-", "< 5 s", f"{updated:,} updated")
        if "steady cycle" in walls:
            w, jobs, _, _ = walls["steady cycle"]
            self.row(f"sync cycle with nothing to do, {jobs} jobs", f"{w:.1f} s", "-", "-")


REQUIRED_BLOCK = 'terraform {\n  required_providers {\n    mto = { source = "mto-provider/mto" }\n  }\n}\n'


def main():
    parts = [p for p in ("mesh", "per-tenant", "sync") if p in sys.argv] or ["mesh", "per-tenant", "sync"]
    b = Scale()
    try:
        for p in parts:
            getattr(b, p.replace("-", "_"))()
        b.report()
    finally:
        b.close()


if __name__ == "__main__":
    main()
