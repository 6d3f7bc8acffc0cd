"""The update rules on MNIST at convergence: FID, speed of convergence, rotation.

Trains each update rule -- simultaneous, alternating, extra-Adam, optimistic Adam,
consensus, lookahead, SGA, and simultaneous + R1 -- on the same MNIST GAN for the
same number of steps, over several seeds trained together (``gamedyn mnist
--seeds``: one vmapped program per rule), and tables per rule, as mean +- std over
the seeds:

* the classifier FID of the final generator (``--fid-samples`` samples each;
  :mod:`gamedyn.metrics.classifier`);
* the step at which the logged FID (every ``--fid-every`` steps on
  ``--fid-log-samples`` samples) first drops below twice its final value: how fast
  the rule gets near where it ends;
* the rotation at the end: the imaginary part's share ``sum |Im l| / sum |l|`` of
  the top-``k`` eigenvalues (by magnitude) of the game Jacobian on the fixed
  evaluation batch (Berard et al. 2020;
  :func:`gamedyn.experiments.mnist.rotation_share`), and the largest ``|Im l|``
  of the top-``k`` by imaginary part (``which="LI"``).

Every rule runs in its own directory under ``--work`` with checkpoints: a killed
benchmark resumes where it stopped when started again with the same settings. The
results go to ``benchmarks/results/mnist_rules_<name>.json`` with the machine (CPU,
devices, JAX version) and the settings, rewritten after every rule (``"complete"`` is
false until the last one): a stopped benchmark keeps its finished rows. ``--from-json``
prints the table of a saved file. The rotation comes from the top-``k`` eigenvalues of
the game Jacobian at the end only (two ARPACK runs per seed; ``gamedyn mnist
--spectrum`` computes them at every checkpoint, with each player's Hessian).

    python benchmarks/bench_mnist_rules.py --steps 50000 --seeds 3 --name cpu
    python benchmarks/bench_mnist_rules.py --model dcgan --steps 20000 --name h100
    python benchmarks/bench_mnist_rules.py --quick      # a tiny check of the script
    python benchmarks/bench_mnist_rules.py --from-json benchmarks/results/x.json

Every other setting is ``gamedyn mnist``'s default
(``gamedyn.experiments.mnist.Config``) unless ``--set NAME=VALUE`` changes it for
every rule (e.g. ``--set lr_g=5e-4``).

References:
  Berard, Gidel, Almahairi, Vincent, Lacoste-Julien 2020, A Closer Look at the
  Optimization Landscapes of Generative Adversarial Networks. ICLR.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings

import numpy as np

RULES = {
    "simultaneous": dict(rule="simultaneous", regularizer="none"),
    "alternating": dict(rule="alternating", regularizer="none"),
    "extra-Adam": dict(rule="extragradient", regularizer="none"),
    "optimistic Adam": dict(rule="optimistic", regularizer="none"),
    "consensus": dict(rule="consensus", regularizer="none"),
    "lookahead": dict(rule="lookahead", regularizer="none"),
    "SGA": dict(rule="sga", regularizer="none"),
    "simultaneous + R1": dict(rule="simultaneous", regularizer="r1", gamma=1.0),
}
"""Row label -> the settings that make the rule (registry defaults otherwise). Only
the last row has a regularizer (`gamedyn mnist`'s default, R1 weight 1): the others
are the unregularized GAN under each rule."""

QUICK = dict(width=8, latent_dim=4, batch_size=16, train_size=256)
"""``--quick``: a tiny GAN, to check the script, not to compare the rules."""


def machine() -> dict:
    """The machine: CPU model and cores, JAX's devices and version."""
    import jax

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [ln.split(":", 1)[1].strip() for ln in f if "model name" in ln]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    devices = jax.devices()
    return {
        "cpu": cpu,
        "cpu_cores": os.cpu_count(),
        "platform": devices[0].platform,
        "device": devices[0].device_kind,
        "devices": len(devices),
        "jax": jax.__version__,
        "host": platform.node(),
    }


def _value(text: str):
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False, "none": None}.get(text.lower(), text)


def first_below_twice_final(steps, fids) -> int | None:
    """The first logged step whose FID is at most twice the last logged FID."""
    fids = np.asarray([np.nan if f is None else f for f in fids], float)
    if not fids.size or not np.isfinite(fids[-1]):
        return None
    hit = np.flatnonzero(fids <= 2 * fids[-1])
    return int(np.asarray(steps)[hit[0]])


