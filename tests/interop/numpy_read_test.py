#!/usr/bin/env python3
"""Files rnnkit writes load in other readers: a few lines of numpy read an rnnkit
checkpoint (safetensors layout by hand) and check shapes, dtypes, metadata and values
(the keras preset's forget bias block is exactly 1, weight_hh is orthogonal).
Usage: numpy_read_test.py RNNKIT_BINARY WORK_DIR. Exits 77 (skipped) without numpy."""
import json
import os
import subprocess
import sys

try:
    import numpy as np
except ImportError:
    print("numpy is missing: skipped")
    sys.exit(77)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
from safetensors_io import read_safetensors  # noqa: E402


def main():
    binary, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    path = os.path.join(work, "lstm.safetensors")
    subprocess.run([binary, "init", "--cell", "lstm", "--input-size", "3", "--hidden-size", "5", "--layers", "2",
                    "--seed", "3", "-o", path], check=True, stdout=subprocess.DEVNULL)
    tensors, metadata = read_safetensors(path)
    failures = []

    def check(condition, what):
        if not condition:
            failures.append(what)

    check(len(tensors) == 8, f"8 tensors, got {len(tensors)}")
    check(tensors["lstm/l0/fw/weight_ih"].shape == (20, 3), "weight_ih l0 shape")
    check(tensors["lstm/l1/fw/weight_ih"].shape == (20, 5), "weight_ih l1 shape")
    check(tensors["lstm/l0/fw/weight_ih"].dtype == np.float32, "float32")
    bias = tensors["lstm/l0/fw/bias_ih"]
    check(np.array_equal(bias[5:10], np.ones(5, np.float32)), "forget bias block is 1")
    check(np.array_equal(bias[:5], np.zeros(5, np.float32)), "input gate bias is 0")
    hh = tensors["lstm/l0/fw/weight_hh"].astype(np.float64)
    check(np.allclose(hh.T @ hh, np.eye(5), atol=1e-5), "weight_hh has orthonormal columns")
    variables = json.loads(metadata["rnnkit.variables"])
    check(variables["lstm/l0/fw/weight_hh"]["init"] == "orthogonal(gain=1.0, version=2)", "init spec in metadata")
    check(metadata["rnnkit.seed"] == "3", "seed in metadata")
    for f in failures:
        print("FAILED:", f)
    print(f"numpy: {1 if not failures else 0} passed, {1 if failures else 0} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
