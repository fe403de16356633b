"""One typed schema for the command line and the TOML config: bad values are one line."""

import argparse

import pytest
from conftest import jazz, one_error_line

from jazz_plugin.errors import ConfigError
from jazz_plugin.live.daemon import resolve_options


def resolve(tmp_path, toml: str = "", **cli):
    path = tmp_path / "c.toml"
    path.write_text(toml)
    return resolve_options(argparse.Namespace(config=str(path), cc=[], **cli))


@pytest.mark.parametrize("toml, message", [
    ("seed = -1", "seed"), ('seed = "abc"', "whole number"), ('temperature = "hot"', "number"),
    ('top_k = "many"', "whole number"), ('top_p = "most"', "number"),
    ('thru = "no"', "true or false"),
    ('argmax = "false"', "true or false"), ("top_k = 2.5", "whole number"),
    ("phrase_end = true", "number"), ('api = "oss"', "one of auto"), ("bpm = inf", "finite"),
    ("low = 60\nhigh = 65", "spanning an octave"), ("min_bars = 4\nmax_bars = 2", "max_bars"),
    ("client = 1", "unknown option"),
])
def test_bad_config_values_are_refused_not_coerced(tmp_path, toml, message):
    with pytest.raises(ConfigError, match=message):
        resolve(tmp_path, toml)


def test_config_values_count_unless_the_command_line_gave_the_option(tmp_path):
    o = resolve(tmp_path, 'api = "jack"\nclient_name = "band"\nthru = true\nseed = 7',
                seed="9")
    assert (o.api, o.client_name, o.thru, o.seed) == ("jack", "band", True, 9)
    assert resolve(tmp_path).api == "auto"


@pytest.mark.parametrize("flag, value", [("--seed", "-1"), ("--temperature", "inf"),
                                         ("--top-k", "2.5"), ("--bpm", "fast"),
                                         ("--channel", "17")])
def test_bad_command_line_values_are_one_line(flag, value):
    proc = jazz("run", flag, value, timeout=60)
    line = one_error_line(proc)
    assert flag in line and proc.returncode == 2


def test_help_explains_every_option_and_shows_defaults():
    out = jazz("run", "--help", timeout=60).stdout
    for flag in ("--api", "--mode", "--clock", "-v, --verbose", "-q, --quiet"):
        line = next(ln for ln in out.splitlines() if ln.strip().startswith(flag))
        assert len(line.split(maxsplit=2)) >= 2, line
    flat = " ".join(out.split())
    assert "wilder (default 0.9)" in flat and "(default 0.95)" in flat
    assert "Live controls: MIDI CC" in flat
