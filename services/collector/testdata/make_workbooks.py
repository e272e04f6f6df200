#!/usr/bin/python3
"""Writes the test inputs of workbook_ingest_test with a real spreadsheet library (openpyxl, Debian's
python3-openpyxl) into OUTDIR:

  brief002.xlsx  brief 002's workbook as its business keeps it: "Customers" (a title and a blank row above
                 the header), "External interactions" (typed dates, text dates 04/10/2019 09:00 whose order a
                 day > 12 decides, a date serial, sentiment words, a channel outside email/call/chat, a blank
                 row inside, an inline string, bad rows), "Products of discussion" (MM-YYYY text and typed
                 month cells), "Notes" (no header of a known kind).
  cells.xlsx     every cell type: shared and inline strings, numbers, booleans, a date, a formula, empty
                 cells and gaps.
  mac1904.xlsx   the same dates in the 1904 date system.
  undecided.xlsx interactions whose dates never show a day > 12.
  brief001.csv   brief 001's influencer export: BOM, CRLF, camelCase header, 10,000 rows of which 30 are cut
                 short, 2 repeat an earlier post, 4 have bad values.
Prints nothing; exits non-zero on failure.
"""
import datetime
import os
import re
import sys
import zipfile

import openpyxl
from openpyxl.utils.datetime import CALENDAR_MAC_1904


def share_strings(path, keep_inline=()):
    """Moves the workbook's inline strings into xl/sharedStrings.xml, as Excel itself writes them (openpyxl
    3.0 writes inline strings). Cells in keep_inline ("sheet2.xml!D12") stay inline. The first shared string
    is written as rich text (two runs) with a phonetic run, which a reader must join and skip."""
    tmp = path + ".tmp"
    strings = []
    index = {}

    def share(match, part):
        ref, attrs, text = match.group(1), match.group(2), match.group(3)
        if "%s!%s" % (part.split("/")[-1], ref) in keep_inline:
            return match.group(0)
        if text not in index:
            index[text] = len(strings)
            strings.append(text)
        return '<c r="%s"%s t="s"><v>%d</v></c>' % (ref, attrs, index[text])

    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        items = []
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/sheet"):
                xml = data.decode("utf-8")
                xml = re.sub(r'<c r="([A-Z]+\d+)"([^>]*?) t="inlineStr"><is><t>([^<]*)</t></is></c>',
                             lambda m: share(m, item.filename), xml)
                data = xml.encode("utf-8")
            items.append((item, data))
        sis = []
        for i, t in enumerate(strings):
            if i == 0 and len(t) > 2:
                half = len(t) // 2
                sis.append('<si><r><t>%s</t></r><r><rPr><b/></rPr><t>%s</t></r><rPh sb="0" eb="1"><t>PHONETIC</t>'
                           '</rPh></si>' % (t[:half], t[half:]))
            else:
                sis.append("<si><t>%s</t></si>" % t)
        for item, data in items:
            if item.filename == "[Content_Types].xml":
                data = data.replace(b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" ContentType="'
                                    b'application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"'
                                    b'/></Types>')
            elif item.filename == "xl/_rels/workbook.xml.rels":
                data = data.replace(b"</Relationships>", b'<Relationship Id="rIdSS" Type="http://schemas.'
                                    b'openxmlformats.org/officeDocument/2006/relationships/sharedStrings" '
                                    b'Target="sharedStrings.xml"/></Relationships>')
            dst.writestr(item, data)
        dst.writestr("xl/sharedStrings.xml",
                     '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><sst xmlns="http://schemas.'
                     'openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">%s</sst>'
                     % (len(strings), len(strings), "".join(sis)))
    os.replace(tmp, path)


