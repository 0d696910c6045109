"""Text preparation for the classifier: quoted-text stripping, normalisation, tokens, number words.

Everything here is pure and cheap: one lower-casing, one ``str.translate`` (skipped for
plain ASCII), one ``re.findall``. Tokens are lower-case ASCII words, numbers (``103.8``),
emoji, and single punctuation marks that bound sentences (``. ! ? ;`` and newline) or
clauses (``, : ( )``). Rule patterns go through the same :func:`normalize`, so a rule
written ``"¿Cuándo?"`` or ``"can't"`` matches ``cuando`` / ``cant`` in a message.
"""

from __future__ import annotations

import re
import unicodedata

# --------------------------------------------------------------------------- quoted text

_REPLY_HEADER = re.compile(
    r"^[ \t>]*(?:On|El|Le|Am)\b[^\n]{0,300}(?:\n[^\n]{0,300})?"
    r"\b(?:wrote|escribi[oó]|a écrit|schrieb)\s*:[ \t]*$",
    re.MULTILINE | re.IGNORECASE,
)
_ORIGINAL_MESSAGE = re.compile(
    r"^[ \t]*(?:-{2,}\s*(?:Original Message|Mensaje original|Forwarded by)\b.*"
    r"|_{8,}[ \t]*"
    r"|(?:From|De):[^\n]*\n(?:[^\n]*\n){0,3}?[ \t]*(?:Sent|Date|Enviado|Fecha):.*)$",
    re.MULTILINE | re.IGNORECASE,
)
_QUOTED_LINE = re.compile(r"^[ \t]*>.*$\n?", re.MULTILINE)
_SIG_DELIMITER = re.compile(r"^-- ?$", re.MULTILINE)
_DEVICE_LINE = re.compile(
    r"^[ \t]*(?:Sent from my\b|Sent from Mail\b|Get Outlook for\b|Enviado desde mi\b).*$\n?",
    re.MULTILINE | re.IGNORECASE,
)
_DISCLAIMER = re.compile(
    r"^.*\b(?:confidential|privileged|confidencial)\b.*\b(?:intended|recipient|addressee|destinatario)\b.*$",
    re.MULTILINE | re.IGNORECASE,
)
# A sign-off line, matched against one whole line (no newline in it).
_VALEDICTION = re.compile(
    r"[ \t]*(?:thanks?(?: (?:so|very) much)?(?: again)?|thank you(?: (?:so|very) much)?|many thanks|best|"
    r"best regards|kind regards|warm regards|regards|sincerely|cheers|warmly|respectfully|take care|"
    r"gracias|muchas gracias|saludos(?: cordiales)?|atentamente|cordialmente|un saludo)[ \t]*[,.!]?[ \t]*",
    re.IGNORECASE,
)
# The letters a sign-off line can start with (case-insensitively, as the regex reads them: ſ, K too).
_VALEDICTION_FIRST = frozenset("abcgkmrstuwABCGKMRSTUW\u017f\u212a")
_POSTSCRIPT = re.compile(r"^[ \t]*p\.?\s?s\b", re.MULTILINE | re.IGNORECASE)
_SIG_TAIL_MAX_LINES = 6
_SIG_TAIL_MAX_CHARS = 100


def strip_quoted(body: str) -> str:
    """The patient's own new text: earlier messages quoted in a reply, device lines and signatures removed.

    Cut at the first reply header ("On … wrote:", "El … escribió:") or Outlook separator
    ("-----Original Message-----", a ``From:``/``Sent:`` header block); drop ``>`` lines,
    "Sent from my iPhone", confidentiality disclaimers, and a short signature block after a
    sign-off line ("Thanks,", "Best regards,"). A tail with a "P.S." is kept. One-line
    messages (SMS) pass through untouched.
    """
    if "\n" not in body:
        return body
    cut = len(body)
    # Cheap substring tests first: most bodies have none of these markers.
    if "rote" in body or "scribi" in body or "crit" in body or "schrieb" in body:
        m = _REPLY_HEADER.search(body)
        if m:
            cut = m.start()
    # "--…", eight "_", or a "From:"/"De:" header (any case): "m:"/"M:" or "e:"/"E:" must be in it
    if "--" in body or "________" in body or "m:" in body or "e:" in body or "M:" in body or "E:" in body:
        m = _ORIGINAL_MESSAGE.search(body, 0, cut)
        if m:
            cut = m.start()
    text = body[:cut]
    if ">" in text:
        text = _QUOTED_LINE.sub("", text)
    if "\n--" in text:
        m = _SIG_DELIMITER.search(text)
        if m:
            text = text[: m.start()]
    if "ent from" in text or "nviado desde" in text or "et Outlook" in text or "ENT FROM" in text:
        text = _DEVICE_LINE.sub("", text)
    if "onfiden" in text or "rivileged" in text or "ONFIDEN" in text:
        text = _DISCLAIMER.sub("", text)
    return _cut_signature(text)


