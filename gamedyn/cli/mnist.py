"""``gamedyn mnist``: the command line of :mod:`gamedyn.experiments.mnist`."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from gamedyn.experiments.mnist import *  # noqa: F403 (being split)


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "mnist",
        help="train an MNIST GAN with checkpoints; FID, samples, spectra",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--steps", type=int, required=True, help="total training steps")
    p.add_argument("--out", required=True, help="output and checkpoint directory")
    p.add_argument("--model", default="mlp", choices=MODELS)
    p.add_argument("--conditional", action="store_true", help="class-conditional GAN")
    p.add_argument("--loss", default="non_saturating", help=f"one of {loss_names()}")
    p.add_argument("--regularizer", default="none", choices=REGULARIZERS)
    p.add_argument("--gamma", type=float, default=10.0, help="regularizer weight")
    p.add_argument("--rule", default="simultaneous", choices=RULES, help="update rule")
    p.add_argument(
        "--rule-param",
        type=float,
        default=None,
        help="consensus gamma (0.1), SGA lambda (1), lookahead alpha (0.5), "
        "unrolled steps (5)",
    )
    p.add_argument("--optimizer", default="adam", choices=OPTIMIZERS)
    p.add_argument("--lr", type=float, default=2e-4, help="both players' rate")
    p.add_argument("--lr-g", type=float, default=None, help="generator's rate")
    p.add_argument("--lr-d", type=float, default=None, help="discriminator's rate")
    p.add_argument("--beta1", type=float, default=0.5)
    p.add_argument("--beta2", type=float, default=0.999)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--latent-dim", type=int, default=64)
    p.add_argument("--width", type=int, default=None, help="MLP 256, DCGAN 64")
    p.add_argument("--instance-noise", type=float, default=0.0)
    p.add_argument(
        "--generator-penalty",
        type=float,
        default=0.0,
        help="Nagarajan-Kolter gradient-norm penalty weight on the generator",
    )
    p.add_argument("--train-size", type=int, default=None, help="use N train images")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--chunk", type=int, default=100, help="steps per compiled scan")
    p.add_argument(
        "--unroll",
        action="store_true",
        help="unroll each chunk (faster DCGAN on CPU; use a small --chunk)",
    )
    p.add_argument("--checkpoint-every", type=int, default=1000)
    p.add_argument("--keep", type=int, default=5, help="checkpoints kept (0: all)")
    p.add_argument("--log-every", type=int, default=None, help="default --chunk")
    p.add_argument("--fid-samples", type=int, default=10000, help="0 skips the FID")
    p.add_argument(
        "--fid-every", type=int, default=0, help="also log an FID every N steps"
    )
    p.add_argument(
        "--fid-log-samples", type=int, default=2000, help="samples of logged FIDs"
    )
    p.add_argument("--classifier", default=None, help="classifier file for the FID")
    p.add_argument("--spectrum", type=int, default=0, metavar="K", help="top-K spectra")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args) -> int:
    cfg = _config_from_args(args)
    check(cfg)
    for name in ("steps", "fid_samples", "fid_every", "spectrum", "keep"):
        if getattr(args, name) < 0:
            raise ValueError(f"--{name.replace('_', '-')}: expected an integer >= 0")
    for name in ("chunk", "checkpoint_every", "fid_log_samples"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name.replace('_', '-')}: expected a positive integer")
    if args.log_every is not None and args.log_every < 1:
        raise ValueError("--log-every: expected a positive integer")
    if 0 < args.fid_samples < 2 or (args.fid_every and args.fid_log_samples < 2):
        raise ValueError("--fid-samples: expected 0 or at least 2 samples")
    out = args.out
    if os.path.exists(out) and not os.path.isdir(out):
        raise ValueError(f"--out: {out} exists and is not a directory")
    _check_resume(out, cfg)
    progress = not args.no_progress

    gan, dyn = build(cfg)
    like = start_state(gan, dyn, cfg.seed)
    state = like
    ckpts = trainer.list_checkpoints(out)
    usable = [(s, p) for s, p in ckpts if s <= args.steps]
    if ckpts and not usable:
        raise ValueError(
            f"--steps: {out} already holds checkpoints after step {args.steps} (from "
            f"{ckpts[0][0]}); give --steps >= {ckpts[0][0]} or another --out"
        )
    if usable:
        state = trainer.load_checkpoint(usable[-1][1], like)
        if progress:
            print(f"resuming from {usable[-1][1]} (step {usable[-1][0]})")
    os.makedirs(out, exist_ok=True)
    trainer.atomic_write(
        os.path.join(out, "config.json"), json.dumps(cfg._asdict(), indent=2)
    )

    classifier = None
    if args.fid_samples or args.fid_every:
        from gamedyn.metrics.classifier import load_classifier

        classifier = load_classifier(args.classifier, progress=progress)

    callback = None
    log_every = args.log_every or args.chunk
    if args.fid_every:
        log_every = math.gcd(log_every, args.fid_every)
        from gamedyn.metrics.classifier import mnist_fid

        def callback(st):
            if int(st.step) % args.fid_every:
                return None
            k = keys(cfg.seed)[3]
            imgs = sample_images(
                gan, st.params, st.model_state, k, args.fid_log_samples
            )
            return {"fid": mnist_fid(imgs, classifier)}

    _, _, k_eval, k_samples = keys(cfg.seed)
    t0 = time.perf_counter()
    try:
        state = trainer.train(
            dyn,
            state,
            args.steps,
            game=gan.game,
            update_state=gan.update_state,
            eval_key=k_eval,
            chunk=args.chunk,
            unroll=True if args.unroll else 1,
            out_dir=out,
            checkpoint_every=args.checkpoint_every,
            keep=args.keep or None,
            log_every=log_every,
            callback=callback,
            progress=progress,
        )
    except KeyboardInterrupt:
        print("interrupted; run the same command again to resume", file=sys.stderr)
        return 130
    seconds = time.perf_counter() - t0

    metrics = evaluate(gan, state, cfg.seed, args.fid_samples, classifier)
    metrics["train_seconds"] = round(seconds, 3)
    if classifier is not None:
        metrics["classifier_test_accuracy"] = classifier.test_accuracy
    metrics["config"] = cfg._asdict()
    labels = "" if not cfg.conditional else " (rows: digits 0-9)"
    images = sample_images(gan, state.params, state.model_state, k_samples, 100)
    if cfg.conditional:  # rows by class
        images = images.reshape(10, 10, 28, 28, 1).transpose(1, 0, 2, 3, 4)
        images = images.reshape(100, 28, 28, 1)
    save_samples(
        os.path.join(out, "samples.png"),
        images,
        10,
        f"{cfg.model} GAN, {cfg.rule}, step {int(state.step)}{labels}",
    )
    if args.spectrum:
        recs = spectra(gan, out, args.spectrum, cfg.seed, like, progress)
        trainer.atomic_write(
            os.path.join(out, "spectrum.json"), json.dumps(recs, indent=1)
        )
        import matplotlib.pyplot as plt

        from gamedyn.plotting.mnist import plot_spectra

        fig = plot_spectra(recs)
        fig.savefig(os.path.join(out, "spectrum.png"), dpi=100, bbox_inches="tight")
        plt.close(fig)
        metrics["spectrum_steps"] = [r["step"] for r in recs]
    trainer.atomic_write(
        os.path.join(out, "metrics.json"), json.dumps(metrics, indent=2)
    )
    summary = {k: metrics[k] for k in ("step", "loss_g", "loss_d") if k in metrics}
    if "fid" in metrics:
        summary["fid"] = round(metrics["fid"], 3)
    print(json.dumps(summary))
    return 0
