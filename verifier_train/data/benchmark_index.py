"""An exact n-gram index of benchmark texts, for decontaminating a corpus with the DeepSeekMath
rules, and the word scanner that both sides of the match share.

Rules. A benchmark text of 10 or more words contributes every run of 10 consecutive words (its
10-grams); a document that contains any of them is contaminated. A text of 3 to 9 words is
matched exactly: a document is contaminated when it contains the whole text as a run of
consecutive words. Texts of fewer than 3 words are left out (and reported).

Normalisation (the same for benchmark texts and documents): non-ASCII text is put in Unicode
NFKC form, everything is lowercased (`str.lower`), and a word is a maximal run of letters and
digits of any script (`str.isalnum`). Everything else separates words: spaces, punctuation,
underscores, LaTeX backslashes and braces, combining marks. So `\\frac{1}{2}` is the words
`frac 1 2`, `x_1` is `x 1`, `don't` is `don t`, and full-width or ligature characters count as
their plain forms. This is `re.findall(r"[^\\W_]+", nfkc(text).lower())`: `words()` is that
reference, and `scan()` is a vectorised equivalent over many texts at once.

Speed. Documents are scanned a batch at a time in numpy: word boundaries come from a byte
table over the batch's UTF-8 (non-ASCII characters decoded in numpy to tell letters from
punctuation), each word is hashed from its bytes read 8 at a time, an n-gram's key is a
polynomial prefix-sum difference of word hashes modulo 2^64, and a key is looked up through a
byte map (most absent keys stop there) and a binary search in the sorted benchmark keys. Short
benchmark texts are reached through their first 3 words, so they cost one more pass, not one
per length. Every hit is checked word by word against the benchmark text, so a hash collision
costs time, never a false removal. Keys are deterministic (no per-process `hash()` salt) and
are not stored: they are rebuilt from the normalised texts when an index is loaded
(milliseconds for thousands of texts). Measured in `benchmarks/data_decontamination.py`.

Index file (`.npz`, read without pickle): the normalised texts (words joined by one space, one
text a line), each item's provenance (source file and record id or line) as JSON, and a format
number. The shipped `indexes/champ-v0.npz` holds the 270 CHAMP problem statements
(`champ_dataset.load("v0")`); rebuild it, or build your own, with

    python -m verifier_train.data.benchmark_index OUT.npz --champ [FILE.jsonl ...]

where each FILE is JSON Lines, a JSON list or a directory of JSON records whose text is in a
`text`, `problem` or `question` field (GSM8K test: `test.jsonl` with `question`; MATH: the
`test/` directory or a JSONL export with `problem`). An n-gram that several items share is
reported with each of them.

This module does not: match near-copies (one changed word inside every 10-gram defeats it),
canonicalise LaTeX (`\\frac12` is the word `frac12`, not `frac 1 2`), index answers or
solutions (only the statement fields above), or fetch benchmarks from the network.
"""

from __future__ import annotations

import argparse
import functools
import json
import re
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from prover.errors import InputError, require
from prover.records import Invalid, read_records

NGRAM = 10  # DeepSeekMath: exact 10-gram overlap
MIN_WORDS = 3  # shorter benchmark texts are left out
FORMAT = 1
TEXT_FIELDS = ("text", "problem", "question")
ID_FIELDS = ("id", "unique_id", "problem_id", "problem_idx", "idx")
SHIPPED = Path(__file__).with_name("indexes") / "champ-v0.npz"

_WORD = re.compile(r"[^\W_]+")
# bytes.translate table: 1 for bytes that may belong to words (ASCII letters and digits, and
# every byte of a multi-byte UTF-8 character; `_unmark_separators` then clears non-ASCII
# characters that are not letters or digits)
_WORD_BYTE = bytes(int(chr(b).isalnum() or b >= 0x80) for b in range(256))
_MASKS = np.array([(1 << (8 * k)) - 1 for k in range(9)], dtype=np.uint64)  # k low bytes
_MULTIPLIER = np.uint64(0x9E3779B97F4A7C15)
_SHIFT = np.uint64(29)
_BASE = 0xD6E8FEB86659FD93  # odd, so invertible modulo 2^64
_BASE_INV = pow(_BASE, -1, 1 << 64)
_PAD = b"\0" * 8  # lets every word start read a full 8-byte chunk


