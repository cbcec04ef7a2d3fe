"""End-To-End Memory Networks (models/memn2n.py): the paper's equations, checked against a one-slot-at-a-time
reading of them, and its options (tying, position and temporal encoding, random noise, linear start)."""
import dataclasses

import pytest
import torch
import torch.nn.functional as F

from nnzoo.models.memn2n import LINEAR_START, MemN2N, example_batch, position_encoding, tiny

torch.set_num_threads(1)


def build(seed=0, **overrides):
    torch.manual_seed(seed)
    cfg = dataclasses.replace(tiny(), **overrides)
    return MemN2N(cfg), example_batch(cfg, 8)


def reference_logits(model, story, query, linear=False):
    """Section 2's equations for one example and one memory slot at a time, from the model's own tables."""
    cfg, d = model.cfg, model.cfg.dim
    rows = []
    for b in range(len(story)):
        def sentence(words, table):
            ids = [w for w in words.tolist() if w != 0]
            J, v = len(ids), torch.zeros(d)
            for j, w in enumerate(ids, 1):
                l = (torch.tensor([(1 - j / J) - (k / d) * (1 - 2 * j / J) for k in range(1, d + 1)])
                     if cfg.encoding == "position" else torch.ones(d))
                v = v + l * table[w - 1]  # the tables hold ids 1 .. V-1
            return v

        facts = [s for s in story[b] if s.any()]
        n = len(facts)
        u = sentence(query[b], model.table("B"))
        for k in range(1, cfg.hops + 1):
            m = [sentence(x, model.table("A", k)) for x in facts]
            c = [sentence(x, model.table("C", k)) for x in facts]
            if cfg.temporal:  # slot i of n (oldest first) is n-1-i facts before the question
                m = [mi + model.table("T_A", k)[n - 1 - i] for i, mi in enumerate(m)]
                c = [ci + model.table("T_C", k)[n - 1 - i] for i, ci in enumerate(c)]
            s = torch.stack([u @ mi for mi in m])
            p = s if linear else s.softmax(0)
            o = sum(pi * ci for pi, ci in zip(p, c))
            u = (model.hop_map.weight @ u if model.hop_map is not None else u) + o
        rows.append(model.answer.weight @ u)
    return torch.stack(rows)


def test_position_encoding_golden_value():
    # l_kj = (1 - j/J) - (k/d)(1 - 2j/J), J = 3, d = 4, in twelfths: rows j = 1..3, columns k = 1..4
    #   j=1: 2/3 - k/12           j=2: 1/3 + k/12         j=3: k/4
    want = torch.tensor([[7, 6, 5, 4], [5, 6, 7, 8], [3, 6, 9, 12]], dtype=torch.float64) / 12
    got = position_encoding(torch.ones(3, dtype=torch.bool), 4, torch.float64)
    assert torch.allclose(got, want, atol=1e-12)
    # J is the sentence's real length: padding after it changes no weight and gets none
    padded = position_encoding(torch.tensor([True, True, True, False, False]), 4, torch.float64)
    assert torch.allclose(padded[:3], want, atol=1e-12) and padded[3:].abs().max() == 0


@pytest.mark.parametrize("over", [{}, {"tying": "layerwise"}, {"tying": "layerwise", "hop_map": False},
                                  {"encoding": "bow", "temporal": False, "hops": 2}, {"hops": 1}])
def test_the_equations_one_slot_at_a_time(over):
    model, batch = build(**over)
    model.eval()
    with torch.no_grad():
        for linear in (False, True):
            got = model.read(batch["story"], batch["query"], linear=linear)[0]
            assert torch.allclose(got, reference_logits(model, batch["story"], batch["query"], linear),
                                  atol=1e-5), linear


def test_attention_is_a_softmax_over_the_real_facts():
    model, batch = build()
    model.eval()
    p = model.attention(batch["story"], batch["query"])
    real = batch["story"].ne(0).any(-1)  # B, M
    assert p.shape == (8, model.cfg.hops, model.cfg.memory_size)
    assert (real.sum(1) < model.cfg.memory_size).any()  # some stories are padded
    assert torch.allclose(p.sum(-1), torch.ones(8, model.cfg.hops), atol=1e-6)
    assert p.masked_select(~real[:, None, :]).abs().max() == 0
    assert (p.masked_select(real[:, None, :]) > 0).all()


