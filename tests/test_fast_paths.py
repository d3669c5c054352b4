"""check-kernel's fast paths against the slow originals they replace.

* The TOML subset reader (rcarkit.kernel.toml_subset) against tomllib: every
  shipped file in kconfig_profiles/ that check-kernel reads must read exactly
  as tomllib reads it (and be inside the subset, or check-kernel loses its
  speed); text outside the subset must be refused (None), never read
  differently.
* The table renderer's line filling (rcarkit.render._wrap) against
  textwrap.wrap, on generated text.
"""

import os
import textwrap

import pytest
from hypothesis import given, settings, strategies as st

from rcarkit.render import _wrap

from rcarkit.kernel.profiles import profiles_dir
from rcarkit.kernel.toml_subset import parse

try:
    import tomllib
except ImportError:  # pragma: no cover
    import tomli as tomllib

SHIPPED = sorted(n for n in os.listdir(profiles_dir()) if n.endswith(".toml"))


#: read only when a fragment is planned, not by every check-kernel run
FRAGMENT_ONLY = ("kernel-depends.toml", "kernel-modules.toml")


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_file_reads_as_tomllib_reads_it(name):
    with open(os.path.join(profiles_dir(), name), encoding="utf-8") as fh:
        text = fh.read()
    fast = parse(text)
    if name not in FRAGMENT_ONLY:
        assert fast is not None, "%s leaves the fast subset" % name
    assert fast is None or fast == tomllib.loads(text)


@pytest.mark.parametrize("text", [
    'a = "x\\qy"\n',                   # an unknown escape
    'a = "\\uD800"\n',                  # a surrogate
    "a = 'literal'\n",                 # a literal string
    'a.b = "dotted"\n',                # a dotted key
    '"quoted" = 1\n',                  # a quoted key
    'a = 1_000\n',                     # an integer with underscores
    'a = 1.5\n',                       # a float
    'a = [1, 2]\n',                    # an array of integers
    'a = [["x"]]\n',                   # a nested array
    'a = {b = 1}\n',                   # an inline table of an integer
    'a = {b = "c",}\n',                # a trailing comma in an inline table
    'a = {b = "c", b = "d"}\n',        # a duplicate key in an inline table
    'a = {b = "c"\n',                  # an unclosed inline table
    'a = "x"\na = "y"\n',              # a duplicate key
    '[t]\n[t]\n',                      # a duplicate table
    'a = ["x",\n # comment\n "y"]\n',  # a comment inside an array
    'a = ["x"\n',                      # an unclosed array
    'a = "x" junk\n',                  # trailing garbage
    '[a]\n[[a]]\n',                    # a table and an array of tables
])
def test_text_outside_the_subset_goes_to_tomllib(text):
    assert parse(text) is None


@pytest.mark.parametrize("text", [
    '# c\ntop = "v"  # trailing\n[t]\nflag = true\nn = -3\nlist = ["a",\n  "b",]\n'
    '[[o]]\nname = "x # not a comment"\n[[o]]\nname = "y"\n',
    'a = "say \\"hi\\" \\\\ \\t \\u00e9"\nb = ["\\"q\\""]\n',
    'a = """\nfirst \\\n    second\nthird"""\nb = 1\n',
    'a = """one line""" # c\n',
    'a = { arm = ["X", "Y"], b = "c" }  # note\nb = {}\nc = {d="e"}\n',
])
def test_subset_values(text):
    assert parse(text) is not None
    assert parse(text) == tomllib.loads(text)


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(['a', 'b', ' = ', '=', '"', '"x"', '[', ']', '[[', ']]', ',', '#',
                                 ' ', '\t', '\n', '\\', '\\"', 't', 'true', '{', '}', '1', '-',
                                 '\u00a0', '\r', '\x01', '"""']), max_size=25).map("".join))
def test_generated_text_is_refused_or_read_as_tomllib_reads_it(text):
    fast = parse(text)
    if fast is None:
        return
    assert fast == tomllib.loads(text)


@settings(max_examples=2000, deadline=None)
@given(st.text(alphabet="ab -\t\n.\u00a0", max_size=80), st.integers(1, 30))
def test_wrap_is_textwrap(text, size):
    want = textwrap.wrap(text, size, break_long_words=True, break_on_hyphens=False) or [""]
    assert _wrap(text, size) == want


def _regex_lines(text):
    """The config lines as the regular expressions of rcarkit.kernel.config read
    them (what parse_config_text did line by line before its fast path)."""
    from rcarkit.kernel.config import _ASSIGN_RE, _NOTSET_RE
    values = {}
    for raw in text.splitlines():
        line = raw.rstrip("\r").strip()
        m = _NOTSET_RE.match(line) if line.startswith("#") else _ASSIGN_RE.match(line)
        if m:
            values[m.group(1)] = "n" if line.startswith("#") else m.group(2)
        elif line and not line.startswith("#"):
            return None     # parse_config_text refuses the text
    return values or None


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["CONFIG_", "# CONFIG_", "A", "b_1", "=", "y", " ",
                                          "is not set", " is not set", "#", "\"x=y\"", "-",
                                          "\t", "\u00e9"]),
                         max_size=6).map("".join), min_size=1, max_size=6).map("\n".join))
def test_config_lines_read_as_the_regular_expressions_read_them(text):
    from rcarkit.errors import ConfigError
    from rcarkit.kernel.config import parse_config_text
    want = _regex_lines(text)
    try:
        got = parse_config_text(text).values
    except ConfigError:
        got = None
    assert got == want
