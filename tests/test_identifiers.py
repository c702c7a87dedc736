from __future__ import annotations

from datetime import date, datetime

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from patchwork.identifiers import (
    IdentifierError,
    _edit_distance,
    _soundex,
    clean_display_name,
    date_from_parts,
    date_of_birth,
    nhs_number,
    normalise_name,
    postcode,
    similar_names,
)

TODAY = date(2025, 6, 15)

# --- normalise_name -------------------------------------------------------------------------------------------

SAME_NAMES = [
    ("Zoë", "Zoe", "ZOE", "zoe", "Zoe\u0308", "ZOË"),
    ("José", "Jose", "JOSÉ", "jose"),
    ("Łukasz", "Lukasz", "ŁUKASZ", "lukasz"),
    ("Søren", "Soren", "SØREN"),
    ("Straße", "Strasse", "STRASSE", "STRAẞE"),
    ("Siobhán", "Siobhan", "SIOBHÁN"),
    ("François", "Francois"),
    ("Ægir", "Aegir", "ægir"),
    ("Œdipe", "Oedipe"),
    ("Þóra", "Thora"),
    ("Đorđe", "Dorde", "DORDE"),
    ("Arnaldur Ðór", "arnaldur dor"),
    ("Iıİi", "iiii"),
    (
        "O'Brien",
        "O\u2019Brien",
        "O\u2018Brien",
        "O\u02bcBrien",
        "O`Brien",
        "OBrien",
        "o brien",
        "O. Brien",
        "o'  brien",
    ),
    (
        "Smith-Jones",
        "Smith Jones",
        "smithjones",
        "SMITH  -  JONES",
        "Smith\u2010Jones",
        "Smith\u2011Jones",
        "Smith\u2013Jones",
        "Smith\u2014Jones",
        "Smith\u2212Jones",
        "Smith\u00a0Jones",
    ),
    ("Mary-Ann St. John", "maryann stjohn", "MARY ANN ST JOHN"),
    ("Nguyễn", "Nguyen"),
    ("Ĳsbrand", "IJsbrand"),
]


@pytest.mark.parametrize("spellings", SAME_NAMES, ids=[group[0] for group in SAME_NAMES])
def test_spellings_of_one_name_normalise_alike(spellings: tuple[str, ...]) -> None:
    forms = {normalise_name(spelling) for spelling in spellings}
    assert len(forms) == 1


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Zoë", "zoe"),
        ("Łukasz", "lukasz"),
        ("Søren", "soren"),
        ("Straße", "strasse"),
        ("O\u2019Brien", "obrien"),
        ("Smith-Jones", "smithjones"),
        ("  Anne-Marie  d'Arcy ", "annemariedarcy"),
        ("Þór Æsir", "thoraesir"),
        ("Ολυμπία", "ολυμπια"),
        ("Дмитрий", "дмитрии"),
        ("李小龍", "李小龍"),
    ],
)
def test_normal_form(name: str, expected: str) -> None:
    assert normalise_name(name) == expected


@pytest.mark.parametrize(
    ("first", "second"),
    [("Zoe", "Zoey"), ("Jo", "Joe"), ("Smith", "Smyth"), ("Ann", "Anne"), ("Lukasz", "Lucas")],
)
def test_different_names_stay_different(first: str, second: str) -> None:
    assert normalise_name(first) != normalise_name(second)


@pytest.mark.parametrize("value", ["", "   ", "-", "'.-", "\u2019 \u2010 ", "\u0301", "\u02bc", "\t\n", "!?"])
def test_a_name_with_nothing_to_match_on_is_refused(value: str) -> None:
    with pytest.raises(ValueError):
        normalise_name(value)


def _normal_or_none(value: str) -> str | None:
    try:
        return normalise_name(value)
    except ValueError:
        return None


SEPARATORS = [" ", "-", "'", "\u2019", "\u2018", "\u02bc", "`", ".", "\u2010", "\u2013", "\u2014", "\u00a0", "  "]


@given(st.text())
def test_normalising_twice_changes_nothing(value: str) -> None:
    normal = _normal_or_none(value)
    assume(normal is not None)
    assert normal is not None
    assert normalise_name(normal) == normal