def brief002(out):
    wb = openpyxl.Workbook()
    customers = wb.active
    customers.title = "Customers"
    customers.append(["Customer list, exported 2019-12-01"])  # row 1: a title
    customers.append([])                                     # row 2: blank
    customers.append(["Customer Id", "Occupation", "Type"])  # row 3: the header
    customers.append(["C001", "Jedi", "Loyal"])              # 4
    customers.append(["C002", "Sith Lord", "New"])           # 5
    customers.append(["C003", "Smuggler", "Loyal"])          # 6
    customers.append(["C004", "", "Business"])               # 7: no occupation
    customers.append([None, "Droid", "New"])                 # 8: no id -> rejected

    ext = wb.create_sheet("External interactions")
    ext.append(["Date Start", "Interaction", "Customers", "Topic", "Sentiment"])  # 1
    ext.append([datetime.datetime(2019, 4, 10, 9, 0), "Email", "C001", "Lightsaber repair", "Positive"])  # 2
    ext.append(["04/10/2019 09:00", "Call", "C002", "Refund", "negative"])      # 3: ambiguous until row 5
    ext.append(["05/11/2019 14:30", "chat", "C001", "Delivery", "NEUTRAL"])     # 4: ambiguous until row 5
    ext.append(["13/10/2019 10:00", "Phone", "C003", "Delivery", "Positive"])   # 5: day first
    ext.append([])                                                              # 6: blank inside
    ext.append(["14/10/2019", "Social media", "C003", "Complaint", "Negative"])  # 7: another channel
    ext.append([43754, "Email", "C004", "Invoice", 0.5])                        # 8: a date serial (2019-10-16)
    ext.append(["2019-10-17", "Email", None, "Invoice", "Positive"])            # 9: no customer -> rejected
    ext.append(["2019-10-18", "Email", "C002", "Invoice", "great?"])            # 10: bad sentiment -> rejected
    ext.append(["31/02/2019", "Email", "C002", "Invoice", "Positive"])          # 11: impossible -> rejected
    ext.append(["2019-10-19", "Chat", "C002", "Lightsaber repair", "Neutral"])  # 12: D12 stays inline
    ext.column_dimensions["A"].width = 20

    prod = wb.create_sheet("Products of discussion")
    prod.append(["Date", "Product"])              # 1
    prod.append(["04-2019", "Lightsaber"])        # 2
    prod.append(["10-2019", "Lightsaber"])        # 3
    prod.append(["10-2019", "Hyperdrive"])        # 4
    cell_row = 5
    prod.cell(row=cell_row, column=1, value=datetime.date(2019, 11, 1)).number_format = "mm-yyyy"  # typed
    prod.cell(row=cell_row, column=2, value="Hyperdrive")
    prod.append(["13-2019", "Blaster"])           # 6: no month 13 -> rejected

    notes = wb.create_sheet("Notes")
    notes.append(["Whatever the analyst wrote"])
    notes.append(["more notes"])

    path = os.path.join(out, "brief002.xlsx")
    wb.save(path)
    share_strings(path, keep_inline={"sheet2.xml!D12"})


def cells(out, name, epoch=None):
    wb = openpyxl.Workbook()
    if epoch is not None:
        wb.epoch = epoch
    ws = wb.active
    ws.title = "Cells"
    ws["A1"] = "text"
    ws["B1"] = 42
    ws["C1"] = 2.5
    ws["D1"] = True
    ws["E1"] = False
    ws["F1"] = datetime.datetime(2019, 4, 10, 9, 30)
    ws["G1"] = "=B1*2"
    ws["A3"] = "after a gap"
    ws["C3"] = "skipped B"
    ws["A4"] = "inline text"
    path = os.path.join(out, name)
    wb.save(path)
    share_strings(path, keep_inline={"sheet1.xml!A4"})


def undecided(out):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Contacts"
    ws.append(["Date Start", "Interaction", "Customers"])
    ws.append(["04/10/2019 09:00", "Email", "C1"])
    ws.append(["05/11/2019", "Email", "C2"])
    ws.append(["2019-10-01", "Email", "C3"])
    wb.save(os.path.join(out, "undecided.xlsx"))


def brief001(out):
    platforms = ["Instagram", "TikTok", "YouTube", "instagram"]
    lines = ["\ufeffcampaignId,influencerId,Platform,Post Date,views,likes,comments,shares"]
    short = set(list(range(100, 10000, 330))[:30])
    for i in range(10000):
        posted = datetime.datetime(2019, 1, 1) + datetime.timedelta(minutes=37 * i)
        row = ["CMP%02d" % (i % 12), "inf%04d" % (i % 700), platforms[i % 4], posted.strftime("%Y-%m-%d %H:%M"),
               str(1000 + i), str(i % 97), str(i % 13), str(i % 7)]
        if i in short:
            row = row[:6]  # cut short: comments and shares missing
        elif i == 5000:
            row[4] = "lots"  # a bad count
        elif i == 5001:
            row[3] = "2019-02-30"  # an impossible date
        elif i == 5002:
            row[1] = ""  # no influencer
        elif i == 5003:
            row[5] = "-3"  # a negative count
        lines.append(",".join(row))
    # Two rows repeating earlier posts exactly (the same campaign, influencer, platform and date).
    lines.append(lines[1])
    lines.append(lines[2])
    with open(os.path.join(out, "brief001.csv"), "w", newline="", encoding="utf-8") as f:
        f.write("\r\n".join(lines) + "\r\n")


def main():
    out = sys.argv[1]
    brief002(out)
    cells(out, "cells.xlsx")
    cells(out, "mac1904.xlsx", CALENDAR_MAC_1904)
    undecided(out)
    brief001(out)


if __name__ == "__main__":
    main()
