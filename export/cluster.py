"""Where this training process stands in a cluster, and the tf.distribute strategy for it.

One process on one device needs nothing. Several local GPUs get `MirroredStrategy`. Several
processes, on one machine or many, get `MultiWorkerMirroredStrategy`, configured the
standard way by the `TF_CONFIG` environment variable; `--workers` and `--worker-index`
write that variable for you. The chief (the "chief" task, or else worker 0) alone writes
the model files; every worker keeps its own checkpoints.
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from jazz_plugin.errors import ConfigError, JazzError

if TYPE_CHECKING:
    import tensorflow as tf

# A collective waits this long for the other workers before the run fails with an error
# instead of hanging: longer than any pause between two steps (a validation pass, a
# checkpoint), short enough that a dead worker is noticed.
COLLECTIVE_TIMEOUT_S = 600


class ClusterError(JazzError):
    """The cluster failed under a running training: a worker died or cannot be reached."""


LOST = re.compile(r"unhealthy|heartbeat|connection reset|socket closed|failed to connect|"
                  r"unavailable|deadline exceeded", re.IGNORECASE)
TASK = re.compile(r"/job:(worker|chief)/(?:replica:\d+/)?task:(\d+)")


def explain(error: Exception, saved: str, cluster: Cluster | None = None) -> ClusterError:
    """A collective's failure as one line: which worker went, and how to go on (`saved`).

    TensorFlow words it differently depending on who notices first: the coordination
    service ("tasks are unhealthy (stopped sending heartbeats)") or the collective's own
    connection ("Connection reset by peer ... remote target /job:worker/replica:0/task:1").
    Workers are named by their place in the cluster (the chief is 0), as in our logs.
    """
    message = str(getattr(error, "message", error))
    chiefs = cluster.chiefs if cluster is not None else 0
    places = {int(task) + (chiefs if job == "worker" else 0) for job, task in TASK.findall(message)}
    tasks = sorted(places - {cluster.index if cluster is not None else None})
    lost = LOST.search(message) or type(error).__name__ in (
        "UnavailableError", "AbortedError", "CancelledError", "DeadlineExceededError")
    if lost:
        names = ", ".join(map(str, tasks))
        who = (f"worker {names} stopped or cannot be reached" if tasks
               else "a worker stopped or cannot be reached")
    else:
        lines = [ln.strip() for ln in message.splitlines()
                 if ln.strip() and not ln.startswith("Graph execution error")]
        who = lines[0][:160] if lines else type(error).__name__
    return ClusterError(f"training stopped: {who}; {saved}")


@dataclass(frozen=True)
class Cluster:
    """The cluster's task addresses (the chief first) and this process's place in it."""

    addresses: tuple[str, ...]
    index: int  # into `addresses`
    chiefs: int = 0  # 1 when TF_CONFIG names a "chief" task (then worker i is place i + 1)

    @property
    def size(self) -> int:
        return len(self.addresses)

    @property
    def chief(self) -> bool:
        return self.index == 0

    def label(self) -> str:
        """How the log names this process: "worker 1 of 2"."""
        return f"worker {self.index} of {self.size}"


def _address(text: str, where: str) -> str:
    host, sep, port = text.strip().rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{where}: {text!r} is not HOST:PORT (for example 10.0.0.2:2222)")
    return f"{host}:{int(port)}"


def from_options(workers: str | None, worker_index: int | None,
                 environ: Mapping[str, str] = os.environ) -> Cluster | None:
    """The cluster that `--workers`/`--worker-index` or TF_CONFIG describe; None for one
    process on its own. Every mistake is one line naming what was expected."""
    tf_config = environ.get("TF_CONFIG", "").strip()
    if workers is None:
        if worker_index is not None:
            raise ConfigError("--worker-index needs --workers HOST:PORT,HOST:PORT,...")
        return _from_tf_config(tf_config) if tf_config else None
    if tf_config:
        raise ConfigError("the cluster is given twice: by TF_CONFIG and by --workers; "
                          "keep one")
    addresses = tuple(_address(a, "--workers") for a in workers.split(",") if a.strip())
    if not addresses:
        raise ConfigError("--workers: expected HOST:PORT,HOST:PORT,... (the chief first)")
    if len(set(addresses)) != len(addresses):
        raise ConfigError(f"--workers: an address is listed twice in {','.join(addresses)}")
    if worker_index is None:
        raise ConfigError("--workers needs --worker-index N: this process's place in the "
                          "list, 0 for the chief")
    if not 0 <= worker_index < len(addresses):
        raise ConfigError(f"--worker-index {worker_index}: expected 0 to "
                          f"{len(addresses) - 1} for {len(addresses)} workers")
    return Cluster(addresses, worker_index)


def _from_tf_config(text: str) -> Cluster:
    try:
        config = json.loads(text)
        spec, task = config["cluster"], config["task"]
        kind, index = str(task["type"]), int(task["index"])
    except (ValueError, TypeError, KeyError):
        raise ConfigError('TF_CONFIG: expected JSON like {"cluster": {"worker": '
                          '["host:port", ...]}, "task": {"type": "worker", "index": 0}}'
                          ) from None
    unknown = sorted(set(spec) - {"chief", "worker"})
    if unknown or kind not in ("chief", "worker"):
        raise ConfigError(f"TF_CONFIG: only chief and worker tasks take part in "
                          f"MultiWorkerMirroredStrategy, not {', '.join(unknown) or kind}")
    chief = [_address(a, "TF_CONFIG chief") for a in spec.get("chief", [])]
    workers = [_address(a, "TF_CONFIG worker") for a in spec.get("worker", [])]
    if len(chief) > 1:
        raise ConfigError("TF_CONFIG: a cluster has at most one chief")
    tasks = chief + workers
    position = index if kind == "chief" else len(chief) + index
    if not tasks or (kind == "chief" and index != 0) or not 0 <= position < len(tasks):
        raise ConfigError(f"TF_CONFIG: task {kind} {index} is not in the cluster")
    return Cluster(tuple(tasks), position, len(chief))


def local_addresses(n: int) -> str:
    """A --workers value of n free ports on 127.0.0.1: a cluster on this machine only
    (tests and benchmarks; the ports are free now, a moment later they may not be)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return ",".join(f"127.0.0.1:{s.getsockname()[1]}" for s in socks)
    finally:
        for s in socks:
            s.close()