def test_adjacent_tying_shares_tensors():
    model, _ = build(hops=3, tying="adjacent")
    t = model.table
    assert t("B") is t("A", 1)
    for k in (1, 2):
        assert t("A", k + 1) is t("C", k) and t("T_A", k + 1) is t("T_C", k)
        assert t("A", k + 1).data_ptr() == t("C", k).data_ptr()
    assert t("A", 1) is not t("C", 1) and t("C", 1) is not t("C", 2)
    assert len(model.words) == 4 and len(model.times) == 4 and model.hop_map is None  # K + 1 tables, no H


def test_layerwise_tying_shares_tensors():
    model, _ = build(hops=3, tying="layerwise")
    t = model.table
    assert t("A", 1) is t("A", 2) is t("A", 3) and t("C", 1) is t("C", 2) is t("C", 3)
    assert t("T_A", 1) is t("T_A", 3) and t("T_C", 1) is t("T_C", 3)
    assert t("A", 2).data_ptr() == t("A", 1).data_ptr()
    assert t("B") is not t("A", 1) and t("A", 1) is not t("C", 1)
    assert model.hop_map is not None and model.hop_map.weight.shape == (model.cfg.dim,) * 2
    assert build(tying="layerwise", hop_map=False)[0].hop_map is None


@pytest.mark.parametrize("tying", ["adjacent", "layerwise"])
def test_every_weight_is_saved_once(tying, tmp_path):
    """A tied table is one Parameter, so the checkpoint (safetensors, which refuses shared tensors) holds it
    once, and the optimizer steps it once."""
    from safetensors.torch import save_file
    model, _ = build(tying=tying)
    state = model.state_dict()
    assert len({v.data_ptr() for v in state.values()}) == len(state) == len(list(model.parameters()))
    save_file({k: v.contiguous() for k, v in state.items()}, str(tmp_path / "m.safetensors"))


def pad(batch, M, W):
    B, M0, W0 = batch["story"].shape
    story = torch.zeros(B, M, W, dtype=torch.long)
    story[:, :M0, :W0] = batch["story"]
    query = torch.zeros(B, W, dtype=torch.long)
    query[:, :W0] = batch["query"]
    return story, query


def test_padding_never_changes_the_logits():
    torch.manual_seed(0)
    small = dataclasses.replace(tiny(), memory_size=6, sentence_size=5, random_noise=0.3)
    batch = example_batch(small, 8)
    model = MemN2N(dataclasses.replace(small, memory_size=9))  # room for more slots than the story has
    model.eval()
    with torch.no_grad():
        base = model(batch["story"], batch["query"])
        wide = model(*pad(batch, 9, 8))
    assert torch.allclose(base, wide, atol=1e-6)
    # while training too: random noise draws the same numbers whatever the padding
    model.train()
    torch.manual_seed(5)
    base = model(batch["story"], batch["query"])
    torch.manual_seed(5)
    assert torch.allclose(base, model(*pad(batch, 9, 8)), atol=1e-6)


def test_temporal_indices_count_from_the_newest_fact():
    model, _ = build()
    model.eval()
    real = torch.tensor([[1, 1, 1, 0, 0, 0], [1, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1]], dtype=torch.bool)
    got = model.recency(real)
    assert got[0, :3].tolist() == [2, 1, 0] and got[1, 0] == 0 and got[2].tolist() == [5, 4, 3, 2, 1, 0]
    # behaviour: make T_A's row 0 point along the question, and the first hop reads the newest fact,
    # whichever slot it sits in
    model, _ = build(hops=1)
    model.eval()
    story = torch.tensor([[[3, 0], [4, 0], [5, 0], [0, 0]], [[3, 0], [4, 0], [0, 0], [0, 0]]])
    query = torch.tensor([[2, 0], [2, 0]])
    with torch.no_grad():
        u = model.sentences(query[0], model.table("B"))
        model.table("T_A")[0] = 50 * u / u.norm()
        p = model.attention(story, query)[:, 0]
    assert p.argmax(1).tolist() == [2, 1] and (p.max(1).values > 0.99).all()


