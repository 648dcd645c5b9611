"""Tiny configs of every study, shared by the tests of the studies, the run directories and
the demo: seconds of training each on 2 CPU cores."""

from collections.abc import Callable
from pathlib import Path

import pytest

from mnemoscope import studies
from mnemoscope.config_file import packaged_config
from mnemoscope.studies.benign import Config as BenignConfig
from mnemoscope.studies.profiles import Config as ProfilesConfig

SEEDS, EPOCHS, TRACKED, VIEWS = 2, 2, 32, 2


def tiny_profiles(**overrides) -> ProfilesConfig:
    """Three paradigms x two seeds x two epochs on 128 images: seconds on 2 CPU cores."""
    raw = {
        "study": "profiles",
        "seeds": list(range(SEEDS)),
        "data": {"name": "fmnist-mini", "train_size": 128},
        "tracking": {"size": TRACKED, "augmentations": VIEWS, "eval_batch_size": 16},
        "train": {
            "model": {"name": "convnet-tiny", "projector_hidden": 32, "output_dim": 16},
            "optim": {"name": "adam", "lr": 2e-3},
            "batch_size": 32,
            "epochs": EPOCHS,
        },
        "paradigms": [
            {
                "name": "supervised",
                "train": {"objective": {"name": "supervised"}},
                "measure_every": 0.5,
            },
            {
                "name": "simclr",
                "train": {
                    "objective": {"name": "simclr", "temperature": 0.2},
                    "augment": {"name": "simclr", "params": {"crop_scale": [0.3, 1.0]}},
                },
            },
            {
                "name": "random_labels",
                "train": {
                    "objective": {"name": "random_labels", "label_seed": 3},
                    "augment": {"name": "none"},
                },
            },
        ],  # fmt: skip
        "figures": {
            "tsne_images": 40,
            "tsne_iterations": 250,
            "activation_steps": 2,
            "activation_channels": 2,
        },  # fmt: skip
    }
    raw.update(overrides)
    return ProfilesConfig.model_validate(raw)


def tiny_benign(**overrides) -> BenignConfig:
    """A study that trains a dozen convnet-tiny networks on 60 images for one epoch."""
    raw = {
        "study": "benign",
        "data": {"name": "fmnist-mini", "train_size": 60, "test_size": 100},
        "train": {
            "model": {"name": "convnet-tiny", "projector_hidden": 16, "projector_norm": "none"},
            "optim": {"name": "adam", "lr": 1e-3, "schedule": "none"},
            "augment": {"name": "benign", "params": {"crop_scale": [0.5, 1.0]}},
            "epochs": 1,
            "batch_size": 30,
        },
        "probe": {"k": 5},
        "invariance": {"images": 8, "views": 2},
        "toy": {
            "samples": [4],
            "augmentations": [1, 2],
            "steps": 5,
            "repetitions": 1,
            "probe_points": 40,
            "test_points": 30,
        },
    }
    for key, value in overrides.items():
        raw[key] = {**raw[key], **value} if isinstance(raw.get(key), dict) else value
    return BenignConfig.model_validate(raw)


# -- config ------------------------------------------------------------------------------------


TINY_SSLMEM = {
    "study": "sslmem",
    "train": {
        "model": {"name": "convnet-tiny", "projector_hidden": 32, "output_dim": 16},
        "epochs": 2,
        "batch_size": 64,
    },
    "seeds": [0, 1],
    "splits": {"shared": 160, "candidates": 40, "independent": 40, "extra": 40},
    "planted": {"kinds": ["inverted", "noise"], "per_kind": 6},
    "measure": {
        "pairs": "auto",
        "max_pairs": 8,
        "center": ["plain", "shared"],
        "extra_taps": "all",
    },
    "unitmem": {"enabled": True, "views": 3, "top": 5},
    "over_training": {"epochs": [1]},
    "feldman": {"enabled": True, "seeds": [0], "epochs": 1},
    "stats": {"bootstrap_resamples": 200, "top_ks": [10, 20]},
}


