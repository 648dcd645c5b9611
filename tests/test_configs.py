"""Every config shipped with the package (``configs/`` is a link to it) validates: a header's
promise of `mnemoscope run configs/NAME.yaml` never meets a config error."""

from importlib import resources
from pathlib import Path

import pytest

from mnemoscope import studies
from mnemoscope.config_file import read_config
from mnemoscope.training import TrainConfig

PACKAGED = sorted(p.name for p in resources.files("mnemoscope.configs").iterdir()
                  if p.name.endswith(".yaml"))  # fmt: skip


def test_the_package_ships_configs_and_the_root_links_to_them():
    assert "benign-fitted.yaml" in PACKAGED and "sslmem-demo.yaml" in PACKAGED
    root = Path(__file__).resolve().parents[1]
    # one copy: `mnemoscope run configs/NAME.yaml` in a checkout runs the packaged file
    assert (root / "configs").is_symlink()
    assert (root / "configs").resolve() == (root / "src" / "mnemoscope" / "configs").resolve()


@pytest.mark.parametrize("name", PACKAGED)
def test_packaged_config_validates(name):
    raw = read_config(resources.files("mnemoscope.configs") / name)
    if "study" in raw:
        assert studies.load_config(raw).study == raw["study"]
    else:  # a training config (`mnemoscope train`)
        TrainConfig.model_validate(raw)


MEASURED = [name for name in PACKAGED if not name.endswith("-paper.yaml")]


@pytest.mark.parametrize("name", MEASURED)
def test_packaged_config_has_one_measured_block(name):
    """Below paper scale a header's cost and results are the block that
    ``scripts/demo_results.py --config`` writes from a stored run, never typed by hand; paper
    configs carry estimates (``mnemoscope plan``) instead. A training config has no study for
    the script to read: no block."""
    text = (resources.files("mnemoscope.configs") / name).read_text()
    lines = text.splitlines()
    begins = [i for i, line in enumerate(lines) if line.startswith("# measured:begin")]
    ends = [i for i, line in enumerate(lines) if line == "# measured:end"]
    if "study" not in read_config(resources.files("mnemoscope.configs") / name):
        assert not begins and not ends
        return
    assert len(begins) == 1 and len(ends) == 1 and begins[0] < ends[0], name
    first_key = next(i for i, line in enumerate(lines) if not line.startswith("#"))
    assert ends[0] < first_key  # in the header, not in the YAML body
    assert "measured block" in "\n".join(lines[: begins[0]])  # the prose points at it
