#!/usr/bin/python3
"""Random PyTorch recurrent modules through rnnkit: for each of N configurations drawn with a
fixed seed (cell, layers, directions, projection, bias=True or False, sizes, lengths), Debian's
torch 1.13 builds nn.LSTM / nn.GRU / nn.RNN, its state_dict is written as safetensors (under a
module prefix beside another module's tensor, or bare), `rnnkit import --from pytorch` reads it,
`rnnkit forward` must give torch's output, h_n and c_n (padded sequences through
pack_padded_sequence), and `rnnkit export --to pytorch` must give back every tensor bit for bit.
Usage: pytorch_random_configs_test.py RNNKIT_BINARY SOURCE_DIR WORK_DIR [COUNT]. Exits 77
(skipped) without torch (scripts/install-deps.sh installs python3-torch)."""
import os
import random
import subprocess
import sys

try:
    import numpy as np
    import torch
except ImportError:
    print("torch or numpy is missing (Debian: python3-torch): skipped")
    sys.exit(77)

TOLERANCE = 2e-5  # float32 on both sides, different summation orders, values of order 1


def main():
    rnnkit, source, work = sys.argv[1], sys.argv[2], sys.argv[3]
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 40
    sys.path.insert(0, os.path.join(source, "tests", "fixtures"))
    from safetensors_io import read_safetensors, write_safetensors

    os.makedirs(work, exist_ok=True)
    torch.set_num_threads(1)
    rng = random.Random(2026)
    failures, without_bias = 0, 0
    for k in range(count):
        cell = rng.choice(["lstm", "gru", "rnn_tanh", "rnn_relu"])
        layers, bidirectional, bias = rng.randint(1, 3), rng.random() < 0.5, rng.random() < 0.5
        inputs, hidden = rng.randint(1, 7), rng.randint(2, 9)
        proj = rng.randint(1, hidden - 1) if cell == "lstm" and rng.random() < 0.4 else 0
        steps, batch = rng.randint(1, 8), rng.randint(1, 5)
        lengths = [rng.randint(1, steps) for _ in range(batch)] if rng.random() < 0.5 else None
        prefix = rng.choice(["", "encoder.rnn."])
        without_bias += 0 if bias else 1
        torch.manual_seed(k)
        kwargs = dict(input_size=inputs, hidden_size=hidden, num_layers=layers, bidirectional=bidirectional, bias=bias)
        if cell == "lstm":
            module = torch.nn.LSTM(proj_size=proj, **kwargs)
        elif cell == "gru":
            module = torch.nn.GRU(**kwargs)
        else:
            module = torch.nn.RNN(nonlinearity=cell.split("_")[1], **kwargs)
        with torch.no_grad():
            for p in module.parameters():
                p.uniform_(-0.7, 0.7)
        label = (f"#{k} {cell} I={inputs} H={hidden} P={proj} L={layers} {'bi' if bidirectional else 'uni'} "
                 f"bias={bias} T={steps} B={batch} lengths={lengths} prefix='{prefix}'")
        state = {prefix + name: t.detach().numpy() for name, t in module.state_dict().items()}
        if prefix:  # the rest of the model, which the import leaves alone
            state["head.weight"] = np.ones((2, 3), np.float32)
        base = os.path.join(work, f"{k}")
        write_safetensors(base + ".pt.safetensors", state, {"format": "pt"})
        x = torch.rand(steps, batch, inputs) * 2 - 1
        io = {"input": x.numpy()}
        with torch.no_grad():
            if lengths:
                packed = torch.nn.utils.rnn.pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=False)
                out_packed, final = module(packed)
                output, _ = torch.nn.utils.rnn.pad_packed_sequence(out_packed, total_length=steps)
                io["lengths"] = np.array(lengths, dtype=np.int64)
            else:
                output, final = module(x)
        h_n, c_n = final if cell == "lstm" else (final, None)
        write_safetensors(base + ".in.safetensors", io, {})
        command = [rnnkit, "import", "--from", "pytorch", base + ".pt.safetensors", "-o", base + ".safetensors"]
        if prefix:
            command += ["--prefix", prefix]
        if cell == "rnn_relu":
            command += ["--nonlinearity", "relu"]
        run = lambda *c: subprocess.run(list(c), capture_output=True, text=True)
        steps_done = [run(*command)]
        steps_done.append(run(rnnkit, "forward", base + ".safetensors", base + ".in.safetensors", "-o", base + ".out.safetensors"))
        steps_done.append(run(rnnkit, "export", "--to", "pytorch", base + ".safetensors", "-o", base + ".back.safetensors"))
        broken = [s for s in steps_done if s.returncode != 0]
        if broken:
            print(f"{label}: rnnkit failed: {broken[0].args[1]}: {broken[0].stdout}{broken[0].stderr}")
            failures += 1
            continue
        got = read_safetensors(base + ".out.safetensors")[0]
        worst = 0.0
        for name, want in [("output", output), ("h_n", h_n), ("c_n", c_n)]:
            if want is not None:  # np.max keeps a NaN (Python's max would not), and NaN <= TOLERANCE fails
                worst = float(np.max([worst, np.max(np.abs(got[name].astype(np.float64) - want.numpy()))]))
        back = read_safetensors(base + ".back.safetensors")[0]
        exact = set(back) == {n for n in state if n.startswith(prefix) and n != "head.weight"} and all(
            back[n].dtype == state[n].dtype and back[n].shape == state[n].shape and back[n].tobytes() == state[n].tobytes()
            for n in back)
        ok = worst <= TOLERANCE and exact
        print(f"{label}: max |rnnkit - torch| = {worst:.2e}, export {'bit for bit' if exact else 'DIFFERS'}")
        failures += 0 if ok else 1
    print(f"{count} configurations ({without_bias} with bias=False), {failures} failed")
    if without_bias == 0:
        print("no configuration without biases was drawn")
        failures += 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
