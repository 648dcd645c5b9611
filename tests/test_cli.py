import yaml
from typer.testing import CliRunner

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
