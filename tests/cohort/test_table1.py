"""Table 1 (``cohort.table1``): the cohort at a glance, from the ingested
patients' descriptions and lesion tables."""

import json

import pandas as pd

from brainmets.cohort.table1 import build_table1, to_markdown


def _patient(folder, pid, n_lesions, subgroup, field=1.5, labelled=True):
    path = folder / f"{pid}.json"
    path.write_text(json.dumps({"patient_id": pid, "labelled": labelled, "n_lesions": n_lesions, "subgroup": subgroup, "metadata": {"field_strength_t": field}}))
    return path


def _lesions(folder, pid, diameters):
    path = folder / f"{pid}.tsv"
    pd.DataFrame({"longest_diameter_mm": diameters, "volume_mm3": [d**3 / 2 for d in diameters]}).to_csv(path, sep="\t", index=False)
    return path


def test_counts_subgroups_and_sizes(tmp_path):
    patients = [_patient(tmp_path, "a", 2, "1-3"), _patient(tmp_path, "b", 5, "4-10", field=3.0), _patient(tmp_path, "c", 0, None, labelled=False)]
    lesions = [_lesions(tmp_path, "a", [5.0, 30.0]), _lesions(tmp_path, "b", [6.0, 8.0, 10.0, 12.0, 20.0])]
    table = dict(build_table1(patients, lesions).itertuples(index=False))
    assert table["Patients"] == "3" and table["Patients with lesion masks"] == "2"
    assert table["Field strength 1.5T"] == "2" and table["Field strength 3T"] == "1"
    assert table["  ≤3"] == "1 (50%)" and table["  4-10"] == "1 (50%)" and table["  >10"] == "0 (0%)"
    assert table["Lesions in total"] == "7" and table["Lesions per patient, mean ± SD"] == "3.5 ± 2.1"
    assert table["Lesions per patient, median (range)"] == "3.5 (2-5)"
    # The paper's size bands: under 7 mm, 7-22 mm, 22 mm and more.
    assert table["  lesions <7 mm"] == "2 (29%)" and table["  lesions 7-22 mm"] == "4 (57%)" and table["  lesions ≥22 mm"] == "1 (14%)"
    assert table["Longest diameter (mm), range"] == "5.0-30.0"


def test_an_unlabelled_cohort_has_no_size_rows(tmp_path):
    table = build_table1([_patient(tmp_path, "u", 0, None, labelled=False)], [])
    assert "Lesions per patient, median (range)" not in set(table.characteristic)
    assert dict(table.itertuples(index=False))["Lesions per patient, mean ± SD"] == "n/a"
    markdown = to_markdown(table, "Table 1")
    assert markdown.startswith("# Table 1\n\n| characteristic | value |") and "| Patients | 1 |" in markdown
