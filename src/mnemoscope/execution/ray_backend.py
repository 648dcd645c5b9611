"""The ``ray`` backend: one Ray core task per run (``pip install mnemoscope[ray]``).

Each task asks for ``num_cpus`` and ``num_gpus`` (fractions let runs share a GPU); a task whose
worker dies is retried ``retries`` times and resumes from the run's last checkpoint. ``address``:
``auto`` joins the cluster this machine belongs to, ``host:port`` a given one, None starts a
local Ray instance of its own for the duration of ``train_all``.

Token authentication (Ray's ``RAY_AUTH_MODE``, ``RAY_AUTH_TOKEN``, ``RAY_AUTH_TOKEN_PATH``,
``~/.ray/auth_token``): Ray's own ``ray.init()`` of a local instance turns it on and, finding
no token, writes one to ``~/.ray/auth_token``; every later ``ray start --head`` on the machine
then turns it on with that file, while a driver given the cluster's address presents no token
unless ``RAY_AUTH_MODE=token``. So the local instance here gets a token of its own that lives in
this process's environment only (the user's home is neither read nor written), and a cluster
that refuses this driver's token is reported at once, with the fix, instead of after
``ray.init``'s 20 s of retries.
"""

from __future__ import annotations

import contextlib
import math
import os
import secrets
import socket
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from mnemoscope.errors import BadInput
from mnemoscope.execution.backends import Backend, read_probe, train_spec
from mnemoscope.training import RunSpec

# What Ray's token authentication reads from the environment.
AUTH_VARIABLES = ("RAY_AUTH_MODE", "RAY_AUTH_TOKEN", "RAY_AUTH_TOKEN_PATH")
# ray.init's options: no dashboard, the workers' output stays in Ray's logs.
QUIET = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}


class RayAuthenticationError(BadInput):
    """A Ray cluster refused this driver's authentication token, or its lack of one."""


def _ray():
    try:
        import ray
    except ImportError:
        raise ImportError("the ray backend needs Ray: pip install 'mnemoscope[ray]'") from None
    return ray


@contextlib.contextmanager
def ray_authentication(**values: str) -> Iterator[None]:
    """Ray's authentication variables (``AUTH_VARIABLES``) exactly ``values`` -- any not given
    unset -- until the block ends, then as they were. Processes started meanwhile (a local
    instance, ``ray start``) inherit them; this process's Ray follows both changes."""
    saved = {name: os.environ.get(name) for name in AUTH_VARIABLES}
    _set_authentication(values)
    try:
        yield
    finally:
        _set_authentication(saved)


def _set_authentication(values: dict[str, str | None]) -> None:
    for name in AUTH_VARIABLES:
        if values.get(name) is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = values[name]
    try:
        from ray._raylet import AuthenticationTokenLoader, Config
    except ImportError:  # a Ray without token authentication: nothing to refresh
        return
    # RayConfig read RAY_AUTH_MODE once and the loader keeps the token it found: refresh both,
    # the config first (as Ray's own reset_auth_token_state does: a gRPC thread still draining
    # must not reload a token that the config still asks for)
    Config.initialize("")
    AuthenticationTokenLoader.instance().reset_cache()


def _check_token(address: str) -> None:
    """Raise ``RayAuthenticationError`` at once when the cluster at ``address`` refuses this
    driver's token (``ray.init`` would retry for 20 s, then say only that it could not
    connect). Anything else wrong with the address is left for ``ray.init`` to report."""
    try:
        from ray._private.authentication.authentication_token_setup import (
            maybe_enable_token_auth_if_token_available,
        )
        from ray._private.services import canonicalize_bootstrap_address
        from ray._raylet import AuthenticationMode, GcsClient, get_authentication_mode
        from ray.exceptions import AuthenticationError
    except ImportError:  # a Ray without token authentication
        return
    if address == "auto":  # as ray.init does next: a cluster found here gets ~/.ray/auth_token
        maybe_enable_token_auth_if_token_available(warn_if_disabled=False)
    try:
        GcsClient(address=canonicalize_bootstrap_address(address))
    except AuthenticationError:
        presented = get_authentication_mode() == AuthenticationMode.TOKEN
        raise RayAuthenticationError(_refused(address, presented)) from None
    except Exception:  # noqa: BLE001 - not found, not up, unreachable: ray.init says which
        return


