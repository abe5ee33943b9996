"""TrainConfig: every field checked."""

import pytest

from rnnlab import ConfigError, TrainConfig


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("epochs", 0, "epochs"), ("batch_size", 2.5, "batch_size"), ("lr", float("nan"), "lr"),
     ("optimizer", "lbfgs", "optimizer"), ("clip_norm", -1.0, "clip_norm"), ("momentum", 1.0, "momentum"),
     ("seed", -3, "seed"), ("log_every", -1, "log_every")],
)
def test_train_config_checks_every_field(field, value, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig(**{field: value})


def test_train_config_from_dict():
    cfg = TrainConfig.from_dict({"epochs": 3, "lr": 0.1})
    assert cfg.epochs == 3 and cfg.to_dict()["lr"] == 0.1
    with pytest.raises(ConfigError, match=r"unknown training option.*epoch\b"):
        TrainConfig.from_dict({"epoch": 3})


@pytest.mark.parametrize("schedule", ["cosine", "plateau"])
def test_a_floor_above_the_start_is_refused(schedule):
    with pytest.raises(ConfigError, match=r"min_lr \(0.1\) should not exceed lr \(0.01\)"):
        TrainConfig(lr=0.01, min_lr=0.1, schedule=schedule)
    TrainConfig(lr=0.01, min_lr=0.1, schedule="constant")  # no floor to reach: nothing rises
