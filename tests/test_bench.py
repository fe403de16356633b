"""The benchmark runs and its table has its rows with sane numbers (no timing thresholds)."""

import json
import math
import subprocess
import sys

from conftest import ROOT


def test_bench_quick_step_table(tmp_path):
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "-m", "bench", "--quick", "--only", "step", "--json",
                           str(out)], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "| step shipped (416, 64) | ONNX Engine.step + sampling |" in proc.stdout
    rows = json.loads(out.read_text())["rows"]
    names = {(r["section"], r["name"]) for r in rows}
    for label, size in (("shipped", "(416, 64)"), ("seed", "(90, 64)")):
        for name in ("ONNX Engine.step + sampling", "tf.function step + sampling",
                     "music_inference_model predict / 50"):
            assert (f"step {label} {size}", name) in names
        assert (f"50 tokens {label}", "predict_and_sample (Keras)") in names
    assert any(r["section"].startswith("floor") for r in rows)
    for r in rows:
        assert math.isfinite(r["median"]) and r["median"] > 0, r
        if r["ratio"] is not None:
            assert math.isfinite(r["ratio"]) and r["ratio"] > 0, r