def _stats(values) -> dict:
    x = np.asarray([np.nan if v is None else v for v in values], float)
    x = x[np.isfinite(x)]
    return {
        "mean": float(x.mean()) if x.size else None,
        "std": float(x.std(ddof=1)) if x.size > 1 else None,
        "n": int(x.size),
    }


def run_rule(label: str, base, args, classifier) -> dict:
    from gamedyn import io
    from gamedyn.experiments import mnist as ex

    cfg = base._replace(**RULES[label])
    out = os.path.join(args.work, label.replace(" ", "_").replace("+", "plus"))
    t0 = time.perf_counter()
    every = max(args.steps // 10, 1)
    result = ex.run(
        cfg,
        out,
        target_step=args.steps,
        chunk=args.chunk,
        checkpoint_every=every,
        keep=1,  # the spectra: at the last checkpoint, the end
        fid_samples=args.fid_samples,
        fid_every=args.fid_every,
        fid_log_samples=args.fid_log_samples,
        classifier=classifier,
    )
    m = result.metrics
    per = m["per_seed"] if cfg.seeds > 1 else [dict(m, seed=cfg.seed)]
    last = end_spectra(cfg, result.state, [p["seed"] for p in per], args.k)
    seconds = time.perf_counter() - t0
    curve = [r for r in io.read_log(out) if "fid" in r]
    steps = [r["step"] for r in curve]
    seeds = [p["seed"] for p in per]
    fid_curves = [
        [r["fid"][i] if cfg.seeds > 1 else r["fid"] for r in curve]
        for i in range(len(seeds))
    ]
    near = [first_below_twice_final(steps, c) for c in fid_curves]
    rotation = [last[s]["rotation"] if s in last else None for s in seeds]
    max_imag = [
        max(abs(im) for _, im in last[s]["jacobian_imag"])
        if s in last and last[s]["jacobian_imag"] is not None
        else None
        for s in seeds
    ]
    return {
        "rule": label,
        "settings": RULES[label],
        "seeds": seeds,
        "steps": args.steps,
        "fid": [p.get("fid") for p in per],
        "near_final_step": near,
        "rotation": rotation,
        "max_imag_li": max_imag,
        "diverged": [bool(p.get("diverged")) for p in per],
        "fid_steps": steps,
        "fid_curves": fid_curves,
        "seconds": round(seconds, 1),
    }


def end_spectra(cfg, state, seeds: list[int], k: int) -> dict:
    """Seed -> `{"rotation", "jacobian_imag"}` at the end of training: the top-`k`
    eigenvalues of the game Jacobian by magnitude (their imaginary share,
    `rotation_share`) and by imaginary part (`which="LI"`), on each seed's fixed
    evaluation batch (`ex.keys(seed)[2]`), matrix-free. Seeds whose params are not
    finite are left out. (Only the Jacobian: `gamedyn mnist --spectrum` also
    computes each player's Hessian, four more ARPACK runs per seed.)"""
    import jax

    from gamedyn import train as T
    from gamedyn.analysis import SpectrumWarning, top_eigenvalues
    from gamedyn.experiments import mnist as ex

    gan, _ = ex.build(cfg._replace(seeds=1))
    out = {}
    for i, seed in enumerate(seeds):
        params = (T.select_run(state, i) if len(seeds) > 1 else state).params
        if not all(np.all(np.isfinite(x)) for x in jax.tree.leaves(params)):
            continue
        key = ex.keys(seed)[2]
        lam = top_eigenvalues(gan.game, params, k, key=key, which="LM")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SpectrumWarning)
            rot = top_eigenvalues(gan.game, params, k, key=key, which="LI")
        missed = any(issubclass(w.category, SpectrumWarning) for w in caught)
        out[seed] = {
            "rotation": ex.rotation_share(lam),
            # None: ARPACK's LI returned only real eigenvalues, probably missing
            # the rotation (gamedyn.analysis.SpectrumWarning), not "no rotation".
            "jacobian_imag": None
            if missed
            else [[float(z.real), float(z.imag)] for z in rot],
        }
    return out


def _cell(values, fmt: str) -> str:
    s = _stats(values)
    if s["mean"] is None:
        return "--"
    text = format(s["mean"], fmt)
    if s["std"] is not None:
        text += " +- " + format(s["std"], fmt)
    if s["n"] < len(values):
        text += f" ({s['n']}/{len(values)})"
    return text


