"""Running a sweep's runs on an existing dask.distributed cluster (the optional `dask` extra).

Workers train into a temporary directory and send back every file's bytes
(metrics, summary, checkpoint, plots); the client writes the run directories,
so workers need no filesystem shared with it. Workers must have this package
installed (same version); `dask worker` pins BLAS to one thread by default.
"""
import os
import re
import secrets
import shutil
from pathlib import Path

from trainer.config.load import ConfigError
from trainer.errors import describe
from trainer.rundir.layout import PLUGINS
from trainer.sweeps import results as sweep_results
from trainer.sweeps.worker import run_to_bytes

CONNECT_TIMEOUT_S = 10
POLL_S = 0.2  # how often a waiting sweep looks at its stop flag and the scheduler
# protocol://host:port (host a name, IPv4 or [IPv6]); anything else leaves a half-built Client
_ADDRESS = re.compile(r"(tcp|tls|inproc|ucx|ws|wss)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):\d{1,5}")


def connect(address, timeout=None):
    """A distributed.Client for `address`, or a one-line ConfigError. The address is checked
    before the import, so a bad one is refused the same with or without the dask extra."""
    if not _ADDRESS.fullmatch(address):
        raise ConfigError(f"--scheduler {address}: expected a scheduler address such as "
                          "tcp://scheduler-host:8786")
    try:
        from distributed import Client
    except ImportError:
        raise ConfigError(f"--scheduler {address}: needs dask.distributed; install the extra: "
                          "pip install -e '.[dask]'") from None
    seconds = timeout or CONNECT_TIMEOUT_S
    if address.startswith("tcp://"):
        _answers_as_dask(address, seconds)
        _identifies_as_scheduler(address, seconds)
    try:
        return Client(address, timeout=f"{seconds}s", set_as_default=False)
    except (OSError, TimeoutError, ValueError) as e:
        raise ConfigError(f"--scheduler {address}: cannot connect to a Dask scheduler "
                          f"({describe(e)})") from None


def quiet_logs():
    """Silence distributed's loggers: they log every reconnection attempt with a traceback on
    stderr, where the command says in one line what a lost scheduler means."""
    import logging
    for name in ["distributed", *logging.Logger.manager.loggerDict]:
        if name.startswith("distributed"):  # its config gives some their own levels
            logging.getLogger(name).setLevel(logging.CRITICAL)


def _identifies_as_scheduler(address, seconds):
    """Ask it who it is, over Dask's own protocol, within `seconds`, before any Client exists: a
    server that greets like Dask and then stalls left a half-built Client whose clean-up ended
    in a traceback after 20 s. Run in a thread of its own (a notebook's loop may be running)."""
    import asyncio
    import concurrent.futures

    async def ask():
        from distributed.comm import connect as comm_connect
        comm = await comm_connect(address, timeout=seconds)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    pool = concurrent.futures.ThreadPoolExecutor(1)
    try:
        reply = pool.submit(asyncio.run, asyncio.wait_for(ask(), seconds)).result(seconds + 5)
    except (TimeoutError, concurrent.futures.TimeoutError, asyncio.TimeoutError):
        raise ConfigError(f"--scheduler {address}: greets like Dask but gave no answer as a "
                          f"scheduler within {seconds} s") from None
    except Exception as e:  # noqa: BLE001 - whatever the far end did, it is not a scheduler
        raise ConfigError(f"--scheduler {address}: not a working Dask scheduler "
                          f"({describe(e)})") from None
    finally:
        pool.shutdown(wait=False)
    if not isinstance(reply, dict) or reply.get("type") != "Scheduler":
        raise ConfigError(f"--scheduler {address}: something answers there as Dask, but not as "
                          "a scheduler")


def _answers_as_dask(address, seconds):
    """A Dask scheduler speaks first: it sends its handshake (an 8-byte length, then the frame
    count) as soon as a connection is accepted. Anything else (a web server waits for a
    request) would leave the Client's own handshake waiting for ever, whatever its timeout:
    refuse it here, within `seconds`, as a one-line ConfigError."""
    import socket
    import struct
    host, port = address[len("tcp://"):].rsplit(":", 1)
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=seconds) as sock:
            sock.settimeout(seconds)
            head = b""
            while len(head) < 16:
                chunk = sock.recv(16 - len(head))
                if not chunk:
                    break
                head += chunk
    except socket.timeout:
        raise ConfigError(f"--scheduler {address}: no answer as a Dask scheduler within "
                          f"{seconds} s (is it one?)") from None
    except OSError as e:
        raise ConfigError(f"--scheduler {address}: cannot connect to a Dask scheduler "
                          f"({e.strerror or describe(e)})") from None
    frames = struct.unpack("<Q", head[8:16])[0] if len(head) == 16 else 0
    if not 1 <= frames <= 1000:
        raise ConfigError(f"--scheduler {address}: something answers there, but not as a Dask "
                          "scheduler")


