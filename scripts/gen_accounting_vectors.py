#!/usr/bin/env python3
"""Generate tests/fixtures/accounting_vectors.json: epsilon values of the Poisson-subsampled
Gaussian mechanism from Google's dp_accounting (RdpAccountant, PLDAccountant) and, when
installed, Microsoft's prv_accountant, for dpwear's Rust accountants to be compared against.

Usage (from the repository root):
    python3 -m venv /work/py-acct
    /work/py-acct/bin/pip install dp-accounting prv-accountant numpy scipy
    /work/py-acct/bin/python scripts/gen_accounting_vectors.py [--out PATH] [--dpa030 DIR]

--dpa030 DIR: optional directory holding an unpacked dp-accounting==0.3.0 wheel (the version
tensorflow-privacy 0.8.5 pins: `pip download dp-accounting==0.3.0 --no-deps` and unzip). Its
RdpAccountant sums the fractional-order series with signed coefficients and no iteration cap,
like tf-privacy; its values are written as "rdp_dpa030" with the reference order list.

Every event is SelfComposedDpEvent(PoissonSampledDpEvent(q, GaussianDpEvent(sigma)), steps)
under add-or-remove adjacency.
"""
import argparse
import datetime
import importlib.metadata as md
import json
import math
import os
import subprocess
import sys
import time

import dp_accounting
from dp_accounting import dp_event
from dp_accounting.pld import pld_privacy_accountant
from dp_accounting.rdp import rdp_privacy_accountant

QS = [0.001, 0.01, 0.0943, 0.5, 1.0]
SIGMAS = [0.5, 0.8, 1.0, 2.0, 5.0, 20.0]
STEPS = [1, 10, 106, 1000, 100000]
DELTAS = [1e-3, 1e-5, 1e-7]
PLD_INTERVAL = 1e-4

REFERENCE_ORDERS = ([1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 3.0, 3.5, 4.0, 4.5]
                    + list(range(5, 64)) + [128, 256, 512])


def event(q, sigma, steps):
    return dp_event.SelfComposedDpEvent(
        dp_event.PoissonSampledDpEvent(q, dp_event.GaussianDpEvent(sigma)), steps)


def finite_or_none(x):
    return float(x) if math.isfinite(x) else None


def rdp_eps(module, orders, q, sigma, steps):
    acc = module.RdpAccountant(orders) if orders is not None else module.RdpAccountant()
    acc.compose(event(q, sigma, steps))
    return [finite_or_none(acc.get_epsilon(d)) for d in DELTAS]