def table(rows: list[dict]) -> str:
    lines = [
        "| rule | FID | step FID < 2x final | rotation share (top-k) | "
        "max Im (LI) | diverged | time |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['rule']} | {_cell(r['fid'], '.1f')} | "
            f"{_cell(r['near_final_step'], '.0f')} | {_cell(r['rotation'], '.2f')} | "
            f"{_cell(r['max_imag_li'], '.3g')} | {sum(r['diverged'])}/"
            f"{len(r['diverged'])} | {r['seconds']:.0f} s |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        choices=("mlp", "dcgan"),
        default=None,
        help="default: dcgan on a GPU, else mlp",
    )
    parser.add_argument("--steps", type=int, default=50000, help="the budget")
    parser.add_argument("--seeds", type=int, default=3, help="seeds per rule (>= 3)")
    parser.add_argument(
        "--rules",
        nargs="+",
        default=list(RULES),
        choices=RULES,
        metavar="RULE",
        help="a subset of the rows",
    )
    parser.add_argument("--fid-samples", type=int, default=10000)
    parser.add_argument(
        "--fid-every", type=int, default=None, help="default: steps / 20"
    )
    parser.add_argument("--fid-log-samples", type=int, default=2000)
    parser.add_argument("--k", type=int, default=10, help="top-k eigenvalues")
    parser.add_argument("--chunk", type=int, default=100)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a Config field for every rule",
    )
    parser.add_argument(
        "--work",
        default="runs/bench_mnist_rules",
        help="run directories (a killed run resumes)",
    )
    parser.add_argument(
        "--name", default=None, help="results/mnist_rules_NAME.json (default: platform)"
    )
    parser.add_argument("--classifier", default=None, help="a classifier file")
    parser.add_argument(
        "--quick", action="store_true", help="tiny GAN, 3 seeds, 20 steps: a check"
    )
    parser.add_argument("--from-json", default=None, help="print a saved table")
    args = parser.parse_args()
    if args.from_json:
        with open(args.from_json) as f:
            saved = json.load(f)
        print(json.dumps(saved["machine"]), json.dumps(saved["settings"]), sep="\n")
        print(table(saved["rows"]))
        return

    import jax

    import gamedyn as gd
    from gamedyn.experiments import mnist as ex

    gpu = jax.devices()[0].platform != "cpu"
    model = args.model or ("dcgan" if gpu else "mlp")
    overrides = dict(s.split("=", 1) for s in args.set)
    overrides = {k: _value(v) for k, v in overrides.items()}
    if args.quick:
        args.steps, args.seeds, args.k = 20, 3, 2
        args.fid_samples, args.fid_log_samples, args.chunk = 200, 100, 10
        args.fid_every = 10
        args.work = args.work + "_quick"
        overrides = {**QUICK, **overrides}
    if args.seeds < 3 and not args.quick:
        print("note: the comparison asks for >= 3 seeds per rule")
    fid_every = args.fid_every or max(args.steps // 20, 1)
    args.fid_every = fid_every
    base = ex.Config(model=model, seeds=args.seeds, **overrides)
    ex.check(base)
    if args.quick and args.classifier is None:
        classifier = gd.models.train_classifier(train_size=4096, epochs=2)
    else:
        classifier = args.classifier  # None: the cached default (trained once)
    settings = {
        "config": ex.resolved(base)._asdict(),
        "steps": args.steps,
        "fid_samples": args.fid_samples,
        "fid_every": fid_every,
        "fid_log_samples": args.fid_log_samples,
        "k": args.k,
        "quick": args.quick,
    }
    info = machine()
    print(json.dumps(info))
    print(f"{model} GAN, {args.seeds} seeds per rule, {args.steps} steps")
    name = args.name or info["platform"]
    where = os.path.join(os.path.dirname(__file__), "results")
    if args.quick and args.name is None:  # a check of the script, not a result
        where, name = args.work, "quick"
    path = os.path.join(where, f"mnist_rules_{name}.json")
    rows = []
    for label in args.rules:
        rows.append(run_rule(label, base, args, classifier))
        r = rows[-1]
        print(
            f"  {label:20s} FID {_cell(r['fid'], '.1f'):18s} near-final step "
            f"{_cell(r['near_final_step'], '.0f'):14s} rotation "
            f"{_cell(r['rotation'], '.2f'):12s} ({r['seconds']:.0f} s)",
            flush=True,
        )
        # After every rule, so that a stopped benchmark leaves its finished rows.
        done = {"machine": info, "settings": settings, "rows": rows}
        done["complete"] = len(rows) == len(args.rules)
        with open(path, "w") as f:
            json.dump(done, f, indent=1)
    print()
    print(table(rows))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
