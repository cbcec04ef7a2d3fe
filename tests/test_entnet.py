"""EntNet (models/entnet.py): one step of the dynamic memory against a hand computation, the normalisation,
padding invariance, the gates, the per-step memories' gradients, tied keys, and that it learns to answer.
The Model protocol, shapes, every weight moving and the loss falling are tests/test_models.py's."""
from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F

from nnzoo import registry
from nnzoo.errors import UserError
from nnzoo.models import entnet as E


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py


def _model(seed=0, **overrides):
    torch.manual_seed(seed)
    cfg = dataclasses.replace(E.tiny(), **overrides)
    return E.EntNet(cfg).eval(), cfg


def _pad(batch, M, W):
    """The same examples with more padded sentences (M) and more padded words (W)."""
    story, query = batch["story"], batch["query"]
    return {**batch, "story": F.pad(story, (0, W - story.size(2), 0, M - story.size(1))),
            "query": F.pad(query, (0, W - query.size(1)))}


def _n_real(story):
    return story.ne(0).any(-1).sum(1)  # B


# ---- one step by hand ----

def _matvec(a, x):
    return [sum(a_ij * x_j for a_ij, x_j in zip(row, x)) for row in a]


def _sigmoid(z):
    return 1.0 / (1.0 + math.exp(-z))


def test_one_step_matches_the_equations_by_hand():
    """2 slots, d = 3, one sentence of one word: the gate, the candidate, the update and the normalisation
    worked out in plain Python floats from the paper's equations (no biases, one slope)."""
    model, _ = _model(dim=3, slots=2, vocab_size=4, sentence_size=2, gate_bias=False, candidate_bias=False,
                      prelu_per_coordinate=False)
    assert model.gate_b is None and model.U.bias is None and model.phi.weight.shape == (1,)
    e1 = [0.5, -0.2, 0.1]  # word id 1
    f1 = [2.0, 1.0, 1.0]  # the mask of word position 1
    w = [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]  # the keys, and so h_0
    U = [[0.1, 0.2, 0.0], [0.0, 0.3, -0.1], [0.2, 0.0, 0.1]]
    V = [[-0.5, 0.0, 0.1], [0.2, 0.1, 0.0], [0.0, 0.0, 0.3]]
    Wm = [[1.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 0.5, 1.0]]
    slope = 0.25
    with torch.no_grad():
        model.embed.zero_()
        model.embed[0] = torch.tensor(e1)
        model.story_mask.fill_(7.0)  # position 2 holds padding: its mask must not matter
        model.story_mask[0] = torch.tensor(f1)
        model.free_keys.copy_(torch.tensor(w))
        model.U.weight.copy_(torch.tensor(U))
        model.V.weight.copy_(torch.tensor(V))
        model.W.weight.copy_(torch.tensor(Wm))
        model.phi.weight.fill_(slope)
    story = torch.tensor([[[1, 0]]])  # B = 1, M = 1, W = 2
    query = torch.tensor([[1, 0]])
    with torch.no_grad():
        _, memories = model(story, query, return_memory=True)
        gates = model.gates(story, query)

    s = [f * e for f, e in zip(f1, e1)]  # s = f_1 * e_1 = [1.0, -0.2, 0.1]
    want_g, want_h = [], []
    for j in range(2):
        h = w[j]
        g = _sigmoid(sum(a * b for a, b in zip(s, h)) + sum(a * b for a, b in zip(s, w[j])))
        pre = [a + b + c for a, b, c in zip(_matvec(U, h), _matvec(V, w[j]), _matvec(Wm, s))]
        cand = [x if x > 0 else slope * x for x in pre]
        new = [a + g * c for a, c in zip(h, cand)]
        norm = math.sqrt(sum(x * x for x in new))
        want_g.append(g)
        want_h.append([x / norm for x in new])
    # s^T h_1 + s^T w_1 = 1 + 1, s^T h_2 + s^T w_2 = -0.2 - 0.2
    assert want_g == pytest.approx([_sigmoid(2.0), _sigmoid(-0.4)], abs=1e-12)
    assert want_g == pytest.approx([0.8807970779778823, 0.401312339887548], abs=1e-12)
    assert gates[0, 0].tolist() == pytest.approx(want_g, abs=1e-6)
    assert torch.equal(memories[0][0], torch.tensor(w))  # the memory starts as the keys
    assert memories[1][0].tolist() == [pytest.approx(row, abs=1e-6) for row in want_h]