@given(st.text())
def test_normal_form_holds_only_letters_and_digits(value: str) -> None:
    normal = _normal_or_none(value)
    assume(normal is not None)
    assert normal is not None
    assert all(ch.isalnum() for ch in normal)


@given(st.text())
def test_normalising_ignores_case(value: str) -> None:
    normal = _normal_or_none(value)
    assert _normal_or_none(value.upper()) == normal
    assert _normal_or_none(value.lower()) == normal
    assert _normal_or_none(value.swapcase()) == normal


@given(st.text(), st.lists(st.tuples(st.integers(min_value=0), st.sampled_from(SEPARATORS)), max_size=6))
def test_normalising_ignores_inserted_spaces_hyphens_and_apostrophes(
    value: str, insertions: list[tuple[int, str]]
) -> None:
    spelled = value
    for position, separator in insertions:
        at = position % (len(spelled) + 1)
        spelled = spelled[:at] + separator + spelled[at:]
    assert _normal_or_none(spelled) == _normal_or_none(value)


# --- clean_display_name ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Smith", "Smith"),
        ("  Mary   Jane  ", "Mary Jane"),
        ("Mary\u00a0\u3000Jane", "Mary Jane"),
        ("Smith-Jones", "Smith-Jones"),
        ("O'Brien", "O'Brien"),
        ("D\u2019Arcy", "D\u2019Arcy"),
        ("St. John", "St. John"),
        ("Zoe\u0308", "Zoë"),
        ("Łukasz", "Łukasz"),
        ("Søren", "Søren"),
        ("Ολυμπία", "Ολυμπία"),
        ("नमस्ते", "नमस्ते"),
    ],
)
def test_display_names_are_trimmed_and_kept_as_written(value: str, expected: str) -> None:
    assert clean_display_name(value, label="family name") == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Enter the child's family name"),
        ("   ", "Enter the child's family name"),
        ("x" * 101, "Family name must be 100 characters or fewer"),
        ("J0nes", "Family name must only include letters a to z, hyphens, spaces and apostrophes"),
        ("Jones 2nd", "Family name must only include letters a to z, hyphens, spaces and apostrophes"),
        ("Jo\x00nes", "Family name must only include letters a to z, hyphens, spaces and apostrophes"),
        ("Mary\tJane", "Family name must only include letters a to z, hyphens, spaces and apostrophes"),
        ("Mary\nJane", "Family name must only include letters a to z, hyphens, spaces and apostrophes"),
        ("Jones\u202e", "Family name must only include letters a to z, hyphens, spaces and apostrophes"),
        ("<b>Jones</b>", "Family name must only include letters a to z, hyphens, spaces and apostrophes"),
        ("Jones \U0001f600", "Family name must only include letters a to z, hyphens, spaces and apostrophes"),
        ("Jones, Mary", "Family name must only include letters a to z, hyphens, spaces and apostrophes"),
        ("\u0301Jones", "Family name must only include letters a to z, hyphens, spaces and apostrophes"),
        ("- '", "Family name must include at least one letter"),
    ],
)
def test_unusable_display_names_are_refused_with_a_field_message(value: str, message: str) -> None:
    with pytest.raises(IdentifierError) as caught:
        clean_display_name(value, label="family name")
    assert str(caught.value) == message


def test_display_name_length_is_counted_after_trimming() -> None:
    assert clean_display_name("  " + "x" * 100 + "  ", label="given name") == "x" * 100
    with pytest.raises(IdentifierError, match=r"^Given name must be 20 characters or fewer$"):
        clean_display_name("x" * 21, label="given name", max_length=20)


def test_identifier_errors_are_value_errors() -> None:
    with pytest.raises(ValueError, match="Enter the child's known-as name"):
        clean_display_name("", label="known-as name")


# --- nhs_number -----------------------------------------------------------------------------------------------


