"""Domain and URL-path discovery: find math sites from recall results, for the next round.

Input: scored pages, each a URL and whether the recall step kept it. A domain (the host of
the normalized URL, `dedup_exact.normalize_url`) is math-related when it has at least
`min_pages` pages and more than `min_rate` of them were recalled. Within such a domain, each
path prefix of 1 to `path_depth` segments (`/forum`, `/forum/algebra`) with at least
`min_path_pages` pages and more than `min_rate` recalled is a math path. `discover` returns
the math domains with their math paths, `write_review` writes them as JSONL for a person to
review, and `is_seed` says whether a page lies under a math path of a math domain: those
pages (recalled or not) are the next round's seed positives (`write_seeds`).

This module does NOT run as a datatrove step (it needs every page's count, a small reduce
over (url, recalled) pairs run after the recall pass), does not merge subdomains or strip
`www.`, does not look at query strings, and does not add pages at a domain's root path (`/`)
as seeds: only pages under a math path.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlsplit

import orjson

from prover.errors import InputError
from verifier_train.data.classifier import SCORE_KEY
from verifier_train.data.dedup_exact import normalize_url
from verifier_train.data.jsonl import corpus_records


@dataclass(frozen=True)
class DiscoveryConfig:
    min_rate: float = 0.10  # a domain or path counts when MORE than this share was recalled
    min_pages: int = 10  # pages a domain needs before its rate counts
    path_depth: int = 2  # path prefixes of 1..path_depth segments
    min_path_pages: int = 5  # pages a path prefix needs before its rate counts


@dataclass(frozen=True)
class PathStat:
    prefix: str
    pages: int
    recalled: int
    rate: float


@dataclass(frozen=True)
class DomainStat:
    host: str
    pages: int
    recalled: int
    rate: float
    paths: tuple[PathStat, ...]


def split_url(url: object) -> tuple[str, list[str]] | None:
    """(host, path segments) of a normalized URL, or None without a usable URL."""
    normal = normalize_url(url) if isinstance(url, str) else None
    if not normal:
        return None
    parts = urlsplit(normal)
    return parts.netloc, [s for s in parts.path.split("/") if s]


def path_prefixes(segments: list[str], depth: int) -> list[str]:
    """`/a`, `/a/b`, ... up to `depth` segments."""
    return ["/" + "/".join(segments[:n]) for n in range(1, min(depth, len(segments)) + 1)]


def _rate(recalled: int, pages: int) -> float:
    return recalled / pages if pages else 0.0


class _Counts:
    """Pages and recalled pages per host and per (host, path prefix)."""

    def __init__(self, depth: int):
        self.depth = depth
        self.pages: Counter = Counter()
        self.recalled: Counter = Counter()

    def add(self, url: object, recalled: bool) -> None:
        split = split_url(url)
        if split is None:
            return
        host, segments = split
        for key in [(host, "")] + [(host, p) for p in path_prefixes(segments, self.depth)]:
            self.pages[key] += 1
            self.recalled[key] += bool(recalled)

    def stat(self, key: tuple[str, str]) -> tuple[int, int, float]:
        pages, recalled = self.pages[key], self.recalled[key]
        return pages, recalled, _rate(recalled, pages)


def discover(pages: Iterable[tuple[object, bool]], config: DiscoveryConfig) -> list[DomainStat]:
    """The math domains (best rate first) with their math paths (most pages first)."""
    counts = _Counts(config.path_depth)
    for url, recalled in pages:
        counts.add(url, recalled)
    domains = []
    for host, prefix in counts.pages:
        if prefix:
            continue
        pages, recalled, rate = counts.stat((host, ""))
        if pages >= config.min_pages and rate > config.min_rate:
            domains.append(DomainStat(host, pages, recalled, rate, _paths(counts, host, config)))
    return sorted(domains, key=lambda d: (-d.rate, -d.pages, d.host))


def _paths(counts: _Counts, host: str, config: DiscoveryConfig) -> tuple[PathStat, ...]:
    found = []
    for key_host, prefix in counts.pages:
        if key_host != host or not prefix:
            continue
        pages, recalled, rate = counts.stat((host, prefix))
        if pages >= config.min_path_pages and rate > config.min_rate:
            found.append(PathStat(prefix, pages, recalled, rate))
    return tuple(sorted(found, key=lambda p: (-p.pages, p.prefix)))


def math_paths(domains: Iterable[DomainStat]) -> dict[str, set[str]]:
    """host -> its math path prefixes."""
    return {d.host: {p.prefix for p in d.paths} for d in domains}


def is_seed(url: object, paths: dict[str, set[str]], depth: int) -> bool:
    """Whether `url` lies under a math path of a math domain."""
    split = split_url(url)
    if split is None or split[0] not in paths:
        return False
    return any(p in paths[split[0]] for p in path_prefixes(split[1], depth))


def write_review(domains: Iterable[DomainStat], path: Path) -> int:
    """One JSONL line per math domain, with its paths; returns the number written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(asdict(d)) for d in domains]
    path.write_text("".join(line + "\n" for line in lines))
    return len(lines)


def read_scored(path: Path, threshold: float) -> list[tuple[object, bool]]:
    """(url, recalled) for each good record of a scored JSONL file: recalled means
    `math_score >= threshold`; a record without a score counts as not recalled."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    pages = []
    for _, record in corpus_records(path):
        score = record.get(SCORE_KEY)
        recalled = isinstance(score, (int, float)) and score >= threshold
        pages.append((record.get("url"), recalled))
    return pages


def write_seeds(src: Path, dst: Path, domains: Iterable[DomainStat], depth: int) -> int:
    """Copy the records of `src` that lie under a math path to `dst`; returns their count."""
    paths = math_paths(domains)
    written = 0
    dst.parent.mkdir(parents=True, exist_ok=True)
    with dst.open("wb") as out:
        for _, record in corpus_records(src):
            if is_seed(record.get("url"), paths, depth):
                out.write(orjson.dumps(record) + b"\n")
                written += 1
    return written


def discover_file(
    scored: Path, review: Path, seeds: Path, config: DiscoveryConfig, threshold: float = 0.5
) -> tuple[list[DomainStat], int]:
    """Discovery over a scored JSONL file: the review file, the seeds file, and
    (math domains, seeds written)."""
    domains = discover(read_scored(scored, threshold), config)
    write_review(domains, review)
    return domains, write_seeds(scored, seeds, domains, config.path_depth)
