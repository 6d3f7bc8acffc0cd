"""`gamedyn reproduce`: the field's classic results, checked against the papers.

Each entry recomputes one paper's central figure(s) in the paper's layout, compares
the paper's published numbers and verdicts with ours, prints the claims table and
writes DIR/claims.json (a list of {"claim", "paper", "ours", "tolerance", "holds"}),
DIR/reproduction.json (the entry, the setting and the verdict) and DIR/*.png.
The exit status is 0 when every claim holds and 1 when one does not.

--list prints the entries. --quick runs the small setting the test suite uses
(seconds; the claims hold there too, at the tolerances each entry states).
The study code is gamedyn.experiments.reproduce.
"""

from __future__ import annotations

import os
import textwrap
import time

from gamedyn.cli import _common


def register(subparsers) -> None:
    """Adds `gamedyn reproduce`."""
    p = _common.add_parser(
        subparsers,
        "reproduce",
        "recompute a classic result and check it against the paper",
        __doc__,
    )
    p.add_argument("name", nargs="?", metavar="NAME", help="the entry (see --list)")
    p.add_argument("--list", action="store_true", help="list the entries and exit")
    p.add_argument(
        "--out", metavar="DIR", help="output directory (default: runs/reproduce/NAME)"
    )
    p.add_argument(
        "--quick", action="store_true", help="the small setting the tests run"
    )
    p.add_argument("--no-plots", action="store_true", help="write no figures")
    p.set_defaults(func=main)


def _show(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, list):
        inner = ", ".join(_show(v) for v in value[:6])
        return f"[{inner}{', ...' if len(value) > 6 else ''}]"
    return str(value)


def table(claims: list[dict]) -> str:
    """The claims as a plain-text table (one claim per block)."""
    lines = []
    for i, c in enumerate(claims, 1):
        mark = "holds" if c["holds"] else "FAILS"
        lines.append(
            f"{i:>2}. [{mark}] "
            + textwrap.fill(c["claim"], 76, subsequent_indent=" " * 12)
        )
        lines.append(f"{'':12}paper: {_show(c['paper'])}")
        lines.append(f"{'':12}ours:  {_show(c['ours'])}  (tolerance: {c['tolerance']})")
    return "\n".join(lines)


def main(args) -> int:
    from gamedyn.experiments import reproduce

    if args.list:
        for e in reproduce.entries():
            print(f"{e.name:<28} {e.title}")
            print(f"{'':<28} {e.paper}")
        return 0
    if args.name is None:
        raise _common.UsageError(
            "NAME: expected a gallery entry (see gamedyn reproduce --list)"
        )
    if args.name not in reproduce.names():
        raise _common.UsageError(
            f"NAME: unknown entry {args.name!r}; expected one of "
            f"{', '.join(reproduce.names())}"
        )
    out = _common.check_out(args.out or os.path.join("runs", "reproduce", args.name))
    from gamedyn import io

    with io.lock_directory(out, name="--out", command="gamedyn reproduce"):
        start = time.perf_counter()
        rep = reproduce.run(args.name, quick=args.quick)
        seconds = time.perf_counter() - start
        claims = [c.as_dict() for c in rep.claims]
        io.write_json(os.path.join(out, "claims.json"), claims)
        e = reproduce.entry(args.name)
        io.write_json(
            os.path.join(out, "reproduction.json"),
            {
                "entry": e._asdict(),
                "quick": args.quick,
                "holds": rep.holds,
                "claims": len(claims),
                "seconds": round(seconds, 2),
            },
        )
        written = ["claims.json", "reproduction.json"]
        if not args.no_plots:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            from gamedyn.plotting import gallery

            for stem, fig in gallery.figures(rep).items():
                fig.savefig(os.path.join(out, f"{stem}.png"), dpi=110)
                plt.close(fig)
                written.append(f"{stem}.png")
    print(f"{e.name}: {e.title}")
    print(f"{e.paper}")
    print(table(claims))
    held = sum(c["holds"] for c in claims)
    print(
        f"{held}/{len(claims)} claims hold ({'quick' if args.quick else 'full'} "
        f"setting, {seconds:.1f} s); wrote {', '.join(written)} to {out}"
    )
    return 0 if rep.holds else 1
