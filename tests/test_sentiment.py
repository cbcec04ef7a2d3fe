"""Sentence polarity end to end on a small generated copy of the real data's archive (the real set is
vaderSentiment's Rotten Tomatoes sentences; tests never need it installed)."""
import dataclasses
import io
import json
import random
import tarfile
import zlib

import pytest
import torch
import torch.nn.functional as F

from nnzoo.data import DataError, load_sentences
from nnzoo.data.sentiment import (EXTRA_MIN_RATING, MAX_GRAMS, MIN_COUNT, PAD, UNK, Featurizer, char_grams,
                                  read_lexicon, tokenize)
from nnzoo.data.store import vader_sdist
from nnzoo.models.bilstm_classifier import (BiLSTMClassifier, BiLSTMClassifierConfig, example_batch, mean_log_prob,
                                            tiny)

from test_cli import one_error_line

GOOD = ["gripping", "funny", "moving", "wonderful", "witty", "charming", "brilliant", "warm"]
BAD = ["dull", "boring", "tedious", "clumsy", "awful", "lifeless", "stale", "flat"]
NOUNS = ["film", "movie", "story", "comedy", "drama", "script", "cast", "thriller"]
N_RATED = 400
EXTRA_WORD = "zyzzyva"


def sentences(rng: random.Random):
    """(rating, sentence): a sentiment word among neutral ones decides the sign; a few are rated 0."""
    out = []
    for i in range(N_RATED):
        pos = i % 2 == 0
        adj = rng.choice(GOOD if pos else BAD)
        words = [rng.choice(["a", "the", "this"]), adj, rng.choice(NOUNS)]
        words += ["about", "a", rng.choice(NOUNS)] * rng.randint(0, 3)
        rating = (1 if pos else -1) * rng.choice([0.4, 1.2, 2.5])
        out.append((rating, " ".join(words).capitalize() + rng.choice([".", "!", " ''indeed''."])))
    out += [(0.0, "A film."), (0.0, "The movie.")]
    return out


LEXICON = [f"{w}\t{v}\t0.5\t[{v}]" for w, v in (("gripping", 2.1), ("funny", 1.9), ("dull", -1.7),
                                                   ("boring", -1.3), (":)", 2.0), ("zzunseen", 3.0))]
"""A few lines of VADER's lexicon (token, mean rating, std, ratings); zzunseen is in no sentence."""


def write_sdist(root, lines: list[str], others: list[str] = (), lexicon: list[str] = LEXICON):
    """vaderSentiment-3.3.2.tar.gz with the real layout: an inner tarball in additional_resources holding
    the movie sentences and (when given) the same `others` lines as each of VADER's other three sets, and
    the lexicon beside the package's code."""
    files = {"movieReviewSnippets": lines}
    if others:
        files.update({n: others for n in ("amazonReviewSnippets", "nytEditorialSnippets", "tweets")})
    inner = io.BytesIO()
    with tarfile.open(fileobj=inner, mode="w:gz") as t:
        for name, rows in files.items():
            body = "\r\n".join(rows).encode("utf-8")
            info = tarfile.TarInfo(f"hutto_ICWSM_2014/{name}_GroundTruth.txt")
            info.size = len(body)
            t.addfile(info, io.BytesIO(body))
    path = root / "rt-sentences" / "vaderSentiment-3.3.2.tar.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, mode="w:gz") as t:
        info = tarfile.TarInfo("vaderSentiment-3.3.2/additional_resources/hutto_ICWSM_2014.tar.gz")
        info.size = len(inner.getvalue())
        t.addfile(info, io.BytesIO(inner.getvalue()))
        if lexicon is not None:
            body = "\n".join(lexicon).encode("utf-8")
            info = tarfile.TarInfo("vaderSentiment-3.3.2/vaderSentiment/vader_lexicon.txt")
            info.size = len(body)
            t.addfile(info, io.BytesIO(body))
    return path


