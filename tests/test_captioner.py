"""Show and Tell, S2VT and the video classifier: shapes, the one beam search's scores against log_prob, beam 1
against greedy, the image as the LSTM's first input, a frozen encoder, S2VT's use of the frames' order
against the mean-pooled baseline's blindness to it, the synchronised classifier's causality, and the loss
falling on each model's tiny memorisation problem. Exact comparisons run in float64."""
import dataclasses
import math

import pytest
import torch

from nnzoo.errors import UserError
from nnzoo.models import captioner as cap
from nnzoo.models import s2vt as s2v
from nnzoo.models import video_classifier as vc
from nnzoo.models.captioner import BOS, EOS, PAD, Captioner, encode_captions
from nnzoo.models.cnn import CNN, CNNConfig
from nnzoo.models.s2vt import S2VT
from nnzoo.models.video_classifier import VideoClassifier
from nnzoo.nn.decode import beam_search, greedy

DESCRIBERS = {"captioner": (cap, Captioner), "s2vt": (s2v, S2VT)}


@pytest.fixture
def float64():
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(torch.float32)


def build(name, steps=0, seed=0, **overrides):
    """A tiny model and its example batch, trained `steps` Adam steps (so it ends captions at different lengths),
    in eval mode."""
    module, cls = DESCRIBERS[name]
    torch.manual_seed(seed)
    cfg = dataclasses.replace(module.tiny(), **overrides)
    model = cls(cfg)
    batch = module.example_batch(cfg, 8)
    batch["x"] = batch["x"].to(torch.get_default_dtype())
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps):
        opt.zero_grad()
        model.loss(batch)["loss"].backward()
        opt.step()
    return model.eval(), batch


def repeat_rows(x, counts):
    return torch.cat([x[i:i + 1].expand(c, *x.shape[1:]) for i, c in enumerate(counts)])


@pytest.mark.parametrize("name", DESCRIBERS)
def test_shapes(name):
    model, batch = build(name)
    x, tokens = batch["x"], batch["tokens"]
    B, L = tokens.shape
    assert model.word_logits(x, tokens).shape == (B, L - 1, model.cfg.vocab_size)
    assert model.log_prob(x, tokens).shape == (B,)
    assert model.loss(batch)["loss"].ndim == 0
    greedy = model.greedy(x)
    assert len(greedy) == B and all(isinstance(w, list) and isinstance(s, float) for w, s in greedy)
    beams = model.beam_search(x, beam=3, top=2)
    assert len(beams) == B and all(len(b) == 2 for b in beams)
    assert all(BOS not in w and EOS not in w and PAD not in w and len(w) < model.cfg.max_len
               for b in beams for w, _ in b)


@pytest.mark.parametrize("steps", [0, 30])
@pytest.mark.parametrize("name", DESCRIBERS)
def test_beam_and_greedy_scores_are_log_prob_of_their_captions(name, steps, float64):
    model, batch = build(name, steps)
    x = batch["x"]
    beams = model.beam_search(x, beam=4, top=4)
    captions = [w for b in beams for w, _ in b]
    scores = torch.tensor([s for b in beams for _, s in b])
    assert scores.isfinite().all()
    xs = repeat_rows(x, [len(b) for b in beams])
    assert torch.allclose(model.log_prob(xs, encode_captions(captions)), scores, rtol=0, atol=1e-9)
    for b in beams:  # best first
        assert all(b[k][1] >= b[k + 1][1] for k in range(len(b) - 1))
    greedy = model.greedy(x)
    got = model.log_prob(x, encode_captions([w for w, _ in greedy]))
    assert torch.allclose(got, torch.tensor([s for _, s in greedy]), rtol=0, atol=1e-9)
    if steps:  # a trained model stops early: captions of the tokens' lengths, not max_len
        assert min(len(w) for w in captions) < model.cfg.max_len - 1


