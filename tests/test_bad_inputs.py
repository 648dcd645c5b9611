"""The catalogue of bad inputs: each is refused with one message naming the bad value, and
nothing on disk is written, changed or marked complete.

Command-line cases run in process (typer's CliRunner) and fail before any training: the exit
code is 2 for bad input and 1 for a failed run (``mnemoscope.errors``), the output holds no
traceback, and every file under the test's directory is as it was. API cases assert the
exception type and that the message names what was expected.
"""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from matplotlib.figure import Figure
from PIL import Image
from typer.testing import CliRunner

from mnemoscope import data, models, scoring
from mnemoscope.cli import app
from mnemoscope.config_file import MAX_NODES, parse_config
from mnemoscope.errors import BadInput, shorten
from mnemoscope.measure.features import as_float_images
from mnemoscope.store import RunDir
from mnemoscope.training import load_network

runner = CliRunner()
TRAIN = {"data": {"subset": list(range(8))}, "model": {"name": "convnet-tiny",
         "projector_hidden": 16}, "epochs": 1, "batch_size": 4}  # fmt: skip
STUDY = yaml.safe_load((Path(__file__).parents[1] / "configs" / "sslmem-quick.yaml").read_text())
DEJAVU = yaml.safe_load(
    (Path(__file__).parents[1] / "configs" / "sslmem-dejavu-quick.yaml").read_text()
)
# Nine levels of ten aliases each: 10**9 values once expanded, 500 bytes on disk.
BILLION_LAUGHS = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ",".join([f"*{chr(97 + i)}"] * 10) + "]\n"
    for i in range(8)
)
HUGE = "x" * 1_000_000
MATH_NAME = r"$\notacommand{x}$"


def write(path: Path, content: str | bytes | dict) -> Path:
    if isinstance(content, dict):
        content = yaml.safe_dump(content)
    if isinstance(content, str):
        content = content.encode()
    path.write_bytes(content)
    return path


def train_with(tmp: Path, **changes) -> list[str]:
    """``train`` of TRAIN with top-level keys changed (nested: whole sections)."""
    path = write(tmp / "train.yaml", {**TRAIN, **changes})
    return ["train", str(path), "--out", str(tmp / "runs"), "--quiet"]


def train_file(tmp: Path, content: str | bytes) -> list[str]:
    path = write(tmp / "config.yaml", content)
    return ["train", str(path), "--out", str(tmp / "runs"), "--quiet"]


def npz_dataset(tmp: Path, content: bytes) -> list[str]:
    path = write(tmp / "set.npz", content)
    return train_with(tmp, data={"name": "npz", "options": {"path": str(path)}, "subset": [0, 1]})


def good_npz_bytes() -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, train_images=np.zeros((4, 8, 8), np.uint8), train_labels=np.arange(4) % 2,
             test_images=np.zeros((2, 8, 8), np.uint8), test_labels=np.arange(2))  # fmt: skip
    return buffer.getvalue()


def npz_with(tmp: Path, count: int, height: int = 8, width: int = 8, **changes) -> list[str]:
    """``train`` of TRAIN (``changes`` as in ``train_with``) on an .npz of ``count`` training
    images of ``height`` x ``width`` pixels, its whole training set."""
    buffer = io.BytesIO()
    np.savez(buffer, train_images=np.zeros((count, height, width), np.uint8),
             train_labels=np.arange(count) % 2, test_images=np.zeros((2, height, width), np.uint8),
             test_labels=np.arange(2))  # fmt: skip
    path = write(tmp / "set.npz", buffer.getvalue())
    return train_with(tmp, data={"name": "npz", "options": {"path": str(path)}}, **changes)


def vit_on_images_not_square(tmp: Path) -> list[str]:
    """A ViT on 8 x 12 images: it trains on square views, its probe reads the images."""
    return npz_with(tmp, 8, 8, 12, model={"name": "vit-tiny"}, probe={"linear": False, "k": 1})


def folder_dataset(tmp: Path, broken: bytes | None = None, class_name: str = "a") -> Path:
    root = tmp / "images"
    for name in (class_name, "b"):
        (root / name).mkdir(parents=True)
        for index in range(3):
            Image.fromarray(np.full((8, 8), 40 * index, np.uint8)).save(
                root / name / f"{index}.png"
            )
    if broken is not None:
        write(root / class_name / "broken.png", broken)
    return root


