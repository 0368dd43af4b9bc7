#!/usr/bin/python3
"""rnnkit against PyTorch on the same recurrent configurations, in the same run.

Runs build/bench/rnnkit_bench (Google Benchmark, JSON output), then times PyTorch's
nn.LSTM / nn.GRU (Debian's python3-torch, float32) on the same configurations and
thread counts, and prints per configuration: both times, the ratio PyTorch / rnnkit
(above 1: rnnkit is faster), and GFLOP/s against the sgemm peak measured by the same
benchmark binary. PyTorch is timed in child processes under two environments, as installed
and with OMP_WAIT_POLICY=passive, and its faster time counts: on this 2-core machine Debian's
PyTorch with 2 threads spins OpenMP workers against its OpenBLAS threads and runs up to 10x
slower than with 1 thread unless the workers sleep. GFLOP counts: forward 2*T*B*(I+H)*G*H per layer and direction
(G = 4 for LSTM, 3 for GRU); training (forward + backward) counted as 3x forward.

  /usr/bin/python3 bench/compare.py [--bench build/bench/rnnkit_bench] [--threads 1,2]
                                    [--filter REGEX] [--min-time SECONDS]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

CONFIGS = {  # name: (T, B, I=H, layers, bidirectional)
    "A": (100, 32, 128, 1, False),
    "B": (50, 64, 512, 1, False),
    "C": (25, 64, 1024, 1, False),
    "D": (100, 1, 256, 1, False),
    "E": (50, 64, 512, 2, True),
}
GATES = {"lstm": 4, "gru": 3}


def nominal_flops(cell, config, training):
    steps, batch, size, layers, bi = CONFIGS[config]
    dirs = 2 if bi else 1
    flops = 0
    for layer in range(layers):
        inp = size if layer == 0 else dirs * size
        flops += 2 * steps * batch * (inp + size) * GATES[cell] * size * dirs
    return flops * (3 if training else 1)


def run_rnnkit(binary, threads, pattern, min_time):
    names = "|".join(f"threads:{t}/" for t in threads)
    filt = f"(sgemm|{pattern}).*({names})" if pattern else f".*({names})"
    out = subprocess.run([binary, f"--benchmark_filter={filt}", "--benchmark_format=json",
                          f"--benchmark_min_time={min_time}"], check=True, capture_output=True, text=True)
    times = {}
    for b in json.loads(out.stdout)["benchmarks"]:
        name = b["name"].removesuffix("/real_time")
        scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
        times[name] = b["real_time"] * scale
    return times


def time_torch(torch, cell, config, training, min_time):
    steps, batch, size, layers, bi = CONFIGS[config]
    module = (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(size, size, num_layers=layers, bidirectional=bi)
    x = torch.rand(steps, batch, size) * 2 - 1
    grad = torch.rand(steps, batch, (2 if bi else 1) * size) * 2 - 1

    def once():
        if training:
            xi = x.detach().requires_grad_(True)
            out, _ = module(xi)
            out.backward(grad)
        else:
            with torch.no_grad():
                module(x)

    once()
    once()
    samples = []
    start = time.perf_counter()
    while len(samples) < 3 or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        once()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


TORCH_ENVIRONMENTS = {"as installed": {}, "OMP_WAIT_POLICY=passive": {"OMP_WAIT_POLICY": "passive"}}


def torch_worker(names, min_time):
    """In a child process: time PyTorch on the benchmark names given, print JSON {name: seconds}."""
    import torch
    times = {}
    for name in names:
        cell, config, mode, threads = re.fullmatch(r"recurrent/(\w+)/(\w)/(\w+)/threads:(\d+)", name).groups()
        torch.set_num_threads(int(threads))
        times[name] = time_torch(torch, cell, config, mode == "training", min_time)
    print(json.dumps(times))


def run_torch(names, min_time):
    """The faster of PyTorch's times under TORCH_ENVIRONMENTS, and which environment gave it."""
    best = {}
    for label, extra in TORCH_ENVIRONMENTS.items():
        env = dict(os.environ, **extra)
        out = subprocess.run([sys.executable, __file__, "--torch-worker", ",".join(names), "--min-time", str(min_time)],
                             check=True, capture_output=True, text=True, env=env)
        for name, seconds in json.loads(out.stdout).items():
            if name not in best or seconds < best[name][0]:
                best[name] = (seconds, label)
    return best


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bench", default="build/bench/rnnkit_bench")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--filter", default="", help="regex over rnnkit benchmark names, e.g. 'lstm/B'")
    parser.add_argument("--min-time", type=float, default=1.0)
    parser.add_argument("--torch-worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.torch_worker:
        torch_worker(args.torch_worker.split(","), args.min_time)
        return
    try:
        import torch
    except ImportError:
        sys.exit("compare.py: PyTorch not found; run it with Debian's /usr/bin/python3 (package python3-torch)")
    threads = [int(t) for t in args.threads.split(",")]
    rnnkit_times = run_rnnkit(args.bench, threads, args.filter, args.min_time)
    torch_times = run_torch([n for n in rnnkit_times if n.startswith("recurrent/")], args.min_time)
    print(f"PyTorch {torch.__version__}; times are medians (PyTorch, the faster of: "
          f"{', '.join(TORCH_ENVIRONMENTS)}) and means (rnnkit, Google Benchmark)")
    header = f"{'benchmark':34} {'rnnkit ms':>10} {'torch ms':>10} {'torch/rnnkit':>12} " \
             f"{'rnnkit GF/s':>11} {'torch GF/s':>10} {'% of peak':>9}  torch env"
    for t in threads:
        peak_time = rnnkit_times.get(f"sgemm/1024/threads:{t}")
        peak = 2 * 1024 ** 3 / peak_time / 1e9 if peak_time else float("nan")
        print(f"\nthreads {t}: sgemm peak (1024^3, oneDNN) {peak:.1f} GFLOP/s")
        print(header)
        for name, seconds in rnnkit_times.items():
            m = re.fullmatch(rf"recurrent/(\w+)/(\w)/(inference|training)/threads:{t}", name)
            if not m:
                continue
            cell, config, mode = m.groups()
            training = mode == "training"
            torch_seconds, env_label = torch_times[name]
            flops = nominal_flops(cell, config, training)
            ours, theirs = flops / seconds / 1e9, flops / torch_seconds / 1e9
            print(f"{cell + '/' + config + '/' + mode:34} {seconds * 1e3:10.2f} {torch_seconds * 1e3:10.2f} "
                  f"{torch_seconds / seconds:12.2f} {ours:11.1f} {theirs:10.1f} {100 * ours / peak:8.0f}%  {env_label}")


if __name__ == "__main__":
    main()
