"""gamedyn.models.dcgan.Conv4x4: flax's Conv / ConvTranspose (4x4, stride 2, SAME) as
matrix products, with their parameters, initialisation, values and gradients."""

import flax.linen as nn
import jax
import numpy as np
import pytest

from gamedyn.models import DCGANDiscriminator, DCGANGenerator
from gamedyn.models.dcgan import Conv4x4


@pytest.mark.parametrize(
    "transpose,c_in,c_out,size",
    [
        (True, 16, 8, 7),
        pytest.param(True, 3, 1, 14, marks=pytest.mark.slow),
        (False, 1, 8, 28),
        pytest.param(False, 3, 2, 6, marks=pytest.mark.slow),
    ],
)
def test_conv4x4_is_flax_conv(transpose, c_in, c_out, size):
    x = jax.random.normal(jax.random.key(1), (2, size, size, c_in))
    flax_layer = (nn.ConvTranspose if transpose else nn.Conv)(
        c_out, (4, 4), strides=(2, 2), padding="SAME"
    )
    ours = Conv4x4(c_out, transpose=transpose)
    params = jax.jit(flax_layer.init)(jax.random.key(0), x)
    mine = jax.jit(ours.init)(jax.random.key(0), x)
    jax.tree.map(np.testing.assert_array_equal, mine, params)  # same init
    params = jax.tree.map(lambda p: p + 0.1, params)  # a nonzero bias

    @jax.jit
    def values_and_grads(p):
        def loss(p, apply):
            return (apply(p, x) ** 2).sum()

        return (
            (flax_layer.apply(p, x), jax.grad(loss)(p, flax_layer.apply)),
            (ours.apply(p, x), jax.grad(loss)(p, ours.apply)),
        )

    want, got = values_and_grads(params)
    assert got[0].shape == want[0].shape
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4), got, want
    )


def test_dcgan_players_keep_their_parameter_names():
    """The layers keep flax's names (Conv_0, ConvTranspose_0, ...) and shapes:
    checkpoints of runs made with nn.Conv / nn.ConvTranspose load."""
    z = jax.ShapeDtypeStruct((2, 8), np.float32)
    x = jax.ShapeDtypeStruct((2, 28, 28, 1), np.float32)
    key = jax.random.key(0)
    g = jax.eval_shape(DCGANGenerator(8).init, key, z)["params"]
    d = jax.eval_shape(DCGANDiscriminator(8).init, key, x)["params"]
    assert {"ConvTranspose_0", "ConvTranspose_1"} <= set(g)
    assert {"Conv_0", "Conv_1", "Dense_0"} == set(d)
    assert g["ConvTranspose_0"]["kernel"].shape == (4, 4, 16, 8)
    assert g["ConvTranspose_1"]["bias"].shape == (1,)
    assert d["Conv_1"]["kernel"].shape == (4, 4, 8, 16)


def test_odd_sizes_are_refused():
    x = jax.ShapeDtypeStruct((1, 7, 7, 1), np.float32)
    with pytest.raises(ValueError, match="x: expected even height and width"):
        jax.eval_shape(Conv4x4(2).init, jax.random.key(0), x)