def _cut_signature(text: str) -> str:
    """Drop the lines after the last sign-off line when they look like a signature block."""
    # Only the last few lines can be a signature: look there, from the last line up.
    lines = text.rsplit("\n", _SIG_TAIL_MAX_LINES + 2)
    if len(lines) > _SIG_TAIL_MAX_LINES + 2:
        del lines[0]  # the text before the window
    fullmatch = _VALEDICTION.fullmatch
    after = 0  # characters after the current line (its newline included)
    for line in reversed(lines):
        first = line.lstrip(" \t")[:1]
        if first and first in _VALEDICTION_FIRST and fullmatch(line):
            break  # the last sign-off line
        after += len(line) + 1
    else:
        return text
    end = len(text) - after
    tail = text[end:]
    lines = [ln for ln in tail.splitlines() if ln.strip()]
    if (
        len(lines) <= _SIG_TAIL_MAX_LINES
        and all(len(ln) <= _SIG_TAIL_MAX_CHARS for ln in lines)
        and not _POSTSCRIPT.search(tail)
    ):
        return text[:end]
    return text


# --------------------------------------------------------------------------- normalisation


def _build_fold_table() -> dict[int, str | None]:
    """Lower-case Latin letters with diacritics to ASCII; apostrophes vanish; dashes and ° become words."""
    table: dict[int, str | None] = {}
    for cp in range(0xC0, 0x250):
        ch = chr(cp)
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        if base != ch and base.isascii() and base:
            table[cp] = base.lower()
    table.update({ord("ß"): "ss", ord("æ"): "ae", ord("ø"): "o", ord("ł"): "l", ord("đ"): "d"})
    for ch in "'’‘`´ʼ":
        table[ord(ch)] = None
    for ch in "—–―":
        table[ord(ch)] = " , "
    table[ord("°")] = " degrees "
    table[ord("º")] = " degrees "
    table[ord("…")] = " . "
    # Emoji modifiers: variation selectors, zero-width joiner, skin tones.
    for cp in (0xFE0E, 0xFE0F, 0x200D, 0x200B):
        table[cp] = None
    for cp in range(0x1F3FB, 0x1F400):
        table[cp] = None
    return table


_FOLD = _build_fold_table()


# 'd only after a pronoun: "I'd", "she'd" are "would", but "OD'd", "ER'd" are not.
_CONTRACTION = re.compile(r"(?<=[a-z])['’](ll|re|ve)\b|\b(i|you|he|she|we|they|it|that|who|there)['’]d\b")
_EXPAND = {"ll": " will", "re": " are", "ve": " have"}


def _expand(m: re.Match[str]) -> str:
    pronoun = m.group(2)
    return pronoun + " would" if pronoun else _EXPAND[m.group(1)]


# SMS shorthand: "w/o" is "without" (a negation), "w/" is "with".
_WITH = re.compile(r"\bw/(o\b)?")


def _with(m: re.Match[str]) -> str:
    return "without " if m.group(1) else "with "


def normalize(text: str) -> str:
    """Lower-case, accents folded to ASCII (``acabó`` → ``acabo``), apostrophes removed (``can't`` → ``cant``).

    "I'll", "we're", "I've", "I'd" become "i will", "we are", "i have", "i would" (so "I'll"
    never reads as "ill" nor "we'll check" as "well check"); other apostrophes just vanish.
    SMS shorthand "w/o" and "w/" become "without" and "with".
    """
    text = text.lower()
    if "'" in text or "’" in text:
        text = _CONTRACTION.sub(_expand, text)
    if "w/" in text:
        text = _WITH.sub(_with, text)
    if text.isascii():
        return text.replace("'", "") if "'" in text else text
    return text.translate(_FOLD)


# Words, numbers (``103.8``, ``39,5``), emoji, and the punctuation that bounds sentences and clauses.
TOKEN_RE = re.compile(
    r"[a-z]+(?:\d+[a-z]*)*"
    r"|\d+(?:[.,]\d+)?"
    r"|[.!?;\n]"
    r"|[,:()/]"
    r"|[\U0001F300-\U0001FAFF\u2600-\u27BF\u2B50\u2B55\u2705\u274C]"
)
# A title's full stop does not end the sentence: "Can Dr. Kim see me" is one sentence.
ABBREVIATIONS = frozenset(["dr", "dra", "drs", "mr", "mrs", "ms", "st", "jr", "sr", "sra", "srta"])


def tokenize(text: str) -> list[str]:
    """The tokens of normalised text (see ``TOKEN_RE``), without the full stop of a title ("Dr.")."""
    toks = TOKEN_RE.findall(text)
    if "." in toks:
        toks = [t for n, t in enumerate(toks) if not (t == "." and n and toks[n - 1] in ABBREVIATIONS)]
    return toks


SENTENCE_MARKS = frozenset(".!?;\n")
CLAUSE_MARKS = frozenset(",:()")
SYMBOLS = frozenset("/")


def is_emoji(token: str) -> bool:
    return len(token) == 1 and ord(token) >= 0x2600


# --------------------------------------------------------------------------- number words

