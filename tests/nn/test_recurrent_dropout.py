"""Recurrent dropout (``recurrent_dropout=p``): one mask per sequence, layer and direction for all
steps, on the input of the recurrent product only; gradient-checked with the mask held fixed and
compared with a PyTorch loop that applies the same masks."""

import numpy as np
import pytest

from rnnlab.errors import ConfigError
from rnnlab.gradcheck import check_layer

from conftest import CELLS, hold_masks, random_state
from torch_utils import assert_matches_torch_loop

# every test here runs with each kernel set (conftest.kernel_set)
pytestmark = pytest.mark.usefixtures("kernel_set")

F64 = np.float64


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("ragged", [False, True])
def test_gradients_with_a_fixed_mask(rng, cell, num_layers, bidirectional, ragged):
    N, T, D, H = 3, 5, 2, 4
    layer = CELLS[cell](D, H, num_layers, bidirectional=bidirectional, recurrent_dropout=0.4,
                        dropout=0.3 if num_layers > 1 else 0.0, dtype=F64, rng=rng)
    hold_masks(layer)
    x = rng.standard_normal((N, T, D))
    lengths = np.array([5, 2, 4]) if ragged else None
    report = check_layer(layer, x, random_state(layer, N, rng), lengths=lengths, rng=rng)
    masks = layer.recurrent_masks
    assert len(masks) == num_layers * layer.num_directions and masks[0].shape == (N, layer.output_size)
    assert any((m == 0).any() for m in masks), "the test should drop some units"
    assert report.max_error < 1e-6, str(report)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", CELLS)
def test_matches_a_pytorch_loop_with_the_same_masks(rng, cell, bidirectional, dtype):
    N, T, D, H, L = 4, 6, 3, 4, 2
    layer = CELLS[cell](D, H, L, bidirectional=bidirectional, recurrent_dropout=0.5, dtype=dtype, rng=rng)
    assert_matches_torch_loop(layer, rng.standard_normal((N, T, D)).astype(dtype), [6, 3, 1, 5], rng)


@pytest.mark.parametrize("cell", CELLS)
def test_masks_only_in_training_and_drawn_per_sequence(rng, cell):
    plain = CELLS[cell](3, 6, 2, rng=0)
    layer = CELLS[cell](3, 6, 2, recurrent_dropout=0.25, rng=0)
    x = rng.standard_normal((200, 4, 3)).astype(np.float32)
    layer.eval()
    np.testing.assert_array_equal(layer.forward(x)[0], plain.forward(x)[0])  # evaluation: no mask, no scaling
    assert layer.recurrent_masks == ()
    layer.train()
    dropped, _ = layer.forward(x)
    masks = layer.recurrent_masks
    assert len(masks) == 2 and all(m.shape == (200, plain.output_size) for m in masks)
    assert set(np.unique(np.concatenate(masks))) == {0.0, np.float32(1 / 0.75)}
    assert abs(float(np.mean(np.concatenate(masks) == 0)) - 0.25) < 0.05
    assert not np.allclose(dropped, plain.forward(x)[0])
    assert "recurrent_dropout=0.25" in repr(layer) and "recurrent dropout 0.25" in layer.summary()


def test_the_option_is_checked():
    with pytest.raises(ConfigError, match="recurrent_dropout"):
        CELLS["gru"](2, 3, recurrent_dropout=1.0)
    with pytest.raises(ConfigError, match="recurrent_dropout"):
        CELLS["lstm"](2, 3, recurrent_dropout=-0.1)
