"""English -> Spanish translation: the verse aligner on hand-written diatheke output, the split by book, the
seq2seq model's shapes, attention and decoders, and `nnzoo translate` on a tiny run trained on a fake pairs
file (neither the real Bibles nor diatheke are needed)."""
import dataclasses
import json
import random
import stat

import pytest
import torch

from nnzoo.data import translation as T
from nnzoo.models.seq2seq import BOS, EOS, PAD, Seq2Seq, example_batch, reverse_padded, tiny

# what `diatheke -b engWEB2015eb -f OSIS -k ...` prints: word tags, two words glued by tags, a psalm heading
# repeated in front of the reference, a deuterocanonical book, an empty verse, the module name at the end
OSIS = """Genesis 1:1: <w>In</w> <w>the</w> <w>beginning</w>, <w>God</w><w>created</w> <w>the</w> <w>heavens</w>.<milestone type="line"/>
Genesis 1:2: <w>The</w> <w>earth</w> <w>was</w> <w>formless</w>. <milestone type="line"/>
A Psalm by David, when he fled.  Psalms 3:1: Yahweh, how <w>my</w> adversaries <w>have</w> increased! <milestone type="line"/>
<title canonical="true" type="psalm">A praise psalm by David.</title> <lg sID="g1"/> <l level="1" sID="g2"/>Tobit 6:18: <w>And</w> <w>so</w>.<milestone type="line"/>
I John 1:1: <w>That</w> <w>which</w> <w>was</w> <w>from</w> <w>the</w> <w>beginning</w>.<milestone type="line"/>
John 11:35: <w>Jesus</w> <w>wept</w>.<milestone type="line"/>
Jude 1:1: <milestone type="line"/>
(engWEB2015eb)
"""
PLAIN = """Genesis 1:1: EN el principio crió Dios los cielos.
Genesis 1:2: Y la tierra estaba desordenada.
Psalms 3:1: ¡OH Jehová, cuánto se han multiplicado mis enemigos!
I John 1:1: Lo que era desde el principio <G5547>.
John 11:35: Y lloró Jesús.
Jude 1:1: Judas, siervo de Jesucristo.
(spaRV1909eb)
"""


def test_parse_strips_markup_and_headings():
    en = T.parse_verses(OSIS)
    assert en[("Genesis", 1, 1)] == "In the beginning, God created the heavens."  # glued words separated
    assert en[("Psalms", 3, 1)] == "Yahweh, how my adversaries have increased!"  # heading dropped
    assert en[("I John", 1, 1)].startswith("That which")  # not read as John 1:1
    assert ("John", 1, 1) not in en and en[("John", 11, 35)] == "Jesus wept."
    assert en[("Jude", 1, 1)] == "" and not any(b == "Tobit" for b, _, _ in en)
    es = T.parse_verses(PLAIN)
    assert es[("I John", 1, 1)] == "Lo que era desde el principio ."  # Strong's number gone
    pairs = T.align(en, es)
    assert [r for r, _, _ in pairs] == [("Genesis", 1, 1), ("Genesis", 1, 2), ("Psalms", 3, 1), ("John", 11, 35),
                                        ("I John", 1, 1)]  # canonical order; the empty Jude 1:1 dropped


def test_tokenize_keeps_accents_and_spanish_marks():
    assert T.tokenize("God’s “Light”, day 3!") == ["god's", '"', "light", '"', ",", "day", "3", "!"]
    assert T.tokenize("¿Quién vió á Dios?") == ["¿", "quién", "vió", "á", "dios", "?"]