def reference_check_digit(first_nine: str) -> int:
    """Modulus 11 as NHS Digital describes it; 10 means no valid number has these nine digits."""
    remainder = sum(int(d) * w for d, w in zip(first_nine, [10, 9, 8, 7, 6, 5, 4, 3, 2], strict=True)) % 11
    return {0: 0}.get(remainder, 11 - remainder)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("9434765919", "9434765919"),
        ("943 476 5919", "9434765919"),
        ("943-476-5919", "9434765919"),
        ("  943 476 5919 ", "9434765919"),
        ("4010232137", "4010232137"),
        ("401 023 2137", "4010232137"),
        ("4000000020", "4000000020"),  # 11 - 0 = 11, written as check digit 0
        ("9990000018", "9990000018"),
        ("1000000001", "1000000001"),
    ],
)
def test_valid_nhs_numbers(value: str, expected: str) -> None:
    assert nhs_number(value) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Enter an NHS number"),
        ("  ", "Enter an NHS number"),
        ("943476591", "NHS number must be 10 digits"),
        ("94347659190", "NHS number must be 10 digits"),
        ("943 476 591", "NHS number must be 10 digits"),
        ("943476591A", "NHS number must be 10 digits"),
        ("NHS9434765919", "NHS number must be 10 digits"),
        ("943.476.5919", "NHS number must be 10 digits"),
        ("\u0669\u0664\u0663\u0664\u0667\u0666\u0665\u0669\u0661\u0669", "NHS number must be 10 digits"),
        ("9434765918", "Enter a valid 10-digit NHS number"),
        ("9434765910", "Enter a valid 10-digit NHS number"),
        ("4010232138", "Enter a valid 10-digit NHS number"),
        ("4934765919", "Enter a valid 10-digit NHS number"),
        *[(f"100000001{last}", "Enter a valid 10-digit NHS number") for last in range(10)],
        *[(f"123456789{last}", "Enter a valid 10-digit NHS number") for last in range(10)],
    ],
)
def test_invalid_nhs_numbers(value: str, message: str) -> None:
    with pytest.raises(IdentifierError) as caught:
        nhs_number(value)
    assert str(caught.value) == message


def test_the_examples_with_no_valid_check_digit_really_have_check_value_ten() -> None:
    assert reference_check_digit("100000001") == 10
    assert reference_check_digit("123456789") == 10


@given(st.text(alphabet="0123456789", min_size=10, max_size=10))
def test_nhs_number_agrees_with_the_reference_check(digits: str) -> None:
    expected_valid = reference_check_digit(digits[:9]) == int(digits[9])
    try:
        nhs_number(digits)
    except IdentifierError:
        assert not expected_valid
    else:
        assert expected_valid


@given(
    st.text(alphabet="0123456789", min_size=9, max_size=9),
    st.integers(min_value=0, max_value=9),
    st.integers(min_value=1, max_value=9),
)
def test_changing_any_one_digit_of_a_valid_nhs_number_makes_it_invalid(
    first_nine: str, position: int, shift: int
) -> None:
    """Changing digit i by d changes the weighted sum by w_i * d, with 2 <= w_i <= 10 and 1 <= |d| <= 9. As 11 is
    prime and divides neither factor, the sum mod 11 always changes, so the check digit can never still agree.
    Changing the check digit itself breaks the agreement directly. So no single-digit change keeps a number valid."""
    check = reference_check_digit(first_nine)
    assume(check != 10)
    valid = first_nine + str(check)
    assert nhs_number(valid) == valid
    changed = valid[:position] + str((int(valid[position]) + shift) % 10) + valid[position + 1 :]
    assert changed != valid
    with pytest.raises(IdentifierError, match=r"^Enter a valid 10-digit NHS number$"):
        nhs_number(changed)


