#!/usr/bin/python3
"""rnnkit against checkpoints that TensorFlow itself wrote: for each real file in
../shared/realfiles/ (beside the repository), the LSTM weights are read with
tests/fixtures/tf_checkpoint_io.py (not rnnkit's reader; every CRC checked), a seeded random
input is run through numpy's LSTM equations, and `rnnkit import --from tf` + `rnnkit forward`
must give the same output, h_n and c_n (max |difference| <= 1e-5; NaN fails).

The equations (tests/fixtures/make_tf1_fixtures.run, tests/fixtures/make_keras_fixtures.run_cell):
  TF1 BasicLSTMCell (also TF 0.x's, which computed the same with forget_bias 1.0 by default):
    i, j, f, o = split([x, h] @ kernel + bias, 4); c = c*sigmoid(f + 1) + sigmoid(i)*tanh(j);
    h = tanh(c)*sigmoid(o)                         (kernel rows: input, then hidden)
  Keras LSTM: i, f, c, o = split(x @ kernel + h @ recurrent_kernel + bias, 4), sigmoid gates,
    tanh cell, no forget bias added.
The files: tf1_pooja-basiclstm (TF 1.14 V2 bundle, passed as its folder with a `checkpoint`
file), tf1_aplain-basiclstm-weights (TF 1.1 names weights/biases, passed as the prefix),
tf2_eparracho-lstm (tf.keras object-based, passed as the .index file), tfv1format_karo-basiclstm
(the V1 format, passed as the file).

Usage: tf_realfiles_test.py RNNKIT_CLI        (or --reference-only: read and compute, no rnnkit)
Prints one line per file; exits 0 if all agree (or the folder is absent), 1 otherwise.
"""
import contextlib
import os
import subprocess
import sys
import tempfile

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "fixtures"))
import make_tf1_fixtures as tf1  # noqa: E402
import tf_checkpoint_io as tfio  # noqa: E402
from safetensors_io import read_safetensors, write_safetensors  # noqa: E402

REALFILES = os.path.join(os.path.dirname(REPO), "shared", "realfiles")
T, B, TOLERANCE = 7, 3, 1e-5
KERAS = "layer_with_weights-0/cell/%s/.ATTRIBUTES/VARIABLE_VALUE"

# (folder, path given to rnnkit, how to read it, (kernel, bias) or Keras, reader's path)
CASES = [
    ("tf1_pooja-basiclstm", "tf1_pooja-basiclstm/model", "bundle",
     ("rnn/basic_lstm_cell/kernel", "rnn/basic_lstm_cell/bias"), "tf1_pooja-basiclstm/model/model.ckpt"),
    ("tf1_aplain-basiclstm-weights", "tf1_aplain-basiclstm-weights/model.ckpt", "bundle",
     ("rnn/basic_lstm_cell/weights", "rnn/basic_lstm_cell/biases"), "tf1_aplain-basiclstm-weights/model.ckpt"),
    ("tf2_eparracho-lstm", "tf2_eparracho-lstm/training_1/cp.ckpt.index", "bundle", "keras",
     "tf2_eparracho-lstm/training_1/cp.ckpt"),
    ("tfv1format_karo-basiclstm", "tfv1format_karo-basiclstm/save/model.ckpt", "v1",
     ("RNN/BasicLSTMCell/Linear/Matrix", "RNN/BasicLSTMCell/Linear/Bias"), "tfv1format_karo-basiclstm/save/model.ckpt"),
]


@contextlib.contextmanager
def hidden_size(module, h):
    """The fixture modules size their states by a module-level H (5); set it for one run."""
    saved = module.H
    module.H = h
    try:
        yield
    finally:
        module.H = saved


def reference(case, rng):
    """(input float32 [T, B, I], {output, h_n, c_n} float64) for one real file."""
    folder, _, kind, weights, reader_path = case
    path = os.path.join(REALFILES, reader_path)
    values = tfio.read_bundle(path) if kind == "bundle" else tfio.read_v1(path)
    if weights == "keras":
        import make_keras_fixtures as keras  # needs python3-h5py

        w = {k: values[KERAS % k].astype(np.float64) for k in ("kernel", "recurrent_kernel", "bias")}
        h = w["recurrent_kernel"].shape[0]
        x = rng.uniform(-1, 1, (T, B, w["kernel"].shape[0])).astype(np.float32)
        with hidden_size(keras, h):
            out, hn, cn = keras.run_cell("lstm", w, x.astype(np.float64))
    else:
        w = {"kernel": values[weights[0]].astype(np.float64), "bias": values[weights[1]].astype(np.float64)}
        h = w["bias"].shape[0] // 4
        x = rng.uniform(-1, 1, (T, B, w["kernel"].shape[0] - h)).astype(np.float32)
        with hidden_size(tf1, h):
            out, hn, cn = tf1.run("lstm", w, x.astype(np.float64), 1.0, {})
    return x, {"output": out, "h_n": hn[None], "c_n": cn[None]}


def run_rnnkit(cli, case, x, work):
    """rnnkit's {output, h_n, c_n} for the case's file and input."""
    model, inputs, outputs = (os.path.join(work, n) for n in ("m.safetensors", "in.safetensors", "out.safetensors"))
    write_safetensors(inputs, {"input": x}, {})
    for command in ([cli, "import", "--from", "tf", os.path.join(REALFILES, case[1]), "-o", model],
                    [cli, "forward", model, inputs, "-o", outputs]):
        done = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if done.returncode != 0:
            raise RuntimeError("%s exited %d: %s" % (" ".join(command[1:3]), done.returncode,
                                                      done.stdout.decode(errors="replace").strip()))
    return read_safetensors(outputs)[0]


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    cli = None if sys.argv[1] == "--reference-only" else sys.argv[1]
    if not os.path.isdir(REALFILES):
        print("skipped: ../shared/realfiles/ is absent")
        return 77  # ctest: skipped
    failures = 0
    for seed, case in enumerate(CASES):
        given = os.path.join(REALFILES, case[1])
        if not (os.path.exists(given) or os.path.exists(given + ".index")):
            print("%s: FAIL, %s is missing" % (case[0], case[1]))
            failures += 1
            continue
        try:
            x, want = reference(case, np.random.default_rng(seed))
            if cli is None:
                finite = all(np.isfinite(v).all() for v in want.values())
                print("%s: read (CRCs OK), reference computed: input %s, output %s%s" % (
                    case[0], list(x.shape), list(want["output"].shape), "" if finite else ", NOT FINITE"))
                failures += not finite
                continue
            with tempfile.TemporaryDirectory() as work:
                got = run_rnnkit(cli, case, x, work)
        except (RuntimeError, tfio.CheckpointError, KeyError) as error:
            print("%s: FAIL, %s" % (case[0], error))
            failures += 1
            continue
        diffs, bad = [], False
        for name, expected in want.items():
            actual = got.get(name)
            if actual is None or actual.shape != expected.shape:
                diffs.append("%s %s" % (name, "missing" if actual is None else "shape %s" % (list(actual.shape),)))
                bad = True
                continue
            diff = float(np.max(np.abs(actual.astype(np.float64) - expected)))
            bad = bad or not (diff <= TOLERANCE)
            diffs.append("%s %.2e" % (name, diff))
        print("%s: %s, max |diff| %s" % (case[0], "FAIL" if bad else "OK", ", ".join(diffs)))
        failures += bad
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
