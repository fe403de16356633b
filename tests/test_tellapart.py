"""The tell-apart test's parts: distributions, TVD and the grouped classifier."""

import numpy as np
import pytest

from jazz_plugin.music.codec import Note
from jazz_plugin.music.distributions import (
    DISTRIBUTIONS,
    FEATURES_WIDTH,
    Phrase,
    chord_tones_on_1_and_3,
    counts,
    feature_matrix,
    share_on_ticks,
    tvd,
)
from jazz_plugin.music.harmony import Changes, parse_chord
from jazz_plugin.offline.classify import auc, fit_logistic, grouped_auc

C7 = Changes([(0, parse_chord("C7"))], end=10_000)
BY_NAME = {d.name: d for d in DISTRIBUTIONS}


def eighths(start: int, pitches, step: int = 6) -> Phrase:
    return Phrase([Note(start + i * step, p, step) for i, p in enumerate(pitches)], start, 1, C7)


def test_each_distribution_bins_what_it_says():
    p = Phrase([Note(0, 60, 6), Note(6, 64, 3), Note(11, 67, 1), Note(24, 70, 12)], 0, 1, C7)
    assert counts([p], BY_NAME["onset position in the beat"]).tolist()[:12] == \
        [2, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]
    assert share_on_ticks([p], (5, 11)) == pytest.approx(1 / 4)
    ioi = counts([p], BY_NAME["inter-onset interval"])
    assert ioi.sum() == 3 and ioi[5] == 1 and ioi[4] == 1  # IOIs 6 and 5 (classes 6 and 5)
    assert counts([p], BY_NAME["interval"])[12 + 4] == 1  # +4 once
    assert counts([p], BY_NAME["rest between notes"]).tolist()[:3] == [1, 1, 0]  # 0, 2, 12
    assert counts([p], BY_NAME["notes per bar"])[4] == 1
    # beats 1 and 3: C on beat 1 is a chord tone of C7, Bb on beat 3 too
    assert chord_tones_on_1_and_3([p]) == 1.0


def test_tvd_is_zero_for_the_same_shape_and_one_for_disjoint():
    a, b = np.array([1, 2, 0]), np.array([2, 4, 0])
    assert tvd(a, b) == 0.0
    assert tvd(np.array([1, 0]), np.array([0, 3])) == 1.0
    assert np.isnan(tvd(np.zeros(2), b[:2]))


def test_features_are_normalised_histograms_side_by_side():
    x = feature_matrix([eighths(0, [60, 62, 64, 65]), eighths(48, [72])])
    assert x.shape == (2, FEATURES_WIDTH)
    starts = np.cumsum([0] + [d.bins for d in DISTRIBUTIONS])
    for i, d in enumerate(DISTRIBUTIONS):
        block = x[0, starts[i]:starts[i + 1]]
        assert block.sum() == pytest.approx(1.0) or (block.sum() == 0 and d.kind == "pitch")


def test_auc_counts_ties_as_half():
    y = np.array([1, 1, 0, 0])
    assert auc(np.array([3.0, 2.0, 1.0, 0.0]), y) == 1.0
    assert auc(np.array([0.0, 1.0, 2.0, 3.0]), y) == 0.0
    assert auc(np.ones(4), y) == 0.5


def test_the_classifier_tells_apart_what_differs_and_not_what_does_not():
    rng = np.random.default_rng(0)
    groups = np.repeat(np.arange(40), 10)  # 40 "solos" of 10 phrases
    y = (groups % 2).astype(float)  # a whole solo is one side, as in the test
    same = rng.normal(size=(400, 6))
    apart = same + y[:, None] * 1.5
    assert grouped_auc(apart, y, groups) > 0.9
    assert abs(grouped_auc(same, y, groups) - 0.5) < 0.15
    w = fit_logistic(apart, y)
    assert w.shape == (7,) and (w[:-1] > 0).all()


def test_folds_never_split_a_solo():
    """A solo-specific feature (one value per solo) must not leak into held-out folds."""
    rng = np.random.default_rng(1)
    groups = np.repeat(np.arange(30), 8)
    y = (groups % 2).astype(float)
    solo_id = rng.normal(size=30)[groups][:, None]  # knows the solo, not the side
    assert grouped_auc(solo_id, y, groups) < 0.75
