"""Synthetic patients and their character sets (PS3.5 §6.1, §6.2.1, Annexes H and K)."""

from __future__ import annotations

import datetime
import unicodedata

import pytest

from beamit.sandbox import CharacterSet, Kind, SandboxConfig, generate_study, part10_bytes, synthetic_patient
from beamit.sandbox.studies import PATIENT_BLOCK, patient_of_study
from tests.unit.sandbox.checks import roundtrip

ENCODINGS = {CharacterSet.LATIN1: "latin-1", CharacterSet.UTF8: "utf-8", CharacterSet.CHINESE: "gb18030"}


def test_same_arguments_same_patient() -> None:
    assert synthetic_patient(3, 17, CharacterSet.UTF8) == synthetic_patient(3, 17, CharacterSet.UTF8)
    assert synthetic_patient(3, 17, CharacterSet.UTF8) != synthetic_patient(4, 17, CharacterSet.UTF8)


@pytest.mark.parametrize("charset", list(CharacterSet))
def test_patients_are_plausible_and_clearly_synthetic(charset: CharacterSet) -> None:
    for number in range(40):
        patient = synthetic_patient(9, number, charset)
        assert patient.patient_id == f"SYN-9-{number:06d}"
        assert patient.sex in ("M", "F")
        assert datetime.date(1935, 1, 1) <= patient.birth_date <= datetime.date(2010, 12, 31)
        assert patient.institution and "^" in patient.name and "^" in patient.referring_physician
        assert patient.age_on(datetime.date(2020, 6, 1)).endswith("Y")


def test_latin_names_have_one_group_physicians_a_prefix() -> None:
    patient = synthetic_patient(1, 2, CharacterSet.LATIN1)
    assert "=" not in patient.name and patient.name.encode("latin-1")
    assert patient.referring_physician.endswith("^^Dr.")


def test_japanese_names_have_romaji_kanji_and_hiragana_groups() -> None:
    for number in range(30):
        patient = synthetic_patient(1, number, CharacterSet.JAPANESE)
        alphabetic, ideographic, phonetic = patient.name.split("=")
        assert alphabetic.isascii()
        assert all(unicodedata.name(c).startswith("CJK UNIFIED IDEOGRAPH") for c in ideographic.replace("^", ""))
        assert all(unicodedata.name(c).startswith("HIRAGANA") for c in phonetic.replace("^", ""))
        assert ideographic.encode("iso2022_jp")  # JIS X 0208 only
        expected = ("ISO 2022 IR 6" if number % 2 else "", "ISO 2022 IR 87")
        assert patient.specific_character_set == expected


def test_chinese_names_have_pinyin_and_hanzi_groups() -> None:
    patient = synthetic_patient(1, 5, CharacterSet.CHINESE)
    alphabetic, ideographic = patient.name.split("=")
    assert alphabetic.isascii() and not ideographic.isascii()
    assert patient.specific_character_set == "GB18030"


def test_the_character_sets_take_turns_and_patients_have_several_studies() -> None:
    config = SandboxConfig()
    patients = [patient_of_study(0, index, config) for index in range(400)]
    assert {p.character_set for p in patients[:4 * PATIENT_BLOCK]} == set(CharacterSet)
    by_id: dict[str, list[int]] = {}
    for index, patient in enumerate(patients):
        by_id.setdefault(patient.patient_id, []).append(index)
    shared = [indexes for indexes in by_id.values() if len(indexes) > 1]
    assert shared, "some patients have more than one study"
    for indexes in shared:  # a patient's studies are in one block, and agree on the patient
        assert len({index // PATIENT_BLOCK for index in indexes}) == 1
        assert len({patients[index] for index in indexes}) == 1
    assert len(by_id) < len(patients)


def test_configured_character_sets_only() -> None:
    config = SandboxConfig(character_sets=(CharacterSet.CHINESE,))
    assert {patient_of_study(0, index, config).character_set for index in range(50)} == {CharacterSet.CHINESE}


@pytest.mark.parametrize("charset", list(CharacterSet))
def test_every_name_survives_a_write_read_round_trip(charset: CharacterSet) -> None:
    """Patient, referring physician, institution and the SR observer (inside two sequences)
    decode to the same Unicode after writing in the patient's character set and reading back."""
    config = SandboxConfig(kinds=(Kind.CR, Kind.SR), character_sets=(charset,), scale=0.05)
    for index in range(6):
        study = generate_study(11, index, config)
        patient = study.patient
        for dataset in study.datasets():
            raw = part10_bytes(dataset)
            back = roundtrip(dataset)
            declared = patient.specific_character_set
            assert back.SpecificCharacterSet == (declared if isinstance(declared, str) else list(declared))
            assert str(back.PatientName) == patient.name
            assert str(back.ReferringPhysicianName) == patient.referring_physician
            assert back.InstitutionName == patient.institution
            if back.Modality == "SR":
                assert str(back.VerifyingObserverSequence[0].VerifyingObserverName) == patient.radiologist
                assert str(back.ContentSequence[1].PersonName) == patient.radiologist
            if charset in ENCODINGS:  # encoded in the declared set, not in UTF-8 by accident
                assert patient.name.encode(ENCODINGS[charset]) in raw
            else:
                assert b"\x1b$B" in raw and b"\x1b(B" in raw  # ISO 2022 escapes to JIS X 0208 and back
                assert patient.name.split("=")[0].encode("ascii") in raw