# --- postcode -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("SW1A 1AA", "SW1A 1AA"),
        ("SW1A1AA", "SW1A 1AA"),
        ("sw1a 1aa", "SW1A 1AA"),
        ("sw1a1aa", "SW1A 1AA"),
        ("Sw1A 1aA", "SW1A 1AA"),
        (" EC1A  1BB ", "EC1A 1BB"),
        ("ec1a\t1bb", "EC1A 1BB"),
        ("EC1A\u00a01BB", "EC1A 1BB"),
        ("M1 1AE", "M1 1AE"),
        ("m11ae", "M1 1AE"),
        ("B33 8TH", "B33 8TH"),
        ("b338th", "B33 8TH"),
        ("CR2 6XH", "CR2 6XH"),
        ("DN55 1PT", "DN55 1PT"),
        ("dn551pt", "DN55 1PT"),
        ("W1A 0AX", "W1A 0AX"),
        ("GIR 0AA", "GIR 0AA"),
        ("gir0aa", "GIR 0AA"),
        ("E1W 1AA", "E1W 1AA"),
        ("NW1W 9BE", "NW1W 9BE"),
        ("S W 1 A 1 A A", "SW1A 1AA"),
    ],
)
def test_postcodes_in_any_common_spelling_are_standardised(value: str, expected: str) -> None:
    assert postcode(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "SW1A 1AAA",
        "SW1A 1A",
        "12345",
        "SW1A",
        "1AA",
        "Q1A 1AA",  # Q, V and X never come first
        "V1 1AA",
        "X11 1AA",
        "AI1 1AA",  # I, J and Z never come second
        "AJ1 1AA",
        "AZ11 1AA",
        "AA1 1CI",  # C, I, K, M, O and V never appear in the inward code
        "AA1 1AC",
        "AA1 1KA",
        "AA1 1MA",
        "AA1 1OA",
        "AA1 1AV",
        "W1I 1AA",  # a third-place letter must be one of ABCDEFGHJKPSTUW
        "W1L 1AA",
        "EC1C 1BB",  # a fourth-place letter must be one of ABEHMNPRVWXY
        "EC1D 1BB",
        "SW1A AAA",
        "SW1A 11A",
        "SWW1 1AA",
        "S1W1A 1AA",
        "GIR 0AB",
        "BFPO 1234",
        "SW1A-1AA",
        "ＳＷ1Ａ 1ＡＡ",
        "SW\u0130A 1AA",
        "g\u0131r 0aa",
    ],
)
def test_unreal_postcodes_are_refused(value: str) -> None:
    with pytest.raises(IdentifierError, match=r"^Enter a real postcode, like SW1A 1AA$"):
        postcode(value)


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_postcode_asks_for_one(value: str) -> None:
    with pytest.raises(IdentifierError, match=r"^Enter a postcode$"):
        postcode(value)


FIRST = "ABCDEFGHIJKLMNOPRSTUWYZ"
SECOND = "ABCDEFGHKLMNOPQRSTUVWXY"
THIRD = "ABCDEFGHJKPSTUW"
FOURTH = "ABEHMNPRVWXY"
INWARD = "ABDEFGHJLNPQRSTUWXYZ"
DIGIT = "0123456789"


def _letters(*alphabets: str) -> st.SearchStrategy[str]:
    return st.tuples(*(st.sampled_from(alphabet) for alphabet in alphabets)).map("".join)


standard_postcodes = st.builds(
    "{} {}".format,
    st.one_of(
        _letters(FIRST, DIGIT),
        _letters(FIRST, DIGIT, DIGIT),
        _letters(FIRST, DIGIT, THIRD),
        _letters(FIRST, SECOND, DIGIT),
        _letters(FIRST, SECOND, DIGIT, DIGIT),
        _letters(FIRST, SECOND, DIGIT, FOURTH),
    ),
    _letters(DIGIT, INWARD, INWARD),
)


@given(standard_postcodes)
def test_standard_postcodes_are_fixed_points(value: str) -> None:
    assert postcode(value) == value
    assert postcode(postcode(value)) == postcode(value)


@given(standard_postcodes, st.data())
def test_every_spelling_of_a_postcode_gives_the_standard_form(value: str, data: st.DataObject) -> None:
    compact = value.replace(" ", "")
    spelled = "".join(
        data.draw(st.sampled_from([ch.upper(), ch.lower()])) + data.draw(st.sampled_from(["", "", " ", "  "]))
        for ch in compact
    )
    assert postcode(f" {spelled} ") == value