def pld_wanted(q, sigma, steps, rdp_eps_1e5):
    """Prune the PLD grid to cases that run in seconds and mean something."""
    if rdp_eps_1e5 is None or rdp_eps_1e5 > 60:
        return False
    if steps == 100000 and q > 0.01:
        return False
    if steps >= 1000 and q >= 0.5 and sigma < 2:
        return False
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/fixtures/accounting_vectors.json")
    ap.add_argument("--dpa030", default=None)
    args = ap.parse_args()

    dpa030 = None
    if args.dpa030:
        # Load only the old RDP module file; the module-level functions used below
        # (_compute_rdp_poisson_subsampled_gaussian, compute_epsilon) need numpy/scipy only.
        import importlib.util
        path = os.path.join(args.dpa030, "dp_accounting", "rdp", "rdp_privacy_accountant.py")
        spec = importlib.util.spec_from_file_location("dpa030_rdp", path)
        dpa030 = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(dpa030)

    try:
        from prv_accountant import PRVAccountant
        from prv_accountant.privacy_random_variables import PoissonSubsampledGaussianMechanism
        have_prv = True
    except Exception:  # pragma: no cover - optional
        have_prv = False

    cases = []
    t_start = time.time()
    for q in QS:
        for sigma in SIGMAS:
            for steps in STEPS:
                case = {"q": q, "sigma": sigma, "steps": steps, "deltas": DELTAS}
                case["rdp_reference_orders"] = rdp_eps(rdp_privacy_accountant,
                                                       REFERENCE_ORDERS, q, sigma, steps)
                case["rdp_default_orders"] = rdp_eps(rdp_privacy_accountant, None,
                                                     q, sigma, steps)
                if dpa030 is not None:
                    case["rdp_dpa030"] = rdp_eps_old(dpa030, q, sigma, steps)
                if pld_wanted(q, sigma, steps, case["rdp_reference_orders"][1]):
                    t0 = time.time()
                    acc = pld_privacy_accountant.PLDAccountant(
                        value_discretization_interval=PLD_INTERVAL)
                    acc.compose(event(q, sigma, steps))
                    case["pld"] = [finite_or_none(acc.get_epsilon(d)) for d in DELTAS]
                    case["pld_seconds"] = round(time.time() - t0, 3)
                if have_prv and steps in (106, 1000) and q < 1.0 and sigma >= 0.8:
                    try:
                        prv = PoissonSubsampledGaussianMechanism(
                            noise_multiplier=sigma, sampling_probability=q)
                        acc = PRVAccountant(prvs=prv, max_self_compositions=steps,
                                            eps_error=0.01, delta_error=1e-10)
                        case["prv"] = [list(acc.compute_epsilon(d, steps)) for d in DELTAS[:2]]
                        case["prv_deltas"] = DELTAS[:2]
                    except Exception as e:  # pragma: no cover - optional
                        case["prv_error"] = str(e)
                cases.append(case)
                print(f"q={q} sigma={sigma} steps={steps} "
                      f"rdp={case['rdp_reference_orders']} pld={case.get('pld')}",
                      file=sys.stderr)

    versions = {}
    for pkg in ["dp-accounting", "prv-accountant", "numpy", "scipy"]:
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    if dpa030 is not None:
        versions["dp-accounting (rdp_dpa030)"] = "0.3.0"
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True,
                                text=True, check=False).stdout.strip() or None
    except OSError:
        commit = None
    out = {
        "provenance": {
            "script": "scripts/gen_accounting_vectors.py",
            "command": "python3 " + " ".join(sys.argv),
            "python": sys.version.split()[0],
            "packages": versions,
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "git_commit_at_generation": commit,
            "seconds": round(time.time() - t_start, 1),
            "event": "SelfComposedDpEvent(PoissonSampledDpEvent(q, GaussianDpEvent(sigma)), steps), "
                     "add-or-remove adjacency",
            "rdp_reference_orders": "dp_accounting RdpAccountant(orders=[1.25,1.5,1.75,2,2.25,2.5,3,3.5,4,4.5]+5..63+[128,256,512])",
            "rdp_default_orders": "dp_accounting RdpAccountant() (DEFAULT_RDP_ORDERS)",
            "pld": f"dp_accounting PLDAccountant(value_discretization_interval={PLD_INTERVAL}); "
                   "pruned: RDP eps(1e-5) <= 60, no q > 0.01 at 100000 steps, "
                   "no q >= 0.5 with sigma < 2 at >= 1000 steps",
            "prv": "prv_accountant PRVAccountant(PoissonSubsampledGaussianMechanism, "
                   "eps_error=0.01, delta_error=1e-10): [lower, estimate, upper] (informational)",
            "null": "an epsilon of null means infinite",
        },
        "reference_orders": REFERENCE_ORDERS,
        "cases": cases,
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print(f"wrote {args.out} ({len(cases)} cases) in {time.time() - t_start:.1f}s", file=sys.stderr)


def rdp_eps_old(old_rdp, q, sigma, steps):
    """dp_accounting 0.3.0: compute the RDP curve with its module-level functions (its
    RdpAccountant only accepts its own dp_event classes)."""
    orders = REFERENCE_ORDERS
    rdp = old_rdp._compute_rdp_poisson_subsampled_gaussian(q, sigma, orders) * steps
    return [finite_or_none(old_rdp.compute_epsilon(orders, rdp, d)[0]) for d in DELTAS]


if __name__ == "__main__":
    main()
