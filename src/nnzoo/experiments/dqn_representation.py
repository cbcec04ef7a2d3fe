"""What a DQN's last hidden layer has learned (Mnih et al. 2015, fig. 4): the layer's activity over states from
the agent's own games, mapped to 2-D with t-SNE and coloured by the network's value V(s) = max_a Q(s, a), with
a few of the states drawn beside their points.

Mnih et al.'s claim is that the representation puts states of similar value close together, even where they
look different. Two figures measure it: how well a state's V is predicted by the mean V of its 10 nearest
neighbours in the t-SNE map (R^2, `v_knn10_r2_tsne`), against the same prediction from the 10 nearest states
in the raw input (frames or the state vector, `v_knn10_r2_input`). A map that only kept what the frames look
like would score no better than the input.

The agent: `--run RUN` (a breakout-dqn or cartpole-dqn run, or any DQN run); without it the experiment trains
its own once, breakout-dqn (about an hour on 2 CPU cores, cached for later calls) or, with --quick, a
5,000-step cartpole-dqn (its 256-unit layer stands in for the Nature CNN's 512). States come from greedy
games at epsilon 0.05, as Mnih et al. scored; one in `stride` of them is kept so that successive frames do not
crowd the map.
"""
from __future__ import annotations

import pathlib
import sys

import numpy as np
import torch

from ..errors import UserError

FULL = dict(episodes=10, stride=4, states=3_000)
QUICK = dict(episodes=10, stride=2, states=600)
EPSILON = 0.05
K = 10
SHOWN = 6  # states drawn beside the map, spread over V


def collect(model, spec, episodes: int, stride: int, states: int, seed: int):
    """Greedy play at EPSILON: every `stride`-th state's observation, picture, features and V, up to `states`."""
    from ..data.envs import Envs
    from ..tasks.rl import seed_of
    model.eval()
    envs = Envs(spec, 1, render=not spec.pixels)
    gen = torch.Generator().manual_seed(seed_of(seed, 7))
    obs_kept, pictures, returns = [], [], []
    try:
        for ep in range(episodes):
            obs = envs.reset({0: seed_of(seed, ep)})
            ret, t, ended = 0.0, 0, False
            while not ended:
                if t % stride == 0 and len(obs_kept) < states:
                    obs_kept.append(obs[0].copy())
                    pictures.append(envs.frame(0))
                a = model.act(torch.from_numpy(obs)).numpy()
                if float(torch.rand((), generator=gen)) < EPSILON:
                    a[0] = int(torch.randint(0, spec.n_actions, (), generator=gen))
                st = envs.step(a)
                obs, ret, t, ended = st.obs, ret + float(st.reward[0]), t + 1, bool(st.ended[0])
            returns.append(ret)
    finally:
        envs.close()
    x = torch.from_numpy(np.stack(obs_kept))
    with torch.no_grad():
        feats = torch.cat([model.features(x[i:i + 256]) for i in range(0, len(x), 256)]).float().numpy()
        v = torch.cat([model(x[i:i + 256]).max(1).values for i in range(0, len(x), 256)]).float().numpy()
    return x.numpy(), pictures, feats, v, returns


def knn_r2(points: np.ndarray, v: np.ndarray, k: int = K) -> float:
    """R^2 of predicting each v by the mean v of its k nearest other points (Euclidean)."""
    from sklearn.neighbors import NearestNeighbors
    idx = NearestNeighbors(n_neighbors=k + 1).fit(points).kneighbors(points, return_distance=False)[:, 1:]
    pred = v[idx].mean(1)
    return float(1.0 - ((v - pred) ** 2).sum() / max(((v - v.mean()) ** 2).sum(), 1e-12))


def agent(run_dir: str | None, quick: bool, seed: int, progress: bool):
    """(what the agent is, the model, its environment spec)."""
    from ..data.envs import env_spec
    from ..runs import load_run
    from . import cached_recipe_run
    if run_dir is None:
        from ..data.store import data_root
        recipe, extra = ("cartpole-dqn", ["total_steps=5000", "epochs=1", "test_episodes=20"]) if quick else \
            ("breakout-dqn", [])
        folder = data_root() / "agents" / f"{recipe}{'-quick' if quick else ''}-s{seed}"
        run_dir = str(cached_recipe_run(folder, recipe, extra, seed, progress, f"a {recipe} agent"))
    recipe, mcfg, _, model = load_run(pathlib.Path(run_dir))
    if recipe.task != "rl":
        raise UserError(f"{run_dir} is a {recipe.name} run, not a DQN; give a run of cartpole-dqn or breakout-dqn")
    import json
    doc = json.loads((pathlib.Path(run_dir) / "config.json").read_text())
    return f"{recipe.name} run {run_dir}", model, env_spec(doc["env"])