@pytest.mark.parametrize("name", DESCRIBERS)
def test_beam_of_one_is_greedy_and_a_wider_beam_scores_at_least_as_well(name, float64):
    for steps in (0, 30):
        model, batch = build(name, steps)
        greedy = model.greedy(batch["x"])
        one = [b[0] for b in model.beam_search(batch["x"], beam=1)]
        assert [w for w, _ in one] == [w for w, _ in greedy]
        assert [s for _, s in one] == pytest.approx([s for _, s in greedy], abs=1e-12)
        # not a theorem of beam search (a kept prefix can end badly), but what these models do
        wide = [b[0][1] for b in model.beam_search(batch["x"], beam=5)]
        assert all(w >= g - 1e-12 for w, (_, g) in zip(wide, greedy))
        assert sum(w > g + 1e-9 for w, (_, g) in zip(wide, greedy)) > 0 or steps  # untrained: beam finds better


def test_the_image_is_the_lstms_first_input_and_padding_is_ignored(float64):
    model, batch = build("captioner")
    x, tokens = batch["x"], batch["tokens"]
    seen = []
    hook = model.decoder.register_forward_pre_hook(lambda mod, args: seen.append(args[0]))
    try:
        model.word_logits(x, tokens)
    finally:
        hook.remove()
    (inputs,) = seen  # L, B, E: time first
    assert torch.equal(inputs[0], model.embed_image(x))  # x_{-1} = W_I CNN(I)
    assert torch.equal(inputs[1], model.embed(torch.full((x.size(0),), BOS)))  # x_0 = W_e BOS
    # another image changes the distribution of the first word (which reads nothing else but BOS)
    first = model.word_logits(x, tokens)[:, 0].log_softmax(-1)
    other = model.word_logits(x.flip(0), tokens)[:, 0].log_softmax(-1)
    assert (first - other).abs().max() > 1e-3
    # padding after EOS changes nothing; the log-probability sums the real tokens only
    padded = torch.cat([tokens, torch.full((tokens.size(0), 3), PAD)], 1)
    assert torch.allclose(model.log_prob(x, padded), model.log_prob(x, tokens), rtol=0, atol=1e-12)
    logp = model.word_logits(x, tokens).log_softmax(-1)
    i, n = 0, int((tokens[0] != PAD).sum())
    manual = sum(logp[i, t - 1, tokens[i, t]] for t in range(1, n))
    assert model.log_prob(x, tokens)[i].item() == pytest.approx(manual.item(), abs=1e-12)


def test_image_state_starts_the_lstm_from_the_image_and_scores_stay_exact(float64):
    """image_state: h_0 = tanh(W_h v), c_0 = W_c v for every layer, handed to the LSTM with the image as its first
    input; beam and greedy scores are still log_prob of their captions; the paper's model starts at zero."""
    model, batch = build("captioner", 30, image_state=True, layers=2)
    x, tokens = batch["x"], batch["tokens"]
    B, H = x.size(0), model.cfg.hidden
    v = model.embed_image(x)
    h0, c0 = model.initial_state(v)
    assert h0.shape == c0.shape == (2, B, H) and h0.abs().max() < 1
    assert torch.allclose(h0[1], torch.tanh(model.init_h(v))[:, H:], rtol=0, atol=1e-12)
    seen = []
    hook = model.decoder.register_forward_pre_hook(lambda mod, args: seen.append(args))
    try:
        model.word_logits(x, tokens)
    finally:
        hook.remove()
    assert torch.equal(seen[0][1][0], h0) and torch.equal(seen[0][1][1], c0)
    beams = model.beam_search(x, beam=3, top=3)
    captions = [w for b in beams for w, _ in b]
    scores = torch.tensor([s for b in beams for _, s in b])
    assert torch.allclose(model.log_prob(repeat_rows(x, [3] * B), encode_captions(captions)), scores, rtol=0,
                          atol=1e-9)
    assert build("captioner")[0].initial_state(v) is None


