"""``mnemoscope.scoring``: scoring any encoders, checkpoints, and ``mnemoscope sslmem-score``."""

import json

import numpy as np
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from mnemoscope import data, models, scoring
from mnemoscope.cli import app
from mnemoscope.store import RunDir


@pytest.fixture(scope="module")
def images():
    return data.load("fmnist-mini").train.images[:48]


def network(seed: int) -> models.Network:
    torch.manual_seed(seed)
    return models.build("convnet-tiny", in_channels=1, num_outputs=16, image_size=28)


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """Weights files in the format ``mnemoscope train`` writes (safetensors + build metadata)."""
    store = RunDir(tmp_path_factory.mktemp("checkpoints"))
    paths = []
    for seed in range(4):
        net = network(seed)
        store.save_checkpoint(f"net{seed}", net.state_dict(), {"network": json.dumps(net.config)})
        paths.append(store.checkpoint_path(f"net{seed}"))
    return paths


def test_the_docstring_states_the_default_tap_the_code_uses():
    import inspect

    from mnemoscope.measure.alignment import resolve_tap

    doc = " ".join(scoring.__doc__.split())
    assert inspect.signature(scoring.score).parameters["tap"].default == "auto"
    assert "(``auto`` by default:" in doc
    convnet = resolve_tap(network(0), "auto")
    vit = resolve_tap(models.build("vit-tiny", in_channels=1, image_size=28, patch_size=7), "auto")
    assert f"``{convnet}`` of a convnet" in doc and f"``{vit}`` of a ViT" in doc


def test_score_returns_per_image_scores(images):
    result = scoring.score([network(0), network(1)], [network(2)], images, pairs=2)
    assert result.align_f.shape == (2, 48) and result.align_g.shape == (1, 48)
    np.testing.assert_allclose(result.raw, result.align_g[0] - result.align_f.mean(axis=0))
    assert result.normalized.max() - result.normalized.min() == pytest.approx(1.0)
    frame = result.to_frame()
    assert list(frame.columns) == ["align_f", "align_g", "score_raw", "score_norm"]
    assert result.center == "plain"


def test_score_takes_any_module_and_float_images(images):
    class Flatten(nn.Module):
        def forward(self, x):
            return (x.flatten(1), None)  # like an MAE encoder: a tuple, features first

    floats = images.float() / 255
    result = scoring.score([Flatten()], [Flatten()], floats, augment="gaussian_noise", pairs=2)
    np.testing.assert_array_equal(result.raw, 0.0)
    assert (result.align_f > 0).all()


def test_shared_centering_needs_the_shared_points(images):
    nets = [network(0)], [network(1)]
    with pytest.raises(ValueError, match="needs `shared`"):
        scoring.score(*nets, images, center="shared")
    result = scoring.score(*nets, images, pairs=1, center="shared", shared=np.arange(20))
    assert result.raw[:20].mean() == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="at least one f and one g"):
        scoring.score([], [network(1)], images)


def test_checkpoints_score_like_the_networks_they_hold(images, checkpoints):
    from_files = scoring.score_checkpoints(checkpoints[:2], checkpoints[2:], images, pairs=2)
    in_memory = scoring.score([network(0), network(1)], [network(2), network(3)], images, pairs=2)
    np.testing.assert_allclose(from_files.raw, in_memory.raw, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="not found"):
        scoring.load_encoders(["/nonexistent/net.safetensors"])


def test_command_line_writes_the_score_table(tmp_path, checkpoints):
    out = tmp_path / "scores"
    f0, f1, g0 = (str(path) for path in checkpoints[:3])
    arguments = ["sslmem-score", "--f", f0, "--f", f1, "--g", g0, "--out", str(out),
                 "--count", "24", "--pairs", "2"]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    table = RunDir(out).load_table("sslmem_scores")
    assert list(table.columns) == ["id", "label", "align_f", "align_g", "score_raw", "score_norm"]
    train = data.load("fmnist-mini").train
    assert table["id"].tolist() == train.ids[:24].tolist()
    images = train.images[:24]
    expected = scoring.score_checkpoints(checkpoints[:2], checkpoints[2:3], images, pairs=2)
    np.testing.assert_allclose(table["score_raw"], expected.raw, rtol=1e-5, atol=1e-7)


def test_command_line_names_bad_values(tmp_path, checkpoints):
    arguments = ["sslmem-score", "--f", str(checkpoints[0]), "--g", str(checkpoints[1]),
                 "--out", str(tmp_path / "x"), "--distance", "cosine", "--count", "8"]  # fmt: skip
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 2
    assert "distance='cosine'" in result.output


def test_command_line_scores_the_images_of_an_ids_file(tmp_path, checkpoints):
    train = data.load("fmnist-mini").train
    wanted = [int(train.ids[i]) for i in (7, 3, 30)]
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(map(str, wanted)))
    arguments = ["sslmem-score", "--f", str(checkpoints[0]), "--g", str(checkpoints[1]),
                 "--out", str(tmp_path / "by-ids"), "--ids", str(ids_file), "--pairs", "2"]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    table = RunDir(tmp_path / "by-ids").load_table("sslmem_scores")
    assert table["id"].tolist() == wanted  # in the file's order
    expected = scoring.score_checkpoints(checkpoints[:1], checkpoints[1:2],
                                        train.images[[7, 3, 30]], pairs=2)  # fmt: skip
    np.testing.assert_allclose(table["score_raw"], expected.raw, rtol=1e-5, atol=1e-7)
    ids_file.write_text("1 2 99999999")
    missing = CliRunner().invoke(app, arguments)
    assert missing.exit_code == 2 and "99999999" in missing.output