def test_random_noise_only_while_training():
    model, _ = build(random_noise=0.5)
    M = model.cfg.memory_size
    real = torch.arange(M)[None, :] < torch.tensor([6, 5, 4, 3, 2, 6, 6, 6])[:, None]  # B, M
    n = real.sum(1, keepdim=True)
    plain = (n - 1 - torch.arange(M)).clamp(min=0)
    model.eval()
    assert torch.equal(model.recency(real), plain) and torch.equal(model.recency(real), plain)
    model.train()
    draws = [model.recency(real) for _ in range(20)]
    assert any(not torch.equal(d, plain) for d in draws)
    for d in draws:
        # order kept (an older fact further back, unless both are capped at the table's last row), never
        # nearer than without noise, at most ceil(0.5 n) empty memories, within the table
        for row, m in zip(d, n.squeeze(1).tolist()):
            older, newer = row[:m - 1], row[1:m]
            assert ((older > newer) | ((older == M - 1) & (newer == M - 1))).all()
        assert ((d >= plain) | ~real).all() and ((d <= plain + torch.ceil(0.5 * n)) | ~real).all()
        assert d.max() <= M - 1
    # torch's global RNG decides, so a run repeats
    torch.manual_seed(3)
    a = model.recency(real)
    torch.manual_seed(3)
    assert torch.equal(a, model.recency(real))
    off, _ = build(random_noise=0.0)
    off.train()
    assert torch.equal(off.recency(real), plain)


def test_linear_start_stage():
    assert build(linear_start_epochs=0)[0].stages() == []
    model, batch = build(linear_start_epochs=4, linear_start_lr=0.005)
    (stage,) = model.stages()
    assert stage.name == LINEAR_START and stage.epochs == 4 and stage.train["lr"] == 0.005
    assert stage.phases(0) == [LINEAR_START]
    assert {id(p) for p in stage.players[LINEAR_START]} == {id(p) for p in model.parameters()}
    # its loss reads the memory with p_i = u^T m_i, unnormalised
    model.eval()
    with torch.no_grad():
        linear = stage.loss(batch, LINEAR_START)["loss"]
        want = F.cross_entropy(reference_logits(model, batch["story"], batch["query"], linear=True),
                               batch["answer"])
        main = model.loss(batch)["loss"]
        p = model.read(batch["story"], batch["query"], linear=True)[1][:, 0]  # hop 1
        u = model.sentences(batch["query"], model.table("B"))
        when = model.recency(batch["story"].ne(0).any(-1))
        m = model.sentences(batch["story"], model.table("A", 1)) + model.table("T_A", 1)[when]
        raw = (m @ u[:, :, None]).squeeze(-1) * batch["story"].ne(0).any(-1)
    assert linear.item() == pytest.approx(want.item(), rel=1e-5)
    assert torch.allclose(p, raw, atol=1e-6)
    assert not torch.allclose(p.sum(-1), torch.ones(len(p)))
    assert main.item() != pytest.approx(linear.item(), rel=1e-3)


def test_loss_parts():
    model, batch = build()
    model.eval()
    out = model.loss(batch)
    logits = model(batch["story"], batch["query"])
    assert out["loss"].item() == pytest.approx(F.cross_entropy(logits, batch["answer"]).item(), rel=1e-6)
    assert out["error"].item() == pytest.approx((logits.argmax(1) != batch["answer"]).float().mean().item())
    assert not out["error"].requires_grad
    with pytest.raises(ValueError, match="no phase"):
        model.loss(batch, "critic")


def test_a_story_longer_than_the_memory_is_refused():
    model, batch = build()
    story, query = pad({"story": batch["story"], "query": batch["query"]}, model.cfg.memory_size + 1, 5)
    with pytest.raises(ValueError, match="memory_size"):
        model(story, query)


def test_weights_start_as_the_paper_says():
    torch.manual_seed(0)
    model = MemN2N(dataclasses.replace(tiny(), vocab_size=2001, dim=50, n_answers=50))
    for name, p in model.named_parameters():
        assert abs(p.std().item() - 0.1) < 0.02 and abs(p.mean().item()) < 0.02, name
    torch.manual_seed(0)
    again = MemN2N(model.cfg)
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), again.parameters()))
