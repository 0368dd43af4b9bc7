#!/usr/bin/env python3
"""Keras files rnnkit writes read back in h5py as Keras reads them, and compute Keras'
numbers: `rnnkit init` a model (with and without biases, sigmoid or hard_sigmoid gates, tanh
or relu cells), `rnnkit export --to keras`, then h5py walks layer_names and weight_names and
numpy runs Keras' equations (tests/fixtures/make_keras_fixtures.py) on the exported weights;
`rnnkit forward` on the same input must agree (a NaN anywhere fails).
Usage: keras_h5py_test.py RNNKIT_BINARY SOURCE_DIR WORK_DIR. Exits 77 (skipped) without h5py."""
import os
import subprocess
import sys

try:
    import h5py
    import numpy as np
except ImportError:
    print("h5py or numpy is missing: skipped")
    sys.exit(77)


def main():
    rnnkit, source, work = sys.argv[1], sys.argv[2], sys.argv[3]
    sys.path.insert(0, os.path.join(source, "tests", "fixtures"))
    sys.path.insert(0, os.path.join(source, "tests", "interop"))
    import make_keras_fixtures as keras
    from safetensors_io import read_safetensors, write_safetensors

    os.makedirs(work, exist_ok=True)
    failures = 0
    hard = ["--recurrent-activation", "hard_sigmoid(alpha=0.2, beta=0.5)"]  # Keras 2's constants
    for index, (cell, args, reset_after) in enumerate([
            ("lstm", [], True), ("gru", [], True), ("gru", ["--gru-reset", "before"], False), ("rnn_tanh", [], True),
            ("lstm", ["--no-bias"] + hard, True), ("gru", ["--no-bias", "--activation", "relu"], True),
            ("gru", ["--gru-reset", "before"] + hard + ["--activation", "relu"], False)]):
        recurrent_activation = "hard_sigmoid" if "--recurrent-activation" in args else "sigmoid"
        activation = "relu" if "relu" in args else "tanh"
        model = os.path.join(work, f"{index}_{cell}.safetensors")
        subprocess.run([rnnkit, "init", "--cell", cell, "--input-size", str(keras.I), "--hidden-size", str(keras.H),
                        "--layers", "2", "--bidirectional", "--preset", "pytorch", "--seed", "3", "-o", model] + args,
                       check=True, stdout=subprocess.DEVNULL)
        h5 = os.path.join(work, f"{index}_{cell}.h5")
        subprocess.run([rnnkit, "export", "--to", "keras", model, "-o", h5], check=True, stdout=subprocess.DEVNULL)
        rng = np.random.default_rng(0)
        x = rng.uniform(-1, 1, (keras.T, keras.B, keras.I))
        seq = x
        with h5py.File(h5, "r") as f:
            layers = [n.decode() for n in f.attrs["layer_names"]]
            for layer in layers:
                names = [n.decode() for n in f[layer].attrs["weight_names"]]
                outs = []
                for d, prefix in enumerate(["forward_", "backward_"]):
                    w = {}
                    for n in names:
                        if f"/{prefix}" in n:
                            w[n.split("/")[-1].split(":")[0]] = f[layer][n][()].astype(np.float64)
                    xin = seq[::-1] if d else seq
                    if "--no-bias" in args and "bias" in w:
                        print(f"{cell} {args}: a bias dataset in a layer exported without biases")
                        failures += 1
                    o, _, _ = keras.run_cell("rnn" if cell == "rnn_tanh" else cell, w, xin, reset_after,
                                             recurrent_activation, activation)
                    outs.append(o[::-1] if d else o)
                seq = np.concatenate(outs, axis=2)
        io = os.path.join(work, f"{index}_{cell}.in.safetensors")
        write_safetensors(io, {"input": x.astype(np.float32)}, {})
        out = os.path.join(work, f"{index}_{cell}.out.safetensors")
        subprocess.run([rnnkit, "forward", model, io, "-o", out], check=True, stdout=subprocess.DEVNULL)
        got = read_safetensors(out)[0]["output"]
        err = float(np.max(np.abs(got - seq)))
        print(f"{cell} {' '.join(args)}: layers {layers}, max |rnnkit - keras| = {err:.2e}")
        if not err <= 2e-5:  # fails on NaN too
            failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