def test_export_caches_pairs_and_later_loads_skip_diatheke(tmp_path, monkeypatch):
    """A fake diatheke prints the fragments; the first load writes pairs.tsv, the second needs no diatheke."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "en.txt").write_text(OSIS)
    (tmp_path / "es.txt").write_text(PLAIN)
    fake = bin_dir / "diatheke"
    fake.write_text(f'#!/bin/sh\ncase "$2" in engWEB2015eb) cat {tmp_path}/en.txt;; *) cat {tmp_path}/es.txt;; esac\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    monkeypatch.setenv("NNZOO_DATA", str(tmp_path / "data"))
    path = T.export_pairs(T.bible_pairs_file())
    rows = T.read_pairs(path)
    assert len(rows) == 5 and rows[0] == (("Genesis", 1, 1), "In the beginning, God created the heavens.",
                                          "EN el principio crió Dios los cielos.")
    fake.unlink()
    assert T.read_pairs(T.bible_pairs_file()) == rows


def test_missing_data_names_the_install_command(tmp_path, monkeypatch):
    from nnzoo.data import store
    monkeypatch.setenv("NNZOO_DATA", str(tmp_path))
    monkeypatch.setattr(store, "SWORD_CONFS", [tmp_path / "nowhere.conf"])
    with pytest.raises(T.DataError, match="nnzoo data install bible-en-es"):
        T.load_pairs("bible-en-es")
    assert "apt-get install -y sword-text-web sword-text-sparv diatheke" in store.install_command("bible-en-es")


# a toy language pair with a word-for-word dictionary, to stand in for the Bibles
LEXICON = {"god": "dios", "saw": "vio", "the": "la", "light": "luz", "earth": "tierra", "and": "y", "was": "era",
           "good": "buena", "water": "agua", "made": "hizo", "night": "noche", "day": "día", "said": "dijo",
           "great": "grande", "sea": "mar", "people": "pueblo"}
BOOKS = ["Genesis", "Exodus", "Leviticus", "Numbers", "Ruth", "Job", "Mark", "Jude"]


def fake_pairs(n: int = 240, seed: int = 0):
    rng = random.Random(seed)
    words = sorted(LEXICON)
    out = []
    for i in range(n):
        en = [rng.choice(words) for _ in range(rng.randint(2, 6))]
        out.append(((BOOKS[i % len(BOOKS)], 1 + i // 50, 1 + i % 50), " ".join(en).capitalize() + ".",
                    " ".join(LEXICON[w] for w in en).capitalize() + "."))
    return out


def write_pairs(path, pairs):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(T.HEADER + "\n" + "".join(f"{b}\t{c}\t{v}\t{e}\t{s}\n" for (b, c, v), e, s in pairs),
                    encoding="utf-8")


def test_split_by_book_shares_no_book_and_vocab_comes_from_train():
    counts = {f"book{i}": 10 + 7 * i for i in range(30)}
    books = T.split_books(counts, seed=0)
    sets = [set(books[s]) for s in ("train", "val", "test")]
    assert sets[0] | sets[1] | sets[2] == set(counts) and not (sets[0] & sets[1] or sets[0] & sets[2] or sets[1] & sets[2])
    total = sum(counts.values())
    for s in ("val", "test"):
        assert 0 < sum(counts[b] for b in books[s]) <= 0.1 * total
    assert T.split_books(counts, seed=0) == books  # fixed seed, fixed split
    pairs = fake_pairs() + [(("Jude", 9, 1), "Zebulun saw the sea.", "Zabulón vio la mar.")]
    data = T.build("fake", pairs)
    where = {s: {r[0] for r in data.refs[s]} for s in ("train", "val", "test")}
    assert not (where["train"] & where["test"] or where["train"] & where["val"] or where["val"] & where["test"])
    assert "zebulun" not in data.src_vocab  # a word of a held-out book only is unknown
    assert data.src_vocab[:4] == T.SPECIALS and (data.train_tgt[:, 0] == T.BOS).all()


@pytest.mark.parametrize("attention", ["none", "bahdanau"])
@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_shapes_and_beam_of_one_is_greedy(attention, cell):
    torch.manual_seed(0)
    cfg = dataclasses.replace(tiny(), attention=attention, cell=cell)
    model = Seq2Seq(cfg).eval()
    src, tgt = example_batch(cfg, 8)
    logits, alpha = model(src, tgt[:, :-1])
    assert logits.shape == (8, tgt.size(1) - 1, cfg.tgt_vocab)
    assert (alpha is None) == (attention == "none")
    g, ga = model.greedy(src)
    b, ba, score = model.beam_search(src, beam=1)
    assert torch.equal(g, b) and score.shape == (8,)
    if ga is not None:
        assert ga.shape == (8, g.size(1), src.size(1)) and torch.allclose(ga, ba)
    b3, _, _ = model.beam_search(src, beam=3)
    assert b3.size(0) == 8 and not (b3 == BOS).any()


def test_attention_weights_sum_to_one_and_skip_padding():
    torch.manual_seed(0)
    cfg = tiny()
    model = Seq2Seq(cfg).eval()
    src, tgt = example_batch(cfg, 16)
    assert (src == PAD).any()
    _, alpha = model(src, tgt[:, :-1])  # B, T, S
    assert torch.allclose(alpha.sum(-1), torch.ones(alpha.shape[:2]), atol=1e-6)
    assert (alpha.masked_select((src == PAD)[:, None, :].expand_as(alpha)) == 0).all()


def test_reverse_source_keeps_padding_in_place():
    x = torch.tensor([[5, 6, 7, EOS, PAD], [8, EOS, PAD, PAD, PAD]])
    lengths = (x != PAD).sum(1)
    assert reverse_padded(x, lengths).tolist() == [[EOS, 7, 6, 5, PAD], [EOS, 8, PAD, PAD, PAD]]
    cfg = dataclasses.replace(tiny(), reverse_source=True, attention="none", bidirectional=False)
    model = Seq2Seq(cfg)
    src, tgt = example_batch(cfg, 4)
    assert model(src, tgt[:, :-1])[0].shape[:2] == tgt[:, 1:].shape


@pytest.mark.parametrize("attention", ["none", "bahdanau"])
def test_learns_to_reverse_short_sequences(attention):
    torch.manual_seed(0)
    cfg = dataclasses.replace(tiny(), attention=attention, hidden=32, embed=16)
    model = Seq2Seq(cfg)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    src, tgt = example_batch(cfg, 32)
    losses = []
    for _ in range(40):
        loss = model.loss((src, tgt))["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.3 * losses[0]


@pytest.fixture(scope="module")
def fake_data_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    write_pairs(root / "bible-en-es" / "pairs.tsv", fake_pairs())
    return root


@pytest.fixture(scope="module")
def tiny_run(fake_data_root, tmp_path_factory):
    from nnzoo.cli import main
    mp = pytest.MonkeyPatch()
    mp.setenv("NNZOO_DATA", str(fake_data_root))
    out = tmp_path_factory.mktemp("runs") / "mt"
    assert main(["train", "translate-en-es-attention", "--out", str(out), "--quiet", "epochs=6", "embed=16",
                 "hidden=32", "attn_size=16", "beam=3", "max_len=12", "batch_size=16", "lr=0.01", "dropout=0",
                 "tensorboard=false", "log_every=5"]) == 0
    yield out
    mp.undo()


def test_eval_reports_bleu_and_draws_attention(tiny_run, fake_data_root, nnzoo_cli, monkeypatch):
    monkeypatch.setenv("NNZOO_DATA", str(fake_data_root))
    code, out, _ = nnzoo_cli("eval", tiny_run, "--json")
    figures = json.loads(out)
    assert code == 0 and figures["recipe"] == "translate-en-es-attention"
    assert 0 <= figures["test_bleu_greedy"] <= 100 and 0 <= figures["test_bleu_beam"] <= 100
    assert figures["bleu_signature"].startswith("nrefs:1|case:lc") and "greedy:" in figures["examples"]
    assert figures["test_pairs"] > 0 and figures["test_books"]
    assert (tiny_run / "attention.png").stat().st_size > 1000


def test_cli_translate(tiny_run, nnzoo_cli):
    code, out, err = nnzoo_cli("translate", tiny_run, "God saw the light.")
    assert code == 0 and out.strip() and not err
    code, out, _ = nnzoo_cli("translate", tiny_run, "God saw the light Zebulun.", "--beam", "1", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["decoding"] == "greedy" and doc["unknown_words"] == ["zebulun"]
    assert len(doc["attention"]) in (len(doc["tokens"]), len(doc["tokens"]) + 1)  # + EOS, if it came
    assert all(abs(sum(row) - 1) < 1e-3 for row in doc["attention"])


def one_error_line(code, err, *needles):
    lines = [l for l in err.strip().splitlines() if l]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("nnzoo: error: "), err
    for n in needles:
        assert n in lines[0]


def test_cli_translate_errors(tiny_run, fake_data_root, nnzoo_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("NNZOO_DATA", str(fake_data_root))
    code, _, err = nnzoo_cli("translate", tiny_run, "Zebulun Naphtali")
    one_error_line(code, err, "none of the words")
    code, _, err = nnzoo_cli("translate", tiny_run, "   ")
    one_error_line(code, err, "empty")
    code, _, err = nnzoo_cli("translate", tiny_run, "God saw", "--beam", "0")
    one_error_line(code, err, "--beam")
    other = tmp_path / "digits-run"
    other.mkdir()
    (other / "config.json").write_text(json.dumps({"recipe": "digits-cnn", "model": "cnn", "model_config": {},
                                                   "train": {}}))
    code, _, err = nnzoo_cli("translate", other, "God saw the light.")
    one_error_line(code, err, "not a translation run", "translate-en-es")
    code, _, err = nnzoo_cli("predict", tiny_run, "God saw the light.")
    one_error_line(code, err, "nnzoo translate")
    code, _, err = nnzoo_cli("train", "translate-en-es", "attention=luong")
    one_error_line(code, err, "attention='luong'")


def test_bucketed_epoch_is_a_permutation_of_similar_lengths():
    from nnzoo.tasks.translate import Task
    data = T.build("fake", fake_pairs())
    n, batch = len(data.train_src), 8
    order = torch.randperm(n, generator=torch.Generator().manual_seed(3))
    bucketed = Task().bucket(data, order, batch, seed=3)
    assert sorted(bucketed.tolist()) == list(range(n))
    assert torch.equal(bucketed, Task().bucket(data, order, batch, seed=3))  # a resumed run sees the same batches
    lengths = (data.train_tgt != T.PAD).sum(1)

    def spread(idx):  # summed length range within each batch
        return sum(int(lengths[b].max() - lengths[b].min()) for b in idx.split(batch))
    assert spread(bucketed) < spread(order)
