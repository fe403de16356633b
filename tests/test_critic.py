"""The search's new parts: the critic, the corpus's feel, likelihood and near-loops, swing."""

import json

import numpy as np
import onnx
import pytest
from conftest import write_csv
from jazz_export.critic import Perceptron
from onnx import TensorProto, helper, numpy_helper
from test_wjazzd import MELODY_HEADER

from jazz_plugin import options
from jazz_plugin.corpus import feel
from jazz_plugin.errors import ConfigError, ModelError
from jazz_plugin.live.player import swing_for_ratio
from jazz_plugin.model.conditioning import COND_WIDTH
from jazz_plugin.model.critic import Critic
from jazz_plugin.model.engine import Engine, default_model_path
from jazz_plugin.model.sampling import Sampler
from jazz_plugin.model.voice import Voice
from jazz_plugin.music import develop
from jazz_plugin.music.codec import Codec, Note
from jazz_plugin.music.distributions import (
    FEATURES_NAME,
    FEATURES_VERSION,
    FEATURES_WIDTH,
    Phrase,
    feature_matrix,
)

CRITIC_META = {"file": "m.critic.onnx", "features": FEATURES_NAME,
               "features_version": FEATURES_VERSION, "width": FEATURES_WIDTH, "phrase_bars": 2}


def busy(start: int) -> Phrase:
    return Phrase([Note(start + 3 * i, 60 + i % 5, 3) for i in range(32)], start, 2)


def calm(start: int) -> Phrase:
    return Phrase([Note(start + 12 * i, 60 + 2 * (i % 3), 12) for i in range(8)], start, 2)


def test_the_critic_learns_runs_as_onnx_and_scores_a_batch_in_one_call(tmp_path):
    human, model = [calm(48 * k) for k in range(20)], [busy(48 * k) for k in range(20)]
    x = np.vstack([feature_matrix(human), feature_matrix(model)])
    y = np.r_[np.ones(20), np.zeros(20)]
    net = Perceptron(FEATURES_WIDTH).fit(x, y)
    path = str(tmp_path / "m.critic.onnx")
    onnx.save(net.to_onnx(), path)
    critic = Critic(path, CRITIC_META)
    got = critic.logits([calm(0), busy(0), calm(96)])
    assert got.shape == (3,)
    assert got[0] > 0 > got[1]  # the soloists' kind of phrase scores higher
    np.testing.assert_allclose(got, net.logits(feature_matrix([calm(0), busy(0), calm(96)])),
                               rtol=1e-4, atol=1e-4)


def test_a_critic_of_other_features_is_refused_in_one_line(tmp_path):
    path = str(tmp_path / "m.critic.onnx")
    onnx.save(Perceptron(FEATURES_WIDTH).to_onnx(), path)
    with pytest.raises(ModelError, match="reads features 'other' v1 width 3; this jazz-plugin "
                                         "makes 'phrase-histograms'"):
        Critic(path, dict(CRITIC_META, features="other", width=3))


def test_a_model_copied_without_its_critic_plays_without_it(tmp_path, capsys):
    model = onnx.load(default_model_path())
    props = {p.key: p.value for p in model.metadata_props}
    props["critic"] = json.dumps(CRITIC_META)
    helper.set_model_props(model, props)
    path = str(tmp_path / "m.onnx")
    onnx.save(model, path)
    assert Engine(path).critic is None
    err = capsys.readouterr().err
    assert "names a critic 'm.critic.onnx' that is not beside it" in err
    assert len(err.strip().splitlines()) == 1
    assert Engine().critic is not None  # the shipped model has its critic beside it


def test_likelihood_and_critic_enter_the_choice():
    a = [Note(0, 60, 6), Note(6, 62, 6)]
    b = [Note(0, 60, 6), Note(6, 64, 6)]
    assert develop.best([a, b], [], None, loglik=[-4.0, -2.0]) == 1
    assert develop.best([a, b], [], None, loglik=[-2.0, -2.1], verdicts=[-5.0, 3.0]) == 1
    assert develop.best([a, b], [], None, loglik=[-2.0, -2.1], verdicts=[-5.0, 3.0],
                        critic=0.0) == 0


def test_echo_target_is_the_soloists_at_develop_one_half():
    t = develop.Targets(echo=0.3)
    assert t.echo_at(0.5) == pytest.approx(0.3)
    assert t.echo_at(0.0) == pytest.approx(develop.ECHO_LOW)
    assert t.echo_at(1.0) == pytest.approx(develop.ECHO_HIGH)
    feel_meta = {"edges": [120, 200], "echo": [0.1, 0.2, 0.3]}
    assert develop.search_targets(feel_meta, 150).echo == 0.2
    assert develop.search_targets(feel_meta, 250).echo == 0.3
    assert develop.search_targets({}, 150) == develop.Targets()


