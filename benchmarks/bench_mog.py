"""Mode collapse on the ring of 8 and the grid of 25: Table 1 of PacGAN / VEEGAN.

Rows are loss x update rule x regularizer (the plain GAN baseline first), columns the
PacGAN metrics on 2500 samples per trained model -- modes captured, high-quality
samples (%), reverse KL of the mode distribution -- as mean +- std over the seeds, all
seeds of a row trained vmapped in one program. The published rows are printed beside.

    python benchmarks/bench_mog.py            # full: 10 seeds, 20000 steps, all rows
    python benchmarks/bench_mog.py --quick    # 3 seeds, 2000 steps, 3 rows

Settings: ring radius 2, std 0.02 (PacGAN's ring is the same scaled by 1/2; the
metrics are in units of the std); grid {-4..4}^2, std 0.05. MLPs with 128 units
(generator 3 hidden layers, discriminator 2), latent dimension 16.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from gamedyn.cli.mog import Config, train

# PacGAN (Lin et al. 2018), Table 1: mean over 10 runs (their ring: radius 1, std
# 0.01, i.e. the same geometry in units of the std).
PUBLISHED = {
    "ring": [
        ("PacGAN Table 1: GAN", 6.3, 98.2, 0.45),
        ("PacGAN Table 1: PacGAN2", 7.9, 95.6, 0.07),
    ],
    "grid": [
        ("PacGAN Table 1: GAN", 17.3, 94.8, 0.70),
        ("PacGAN Table 1: PacGAN4", 24.8, 93.6, 0.04),
    ],
}
# VEEGAN (Srivastava et al. 2017) Table 1 could not be retrieved from the reference
# sources available here (the table is an image in the authors' repository), so its
# rows are not printed rather than quoted from memory.

BEST = dict(
    loss="non_saturating",
    rule="alternating",
    regularizer="r1",
    gamma=1.0,
    lr=4e-3,
    batch_size=128,
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
    "nsgan_sn": ("NS-GAN (alternating, SN)", dict(BEST, regularizer="sn")),
}
QUICK_ROWS = ("gan", "nsgan", "nsgan_r1")


def fmt(values: np.ndarray, scale: float = 1.0, digits: int = 2) -> str:
    v = np.asarray(values, float) * scale
    return f"{v.mean():.{digits}f} +- {v.std():.{digits}f}"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small run")
    parser.add_argument("--dataset", choices=("ring", "grid", "both"), default="both")
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--rows", nargs="*", choices=sorted(ROWS), default=None)
    parser.add_argument("--json", default=None, help="also write the rows here")
    args = parser.parse_args(argv)
    steps = args.steps or (2000 if args.quick else 20000)
    seeds = args.seeds or (3 if args.quick else 10)
    rows = args.rows or (QUICK_ROWS if args.quick else tuple(ROWS))
    datasets = ("ring", "grid") if args.dataset == "both" else (args.dataset,)
    print(f"bench_mog: {steps} steps, {seeds} seeds (vmapped), 2500 samples per model")
    records = []
    for dataset in datasets:
        k = 8 if dataset == "ring" else 25
        print(f"\n== {dataset} ({k} modes) ==")
        header = f"{'configuration':42s} {'modes':>14s} {'high quality %':>16s} "
        print(header + f"{'reverse KL':>16s} {'time':>7s}")
        for name, modes, hq, rkl in PUBLISHED[dataset]:
            print(f"{name:42s} {modes:14.1f} {hq:16.1f} {rkl:16.2f} {'':>7s}")
        for row in rows:
            label, overrides = ROWS[row]
            cfg = Config(dataset=dataset, **overrides)
            t0 = time.perf_counter()
            res = train(
                cfg, steps=steps, seeds=seeds, snapshots=1, num_plot=1, progress=False
            )
            dt = time.perf_counter() - t0
            m = res.metrics
            print(
                f"{'gamedyn: ' + label:42s} {fmt(m['modes'], digits=1):>14s} "
                f"{fmt(m['high_quality'], 100, 1):>16s} "
                f"{fmt(m['reverse_kl'], digits=3):>16s} {dt:6.0f}s",
                flush=True,
            )
            records.append(
                {
                    "dataset": dataset,
                    "row": row,
                    "label": label,
                    "steps": steps,
                    "seeds": seeds,
                    "seconds": dt,
                    **{key: np.asarray(v).tolist() for key, v in m.items()},
                }
            )
        best = max(
            (r for r in records if r["dataset"] == dataset),
            key=lambda r: (np.mean(r["modes"]), -np.mean(r["reverse_kl"])),
        )
        beats = all(
            np.mean(best["modes"]) > p[1]
            and 100 * np.mean(best["high_quality"]) > p[2]
            and np.mean(best["reverse_kl"]) < p[3]
            for p in PUBLISHED[dataset]
        )
        print(
            f"best gamedyn row on {dataset}: {best['label']}; beats every published "
            f"row on all three metrics: {beats}"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(records, f, indent=1)


if __name__ == "__main__":
    main()
