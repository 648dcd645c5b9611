"""Small training configs shared by the engine tests."""

from mnemoscope.training import TrainConfig


def tiny_config(**overrides) -> TrainConfig:
    """A run that takes about a second on 2 CPU cores: 256 images, convnet-tiny."""
    base = {
        "data": {"name": "fmnist-mini", "subset": list(range(256))},
        "model": {"name": "convnet-tiny", "projector_hidden": 64},
        "epochs": 2,
        "batch_size": 64,
        "seed": 0,
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return TrainConfig.model_validate(base)