def test_the_authors_gate_bias_candidate_bias_and_slopes_per_coordinate():
    """The authors' code's defaults, by hand: g_j = sigmoid(s^T h_j + s^T w_j + b_j) and
    h~_j = phi(U h_j + b_U + V w_j + W s) with a slope per coordinate."""
    model, _ = _model(dim=2, slots=2, vocab_size=3, sentence_size=1)
    assert model.gate_b.shape == (2,) and model.U.bias.shape == (2,) and model.phi.weight.shape == (2,)
    s = [1.0, -0.5]  # word id 1 with mask 1
    w = [[0.5, 0.0], [0.0, 0.5]]
    b, bU, slopes = [0.3, -2.0], [-1.0, 0.2], [0.5, 0.1]
    with torch.no_grad():
        model.embed[0] = torch.tensor(s)
        model.story_mask.fill_(1.0)
        model.free_keys.copy_(torch.tensor(w))
        model.gate_b.copy_(torch.tensor(b))
        model.U.weight.copy_(torch.eye(2))
        model.U.bias.copy_(torch.tensor(bU))
        model.V.weight.zero_()
        model.W.weight.copy_(torch.eye(2))
        model.phi.weight.copy_(torch.tensor(slopes))
        _, memories = model(torch.tensor([[[1]]]), torch.tensor([[1]]), return_memory=True)
        gates = model.gates(torch.tensor([[[1]]]), torch.tensor([[1]]))
    want_g, want_h = [], []
    for j in range(2):
        g = _sigmoid(2 * sum(a * c for a, c in zip(s, w[j])) + b[j])  # h_0 = w
        pre = [h + u + x for h, u, x in zip(w[j], bU, s)]  # U = W = I, V = 0
        cand = [x if x > 0 else a * x for x, a in zip(pre, slopes)]
        new = [h + g * c for h, c in zip(w[j], cand)]
        norm = math.sqrt(sum(x * x for x in new))
        want_g.append(g)
        want_h.append([x / norm for x in new])
    # j = 1: pre = [0.5, -0.3], the second coordinate takes slope 0.1; j = 2: pre = [0, 0.2]
    assert gates[0, 0].tolist() == pytest.approx(want_g, abs=1e-6)
    assert memories[1][0].tolist() == [pytest.approx(row, abs=1e-6) for row in want_h]


def test_a_real_step_leaves_every_block_of_unit_norm():
    model, cfg = _model()
    batch = E.example_batch(cfg, 16)
    with torch.no_grad():
        _, memories = model(batch["story"], batch["query"], return_memory=True)
    # the keys (h_0) are N(0, 0.1) vectors, far from the sphere: the normalisation is what brings them there
    assert float((memories[0].detach().norm(dim=-1) - 1).abs().min()) > 0.2
    real = batch["story"].ne(0).any(-1)  # B, M
    for t in range(1, cfg.memory_size + 1):
        norms = memories[t].norm(dim=-1)[real[:, t - 1]]  # real steps only: n, K
        assert torch.allclose(norms, torch.ones_like(norms), atol=1e-6)


# ---- padding ----

def test_padding_sentences_and_words_never_changes_the_logits():
    model, cfg = _model(memory_size=9, sentence_size=8)
    torch.manual_seed(1)
    batch = E.example_batch(E.tiny(), 16)  # M = 6, W = 5
    assert bool((_n_real(batch["story"]) < 6).any())  # some stories already padded
    with torch.no_grad():
        small = model(batch["story"], batch["query"])
        big = _pad(batch, 9, 8)
        assert torch.allclose(model(big["story"], big["query"]), small, rtol=0, atol=1e-6)
        # only as many rows as the longest story
        n = int(_n_real(batch["story"]).max())
        cut = model(batch["story"][:, :n], batch["query"])
        assert torch.allclose(cut, small, rtol=0, atol=1e-6)
        # and the padding is really read: a word put in a padded slot does change the result
        poked = batch["story"].clone()
        poked[_n_real(poked) < 6, 5, 0] = 1
        assert not torch.allclose(model(poked, batch["query"]), small, atol=1e-4)


def test_a_padded_sentence_leaves_the_memory_exactly_as_it_was():
    model, cfg = _model(memory_size=9)
    batch = _pad(E.example_batch(E.tiny(), 16), 9, cfg.sentence_size)
    with torch.no_grad():
        _, memories = model(batch["story"], batch["query"], return_memory=True)
    assert len(memories) == 9 + 1
    for b, n in enumerate(_n_real(batch["story"]).tolist()):
        assert n < 9
        for t in range(n + 1, 9 + 1):
            assert torch.equal(memories[t][b], memories[n][b])
        # and a real step does change it
        assert not torch.equal(memories[n][b], memories[n - 1][b])


def test_gates_are_in_zero_one_at_real_sentences_and_zero_at_padding():
    model, cfg = _model()
    batch = E.example_batch(cfg, 16)
    with torch.no_grad():
        g = model.gates(batch["story"], batch["query"])
    assert g.shape == (16, cfg.memory_size, cfg.slots)
    real = batch["story"].ne(0).any(-1)
    assert bool((g[real] > 0).all() and (g[real] < 1).all())
    assert bool((g[~real] == 0).all()) and bool((~real).any())
    # the memory is written before the question is read: the gates do not depend on it
    with torch.no_grad():
        assert torch.equal(model.gates(batch["story"], batch["query"].flip(0)), g)