def test_swing_is_measured_from_performed_onsets(tmp_path):
    """Beat, off-beat eighth, next beat: 2/3 and 1/3 of a 0.5 s beat -> ratio 2."""
    rows = []
    for beat in range(1, 5):
        t = (beat - 1) * 0.5
        rows += [[1, beat, 0.5, 4, 2, 0.1, 4, t, 4, "60.0", 0, 1],
                 [1, beat, 0.5, 4, 2, 0.1, 4, t + 1 / 3, 4, "62.0", 0, 2]]
    rows.append([2, 1, 0.5, 4, 1, 0.1, 4, 2.0, 4, "64.0", 0, 1])
    path = write_csv(tmp_path / "melody" / "x_Solo.csv", MELODY_HEADER, rows)
    bpm, ratios = feel.swing_triples(path)
    assert bpm == pytest.approx(120)
    assert len(ratios) == 4 and ratios == pytest.approx([2.0] * 4)


def test_swing_auto_is_an_option_value_and_the_ratio_sets_the_shift():
    assert options.convert("swing", "auto", "command line") is None
    assert options.convert("swing", "0.25", "command line") == 0.25
    assert options.convert("swing", "auto", "in x.toml") is None
    with pytest.raises(ConfigError, match="--swing must be auto or a number, got 'fast'"):
        options.convert("swing", "fast", "command line")
    assert options.RunOptions().swing is None  # auto by default
    assert swing_for_ratio(2.0) == pytest.approx(1.0)  # the triplet's 2:1
    assert swing_for_ratio(1.0) == 0.0 and swing_for_ratio(None) == 0.0
    assert 0.1 < swing_for_ratio(1.15) < 0.25


def constant_model(path: str, probs: np.ndarray) -> str:
    """A step model whose prediction never changes: argmax would loop on it for ever."""
    codec = Codec()
    n, n_a = codec.n_values, 4
    ins = [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", w])
           for name, w in (("x", n), ("cond", COND_WIDTH), ("h", n_a), ("c", n_a))]
    outs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", w])
            for name, w in (("probs", n), ("h_out", n_a), ("c_out", n_a))]
    nodes = [helper.make_node("Mul", ["x", "zero"], ["x0"]),
             helper.make_node("Add", ["x0", "p"], ["probs"]),
             helper.make_node("Identity", ["h"], ["h_out"]),
             helper.make_node("Identity", ["c"], ["c_out"])]
    inits = [numpy_helper.from_array(np.zeros(1, np.float32), "zero"),
             numpy_helper.from_array(probs.astype(np.float32), "p")]
    model = helper.make_model(helper.make_graph(nodes, "g", ins, outs, inits),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    meta = {"codec": "interval-duration", "codec_version": "2", "n_values": str(n),
            "n_a": str(n_a), "tx": "8", "ticks_per_quarter": "12",
            "vocabulary": json.dumps(codec.names), "cond_layout": "relchord12-nextchord12-beat4-"
            "tick12-nochord1", "cond_version": "1", "cond_width": str(COND_WIDTH)}
    helper.set_model_props(model, meta)
    onnx.save(model, path)
    return path


def distinct_grams(tokens: list[int], n: int = 7) -> float:
    """Distinct token n-grams over all of them (1 = no figure of n tokens comes back)."""
    grams = [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]
    return len(set(grams)) / len(grams)


def test_argmax_is_deterministic_and_free_of_near_loops(tmp_path, monkeypatch):
    codec = Codec()
    probs = np.full(codec.n_values, 1e-3)
    for rank, name in enumerate(["n+2/6", "n-1/6", "n+1/6", "n-2/6", "n+3/6"]):
        probs[codec.names.index(name)] = 0.5 / (rank + 1)
    engine = Engine(constant_model(str(tmp_path / "c.onnx"), probs / probs.sum()))

    def line() -> list[int]:
        voice = Voice(engine, Sampler(argmax=True), 36, 96)
        voice.begin(60, 0)
        return [voice.next()[1] for _ in range(200)][-96:]

    first = line()
    assert first == line()  # nothing is drawn
    monkeypatch.setattr("jazz_plugin.model.voice.NEAR_PENALTY", 1.0)  # the exact guard alone
    exact_only = line()
    assert distinct_grams(first) > 2 * distinct_grams(exact_only), (
        distinct_grams(first), distinct_grams(exact_only))
