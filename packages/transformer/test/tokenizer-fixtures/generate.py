#!/usr/bin/python3
"""Writes small tokenizer files and expected encodings for the TypeScript tokenizer tests.

An independent reference for `packages/transformer/src/tokenizer`: GPT-2's original
byte-level BPE encoder algorithm (byte-to-unicode table, regex pre-tokenizer, merge of the
lowest-ranked pair until none applies), a SentencePiece-style BPE with byte fallback, and the
few Hugging Face `tokenizers` pipeline steps the fixtures use, all written here from the
published descriptions. Uses only the standard library and `regex` (Debian's python3-regex):

    /usr/bin/python3 packages/transformer/test/tokenizer-fixtures/generate.py

Deterministic: running it twice gives byte-identical files. See README.md.
"""

from __future__ import annotations

import json
import shutil
import unicodedata
from collections import Counter
from pathlib import Path

import regex

HERE = Path(__file__).resolve().parent

# ------------------------------------------------------------------------------ corpus

# Training text. The IOI-style sentences are the kind of synthetic task the project trains on.
CORPUS = [
    "When Mary and John went to the store, John gave a drink to Mary.",
    "When Tom and Anna went to the park, Anna gave a ball to Tom.",
    "When John and Mary went to the school, Mary gave a book to John.",
    "After Sarah and David went to the market, David handed an apple to Sarah.",
    "Then, Mary and John had a long argument, and afterwards John said to Mary: hello!",
    "The quick brown fox jumps over the lazy dog. The dog didn't care.",
    "I'm sure you're right, but he's late and we've waited; they'll come, she'd say.",
    "It's 2024 and the numbers are 12345, 3.14159 and 1,000,000.",
    "The store is open from 9 to 5, Monday to Friday.",
    "def encode(text):\n    return [ord(c) for c in text]\n",
    "if (x > 0) { return x * 2; } else { return -x; }",
    "Hello, world! Hello again, world? Hello... world!!!",
    "She sells sea shells by the sea shore; the shells she sells are sea shells.",
    "Caf\u00e9 au lait in Z\u00fcrich, a na\u00efve r\u00e9sum\u00e9, and cr\u00e8me br\u00fbl\u00e9e.",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8 and \u4e2d\u6587 text.",
    "Tabs\tand  double  spaces   and\nnew lines\n\nand paragraphs.",
    "the the the the and and and to to to of of of in in in",
    "Mary gave the drink to John, and John gave the book to Mary.",
    "They went to the store and then to the park and then home.",
    "Emoji like \U0001F600 and \U0001F44D are bytes too.",
]

SPECIAL_EOT = "<|endoftext|>"
TRAIN_VOCAB_SIZE = 440  # 256 bytes + merges + <|endoftext|>
TRAIN_MIN_FREQUENCY = 2

# ------------------------------------------------------------------------------ GPT-2 bytes


