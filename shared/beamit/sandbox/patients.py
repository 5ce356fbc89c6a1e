"""Synthetic patients: names, demographics and the character set of their studies.

No real patient data: names are drawn from short lists of common given and family names, ids
carry the ``SYN`` prefix, institutions are fictitious "Sandbox" hospitals.

Each patient's studies are encoded in one Specific Character Set (0008,0005), so that the
generated data exercise the repertoires of PS3.5 §6.1 and the Person Name rules of §6.2.1:

* ``ISO_IR 100`` - Latin alphabet No. 1 (``Müller^Jürgen``);
* ``ISO_IR 192`` - UTF-8 (Greek, Cyrillic, Polish, Czech, Croatian and Turkish names);
* ``ISO 2022 IR 87`` - Japanese with code extensions, the three component groups of PS3.5
  Annex H (``Yamada^Tarou=山田^太郎=やまだ^たろう``); Specific Character Set is either
  ``ISO 2022 IR 6\\ISO 2022 IR 87`` or, as in the Annex H example, ``\\ISO 2022 IR 87``
  (first value empty), alternating by patient number;
* ``GB18030`` - Chinese, alphabetic and ideographic groups as in PS3.5 Annex K
  (``Wang^XiaoDong=王^小东``).
"""

from __future__ import annotations

import datetime
import enum
import random
from dataclasses import dataclass

__all__ = ["CharacterSet", "Patient", "synthetic_patient"]


class CharacterSet(enum.Enum):
    """The repertoire of a patient's studies (the value is the defining term, PS3.3 C.12.1.1.2)."""

    LATIN1 = "ISO_IR 100"
    UTF8 = "ISO_IR 192"
    JAPANESE = "ISO 2022 IR 87"
    CHINESE = "GB18030"


@dataclass(frozen=True)
class Patient:
    """A synthetic patient and the people and place around their studies."""

    number: int
    patient_id: str
    name: str
    """Patient's Name (0010,0010) as a PN value: component groups joined by ``=``."""
    sex: str
    birth_date: datetime.date
    character_set: CharacterSet
    specific_character_set: str | tuple[str, ...]
    """The value of Specific Character Set (0008,0005) of every instance of the patient."""
    referring_physician: str
    radiologist: str
    institution: str

    def age_on(self, day: datetime.date) -> str:
        """Patient's Age (0010,1010) on ``day``, an AS value such as ``045Y``."""
        years = day.year - self.birth_date.year - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))
        return f"{max(years, 0):03d}Y"


