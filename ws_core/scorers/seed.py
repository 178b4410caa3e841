"""The seed notebook's models: one regression on the concatenated photo and text vectors.

Without an interaction term the text only shifts every photo's score by the same amount, so these
rank photos the same way for every query: the leaderboard shows what that costs.
"""
from dataclasses import dataclass

import numpy as np
import torch

from .base import Scorer


def _concat(corpus, img, txt) -> np.ndarray:
    return np.hstack([corpus.features[img], corpus.text_vectors[txt]])


@dataclass
class SeedLinearParams:
    alpha: float = 1.0   # ridge penalty; plain least squares is unstable on 1664 correlated inputs


class SeedLinear(Scorer):
    kind = "linear"
    Params = SeedLinearParams

    def fit(self, corpus, train_pairs, train_photos, seed=0, cache=None):
        # float64: the penalised system's condition is about 1e-8 on the full data, beyond float32's
        # precision (scipy warned "ill-conditioned matrix" once per fold)
        x = _concat(corpus, train_pairs["img"].to_numpy(), train_pairs["txt"].to_numpy()).astype(np.float64)
        mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
        from sklearn.linear_model import Ridge
        model = Ridge(alpha=self.params.alpha).fit((x - mean) / std, train_pairs["target"].to_numpy())
        self.coef = (model.coef_ / std).astype(np.float64)
        self.intercept = float(model.intercept_ - mean @ self.coef)
        return self

    def score(self, corpus, img, txt, cache=None):
        # additive in photo and text: each distinct one is computed once
        n = corpus.features.shape[1]
        u_img, img_inv = np.unique(img, return_inverse=True)
        u_txt, txt_inv = np.unique(txt, return_inverse=True)
        by_img = corpus.features[u_img] @ self.coef[:n]
        by_txt = corpus.text_vectors[u_txt] @ self.coef[n:]
        return np.clip(by_img[img_inv] + by_txt[txt_inv] + self.intercept, 0.0, 1.0)

    def state(self):
        return {"coef": self.coef, "intercept": self.intercept}

    def set_state(self, state):
        self.coef, self.intercept = state["coef"], state["intercept"]


@dataclass
class MLPParams:
    hidden: int = 256        # one hidden layer, as in the seed notebook
    epochs: int = 10
    batch_size: int = 512
    lr: float = 1e-3
    weight_decay: float = 1e-4
    dropout: float = 0.2


def mlp(n_in: int, p: MLPParams) -> torch.nn.Module:
    return torch.nn.Sequential(torch.nn.Linear(n_in, p.hidden), torch.nn.ReLU(),
                               torch.nn.Dropout(p.dropout), torch.nn.Linear(p.hidden, 1),
                               torch.nn.Sigmoid())


class MLPEnsemble(torch.nn.Module):
    """`members` networks shaped like mlp() side by side, run as batched matrix products so that one
    optimiser step trains them all (five: 17 s against 21 s one after another). Each starts
    from the weights torch gives mlp() under its own seed; the output is one column per member."""

    def __init__(self, n_in: int, p: MLPParams, members: int, seed: int = 0):
        super().__init__()
        nets = []
        for m in range(members):
            torch.manual_seed(seed + 1000 * m)
            nets.append(mlp(n_in, p))
        stack = lambda f: torch.nn.Parameter(torch.stack([f(n) for n in nets]))  # noqa: E731
        self.w1, self.b1 = stack(lambda n: n[0].weight.T), stack(lambda n: n[0].bias[None])
        self.w2, self.b2 = stack(lambda n: n[3].weight.T), stack(lambda n: n[3].bias[None])
        self.dropout = torch.nn.Dropout(p.dropout)

    def forward(self, x):                                    # (rows, n_in) -> (members, rows)
        h = self.dropout(torch.relu(x @ self.w1 + self.b1))
        return torch.sigmoid(h @ self.w2 + self.b2).squeeze(-1)


