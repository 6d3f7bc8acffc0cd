"""Mode collapse on the ring of 8 and the grid of 25: Table 1 of PacGAN / VEEGAN.

Rows are loss x update rule x regularizer (the plain GAN baseline first), columns the
PacGAN metrics on 2500 samples per trained model -- modes captured, high-quality
samples (%), reverse KL of the mode distribution -- as mean +- std over the seeds, all
seeds of a row trained vmapped in one program. The published rows are printed beside.

    python benchmarks/bench_mog.py            # full: 10 seeds, 20000 steps, all rows
    python benchmarks/bench_mog.py --quick    # 3 seeds, 2000 steps, 3 rows
    python benchmarks/bench_mog.py --rows nsgan_r1 --json a.json   # some rows
    python benchmarks/bench_mog.py --from-json a.json b.json       # table of saved rows
    python benchmarks/bench_mog.py --dim 64   # the mixtures on a plane of R^64

Settings: ring radius 2, std 0.02 (PacGAN's ring is the same scaled by 1/2; the
metrics are in units of the std); grid {-4..4}^2, std 0.05. MLPs with 128 units
(generator 3 hidden layers, discriminator 2), latent dimension 16, unless a row says
otherwise.

A perfect sampler scores 1 - exp(-9/2) = 98.89% high-quality samples in 2-D (the
mass of a 2-D Gaussian within 3 std); a published row above that (VEEGAN's GAN on the
ring, one mode) has samples tighter than the data, so no faithful sampler beats it on
that column.
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np

from gamedyn.experiments.mog import Config, run

# PacGAN (Lin et al. 2018), Table 1: mean over 10 runs (their ring: radius 1, std
# 0.01, i.e. the same geometry in units of the std).
# VEEGAN (Srivastava et al. 2017), Table 1: modes and high-quality % (no reverse KL,
# printed as nan); same ring (radius 2, std 0.02) and grid (std 0.05).
PUBLISHED = {
    "ring": [
        ("PacGAN Table 1: GAN", 6.3, 98.2, 0.45),
        ("PacGAN Table 1: PacGAN2", 7.9, 95.6, 0.07),
        ("VEEGAN Table 1: GAN", 1.0, 99.3, math.nan),
        ("VEEGAN Table 1: ALI", 2.8, 0.13, math.nan),
        ("VEEGAN Table 1: Unrolled GAN", 7.6, 35.6, math.nan),
        ("VEEGAN Table 1: VEEGAN", 8.0, 52.9, math.nan),
    ],
    "grid": [
        ("PacGAN Table 1: GAN", 17.3, 94.8, 0.70),
        ("PacGAN Table 1: PacGAN4", 24.8, 93.6, 0.04),
        ("VEEGAN Table 1: GAN", 3.3, 0.5, math.nan),
        ("VEEGAN Table 1: ALI", 15.8, 1.6, math.nan),
        ("VEEGAN Table 1: Unrolled GAN", 23.6, 16.0, math.nan),
        ("VEEGAN Table 1: VEEGAN", 24.6, 40.0, math.nan),
    ],
}
NUM_MODES = {"ring": 8, "grid": 25}
PERFECT_HQ = 100 * (1 - math.exp(-4.5))
"""High-quality % of a perfect 2-D sampler at the 3-std threshold (98.89%)."""

BEST = dict(
    loss="non_saturating",
    rule="alternating",
    regularizer="r1",
    gamma=1.0,
    lr=4e-3,
    batch_size=128,
    latent_dim=16,
    schedule="cosine",
    ema_decay=0.0,
)

ROWS = {
    "gan": (
        "GAN (minimax, simultaneous, none)",
        dict(
            loss="standard",
            rule="simultaneous",
            regularizer="none",
            lr=1e-3,
            batch_size=128,
            latent_dim=16,
            schedule="cosine",
            ema_decay=0.0,
        ),
    ),
    "nsgan": ("NS-GAN (alternating, none)", dict(BEST, regularizer="none")),
    "nsgan_r1": ("NS-GAN (alternating, R1 1.0)", BEST),
    "nsgan_r1_sim": ("NS-GAN (simultaneous, R1 1.0)", dict(BEST, rule="simultaneous")),
    "nsgan_r1_eg": ("NS-GAN (extragradient, R1 1.0)", dict(BEST, rule="extragradient")),
    "hinge_r1": ("hinge (alternating, R1 1.0)", dict(BEST, loss="hinge")),
    "lsgan_r1": ("LSGAN (alternating, R1 1.0)", dict(BEST, loss="least_squares")),
    "wgan_gp": (
        "WGAN-GP (alternating, GP 20)",
        dict(BEST, loss="wgan", regularizer="gp", gamma=20.0),
    ),
    "nsgan_r1_ema": (
        "NS-GAN (alternating, R1 1.0, EMA .999)",
        dict(BEST, ema_decay=0.999),
    ),
    "nsgan_r1_big": (
        "NS-GAN (alternating, R1 1.0, G 4x256)",
        dict(BEST, hidden=256, g_layers=4, lr=3e-3),
    ),
    "nsgan_sn": (
        "NS-GAN (alternating, SN)",
        dict(BEST, regularizer="none", spectral_norm=True),
    ),
    "nsgan_r1_wide": (
        "NS-GAN (alternating, R1 1.0, G 4x400 D 3x400)",
        dict(BEST, hidden=400, g_layers=4, d_layers=3, lr=2e-3),
    ),
    "nsgan_r1_wide_ema": (
        "NS-GAN (alt., R1 1.0, G 4x400 D 3x400, EMA)",
        dict(BEST, hidden=400, g_layers=4, d_layers=3, lr=2e-3, ema_decay=0.999),
    ),
    "nsgan_r1_b512": (
        "NS-GAN (alternating, R1 1.0, batch 512)",
        dict(BEST, batch_size=512),
    ),
    "nsgan_r01": ("NS-GAN (alternating, R1 0.1)", dict(BEST, gamma=0.1)),
    "nsgan_r1_z4_ema": (
        "NS-GAN (alt., R1 1.0, latent 4, EMA)",
        dict(BEST, latent_dim=4, ema_decay=0.999),
    ),
    "nsgan_r1_z4_b512_ema": (
        "NS-GAN (alt., R1 1.0, latent 4, batch 512, EMA)",
        dict(BEST, latent_dim=4, batch_size=512, ema_decay=0.999),
    ),
    "nsgan_r01_z4_b512_ema": (
        "NS-GAN (alt., R1 0.1, latent 4, batch 512, EMA)",
        dict(BEST, gamma=0.1, latent_dim=4, batch_size=512, ema_decay=0.999),
    ),
}
QUICK_ROWS = ("gan", "nsgan", "nsgan_r1")


def fmt(values: np.ndarray, scale: float = 1.0, digits: int = 2) -> str:
    v = np.asarray(values, float) * scale
    return f"{v.mean():.{digits}f} +- {v.std():.{digits}f}"


def run_row(dataset: str, row: str, steps: int, seeds: int, dim: int = 2) -> dict:
    """Trains one row on every seed (vmapped) and returns its record."""
    label, overrides = ROWS[row]
    cfg = Config(dataset=dataset, dim=dim, **overrides)
    t0 = time.perf_counter()
    res = run(cfg, steps=steps, seeds=seeds, snapshots=1, num_plot=1)
    m = res.metrics
    return {
        "dataset": dataset,
        "dim": dim,
        "row": row,
        "label": label,
        "steps": steps,
        "seeds": seeds,
        "seconds": time.perf_counter() - t0,
        **{key: np.asarray(v).tolist() for key, v in m.items()},
    }


def print_header(dataset: str, dim: int) -> None:
    where = "" if dim == 2 else f", on a plane of R^{dim}"
    print(f"\n== {dataset} ({NUM_MODES[dataset]} modes{where}) ==")
    header = f"{'configuration':46s} {'modes':>14s} {'high quality %':>16s} "
    print(header + f"{'reverse KL':>16s} {'steps':>6s} {'time':>6s}")
    if dim == 2:
        for name, modes, hq, rkl in PUBLISHED[dataset]:
            print(f"{name:46s} {modes:14.1f} {hq:16.1f} {rkl:16.2f}")


def print_record(r: dict) -> None:
    print(
        f"{'gamedyn: ' + r['label']:46s} {fmt(r['modes'], digits=1):>14s} "
        f"{fmt(r['high_quality'], 100, 1):>16s} "
        f"{fmt(r['reverse_kl'], digits=3):>16s} {r['steps']:6d} {r['seconds']:5.0f}s",
        flush=True,
    )


def compare(dataset: str, records: list[dict]) -> None:
    """Which published rows the best gamedyn row beats on every reported metric."""
    best = max(
        records,
        key=lambda r: (
            np.mean(r["modes"]),
            np.mean(r["high_quality"]),
            -np.mean(r["reverse_kl"]),
        ),
    )
    modes, hq = np.mean(best["modes"]), 100 * np.mean(best["high_quality"])
    rkl, k = np.mean(best["reverse_kl"]), NUM_MODES[dataset]
    print(
        f"best gamedyn row on {dataset}: {best['label']} ({best['steps']} steps): "
        f"{modes:.1f} modes, {hq:.1f}% high quality (perfect sampler "
        f"{PERFECT_HQ:.2f}%), reverse KL {rkl:.3f}"
    )
    for name, p_modes, p_hq, p_rkl in PUBLISHED[dataset]:
        lost = []
        if not (modes > p_modes or modes == p_modes == k):
            lost.append("modes")
        if not hq > p_hq:
            lost.append(
                "high quality"
                + (" (above a perfect sampler's)" if p_hq > PERFECT_HQ else "")
            )
        if not (math.isnan(p_rkl) or rkl < p_rkl):
            lost.append("reverse KL")
        verdict = "beaten" if not lost else "not beaten on " + ", ".join(lost)
        print(f"  vs {name:38s} {verdict}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run")
    parser.add_argument("--dataset", choices=("ring", "grid", "both"), default="both")
    parser.add_argument("--dim", type=int, default=2, help="ambient dimension")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--rows", nargs="*", choices=sorted(ROWS), default=None)
    parser.add_argument("--json", default=None, help="also write the rows here")
    parser.add_argument(
        "--from-json", nargs="+", default=None, help="print the table of saved rows"
    )
    args = parser.parse_args(argv)
    if args.from_json:
        records = [r for f in args.from_json for r in json.load(open(f))]
        print(f"bench_mog: {len(records)} saved rows")
    else:
        steps = args.steps or (2000 if args.quick else 20000)
        seeds = args.seeds or (3 if args.quick else 10)
        rows = args.rows or (QUICK_ROWS if args.quick else tuple(ROWS))
        datasets = ("ring", "grid") if args.dataset == "both" else (args.dataset,)
        print(f"bench_mog: {steps} steps, {seeds} seeds (vmapped), 2500 samples each")
        records = []
    for dataset in ("ring", "grid"):
        for dim in sorted({r.get("dim", 2) for r in records} | {args.dim}):
            if args.from_json:
                mine = [
                    r
                    for r in records
                    if r["dataset"] == dataset and r.get("dim", 2) == dim
                ]
                if not mine:
                    continue
                print_header(dataset, dim)
                for r in mine:
                    print_record(r)
            else:
                if dataset not in datasets or dim != args.dim:
                    continue
                print_header(dataset, dim)
                mine = []
                for row in rows:
                    mine.append(run_row(dataset, row, steps, seeds, dim))
                    print_record(mine[-1])
                records += mine
            if dim == 2:
                compare(dataset, mine)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(records, f, indent=1)


if __name__ == "__main__":
    main()
