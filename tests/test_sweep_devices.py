"""gamedyn.sweep on 4 (forced) CPU devices: sharding, padding, equality with a loop.

XLA_FLAGS must be set before JAX starts, so the checks run in a subprocess.
"""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np

SCRIPT = textwrap.dedent(
    """
    import itertools, json
    import jax, jax.numpy as jnp, numpy as np
    import sys
    import gamedyn as gd
    mod = sys.modules["gamedyn.sweeps"]
    from gamedyn.experiments.dirac_sweep import dirac_run

    traces = []

    def fn(lr, gamma):
        traces.append(1)
        out = dirac_run("optimistic", num_steps=40, every=4)(lr, gamma)
        point = jnp.stack([lr, gamma])
        return {"rate": out["rate"], "distance": out["distance"], "point": point}

    # 5 x 3 = 15 configurations: not a multiple of 4 devices.
    grid = {"lr": np.linspace(0.1, 1.0, 5), "gamma": np.linspace(0.0, 1.0, 3)}
    jitted = jax.jit(fn)
    loop = [jitted(lr, g) for lr, g in itertools.product(grid["lr"], grid["gamma"])]
    loop = jax.tree.map(lambda *x: np.stack(x).reshape(5, 3, *x[0].shape), *loop)
    n_loop = len(traces)

    four = gd.sweep(fn, grid)
    again = gd.sweep(fn, {"lr": grid["lr"] * 0.5, "gamma": grid["gamma"]})
    n_four = len(traces) - n_loop
    chunked = gd.sweep(fn, grid, chunk_size=6)  # 2 per device, 2 chunks
    one = gd.sweep(fn, grid, devices=jax.devices()[:1])
    two = gd.sweep(fn, grid, devices=jax.devices()[2:])

    program, mesh = mod._program(fn, ("lr", "gamma"), (5, 3), 4, tuple(jax.devices()))
    out = program(jnp.int32(0), jnp.asarray(grid["lr"]), jnp.asarray(grid["gamma"]))
    leaf = out["rate"]

    def err(a, b):
        return max(float(np.max(np.abs(np.asarray(x) - np.asarray(y))))
                   for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))

    print(json.dumps({
        "devices": len(jax.devices()),
        "shape": list(four["rate"].shape),
        "point_exact": bool(np.array_equal(four["point"], loop["point"])),
        "err_loop": err(four, loop),
        "err_chunked": err(chunked, four),
        "err_one": err(one, four),
        "err_two": err(two, four),
        "again_differs": bool(not np.allclose(again["point"], four["point"])),
        "traces_four_and_again": n_four,
        "out_devices": len(leaf.sharding.device_set),
        "out_shape": list(leaf.shape),
        "spec": str(leaf.sharding.spec),
    }))
    """
)


RATE_SCRIPT = textwrap.dedent(
    """
    import itertools, json
    import jax
    jax.config.update("jax_enable_x64", True)
    import numpy as np, optax
    import gamedyn as gd
    from gamedyn import outcomes
    from gamedyn.experiments.dirac_sweep import dirac_run

    # The configuration of the GPU failure of issue #13 (rate exactly 1.0 under
    # shard_map + vmap), on 4 devices: 6 configurations, padded to 8.
    fn = dirac_run("extragradient", num_steps=60, every=6, start=(1.0, 1.0))

    def records(lr, gamma):
        game = gd.games.dirac_gan(
            regularizer=gd.regularizers.r1(gamma), start=(1.0, 1.0)
        )
        dyn = gd.dynamics.extragradient(game, optax.sgd(lr))
        traj = gd.simulate(dyn, game.init(None), 60, every=6,
                           metrics=("distance",), equilibrium=(0.0, 0.0))
        return traj.metrics["distance"]

    grid = {"lr": np.array([0.05, 0.3, 0.9]), "gamma": np.array([0.0, 0.7])}
    out = gd.sweep(fn, grid)
    recs = gd.sweep(records, grid)
    jitted = jax.jit(fn)
    loop = [jitted(a, b) for a, b in itertools.product(grid["lr"], grid["gamma"])]
    loop_rate = np.array([float(x["rate"]) for x in loop]).reshape(3, 2)
    loop_dist = np.array([float(x["distance"]) for x in loop]).reshape(3, 2)
    outside = np.asarray(outcomes.rate(recs, tail=0.5, every=6))
    print(json.dumps({
        "devices": len(jax.devices()),
        "dtype": str(out["rate"].dtype),
        "rate": out["rate"].tolist(),
        "loop_rate": loop_rate.tolist(),
        "outside_rate": outside.tolist(),
        "err_distance": float(np.max(np.abs(out["distance"] - loop_dist))),
    }))
    """
)


def _run_on_four_devices(tmp_path, source: str) -> dict:
    env = dict(os.environ)
    env["XLA_FLAGS"] = (
        env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4"
    ).strip()
    env["JAX_PLATFORMS"] = "cpu"
    script = tmp_path / "four.py"
    script.write_text(source)
    proc = subprocess.run(
        [sys.executable, str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_rate_on_four_devices_in_float64(tmp_path):
    res = _run_on_four_devices(tmp_path, RATE_SCRIPT)
    assert res["devices"] == 4 and res["dtype"] == "float64"
    rate = np.asarray(res["rate"])
    assert np.all(rate != 1.0) and np.all(rate < 0.9999)
    np.testing.assert_allclose(rate, res["loop_rate"], rtol=1e-12)
    np.testing.assert_allclose(rate, res["outside_rate"], rtol=1e-12)
    assert res["err_distance"] < 1e-12


def test_sweep_on_four_devices(tmp_path):
    res = _run_on_four_devices(tmp_path, SCRIPT)
    assert res["devices"] == 4
    assert res["shape"] == [5, 3]
    assert res["point_exact"]  # every cell holds its own configuration
    assert res["err_loop"] < 1e-5
    assert res["err_chunked"] < 1e-6
    assert res["err_one"] < 1e-6
    assert res["err_two"] < 1e-6
    assert res["again_differs"]
    assert res["traces_four_and_again"] == 1  # the second call reuses the program
    # One chunk of 16 (15 padded to a multiple of 4), 4 per device.
    assert res["out_devices"] == 4
    assert res["out_shape"] == [16]
    assert "configs" in res["spec"]
