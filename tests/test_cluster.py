"""The cluster options and the checkpoint files, without TensorFlow (see test_distributed.py
for real multi-worker training)."""

import json

import numpy as np
import pytest
from jazz_export.checkpoint import KEEP, Checkpoints, Saved, check_settings
from jazz_export.cluster import Cluster, explain, from_options, local_addresses, tf_config_json

from jazz_plugin.errors import ConfigError


def test_workers_and_index_make_a_cluster_whose_tf_config_names_every_worker():
    c = from_options("127.0.0.1:2222, 10.0.0.2:2223", 1, environ={})
    assert c == Cluster(("127.0.0.1:2222", "10.0.0.2:2223"), 1)
    assert not c.chief and c.size == 2 and c.label() == "worker 1 of 2"
    config = json.loads(tf_config_json(c))
    assert config == {"cluster": {"worker": ["127.0.0.1:2222", "10.0.0.2:2223"]},
                      "task": {"type": "worker", "index": 1}}
    assert from_options(None, None, environ={}) is None  # one process on its own


def test_tf_config_with_a_chief_puts_the_chief_first():
    env = {"TF_CONFIG": json.dumps({"cluster": {"chief": ["a:1"], "worker": ["b:2", "c:3"]},
                                    "task": {"type": "worker", "index": 1}})}
    c = from_options(None, None, environ=env)
    assert c.addresses == ("a:1", "b:2", "c:3") and c.index == 2 and not c.chief
    assert c.chiefs == 1
    env["TF_CONFIG"] = env["TF_CONFIG"].replace('"type": "worker", "index": 1',
                                                '"type": "chief", "index": 0')
    assert from_options(None, None, environ=env).chief


@pytest.mark.parametrize("workers, index, env, expected", [
    ("127.0.0.1:2222,127.0.0.1:2223", None, {}, "--workers needs --worker-index"),
    ("127.0.0.1:2222,127.0.0.1:2223", 2, {}, "expected 0 to 1"),
    ("127.0.0.1:2222,127.0.0.1:2222", 0, {}, "listed twice"),
    ("127.0.0.1", 0, {}, "is not HOST:PORT"),
    ("host:99999", 0, {}, "is not HOST:PORT"),
    (None, 0, {}, "--worker-index needs --workers"),
    ("a:1,b:2", 0, {"TF_CONFIG": "{}"}, "given twice"),
    (None, None, {"TF_CONFIG": "{not json"}, "TF_CONFIG: expected JSON"),
    (None, None, {"TF_CONFIG": json.dumps({"cluster": {"ps": ["a:1"], "worker": ["b:2"]},
                                           "task": {"type": "worker", "index": 0}})},
     "only chief and worker tasks"),
    (None, None, {"TF_CONFIG": json.dumps({"cluster": {"worker": ["b:2"]},
                                           "task": {"type": "worker", "index": 3}})},
     "task worker 3 is not in the cluster"),
])
def test_a_wrong_cluster_is_one_line_naming_what_was_expected(workers, index, env, expected):
    with pytest.raises(ConfigError) as e:
        from_options(workers, index, environ=env)
    assert expected in str(e.value) and "\n" not in str(e.value)


def test_a_dead_worker_reads_as_one_line_with_the_way_on():
    pair = Cluster(("a:1", "b:2"), 0)
    heartbeat = RuntimeError("Collective ops is aborted by: Error reported from "
                             "/job:worker/task:1: The following tasks are unhealthy (stopped "
                             "sending heartbeats):\n/job:worker/replica:0/task:1\nThe tasks "
                             "have crashed.")
    line = str(explain(heartbeat, "3 epochs are saved", pair))
    assert line == ("training stopped: worker 1 stopped or cannot be reached; 3 epochs are "
                    "saved")
    reset = RuntimeError("Graph execution error:\n\nCollective ops is aborted by: recvmsg:"
                         "Connection reset by peer\nAdditional GRPC error information from "
                         "remote target /job:worker/replica:0/task:2 while calling RecvBuf")
    assert str(explain(reset, "2 epochs are saved", Cluster(("a:1", "b:2", "c:3"), 0))) == (
        "training stopped: worker 2 stopped or cannot be reached; 2 epochs are saved")
    other = str(explain(RuntimeError("Graph execution error:\nOut of memory\nmore"), "no "
                                     "epoch was saved"))
    assert other == "training stopped: Out of memory; no epoch was saved"


