"""Every config shipped with the package (``configs/`` is a link to it) validates: a header's
promise of `mnemoscope run configs/NAME.yaml` never meets a config error."""

from importlib import resources

import pytest

from mnemoscope import studies
from mnemoscope.config_file import read_config
from mnemoscope.training import TrainConfig

PACKAGED = sorted(p.name for p in resources.files("mnemoscope.configs").iterdir()
                  if p.name.endswith(".yaml"))  # fmt: skip


def test_the_package_ships_configs():
    assert "benign-fitted.yaml" in PACKAGED and "sslmem-demo.yaml" in PACKAGED


@pytest.mark.parametrize("name", PACKAGED)
def test_packaged_config_validates(name):
    raw = read_config(resources.files("mnemoscope.configs") / name)
    if "study" in raw:
        assert studies.load_config(raw).study == raw["study"]
    else:  # a training config (`mnemoscope train`)
        TrainConfig.model_validate(raw)