def folder_train(tmp: Path, broken: bytes) -> list[str]:
    root = folder_dataset(tmp, broken)
    return train_with(tmp, data={"name": "folder", "options": {"path": str(root)}, "subset": [0]})


def study_with(tmp: Path, text: str) -> list[str]:
    path = write(tmp / "study.yaml", text)
    return ["run", str(path), "--out", str(tmp / "study"), "--quiet"]


# --- checkpoints -----------------------------------------------------------------------------


def network() -> models.Network:
    torch.manual_seed(0)
    return models.build("convnet-tiny", in_channels=1, num_outputs=8, projector_hidden=16)


def checkpoint(tmp: Path, name: str = "net", *, config: dict | None = None, tensors=None,
               metadata: dict | None = None) -> Path:  # fmt: skip
    """A weights file as ``mnemoscope train`` writes it, with parts replaced to forge one."""
    net = network()
    meta = {"network": json.dumps(config if config is not None else net.config)}
    if metadata is not None:
        meta = metadata
    store = RunDir(tmp / "checkpoints")
    store.save_checkpoint(name, net.state_dict() if tensors is None else tensors, meta)
    return store.checkpoint_path(name)


def vit(image_size: int) -> models.Network:
    torch.manual_seed(0)
    return models.build("vit-tiny", in_channels=1, num_outputs=8, projector_hidden=16,
                        image_size=image_size)  # fmt: skip


def vit_checkpoint(tmp: Path, image_size: int) -> Path:
    net = vit(image_size)
    return checkpoint(tmp, "vit", config=net.config, tensors=net.state_dict())


def score_args(tmp: Path, f: Path, g: Path | None = None, *extra: str) -> list[str]:
    return ["sslmem-score", "--f", str(f), "--g", str(g or f), "--out", str(tmp / "scores"),
            "--count", "4", "--pairs", "1", *extra]  # fmt: skip


def forged(tmp: Path, **changes) -> list[str]:
    return score_args(tmp, checkpoint(tmp, config={**network().config, **changes}))


def truncated_checkpoint(tmp: Path) -> list[str]:
    path = checkpoint(tmp)
    path.write_bytes(path.read_bytes()[:-100])
    return score_args(tmp, path)


def other_architecture(tmp: Path) -> list[str]:
    small = models.build("convnet-small", in_channels=1, num_outputs=8, projector_hidden=16)
    return score_args(tmp, checkpoint(tmp, tensors=small.state_dict()))


def missing_tensor(tmp: Path) -> list[str]:
    tensors = dict(network().state_dict())
    tensors.pop("projector.layers.0.weight")
    return score_args(tmp, checkpoint(tmp, tensors=tensors))


def locked(directory: Path) -> Path:
    """``directory`` with the live lock of a process on another host."""
    directory.mkdir()
    write(directory / "LOCK", json.dumps({"pid": 4242, "host": "worker-3", "token": "t",
                                          "started": "2026-01-01T00:00:00+00:00"}))  # fmt: skip
    return directory


def finished_study(tmp: Path) -> Path:
    """A finished sslmem study directory, as the study frame leaves one (its kind recorded)."""
    from mnemoscope.store import claim

    with claim(tmp / "study", kind="study") as study:
        study.write_config({"study": "sslmem"})
        study.update_meta(study="sslmem")
        study.save_table("sslmem_scores", pd.DataFrame({"subset": ["S_C"], "score_raw": [0.1]}))
        study.mark_complete()
    return study.path


def score_output(tmp: Path) -> Path:
    """The output directory of an earlier ``sslmem-score`` (no kind: an earlier version's)."""
    out = tmp / "scores"
    out.mkdir()
    write(out / "meta.json", json.dumps({"command": "sslmem-score", "started": "then"}))
    return out


# --- the table -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    arguments: Callable[[Path], list[str]]  # builds the bad input under tmp, returns the argv
    code: int
    names: tuple[str, ...]  # what the message must name (substrings of the output)


