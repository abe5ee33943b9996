"""The classify task's stratified split."""

import numpy as np

from rnnlab.tasks.classify import stratified_split


def test_stratified_split_keeps_every_class():
    labels = np.repeat(np.arange(3), [10, 20, 2])
    tr, va = stratified_split(labels, 0.2, np.random.default_rng(0))
    assert np.bincount(labels[va]).tolist() == [2, 4, 1]
    assert sorted([*tr, *va]) == list(range(32))