def test_freeze_encoder_trains_the_decoder_only(float64):
    torch.manual_seed(0)
    cfg = dataclasses.replace(cap.tiny(), freeze_encoder=True)
    model = Captioner(cfg).train()
    batch = cap.example_batch(cfg, 8)
    batch["x"] = batch["x"].double()
    frozen = {k: v.clone() for k, v in model.encoder.features.state_dict().items()}  # weights and BN statistics
    rest = {k: v.detach().clone() for k, v in model.named_parameters() if not k.startswith("encoder.features")}
    (params,) = model.players().values()
    assert {id(p) for p in params} == {id(p) for p in model.parameters() if p.requires_grad}
    opt = torch.optim.Adam(params, lr=1e-2)
    model.loss(batch)["loss"].backward()
    opt.step()
    assert all(torch.equal(v, model.encoder.features.state_dict()[k]) for k, v in frozen.items())
    moved = {k: (p - rest[k]).abs().max().item() for k, p in model.named_parameters() if k in rest}
    assert [k for k, d in moved.items() if d == 0] == []  # W_I, the embeddings, the LSTM and W_o all train


def test_a_trained_cnn_starts_the_encoder():
    cnn = CNN(CNNConfig(in_shape=(1, 28, 28), channels=[4, 8], kernel=3, padding=1))
    model = Captioner(cap.tiny())
    assert model.encoder.load_cnn_features(cnn.features) == 2
    assert all(torch.equal(v, cnn.features.state_dict()[k]) for k, v in model.encoder.features.state_dict().items())
    with pytest.raises(ValueError, match="set channels and kernel"):
        model.encoder.load_cnn_features(CNN(CNNConfig(channels=[6])).features)


def test_s2vt_loss_reads_only_the_word_steps(float64):
    model, batch = build("s2vt")
    x, tokens = batch["x"], batch["tokens"]
    seen = []
    hook = model.head.register_forward_pre_hook(lambda mod, args: seen.append(args[0].shape))
    try:
        logits = model.word_logits(x, tokens)
    finally:
        hook.remove()
    # the output layer sees the word steps only, not the cfg.frames frame steps before them
    assert seen == [(tokens.size(1) - 1, x.size(0), model.cfg.hidden)]
    assert logits.shape[1] == tokens.size(1) - 1
    target = tokens[:, 1:]
    ce = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), target.reshape(-1),
                                           ignore_index=PAD)
    assert model.loss(batch)["loss"].item() == pytest.approx(ce.item(), abs=1e-12)


def test_s2vt_reads_the_order_of_frames_and_the_mean_pool_cannot(float64):
    model, batch = build("s2vt")
    x, tokens = batch["x"], batch["tokens"]
    order = torch.tensor([2, 0, 1])
    assert (model.log_prob(x, tokens) - model.log_prob(x[:, order], tokens)).abs().max() > 1e-4
    assert (model.log_prob(x, tokens) - model.log_prob(x.flip(1), tokens)).abs().max() > 1e-4
    pooled, _ = build("s2vt", mean_pool=True)
    for shuffled in (x[:, order], x.flip(1)):
        assert torch.allclose(pooled.log_prob(shuffled, tokens), pooled.log_prob(x, tokens), rtol=0, atol=1e-12)
        assert [w for b in pooled.beam_search(shuffled, beam=3) for w, _ in b] == \
               [w for b in pooled.beam_search(x, beam=3) for w, _ in b]