# Per language: (male family form, female family form), male given names, female given names.
_Language = tuple[list[tuple[str, str]], list[str], list[str]]
_LATIN1: list[_Language] = [
    ([("Müller", "Müller"), ("Schäfer", "Schäfer"), ("Köhler", "Köhler")], ["Jürgen", "Stefan"], ["Brigitte", "Anna"]),
    ([("Lefèvre", "Lefèvre"), ("Dubois", "Dubois"), ("Bérard", "Bérard")], ["François", "Luc"], ["Hélène", "Anaïs"]),
    ([("García", "García"), ("Núñez", "Núñez"), ("Peña", "Peña")], ["José", "Andrés"], ["María", "Inés"]),
    ([("Sørensen", "Sørensen"), ("Öberg", "Öberg"), ("Ågren", "Ågren")], ["Søren", "Lars"], ["Åse", "Märta"]),
    ([("Gonçalves", "Gonçalves"), ("Simões", "Simões")], ["João", "Tomé"], ["Conceição", "Inês"]),
    ([("Smith", "Smith"), ("Jones", "Jones"), ("Brown", "Brown")], ["John", "Peter"], ["Mary", "Sarah"]),
]
_UTF8: list[_Language] = [
    ([("Παπαδόπουλος", "Παπαδοπούλου"), ("Γεωργίου", "Γεωργίου")], ["Γιώργος", "Νίκος"], ["Μαρία", "Ελένη"]),
    ([("Wiśniewski", "Wiśniewska"), ("Wójcik", "Wójcik")], ["Łukasz", "Paweł"], ["Małgorzata", "Zofia"]),
    ([("Dvořák", "Dvořáková"), ("Novák", "Nováková")], ["Jiří", "Tomáš"], ["Kateřina", "Lucie"]),
    ([("Иванов", "Иванова"), ("Смирнов", "Смирнова")], ["Сергей", "Дмитрий"], ["Ольга", "Наталья"]),
    ([("Kovačević", "Kovačević"), ("Horvat", "Horvat")], ["Luka", "Ivan"], ["Ana", "Petra"]),
    ([("Şahin", "Şahin"), ("Yılmaz", "Yılmaz")], ["Emre", "Oğuz"], ["Elif", "Ayşe"]),
]
# (romaji, kanji, hiragana): all in JIS X 0208, so encodable with ISO 2022 IR 87
_JAPANESE = (
    [("Yamada", "山田", "やまだ"), ("Tanaka", "田中", "たなか"), ("Suzuki", "鈴木", "すずき"),
     ("Satou", "佐藤", "さとう"), ("Takahashi", "高橋", "たかはし"), ("Watanabe", "渡辺", "わたなべ"),
     ("Itou", "伊藤", "いとう"), ("Nakamura", "中村", "なかむら"), ("Kobayashi", "小林", "こばやし")],
    [("Tarou", "太郎", "たろう"), ("Ichirou", "一郎", "いちろう"), ("Kenji", "健二", "けんじ"),
     ("Hiroshi", "博", "ひろし"), ("Makoto", "誠", "まこと")],
    [("Hanako", "花子", "はなこ"), ("Yuki", "由紀", "ゆき"), ("Akiko", "明子", "あきこ"),
     ("Keiko", "恵子", "けいこ"), ("Youko", "洋子", "ようこ")],
)
# (pinyin, hanzi)
_CHINESE = (
    [("Wang", "王"), ("Li", "李"), ("Zhang", "张"), ("Liu", "刘"), ("Chen", "陈"), ("Yang", "杨"),
     ("Huang", "黄"), ("Zhao", "赵"), ("Wu", "吴"), ("Zhou", "周")],
    [("XiaoDong", "小东"), ("Wei", "伟"), ("Lei", "磊"), ("Qiang", "强"), ("Jun", "军")],
    [("Fang", "芳"), ("Na", "娜"), ("Min", "敏"), ("Jing", "静"), ("Yan", "艳")],
)
_INSTITUTIONS = {
    CharacterSet.LATIN1: ["Sandbox Klinikum Süd", "Hôpital Sandbox Saint-Éloi", "Hospital Sandbox Señora del Mar"],
    CharacterSet.UTF8: ["Νοσοκομείο Sandbox Αθηνών", "Szpital Sandbox Łódź", "Больница Sandbox №1"],
    CharacterSet.JAPANESE: ["サンドボックス総合病院", "砂箱中央病院"],
    CharacterSet.CHINESE: ["沙盒人民医院", "沙盒市第一医院"],
}


def _person(rng: random.Random, charset: CharacterSet, sex: str, title: str = "") -> str:
    """A PN value in ``charset``; ``title`` goes in the name-prefix component (Latin scripts)."""
    female = sex == "F"
    prefix = f"^^{title}" if title else ""
    if charset is CharacterSet.LATIN1 or charset is CharacterSet.UTF8:
        families, males, females = rng.choice(_LATIN1 if charset is CharacterSet.LATIN1 else _UTF8)
        family = rng.choice(families)[1 if female else 0]
        return f"{family}^{rng.choice(females if female else males)}{prefix}"
    if charset is CharacterSet.JAPANESE:
        j_family = rng.choice(_JAPANESE[0])
        j_given = rng.choice(_JAPANESE[2] if female else _JAPANESE[1])
        return "=".join(f"{j_family[g]}^{j_given[g]}" for g in range(3))
    c_family = rng.choice(_CHINESE[0])
    c_given = rng.choice(_CHINESE[2] if female else _CHINESE[1])
    return "=".join(f"{c_family[g]}^{c_given[g]}" for g in range(2))


def _specific_character_set(charset: CharacterSet, number: int) -> str | tuple[str, ...]:
    if charset is CharacterSet.JAPANESE:
        return ("ISO 2022 IR 6" if number % 2 else "", str(charset.value))
    return str(charset.value)


def synthetic_patient(seed: int, number: int, charset: CharacterSet, latest_birth_year: int = 2010) -> Patient:
    """Patient ``number`` of generator ``seed``: the same arguments always give the same patient.

    Born between 1935 and ``latest_birth_year``; Patient ID ``SYN-<seed>-<number>``.
    """
    rng = random.Random(f"beamit-sandbox/{seed}/patient/{number}")
    sex = rng.choice("MF")
    first = datetime.date(1935, 1, 1).toordinal()
    last = datetime.date(max(latest_birth_year, 1935), 12, 31).toordinal()
    return Patient(
        number=number,
        patient_id=f"SYN-{seed}-{number:06d}",
        name=_person(rng, charset, sex),
        sex=sex,
        birth_date=datetime.date.fromordinal(rng.randint(first, last)),
        character_set=charset,
        specific_character_set=_specific_character_set(charset, number),
        referring_physician=_person(rng, charset, rng.choice("MF"), "Dr."),
        radiologist=_person(rng, charset, rng.choice("MF"), "Dr."),
        institution=rng.choice(_INSTITUTIONS[charset]),
    )
