import pytest
import torch

from mnemoscope.environment import autocast_dtype, package_versions, pick_device, run_environment


def test_pick_device_auto_and_explicit():
    assert pick_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else None
    if expected:
        assert pick_device("auto").type == expected
    with pytest.raises(ValueError, match="unknown device 'gpu0'"):
        pick_device("gpu0")


def test_autocast_dtype_respects_explicit_choice():
    cpu = torch.device("cpu")
    assert autocast_dtype(cpu, "fp32") is None
    assert autocast_dtype(cpu, "bf16") is torch.bfloat16
    with pytest.raises(ValueError, match="unknown precision 'fp8'"):
        autocast_dtype(cpu, "fp8")


def test_environment_records_versions_and_device():
    environment = run_environment(torch.device("cpu"))
    assert torch.__version__.startswith(environment["versions"]["torch"].split("+")[0])
    assert environment["device"] == "cpu"
    assert set(package_versions()) >= {"torch", "kornia", "lightly", "mnemoscope"}