class SchedulerLost(Exception):
    """The connection to the Dask scheduler was lost mid-sweep; the runs not written are left
    pending (the sweep finishes them when run again)."""


class NoWorkers(SchedulerLost):
    """The scheduler has had no worker for NO_WORKER_S seconds while runs were left (its only
    worker was killed, without a nanny to restart it): the runs would wait for ever."""


NO_WORKER_S = 30   # how long a sweep waits for a worker to (re)appear before it stops


def run_on_dask(client, todo, sweep_dir, landed, should_stop=None, figures=False):
    """Submit every run, write each run directory as its bytes come back, call landed(point, summary).

    When should_stop() turns true, runs not yet finished are cancelled (no directory is written
    for them, status 'pending'); runs already written stay intact.
    """
    tag = secrets.token_hex(3)
    futures = {client.submit(run_to_bytes, p.cfg.to_dict(), p.cfg.source, p.name, figures,
                             p.cfg.sources(), key=f"sweep-run-{p.name}-{tag}", pure=False): p
               for p in todo}
    from distributed import TimeoutError as DaskTimeout, wait
    from distributed.client import FuturesCancelledError
    left = list(futures)
    import time
    workerless_since = None
    try:
        while left:
            if client.status != "running":  # the scheduler is gone (or going)
                raise SchedulerLost(client.scheduler.address if client.scheduler else "")
            if _workers(client) == 0:   # waiting for no one: say so, rather than for ever
                workerless_since = workerless_since or time.monotonic()
                if time.monotonic() - workerless_since > NO_WORKER_S:
                    raise NoWorkers(client.scheduler.address if client.scheduler else "")
            else:
                workerless_since = None
            try:  # the runs landed since, or none within POLL_S (then look at the stop flag)
                with client.as_current():
                    batch = list(wait(left, timeout=POLL_S, return_when="FIRST_COMPLETED").done)
            except (DaskTimeout, TimeoutError):
                batch = []
            except FuturesCancelledError:  # not by us: the connection to the scheduler dropped
                raise SchedulerLost("") from None
            if any(f.status == "cancelled" for f in batch):  # not by us: the connection dropped
                raise SchedulerLost("")
            left = [f for f in left if f not in batch]
            for f in batch:
                landed(futures[f], _collect(f, Path(sweep_dir) / futures[f].name))
            if left and should_stop and should_stop():
                break
    finally:  # stopped, lost, or a second Ctrl-C: nothing more runs for this sweep
        if left:
            if client.status == "running":
                client.cancel(left)
            for f in left:
                landed(futures[f], {"status": "pending"})


def _workers(client):
    """How many workers the scheduler has, as the client last heard (it asks every 2 s);
    None when unknown."""
    try:
        return len(client.scheduler_info().get("workers", {}))
    except Exception:  # noqa: BLE001 - unknown is not none
        return None


def _collect(future, run_path):
    if future.status != "finished":  # the task itself failed (worker lost, import error)
        error = future.exception()
        return {"status": "failed", "error": describe(error)}
    out = future.result()
    write_run(run_path, out["files"])
    return out["summary"]


def write_run(run_path, files):
    """Write a run directory from {file name: bytes}: into a hidden folder, then one rename.

    An unfinished attempt already in run_path (a Dask worker trains from the start, it
    cannot resume a local checkpoint) is moved aside and deleted only once the new run is in
    place; a symbolic link or file there is never followed or replaced (ValueError)."""
    run_path = Path(run_path)
    if sweep_results.blocked(run_path):
        raise ValueError(sweep_results.blocked(run_path))
    tag = secrets.token_hex(2)
    tmp = run_path.parent / f".{run_path.name}.partial-{tag}"
    old = run_path.parent / f".{run_path.name}.replaced-{tag}"
    tmp.mkdir()
    try:
        for name, data in files.items():
            folder, _, base = name.rpartition("/")   # plugins/NAME: the sources' copies
            if folder not in ("", PLUGINS) or Path(base).name != base or base.startswith(".") \
                    or not base:
                raise ValueError(f"refusing file name {name!r} from a worker")
            if folder:
                (tmp / folder).mkdir(exist_ok=True)
            (tmp / name).write_bytes(data)
        if run_path.is_dir():
            os.rename(run_path, old)
        os.rename(tmp, run_path)
    except BaseException:
        if old.is_dir() and not run_path.exists():
            os.rename(old, run_path)  # the earlier attempt stays as it was
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