def test_video_classifier_shapes_and_causal_sync(float64):
    torch.manual_seed(0)
    cfg = dataclasses.replace(vc.tiny(), frames=5)
    sync = VideoClassifier(cfg).eval()
    batch = vc.example_batch(cfg, 4)
    x = batch["x"].double()
    logits = sync(x)
    assert logits.shape == (4, 5, cfg.n_classes)
    for t in range(cfg.frames - 1):
        changed = x.clone()
        changed[:, t + 1:] = torch.rand_like(changed[:, t + 1:])
        out = sync(changed)
        assert torch.allclose(out[:, :t + 1], logits[:, :t + 1], rtol=0, atol=1e-12)  # frames <= t only
        assert (out[:, t + 1:] - logits[:, t + 1:]).abs().max() > 1e-6
    whole = VideoClassifier(dataclasses.replace(cfg, mode="many-to-one")).eval()
    assert whole(x).shape == (4, cfg.n_classes)
    out = whole.loss({**batch, "x": x})
    assert out["loss"].ndim == 0 and 0 <= out["accuracy"].item() <= 1


@pytest.mark.parametrize("module,cls,overrides,ratio", [
    (cap, Captioner, {}, 0.2), (s2v, S2VT, {}, 0.4), (s2v, S2VT, {"mean_pool": True}, 0.6),
    (vc, VideoClassifier, {}, 0.1), (vc, VideoClassifier, {"mode": "many-to-one"}, 0.5)],
    ids=["captioner", "s2vt", "s2vt-mean-pool", "video-sync", "video-many-to-one"])
def test_loss_falls_on_a_tiny_memorisation_problem(module, cls, overrides, ratio):
    torch.manual_seed(0)
    cfg = dataclasses.replace(module.tiny(), **overrides)
    model = cls(cfg).train()
    batch = module.example_batch(cfg, 16)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    losses = []
    for _ in range(80):
        loss = model.loss(batch)["loss"]
        losses.append(loss.item())
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert losses[-1] < ratio * losses[0]


def test_bad_inputs_get_one_clear_line():
    model, batch = build("captioner")
    with pytest.raises(UserError, match="resize them to 8x8 with 1 channel"):
        model.greedy(torch.rand(2, 3, 8, 8))
    with pytest.raises(UserError, match="beam width must be at least 1"):
        model.beam_search(batch["x"], beam=0)
    with pytest.raises(UserError, match="top=4 .* beam of 3"):
        model.beam_search(batch["x"], beam=3, top=4)
    video, clips = build("s2vt")
    with pytest.raises(UserError, match="clips have 2 frames, but this model reads 3"):
        video.greedy(clips["x"][:, :2])
    with pytest.raises(UserError, match="channels x height x width"):
        VideoClassifier(vc.tiny())(torch.rand(2, 3, 1, 6, 6))


def test_generic_beam_search_on_a_known_distribution(float64):
    """A fixed next-word table instead of a model (words 0 BOS, 1 EOS, 2 a, 3 b), max_len 3 tokens. Greedy
    takes a (0.6), a (0.7), then the forced EOS (0.3): 0.126. A beam of 2 keeps "a a" (0.42) and "b EOS" (0.36)
    after two steps, and "b EOS" wins: the best sentence, with its exact log-probability."""
    table = torch.tensor([[0.0, 0.0, 0.6, 0.4],       # after BOS
                          [0.0, 1.0, 0.0, 0.0],       # after EOS (never read)
                          [0.0, 0.3, 0.7, 0.0],       # after a
                          [0.0, 0.9, 0.05, 0.05]]).log()  # after b

    def step(y, state):  # the state (L=1, N, 1) is only there to be reordered
        return table[y], state
    kw = dict(bos=0, eos=1, max_len=3, banned=(0,))
    ((words, score),) = greedy(step, torch.zeros(1, 1, 1), 1, **kw)
    assert words == [2, 2] and score == pytest.approx(math.log(0.6 * 0.7 * 0.3), abs=1e-12)
    (best,) = beam_search(step, torch.zeros(1, 1, 1), 1, beam=2, top=2, **kw)
    assert [w for w, _ in best] == [[3], [2, 2]]
    assert [s for _, s in best] == pytest.approx([math.log(0.4 * 0.9), math.log(0.6 * 0.7 * 0.3)], abs=1e-12)


