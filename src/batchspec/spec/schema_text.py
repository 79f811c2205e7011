"""Editor help in the schema: a `markdownDescription` beside every `description`.

    python -m batchspec.spec.schema_text schemas/batchspec.schema.json    # or: make schema

Descriptions are written in Markdown in `description`. Editors that read `markdownDescription`
(the YAML language server, VS Code) render it; every other tool shows `description`, which must
then be plain text, or hover shows escaped backticks. This rewrites the schema so that each
`description` holds the text stripped of Markdown and is followed by `markdownDescription`
holding the Markdown. A `description` edited since (or new) is taken as the new Markdown.

The file is edited line by line rather than re-serialised, so its layout (and a merge with
other changes to it) is left alone: a description must sit on a line of its own.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

_DESCRIPTION = re.compile(r'^(?P<indent>\s*)"description": (?P<text>".*?")(?P<comma>,?)\s*$')
_MARKDOWN = re.compile(r'^\s*"markdownDescription": (?P<text>".*?")(?P<comma>,?)\s*$')
_CODE = re.compile(r"`([^`]+)`")
_LINK = re.compile(r"\[([^\]]+)\]\([^)\s]+\)")
_STRONG = re.compile(r"\*\*([^*]+)\*\*")


def plain(markdown: str) -> str:
    """`markdown` as plain text: code spans, links and bold kept as their words."""
    return _STRONG.sub(r"\1", _LINK.sub(r"\1", _CODE.sub(r"\1", markdown)))


def with_markdown_descriptions(text: str) -> str:
    """The schema's text with every description pair regenerated (see the module docstring)."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    i = 0
    while i < len(lines):
        found = _DESCRIPTION.match(lines[i])
        if found is None:
            out.append(lines[i])
            i += 1
            continue
        description: str = json.loads(found["text"])
        following = _MARKDOWN.match(lines[i + 1]) if i + 1 < len(lines) else None
        markdown = description
        comma = found["comma"]
        if following is not None:
            comma = following["comma"]
            existing: str = json.loads(following["text"])
            if plain(existing) == description:
                markdown = existing  # unchanged since the last run
            i += 1  # the old markdownDescription line is replaced below
        indent = found["indent"]
        # The pair ends with a comma exactly when the last line of the old pair did.
        out.append(f'{indent}"description": {_encode(plain(markdown))},\n')
        out.append(f'{indent}"markdownDescription": {_encode(markdown)}{comma}\n')
        i += 1
    return "".join(out)


def _encode(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        sys.stderr.write("usage: python -m batchspec.spec.schema_text SCHEMA.json\n")
        return 2
    path = Path(argv[0])
    text = path.read_text(encoding="utf-8")
    new = with_markdown_descriptions(text)
    json.loads(new)  # never write a file that is not JSON
    if new != text:
        path.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