TINY_DEJAVU = {
    "study": "sslmem-dejavu",
    "data": {"name": "fmnist-mini"},
    "train": {
        "model": {"name": "convnet-tiny", "projector_hidden": 32, "output_dim": 16},
        "epochs": 1,
        "batch_size": 40,
    },
    "methods": [{"name": "simclr"}, {"name": "vicreg", "train": {"objective": {"name": "vicreg"}}}],
    "seeds": [0, 1],
    "splits": {"half": 80, "public": 60},
    "dejavu": {"k": 10, "scored": 30},
    "measure": {"pairs": 2},
    "probe": "knn",
}


TINY_PRIVACY = {
    "study": "sslmem-privacy",
    "epsilons": [8, float("inf")],  # inf: the baseline, always there
    "sslmem": {
        # supervised convnet-tiny: DP's other per-example method, and seconds on a CPU (the
        # MAE path is tested in tests/training/test_privacy.py; the packaged configs use MAE)
        "train": {
            "model": {"name": "convnet-tiny", "projector_hidden": 64},
            "objective": {"name": "supervised"},
            "epochs": 1,
            "batch_size": 8,
        },
        "seeds": [0],
        "splits": {"shared": 24, "candidates": 8, "independent": 8, "extra": 8},
        "measure": {"pairs": 2},
        "stats": {"bootstrap_resamples": 100, "top_ks": [4]},
    },
}  # fmt: skip


TINY_REMOVAL = {
    "study": "sslmem-removal",
    "data": {"name": "fmnist-mini"},
    "sslmem": {
        "train": {"epochs": 1, "batch_size": 64,
                  "model": {"name": "convnet-tiny", "projector_hidden": 32, "output_dim": 16},
                  "augment": {"name": "simclr", "params": {"crop_scale": [0.3, 1.0],
                                                           "blur_p": 0.0}}},
        "seeds": [0, 1],
        "splits": {"shared": 30, "candidates": 60, "independent": 60, "extra": 20,
                   "scored_shared": 20},
        "measure": {"pairs": "auto", "max_pairs": 4, "tap": "output", "batch_size": 512},
    },
    "removal": {"ks": [10], "draws": 2},
    "coreset": {"ks": [15], "draws": 1},
    # a label with markup: the report must show it, never run it
    "downstream": [{"name": "fmnist-mini", "label": "fmnist<b>mini</b>", "train_limit": 200,
                    "test_limit": 100},
                   {"name": "digits", "train_limit": 200, "test_limit": 100}],
}  # fmt: skip


def tiny_configs() -> dict[str, dict]:
    """Every study's tiny config, by study name (as dicts, as a config file would hold)."""
    return {"profiles": tiny_profiles().model_dump(mode="json"), "sslmem": TINY_SSLMEM,
            "benign": tiny_benign().model_dump(mode="json"), "sslmem-removal": TINY_REMOVAL,
            "sslmem-privacy": TINY_PRIVACY, "sslmem-dejavu": TINY_DEJAVU,
            "atlas": packaged_config("atlas-quick"),
            "privacy-audit": packaged_config("privacy-audit-quick")}  # fmt: skip


@pytest.fixture(scope="session")
def quick_runs(tmp_path_factory) -> Callable[[str], Path]:
    """Every study's packaged quick config, run once per test session into its own directory
    (lazily, per study), shared by the registry's conformance tests and a study's own tests;
    a test that changes the directory works on a copy."""
    root = tmp_path_factory.mktemp("quick")
    done: dict[str, Path] = {}

    def run(name: str) -> Path:
        if name not in done:
            study = studies.get(name)
            config = study.config.model_validate(packaged_config(study.quick_config))
            done[name] = studies.run(config, root / name, quiet=True).path
        return done[name]

    return run
