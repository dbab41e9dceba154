"""Reader steps for the corpus pipeline: WARC/WET, JSONL and Parquet into datatrove documents.

`make_reader(path, fmt)` returns a datatrove reader step whose documents carry the text, an id
and `metadata["url"]` (plus the record's other fields, or the WARC date). Every reader counts
its bad records in its stats under a reason and skips them, never stopping a run:
- JSONL (`RecordReader` from `dedup_exact`): `invalid_json`, `invalid_utf8`, `not_an_object`,
  `missing_text`, `text_not_str`, `empty_text`, `huge_text`, `truncated_file`;
- Parquet: `invalid_file` (unreadable footer or truncated file), `invalid_batch`,
  `missing_text`, `text_not_str`, `empty_text`, `huge_text`;
- WARC/WET (needs `warcio`): `invalid_record`, `truncated_record`, `truncated_file` (a
  broken or cut-off archive: the records before it are kept), `invalid_utf8`, `empty_text`,
  `huge_text`;
  records other than `response` and `conversion` (requests, metadata, warcinfo) are skipped
  and counted as `skipped_<type>`.

This module does NOT extract text from HTML (a WARC `response` record's text is the raw
payload: put datatrove's `Trafilatura` step after the reader, or read WET files), does not
guess other encodings than UTF-8, and does not filter by language or MIME type.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import orjson
from datatrove.data import Document, DocumentsPipeline
from datatrove.io import DataFolderLike
from datatrove.pipeline.readers.base import BaseDiskReader
from datatrove.utils.logging import logger

from prover.errors import InputError, require
from verifier_train.data.dedup_exact import RecordReader
from verifier_train.data.jsonl import MAX_CHARS, TRUNCATED, text_problem

Format = Literal["jsonl", "parquet", "warc", "wet"]
FORMATS: tuple[str, ...] = ("jsonl", "parquet", "warc", "wet")
GLOBS = {
    "jsonl": "*.jsonl*",
    "parquet": "*.parquet",
    "warc": "*.warc*",
    "wet": "*.warc.wet*",
}
BAD_READS = frozenset(
    {"invalid_json", "invalid_utf8", "not_an_object", "missing_text", "text_not_str",
     "empty_text", "huge_text", "truncated_file", "invalid_file", "invalid_batch",
     "invalid_record", "truncated_record"}
)  # fmt: skip


class ParquetRecordReader(BaseDiskReader):
    """Parquet rows with `text` and `url` columns (others go to metadata; a JSON-string
    `metadata` column is expanded). Bad files, batches and rows are counted and skipped."""

    name = "📒 Parquet records"

    def __init__(self, data_folder: DataFolderLike, max_chars: int = MAX_CHARS, **kwargs):
        super().__init__(data_folder, **kwargs)
        self.max_chars = max_chars
        self.batch_size = 1000

    def read_file(self, filepath: str) -> DocumentsPipeline:
        pq = require("pyarrow.parquet", "data")
        import pyarrow as pa

        with self.data_folder.open(filepath, "rb") as f:
            try:
                parquet = pq.ParquetFile(f)
            except (pa.ArrowInvalid, OSError) as exc:
                self._bad("invalid_file", filepath, exc)
                return
            for batch_number in range(parquet.num_row_groups):
                try:
                    rows = parquet.read_row_group(batch_number).to_pylist()
                except (pa.ArrowInvalid, OSError) as exc:
                    self._bad("invalid_batch", filepath, exc)
                    continue
                yield from self._documents(rows, filepath, batch_number)

    def _bad(self, reason: str, filepath: str, exc: Exception) -> None:
        self.stat_update(reason)
        logger.warning(f"{filepath}: {reason}: {exc}")

    def _documents(self, rows: list[dict], filepath: str, group: int) -> Iterator[Document]:
        for number, row in enumerate(rows):
            with self.track_time():
                doc = self._document(row, f"{filepath}:{group}:{number}")
            if doc is not None:
                yield doc

    def _document(self, row: dict, default_id: str) -> Document | None:
        problem = text_problem(row.get("text"), self.max_chars)
        if problem:
            self.stat_update(problem)
            return None
        text, ident = row.pop("text"), row.pop("id", None)
        extra = row.pop("metadata", None)
        if isinstance(extra, str):
            try:
                extra = orjson.loads(extra)
            except orjson.JSONDecodeError:
                extra = {"metadata": extra}
        metadata = (self.default_metadata or {}) | row | (extra if isinstance(extra, dict) else {})
        ident = str(ident) if isinstance(ident, (str, int)) else default_id
        return Document(text=text, id=ident, metadata=metadata)


class WarcRecordReader(BaseDiskReader):
    """WARC (`response`) and WET (`conversion`) records: the payload decoded as UTF-8, the
    WARC-Target-URI as `url`, the WARC-Record-ID as id. Bad records are counted and skipped."""

    name = "🕷 Warc records"

    def __init__(self, data_folder: DataFolderLike, max_chars: int = MAX_CHARS, **kwargs):
        super().__init__(data_folder, **kwargs)
        self.max_chars = max_chars

    def read_file(self, filepath: str) -> DocumentsPipeline:
        require("warcio", "data")
        from warcio.archiveiterator import ArchiveIterator
        from warcio.exceptions import ArchiveLoadFailed

        with self.data_folder.open(filepath, "rb") as f:
            try:
                for record in ArchiveIterator(f):
                    with self.track_time():
                        doc = self._document(record)
                    if doc is not None:
                        yield doc
            except ArchiveLoadFailed as exc:
                self.stat_update("invalid_record")
                logger.warning(f"{filepath}: invalid WARC record: {exc}")
            except (*TRUNCATED, ValueError) as exc:
                self.stat_update("truncated_file")
                logger.warning(f"{filepath} is truncated or corrupt: {exc}")

    def _document(self, record) -> Document | None:
        if record.rec_type not in ("response", "conversion"):
            self.stat_update(f"skipped_{record.rec_type}")
            return None
        payload = record.content_stream().read()
        if record.length is None or getattr(record.raw_stream, "limit", 0):
            self.stat_update("truncated_record")  # no Content-Length, or fewer bytes than it
            return None
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            self.stat_update("invalid_utf8")
            return None
        problem = text_problem(text, self.max_chars)
        if problem:
            self.stat_update(problem)
            return None
        headers = record.rec_headers
        metadata = (self.default_metadata or {}) | {
            "url": headers.get_header("WARC-Target-URI"),
            "date": headers.get_header("WARC-Date"),
        }
        return Document(text=text, id=headers.get_header("WARC-Record-ID"), metadata=metadata)


def make_reader(
    path: DataFolderLike, fmt: str, max_chars: int = MAX_CHARS, glob: str | None = None
) -> BaseDiskReader:
    """The reader step for `fmt` (jsonl, parquet, warc, wet) over the files under `path`."""
    if fmt not in FORMATS:
        raise InputError(f"unknown input format {fmt!r}; use one of {', '.join(FORMATS)}")
    kwargs = {"glob_pattern": glob or GLOBS[fmt]}
    if fmt == "jsonl":
        return RecordReader(path, max_chars, **kwargs)
    if fmt == "parquet":
        return ParquetRecordReader(path, max_chars, **kwargs)
    return WarcRecordReader(path, max_chars, **kwargs)
