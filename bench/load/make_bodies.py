#!/usr/bin/env python3
"""Request bodies for the wrk load scripts, from the real data set.

usage: make_bodies.py DATA.csv OUT_DIR [LOANS]
writes OUT_DIR/predict.json (the data set's first loan, reference request shape) and
OUT_DIR/batch.json ({"items": [...]} of LOANS loans, default 100,000, cycling through the data set with
unique application ids), batch.ndjson and batch.csv (the same loans).
"""
import csv
import json
import os
import sys

CATEGORICAL = {"person_home_ownership", "loan_intent", "loan_grade", "cb_person_default_on_file"}


def main():
    data, out = sys.argv[1], sys.argv[2]
    loans = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
    os.makedirs(out, exist_ok=True)
    with open(data, newline="") as f:
        reader = csv.DictReader(f)
        fields = [c for c in reader.fieldnames if c != "loan_status"]
        rows = list(reader)
    items = []
    for i in range(loans):
        row = rows[i % len(rows)]
        item = {"application_id": "L-%d" % i}
        for k in fields:
            v = row[k]
            if v != "":
                item[k] = v if k in CATEGORICAL else (int(float(v)) if float(v).is_integer() else float(v))
        items.append(item)
    first = dict(items[0])
    app_id = first.pop("application_id")
    with open(os.path.join(out, "predict.json"), "w") as f:
        json.dump({"application_id": app_id, "data": first}, f, separators=(",", ":"))
    with open(os.path.join(out, "batch.json"), "w") as f:
        f.write('{"items":[')
        f.write(",".join(json.dumps(it, separators=(",", ":")) for it in items))
        f.write("]}")
    with open(os.path.join(out, "batch.ndjson"), "w") as f:
        for it in items:
            f.write(json.dumps(it, separators=(",", ":")) + "\n")
    with open(os.path.join(out, "batch.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["application_id"] + fields)
        for it in items:
            w.writerow([it.get(k, "") for k in ["application_id"] + fields])
    print("wrote %d loans to %s" % (loans, out))


if __name__ == "__main__":
    main()
