"""Print one of the README's set-up commands, so CI runs them as written.

The commands are the lines of the first ```sh block of README.md, each
without its trailing ``# comment``::

    python3 tools/readme_commands.py 1      # the install-and-check command
    python3 tools/readme_commands.py 2      # the test command (bash .ci/run)

Exit 2 with one line on stderr when the README has no such command.
"""

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
_COMMENT = re.compile(r"\s+#\s.*$")   # " # ..." ends a line; no command here quotes a " # "


def setup_commands(text):
    """The commands of the first ```sh block of ``text``, in order."""
    block = re.search(r"^```sh\n(.*?)^```", text, re.M | re.S)
    if block is None:
        return []
    commands = []
    for line in block.group(1).splitlines():
        command = _COMMENT.sub("", line).strip()
        if command and not command.startswith("#"):
            commands.append(command)
    return commands


def main(argv):
    commands = setup_commands(README.read_text(encoding="utf-8"))
    try:
        number = int(argv[1])
        if not 1 <= number <= len(commands):
            raise IndexError
    except (IndexError, ValueError):
        sys.stderr.write("readme_commands.py: error: give a number from 1 to %d (the README's "
                         "first sh block)\n" % len(commands))
        return 2
    print(commands[number - 1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
