"""Child identifiers: names, NHS number, postcode and date of birth, checked and put in one form for search and
near-duplicate detection. Pure: strings in, clean values or an IdentifierError with a form-ready message out."""

from __future__ import annotations

import re
import unicodedata
from datetime import MINYEAR, date, datetime


class IdentifierError(ValueError):
    """A value that cannot be accepted. Its str is a message fit to show beside the form field.

    `parts` names the boxes of a multi-box input (for a date: "day", "month", "year") that are in error,
    so a form can highlight only those; it is empty when the whole field is wrong.
    """

    def __init__(self, message: str, *, parts: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.parts = parts

    def __str__(self) -> str:
        return self.message


# Letters that NFKD does not take apart into a base letter and a mark, spelled as English writers spell them.
# Applied after casefolding, so only lower-case forms are needed (casefold already turns ß into ss).
_FOLD_LETTERS = str.maketrans(
    {
        "ł": "l",
        "ø": "o",
        "đ": "d",
        "ß": "ss",
        "æ": "ae",
        "œ": "oe",
        "þ": "th",
        "ð": "d",
        "\u0131": "i",  # dotless i
        "ħ": "h",
        "ŧ": "t",
    }
)

# Apostrophe-like characters that Unicode classes as letters (Lm) rather than punctuation, so the
# letters-and-digits filter below would otherwise keep them: "O\u02bcBrien" must match "O'Brien".
_LETTER_APOSTROPHES = frozenset("\u02b9\u02ba\u02bb\u02bc\u02bd\u02be\u02bf\u02c8\u02ca\u02cb")


def normalise_name(value: str) -> str:
    """The form of a name used for exact matching.

    Compatibility-decompose and casefold (twice, so the result is stable under a second pass, as in Unicode's
    NFKC_Casefold), drop combining marks, spell out letters NFKD leaves whole (ł, ø, æ, þ ...), then keep only
    letters and digits: spaces, every kind of dash and apostrophe, dots and other punctuation go.
    "Zoë" -> "zoe", "O'Brien" -> "obrien", "Smith-Jones" -> "smithjones", "Łukasz" -> "lukasz".

    Raises IdentifierError (a ValueError) when nothing is left.
    """
    folded = unicodedata.normalize("NFKD", value).casefold()
    folded = unicodedata.normalize("NFKD", folded).casefold()
    folded = unicodedata.normalize("NFKD", folded).translate(_FOLD_LETTERS)
    normal = "".join(ch for ch in folded if unicodedata.category(ch)[0] in "LN" and ch not in _LETTER_APOSTROPHES)
    if not normal:
        raise IdentifierError("Enter a name that includes letters")
    return normal


# Apostrophe, right and left single quotation marks, modifier letter apostrophe, grave accent, full stop.
_NAME_PUNCTUATION = frozenset("'\u2019\u2018\u02bc`.")


def _is_name_character(ch: str) -> bool:
    category = unicodedata.category(ch)
    return category[0] == "L" or category == "Pd" or ch in _NAME_PUNCTUATION


def clean_display_name(value: str, *, label: str, max_length: int = 100) -> str:
    """A name as it will be shown: NFC, trimmed, runs of spaces collapsed to one.

    `label` is the field's name in lower case, as it reads mid-sentence ("family name"). Letters of any
    script, spaces, hyphens and other dashes, apostrophes and full stops are allowed; digits, control and
    formatting characters and other symbols are refused. A combining mark is allowed only after a letter.
    """
    title = label[:1].upper() + label[1:]
    text = unicodedata.normalize("NFC", value).strip()
    # Any space separator (no-break, ideographic ...) counts as a space; a tab or newline inside is refused below.
    spaced = "".join(" " if unicodedata.category(ch) == "Zs" else ch for ch in text)
    cleaned = " ".join(word for word in spaced.split(" ") if word)
    if not cleaned:
        raise IdentifierError(f"Enter the child's {label}")
    if len(cleaned) > max_length:
        raise IdentifierError(f"{title} must be {max_length} characters or fewer")
    previous = " "
    for ch in cleaned:
        is_mark = unicodedata.category(ch)[0] == "M"
        if not (ch == " " or _is_name_character(ch) or (is_mark and unicodedata.category(previous)[0] in "LM")):
            raise IdentifierError(f"{title} must only include letters a to z, hyphens, spaces and apostrophes")
        previous = ch
    if not any(unicodedata.category(ch)[0] == "L" for ch in cleaned):
        raise IdentifierError(f"{title} must include at least one letter")
    return cleaned


_NHS_WEIGHTS = range(10, 1, -1)


def _nhs_check_digit(first_nine: str) -> int | None:
    """The modulus 11 check digit for nine digits, or None when the remainder gives 10 (never issued)."""
    total = sum(int(digit) * weight for digit, weight in zip(first_nine, _NHS_WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    if check == 10:
        return None
    return check


def nhs_number(value: str) -> str:
    """Ten digits, as typed with or without spaces or hyphens between them, whose modulus 11 check digit holds.

    Weights 10 down to 2 on the first nine digits; check = 11 - (sum mod 11), where 11 means 0 and 10 means
    the number is not valid. Returns the ten digits with no separators.
    """
    text = value.strip()
    if not text:
        raise IdentifierError("Enter an NHS number")
    digits = "".join(ch for ch in text if not (ch.isspace() or unicodedata.category(ch) == "Pd"))
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        raise IdentifierError("NHS number must be 10 digits")
    if _nhs_check_digit(digits[:9]) != int(digits[9]):
        raise IdentifierError("Enter a valid 10-digit NHS number")
    return digits


# The official pattern (BS 7666, as published for the Government Data Standards Catalogue): the first letter
# is never Q, V or X; the second never I, J or Z; a letter third (A9A) is one of ABCDEFGHJKPSTUW; a letter
# fourth (AA9A) is one of ABEHMNPRVWXY; the inward code's letters are never C, I, K, M, O or V.
_OUTWARD = (
    r"[A-PR-UWYZ][0-9]{1,2}"
    r"|[A-PR-UWYZ][A-HK-Y][0-9]{1,2}"
    r"|[A-PR-UWYZ][0-9][A-HJKPSTUW]"
    r"|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY]"
)
_INWARD = r"[0-9][ABD-HJLNP-UW-Z]{2}"
_POSTCODE = re.compile(rf"(?:(?:{_OUTWARD})(?:{_INWARD})|GIR0AA)", re.ASCII | re.IGNORECASE)


def postcode(value: str) -> str:
    """A UK postcode in any common spelling, returned upper case with one space before the inward code.

    Spaces anywhere are ignored (" sw1a  1aa " -> "SW1A 1AA"); only ASCII letters and digits are accepted.
    """
    compact = "".join(value.split())
    if not compact:
        raise IdentifierError("Enter a postcode")
    if not _POSTCODE.fullmatch(compact):
        raise IdentifierError("Enter a real postcode, like SW1A 1AA")
    compact = compact.upper()
    return f"{compact[:-3]} {compact[-3:]}"


_MAX_AGE_YEARS = 25
_ISO_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)


def _years_before(day: date, years: int) -> date:
    """The same day `years` earlier; 29 February falls back to 28 February in a year that has none."""
    year = day.year - years
    if year < MINYEAR:
        return date.min
    try:
        return day.replace(year=year)
    except ValueError:
        return day.replace(year=year, day=28)


def _in_range(born: date, today: date) -> date:
    if born > today:
        raise IdentifierError("Date of birth must be today or in the past")
    if born < _years_before(today, _MAX_AGE_YEARS):
        raise IdentifierError(f"Date of birth must be within the last {_MAX_AGE_YEARS} years")
    return born


def date_of_birth(value: str | date, *, today: date) -> date:
    """A child's date of birth, from an ISO "YYYY-MM-DD" string or a date: a real date, not after `today`
    and not more than 25 years before it (exactly 25 years before is accepted)."""
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return _in_range(value, today)
    text = value.strip()
    if not text:
        raise IdentifierError("Enter the child's date of birth")
    match = _ISO_DATE.fullmatch(text)
    if match is None:
        raise IdentifierError("Date of birth must be a real date, in the form YYYY-MM-DD")
    try:
        born = date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        raise IdentifierError("Date of birth must be a real date") from None
    return _in_range(born, today)


_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_MONTH_NAMES = {name: number for number, month in enumerate(_MONTHS, start=1) for name in (month, month[:3])}
_MONTH_NAMES["sept"] = 9


def _number(text: str) -> int | None:
    return int(text) if text.isascii() and text.isdigit() else None


def date_from_parts(day: str, month: str, year: str, *, today: date) -> date:
    """A date of birth from the GOV.UK date input's three boxes (day, month, year).

    The month may also be a name or its first three letters ("Feb", "february"). Messages name the missing
    parts ("Date of birth must include a month") and IdentifierError.parts says which boxes to highlight.
    """
    given = {"day": day.strip(), "month": month.strip(), "year": year.strip()}
    missing = tuple(part for part, text in given.items() if not text)
    if len(missing) == 3:
        raise IdentifierError("Enter the child's date of birth", parts=missing)
    if missing:
        raise IdentifierError(f"Date of birth must include a {' and '.join(missing)}", parts=missing)
    day_number = _number(given["day"])
    month_number = _number(given["month"])
    if month_number is None:
        month_number = _MONTH_NAMES.get(given["month"].casefold())
    year_number = _number(given["year"])
    if len(given["year"]) != 4 or year_number is None:
        raise IdentifierError("Year must include 4 numbers", parts=("year",))
    if day_number is None or month_number is None:
        wrong = tuple(part for part, number in (("day", day_number), ("month", month_number)) if number is None)
        raise IdentifierError("Date of birth must be a real date", parts=wrong)
    try:
        born = date(year_number, month_number, day_number)
    except ValueError:
        raise IdentifierError("Date of birth must be a real date", parts=("day", "month", "year")) from None
    return _in_range(born, today)


def _edit_distance(a: str, b: str) -> int:
    """Damerau-Levenshtein distance in its optimal string alignment form: insertions, deletions,
    substitutions and swaps of two adjacent characters each cost 1, and no substring is edited twice."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            row[j] = min(rows[i - 1][j] + 1, row[j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[i - 2][j - 2] + 1)
        rows.append(row)
    return rows[len(a)][len(b)]


_SOUNDEX_CODES = {
    **dict.fromkeys("aeiouy", "0"),
    **dict.fromkeys("bfpv", "1"),
    **dict.fromkeys("cgjkqsxz", "2"),
    **dict.fromkeys("dt", "3"),
    "l": "4",
    **dict.fromkeys("mn", "5"),
    "r": "6",
}


def _soundex(name: str) -> str | None:
    """American Soundex of a normalised name ("robert" -> "R163"), or None when it is not all letters a to z.

    Vowels separate letters of the same code; h and w do not. A second letter coded like the first is dropped.
    """
    if not name or not name.isascii() or not name.isalpha():
        return None
    codes = []
    previous = _SOUNDEX_CODES.get(name[0])
    for ch in name[1:]:
        code = _SOUNDEX_CODES.get(ch)
        if code is None:  # h and w
            continue
        if code != "0" and code != previous:
            codes.append(code)
        previous = code
    return (name[0].upper() + "".join(codes) + "000")[:4]


def similar_names(a: str, b: str) -> bool:
    """Whether two names are close enough to suggest the same person, for near-duplicate detection.

    Both are first put in normal form (normalise_name). They are similar when any of these holds:
    - the normal forms are equal;
    - their edit distance (Damerau-Levenshtein, optimal string alignment) is at most 1 when the shorter is
      5 characters or fewer, at most 2 when it is longer;
    - the shorter is a prefix of the longer and at least 3 characters long ("alex"/"alexander", not "jo"/"joanne");
    - their American Soundex codes are equal. Soundex keeps the first letter, so equal codes always mean
      equal first letters; names outside a to z have no code and are matched by the other rules only.

    A name with no letters or digits is similar to nothing.
    """
    try:
        first, second = normalise_name(a), normalise_name(b)
    except ValueError:
        return False
    if first == second:
        return True
    shorter, longer = sorted((first, second), key=len)
    limit = 1 if len(shorter) <= 5 else 2
    if _edit_distance(first, second) <= limit:
        return True
    if len(shorter) >= 3 and longer.startswith(shorter):
        return True
    code = _soundex(first)
    return code is not None and code == _soundex(second)
