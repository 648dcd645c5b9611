import pytest

from mnemoscope import data


@pytest.fixture(scope="session")
def fmnist():
    return data.load("fmnist-mini")