@dataclass(frozen=True)
class Item:
    """Where a benchmark text came from: its file (or dataset) and its id or line."""

    source: str
    id: str

    @property
    def label(self) -> str:
        return f"{self.source}#{self.id}"


@dataclass(frozen=True, slots=True)
class Match:
    """`length` words of a document from word `start` on equal words `offset`.. of `item`."""

    item: int
    offset: int
    start: int
    length: int


@dataclass(frozen=True)
class Scan:
    """Words of several texts: byte spans in `buf`, 64-bit hashes, and where each text begins
    (`first[d]` is the index of text d's first word; `first[-1]` is the number of words)."""

    buf: bytes
    starts: np.ndarray
    ends: np.ndarray
    hashes: np.ndarray
    first: np.ndarray


# -- normalisation and scanning ---------------------------------------------------------------
def _normal(text: str) -> str:
    if text.isascii():
        return text.lower()
    text = text.replace("\xa0", " ")  # NFKC's own mapping, and the commonest reason to run it
    if not unicodedata.is_normalized("NFKC", text):
        text = unicodedata.normalize("NFKC", text)
    return text.lower()


def words(text: str) -> list[str]:
    """The reference tokenisation (see the module docstring)."""
    return _WORD.findall(_normal(text))


def normalize(text: str) -> bytes:
    """The normalised text as UTF-8 (lone surrogates kept, as non-word characters); `scan`
    finds in it exactly the words of `words(text)`."""
    return _normal(text).encode("utf-8", "surrogatepass")


def _mix(x: np.ndarray) -> np.ndarray:
    """Multiply and fold the high bits down, elementwise (uint64 arithmetic wraps)."""
    x = x * _MULTIPLIER
    return x ^ (x >> _SHIFT)


