"""Reading files as they really arrive (pure: no database)."""

import io
import json
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canvass.importing.fields import CUSTOM, HISTORY, SKIP, guess_field, map_columns
from canvass.importing.layouts import MI_COLSPECS, layout_mapping
from canvass.importing.normalize import normalize
from canvass.importing.phones import phone_e164
from canvass.importing.reading import UnreadableFile, read_file
from canvass.importing.streets import parse_street_line
from tests.conftest import SHARED_DATA


def write(tmp_path, name, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def people(path):
    table = read_file(path)
    mapping = layout_mapping(table.layout, table.headers, map_columns(table.headers))
    return table, normalize(table.frame, mapping, table.layout)


CSV = "voter_id,first_name,last_name,address,city,zip,phone\n1,José,Núñez,12 Main St,Durham,27701,9195551212\n"


@pytest.mark.parametrize(("name", "data", "encoding"), [
    ("utf8.csv", CSV.encode(), "utf-8"),
    ("bom.csv", b"\xef\xbb\xbf" + CSV.encode(), "utf-8-sig"),
    ("utf16.txt", CSV.replace(",", "\t").encode("utf-16"), "utf-16"),
    ("latin1.csv", CSV.encode("latin-1"), "cp1252"),
    ("crlf.csv", CSV.replace("\n", "\r\n").encode(), "utf-8"),
    ("nul.csv", CSV.replace("Durham", "Dur\x00ham").encode(), "utf-8"),
])
def test_encodings_and_line_endings_read_the_same(tmp_path, name, data, encoding):
    table, norm = people(write(tmp_path, name, data))
    assert table.encoding == encoding
    assert table.headers[0] == "voter_id"  # no hidden BOM in the first header
    person = norm.people.iloc[0]
    assert (person["first_name"], person["last_name"], person["city"]) == ("José", "Núñez", "Durham")
    assert norm.phones["e164"].tolist() == ["+19195551212"]


def test_a_bad_byte_in_utf8_text_does_not_crash(tmp_path):
    data = CSV.encode() + b"2,Ana,Bad\x9d\xff,1 Oak St,Durham,27701,\n"
    table, norm = people(write(tmp_path, "bad.csv", data))
    assert len(norm.people) == 2
    assert norm.people.iloc[1]["last_name"].startswith("Bad")


@pytest.mark.parametrize(("delimiter", "file_format"), [("\t", "tsv"), ("|", "pipe"), (";", "semicolon"), (",", "csv")])
def test_delimiters_are_detected(tmp_path, delimiter, file_format):
    data = CSV.replace(",", delimiter).encode()
    table, norm = people(write(tmp_path, "d.txt", data))
    assert table.file_format == file_format
    assert norm.people.iloc[0]["address"] == "12 Main St"


def test_literal_quotes_inside_unquoted_tab_data_stay_in_the_value(tmp_path):
    data = b'id\tfirst_name\tlast_name\tzip\n1\tMARIE   "MARION"\tSMITH\t32301\n2\tBOB\tJONES\t32301\n'
    table, norm = people(write(tmp_path, "q.txt", data))
    assert norm.people["first_name"].tolist() == ['MARIE "MARION"', "BOB"]


def test_space_padding_float_artifacts_and_excel_zip(tmp_path):
    data = (b"VoterId,FirstName,LastName,HouseNumber,StreetName,City,ZipCode,PhoneNumber,DOBYear\n"
            b"0042.0,  ANN  , LEE ,2200.0,  ELM   ST ,PLAINS,2111,5074511271.0,1983.0\n"
            b"77,BO,KIM,5,OAK AVE,AMES,27517.0,,\n")
    table, norm = people(write(tmp_path, "mn.csv", data))
    first, second = norm.people.iloc[0], norm.people.iloc[1]
    assert (first["first_name"], first["last_name"]) == ("ANN", "LEE")
    assert first["address"] == "2200 ELM ST"
    assert first["zip5"] == "02111" and second["zip5"] == "27517"
    assert first["birth_year"] == 1983
    assert first["voter_id"] == "0042"  # the .0 goes, the leading zeros stay
    assert norm.phones["e164"].tolist() == ["+15074511271"]


def test_zip_plus_four_forms(tmp_path):
    data = b"first,last,address,zip,zip4\nA,B,1 Main St,02111-0000,\nC,D,2 Main St,275178037,\nE,F,3 Main St,27517,8037\n"
    _, norm = people(write(tmp_path, "z.csv", data))
    assert norm.people[["zip5", "zip4"]].values.tolist() == [["02111", ""], ["27517", "8037"], ["27517", "8037"]]


def test_duplicate_header_names_and_a_nameless_first_column(tmp_path):
    data = b"\tfirst_name\tlast_name\tReserved\tReserved\n0\tANA\tDIAZ\tx\ty\n"
    table, norm = people(write(tmp_path, "ks.txt", data))
    assert table.headers == ["Unnamed 1", "first_name", "last_name", "Reserved", "Reserved (2)"]
    mapping = map_columns(table.headers)
    assert mapping["Unnamed 1"] == SKIP
    assert norm.people.iloc[0]["custom"] == '{"Reserved": "x", "Reserved (2)": "y"}'


def test_a_file_without_header_is_recognised_by_its_shape():
    table, norm = people(SHARED_DATA / "synthetic_fl_voter_extract_noheader_100.txt")
    assert table.layout.key == "fl_extract" and not table.has_header
    assert len(norm.people) == 100
    assert norm.people.index[0] == 1  # no header: the first row is row 1


def test_unknown_headerless_file_gets_numbered_columns(tmp_path):
    data = b"1001,555-201-3344,27701\n1002,555-201-9999,27703\n"
    table = read_file(write(tmp_path, "nohead.csv", data))
    assert not table.has_header and table.headers == ["Column 1", "Column 2", "Column 3"]


def test_a_title_and_blank_lines_above_the_header_are_passed_over(tmp_path):
    data = b"Volunteer sign-up sheet, May 2024\n\nFirst,Last,Cell,Address,ZIP\nAnn,Lee,9195550103,5 Elm St,27701\n" \
           b"Bo,Kim,555,7 Elm St,27701\n"
    table, norm = people(write(tmp_path, "signup.csv", data))
    assert table.has_header and table.header_row == 3
    assert table.headers == ["First", "Last", "Cell", "Address", "ZIP"]
    assert norm.people["first_name"].tolist() == ["Ann", "Bo"]
    assert norm.people.index.tolist() == [4, 5]  # spreadsheet rows, as the user sees them
    assert [(p["row"], p["column"]) for p in norm.problems] == [(5, "Cell")]


def test_a_sheet_with_a_title_and_cells_starting_further_down_keeps_its_row_numbers(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["B2"] = "Saturday canvass sign-ups"
    sheet["B3"] = "Printed 5/4/2024"
    for offset, row in enumerate([["First name", "Last name", "Phone", "Address", "ZIP"],
                                  ["Ann", "Lee", "9195550103", "5 Elm St", "27701"],
                                  ["Bo", "Kim", "bad", "7 Elm St", "27701"]]):
        for column, value in enumerate(row):
            sheet.cell(row=5 + offset, column=2 + column, value=value)
    book.save(tmp_path / "signup.xlsx")
    table, norm = people(tmp_path / "signup.xlsx")
    assert table.header_row == 5 and table.headers[0] == "First name"
    assert norm.people.index.tolist() == [6, 7]
    assert [(p["row"], p["column"], p["value"]) for p in norm.problems] == [(7, "Phone", "bad")]


def test_a_workbook_opening_on_instructions_is_read_from_its_list_sheet(tmp_path):
    book = openpyxl.Workbook()
    book.active.title = "Read me"
    book.active.append(["How to use this list"])
    book.active.append(["Call each person and mark the result. Questions? Ask Rosa."])
    contacts = book.create_sheet("Contacts")
    contacts.append(["First Name", "Last Name", "Phone", "Zip"])
    contacts.append(["Ana", "Diaz", "9195550111", "27701"])
    book.create_sheet("Lookups").append(["Code", "Meaning"])
    book.save(tmp_path / "list.xlsx")
    table, norm = people(tmp_path / "list.xlsx")
    assert table.sheet == "Contacts" and table.headers == ["First Name", "Last Name", "Phone", "Zip"]
    assert norm.people["first_name"].tolist() == ["Ana"]
    only = openpyxl.Workbook()
    only.active.append(["Who", "Where"])  # no known field anywhere: the first sheet, as before
    only.active.append(["Ana", "Durham"])
    only.create_sheet("Other").append(["Code", "Meaning"])
    only.save(tmp_path / "odd.xlsx")
    assert read_file(tmp_path / "odd.xlsx").headers == ["Who", "Where"]


def test_rows_of_values_at_the_top_are_data_not_a_preamble(tmp_path):
    data = b"Ann,,,\nBo,,,\nCy,Lee,9195550101,5 Elm St\n"  # a list whose first people left most cells blank
    table = read_file(write(tmp_path, "names.csv", data))
    assert not table.has_header and table.frame.iloc[:, 0].tolist() == ["Ann", "Bo", "Cy"]
    assert table.frame.index.tolist() == [1, 2, 3]


def test_a_header_with_unnamed_columns_is_still_the_header(tmp_path):
    data = b"Name,,,,Phone\nAnn Lee,5 Elm St,Durham,27701,9195550103\nBo Kim,7 Elm St,Durham,27701,9195550104\n"
    table = read_file(write(tmp_path, "partly_named.csv", data))
    assert table.header_row == 1 and table.headers == ["Name", "Unnamed 2", "Unnamed 3", "Unnamed 4", "Phone"]
    assert table.frame.index.tolist() == [2, 3]


def test_xlsx_cells_are_read_as_text(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Voter ID", "First Name", "Last Name", "Address", "Zip", "Cell Phone", "Date of Birth"])
    from datetime import datetime

    sheet.append(["000123", "Ana", "Diaz", "5 Oak St Apt 2", 2111, 9195551212, datetime(1980, 5, 17)])
    sheet.append([456, "Bo", "Kim", "7 Elm St", 27701.0, "", None])
    book.save(tmp_path / "list.xlsx")
    table, norm = people(tmp_path / "list.xlsx")
    assert table.file_format == "xlsx"
    rows = norm.people
    assert rows["voter_id"].tolist() == ["000123", "456"]
    assert rows["zip5"].tolist() == ["02111", "27701"]
    assert rows.iloc[0]["birth_year"] == 1980 and rows.iloc[0]["unit"] == "Apt 2"
    assert norm.phones[["e164", "type"]].values.tolist() == [["+19195551212", "cell"]]


FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("name", ["list.xls", "list.ods"])
def test_xls_and_ods_workbooks_are_read_like_xlsx(name):
    """Saved by LibreOffice from one sheet: a voter ID with a leading zero kept as text, a ZIP Excel turned into the
    number 2111, a cell phone as a number, a date cell and a TRUE/FALSE column."""
    table, norm = people(FIXTURES / name)
    assert table.file_format == name.rsplit(".", 1)[1]
    assert table.frame.index.tolist() == [2, 3]
    rows = norm.people
    assert rows["voter_id"].tolist() == ["000123", "456"]
    assert rows["first_name"].tolist() == ["Ana", "Bo"]
    assert rows["zip5"].tolist() == ["02111", "27701"]
    assert rows.iloc[0]["birth_year"] == 1980
    assert sorted(norm.phones["e164"]) == ["+19195550104", "+19195551212"]


def test_spreadsheet_cells_read_as_the_sheet_shows_them(tmp_path):
    from datetime import date, datetime, time

    book = openpyxl.Workbook()
    book.active.append(["Name", "Signed up", "Shift", "Member", "Dues", "Note"])
    book.active.append(["Ana Diaz", date(2024, 3, 5), datetime(2024, 3, 5, 14, 30), True, 12.5, "true story"])
    book.active.append(["Bo Kim", "2024-03-06", datetime(2024, 3, 6), False, -3.0, 0.1])
    book.active.append(['"Nene" Ruiz', None, None, None, None, time(9, 0)])
    book.active.append(['  "Cy"  ', None, None, None, None, None])
    book.save(tmp_path / "cells.xlsx")
    frame = read_file(tmp_path / "cells.xlsx").frame
    assert frame.values.tolist() == [
        ["Ana Diaz", "2024-03-05", "2024-03-05 14:30:00", "TRUE", "12.5", "true story"],
        ["Bo Kim", "2024-03-06", "2024-03-06", "FALSE", "-3", "0.1"],
        ['"Nene" Ruiz', "", "", "", "", "09:00:00"],
        ['"Cy"', "", "", "", "", ""],  # trimmed; quotes typed into a cell are the person's own
    ]


def test_birth_dates_as_excel_serial_numbers_or_bare_years(tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["First", "Last", "Zip", "Birth date"])
    for first, born in [("Ana", 29358), ("Bo", "1980"), ("Cy", "05/17/1980"), ("Ed", "17/05/1980"),
                        ("Flo", "17.05.1980"), ("Di", 99999)]:
        book.active.append([first, "Diaz", "27701", born])  # 29358: a date cell left in Excel's General format
    book.save(tmp_path / "born.xlsx")
    _, norm = people(tmp_path / "born.xlsx")
    assert norm.people["birth_year"].tolist()[:5] == [1980] * 5  # day first (17/05/1980) too: the year is plain
    assert pd.isna(norm.people["birth_year"].iloc[5])
    assert [(p["row"], p["value"]) for p in norm.problems] == [(7, "99999")]


@pytest.mark.parametrize(("written", "parts"), [
    ("123 Main St Apt 4 Durham NC 27701", ("123 Main St Apt 4", "Durham", "NC", "27701")),
    ("45 Saint Marys Rd Apt 2 Chapel Hill NC 27514", ("45 Saint Marys Rd Apt 2", "Chapel Hill", "NC", "27514")),
    ("12 Oak Hill Rd Durham NC 27701", ("12 Oak Hill Rd", "Durham", "NC", "27701")),
    ("77 Lake Park Dr Lake Park NC 27601", ("77 Lake Park Dr", "Lake Park", "NC", "27601")),
    ("5 Main St #4 Durham NC 27701", ("5 Main St #4", "Durham", "NC", "27701")),
    ("12 Broadway New York NY 10001", ("", "", "", "")),  # no street type: the line cannot be told from the city
    # found by checking against usaddress (tests/test_parsing_oracle.py)
    ("3816 Northview Pl Saint Louis MO 63104", ("3816 Northview Pl", "Saint Louis", "MO", "63104")),
    ("78 Grasskamp Pass Fort Myers FL 33906", ("78 Grasskamp Pass", "Fort Myers", "FL", "33906")),
    ("68902 SE North Junction Boston MA 02216", ("68902 SE North Junction", "Boston", "MA", "02216")),
    ("22 Morning Park Birmingham AL 35236", ("22 Morning Park", "Birmingham", "AL", "35236")),
    ("9 Elm Ct NW Apt 2 Washington DC 20001", ("9 Elm Ct NW Apt 2", "Washington", "DC", "20001")),
    ("12 Main St E Lansing MI 48823", ("12 Main St", "E Lansing", "MI", "48823")),
])
def test_a_whole_address_typed_without_commas_is_split(written, parts):
    from canvass.importing.streets import split_run_on_address

    assert split_run_on_address(written) == parts


def test_a_hand_made_sign_up_sheet_with_placeholders_and_a_full_address(tmp_path):
    data = ("First,Last,Full Address,Phone,Email,Language,Zip\n"
            "Ana,Diaz,123 Main St Apt 4 Durham NC 27701,N/A,n/a,ESP,\n"
            "Bo,Kim,125 Main St,none,-,Coreano,NC 27701\n"
            "Cy,Lee,127 Main St,919-555-01,no email,Tiếng Việt,27701\n").encode()
    table, norm = people(write(tmp_path, "signup.csv", data))
    rows = norm.people
    assert rows["address"].tolist() == ["123 Main St", "125 Main St", "127 Main St"]
    assert (rows.iloc[0]["unit"], rows.iloc[0]["city"], rows.iloc[0]["state"]) == ("Apt 4", "Durham", "NC")
    assert rows["zip5"].tolist() == ["27701"] * 3
    assert rows["language"].tolist() == ["es", "ko", "vi"]
    # "N/A", "none", "-" and "no email" are blanks, not mistakes; a short phone number still is one.
    assert [(p["row"], p["column"]) for p in norm.problems] == [(4, "Phone")]


def test_a_row_with_only_a_phone_or_email_says_what_to_add(tmp_path):
    data = b"Name,Phone,Email,Zip\nAna Diaz,9195550101,,27701\n,9195550102,,\n,,bo@example.org,\n,,,27701\n"
    _, norm = people(write(tmp_path, "signup.csv", data))
    assert norm.rejected_rows == {3, 4, 5}
    messages = {p["row"]: p["message"] for p in norm.problems}
    assert messages[3] == messages[4] and messages[3].endswith("Add the name to the file and import it again.")
    assert messages[5] == "This row has no name, no ID and no address; it was skipped."


def test_phones_written_with_what_they_are_get_that_type(tmp_path):
    data = (b"Name,Phone,Zip\nAna Diaz,\"Cell: 919-555-0101, Home: 919-555-0102\",27701\n"
            b"Bo Kim,celular - (919) 555-0103 / Mom: 919-555-0104,27701\n"
            b"Cy Lee,919-555-0105 (c) / 919.555.0106 home,27701\n"
            b"Di Wu,9195550107,27701\n")
    _, norm = people(write(tmp_path, "signup.csv", data))
    assert norm.phones[["row", "e164", "type"]].values.tolist() == [
        [2, "+19195550101", "cell"], [2, "+19195550102", "landline"],
        [3, "+19195550103", "cell"], [3, "+19195550104", "unknown"],
        [4, "+19195550105", "cell"], [4, "+19195550106", "landline"], [5, "+19195550107", "unknown"]]


def test_a_report_s_total_row_is_not_a_person(tmp_path):
    data = b"Name,Phone,Zip\nAna Diaz,9195550101,27701\nBo Kim,9195550102,27701\nTotal: 2,,\nGRAND TOTAL,,\n" \
        b"Generated by VAN on 11/20/2026 by jdoe,,\nMaria de los Angeles Garcia,,\n"
    _, norm = people(write(tmp_path, "report.csv", data))
    assert norm.rejected_rows == {4, 5, 6}
    assert [(p["row"], p["message"]) for p in norm.problems] == \
        [(row, "This row is a total or a note, not a person; it was skipped.") for row in (4, 5, 6)]
    assert norm.people["first_name"].tolist() == ["Ana", "Bo", "Maria"]  # a long name with nothing else stays


def test_a_zip_holding_one_file_is_read(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("PersonFile20180426-11056504994.txt", CSV.replace(",", "\t"))
        archive.writestr("__MACOSX/._PersonFile.txt", "junk")
    table, norm = people(write(tmp_path, "export.zip", buffer.getvalue()))
    assert table.inner_name.startswith("PersonFile") and len(norm.people) == 1


def test_a_zip_holding_a_workbook_is_read_and_a_damaged_workbook_explained(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.write(FIXTURES / "list.ods", "export/list.ods")
    table, norm = people(write(tmp_path, "export.zip", buffer.getvalue()))
    assert (table.file_format, table.inner_name, len(norm.people)) == ("ods", "export/list.ods", 2)
    damaged = io.BytesIO()
    with zipfile.ZipFile(damaged, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", '<workbook><sheets><sheet name="S" sheetId="1"/></sheets></workbook>')
        archive.writestr("xl/worksheets/sheet1.xml", "<<<not xml")
    with pytest.raises(UnreadableFile, match="The XLSX file could not be read. Open it in a spreadsheet program"):
        read_file(write(tmp_path, "damaged.xlsx", damaged.getvalue()))


def test_a_zip_with_several_files_is_refused_with_their_names(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("voters.txt", CSV)
        archive.writestr("history.txt", CSV)
    with pytest.raises(UnreadableFile, match=r"holds 2 files \(voters.txt, history.txt\); unzip it"):
        read_file(write(tmp_path, "two.zip", buffer.getvalue()))


def test_a_zip_bomb_is_refused(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.csv", b"a," * 5_000_000)
    with pytest.raises(UnreadableFile, match="would unpack to"):
        read_file(write(tmp_path, "bomb.zip", buffer.getvalue()))


def test_fixed_width_michigan_file(tmp_path):
    def line(values):
        out = [" "] * 520
        for (start, _end), value in zip(MI_COLSPECS, values, strict=False):
            out[start:start + len(value)] = value
        return "".join(out)

    values = ["SMITH", "JANE", "Q", "", "1970", "F", "01022000", "", "123", "", "N", "MAIN", "ST", "", "", "LANSING",
              "MI", "48933"] + [""] * 5 + ["0001234567890"]
    path = write(tmp_path, "entire_state_v.lst", (line(values) + "\n" + line(values) + "\n").encode())
    table, norm = people(path)
    assert table.layout.key == "mi_qvf_fixed"
    person = norm.people.iloc[0]
    assert (person["first_name"], person["last_name"], person["address"], person["zip5"], person["birth_year"]) == \
        ("JANE", "SMITH", "123 N MAIN ST", "48933", 1970)
    assert person["voter_id"] == "0001234567890"


@pytest.mark.parametrize(("data", "message"), [
    (b"", "The file is empty."),
    (b"\x00\x00\x00", "The file is empty."),
    (bytes(range(256)) * 40, "could not find how the columns are separated"),
    (b"PK\x03\x04garbage", "The zip file is damaged"),
])
def test_unusable_files_get_one_clear_sentence(tmp_path, data, message):
    with pytest.raises(UnreadableFile, match=message):
        read_file(write(tmp_path, "bad.bin", data))


def test_a_row_with_extra_fields_is_reported_and_the_rest_kept(tmp_path):
    data = b"first,last,zip\nA,B,27701\nC,D,27701,extra,more\nE,F,27701\n"
    table = read_file(write(tmp_path, "ragged.csv", data))
    assert table.frame["first"].tolist() == ["A", "E"] or table.frame["first"].tolist() == ["A", "C", "E"]
    if table.bad_rows:
        assert table.bad_rows[0]["row"] == 3 and "has 5 columns but the file has 3" in table.bad_rows[0]["message"]


# ------------------------------------------------------------------------------------------------------------------
# Mapping


@pytest.mark.parametrize(("header", "field"), [
    ("First", "first_name"), ("FName", "first_name"), ("first-name", "first_name"), ("Donor First Name", "first_name"),
    ("Voters_FirstName", "first_name"), ("vb.tsmart_first_name", "first_name"), ("LName", "last_name"),
    ("Voter File VANID", "van_id"), ("ncid", "voter_id"), ("SOS_VOTERID", "voter_id"), ("LALVOTERID", "vendor_id"),
    ("ak_id", "member_id"), ("Cell Phone Number", "cell_phone"), ("Phone Number:", "phone"), ("Email: ", "email"),
    ("E-mail", "email"), ("res_street_address", "address"), ("RESIDENTIAL_ZIP", "zip"), ("zip_code", "zip"),
    ("Residence_Addresses_Zip", "zip"), ("Languages_Description", "language"), ("party_cd", "party"),
    ("GENERAL-11/08/2016", HISTORY), ("General_2018_11_06", HISTORY), ("General16", HISTORY),
    ("Primary16Party", HISTORY), ("text_election_code_3", HISTORY), ("vb.vf_g2016", HISTORY),
    ("Mail1", CUSTOM), ("mAddress", CUSTOM), ("MAILING_CITY", CUSTOM), ("Shirt size", CUSTOM),
    # Sign-up forms head their columns with the question asked.
    ("What's your name?", "full_name"), ("What is your first name?", "first_name"), ("Your last name", "last_name"),
    ("What is the best phone number to reach you?", "phone"), ("Please enter your email", "email"),
    ("Which languages do you speak?", "language"), ("What language do you prefer?", "language"),
    ("What city do you live in?", "city"), ("Your ZIP code", "zip"), ("Can we text you?", CUSTOM),
    ("Timestamp", CUSTOM),
    # Sign-up sheets made in the communities' own languages.
    ("이름", "full_name"), ("전화번호", "phone"), ("휴대폰", "cell_phone"), ("주소", "address"), ("언어", "language"),
    ("姓名", "full_name"), ("電話號碼", "phone"), ("手机", "cell_phone"), ("地址", "address"), ("邮编", "zip"),
    ("Họ và tên", "full_name"), ("Số điện thoại", "phone"), ("Teléfono celular", "cell_phone"),
    ("Nombre completo", "full_name"), ("Idioma preferido", "language"), ("연락처 메모", CUSTOM),
])
def test_headers_are_matched_to_fields(header, field):
    assert guess_field(header).field == field


def test_nc_ncvoter_layout_maps_county_numbers_and_confidential_flag():
    headers = ["county_id", "county_desc", "voter_reg_num", "ncid", "last_name", "first_name", "middle_name",
               "res_street_address", "res_city_desc", "state_cd", "zip_code", "full_phone_number",
               "confidential_ind", "party_cd", "birth_year", "precinct_abbrv", "precinct_desc"]
    from canvass.importing.layouts import detect_layout

    layout = detect_layout(headers)
    mapping = layout_mapping(layout, headers, map_columns(headers))
    assert layout.key == "nc_ncvoter"
    assert (mapping["ncid"], mapping["voter_reg_num"], mapping["county_id"], mapping["confidential_ind"]) == \
        ("voter_id", "county_voter_id", "county", "confidential")
    assert (mapping["precinct_abbrv"], mapping["precinct_desc"]) == ("precinct", CUSTOM)


# ------------------------------------------------------------------------------------------------------------------
# Normalising


@pytest.mark.parametrize(("line", "parsed"), [
    ("64  WILLOW WAY   #A", ("64", "WILLOW WAY", "#", "A")),
    ("123 N Main St Apt 4B", ("123", "N Main St", "APT", "4B")),
    ("7 Main St, Unit 3", ("7", "Main St", "UNIT", "3")),
    ("55 1/2 ELM ST", ("55 1/2", "ELM ST", "", "")),
    ("3101-305 Oak Dr", ("3101-305", "Oak Dr", "", "")),
    # found by checking against usaddress (tests/test_parsing_oracle.py): duplexes and Washington's fractions
    ("313-B Charlotte Avenue", ("313-B", "Charlotte Avenue", "", "")),
    ("40 3/4 NW Elgar Court", ("40 3/4", "NW Elgar Court", "", "")), ("418 1/3 Trailsway Alley NW Apt 2",
                                                                       ("418 1/3", "Trailsway Alley NW", "APT", "2")),
    ("12 PARKING LOT RD", ("12", "PARKING LOT RD", "", "")),
    ("PO BOX 12", ("", "PO BOX 12", "", "")),
    # the unit written before the street line
    ("Apt 4, 125 Main St", ("125", "Main St", "APT", "4")), ("#4 125 Main St", ("125", "Main St", "#", "4")),
    ("Unit B 12 Oak Ave", ("12", "Oak Ave", "UNIT", "B")),
    ("Lot 12 Sunny Acres", ("", "Lot 12 Sunny Acres", "", "")),
])
def test_street_lines_are_parsed_for_walk_order(line, parsed):
    assert parse_street_line(line) == parsed


@pytest.mark.parametrize(("raw", "e164"), [
    ("(919) 555-1212", "+19195551212"), ("1-919-555-1212", "+19195551212"), ("919.555.1212 x12", "+19195551212"),
    ("5551212", ""), ("123-456-7890", ""), ("+44 20 7946 0958", "+442079460958"), ("not a phone", ""),
    # numbers abroad as people write them: dialled from the US, and Mexico's old mobile 1
    ("011 52 55 1234 5678", "+525512345678"), ("01150377778888", "+50377778888"),
    ("+52 1 55 1234 5678", "+525512345678"), ("+52 55 1234 5678", "+525512345678"), ("+502 5555 1234", "+50255551234"),
])
def test_phone_numbers_become_e164(raw, e164):
    assert phone_e164(raw) == e164


def test_numbers_a_spreadsheet_turned_into_scientific_notation_are_reported_not_trusted(tmp_path):
    data = b"Voter ID,First,Last,Zip,Phone\n1.23457E+11,Ana,Diaz,27701,9.19555E+09\n1.23457E+11,Bo,Kim,27701,12\n" \
           b"123456789012,Cy,Lee,27701,9195550123\n"
    _, norm = people(write(tmp_path, "mangled.csv", data))
    # Read as IDs, the mangled values would make Ana and Bo one person.
    assert norm.people["voter_id"].tolist() == ["", "", "123456789012"]
    found = [(p["row"], p["column"], p["message"].split(";")[0]) for p in norm.problems]
    lost = "A spreadsheet turned this number into scientific notation, so its digits are lost"
    assert found == [(2, "Voter ID", lost), (3, "Voter ID", lost), (2, "Phone", lost),
                     (3, "Phone", "This phone number is incomplete or not a valid number")]
    assert norm.phones["e164"].tolist() == ["+19195550123"]


def test_phone_lists_in_one_field_are_split_and_bad_ones_reported(tmp_path):
    data = b"first,last,zip,phone\nAna,Diaz,27701,\"919-555-1212, (919) 555-3434\"\nBo,Kim,27701,555-12\n"
    _, norm = people(write(tmp_path, "p.csv", data))
    assert norm.phones[norm.phones["row"] == 2]["e164"].tolist() == ["+19195551212", "+19195553434"]
    problem = next(p for p in norm.problems if p["row"] == 3)
    assert problem["column"] == "phone" and "incomplete or not a valid number" in problem["message"]


def test_whole_address_in_one_field_is_split(tmp_path):
    data = b'name,address\n"Jane Doe","12 Main St Apt 3, Springfield, IL 62701"\n'
    _, norm = people(write(tmp_path, "a.csv", data))
    person = norm.people.iloc[0]
    assert (person["first_name"], person["last_name"]) == ("Jane", "Doe")
    assert (person["address"], person["unit"], person["city"], person["state"], person["zip5"]) == \
        ("12 Main St", "Apt 3", "Springfield", "IL", "62701")


@pytest.mark.parametrize("written", ["12 Main St Apt 3, Chapel Hill NC 27514", "12 Main St, Apt 3, Chapel Hill, NC 27514",
                                     "12 Main St Apt 3, Chapel Hill, NC, 27514-1234, USA",
                                     "12 Main St Apt 3, Chapel Hill NC. 27514"])
def test_the_ways_people_type_a_whole_address_are_split(tmp_path, written):
    data = f'name,address\n"Jane Doe","{written}"\n'.encode()
    _, norm = people(write(tmp_path, "a.csv", data))
    person = norm.people.iloc[0]
    assert (person["address"], person["unit"], person["city"], person["state"], person["zip5"]) == \
        ("12 Main St", "Apt 3", "Chapel Hill", "NC", "27514")


@pytest.mark.parametrize(("written", "parts"), [
    ("Diaz, Ana", ("Ana", "", "Diaz", "")),
    ("NGUYEN, THI MINH", ("THI", "MINH", "NGUYEN", "")),
    ("Mr. John Smith Jr.", ("John", "", "Smith", "Jr.")),
    ("Jane Doe, Jr.", ("Jane", "", "Doe", "Jr.")),
    ("Doe Jr, Jane", ("Jane", "", "Doe", "Jr")),
    ("Sra. Rosa María López", ("Rosa", "María", "López", "")),
    ("John Smith III", ("John", "", "Smith", "III")),
    # degrees in the suffix, as Florida's extract writes them (found by checking against probablepeople)
    ("LAUREN WU MD", ("LAUREN", "", "WU", "MD")), ("GROSS MD, ANTHONY DAVID", ("ANTHONY", "DAVID", "GROSS", "MD")),
    ("Beth Kristina Lee PhD", ("Beth", "Kristina", "Lee", "PhD")),
    ("Ana", ("Ana", "", "", "")),
    ("김민준", ("김민준", "", "", "")), ("김 민준", ("김 민준", "", "", "")), ("王小明", ("王小明", "", "", "")),
    # Vietnamese names written family name first, as voter files split them (last Nguyễn, first An)...
    ("Nguyễn Văn An", ("An", "Văn", "Nguyễn", "")), ("Nguyen Van An", ("An", "Van", "Nguyen", "")),
    ("Nguyễn Thị Minh Khai", ("Khai", "Thị Minh", "Nguyễn", "")), ("Nguyễn An", ("An", "", "Nguyễn", "")),
    ("Hồ Chí Minh", ("Minh", "Chí", "Hồ", "")),
    # ...and given name first, or unclear, as written
    ("An Nguyễn", ("An", "", "Nguyễn", "")), ("Mai Trần", ("Mai", "", "Trần", "")), ("Nguyen An", ("Nguyen", "", "An", "")),
    ("Le Roy Smith", ("Le", "Roy", "Smith", "")), ("Jean-Benoît Lê", ("Jean-Benoît", "", "Lê", "")),
])
def test_a_whole_name_is_split_into_its_parts(written, parts):
    from canvass.importing.names import split_full_name

    assert split_full_name(written) == parts


def test_emails_copied_as_links_and_spelled_out_genders(tmp_path):
    data = b"First,Last,Email,Gender\nAna,Diaz,mailto:Ana@Example.org,Female\nBo,Kim,bo@example.org,Hombre\n" \
           b"Cy,Lee,,Nonbinary\nDi,Ng,,f\n"
    _, norm = people(write(tmp_path, "form.csv", data))
    assert norm.people["email"].tolist() == ["ana@example.org", "bo@example.org", "", ""]
    assert norm.people["gender"].tolist() == ["F", "M", "NONBINARY", "F"]


def test_a_korean_sign_up_sheet_keeps_its_columns_and_can_be_matched_again(tmp_path):
    data = "이름,전화번호,주소,우편번호,메모\n김민준,(213) 555-0101,123 Main St,90005,토요일 가능\n".encode()
    table, norm = people(write(tmp_path, "korean.csv", data))
    person = norm.people.iloc[0]
    assert (person["first_name"], person["last_name"], person["zip5"]) == ("김민준", "", "90005")  # shown as written
    assert norm.phones["e164"].tolist() == ["+12135550101"]
    assert person["match_key"].startswith("|김민준|")  # found again by name and door on the next import
    assert json.loads(person["custom"]) == {"메모": "토요일 가능"}  # kept, not dropped as a nameless column


def test_a_post_office_box_is_no_door(tmp_path):
    data = b"Name,Address,City,Zip\nAna Diaz,PO Box 55,Durham,27701\nBo Kim,\"P.O. BOX 12, Durham NC 27701\",,\n" \
           b"Cy Lee,12 Boxwood Ln,Durham,27701\n"
    _, norm = people(write(tmp_path, "mail.csv", data))
    assert norm.people["address_key"].tolist() == ["", "", "12 BOXWOOD LN|27701|"]
    assert norm.people["first_name"].tolist() == ["Ana", "Bo", "Cy"]  # kept, without a door
    assert [(p["row"], p["message"]) for p in norm.problems] == [
        (2, "This is a post office box, not a door; the person was kept without a door."),
        (3, "This is a post office box, not a door; the person was kept without a door.")]


@pytest.mark.parametrize(("text", "delimiter"), [
    ('id,name,note\r\n1,"Diaz, Ana","said ""hi""\nand left"\r\n2,  Bo  ,\r\n3,Ngô Văn An,"x"', ","),
    ('id\tname\tnote\n1\t"Diaz Ana "Cha"\t\n2\t\t"', "\t"),  # tab data keeps its quotes as typed
    ("id,name\n1,Ana\n\n2,Bo\n", ","),  # a blank line is a blank row either way (dropped later, numbers kept)
    ("id|name\n1|Ana\n2|\n", "|"),
])
def test_a_regular_file_reads_the_same_through_pyarrow_as_through_pandas(tmp_path, text, delimiter):
    import csv

    from canvass.importing import delimited

    path = write(tmp_path, "regular.txt", text.encode())
    quoting = csv.QUOTE_NONE if delimiter in "\t|" else csv.QUOTE_MINIMAL
    width = delimited.field_count(path, delimiter, quoting)
    fast = pd.concat(delimited._arrow_chunks(path, delimiter, quoting, width, 1000, 0, []), ignore_index=True)
    slow = pd.read_csv(path, sep=delimiter, header=None, names=list(range(width)), dtype=str,
                       keep_default_na=False, na_filter=False, quoting=quoting, engine="c", skip_blank_lines=False,
                       **({"escapechar": None} if quoting == csv.QUOTE_NONE else {}))
    assert fast.to_dict("list") == slow.to_dict("list")


@pytest.mark.parametrize("text", ["id,name\n1,Ana\n2,Bo,extra\n3,Cy\n", "id,name\n1,Ana\n2\n3,Cy\n"])
@pytest.mark.parametrize("chunk_rows", [1, 2, 1000])
def test_an_irregular_file_is_left_to_pandas_which_keeps_row_numbers(tmp_path, text, chunk_rows):
    """pyarrow refuses the file, pandas (or, for a long row, Python's csv) reads on after the rows already given:
    whatever the chunk size, every row keeps its number."""
    import pyarrow as pa

    from canvass.importing import delimited
    from canvass.importing.reading import stream_file

    path = write(tmp_path, "ragged.csv", text.encode())
    with pytest.raises(pa.ArrowException):
        list(delimited._arrow_chunks(path, ",", 0, 2, 1000, 0, []))
    with stream_file(path, chunk_rows=chunk_rows) as (table, chunks):
        frame = pd.concat(chunks)
    assert frame.loc[2, "name"] == "Ana" and frame.loc[4, "name"] == "Cy"


_LINE_TOKENS = ["12", "5B", "12-14", "313-B", "1/2", "3/4", "#4", "#", "A", "Main", "ST", "st.", "Apt", "apt.", "UNIT", "unit", "no",
                "PH", "Ste", "4B", "O'Neil", "Smith-Jones", "North", "BOX", "Ñandú", "Đặng", "rd,", "Lot", "1st"]


@settings(max_examples=400, deadline=None, derandomize=True)
@given(st.lists(st.tuples(st.sampled_from(_LINE_TOKENS), st.sampled_from([" "] * 6 + ["  ", "\t", ", ", "\u00a0"])),
                max_size=6))
def test_street_lines_split_on_whole_columns_as_one_by_one(pairs):
    """Plain lines are split by column-wide string operations: they must give exactly what parse_line_parts gives."""
    from canvass.importing.columns import per_unique_parts
    from canvass.importing.streets import LINE_PARTS, parse_line_parts, parse_lines

    text = "".join(token + space for token, space in pairs)
    lines = pd.Series([text, text.strip(), f"{len(pairs) + 1} {text}", "9 Oak St", "12  Main St Apt 4B", "3 Unit St",
                       "10 NO 5", "7 O'Neil-Smith Rd ", "#4 125 Main St", "12 1/2 Elm", "12 Main Apt. 4"], dtype="str",
                      index=[3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377])
    fast = parse_lines(lines)
    slow = per_unique_parts(lines, parse_line_parts, LINE_PARTS)
    assert fast.to_dict("index") == slow.to_dict("index")


def test_whitespace_spelled_out_for_pyarrow_is_exactly_pythons():
    """Column-wide patterns spell out \\s (pyarrow's engine and Python's disagree on it): every character either
    engine takes for a space must be the one Python's \\s takes, so a no-break space still separates words."""
    import re

    import pyarrow as pa
    import pyarrow.compute as pc

    from canvass.importing.columns import SPACE as spaces
    chars = [chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000]
    python = [bool(re.fullmatch(r"\s", c)) for c in chars]
    assert [bool(re.fullmatch(spaces, c)) for c in chars] == python
    assert pc.match_substring_regex(pa.array(chars), f"^{spaces}$").to_pylist() == python


def test_addresses_and_phones_with_odd_spaces_read_like_plain_ones(tmp_path):
    nbsp, wide = "\u00a0", "\u3000"
    data = (f"Name,Address,City,Zip,Phone\nAna Diaz,PO{nbsp}Box 55,Durham,27701,919{nbsp}555{nbsp}0101\n"
            f"Bo Kim,12 Oak St Apt 4{wide}Durham{nbsp}NC 27701,,,(919)\t555-0102\n").encode()
    _, norm = people(write(tmp_path, "odd.csv", data))
    assert norm.people["address_key"].tolist() == ["", "12 OAK ST|27701|4"]
    assert norm.people["house_number_int"].tolist()[1] == 12
    assert sorted(norm.phones["e164"]) == ["+19195550101", "+19195550102"]


def test_split_address_parts_are_joined():
    _, norm = people(SHARED_DATA / "synthetic_wa_vrdb_2017header_1000.txt")
    person = norm.people.loc[3]
    assert (person["address"], person["unit"]) == ("8762 Jana Street", "Apt 56")
    assert person["address_key"] == "8762 JANA ST|89160|56"


def test_florida_protected_records_are_kept_flagged_and_without_address(tmp_path):
    row = ["ALA", "1234567890", "*", "", "*", "*", "Y"] + ["*"] * 12 + ["F", "5", "", "01/01/2000", "DEM", "*"] + \
        [""] * 9 + ["*", "*", "*", "*"]
    normal = ["ALA", "1234567891", "DOE", "", "JANE", "", "N", "1 MAIN ST", "", "TALLAHASSEE", "FL", "32301"] + \
        [""] * 7 + ["F", "5", "01/01/1970", "01/01/2000", "DEM", "12"] + [""] * 9 + ["850", "5551212", "", ""]
    data = ("\t".join(row) + "\r\n" + "\t".join(normal) + "\r\n").encode()
    table, norm = people(write(tmp_path, "LAF_20160712.txt", data))
    assert table.layout.key == "fl_extract"
    protected, other = norm.people.iloc[0], norm.people.iloc[1]
    assert protected["is_protected"] and protected["address_key"] == "" and protected["first_name"] == ""
    assert protected["voter_id"] == "1234567890"
    assert not other["is_protected"] and other["address_key"] == "1 MAIN ST|32301|"
    assert norm.phones["e164"].tolist() == ["+18505551212"]


def test_languages_are_coded():
    from canvass.importing.details import language_code

    assert [language_code(v) for v in ["Spanish", "SPA", "Español", "Vietnamese", "한국어", "Mandarin", "Tagalog",
                                       "Klingon", ""]] == ["es", "es", "es", "vi", "ko", "zh", "tl", "klingon", ""]
    # A sign-up form's "languages you speak": the first one named.
    assert [language_code(v) for v in ["Spanish, English", "Vietnamese and English", "Español y inglés",
                                       "Korean/English", "Chinese (Cantonese) & English"]] == ["es", "vi", "es", "ko", "zh"]


@pytest.mark.parametrize("name", ["synthetic_wa_vrdb_2017header_1000.txt", "synthetic_fl_voter_extract_noheader_100.txt",
                                  "van_export.tsv", "signup_sheet.csv", "contacts_dsa_actionkit_export_sample_fixture.csv"])
def test_a_file_normalised_in_two_halves_comes_out_as_in_one(monkeypatch, name):
    import importlib

    normalizing = importlib.import_module("canvass.importing.normalize")  # the package's name is the function's
    table = read_file(SHARED_DATA / name)
    mapping = layout_mapping(table.layout, table.headers, map_columns(table.headers))
    whole = normalize(table.frame, mapping, table.layout)
    monkeypatch.setattr(normalizing, "PARALLEL_ROWS", 2)
    halves = normalize(table.frame, mapping, table.layout)
    assert halves.people.equals(whole.people) and halves.phones.equals(whole.phones)
    assert halves.emails.equals(whole.emails)
    assert (halves.problem_count, halves.rejected_rows) == (whole.problem_count, whole.rejected_rows)
    assert sorted(map(str, halves.problems)) == sorted(map(str, whole.problems))


# ------------------------------------------------------------------------------------------------------------------
# Rows that cannot be used well are listed, never silently changed


def problems_by_row(norm) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for problem in norm.problems:
        found.setdefault(problem["row"], []).append(problem["message"])
    return found


@pytest.mark.parametrize(("state", "zip_text", "stored", "listed"), [
    ("MA", "2111", "02111", None),  # Excel dropped the zero of a Boston ZIP
    ("NJ", "7030", "07030", None),
    ("PR", "901", "00901", None),
    ("CA", "9270", "", "missing digits"),  # a typo in Santa Ana: padding would invent a military post office
    ("NC", "2111", "", "missing digits"),
    ("MA", "9270", "", "missing digits"),  # not a Massachusetts ZIP once padded either
])
def test_a_short_zip_is_padded_only_where_the_states_zips_start_with_zero(tmp_path, state, zip_text, stored, listed):
    data = f"first,last,address,city,state,zip\nAna,Diaz,5 Oak St,Springfield,{state},{zip_text}\n".encode()
    _, norm = people(write(tmp_path, "zips.csv", data))
    assert norm.people.iloc[0]["zip5"] == stored
    messages = problems_by_row(norm).get(2, [])
    assert (listed is None and not messages) or (listed and any(listed in m for m in messages))


def test_a_short_zip_without_a_state_is_padded_with_a_warning_unless_the_file_is_all_new_england(tmp_path):
    mixed = b"first,last,address,zip\nAna,Diaz,5 Oak St,2111\nBo,Kim,7 Elm St,27701\nCy,Li,9 Ash St,9270\n"
    _, norm = people(write(tmp_path, "mixed.csv", mixed))
    assert norm.people["zip5"].tolist() == ["02111", "27701", ""]
    found = problems_by_row(norm)
    assert any("lost its leading zero" in m for m in found[2]) and 3 not in found
    assert any("missing digits" in m for m in found[4])
    new_england = b"first,last,address,zip\nAna,Diaz,5 Oak St,2111\nBo,Kim,7 Elm St,6511\nCy,Li,9 Ash St,02139\n"
    _, norm = people(write(tmp_path, "ne.csv", new_england))
    assert norm.people["zip5"].tolist() == ["02111", "06511", "02139"]
    assert not norm.problems


def test_rows_kept_without_a_door_are_listed_with_the_reason(tmp_path):
    data = (b"first,last,address,zip,phone,email\n"
            b"Ana,Diaz,5 Oak St,27701,,\n"
            b"Bo,Kim,,,9195551212,\n"  # signed up with a phone only
            b"Cy,Li,,,,cy@example.org\n"  # an email only
            b"Di,Wu,n/a,27701,,\n"  # nothing a door can be found by
            b"Ed,Ng,PO Box 12,27701,,\n")  # its own sentence already
    _, norm = people(write(tmp_path, "signups.csv", data))
    assert len(norm.people) == 5
    found = problems_by_row(norm)
    assert 2 not in found
    assert found[3] == found[4] == ["This row has no address, so the person was kept without a door: they can be "
                                    "called or emailed, not visited. Add the address to the file to put them on a "
                                    "walk list."]
    assert any("no street name and house number that can be read" in m for m in found[5])
    assert found[6] == ["This is a post office box, not a door; the person was kept without a door."]


def test_a_phone_list_without_an_address_column_lists_no_row_for_it(tmp_path):
    data = b"first,last,phone\nAna,Diaz,9195551212\nBo,Kim,9195551213\n"
    _, norm = people(write(tmp_path, "calls.csv", data))
    assert len(norm.people) == 2 and not norm.problems


@pytest.mark.parametrize(("address", "kept"), [
    ("ana.diaz@example.org", True), ("o'neil+canvass@mail.example.com", True), ("josé@example.org", True),
    ("ana@xn--80ak6aa92e.com", True), ("bo_kim@sub-domain.example.co.uk", True),
    # what the old pattern let through and email-validator refuses
    ("ana..diaz@example.org", False), (".ana@example.org", False), ("ana.@example.org", False),
    ("ana@-example.org", False), ("ana@exam_ple.org", False), ("ana@ab--cd.org", False),
    ("ana@example.test", False), ("ana@mail.invalid", False), ("ana@printer.local", False),
    ("a" * 250 + "@example.org", False),
])
def test_emails_are_checked_as_email_validator_checks_them(tmp_path, address, kept):
    data = f"First,Last,Email\nAna,Diaz,{address}\n".encode()
    _, norm = people(write(tmp_path, "emails.csv", data))
    assert norm.people["email"].tolist() == [address if kept else ""]
    assert [p["message"] for p in norm.problems] == ([] if kept else ["This is not an email address; it was left out."])


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.lists(st.one_of(
    st.from_regex(r"[a-z0-9_+'.-]{1,12}@[a-z0-9.-]{1,12}\.(?:[a-z]{2,4}|test|local)", fullmatch=True),
    st.from_regex(r"[^@\s,;]{1,8}@[^@\s,;]{1,8}\.[a-z]{2,3}", fullmatch=True)), min_size=1, max_size=8))
def test_plain_emails_recognised_on_the_whole_column_are_what_email_validator_accepts(addresses):
    """Most addresses are accepted by a pattern on the whole column, without asking email-validator: it must accept
    each one of those, and the verdict on every address must be email-validator's."""
    from canvass.importing.emails import EMAIL_RE, is_email_address, valid_emails

    values = pd.Series([a.lower() for a in addresses], dtype="str")
    shaped = values.str.match(EMAIL_RE).tolist()
    expected = [ok and is_email_address(value) for value, ok in zip(values, shaped, strict=True)]
    assert valid_emails(values).tolist() == expected


@pytest.mark.parametrize("unquote", [True, False])
def test_text_read_from_arrow_is_trimmed_and_unquoted_as_text_read_any_other_way(unquote):
    """The importer looks at the ends of Arrow-read values without a string per value, and skips columns with
    nothing to take off: the result must equal the value-by-value cleaning, whatever the ends hold."""
    import pyarrow as pa

    from canvass.importing.reading import _clean_text

    values = ["ANN", "  padded  ", "\u00a0NBSP\u00a0", "JOSÉ", "\u3000wide", '"quoted"', '""', '"', "", "tab\t",
              'a "middle" quote', "Ngô", "\x1fUNIT SEP"]
    plain_values = ["A", "B"] * (len(values) // 2) + ["A"]
    plain_values[values.index("")] = ""  # a row blank in every column: left out
    frames = {"plain": plain_values, "mixed": values, "blank": [""] * len(values),
              "quotes": ['"x"'] + [""] * (len(values) - 1)}
    index = pd.RangeIndex(5, 5 + len(values))
    arrow = pd.DataFrame({name: pd.Series(pd.array(pa.array(column, type=pa.large_string()), dtype="str"),
                                          index=index) for name, column in frames.items()})
    plain = pd.DataFrame({name: pd.Series(column, dtype=object, index=index) for name, column in frames.items()})
    fast, slow = _clean_text(arrow, unquote=unquote), _clean_text(plain, unquote=unquote)
    assert fast.index.tolist() == slow.index.tolist() and len(fast) == len(values) - 1
    for column in frames:
        assert fast[column].tolist() == slow[column].astype("str").tolist(), column
    assert "\u00a0NBSP\u00a0" not in fast["mixed"].tolist() and "NBSP" in fast["mixed"].tolist()


@pytest.mark.parametrize("values", [["1980", "", "007", "123456789012345"], ["", ""], ["35.99", "-78.9", "x", ""],
                                    ["1980", " 12", "1e3", "inf"]])
def test_numbers_read_by_arrow_equal_pandas_reading_them(values):
    import numpy as np
    import pyarrow as pa

    from canvass.importing.columns import numbers

    arrow = pd.Series(pd.array(pa.array(values, type=pa.large_string()), dtype="str"))
    expected = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce").astype("float64").to_numpy()
    assert np.array_equal(numbers(arrow).to_numpy(), expected, equal_nan=True)
    assert np.array_equal(numbers(pd.Series(values, dtype=object)).to_numpy(), expected, equal_nan=True)