CLI_CASES = [
    # configs
    Case("empty-config", lambda t: train_file(t, ""), 2, ("config.yaml", "empty")),
    Case("comments-only-config", lambda t: train_file(t, "# all defaults?\n"), 2, ("empty",)),
    Case(
        "duplicate-key",
        lambda t: train_file(t, "epochs: 1\nseed: 0\nepochs: 2\n"),
        2,
        ("'epochs'", "lines 1 and 3"),
    ),
    Case(
        "nested-duplicate-key",
        lambda t: train_file(t, "optim:\n  lr: 0.1\n  lr: 0.2\n"),
        2,
        ("'lr'", "lines 2 and 3"),
    ),
    Case(
        "not-utf8",
        lambda t: train_file(t, b"epochs: 1\nseed: \xff\xfe\n"),
        2,
        ("config.yaml", "UTF-8", "byte 16"),
    ),
    Case("top-level-list", lambda t: train_file(t, "- 1\n- 2\n"), 2, ("config.yaml", "list")),
    Case("top-level-scalar", lambda t: train_file(t, "epochs\n"), 2, ("config.yaml", "str")),
    Case("yaml-syntax", lambda t: train_file(t, "epochs: [1, 2\n"), 2, ("config.yaml", "line 1")),
    Case(
        "python-tag",
        lambda t: train_file(t, "epochs: !!python/object/apply:os.getpid []\n"),
        2,
        ("python/object/apply",),
    ),
    Case(
        "billion-laughs-unknown-key",
        lambda t: train_file(t, BILLION_LAUGHS),
        2,
        (f"{MAX_NODES:,} values",),
    ),
    Case(
        "billion-laughs-under-measure",
        lambda t: study_with(
            t,
            yaml.safe_dump(STUDY)
            + BILLION_LAUGHS.replace("\n", "\n  ").replace("a: &a", "measure_bomb:\n  a: &a", 1),
        ),
        2,
        (f"{MAX_NODES:,} values",),
    ),
    Case(
        "recursive-alias",
        lambda t: train_file(t, "data: &d {options: *d}\n"),
        2,
        ("alias contains itself",),
    ),
    Case(
        "huge-value-unknown-key",
        lambda t: train_with(t, notes=HUGE),
        2,
        ("notes", "1,000,000 chars"),
    ),
    Case(
        "huge-model-name",
        lambda t: train_with(t, model={"name": HUGE}),
        2,
        ("model.name", "1,000,000 chars"),
    ),
    Case(
        "missing-config",
        lambda t: ["train", str(t / "nowhere.yaml")],
        2,
        ("nowhere.yaml", "does not exist"),
    ),
    Case("config-is-directory", lambda t: ["train", str(t)], 2, ("is a directory",)),
    Case("unknown-key", lambda t: train_with(t, epoch=3), 2, ("epoch", "Extra inputs")),
    Case("bad-value", lambda t: train_with(t, epochs=0), 2, ("epochs = 0", "greater than")),
    Case(
        "unknown-study",
        lambda t: study_with(t, "study: telepathy\n"),
        2,
        ("'telepathy'", "profiles"),
    ),
    Case(
        "study-config-without-study",
        lambda t: study_with(t, yaml.safe_dump(TRAIN)),
        2,
        ("'study' key",),
    ),
    # values that only the dataset or the run can check (after validation)
    Case(
        "unknown-dataset",
        lambda t: train_with(t, data={"name": "nosuch"}),
        2,
        ("'nosuch'", "fmnist-mini"),
    ),
    Case(
        "dataset-option-not-taken",
        lambda t: train_with(t, data={"name": "fmnist-mini", "options": {"colour": 1}}),
        2,
        ("colour",),
    ),
    Case(
        "unknown-model", lambda t: train_with(t, model={"name": "resnet9000"}), 2, ("resnet9000",)
    ),
    Case(
        "unknown-preset-parameter",
        lambda t: train_with(t, augment={"name": "simclr", "params": {"bogus": 1}}),
        2,
        ("'bogus'", "crop_scale"),
    ),
    Case(
        "batch-larger-than-subset",
        lambda t: train_with(t, batch_size=64),
        2,
        ("batch_size 64", "8 images"),
    ),
    Case(
        "subset-out-of-range",
        lambda t: train_with(t, data={"subset": [0, 99_999_999]}),
        2,
        ("99999999", "10000 images"),
    ),
    Case("unknown-device", lambda t: train_with(t, device="tpu:7"), 2, ("'tpu:7'",)),
    # dataset files
    Case(
        "npz-missing",
        lambda t: train_with(t, data={"name": "npz", "options": {"path": str(t / "no.npz")}}),
        2,
        ("no.npz",),
    ),
    Case(
        "npz-not-an-archive",
        lambda t: npz_dataset(t, b"hello, not numpy" * 10),
        2,
        ("set.npz", "not an .npz archive"),
    ),
    Case("npz-truncated", lambda t: npz_dataset(t, good_npz_bytes()[:300]), 2, ("set.npz",)),
    Case(
        "png-broken",
        lambda t: folder_train(t, b"\x89PNG\r\n\x1a\n broken"),
        2,
        ("broken.png", "not a readable image"),
    ),
    Case("png-empty", lambda t: folder_train(t, b""), 2, ("broken.png",)),
    Case(
        "npz-without-training-images",  # said "batch_size 4 ... use at most 0"
        lambda t: npz_with(t, 0),
        2,
        ("set.npz", "holds no images in its training split"),
    ),
    Case(
        "vit-on-images-not-square",  # trained on square views, then timm's AssertionError
        vit_on_images_not_square,
        2,
        ("'vit-tiny' was built for 12 x 12 images", "cut into 4 x 4 patches", "8 x 12 pixels"),
    ),
    # command-line arguments and output directories
    Case("threads-zero", lambda t: ["--threads", "0", "datasets"], 2, ("--threads",)),
    Case("report-missing-dir", lambda t: ["report", str(t / "none")], 2, ("does not exist",)),
    Case("config-schema-unknown", lambda t: ["config-schema", "nosuch"], 2, ("nosuch",)),
    Case(
        "out-is-a-file",
        lambda t: [*train_with(t)[:2], "--out", str(write(t / "f", "x"))],
        2,
        ("Not a directory", "choose another --out"),
    ),
    # checkpoints
    Case(
        "checkpoint-missing",
        lambda t: score_args(t, t / "none.safetensors"),
        2,
        ("none.safetensors",),
    ),
    Case(
        "checkpoint-garbage",
        lambda t: score_args(t, write(t / "bad.safetensors", bytes(range(256)) * 8)),
        2,
        ("bad.safetensors", "not a readable safetensors"),
    ),
    Case(
        "checkpoint-truncated",
        truncated_checkpoint,
        2,
        ("net.safetensors", "not a readable safetensors"),
    ),
    Case(
        "checkpoint-no-metadata",
        lambda t: score_args(t, checkpoint(t, metadata={})),
        2,
        ("'network' metadata",),
    ),
    Case(
        "checkpoint-metadata-not-json",
        lambda t: score_args(t, checkpoint(t, metadata={"network": "{oops"})),
        2,
        ("not JSON",),
    ),
    Case("checkpoint-unknown-model", lambda t: forged(t, name="alexnet"), 2, ("'alexnet'",)),
    Case(
        "checkpoint-huge-projector",
        lambda t: forged(t, projector_hidden=30_000_000),
        2,
        ("projector_hidden=30000000", "1..131,072"),
    ),
    Case("checkpoint-huge-image", lambda t: forged(t, image_size=10**6), 2, ("image_size",)),
    Case("checkpoint-wrong-shapes", other_architecture, 2, ("do not match", "expected")),
    Case(
        "score-vit-of-32-on-28-images",  # timm's AssertionError, exit 1
        lambda t: score_args(t, vit_checkpoint(t, 32)),
        2,
        ("'vit-tiny' was built for 32 x 32 images (image_size 32", "28 x 28 pixels"),
    ),
    Case("checkpoint-missing-tensor", missing_tensor, 2, ("missing projector.layers.0.weight",)),
    Case(
        "score-unknown-device",
        lambda t: score_args(t, t / "x", None, "--device", "tpu:7"),
        2,
        ("'tpu:7'",),
    ),
    Case(
        "score-out-of-range",
        lambda t: score_args(t, checkpoint(t), None, "--start", "99999"),
        2,
        ("99999", "out of range"),
    ),
    Case(
        "score-bad-split",
        lambda t: score_args(t, checkpoint(t), None, "--split", "val"),
        2,
        ("'val'",),
    ),
    Case(
        "score-into-a-study",
        lambda t: [*score_args(t, checkpoint(t))[:-6], "--out", str(finished_study(t))],
        2,
        ("is a study directory, not an sslmem-score output", "choose another --out"),
    ),
    Case(
        "score-from-a-study-into-itself",
        lambda t: ["sslmem-score", "--from-study", str(finished_study(t)), "--out",
                   str(t / "study")],  # fmt: skip
        2,
        ("is a study directory, not an sslmem-score output",),
    ),
    Case(
        "study-into-a-score-output",
        lambda t: ["run", str(write(t / "s.yaml", STUDY)), "--out", str(score_output(t))],
        2,
        ("is an sslmem-score output directory, not a study directory",),
    ),
    Case(
        "config-thousands-of-unknown-keys",  # one line; each problem was printed (22.7 MB)
        lambda t: study_with(t, "{study: sslmem, " + ", ".join(f"k{i}: 1" for i in range(3000))
                             + "}"),  # fmt: skip
        2,
        ("3,000 problems", "k0 = 1", "and 2,990 more problems"),
    ),
    Case(
        "run-option-out-of-range",  # the option's mistake, not the config file's
        lambda t: [*study_with(t, yaml.safe_dump(STUDY)), "--workers", "0"],
        2,
        ("--workers (overriding execution", "workers = 0"),
    ),
    Case(
        "privacy-refusal-not-buried",  # no dump of the whole config before the reason
        lambda t: train_with(t, objective={"name": "simclr"}, privacy={"epsilon": 8}),
        2,
        ("(top level): Value error, privacy (DP-SGD) needs",),
    ),
    Case(
        "train-seeds-not-integers",
        lambda t: [*train_with(t), "--seeds", "1,x"],
        2,
        ("--seeds", "integer seeds"),
    ),
    Case(
        "study-locked-by-another-host",  # nothing ran: bad input, not a failed run
        lambda t: [*study_with(t, yaml.safe_dump(STUDY)), "--out", str(locked(t / "busy"))],
        2,
        ("pid 4242 on host worker-3",),
    ),
    Case(
        "dejavu-box-masks-everything",  # 0.99 of 28 rounds to 28: chance, not a measurement
        lambda t: study_with(t, yaml.safe_dump({**DEJAVU, "dejavu": {"k": 50, "box": 0.99}})),
        2,
        ("dejavu.box = 0.99 masks every pixel of a 28 x 28 image",),
    ),
    Case(
        "dejavu-box-masks-nothing",  # failed only after A and B had trained
        lambda t: study_with(t, yaml.safe_dump({**DEJAVU, "dejavu": {"k": 50, "box": 0.01}})),
        2,
        ("dejavu.box = 0.01 covers no pixel",),
    ),
    Case(
        "dejavu-scored-more-than-the-half",
        lambda t: study_with(t, yaml.safe_dump({**DEJAVU, "dejavu": {"k": 50, "scored": 201}})),
        2,
        ("dejavu.scored = 201 is more than the 200 images of A's half",),
    ),
    Case(
        "score-bad-distance",
        lambda t: score_args(t, checkpoint(t), None, "--distance", "cosine"),
        2,
        ("'cosine'",),
    ),
]


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` with its size and modification time. (Directories are left
    out: taking a run directory's lock may create the empty ``--out`` folder that holds it.)"""
    return {
        str(path.relative_to(root)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in root.rglob("*")
        if path.is_file()
    }


@pytest.mark.parametrize("case", CLI_CASES, ids=[case.id for case in CLI_CASES])
def test_command_line_refuses_bad_input(case: Case, tmp_path: Path):
    arguments = case.arguments(tmp_path)
    before = snapshot(tmp_path)
    result = runner.invoke(app, arguments, env={"COLUMNS": "200"})
    assert result.exit_code == case.code, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # handled, not raised
    assert "Traceback" not in result.output
    for needle in case.names:
        assert needle in result.output, (needle, result.output)
    assert len(result.output) < 3000  # one message: no echo of a huge value, no traceback
    assert snapshot(tmp_path) == before  # nothing written, changed or marked COMPLETE


def test_at_least_forty_cases():
    assert len(CLI_CASES) + len(API_CASES) >= 40


def test_debug_shows_the_traceback_instead(tmp_path):
    config = write(tmp_path / "empty.yaml", "")
    result = runner.invoke(app, ["--debug", "train", str(config)])
    assert result.exit_code == 1 and isinstance(result.exception, BadInput)
    assert "empty" in str(result.exception)


def test_a_failed_run_exits_1_naming_the_error(tmp_path, monkeypatch):
    """Disk full while writing: exit 1 (the input was fine), the OS's words, the path."""

    def full(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr("mnemoscope.store.os.fsync", full)
    result = runner.invoke(app, train_with(tmp_path))
    assert result.exit_code == 1, result.output
    assert "No space left on device" in result.output and "--debug" in result.output
    assert str(tmp_path) in result.output  # the file that could not be written
    assert not list(tmp_path.rglob("COMPLETE"))


@pytest.mark.parametrize("code", [errno.EACCES, errno.EROFS])
def test_read_only_out_is_bad_input(tmp_path, monkeypatch, code):
    """A directory the process may not write into, or on a read-only file system (EROFS, a
    plain OSError: it was exit 1, "the run failed"). Simulated: the tests may run as root,
    whom permissions do not stop, and cannot mount (``test_out_on_a_read_only_mount``
    does where it can)."""
    out = tmp_path / "read-only"
    real_mkdir = Path.mkdir

    def refuse(self, *args, **kwargs):
        if out in (self, *self.parents):
            raise OSError(code, os.strerror(code), str(self))  # PermissionError for EACCES
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", refuse)
    arguments = train_with(tmp_path)
    result = runner.invoke(app, [*arguments[:2], "--out", str(out)])
    assert result.exit_code == 2, result.output
    assert str(out) in result.output and "read-only" in result.output
    assert not out.exists()


def test_out_on_a_read_only_mount(tmp_path):
    """The kernel's own EROFS: ``--out`` on a read-only tmpfs, mounted in a mount namespace of
    this test's own (``unshare``: nothing outside it sees the mount). Exit 2 naming the
    directory, nothing run (it was exit 1, "the run failed")."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("mounting a read-only file system needs root and unshare")
    mount = tmp_path / "read-only"
    mount.mkdir()
    config = write(tmp_path / "train.yaml", TRAIN)
    script = (f'mount -t tmpfs -o ro tmpfs "{mount}" || exit 99; exec "{sys.executable}" -m '
              f'mnemoscope train "{config}" --out "{mount}/runs" --quiet')  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1] / "src")}
    done = subprocess.run(["unshare", "--mount", "sh", "-c", script], env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    if done.returncode == 99 or done.stderr.startswith("unshare:"):
        pytest.skip(f"no read-only mount here: {done.stderr.strip()}")
    assert done.returncode == 2, done.stderr
    assert f"Read-only file system: {mount}/runs" in done.stderr, done.stderr
    assert "choose another --out" in done.stderr and "Traceback" not in done.stderr
    assert not any(mount.iterdir())  # the mount is gone with its namespace: nothing written


def test_a_finished_run_is_untouched_by_a_bad_rerun(tmp_path):
    """A study directory marked complete keeps every file when a bad config is run into it."""
    study = RunDir(tmp_path / "study")
    study.write_config({"study": "sslmem"})
    study.save_array("scores", np.arange(3.0))
    study.mark_complete()
    bad = write(tmp_path / "bad.yaml", "study: sslmem\nseeds: [0, 1]\nseeds: [2]\n")
    before = snapshot(tmp_path)
    result = runner.invoke(app, ["run", str(bad), "--out", str(study.path)])
    assert result.exit_code == 2 and "'seeds'" in result.output
    assert snapshot(tmp_path) == before


# --- API inputs ------------------------------------------------------------------------------


def rgb_network() -> models.Network:
    torch.manual_seed(0)
    return models.build("convnet-tiny", in_channels=3, num_outputs=8, projector_hidden=16)


def score(images: torch.Tensor, net: models.Network | None = None):
    net = net or network()
    return scoring.score([net], [net], images, pairs=1)


GREY = torch.rand(4, 1, 16, 16)


def with_value(value: float) -> torch.Tensor:
    images = GREY.clone()
    images[1, 0, 3, 3] = value
    return images


def sparse_file(path: Path, size: int) -> Path:
    """A file of ``size`` bytes that takes no disk space (a hole after one id)."""
    path.write_text("1\n")
    os.truncate(path, size)
    return path


def repeat_spec(seeds):
    from mnemoscope.studies.repeat import RepeatSpec

    return RepeatSpec(study_seeds=seeds)


def calibrate(epsilon: float, n: int, batch_size: int, epochs: int):
    from mnemoscope.training.privacy import Accounting, PrivacyConfig

    return Accounting.calibrate(PrivacyConfig(epsilon=epsilon), n, batch_size, epochs)


def privacy_study(**changes):
    from mnemoscope import studies

    return studies.load_config({"study": "sslmem-privacy", **changes})


def parse_with_max_nodes(limit: int, text: str):
    """``parse_config`` with a lower ``MAX_NODES`` (a file of a million values parses slowly)."""
    from mnemoscope import config_file

    saved, config_file.MAX_NODES = config_file.MAX_NODES, limit
    try:
        return parse_config(text, "big.yaml")
    finally:
        config_file.MAX_NODES = saved


API_CASES = [
    (
        "parse-large-without-aliases",  # "aliases" blamed a file that has none
        lambda t: parse_with_max_nodes(10, "a: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]\n"),
        BadInput,
        "big.yaml: holds more than 10 values",
    ),
    # Opacus ends at sigma 40, where the accountant says epsilon -0.0007: no guarantee.
    ("dp-negative-epsilon", lambda t: calibrate(1e-6, 64, 32, 2), ValueError, "about 0.0"),
    ("dp-too-low", lambda t: calibrate(1e-6, 256, 64, 2), ValueError, "smallest epsilon it"),
    ("dp-no-epsilons", lambda t: privacy_study(epsilons=[]), ValueError, "no finite target"),
    ("dp-only-baseline", lambda t: privacy_study(epsilons=[float("inf")]), ValueError, "[20, 8]"),
    ("repeat-huge-seed", lambda t: repeat_spec([10**17]), ValueError, "0..1,000,000"),
    ("repeat-boolean-seed", lambda t: repeat_spec([True]), ValueError, "study_seeds.0"),
    ("repeat-float-seed", lambda t: repeat_spec([1.0]), ValueError, "study_seeds.0"),
    (
        "ids-file-too-large",
        lambda t: scoring.read_ids(sparse_file(t / "ids.txt", scoring.MAX_IDS_FILE_BYTES + 1)),
        ValueError,
        "ids.txt is 67,108,865 bytes",
    ),
    (
        "ids-csv-not-integers",
        lambda t: scoring.read_ids(write(t / "ids.csv", "id\n1\nfoo\n")),
        ValueError,
        "--ids: ",
    ),
    ("score-float-0-255", lambda t: score(GREY * 255), ValueError, "[0, 1]"),
    ("score-nan", lambda t: score(with_value(float("nan"))), ValueError, "NaN"),
    ("score-plus-inf", lambda t: score(with_value(float("inf"))), ValueError, "infinite"),
    ("score-minus-inf", lambda t: score(with_value(float("-inf"))), ValueError, "infinite"),
    ("score-negative", lambda t: score(with_value(-0.5)), ValueError, "[-0.5,"),
    ("score-1-channel-for-3", lambda t: score(GREY, rgb_network()), ValueError, "[B, 3, H, W]"),
    (
        "score-3-channel-for-1",
        lambda t: score(GREY.expand(4, 3, 16, 16)),
        ValueError,
        "[B, 1, H, W]",
    ),
    ("features-float-0-255", lambda t: as_float_images(GREY * 255), ValueError, "[0, 1]"),
    ("features-nan", lambda t: as_float_images(with_value(float("nan"))), ValueError, "NaN"),
    ("forward-1-channel-for-3", lambda t: rgb_network()(GREY), ValueError, "in_channels = 3"),
    (
        "features-vit-of-32-on-16",  # timm's AssertionError
        lambda t: vit(32).features(GREY, ["embedding"]),
        ValueError,
        "built for 32 x 32 images (image_size 32 cut into 4 x 4 patches), got images of 16 x 16",
    ),
    (
        "parse-duplicate-key",
        lambda t: parse_config("a: 1\na: 2\n", "x.yaml"),
        BadInput,
        "x.yaml: key 'a'",
    ),
    ("parse-billion-laughs", lambda t: parse_config(BILLION_LAUGHS, "x.yaml"), BadInput, "x.yaml"),
    (
        "load-network-huge-projector",
        lambda t: load_network(
            checkpoint(t, config={**network().config, "projector_hidden": 30_000_000})
        ),
        BadInput,
        "projector_hidden",
    ),
    (
        "npz-broken-zip",
        lambda t: data.load("npz", path=write(t / "n.npz", b"PK\x03\x04 zip")),
        ValueError,
        "n.npz",
    ),
]


@pytest.mark.parametrize("case", API_CASES, ids=[case[0] for case in API_CASES])
def test_api_refuses_bad_input(case, tmp_path):
    _, call, error_type, needle = case
    with pytest.raises(error_type) as raised:
        call(tmp_path)
    assert needle in str(raised.value)
    assert not list(tmp_path.rglob("COMPLETE"))


def test_ids_are_read_once_each_in_order(tmp_path):
    assert scoring.read_ids(write(tmp_path / "ids.txt", "3, 1 3\n3\n1 2")) == [3, 1, 2]
    assert scoring.read_ids(write(tmp_path / "ids.csv", "id\n5\n5\n4\n")) == [5, 4]


def test_uint8_and_unit_float_images_still_score_alike():
    """The range check refuses nothing valid: uint8 and the same images as floats agree."""
    images = (GREY * 255).round().to(torch.uint8)
    as_uint8, as_float = score(images), score(images.float() / 255)
    np.testing.assert_allclose(as_uint8.raw, as_float.raw, atol=1e-6)


def test_class_names_render_literally_in_saved_figures(tmp_path):
    """A folder dataset's class name reaches the figures as it is, never as mathtext."""
    from mnemoscope.studies.sslmem.figures import most_memorized

    root = folder_dataset(tmp_path, class_name=MATH_NAME)
    classes = list(data.load("folder", path=root, test_fraction=0.5).classes)
    assert MATH_NAME in classes
    candidates = pd.DataFrame({"kind": "ordinary", "label": [0, 1, 0, 1],
                               "score_norm": [0.1, 0.2, -0.3, 0.4]})  # fmt: skip
    images = np.zeros((4, 1, 8, 8), np.uint8)
    figure = Figure()
    axis = figure.subplots()
    axis.plot([0, 1], [0, 1], label=MATH_NAME)
    axis.set_title(MATH_NAME)
    axis.set_xticks([0, 1], labels=classes)
    axis.legend()
    with pytest.raises(ValueError):  # what the figures did before: mathtext refuses the name
        figure.savefig(io.BytesIO(), format="png")
    store = RunDir(tmp_path / "run")
    assert store.save_figure("axes", figure).stat().st_size > 0
    assert store.save_figure("images", most_memorized(candidates, images, classes)).exists()
    assert matplotlib.rcParams["text.parse_math"]  # the setting did not leak


def test_shorten_caps_any_value():
    assert shorten("x" * 10_000).endswith("... (10,000 chars)")
    assert len(shorten(list(range(10**6)))) < 250 and "(1,000,000 items)" in shorten(
        list(range(10**6))
    )
    nested: list = []
    for _ in range(1000):
        nested = [nested]
    assert len(shorten(nested)) < 250


def test_zip_errors_are_not_unpickled(tmp_path):
    """A zip whose member is not an array is refused, not read as a pickle."""
    path = tmp_path / "z.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("train_images.npy", b"\x80\x04 pickle-ish")
    with pytest.raises(ValueError, match="z.npz"):
        data.load("npz", path=path)


@pytest.mark.parametrize(
    ("content", "says"),
    [("[1, 2]", "not a study summary"), ('{"headlines": 5, "repeat": 3}', "not a study summary"),
     ('{"headl', "not JSON"), ("[" * 100_000 + "]" * 100_000, "nested too deeply")],
    ids=["list", "wrong-fields", "truncated", "deep"],
)  # fmt: skip
def test_report_names_a_summary_it_cannot_read(tmp_path, content, says):
    """rc 1 with AttributeError, TypeError or RecursionError before; a truncated summary was
    called missing. Now the report is built and names the file and what is wrong with it."""
    study = tmp_path / "study"
    study.mkdir()
    write(study / "config.yaml", "study: profiles\n")
    write(study / "summary.json", content)
    result = runner.invoke(app, ["report", str(study)])
    assert result.exit_code == 0, result.output
    page = (study / "report.html").read_text()
    assert "summary.json is unreadable" in page and says in page