def tf_config_json(cluster: Cluster) -> str:
    """The TF_CONFIG that --workers/--worker-index stand for: every task a worker."""
    return json.dumps({"cluster": {"worker": list(cluster.addresses)},
                       "task": {"type": "worker", "index": cluster.index}})


def make_strategy(cluster: Cluster | None) -> tf.distribute.Strategy:
    """The tf.distribute strategy for this process; create it before any TensorFlow op.

    Several workers: MultiWorkerMirroredStrategy (TF_CONFIG is written from `cluster` when
    the options gave it). One process with several GPUs: MirroredStrategy over them.
    Otherwise TensorFlow's default strategy: no replicas, no copies.
    """
    import tensorflow as tf

    if cluster is not None and cluster.size > 1:
        if not os.environ.get("TF_CONFIG", "").strip():
            os.environ["TF_CONFIG"] = tf_config_json(cluster)
        options = tf.distribute.experimental.CommunicationOptions(
            timeout_seconds=COLLECTIVE_TIMEOUT_S)
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    if len(tf.config.list_logical_devices("GPU")) > 1:
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def agree(strategy: tf.distribute.Strategy, values: list[int]) -> list[list[int]]:
    """Every replica's `values` (small non-negative ints), gathered by a collective.

    The workers use it to check that they train the same data and resume from the same
    epoch before the first step, instead of mixing two runs' gradients.
    """
    import tensorflow as tf

    if strategy.num_replicas_in_sync == 1:
        return [list(values)]
    row = tf.constant([values], tf.int64)  # [1, len(values)]

    @tf.function
    def gather():
        return strategy.gather(strategy.run(lambda: tf.identity(row)), axis=0)

    return gather().numpy().tolist()
