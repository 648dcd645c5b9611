from typing import Literal

from pydantic import BaseModel, Field

from mnemoscope.config_docs import config_rows, markdown
from mnemoscope.training import TrainConfig


def test_every_train_key_is_documented_with_its_default():
    rows = {row["key"]: row for row in config_rows(TrainConfig)}
    assert rows["optim.lr"]["default"] == "0.001"
    assert rows["epochs"]["default"] == "10"
    assert rows["objective[name=simclr].temperature"]["default"] == "0.07"
    assert rows["objective[name=random_labels].label_noise"]["description"].startswith("fraction")
    assert rows["augment.name"]["default"] == "required"


def test_markdown_escapes_pipes_in_types():
    class Inner(BaseModel):
        size: int | None = Field(3, description="a size")

    class Outer(BaseModel):
        study: Literal["x"] = "x"
        inner: Inner = Field(default_factory=Inner)

    text = markdown(Outer, "x")
    assert "| inner.size | int \\| None | 3 | a size |" in text
