"""nn.Dropout1d/2d/3d: whole channels zeroed in training (one draw per sample and channel, the
survivors scaled by 1 / (1 - p)), nothing in evaluation; checked on the translated layer."""

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("flax")

from flax import nnx  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from layer_check import TEMPLATE, check, data  # noqa: E402
from numeric import translate  # noqa: E402


@pytest.mark.parametrize("dims", [1, 2, 3])
def test_channel_dropout(dims):
    shape = (64, 32) + (3, 4, 5)[:dims]
    check(f"nn.Dropout{dims}d(0.3)", data(shape), train=False)  # evaluation: the identity, as torch
    _, jmod, diags = translate(TEMPLATE.format(layer=f"nn.Dropout{dims}d(0.3)", forward="self.layer(x)"))
    assert not diags
    model = jmod.M(rngs=nnx.Rngs(0))
    model.train()
    x = np.ones(shape, np.float32)
    y = np.asarray(model(jnp.asarray(x)))
    per_channel = y.reshape(64, 32, -1)
    kept = per_channel[:, :, 0] != 0
    # each (sample, channel) is zeroed or kept whole, survivors scaled as torch scales them
    np.testing.assert_array_equal(per_channel, np.where(kept[..., None], 1 / 0.7, 0.0).astype(np.float32)
                                  * np.ones_like(per_channel))
    assert abs(1 - kept.mean() - 0.3) < 0.05  # 2,048 draws
