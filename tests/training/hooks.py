"""A test-only hook that calls a function: the engine takes ``Hook`` objects only."""

from pydantic import PrivateAttr

from mnemoscope.training import Hook


class FunctionHook(Hook):
    """Calls ``function(network, epoch)``; described by ``label`` alone (in-process tests only:
    the function does not travel with a spec)."""

    label: str
    _function = PrivateAttr(None)

    @classmethod
    def of(cls, function, label: str = "test") -> "FunctionHook":
        hook = cls(label=label)
        hook._function = function
        return hook

    def __call__(self, network, epoch):
        return self._function(network, epoch)
