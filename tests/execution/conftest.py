from tests.training.conftest import fmnist  # noqa: F401 - the shared dataset fixture
