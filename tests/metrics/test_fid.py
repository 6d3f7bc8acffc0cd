"""The Fréchet distance: closed forms and the inputs it refuses."""

import numpy as np
import pytest

from gamedyn.metrics import frechet_distance


def test_closed_forms():
    """Equal Gaussians: 0; shifted means: the squared shift; commuting
    covariances: sum (sqrt a - sqrt b)^2."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 4))
    cov = np.cov(x, rowvar=False)
    assert frechet_distance(np.zeros(4), cov, np.zeros(4), cov) == pytest.approx(
        0.0, abs=1e-8
    )
    shift = np.array([1.0, 2.0, 0.0, 0.0])
    assert frechet_distance(np.zeros(4), cov, shift, cov) == pytest.approx(5.0)
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 4.0, 1.0])
    expected = np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    got = frechet_distance(np.zeros(3), np.diag(a), np.zeros(3), np.diag(b))
    assert got == pytest.approx(expected)
    # a singular (rank-deficient) covariance is a valid one
    singular = np.diag([1.0, 0.0])
    assert frechet_distance(np.zeros(2), singular, np.zeros(2), singular) < 1e-5


@pytest.mark.parametrize(
    "sigma1,message",
    [
        (-np.eye(2), "sigma1: expected a positive semi-definite covariance"),
        (np.array([[1.0, 2.0], [2.0, 1.0]]), "smallest eigenvalue is -1"),
        (np.array([[1.0, 1.0], [0.0, 1.0]]), "sigma1: expected a symmetric"),
        (np.full((2, 2), np.nan), "sigma1: expected finite entries"),
        (np.eye(3), r"sigma1: expected shape \(2, 2\)"),
    ],
)
def test_bad_covariances_are_refused(sigma1, message):
    """A non-PSD covariance used to give 0.0; now it is an error naming it."""
    with pytest.raises(ValueError, match=message):
        frechet_distance(np.zeros(2), sigma1, np.zeros(2), np.eye(2))


def test_bad_means_are_refused():
    with pytest.raises(ValueError, match="mu2: expected finite entries"):
        frechet_distance(np.zeros(2), np.eye(2), [0.0, np.inf], np.eye(2))
    with pytest.raises(ValueError, match=r"mu2: expected shape \(2,\)"):
        frechet_distance(np.zeros(2), np.eye(2), np.zeros(3), np.eye(2))