def _word_hashes(buf: bytes, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each word's bytes, read 8 bytes at a time from unaligned offsets.
    Word bytes are never zero, so the masked chunks also tell the word's length."""
    chunks = np.ndarray((len(buf) - 7,), dtype="V8", buffer=buf, strides=(1,))  # "V8": fast
    lengths = ends - starts
    hashes = _mix(chunks[starts].view("<u8") & _MASKS.take(lengths, mode="clip"))
    done, longer = 8, np.flatnonzero(lengths > 8)
    while len(longer):
        rest = lengths[longer] - done
        chunk = chunks[starts[longer] + done].view("<u8") & _MASKS.take(rest, mode="clip")
        hashes[longer] = _mix(hashes[longer] ^ chunk)
        done += 8
        longer = longer[rest > 8]
    return hashes


def scan(normalized: Sequence[bytes]) -> Scan:
    """Find and hash the words of many normalised texts in one pass."""
    buf = b" " + b" ".join(normalized) + _PAD
    marks = buf.translate(_WORD_BYTE)
    is_word = np.frombuffer(marks if buf.isascii() else _unmark_separators(buf, marks), np.int8)
    edges = np.flatnonzero(is_word[1:] != is_word[:-1]) + 1  # alternate: start, end, start, ...
    starts, ends = edges[0::2], edges[1::2]
    offsets = np.cumsum([1] + [len(b) + 1 for b in normalized])
    first = np.searchsorted(starts, offsets)
    first[-1] = len(starts)
    return Scan(buf, starts, ends, _word_hashes(buf, starts, ends), first)


@functools.lru_cache(maxsize=1)
def _alnum_table() -> np.ndarray:
    """`chr(c).isalnum()` for every code point (built once per process, about 0.1 s)."""
    return np.frombuffer(bytes(chr(c).isalnum() for c in range(0x110000)), dtype=np.bool_)


def _unmark_separators(buf: bytes, marks: bytes) -> bytearray:
    """Clear the marks of the bytes of non-ASCII characters that are not letters or digits
    (the UTF-8 of each non-ASCII character is decoded in numpy)."""
    data, cleared = np.frombuffer(buf, dtype=np.uint8), bytearray(marks)
    view = np.frombuffer(cleared, dtype=np.uint8)
    high = np.flatnonzero(data >= 0x80)
    lead = high[(data[high] & 0xC0) != 0x80]
    first = data[lead].astype(np.uint32)
    size = 2 + (first >= 0xE0) + (first >= 0xF0)
    separator = ~_alnum_table()[_code_points(data, lead, first, size)]
    for k in range(4):
        view[lead[separator & (size > k)] + k] = 0
    return cleared


def _code_points(data: np.ndarray, lead: np.ndarray, first: np.ndarray, size: np.ndarray):
    """Code points of the UTF-8 sequences of `size` bytes that start at `lead`."""
    b1, b2, b3 = (data[lead + k].astype(np.uint32) & 0x3F for k in (1, 2, 3))
    two = (first & 0x1F) << 6 | b1
    three = (first & 0x0F) << 12 | b1 << 6 | b2
    four = (first & 0x07) << 18 | b1 << 12 | b2 << 6 | b3
    return np.select([size == 2, size == 3], [two, three], four)


@functools.lru_cache(maxsize=4)
def _powers(size: int) -> tuple[np.ndarray, np.ndarray]:
    """BASE^i and BASE^-i modulo 2^64 for i < size."""
    up, down = np.full(size, _BASE, dtype=np.uint64), np.full(size, _BASE_INV, dtype=np.uint64)
    up[0] = down[0] = 1
    return np.cumprod(up, dtype=np.uint64), np.cumprod(down, dtype=np.uint64)


def _prefix(hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Prefix sums of hash_i * BASE^i, and BASE^-i, for n-gram keys in O(1) each."""
    up, down = _powers(1 << max(12, len(hashes).bit_length()))
    sums = np.zeros(len(hashes) + 1, dtype=np.uint64)
    np.cumsum(hashes * up[: len(hashes)], out=sums[1:])
    return sums, down


def gram_keys(sums: np.ndarray, down: np.ndarray, n: int) -> np.ndarray:
    """The key of every n-word window (position-independent: sum of hash_j * BASE^j)."""
    count = len(sums) - n
    if count <= 0:
        return np.zeros(0, dtype=np.uint64)
    return (sums[n:] - sums[:count]) * down[:count]


# -- the index ---------------------------------------------------------------------------------
class BenchmarkIndex:
    """Normalised benchmark texts with their provenance, and the keys to find them."""

    def __init__(self, items: Sequence[Item], texts: Sequence[bytes]):
        if len(items) != len(texts):
            raise ValueError("one normalised text per item")
        self.items = tuple(items)
        self.texts = tuple(texts)
        self._split: dict[int, list[bytes]] = {}  # words of the items matched so far
        self._build_keys()

    def __len__(self) -> int:
        return len(self.items)

    def _build_keys(self) -> None:
        data = scan(self.texts)
        sums, down = _prefix(data.hashes)
        counts = np.diff(data.first)
        owner = np.repeat(np.arange(len(self.texts)), counts)
        keys, where = [], []
        for n in range(MIN_WORDS, NGRAM + 1):
            starts = _key_starts(data.first, counts, owner, n)
            keys.append(gram_keys(sums, down, n)[starts])
            where.append(starts)
        where = np.concatenate(where).astype(np.int64)
        items = owner[where]
        self._set_keys(np.concatenate(keys), items, where - data.first[items])
        short = (counts >= MIN_WORDS) & (counts < NGRAM)
        self._short_lengths = sorted(set(counts[short].tolist()))
        heads = gram_keys(sums, down, MIN_WORDS)[data.first[:-1][short]]
        self._heads = _KeySet(np.unique(heads))

    def _set_keys(self, keys: np.ndarray, items: np.ndarray, offsets: np.ndarray) -> None:
        """Sorted unique keys with the first item holding each; other holders in `_shared`."""
        order = np.argsort(keys, kind="stable")
        keys, items, offsets = keys[order], items[order], offsets[order]
        unique, first, counts = np.unique(keys, return_index=True, return_counts=True)
        self._grams = _KeySet(unique)
        self._key_item, self._key_offset = items[first], offsets[first]
        self._shared = _shared_holders(first, counts, items, offsets)

    def find(self, texts: Sequence[str], every: bool = True) -> list[list[Match]]:
        """For each text, its verified matches, sorted by position: all of them, or with
        `every=False` the first match of each benchmark item (enough to drop a document and
        name what it matched, and quicker on pages that copy a whole problem)."""
        # `normalize`, with its ASCII case (most documents) inlined
        data = scan([t.lower().encode() if t.isascii() else normalize(t) for t in texts])
        sums, down = _prefix(data.hashes)
        found: list[list[Match]] = [[] for _ in texts]
        seen = None if every else set()
        starts, keys = self._grams.find(gram_keys(sums, down, NGRAM))
        self._verify(data, (starts, NGRAM, keys), found, seen)
        if self._short_lengths:
            heads, _ = self._heads.find(gram_keys(sums, down, MIN_WORDS))
            for n in self._short_lengths:
                at = heads[heads + n < len(sums)]
                index, keys = self._grams.find((sums[at + n] - sums[at]) * down[at])
                self._verify(data, (at[index], n, keys), found, seen)
        for matches in found:
            matches.sort(key=lambda m: (m.start, m.length))
        return found

    def _verify(self, data: Scan, hits: tuple, found: list[list[Match]], seen: set | None):
        """Keep the hits (window starts, length, keys) that lie inside one text and equal
        benchmark words exactly; with `seen`, skip (text, item) pairs already found."""
        starts, n, keys = hits
        docs = np.searchsorted(data.first, starts, side="right") - 1
        inside = starts + n <= data.first[docs + 1]
        for start, doc, key in zip(
            starts[inside].tolist(), docs[inside].tolist(), keys[inside].tolist(), strict=True
        ):
            holders = [(int(self._key_item[key]), int(self._key_offset[key]))]
            holders += self._shared.get(key, [])
            if seen is not None:
                holders = [(i, o) for i, o in holders if (doc, i) not in seen]
            words_ = _span_words(data, start, n) if holders else None
            for item, offset in holders:
                if words_ == self._entry(item, offset, n):
                    found[doc].append(Match(item, offset, start - int(data.first[doc]), n))
                    if seen is not None:
                        seen.add((doc, item))

    def _entry(self, item: int, offset: int, n: int) -> list[bytes] | None:
        """Words offset.. of an item's text that form an index entry of n words, else None."""
        words_ = self._split.get(item)
        if words_ is None:
            words_ = self._split[item] = self.texts[item].split(b" ")
        return words_[offset : offset + n] if n == NGRAM or len(words_) == n else None

    @property
    def ngram_count(self) -> int:
        return len(self._grams.keys)

    def ngram(self, match: Match) -> str:
        """The matched words, normalised, as one string."""
        words_ = self.texts[match.item].split(b" ")
        return b" ".join(words_[match.offset : match.offset + match.length]).decode()

    def save(self, path: str | Path) -> None:
        items = json.dumps([[item.source, item.id] for item in self.items]).encode()
        with Path(path).open("wb") as handle:  # np.savez would add ".npz" to other names
            np.savez_compressed(
                handle,
                format=np.array([FORMAT]),
                items=np.frombuffer(items, dtype=np.uint8),
                texts=np.frombuffer(b"\n".join(self.texts), dtype=np.uint8),
            )


class _KeySet:
    """Sorted 64-bit keys behind a byte map (about 32 slots per key) that turns most absent
    queries away with one lookup; the rest are settled by binary search."""

    def __init__(self, keys: np.ndarray):
        self.keys = keys
        bits = max(12, (len(keys) * 32).bit_length())
        self.shift = np.uint64(64 - bits)
        self.map = np.zeros(1 << bits, dtype=np.bool_)
        self.map[(keys >> self.shift).view(np.int64)] = True

    def find(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(positions in `queries`, positions in `keys`) of the queries that are keys."""
        maybe = np.flatnonzero(self.map.take((queries >> self.shift).view(np.int64)))
        if not len(maybe):
            return maybe, maybe
        found = queries[maybe]
        where = np.minimum(np.searchsorted(self.keys, found), len(self.keys) - 1)
        equal = self.keys[where] == found
        return maybe[equal], where[equal]


def _shared_holders(first, counts, items, offsets) -> dict[int, list[tuple[int, int]]]:
    """For keys held by several items: (item, offset) of each holder after the first, one per
    item. Arrays are sorted by key; `first` and `counts` come from `np.unique`."""
    shared = {}
    for key in np.flatnonzero(counts > 1).tolist():
        lo, hi = int(first[key]), int(first[key] + counts[key])
        holders: dict[int, int] = {}
        for item, offset in zip(items[lo:hi].tolist(), offsets[lo:hi].tolist(), strict=True):
            holders.setdefault(item, offset)
        holders.pop(int(items[lo]))
        if holders:
            shared[key] = sorted(holders.items())
    return shared


def _span_words(data: Scan, start: int, n: int) -> list[bytes]:
    """The normalised bytes of words start..start+n-1 of a scan."""
    starts, ends = data.starts[start : start + n].tolist(), data.ends[start : start + n].tolist()
    return [data.buf[a:b] for a, b in zip(starts, ends, strict=True)]


def _key_starts(first: np.ndarray, counts: np.ndarray, owner: np.ndarray, n: int) -> np.ndarray:
    """Word positions whose n-word window is an index entry: every 10-gram of a long text, or
    the whole of a text of exactly n < 10 words."""
    if n < NGRAM:
        return first[:-1][counts == n]
    starts = np.arange(max(0, int(first[-1]) - n + 1))
    return starts[owner[starts] == owner[starts + n - 1]] if len(starts) else starts


# -- building, saving, loading -----------------------------------------------------------------
@dataclass(frozen=True)
class Built:
    """A built index and one line per benchmark file about what was left out."""

    index: BenchmarkIndex
    notes: tuple[str, ...]


def _normalized(entries: Iterable[tuple[Item, str]]) -> tuple[list, list, Counter]:
    """Items and normalised texts of at least MIN_WORDS words; the others are counted."""
    items, texts, skipped = [], [], Counter()
    for item, text in entries:
        tokens = words(text)
        if len(tokens) < MIN_WORDS:
            skipped[f"fewer than {MIN_WORDS} words"] += 1
            continue
        items.append(item)
        texts.append(" ".join(tokens).encode())
    return items, texts, skipped


def from_texts(entries: Iterable[tuple[Item, str]]) -> BenchmarkIndex:
    """An index of the texts that have at least MIN_WORDS words."""
    items, texts, _ = _normalized(entries)
    return BenchmarkIndex(items, texts)


def merge(indexes: Sequence[BenchmarkIndex]) -> BenchmarkIndex:
    """One index holding the items of all of them, in order."""
    items = [item for index in indexes for item in index.items]
    return BenchmarkIndex(items, [text for index in indexes for text in index.texts])


def build(paths: Sequence[str | Path]) -> Built:
    """An index of the benchmark files (or directories of them) named by the user."""
    items, texts, notes = [], [], []
    for file in (file for path in map(Path, paths) for file in _files(path)):
        entries, skipped = _file_entries(file)
        kept, normal, short = _normalized(entries)
        skipped.update(short)
        if not kept:
            raise InputError(f"{file} has no text of {MIN_WORDS} or more words{_why(skipped)}")
        if skipped:
            notes.append(f"{file}: {len(kept)} texts indexed{_why(skipped)}")
        items += kept
        texts += normal
    return Built(BenchmarkIndex(items, texts), tuple(notes))


def _why(skipped: Counter) -> str:
    if not skipped:
        return ""
    return "; skipped " + ", ".join(f"{n} ({reason})" for reason, n in skipped.most_common())


def _files(path: Path) -> list[Path]:
    if not path.is_dir():
        return [path]
    files = sorted(path.rglob("*.json")) + sorted(path.rglob("*.jsonl"))
    if not files:
        raise InputError(f"{path} holds no .json or .jsonl benchmark files")
    return files


def _file_entries(path: Path) -> tuple[list[tuple[Item, str]], Counter]:
    """(provenance, text) of each usable record; bad records are counted by reason."""
    entries, skipped = [], Counter()
    unit = "record" if path.suffix.lower() == ".json" else "line"
    for number, value in read_records(path):
        text = _record_text(value)
        if isinstance(text, Invalid):
            skipped[str(text)] += 1
            continue
        entries.append((Item(str(path), _record_id(value, f"{unit} {number}")), text))
    return entries, skipped


def _record_text(value: object) -> str | Invalid:
    if isinstance(value, Invalid):
        return Invalid("malformed record")
    if not isinstance(value, dict):
        return Invalid("not a JSON object")
    text = next((value[f] for f in TEXT_FIELDS if isinstance(value.get(f), str)), None)
    return Invalid("no text, problem or question field") if text is None else text


def _record_id(value: dict, default: str) -> str:
    found = next((value[f] for f in ID_FIELDS if isinstance(value.get(f), (str, int))), None)
    return default if found is None or isinstance(found, bool) else str(found)


def champ_entries() -> list[tuple[Item, str]]:
    """The CHAMP problem statements (`champ-dataset`, offline)."""
    champ = require("champ_dataset", "eval")
    problems = champ.load("v0").problems.values()
    return [(Item("champ-v0", p.identifier), p.text) for p in problems]


def load(path: str | Path) -> BenchmarkIndex:
    """Read an index file written by `BenchmarkIndex.save`."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no such benchmark index: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            version = int(data["format"][0])
            raw_items, raw_texts = data["items"].tobytes(), data["texts"].tobytes()
        items = [Item(str(source), str(id_)) for source, id_ in json.loads(raw_items)]
    except (OSError, ValueError, KeyError, IndexError, TypeError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path} is not a benchmark index ({exc})") from exc
    if version != FORMAT:
        raise InputError(f"{path} has index format {version}, this version reads {FORMAT}")
    texts = raw_texts.split(b"\n") if items else []
    if len(texts) != len(items):
        raise InputError(f"{path} is damaged: {len(items)} items but {len(texts)} texts")
    return BenchmarkIndex(items, texts)


def main(argv: Sequence[str] | None = None) -> None:
    """Build an index file: `python -m verifier_train.data.benchmark_index OUT.npz ...`."""
    parser = argparse.ArgumentParser(description="Build a benchmark n-gram index file.")
    parser.add_argument("out", type=Path, help="index file to write (.npz)")
    parser.add_argument("files", nargs="*", type=Path, help="benchmark JSONL/JSON files or dirs")
    parser.add_argument("--champ", action="store_true", help="add the CHAMP problem statements")
    args = parser.parse_args(argv)
    if not args.files and not args.champ:
        parser.error("name benchmark files, --champ, or both")
    parts, notes = [], []
    if args.champ:
        parts.append(from_texts(champ_entries()))
    if args.files:
        built = build(args.files)
        parts.append(built.index)
        notes.extend(built.notes)
    index = merge(parts)
    index.save(args.out)
    print("\n".join([*notes, f"{args.out}: {len(index)} texts, {index.ngram_count} keys"]))


if __name__ == "__main__":
    main()