def test_each_example_is_read_on_its_own():
    """The batched recurrence mixes no stories: every row of the batch's logits is that example's alone."""
    model, cfg = _model()
    batch = E.example_batch(cfg, 8)
    with torch.no_grad():
        together = model(batch["story"], batch["query"])
        alone = torch.cat([model(batch["story"][b:b + 1], batch["query"][b:b + 1]) for b in range(8)])
    assert torch.allclose(together, alone, rtol=0, atol=1e-6)


def test_a_sentence_longer_than_the_masks_is_refused():
    model, cfg = _model()
    with pytest.raises(ValueError, match="sentence_size"):
        model(torch.ones(2, 3, cfg.sentence_size + 1, dtype=torch.long), torch.ones(2, 3, dtype=torch.long))


# ---- the gradient that reaches each slot ----

def test_the_per_step_memories_carry_each_steps_gradient():
    torch.set_default_dtype(torch.float64)
    try:
        model, cfg = _model(memory_size=9)
        batch = _pad(E.example_batch(E.tiny(), 16), 9, cfg.sentence_size)
        logits, memories = model(batch["story"], batch["query"], return_memory=True)
        for h in memories:
            h.retain_grad()
        F.cross_entropy(logits, batch["answer"]).backward()
    finally:
        torch.set_default_dtype(torch.float32)
    assert all(h.grad is not None and h.grad.shape == (16, cfg.slots, cfg.dim) for h in memories)
    assert float(memories[-1].grad.abs().min(-1).values.min()) > 0  # every slot of every story is read
    assert float(memories[0].grad.abs().max()) > 0 and float(model.free_keys.grad.abs().max()) > 0
    for b, n in enumerate(_n_real(batch["story"]).tolist()):
        # a padded step passes its gradient back unchanged ...
        for t in range(n, 9):
            assert torch.equal(memories[t].grad[b], memories[9].grad[b])
        # ... a real one does not
        assert not torch.allclose(memories[n - 1].grad[b], memories[n].grad[b])
    # the same tensors, differentiated directly
    model.zero_grad()
    logits, memories = model(batch["story"], batch["query"], return_memory=True)
    (direct,) = torch.autograd.grad(F.cross_entropy(logits.double(), batch["answer"]), memories[3])
    assert direct.shape == (16, cfg.slots, cfg.dim) and float(direct.abs().max()) > 0


# ---- tied keys ----

def test_tied_keys_are_the_first_words_embeddings():
    model, cfg = _model(tie_keys=True)
    assert model.free_keys is None and "free_keys" not in dict(model.named_parameters())
    assert torch.equal(model.keys(), model.embed[:cfg.slots])
    assert torch.equal(model.keys()[0], model.table()[1])  # slot 0 <-> word id 1
    batch = E.example_batch(cfg, 16)
    model.train()
    model.loss(batch)["loss"].backward()
    assert float(model.embed.grad[:cfg.slots].abs().min(-1).values.min()) > 0


def test_more_tied_slots_than_words_is_refused():
    cfg = E.tiny()
    with pytest.raises(UserError, match="slots"):
        registry.create_model("entnet", cfg, tie_keys=True, slots=cfg.vocab_size)


# ---- the loss and learning ----

def test_loss_is_the_mean_cross_entropy_and_error_the_share_wrong():
    model, cfg = _model()
    batch = E.example_batch(cfg, 16)
    out = model.loss(batch)
    logits = model(batch["story"], batch["query"])
    assert out["loss"].item() == pytest.approx(F.cross_entropy(logits, batch["answer"]).item(), rel=1e-6)
    wrong = (logits.argmax(1) != batch["answer"]).float().mean().item()
    assert out["error"].item() == pytest.approx(wrong) and not out["error"].requires_grad


def test_it_learns_the_association_on_stories_it_never_saw():
    """Which word followed the query's subject: chance is 3 in 4 wrong; after 500 Adam steps on 2,048 stories
    EntNet gets most held-out stories right (about 0.3 error over four seeds)."""
    model, cfg = _model(slots=8, dim=24)
    train, test = E.example_batch(cfg, 2048), E.example_batch(cfg, 512)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for _ in range(500):
        idx = torch.randint(0, 2048, (32,))
        loss = model.loss({k: v[idx] for k, v in train.items()})["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        assert model.loss(test)["error"].item() < 0.5


def test_sentence_weights_are_the_gates_weighted_by_the_questions_attention():
    model, cfg = _model()
    batch = E.example_batch(cfg, 16)
    with torch.no_grad():
        w = model.sentence_weights(batch["story"], batch["query"])
        _, memories, g, p = model.answer(batch["story"], batch["query"])
        q = model.encode(batch["query"], model.query_mask, model.table())
    assert w.shape == (16, 1, cfg.memory_size)
    assert torch.allclose(p, torch.softmax((memories[-1] * q[:, None]).sum(-1), -1), atol=1e-6)
    assert torch.allclose(w[:, 0], (g * p[:, None]).sum(-1), atol=1e-6)
    real = batch["story"].ne(0).any(-1)
    assert bool((w[:, 0][~real] == 0).all()) and bool((w[:, 0][real] > 0).all())