def test_with_a_chief_task_workers_are_named_by_their_place_in_the_cluster():
    # TF_CONFIG with a chief: chief 0 is place 0, worker 0 is place 1, worker 1 place 2
    me = Cluster(("chief:1", "w0:2", "w1:3"), 1, chiefs=1)  # this process: worker 0
    lost = RuntimeError("unhealthy (stopped sending heartbeats): /job:worker/replica:0/task:1"
                        " and /job:worker/replica:0/task:0")
    assert "worker 2 stopped" in str(explain(lost, "", me))
    chief_lost = RuntimeError("Connection reset by peer from /job:chief/replica:0/task:0")
    assert "worker 0 stopped" in str(explain(chief_lost, "", me))


def _saved(epoch: int, settings: dict | None = None) -> Saved:
    rng = np.random.default_rng(epoch)
    return Saved(epoch, {"model": [rng.normal(size=(3, 4)).astype(np.float32), np.arange(3)],
                         "optimizer": [np.float32(epoch)], "best": [np.ones(2)]},
                 {"losses": [1.0] * epoch, "settings": settings or {"n_a": 8, "data": "ab"}})


def test_checkpoints_keep_the_last_epochs_and_read_back_exactly(tmp_path):
    cp = Checkpoints(str(tmp_path / "cp"))
    assert cp.epochs() == [] and cp.readable_epochs() == []
    for epoch in range(1, 5):
        cp.save(_saved(epoch))
    assert cp.epochs() == list(range(5 - KEEP, 5))
    assert not [p for p in (tmp_path / "cp").iterdir() if p.name.endswith(".partial")]
    back, want = cp.load(4), _saved(4)
    assert back.epoch == 4 and back.state == want.state
    for group, arrays in want.arrays.items():
        assert len(back.arrays[group]) == len(arrays)
        for a, b in zip(arrays, back.arrays[group]):
            np.testing.assert_array_equal(a, b)
            assert np.asarray(a).dtype == b.dtype
    cp.clear()
    assert cp.epochs() == []


def test_a_truncated_newest_checkpoint_falls_back_to_the_one_before(tmp_path):
    cp = Checkpoints(str(tmp_path))
    cp.save(_saved(1))
    cp.save(_saved(2))
    with open(cp.path(2), "r+b") as f:
        f.truncate(100)
    assert cp.readable_epochs() == [1]
    with pytest.raises(ConfigError) as e:
        cp.load(2)
    assert "cannot be read" in str(e.value) and "\n" not in str(e.value)


def test_resuming_with_other_settings_or_data_is_refused_in_one_line(tmp_path):
    saved = _saved(3, {"n_a": 8, "data": "ab"})
    check_settings(saved, {"n_a": 8, "data": "ab"}, "cp")  # the same run: fine
    with pytest.raises(ConfigError, match="it has n_a 8, this run asks for 16"):
        check_settings(saved, {"n_a": 16, "data": "ab"}, "cp")
    with pytest.raises(ConfigError, match="the corpus or --tx differ"):
        check_settings(saved, {"n_a": 8, "data": "cd"}, "cp")


def test_local_addresses_are_distinct_loopback_ports_the_options_accept():
    workers = local_addresses(3)
    c = from_options(workers, 2, environ={})
    assert c.size == 3 and all(a.startswith("127.0.0.1:") for a in c.addresses)
