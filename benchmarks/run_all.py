"""The long runs behind BENCHMARKS.md: every recipe at its full setting, the experiments at full size, and
the engine-overhead comparison. Prints one JSON line per result and writes runs/bench/results.json.

    python benchmarks/run_all.py [--only mnist-cnn digits-cnn cells cells-warmup0 overhead ...]

About 8.5 hours on 2 CPU cores: the 30-minute character models (pycode-lstm alone, and the LSTM / GRU / RNN
comparisons `cells`, `cells-warmup0` and `cells-best-warmup`, the three cells at once in each), the translation
runs, the sentiment runs (three of the four-member recipe, six single members: over an hour) and the 20-minute
VAE are most of it.
"""
from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ["digits-cnn", "mnist-cnn", "mnist-mlp", "shakespeare-lstm", "pycode-lstm", "sentiment-bilstm",
           "translate-en-es", "translate-en-es-attention",
           "mnist-ae", "mnist-ae-linear", "encoder-838", "mnist-deep-ae", "mnist-sparse-ae", "mnist-contractive-ae",
           "mnist-denoising-ae", "mnist-conv-ae", "mnist-vae", "mnist-vae-2d", "digits-swap-ae",
           "mnist-gan", "mnist-dcgan", "mnist-cgan", "mnist-wgan", "mnist-wgan-gp", "mnist-pix2pix", "mnist-srresnet",
           "mnist-srgan", "digits-cyclegan"]
# extra runs: (folder name, recipe, overrides) -- the comparisons the issues ask for
VARIANTS = [("mnist-deep-ae-nopretrain", "mnist-deep-ae", ["pretrain_epochs=0"]),
            # pix2pix's L1-only baseline; WGAN-GP's stability over 3 seeds (mean +- std of the final FID)
            ("mnist-pix2pix-l1", "mnist-pix2pix", ["gan_weight=0"]),
            ("mnist-wgan-gp-seed1", "mnist-wgan-gp", ["seed=1"]), ("mnist-wgan-gp-seed2", "mnist-wgan-gp", ["seed=2"]),
            # the swap autoencoder's class-kept shares over 3 seeds; the plain DCGAN pair the recipe's depth=1 beats
            ("digits-swap-ae-seed1", "digits-swap-ae", ["seed=1"]), ("digits-swap-ae-seed2", "digits-swap-ae", ["seed=2"]),
            ("mnist-dcgan-plain", "mnist-dcgan", ["depth=0"]),
            # sentiment: the ensemble's seeds 1 and 2 beside the recipe's 0, and a single member (members=1) on
            # seeds 0-5, whose test accuracy moves +-1 point with the seed alone
            *[(f"sentiment-bilstm-seed{s}", "sentiment-bilstm", [f"seed={s}"]) for s in (1, 2)],
            *[(f"sentiment-bilstm-single-seed{s}", "sentiment-bilstm", ["members=1", f"seed={s}"]) for s in range(6)]]
EXPERIMENTS = ["xor", "vanishing-gradients", "rnn-gradients", "long-memory", "lstm-gates", "ae-regularisers",
               "ae-codes"]
# lstm-gates reads the pycode-lstm run trained above when there is one (else it trains its own for 10 minutes)
EXPERIMENT_ARGS = {"lstm-gates": lambda out: ["--run", str(out / "pycode-lstm")] if (out / "pycode-lstm").exists() else []}


