"""A fast reader for the plain TOML the shipped ``kconfig_profiles/`` are written in.

check-kernel reads some twenty TOML files on every run; Python's ``tomllib``
is written in Python and spends most of check-kernel's start-up on them.
:func:`parse` handles the subset those files use -- comments, ``[table]``,
``[[array-of-tables]]``, ``key = "string"`` (with escapes), one-line inline
tables of strings and string arrays, multi-line
``\"\"\"`` strings, ``true`` / ``false``, decimal integers and (possibly
multi-line) arrays of strings
-- with a few regular expressions, and returns None for anything else, so the
caller falls back to ``tomllib``, which then also reports any syntax error
with its line. Nothing is cached or written anywhere. tests/test_fast_paths.py
checks that it gives exactly what ``tomllib`` gives on every shipped file.
"""

import re

_KEY = r"[A-Za-z0-9_-]+"
_STR = r'"(?:[^"\\\n]|\\.)*"'
_TABLE_RE = re.compile(r"^\[(%s)\][ \t]*(?:#.*)?$" % _KEY)
_ARRAY_TABLE_RE = re.compile(r"^\[\[(%s)\]\][ \t]*(?:#.*)?$" % _KEY)
_STRING_RE = re.compile(r"^(%s)[ \t]*(?:#.*)?$" % _STR)
_SCALAR_RE = re.compile(r"^(true|false|[+-]?(?:0|[1-9][0-9]*))[ \t]*(?:#.*)?$")
_ARRAY_RE = re.compile(r"^\[[ \t]*((?:%s[ \t]*,[ \t]*)*(?:%s[ \t]*,?[ \t]*)?)\][ \t]*(?:#.*)?$"
                       % (_STR, _STR))
_ITEM_RE = re.compile(_STR)
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_INLINE_RE = re.compile(r"^\{(.*)\}[ \t]*(?:#.*)?$")
_INLINE_ITEM_RE = re.compile(r'[ \t]*(%s)[ \t]*=[ \t]*(%s|\[[^\[\]]*\])[ \t]*(,|$)' % (_KEY, _STR))
_ESCAPE_RE = re.compile(r'\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))')
_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}


class _Outside(Exception):
    """The text leaves the subset."""


def _unescape(body):
    if "\\" not in body:
        return body

    def one(m):
        if m.group(3) is not None:
            if m.group(3) not in _ESCAPES:
                raise _Outside()
            return _ESCAPES[m.group(3)]
        code = int(m.group(1) or m.group(2), 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            raise _Outside()
        return chr(code)
    return _ESCAPE_RE.sub(one, body)


def _multiline(first, lines, i):
    """A multi-line basic string starting after ``\"\"\"`` in ``first``: (value, next i)."""
    parts = [first]
    while '"""' not in parts[-1]:
        if i >= len(lines):
            raise _Outside()
        parts.append(lines[i])
        i += 1
    raw = "\n".join(parts)
    end = raw.index('"""')
    body, after = raw[:end], raw[end + 3:]
    if after.strip(" \t") and not after.strip(" \t").startswith("#"):
        raise _Outside()
    if body.startswith("\n"):
        body = body[1:]
    if '"' in body or "\r" in body:
        raise _Outside()
    # a line-ending backslash trims the newline and the whitespace after it
    body = re.sub(r"\\[ \t]*\n[ \t\n]*", "", body)
    return _unescape(body), i


_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def _bare_key(key):
    return bool(key) and _KEY_CHARS.issuperset(key)


def _array(rest):
    """An array of strings: ``["a", "b",]`` (with an optional comment after it)."""
    if "\\" not in rest and "#" not in rest and rest[-1:] == "]":
        items = rest[1:-1].split(",")
        if items and not items[-1].strip(" \t"):
            items.pop()
        out = []
        for item in items:
            item = item.strip(" \t")
            if len(item) < 2 or item[0] != '"' or item[-1] != '"' or '"' in item[1:-1]:
                break
            out.append(item[1:-1])
        else:
            return out
    a = _ARRAY_RE.match(rest)
    if not a:
        raise _Outside()
    return [_unescape(item[1:-1]) for item in _ITEM_RE.findall(a.group(1))]


def _inline(rest):
    """A one-line inline table of strings and string arrays: ``{ a = ["x"], b = "y" }``."""
    m = _INLINE_RE.match(rest)
    if not m:
        raise _Outside()
    body, out, pos = m.group(1).strip(" \t"), {}, 0
    while pos < len(body):
        item = _INLINE_ITEM_RE.match(body, pos)
        if not item or item.group(1) in out or (item.group(3) == "," and item.end() == len(body)):
            raise _Outside()
        value = item.group(2)
        if value[0] == '"':
            out[item.group(1)] = _unescape(value[1:-1])
        else:
            a = _ARRAY_RE.match(value)
            if not a:
                raise _Outside()
            out[item.group(1)] = [_unescape(v[1:-1]) for v in _ITEM_RE.findall(a.group(1))]
        pos = item.end()
    return out


def parse(text):
    """The TOML ``text`` as a dict, or None when it leaves the plain subset."""
    try:
        return _parse(text)
    except _Outside:
        return None


def _parse(text):
    root = {}
    table = root
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if _CONTROL_RE.search(text):    # a lone CR or another control character
        raise _Outside()
    lines = text.split("\n")
    i, n = 0, len(lines)
    while i < n:
        line = lines[i].strip(" \t")
        i += 1
        if not line or line[0] == "#":
            continue
        if line[0] == "[":
            m = _ARRAY_TABLE_RE.match(line)
            if m:
                items = root.setdefault(m.group(1), [])
                if not isinstance(items, list):
                    raise _Outside()
                table = {}
                items.append(table)
                continue
            m = _TABLE_RE.match(line)
            if not m or m.group(1) in root:
                raise _Outside()
            table = root[m.group(1)] = {}
            continue
        key, eq, rest = line.partition("=")
        key, rest = key.rstrip(" \t"), rest.lstrip(" \t")
        if not eq or not _bare_key(key) or key in table:
            raise _Outside()
        if rest[:1] == '"' and "\\" not in rest and rest[1:2] != '"':
            # the common case, without a regular expression: "text" [# comment]
            end = rest.find('"', 1)
            after = rest[end + 1:].lstrip(" \t") if end > 0 else "x"
            if after and after[0] != "#":
                raise _Outside()
            table[key] = rest[1:end]
        elif rest.startswith('"""'):
            table[key], i = _multiline(lines[i - 1].split('"""', 1)[1], lines, i)
        elif rest[:1] == '"':
            s = _STRING_RE.match(rest)
            if not s:
                raise _Outside()
            table[key] = _unescape(s.group(1)[1:-1])
        elif rest[:1] == "{":
            table[key] = _inline(rest)
        elif rest[:1] == "[":
            while rest.count("[") != rest.count("]"):
                if i >= n or "#" in lines[i]:
                    raise _Outside()
                rest += " " + lines[i].strip(" \t")
                i += 1
            table[key] = _array(rest)
        else:
            s = _SCALAR_RE.match(rest)
            if not s:
                raise _Outside()
            word = s.group(1)
            table[key] = True if word == "true" else False if word == "false" else int(word)
    return root
