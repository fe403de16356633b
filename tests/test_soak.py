"""60 seconds of stage abuse through real JACK ports (`python -m bench --soak MINUTES` for
longer runs): nothing left hanging, no leak, no error."""

import pytest

from testrig.soak import RSS_GROWTH_LIMIT_MB, report, soak

pytestmark = pytest.mark.usefixtures("jack_server")


def test_soak_60_seconds():
    result = soak(60, seed=1)
    print(report(result))
    assert result.exit_code == 0
    assert result.unmatched == 0
    assert result.rss_growth_mb < RSS_GROWTH_LIMIT_MB
    assert result.errors == []
    assert result.notes_received > 0 and result.actions > 20
    assert result.missed >= 0 and result.dropped >= 0  # the stats line was there to read


def test_soak_30_seconds_with_both_cores_taken_loses_nothing(hogs):
    # two busy processes take both cores (the `hogs` fixture, stopped by their PIDs)
    result = soak(30, seed=2)
    print(report(result))
    assert result.exit_code == 0 and result.errors == []
    assert result.without_off == 0  # every note-on's note-off arrived: nothing lost
    assert result.unmatched == 0 and result.dropped == 0
    assert result.notes_received > 0 and result.actions > 10