def run(cmd: list[str]) -> tuple[float, str]:
    t0 = time.time()
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{done.stderr[-3000:]}")
    return time.time() - t0, done.stdout


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", nargs="+", help="recipes / experiments / 'cells' / 'cells-warmup0' / 'cells-best-warmup' / 'overhead' to run")
    args = p.parse_args()
    out = ROOT / "runs" / "bench"
    out.mkdir(parents=True, exist_ok=True)
    results = []
    nnzoo = [sys.executable, "-m", "nnzoo"]
    want = lambda n: not args.only or n in args.only
    for name, r, overrides in [(r, r, []) for r in RECIPES] + VARIANTS:
        if not want(name):
            continue
        run_dir = out / name
        if run_dir.exists():
            import shutil
            shutil.rmtree(run_dir)
        wall, _ = run(nnzoo + ["train", r, *overrides, "--out", str(run_dir), "--quiet"])
        _, js = run(nnzoo + ["eval", str(run_dir), "--json"])
        res = {"name": name, "command": " ".join(["nnzoo train", r, *overrides]), "wall_seconds": round(wall, 1),
               **json.loads(js)}
        results.append(res)
        print(json.dumps(res), flush=True)
    if want("ae-compare") and (out / "mnist-ae").exists() and (out / "mnist-conv-ae").exists():
        run([sys.executable, "benchmarks/ae_compare.py", str(out / "mnist-ae"), str(out / "mnist-conv-ae"),
             "--out", str(out / "ae_compare.png")])
    if want("gan-figures"):  # the comparisons the GAN issue asks for, from the runs above
        have = lambda *names: all((out / n).exists() for n in names)
        if have("mnist-pix2pix-l1", "mnist-pix2pix"):
            run([sys.executable, "benchmarks/gan_compare.py", str(out / "mnist-pix2pix-l1"), str(out / "mnist-pix2pix"),
                 "--labels", "L1 alone", "L1 + GAN", "--out", str(out / "pix2pix_l1_vs_gan.png")])
        if have("mnist-srresnet", "mnist-srgan"):
            run([sys.executable, "benchmarks/gan_compare.py", str(out / "mnist-srresnet"), str(out / "mnist-srgan"),
                 "--labels", "SRResNet", "SRGAN", "--out", str(out / "sr_compare.png")])
        seeds = [n for n in ("mnist-wgan-gp", "mnist-wgan-gp-seed1", "mnist-wgan-gp-seed2") if have(n)]
        if len(seeds) > 1:
            _, js = run([sys.executable, "benchmarks/gan_seeds.py", *[str(out / n) for n in seeds],
                         "--out", str(out / "wgan_gp_seeds.png")])
            res = {"name": "wgan-gp-seeds", "command": "python benchmarks/gan_seeds.py ...", **json.loads(js)}
            results.append(res)
            print(json.dumps(res), flush=True)
    for e in EXPERIMENTS:
        if not want(e):
            continue
        extra = EXPERIMENT_ARGS.get(e, lambda _: [])(out)
        wall, js = run(nnzoo + ["experiment", e, "--out", str(out / f"experiment-{e}"), "--json", "--quiet"] + extra)
        res = {"name": e, "command": f"nnzoo experiment {e}", "wall_seconds": round(wall, 1), **json.loads(js)}
        results.append(res)
        print(json.dumps(res), flush=True)
    # LSTM vs GRU vs RNN at equal parameters and wall time (30 minutes, the three at once), with the recipes'
    # 2 % learning-rate warm-up, without one, and each at its better one (the LSTM without): the order of the
    # LSTM and the vanilla RNN turns on it
    for name, extra in (("cells", []), ("cells-warmup0", ["--warmup", "0"]),
                        ("cells-best-warmup", ["--warmup", "lstm=0"])):
        if not want(name):
            continue
        import shutil
        shutil.rmtree(out / name, ignore_errors=True)
        cmd = ["benchmarks/cell_comparison.py", *extra, "--out", f"runs/bench/{name}"]
        wall, text = run([sys.executable, *cmd])
        for line in text.splitlines():
            if line.startswith("{"):
                res = {"name": name, "command": "python " + " ".join(cmd), **json.loads(line)}
                results.append(res)
                print(json.dumps(res), flush=True)
    if want("overhead"):
        wall, js = run([sys.executable, "benchmarks/overhead.py"])
        res = {"name": "overhead", "command": "python benchmarks/overhead.py", "wall_seconds": round(wall, 1),
               **json.loads(js)}
        results.append(res)
        print(json.dumps(res), flush=True)
    machine = f"{platform.machine()}, {subprocess.run(['nproc'], capture_output=True, text=True).stdout.strip()} cores"
    (out / "results.json").write_text(json.dumps({"machine": machine, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
