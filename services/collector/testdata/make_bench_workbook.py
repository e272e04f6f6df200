#!/usr/bin/python3
"""Writes a brief-002-style workbook of N interaction rows (openpyxl, write-only mode) and the same rows as
CSV, for bench/collector_workbook_bench.sh: OUT.xlsx and OUT.csv.

  make_bench_workbook.py OUT ROWS
Sheet "External interactions": Date Start (a typed date-time), Interaction (Email/Call/Chat/Social media),
Customers (C00001..), Topic, Sentiment (Positive/Negative/Neutral); a title row above the header.
"""
import csv
import datetime
import sys

import openpyxl
from openpyxl.cell import WriteOnlyCell

out, rows = sys.argv[1], int(sys.argv[2])
channels = ["Email", "Call", "Chat", "Social media"]
topics = ["Lightsaber repair", "Refund", "Delivery", "Invoice", "Complaint", "Hyperdrive upgrade"]
sentiments = ["Positive", "Negative", "Neutral"]
wb = openpyxl.Workbook(write_only=True)
ws = wb.create_sheet("External interactions")
ws.append(["Interactions export"])
header = ["Date Start", "Interaction", "Customers", "Topic", "Sentiment"]
ws.append(header)
base = datetime.datetime(2019, 1, 1)
with open(out + ".csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(header)
    for i in range(rows):
        when = base + datetime.timedelta(minutes=7 * i)
        values = [channels[i % 4], "C%05d" % (i % 5000), topics[i % 6], sentiments[i % 3]]
        date_cell = WriteOnlyCell(ws, value=when)
        date_cell.number_format = "yyyy-mm-dd hh:mm"
        ws.append([date_cell] + values)
        w.writerow([when.strftime("%Y-%m-%d %H:%M")] + values)
wb.save(out + ".xlsx")
