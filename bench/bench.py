"""Benchmark driver for terraform-provider-mto (see bench/run.sh).

Each comparison runs in the same invocation as its baseline, and results are
quoted as ratios: the machine is shared and noisy, absolute numbers are not
comparable between runs.
"""

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RELEASE = ROOT / "target" / "release"
PROVIDER = RELEASE / "terraform-provider-mto"
SANDBOX = RELEASE / "mto-sandbox"
# The same schemas served by the same plugin server with no Graph behind
# them (provider/examples/plugin_floor.rs): what any plugin provider pays.
FLOOR = RELEASE / "examples" / "plugin_floor"
ADDRESS = "registry.terraform.io/mto-provider/mto"
COOKIE = "d602bf8f470bc67ca7faa0386276bbdd4330efaf76d1a219cb4d6991ca9872b2"
QUICK = "--quick" in sys.argv

TENANT_B = {
    "id": "bbbbbbbb-0000-4000-8000-00000000000b",
    "client_id": "b0000000-0000-4000-8000-0000000000b1",
    "secret": "bench-secret-b",
}

REQUIRED = 'terraform {\n  required_providers {\n    mto = { source = "mto-provider/mto" }\n  }\n}\n'


class Bench:
    def __init__(self):
        self.tmp = Path(tempfile.mkdtemp(prefix="mto-bench-"))
        self.rss_log = self.tmp / "provider-rss.log"
        # A wrapper in the dev_overrides directory records each provider
        # process's peak RSS (GNU time) without changing what Terraform runs.
        wrap = self.tmp / "plugins"
        wrap.mkdir()
        script = wrap / "terraform-provider-mto"
        script.write_text(
            f'#!/bin/sh\nexec /usr/bin/time -a -o {self.rss_log} -f "%M" {PROVIDER} "$@"\n'
        )
        script.chmod(0o755)
        self.cli = self.tmp / "cli.tfrc"
        self.cli.write_text(
            f'provider_installation {{\n  dev_overrides {{\n    "{ADDRESS}" = "{wrap}"\n  }}\n  direct {{}}\n}}\n'
        )
        floor = self.tmp / "floor-plugins"
        floor.mkdir()
        (floor / "terraform-provider-mto").symlink_to(FLOOR)
        self.floor_cli = self.tmp / "floor.tfrc"
        self.floor_cli.write_text(
            f'provider_installation {{\n  dev_overrides {{\n    "{ADDRESS}" = "{floor}"\n  }}\n  direct {{}}\n}}\n'
        )
        self.env = dict(os.environ)
        self.env.update(
            {
                "TF_CLI_CONFIG_FILE": str(self.cli),
                "TF_IN_AUTOMATION": "1",
                "CHECKPOINT_DISABLE": "1",
                "TF_INPUT": "0",
            }
        )
        for k in ("TF_LOG", "TF_LOG_PATH"):
            self.env.pop(k, None)
        self.rows = []
        self.sandbox = None

    def close(self):
        if self.sandbox:
            self.sandbox.kill()
            self.sandbox.wait()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def workdir(self, name, body):
        d = self.tmp / name
        d.mkdir(exist_ok=True)
        (d / "main.tf").write_text(REQUIRED + body)
        return d

    def tf(self, d, *args, check=True, env=None):
        r = subprocess.run(
            ["terraform", *args, "-no-color"], cwd=d, env=dict(self.env, **(env or {})), capture_output=True, text=True
        )
        if check and r.returncode != 0:
            raise SystemExit(f"terraform {' '.join(args)} failed in {d}:\n{r.stdout}\n{r.stderr}")
        return r

    def hyperfine(self, commands, runs):
        """Median seconds of each command, measured interleaved by hyperfine."""
        out = self.tmp / "hf.json"
        args = ["hyperfine", "-N" if False else "--shell=none", "--warmup", "1", "--runs", str(runs), "--export-json", str(out)]
        args = ["hyperfine", "--warmup", "1", "--runs", str(runs), "--export-json", str(out)]
        for cwd, cmd in commands:
            args.append(f"cd {cwd} && {cmd}")
        subprocess.run(args, env=self.env, check=True, capture_output=True)
        data = json.loads(out.read_text())
        return [statistics.median(r["times"]) for r in data["results"]]

    def row(self, what, value, baseline, target, note=""):
        self.rows.append((what, value, baseline, target, note))
        print(f"  {what}: {value} | {baseline} | {target} {note}", flush=True)

    # -- provider process -------------------------------------------------

    def provider_process(self):
        print("provider process", flush=True)
        # A client certificate like the one Terraform generates (P-521), so
        # the measurement includes AutoMTLS set-up.
        cert = self.tmp / "client.pem"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-521", "-nodes",
             "-keyout", str(self.tmp / "client.key"), "-out", str(cert), "-subj", "/CN=localhost", "-days", "1"],
            check=True, capture_output=True,
        )
        times = []
        for _ in range(20):
            env = dict(self.env, TF_PLUGIN_MAGIC_COOKIE=COOKIE, PLUGIN_PROTOCOL_VERSIONS="5,6", PLUGIN_CLIENT_CERT=cert.read_text())
            started = time.perf_counter()
            p = subprocess.Popen([PROVIDER], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            p.stdout.readline()
            times.append(time.perf_counter() - started)
            p.kill()
            p.wait()
        ms = statistics.median(times) * 1000
        self.row("startup to handshake line (with AutoMTLS)", f"{ms:.1f} ms", "-", "< 10 ms")
        size = PROVIDER.stat().st_size / (1 << 20)
        self.row("release binary size", f"{size:.1f} MiB", "-", "< 15 MiB")

    # -- the function config vs terraform_data ------------------------------

    def function_plan(self):
        print("plan: mesh from provider::mto::pairs vs the same mesh written out", flush=True)
        tenants = ["a", "b", "c", "d"]
        pairs = [{"source": s, "target": t} for s in tenants for t in tenants if s != t]
        ours = self.workdir(
            "fn",
            "locals {\n  mesh = { for p in provider::mto::pairs(" + json.dumps(tenants) + ') : "${p.source}>${p.target}" => p }\n}\n'
            'resource "terraform_data" "share" {\n  for_each = local.mesh\n  input    = each.value\n}\n',
        )
        literal = "{ " + ", ".join(f'"{p["source"]}>{p["target"]}" = {{ source = "{p["source"]}", target = "{p["target"]}" }}' for p in pairs) + " }"
        base = self.workdir(
            "fn-base",
            f"locals {{\n  mesh = {literal}\n}}\n"
            'resource "terraform_data" "share" {\n  for_each = local.mesh\n  input    = each.value\n}\n',
        )
        self.tf(ours, "apply", "-auto-approve")
        self.tf(base, "apply", "-auto-approve")
        t_ours, t_base = self.hyperfine([(ours, "terraform plan -no-color"), (base, "terraform plan -no-color")], 10 if QUICK else 20)
        self.row(
            "plan, 12-share mesh via provider::mto::pairs",
            f"{t_ours * 1000:.0f} ms",
            f"{t_base * 1000:.0f} ms (same mesh as a literal, terraform_data only)",
            "<= 1.15x",
            f"ratio {t_ours / t_base:.2f}x; the difference is Terraform starting the plugin 3 times",
        )

    # -- many resources against the sandbox -------------------------------

    def start_sandbox(self):
        seed = {
            "tenants": [
                {
                    "id": TENANT_B["id"],
                    "displayName": "Bench B",
                    "initialDomain": "benchb.onmicrosoft.com",
                    "apps": [
                        {
                            "clientId": TENANT_B["client_id"],
                            "clientSecret": TENANT_B["secret"],
                            "roles": ["Policy.ReadWrite.CrossTenantAccess", "Policy.Read.All"],
                        }
                    ],
                    "users": [],
                    "groups": [],
                }
            ]
        }
        (self.tmp / "seed.json").write_text(json.dumps(seed))
        self.sandbox = subprocess.Popen(
            [SANDBOX, "serve", "--in-memory", "--addr", "127.0.0.1:0", "--seed", str(self.tmp / "seed.json")],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=dict(os.environ, MTO_SANDBOX_LOG="warn"),
            text=True,
        )
        line = self.sandbox.stdout.readline()
        self.url = line.split("listening on ")[1].strip()

    def stats_total(self):
        import urllib.request

        with urllib.request.urlopen(f"{self.url}/_sandbox/stats") as r:
            s = json.loads(r.read())
        token = sum(v for k, v in s.get("routes", {}).items() if "oauth2" in k)
        return s.get("total", 0), token, s

    def reset_stats(self):
        import urllib.request

        urllib.request.urlopen(urllib.request.Request(f"{self.url}/_sandbox/stats/reset", method="POST")).read()

    def many(self, n):
        print(f"plan and no-op apply: {n} x mto_inbound_acceptance vs {n} x terraform_data", flush=True)
        provider = (
            f'provider "mto" {{\n  graph_endpoint = "{self.url}"\n  login_endpoint = "{self.url}"\n'
            f'  tenant {{\n    tenant_id = "{TENANT_B["id"]}"\n    client_id = "{TENANT_B["client_id"]}"\n'
            f'    client_secret = "{TENANT_B["secret"]}"\n  }}\n}}\n'
        )
        sources = [str(uuid.UUID(int=(0xD0000000 << 96) + i)) for i in range(n)]
        ours = self.workdir(
            f"many-{n}",
            provider
            + "locals {\n  sources = " + json.dumps(sources) + "\n}\n"
            + 'resource "mto_inbound_acceptance" "a" {\n  for_each = toset(local.sources)\n'
            + f'  tenant_id = "{TENANT_B["id"]}"\n  source_tenant_id = each.value\n}}\n',
        )
        base = self.workdir(
            f"base-{n}",
            "locals {\n  sources = " + json.dumps(sources) + "\n}\n"
            + 'resource "terraform_data" "a" {\n  for_each = toset(local.sources)\n  input = each.value\n}\n',
        )
        self.reset_stats()
        self.tf(ours, "apply", "-auto-approve", "-parallelism=50")
        total, tokens, stats = self.stats_total()
        writes = sum(v for k, v in stats.get("routes", {}).items() if not k.startswith("GET") and "oauth2" not in k and "$batch" not in k)
        inner_writes = sum(v for k, v in stats.get("batchInner", {}).items() if not k.startswith("GET"))
        round_trips = total - tokens
        self.row(
            f"Graph round trips per create beyond the writes, N={n}",
            f"{(round_trips - writes) / n:.2f}",
            f"{round_trips} round trips for {n} creates, {writes + inner_writes} of them writes ({(writes + inner_writes) / n:.0f} per create)",
            "<= 3",
        )
        self.tf(base, "apply", "-auto-approve", "-parallelism=50")
        # The plugin floor refreshes the state ours just wrote, unchanged.
        floor = self.workdir(f"floor-{n}", "")
        for f in ("main.tf", "terraform.tfstate"):
            shutil.copy(ours / f, floor / f)
        floor_tf = f"TF_CLI_CONFIG_FILE={self.floor_cli} terraform"
        runs = 5 if QUICK else 7
        for par in (10, 50):
            for what, cmd in (("plan", "plan"), ("no-op apply", "apply -auto-approve")):
                t_ours, t_floor, t_base = self.hyperfine(
                    [
                        (ours, f"terraform {cmd} -no-color -parallelism={par}"),
                        (floor, f"{floor_tf} {cmd} -no-color -parallelism={par}"),
                        (base, f"terraform {cmd} -no-color -parallelism={par}"),
                    ],
                    runs,
                )
                self.row(
                    f"{what} N={n}, parallelism {par}",
                    f"{t_ours:.2f} s",
                    f"{t_base:.2f} s; plugin floor {t_floor:.2f} s",
                    "<= 1.15x",
                    f"ratio {t_ours / t_base:.2f}x; the floor is {t_floor / t_base:.2f}x, ours {t_ours / t_floor:.2f}x the floor",
                )
        # Graph requests per refreshed resource, token requests included.
        self.reset_stats()
        self.tf(ours, "plan", "-parallelism=10")
        total, tokens, stats = self.stats_total()
        inner = sum(stats.get("batchInner", {}).values())
        self.row(
            f"Graph HTTP requests per refreshed resource, N={n}",
            f"{total / n:.3f}",
            f"{total} requests ({tokens} token, {inner} reads inside $batch)",
            "<= 0.1",
        )
        self.rss_log.write_text("")
        self.tf(ours, "plan", "-parallelism=10")
        rss = [int(x) for x in self.rss_log.read_text().split() if x.isdigit()]
        if rss:
            self.row(f"provider peak RSS during plan N={n}", f"{max(rss) / 1024:.1f} MiB", "-", "< 30 MiB")
        self.tf(ours, "destroy", "-auto-approve", "-parallelism=50")

    def quickstart_lag(self):
        print("quick start apply: no faults vs lag=2s", flush=True)
        results = {}
        for label, faults in (("no lag", ""), ("lag=2s", "lag=2s")):
            times = []
            for _ in range(3 if QUICK else 5):
                args = [SANDBOX, "serve", "--in-memory", "--addr", "127.0.0.1:0", "--seed", str(ROOT / "examples/quickstart/seed.json"),
                        "--join-delay", "1s", "--sync-interval", "1h"]
                if faults:
                    args += ["--faults", faults]
                sb = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                      env=dict(os.environ, MTO_SANDBOX_LOG="warn"))
                url = sb.stdout.readline().split("listening on ")[1].strip()
                d = self.tmp / f"qs-{label}-{len(times)}"
                d.mkdir()
                shutil.copy(ROOT / "examples/quickstart/main.tf", d / "main.tf")
                env = dict(self.env, TF_VAR_sandbox_url=url)
                started = time.perf_counter()
                r = subprocess.run(["terraform", "apply", "-auto-approve", "-no-color"], cwd=d, env=env, capture_output=True, text=True)
                times.append(time.perf_counter() - started)
                sb.kill()
                sb.wait()
                if r.returncode != 0:
                    raise SystemExit(f"quick start apply failed ({label}):\n{r.stdout}\n{r.stderr}")
            results[label] = statistics.median(times)
        self.row(
            "quick start apply (3 tenants, 6 shares), lag=2s",
            f"{results['lag=2s']:.1f} s",
            f"{results['no lag']:.1f} s without lag",
            "-",
            f"ratio {results['lag=2s'] / results['no lag']:.2f}x; joins wait 1 s each",
        )

    def sync_engine(self):
        print("sandbox sync engine (sandbox/bench/sync.sh)", flush=True)
        r = subprocess.run(["bash", str(ROOT / "sandbox/bench/sync.sh")], capture_output=True, text=True)
        if r.returncode != 0:
            raise SystemExit(f"sync benchmark failed:\n{r.stdout}\n{r.stderr}")
        self.sync_output = r.stdout
        scenario = None
        for line in r.stdout.splitlines():
            if line.startswith("=="):
                scenario = line.strip("= ").strip()
            elif line.startswith("first cycle (creates)") and scenario:
                wall = next((w.split("=", 1)[1] for w in line.split() if w.startswith("wall=")), "?")
                self.row(f"sync first cycle, {scenario}", wall, "-", "10k x 1: < 2 s; 100k x 9: < 60 s")
            elif line.startswith("RSS after") and scenario:
                self.row(f"sandbox RSS after the cycles, {scenario}", line.split(":", 1)[-1].strip(), "-", "-")

    def report(self):
        lines = [
            f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {os.uname().nodename} "
            f"({os.cpu_count()} cores), {'quick' if QUICK else 'full'} run, medians.",
            "",
            "| measurement | result | baseline (same run) | target | note |",
            "|---|---|---|---|---|",
        ]
        for what, value, baseline, target, note in self.rows:
            lines.append(f"| {what} | {value} | {baseline} | {target} | {note} |")
        text = "\n".join(lines) + "\n"
        out = ROOT / "bench" / "results"
        out.mkdir(exist_ok=True)
        (out / f"{time.strftime('%Y%m%d-%H%M%S')}.md").write_text(text)
        print()
        print(text)


def main():
    b = Bench()
    try:
        b.provider_process()
        b.function_plan()
        b.start_sandbox()
        for n in [100] if QUICK else [100, 1000]:
            b.many(n)
        b.quickstart_lag()
        if not QUICK:
            b.sync_engine()
        b.report()
    finally:
        b.close()


if __name__ == "__main__":
    main()