@pytest.fixture(scope="module")
def fake_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    movie = [f"{i + 1}\t{r}\t{s}" for i, (r, s) in enumerate(sentences(random.Random(0)))]
    # VADER's other sets: 30 sentences each, all with a word the movie sentences never use
    others = [f"1_{i}\t{r}\t{s} {EXTRA_WORD}." for i, (r, s) in enumerate(sentences(random.Random(1))[:30])]
    write_sdist(root, movie, others)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NNZOO_DATA", str(root))
        yield root


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py


def test_tokenize():
    assert tokenize("It's a GRIPPING, funny film!") == ["it's", "a", "gripping", ",", "funny", "film", "!"]
    assert tokenize("We\u2019ve seen ''Conan'' before") == ["we've", "seen", '"', "conan", '"', "before"]


def test_loader_reads_the_archive(fake_root):
    assert vader_sdist().is_file()
    d = load_sentences("rt-sentences")
    n = N_RATED  # the two sentences rated 0 are dropped
    assert len(d.train_x) + len(d.val_x) + len(d.test_x) == n
    assert len(d.test_x) == len(d.val_x) == round(0.1 * n)
    assert d.classes == ["negative", "positive"] and d.vocab[:2] == ["<pad>", "<unk>"]
    for split in ("train", "val", "test"):
        x, y = d.split(split)
        assert x.dtype == y.dtype == torch.int64 and len(d.texts[split]) == len(x)
        assert torch.equal(y, (d.ratings[split] > 0).long())
        for text, row, label in zip(d.texts[split], x, y):
            assert label == int(any(w in text.lower() for w in GOOD))
            n_words = len(tokenize(text))
            assert (row[:n_words] != PAD).all() and (row[n_words:] == PAD).all()  # right-padded


def test_split_is_fixed_and_vocab_from_train_only(fake_root):
    a, b = load_sentences("rt-sentences"), load_sentences("rt-sentences")
    torch.manual_seed(123)  # the global seed plays no part
    c = load_sentences("rt-sentences")
    assert a.texts == b.texts == c.texts and torch.equal(a.test_x, c.test_x)
    counts = {}
    for s in a.texts["train"]:
        for w in tokenize(s):
            counts[w] = counts.get(w, 0) + 1
    assert set(a.vocab[2:]) == {w for w, k in counts.items() if k >= MIN_COUNT}
    # a word of the training split of rt-sentences-plus only is unknown to rt-sentences
    assert a.encode([f"a {EXTRA_WORD} film"]).tolist() == [[a.vocab.index("a"), UNK, a.vocab.index("film")]]


def test_plus_adds_training_sentences_only(fake_root):
    a, p = load_sentences("rt-sentences"), load_sentences("rt-sentences-plus")
    assert p.texts["val"] == a.texts["val"] and p.texts["test"] == a.texts["test"]
    kept = sum(abs(r) >= EXTRA_MIN_RATING for r, _ in sentences(random.Random(1))[:30])
    assert len(p.texts["train"]) == len(a.texts["train"]) + 3 * kept
    # shuffled in, not appended: the head of train (what train_subset takes) holds some of them
    assert any(EXTRA_WORD in t for t in p.texts["train"][:len(a.texts["train"])])
    assert EXTRA_WORD in p.vocab and EXTRA_WORD not in a.vocab


