"""Real distributed training: two MultiWorkerMirroredStrategy workers as two processes on
127.0.0.1 ports, MirroredStrategy over two local devices (logical CPUs), how the data is
split between them, and an interrupted run resumed. Small models (n_a 16, Tx 16) on the
built-in corpus: each run takes seconds.

Why a tolerance between one worker and two: both compute the gradient of step b as the mean
over the same global batch of windows (see dataset.train_batches), but two workers add
their halves' sums in another order than one worker adds the whole. float32 addition is
not associative, so the two runs differ by rounding (~1e-7 relative a step), which Adam's
later steps carry along. After 3 epochs that is ~1e-6 here; the bound, 1e-4, is still a
hundred times smaller than what one epoch of training changes (checked too), so a real
difference in the data or the arithmetic could not hide under it. The two workers of one
run hold bit-for-bit the same weights: every all-reduce hands each of them the same sums.
"""

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import onnxruntime as ort
import pytest
from conftest import ROOT, jazz, one_error_line
from jazz_export.cluster import local_addresses

SMALL = ["--builtin", "--n-a", "16", "--tx", "16", "--batch-size", "32", "--dropout", "0"]
TOLERANCE = 1e-4  # one worker against two: float summation order only (see the docstring)
RUN_TIMEOUT_S = 300


