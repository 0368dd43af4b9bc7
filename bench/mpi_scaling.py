#!/usr/bin/env python3
"""Data-parallel training over MPI: steps per second and scaling efficiency for N = 1 and 2
ranks on this machine (one thread per rank), what the gradient all-reduce costs against
compute, and a projection for 8 to 64 ranks over typical cluster networks.

Runs `rnnkit train` on a character LSTM (H = 256, T = 64, global batch 32) alone and under
`mpirun -np 2`, reads metrics.jsonl (per-step wall time and all-reduce time, median over the
steps after the first 10), and prints:
  - per N: ms per step, steps/s, all-reduce ms and its share of the step, strong-scaling
    efficiency t(1) / (N t(N)) for the same global batch;
  - a projection for N = 8, 16, 32, 64 with a ring all-reduce of the measured gradient size,
    t_ar = 2 (N-1)/N * bytes / bandwidth + 2 (N-1) * latency, for 10 Gb/s Ethernet (latency
    50 us) and 100 Gb/s InfiniBand (2 us), with each rank keeping this run's per-rank batch
    (weak scaling: compute per step stays t(1)) and no overlap of communication with backward.
Side by side, in the same run: PyTorch's DistributedDataParallel (gloo backend, one thread
per process, the same model shape: embedding 64, LSTM 256, linear head over the same
vocabulary; Adam; the global batch of 32 split across the processes) for 1 and 2 processes,
through the interpreter given by --torch (Debian's python3-torch: /usr/bin/python3).
Standard library only otherwise; needs a build with MPI and mpirun.

  python3 bench/mpi_scaling.py [--rnnkit build/tools/rnnkit/rnnkit] [--steps 80] [--torch /usr/bin/python3]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

CONFIG = """
seed = 1
[model]
hidden_size = 256
embedding_size = 64
[task]
steps = 64
batch_size = 32
[train]
steps = {steps}
log_every = 1000
eval_every = 0
eval_batches = 1
checkpoint_every = 0
"""


def run(rnnkit, ranks, config, run_dir):
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    command = [rnnkit, "train", "--config", config, "--run-dir", run_dir, "--threads", "1"]
    if ranks > 1:
        command = ["mpirun", "--oversubscribe", "-np", str(ranks)] + command
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    records = [json.loads(line) for line in open(os.path.join(run_dir, "metrics.jsonl"))]
    steps = [r for r in records if r["kind"] == "train"][10:]
    return (statistics.median(r["seconds"] for r in steps),
            statistics.median(r.get("allreduce_seconds", 0.0) for r in steps))


TORCH_DDP = r"""
import os, sys, time, statistics
import torch, torch.distributed as dist, torch.multiprocessing as mp

def worker(rank, world, vocab, steps, port, out):
    torch.set_num_threads(1)
    os.environ["MASTER_ADDR"], os.environ["MASTER_PORT"] = "127.0.0.1", str(port)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    torch.manual_seed(1)
    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = torch.nn.Embedding(vocab, 64)
            self.rnn = torch.nn.LSTM(64, 256)
            self.head = torch.nn.Linear(256, vocab)
        def forward(self, x):
            y, _ = self.rnn(self.embedding(x))
            return self.head(y)
    model = torch.nn.parallel.DistributedDataParallel(Model()) if world > 1 else Model()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.003)
    batch = 32 // world
    x = torch.randint(0, vocab, (64, batch)); y = torch.randint(0, vocab, (64, batch))
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        optimizer.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x).reshape(-1, vocab), y.reshape(-1))
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    if rank == 0:
        with open(out, "w") as f:
            f.write(str(statistics.median(times[10:])))
    dist.destroy_process_group()

if __name__ == "__main__":
    world, vocab, steps, port, out = (int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
    mp.spawn(worker, args=(world, vocab, steps, port, out), nprocs=world)
"""


def torch_ms_per_step(python, world, vocab, steps, tmp):
    script = os.path.join(tmp, "ddp.py")
    with open(script, "w") as f:
        f.write(TORCH_DDP)
    out = os.path.join(tmp, f"torch{world}.txt")
    env = dict(os.environ, OMP_NUM_THREADS="1", OMP_WAIT_POLICY="passive")
    subprocess.run([python, script, str(world), str(vocab), str(steps), str(29500 + world), out], check=True, env=env)
    return float(open(out).read())


def vocabulary(run_dir):
    checkpoints = os.path.join(run_dir, "checkpoints")
    with open(os.path.join(checkpoints, sorted(os.listdir(checkpoints))[-1]), "rb") as f:
        header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
    return header["lm/head/bias"]["shape"][0]


def parameter_count(run_dir):
    with open(os.path.join(run_dir, "checkpoints", os.listdir(os.path.join(run_dir, "checkpoints"))[-1]), "rb") as f:
        header = json.loads(f.read(int.from_bytes(f.read(8), "little")))
    total = 0
    for name, entry in header.items():
        if name == "__metadata__" or name.startswith("@"):
            continue
        n = 1
        for d in entry["shape"]:
            n *= d
        total += n
    return total


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rnnkit", default="build/tools/rnnkit/rnnkit")
    p.add_argument("--steps", type=int, default=80)
    p.add_argument("--torch", default="/usr/bin/python3", help="a Python with torch; '' to skip PyTorch")
    a = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = os.path.join(tmp, "c.toml")
        with open(config, "w") as f:
            f.write(CONFIG.format(steps=a.steps))
        results = {n: run(a.rnnkit, n, config, os.path.join(tmp, f"n{n}")) for n in (1, 2)}
        params = parameter_count(os.path.join(tmp, "n1"))
        vocab = vocabulary(os.path.join(tmp, "n1"))
        torch_times = {}
        if a.torch:
            torch_times = {n: torch_ms_per_step(a.torch, n, vocab, a.steps, tmp) for n in (1, 2)}
    grad_bytes = 4 * params
    t1 = results[1][0]
    print(f"character LSTM H=256, T=64, global batch 32; {params} parameters, gradient {grad_bytes / 1e6:.2f} MB; "
          f"median over steps 11..{a.steps}; one thread per rank")
    print("| ranks | ms/step | steps/s | all-reduce ms | all-reduce share | efficiency t(1)/(N t(N)) | "
          "PyTorch DDP ms/step | its efficiency | PyTorch / rnnkit |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n, (t, ar) in results.items():
        row = f"| {n} | {1e3 * t:.1f} | {1 / t:.1f} | {1e3 * ar:.3f} | {100 * ar / t:.1f}% | {t1 / (n * t):.2f} |"
        if torch_times:
            tt = torch_times[n]
            row += f" {1e3 * tt:.1f} | {torch_times[1] / (n * tt):.2f} | {tt / t:.2f} |"
        else:
            row += " - | - | - |"
        print(row)
    print("\nprojection, weak scaling (each rank keeps a batch of 32 and computes for t(1) = "
          f"{1e3 * t1:.1f} ms), ring all-reduce of {grad_bytes / 1e6:.2f} MB, no overlap:")
    print("| ranks | 10 GbE: all-reduce ms | efficiency | 100 Gb/s IB: all-reduce ms | efficiency |")
    print("|---|---|---|---|---|")
    for n in (8, 16, 32, 64):
        row = [str(n)]
        for bandwidth, latency in ((10e9 / 8, 50e-6), (100e9 / 8, 2e-6)):
            t_ar = 2 * (n - 1) / n * grad_bytes / bandwidth + 2 * (n - 1) * latency
            row += [f"{1e3 * t_ar:.2f}", f"{t1 / (t1 + t_ar):.2f}"]
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    sys.exit(main())