def test_missing_and_corrupt_data(nnzoo_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("NNZOO_DATA", str(tmp_path))
    with pytest.raises(DataError, match="nnzoo data install rt-sentences"):
        load_sentences("rt-sentences")
    one_error_line(*nnzoo_cli("train", "sentiment-bilstm", "--out", tmp_path / "r"), "nnzoo data install rt-")
    vader_sdist().parent.mkdir(parents=True)
    vader_sdist().write_bytes(b"not a tarball")
    with pytest.raises(DataError, match="cannot read"):
        load_sentences("rt-sentences")
    write_sdist(tmp_path, ["1\tnot-a-number\tA film."])
    with pytest.raises(DataError, match="line 1"):
        load_sentences("rt-sentences")
    code, out, _ = nnzoo_cli("data", "list")
    assert "rt-sentences" in out


@pytest.mark.parametrize("fast", [True, False])
def test_padding_changes_nothing(fast):
    torch.manual_seed(0)
    cfg = BiLSTMClassifierConfig(vocab_size=40, embed=8, hidden=8, layers=2, pool="max+mean+last", fast=fast)
    m = BiLSTMClassifier(cfg).eval()
    alone = torch.tensor([[5, 6, 7]])
    batch = torch.tensor([[5, 6, 7, PAD, PAD, PAD, PAD], [8, 9, 10, 11, 12, 13, 14]])
    with torch.no_grad():
        assert torch.allclose(m(alone)[0], m(batch)[0], atol=1e-5)
        assert m(batch).shape == (2, 2) and m.encode(batch).shape == (2, 3 * 2 * 8)


def test_pooling_names_are_checked():
    with pytest.raises(ValueError, match="unknown pool 'min'"):
        BiLSTMClassifier(BiLSTMClassifierConfig(pool="max+min"))


def test_loss_falls_on_the_fake_sentences(fake_root):
    d = load_sentences("rt-sentences")
    torch.manual_seed(0)
    m = BiLSTMClassifier(BiLSTMClassifierConfig(vocab_size=len(d.vocab), embed=16, hidden=16, dropout=0.0,
                                                embed_dropout=0.0))
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    x, y = d.train_x[:64], d.train_y[:64]
    losses = []
    for _ in range(30):
        loss = m.loss((x, y))["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]


TINY = ["embed=16", "hidden=16", "members=1", "subwords=500", "dropout=0", "embed_dropout=0", "epochs=6",
        "batch_size=16", "lr=0.01", "schedule=constant", "warmup=0", "tensorboard=false", "log_every=5"]


@pytest.fixture(scope="module")
def run(fake_root, tmp_path_factory):
    from nnzoo.cli import main
    out = tmp_path_factory.mktemp("runs") / "sentiment"
    assert main(["train", "sentiment-bilstm", "--out", str(out), "--quiet", *TINY]) == 0
    return out


def test_eval_reports_accuracy_and_the_baseline(nnzoo_cli, run):
    code, out, _ = nnzoo_cli("eval", run, "--json")
    f = json.loads(out)
    assert code == 0 and f["recipe"] == "sentiment-bilstm" and f["test_examples"] == 40
    assert f["test_accuracy_percent"] >= 90  # one sentiment word decides each fake sentence
    assert f["tfidf_logreg_test_accuracy_percent"] >= 90
    for png in ("confusion", "sentences", "learning_curves"):
        assert (run / f"{png}.png").stat().st_size > 1000


def test_predict_sentences(nnzoo_cli, run):
    code, out, _ = nnzoo_cli("predict", run, "a gripping, funny film", "a dull and tedious script", "--json")
    preds = json.loads(out)
    assert code == 0 and [p["label"] for p in preds] == ["positive", "negative"]
    assert preds[0]["text"] == "a gripping, funny film" and 0.5 < preds[0]["probability"] <= 1
    code, out, _ = nnzoo_cli("predict", run, "a warm story")
    assert code == 0 and out.startswith("a warm story: positive (p=")


def test_predict_unknown_words_and_wrong_commands(nnzoo_cli, run):
    one_error_line(*nnzoo_cli("predict", run, "qwxz blorft"), "none of the words of 'qwxz blorft'")
    one_error_line(*nnzoo_cli("predict", run, ""), "none of the words")
    one_error_line(*nnzoo_cli("sample", run), "which generates nothing")


def test_language_model_pretraining_predicts_each_directions_neighbour(monkeypatch):
    V, H = 7, 7
    m = BiLSTMClassifier(BiLSTMClassifierConfig(vocab_size=V, embed=4, hidden=H, pool="max", dropout=0.0,
                                                embed_dropout=0.0))
    x = torch.tensor([[2, 3, 4, 5, PAD], [6, 5, 4, PAD, PAD]])
    # states that spell out the right neighbours: the forward half at t is word t+1, the backward half word t-1
    out = torch.zeros(2, 5, 2 * H)
    for b in range(2):
        n = int((x[b] != PAD).sum())
        for t in range(n):
            if t + 1 < n:
                out[b, t, int(x[b, t + 1])] = 20.0
            if t > 0:
                out[b, t, H + int(x[b, t - 1])] = 20.0
    monkeypatch.setattr(m, "read", lambda xb: (out, xb != PAD, None))
    head = torch.nn.Linear(H, V + 1, bias=False)
    with torch.no_grad():
        head.weight.copy_(torch.eye(V + 1, H))
    target_of = torch.arange(V)  # every word its own class
    assert m.lm_loss(x, head, target_of).item() < 1e-6
    # swap the halves (forward reads the previous word): far from right
    flipped = torch.cat([out[..., H:], out[..., :H]], -1)
    monkeypatch.setattr(m, "read", lambda xb: (flipped, xb != PAD, None))
    assert m.lm_loss(x, head, target_of).item() > 5


def test_pretraining_is_a_stage_that_moves_only_the_reader_and_lowers_its_loss(fake_root, tmp_path):
    """Language-model pretraining runs through the engine as stage "pretrain-lm" before the first labelled
    step: its loss falls, it moves the embedding and the BiLSTM, never the classifier's layer."""
    from nnzoo import registry, runs
    from nnzoo.config import parse_overrides
    n = len(load_sentences("rt-sentences").train_x)
    steps = 8 * (n // 16)
    recipe = registry.get_recipe("sentiment-bilstm")
    mcfg, tcfg = registry.resolve(recipe, parse_overrides(
        ["data=rt-sentences", "embed=16", "hidden=16", "dropout=0", "embed_dropout=0", "members=1", "subwords=0",
         "pretrain_epochs=8", "pretrain_words=50", "batch_size=16", "lr=1e-2", "epochs=1", "tensorboard=false",
         "log_every=2", f"stop_after={steps}"]))
    res = runs.train(tmp_path / "r", recipe, mcfg, tcfg, verbose=False)
    assert res.step == steps and not res.finished
    rows = [json.loads(l) for l in (tmp_path / "r" / "metrics.jsonl").read_text().splitlines()]
    losses = [r["value"] for r in rows if r["split"] == "pretrain-lm" and r["name"] == "loss"]
    assert losses[-1] < 0.8 * losses[0]
    _, _, _, m = runs.load_run(tmp_path / "r")
    torch.manual_seed(tcfg.seed)
    fresh = BiLSTMClassifier(m.cfg)
    assert torch.equal(m.head.weight, fresh.head.weight)  # the classifier is the labels' to train
    assert not torch.equal(m.embed.weight, fresh.embed.weight)
    # read from the training words' counts (set when the run started); this vocabulary is smaller than
    # pretrain_words, so every word is a class of its own
    assert sorted(m.lm_target_of.tolist()) == list(range(m.cfg.vocab_size))


def test_pretraining_runs_before_the_first_step_only_when_asked(fake_root, tmp_path):
    from nnzoo.cli import main

    def splits(run):
        return [json.loads(l)["split"] for l in (run / "metrics.jsonl").read_text().splitlines()]
    assert main(["train", "sentiment-bilstm", "--out", str(tmp_path / "plain"), "--quiet", *TINY, "epochs=1"]) == 0
    assert "pretrain-lm" not in splits(tmp_path / "plain")
    assert main(["train", "sentiment-bilstm", "--out", str(tmp_path / "pre"), "--quiet", *TINY, "epochs=1",
                 "pretrain_epochs=2"]) == 0
    order = splits(tmp_path / "pre")
    assert "pretrain-lm" in order and order.index("pretrain-lm") < order.index("train")


def test_lexicon_is_read_and_checked(fake_root, tmp_path, monkeypatch):
    lex = load_sentences("rt-sentences").lexicon  # the loaders read it beside the sentences
    assert lex == {"gripping": 2.1, "funny": 1.9, "dull": -1.7, "boring": -1.3, ":)": 2.0, "zzunseen": 3.0}
    monkeypatch.setenv("NNZOO_DATA", str(tmp_path))
    write_sdist(tmp_path, ["1\t1.0\tA film."], lexicon=None)
    with pytest.raises(DataError, match="has no vaderSentiment/vader_lexicon.txt"):
        read_lexicon(vader_sdist())
    write_sdist(tmp_path, ["1\t1.0\tA film."], lexicon=["good\tvery"])
    with pytest.raises(DataError, match="vader_lexicon.txt line 1"):
        read_lexicon(vader_sdist())


def test_features_carry_rating_and_spelling_of_every_token(fake_root):
    assert char_grams("film") == ["<fi", "fil", "ilm", "lm>", "<fil", "film", "ilm>", "<film", "film>"]
    assert len(char_grams("x" * 60)) == MAX_GRAMS
    d = load_sentences("rt-sentences")
    assert d.lexicon["gripping"] == 2.1
    f = d.features("test")
    assert f.shape[:2] == d.test_x.shape and f.shape[2] == 2 + max(len(char_grams(w)) for s in d.texts["test"]
                                                                   for w in tokenize(s))
    assert torch.equal(f[..., 0], d.test_x)  # column 0: the same word ids as the data's matrices
    x = Featurizer(d.vocab, d.lexicon)(["Gripping zzunseen qwxz film"])  # zzunseen: rated, never in a sentence
    assert x[0, :, 0].tolist() == [d.vocab.index("gripping"), UNK, UNK, d.vocab.index("film")]
    assert x[0, :, 1].tolist() == [21, 30, 0, 0]  # VADER's rating in tenths, unknown words included
    codes = x[0, 1, 2:]
    assert codes[codes > 0].tolist() == [zlib.crc32(g.encode()) + 1 for g in char_grams("zzunseen")]
    assert not torch.equal(x[0, 1, 2:], x[0, 2, 2:])  # two unknown words, two spellings
    pad = Featurizer(d.vocab, d.lexicon)(["a film", "a"])
    assert (pad[1, 1] == 0).all()  # past a sentence's end: all zeros


def test_valence_rides_beside_the_embedding():
    torch.manual_seed(0)
    cfg = BiLSTMClassifierConfig(vocab_size=6, embed=4, hidden=5, pool="max", dropout=0.0, embed_dropout=0.0,
                                 lexicon=True)
    m = BiLSTMClassifier(cfg).eval()
    assert m.rnn.cells[0][0].weight_ih.shape[1] == 4 + 1  # one input more than the embedding
    x = torch.tensor([[[2, 30], [4, 0]], [[3, -20], [4, 0]]])  # word ids and ratings in tenths
    rated = m(x)
    assert not torch.allclose(rated, m(x[..., 0]))  # the rating reaches the output
    assert torch.allclose(m(x * torch.tensor([1, 0])), m(x[..., 0]))  # word ids alone: rating 0
    assert not any("valence" in k for k in m.state_dict())  # the rating comes with the input, not the model


def test_subwords_give_unknown_words_a_vector_from_their_spelling():
    torch.manual_seed(0)
    d = Featurizer(["<pad>", "<unk>", "film"], {})
    x = d(["dreadful film", "wonderful film"])  # both adjectives unknown: word id UNK
    assert torch.equal(x[0, :, 0], x[1, :, 0])
    kw = dict(vocab_size=3, embed=4, hidden=5, pool="max", dropout=0.0, embed_dropout=0.0)
    plain = BiLSTMClassifier(BiLSTMClassifierConfig(**kw)).eval()
    out = plain(x)
    assert torch.allclose(out[0], out[1])  # without n-grams, one <unk> for both
    sub = BiLSTMClassifier(BiLSTMClassifierConfig(**kw, subwords=50)).eval()
    out = sub(x)
    assert not torch.allclose(out[0], out[1])  # with them, each word is read from its letters
    # the codes (up to 2^32) are hashed into the model's 50 buckets, 0 staying "no n-gram"
    sub.loss((x, torch.tensor([0, 1])))["loss"].backward()
    g = sub.grams.weight.grad
    assert g[0].abs().sum() == 0 and (g[1:].abs().sum(1) > 0).sum() > 5


def test_subword_run_trains_and_predicts(fake_root, tmp_path, nnzoo_cli):
    from nnzoo.cli import main
    out = tmp_path / "sub"
    assert main(["train", "sentiment-bilstm", "--out", str(out), "--quiet", *TINY, "epochs=2", "subwords=300"]) == 0
    assert json.loads((out / "config.json").read_text())["model_config"]["subwords"] == 300
    code, out_text, _ = nnzoo_cli("predict", out, "a gripping film", "--json")
    assert code == 0 and json.loads(out_text.splitlines()[-1])[0]["label"] == "positive"


def test_lexicon_run_saves_the_lexicon_and_predicts(fake_root, tmp_path, nnzoo_cli):
    from nnzoo.cli import main
    out = tmp_path / "lex"
    assert main(["train", "sentiment-bilstm", "--out", str(out), "--quiet", *TINY, "epochs=2", "lexicon=1"]) == 0
    lexicon = json.loads((out / "config.json").read_text())["lexicon"]
    assert lexicon["gripping"] == 2.1 and lexicon["zzunseen"] == 3.0  # saved: predict needs no data set
    code, out_text, _ = nnzoo_cli("predict", out, "a gripping film", "--json")
    assert code == 0 and json.loads(out_text.splitlines()[-1])[0]["label"] == "positive"


def test_ensemble_averages_its_members_probabilities():
    torch.manual_seed(0)
    m = BiLSTMClassifier(dataclasses.replace(tiny(), members=3)).eval()
    x, y = example_batch(tiny())
    assert len(m.members) == 3 and not torch.equal(m.members[0].embed.weight, m.members[1].embed.weight)
    z = [member(x) for member in m.members]
    p = torch.stack([zk.softmax(-1) for zk in z]).mean(0)
    assert torch.allclose(m(x).softmax(-1), p, atol=1e-6) and torch.allclose(m(x).exp(), p, atol=1e-6)
    out = m.loss((x, y))
    # each member is trained on its own loss: the mean of theirs, not the loss of the averaged prediction
    want = sum(F.cross_entropy(zk, y) for zk in z) / 3
    assert torch.allclose(out["loss"], want) and not torch.allclose(out["loss"], F.nll_loss(p.log(), y))
    # logsumexp keeps the average finite where one member's probability underflows
    sure = mean_log_prob([torch.tensor([[200.0, -200.0]]), torch.tensor([[-200.0, 200.0]])])
    assert torch.allclose(sure.exp(), torch.tensor([[0.5, 0.5]]))


def test_ensemble_run_trains_evaluates_and_predicts(fake_root, tmp_path, nnzoo_cli):
    from nnzoo.cli import main
    out = tmp_path / "ens"
    assert main(["train", "sentiment-bilstm", "--out", str(out), "--quiet", *TINY, "epochs=3", "members=2",
                 "subwords=200"]) == 0
    code, text, _ = nnzoo_cli("eval", out, "--json")
    assert code == 0 and json.loads(text.splitlines()[-1])["test_accuracy_percent"] >= 90
    code, text, _ = nnzoo_cli("predict", out, "a dull script", "--json")
    assert code == 0 and json.loads(text.splitlines()[-1])[0]["label"] == "negative"