# --- date_of_birth and date_from_parts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2020-03-04", date(2020, 3, 4)),
        (" 2020-03-04 ", date(2020, 3, 4)),
        ("2024-02-29", date(2024, 2, 29)),
        ("2025-06-15", TODAY),
        ("2000-06-15", date(2000, 6, 15)),
        (date(2019, 1, 1), date(2019, 1, 1)),
        (datetime(2019, 1, 1, 13, 30), date(2019, 1, 1)),
    ],
)
def test_dates_of_birth_accepted(value: str | date, expected: date) -> None:
    born = date_of_birth(value, today=TODAY)
    assert born == expected
    assert type(born) is date


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Enter the child's date of birth"),
        ("2024-02-30", "Date of birth must be a real date"),
        ("2023-02-29", "Date of birth must be a real date"),
        ("2024-13-01", "Date of birth must be a real date"),
        ("2024-00-10", "Date of birth must be a real date"),
        ("2024-04-31", "Date of birth must be a real date"),
        ("0000-01-01", "Date of birth must be a real date"),
        ("2024-1-5", "Date of birth must be a real date, in the form YYYY-MM-DD"),
        ("20240105", "Date of birth must be a real date, in the form YYYY-MM-DD"),
        ("2024-W01-1", "Date of birth must be a real date, in the form YYYY-MM-DD"),
        ("05/01/2024", "Date of birth must be a real date, in the form YYYY-MM-DD"),
        ("yesterday", "Date of birth must be a real date, in the form YYYY-MM-DD"),
        ("2025-06-16", "Date of birth must be today or in the past"),
        ("2099-01-01", "Date of birth must be today or in the past"),
        (date(2025, 6, 16), "Date of birth must be today or in the past"),
        ("2000-06-14", "Date of birth must be within the last 25 years"),
        ("1980-01-01", "Date of birth must be within the last 25 years"),
        (date(2000, 6, 14), "Date of birth must be within the last 25 years"),
    ],
)
def test_dates_of_birth_refused(value: str | date, message: str) -> None:
    with pytest.raises(IdentifierError) as caught:
        date_of_birth(value, today=TODAY)
    assert str(caught.value) == message


def test_twenty_five_years_before_a_leap_day_is_the_twenty_eighth() -> None:
    leap_day = date(2024, 2, 29)
    assert date_of_birth("1999-02-28", today=leap_day) == date(1999, 2, 28)
    with pytest.raises(IdentifierError, match="within the last 25 years"):
        date_of_birth("1999-02-27", today=leap_day)


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 12, 31)), st.dates())
def test_a_date_of_birth_is_accepted_exactly_within_25_years_up_to_today(born: date, today: date) -> None:
    assume(today.year > 25)
    leap_day = (today.month, today.day) == (2, 29)  # 25 years earlier is never a leap year
    earliest = date(today.year - 25, today.month, 28 if leap_day else today.day)
    inside = earliest <= born <= today
    try:
        assert date_of_birth(born.isoformat(), today=today) == born
    except IdentifierError:
        assert not inside
    else:
        assert inside


@pytest.mark.parametrize(
    ("day", "month", "year", "expected"),
    [
        ("4", "3", "2020", date(2020, 3, 4)),
        ("04", "03", "2020", date(2020, 3, 4)),
        (" 4 ", " 3 ", " 2020 ", date(2020, 3, 4)),
        ("4", "Mar", "2020", date(2020, 3, 4)),
        ("4", "march", "2020", date(2020, 3, 4)),
        ("4", "Sept", "2020", date(2020, 9, 4)),
        ("29", "2", "2024", date(2024, 2, 29)),
        ("15", "6", "2000", date(2000, 6, 15)),
    ],
)
def test_dates_from_three_boxes(day: str, month: str, year: str, expected: date) -> None:
    assert date_from_parts(day, month, year, today=TODAY) == expected