def train_mlp(x: np.ndarray, y: np.ndarray, p: MLPParams, seed: int,
              weights: np.ndarray | None = None, members: int | None = None) -> torch.nn.Module:
    """MSE on targets in [0, 1], each row weighted (default equally); the sigmoid keeps outputs
    there. members: an MLPEnsemble of that many networks, trained together on the same batches."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = mlp(x.shape[1], p) if members is None else MLPEnsemble(x.shape[1], p, members, seed)
    opt = torch.optim.AdamW(net.parameters(), lr=p.lr, weight_decay=p.weight_decay)
    xt, yt = torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)
    wt = torch.ones(len(x)) if weights is None else torch.tensor(weights, dtype=torch.float32)
    for _ in range(p.epochs):
        net.train()
        for b in np.array_split(rng.permutation(len(x)), max(1, len(x) // p.batch_size)):
            out = net(xt[b])
            out = out.squeeze(-1) if members is None else out   # (rows,) or (members, rows)
            # the weighted mean squared error (each member's, summed over members)
            loss = (wt[b] * (out - yt[b]) ** 2).sum() / wt[b].sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return net.eval()


def run_mlp(net, x: np.ndarray) -> np.ndarray:
    """The network's output per row (an ensemble's: its members' mean), in blocks of rows: five
    members' hidden layers over a 370,000-pair retrieval matrix would hold 4 GB at once."""
    out = np.empty(len(x))
    with torch.inference_mode():
        for i in range(0, len(x), 65536):
            part = net(torch.from_numpy(x[i:i + 65536]).float())
            part = part.mean(dim=0) if isinstance(net, MLPEnsemble) else part.squeeze(1)
            out[i:i + 65536] = part.numpy()
    return out


class SeedMLP(Scorer):
    kind = "mlp"
    Params = MLPParams

    def fit(self, corpus, train_pairs, train_photos, seed=0, cache=None):
        x = _concat(corpus, train_pairs["img"].to_numpy(), train_pairs["txt"].to_numpy())
        self.mean, self.std = x.mean(axis=0), x.std(axis=0) + 1e-6
        self.net = train_mlp((x - self.mean) / self.std, train_pairs["target"].to_numpy(),
                             self.params, seed)
        return self

    def score(self, corpus, img, txt, cache=None):
        """The first layer splits into a photo part and a text part, each computed once per distinct
        photo and text: a retrieval matrix costs a sum per pair, not a 1664-wide product."""
        first, last = self.net[0], self.net[3]
        n = corpus.features.shape[1]
        w = first.weight.detach().numpy().astype(np.float64)
        u_img, img_inv = np.unique(img, return_inverse=True)
        u_txt, txt_inv = np.unique(txt, return_inverse=True)
        by_img = ((corpus.features[u_img] - self.mean[:n]) / self.std[:n]) @ w[:, :n].T
        by_txt = ((corpus.text_vectors[u_txt] - self.mean[n:]) / self.std[n:]) @ w[:, n:].T
        by_txt += first.bias.detach().numpy()
        w2, b2 = last.weight.detach().numpy()[0].astype(np.float64), float(last.bias.detach()[0])
        out = np.empty(len(img))
        for i in range(0, len(img), 50_000):  # bounded memory on large candidate sets
            sl = slice(i, i + 50_000)
            h = np.maximum(by_img[img_inv[sl]] + by_txt[txt_inv[sl]], 0)
            out[sl] = torch.sigmoid(torch.from_numpy(h @ w2 + b2)).numpy()   # no overflow in exp
        return out

    def state(self):
        return {"mean": self.mean, "std": self.std,
                **{f"net.{k}": v.numpy() for k, v in self.net.state_dict().items()}}

    def set_state(self, state):
        self.mean, self.std = state["mean"], state["std"]
        self.net = mlp(len(self.mean), self.params)
        self.net.load_state_dict({k[4:]: torch.from_numpy(v) for k, v in state.items()
                                  if k.startswith("net.")})
        self.net.eval()