def byte_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte -> printable character table.

    Bytes that are printable and not whitespace keep their own code point; the remaining 68
    bytes (controls, space, 0x7F-0xA0, 0xAD) get 256, 257, ... in increasing byte order.
    """
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAC + 1)) + list(range(0xAE, 0xFF + 1))
    table: dict[int, str] = {}
    extra = 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


BYTE_TO_CHAR = byte_to_unicode()
CHAR_TO_BYTE = {c: b for b, c in BYTE_TO_CHAR.items()}


def to_byte_chars(text: str) -> str:
    return "".join(BYTE_TO_CHAR[b] for b in text.encode("utf-8"))


GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
LLAMA3_PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
QWEN2_PATTERN = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""

GPT2_RE = regex.compile(GPT2_PATTERN)
LLAMA3_RE = regex.compile(LLAMA3_PATTERN)
QWEN2_RE = regex.compile(QWEN2_PATTERN)


def split_isolated(pattern: regex.Pattern, text: str) -> list[str]:
    """Matches and the gaps between them, in order, without empty pieces."""
    pieces: list[str] = []
    prev = 0
    for m in pattern.finditer(text):
        if m.start() > prev:
            pieces.append(text[prev:m.start()])
        if m.end() > m.start():
            pieces.append(m.group(0))
        prev = m.end()
    if prev < len(text):
        pieces.append(text[prev:])
    return pieces


# ------------------------------------------------------------------------------ training


def train_merges(word_counts: Counter, token_strings: list[str], target_size: int,
                 min_frequency: int) -> tuple[list[str], list[tuple[int, int]]]:
    """Plain BPE training. Each step merges the most frequent adjacent pair (overlapping pairs
    counted, weighted by word count); ties go to the smallest (left id, right id). A merge
    whose string already exists reuses that id. Stops at `target_size` tokens, when no pair
    is left, or when the best count is below `min_frequency`."""
    strings = list(token_strings)
    index = {s: i for i, s in enumerate(strings)}
    words = {tuple(w): c for w, c in word_counts.items()}
    merges: list[tuple[int, int]] = []
    while len(strings) < target_size:
        pair_counts: Counter = Counter()
        for word, count in words.items():
            for a, b in zip(word, word[1:]):
                pair_counts[(a, b)] += count
        if not pair_counts:
            break
        (a, b), best = min(pair_counts.items(), key=lambda kv: (-kv[1], kv[0][0], kv[0][1]))
        if best < min_frequency:
            break
        merged = strings[a] + strings[b]
        if merged in index:
            new_id = index[merged]
        else:
            new_id = len(strings)
            strings.append(merged)
            index[merged] = new_id
        merges.append((a, b))
        new_words: dict[tuple, int] = {}
        for word, count in words.items():
            out = []
            i = 0
            while i < len(word):
                if i + 1 < len(word) and word[i] == a and word[i + 1] == b:
                    out.append(new_id)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            key = tuple(out)
            new_words[key] = new_words.get(key, 0) + count
        words = new_words
    return strings, merges


def split_specials(text: str, specials: list[str]) -> list[tuple[str, bool]]:
    """Leftmost-longest split of `text` on the given literal tokens: [(piece, is_token)]."""
    out: list[tuple[str, bool]] = []
    pos = 0
    start = 0
    while pos < len(text):
        hit = None
        for s in specials:
            if s and text.startswith(s, pos) and (hit is None or len(s) > len(hit)):
                hit = s
        if hit is None:
            pos += 1
            continue
        if pos > start:
            out.append((text[start:pos], False))
        out.append((hit, True))
        pos += len(hit)
        start = pos
    if start < len(text):
        out.append((text[start:], False))
    return out


def train_byte_level(texts: list[str], vocab_size: int, specials: list[str]) -> tuple[list[str], list[tuple[int, int]]]:
    counts: Counter = Counter()
    for text in texts:
        for piece, is_special in split_specials(text, specials):
            if is_special:
                continue
            for word in GPT2_RE.findall(piece):
                counts[tuple(to_byte_chars(word))] += 1
    # Byte tokens come first, ordered by their printable character (as in GPT-2's vocab.json).
    alphabet = sorted(BYTE_TO_CHAR.values())
    alpha_id = {c: i for i, c in enumerate(alphabet)}
    id_words = Counter({tuple(alpha_id[c] for c in w): n for w, n in counts.items()})
    strings, merges = train_merges(id_words, alphabet, vocab_size - len(specials), TRAIN_MIN_FREQUENCY)
    return strings + specials, merges


# ------------------------------------------------------------------------------ encoding


class BytePairRanks:
    """GPT-2's encoder loop: merge the lowest-ranked adjacent pair everywhere, repeat."""

    def __init__(self, merges: list[tuple[str, str]]):
        self.ranks = {pair: i for i, pair in enumerate(merges)}
        self.cache: dict[tuple[str, ...], list[str]] = {}

    def apply(self, symbols: list[str]) -> list[str]:
        key = tuple(symbols)
        if key in self.cache:
            return self.cache[key]
        word = list(symbols)
        while len(word) > 1:
            pairs = set(zip(word, word[1:]))
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            a, b = best
            out = []
            i = 0
            while i < len(word):
                if i + 1 < len(word) and word[i] == a and word[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            word = out
        self.cache[key] = word
        return word


class ByteLevelReference:
    """A byte-level BPE pipeline: added tokens, optional NFC, a pre-tokenizer regex, BPE."""

    def __init__(self, vocab: dict[str, int], merges: list[tuple[str, str]], added: dict[str, int],
                 special: set[str], pattern: regex.Pattern, split_mode: str, nfc: bool = False,
                 ignore_merges: bool = False, lstrip: set[str] | None = None):
        self.vocab = vocab
        self.bpe = BytePairRanks(merges)
        self.added = added
        self.special = special
        self.pattern = pattern
        self.split_mode = split_mode  # "findall" (GPT-2 encoder) or "isolated" (HF Split)
        self.nfc = nfc
        self.ignore_merges = ignore_merges
        self.lstrip = lstrip or set()
        self.id_to_token = {i: t for t, i in vocab.items()}
        for t, i in added.items():
            self.id_to_token[i] = t

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        for piece, token in split_added(text, list(self.added), self.lstrip):
            if token is not None:
                ids.append(self.added[token])
                continue
            if self.nfc:
                piece = unicodedata.normalize("NFC", piece)
            words = self.pattern.findall(piece) if self.split_mode == "findall" else split_isolated(self.pattern, piece)
            for word in words:
                chars = to_byte_chars(word)
                if self.ignore_merges and chars in self.vocab:
                    ids.append(self.vocab[chars])
                    continue
                ids.extend(self.vocab[t] for t in self.bpe.apply(list(chars)))
        return ids

    def decode(self, ids: list[int], skip_special: bool = False) -> str:
        data = bytearray()
        for i in ids:
            token = self.id_to_token[i]
            if skip_special and token in self.special:
                continue
            if all(c in CHAR_TO_BYTE for c in token):
                data.extend(CHAR_TO_BYTE[c] for c in token)
            else:
                data.extend(token.encode("utf-8"))
        return data.decode("utf-8", errors="replace")


def split_added(text: str, tokens: list[str], lstrip: set[str]) -> list[tuple[str, str | None]]:
    """Added-token split into [(piece, token or None)]; a token in `lstrip` also swallows the
    whitespace just before it (back to the previous token at most)."""
    out: list[tuple[str, str | None]] = []
    for piece, is_token in split_specials(text, tokens):
        if is_token and piece in lstrip and out and out[-1][1] is None:
            prev = out.pop()[0]
            kept = prev.rstrip()  # Unicode whitespace, like Rust's char::is_whitespace here
            if kept:
                out.append((kept, None))
        out.append((piece, piece if is_token else None))
    return out


METASPACE = "\u2581"


def byte_token(b: int) -> str:
    return "<0x%02X>" % b


class SentencePieceReference:
    """A SentencePiece-style BPE over characters with byte fallback (Llama 2 layout)."""

    def __init__(self, vocab: dict[str, int], merges: list[tuple[str, str]], added: dict[str, int],
                 special: set[str], scheme: str):
        self.vocab = vocab
        self.bpe = BytePairRanks(merges)
        self.added = added
        self.special = special
        self.scheme = scheme  # "legacy" (Prepend + Replace normalizer) or "first" (Metaspace)
        self.id_to_token = {i: t for t, i in vocab.items()}

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        offset = 0
        for piece, is_token in split_specials(text, list(self.added)):
            start = offset
            offset += len(piece)
            if is_token:
                ids.append(self.added[piece])
                continue
            if self.scheme == "legacy":
                word = METASPACE + piece.replace(" ", METASPACE)
            else:
                word = piece.replace(" ", METASPACE)
                if start == 0 and not word.startswith(METASPACE):
                    word = METASPACE + word
            symbols: list[str] = []
            for ch in word:
                if ch in self.vocab:
                    symbols.append(ch)
                else:
                    symbols.extend(byte_token(b) for b in ch.encode("utf-8"))
            ids.extend(self.vocab[t] for t in self.bpe.apply(symbols))
        return ids

    def decode(self, ids: list[int], skip_special: bool = False) -> str:
        tokens = [self.id_to_token[i] for i in ids]
        if skip_special:
            tokens = [t for t in tokens if t not in self.special]
        if self.scheme == "legacy":
            # Replace("▁", " "), ByteFallback, Fuse, Strip(" ", 1, 0)
            tokens = [t.replace(METASPACE, " ") for t in tokens]
            text = "".join(byte_fallback(tokens))
            return text[1:] if text.startswith(" ") else text
        # ByteFallback, Metaspace(prepend_scheme="first"), Fuse
        tokens = byte_fallback(tokens)
        out = []
        for i, t in enumerate(tokens):
            out.append("".join(("" if i == 0 else " ") if c == METASPACE else c for c in t))
        return "".join(out)


def byte_fallback(tokens: list[str]) -> list[str]:
    out: list[str] = []
    pending = bytearray()

    def flush():
        if pending:
            try:
                out.append(bytes(pending).decode("utf-8"))
            except UnicodeDecodeError:
                out.extend("\ufffd" for _ in pending)
            pending.clear()

    for t in tokens:
        m = regex.fullmatch(r"<0x([0-9A-F]{2})>", t)
        if m:
            pending.append(int(m.group(1), 16))
        else:
            flush()
            out.append(t)
    flush()
    return out


def train_sentencepiece_style(texts: list[str], n_merges: int) -> tuple[list[str], list[tuple[int, int]]]:
    counts: Counter = Counter()
    for text in texts:
        normalized = METASPACE + text.replace(" ", METASPACE)
        for word in regex.findall(METASPACE + "[^" + METASPACE + "]*|[^" + METASPACE + "]+", normalized):
            counts[tuple(word)] += 1
    base = ["<unk>", "<s>", "</s>"] + [byte_token(b) for b in range(256)]
    alphabet = sorted({c for w in counts for c in w})
    strings = base + alphabet
    idx = {s: i for i, s in enumerate(strings)}
    id_words = Counter({tuple(idx[c] for c in w): n for w, n in counts.items()})
    return train_merges(id_words, strings, len(strings) + n_merges, TRAIN_MIN_FREQUENCY)


# ------------------------------------------------------------------------------ test strings

TRICKY = [
    "",
    " ",
    "  ",
    "   ",
    "hello",
    " hello",
    "hello ",
    "hello  world",
    "Hello world!",
    "When Mary and John went to the store, John gave a drink to",
    "a\tb",
    "\t\tx",
    "line1\nline2",
    "para1\n\npara2",
    "\n",
    "\n\n\n",
    "trailing\n",
    " \n ",
    "\r\n",
    "spaces   then\ttab\t\n\n  and more   ",
    "caf\u00e9 na\u00efve Z\u00fcrich r\u00e9sum\u00e9",
    "e\u0301 combining acute vs \u00e9",
    "\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8",
    "\u4e2d\u6587 \u6d4b\u8bd5 \ud55c\uad6d\uc5b4",
    "emoji \U0001F600!",
    "\U0001F44D\U0001F3FD thumbs with skin tone",
    "family \U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466 zwj",
    "\U0001F3F3\uFE0F\u200D\U0001F308 flag",
    "numbers 12345 3.14159 1,000,000 2024",
    "contractions: I'm, you're, he's, we've, they'll, she'd, can't",
    "UPPER CASE: IT'S, WE'LL, THEY'RE, I'D",
    "long s: it\u017f and '\u017f and Kelvin '\u212a",
    "punctuation!!! ?!? ... --- (parens) [brackets] {braces} \"quotes\"",
    "def f(x):\n    return x * 2\n",
    "non\u00a0breaking and \u3000 ideographic space",
    "next line \u0085 and bom \ufeff here",
    "\u2581 a lower one eighth block",
]


def cases_for(ref, texts: list[str], bos: list[int]) -> list[dict]:
    out = []
    for text in texts:
        ids = ref.encode(text)
        out.append({
            "text": text,
            "ids": ids,
            "idsWithSpecial": bos + ids,
            "decoded": ref.decode(ids),
            "decodedSkipSpecial": ref.decode(ids, skip_special=True),
        })
    return out


# ------------------------------------------------------------------------------ writers


def write_json(path: Path, value) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_expected(path: Path, expected: dict) -> None:
    """Like write_json, but each test case and each long list on one line, to keep diffs small."""
    def one_line(value) -> str:
        return json.dumps(value, ensure_ascii=True)
    lines = ["{"]
    keys = list(expected)
    for k_index, key in enumerate(keys):
        block = expected[key]
        lines.append(f"  {one_line(key)}: {{")
        fields = list(block)
        for f_index, field in enumerate(fields):
            value = block[field]
            comma = "," if f_index < len(fields) - 1 else ""
            if isinstance(value, list) and value and isinstance(value[0], dict):
                lines.append(f"    {one_line(field)}: [")
                lines.extend(f"      {one_line(item)}" + ("," if i < len(value) - 1 else "") for i, item in enumerate(value))
                lines.append("    ]" + comma)
            else:
                lines.append(f"    {one_line(field)}: {one_line(value)}{comma}")
        lines.append("  }" + ("," if k_index < len(keys) - 1 else ""))
    lines.append("}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def added_entry(token_id: int, content: str, special: bool, normalized: bool, lstrip: bool = False) -> dict:
    return {"id": token_id, "content": content, "single_word": False, "lstrip": lstrip, "rstrip": False,
            "normalized": normalized, "special": special}


def bpe_model(vocab: dict[str, int], merges: list[tuple[str, str]], pairs: bool, **extra) -> dict:
    model = {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
             "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
             "vocab": vocab,
             "merges": [[a, b] for a, b in merges] if pairs else [f"{a} {b}" for a, b in merges]}
    model.update(extra)
    return model


def byte_level(add_prefix_space: bool, use_regex: bool) -> dict:
    return {"type": "ByteLevel", "add_prefix_space": add_prefix_space, "trim_offsets": True, "use_regex": use_regex}


def main() -> None:
    for sub in ["gpt2-files", "gpt2-json", "llama3-style", "qwen2-style", "llama2-style", "metaspace-style"]:
        shutil.rmtree(HERE / sub, ignore_errors=True)

    # ---- byte-level vocabulary, shared by the GPT-2, Llama 3 and Qwen2 layouts
    strings, merge_ids = train_byte_level(CORPUS, TRAIN_VOCAB_SIZE, [SPECIAL_EOT])
    vocab = {s: i for i, s in enumerate(strings)}
    assert len(vocab) == len(strings), "duplicate token strings"
    merges = [(strings[a], strings[b]) for a, b in merge_ids]
    eot = vocab[SPECIAL_EOT]
    expected: dict = {
        "trainer": {
            "texts": CORPUS,
            "vocabSize": TRAIN_VOCAB_SIZE,
            "specialTokens": [SPECIAL_EOT],
            "minFrequency": TRAIN_MIN_FREQUENCY,
            "vocab": strings,
            "merges": [f"{a} {b}" for a, b in merges],
        },
    }

    # GPT-2 files: vocab.json + merges.txt (with the #version line) + config.json
    d = HERE / "gpt2-files"
    write_json(d / "vocab.json", vocab)
    (d / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges), encoding="utf-8")
    write_json(d / "config.json", {"model_type": "gpt2", "bos_token_id": eot, "eos_token_id": eot, "vocab_size": len(vocab)})
    gpt2 = ByteLevelReference({k: v for k, v in vocab.items() if k != SPECIAL_EOT}, merges, {SPECIAL_EOT: eot},
                              {SPECIAL_EOT}, GPT2_RE, "findall")
    gpt2_texts = TRICKY + [SPECIAL_EOT, "before" + SPECIAL_EOT + "after", "a " + SPECIAL_EOT + " b",
                           SPECIAL_EOT + SPECIAL_EOT, "<|endoftext", "mixed \U0001F600" + SPECIAL_EOT + "\u65e5\u672c"]
    expected["gpt2"] = {"bos": eot, "eos": eot, "cases": cases_for(gpt2, gpt2_texts, [])}

    # The same tokenizer as Hugging Face tokenizer.json (merges as "a b" strings).
    write_json(HERE / "gpt2-json" / "tokenizer.json", {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added_entry(eot, SPECIAL_EOT, True, True)],
        "normalizer": None,
        "pre_tokenizer": byte_level(False, True),
        "post_processor": byte_level(True, True) | {"trim_offsets": False},
        "decoder": byte_level(True, True),
        "model": bpe_model(vocab, merges, pairs=False, continuing_subword_prefix="", end_of_word_suffix=""),
    })

    # Llama 3 layout: Split(regex) + ByteLevel(use_regex=false), ignore_merges, BOS template,
    # merges as pairs, a non-special added token and an lstrip special token.
    bot, eotl, name, mask = "<|begin_of_text|>", "<|end_of_text|>", "[NAME]", "<mask>"
    base = {k: v for k, v in vocab.items() if k != SPECIAL_EOT}
    n = len(base)
    llama3_added = {bot: n, eotl: n + 1, name: n + 2, mask: n + 3}
    llama3_vocab = dict(base) | {bot: n, eotl: n + 1}
    write_json(HERE / "llama3-style" / "tokenizer.json", {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added_entry(n, bot, True, False), added_entry(n + 1, eotl, True, False),
                         added_entry(n + 2, name, False, False), added_entry(n + 3, mask, True, False, lstrip=True)],
        "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": LLAMA3_PATTERN}, "behavior": "Isolated", "invert": False},
            byte_level(False, False)]},
        "post_processor": {"type": "Sequence", "processors": [
            byte_level(True, False) | {"trim_offsets": False},
            {"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": bot, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
             "pair": [{"SpecialToken": {"id": bot, "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                      {"SpecialToken": {"id": bot, "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
             "special_tokens": {bot: {"id": bot, "ids": [n], "tokens": [bot]}}}]},
        "decoder": byte_level(True, True),
        "model": bpe_model(llama3_vocab, merges, pairs=True, ignore_merges=True),
    })
    write_json(HERE / "llama3-style" / "tokenizer_config.json", {
        "bos_token": bot, "eos_token": eotl, "tokenizer_class": "PreTrainedTokenizerFast"})
    write_json(HERE / "llama3-style" / "config.json", {
        "model_type": "llama", "bos_token_id": n, "eos_token_id": [n + 1, n + 3]})
    llama3 = ByteLevelReference(base, merges, llama3_added, {bot, eotl, mask}, LLAMA3_RE, "isolated",
                                ignore_merges=True, lstrip={mask})
    llama3_texts = TRICKY + [bot + "Hello" + eotl, "Hi " + name + ", " + name + "!", "x " + bot + " y",
                             "fill the   " + mask + " here", mask + "start", "\n" + mask, "<|begin_of_text"]
    expected["llama3-style"] = {"bos": n, "eos": n + 1, "cases": cases_for(llama3, llama3_texts, [n])}

    # Qwen2 layout: NFC normalizer, single-digit regex, specials after the vocabulary.
    ims, ime = "<|im_start|>", "<|im_end|>"
    qwen_added = {SPECIAL_EOT: eot, ims: eot + 1, ime: eot + 2}
    write_json(HERE / "qwen2-style" / "tokenizer.json", {
        "version": "1.0", "truncation": None, "padding": None,
        "added_tokens": [added_entry(eot, SPECIAL_EOT, True, False), added_entry(eot + 1, ims, True, False),
                         added_entry(eot + 2, ime, True, False)],
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": QWEN2_PATTERN}, "behavior": "Isolated", "invert": False},
            byte_level(False, False)]},
        "post_processor": byte_level(False, False) | {"trim_offsets": False},
        "decoder": byte_level(False, False),
        "model": bpe_model(base, merges, pairs=False),
    })
    write_json(HERE / "qwen2-style" / "tokenizer_config.json", {
        "bos_token": None, "eos_token": ime, "pad_token": SPECIAL_EOT, "unk_token": None,
        "tokenizer_class": "Qwen2Tokenizer"})
    qwen = ByteLevelReference(base, merges, qwen_added, {SPECIAL_EOT, ims, ime}, QWEN2_RE, "isolated", nfc=True)
    qwen_texts = TRICKY + [ims + "user\nHi 12345" + ime + "\n", SPECIAL_EOT + "x"]
    expected["qwen2-style"] = {"bos": None, "eos": eot + 2, "pad": eot, "cases": cases_for(qwen, qwen_texts, [])}

    # ---- SentencePiece-style vocabulary with byte fallback (Llama 2 layout)
    sp_strings, sp_merge_ids = train_sentencepiece_style(CORPUS, 150)
    sp_vocab = {s: i for i, s in enumerate(sp_strings)}
    assert len(sp_vocab) == len(sp_strings)
    sp_merges = [(sp_strings[a], sp_strings[b]) for a, b in sp_merge_ids]
    sp_added = {"<unk>": 0, "<s>": 1, "</s>": 2}
    sp_texts = TRICKY + ["<s>Hello</s>", "a <s> b", "<s> leading space", "x</s>"]
    sp_tokens = [added_entry(i, t, True, False) for t, i in sp_added.items()]
    template = {"type": "TemplateProcessing",
                "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                         {"SpecialToken": {"id": "<s>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}}
    sp_model = bpe_model(sp_vocab, sp_merges, pairs=False, unk_token="<unk>", fuse_unk=True, byte_fallback=True)

    write_json(HERE / "llama2-style" / "tokenizer.json", {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": sp_tokens,
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "Prepend", "prepend": METASPACE},
            {"type": "Replace", "pattern": {"String": " "}, "content": METASPACE}]},
        "pre_tokenizer": None,
        "post_processor": template,
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": METASPACE}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": sp_model,
    })
    write_json(HERE / "llama2-style" / "special_tokens_map.json", {
        "bos_token": {"content": "<s>", "lstrip": False, "normalized": False, "rstrip": False, "single_word": False},
        "eos_token": {"content": "</s>", "lstrip": False, "normalized": False, "rstrip": False, "single_word": False},
        "unk_token": {"content": "<unk>", "lstrip": False, "normalized": False, "rstrip": False, "single_word": False}})
    legacy = SentencePieceReference(sp_vocab, sp_merges, sp_added, set(sp_added), "legacy")
    expected["llama2-style"] = {"bos": 1, "eos": 2, "unk": 0, "cases": cases_for(legacy, sp_texts, [1])}

    write_json(HERE / "metaspace-style" / "tokenizer.json", {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": sp_tokens,
        "normalizer": None,
        "pre_tokenizer": {"type": "Metaspace", "replacement": METASPACE, "prepend_scheme": "first", "split": False},
        "post_processor": template,
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "ByteFallback"},
            {"type": "Metaspace", "replacement": METASPACE, "prepend_scheme": "first", "split": False},
            {"type": "Fuse"}]},
        "model": sp_model,
    })
    first = SentencePieceReference(sp_vocab, sp_merges, sp_added, set(sp_added), "first")
    expected["metaspace-style"] = {"bos": None, "eos": None, "unk": 0, "cases": cases_for(first, sp_texts, [1])}

    # Sanity checks of the reference itself: byte-level pipelines are lossless (except that an
    # lstrip token swallows the whitespace before it).
    for key in ["gpt2", "llama3-style"]:
        for case in expected[key]["cases"]:
            if mask not in case["text"]:
                assert case["decoded"] == case["text"], (key, case["text"])

    write_expected(HERE / "expected.json", expected)
    print("byte-level vocab", len(vocab), "merges", len(merges), "| sentencepiece-style vocab",
          len(sp_vocab), "merges", len(sp_merges))


if __name__ == "__main__":
    main()