@pytest.mark.parametrize(
    ("day", "month", "year", "message", "parts"),
    [
        ("", "", "", "Enter the child's date of birth", ("day", "month", "year")),
        ("", "3", "2020", "Date of birth must include a day", ("day",)),
        ("4", "", "2020", "Date of birth must include a month", ("month",)),
        ("4", "3", " ", "Date of birth must include a year", ("year",)),
        ("", "", "2020", "Date of birth must include a day and month", ("day", "month")),
        ("4", "", "", "Date of birth must include a month and year", ("month", "year")),
        ("", "3", "", "Date of birth must include a day and year", ("day", "year")),
        ("4", "3", "20", "Year must include 4 numbers", ("year",)),
        ("4", "3", "20x0", "Year must include 4 numbers", ("year",)),
        ("4", "3", "02020", "Year must include 4 numbers", ("year",)),
        ("x", "3", "2020", "Date of birth must be a real date", ("day",)),
        ("4", "Marchember", "2020", "Date of birth must be a real date", ("month",)),
        ("30", "2", "2024", "Date of birth must be a real date", ("day", "month", "year")),
        ("1", "13", "2020", "Date of birth must be a real date", ("day", "month", "year")),
        ("0", "1", "2020", "Date of birth must be a real date", ("day", "month", "year")),
        ("16", "6", "2025", "Date of birth must be today or in the past", ()),
        ("14", "6", "2000", "Date of birth must be within the last 25 years", ()),
    ],
)
def test_dates_from_three_boxes_refused(day: str, month: str, year: str, message: str, parts: tuple[str, ...]) -> None:
    with pytest.raises(IdentifierError) as caught:
        date_from_parts(day, month, year, today=TODAY)
    assert str(caught.value) == message
    assert caught.value.parts == parts


# --- similar_names --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Zoë", "Zoe"),  # equal when normalised
        ("O'Brien", "OBRIEN"),
        ("Smith-Jones", "Smith Jones"),
        ("Jon", "John"),  # one edit, short names
        ("Smith", "Smyth"),
        ("Amy", "Aym"),  # one swap of adjacent letters
        ("Katherine", "Catherine"),
        ("Mohammed", "Muhammad"),  # two edits, longer names
        ("Jonathan", "Johnathon"),
        ("Alex", "Alexander"),  # prefix of 3 or more
        ("Sam", "Samantha"),
        ("Chris", "Christopher"),
        ("Sean", "Shaun"),  # Soundex S500 with the same first letter
        ("Ashcraft", "Ashcroft"),
        ("Lukasz", "Łukasz"),
    ],
)
def test_similar_names(first: str, second: str) -> None:
    assert similar_names(first, second)
    assert similar_names(second, first)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Jo", "Joanne"),  # "jo" is too short to count as a prefix
        ("Smith", "Jones"),
        ("Emma", "Emily"),
        ("Adam", "Eve"),
        ("Harry", "Sally"),
        ("Anna", "Hannah"),  # Soundex A500 and H500: first letters differ
        ("Amy", "Ami Lee"),
        ("Jessica", "Jennifer"),
        ("", "Smith"),
        ("-", "-"),
    ],
)
def test_dissimilar_names(first: str, second: str) -> None:
    assert not similar_names(first, second)
    assert not similar_names(second, first)


@pytest.mark.parametrize(
    ("first", "second", "distance"),
    [
        ("", "", 0),
        ("", "abc", 3),
        ("kitten", "sitting", 3),
        ("ca", "ac", 1),
        ("ca", "abc", 3),  # optimal string alignment: no edit inside a swapped pair
        ("smith", "smtih", 1),
        ("mohammed", "muhammad", 2),
    ],
)
def test_edit_distance(first: str, second: str, distance: int) -> None:
    assert _edit_distance(first, second) == distance
    assert _edit_distance(second, first) == distance


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("robert", "R163"),
        ("rupert", "R163"),
        ("rubin", "R150"),
        ("ashcraft", "A261"),
        ("ashcroft", "A261"),
        ("tymczak", "T522"),
        ("pfister", "P236"),
        ("honeyman", "H555"),
        ("lee", "L000"),
        ("ολγα", None),
    ],
)
def test_american_soundex(name: str, code: str | None) -> None:
    assert _soundex(name) == code


@given(st.text(max_size=12), st.text(max_size=12))
def test_similarity_is_symmetric(first: str, second: str) -> None:
    assert similar_names(first, second) == similar_names(second, first)


@given(st.text(max_size=12))
def test_a_name_is_similar_to_itself_in_any_case(name: str) -> None:
    assert similar_names(name, name.upper()) == (_normal_or_none(name) is not None)
