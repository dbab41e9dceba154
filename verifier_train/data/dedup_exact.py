"""Input records and exact dedup: the JSONL record reader, exact keys, the exact filter.

`RecordReader` reads JSONL records with `text` and `url` into datatrove documents; a bad line
(invalid JSON or UTF-8, not an object, no text, text not a string, blank or longer than
`max_chars`, or a truncated compressed file; `verifier_train.data.jsonl` has the rules) is
counted in its stats under that reason and skipped, never fatal. A record without a usable
URL is kept and counted as `missing_url`.

`url_key` and `text_key` turn a document's URL or text into a stable 64-bit key (the same on
every machine and process: blake2b, never Python's salted `hash`); 0 means "no key".
`ExactDedupFilter` is a datatrove filter that keeps the first document with a given key and
drops later ones with the reason `duplicate_url` or `duplicate_text`, recording in
`metadata["duplicate_of"]` the id of the kept document.

URL normalization (`normalize_url`), in order:
- surrounding whitespace is stripped; a URL without a scheme is read as `http://`;
- the scheme and host are lowercased, a trailing dot on the host is dropped, and `http` and
  `https` are the same scheme (a page served over both is one page);
- user info and default ports (`:80`, `:443`) are dropped;
- `.` and `..` path segments are resolved, percent-escapes are upper-cased and escaped
  unreserved characters (`%7E` -> `~`) are decoded, empty segments are dropped, so an empty
  path is `/` and a trailing slash goes (`/a/` -> `/a`, `/a//b` -> `/a/b`);
- the fragment is dropped; tracking query parameters (`utm_*`, `fbclid`, `gclid`, ... see
  `TRACKING_PARAMS`) are dropped, the rest are sorted, and an empty query is dropped.
An unparseable URL (for example `http://[::1`) has no key, like a missing one.

Text normalization (`normalize_text`): NFKC, Unicode case folding, runs of whitespace to one
space, no leading or trailing whitespace.

This module does NOT dedup across ranks (`ExactDedupFilter` only sees its own rank's
documents: use the multi-stage pipeline in `verifier_train.data.dedup` for that), does not
strip `www.`, does not reorder path segments or decode `%2F`, and does not treat
punctuation differences as equal text.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from typing import Literal
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from datatrove.data import Document, DocumentsPipeline
from datatrove.io import DataFolderLike
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.readers.jsonl import JsonlReader
from datatrove.pipeline.writers.disk_base import DiskWriter
from datatrove.utils.logging import logger

from verifier_train.data.jsonl import MAX_CHARS, TRUNCATED, parse_record

BAD_RECORDS = frozenset(
    {"invalid_json", "invalid_utf8", "not_an_object", "missing_text", "text_not_str",
     "empty_text", "huge_text", "truncated_file"}
)  # fmt: skip
KeyField = Literal["url", "text"]

TRACKING_PARAMS = frozenset(
    {
        "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid",
        "igshid", "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok",
    }
)  # fmt: skip
DEFAULT_PORTS = {"http": 80, "https": 443}
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_HAS_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def stable_hash64(value: str) -> int:
    """A 64-bit blake2b hash of `value`, never 0 (0 means "no key")."""
    digest = hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little") or 1


def _fix_escape(match: re.Match) -> str:
    char = chr(int(match.group(0)[1:], 16))
    return char if char in _UNRESERVED else match.group(0).upper()


def _clean_path(path: str) -> str:
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment not in (".", ""):
            segments.append(segment)
    return _ESCAPE.sub(_fix_escape, "/" + "/".join(segments))


def _clean_query(query: str) -> str:
    pairs = [
        (name, value)
        for name, value in parse_qsl(query, keep_blank_values=True)
        if not name.lower().startswith("utm_") and name.lower() not in TRACKING_PARAMS
    ]
    return urlencode(sorted(pairs), quote_via=quote)


def normalize_url(url: str) -> str | None:
    """The normal form of `url` (rules in the module docstring), or None if it has none."""
    url = url.strip()
    if not url:
        return None
    if not _HAS_SCHEME.match(url):
        url = "http://" + url.lstrip("/")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = "http" if parts.scheme.lower() in ("http", "https") else parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if not host:
        return None
    if ":" in host:
        host = f"[{host}]"
    if port is not None and port != DEFAULT_PORTS.get(parts.scheme.lower()):
        host = f"{host}:{port}"
    return urlunsplit((scheme, host, _clean_path(parts.path), _clean_query(parts.query), ""))


def url_key(url: object) -> int:
    """The 64-bit key of a URL, or 0 when it is missing or unparseable."""
    normal = normalize_url(url) if isinstance(url, str) else None
    return stable_hash64(normal) if normal else 0


def normalize_text(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def text_key(text: str) -> int:
    """The 64-bit key of a text after `normalize_text`; 0 for a blank text."""
    normal = normalize_text(text)
    return stable_hash64(normal) if normal else 0


def document_key(doc: Document, field: KeyField) -> int:
    return url_key(doc.metadata.get("url")) if field == "url" else text_key(doc.text)


class ExactDedupFilter(BaseFilter):
    """Keep the first document of each URL (or text) key in this rank, drop the later ones.

    Documents without a key (no URL, an unparseable one, blank text) are kept and counted
    as `no_url` / `no_text`.
    """

    name = "🫂 exact dedup"

    def __init__(self, field: KeyField, exclusion_writer: DiskWriter | None = None):
        if field not in ("url", "text"):
            raise ValueError(f"field must be 'url' or 'text', not {field!r}")
        self.name = f"🫂 exact {field} dedup"  # before the stats take the step's name
        super().__init__(exclusion_writer)
        self.field = field
        self._seen: dict[int, str] = {}

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        key = document_key(doc, self.field)
        if not key:
            self.stat_update(f"no_{self.field}")
            return True
        if key not in self._seen:
            self._seen[key] = doc.id
            return True
        doc.metadata["duplicate_of"] = self._seen[key]
        return False, f"duplicate_{self.field}"

    def run(self, data, rank: int = 0, world_size: int = 1):
        if world_size > 1 and rank == 0:
            logger.warning(f"{self.name} dedups within each of the {world_size} ranks only")
        yield from super().run(data, rank, world_size)


class RecordReader(JsonlReader):
    """JSONL records with `text` and `url` (other fields go to metadata). The id is the
    record's `id`, else `FILE:LINE`. Bad lines are counted by reason and skipped."""

    name = "🐿 Jsonl records"

    def __init__(self, data_folder: DataFolderLike, max_chars: int = MAX_CHARS, **kwargs):
        super().__init__(data_folder, **kwargs)
        self.max_chars = max_chars

    def read_file(self, filepath: str) -> DocumentsPipeline:
        with self.data_folder.open(filepath, "rb", compression=self.compression) as f:
            try:
                for number, line in enumerate(f, 1):
                    with self.track_time():
                        doc = self._document(line, filepath, number)
                    if doc is not None:
                        yield doc
            except TRUNCATED as exc:
                self.stat_update("truncated_file")
                logger.warning(f"{filepath} is truncated or corrupt: {exc}")

    def _document(self, line: bytes, path: str, number: int) -> Document | None:
        if not line.strip():
            return None
        record, problem = parse_record(line, self.max_chars)
        if problem:
            self.stat_update(problem)
            return None
        if not isinstance(record.get("url"), str) or not record["url"].strip():
            self.stat_update("missing_url")
        ident = record.pop("id", None)
        if not isinstance(ident, (str, int)) or isinstance(ident, bool):
            ident = f"{path}:{number}"
        text = record.pop("text")
        return Document(text=text, id=str(ident), metadata=(self.default_metadata or {}) | record)


def record_of(self: DiskWriter, doc: Document) -> dict:
    """JsonlWriter adapter: the input record's shape (`id`, `text`, then its other fields)."""
    meta = {k: v for k, v in doc.metadata.items() if k != "file_path"}
    return {"id": doc.id, "text": doc.text} | meta