def crop(img: np.ndarray, margin: int = 12) -> np.ndarray:
    """A rendered RGB picture cut to what differs from its corner's colour (CartPole's cart and pole on white)."""
    fg = np.abs(img.astype(np.int16) - img[0, 0].astype(np.int16)).sum(-1) > 30
    if not fg.any():
        return img
    rows, cols = np.flatnonzero(fg.any(1)), np.flatnonzero(fg.any(0))
    return img[max(rows[0] - margin, 0):rows[-1] + margin, max(cols[0] - margin, 0):cols[-1] + margin]


def picture(fig, z, v, pictures, pixels: bool, title: str):
    from matplotlib.offsetbox import AnnotationBbox, OffsetImage
    ax = fig.add_axes((0.06, 0.19, 0.74, 0.58))
    sc = ax.scatter(z[:, 0], z[:, 1], c=v, s=6, cmap="viridis")
    fig.colorbar(sc, ax=ax, label="V(s) = max_a Q(s, a)")
    # a few states spread over the values, drawn above and below the map (left to right as their points lie)
    order = np.argsort(v)
    shown = order[np.linspace(0, len(v) - 1, SHOWN).round().astype(int)]
    shown = shown[np.argsort(z[shown, 0])]
    for j, i in enumerate(shown):
        img = pictures[i] if pixels else crop(pictures[i])
        box = OffsetImage(img, cmap="gray" if pixels else None, zoom=0.55 if pixels else 90 / max(img.shape[:2]))
        top = j % 2 == 0
        ax.add_artist(AnnotationBbox(box, z[i], xybox=((j + 0.5) / SHOWN, 1.17 if top else -0.17),
                                     xycoords="data", boxcoords="axes fraction", pad=0.15,
                                     arrowprops=dict(arrowstyle="-", color="grey", lw=0.6)))
    fig.suptitle(title, fontsize=8, y=0.99)
    ax.set_xticks([])
    ax.set_yticks([])


def run(out: pathlib.Path, quick: bool = False, seed: int = 0, progress: bool = True,
        run_dir: str | None = None) -> dict:
    from matplotlib.figure import Figure

    from .cnn_features import TSNE_LIBRARY, trustworthiness, tsne_map
    say = (lambda msg: print(f"dqn-representation: {msg}", file=sys.stderr, flush=True)) if progress else \
        (lambda msg: None)
    size = QUICK if quick else FULL
    about, model, spec = agent(run_dir, quick, seed, progress)
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    say(f"playing {size['episodes']} games at epsilon {EPSILON}")
    x, pictures, feats, v, returns = collect(model, spec, size["episodes"], size["stride"], size["states"], seed)
    if len(v) < 2 * K:
        raise UserError(f"only {len(v)} states were collected; use an agent that plays longer games")
    say(f"t-SNE ({TSNE_LIBRARY}) of {len(v):,} states' {feats.shape[1]}-unit layer")
    z = tsne_map(feats, TSNE_LIBRARY, seed, torch.get_num_threads(), "euclidean")
    raw = x.reshape(len(x), -1).astype(np.float32)
    figures = {"agent": about, "states": int(len(v)), "hidden_units": int(feats.shape[1]),
               "mean_return": round(float(np.mean(returns)), 2), "episodes": len(returns),
               "v_min": round(float(v.min()), 3), "v_max": round(float(v.max()), 3),
               "v_knn10_r2_tsne": round(knn_r2(z, v), 4), "v_knn10_r2_input": round(knn_r2(raw, v), 4),
               "tsne_trustworthiness_k10": round(trustworthiness(feats, z), 4)}
    fig = Figure(figsize=(7.5, 7))
    picture(fig, z, v, pictures, spec.pixels,
            f"t-SNE of the last hidden layer ({feats.shape[1]} units), {len(v):,} states of {about.split()[0]}; "
            f"\nV from 10 map neighbours R^2 = {figures['v_knn10_r2_tsne']:.2f} "
            f"(from 10 input neighbours {figures['v_knn10_r2_input']:.2f})")
    path = out / "dqn_representation.png"
    fig.savefig(path, dpi=110)
    summary = (f"{about}: {len(v):,} states, V from 10 neighbours in the t-SNE map R^2 = "
               f"{figures['v_knn10_r2_tsne']:.3f}, in the raw input {figures['v_knn10_r2_input']:.3f}")
    return {"figures": figures, "images": [path.name], "summary": summary}
