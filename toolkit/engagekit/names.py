"""Names people give to segments and lists: how they are cleaned, refused and compared.

One rule for both kinds of name:

- trimmed, with runs of spaces folded to one, and in Unicode NFKC form (so a full-width "Ｖ" and a
  "V" are the same letter);
- at most :data:`MAX_NAME_LENGTH` characters;
- no control characters, line or paragraph separators, and no invisible format characters
  (zero-width spaces and joiners, right-to-left overrides, soft hyphens, byte-order marks): they
  would let "Most\\u200b engaged" pass for the pre-built "Most engaged";
- compared case-folded (:func:`name_key`): "VIP" and "vip" are one name.
"""

from __future__ import annotations

import re
import unicodedata

from engagekit.errors import InvalidNameError

MAX_NAME_LENGTH = 200
"""Longest name accepted, in characters (after cleaning)."""

# Control (Cc), format (Cf: zero-width, bidi overrides, soft hyphen, BOM), line and paragraph
# separators (Zl, Zp), unassigned and private-use code points.
_REFUSED_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cn", "Co", "Cs"}
_SPACES = re.compile(r"\s+")


def clean_name(name: object, *, what: str = "segment") -> str:
    """``name`` cleaned, or :class:`InvalidNameError` saying why it cannot name a ``what``.

    Examples
    --------
    >>> clean_name("  VIP   buyers ")
    'VIP buyers'
    >>> clean_name("Most\\u200b engaged")
    Traceback (most recent call last):
    ...
    engagekit.errors.InvalidNameError: A segment name cannot contain invisible characters (found U+200B at position 5).
    """
    if not isinstance(name, str):
        raise InvalidNameError(f"A {what} name must be text, not {type(name).__name__}.")
    hidden = hidden_character(name, allowed="\t\n\r")
    if hidden is not None:
        position, char = hidden
        kind = ("invisible characters" if unicodedata.category(char) == "Cf"
                else "control characters or line separators")
        raise InvalidNameError(
            f"A {what} name cannot contain {kind} (found U+{ord(char):04X} at position {position})."
        )
    if any(char in "\t\n\r" for char in name.strip()):
        raise InvalidNameError(f"A {what} name cannot contain line breaks or tabs.")
    cleaned = _SPACES.sub(" ", unicodedata.normalize("NFKC", name)).strip()
    if not cleaned:
        raise InvalidNameError(f"A {what} name cannot be blank.")
    if len(cleaned) > MAX_NAME_LENGTH:
        raise InvalidNameError(
            f"A {what} name can have at most {MAX_NAME_LENGTH} characters (this one has {len(cleaned)})."
        )
    return cleaned


def hidden_character(text: str, *, allowed: str = "") -> tuple[int, str] | None:
    """The first character of ``text`` a reader cannot see (control, format, line separator,
    unassigned or private-use) and its position from 1, or ``None``; ``allowed`` ones pass.

    The same rule refuses look-alike names and e-mail addresses with hidden characters in them.

    Examples
    --------
    >>> hidden_character("ann\u200b@example.com")
    (4, '\u200b')
    >>> hidden_character("José") is None
    True
    """
    if text.isascii() and text.isprintable():
        return None
    for position, char in enumerate(text, start=1):
        if unicodedata.category(char) in _REFUSED_CATEGORIES and char not in allowed:
            return position, char
    return None


def name_key(name: str) -> str:
    """The form in which names are compared: NFKC, spaces folded, case-folded.

    Examples
    --------
    >>> name_key("Straße") == name_key("STRASSE")
    True
    >>> name_key(" Win-back  list ") == name_key("win-back list")
    True
    """
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", name)).strip().casefold()


__all__ = ["MAX_NAME_LENGTH", "clean_name", "hidden_character", "name_key"]
