import torch

from mnemoscope.store import RunDir
from mnemoscope.training.checkpoint import (
    TrainState,
    join_tensors,
    load_state,
    save_state,
    split_tensors,
)


def test_split_and_join_keep_integer_keys_and_tensors():
    tree = {
        "state": {0: {"step": torch.tensor(3.0), "exp_avg": torch.ones(2)}},
        "groups": [{"lr": 0.1}],
    }
    tensors: dict[str, torch.Tensor] = {}
    remainder = split_tensors(tree, "optimizer", tensors)
    assert set(tensors) == {"optimizer/state/0/step", "optimizer/state/0/exp_avg"}
    rebuilt = join_tensors(remainder, tensors)
    assert list(rebuilt["state"]) == [0]  # an int, as torch's optimizer expects
    assert torch.equal(rebuilt["state"][0]["exp_avg"], torch.ones(2))
    assert rebuilt["groups"] == [{"lr": 0.1}]


def test_optimizer_state_round_trips_through_a_checkpoint(tmp_path):
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=10)
    model(torch.randn(4, 3)).sum().backward()
    optimizer.step()
    scheduler.step()
    generator = torch.Generator().manual_seed(5)
    state = TrainState(1, model.state_dict(), optimizer.state_dict(), scheduler.state_dict(),
                       generator.get_state(), [{"epoch": 1, "loss": 0.5}])  # fmt: skip
    run = RunDir(tmp_path)
    save_state(run, "last", state, config_key="abc")
    loaded = load_state(run, "last", config_key="abc")
    fresh = torch.optim.Adam(torch.nn.Linear(3, 2).parameters(), lr=0.01)
    fresh.load_state_dict(loaded.optimizer)
    assert torch.equal(
        fresh.state_dict()["state"][0]["exp_avg"], optimizer.state_dict()["state"][0]["exp_avg"]
    )
    assert loaded.scheduler == scheduler.state_dict()
    restored = torch.Generator()
    restored.set_state(loaded.generator)
    assert torch.equal(torch.rand(3, generator=restored), torch.rand(3, generator=generator))
    assert loaded.history == [{"epoch": 1, "loss": 0.5}] and loaded.epoch == 1


def test_resuming_from_another_configs_checkpoint_is_refused(tmp_path):
    import pytest

    run = RunDir(tmp_path)
    save_state(run, "last", TrainState(1, {}, {}, None, torch.Generator().get_state()), "abc")
    with pytest.raises(ValueError, match="belongs to config 'abc'"):
        load_state(run, "last", config_key="xyz")
