"""gamedyn.sweep on 4 (forced) CPU devices: sharding, padding, equality with a loop.

XLA_FLAGS must be set before JAX starts, so the checks run in a subprocess.
"""

import json
import os
import subprocess
import sys
import textwrap

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


def test_sweep_on_four_devices(tmp_path):
    env = dict(os.environ)
    env["XLA_FLAGS"] = (
        env.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4"
    ).strip()
    env["JAX_PLATFORMS"] = "cpu"
    script = tmp_path / "four.py"
    script.write_text(SCRIPT)
    proc = subprocess.run(
        [sys.executable, str(script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads(proc.stdout.strip().splitlines()[-1])
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
