"""The text encodings of committee files: UTF-8 (with or without a byte-order mark), GBK and
GB18030 (Excel and ArcGIS on Chinese Windows) and Big5, declared or detected.

Detection reads the bytes themselves: a byte-order mark or valid UTF-8 settles it; otherwise
charset-normalizer chooses among the Chinese encodings by which decoding reads as text. GBK
is read as GB18030, which contains it. Text that is valid but would be stored garbled — GBK
bytes read as Latin-1, the usual sign of a wrong declaration — is refused by :func:`garbled`.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import charset_normalizer

from gridmap.errors import InputError

#: the encodings detection chooses among, after UTF-8
CANDIDATES = ("gb18030", "big5")
#: names people give, as Python knows them
#: what to tell someone whose file's text could not be read as it was
NAME_IT = "name the file's encoding with --encoding (utf-8, gbk, gb18030, big5)"
ALIASES = {"gbk": "gb18030", "gb2312": "gb18030", "cp936": "gb18030", "936": "gb18030", "utf8": "utf-8"}


@dataclass(frozen=True)
class TextEncoding:
    """How a file's text is read: ``name`` (a Python codec) and ``how`` it was chosen
    (``declared``, ``cpg`` for a Shapefile's .cpg, ``bom``, ``utf-8`` or ``detected``)."""

    name: str
    how: str

    @property
    def guessed(self) -> bool:
        """Whether the encoding is a guess from the bytes (worth saying in the output)."""
        return self.how == "detected"

    def describe(self) -> str:
        label = {"gb18030": "GB18030 (GBK)", "big5": "Big5", "utf-8": "UTF-8", "utf-8-sig": "UTF-8"}
        text = label.get(self.name, self.name)
        if self.guessed:
            return f"read as {text}, detected from its bytes; give --encoding to choose another"
        return f"read as {text} ({self.how})"


def codec(name: str) -> str:
    """The Python codec for an encoding name as people write it (GBK, utf8, cp936...)."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    try:
        return codecs.lookup(key).name
    except LookupError:
        raise InputError(f"unknown text encoding {name!r}; expected utf-8, gbk, gb18030 or big5") from None


def detect(raw: bytes) -> TextEncoding:
    """The encoding of ``raw`` (a whole file, or the text part of one)."""
    if raw.startswith(codecs.BOM_UTF8):
        return TextEncoding("utf-8-sig", "bom")
    try:
        raw.decode("utf-8")
        return TextEncoding("utf-8", "utf-8")
    except UnicodeDecodeError:
        pass
    best = charset_normalizer.from_bytes(raw, cp_isolation=list(CANDIDATES)).best()
    if best is None:
        raise InputError(
            "the file's text is in none of UTF-8, GB18030 (GBK) or Big5; "
            "save it as UTF-8 or name its encoding with --encoding"
        )
    return TextEncoding(codec(best.encoding), "detected")


def decode(raw: bytes, encoding: TextEncoding, *, file: str | None = None) -> str:
    """``raw`` as text; bytes that the encoding cannot read are refused with their line."""
    try:
        return raw.decode(encoding.name)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InputError(
            f"line {line} cannot be read as {encoding.name} ({exc.reason} at byte {exc.start}); " + NAME_IT,
            file=file,
        ) from None


# what GBK, GB18030, Big5 and UTF-8 bytes turn into when read as Latin-1 or cp1252: two or
# more such characters in a row, and no Chinese character in the value
_SUSPECT = re.compile(
    "[\u0080-\u00ff\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    "\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]{2,}"
)
_CJK = re.compile("[\u3400-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


def garbled(value: str) -> bool:
    """Whether ``value`` looks like Chinese text read in the wrong encoding: its characters,
    taken back to bytes, read as Chinese in GB18030 or UTF-8."""
    if "\ufffd" in value:
        return True
    if _CJK.search(value) or not _SUSPECT.search(value):
        return False
    for wrong in ("latin-1", "cp1252"):
        try:
            raw = value.encode(wrong)
        except UnicodeEncodeError:
            continue
        for right in ("utf-8", "gb18030", "big5"):
            try:
                if len(_CJK.findall(raw.decode(right))) >= 2:  # one could be chance
                    return True
            except UnicodeDecodeError:
                continue
    return False