_UNITS = {
    # English
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
    # Spanish (accents folded)
    "cero": 0, "uno": 1, "una": 1, "un": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
    "siete": 7, "ocho": 8, "nueve": 9, "diez": 10, "once": 11, "doce": 12, "trece": 13, "catorce": 14,
    "quince": 15, "dieciseis": 16, "diecisiete": 17, "dieciocho": 18, "diecinueve": 19,
    "veintiuno": 21, "veintidos": 22, "veintitres": 23, "veinticuatro": 24, "veinticinco": 25,
    "veintiseis": 26, "veintisiete": 27, "veintiocho": 28, "veintinueve": 29,
}  # fmt: skip
_TENS = {
    "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90, "veinte": 20, "treinta": 30, "cuarenta": 40, "cincuenta": 50, "sesenta": 60,
    "setenta": 70, "ochenta": 80, "noventa": 90,
}  # fmt: skip
_HUNDREDS = {"hundred": 100, "cien": 100, "ciento": 100}
_POINT = frozenset({"point", "punto", "coma"})
_JOINERS = frozenset({"and", "y"})
NUMBER_WORDS: dict[str, int] = {**_UNITS, **_TENS, **_HUNDREDS}
TENS = tuple(_TENS)
HUNDREDS = tuple(_HUNDREDS)
_NUMBERISH = frozenset(NUMBER_WORDS) | _POINT | _JOINERS | {"a"}
# combine_number_words can only merge where a token of the first set is followed by one of the second.
NUMBER_RUN_START = frozenset(NUMBER_WORDS) | {"a"}
NUMBER_RUN_NEXT = frozenset(NUMBER_WORDS) | _POINT | _JOINERS
# Words that count as a number on their own (so ``#0..12 week*`` matches "six weeks").
# "un"/"una"/"one" double as articles; their value only matters next to a unit.
SINGLE_NUMBER_WORDS = {w: float(v) for w, v in NUMBER_WORDS.items() if w not in ("hundred", "cien", "ciento")}


def combine_number_words(tokens: list[str]) -> list[str]:
    """Replace spelled multi-word numbers by digits: "treinta y ocho" → "38", "a hundred and three" → "103".

    Single number words are left alone (the matcher already knows their value); only runs of
    two or more number words (with "and"/"y"/"point" between) are merged. Call it only when a
    token is in :data:`NUMBER_WORDS`.
    """
    out: list[str] = []
    i, n = 0, len(tokens)
    while i < n:
        tok = tokens[i]
        if tok in NUMBER_WORDS or (tok == "a" and i + 1 < n and tokens[i + 1] in _HUNDREDS):
            value, used = _parse_number(tokens, i)
            if used >= 2:
                out.append(_format_number(value))
                i += used
                continue
        out.append(tok)
        i += 1
    return out


def _parse_number(tokens: list[str], start: int) -> tuple[float, int]:
    """Parse a spelled number at ``start``; return (value, tokens used). Used < 2 means "not a multi-word number"."""
    total = 0
    current = 0
    words = 0
    i = start
    n = len(tokens)
    decimals = ""
    last_kind = ""
    while i < n:
        tok = tokens[i]
        if tok == "a" and words == 0 and i + 1 < n and tokens[i + 1] in _HUNDREDS:
            current = 1
            i += 1
            continue
        if tok in _HUNDREDS:
            current = (current or 1) * 100
            last_kind = "hundred"
        elif tok in _TENS:
            if last_kind in ("tens", "unit"):
                break
            current += _TENS[tok]
            last_kind = "tens"
        elif tok in _UNITS:
            if last_kind == "unit" or (last_kind == "tens" and _UNITS[tok] >= 10):
                break
            current += _UNITS[tok]
            last_kind = "unit"
        elif tok in _JOINERS and words and i + 1 < n and (tokens[i + 1] in _UNITS or tokens[i + 1] in _TENS):
            i += 1
            continue
        elif tok in _POINT and words and i + 1 < n and tokens[i + 1] in _UNITS and _UNITS[tokens[i + 1]] < 10:
            j = i + 1
            while j < n and tokens[j] in _UNITS and _UNITS[tokens[j]] < 10:
                decimals += str(_UNITS[tokens[j]])
                j += 1
            words += j - i - 1
            i = j
            break
        else:
            break
        words += 1
        i += 1
    total += current
    if words < 2:
        return float(total), words
    value = float(f"{total}.{decimals}") if decimals else float(total)
    return value, i - start


def _format_number(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"


def parse_number_token(token: str) -> float | None:
    """The numeric value of a digit token (``39,5`` → 39.5) or a single number word, else None."""
    c = token[0]
    if "0" <= c <= "9":
        try:
            return float(token.replace(",", "."))
        except ValueError:  # pragma: no cover - the tokenizer only yields valid numbers
            return None
    return SINGLE_NUMBER_WORDS.get(token)


def fahrenheit(value: float) -> float | None:
    """Read a number as a body temperature: 93–110 is °F, 34–43.5 is °C (converted); anything else is None."""
    if 93.0 <= value <= 110.0:
        return value
    if 34.0 <= value <= 43.5:
        return value * 9.0 / 5.0 + 32.0
    return None