def start_export(*args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    return subprocess.Popen([sys.executable, "-m", "jazz_plugin.cli", "export", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env=env)


def finish(procs: list[subprocess.Popen], timeout: float = RUN_TIMEOUT_S) -> list[tuple]:
    """Each process's (returncode, stdout, stderr); they must stop by themselves. Their
    pipes are read side by side, so no worker stalls on a full pipe while we wait on
    another."""
    try:
        with ThreadPoolExecutor(len(procs)) as pool:
            outputs = list(pool.map(lambda p: p.communicate(timeout=timeout), procs))
    finally:
        for p in procs:  # only ours, by PID
            if p.poll() is None:
                p.kill()
                p.communicate()
    return [(p.returncode, out, err) for p, (out, err) in zip(procs, outputs)]


def two_workers(tmp_path, *args: str) -> list[tuple]:
    workers = local_addresses(2)
    procs = [start_export(*args, "--workers", workers, "--worker-index", str(i),
                          "--out", str(tmp_path / f"machine{i}")) for i in range(2)]
    return finish(procs)


def arrays(path) -> dict[str, np.ndarray]:
    with np.load(path) as z:
        return {k: z[k] for k in z.files if k != "state"}


def probs(model_path: str) -> np.ndarray:
    """The model's next-token probabilities for a fixed batch of steps."""
    s = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    feeds = {}
    for i in s.get_inputs():
        width = i.shape[1]
        feeds[i.name] = rng.random((8, width), dtype=np.float32)
    return s.run(["probs"], feeds)[0]


@pytest.mark.parametrize("dropout", ["0", "0.3"])
def test_two_workers_on_loopback_agree_and_match_one_worker(tmp_path, dropout):
    opts = [*SMALL[:-1], dropout, "--epochs", "3"]
    (rc0, _, err0), (rc1, _, err1) = two_workers(tmp_path, *opts)
    assert rc0 == 0, err0
    assert rc1 == 0, err1
    assert "training on 2 replicas" in err0 and "Traceback" not in err0 + err1
    chief, other = tmp_path / "machine0", tmp_path / "machine1"
    assert (chief / "model.onnx").exists() and (chief / "model.weights.h5").exists()
    assert not (other / "model.onnx").exists() and not (other / "model.weights.h5").exists()
    assert "the chief writes the model" in err1
    mine = arrays(chief / "checkpoints" / "epoch-00003.npz")
    theirs = arrays(other / "checkpoints" / "worker-1" / "epoch-00003.npz")
    assert mine.keys() == theirs.keys() and len(mine) > 10
    for key in mine:  # model, Adam's moments, best weights: bit for bit
        np.testing.assert_array_equal(mine[key], theirs[key], err_msg=key)
    if dropout != "0":  # the replicas draw the same masks for their own slices: another
        return  # random stream than one worker's, so only the workers' agreement holds

    single = jazz("export", *opts, "--out", str(tmp_path / "single"))
    assert single.returncode == 0, single.stderr
    alone = arrays(tmp_path / "single" / "checkpoints" / "epoch-00003.npz")
    before = arrays(tmp_path / "single" / "checkpoints" / "epoch-00002.npz")
    best = [k for k in mine if k.startswith("best/")]
    gap = max(float(np.abs(mine[k] - alone[k]).max()) for k in best)
    one_epoch = max(float(np.abs(alone[k] - before[k]).max()) for k in best)
    assert gap < TOLERANCE < one_epoch / 100, (gap, one_epoch)
    np.testing.assert_allclose(probs(str(chief / "model.onnx")),
                               probs(str(tmp_path / "single" / "model.onnx")), atol=TOLERANCE)


def test_each_worker_and_each_replica_gets_its_own_slice_of_every_global_batch():
    import tensorflow as tf
    from jazz_export.dataset import SoloRecords, make_dataset, steps_per_epoch, train_batches

    from jazz_plugin.music.codec import Codec

    codec = Codec()
    rng = np.random.default_rng(3)
    solos = [SoloRecords.from_tokens(rng.integers(0, 300, 300).tolist(), codec, name=f"s{i}")
             for i in range(6)]
    ds = make_dataset(solos, codec.n_values, tx=8, seed=0, stride=1)
    toks = ds.records["tokens"]
    start_of = {tuple(toks[s:s + 8]): int(s) for s in ds.train_starts}
    assert len(start_of) == len(ds.train_starts)  # random tokens: every window is unique
    G, steps = 16, steps_per_epoch(ds, 16)

    def windows(context, epochs=(0, 2)):  # the windows of each batch the pipeline gives
        return [[start_of[tuple(x)] for x in np.asarray(X).argmax(-1)]
                for (X, _, _, _), _ in train_batches(ds, G, 4, 7, *epochs, context)]

    whole = windows(None)  # one pipeline, one replica: two epochs of [G] batches
    assert len(whole) == 2 * steps and all(len(b) == G for b in whole)
    assert len(set(sum(whole[:steps], []))) == steps * G  # no window twice in an epoch
    for pipelines, replicas in ((2, 2), (1, 2), (2, 4)):
        parts = [windows(tf.distribute.InputContext(pipelines, i, replicas))
                 for i in range(pipelines)]
        local = replicas // pipelines  # each pipeline hands its replicas batches in turn
        for step, batch in enumerate(whole):
            pieces = [w for part in parts
                      for w in sum(part[step * local:(step + 1) * local], [])]
            assert sorted(pieces) == sorted(batch)  # the same G windows, split up
    later = windows(None, (1, 2))  # epoch 1 alone: what a run resumed after epoch 1 sees
    assert later == whole[steps:] and later != whole[:steps]


MIRRORED = """
import json
import numpy as np
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from jazz_export.corpus import builtin_corpus
from jazz_export.dataset import make_dataset
from jazz_export.train import train
from jazz_plugin.music.codec import Codec
codec = Codec()
ds = make_dataset(builtin_corpus(codec, seed=0, pieces_per_key=2).solos, codec.n_values, tx=16)
kw = dict(epochs=2, seed=0, verbose=False, batch_size=32, dropout=0.0)
two = train(ds, codec.n_values, 16, strategy=tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]),
            **kw)
one = train(ds, codec.n_values, 16, **kw)
w = lambda r: r.LSTM_cell.get_weights() + r.densor.get_weights()
print(json.dumps({"replicas": two.replicas,
                  "gap": max(float(np.abs(a - b).max()) for a, b in zip(w(two), w(one))),
                  "losses": [two.losses, one.losses]}))
"""


def test_mirrored_strategy_over_two_local_devices_trains_like_one_device():
    import json

    proc = subprocess.run([sys.executable, "-c", MIRRORED], capture_output=True, text=True,
                          cwd=ROOT, timeout=RUN_TIMEOUT_S)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["replicas"] == 2
    assert got["gap"] < TOLERANCE, got
    np.testing.assert_allclose(*got["losses"], atol=1e-4)


def test_an_interrupted_training_resumes_exactly_where_it_stopped(tmp_path):
    opts = ["--builtin", "--n-a", "16", "--tx", "16", "--dropout", "0.3", "--epochs", "5"]
    proc = start_export(*opts, "--out", str(tmp_path / "stopped"))
    lines = []
    for line in proc.stderr:  # stop it (as a cluster scheduler would) after epoch 2
        lines.append(line)
        if "epoch    2/5" in line:
            proc.send_signal(signal.SIGTERM)
            break
    rc, _, rest = finish([proc])[0]
    err = "".join(lines) + rest
    assert rc == 130, err
    assert "Traceback" not in err
    assert "interrupted;" in err and "--resume" in err
    done = sorted(os.listdir(tmp_path / "stopped" / "checkpoints"))
    assert done and not (tmp_path / "stopped" / "model.onnx").exists()

    resumed = jazz("export", *opts, "--resume", "--out", str(tmp_path / "stopped"))
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed after epoch" in resumed.stderr
    whole = jazz("export", *opts, "--out", str(tmp_path / "whole"))
    assert whole.returncode == 0, whole.stderr
    a = arrays(tmp_path / "stopped" / "checkpoints" / "epoch-00005.npz")
    b = arrays(tmp_path / "whole" / "checkpoints" / "epoch-00005.npz")
    for key in a:  # dropout's random state and Adam's moments came back too: exactly
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)
    np.testing.assert_array_equal(probs(str(tmp_path / "stopped" / "model.onnx")),
                                  probs(str(tmp_path / "whole" / "model.onnx")))


def test_resume_without_a_matching_checkpoint_is_one_line(tmp_path):
    out = str(tmp_path / "m")
    line = one_error_line(jazz("export", *SMALL, "--epochs", "1", "--resume", "--out", out))
    assert "no checkpoint in" in line and "drop --resume" in line
    assert jazz("export", *SMALL, "--epochs", "2", "--out", out).returncode == 0
    line = one_error_line(jazz("export", *SMALL[:1], "--n-a", "8", *SMALL[3:], "--epochs", "3",
                               "--resume", "--out", out))
    assert "from another run" in line and "n_a 16" in line
    line = one_error_line(jazz("export", *SMALL, "--epochs", "1", "--resume", "--out", out))
    assert "has 2 epochs, more than --epochs 1" in line


def test_resume_after_the_last_epoch_exports_the_checkpoint_without_training(tmp_path):
    out = tmp_path / "m"
    assert jazz("export", *SMALL, "--epochs", "2", "--out", str(out)).returncode == 0
    first = probs(str(out / "model.onnx"))
    (out / "model.onnx").unlink()  # as if the run had died while scoring or writing
    again = jazz("export", *SMALL, "--epochs", "2", "--resume", "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert "all 2 epochs were in the checkpoint" in again.stderr
    assert "epoch    1/2" not in again.stderr and "epoch    2/2" not in again.stderr
    np.testing.assert_array_equal(probs(str(out / "model.onnx")), first)


@pytest.mark.parametrize("option, values, expected", [
    ("--seed", ("0", "1"), "started with different data or options"),
    ("--lr", ("0.01", "0.02"), "started with different data or options"),
    ("--batch-size", ("31", "31"), "does not split evenly over 2 replicas"),
])
def test_workers_with_different_data_or_options_refuse_to_train_together(tmp_path, option,
                                                                          values, expected):
    workers = local_addresses(2)
    procs = [start_export(*SMALL, "--epochs", "1", option, values[i], "--workers", workers,
                          "--worker-index", str(i), "--out", str(tmp_path / f"m{i}"))
             for i in range(2)]
    for rc, out, err in finish(procs):
        proc = subprocess.CompletedProcess([], rc, out, err)
        assert expected in one_error_line(proc)


def test_workers_resume_from_the_newest_epoch_they_all_saved(tmp_path):
    opts = [*SMALL, "--epochs", "3"]
    assert all(r[0] == 0 for r in two_workers(tmp_path, *opts))
    lagging = tmp_path / "machine1" / "checkpoints" / "worker-1"
    (lagging / "epoch-00003.npz").unlink()  # worker 1 died before saving epoch 3
    results = two_workers(tmp_path, *SMALL, "--epochs", "4", "--resume")
    for rc, _, err in results:
        assert rc == 0, err
        assert "resumed after epoch 2" in err
    mine = arrays(tmp_path / "machine0" / "checkpoints" / "epoch-00004.npz")
    theirs = arrays(lagging / "epoch-00004.npz")
    for key in mine:
        np.testing.assert_array_equal(mine[key], theirs[key], err_msg=key)


def test_when_a_worker_dies_the_other_stops_by_itself_with_the_way_on(tmp_path):
    victim = 1
    workers = local_addresses(2)
    procs = [start_export(*SMALL, "--epochs", "500", "--workers", workers, "--worker-index",
                          str(i), "--out", str(tmp_path / f"m{i}")) for i in range(2)]
    survivor = procs[1 - victim]
    try:
        for line in survivor.stderr:
            if "epoch    2/500" in line:
                break
        procs[victim].kill()  # our own process, by PID: a machine lost mid-training
        procs[victim].communicate()
    finally:
        rc, _, err = finish([survivor])[0]
    proc = subprocess.CompletedProcess([], rc, "", err)
    line = one_error_line(proc)
    assert f"worker {victim} stopped or cannot be reached" in line and "--resume" in line