def _refused(address: str, presented: bool) -> str:
    home_token = Path.home() / ".ray" / "auth_token"
    if presented:
        return (
            f"the Ray cluster at {address} refused this driver's authentication token (read "
            f"from RAY_AUTH_TOKEN, else RAY_AUTH_TOKEN_PATH, else {home_token}): give it the "
            f"cluster's token in one of them ({home_token}, which a local Ray instance writes "
            "when it finds no token, may be stale), or restart the cluster with "
            "RAY_AUTH_MODE=disabled"
        )
    return (
        f"the Ray cluster at {address} requires an authentication token and this driver "
        "presented none (Ray presents one to an address it is given only with "
        "RAY_AUTH_MODE=token). Run with RAY_AUTH_MODE=token and the cluster's token in "
        f"RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or {home_token}; or, if the cluster should not "
        f"need one: `ray start --head` turns authentication on whenever {home_token} exists "
        "(an earlier local Ray instance writes it), so remove that file and restart the "
        "cluster, or restart it with RAY_AUTH_MODE=disabled"
    )


def _unreachable(address: str, error: BaseException) -> str:
    return (f"execution.address (--address) {address!r}: no Ray cluster could be reached there "
            f"({error}); start one ('ray start --head') or leave the address out for a local "
            "instance")  # fmt: skip


def check_reachable(address: str | None, timeout: float = 5.0) -> None:
    """Raise ``BadInput`` at once when nothing accepts a TCP connection at ``address``
    ("host:port"), so that a study refuses before it writes anything into its directory
    (``ray.init`` finds out only after ~30 s of retries, by when the run directory exists).
    Other forms (none, "auto", "ray://...", no port) are left to ``ray.init``."""
    if address is None or "://" in address:
        return
    host, colon, port = address.rpartition(":")
    if not colon or not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as error:
        raise BadInput(_unreachable(address, error)) from None


class Ray(Backend):
    name = "ray"

    def __init__(self, address: str | None = None, cpus_per_run: float = 1.0,
                 gpus_per_run: float = 0.0, retries: int = 2,
                 threads_per_run: int | None = None) -> None:  # fmt: skip
        self.address = address
        self.cpus = cpus_per_run
        self.gpus = gpus_per_run
        self.retries = retries
        self.threads = threads_per_run or max(1, math.floor(cpus_per_run))
        self._started = False
        self._authentication = contextlib.ExitStack()  # the local instance's, until close

    def _connect(self):
        ray = _ray()
        if ray.is_initialized():
            return ray
        if self.address is None:
            self._start_local_instance(ray)
        else:
            _check_token(self.address)
            try:
                ray.init(address=self.address, **QUIET)
            except ConnectionError as error:  # nothing ran: the address is the user's to fix
                raise BadInput(_unreachable(self.address, error)) from error
        self._started = True
        return ray

    def _start_local_instance(self, ray) -> None:
        """A new Ray instance ('local': never a cluster that RAY_ADDRESS or a running ``ray
        start`` names) with a token of its own, unless the user set RAY_AUTH_MODE."""
        if "RAY_AUTH_MODE" not in os.environ:
            # Ray would use ~/.ray/auth_token, writing it if missing: a token only this process
            # and the instance's own processes see keeps the user's home out of it
            token = secrets.token_hex(32)
            self._authentication.enter_context(
                ray_authentication(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token)
            )
        try:
            ray.init(address="local", **QUIET)
        except BaseException:
            self._authentication.close()
            raise

    def probe(self, path: Path) -> str | None:
        ray = self._connect()
        return ray.get(ray.remote(num_cpus=0)(read_probe).remote(str(path)))

    def run(
        self, specs: Sequence[RunSpec], root: Path, done: Callable[[RunSpec], None], **in_process
    ) -> None:  # the in-process options (bundle, progress) do not reach a worker
        ray = self._connect()
        task = ray.remote(train_spec).options(num_cpus=self.cpus, num_gpus=self.gpus,
                                              max_retries=self.retries)  # fmt: skip
        pending = {task.remote(spec.to_json(), str(root), self.threads): spec for spec in specs}
        while pending:
            finished, _ = ray.wait(list(pending), num_returns=1)
            for ref in finished:
                spec = pending.pop(ref)
                ray.get(ref)  # a training error surfaces here
                done(spec)

    def close(self) -> None:
        if self._started:
            _ray().shutdown()
            self._started = False
        self._authentication.close()  # after the shutdown: the instance no longer needs it
