import pytest
import torch

from mnemoscope.environment import (
    RELEVANT_CPU_FLAGS,
    autocast_dtype,
    package_versions,
    parse_cpuinfo,
    pick_device,
    run_environment,
)


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



def test_environment_records_the_load_average_at_the_start(monkeypatch):
    import os

    monkeypatch.setattr(os, "getloadavg", lambda: (3.456, 2.0, 1.0))
    assert run_environment(torch.device("cpu"))["load_average"] == [3.46, 2.0, 1.0]

    def unavailable():
        raise OSError("no load average here")

    monkeypatch.setattr(os, "getloadavg", unavailable)
    assert run_environment(torch.device("cpu"))["load_average"] is None


X86 = """processor\t: 0
model name\t: AMD EPYC 9B14
flags\t\t: fpu sse4_2 avx avx2 avx512f avx512_bf16 amx_tile fma
processor\t: 1
model name\t: AMD EPYC 9B14
flags\t\t: fpu sse4_2 avx avx2 avx512f avx512_bf16 amx_tile fma
"""
ARM = "processor\t: 0\nFeatures\t: fp asimd evtstrm aes sve bf16\nCPU part\t: 0xd40\n"


def test_cpuinfo_gives_the_model_and_the_flags_that_pick_kernels():
    x86 = parse_cpuinfo(X86)
    assert x86["model"] == "AMD EPYC 9B14"
    assert x86["flags"] == ["sse4_2", "avx", "avx2", "fma", "avx512f", "avx512_bf16", "amx_tile"]
    arm = parse_cpuinfo(ARM)
    assert arm["model"] is None and arm["flags"] == ["asimd", "bf16", "sve"]


def test_meta_records_cpu_model_flags_and_gpu():
    environment = run_environment(torch.device("cpu"))
    cpu = environment["cpu"]
    assert cpu["model"] and set(cpu["flags"]) <= set(RELEVANT_CPU_FLAGS)
    if cpu["source"] == "/proc/cpuinfo":  # Linux: the flags really are this machine's
        text = open("/proc/cpuinfo").read()
        assert cpu["flags"] == parse_cpuinfo(text)["flags"]
        native_bf16 = "avx512_bf16" in cpu["flags"] or "amx_bf16" in cpu["flags"]
        assert environment["cpu_bf16"] == native_bf16
    expected = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    assert environment["gpu"] == expected


def test_torch_threads_sets_the_count_inside_and_restores_it_even_after_an_error():
    import pytest
    import torch

    from mnemoscope.environment import torch_threads

    before = torch.get_num_threads()
    wanted = 1 if before != 1 else 2
    with pytest.raises(KeyError):
        with torch_threads(wanted):
            assert torch.get_num_threads() == wanted
            raise KeyError("inside")
    assert torch.get_num_threads() == before


def test_free_cores_are_the_cores_others_leave_never_more_nor_below_one():
    from mnemoscope.environment import free_cores

    assert free_cores(running=0, cores=2) == 2
    assert free_cores(running=1, cores=2) == 1
    assert free_cores(running=5, cores=2) == 1  # an overloaded machine still runs on one
    assert free_cores(running=3, cores=8) == 5
    for cores in (1, 2, 4, 16):
        for running in range(0, 20):
            assert 1 <= free_cores(running=running, cores=cores) <= cores


def test_free_cores_read_the_busy_warnings_runnable_count_and_ignore_a_passing_task(
    monkeypatch,
):
    from mnemoscope import environment

    monkeypatch.setattr(environment.os, "cpu_count", lambda: 4)
    snapshots = iter([2, 1, 1])  # a shell started and ended during the first snapshot
    monkeypatch.setattr(environment, "_other_runnable", lambda: next(snapshots))
    assert environment.free_cores(cores=4) == 3
    snapshots = iter([0])  # idle: one snapshot decides, no waiting for more
    monkeypatch.setattr(environment, "_other_runnable", lambda: next(snapshots))
    assert environment.free_cores(cores=4) == 4
    monkeypatch.setattr(environment, "_other_runnable", lambda: None)  # off Linux: unknown
    assert environment.free_cores(cores=4) == 4
    # 4 of 16 cores (taskset): 8 busy tasks on the machine are 2 on ours
    monkeypatch.setattr(environment.os, "cpu_count", lambda: 16)
    monkeypatch.setattr(environment, "_other_runnable", lambda: 8)
    assert environment.free_cores(cores=4) == 2


@pytest.mark.parametrize("running", [0, 1, 2, 3, 7])
def test_a_runs_thread_count_never_exceeds_the_free_cores(monkeypatch, running):
    from mnemoscope import environment

    monkeypatch.setattr(environment, "_threads_pinned", False)  # tests/conftest.py pins them
    monkeypatch.setattr(environment, "usable_cores", lambda: 2)
    monkeypatch.setattr(environment.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(environment, "_other_runnable", lambda: running)
    before = torch.get_num_threads()
    with environment.run_threads() as count:
        assert count == torch.get_num_threads()
        assert 1 <= count <= max(1, 2 - running) and count <= before
    assert torch.get_num_threads() == before


def test_a_fixed_or_recorded_thread_count_is_kept_whatever_the_load(monkeypatch):
    from mnemoscope import environment

    monkeypatch.setattr(environment, "usable_cores", lambda: 2)
    monkeypatch.setattr(environment.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(environment, "_other_runnable", lambda: 5)
    before = torch.get_num_threads()
    try:
        environment.pin_threads(2)  # --threads 2
        with environment.run_threads() as count:
            assert count == torch.get_num_threads() == 2
        environment.pin_threads(None)
        with environment.run_threads(recorded=2) as count:  # a resumed run started with 2
            assert count == torch.get_num_threads() == 2
        with environment.run_threads() as count:
            assert count == 1
    finally:
        environment.pin_threads(before)


def test_a_run_inside_a_study_that_found_the_cores_busy_takes_them_once_free(monkeypatch):
    from mnemoscope import environment

    monkeypatch.setattr(environment, "_threads_pinned", False)  # tests/conftest.py pins them
    monkeypatch.setattr(environment, "usable_cores", lambda: 2)
    monkeypatch.setattr(environment.os, "cpu_count", lambda: 2)
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        monkeypatch.setattr(environment, "_other_runnable", lambda: 1)
        with environment.run_threads() as study:
            assert study == 1
            monkeypatch.setattr(environment, "_other_runnable", lambda: 0)
            with environment.run_threads() as run:
                assert run == torch.get_num_threads() == 2
            assert torch.get_num_threads() == 1
            with environment.torch_threads(1), environment.run_threads() as run:
                assert run == 1  # a caller's own limit inside the study still caps a run
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