def test_s2vt_frame_step_reads_every_other_frame(float64):
    """frame_step=2 on a 6-frame clip is the same model reading frames 0, 2, 4; the clip keeps its 6 frames."""
    stepped, batch = build("s2vt", frames=6, frame_step=2)
    x, tokens = batch["x"], batch["tokens"]
    every = S2VT(dataclasses.replace(stepped.cfg, frames=3, frame_step=1)).eval()
    every.load_state_dict(stepped.state_dict())  # no weight depends on the number of frames
    assert torch.allclose(stepped.log_prob(x, tokens), every.log_prob(x[:, ::2], tokens), rtol=0, atol=1e-12)
    # the frames it skips are not read; the ones it reads are
    skipped, read = x.clone(), x.clone()
    skipped[:, 1::2] = 0
    read[:, 0] = 0
    assert torch.allclose(stepped.log_prob(skipped, tokens), stepped.log_prob(x, tokens), rtol=0, atol=1e-12)
    assert (stepped.log_prob(read, tokens) - stepped.log_prob(x, tokens)).abs().max() > 1e-6
    with pytest.raises(UserError, match="this model reads 6"):
        stepped.log_prob(x[:, ::2], tokens)


def test_s2vt_motion_reads_each_frame_beside_its_difference(float64):
    """motion=True: the frame CNN reads [x_t, x_t - x_{t-1}] on the frames it reads (d_0 = 0), so it has twice the
    input channels; motion=False reads the frames alone."""
    model, batch = build("s2vt", frames=6, frame_step=2, motion=True)
    x = batch["x"]
    assert model.encoder.features[0].conv.in_channels == 2 * model.cfg.in_channels
    seen = []
    hook = model.encoder.register_forward_pre_hook(lambda mod, args: seen.append(args[0]))
    try:
        model.frame_features(x)
    finally:
        hook.remove()
    read = x[:, ::2]  # B, 3, C, S, S
    C = model.cfg.in_channels
    fed = seen[0].view(*read.shape[:2], 2 * C, *read.shape[3:])
    assert torch.equal(fed[:, :, :C], read)
    assert torch.equal(fed[:, 0, C:], torch.zeros_like(read[:, 0]))
    assert torch.equal(fed[:, 1:, C:], read[:, 1:] - read[:, :-1])
    plain, _ = build("s2vt")
    assert plain.encoder.features[0].conv.in_channels == plain.cfg.in_channels


def test_a_trained_cnn_starts_a_wider_first_conv():
    """A motion clip model's first conv has two input channels per image channel: the trained CNN's filters go
    on the frame's channels, zeros on the difference channels; a kernel that differs is refused."""
    torch.manual_seed(0)
    cnn = CNN(CNNConfig(in_shape=(1, 8, 8), channels=[4, 8], kernel=3, padding=1))
    model = S2VT(dataclasses.replace(s2v.tiny(), motion=True))
    assert model.encoder.load_cnn_features(cnn.features) == 2
    mine, theirs = model.encoder.features.state_dict(), cnn.features.state_dict()
    w = "0.conv.weight"  # 4, 2, 3, 3 against the CNN's 4, 1, 3, 3
    assert torch.equal(mine[w][:, :1], theirs[w]) and torch.equal(mine[w][:, 1:], torch.zeros(4, 1, 3, 3))
    # so the copied model starts as the CNN on the frame alone: its difference input changes nothing yet
    x = torch.rand(2, 2, 8, 8)
    model.encoder.eval()
    cnn.eval()
    assert torch.allclose(model.encoder.features(x), cnn.features(x[:, :1]), rtol=0, atol=1e-5)
    assert all(torch.equal(mine[k], theirs[k]) for k in theirs if k != w)
    with pytest.raises(ValueError, match="set channels and kernel"):
        model.encoder.load_cnn_features(CNN(CNNConfig(in_shape=(1, 8, 8), channels=[4, 8], kernel=5,
                                                      padding=2)).features)
