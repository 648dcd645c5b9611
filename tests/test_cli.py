import json
import subprocess
import sys

import yaml
from typer.testing import CliRunner

from mnemoscope import models
from mnemoscope.cli import app

runner = CliRunner()


def test_datasets_lists_the_embedded_dataset_as_available():
    result = runner.invoke(app, ["datasets"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    line = next(line for line in result.output.splitlines() if "fmnist-mini" in line)
    assert "yes" in line and "10,000" in line and "2,000" in line


def test_models_lists_architectures_with_parameter_counts():
    result = runner.invoke(app, ["models"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "convnet-small" in result.output and "resnet18" in result.output
    for entry in models.catalog(in_channels=3, image_size=32):  # the command's defaults
        line = _row(result.output, entry["name"])
        assert f" {entry['encoder_params']:,} " in line, (entry["name"], line)
    small = models.catalog(in_channels=1, image_size=28)
    result = runner.invoke(app, ["models", "--in-channels", "1", "--image-size", "28"],
                           env={"COLUMNS": "200"})  # fmt: skip
    vit = next(row for row in small if row["name"] == "vit-tiny")
    assert f" {vit['encoder_params']:,} " in _row(result.output, "vit-tiny")


def _row(output: str, name: str) -> str:
    """The table line whose first cell is ``name`` (cells apart by spaces or rules)."""
    (line,) = [line for line in output.splitlines()
               if line.replace("│", " ").split()[:1] == [name]]  # fmt: skip
    return line


def test_listings_keep_every_name_whole_at_80_columns():
    from mnemoscope import data, models

    for command, names in (("datasets", data.names()),
                           ("models", [entry["name"] for entry in models.catalog()])):  # fmt: skip
        result = runner.invoke(app, [command], env={"COLUMNS": "80"})
        assert result.exit_code == 0, result.output
        rows = {line.split()[0]: line for line in result.output.splitlines() if line.strip()}
        for name in names:
            assert name in rows, (command, name, result.output)  # whole, in the table
            assert len(rows[name]) <= 80 and "…" not in rows[name]


def test_listings_print_json_for_scripts():
    datasets = json.loads(runner.invoke(app, ["datasets", "--json"]).output)
    mini = next(entry for entry in datasets if entry["name"] == "fmnist-mini")
    assert mini["available"] and mini["train_size"] == 10_000 and mini["num_classes"] == 10
    models = json.loads(runner.invoke(app, ["models", "--json"]).output)
    tiny = next(entry for entry in models if entry["name"] == "convnet-tiny")
    assert tiny["encoder_params"] > 0 and "layer4" in tiny["taps"]


def test_version_and_lazy_submodules():
    from mnemoscope import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"mnemoscope {__version__}"
    # a fresh interpreter: `import mnemoscope` loads no torch; the attribute imports the module
    code = ("import sys, mnemoscope; assert 'torch' not in sys.modules; "
            "print(len(mnemoscope.data.load('fmnist-mini').train))")  # fmt: skip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "10000"
    import mnemoscope

    try:
        mnemoscope.nonexistent  # noqa: B018
    except AttributeError as error:
        assert "nonexistent" in str(error)
    else:
        raise AssertionError("an unknown attribute must raise AttributeError")


def test_busy_machine_warning_hints_at_threads_only_where_the_user_fixed_several(monkeypatch):
    import torch

    from mnemoscope import environment
    from mnemoscope.environment import busy_warning

    assert busy_warning(load=0.4, cores=2) is None
    monkeypatch.setattr(environment, "_threads_pinned", True)  # --threads 2
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    message = busy_warning(load=3.2, cores=2, running=2)
    assert "load average 3.2" in message and "2 cores" in message and "--threads 1" in message
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)
    assert "--threads" not in busy_warning(load=3.2, cores=2, running=2)  # already one thread
    monkeypatch.setattr(environment, "_threads_pinned", False)  # runs pick their own
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    assert "--threads" not in busy_warning(load=3.2, cores=2, running=2)


def test_busy_warning_fires_only_when_others_load_every_core():
    from mnemoscope.environment import busy_warning

    # half the cores busy (one's own run, or a light job): no warning any more
    assert busy_warning(load=1.0, cores=2, running=1) is None
    assert busy_warning(load=1.9, cores=2, running=3) is None
    # one's own run just ended: the load average still says 2.5, nothing else is runnable
    assert busy_warning(load=2.5, cores=2, running=0) is None
    assert busy_warning(load=8.0, cores=8, running=3) is None  # 3 of 8 cores wanted now
    # others keep every core busy, on average and right now
    assert busy_warning(load=2.5, cores=2, running=1) is not None
    assert busy_warning(load=8.0, cores=8, running=4) is not None
    assert busy_warning(load=2.0, cores=2) is not None  # runnable count unknown: load decides


def test_bad_train_config_names_key_value_and_rule(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({"epochs": 0, "optim": {"lr": -1}}))
    result = runner.invoke(app, ["train", str(path), "--out", str(tmp_path / "runs")])
    assert result.exit_code == 2
    assert "epochs = 0" in result.output and "optim.lr = -1" in result.output
    assert "greater than" in result.output
    assert not (tmp_path / "runs").exists()  # refused before any work


def test_unknown_study_is_refused_listing_known_ones(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text("study: telepathy\n")
    result = runner.invoke(app, ["run", str(path)])
    assert result.exit_code == 2
    assert "unknown study 'telepathy'" in result.output and "profiles" in result.output


def test_report_of_a_missing_directory_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["report", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "does not exist" in result.output


def test_commands_say_bad_arguments_on_stderr_with_long_values_capped(tmp_path):
    # every command's refusal goes through the one error boundary: stderr, exit 2, capped lines
    long_path = str(tmp_path.joinpath(*["x" * 200] * 15))  # 3000 chars, each part valid
    for command in (["report", long_path], ["runs", long_path], ["sslmem-score", "--out",
                                                                 str(tmp_path / "out")]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, command
        assert result.stdout == "" and result.stderr.strip(), command
        assert max(len(line) for line in result.stderr.splitlines()) < 1100, command


def test_train_command_trains_and_reuses_a_finished_run(tmp_path):
    config = {"data": {"subset": list(range(128))}, "model": {"name": "convnet-tiny"},
              "epochs": 1, "batch_size": 64}  # fmt: skip
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(config))
    first = runner.invoke(app, ["train", str(path), "--out", str(tmp_path), "--quiet"])
    assert first.exit_code == 0, first.output
    run_dirs = [p for p in tmp_path.iterdir() if p.is_dir()]
    assert len(run_dirs) == 1 and (run_dirs[0] / "COMPLETE").exists()
    stamp = (run_dirs[0] / "checkpoints" / "final.safetensors").stat().st_mtime_ns
    second = runner.invoke(app, ["train", str(path), "--out", str(tmp_path), "--quiet"])
    assert second.exit_code == 0
    assert (run_dirs[0] / "checkpoints" / "final.safetensors").stat().st_mtime_ns == stamp


def test_threads_option_sets_torch_threads_and_the_run_records_them(tmp_path):
    import json

    import torch

    config = {"data": {"subset": list(range(64))}, "model": {"name": "convnet-tiny"},
              "epochs": 1, "batch_size": 64}  # fmt: skip
    path = tmp_path / "train.yaml"
    path.write_text(yaml.safe_dump(config))
    before = torch.get_num_threads()
    wanted = 1 if before != 1 else 2
    try:
        result = runner.invoke(
            app, ["--threads", str(wanted), "train", str(path), "--out", str(tmp_path), "--quiet"]
        )
        assert result.exit_code == 0, result.output
        assert torch.get_num_threads() == wanted
    finally:
        torch.set_num_threads(before)
    (run_dir,) = [p for p in tmp_path.iterdir() if p.is_dir()]
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["environment"]["torch_threads"] == wanted


def test_threads_below_one_are_refused_naming_the_value():
    result = runner.invoke(app, ["--threads", "0", "datasets"])
    assert result.exit_code == 2
    assert "0" in result.output and "1" in result.output and "--threads" in result.output


def test_progress_line_fits_80_columns_without_cutting_numbers():
    import io

    from rich.console import Console

    from mnemoscope.progress import make_progress

    progress = make_progress()
    progress.add_task("train simclr-s0-af0e25236d091c05", total=100, completed=37,
                      loss="loss 3.8123", speed="1,234 img/s")  # fmt: skip
    console = Console(width=80, file=io.StringIO())
    console.print(progress.make_tasks_table(progress.tasks))
    line = console.file.getvalue().splitlines()[0]
    assert len(line) <= 80
    for shown in ("37/100", "loss 3.8123", "1,234 img/s", "0:00:00", "eta -:--:--"):
        assert shown in line, line


def test_run_options_override_the_execution_section_and_are_validated(tmp_path):
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump({"study": "profiles", "execution": {"backend": "ray"}}))
    result = runner.invoke(app, ["run", str(path), "--out", str(tmp_path / "out"),
                                 "--backend", "slurm", "--gpus-per-run", "0.5"])  # fmt: skip
    assert result.exit_code == 2
    assert "execution" in result.output and "SLURM allocates whole GPUs" in result.output
    assert not (tmp_path / "out").exists()  # refused before any work


def test_plan_prints_a_labelled_one_gpu_estimate(tmp_path):
    path = tmp_path / "plan.yaml"
    path.write_text(yaml.safe_dump({
        "study": "sslmem", "seeds": [0], "data": {"name": "fmnist-mini"},
        "train": {"model": {"name": "resnet18"}, "epochs": 2, "batch_size": 64},
        "splits": {"shared": 200, "candidates": 20, "independent": 20},
    }))  # fmt: skip
    result = runner.invoke(app, ["plan", str(path), "--out", str(tmp_path / "out"),
                                 "--no-measure"], env={"COLUMNS": "200"})  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "1-GPU estimate*" in result.output and "(not timed here: --no-measure)" in result.output
    assert "* one-GPU estimate: about" in result.output
    assert "An ESTIMATE, not a measurement" in result.output
    assert "6,000 images/s at 32 x 32 px (profiles-paper.yaml" in result.output  # SimCLR
