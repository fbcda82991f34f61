"""A migration file split into statements, the way PostgreSQL's lexer sees them.

Enough of PostgreSQL's lexical rules to find where each statement starts and which
words it is made of, without being fooled by a word or a semicolon inside a comment
(``--``, nested ``/* */``), a string (``'...'``, ``E'...'`` with backslash escapes), a
quoted identifier (``"..."``) or a dollar-quoted body (``$$...$$``, ``$fn$...$fn$``),
so that PL/pgSQL's ``BEGIN ... END`` is never taken for a transaction. Semicolons
inside parentheses, and inside a SQL-standard function body (``BEGIN ATOMIC ... END``,
tracked the way psql does), do not end a statement.

Not a parser: a construct left open runs to the end of the file, and sqlfluff and
squawk report the syntax error.
"""

import re
from dataclasses import dataclass, field

WORD = re.compile(r"[A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_$\u0080-\U0010ffff]*")
NUMBER = re.compile(r"[0-9][0-9A-Za-z_.]*")
DOLLAR_TAG = re.compile(r"\$([A-Za-z_\u0080-\U0010ffff][A-Za-z0-9_\u0080-\U0010ffff]*)?\$")


@dataclass(frozen=True)
class Statement:
    line: int  # 1-based line of the statement's first word or symbol
    words: tuple[str, ...]  # its unquoted words, upper-cased, outside strings and bodies
    # Where it stands in the text, [start, end), its semicolon left out: what runs it.
    start: int = field(default=0, compare=False)
    end: int = field(default=0, compare=False)

    def starts_with(self, *words: str) -> bool:
        return self.words[:len(words)] == words


def _is_routine_definition(words: list[str]) -> bool:
    """CREATE [OR REPLACE] FUNCTION|PROCEDURE: psql's test for a BEGIN ATOMIC body."""
    head = words[1:2] if words[1:3] != ["OR", "REPLACE"] else words[3:4]
    return words[:1] == ["CREATE"] and head in (["FUNCTION"], ["PROCEDURE"])


class _Scanner:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.line = 1

    def skip_to(self, end: int) -> None:
        """Move to ``end`` (clamped to the end of the text), counting lines on the way."""
        end = min(end, len(self.text))
        self.line += self.text.count("\n", self.pos, end)
        self.pos = end

    def skip_past(self, marker: str, start: int) -> None:
        found = self.text.find(marker, start)
        self.skip_to(len(self.text) if found < 0 else found + len(marker))

    def skip_block_comment(self) -> None:
        depth, i = 0, self.pos
        while i < len(self.text):
            if self.text.startswith("/*", i):
                depth, i = depth + 1, i + 2
            elif self.text.startswith("*/", i):
                depth, i = depth - 1, i + 2
                if depth == 0:
                    break
            else:
                i += 1
        self.skip_to(i)

    def skip_quoted(self, quote: str, backslash_escapes: bool) -> None:
        """From an opening quote past its closing one; a doubled quote is an escape."""
        i = self.pos + 1
        while i < len(self.text):
            char = self.text[i]
            if backslash_escapes and char == "\\":
                i += 2
            elif char == quote:
                if self.text.startswith(quote, i + 1):
                    i += 2
                else:
                    i += 1
                    break
            else:
                i += 1
        self.skip_to(i)


def statements(text: str) -> list[Statement]:
    """The statements of ``text`` in order; comments and blank space are not statements."""
    scan = _Scanner(text)
    found: list[Statement] = []
    words: list[str] = []
    start_line: int | None = None
    start = 0
    parens = 0
    atomic_depth = 0  # BEGIN ATOMIC ... END nesting inside a routine definition

    while scan.pos < len(text):
        char = text[scan.pos]
        if char.isspace():
            scan.skip_to(scan.pos + 1)
            continue
        if text.startswith("--", scan.pos):
            scan.skip_past("\n", scan.pos)
            continue
        if text.startswith("/*", scan.pos):
            scan.skip_block_comment()
            continue
        if char == ";" and parens == 0 and atomic_depth == 0:
            if start_line is not None:  # a lone ";" is no statement
                found.append(Statement(start_line, tuple(words), start, scan.pos))
            words, start_line = [], None
            scan.skip_to(scan.pos + 1)
            continue
        if start_line is None:
            start_line, start = scan.line, scan.pos
        if char == "'":
            escapes = bool(words) and words[-1] == "E" and _touches_previous_word(text, scan.pos)
            if escapes:
                words.pop()  # the E of E'...' is a prefix, not a word
            scan.skip_quoted("'", backslash_escapes=escapes)
            continue
        if char == '"':
            scan.skip_quoted('"', backslash_escapes=False)
            continue
        if char == "$":
            tag = DOLLAR_TAG.match(text, scan.pos)
            if tag:
                scan.skip_past(tag.group(0), tag.end())
            else:
                scan.skip_to(scan.pos + 1)  # $1: a parameter
            continue
        word = WORD.match(text, scan.pos)
        if word:
            upper = word.group(0).upper()
            words.append(upper)
            if _is_routine_definition(words) and parens == 0:
                if upper == "BEGIN" or upper == "CASE" and atomic_depth > 0:
                    atomic_depth += 1
                elif upper == "END" and atomic_depth > 0:
                    atomic_depth -= 1
            scan.skip_to(word.end())
            continue
        number = NUMBER.match(text, scan.pos)
        if number:
            scan.skip_to(number.end())
            continue
        if char == "(":
            parens += 1
        elif char == ")":
            parens = max(parens - 1, 0)
        scan.skip_to(scan.pos + 1)

    if start_line is not None:  # the last statement needs no semicolon
        found.append(Statement(start_line, tuple(words), start, len(text.rstrip())))
    return found


def _touches_previous_word(text: str, quote_pos: int) -> bool:
    """``E'...'``: the E is directly before the quote (``E '...'`` is not an escape string)."""
    return quote_pos > 0 and text[quote_pos - 1] in "eE"
